//! An operator's commands and reverts: refused when they would undo a revert or name a
//! version never known good; retried when the workflow saves first.

use super::*;

const TWO_STEPS: &str = "steps:10@0s,25@0s";

#[tokio::test]
async fn a_promote_after_the_alarm_reverted_is_refused_and_moves_nothing() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    let before = w.journal.entries();
    let err = w
        .service
        .control("r-1", Control::Promote, "bob")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transition(_)), "{err}");
    assert_eq!(w.journal.entries(), before);
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn an_abort_that_loses_to_the_workflow_is_decided_again_and_reverts() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    w.store
        .interleave("save", |records| records.change("r-1", |_| {}));
    let reason = "bad canary".to_string();
    let outcome = w
        .service
        .control("r-1", Control::Abort { reason }, "bob")
        .await
        .unwrap();
    assert_eq!(outcome.phase, "aborted");
    assert_eq!(w.routing(), "version 1");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
}

#[tokio::test]
async fn a_pause_holds_the_release_at_its_weight_until_resumed() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    w.service
        .control("r-1", Control::Pause, "bob")
        .await
        .unwrap();
    let paused = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(paused.phase, "paused");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    w.service
        .control("r-1", Control::Resume, "bob")
        .await
        .unwrap();
    w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(w.routing(), "version 1 with 25% on version 2");
}

#[tokio::test]
async fn a_revert_goes_only_to_a_version_recorded_as_good() {
    let w = world();
    // Version 3 was never a release's stable or succeeded target.
    w.started("r-1", "AllAtOnce").await;
    w.service.promote(step("r-1")).await.unwrap();
    let err = w
        .service
        .revert_to(FUNCTION, ALIAS, "3", "bob", Some("r-back".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotKnownGood { .. }), "{err}");
    assert_eq!(w.routing(), "version 2");

    // Version 1, the stable version r-1 started from, was good.
    let back = w
        .service
        .revert_to(FUNCTION, ALIAS, "1", "bob", Some("r-back".into()))
        .await
        .unwrap();
    assert_eq!(back.phase, "succeeded");
    assert_eq!(w.routing(), "version 1");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
}
