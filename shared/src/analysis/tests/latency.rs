//! p99 duration: cold starts are not regressions, a slower warm version is once most minutes
//! show it, and too few calls a minute leave latency unjudged.

use super::*;

#[test]
fn a_version_that_starts_cold_is_not_a_latency_regression() {
    // The target's first minute is cold (p99 of 2.4 s), then as fast as the stable version.
    let mut target = minutes(12, 200.0, 0.0, Some(110.0));
    target[0].p99_ms = Some(2_400.0);
    let stable = minutes(12, 1_800.0, 0.0, Some(100.0));
    let verdict = judged(target, stable);
    assert!(
        matches!(&verdict, CanaryVerdict::Healthy { summary } if summary.contains("in 0 of 11 warm minutes")),
        "{verdict:?}"
    );
}

#[test]
fn a_slower_warm_version_is_a_latency_regression_once_most_minutes_show_it() {
    let slow = |n| {
        judged(
            minutes(n, 200.0, 0.0, Some(400.0)),
            minutes(n, 1_800.0, 0.0, Some(100.0)),
        )
    };
    // A few slow minutes could be chance; a run of them is not.
    assert!(!is_unhealthy(&slow(4)), "{:?}", slow(4));
    match slow(15) {
        CanaryVerdict::Unhealthy { reasons, .. } => assert_eq!(
            reasons,
            ["target p99 above 1.5x stable + 25 ms in 14 of 14 warm minutes"]
        ),
        v => panic!("{v:?}"),
    }
}

#[test]
fn latency_is_not_judged_without_enough_invocations_a_minute_or_when_unread() {
    // 50 target invocations a minute: a p99 of 50 calls is their slowest, not a percentile.
    let verdict = judged(
        minutes(30, 50.0, 0.0, Some(900.0)),
        minutes(30, 450.0, 0.0, Some(100.0)),
    );
    assert!(
        matches!(&verdict, CanaryVerdict::Healthy { summary } if summary.contains("latency not judged")),
        "{verdict:?}"
    );
    let unread = Comparison {
        target: minutes(15, 200.0, 0.0, Some(400.0)),
        stable: minutes(15, 1_800.0, 0.0, Some(100.0)),
        latency_unread: Some("the p99s could not be read: throttled".into()),
    };
    let verdict = judge(&AnalysisSettings::default(), canary(), t(0), &unread);
    assert!(
        matches!(&verdict, CanaryVerdict::Healthy { summary } if summary.contains("latency not judged: the p99s could not be read")),
        "{verdict:?}"
    );
}
