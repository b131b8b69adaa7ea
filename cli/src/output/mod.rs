//! What the CLI prints: short text for people, or one JSON document with `--json`.

use chrono::Utc;
use comfy_table::{presets, CellAlignment, Table};
use serde_json::json;
use shiftback::adapters::HistoryPage;
use shiftback::domain::{Release, Schedule, Weight};
use shiftback::service::StartRequest;

mod status;
pub mod waves;
pub use status::{status, LiveStatus};

const BAR: usize = 20;

fn bar(weight: Weight) -> String {
    let filled = (weight.as_fraction() * BAR as f64).round() as usize;
    format!("[{}{}]", "#".repeat(filled), "-".repeat(BAR - filled))
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

pub fn duration(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A borderless table, columns left-aligned unless `right` names them.
pub fn table(header: &[&str], right: &[usize]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.to_vec());
    for &index in right {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// Prints `table` indented by `indent` (beyond its one column of padding), without the
/// trailing spaces of its padding.
pub fn print_table(table: &Table, indent: &str) {
    for line in table.lines() {
        println!("{indent}{}", line.trim_end());
    }
}

fn release_json(release: &Release) -> serde_json::Value {
    let mut value = serde_json::to_value(release).expect("serialisable");
    value["phase_name"] = json!(release.phase.name());
    // The newest entry as notifications tell it: one description for every reader.
    let newest = release.log.len().checked_sub(1);
    if let Some(described) = newest.and_then(|i| release.describe(i)) {
        value["last_event"] = json!({
            "kind": described.kind,
            "severity": described.severity,
            "outcome": described.outcome,
            "at": release.log.last().map(|e| e.at),
        });
    }
    // A task token resumes the workflow, a presigned ResponseURL answers a stack: neither is
    // for logs and terminals (`approve` reads the token itself).
    if let Some(fields) = value.as_object_mut() {
        fields.remove("gate_token");
        fields.remove("answer_to");
    }
    value
}

pub fn plan(
    as_json: bool,
    request: &StartRequest,
    schedule: &Schedule,
    findings: &[String],
    warnings: &[String],
    storage: &str,
) {
    let mut at = Utc::now();
    let mut steps = Vec::new();
    for step in &schedule.steps {
        steps.push((step.weight, step.bake_secs, at));
        at += chrono::Duration::seconds(step.bake_secs as i64);
    }
    if as_json {
        let steps: Vec<_> = steps
            .iter()
            .map(|(w, bake, at)| json!({"weight": w, "bake_seconds": bake, "at": at}))
            .collect();
        println!(
            "{}",
            json!({"request": request, "steps": steps, "promote_at": at, "checks": findings, "warnings": warnings, "storage": storage, "ok": true})
        );
        return;
    }
    println!(
        "plan: {}:{} version {} -> {} ({})",
        request.function,
        request.alias,
        request.stable_version.as_deref().unwrap_or("?"),
        request.target_version,
        request.strategy
    );
    let mut rows = table(&["", "weight", "bake", "from"], &[1, 2]);
    for (i, (weight, bake, at)) in steps.iter().enumerate() {
        rows.add_row(vec![
            format!("step {}/{}", i + 1, steps.len()),
            weight.to_string(),
            duration(*bake as i64),
            at.format("%H:%M:%S %Z").to_string(),
        ]);
    }
    rows.add_row(vec![
        "promote".to_string(),
        "100%".to_string(),
        String::new(),
        at.format("%H:%M:%S %Z").to_string(),
    ]);
    print_table(&rows, " ");
    for finding in findings {
        println!("  ok: {finding}");
    }
    for warning in warnings {
        println!("  warning: {warning}");
    }
    println!("  note: {storage}");
}

/// Bytes as people read them (IEC units: what Lambda's quotas are in).
pub fn bytes(n: i64) -> String {
    bytesize::ByteSize::b(n.max(0) as u64).to_string()
}

pub fn history(as_json: bool, function: &str, page: &HistoryPage) {
    if as_json {
        let releases: Vec<_> = page.releases.iter().map(release_json).collect();
        println!(
            "{}",
            json!({"function": function, "releases": releases, "next_page": page.next})
        );
        return;
    }
    let mut rows = table(
        &[
            "release",
            "alias",
            "versions",
            "strategy",
            "outcome",
            "duration",
            "started by",
            "labels",
            "reason",
        ],
        &[5],
    );
    for r in &page.releases {
        let end = r.finished_at.unwrap_or_else(Utc::now);
        // A group shows this function's member (the first one of it), and that it is a group.
        let member = r
            .all_members()
            .into_iter()
            .find(|m| m.function == function)
            .unwrap_or_else(|| r.lead());
        let alias = if r.is_group() {
            format!("{} (group of {})", member.alias, r.members.len() + 1)
        } else {
            member.alias.clone()
        };
        rows.add_row(vec![
            r.id.clone(),
            clip(&alias, 30),
            format!("{}->{}", member.stable_version, member.target_version),
            clip(&r.strategy.to_string(), 24),
            r.phase.name().to_string(),
            duration((end - r.created_at).num_seconds()),
            clip(&r.started_by, 20),
            clip(&shiftback::domain::describe_labels(&r.labels), 40),
            clip(r.reason.as_deref().unwrap_or(""), 60),
        ]);
    }
    print_table(&rows, "");
    if let Some(next) = &page.next {
        println!("more: shiftback history {function} --page '{next}'");
    }
}

pub fn done(as_json: bool, release: &Release, what: &str) {
    if as_json {
        println!(
            "{}",
            json!({"release": release_json(release), "result": what})
        );
    } else {
        println!("{}: {what}", release.id);
    }
}

pub fn created(as_json: bool, table: &str) {
    if as_json {
        println!("{}", json!({"table": table}));
    } else {
        println!("created table {table}");
    }
}
