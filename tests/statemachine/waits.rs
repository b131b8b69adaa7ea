//! The workflow's waits, executed: hooks that hold a release, a gate, a pause on a task
//! token, and retention after the bake window.

use super::*;

/// A pre-traffic hook answers "not yet" once, then passes; at 100% the post-traffic hook fails:
/// the workflow waits between hook calls, and rolls back from Promote.
pub(super) async fn hooks_hold_the_release_and_a_failing_post_hook_rolls_back(
    handlers: &Handlers,
    store: &DynamoStore,
) {
    let s = Scenario::new().await;
    let smoke = hook_function(
        &s.env,
        json!([{"ok": null, "retry_after_secs": 10}, {"ok": true}]),
    )
    .await;
    let e2e = hook_function(&s.env, json!([{"ok": false, "reason": "checkout broken"}])).await;
    let (id, mut input) = s.input("steps:50@1s");
    input["hooks"] = json!({"pre_traffic": smoke, "post_traffic": e2e});
    let report = execute(handlers, &id, input).await;
    assert_eq!(report["error"], "Shiftback.NotPromoted", "{report}");
    assert_eq!(
        states(&report),
        ["Start", "Advance", "Advance", "Advance", "Promote", "RollBack"],
        "{report}"
    );
    assert_eq!(s.alias().await, AliasRouting::single("1"));
    let release = store.load(&id).await.unwrap().release;
    assert_eq!(release.phase, Phase::RolledBack);
    let reason = release.reason.unwrap();
    assert!(
        reason.contains(&format!("post-traffic hook {e2e} failed: checkout broken")),
        "{reason}"
    );
}

/// A gate holds the release at its weight, the workflow waiting on a task token, until
/// approved (the approval hands the token back and the release goes on); another gate, with
/// a two-second timeout, aborts the release.
pub(super) async fn a_gate_waits_for_approval_and_an_unanswered_one_aborts(
    handlers: &Handlers,
    store: &DynamoStore,
) {
    let s = Scenario::new().await;
    let (id, input) = s.input("steps:25@1s,gate,50@1s");
    let run = execute(handlers, &id, input);
    let approve = async {
        until_waiting(store, &id).await;
        // Longer than any bake of the schedule: the release really waits.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            s.alias().await.weight_towards("1", "2"),
            Weight::from_percent(25.0)
        );
        let service = ReleaseService::new(
            LambdaRouter::new(s.env.lambda.clone()),
            store.clone(),
            CloudWatchHealth::new(s.env.cloudwatch.clone()),
        );
        let workflow = StepFunctionsWorkflow::new(aws_sdk_sfn::Client::new(&s.env.config), "");
        service
            .control_gate_aware(&id, Control::Approve, "cli:carol", &workflow)
            .await
            .unwrap();
    };
    let (report, ()) = tokio::join!(run, approve);
    assert_eq!(report["status"], "SUCCEEDED", "{report}");
    assert!(states(&report).contains(&"Gate"), "{report}");
    assert_eq!(s.alias().await, AliasRouting::single("2"));
    let release = store.load(&id).await.unwrap().release;
    assert!(release
        .log
        .iter()
        .any(|e| e.event.name() == "approved" && e.actor == "cli:carol"));

    let s = Scenario::new().await;
    let (id, mut input) = s.input("steps:25@1s,gate,50@1s");
    input["gates"] = json!({"timeout_secs": 2});
    let report = execute(handlers, &id, input).await;
    assert_eq!(report["error"], "Shiftback.NotPromoted", "{report}");
    let ran = states(&report);
    assert!(
        ran.ends_with(&["Gate", "GateExpired", "RollBack"]),
        "{report}"
    );
    assert_eq!(s.alias().await, AliasRouting::single("1"));
    assert_eq!(store.load(&id).await.unwrap().release.phase, Phase::Aborted);
}

/// Waits until the release's workflow waits on a person (at a gate or paused), its token
/// registered.
pub(super) async fn until_waiting(store: &DynamoStore, id: &str) {
    for attempt in 0.. {
        assert!(
            attempt < 600,
            "release {id} never came to wait for a person"
        );
        // Not recorded yet at first: Start may still be running.
        let waiting = store.load(id).await.is_ok_and(|loaded| {
            matches!(
                loaded.release.phase,
                Phase::AtGate { .. } | Phase::Paused { .. }
            ) && loaded.release.gate_token.is_some()
        });
        if waiting {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A pause waits on a task token as a gate does; resume hands it back and the release goes on.
pub(super) async fn a_pause_waits_on_a_token_until_resumed(
    handlers: &Handlers,
    store: &DynamoStore,
) {
    let s = Scenario::new().await;
    let (id, input) = s.input("steps:25@3s,50@1s");
    let run = execute(handlers, &id, input);
    let service = ReleaseService::new(
        LambdaRouter::new(s.env.lambda.clone()),
        store.clone(),
        CloudWatchHealth::new(s.env.cloudwatch.clone()),
    );
    let workflow = StepFunctionsWorkflow::new(aws_sdk_sfn::Client::new(&s.env.config), "");
    let pause_then_resume = async {
        s.wait_for_weight(25.0).await;
        service
            .control_gate_aware(&id, Control::Pause, "cli:dave", &workflow)
            .await
            .unwrap();
        until_waiting(store, &id).await;
        // Longer than the step's bake: the pause really holds it.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(
            s.alias().await.weight_towards("1", "2"),
            Weight::from_percent(25.0)
        );
        service
            .control_gate_aware(&id, Control::Resume, "cli:dave", &workflow)
            .await
            .unwrap();
    };
    let (report, ()) = tokio::join!(run, pause_then_resume);
    assert_eq!(report["status"], "SUCCEEDED", "{report}");
    assert!(states(&report).contains(&"Gate"), "{report}");
    assert_eq!(s.alias().await, AliasRouting::single("2"));
}

pub(super) async fn retention_runs_after_the_bake_window(handlers: &Handlers, store: &DynamoStore) {
    let env = emulator().await;
    let function = function_with_versions(&env, 5, "live").await;
    let id = unique("r");
    let input = json!({
        "function": function, "alias": "live", "target_version": "2",
        "strategy": "steps:50@1s", "bake_after_secs": 2, "retain_versions": 1,
        "analysis": {"enabled": false}, "started_by": "e2e"
    });
    let report = execute(handlers, &id, input).await;
    assert_eq!(report["status"], "SUCCEEDED", "{report}");
    let states = states(&report);
    assert_eq!(states.last(), Some(&"Retain"), "{report}");
    let release = store.load(&id).await.unwrap().release;
    let pruned = release.log.last().unwrap();
    assert_eq!(pruned.event.name(), "versions_pruned", "{:?}", release.log);
    // Kept: 5 (the newest), 2 (the alias), 1 (the rollback target).
    let versions = env
        .lambda
        .list_versions_by_function()
        .function_name(&function)
        .send()
        .await
        .unwrap();
    let left: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(left, ["$LATEST", "1", "2", "5"]);
}
