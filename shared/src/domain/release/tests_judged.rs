//! Superseding and declining a release, and what the record says of a version.

use super::tests::spec;
use super::*;
use crate::notifier::notification::announced;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

/// A release `id` of orders:live from `stable` to `target`, begun by `by`.
fn begun(id: &str, stable: &str, target: &str, by: &str) -> Release {
    let mut r = Release::new(
        ReleaseSpec {
            release_id: Some(id.into()),
            stable_version: stable.into(),
            target_version: target.into(),
            started_by: by.into(),
            ..spec("linear:50:60s")
        },
        t(0),
    )
    .unwrap();
    r.apply(Input::Begin, t(1), "wf").unwrap();
    r
}

fn ended(mut r: Release, input: Input, actor: &str) -> Release {
    r.apply(input, t(2), actor).unwrap();
    if matches!(r.phase, Phase::RollingBack { .. }) {
        r.apply(Input::RolledBack, t(3), "wf").unwrap();
    }
    if r.phase == Phase::Promoting {
        r.apply(Input::Promoted, t(3), "wf").unwrap();
    }
    r
}

#[test]
fn a_superseded_release_goes_back_to_stable_and_ends_naming_its_successor() {
    let mut r = begun("r-1", "3", "4", "ci");
    let action = r
        .apply(Input::Supersede { by: "r-2".into() }, t(5), "ci")
        .unwrap();
    assert!(matches!(action, Action::RollBack { .. }), "{action:?}");
    assert_eq!(r.desired_alias(), Some(AliasTarget::Stable));
    r.apply(Input::RolledBack, t(6), "wf").unwrap();
    assert_eq!(r.phase, Phase::Superseded);
    assert!(r.phase.is_terminal() && !r.holds_alias_lock());
    assert_eq!(r.reason.as_deref(), Some("superseded by release r-2"));
    let last = r.log.len() - 1;
    assert_eq!(announced(&r, last), Some(("superseded", Severity::Info)));
    // Over is over: nothing supersedes it again.
    let again = r.apply(Input::Supersede { by: "r-3".into() }, t(7), "ci");
    assert!(again.is_err());
}

#[test]
fn a_declined_release_ends_before_any_traffic_and_announces_only_that() {
    let mut r = Release::new(spec("AllAtOnce"), t(0)).unwrap();
    let why = "version 4: release r-0 rolled it back".to_string();
    r.apply(Input::Decline { reason: why }, t(0), "cloudformation:app")
        .unwrap();
    assert_eq!(r.phase, Phase::Refused);
    assert!(r.was_declined());
    assert_eq!(r.desired_alias(), None, "the alias was never its to set");
    assert!(!r.holds_alias_lock());
    let announced: Vec<_> = (0..r.log.len()).filter_map(|i| announced(&r, i)).collect();
    assert_eq!(announced, [("refused", Severity::Warning)]);
    // Only a release not yet begun can be declined.
    let mut running = begun("r-1", "3", "4", "ci");
    assert!(running
        .apply(Input::Decline { reason: "x".into() }, t(5), "ci")
        .is_err());
}

