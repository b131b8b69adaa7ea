//! `shiftback prune`: each published version, why it is kept or deleted; with `--apply`,
//! the deletes and what became of each.

use chrono::Utc;
use serde_json::json;
use shiftback::ports::PROVIDER_VERSIONS_MAX;
use shiftback::service::retention::{PruneReport, PruneRequest};

use crate::args::Cli;
use crate::output::{duration, print_table, table};
use crate::resources::Resources;
use crate::Failure;

pub async fn run(cli: &Cli, resources: &Resources, request: &PruneRequest) -> Result<u8, Failure> {
    let retention = resources.retention().await?;
    let report = retention.prune(request).await?;
    if cli.json {
        print_json(&report);
    } else {
        print_text(&report);
    }
    // A run stopped part way is an AWS failure (exit 4), its report printed all the same.
    Ok(if report.outcome.stopped_by.is_some() {
        4
    } else {
        0
    })
}

use crate::output::bytes as size;

fn print_json(report: &PruneReport) {
    let versions: Vec<_> = report
        .plan
        .fates
        .iter()
        .map(|f| {
            json!({
                "version": f.version.version,
                "code_size": f.version.code_size,
                "last_modified": f.version.last_modified,
                "delete": f.deleted(),
                "kept_for": f.kept_for.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "code_by_reference": f.by_reference,
                "warning": f.warning,
            })
        })
        .collect();
    let storage = match &report.storage {
        Some(Ok(s)) => json!({"used": s.used, "limit": s.limit}),
        Some(Err(e)) => json!({"error": e}),
        None => json!(null),
    };
    println!(
        "{}",
        json!({
            "function": report.function,
            "applied": report.applied,
            "versions": versions,
            "frees": report.plan.frees(),
            "code_storage": storage,
            "capacity_providers": report.providers.iter().map(|p| json!({
                "provider": p.provider,
                "function_versions": p.holds.as_ref().ok(),
                "error": p.holds.as_ref().err(),
                "limit": PROVIDER_VERSIONS_MAX,
                "deleting": p.deleting,
            })).collect::<Vec<_>>(),
            "outcome": report.outcome,
        })
    );
}

fn print_text(report: &PruneReport) {
    let now = Utc::now();
    let mut rows = table(&["version", "size", "age", "fate", "why"], &[0, 1, 2]);
    for fate in &report.plan.fates {
        let age = fate
            .version
            .last_modified
            .map(|t| duration((now - t).num_seconds().max(0)))
            .unwrap_or_default();
        let mut why: Vec<String> = fate.kept_for.iter().map(ToString::to_string).collect();
        if let Some(object) = &fate.by_reference {
            why.push(format!("code in {object}, not in Lambda's storage"));
        }
        if let Some(warning) = &fate.warning {
            why.push(format!("WARNING: {warning}"));
        }
        rows.add_row(vec![
            fate.version.version.clone(),
            size(fate.version.code_size),
            age,
            if fate.deleted() { "delete" } else { "keep" }.to_string(),
            why.join("; "),
        ]);
    }
    let doomed = report.plan.to_delete();
    println!(
        "{}: {} published versions, {} to delete ({})",
        report.function,
        report.plan.fates.len(),
        doomed.len(),
        size(report.plan.frees())
    );
    print_table(&rows, "");
    match &report.storage {
        None => {}
        Some(Ok(s)) => println!(
            "code storage in this region: {} of {} used ({:.1}%); pruning frees {}",
            size(s.used),
            size(s.limit),
            s.used as f64 * 100.0 / s.limit.max(1) as f64,
            size(report.plan.frees())
        ),
        Some(Err(e)) => println!("code storage not read: {e}"),
    }
    for p in &report.providers {
        match &p.holds {
            Ok(holds) => println!(
                "capacity provider {}: {holds} of {PROVIDER_VERSIONS_MAX} function versions (every function's); pruning deletes {} of this function's",
                p.provider, p.deleting
            ),
            Err(e) => println!("capacity provider {}: versions not counted ({e})", p.provider),
        }
    }
    if !report.applied {
        if !doomed.is_empty() {
            println!("dry run: nothing deleted; run again with --apply to delete them");
        }
        return;
    }
    let outcome = &report.outcome;
    println!("deleted: {}", list(&outcome.deleted));
    for (version, why) in &outcome.refused {
        println!("kept {version}: Lambda refused to delete it ({why})");
    }
    if !outcome.already_gone.is_empty() {
        println!("already gone: {}", list(&outcome.already_gone));
    }
    if let Some(error) = &outcome.stopped_by {
        println!(
            "stopped: {error}; not attempted: {} (run it again to go on)",
            list(&outcome.not_attempted)
        );
    }
}

fn list(versions: &[String]) -> String {
    if versions.is_empty() {
        "none".to_string()
    } else {
        versions.join(", ")
    }
}
