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

fn fast_settings() -> AnalysisSettings {
    AnalysisSettings {
        fast_path_namespace: Some("Orders/Fast".into()),
        ..Default::default()
    }
}

#[test]
fn the_alarm_compares_the_versions_past_the_regression_with_a_floor_from_the_margin() {
    let alarm = analysis_alarm(&release("r-42", AnalysisSettings::default()), None);
    assert_eq!(alarm.name, "shiftback-analysis-r-42");
    assert!(is_analysis_alarm(&alarm.name) && !is_analysis_alarm("orders-errors"));
    // What `RegressionRule::points_past` models, term by term: the missing stable series is
    // a missing baseline (the 10% bar), never an error-free one.
    let t = "100 * FILL(target_errors, 0) / FILL(target_invocations, 0)";
    let s = "100 * FILL(stable_errors, 0) / FILL(stable_invocations, 0)";
    assert_eq!(
        alarm.expression,
        format!(
            "IF(FILL(target_invocations, 0) >= 300, IF(FILL(stable_invocations, 0) >= 300, \
             IF({s} * 0.5 > 1, {t} - 1.5 * {s}, {t} - {s} - 1), {t} - 10), 0)"
        )
    );
    assert_eq!(
        (alarm.threshold, alarm.evaluation_periods, alarm.period_secs),
        (0.0, 3, 60)
    );
    for m in &alarm.metrics {
        assert!(alarm.expression.contains(m.id), "{}", m.id);
    }
    let rule = RegressionRule {
        floor: 300,
        points: 1.0,
        ratio: 1.5,
        no_baseline_pct: NO_BASELINE_ERROR_PCT,
    };
    assert_eq!(rule.expression(), alarm.expression);
    // (target errors, target calls, stable errors, stable calls, breaches?, what); a series
    // CloudWatch has no datapoint of is 0 (FILL).
    let cases = [
        (
            2.0,
            200.0,
            1.0,
            1_800.0,
            false,
            "under the floor: no verdict",
        ),
        (
            30.0,
            400.0,
            18.0,
            3_600.0,
            true,
            "7.5% vs 0.5%: past the margin",
        ),
        (
            6.0,
            400.0,
            18.0,
            3_600.0,
            false,
            "1.5% vs 0.5%: at the margin, not past it",
        ),
        (
            36.0,
            400.0,
            270.0,
            3_600.0,
            false,
            "9% vs 7.5%: within 1.5x",
        ),
        (60.0, 400.0, 270.0, 3_600.0, true, "15% vs 7.5%: past 1.5x"),
        (
            8.0,
            400.0,
            0.0,
            0.0,
            false,
            "the bake window: 2% with no stable traffic, not a missing 0",
        ),
        (
            60.0,
            400.0,
            0.0,
            0.0,
            true,
            "15% with no stable traffic: past the outright bar",
        ),
    ];
    for (te, ti, se, si, breaches, what) in cases {
        let value = rule.points_past(te, ti, se, si);
        assert_eq!(value > alarm.threshold, breaches, "{what}: {value}");
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

#[test]
fn a_latency_alarm_stands_beside_the_error_alarm_and_judges_p99s_only_over_enough_calls() {
    let r = release("r-7", AnalysisSettings::default());
    assert_eq!(
        AlarmKind::for_settings(&r.analysis),
        [AlarmKind::Errors, AlarmKind::Latency]
    );
    let alarm = kind_alarm(&r, "shiftback-analysis-r-7", AlarmKind::Latency, None);
    assert_eq!(alarm.name, "shiftback-analysis-r-7.latency");
    assert_eq!(guard_alarm_of(&alarm.name), "shiftback-analysis-r-7");
    assert_eq!(
        alarm.expression,
        "IF(FILL(target_invocations, 0) >= 100, IF(FILL(stable_invocations, 0) >= 100, \
         FILL(target_p99, 0) - (1.5 * FILL(stable_p99, 0) + 25), 0), 0)"
    );
    assert_eq!((alarm.evaluation_periods, alarm.period_secs), (5, 60));
    assert_eq!(alarm.source, Source::Lambda);
    let stats: Vec<_> = alarm.metrics.iter().map(|m| (m.metric, m.stat)).collect();
    assert_eq!(
        stats,
        [
            ("Duration", "p99"),
            ("Invocations", "Sum"),
            ("Duration", "p99"),
            ("Invocations", "Sum")
        ]
    );
    let rule = LatencyRule {
        floor: 100,
        factor: 1.5,
        slack_ms: 25.0,
    };
    assert_eq!(rule.expression(), alarm.expression);
    // (target p99, stable p99, target calls, stable calls, breaches?, what)
    let cases = [
        (400.0, 200.0, 150.0, 1_350.0, true, "twice as slow"),
        (320.0, 200.0, 150.0, 1_350.0, false, "within 1.5x + 25 ms"),
        (
            35.0,
            4.0,
            150.0,
            1_350.0,
            true,
            "a fast function 31 ms slower",
        ),
        (
            20.0,
            4.0,
            150.0,
            1_350.0,
            false,
            "a fast function's jitter, under the slack",
        ),
        (
            900.0,
            200.0,
            60.0,
            1_350.0,
            false,
            "a p99 of 60 calls: the slowest call, not judged",
        ),
        (
            900.0,
            0.0,
            150.0,
            0.0,
            false,
            "the bake window: no stable p99 to compare with",
        ),
    ];
    for (tp, sp, ti, si, breaches, what) in cases {
        let value = rule.ms_past(tp, sp, ti, si);
        assert_eq!(value > alarm.threshold, breaches, "{what}: {value}");
    }
}

#[test]
fn the_fast_path_reads_the_functions_own_second_metrics_ten_seconds_at_a_time() {
    let r = release("r-9", fast_settings());
    assert_eq!(
        AlarmKind::for_settings(&r.analysis),
        [AlarmKind::Errors, AlarmKind::Latency, AlarmKind::Fast]
    );
    let alarm = kind_alarm(&r, "shiftback-analysis-r-9-m1", AlarmKind::Fast, None);
    assert_eq!(alarm.name, "shiftback-analysis-r-9-m1.fast");
    assert_eq!(guard_alarm_of(&alarm.name), "shiftback-analysis-r-9-m1");
    assert_eq!(
        alarm.source,
        Source::Emf {
            namespace: "Orders/Fast".into()
        }
    );
    assert_eq!((alarm.period_secs, alarm.evaluation_periods), (10, 3));
    assert_eq!(alarm.expression, FAST_RULE.expression());
    // The default warm-up (60 s), ended as soon as three periods of data are in.
    assert_eq!(
        alarm.warm_up,
        Some(WarmUp {
            minutes: 1,
            whole: false
        })
    );
    let minutes = kind_alarm(&r, "x", AlarmKind::Errors, None);
    assert_eq!(
        minutes.warm_up,
        Some(WarmUp {
            minutes: 1,
            whole: true
        })
    );
    // Clearly bad: 20% of 30 calls against a 1% stable version, in ten seconds.
    assert!(FAST_RULE.points_past(6.0, 30.0, 3.0, 270.0) > 0.0);
    // Not clearly bad: 5% against 1% (the per-minute alarm and the step-end judge's to find).
    assert!(FAST_RULE.points_past(2.0, 40.0, 3.0, 300.0) <= 0.0);
    // Too few calls in ten seconds to say anything.
    assert_eq!(FAST_RULE.points_past(5.0, 10.0, 0.0, 90.0), 0.0);
    // The bake window: 20% is no verdict (25% outright), 40% is.
    assert!(FAST_RULE.points_past(6.0, 30.0, 0.0, 0.0) <= 0.0);
    assert!(FAST_RULE.points_past(12.0, 30.0, 0.0, 0.0) > 0.0);
}

#[test]
fn only_a_release_analysis_alarm_has_a_kind_to_strip() {
    assert_eq!(
        guard_alarm_of("orders-errors.latency"),
        "orders-errors.latency"
    );
    assert_eq!(
        guard_alarm_of("shiftback-analysis-r-1"),
        "shiftback-analysis-r-1"
    );
    assert_eq!(
        guard_alarm_of("shiftback-analysis-r-fast"),
        "shiftback-analysis-r-fast"
    );
    let off = AnalysisSettings {
        warmup_secs: 0,
        ..AnalysisSettings::off()
    };
    assert!(AlarmKind::for_settings(&off).is_empty());
    let no_warm_up = kind_alarm(
        &release(
            "r-1",
            AnalysisSettings {
                warmup_secs: 0,
                ..Default::default()
            },
        ),
        "x",
        AlarmKind::Errors,
        None,
    );
    assert_eq!(no_warm_up.warm_up, None);
}

#[test]
fn a_release_recorded_before_the_other_kinds_is_asked_only_of_its_error_alarm() {
    let mut r = release("r-1", AnalysisSettings::default());
    r.analysis_alarm = Some(alarm_name("r-1"));
    let stored = serde_json::to_value(&r).unwrap();
    assert!(stored.get("analysis_alarm_kinds").is_none());
    let old: Release = serde_json::from_value(stored).unwrap();
    assert_eq!(old.analysis_alarms(), ["shiftback-analysis-r-1"]);

    r.analysis_alarm_kinds = AlarmKind::for_settings(&r.analysis);
    assert_eq!(
        r.analysis_alarms(),
        ["shiftback-analysis-r-1", "shiftback-analysis-r-1.latency"]
    );
    // One guard record a member, found from any of its alarms.
    assert_eq!(
        r.recorded_guards(),
        ["orders-errors", "shiftback-analysis-r-1"]
    );
    for name in r.analysis_alarms() {
        assert!(r
            .recorded_guards()
            .contains(&guard_alarm_of(&name).to_string()));
    }
}
