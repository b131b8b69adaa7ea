//! The workflow's steps (advance, promote, rollback) when someone else acts in between:
//! a forward move never undoes a revert, and a lost race is retried, never doubled.

use super::*;
use crate::domain::Phase;
use crate::router::routing::AliasRouting;

const TWO_STEPS: &str = "steps:10@0s,25@0s";
const ONE_STEP: &str = "steps:10@0s";

/// What the alarm path records once it reverted: the release rolled back.
fn rolled_back(release: &mut crate::domain::Release) {
    release.phase = Phase::RolledBack;
}

#[tokio::test]
async fn a_step_makes_one_alias_read_and_one_write() {
    // Every member of a group spends the same 15 requests/s of Lambda's control plane: a step
    // reads the alias once (the crash check and the compare-and-swap share it) and writes it
    // once, trusting UpdateAlias's answer over a read-back.
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    w.router.take_calls();
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "shifting");
    assert_eq!(w.routing(), "version 1 with 25% on version 2");
    assert_eq!(w.router.take_calls(), (1, 1), "(reads, writes) of one step");
    // The promotion: one read, one write.
    w.service.advance(step("r-1")).await.unwrap();
    w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(w.routing(), "version 2");
    let (reads, writes) = w.router.take_calls();
    assert_eq!(
        (reads, writes),
        (2, 1),
        "the last look reads once, the promotion once"
    );
}

#[tokio::test]
async fn a_revert_recorded_while_a_step_was_decided_stops_the_forward_move() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    // The alarm path reverts and records after this look decided its next step, before it
    // writes the alias: the look's re-read of the release sees it.
    let router = w.router.clone();
    w.store.interleave("load_summary", move |records| {
        let stable = AliasRouting::single("1");
        router
            .table
            .lock()
            .unwrap()
            .move_alias(FUNCTION, ALIAS, stable);
        records.change("r-1", rolled_back);
    });
    let err = w.service.advance(step("r-1")).await.unwrap_err();
    assert!(
        matches!(err, Error::StaleRelease { .. }) && err.is_retryable(),
        "{err}"
    );
    assert_eq!(w.routing(), "version 1");
    assert_eq!(
        w.journal.count("alias orders:live -> version 1 with 25%"),
        0
    );
    // Step Functions' retry finds the release over.
    let retried = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(
        (retried.next, retried.phase.as_str()),
        (Next::Done, "rolled_back")
    );
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test(start_paused = true)]
async fn an_alias_reverted_between_the_read_and_the_write_is_not_overwritten() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    // Reverted by someone who records nothing: the compare-and-swap on the revision fails.
    w.router.interleave("update", |table| {
        table.move_alias(FUNCTION, ALIAS, AliasRouting::single("1"));
    });
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(
        (outcome.next, outcome.phase.as_str()),
        (Next::Done, "rolled_back")
    );
    assert_eq!(w.routing(), "version 1");
    let release = w.store.release("r-1");
    assert_eq!(release.log.last().unwrap().event.name(), "manual_rollback");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
}

#[tokio::test(start_paused = true)]
async fn a_revert_recorded_during_the_grace_is_not_counted_as_by_hand() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    // The alarm handler reverts first and records right after: the record lands while the
    // step, having found the alias on stable, gives it a moment.
    let (router, store) = (w.router.clone(), w.store.clone());
    w.router.interleave("update", move |table| {
        table.move_alias(FUNCTION, ALIAS, AliasRouting::single("1"));
        router.interleave("read", move |_| {
            store.records.lock().unwrap().change("r-1", rolled_back);
        });
    });
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(
        (outcome.next, outcome.phase.as_str()),
        (Next::Done, "rolled_back")
    );
    let release = w.store.release("r-1");
    assert!(
        release
            .log
            .iter()
            .all(|e| e.event.name() != "manual_rollback"),
        "{:?}",
        release.log
    );
}

#[tokio::test]
async fn a_step_another_look_saved_first_is_retried_not_applied_twice() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    w.store
        .interleave("save", |records| records.change("r-1", |_| {}));
    let err = w.service.advance(step("r-1")).await.unwrap_err();
    assert!(
        matches!(err, Error::StaleRelease { .. }) && err.is_retryable(),
        "{err}"
    );
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "shifting");
    assert_eq!(w.routing(), "version 1 with 25% on version 2");
}

#[tokio::test]
async fn an_unhealthy_look_decides_the_rollback_before_any_move() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.next, Next::Rollback);
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    let done = w.service.rollback(step("r-1")).await.unwrap();
    assert_eq!(
        (done.next, done.phase.as_str()),
        (Next::Done, "rolled_back")
    );
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn an_alarm_deleted_mid_release_counts_against_it() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    w.alarms.remove(ALARM);
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.next, Next::Rollback);
    let reason = outcome.reason.unwrap_or_default();
    assert!(reason.contains("no longer exist"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn a_promotion_never_lands_on_an_alias_reverted_under_it() {
    let w = world();
    w.started("r-1", ONE_STEP).await;
    assert_eq!(
        w.service.advance(step("r-1")).await.unwrap().next,
        Next::Promote
    );
    w.router.interleave("update", |table| {
        table.move_alias(FUNCTION, ALIAS, AliasRouting::single("1"));
    });
    let outcome = w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "rolled_back");
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn a_rollback_wins_over_a_weight_written_under_it() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    w.service.advance(step("r-1")).await.unwrap();
    // A late write of this release's own next weight lands between the revert's read and
    // write: the revert does not compare revisions, so it still wins.
    w.router.interleave("update", |table| {
        let weighted = AliasRouting::for_release(
            "1",
            "2",
            crate::domain::AliasTarget::Weighted(
                crate::domain::Weight::from_percent(25.0).unwrap(),
            ),
        );
        table.move_alias(FUNCTION, ALIAS, weighted);
    });
    let done = w.service.rollback(step("r-1")).await.unwrap();
    assert_eq!(done.phase, "rolled_back");
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn only_a_paused_release_or_one_behind_schedule_renews_its_lock() {
    let w = world();
    w.started("r-1", "linear:50:1m").await;
    let soon = Utc::now() + Duration::minutes(1);
    let expiry = || w.store.lock(FUNCTION, ALIAS).unwrap().expires_at;
    let set_expiry = |at| {
        let mut records = w.store.records.lock().unwrap();
        let key = (FUNCTION.to_string(), ALIAS.to_string());
        records.locks.get_mut(&key).unwrap().expires_at = at;
    };
    // On schedule: the lock taken at the start covers it; the look writes nothing.
    set_expiry(soon);
    w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(expiry(), soon);
    // Paused: every look pushes the expiry out.
    w.service
        .control("r-1", Control::Pause, "bob")
        .await
        .unwrap();
    w.service.advance(step("r-1")).await.unwrap();
    assert!(expiry() > soon + Duration::hours(1), "{}", expiry());
    // Resumed but behind its schedule (it started a day ago): renewed too.
    w.service
        .control("r-1", Control::Resume, "bob")
        .await
        .unwrap();
    w.store.records.lock().unwrap().change("r-1", |release| {
        release.created_at -= Duration::days(1);
    });
    set_expiry(soon);
    w.service.advance(step("r-1")).await.unwrap();
    assert!(expiry() > soon + Duration::hours(1), "{}", expiry());
}
