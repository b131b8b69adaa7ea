//! Refusals: each answered FAILED with its reason and nothing changed (never FAILED during a
//! stack's rollback), and launches that fail after the release was recorded.

use super::*;

#[tokio::test]
async fn when_busy_fail_refuses_with_the_reason_and_its_rollback_is_answered() {
    let w = world();
    let stack = Stack::of(&w);
    let fail = json!({"WhenBusy": "Fail"});
    let first = stack.send(&stack.update("2", "1", fail.clone())).await;
    stack.run_start(&first).await;
    let journal = w.journal.entries().len();

    let refused = stack.send(&stack.update("3", "2", fail.clone())).await;
    assert_eq!(status(&refused), "FAILED");
    let reason = refused.reason.clone().unwrap();
    assert!(
        reason.contains(first.data["ReleaseId"].as_str()),
        "{reason}"
    );
    assert!(reason.contains("WhenBusy: Fail"), "{reason}");
    assert_eq!(stack.launches(), 1, "nothing started");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    assert!(
        w.journal.entries()[journal..]
            .iter()
            .all(|e| !e.starts_with("save") && !e.starts_with("alias")),
        "nothing written: {:?}",
        &w.journal.entries()[journal..]
    );
    // CloudFormation rolls the stack back: the running release is the version it goes back to.
    let back = stack.send_rolling_back(&stack.update("2", "3", fail)).await;
    assert!(outcome(&back).contains("moves the alias to it"), "{back:?}");
    assert_eq!(w.phase(&first.data["ReleaseId"]), "shifting");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_stack_that_does_not_own_the_function_is_refused_with_nothing_changed() {
    let w = world();
    let stack = Stack::of(&w);
    let mut request = stack.update("2", "1", json!({}));
    request["StackId"] = json!("arn:aws:cloudformation:eu-west-1:123456789012:stack/intruder/9");
    let before = w.journal.entries();
    let refused = stack.send(&request).await;
    assert_eq!(status(&refused), "FAILED");
    let reason = refused.reason.clone().unwrap();
    assert!(
        reason.contains("stack intruder may not release orders"),
        "{reason}"
    );
    assert_eq!(w.journal.entries(), before, "nothing written");
    assert_eq!(w.routing(), "version 1");
    // Its owner names it: then it may.
    w.router.table.lock().unwrap().tags.insert(
        FUNCTION.into(),
        [
            (STACK_ID_TAG.to_string(), STACK.to_string()),
            (RELEASE_STACKS_TAG.to_string(), "intruder".to_string()),
        ]
        .into_iter()
        .collect(),
    );
    let allowed = stack.send(&request).await;
    assert_eq!(outcome(&allowed), "release started", "{allowed:?}");
}

#[tokio::test]
async fn a_declined_request_that_waits_is_failed_however_often_it_is_delivered() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    stack.run_start(&first).await;
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    w.alarms.set(ALARM, AlarmState::Ok, Utc::now());
    let waits = stack.update("2", "3", json!({"Wait": "yes"}));
    for _ in 0..2 {
        let answer = stack.send(&waits).await;
        assert_eq!(status(&answer), "FAILED", "{answer:?}");
    }
    assert_eq!(stack.launches(), 1);
}

#[tokio::test]
async fn wait_true_counts_every_bake_and_analysis_extension_against_the_service_timeout() {
    let w = world();
    let stack = Stack::of(&w);
    // Two one-minute steps (10%, 50%): 120 s of bakes, but with analysis on each step may wait
    // up to 10 more minutes for traffic: 1,440 s with the margin, past a 15-minute
    // ServiceTimeout.
    let judged = json!({"Wait": "true", "Strategy": "steps:10@1m,50@1m", "Analysis": "on",
                        "ServiceTimeout": "900"});
    let refused = stack.send(&stack.update("2", "1", judged)).await;
    assert_eq!(status(&refused), "FAILED");
    let reason = refused.reason.clone().unwrap();
    assert!(
        reason.contains("120s of bakes, 1200s of analysis extensions")
            && reason.contains("waits 900s"),
        "{reason}"
    );
    // Without a ServiceTimeout, CloudFormation waits its hour: two half-hour steps do not fit.
    let long = json!({"Wait": "true", "Strategy": "steps:10@30m,50@30m"});
    let refused = stack.send(&stack.update("2", "1", long)).await;
    assert!(
        refused.reason.as_deref().unwrap().contains("waits 3600s"),
        "{refused:?}"
    );
    assert_eq!(stack.launches(), 0);
    assert_eq!(w.routing(), "version 1", "nothing changed");
    assert!(w.store.lock(FUNCTION, ALIAS).is_none());
    // Within the hour, a release longer than the provider's own 15 minutes is waited for.
    let fits = json!({"Wait": "true", "Strategy": "steps:10@1m,50@1m", "Analysis": "on"});
    stack.send_waiting(&stack.update("2", "1", fits)).await;
    assert_eq!(stack.launches(), 1);
}

