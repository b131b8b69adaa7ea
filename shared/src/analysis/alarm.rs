//! The release's own CloudWatch alarms: canary analysis made event-driven. CloudWatch
//! evaluates the target against the stable version every period; the moment one crosses, its
//! state change reaches the alarm function like any guarding alarm's (the stack's EventBridge
//! rule delivers every alarm's ALARM), which reverts at once. Each member of a release has:
//! - an error-rate alarm on Lambda's per-version metrics, a minute at a time;
//! - a p99 alarm beside it, on the same metrics;
//! - with the opt-in fast path, an error-rate alarm on the function's own high-resolution
//!   metrics (the convention below), ten seconds at a time.
//!
//! The step-end analysis stays for what an alarm cannot judge (the evidence over the whole
//! step, and "no worse").

use super::alarm_rule::{AlarmKind, LatencyRule, RegressionRule};
use super::canary::MIN_P99_INVOCATIONS;
use crate::domain::{AnalysisSettings, Release};

/// The prefix that marks an alarm as a release's own (and scopes the stack's permission to
/// create and delete alarms to these).
pub const ALARM_PREFIX: &str = "shiftback-analysis-";

/// A per-minute invocation floor: below it, a minute's error rate is noise, not a verdict.
const MIN_INVOCATIONS_PER_MINUTE: u64 = 10;
/// With no stable baseline in a minute (the bake window after promotion, or a stable version
/// at a few percent of the traffic), the alarm judges the target against this error rate
/// outright: a rate no healthy function runs at, never a missing series read as 0.
pub const NO_BASELINE_ERROR_PCT: f64 = 10.0;
/// Minutes in a row the error regression must hold: one minute of a handful of errors is not
/// one.
pub const ALARM_MINUTES: i32 = 3;
/// Minutes in a row the p99 regression must hold. A healthy target's p99 over 100 calls is
/// past 1.5x the stable version's (+25 ms) in about 2% of minutes (the sample p99's spread
/// for a log-normal duration with sigma 0.5, about 3.7 sigma / sqrt(n)), so five in a row
/// are a false alarm about once in 10^8 minutes; and the slow first minutes after each shift
/// (caches filling on new instances) are at most two of the five.
pub const LATENCY_ALARM_MINUTES: i32 = 5;

/// The fast path's period: CloudWatch's shortest for a high-resolution alarm.
pub const FAST_PERIOD_SECS: i32 = 10;
/// Periods in a row: a clearly bad version is in ALARM 30 seconds after its errors arrive.
pub const FAST_PERIODS: i32 = 3;
/// Ten seconds judge only a clearly bad version: at least this many invocations in a period
/// (of each version, for a baseline), an error rate past both 10 points and 5x the stable
/// version's (25% outright with no baseline). A healthy 5% version at the floor is past 25%
/// in about 0.03% of periods; even in a cold-start minute that triples its errors (15%), three
/// periods in a row past it come about once in 3,000 (the simulation in `make bench`).
pub const FAST_RULE: RegressionRule = RegressionRule {
    floor: 20,
    points: 10.0,
    ratio: 5.0,
    no_baseline_pct: 25.0,
};
/// The fast path's convention: what the function emits (embedded metric format, one
/// invocation at a time, storage resolution 1 s) in the namespace the release names, with
/// exactly these dimensions (the function's name, and `AWS_LAMBDA_FUNCTION_VERSION`).
pub const FAST_INVOCATIONS_METRIC: &str = "Invocations";
pub const FAST_ERRORS_METRIC: &str = "Errors";
pub const FAST_DIMENSIONS: [&str; 2] = ["FunctionName", "Version"];

/// The per-minute floor for a margin of `points` percentage points: enough invocations that
/// the margin is several errors, not one. One error in `100 / points` invocations is the
/// margin itself; three times that many make the margin three errors, which a healthy
/// minute's noise beats three minutes in a row only rarely.
pub fn minute_floor(points: f64, min_invocations: u64) -> u64 {
    let for_margin = (300.0 / points.max(0.01)).ceil() as u64;
    for_margin
        .max(min_invocations / 5)
        .max(MIN_INVOCATIONS_PER_MINUTE)
}

