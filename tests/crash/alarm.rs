//! The alarm's revert, crashed after every write and run again: done once. And a step
//! recorded but never applied, applied and observed before the next.

use super::*;

/// An alarm's revert (of one alias, or of a group of two) crashed after write `k`, then
/// the event delivered again.
async fn alarm_scenario(k: usize, group: bool) -> Option<String> {
    let w = world().await;
    let id = w.started_as("canary:10:10m", group).await;
    let event = alarm_state_change(&w.alarm, "ALARM", "123456789012");
    let crashed = w
        .crash_then_retry(k, || w.responder.handle(event.clone(), None))
        .await?;
    let zero = Some(Weight::ZERO);
    assert!(
        w.weights(group).await.iter().all(|w| *w == zero),
        "crash after {crashed}"
    );
    let release = w.release(&id).await;
    assert_eq!(release.phase, Phase::RolledBack, "crash after {crashed}");
    let rolled_back = release
        .log
        .iter()
        .filter(|e| e.event.name() == "rolled_back");
    assert_eq!(rolled_back.count(), 1, "crash after {crashed}");
    assert!(
        w.locks(group).await.iter().all(Option::is_none),
        "crash after {crashed}"
    );
    // The workflow, looking again, finds the release over.
    assert_eq!(w.service.advance(step(&id)).await.unwrap().next, Next::Done);
    w.assert_announced_once(&["rolled_back"], &crashed).await;
    Some(crashed)
}

#[tokio::test]
async fn an_alarm_revert_completes_once_after_a_crash_after_any_write() {
    covers(&at_every_write(|k| alarm_scenario(k, false)).await);
}

#[tokio::test]
async fn a_group_alarm_revert_completes_once_after_a_crash_after_any_write() {
    covers(&at_every_write(|k| alarm_scenario(k, true)).await);
}

#[tokio::test]
async fn a_step_recorded_but_never_applied_is_applied_and_observed_before_the_next() {
    let w = world().await;
    // Zero bakes: by the time the retry runs, the recorded step's bake is long over.
    let id = w.started("steps:10@0s,50@0s").await;
    // Advance's first write is the release's save (a release on schedule renews no lock);
    // the process dies right after it.
    let crashed = w.crash_then_retry(1, || w.service.advance(step(&id))).await;
    assert_eq!(crashed.as_deref(), Some("TransactWriteItems"));
    assert_eq!(w.weight().await, Some(Weight::from_percent(50.0).unwrap()));
    let release = w.release(&id).await;
    assert_eq!(release.phase, Phase::Shifting { step: 1 });
    // Not promoted on the strength of a step no traffic ever saw.
    let next = w.service.advance(step(&id)).await.unwrap();
    assert_eq!(next.next, Next::Promote);
}
