//! Gates in the workflow: the release reaches its gate and the workflow registers its task
//! token; approve (or promote, abort) acts at once and hands the token back; the workflow that
//! comes to a gate already left finds it closed; a timeout aborts.

use super::*;

const GATED: &str = "steps:10@0s,gate,25@0s";

impl World {
    fn workflow(&self) -> MemoryWorkflow {
        MemoryWorkflow {
            journal: self.journal.clone(),
            ..Default::default()
        }
    }

    /// A release started and advanced to its gate, the workflow's token registered.
    async fn at_gate(&self, id: &str) -> StepOutcome {
        self.started(id, GATED).await;
        let reached = self.service.advance(step(id)).await.unwrap();
        assert_eq!(
            (reached.phase.as_str(), reached.next),
            ("at_gate", Next::Gate)
        );
        let registered = StepInput {
            task_token: Some(format!("token-{id}")),
            ..step(id)
        };
        self.service.advance(registered).await.unwrap();
        reached
    }
}

#[tokio::test]
async fn approve_moves_on_at_once_and_hands_the_workflow_its_token_back() {
    let w = world();
    let reached = w.at_gate("r-1").await;
    assert_eq!(
        reached.wait_seconds,
        7 * 24 * 3600,
        "the default gate timeout"
    );
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    assert_eq!(
        w.store.release("r-1").gate_token.as_deref(),
        Some("token-r-1")
    );
    let lock = w.store.lock(FUNCTION, ALIAS).unwrap();
    assert!(
        lock.expires_at > Utc::now() + Duration::days(7),
        "outlasts the gate: {lock:?}"
    );

    let approved = w
        .service
        .control_gate_aware("r-1", Control::Approve, "carol", &w.workflow())
        .await
        .unwrap();
    assert_eq!(
        (approved.phase.as_str(), approved.next),
        ("shifting", Next::Wait)
    );
    assert_eq!(w.routing(), "version 1 with 25% on version 2");
    assert_eq!(
        w.journal.count("resume token-r-1 next=wait"),
        1,
        "{:?}",
        w.journal.entries()
    );
    let release = w.store.release("r-1");
    assert!(release
        .log
        .iter()
        .any(|e| e.event.name() == "approved" && e.actor == "carol"));
}

#[tokio::test]
async fn approving_a_release_not_at_a_gate_changes_nothing() {
    let w = world();
    w.started("r-1", GATED).await;
    let before = w.journal.entries();
    let err = w
        .service
        .control_gate_aware("r-1", Control::Approve, "carol", &w.workflow())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot approve (it is not at a gate)"),
        "{err}"
    );
    assert_eq!(w.journal.entries(), before);
}

#[tokio::test]
async fn a_workflow_that_comes_to_a_gate_already_left_finds_it_closed() {
    let w = world();
    w.started("r-1", GATED).await;
    w.service.advance(step("r-1")).await.unwrap();
    // Approved before the workflow registered its token: nothing to hand back.
    w.service
        .control_gate_aware("r-1", Control::Approve, "carol", &w.workflow())
        .await
        .unwrap();
    assert_eq!(w.journal.count("resume "), 0);
    let late = StepInput {
        task_token: Some("token-late".into()),
        ..step("r-1")
    };
    let err = w.service.advance(late).await.unwrap_err();
    assert!(matches!(err, Error::GateClosed(_)), "{err}");
    assert_eq!(err.error_type(), "Shiftback.GateClosed");
    assert_eq!(w.routing(), "version 1 with 25% on version 2");
}

#[tokio::test]
async fn an_abort_at_the_gate_reverts_and_ends_the_wait_and_a_timeout_aborts() {
    let w = world();
    w.at_gate("r-1").await;
    let abort = Control::Abort {
        reason: "not today".into(),
    };
    let aborted = w
        .service
        .control_gate_aware("r-1", abort, "carol", &w.workflow())
        .await
        .unwrap();
    assert_eq!(
        (aborted.phase.as_str(), aborted.next),
        ("aborted", Next::Done)
    );
    assert_eq!(w.routing(), "version 1");
    assert_eq!(w.journal.count("resume token-r-1 next=done"), 1);

    w.at_gate("r-2").await;
    let expired = StepInput {
        gate_expired: true,
        ..step("r-2")
    };
    let timed_out = w.service.advance(expired).await.unwrap();
    assert_eq!(
        (timed_out.phase.as_str(), timed_out.next),
        ("rolling_back", Next::Rollback)
    );
    w.service.rollback(step("r-2")).await.unwrap();
    assert_eq!(w.phase("r-2"), "aborted");
}

#[tokio::test]
async fn an_alarm_at_the_gate_reverts_at_once_and_stops_the_workflow() {
    let w = world();
    w.at_gate("r-1").await;
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(w.routing(), "version 1");
    assert_eq!(w.phase("r-1"), "rolled_back");
    assert_eq!(w.journal.count("stop r-1"), 1);
}

#[tokio::test]
async fn a_pause_waits_on_a_token_as_a_gate_does_and_resume_hands_it_back() {
    let w = world();
    w.started("r-1", "steps:10@0s,25@0s").await;
    w.service
        .control_gate_aware("r-1", Control::Pause, "carol", &w.workflow())
        .await
        .unwrap();
    let looked = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!((looked.phase.as_str(), looked.next), ("paused", Next::Gate));
    let registered = StepInput {
        task_token: Some("token-pause".into()),
        ..step("r-1")
    };
    w.service.advance(registered).await.unwrap();
    let lock = w.store.lock(FUNCTION, ALIAS).unwrap();
    assert!(
        lock.expires_at > Utc::now() + Duration::days(13),
        "{lock:?}"
    );
    let resumed = w
        .service
        .control_gate_aware("r-1", Control::Resume, "carol", &w.workflow())
        .await
        .unwrap();
    assert_eq!(
        (resumed.phase.as_str(), resumed.next),
        ("shifting", Next::Wait)
    );
    assert_eq!(
        w.journal.count("resume token-pause next=wait"),
        1,
        "{:?}",
        w.journal.entries()
    );
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
}
