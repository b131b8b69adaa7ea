//! Throttling, 5xx and timeouts on the calls besides Lambda and DynamoDB (those are in
//! `faults.rs`): CloudWatch's health checks, SNS notifications and Step Functions. Failing
//! services are aws-smithy-mocks clients answering with raw HTTP, so the SDK's own error
//! parsing and retry loop run; the rest is moto.

use shiftback::ports::AliasRouter as _;
use std::time::Duration;

use aws_sdk_cloudwatch::config::retry::RetryConfig;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use serde_json::json;
use shiftback::adapters::{CloudWatchHealth, LambdaRouter, SnsNotifier, StepFunctionsWorkflow};
use shiftback::alarm::AlarmResponder;
use shiftback::domain::{Phase, Weight};
use shiftback::error::AwsErrorKind;
use shiftback::service::{Next, ReleaseService, StepInput};
use shiftback::Error;
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, drain_queue, emulator, function_with_versions,
    release_request, release_store, subscribed_queue, topic,
};

fn response(status: u16, body: String) -> Response {
    Response::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

/// The query protocol's error document (CloudWatch and SNS).
fn query_error(status: u16, namespace: &str, code: &str) -> Response {
    response(
        status,
        format!(
            r#"<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} from the mock</Message></Error><RequestId>mock</RequestId></ErrorResponse>"#
        ),
    )
}

const CLOUDWATCH: &str = "http://monitoring.amazonaws.com/doc/2010-08-01/";
const SNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

fn retries(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn alarm_ok(name: &str) -> DescribeAlarmsOutput {
    DescribeAlarmsOutput::builder()
        .metric_alarms(
            MetricAlarm::builder()
                .alarm_name(name)
                .state_value(StateValue::Ok)
                .state_reason("fine")
                .build(),
        )
        .build()
}

fn cloudwatch(rules: &[&Rule]) -> aws_sdk_cloudwatch::Client {
    mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, rules, |b| b
        .retry_config(retries(3)))
}

#[tokio::test]
async fn a_throttled_health_check_is_retried_and_when_exhausted_changes_nothing() {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let alarm = "orders-errors".to_string();
    let ok = {
        let alarm = alarm.clone();
        move || alarm_ok(&alarm)
    };
    // start's check; advance's check throttled past its 3 attempts; then advance again,
    // throttled twice and answered on the third attempt.
    let start_check = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(ok.clone());
    let exhausted = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .http_response(|| query_error(400, CLOUDWATCH, "Throttling"))
        .times(3)
        .build();
    let absorbed = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .sequence()
        .http_response(|| query_error(400, CLOUDWATCH, "Throttling"))
        .http_response(|| query_error(503, CLOUDWATCH, "ServiceUnavailable"))
        .output(ok)
        .build();
    let service = ReleaseService::new(
        LambdaRouter::new(env.lambda.clone()),
        release_store(&env).await,
        CloudWatchHealth::new(cloudwatch(&[&start_check, &exhausted, &absorbed])),
    );
    let id = service
        .start(release_request(&function, &alarm, "2", "steps:10@0s,50@0s"))
        .await
        .unwrap()
        .release_id;
    let before = service.store.load(&id).await.unwrap().release;

    let err = service.advance(StepInput::of(&id)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.error_type(), "Shiftback.Retryable");
    assert_eq!(exhausted.num_calls(), 3);
    // Nothing decided on a health check that never answered.
    assert_eq!(service.store.load(&id).await.unwrap().release, before);
    let alias = service.router.read(&function, "live").await.unwrap();
    assert_eq!(
        alias.routing.weight_towards("1", "2"),
        Some(Weight::from_percent(10.0).unwrap())
    );

    // Step Functions' Retry runs the task again; the SDK absorbs the next two failures.
    let outcome = service.advance(StepInput::of(&id)).await.unwrap();
    assert_eq!(absorbed.num_calls(), 3);
    assert_eq!(outcome.weight, Weight::from_percent(50.0).unwrap());
}

fn published() -> aws_sdk_sns::operation::publish::PublishOutput {
    aws_sdk_sns::operation::publish::PublishOutput::builder()
        .message_id("m-1")
        .build()
}

#[tokio::test]
async fn a_throttled_publish_is_retried_and_an_exhausted_one_is_sent_by_the_next_step() {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let store = release_store(&env).await;
    // The start's two announcements: the first throttled twice then sent; the second failing
    // with 5xx past every attempt. Then the advance's: the one left over, and its own.
    let publish = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .http_response(|| query_error(400, SNS, "Throttling"))
        .times(2)
        .output(published)
        .http_response(|| query_error(500, SNS, "InternalError"))
        .times(3)
        .output(published)
        .times(2)
        .build();
    let sns = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&publish], |b| b
        .retry_config(retries(3)));
    let notifier = SnsNotifier::new(
        sns,
        env.dynamodb.clone(),
        store.table(),
        "arn:aws:sns:us-east-1:123456789012:releases",
        None,
    );
    let service = ReleaseService::new(
        LambdaRouter::new(env.lambda.clone()),
        store,
        CloudWatchHealth::new(env.cloudwatch.clone()),
    )
    .with_notifier(notifier.clone());

    // A notification that cannot be sent never fails the step.
    let started = service
        .start(release_request(&function, &alarm, "2", "steps:10@0s,50@0s"))
        .await
        .unwrap();
    assert_eq!(publish.num_calls(), 6, "3 attempts for each announcement");
    let outcome = service
        .advance(StepInput::of(&started.release_id))
        .await
        .unwrap();
    assert_eq!(outcome.next, Next::Wait);
    assert_eq!(
        publish.num_calls(),
        8,
        "the left-over one, then the new one"
    );
    // Everything is announced now; nothing is sent twice.
    let release = service
        .store
        .load(&started.release_id)
        .await
        .unwrap()
        .release;
    assert_eq!(notifier.announce(&release).await.unwrap(), 0);
    assert_eq!(publish.num_calls(), 8);
}

