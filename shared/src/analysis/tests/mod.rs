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
        &Comparison {
            target,
            stable,
            ..Default::default()
        },
    )
}

fn is_healthy(v: &CanaryVerdict) -> bool {
    matches!(v, CanaryVerdict::Healthy { .. })
}

fn is_unhealthy(v: &CanaryVerdict) -> bool {
    matches!(v, CanaryVerdict::Unhealthy { .. })
}

#[test]
fn error_rates_are_judged_on_evidence_against_the_stable_version_and_the_margin() {
    // Ten minutes of 100 target and 900 stable invocations: (target errors a minute, stable
    // errors a minute, verdict).
    let cases = [
        (0.0, 0.0, "healthy"),
        (1.0, 9.0, "healthy"), // 1% like the stable: shown no worse over 900 warm calls
        (5.0, 9.0, "unhealthy"), // 5x the stable's 1%
        (6.0, 45.0, "inconclusive"), // 6% vs 5%: within 1.5x, but not yet shown so
        (20.0, 45.0, "unhealthy"), // 20% vs 5%
        (100.0, 0.0, "unhealthy"), // every invocation failed
    ];
    for (target_errors, stable_errors, expected) in cases {
        let verdict = judged(
            minutes(10, 100.0, target_errors, None),
            minutes(10, 900.0, stable_errors, None),
        );
        let got = match &verdict {
            CanaryVerdict::Healthy { .. } => "healthy",
            CanaryVerdict::Unhealthy { .. } => "unhealthy",
            CanaryVerdict::Inconclusive { .. } => "inconclusive",
        };
        assert_eq!(
            got, expected,
            "{target_errors} vs {stable_errors}: {verdict:?}"
        );
    }
    // The like-rate target over an hour: shown no worse.
    let hour = judged(minutes(60, 100.0, 1.0, None), minutes(60, 900.0, 9.0, None));
    assert!(is_healthy(&hour), "{hour:?}");
}

