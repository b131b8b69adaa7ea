//! Outages: a revert that lands though stopping the workflow fails, a service that stops
//! answering, a task token nothing waits on.

use super::*;

#[tokio::test]
async fn a_revert_lands_and_is_recorded_even_when_stopping_the_workflow_fails() {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let store = release_store(&env).await;
    let router = LambdaRouter::new(env.lambda.clone());
    let service = ReleaseService::new(
        router.clone(),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );
    let topic = topic(&env, "releases").await;
    let queue = subscribed_queue(&env, &topic, true, None).await;
    let notifier = shiftback_integration_tests::notifier_on(&env, &store, &topic, None);
    let stop = mock!(aws_sdk_sfn::Client::stop_execution)
        .sequence()
        .http_response(|| sfn_error(400, "ThrottlingException"))
        .repeatedly()
        .build();
    let sfn = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&stop], |b| b
        .retry_config(retries(3)));
    let workflow = StepFunctionsWorkflow::new(
        sfn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:release",
    );
    let responder =
        AlarmResponder::new(router.clone(), store.clone(), Some(workflow)).with_notifier(notifier);
    let id = service
        .start(release_request(&function, &alarm, "2", "canary:10:10m"))
        .await
        .unwrap()
        .release_id;
    let event = alarm_state_change(&alarm, "ALARM", "123456789012");
    let outcomes = responder.handle(event, None).await.unwrap();
    assert_eq!(outcomes[0].reverted.len(), 1);
    assert_eq!(
        stop.num_calls(),
        3,
        "tried, retried, then left to the workflow"
    );
    let alias = router.read(&function, "live").await.unwrap();
    assert_eq!(alias.routing.weight_towards("1", "2"), Some(Weight::ZERO));
    let release = store.load(&id).await.unwrap().release;
    assert_eq!(release.phase, Phase::RolledBack);
    // The service here announces nothing itself: the responder sends the whole log, once.
    let mut announced: Vec<_> = drain_queue(&env, &queue)
        .await
        .iter()
        .map(|m| {
            m["metadata"]["eventType"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    announced.sort();
    assert_eq!(announced, ["rolled_back", "started", "step_applied"]);
    // The workflow that could not be stopped ends at its next look.
    let next = service.advance(StepInput::of(&id)).await.unwrap();
    assert_eq!(next.next, Next::Done);
}

#[tokio::test]
async fn a_service_that_stops_answering_times_out_as_retryable() {
    let endpoint = silent_endpoint().await;
    let env = emulator().await;
    // The production bounds scaled down, so the test does not wait out five seconds.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(200))
        .operation_attempt_timeout(Duration::from_millis(200))
        .operation_timeout(Duration::from_secs(2))
        .build();
    let config = env
        .config
        .to_builder()
        .endpoint_url(endpoint)
        .timeout_config(timeouts)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .build();
    let router = LambdaRouter::new(aws_sdk_lambda::Client::new(&config));
    let health = CloudWatchHealth::new(aws_sdk_cloudwatch::Client::new(&config));

    let guard = Duration::from_secs(30);
    let read = tokio::time::timeout(guard, router.read("orders", "live"))
        .await
        .expect("the call gave up on its own");
    match read.unwrap_err() {
        Error::Aws(aws) => assert_eq!(aws.kind, AwsErrorKind::Transient, "{aws}"),
        other => panic!("expected a timeout, got {other}"),
    }
    let check = tokio::time::timeout(guard, health.statuses(&["orders-errors".to_string()]))
        .await
        .expect("the call gave up on its own");
    let err = check.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    // The handlers' own configuration bounds every call the same way.
    let production = shiftback::adapters::timeouts();
    assert!(production.operation_attempt_timeout().is_some());
    assert!(production.operation_timeout().is_some());
}

/// Handing a gate's token back: Step Functions' answers for a token nothing waits on any more
/// (the gate timed out, the execution ended) mean the release's record already says what
/// happened, and are not errors; anything else (throttling beyond retries) is one, for the
/// operator to run the command again.
#[tokio::test]
async fn a_token_nothing_waits_on_is_not_an_error_and_throttling_is() {
    for gone in ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"] {
        let send = mock!(aws_sdk_sfn::Client::send_task_success)
            .then_http_response(move || sfn_error(400, gone));
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&send], |b| b
            .retry_config(retries(3)));
        let resumed = StepFunctionsWorkflow::new(sfn, "")
            .resume("token-1", &json!({"next": "wait"}))
            .await;
        assert!(matches!(resumed, Ok(false)), "{gone}: {resumed:?}");
    }
    let throttled = mock!(aws_sdk_sfn::Client::send_task_success)
        .sequence()
        .http_response(|| sfn_error(400, "ThrottlingException"))
        .repeatedly()
        .build();
    let sfn = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&throttled], |b| b
        .retry_config(retries(3)));
    let err = StepFunctionsWorkflow::new(sfn, "")
        .resume("token-1", &json!({"next": "wait"}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(throttled.num_calls(), 3, "the SDK retried first");
}
