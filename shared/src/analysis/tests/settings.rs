//! The analysis settings: ranges refused with what is wrong, the command line's keys, and a
//! release recorded before the ratio existed.

use super::*;

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

#[test]
fn a_release_recorded_before_the_ratio_reads_the_points_alone() {
    let stored = serde_json::json!({
        "canary": {"error_rate_margin_pct": 1.0, "throttle_rate_margin_pct": 1.0, "p99_factor": 1.5},
        "rollout": {"error_rate_margin_pct": 2.0, "throttle_rate_margin_pct": 2.0, "p99_factor": 2.0}
    });
    let settings: AnalysisSettings = serde_json::from_value(stored).unwrap();
    assert_eq!(
        (settings.canary.error_ratio, settings.rollout.error_ratio),
        (1.0, 1.0)
    );
    assert_eq!(settings.rollout.error_rate_margin_pct, 2.0);
    assert_eq!(settings.settle_secs, 180);
}
