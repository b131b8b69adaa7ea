//! Canary analysis: the target version against the stable version, from the same alias over
//! the same minutes, on Lambda's own per-version metrics (`ExecutedVersion`). Pure: the
//! metrics adapter fetches the minutes, this judges them with the anytime-valid tests of
//! [`super::evidence`], so that a release judged at every step, and every minute while it
//! waits for traffic, is rolled back for noise no more often than one judged once.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use super::evidence::{self, Finding, Judged, Levels, Margin, PairedMinute};
use super::settings::{AnalysisSettings, Thresholds};
use crate::domain::weight::Weight;

/// One minute of one version's traffic through the alias. A minute CloudWatch has no
/// datapoint for is a minute without invocations.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Minute {
    pub at: DateTime<Utc>,
    pub invocations: f64,
    pub errors: f64,
    pub throttles: f64,
    /// The minute's p99 `Duration`, if CloudWatch has one.
    pub p99_ms: Option<f64>,
}

/// Both versions' minutes over one window, and what could not be read of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    pub target: Vec<Minute>,
    pub stable: Vec<Minute>,
    /// Why the percentiles are missing, if their read failed (the counts still judge).
    pub latency_unread: Option<String>,
}

pub use super::evidence::{ERROR_LEVELS, LATENCY_LEVEL, THROTTLE_LEVELS};
/// A minute's p99 means something only over this many invocations (fewer, and it is close to
/// the minute's slowest call).
pub const MIN_P99_INVOCATIONS: f64 = 100.0;

/// The minutes to judge: every minute since `since` (the step's weight was set: each look of
/// a step takes all of the step's minutes, a growing sample, as its tests need; at most a
/// day) that has had the settings' `settle_secs` since it began to arrive.
pub fn window(
    settings: &AnalysisSettings,
    target_traffic_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let minute = Duration::minutes(1);
    let longest = now - Duration::seconds(super::settings::MAX_WINDOW_SECS as i64);
    let start = target_traffic_since.max(longest);
    let start = start.duration_trunc(minute).unwrap_or(start);
    let settled = now - Duration::seconds(settings.settle_secs as i64) + minute;
    let end = settled.duration_trunc(minute).unwrap_or(settled).max(start);
    (start, end)
}

/// What the analysis concluded, with its numbers for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CanaryVerdict {
    Healthy {
        summary: String,
    },
    Unhealthy {
        reasons: Vec<String>,
        summary: String,
    },
    Inconclusive {
        why: String,
    },
}

fn pct(rate: f64) -> String {
    format!("{:.2}%", rate * 100.0)
}

fn count(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Both versions' minutes side by side, by the minute they cover (a minute one version has no
/// datapoint for is a minute it had no traffic).
fn paired(comparison: &Comparison) -> Vec<(Minute, Minute)> {
    let mut minutes: std::collections::BTreeMap<DateTime<Utc>, (Minute, Minute)> =
        Default::default();
    for m in &comparison.target {
        minutes.entry(m.at).or_default().0 = *m;
    }
    for m in &comparison.stable {
        minutes.entry(m.at).or_default().1 = *m;
    }
    minutes.into_values().collect()
}

fn margin(points_pct: f64, ratio: f64) -> Margin {
    Margin {
        points: points_pct / 100.0,
        ratio,
    }
}

/// Judges the target against the stable version over every minute of `comparison`, as one
/// look of a one-step release ([`judge_step`] with the whole budget).
pub fn judge(
    settings: &AnalysisSettings,
    weight: Weight,
    target_traffic_since: DateTime<Utc>,
    comparison: &Comparison,
) -> CanaryVerdict {
    let look = Look {
        weight,
        step_since: target_traffic_since,
        budget_share: 1.0,
    };
    judge_step(settings, &look, comparison)
}

/// One look at a step: its weight, when its weight was set, and its share of the release's
/// false-rollback budget.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    /// The target's share now (it picks the canary or the rollout thresholds).
    pub weight: Weight,
    /// When the step's weight was set: its minutes are judged, from the end of the warm-up
    /// that follows (a shift starts new, cold, execution environments).
    pub step_since: DateTime<Utc>,
    /// Each step's tests start afresh (a regression that starts at a later step is judged on
    /// that step's minutes, not diluted by the healthy ones before it, and each step has one
    /// margin), so the release's budget is split between its steps and its group's members:
    /// 1 / (steps × members), and the sum stays within it.
    pub budget_share: f64,
}

