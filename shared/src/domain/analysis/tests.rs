//! The statistics of canary analysis, by tables of cases.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::domain::weight::Weight;

/// Minute `minute` of the test's clock (1,800,000,000 s is a whole minute).
fn t(minute: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minute)
}

/// `n` minutes from minute 0, each with these counts and p99.
fn minutes(n: i64, invocations: f64, errors: f64, p99_ms: Option<f64>) -> Vec<Minute> {
    (0..n)
        .map(|i| Minute {
            at: t(i),
            invocations,
            errors,
            throttles: 0.0,
            p99_ms,
        })
        .collect()
}

fn canary() -> Weight {
    Weight::from_percent(10.0).unwrap()
}

fn judged(target: Vec<Minute>, stable: Vec<Minute>) -> CanaryVerdict {
    judge(
        &AnalysisSettings::default(),
        canary(),
        t(0),
        &Comparison { target, stable },
    )
}

#[test]
fn error_rates_are_compared_with_the_stable_versions_plus_the_margin() {
    // (target errors per minute of 20 invocations, stable errors per minute of 200, healthy?)
    let cases = [
        (0.0, 0.0, true),
        (0.2, 0.0, true),   // 1.0% vs 0%: at the 1-point margin, not over it
        (0.4, 0.0, false),  // 2.0% vs 0%
        (1.0, 8.0, true),   // 5.0% vs 4.0%: the stable version is as bad
        (2.0, 8.0, false),  // 10% vs 4%
        (20.0, 0.0, false), // every invocation failed
    ];
    for (target_errors, stable_errors, healthy) in cases {
        let verdict = judged(
            minutes(5, 20.0, target_errors, None),
            minutes(5, 200.0, stable_errors, None),
        );
        assert_eq!(
            matches!(verdict, CanaryVerdict::Healthy { .. }),
            healthy,
            "{target_errors} vs {stable_errors}: {verdict:?}"
        );
    }
}

#[test]
fn an_unhealthy_verdict_gives_the_numbers() {
    let verdict = judged(
        minutes(4, 203.0, 8.3, None),
        minutes(5, 1_862.0, 3.724, None),
    );
    match verdict {
        CanaryVerdict::Unhealthy { reasons, .. } => assert_eq!(
            reasons,
            ["target 4.1% errors over 812 invocations vs stable 0.2% over 9,310; threshold 1.2%"]
        ),
        v => panic!("{v:?}"),
    }
}

#[test]
fn too_little_traffic_is_inconclusive_never_a_pass() {
    // (target minutes of 10 invocations each, errors in them)
    for (n, errors) in [(0, 0.0), (1, 0.0), (4, 0.0), (4, 10.0)] {
        let verdict = judged(minutes(n, 10.0, errors, None), minutes(5, 500.0, 0.0, None));
        match verdict {
            CanaryVerdict::Inconclusive { why } => {
                assert!(why.contains(&format!("{} invocations", n * 10)), "{why}")
            }
            v => panic!("{n} minutes: {v:?}"),
        }
    }
    // Fifty invocations are enough.
    assert!(matches!(
        judged(minutes(5, 10.0, 0.0, None), minutes(5, 500.0, 0.0, None)),
        CanaryVerdict::Healthy { .. }
    ));
}

#[test]
fn a_stable_version_without_traffic_or_datapoints_counts_as_error_free() {
    let verdict = judged(minutes(5, 20.0, 0.4, None), Vec::new());
    match verdict {
        CanaryVerdict::Unhealthy { reasons, .. } => {
            assert!(reasons[0].contains("vs stable 0.0% over 0"), "{reasons:?}")
        }
        v => panic!("{v:?}"),
    }
    assert!(matches!(
        judged(minutes(5, 20.0, 0.0, None), Vec::new()),
        CanaryVerdict::Healthy { .. }
    ));
}

