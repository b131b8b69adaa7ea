//! Start: what refuses a release before anything is recorded or moved, and the races
//! between two starts.

use super::*;
use crate::ports::LockInfo;

const CANARY: &str = "Canary10Percent5Minutes";

#[tokio::test]
async fn a_start_records_the_release_then_moves_the_alias_to_its_first_step() {
    let w = world();
    let outcome = w.started("r-1", CANARY).await;
    assert_eq!((outcome.next, outcome.wait_seconds), (Next::Wait, 300));
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    let created = w.journal.position("create r-1").unwrap();
    let moved = w.journal.position("alias orders:live").unwrap();
    assert!(created < moved, "{:?}", w.journal.entries());
    assert_eq!(w.store.lock(FUNCTION, ALIAS).unwrap().release_id, "r-1");
}

#[tokio::test]
async fn a_locked_alias_refuses_a_start_and_nothing_is_written() {
    let w = world();
    w.started("r-1", CANARY).await;
    let before = w.journal.entries();
    let err = w.service.start(request("r-2", CANARY)).await.unwrap_err();
    assert!(
        matches!(&err, Error::LockHeld { holder, .. } if holder == "r-1"),
        "{err}"
    );
    assert_eq!(
        w.journal.entries(),
        before,
        "a refused start writes nothing"
    );
}

#[tokio::test]
async fn a_lock_taken_between_the_checks_and_the_record_refuses_the_start() {
    let w = world();
    // Another start takes the alias after this one's preflight found it free.
    w.store.interleave("create", |records| {
        let lock = LockInfo {
            release_id: "r-other".into(),
            acquired_at: Utc::now(),
            expires_at: Utc::now() + Duration::hours(6),
        };
        records.locks.insert((FUNCTION.into(), ALIAS.into()), lock);
    });
    let err = w.service.start(request("r-1", CANARY)).await.unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    assert_eq!(w.routing(), "version 1");
    assert!(w.store.records.lock().unwrap().releases.is_empty());
}

#[tokio::test]
async fn a_firing_alarm_refuses_a_start_unless_the_request_overrides_it() {
    let w = world();
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let err = w.service.start(request("r-1", CANARY)).await.unwrap_err();
    assert!(
        matches!(&err, Error::AlarmsFiring(names) if names == &[ALARM]),
        "{err}"
    );
    assert!(w.journal.entries().is_empty());

    let mut overridden = request("r-1", CANARY);
    overridden.alarm_overrides = vec![ALARM.into()];
    w.service.start(overridden).await.unwrap();
    assert_eq!(w.phase("r-1"), "shifting");
}

#[tokio::test]
async fn a_missing_alarm_or_version_refuses_a_start_by_name() {
    let w = world();
    w.alarms.remove(ALARM);
    let err = w.service.start(request("r-1", CANARY)).await.unwrap_err();
    assert!(
        matches!(&err, Error::AlarmsMissing(names) if names == &[ALARM]),
        "{err}"
    );

    let w = world();
    let mut unknown = request("r-1", CANARY);
    unknown.target_version = "9".into();
    let err = w.service.start(unknown).await.unwrap_err();
    assert!(err.to_string().contains("version 9"), "{err}");
    assert!(w.journal.entries().is_empty());
}

#[tokio::test]
async fn a_pending_version_is_retried_and_a_failed_one_refused() {
    let w = world();
    w.router
        .table
        .lock()
        .unwrap()
        .versions
        .get_mut(&(FUNCTION.into(), "2".into()))
        .unwrap()
        .state = Some("Pending".into());
    let err = w.service.start(request("r-1", CANARY)).await.unwrap_err();
    assert!(
        matches!(err, Error::NotReady { .. }) && err.is_retryable(),
        "{err}"
    );

    let w = world();
    let failed = world().router.with_version(FUNCTION, "2", Some("Failed"));
    w.router.table.lock().unwrap().versions =
        std::mem::take(&mut failed.table.lock().unwrap().versions);
    let err = w.service.start(request("r-1", CANARY)).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidRouting { .. }) && !err.is_retryable(),
        "{err}"
    );
    assert!(w.journal.entries().is_empty());
}

#[tokio::test]
async fn two_starts_of_one_release_record_it_once_and_both_continue_it() {
    // What the other start records: the same release, with its lock.
    let twin = world();
    let first = twin.started("r-1", CANARY).await;
    let stored = twin.store.release("r-1");
    let lock = twin.store.lock(FUNCTION, ALIAS).unwrap();

    // It records first, after this start found the release absent and the alias free.
    let w = world();
    w.store.interleave("create", move |records| {
        records.releases.insert("r-1".into(), stored);
        records.locks.insert((FUNCTION.into(), ALIAS.into()), lock);
    });
    let second = w.service.start(request("r-1", CANARY)).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(w.journal.count("create"), 0, "{:?}", w.journal.entries());
    assert_eq!(w.store.records.lock().unwrap().releases.len(), 1);
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
}

#[tokio::test]
async fn an_expired_lock_is_taken_over_and_its_release_ends_on_the_record() {
    let w = world();
    w.started("r-old", CANARY).await;
    let long_ago = Utc::now() - Duration::days(3);
    {
        let mut records = w.store.records.lock().unwrap();
        let lock = records
            .locks
            .get_mut(&(FUNCTION.into(), ALIAS.into()))
            .unwrap();
        lock.expires_at = long_ago;
    }
    // The old release's first step is where the alias is; the new one starts from there.
    let mut next = request("r-new", CANARY);
    next.stable_version = Some("1".into());
    w.router.table.lock().unwrap().move_alias(
        FUNCTION,
        ALIAS,
        crate::router::routing::AliasRouting::single("1"),
    );
    w.service.start(next).await.unwrap();
    assert_eq!(w.store.lock(FUNCTION, ALIAS).unwrap().release_id, "r-new");
    let old = w.store.release("r-old");
    assert!(old.phase.is_terminal(), "{}", old.phase.name());
    assert!(
        old.reason.as_deref().unwrap_or_default().contains("r-new"),
        "{:?}",
        old.reason
    );
}