#[test]
fn the_newest_release_that_judged_a_version_decides_what_the_record_says() {
    let alarm = || Input::Alarm {
        alarm: "orders-errors".into(),
        reason: "Threshold Crossed".into(),
    };
    let abort = || Input::Abort {
        reason: "looks wrong".into(),
    };
    let rejected_by_alarm = ended(begun("r-1", "3", "4", "ci"), alarm(), "alarm:orders-errors");
    let succeeded = ended(begun("r-2", "3", "4", "ci"), Input::Promote, "ci");
    let aborted_by_person = ended(begun("r-3", "3", "4", "ci"), abort(), "alice");
    let aborted_by_stack = ended(begun("r-4", "3", "4", "ci"), abort(), "cloudformation:app");
    let superseded = ended(
        begun("r-5", "3", "4", "ci"),
        Input::Supersede { by: "r-6".into() },
        "ci",
    );
    let failed = ended(
        begun("r-7", "3", "4", "ci"),
        Input::Fail {
            error: "throttled".into(),
        },
        "wf",
    );
    // The workflow's own abort (a gate nobody answered, a pause too long) judged nothing.
    let timed_out = ended(begun("r-8", "3", "4", "ci"), abort(), WORKFLOW_ACTOR);
    // An alarm's rollback that could not write the alias still rejected the version.
    let mut failed_rollback = ended(begun("r-9", "3", "4", "ci"), alarm(), "alarm:orders-errors");
    failed_rollback.phase = Phase::RollingBack {
        cause: RollbackCause::Unhealthy,
    };
    failed_rollback
        .apply(
            Input::RollbackFailed {
                error: "throttled".into(),
            },
            t(4),
            "wf",
        )
        .unwrap();
    assert_eq!(failed_rollback.phase, Phase::Failed);
    let mut declined = Release::new(spec("AllAtOnce"), t(0)).unwrap();
    declined
        .apply(Input::Decline { reason: "x".into() }, t(0), "ci")
        .unwrap();
    let revert = |by: &str| {
        let mut r = Release::new(
            ReleaseSpec {
                release_id: Some("rv".into()),
                stable_version: "4".into(),
                target_version: "3".into(),
                kind: ReleaseKind::Revert,
                started_by: by.into(),
                ..spec("AllAtOnce")
            },
            t(0),
        )
        .unwrap();
        // All at once: begun, it promotes.
        r.apply(Input::Begin, t(1), "wf").unwrap();
        r.apply(Input::Promoted, t(2), "wf").unwrap();
        r
    };
    let rejected = |r: VersionRecord| matches!(r, VersionRecord::Rejected { .. });
    let good = |r: VersionRecord| matches!(r, VersionRecord::Good { .. });

    assert!(rejected(record_of(
        std::slice::from_ref(&rejected_by_alarm),
        "4"
    )));
    assert!(
        good(record_of(std::slice::from_ref(&rejected_by_alarm), "3")),
        "its stable ran well"
    );
    assert!(rejected(record_of(
        std::slice::from_ref(&aborted_by_person),
        "4"
    )));
    assert!(good(record_of(std::slice::from_ref(&succeeded), "4")));
    // A deliberate re-release that succeeded, newer than the rejection: good again.
    assert!(good(record_of(
        &[succeeded.clone(), rejected_by_alarm.clone()],
        "4"
    )));
    assert!(rejected(record_of(
        &[rejected_by_alarm.clone(), succeeded.clone()],
        "4"
    )));
    // No verdict on the version: the older release decides, or nothing does.
    assert!(rejected(record_of(
        std::slice::from_ref(&failed_rollback),
        "4"
    )));
    for no_verdict in [
        &aborted_by_stack,
        &superseded,
        &failed,
        &declined,
        &timed_out,
    ] {
        let history = [no_verdict.clone(), rejected_by_alarm.clone()];
        assert!(rejected(record_of(&history, "4")), "{}", no_verdict.id);
        assert_eq!(
            record_of(std::slice::from_ref(no_verdict), "4"),
            VersionRecord::Unknown
        );
    }
    // An operator's revert from 4 rejects it; the stack's own revert (its rollback) does not.
    assert!(rejected(record_of(
        &[revert("bob"), succeeded.clone()],
        "4"
    )));
    assert!(good(record_of(
        &[revert("cloudformation:app"), succeeded.clone()],
        "4"
    )));
    assert!(
        good(record_of(&[revert("bob")], "3")),
        "where the revert went"
    );
    assert_eq!(record_of(&[], "4"), VersionRecord::Unknown);
    let why = match record_of(&[rejected_by_alarm], "4") {
        VersionRecord::Rejected { why, .. } => why,
        other => panic!("{other:?}"),
    };
    assert!(
        why.contains("r-1") && why.contains("orders-errors"),
        "{why}"
    );
}
