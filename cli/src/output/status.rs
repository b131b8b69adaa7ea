//! `shiftback status`: a release's progress in one look, printed once, as a JSON document, or
//! as a live line redrawn on a terminal.

use chrono::Utc;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use shiftback::adapters::AliasRouting;
use shiftback::domain::{
    AlarmState, AlarmStatus, CanaryVerdict, Phase, Release, ReleaseEvent, Weight,
};
use std::io::IsTerminal;

use super::{bar, clip, duration, release_json};

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