fn sfn_error(status: u16, code: &str) -> Response {
    response(
        status,
        format!(
            r#"{{"__type":"com.amazonaws.swf.service.model.v20160613#{code}","message":"mock"}}"#
        ),
    )
}

#[tokio::test]
async fn starting_an_execution_absorbs_throttling_and_reports_exhaustion_as_retryable() {
    let start = mock!(aws_sdk_sfn::Client::start_execution)
        .sequence()
        .http_response(|| sfn_error(400, "ThrottlingException"))
        .times(2)
        .output(|| {
            StartExecutionOutput::builder()
                .execution_arn("arn:aws:states:us-east-1:123456789012:execution:release:r-1")
                .start_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        })
        .http_response(|| sfn_error(500, "InternalServerError"))
        .times(3)
        .build();
    let sfn = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&start], |b| b
        .retry_config(retries(3)));
    let workflow = StepFunctionsWorkflow::new(
        sfn,
        "arn:aws:states:us-east-1:123456789012:stateMachine:release",
    );
    let arn = workflow.start("r-1", &json!({})).await.unwrap();
    assert!(arn.ends_with(":execution:release:r-1"));
    let err = workflow.start("r-2", &json!({})).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(start.num_calls(), 6);
}

/// A server that accepts connections and never answers.
async fn silent_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}")
}

/// CloudWatch throttles GetMetricData (a per-account rate, shared with every dashboard and
/// tool in it); moto never does. A throttled analysis is retried by the SDK, and when
/// exhausted is a retryable error: the step decides nothing and Step Functions runs it again.
#[tokio::test]
async fn a_throttled_analysis_is_retried_and_when_exhausted_is_retryable() {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use shiftback::ports::VersionsQuery;
    let exhausted = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .sequence()
        .http_response(|| query_error(400, CLOUDWATCH, "Throttling"))
        .times(3)
        .build();
    let absorbed = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .sequence()
        .http_response(|| query_error(400, CLOUDWATCH, "Throttling"))
        .output(|| GetMetricDataOutput::builder().build())
        .build();
    let health = CloudWatchHealth::new(cloudwatch(&[&exhausted, &absorbed]));
    let now = chrono::Utc::now();
    let query = VersionsQuery {
        function: "orders".into(),
        alias: "live".into(),
        target_version: "2".into(),
        stable_version: "1".into(),
        start: now - chrono::Duration::minutes(5),
        end: now,
    };
    let err = health.compare_versions(&query).await.unwrap_err();
    assert!(
        matches!(&err, Error::Aws(e) if e.kind == AwsErrorKind::Throttled && e.operation == "GetMetricData"),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(exhausted.num_calls(), 3);
    let comparison = health.compare_versions(&query).await.unwrap();
    assert!(comparison.target.is_empty() && comparison.stable.is_empty());
    // The counts, after one throttled try; no minute with enough calls for a p99, so no
    // percentile read.
    assert_eq!(absorbed.num_calls(), 2);
}

mod outages;