/// The error-rate alarm's rule, from the canary thresholds.
pub fn error_rule(settings: &AnalysisSettings) -> RegressionRule {
    let t = &settings.canary;
    RegressionRule {
        floor: minute_floor(t.error_rate_margin_pct, settings.min_invocations),
        points: t.error_rate_margin_pct,
        ratio: t.error_ratio,
        no_baseline_pct: NO_BASELINE_ERROR_PCT,
    }
}

/// The name a member's alarms are recorded under as one guard (its error-rate alarm's): the
/// guard the alarm function looks up when any of them fires. Other names are their own.
pub fn guard_alarm_of(name: &str) -> &str {
    if !is_analysis_alarm(name) {
        return name;
    }
    [AlarmKind::Latency, AlarmKind::Fast]
        .iter()
        .find_map(|kind| name.strip_suffix(kind.suffix()))
        .unwrap_or(name)
}

/// One metric an alarm's expression reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmMetric {
    pub id: &'static str,
    pub metric: &'static str,
    pub stat: &'static str,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Target,
    Stable,
}

/// Where an alarm's metrics come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `AWS/Lambda`, per version of the alias (`FunctionName`, `Resource`, `ExecutedVersion`).
    Lambda,
    /// The fast path's convention, in the team's namespace ([`FAST_DIMENSIONS`]).
    Emf { namespace: String },
}

const fn metric(
    id: &'static str,
    metric: &'static str,
    stat: &'static str,
    role: Role,
) -> AlarmMetric {
    AlarmMetric {
        id,
        metric,
        stat,
        role,
    }
}

const ERROR_METRICS: [AlarmMetric; 4] = [
    metric("target_errors", "Errors", "Sum", Role::Target),
    metric("target_invocations", "Invocations", "Sum", Role::Target),
    metric("stable_errors", "Errors", "Sum", Role::Stable),
    metric("stable_invocations", "Invocations", "Sum", Role::Stable),
];
const LATENCY_METRICS: [AlarmMetric; 4] = [
    metric("target_p99", "Duration", "p99", Role::Target),
    metric("target_invocations", "Invocations", "Sum", Role::Target),
    metric("stable_p99", "Duration", "p99", Role::Stable),
    metric("stable_invocations", "Invocations", "Sum", Role::Stable),
];

/// Everything CloudWatch needs to create an alarm, with no AWS type in it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisAlarm {
    pub name: String,
    pub kind: AlarmKind,
    pub description: String,
    pub function: String,
    pub alias: String,
    pub target_version: String,
    pub stable_version: String,
    pub source: Source,
    pub metrics: Vec<AlarmMetric>,
    /// Metric math over `metrics`: how far the target is past a regression (points for error
    /// rates, milliseconds for p99s), 0 where there is too little traffic to say.
    pub expression: String,
    /// Crossed above this (0: any excess past the regression).
    pub threshold: f64,
    pub period_secs: i32,
    /// Periods in a row (all of them must breach).
    pub evaluation_periods: i32,
    /// CloudWatch's warm-up after the alarm is created (None: from the first period).
    pub warm_up: Option<WarmUp>,
    /// A direct action (the alarm function's ARN), if any; without one, EventBridge delivers
    /// the state change.
    pub action_arn: Option<String>,
}

/// An alarm's warm-up (`WarmUpConfiguration`): it stays in INSUFFICIENT_DATA, acting on
/// nothing, for `minutes` after it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmUp {
    pub minutes: i32,
    /// Wait out the whole warm-up even once data has filled the evaluation range
    /// (`OnlyStartEvaluatingAfterWarmUpPeriodEnds`): the per-minute alarms, whose first
    /// minutes are the target's cold starts. The fast path ends its warm-up as soon as it has
    /// its three periods of data: its bar is high enough that cold starts do not cross it,
    /// and waiting would cost it the half-minute it exists for.
    pub whole: bool,
}

