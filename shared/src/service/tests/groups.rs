//! Release groups: members move in step, take their locks together, and come back together.

use super::*;
use crate::domain::{Member, MAX_MEMBERS};
use crate::router::routing::AliasRouting;

const TWO_STEPS: &str = "steps:10@0s,50@0s";

fn group_request(id: &str) -> StartRequest {
    StartRequest {
        members: vec![worker()],
        ..request(id, TWO_STEPS)
    }
}

fn worker_routing(w: &World) -> String {
    w.router.routing(WORKER, ALIAS).to_string()
}

#[tokio::test]
async fn members_move_in_step_and_promote_together() {
    let w = group_world();
    let started = w.service.start(group_request("r-g")).await.unwrap();
    assert_eq!(started.phase, "shifting");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    assert_eq!(worker_routing(&w), "version 7 with 10% on version 8");
    // Every member's lock is taken, with the release.
    assert_eq!(w.store.lock(WORKER, ALIAS).unwrap().release_id, "r-g");
    let release = w.store.release("r-g");
    assert_eq!(release.members[0].stable_version, "7", "found at the start");

    w.router.take_calls();
    w.service.advance(step("r-g")).await.unwrap();
    assert_eq!(worker_routing(&w), "version 7 with 50% on version 8");
    assert_eq!(
        w.router.take_calls(),
        (2, 2),
        "one read and one write per member per step"
    );
    w.service.advance(step("r-g")).await.unwrap();
    let promoted = w.service.promote(step("r-g")).await.unwrap();
    assert_eq!(promoted.phase, "succeeded");
    assert_eq!(
        (w.routing(), worker_routing(&w)),
        ("version 2".into(), "version 8".into())
    );
    assert_eq!(w.store.lock(WORKER, ALIAS), None, "every lock given up");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
}

#[tokio::test]
async fn a_members_lock_held_refuses_the_whole_group_with_nothing_changed() {
    let w = group_world();
    let single = StartRequest {
        function: WORKER.into(),
        target_version: "8".into(),
        ..request("r-worker", TWO_STEPS)
    };
    w.service.start(single).await.unwrap();
    let err = w.service.start(group_request("r-g")).await.unwrap_err();
    assert!(
        matches!(&err, Error::LockHeld { function, holder, .. } if function == WORKER && holder == "r-worker"),
        "{err}"
    );
    assert_eq!(w.routing(), "version 1", "the first member never moved");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None, "no lock left held");
    assert!(!w.store.records.lock().unwrap().releases.contains_key("r-g"));
}

#[tokio::test]
async fn an_alarm_reverts_every_member_and_records_it_once() {
    let w = group_world();
    w.service.start(group_request("r-g")).await.unwrap();
    let outcomes = w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    let reverted: Vec<String> = outcomes[0]
        .reverted
        .iter()
        .map(|r| format!("{}:{}", r.function, r.version))
        .collect();
    assert_eq!(reverted, ["orders:1", "orders-worker:7"]);
    assert_eq!(
        (w.routing(), worker_routing(&w)),
        ("version 1".into(), "version 7".into())
    );
    let release = w.store.release("r-g");
    assert_eq!(release.phase.name(), "rolled_back");
    let rollbacks = release
        .log
        .iter()
        .filter(|e| e.event.name() == "rolled_back")
        .count();
    assert_eq!(rollbacks, 1, "recorded once for the group");
    assert_eq!(w.store.lock(WORKER, ALIAS), None);
    // The workflow's next look finds it over and moves nothing.
    let look = w.service.advance(step("r-g")).await.unwrap();
    assert_eq!(look.next, Next::Done);
    assert_eq!(worker_routing(&w), "version 7");
}

#[tokio::test(start_paused = true)]
async fn a_member_changed_by_hand_is_left_alone_and_the_others_go_back() {
    let w = group_world();
    w.service.start(group_request("r-g")).await.unwrap();
    // An operator pins the worker to version 9 by hand.
    w.router
        .table
        .lock()
        .unwrap()
        .move_alias(WORKER, ALIAS, AliasRouting::single("9"));
    let outcome = w.service.advance(step("r-g")).await.unwrap();
    assert_eq!(outcome.phase, "rolled_back");
    assert_eq!(w.routing(), "version 1", "the other member back on stable");
    assert_eq!(
        worker_routing(&w),
        "version 9",
        "left as the operator set it"
    );
    let release = w.store.release("r-g");
    assert_eq!(release.left_alone(), ["orders-worker:live"]);
    let reason = release.reason.unwrap();
    assert!(reason.contains("orders-worker:live"), "{reason}");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
    assert_eq!(w.store.lock(WORKER, ALIAS), None);
}

