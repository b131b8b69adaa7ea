//! `shiftback durable`: the durable executions still running on a version. A durable
//! execution stays on the version it started on for as long as it runs (up to a year), so a
//! revert leaves those started on the reverted version running its code. shiftback lists
//! them and does not stop them: each is a workflow part-way through its work, and whether to
//! let it finish or to stop it (and compensate) is a decision about that execution.

use chrono::Utc;
use serde_json::json;
use shiftback::domain::check_version;

use crate::args::Cli;
use crate::output::{duration, print_table, table};
use crate::resources::Resources;
use crate::{usage, Failure};

pub async fn run(
    cli: &Cli,
    resources: &Resources,
    function: &str,
    version: &str,
) -> Result<u8, Failure> {
    check_version("durable", version).map_err(|e| usage(e.to_string()))?;
    let retention = resources.retention().await?;
    let (executions, more) = retention
        .catalog
        .running_durable_executions_list(function, version)
        .await?;
    if cli.json {
        println!(
            "{}",
            json!({"function": function, "version": version, "running": executions, "more": more})
        );
        return Ok(0);
    }
    let now = Utc::now();
    println!(
        "{function} version {version}: {}{} durable execution(s) running",
        executions.len(),
        if more { " or more" } else { "" }
    );
    if executions.is_empty() {
        return Ok(0);
    }
    let mut rows = table(&["name", "running for", "arn"], &[1]);
    for e in &executions {
        let age = e
            .started
            .map(|t| duration((now - t).num_seconds().max(0)))
            .unwrap_or_default();
        rows.add_row(vec![e.name.clone(), age, e.arn.clone()]);
    }
    print_table(&rows, "");
    println!("each finishes on version {version}'s code; to stop one: aws lambda stop-durable-execution --durable-execution-arn ARN");
    Ok(0)
}
