//! `shiftback dashboard`: the alias's CloudWatch dashboard, made from its release history.

use serde_json::json;
use shiftback::domain::{check_function_name, check_names};
use shiftback::ports::AliasRouter as _;

use crate::args::Cli;
use crate::resources::Resources;
use crate::{usage, Failure};

pub async fn run(
    cli: &Cli,
    resources: &Resources,
    function: &str,
    alias: &str,
) -> Result<u8, Failure> {
    check_function_name(function).map_err(|e| usage(e.to_string()))?;
    let service = resources.service().await?;
    let function = service.canonical(function)?;
    check_names(&function, alias, None).map_err(|e| usage(e.to_string()))?;
    let region = service
        .router
        .region()
        .unwrap_or_else(|| "us-east-1".to_string());
    let mut releases = service.recent_releases_on(&function, alias).await?;
    // The log (for the annotations) is not in the history page.
    for release in &mut releases {
        *release = service.store.load(&release.id).await?.release;
    }
    let name = service
        .health
        .put_dashboard(&function, alias, &releases)
        .await?;
    let url = format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards:name={name}"
    );
    if cli.json {
        println!(
            "{}",
            json!({"dashboard": name, "url": url, "releases": releases.len()})
        );
    } else {
        println!("dashboard {name} ({} releases): {url}", releases.len());
    }
    Ok(0)
}
