//! What the CLI prints: short text for people, or one JSON document with `--json`.

use chrono::Utc;
use comfy_table::{presets, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use shiftback::adapters::{AliasRouting, HistoryPage};
use shiftback::domain::{
    AlarmState, AlarmStatus, CanaryVerdict, Phase, Release, ReleaseEvent, Schedule, Weight,
};
use shiftback::service::StartRequest;
use std::io::IsTerminal;

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

/// What one look at a release shows: who and which versions, where it is (step, next step,
/// health), and the closing line once it has ended.
struct Look {
    who: String,
    progress: String,
    ended: Option<String>,
}

fn firing(health: Option<&[AlarmStatus]>) -> Vec<&str> {
    health
        .unwrap_or_default()
        .iter()
        .filter(|a| a.state == AlarmState::Alarm)
        .map(|a| a.name.as_str())
        .collect()
}

/// The newest canary analysis of the release: the weight it judged, and its verdict.
fn last_analysis(release: &Release) -> Option<(Weight, &CanaryVerdict)> {
    release
        .log
        .iter()
        .rev()
        .find_map(|entry| match &entry.event {
            ReleaseEvent::Analysed { weight, verdict } => Some((*weight, verdict)),
            _ => None,
        })
}

/// The newest analysis in one line, with its numbers.
fn analysis_line(release: &Release) -> Option<String> {
    let (weight, verdict) = last_analysis(release)?;
    Some(match verdict {
        CanaryVerdict::Healthy { summary } => format!("analysis at {weight}: healthy: {summary}"),
        CanaryVerdict::Unhealthy { reasons, .. } => {
            format!("analysis at {weight}: FAILED: {}", reasons.join("; "))
        }
        CanaryVerdict::Inconclusive { why } => {
            format!("analysis at {weight}: inconclusive: {why}")
        }
    })
}

fn current_step(release: &Release) -> Option<usize> {
    match release.phase {
        Phase::Shifting { step } | Phase::Paused { step } => Some(step),
        _ => None,
    }
}

fn next_step_in(release: &Release) -> Option<i64> {
    let step = current_step(release)?;
    let started = release.step_started_at?;
    let due = started + chrono::Duration::seconds(release.schedule.steps[step].bake_secs as i64);
    Some((due - Utc::now()).num_seconds().max(0))
}

fn look(release: &Release, alias: Option<&AliasRouting>, health: Option<&[AlarmStatus]>) -> Look {
    let steps = release.schedule.steps.len();
    let firing = firing(health);
    let mut progress = match current_step(release) {
        Some(s) => format!("step {}/{steps}", s + 1),
        None => release.phase.name().replace('_', " "),
    };
    match (release.phase, next_step_in(release)) {
        (Phase::Paused { .. }, _) => progress.push_str("  paused"),
        (_, Some(n)) => progress.push_str(&format!("  next in {}", duration(n))),
        _ => {}
    }
    match health {
        None => {}
        Some(_) if firing.is_empty() => progress.push_str("  health ok"),
        Some(_) => progress.push_str(&format!("  ALARM: {}", firing.join(", "))),
    }
    match last_analysis(release) {
        Some((_, CanaryVerdict::Healthy { .. })) => progress.push_str("  analysis ok"),
        Some((_, CanaryVerdict::Unhealthy { .. })) => progress.push_str("  analysis FAILED"),
        Some((_, CanaryVerdict::Inconclusive { .. })) => {
            progress.push_str("  analysis waiting for traffic")
        }
        None => {}
    }
    // Succeeded, with its alarms still guarding it: not over until the bake window closes.
    let baking = release.guard_until().filter(|until| *until > Utc::now());
    if let Some(until) = baking {
        progress.push_str(&format!(
            "  alarms guard it until {}",
            until.format("%H:%M:%S UTC")
        ));
    }
    let ended = (release.phase.is_terminal() && baking.is_none()).then(|| {
        let alias = alias
            .map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into());
        format!(
            "{} {}: alias on {alias}{}",
            release.id,
            release.phase.name().replace('_', " ").to_uppercase(),
            release
                .reason
                .as_deref()
                .map(|r| format!("; reason: {}", clip(r, 300)))
                .unwrap_or_default()
        )
    });
    Look {
        who: format!(
            "{} {}:{} v{}->v{}",
            release.id,
            release.function,
            release.alias,
            release.stable_version,
            release.target_version
        ),
        progress,
        ended,
    }
}

pub fn status(
    as_json: bool,
    release: &Release,
    alias: Option<&AliasRouting>,
    health: Option<&[AlarmStatus]>,
) {
    if as_json {
        println!(
            "{}",
            json!({
                "release": release_json(release),
                "alias": alias.map(|a| a.to_string()),
                "step": current_step(release).map(|s| s + 1),
                "steps": release.schedule.steps.len(),
                "next_step_in_seconds": next_step_in(release),
                "alarms_firing": firing(health),
                "analysis": last_analysis(release)
                    .map(|(weight, verdict)| json!({"weight": weight, "verdict": verdict})),
                "ignored": release.active_ignores(Utc::now()).iter().map(|(guard, until, by, why)| {
                    json!({"guard": guard, "until": until, "by": by, "reason": why})
                }).collect::<Vec<_>>(),
            })
        );
        return;
    }
    let look = look(release, alias, health);
    println!(
        "{} {} {:>6} {}",
        look.who,
        bar(release.weight),
        release.weight.to_string(),
        look.progress
    );
    if !release.labels.is_empty() {
        println!(
            "  labels: {}",
            clip(&shiftback::domain::describe_labels(&release.labels), 300)
        );
    }
    for member in &release.members {
        println!(
            "  in step: {} v{}->v{}",
            member.name(),
            member.stable_version,
            member.target_version
        );
    }
    if let Some(analysis) = analysis_line(release) {
        println!("  {}", clip(&analysis, 300));
    }
    for (guard, until, by, why) in release.active_ignores(Utc::now()) {
        let until = until.format("%H:%M:%S UTC");
        println!(
            "  ignoring {guard} until {until} ({by}: {})",
            clip(why, 200)
        );
    }
    if let Some(ended) = look.ended {
        println!("{ended}");
    }
}

/// `status --watch` on a terminal: one line redrawn in place, where scripts and logs get a
/// line per look (`status`).
pub struct LiveStatus(ProgressBar);

impl LiveStatus {
    /// A live line if standard output is a terminal, none otherwise.
    pub fn on_terminal() -> Option<Self> {
        if !std::io::stdout().is_terminal() {
            return None;
        }
        let style = ProgressStyle::with_template("{prefix} [{bar:20}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#-");
        let line = ProgressBar::with_draw_target(Some(100), ProgressDrawTarget::stdout());
        line.set_style(style);
        Some(LiveStatus(line))
    }

    pub fn show(
        &self,
        release: &Release,
        alias: Option<&AliasRouting>,
        health: Option<&[AlarmStatus]>,
    ) {
        let look = look(release, alias, health);
        self.0.set_prefix(look.who);
        self.0
            .set_position((release.weight.as_fraction() * 100.0).round() as u64);
        self.0.set_message(format!(
            "{:>6} {}",
            release.weight.to_string(),
            look.progress
        ));
        if let Some(ended) = look.ended {
            self.0.finish();
            println!("{ended}");
        }
    }
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