#[test]
fn throttling_counts_against_every_request_that_reached_the_version() {
    let mut target = minutes(5, 20.0, 0.0, None);
    target[0].throttles = 5.0; // 5 of 105 requests
    let verdict = judged(target, minutes(5, 200.0, 0.0, None));
    match verdict {
        CanaryVerdict::Unhealthy { reasons, .. } => {
            assert!(reasons[0].contains("target 4.8% throttled"), "{reasons:?}")
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn a_version_that_starts_cold_is_not_a_latency_regression() {
    // The target's first minute is cold (p99 of 2.4 s), then as fast as the stable version.
    let mut target = minutes(6, 30.0, 0.0, Some(110.0));
    target[0].p99_ms = Some(2_400.0);
    let stable = minutes(6, 300.0, 0.0, Some(100.0));
    let verdict = judged(target.clone(), stable.clone());
    assert!(
        matches!(&verdict, CanaryVerdict::Healthy { summary } if summary.contains("p99 110 ms vs stable 100 ms")),
        "{verdict:?}"
    );
    // Without the warm-up left out, the cold minute alone would have failed it.
    let no_warmup = AnalysisSettings {
        warmup_secs: 0,
        ..Default::default()
    };
    let cold = judge(&no_warmup, canary(), t(0), &Comparison { target, stable });
    assert!(matches!(cold, CanaryVerdict::Unhealthy { .. }), "{cold:?}");
}

#[test]
fn a_slower_warm_version_is_a_latency_regression() {
    let verdict = judged(
        minutes(6, 30.0, 0.0, Some(400.0)),
        minutes(6, 300.0, 0.0, Some(100.0)),
    );
    match verdict {
        CanaryVerdict::Unhealthy { reasons, .. } => assert_eq!(
            reasons,
            ["target p99 400 ms vs stable 100 ms; threshold 175 ms"]
        ),
        v => panic!("{v:?}"),
    }
}

#[test]
fn latency_is_not_judged_without_enough_warm_invocations_but_errors_still_are() {
    // Two warm minutes of 20: 40 warm invocations, under the minimum of 50.
    let target = minutes(3, 20.0, 0.0, Some(900.0));
    let verdict = judged(target, minutes(3, 300.0, 0.0, Some(100.0)));
    assert!(
        matches!(&verdict, CanaryVerdict::Healthy { summary } if summary.contains("p99 not compared")),
        "{verdict:?}"
    );
}

#[test]
fn thresholds_are_stricter_while_the_target_is_a_canary() {
    // 1.5% vs 0%: over the canary's 1-point margin, under the rollout's 2.
    let target = minutes(5, 200.0, 3.0, None);
    let stable = minutes(5, 200.0, 0.0, None);
    let comparison = Comparison { target, stable };
    let settings = AnalysisSettings::default();
    let at = |percent: f64| {
        judge(
            &settings,
            Weight::from_percent(percent).unwrap(),
            t(0),
            &comparison,
        )
    };
    assert!(matches!(at(10.0), CanaryVerdict::Unhealthy { .. }));
    assert!(
        matches!(at(25.0), CanaryVerdict::Unhealthy { .. }),
        "25% is still a canary"
    );
    assert!(matches!(at(50.0), CanaryVerdict::Healthy { .. }));
}

#[test]
fn the_window_starts_at_the_first_traffic_or_the_look_back_and_ends_after_this_minute() {
    let settings = AnalysisSettings::default(); // 600 s look-back
    let now = t(30) + Duration::seconds(20);
    assert_eq!(
        window(&settings, t(25) + Duration::seconds(40), now),
        (t(25), t(31))
    );
    assert_eq!(window(&settings, t(0), now), (t(20), t(31)));
}

#[test]
fn alarms_and_analysis_combine_in_one_verdict() {
    let unhealthy_alarm = Verdict::Unhealthy {
        reason: "alarm errors is in ALARM".into(),
    };
    let failed = CanaryVerdict::Unhealthy {
        reasons: vec!["target 4.1% errors".into()],
        summary: String::new(),
    };
    let unsure = CanaryVerdict::Inconclusive {
        why: "too quiet".into(),
    };
    let fine = CanaryVerdict::Healthy {
        summary: String::new(),
    };
    assert_eq!(combine(Verdict::Healthy, None), Verdict::Healthy);
    assert_eq!(combine(Verdict::Healthy, Some(&fine)), Verdict::Healthy);
    assert_eq!(
        combine(Verdict::Healthy, Some(&unsure)),
        Verdict::Inconclusive {
            reason: "canary analysis inconclusive: too quiet".into()
        }
    );
    assert_eq!(
        combine(unhealthy_alarm.clone(), Some(&unsure)),
        unhealthy_alarm,
        "a firing alarm is a verdict, whatever the traffic"
    );
    assert_eq!(
        combine(unhealthy_alarm, Some(&failed)),
        Verdict::Unhealthy {
            reason: "alarm errors is in ALARM; canary analysis failed: target 4.1% errors".into()
        }
    );
}

#[test]
fn settings_out_of_range_are_refused_with_what_is_wrong() {
    let bad = [
        (
            AnalysisSettings {
                min_invocations: 0,
                ..Default::default()
            },
            "min_invocations",
        ),
        (
            AnalysisSettings {
                window_secs: 30,
                ..Default::default()
            },
            "window_secs",
        ),
        (
            AnalysisSettings {
                canary: Thresholds {
                    p99_factor: 0.5,
                    ..Thresholds::CANARY
                },
                ..Default::default()
            },
            "canary.p99_factor",
        ),
        (
            AnalysisSettings {
                rollout: Thresholds {
                    error_rate_margin_pct: f64::NAN,
                    ..Thresholds::ROLLOUT
                },
                ..Default::default()
            },
            "rollout.error_rate_margin_pct",
        ),
    ];
    for (settings, field) in bad {
        let err = settings.check().unwrap_err();
        assert!(err.starts_with(field), "{err}");
    }
    assert_eq!(AnalysisSettings::default().check(), Ok(()));
}

#[test]
fn command_line_options_set_what_they_name_and_refuse_the_rest() {
    let mut settings = AnalysisSettings::default();
    for option in [
        "min-invocations=200",
        "when_inconclusive=fail",
        "window=15m",
        "canary.p99_factor=3",
        "error_rate_margin_pct=0.5",
    ] {
        settings.set(option).unwrap();
    }
    assert_eq!(settings.min_invocations, 200);
    assert_eq!(settings.when_inconclusive, WhenInconclusive::Fail);
    assert_eq!(settings.window_secs, 900);
    assert_eq!(settings.canary.p99_factor, 3.0);
    assert_eq!(settings.rollout.p99_factor, Thresholds::ROLLOUT.p99_factor);
    assert_eq!(
        (
            settings.canary.error_rate_margin_pct,
            settings.rollout.error_rate_margin_pct
        ),
        (0.5, 0.5),
        "unqualified: both phases"
    );
    settings.set("off").unwrap();
    assert!(!settings.enabled);
    for (bad, says) in [
        ("min_invocations=many", "not a whole number"),
        ("colour=blue", "unknown analysis setting 'colour'"),
        ("when_inconclusive=maybe", "not hold, fail or pass"),
        ("loud", "use off, on or KEY=VALUE"),
        ("nightly.p99_factor=2", "unknown analysis setting"),
    ] {
        let err = AnalysisSettings::default().set(bad).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
    }
}
