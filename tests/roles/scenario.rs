//! The scenario every shiftback function walks once, each with its own call log: a release
//! that succeeds and is pruned, one that fails its check, one reverted at once by its alarm
//! (a group, with its own alarms), and the custom resource provider's requests.

use super::*;

/// The labels of a wave plan's regional release, naming its coordinator as the home stack's
/// function is named (`<stack>-WavesFunction-<suffix>`).
fn in_a_plan() -> std::collections::BTreeMap<String, String> {
    [
        ("plan", "plan-1"),
        ("plan_home", "us-east-1"),
        ("wave", "2"),
        (
            shiftback::waves::PLAN_STOP_LABEL,
            "arn:aws:lambda:us-east-1:123456789012:function:shiftback-WavesFunction-AbC123",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Drives every handler through the paths a release takes: one that succeeds, one the
/// workflow rolls back on a failed health check, one the alarm function reverts at once.
// Each handler's call boxed: their futures, inlined here, would not fit a test thread's stack.
pub(super) async fn record_every_handler() -> Recorded {
    let env = emulator().await;
    // Five versions: the succeeding release's retention deletes 3 and 4, the later ones use 5.
    let function = function_with_versions(&env, 5, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let store = release_store(&env).await;
    let settings = HandlerSettings {
        release_table: store.table().to_string(),
        release_topic: Some(topic(&env, "releases").await),
        incident_topic: Some(topic(&env, "incidents").await),
        // StopExecution of an execution that does not exist is a no-op for the responder;
        // the call is made, recorded and checked all the same.
        state_machine_arn: Some(format!(
            "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
            unique("releases")
        )),
        hook_functions: Some("hook-*".into()),
        function_arn_prefix: Some(format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:")),
        caller: Caller::Handler,
    };
    let calls: BTreeMap<_, _> = [
        "StartFunction",
        "AdvanceFunction",
        "PromoteFunction",
        "RollbackFunction",
        "RetainFunction",
        "AlarmFunction",
        "ReleaseProviderFunction",
        "WavesFunction",
    ]
    .into_iter()
    .map(|name| (name, CallLog::default()))
    .collect();
    let service = |name: &str| release_service_with(&env.clients_with(&calls[name]), &settings);
    let (start, advance, promote, rollback) = (
        service("StartFunction"),
        service("AdvanceFunction"),
        service("PromoteFunction"),
        service("RollbackFunction"),
    );
    let responder = alarm_responder_with(&env.clients_with(&calls["AlarmFunction"]), &settings);
    let (retain, catalog) =
        retention_service_with(&env.clients_with(&calls["RetainFunction"]), &settings);

    let mut succeeds = release_request(&function, &alarm, "2", "steps:10@0s,50@0s");
    // Analysis on, so that its GetMetricData is made and checked; no traffic is published,
    // and an inconclusive step passes at once.
    succeeds.analysis = AnalysisSettings {
        max_extension_secs: 0,
        when_inconclusive: WhenInconclusive::Pass,
        keep_dashboard: true,
        // The current minute judged too: an empty window makes no GetMetricData to check.
        settle_secs: 0,
        warmup_secs: 0,
        ..AnalysisSettings::default()
    };
    succeeds.retain_versions = Some(1);
    // Both hooks: advance calls the pre-traffic one, promote the post-traffic one.
    succeeds.hooks = Hooks {
        pre_traffic: Some(hook_function(&env, json!([{"ok": true}])).await),
        post_traffic: Some(hook_function(&env, json!([{"ok": true}])).await),
        ..Hooks::default()
    };
    let mut outcome = Box::pin(start.start(succeeds)).await.unwrap();
    while outcome.next == Next::Wait {
        outcome = Box::pin(advance.advance(step(&outcome))).await.unwrap();
    }
    assert_eq!(outcome.next, Next::Promote);
    let done = Box::pin(promote.promote(step(&outcome))).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    assert_eq!(done.next, Next::Retain);
    let pruned = Box::pin(retain.retain(&catalog, step(&done)))
        .await
        .unwrap();
    assert_eq!(pruned.next, Next::Done);

    let mut fails_its_check = release_request(&function, &alarm, "5", "canary:10:10m");
    // Both rolled back releases belong to a wave plan: each tells the plan's coordinator.
    fails_its_check.labels = in_a_plan();
    let started = Box::pin(start.start(fails_its_check)).await.unwrap();
    set_alarm_state(&env, &alarm, StateValue::Alarm, "errors").await;
    let checked = Box::pin(advance.advance(step(&started))).await.unwrap();
    assert_eq!(checked.next, Next::Rollback);
    let reverted = Box::pin(rollback.rollback(step(&checked))).await.unwrap();
    assert_eq!(reverted.phase, "rolled_back");

    set_alarm_state(&env, &alarm, StateValue::Ok, "recovered").await;
    let mut reverted_at_once = release_request(&function, &alarm, "5", "canary:10:10m");
    // With its own alarm, which the alarm function deletes once it has reverted; and a group,
    // so its further member's lock, history entry and alarm are written (and reverted) too.
    reverted_at_once.analysis = AnalysisSettings::default();
    reverted_at_once.labels = in_a_plan();
    reverted_at_once.members = vec![shiftback::domain::Member {
        function: function_with_versions(&env, 2, "live").await,
        alias: "live".into(),
        stable_version: String::new(),
        target_version: "2".into(),
    }];
    Box::pin(start.start(reverted_at_once)).await.unwrap();
    Box::pin(responder.handle(alarm_state_change(&alarm, "ALARM", ACCOUNT), Some(ACCOUNT)))
        .await
        .unwrap();

    // The provider: an alias created; a release of it waiting at its gate, which the stack's
    // next version supersedes (the provider hands the workflow's task token back); and an
    // update back to a version the alias never ran (not known good: a release it starts; the
    // recorded state machine does not exist, so it answers FAILED, the calls made all the same).
    // The function is the stack's own, as CloudFormation tags what it creates.
    let stack_id = stack_owning(&env, &function).await;
    set_alarm_state(&env, &alarm, StateValue::Ok, "recovered").await;
    let provider = release_provider_with(
        &env.clients_with(&calls["ReleaseProviderFunction"]),
        &settings,
    )
    .unwrap();
    let url = shiftback_integration_tests::response_url::ResponseUrl::start(0).await;
    let cfn = |kind: &str, version: &str, old: Option<&str>| {
        let props = |v: &str| json!({"FunctionName": function, "Alias": "prod", "Version": v, "Strategy": "AllAtOnce", "Alarms": [alarm]});
        let mut request = json!({
            "RequestType": kind, "RequestId": unique("req"), "ResponseURL": url.url,
            "StackId": stack_id,
            "ResourceType": "Custom::ShiftbackRelease", "LogicalResourceId": "Release",
            "ResourceProperties": props(version),
        });
        if let Some(old) = old {
            request["OldResourceProperties"] = props(old);
            request["PhysicalResourceId"] = json!(format!("{function}:prod"));
        }
        request
    };
    Box::pin(provider.handle(cfn("Create", "5", None), 0))
        .await
        .unwrap();
    let mut gated = release_request(&function, &alarm, "2", "steps:10@0s,gate,50@0s");
    gated.alias = "prod".into();
    let gated = Box::pin(start.start(gated)).await.unwrap();
    let at_gate = Box::pin(advance.advance(step(&gated))).await.unwrap();
    assert_eq!(at_gate.next, Next::Gate);
    let registered = StepInput {
        task_token: Some("token-at-the-gate".into()),
        ..step(&at_gate)
    };
    Box::pin(advance.advance(registered)).await.unwrap();
    Box::pin(provider.handle(cfn("Update", "1", Some("2")), 0))
        .await
        .unwrap();
    Box::pin(provider.handle(cfn("Update", "2", Some("5")), 0))
        .await
        .unwrap();
    assert_eq!(url.puts().len(), 3);
    let provider_log = &calls["ReleaseProviderFunction"];
    let resource = (url.url.as_str(), stack_id.as_str(), function.as_str());
    Box::pin(super::waves::provide_a_plan(
        &env,
        &settings,
        provider_log,
        resource,
    ))
    .await;
    // The end of a release's workflow (EventBridge), which answers a stack waiting for it.
    let ended = json!({
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "detail": {"name": gated.release_id, "status": "ABORTED"}
    });
    Box::pin(provider.serve(ended, 0)).await.unwrap();

    Box::pin(super::waves::walk_a_plan(
        &env,
        &settings.release_table,
        &calls["WavesFunction"],
        &alarm,
    ))
    .await;

    let physical = vec![
        ("ReleaseTable", settings.release_table.clone()),
        ("ReleaseTopic", settings.release_topic.clone().unwrap()),
        ("IncidentTopic", settings.incident_topic.clone().unwrap()),
        ("ReleaseStateMachine", settings.state_machine_arn.unwrap()),
        ("WavesStateMachine", super::waves::WAVES_MACHINE.to_string()),
        (
            "WavesFunction",
            "shiftback-WavesFunction-AbC123".to_string(),
        ),
        // The alarm function's failure destination: Lambda itself sends to it, with the
        // function's role; no handler code does.
        (
            "AlarmFailureQueue",
            format!("https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/shiftback-alarm-failures"),
        ),
    ];
    Recorded {
        calls,
        physical,
        alarm,
    }
}