#[test]
fn an_unhealthy_verdict_gives_the_numbers() {
    let verdict = judged(
        minutes(4, 203.0, 8.3, None),
        minutes(5, 1_862.0, 3.724, None),
    );
    match verdict {
        CanaryVerdict::Unhealthy { reasons, .. } => {
            assert_eq!(
                reasons,
                // The first minute is the warm-up: left out.
                ["target 4.09% errors over 609 vs stable 0.20% over 7,448: worse than the margin allows, beyond chance at 99.5% confidence"]
            );
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn too_little_traffic_is_inconclusive_never_a_pass() {
    // (target minutes of 10 invocations each, errors in them)
    for (n, errors) in [(0, 0.0), (1, 0.0), (4, 0.0), (5, 0.0)] {
        let verdict = judged(minutes(n, 10.0, errors, None), minutes(5, 500.0, 0.0, None));
        match verdict {
            CanaryVerdict::Inconclusive { why } => {
                assert!(why.contains("not enough evidence yet"), "{why}")
            }
            v => panic!("{n} minutes: {v:?}"),
        }
    }
    // The test's own minimum sample: error-free targets are shown no worse with enough calls.
    assert!(is_healthy(&judged(
        minutes(5, 200.0, 0.0, None),
        minutes(5, 500.0, 0.0, None)
    )));
}

#[test]
fn a_stable_version_without_traffic_leaves_only_an_absolute_bar() {
    // After promotion (or at high weights) the stable version may have no traffic: no rate is
    // worse than a missing one, and the target is healthy only when shown under the points.
    let verdict = judged(minutes(5, 100.0, 10.0, None), Vec::new());
    assert!(!is_unhealthy(&verdict), "{verdict:?}");
    assert!(is_healthy(&judged(
        minutes(5, 200.0, 0.0, None),
        Vec::new()
    )));
    // The stable version's earlier minutes (its traffic before it lost it) still count.
    let mut stable = minutes(5, 900.0, 0.0, None);
    stable.truncate(3);
    let verdict = judged(minutes(5, 100.0, 10.0, None), stable);
    assert!(is_unhealthy(&verdict), "{verdict:?}");
}

#[test]
fn throttling_counts_against_every_request_that_reached_the_version() {
    let mut target = minutes(5, 100.0, 0.0, None);
    for m in &mut target {
        m.throttles = 10.0; // 10 of 110 requests
    }
    let verdict = judged(target, minutes(5, 900.0, 0.0, None));
    match verdict {
        CanaryVerdict::Unhealthy { reasons, .. } => {
            assert!(
                reasons[0].starts_with("target 9.09% throttled"),
                "{reasons:?}"
            )
        }
        v => panic!("{v:?}"),
    }
}

#[test]
fn thresholds_are_stricter_while_the_target_is_a_canary() {
    // 2.8% vs 1%: over the canary's 1.5x and 1 point, under the rollout's 2 points.
    let target = minutes(60, 1_000.0, 28.0, None);
    let stable = minutes(60, 1_000.0, 10.0, None);
    let comparison = Comparison {
        target,
        stable,
        ..Default::default()
    };
    let settings = AnalysisSettings::default();
    let at = |percent: f64| {
        judge(
            &settings,
            Weight::from_percent(percent).unwrap(),
            t(0),
            &comparison,
        )
    };
    assert!(is_unhealthy(&at(10.0)));
    assert!(is_unhealthy(&at(25.0)), "25% is still a canary");
    assert!(!is_unhealthy(&at(50.0)), "{:?}", at(50.0));
}

#[test]
fn the_window_is_every_settled_minute_since_the_first_traffic() {
    let settings = AnalysisSettings::default();
    let now = t(30) + Duration::seconds(20);
    // Minutes that began by 27:20 (three minutes ago) are in: up to 27:00-28:00.
    assert_eq!(
        window(&settings, t(25) + Duration::seconds(40), now),
        (t(25), t(28))
    );
    assert_eq!(window(&settings, t(0), now), (t(0), t(28)));
    // Right after the first traffic: nothing settled yet, an empty window.
    assert_eq!(window(&settings, t(30), now), (t(30), t(30)));
    // Settling off (an emulator): the current minute too.
    let at_once = AnalysisSettings {
        settle_secs: 0,
        ..Default::default()
    };
    assert_eq!(window(&at_once, t(25), now), (t(25), t(31)));
}

#[test]
fn a_late_minute_changes_no_verdict_on_a_healthy_target() {
    // A cold-start burst in the first minute after the shift (3x the errors), then the
    // target runs like the stable version. Whether the minutes after the burst have arrived
    // or not, it is never rolled back.
    let mut target = minutes(6, 300.0, 3.0, None);
    target[0].errors = 9.0;
    let stable = minutes(6, 2_700.0, 27.0, None);
    for arrived in 1..=6 {
        let verdict = judged(target[..arrived].to_vec(), stable[..arrived].to_vec());
        assert!(!is_unhealthy(&verdict), "{arrived} minutes: {verdict:?}");
        // The target's minutes late and the stable's in (or the other way round).
        let late_target = judged(target[..1].to_vec(), stable[..arrived].to_vec());
        assert!(!is_unhealthy(&late_target), "{arrived}: {late_target:?}");
    }
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
fn a_regression_that_starts_at_a_later_step_is_judged_on_that_steps_minutes() {
    // Step 1 (minutes 0-9): healthy at a 5% baseline. Step 2 (from minute 10): the baseline
    // falls to 0.5% and the target runs at 4%, eight times it.
    let mut target = minutes(10, 100.0, 5.0, None);
    let mut stable = minutes(10, 900.0, 45.0, None);
    for i in 10..40 {
        target.push(Minute {
            at: t(i),
            invocations: 500.0,
            errors: 20.0,
            throttles: 0.0,
            p99_ms: None,
        });
        stable.push(Minute {
            at: t(i),
            invocations: 500.0,
            errors: 2.5,
            throttles: 0.0,
            p99_ms: None,
        });
    }
    let comparison = Comparison {
        target,
        stable,
        ..Default::default()
    };
    let look = Look {
        weight: Weight::from_percent(50.0).unwrap(),
        step_since: t(10),
        budget_share: 0.5,
    };
    let verdict = judge_step(&AnalysisSettings::default(), &look, &comparison);
    assert!(is_unhealthy(&verdict), "{verdict:?}");
    // Pooled with the first step's minutes, the same data read as healthy.
    let pooled = judge(
        &AnalysisSettings::default(),
        Weight::from_percent(50.0).unwrap(),
        t(0),
        &comparison,
    );
    assert!(!is_unhealthy(&pooled), "{pooled:?}");
}

mod latency;
mod settings;
