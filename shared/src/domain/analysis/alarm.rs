//! The release's own CloudWatch alarm: canary analysis made event-driven. CloudWatch evaluates
//! the target's error rate against the stable version's every minute; the moment it crosses,
//! its state change reaches the alarm function like any guarding alarm's (the stack's
//! EventBridge rule delivers every alarm's ALARM), which reverts at once. The step-end analysis
//! stays for what an alarm cannot judge (latency against a warm baseline, the minimum sample).

use crate::domain::Release;

/// The prefix that marks an alarm as a release's own (and scopes the stack's permission to
/// create and delete alarms to these).
pub const ALARM_PREFIX: &str = "shiftback-analysis-";

/// A per-minute invocation floor: below it, a minute's error rate is noise, not a verdict.
const MIN_INVOCATIONS_PER_MINUTE: u64 = 10;

/// One metric the alarm's expression reads: (id, metric name, version role).
pub const ALARM_METRICS: [(&str, &str, Role); 4] = [
    ("target_errors", "Errors", Role::Target),
    ("target_invocations", "Invocations", Role::Target),
    ("stable_errors", "Errors", Role::Stable),
    ("stable_invocations", "Invocations", Role::Stable),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Target,
    Stable,
}

/// Everything CloudWatch needs to create the alarm, with no AWS type in it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisAlarm {
    pub name: String,
    pub description: String,
    pub function: String,
    pub alias: String,
    pub target_version: String,
    pub stable_version: String,
    /// Metric math over [`ALARM_METRICS`], in percentage points: how much worse the target's
    /// error rate is than the stable version's, in minutes with enough target traffic (0 in
    /// the others).
    pub expression: String,
    /// Crossed above this many points.
    pub threshold_points: f64,
    /// Two minutes in a row: one bad minute of a handful of invocations is not a regression.
    pub evaluation_minutes: i32,
    /// A direct action (the alarm function's ARN), if any; without one, EventBridge delivers
    /// the state change.
    pub action_arn: Option<String>,
}

/// The alarm name of release `release_id`.
pub fn alarm_name(release_id: &str) -> String {
    format!("{ALARM_PREFIX}{release_id}")
}

/// The release's own alarm, with its canary thresholds (the strict ones: the alarm matters
/// most while the target is new).
pub fn analysis_alarm(release: &Release, action_arn: Option<&str>) -> AnalysisAlarm {
    let Release {
        id: release_id,
        function,
        alias,
        target_version,
        stable_version,
        analysis: settings,
        ..
    } = release;
    let floor = (settings.min_invocations / 5).max(MIN_INVOCATIONS_PER_MINUTE);
    let margin = settings.canary.error_rate_margin_pct;
    AnalysisAlarm {
        name: alarm_name(release_id),
        description: format!(
            "shiftback release {release_id}: {function}:{alias} version {target_version}'s error rate more than {margin} points above version {stable_version}'s; deleted when the release ends"
        ),
        function: function.clone(),
        alias: alias.clone(),
        target_version: target_version.clone(),
        stable_version: stable_version.clone(),
        expression: format!(
            "IF(target_invocations >= {floor}, 100 * target_errors / target_invocations - \
             IF(stable_invocations > 0, 100 * stable_errors / stable_invocations, 0), 0)"
        ),
        threshold_points: margin,
        evaluation_minutes: 2,
        action_arn: action_arn.map(str::to_string),
    }
}

/// Whether an alarm name is a release's own.
pub fn is_analysis_alarm(name: &str) -> bool {
    name.starts_with(ALARM_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::release::tests::spec;
    use crate::domain::AnalysisSettings;

    /// A release of orders:live from version 6 to 7, with these analysis settings.
    fn release(id: &str, settings: AnalysisSettings) -> Release {
        let mut spec = spec("linear:50:1m");
        spec.release_id = Some(id.into());
        (spec.stable_version, spec.target_version) = ("6".into(), "7".into());
        spec.analysis = settings;
        Release::new(spec, chrono::Utc::now()).unwrap()
    }

    /// The expression evaluated as CloudWatch would for one minute.
    fn evaluate(floor: f64, t_err: f64, t_inv: f64, s_err: f64, s_inv: f64) -> f64 {
        if t_inv >= floor {
            100.0 * t_err / t_inv
                - if s_inv > 0.0 {
                    100.0 * s_err / s_inv
                } else {
                    0.0
                }
        } else {
            0.0
        }
    }

    #[test]
    fn the_alarm_compares_the_versions_with_a_traffic_floor_and_the_canary_margin() {
        let alarm = analysis_alarm(&release("r-42", AnalysisSettings::default()), None);
        assert_eq!(alarm.name, "shiftback-analysis-r-42");
        assert!(is_analysis_alarm(&alarm.name) && !is_analysis_alarm("orders-errors"));
        assert_eq!(
            alarm.expression,
            "IF(target_invocations >= 10, 100 * target_errors / target_invocations - \
             IF(stable_invocations > 0, 100 * stable_errors / stable_invocations, 0), 0)"
        );
        assert_eq!(alarm.threshold_points, 1.0);
        // Each metric the expression names is fetched.
        for (id, _, _) in ALARM_METRICS {
            assert!(alarm.expression.contains(id), "{id}");
        }
        // What the expression means, minute by minute (floor 10, margin 1 point).
        let cases = [
            (1.0, 9.0, 0.0, 100.0, 0.0, "under the floor: no verdict"),
            (2.0, 40.0, 1.0, 400.0, 4.75, "5% vs 0.25%: crosses"),
            (
                2.0,
                40.0,
                16.0,
                400.0,
                1.0,
                "5% vs 4%: the stable version is as bad",
            ),
            (
                0.0,
                40.0,
                0.0,
                0.0,
                0.0,
                "no stable traffic, no target errors",
            ),
        ];
        for (t_err, t_inv, s_err, s_inv, points, what) in cases {
            let value = evaluate(10.0, t_err, t_inv, s_err, s_inv);
            assert!((value - points).abs() < 1e-9, "{what}: {value}");
            assert_eq!(value > alarm.threshold_points, points > 1.0, "{what}");
        }
    }

    #[test]
    fn the_floor_follows_the_minimum_sample() {
        let settings = AnalysisSettings {
            min_invocations: 500,
            ..Default::default()
        };
        let alarm = analysis_alarm(&release("r-1", settings), None);
        assert!(alarm
            .expression
            .starts_with("IF(target_invocations >= 100,"));
    }
}