#[tokio::test]
async fn a_crash_between_member_shifts_converges_on_the_retry() {
    let w = group_world();
    w.service.start(group_request("r-g")).await.unwrap();
    // The worker's write of step 2 is throttled beyond the SDK's retries: the look fails
    // after the first member moved.
    let router = w.router.clone();
    w.router.interleave("update", move |_| {
        router.interleave("update", |table| {
            table.failing_writes.push(crate::testing::aws(
                "UpdateAlias",
                crate::error::AwsErrorKind::Throttled,
                "Rate exceeded",
            ));
        });
    });
    let err = w.service.advance(step("r-g")).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(w.routing(), "version 1 with 50% on version 2");
    assert_eq!(worker_routing(&w), "version 7 with 10% on version 8");
    // Step Functions retries the look: it finishes the step and waits its bake.
    let retried = w.service.advance(step("r-g")).await.unwrap();
    assert_eq!(retried.phase, "shifting");
    assert_eq!(worker_routing(&w), "version 7 with 50% on version 8");
    assert_eq!(w.routing(), "version 1 with 50% on version 2");
}

#[tokio::test]
async fn a_group_refuses_bad_members_before_any_call() {
    let w = group_world();
    let twice = StartRequest {
        members: vec![worker(), worker()],
        ..request("r-g", TWO_STEPS)
    };
    let err = w.service.start(twice).await.unwrap_err();
    assert!(err.to_string().contains("named twice"), "{err}");
    let too_many = StartRequest {
        members: (0..MAX_MEMBERS)
            .map(|i| Member {
                function: format!("f{i}"),
                ..worker()
            })
            .collect(),
        ..request("r-g", TWO_STEPS)
    };
    let err = w.service.start(too_many).await.unwrap_err();
    assert!(err.to_string().contains("at most 20"), "{err}");
    let missing = StartRequest {
        members: vec![Member {
            target_version: "99".into(),
            ..worker()
        }],
        ..request("r-g", TWO_STEPS)
    };
    let err = w.service.start(missing).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn a_group_named_wholly_in_members_takes_its_first_as_the_release_s_own() {
    let w = group_world();
    let all = StartRequest {
        function: String::new(),
        alias: String::new(),
        target_version: String::new(),
        members: vec![
            Member {
                function: FUNCTION.into(),
                alias: ALIAS.into(),
                stable_version: String::new(),
                target_version: "2".into(),
            },
            worker(),
        ],
        ..request("r-g", TWO_STEPS)
    };
    w.service.start(all).await.unwrap();
    let release = w.store.release("r-g");
    assert_eq!(release.subject(), "orders:live + orders-worker:live");
    assert_eq!(release.members.len(), 1);
}

#[tokio::test]
async fn a_split_member_alias_refuses_the_group_with_nothing_changed() {
    let w = group_world();
    let split = AliasRouting {
        version: "7".into(),
        extra: Some((
            "8".into(),
            crate::domain::Weight::from_percent(5.0).unwrap(),
        )),
    };
    w.router
        .table
        .lock()
        .unwrap()
        .move_alias(WORKER, ALIAS, split);
    let err = w.service.start(group_request("r-g")).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRouting { function, .. } if function == WORKER),
        "{err}"
    );
    assert_eq!(w.routing(), "version 1");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
}

#[tokio::test]
async fn a_members_alias_can_be_rolled_back_to_the_version_its_group_left() {
    // The group's history entry for the worker names the worker's versions (7 -> 8), not
    // the first member's (1 -> 2): rollback and retention judge the worker by them.
    let w = group_world();
    w.service.start(group_request("r-g")).await.unwrap();
    w.service.advance(step("r-g")).await.unwrap();
    w.service.advance(step("r-g")).await.unwrap();
    w.service.promote(step("r-g")).await.unwrap();
    let back = w
        .service
        .revert_to(WORKER, ALIAS, "7", "oncall", Some("r-back".into()))
        .await
        .unwrap();
    assert_eq!(back.phase, "succeeded");
    assert_eq!(worker_routing(&w), "version 7");
    let err = w
        .service
        .revert_to(WORKER, ALIAS, "1", "oncall", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotKnownGood { .. }), "{err}");
}

#[tokio::test]
async fn a_group_takes_over_a_members_expired_lock_on_the_record() {
    let w = group_world();
    let single = StartRequest {
        function: WORKER.into(),
        target_version: "8".into(),
        ..request("r-worker", "steps:10@1h")
    };
    w.service.start(single).await.unwrap();
    // It died days ago: its lock expired. (The worker's alias is left at 10%: put it back
    // on 7, as an operator would have, so the group may start from it.)
    {
        let mut records = w.store.records.lock().unwrap();
        let lock = records
            .locks
            .get_mut(&(WORKER.into(), ALIAS.into()))
            .unwrap();
        lock.expires_at = Utc::now() - Duration::days(1);
    }
    w.router
        .table
        .lock()
        .unwrap()
        .move_alias(WORKER, ALIAS, AliasRouting::single("7"));
    w.service.start(group_request("r-g")).await.unwrap();
    assert_eq!(w.store.lock(WORKER, ALIAS).unwrap().release_id, "r-g");
    let old = w.store.release("r-worker");
    assert!(old.phase.is_terminal(), "{:?}", old.phase);
    assert!(
        old.log.iter().any(|e| e.event.name() == "lock_broken"),
        "recorded on the release that lost it"
    );
}
