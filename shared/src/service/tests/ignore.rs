//! An operator's ignore of one guard: the alarm function records that alarm's firing and
//! reverts nothing, the workflow's health check leaves it out, both until the ignore ends.

use super::*;

const LATENCY: &str = "orders-latency";

fn ignore(guard: &str, for_secs: u64) -> Control {
    Control::Ignore {
        guard: guard.into(),
        for_secs,
        reason: "known spike from the batch import".into(),
    }
}

/// A release guarded by two alarms, at its first step.
async fn guarded_twice(w: &World) {
    w.alarms
        .set(LATENCY, AlarmState::Ok, Utc::now() - Duration::hours(1));
    let request = StartRequest {
        alarms: vec![ALARM.into(), LATENCY.into()],
        ..request("r-1", "steps:10@0s,25@0s")
    };
    w.service.start(request).await.unwrap();
}

#[tokio::test]
async fn an_ignored_alarm_firing_is_recorded_and_reverts_nothing_until_the_ignore_ends() {
    let w = world();
    guarded_twice(&w).await;
    w.service
        .control("r-1", ignore(ALARM, 600), "bob")
        .await
        .unwrap();
    let release = w.store.release("r-1");
    let ignored = &release.log.last().unwrap().event;
    assert_eq!(ignored.name(), "guard_ignored");
    assert_eq!(
        crate::notifier::notification::announced(&release, release.log.len() - 1),
        Some(("guard_ignored", crate::domain::release::Severity::Warning)),
        "announced to the team"
    );

    let outcome = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert!(outcome[0].reverted.is_empty(), "{outcome:?}");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    let release = w.store.release("r-1");
    let suppressed = release.log.last().unwrap();
    assert_eq!(suppressed.event.name(), "alarm_suppressed");
    // The workflow's look leaves the ignored alarm out: the next step, not a rollback.
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let looked = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(looked.phase, "shifting");
    assert_eq!(w.routing(), "version 1 with 25% on version 2");

    // A state change after the ignore ends reverts as ever.
    let mut later = alarm_fired(ALARM);
    let after = (Utc::now() + Duration::hours(1)).to_rfc3339();
    later["detail"]["state"]["timestamp"] = json!(after);
    let outcome = w.responder.handle(later, None).await.unwrap();
    assert_eq!(outcome[0].reverted.len(), 1, "{outcome:?}");
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn the_other_guard_still_reverts_and_the_last_one_cannot_be_ignored() {
    let w = world();
    guarded_twice(&w).await;
    w.service
        .control("r-1", ignore(ALARM, 600), "bob")
        .await
        .unwrap();
    let before = w.journal.entries();
    let err = w
        .service
        .control("r-1", ignore(LATENCY, 600), "carol")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the last guard not ignored"),
        "{err}"
    );
    assert_eq!(w.journal.entries(), before, "nothing recorded");
    w.responder
        .handle(alarm_fired(LATENCY), None)
        .await
        .unwrap();
    assert_eq!(w.routing(), "version 1");
    assert_eq!(w.phase("r-1"), "rolled_back");
}
