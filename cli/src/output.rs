//! What the CLI prints: short text for people, or one JSON document with `--json`.

use chrono::Utc;
use serde_json::json;
use shiftback::adapters::{AliasRouting, HistoryPage};
use shiftback::domain::{AlarmState, AlarmStatus, Phase, Release, Schedule, Weight};
use shiftback::service::StartRequest;

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

fn duration(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn release_json(release: &Release) -> serde_json::Value {
    let mut value = serde_json::to_value(release).expect("serialisable");
    value["phase_name"] = json!(release.phase.name());
    value
}

pub fn plan(as_json: bool, request: &StartRequest, schedule: &Schedule, findings: &[String]) {
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
            json!({"request": request, "steps": steps, "promote_at": at, "checks": findings, "ok": true})
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
    for (i, (weight, bake, at)) in steps.iter().enumerate() {
        println!(
            "  step {}/{}  {:>6}  bake {:>7}  from {}",
            i + 1,
            steps.len(),
            weight.to_string(),
            duration(*bake as i64),
            at.format("%H:%M:%S %Z")
        );
    }
    println!(
        "  promote      100%                  at   {}",
        at.format("%H:%M:%S %Z")
    );
    for finding in findings {
        println!("  ok: {finding}");
    }
}

pub fn status(
    as_json: bool,
    release: &Release,
    alias: Option<&AliasRouting>,
    health: Option<&[AlarmStatus]>,
) {
    let steps = release.schedule.steps.len();
    let step = match release.phase {
        Phase::Shifting { step } | Phase::Paused { step } => Some(step),
        _ => None,
    };
    let next_in = step.and_then(|s| {
        let started = release.step_started_at?;
        let due = started + chrono::Duration::seconds(release.schedule.steps[s].bake_secs as i64);
        Some((due - Utc::now()).num_seconds().max(0))
    });
    let firing: Vec<&str> = health
        .unwrap_or_default()
        .iter()
        .filter(|a| a.state == AlarmState::Alarm)
        .map(|a| a.name.as_str())
        .collect();
    if as_json {
        println!(
            "{}",
            json!({
                "release": release_json(release),
                "alias": alias.map(|a| a.to_string()),
                "step": step.map(|s| s + 1),
                "steps": steps,
                "next_step_in_seconds": next_in,
                "alarms_firing": firing,
            })
        );
        return;
    }
    let progress = match step {
        Some(s) => format!("step {}/{steps}", s + 1),
        None => release.phase.name().replace('_', " "),
    };
    let next = match (release.phase, next_in) {
        (Phase::Paused { .. }, _) => "  paused".to_string(),
        (_, Some(n)) => format!("  next in {}", duration(n)),
        _ => String::new(),
    };
    let health = match health {
        None => String::new(),
        Some(_) if firing.is_empty() => "  health ok".to_string(),
        Some(_) => format!("  ALARM: {}", firing.join(", ")),
    };
    println!(
        "{} {}:{} v{}->v{} {} {:>6} {progress}{next}{health}",
        release.id,
        release.function,
        release.alias,
        release.stable_version,
        release.target_version,
        bar(release.weight),
        release.weight.to_string(),
    );
    if release.phase.is_terminal() {
        let alias = alias
            .map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into());
        println!(
            "{} {}: alias on {alias}{}",
            release.id,
            release.phase.name().replace('_', " ").to_uppercase(),
            release
                .reason
                .as_deref()
                .map(|r| format!("; reason: {}", clip(r, 300)))
                .unwrap_or_default()
        );
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
    println!(
        "{:<26} {:<10} {:<9} {:<24} {:<12} {:>9}  {:<14} reason",
        "release", "alias", "versions", "strategy", "outcome", "duration", "started by"
    );
    for r in &page.releases {
        let end = r.finished_at.unwrap_or_else(Utc::now);
        println!(
            "{:<26} {:<10} {:<9} {:<24} {:<12} {:>9}  {:<14} {}",
            clip(&r.id, 26),
            clip(&r.alias, 10),
            format!("{}->{}", r.stable_version, r.target_version),
            clip(&r.strategy.to_string(), 24),
            r.phase.name(),
            duration((end - r.created_at).num_seconds()),
            clip(&r.started_by, 14),
            clip(r.reason.as_deref().unwrap_or(""), 60)
        );
    }
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
