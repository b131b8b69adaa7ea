//! Groups in the domain: what a group may be, how a member changed by hand ends it, and how
//! a function's history sees a group it is a member of.

use chrono::{DateTime, Utc};

use super::tests::spec;
use super::*;
use crate::analysis::{of_members, CanaryVerdict};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn worker(target: &str) -> Member {
    Member {
        function: "orders-worker".into(),
        alias: "live".into(),
        stable_version: "7".into(),
        target_version: target.into(),
    }
}

fn group_spec() -> ReleaseSpec {
    ReleaseSpec {
        members: vec![worker("8")],
        ..spec("linear:50:60s")
    }
}

#[test]
fn a_member_is_parsed_from_function_alias_version() {
    let m = Member::parse("orders-worker:live:12").unwrap();
    assert_eq!(
        (m.name(), m.target_version.as_str()),
        ("orders-worker:live".into(), "12")
    );
    // An ARN's colons belong to the function.
    let arn = Member::parse("arn:aws:lambda:eu-west-1:123456789012:function:w:live:3").unwrap();
    assert_eq!(
        arn.function,
        "arn:aws:lambda:eu-west-1:123456789012:function:w"
    );
    for bad in ["orders", "orders:live"] {
        assert!(
            matches!(Member::parse(bad), Err(SpecError::Group(_))),
            "{bad}"
        );
    }
}

#[test]
fn a_group_refuses_what_it_cannot_be() {
    assert!(Release::new(group_spec(), t(0)).is_ok());
    let cases = [
        (
            ReleaseSpec {
                members: vec![worker("8"), worker("9")],
                ..group_spec()
            },
            "named twice",
        ),
        (
            ReleaseSpec {
                members: vec![worker("7")],
                ..group_spec()
            },
            "already on its target version",
        ),
        (
            ReleaseSpec {
                kind: ReleaseKind::Revert,
                ..group_spec()
            },
            "roll back each member",
        ),
        (
            ReleaseSpec {
                retain_versions: Some(5),
                ..group_spec()
            },
            "single releases only",
        ),
        (
            ReleaseSpec {
                members: (0..MAX_MEMBERS)
                    .map(|i| Member {
                        function: format!("f{i}"),
                        ..worker("8")
                    })
                    .collect(),
                ..group_spec()
            },
            "at most 20",
        ),
        (
            // Each member beyond the first adds its own analysis alarm's guard.
            ReleaseSpec {
                members: (0..10)
                    .map(|i| Member {
                        function: format!("f{i}"),
                        ..worker("8")
                    })
                    .collect(),
                alarms: (0..31).map(|i| format!("alarm-{i}")).collect(),
                ..group_spec()
            },
            "at most 40 together",
        ),
        (
            ReleaseSpec {
                members: vec![Member {
                    alias: "$LATEST".into(),
                    ..worker("8")
                }],
                ..group_spec()
            },
            "invalid alias name",
        ),
    ];
    for (spec, expected) in cases {
        let err = Release::new(spec, t(0)).unwrap_err().to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn a_member_changed_by_hand_rolls_the_others_back_and_is_left_alone() {
    let mut r = Release::new(group_spec(), t(0)).unwrap();
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let found = Input::HandsOff {
        found: "version 9".into(),
        to_stable: false,
        member: Some("orders-worker:live".into()),
    };
    let action = r.apply(found, t(10), "wf").unwrap();
    assert!(matches!(action, Action::RollBack { .. }), "{action:?}");
    assert!(matches!(r.phase, Phase::RollingBack { .. }));
    assert_eq!(r.left_alone(), ["orders-worker:live"]);
    let reverted: Vec<String> = r.members_to_revert().iter().map(Member::name).collect();
    assert_eq!(reverted, ["orders:live"]);
    r.apply(Input::RolledBack, t(11), "wf").unwrap();
    assert_eq!(r.phase, Phase::RolledBack);

    // A single release records the same as interrupted, as before groups.
    let mut single = Release::new(spec("linear:50:60s"), t(0)).unwrap();
    single.apply(Input::Begin, t(0), "wf").unwrap();
    let found = Input::HandsOff {
        found: "version 9".into(),
        to_stable: false,
        member: Some("orders:live".into()),
    };
    single.apply(found, t(10), "wf").unwrap();
    assert_eq!(single.phase, Phase::Interrupted);
    assert!(single.left_alone().is_empty());
}

#[test]
fn a_function_s_history_sees_a_group_by_its_own_member() {
    let r = Release::new(group_spec(), t(0)).unwrap();
    let views = r.views_of("orders-worker");
    assert_eq!(views.len(), 1);
    assert_eq!(
        (
            views[0].stable_version.as_str(),
            views[0].target_version.as_str()
        ),
        ("7", "8"),
        "the worker's versions, not the first member's"
    );
    assert!(r.views_of("payments").is_empty());
    assert_eq!(r.views_of("orders")[0].target_version, "4");
}

#[test]
fn a_group_s_analysis_fails_if_any_member_fails_and_names_it() {
    let healthy = |s: &str| CanaryVerdict::Healthy { summary: s.into() };
    let failed = CanaryVerdict::Unhealthy {
        reasons: vec!["error rate 5% against 0.1%".into()],
        summary: "bad".into(),
    };
    let verdict = of_members(vec![
        ("orders:live".into(), healthy("ok")),
        ("orders-worker:live".into(), failed.clone()),
    ])
    .unwrap();
    match verdict {
        CanaryVerdict::Unhealthy { reasons, .. } => {
            assert_eq!(reasons, ["orders-worker:live: error rate 5% against 0.1%"])
        }
        other => panic!("{other:?}"),
    }
    let waiting = of_members(vec![
        ("a:live".into(), healthy("ok")),
        (
            "b:live".into(),
            CanaryVerdict::Inconclusive {
                why: "10 invocations".into(),
            },
        ),
    ]);
    assert!(
        matches!(waiting, Some(CanaryVerdict::Inconclusive { why }) if why.starts_with("b:live"))
    );
    // One member's verdict is its own, unnamed.
    assert_eq!(
        of_members(vec![("a:live".into(), failed.clone())]),
        Some(failed)
    );
}