#[tokio::test]
async fn every_refusal_is_failed_with_its_reason_and_changes_nothing_but_never_in_a_rollback() {
    let w = world();
    let stack = Stack::of(&w);
    let other_stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/intruder/9";
    // (what is changed in an Update from 1 to 2, what the reason must name)
    let refusals: Vec<(Value, &str)> = vec![
        (json!({"Version": ""}), "Version"),
        (json!({"Wait": "maybe"}), "Wait"),
        (json!({"Analysis": "enabled"}), "Analysis"),
        (json!({"WhenBusy": "Queue"}), "WhenBusy"),
        (json!({"Analisys": "off"}), "Analisys"),
        (json!({"Strategy": "Canary200Percent"}), "Canary200Percent"),
        (json!({"Version": "9"}), "version 9"),
        (json!({"Alarms": ["no-such-alarm"]}), "no-such-alarm"),
        (
            json!({"FunctionName": "not a function!"}),
            "not a function!",
        ),
        (json!({"StackId": other_stack}), "may not release"),
    ];
    for (change, names) in &refusals {
        let mut request = stack.update("2", "1", json!({}));
        for (k, v) in change.as_object().unwrap() {
            match k.as_str() {
                "StackId" => request["StackId"] = v.clone(),
                _ => request["ResourceProperties"][k] = v.clone(),
            }
        }
        let before = w.journal.entries();
        let refused = stack.send(&request).await;
        assert_eq!(status(&refused), "FAILED", "{change}: {refused:?}");
        let reason = refused.reason.clone().unwrap_or_default();
        assert!(reason.contains(names), "{change}: {reason}");
        assert_eq!(w.journal.entries(), before, "{change}: something changed");
        // The same request while the stack rolls back: answered, never refused.
        let answered = stack.send_rolling_back(&request).await;
        assert!(
            answered.reason.is_some(),
            "{change}: says why: {answered:?}"
        );
    }
    assert_eq!(stack.launches(), 0);
    assert_eq!(w.routing(), "version 1");
    assert!(w.store.lock(FUNCTION, ALIAS).is_none());
    stack.can_deploy_again();
}

#[tokio::test(start_paused = true)]
async fn a_launch_that_fails_after_the_release_was_recorded_is_launched_on_the_retry() {
    use crate::error::AwsErrorKind;
    let w = world();
    let stack = Stack::of(&w);
    // StartExecution throttled once, after the release was recorded and at its first step.
    stack.workflow.failing_launches.lock().unwrap().push(aws(
        "StartExecution",
        AwsErrorKind::Throttled,
        "Rate exceeded",
    ));
    let answer = stack.send(&stack.update("2", "1", json!({}))).await;
    assert_eq!(outcome(&answer), "release started", "{answer:?}");
    assert_eq!(
        stack.launches(),
        1,
        "launched on the retry: something moves it"
    );
    let (_, input) = stack.workflow.launched.lock().unwrap()[0].clone();
    assert_eq!(input["stable_version"], "1");
    assert_eq!(w.phase(&answer.data["ReleaseId"]), "shifting");
}

#[tokio::test]
async fn a_launch_refused_for_good_aborts_the_recorded_release_and_answers_failed() {
    use crate::error::AwsErrorKind;
    let w = world();
    let stack = Stack::of(&w);
    stack.workflow.failing_launches.lock().unwrap().push(aws(
        "StartExecution",
        AwsErrorKind::Rejected,
        "State Machine Does Not Exist",
    ));
    let answer = stack.send(&stack.update("2", "1", json!({}))).await;
    assert_eq!(status(&answer), "FAILED");
    assert!(answer.reason.as_deref().unwrap().contains("Does Not Exist"));
    let id = crate::service::release_id_for("00000000-0000-4000-8000-000000000001");
    assert_eq!(w.phase(&id), "aborted", "no release left holding the alias");
    assert_eq!(w.routing(), "version 1");
    stack.can_deploy_again();
}
