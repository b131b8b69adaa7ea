//! Canary analysis: the target version against the stable version, from the same alias over
//! the same minutes, on Lambda's own per-version metrics (`ExecutedVersion`). Pure: the
//! metrics adapter fetches the minutes, this judges them.

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};

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

/// Both versions' minutes over one window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    pub target: Vec<Minute>,
    pub stable: Vec<Minute>,
}

/// The minutes to fetch: from the look-back (or the target's first traffic, if later) to the
/// end of the current minute. The current minute counts although CloudWatch may not have all
/// of it yet: it lags for both versions alike, and the minimum sample guards the rest.
pub fn window(
    settings: &AnalysisSettings,
    target_traffic_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let minute = Duration::minutes(1);
    let look_back = now - Duration::seconds(settings.window_secs as i64);
    let start = target_traffic_since.max(look_back);
    let start = start.duration_trunc(minute).unwrap_or(start);
    let end = now.duration_trunc(minute).unwrap_or(now) + minute;
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

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    invocations: f64,
    errors: f64,
    throttles: f64,
    /// Invocation-weighted mean of the minutes' p99s, and the invocations behind it.
    p99_ms: Option<f64>,
    p99_invocations: f64,
}

impl Totals {
    /// Counts from every minute; latency only from minutes at or after `latency_from`.
    fn of(minutes: &[Minute], latency_from: DateTime<Utc>) -> Totals {
        let mut totals = Totals::default();
        let mut weighted = 0.0;
        for m in minutes {
            totals.invocations += m.invocations;
            totals.errors += m.errors;
            totals.throttles += m.throttles;
            if let (Some(p99), true) = (m.p99_ms, m.at >= latency_from) {
                weighted += p99 * m.invocations;
                totals.p99_invocations += m.invocations;
            }
        }
        if totals.p99_invocations > 0.0 {
            totals.p99_ms = Some(weighted / totals.p99_invocations);
        }
        totals
    }

    fn error_rate(&self) -> f64 {
        ratio(self.errors, self.invocations)
    }

    /// Throttled requests never run (they are not invocations), so they count against every
    /// request that reached the version: invocations plus throttles.
    fn throttle_rate(&self) -> f64 {
        ratio(self.throttles, self.invocations + self.throttles)
    }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

fn pct(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
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

/// Judges the target against the stable version. `weight` is the target's share now (it picks
/// the canary or the rollout thresholds); `target_traffic_since` is when the target first
/// took traffic (the latency check leaves its warm-up out: a new version starts cold, and its
/// first invocations are slower by nature, not by regression).
pub fn judge(
    settings: &AnalysisSettings,
    weight: Weight,
    target_traffic_since: DateTime<Utc>,
    comparison: &Comparison,
) -> CanaryVerdict {
    let latency_from = target_traffic_since + Duration::seconds(settings.warmup_secs as i64);
    let target = Totals::of(&comparison.target, latency_from);
    let stable = Totals::of(&comparison.stable, latency_from);
    if target.invocations < settings.min_invocations as f64 {
        return CanaryVerdict::Inconclusive {
            why: format!(
                "the target had {} invocations, fewer than the {} an analysis needs",
                count(target.invocations),
                settings.min_invocations
            ),
        };
    }
    let thresholds = settings.thresholds_at(weight);
    let mut reasons = Vec::new();
    let mut summary = Vec::new();
    let (errors, failed) = error_check(&target, &stable, thresholds);
    summary.push(errors.clone());
    if failed {
        reasons.push(errors);
    }
    let (throttles, failed) = throttle_check(&target, &stable, thresholds);
    summary.push(throttles.clone());
    if failed {
        reasons.push(throttles);
    }
    if let Some((latency, failed)) = latency_check(&target, &stable, thresholds, settings) {
        summary.push(latency.clone());
        if failed {
            reasons.push(latency);
        }
    }
    let summary = summary.join("; ");
    if reasons.is_empty() {
        CanaryVerdict::Healthy { summary }
    } else {
        CanaryVerdict::Unhealthy { reasons, summary }
    }
}

fn error_check(target: &Totals, stable: &Totals, t: &Thresholds) -> (String, bool) {
    let limit = stable.error_rate() + t.error_rate_margin_pct / 100.0;
    let text = format!(
        "target {} errors over {} invocations vs stable {} over {}; threshold {}",
        pct(target.error_rate()),
        count(target.invocations),
        pct(stable.error_rate()),
        count(stable.invocations),
        pct(limit)
    );
    (text, target.error_rate() > limit)
}

fn throttle_check(target: &Totals, stable: &Totals, t: &Thresholds) -> (String, bool) {
    let limit = stable.throttle_rate() + t.throttle_rate_margin_pct / 100.0;
    let text = format!(
        "target {} throttled vs stable {}; threshold {}",
        pct(target.throttle_rate()),
        pct(stable.throttle_rate()),
        pct(limit)
    );
    (text, target.throttle_rate() > limit)
}

/// Compared only with enough warm invocations on both sides; otherwise noted, not judged
/// (errors and throttles still are).
fn latency_check(
    target: &Totals,
    stable: &Totals,
    t: &Thresholds,
    settings: &AnalysisSettings,
) -> Option<(String, bool)> {
    let enough = settings.min_invocations as f64;
    match (target.p99_ms, stable.p99_ms) {
        (Some(target_p99), Some(stable_p99))
            if target.p99_invocations >= enough && stable.p99_invocations >= enough =>
        {
            let limit = stable_p99 * t.p99_factor + settings.latency_slack_ms;
            let text = format!(
                "target p99 {target_p99:.0} ms vs stable {stable_p99:.0} ms; threshold {limit:.0} ms"
            );
            Some((text, target_p99 > limit))
        }
        _ => Some((
            "p99 not compared: too few warm invocations with a duration on one side".to_string(),
            false,
        )),
    }
}
