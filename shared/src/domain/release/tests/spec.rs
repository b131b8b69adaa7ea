//! The release spec: what is validated before a release exists, the one name of a function,
//! and a release that survives its own serialization.

use super::*;

#[test]
fn specs_are_validated() {
    let bad = |f: fn(&mut ReleaseSpec)| {
        let mut s = spec("canary:10:5m");
        f(&mut s);
        Release::new(s, t(0)).unwrap_err()
    };
    assert!(matches!(
        bad(|s| s.target_version = "3".into()),
        SpecError::SameVersion(_)
    ));
    assert!(matches!(
        bad(|s| s.target_version = "$LATEST".into()),
        SpecError::Version { role: "target", .. }
    ));
    assert!(matches!(
        bad(|s| s.stable_version = "".into()),
        SpecError::Version { role: "stable", .. }
    ));
    assert!(matches!(
        bad(|s| s.alias = "$LATEST".into()),
        SpecError::AliasName(_)
    ));
    assert!(matches!(
        bad(|s| s.alias = "123".into()),
        SpecError::AliasName(_)
    ));
    assert!(matches!(
        bad(|s| s.function = "orders:live".into()),
        SpecError::FunctionName(_)
    ));
    assert!(matches!(
        bad(|s| s.function = "x".repeat(200)),
        SpecError::FunctionName(_)
    ));
    assert!(matches!(
        bad(|s| s.alarms = vec!["".into()]),
        SpecError::AlarmName(_)
    ));
    assert!(matches!(
        bad(|s| s.alarms = (0..=MAX_ALARMS).map(|i| i.to_string()).collect()),
        SpecError::TooManyAlarms(41)
    ));
    assert!(matches!(
        bad(|s| s.alarm_overrides = vec!["other".into()]),
        SpecError::OverrideNotGuarding(_)
    ));
    assert!(matches!(
        bad(|s| s.bake_after_secs = MAX_BAKE_AFTER_SECS + 1),
        SpecError::BakeAfterTooLong(_)
    ));
    assert!(matches!(
        bad(|s| s.release_id = Some("a b".into())),
        SpecError::ReleaseId(_)
    ));
    let mut ok = spec("canary:10:5m");
    ok.function = "arn:aws:lambda:us-east-1:123456789012:function:orders".into();
    assert!(Release::new(ok, t(0)).is_ok());
    let generated = new_release_id(t(0));
    assert!(generated.starts_with("r-20270115T"), "{generated}");
    assert!(valid_release_id(&generated));
}

#[test]
fn a_function_has_one_name_however_it_is_written() {
    for spelling in [
        "orders",
        "123456789012:function:orders",
        "arn:aws:lambda:us-east-1:123456789012:function:orders",
    ] {
        assert_eq!(
            canonical_function(spelling).unwrap(),
            "orders",
            "{spelling}"
        );
    }
    let arn = function_ref("arn:aws:lambda:eu-west-1:123456789012:function:orders").unwrap();
    assert_eq!(
        (arn.region, arn.account),
        (Some("eu-west-1"), Some("123456789012"))
    );
    for bad in [
        "",
        "orders:live",
        "arn:aws:lambda:us-east-1:1:function:orders:7",
        "a b",
    ] {
        assert!(canonical_function(bad).is_err(), "{bad}");
    }
}

#[test]
fn release_serializes_round_trip() {
    let mut r = release("steps:1@1m,50@1m");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<Release>(&json).unwrap(), r);
    assert!(json.contains("\"phase\":\"shifting\""), "{json}");
}

#[test]
fn settings_whose_looks_would_outgrow_the_workflow_history_are_refused() {
    // 99 one-minute steps, each waiting up to 10 minutes for traffic: 1,089 looks.
    let mut long = spec("linear:1:1m");
    long.analysis.max_extension_secs = 600;
    match long.validate() {
        Err(SpecError::TooManyLooks { looks, max, .. }) => {
            assert_eq!((looks, max), (1_089, MAX_LOOKS))
        }
        other => panic!("{other:?}"),
    }
    // Three minutes of extension a step fit: 396 looks.
    long.analysis.max_extension_secs = 180;
    assert!(long.validate().is_ok());
    assert_eq!(worst_case_looks(99, 180), 396);
    // The defaults with any preset fit.
    assert!(spec("Linear10PercentEvery1Minute").validate().is_ok());
}
