//! The workflow's steps (advance, promote, rollback, a group's step), crashed after every
//! write and run again: each completes once.

use super::*;

/// A step (of one alias, or of a group of two) crashed after write `k`, then run again.
async fn advance_scenario(k: usize, group: bool) -> Option<String> {
    let w = world().await;
    let id = w.started_as("steps:10@0s,50@1m", group).await;
    let crashed = w
        .crash_then_retry(k, || w.service.advance(step(&id)))
        .await?;
    let fifty = Some(Weight::from_percent(50.0).unwrap());
    assert!(
        w.weights(group).await.iter().all(|w| *w == fifty),
        "crash after {crashed}"
    );
    assert_eq!(
        w.events(&id).await,
        ["started", "weight_set", "health_checked", "weight_set"],
        "crash after {crashed}"
    );
    w.assert_announced_once(&["step_applied"], &crashed).await;
    Some(crashed)
}

#[tokio::test]
async fn advance_completes_once_after_a_crash_after_any_write() {
    covers(&at_every_write(|k| advance_scenario(k, false)).await);
}

#[tokio::test]
async fn a_group_step_completes_once_after_a_crash_after_any_write() {
    let crashed = at_every_write(|k| advance_scenario(k, true)).await;
    covers(&crashed);
    // Among the writes: the first member's UpdateAlias, before the second member's.
    let alias_writes = crashed.iter().filter(|c| *c == "UpdateAlias").count();
    assert_eq!(
        alias_writes, 2,
        "a crash after each member's shift: {crashed:?}"
    );
}

#[tokio::test]
async fn promote_completes_once_after_a_crash_after_any_write() {
    let crashed = at_every_write(|k| async move {
        let w = world().await;
        let id = w.started("steps:50@0s").await;
        let promote = w.service.advance(step(&id)).await.unwrap();
        assert_eq!(promote.next, Next::Promote);
        w.announced().await;
        let crashed = w
            .crash_then_retry(k, || w.service.promote(step(&id)))
            .await?;
        assert_eq!(w.weight().await, Some(Weight::FULL));
        let release = w.release(&id).await;
        assert_eq!(release.phase, Phase::Succeeded);
        let promoted = release.log.iter().filter(|e| e.event.name() == "promoted");
        assert_eq!(promoted.count(), 1, "crash after {crashed}");
        assert_eq!(w.lock().await, None, "crash after {crashed}");
        w.assert_announced_once(&["promoted"], &crashed).await;
        Some(crashed)
    })
    .await;
    covers(&crashed);
}

#[tokio::test]
async fn rollback_completes_once_after_a_crash_after_any_write() {
    let crashed = at_every_write(|k| async move {
        let w = world().await;
        let id = w.started("steps:50@1m").await;
        let input = || StepInput {
            gate_expired: false,
            task_token: None,
            release_id: Some(id.clone()),
            error: Some(StepError {
                error: "States.Timeout".into(),
                cause: "advance timed out".into(),
            }),
        };
        let crashed = w
            .crash_then_retry(k, || w.service.rollback(input()))
            .await?;
        assert_eq!(w.weight().await, Some(Weight::ZERO));
        let release = w.release(&id).await;
        assert_eq!(release.phase, Phase::RolledBack);
        let events: Vec<_> = release.log.iter().map(|e| e.event.name()).collect();
        assert_eq!(
            events,
            ["started", "weight_set", "rollback_started", "rolled_back"],
            "crash after {crashed}"
        );
        assert_eq!(w.lock().await, None);
        w.assert_announced_once(&["rolled_back"], &crashed).await;
        Some(crashed)
    })
    .await;
    covers(&crashed);
}
