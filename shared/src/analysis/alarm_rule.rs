//! What a release's own alarm computes each period, written once: as the metric-math
//! expression CloudWatch evaluates, and as the same arithmetic in Rust (for the tests that
//! model CloudWatch's evaluation, which moto does not do, and for the simulation). The two are
//! built from one rule so that they cannot drift apart.

use serde::{Deserialize, Serialize};

use super::settings::AnalysisSettings;

/// Which of a release's own alarms this is; recorded on the release, so that one started
/// before a kind existed is never asked about an alarm it does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    Errors,
    Latency,
    Fast,
}

impl AlarmKind {
    /// What follows the member's alarm name. A release id has no `.`, so a name's kind is
    /// never mistaken for part of its id.
    pub fn suffix(self) -> &'static str {
        match self {
            AlarmKind::Errors => "",
            AlarmKind::Latency => ".latency",
            AlarmKind::Fast => ".fast",
        }
    }

    /// The alarms a release with these settings gets.
    pub fn for_settings(settings: &AnalysisSettings) -> Vec<AlarmKind> {
        if !settings.enabled {
            return Vec::new();
        }
        let mut kinds = vec![AlarmKind::Errors, AlarmKind::Latency];
        if settings.fast_path_namespace.is_some() {
            kinds.push(AlarmKind::Fast);
        }
        kinds
    }
}

/// An error-rate regression, period by period: the target's rate past the lowest rate that is
/// a regression (the stable version's plus `points`, or `ratio` times it, whichever is
/// higher), in periods with at least `floor` target invocations (0 in the others). A period
/// whose stable version has fewer than `floor` is judged against `no_baseline_pct` outright,
/// never against a missing series read as 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionRule {
    pub floor: u64,
    pub points: f64,
    pub ratio: f64,
    pub no_baseline_pct: f64,
}

impl RegressionRule {
    /// Metric math over `target_errors`, `target_invocations`, `stable_errors` and
    /// `stable_invocations`, in percentage points. Every series is filled with 0 where
    /// CloudWatch has no datapoint: arithmetic would read a missing one as 0 anyway, but only
    /// the comparisons decide what a missing stable series means (no baseline).
    pub fn expression(&self) -> String {
        let RegressionRule {
            floor,
            points,
            ratio,
            no_baseline_pct,
        } = self;
        let (te, ti) = ("FILL(target_errors, 0)", "FILL(target_invocations, 0)");
        let (se, si) = ("FILL(stable_errors, 0)", "FILL(stable_invocations, 0)");
        let target = format!("100 * {te} / {ti}");
        let stable = format!("100 * {se} / {si}");
        let past_regression = format!(
            "IF({stable} * {} > {points}, {target} - {ratio} * {stable}, {target} - {stable} - {points})",
            ratio - 1.0
        );
        format!(
            "IF({ti} >= {floor}, IF({si} >= {floor}, {past_regression}, {target} - {no_baseline_pct}), 0)"
        )
    }

    /// [`Self::expression`] for one period, as CloudWatch evaluates it: each series' sum, 0
    /// where it has no datapoint.
    pub fn points_past(&self, te: f64, ti: f64, se: f64, si: f64) -> f64 {
        let floor = self.floor as f64;
        if ti < floor {
            return 0.0;
        }
        let target = 100.0 * te / ti;
        if si < floor {
            return target - self.no_baseline_pct;
        }
        let stable = 100.0 * se / si;
        if stable * (self.ratio - 1.0) > self.points {
            target - self.ratio * stable
        } else {
            target - stable - self.points
        }
    }
}

/// A p99 regression, minute by minute: the target's p99 past `factor` times the stable
/// version's plus `slack_ms`, in minutes with at least `floor` invocations of each version (a
/// p99 over fewer is close to the minute's slowest call); 0 in the others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyRule {
    pub floor: u64,
    pub factor: f64,
    pub slack_ms: f64,
}

impl LatencyRule {
    /// Metric math over `target_p99`, `stable_p99`, `target_invocations` and
    /// `stable_invocations`, in milliseconds.
    pub fn expression(&self) -> String {
        let LatencyRule {
            floor,
            factor,
            slack_ms,
        } = self;
        let (ti, si) = ("FILL(target_invocations, 0)", "FILL(stable_invocations, 0)");
        format!(
            "IF({ti} >= {floor}, IF({si} >= {floor}, FILL(target_p99, 0) - ({factor} * FILL(stable_p99, 0) + {slack_ms}), 0), 0)"
        )
    }

    /// [`Self::expression`] for one minute, as CloudWatch evaluates it.
    pub fn ms_past(&self, target_p99: f64, stable_p99: f64, ti: f64, si: f64) -> f64 {
        let floor = self.floor as f64;
        if ti < floor || si < floor {
            return 0.0;
        }
        target_p99 - (self.factor * stable_p99 + self.slack_ms)
    }
}
