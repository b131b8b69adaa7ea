//! Deploys in a row: a stack's updates supersede the release it started, whatever that
//! release is doing (at a gate, in a group, promoting), and leave an operator's revert alone.

use super::*;
use crate::router::routing::AliasRouting;

#[tokio::test(start_paused = true)]
async fn a_create_that_loses_a_race_for_the_alias_looks_again_and_succeeds() {
    let w = world();
    // Between the provider's read (no alias) and its CreateAlias, another create of the same
    // resource (CloudFormation's own retry) makes the alias: Lambda refuses the second with
    // ResourceConflictException, which passes with time. The provider looks again.
    w.router.interleave("create_alias", |table| {
        table.move_alias(FUNCTION, "prod", AliasRouting::single("2"));
    });
    let stack = Stack::of(&w);
    let answer = stack.send(&create("2")).await;
    assert_eq!(outcome(&answer), "already on the version", "{answer:?}");
    assert_eq!(stack.answers.sent.lock().unwrap().len(), 1, "answered once");
    assert_eq!(w.router.routing(FUNCTION, "prod").to_string(), "version 2");
    assert_eq!(w.journal.count("launch"), 0, "no release started");
}

#[tokio::test]
async fn deploying_twice_in_a_row_supersedes_the_running_release() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    assert_eq!(outcome(&first), "release started");
    stack.run_start(&first).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 2");

    // A fix a few minutes later, while the first still moves the alias.
    let second_request = stack.update("3", "2", json!({}));
    let second = stack.send(&second_request).await;
    assert_eq!(status(&second), "SUCCESS", "{second:?}");
    let first_id = &first.data["ReleaseId"];
    let second_id = &second.data["ReleaseId"];
    let superseded = w.store.release(first_id);
    assert_eq!(superseded.phase, Phase::Superseded);
    assert!(
        superseded
            .reason
            .as_deref()
            .unwrap()
            .contains(second_id.as_str()),
        "names the release that took its place: {:?}",
        superseded.reason
    );
    assert!(second
        .reason
        .as_deref()
        .unwrap()
        .contains(first_id.as_str()));
    assert_eq!(
        w.journal.count(&format!("announce {first_id} superseded")),
        1
    );
    assert_eq!(back_on_stable(&w), 1, "back on its stable version first");
    // Recorded and at its first step before the answer; the workflow's start continues it.
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    stack.run_start(&second).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    assert_eq!(
        w.store.lock(FUNCTION, ALIAS).unwrap().release_id,
        *second_id
    );

    // CloudFormation delivers the second request again: the same answer, nothing more.
    let again = stack.send(&second_request).await;
    assert_eq!(
        (outcome(&again), &again.data["ReleaseId"]),
        ("release started", second_id)
    );
    assert_eq!(stack.launches(), 2);
    assert_eq!(w.phase(second_id), "shifting");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_superseded_release_at_a_gate_has_its_token_handed_back() {
    let w = world();
    let stack = Stack::of(&w);
    let gated = json!({"Strategy": "steps:10@0s,gate,50@0s"});
    let first = stack.send(&stack.update("2", "1", gated.clone())).await;
    stack.run_start(&first).await;
    let id = first.data["ReleaseId"].clone();
    assert_eq!(w.service.advance(step(&id)).await.unwrap().next, Next::Gate);
    let registered = StepInput {
        task_token: Some("token-gate".into()),
        ..step(&id)
    };
    w.service.advance(registered).await.unwrap();
    let second = stack.send(&stack.update("3", "2", gated)).await;
    assert_eq!(outcome(&second), "release started");
    assert_eq!(w.phase(&id), "superseded");
    assert_eq!(
        w.journal.count("resume token-gate"),
        1,
        "{:?}",
        w.journal.entries()
    );
    assert_eq!(back_on_stable(&w), 1);
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_group_holding_the_alias_is_superseded_as_a_whole() {
    let w = group_world();
    let group = StartRequest {
        members: vec![worker()],
        ..request("g-1", TWO_STEPS)
    };
    w.service.start(group).await.unwrap();
    assert_eq!(
        w.router.routing(WORKER, ALIAS).to_string(),
        "version 7 with 10% on version 8"
    );
    let stack = Stack::of(&w);
    let answer = stack.send(&stack.update("3", "2", json!({}))).await;
    assert_eq!(outcome(&answer), "release started", "{answer:?}");
    assert_eq!(w.phase("g-1"), "superseded");
    assert_eq!(w.router.routing(WORKER, ALIAS).to_string(), "version 7");
    assert_eq!(
        w.store.lock(WORKER, ALIAS),
        None,
        "every member's lock given up"
    );
    stack.run_start(&answer).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
}

#[tokio::test]
async fn the_workflow_input_supersedes_as_the_provider_does_and_never_an_operators_revert() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    // Without the choice, a held alias refuses the start.
    let held = w
        .service
        .start(request("r-2", TWO_STEPS))
        .await
        .unwrap_err();
    assert!(matches!(held, Error::LockHeld { .. }), "{held}");
    let superseding = StartRequest {
        supersede: true,
        target_version: "3".into(),
        ..request("r-2", TWO_STEPS)
    };
    w.service.start(superseding.clone()).await.unwrap();
    assert_eq!(w.phase("r-1"), "superseded");
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    // A retried start (the workflow's task again) continues r-2 and supersedes nothing more.
    w.service.start(superseding).await.unwrap();
    assert_eq!(w.phase("r-2"), "shifting");
}