/// The error-rate alarm's name for release `release_id` (its first member's).
pub fn alarm_name(release_id: &str) -> String {
    format!("{ALARM_PREFIX}{release_id}")
}

/// The release's error-rate alarm for its first member.
pub fn analysis_alarm(release: &Release, action_arn: Option<&str>) -> AnalysisAlarm {
    kind_alarm(
        release,
        &alarm_name(&release.id),
        AlarmKind::Errors,
        action_arn,
    )
}

/// One of a member's alarms (`release` as that member), named from the member's `base` name.
/// Canary thresholds throughout: the alarms matter most while the target is new.
pub fn kind_alarm(
    release: &Release,
    base: &str,
    kind: AlarmKind,
    action_arn: Option<&str>,
) -> AnalysisAlarm {
    let Release {
        id,
        function,
        alias,
        target_version,
        stable_version,
        analysis: settings,
        ..
    } = release;
    let t = &settings.canary;
    let versions = format!("{function}:{alias} version {target_version}");
    let (source, metrics, expression, period_secs, evaluation_periods, description) = match kind {
        AlarmKind::Errors => {
            let rule = error_rule(settings);
            (
                Source::Lambda,
                ERROR_METRICS.to_vec(),
                rule.expression(),
                60,
                ALARM_MINUTES,
                format!(
                    "{versions}'s error rate more than {} points above version {stable_version}'s and more than {}x it ({}% with no stable traffic), {ALARM_MINUTES} minutes of {}+ invocations in a row",
                    rule.points, rule.ratio, rule.no_baseline_pct, rule.floor
                ),
            )
        }
        AlarmKind::Latency => {
            let rule = LatencyRule {
                floor: MIN_P99_INVOCATIONS as u64,
                factor: t.p99_factor,
                slack_ms: settings.latency_slack_ms,
            };
            (
                Source::Lambda,
                LATENCY_METRICS.to_vec(),
                rule.expression(),
                60,
                LATENCY_ALARM_MINUTES,
                format!(
                    "{versions}'s p99 duration above {}x version {stable_version}'s + {} ms, {LATENCY_ALARM_MINUTES} minutes of {}+ invocations of each in a row",
                    rule.factor, rule.slack_ms, rule.floor
                ),
            )
        }
        AlarmKind::Fast => {
            let namespace = settings.fast_path_namespace.clone().unwrap_or_default();
            let rule = FAST_RULE;
            let description = format!(
                "fast path: {versions}'s error rate from its own {namespace} metrics more than {} points above version {stable_version}'s and more than {}x it ({}% with no stable traffic), {FAST_PERIODS} periods of {FAST_PERIOD_SECS}s with {}+ invocations in a row",
                rule.points, rule.ratio, rule.no_baseline_pct, rule.floor
            );
            (
                Source::Emf { namespace },
                ERROR_METRICS
                    .iter()
                    .map(|m| AlarmMetric {
                        metric: if m.metric == "Errors" {
                            FAST_ERRORS_METRIC
                        } else {
                            FAST_INVOCATIONS_METRIC
                        },
                        ..*m
                    })
                    .collect(),
                rule.expression(),
                FAST_PERIOD_SECS,
                FAST_PERIODS,
                description,
            )
        }
    };
    let warm_up = (settings.warmup_secs > 0).then(|| WarmUp {
        minutes: settings.warmup_secs.div_ceil(60).min(2_880) as i32,
        whole: kind != AlarmKind::Fast,
    });
    AnalysisAlarm {
        name: format!("{base}{}", kind.suffix()),
        kind,
        description: format!(
            "shiftback release {id}: {description}; deleted when the release ends"
        ),
        function: function.clone(),
        alias: alias.clone(),
        target_version: target_version.clone(),
        stable_version: stable_version.clone(),
        source,
        metrics,
        expression,
        threshold: 0.0,
        period_secs,
        evaluation_periods,
        warm_up,
        action_arn: action_arn.map(str::to_string),
    }
}

/// Whether an alarm name is a release's own.
pub fn is_analysis_alarm(name: &str) -> bool {
    name.starts_with(ALARM_PREFIX)
}

#[cfg(test)]
mod tests;
