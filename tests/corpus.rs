//! The bad-input corpus (tests/corpus/handler-inputs.json), run through every handler the way
//! the handler binaries run it. Each case must fail with its specific message (or be ignored
//! with its reason) and leave the table, the alias and the topic exactly as they were.

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::Value;
use shiftback::adapters::{CloudWatchHealth, LambdaRouter, SnsNotifier};
use shiftback::alarm::AlarmResponder;
use shiftback::service::{parse_input, ReleaseService};
use shiftback_integration_tests::{
    alarm_in_state, emulator, function_with_versions, release_request, release_store, snapshot,
    subscribed_queue, topic, unique,
};

#[tokio::test]
async fn every_bad_input_gets_its_specific_error_and_changes_nothing() {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let store = release_store(&env).await;
    let sns = aws_sdk_sns::Client::new(&env.config);
    let sqs = aws_sdk_sqs::Client::new(&env.config);
    let topic = topic(&env, "releases").await;
    let queue = subscribed_queue(&env, &topic, false, None).await;
    let notifier = SnsNotifier::new(
        sns.clone(),
        env.dynamodb.clone(),
        store.table(),
        &topic,
        None,
    );
    let router = LambdaRouter::new(env.lambda.clone());
    let service = ReleaseService::new(
        router.clone(),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    )
    .with_notifier(notifier.clone());
    let responder = AlarmResponder::new(router, store.clone(), None).with_notifier(notifier);

    // A release in progress, whose announcements are then drained: the baseline.
    let release = service
        .start(release_request(&function, &alarm, "2", "canary:10:10m"))
        .await
        .unwrap()
        .release_id;
    while !sqs
        .receive_message()
        .queue_url(&queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages()
        .is_empty()
    {}
    // Received messages are invisible for a while; purge so the snapshot counts what follows.
    sqs.purge_queue().queue_url(&queue).send().await.unwrap();
    let before = snapshot(&env, store.table(), &function, Some(&queue)).await;

    let corpus: Value = serde_json::from_str(include_str!("corpus/handler-inputs.json")).unwrap();
    let cases = corpus["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let text = case["input"]
            .to_string()
            .replace("{{function}}", &function)
            .replace("{{alarm}}", &alarm)
            .replace("{{release}}", &release)
            .replace("{{new_release}}", &unique("r"));
        let input: Value = serde_json::from_str(&text).unwrap();
        let result: Result<Value, shiftback::Error> = match case["handler"].as_str().unwrap() {
            "start" => match parse_input(input) {
                Ok(request) => service
                    .start(request)
                    .await
                    .map(|o| serde_json::to_value(o).unwrap()),
                Err(e) => Err(e),
            },
            "advance" => match parse_input(input) {
                Ok(step) => service
                    .advance(step)
                    .await
                    .map(|o| serde_json::to_value(o).unwrap()),
                Err(e) => Err(e),
            },
            "promote" => match parse_input(input) {
                Ok(step) => service
                    .promote(step)
                    .await
                    .map(|o| serde_json::to_value(o).unwrap()),
                Err(e) => Err(e),
            },
            "alarm" => responder
                .handle(input, Some("123456789012"))
                .await
                .map(|o| serde_json::to_value(o).unwrap()),
            other => panic!("unknown handler {other}"),
        };
        match (case.get("error"), case.get("ignored"), result) {
            (Some(expected), _, Err(e)) => {
                let expected = expected.as_str().unwrap();
                assert!(
                    e.to_string().contains(expected),
                    "{name}: expected '{expected}', got '{e}'"
                );
                assert!(
                    !e.is_retryable(),
                    "{name}: bad input is not worth retrying: {e}"
                );
            }
            (_, Some(expected), Ok(outcome)) => {
                let reason = outcome[0]["ignored"].as_str().unwrap_or_default();
                assert!(
                    reason.contains(expected.as_str().unwrap()),
                    "{name}: {outcome}"
                );
            }
            (_, _, other) => panic!("{name}: unexpected result {other:?}"),
        }
        assert_eq!(
            snapshot(&env, store.table(), &function, Some(&queue)).await,
            before,
            "{name} changed state"
        );
    }
}