#[tokio::test]
async fn an_update_that_keeps_the_version_leaves_anothers_release_alone() {
    let w = world();
    let stack = Stack::of(&w);
    // An operator releases version 2 by hand while the stack records version 1; the team then
    // deploys a labels-only change (version 1 again).
    w.started("r-ops", TWO_STEPS).await;
    let labels = json!({"Labels": {"commit": "abc"}});
    let answer = stack.send(&stack.update("1", "1", labels)).await;
    assert_eq!(
        (status(&answer).as_str(), outcome(&answer)),
        ("SUCCESS", "nothing started"),
        "{answer:?}"
    );
    assert!(answer.reason.as_deref().unwrap().contains("r-ops"));
    assert_eq!(w.phase("r-ops"), "shifting", "not aborted");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
}

#[tokio::test]
async fn a_supersede_cut_off_between_its_record_and_its_revert_is_finished_on_the_retry() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    stack.run_start(&first).await;
    let first_id = first.data["ReleaseId"].clone();
    // The supersede recorded its decision, then the revert's UpdateAlias was throttled beyond
    // the SDK's retries: the release is left rolling back, the alias still split.
    w.store.records.lock().unwrap().change(&first_id, |r| {
        r.phase = Phase::RollingBack {
            cause: crate::domain::RollbackCause::Superseded,
        };
        r.reason = Some("superseded by release cfn-earlier".into());
    });
    let second = stack.send(&stack.update("3", "2", json!({}))).await;
    assert_eq!(outcome(&second), "release started", "{second:?}");
    assert_eq!(w.phase(&first_id), "superseded");
    assert_eq!(back_on_stable(&w), 1);
    stack.run_start(&second).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_release_whose_alarm_fires_is_left_to_the_alarm_function_not_superseded_or_aborted() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    let first_id = first.data["ReleaseId"].clone();
    // Its alarm fires; the alarm function's event is still on its way (asynchronous invokes
    // arrive late). A supersede or an abort now would record no verdict on version 2.
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let fix = stack
        .send(&stack.update("3", "2", json!({"Alarms": []})))
        .await;
    assert_eq!(status(&fix), "FAILED", "{fix:?}");
    assert!(fix.reason.as_deref().unwrap().contains(ALARM), "{fix:?}");
    assert_eq!(w.phase(&first_id), "shifting", "nothing changed");
    let back = stack
        .send_rolling_back(&stack.update("1", "3", json!({})))
        .await;
    assert!(
        back.reason.as_deref().unwrap().contains("alarm function"),
        "{back:?}"
    );
    assert_eq!(w.phase(&first_id), "shifting");
    // The alarm function's event arrives: the verdict is recorded, and holds.
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(w.phase(&first_id), "rolled_back");
    assert_eq!(w.routing(), "version 1");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_release_that_promotes_while_it_is_being_superseded_is_built_on() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    let first_id = first.data["ReleaseId"].clone();
    // Between the provider's checks and its supersede (its fourth read of a release: its own
    // id, the holder, the check's look at the holder, the supersede's), the first release
    // promotes: the alias is wholly on 2 and the release over.
    for _ in 0..3 {
        w.store.interleave("load_summary", |_| {});
    }
    let promoted = first_id.clone();
    w.store.interleave("load_summary", move |records| {
        records.change(&promoted, |r| r.phase = Phase::Succeeded);
        records.locks.clear();
    });
    w.router
        .table
        .lock()
        .unwrap()
        .move_alias(FUNCTION, ALIAS, AliasRouting::single("2"));
    let second = stack.send(&stack.update("3", "2", json!({}))).await;
    assert_eq!(outcome(&second), "release started", "{second:?}");
    let started = w.store.release(&second.data["ReleaseId"]);
    assert_eq!(started.stable_version, "2", "from where the alias is now");
    assert_eq!(w.routing(), "version 2 with 10% on version 3");
    assert_eq!(
        w.phase(&first_id),
        "succeeded",
        "nothing to supersede any more"
    );
}

#[tokio::test]
async fn an_alarm_an_operator_ignores_does_not_block_the_supersede() {
    let w = world();
    let stack = Stack::of(&w);
    // Two guards: an operator may ignore one, never the last.
    w.alarms.set(
        "orders-latency",
        AlarmState::Ok,
        Utc::now() - Duration::hours(1),
    );
    let guarded = json!({"Alarms": [ALARM, "orders-latency"]});
    let first = stack.send(&stack.update("2", "1", guarded)).await;
    let first_id = first.data["ReleaseId"].clone();
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let ignore = Control::Ignore {
        guard: ALARM.into(),
        for_secs: 3600,
        reason: "a known spike".into(),
    };
    w.service.control(&first_id, ignore, "alice").await.unwrap();
    let fix = stack
        .send(&stack.update("3", "2", json!({"AlarmOverrides": [ALARM]})))
        .await;
    assert_eq!(outcome(&fix), "release started", "{fix:?}");
    assert_eq!(w.phase(&first_id), "superseded");
}

#[tokio::test]
async fn a_stack_opts_into_the_fast_path_by_namespace_and_a_reserved_one_is_refused() {
    let w = world();
    let stack = Stack::of(&w);
    let fast = json!({"Analysis": "true", "FastPathNamespace": "Orders/Fast"});
    let answer = stack.send(&stack.update("2", "1", fast)).await;
    assert_eq!(outcome(&answer), "release started", "{answer:?}");
    stack.run_start(&answer).await;
    let alarms: Vec<String> = w
        .alarms
        .analysis_alarms
        .lock()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(alarms.iter().any(|a| a.ends_with(".fast")), "{alarms:?}");

    let reserved = json!({"Analysis": "true", "FastPathNamespace": "AWS/Lambda"});
    let answer = stack.send(&stack.update("3", "2", reserved)).await;
    assert_eq!(status(&answer), "FAILED");
    assert!(
        answer
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("AWS/ is reserved")),
        "{answer:?}"
    );
}
