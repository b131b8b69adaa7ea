//! The alarm's revert: first, unconditional for a release in progress, recorded exactly once
//! however the copies of its event and the other writers interleave.

use super::*;
use crate::domain::{AliasTarget, Weight};
use crate::error::{AwsError, AwsErrorKind};
use crate::router::routing::AliasRouting;

const TWO_STEPS: &str = "steps:10@0s,25@0s";

fn weighted(percent: f64) -> AliasRouting {
    let weight = Weight::from_percent(percent).unwrap();
    AliasRouting::for_release("1", "2", AliasTarget::Weighted(weight))
}

#[tokio::test]
async fn the_alias_is_reverted_before_anything_is_recorded_stopped_or_announced() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    let before = w.journal.entries().len();
    let outcomes = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(outcomes[0].reverted.len(), 1);
    assert!(outcomes[0].reverted[0].recorded);
    let after: Vec<String> = w.journal.entries()[before..].to_vec();
    assert_eq!(
        after,
        [
            "alias orders:live -> version 1",
            "save r-1 rolled_back",
            "stop r-1",
            "announce r-1 rolled_back",
        ]
    );
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
}

#[tokio::test]
async fn a_copy_of_the_event_that_read_the_guards_first_records_nothing_more() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    let guards = w.store.records.lock().unwrap().guards.clone();
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    // The second copy read the guards before the first recorded (and dropped) them.
    w.store.records.lock().unwrap().guards = guards;
    let second = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(second[0].reverted.len(), 1, "it reverts again: harmless");
    assert!(!second[0].reverted[0].recorded);
    let release = w.store.release("r-1");
    let names: Vec<&str> = release.log.iter().map(|e| e.event.name()).collect();
    assert_eq!(
        names,
        ["started", "weight_set", "rollback_started", "rolled_back"]
    );
    assert_eq!(w.journal.count("stop r-1"), 1);
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn a_record_that_loses_to_another_writer_is_decided_again_from_a_fresh_load() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    // The workflow saves the release between the record's load and its save.
    w.store
        .interleave("save", |records| records.change("r-1", |_| {}));
    let outcomes = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert!(outcomes[0].reverted[0].recorded);
    assert_eq!(w.phase("r-1"), "rolled_back");
}

#[tokio::test]
async fn a_forward_move_landing_after_the_revert_is_reverted_again() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    // A step that read the alias before the revert writes after it.
    let router = w.router.clone();
    w.store.interleave("save", move |_| {
        router
            .table
            .lock()
            .unwrap()
            .move_alias(FUNCTION, ALIAS, weighted(25.0));
    });
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(w.routing(), "version 1");
    let reverts = w.journal.entries();
    let reverts = reverts
        .iter()
        .filter(|e| *e == "alias orders:live -> version 1");
    assert_eq!(reverts.count(), 2, "{:?}", w.journal.entries());
}

#[tokio::test]
async fn a_bake_window_alarm_never_undoes_a_newer_release() {
    let w = world();
    let mut baked = request("r-1", "AllAtOnce");
    baked.bake_after_secs = 3600;
    w.service.start(baked).await.unwrap();
    w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(w.phase("r-1"), "succeeded");
    // Someone else's release moved the alias on to version 3 since.
    w.router
        .table
        .lock()
        .unwrap()
        .move_alias(FUNCTION, ALIAS, AliasRouting::single("3"));
    let outcomes = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert!(outcomes[0].reverted.is_empty());
    assert_eq!(w.routing(), "version 3");
    assert_eq!(w.phase("r-1"), "succeeded");

    // Still on its target, the bake window's alarm does revert it.
    w.router
        .table
        .lock()
        .unwrap()
        .move_alias(FUNCTION, ALIAS, AliasRouting::single("2"));
    let outcomes = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(outcomes[0].reverted.len(), 1);
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn a_revert_that_fails_is_returned_for_lambdas_retry_and_records_nothing() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    let throttled = Error::Aws(AwsError {
        operation: "UpdateAlias",
        kind: AwsErrorKind::Throttled,
        code: Some("TooManyRequestsException".into()),
        message: "Rate exceeded".into(),
    });
    w.router
        .table
        .lock()
        .unwrap()
        .failing_writes
        .push(throttled);
    let err = w
        .responder
        .handle(alarm_fired(ALARM), None)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(w.phase("r-1"), "shifting");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    // Lambda's retry of the event reverts and records.
    let outcomes = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert!(outcomes[0].reverted[0].recorded);
    assert_eq!(w.routing(), "version 1");
}
