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
/// With no stable baseline in a minute (the bake window after promotion, or a stable version
/// at a few percent of the traffic), the alarm judges the target against this error rate
/// outright: a rate no healthy function runs at, never a missing series read as 0.
pub const NO_BASELINE_ERROR_PCT: f64 = 10.0;
/// Minutes in a row the regression must hold: one minute of a handful of errors is not one.
pub const ALARM_MINUTES: i32 = 3;

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
    /// Metric math over [`ALARM_METRICS`], in percentage points: how far the target's error
    /// rate is past the lowest rate that is a regression (the stable version's plus the
    /// points, or its ratio, whichever is higher; [`NO_BASELINE_ERROR_PCT`] in a minute the
    /// stable version has too little traffic to be a baseline), in minutes with enough target
    /// traffic (0 in the others).
    pub expression: String,
    /// Crossed above this many points (0: any excess past the regression).
    pub threshold_points: f64,
    /// Minutes in a row ([`ALARM_MINUTES`]).
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
    let margin = settings.canary.error_rate_margin_pct;
    let ratio = settings.canary.error_ratio;
    let floor = minute_floor(margin, settings.min_invocations);
    // Every series filled with 0 where CloudWatch has no datapoint: metric math would read a
    // missing one as 0 in arithmetic anyway, but only the comparison below decides what a
    // missing stable series means: no baseline, not an error-free one.
    let (te, ti) = ("FILL(target_errors, 0)", "FILL(target_invocations, 0)");
    let (se, si) = ("FILL(stable_errors, 0)", "FILL(stable_invocations, 0)");
    let target = format!("100 * {te} / {ti}");
    let stable = format!("100 * {se} / {si}");
    let past_regression = format!(
        "IF({stable} * {} > {margin}, {target} - {ratio} * {stable}, {target} - {stable} - {margin})",
        ratio - 1.0
    );
    let expression = format!(
        "IF({ti} >= {floor}, IF({si} >= {floor}, {past_regression}, {target} - {NO_BASELINE_ERROR_PCT}), 0)"
    );
    AnalysisAlarm {
        name: alarm_name(release_id),
        description: format!(
            "shiftback release {release_id}: {function}:{alias} version {target_version}'s error rate more than {margin} points above version {stable_version}'s and more than {ratio}x it ({NO_BASELINE_ERROR_PCT}% with no stable traffic), {ALARM_MINUTES} minutes of {floor}+ invocations in a row; deleted when the release ends"
        ),
        function: function.clone(),
        alias: alias.clone(),
        target_version: target_version.clone(),
        stable_version: stable_version.clone(),
        expression,
        threshold_points: 0.0,
        evaluation_minutes: ALARM_MINUTES,
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

    /// The expression as CloudWatch evaluates it for one minute, a missing datapoint given as
    /// None (FILL makes it 0), by the alarm's own arithmetic written out again.
    fn evaluate(
        floor: f64,
        te: Option<f64>,
        ti: Option<f64>,
        se: Option<f64>,
        si: Option<f64>,
    ) -> f64 {
        let (te, ti, se, si) = (
            te.unwrap_or(0.0),
            ti.unwrap_or(0.0),
            se.unwrap_or(0.0),
            si.unwrap_or(0.0),
        );
        if ti < floor {
            return 0.0;
        }
        let target = 100.0 * te / ti;
        if si < floor {
            return target - NO_BASELINE_ERROR_PCT;
        }
        let stable = 100.0 * se / si;
        if stable * 0.5 > 1.0 {
            target - 1.5 * stable
        } else {
            target - stable - 1.0
        }
    }

    #[test]
    fn the_alarm_compares_the_versions_past_the_regression_with_a_floor_from_the_margin() {
        let alarm = analysis_alarm(&release("r-42", AnalysisSettings::default()), None);
        assert_eq!(alarm.name, "shiftback-analysis-r-42");
        assert!(is_analysis_alarm(&alarm.name) && !is_analysis_alarm("orders-errors"));
        // What `evaluate` below models, term by term.
        let t = "100 * FILL(target_errors, 0) / FILL(target_invocations, 0)";
        let s = "100 * FILL(stable_errors, 0) / FILL(stable_invocations, 0)";
        assert_eq!(
            alarm.expression,
            format!(
                "IF(FILL(target_invocations, 0) >= 300, IF(FILL(stable_invocations, 0) >= 300, \
                 IF({s} * 0.5 > 1, {t} - 1.5 * {s}, {t} - {s} - 1), {t} - 10), 0)"
            )
        );
        assert_eq!((alarm.threshold_points, alarm.evaluation_minutes), (0.0, 3));
        for (id, _, _) in ALARM_METRICS {
            assert!(alarm.expression.contains(id), "{id}");
        }
        let floor = 300.0;
        // (target errors, target calls, stable errors, stable calls, breaches?, what)
        let cases = [
            (
                Some(2.0),
                Some(200.0),
                Some(1.0),
                Some(1_800.0),
                false,
                "under the floor: no verdict",
            ),
            (
                Some(30.0),
                Some(400.0),
                Some(18.0),
                Some(3_600.0),
                true,
                "7.5% vs 0.5%: past the margin",
            ),
            (
                Some(6.0),
                Some(400.0),
                Some(18.0),
                Some(3_600.0),
                false,
                "1.5% vs 0.5%: at the margin, not past it",
            ),
            (
                Some(36.0),
                Some(400.0),
                Some(270.0),
                Some(3_600.0),
                false,
                "9% vs 7.5%: within 1.5x",
            ),
            (
                Some(60.0),
                Some(400.0),
                Some(270.0),
                Some(3_600.0),
                true,
                "15% vs 7.5%: past 1.5x",
            ),
            (
                Some(8.0),
                Some(400.0),
                Some(0.0),
                None,
                false,
                "the bake window: 2% with no stable traffic, not a missing 0",
            ),
            (
                Some(60.0),
                Some(400.0),
                None,
                None,
                true,
                "15% with no stable traffic: past the outright bar",
            ),
        ];
        for (te, ti, se, si, breaches, what) in cases {
            let value = evaluate(floor, te, ti, se, si);
            assert_eq!(value > alarm.threshold_points, breaches, "{what}: {value}");
        }
    }

    #[test]
    fn the_floor_follows_the_margin_and_the_minimum_sample() {
        assert_eq!(minute_floor(1.0, 50), 300);
        assert_eq!(minute_floor(2.0, 50), 150);
        assert_eq!(minute_floor(10.0, 2_500), 500);
        let settings = AnalysisSettings {
            min_invocations: 2_500,
            ..Default::default()
        };
        let alarm = analysis_alarm(&release("r-1", settings), None);
        assert!(alarm
            .expression
            .starts_with("IF(FILL(target_invocations, 0) >= 500,"));
    }
}
