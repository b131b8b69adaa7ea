//! A durable function's release reverted: its executions keep running on the version it
//! reverted from (a durable execution stays on the version it started on), so the record and
//! the announcement say how many, whoever reverted it. A count that cannot be read is logged;
//! the revert stands.

use super::*;
use crate::domain::ReleaseEvent;
use crate::service::Control;

const TWO_STEPS: &str = "steps:10@0s,25@0s";

fn left(w: &World) -> Vec<(String, usize)> {
    w.store
        .release("r-1")
        .log
        .into_iter()
        .filter_map(|e| match e.event {
            ReleaseEvent::DurableExecutionsLeft {
                version, running, ..
            } => Some((version, running)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_alarms_revert_of_a_durable_function_records_the_executions_left_running() {
    let w = world();
    let _ = w.router.clone().durable(FUNCTION, "2", 3);
    w.started("r-1", TWO_STEPS).await;
    let outcomes = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(outcomes[0].reverted.len(), 1);
    assert_eq!(w.routing(), "version 1");
    assert_eq!(left(&w), [("2".to_string(), 3)]);
}

#[tokio::test]
async fn an_operators_abort_says_the_same_and_none_left_says_nothing() {
    let w = world();
    let _ = w.router.clone().durable(FUNCTION, "2", 2);
    w.started("r-1", TWO_STEPS).await;
    let abort = Control::Abort {
        reason: "bad build".into(),
    };
    let outcome = w.service.control("r-1", abort, "bob").await.unwrap();
    assert_eq!(outcome.phase, "aborted");
    assert_eq!(left(&w), [("2".to_string(), 2)]);

    // Nothing running: nothing to say.
    let w = world();
    let _ = w.router.clone().durable(FUNCTION, "2", 0);
    w.started("r-1", TWO_STEPS).await;
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert!(left(&w).is_empty());
}

#[tokio::test]
async fn a_count_that_cannot_be_read_leaves_the_revert_recorded_and_says_nothing() {
    let w = world();
    let _ = w.router.clone().durable(FUNCTION, "2", 1);
    w.started("r-1", TWO_STEPS).await;
    // The listing is refused (the role lacks it, say).
    w.router.table.lock().unwrap().durable_running.clear();
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    let release = w.store.release("r-1");
    assert_eq!(release.phase, crate::domain::Phase::RolledBack);
    assert!(left(&w).is_empty());
}

/// Each durable target of a group, named by its function.
fn left_by_function(w: &World, id: &str) -> Vec<(Option<String>, String, usize)> {
    w.store
        .release(id)
        .log
        .into_iter()
        .filter_map(|e| match e.event {
            ReleaseEvent::DurableExecutionsLeft {
                function,
                version,
                running,
                ..
            } => Some((function, version, running)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_groups_revert_counts_every_durable_members_executions_by_function() {
    let w = group_world();
    // The worker alone is durable: the lead's version has no durable execution to count.
    let _ = w.router.clone().durable(WORKER, "8", 4);
    let request = StartRequest {
        members: vec![worker()],
        ..request("r-g", TWO_STEPS)
    };
    w.service.start(request).await.unwrap();
    let release = w.store.release("r-g");
    assert!(!release.target_durable);
    assert_eq!(release.durable_members, [WORKER]);

    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(
        left_by_function(&w, "r-g"),
        [(Some(WORKER.to_string()), "8".to_string(), 4)]
    );
}

#[tokio::test]
async fn the_first_members_function_named_again_under_another_alias_is_counted_once() {
    let w = world();
    let _ = w.router.clone().with_alias(FUNCTION, "beta", "1");
    let _ = w.router.clone().durable(FUNCTION, "2", 3);
    let beta = crate::domain::Member {
        function: FUNCTION.into(),
        alias: "beta".into(),
        stable_version: String::new(),
        target_version: "2".into(),
    };
    let request = StartRequest {
        members: vec![beta],
        ..request("r-1", TWO_STEPS)
    };
    w.service.start(request).await.unwrap();
    let abort = Control::Abort {
        reason: "bad build".into(),
    };
    w.service.control("r-1", abort, "bob").await.unwrap();
    assert_eq!(left_by_function(&w, "r-1"), [(None, "2".to_string(), 3)]);
}