/// Judges the target against the stable version over the step's minutes of `comparison`
/// ([`window`]).
///
/// Unhealthy when errors, throttles or latency are shown worse than the margin allows;
/// healthy when errors and throttles are shown no worse (latency only ever holds a verdict
/// back by being shown worse); inconclusive otherwise, saying what is missing.
pub fn judge_step(
    settings: &AnalysisSettings,
    look: &Look,
    comparison: &Comparison,
) -> CanaryVerdict {
    let Look {
        weight,
        step_since,
        budget_share,
    } = *look;
    let share = |levels: Levels| Levels {
        worse: levels.worse * budget_share,
        not_worse: levels.not_worse,
    };
    let (error_levels, throttle_levels) = (share(ERROR_LEVELS), share(THROTTLE_LEVELS));
    let thresholds = settings.thresholds_at(weight);
    let minutes = paired(comparison);
    // A new version's first minutes are cold for errors too (init failures, timeouts while
    // caches fill): counted from the end of the warm-up, as latency is. The team's alarms and
    // the release's own alarm still watch them.
    let first = step_since
        .duration_trunc(Duration::minutes(1))
        .unwrap_or(step_since);
    let counted_from = first + Duration::seconds(settings.warmup_secs as i64);
    let counted: Vec<&(Minute, Minute)> = minutes
        .iter()
        .filter(|(t, s)| t.at.max(s.at) >= counted_from)
        .collect();
    let errors: Vec<PairedMinute> = counted
        .iter()
        .map(|(t, s)| (t.errors, t.invocations, s.errors, s.invocations))
        .collect();
    // Throttled requests never run (they are not invocations), so they count against every
    // request that reached the version: invocations plus throttles.
    let throttles: Vec<PairedMinute> = counted
        .iter()
        .map(|(t, s)| {
            let (t_all, s_all) = (t.invocations + t.throttles, s.invocations + s.throttles);
            (t.throttles, t_all, s.throttles, s_all)
        })
        .collect();
    let error_margin = margin(thresholds.error_rate_margin_pct, thresholds.error_ratio);
    let throttle_margin = margin(thresholds.throttle_rate_margin_pct, thresholds.error_ratio);
    let judged_errors = evidence::compare(&errors, error_margin, error_levels);
    let judged_throttles = evidence::compare(&throttles, throttle_margin, throttle_levels);
    let latency = latency_check(
        &minutes,
        counted_from,
        thresholds,
        settings,
        comparison,
        LATENCY_LEVEL * budget_share,
    );

    let mut reasons = Vec::new();
    let mut unsure = Vec::new();
    let mut summary = Vec::new();
    for (what, judged, levels) in [
        ("errors", &judged_errors, error_levels),
        ("throttled", &judged_throttles, throttle_levels),
    ] {
        let text = describe(what, judged, levels);
        match judged.finding {
            Finding::Worse => reasons.push(text.clone()),
            Finding::Unsure => unsure.push(text.clone()),
            Finding::NotWorse => {}
        }
        summary.push(text);
    }
    summary.push(latency.text.clone());
    if latency.worse {
        reasons.push(latency.text);
    }
    let summary = summary.join("; ");
    if !reasons.is_empty() {
        return CanaryVerdict::Unhealthy { reasons, summary };
    }
    if unsure.is_empty() {
        return CanaryVerdict::Healthy { summary };
    }
    CanaryVerdict::Inconclusive {
        why: format!("not enough evidence yet: {}", unsure.join("; ")),
    }
}

/// A finding in words, with its numbers.
fn describe(what: &str, judged: &Judged, levels: Levels) -> String {
    let rate = |(x, n): (f64, f64)| if n > 0.0 { x / n } else { 0.0 };
    let verdict = match judged.finding {
        Finding::Worse => format!(
            "worse than the margin allows, beyond chance at {}% confidence",
            100.0 * (1.0 - levels.worse)
        ),
        Finding::NotWorse => format!(
            "no worse (at most {} against a regression from {})",
            pct(judged.target_high),
            pct(judged.regression_from)
        ),
        Finding::Unsure => format!(
            "undecided (plausibly up to {}, a regression from {})",
            pct(judged.target_high),
            pct(judged.regression_from)
        ),
    };
    format!(
        "target {} {what} over {} vs stable {} over {}: {verdict}",
        pct(rate(judged.target)),
        count(judged.target.1),
        pct(rate(judged.stable)),
        count(judged.stable.1),
    )
}

struct Latency {
    text: String,
    worse: bool,
}

/// The p99s, minute against minute: CloudWatch gives a percentile per minute, not the
/// invocations behind it, so the test is on how many warm minutes (both versions with at
/// least [`MIN_P99_INVOCATIONS`]) find the target slower than `p99_factor` times the stable
/// version plus the slack. A target no slower is found so in at most half of them; shown
/// (anytime-valid, at [`LATENCY_LEVEL`]) to be so in more than half, it is a regression.
fn latency_check(
    minutes: &[(Minute, Minute)],
    latency_from: DateTime<Utc>,
    t: &Thresholds,
    settings: &AnalysisSettings,
    comparison: &Comparison,
    level: f64,
) -> Latency {
    if let Some(why) = &comparison.latency_unread {
        return Latency {
            text: format!("latency not judged: {why}"),
            worse: false,
        };
    }
    let mut compared = 0.0;
    let mut slower = 0.0;
    for (target, stable) in minutes {
        let (Some(tp), Some(sp)) = (target.p99_ms, stable.p99_ms) else {
            continue;
        };
        if target.at < latency_from
            || target.invocations < MIN_P99_INVOCATIONS
            || stable.invocations < MIN_P99_INVOCATIONS
        {
            continue;
        }
        compared += 1.0;
        if tp > sp * t.p99_factor + settings.latency_slack_ms {
            slower += 1.0;
        }
    }
    if compared == 0.0 {
        return Latency {
            text: format!(
                "latency not judged: no warm minute with {} invocations of each version",
                MIN_P99_INVOCATIONS
            ),
            worse: false,
        };
    }
    let share = evidence::confidence_sequence(slower, compared, level);
    Latency {
        text: format!(
            "target p99 above {}x stable + {} ms in {} of {} warm minutes",
            t.p99_factor, settings.latency_slack_ms, slower, compared
        ),
        worse: share.low > 0.5,
    }
}
