//! What moto cannot model, against the SDK's own test double (aws-smithy-mocks): RevisionId
//! conflicts, throttling and 5xx. Responses are raw HTTP, so the SDK's real deserialisers,
//! error classification and retry loop are what is tested.

mod error_classes;
mod hooks;
mod limits;
mod percentiles;
mod readiness;
mod retention;
mod revert_race;

use shiftback::ports::AliasRouter as _;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_lambda::Client as LambdaClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use chrono::DateTime;
use shiftback::adapters::{AliasRouting, DynamoStore, LambdaRouter};
use shiftback::domain::{Input, Release, ReleaseKind, ReleaseSpec, Weight};
use shiftback::error::AwsErrorKind;
use shiftback::Error;

fn json_response(status: u16, body: &str) -> Response {
    Response::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_string()),
    )
}

fn lambda_error(status: u16, code: &str) -> Response {
    let mut response = json_response(status, &format!(r#"{{"message":"{code} from the mock"}}"#));
    response
        .headers_mut()
        .insert("x-amzn-errortype", code.to_string());
    response
}

fn alias_body(version: &str, weight: Option<f64>, revision: &str) -> String {
    let routing = weight
        .map(|w| format!(r#","RoutingConfig":{{"AdditionalVersionWeights":{{"2":{w}}}}}"#))
        .unwrap_or_default();
    format!(r#"{{"Name":"live","FunctionVersion":"{version}","RevisionId":"{revision}"{routing}}}"#)
}

fn fast_retries(builder: aws_sdk_lambda::config::Builder) -> aws_sdk_lambda::config::Builder {
    builder.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(5)),
    )
}

fn router(rules: &[&Rule]) -> LambdaRouter {
    LambdaRouter::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        rules,
        fast_retries
    ))
}

fn ten_percent() -> AliasRouting {
    AliasRouting {
        version: "1".into(),
        extra: Some(("2".into(), Weight::from_percent(10.0).unwrap())),
    }
}

#[tokio::test]
async fn a_revision_conflict_is_detected_not_overwritten() {
    // Lambda refuses an UpdateAlias whose RevisionId is no longer current.
    let update = mock!(LambdaClient::update_alias)
        .match_requests(|req| req.revision_id() == Some("rev-1"))
        .then_http_response(|| lambda_error(412, "PreconditionFailedException"));
    let get = mock!(LambdaClient::get_alias)
        .then_http_response(|| json_response(200, &alias_body("1", None, "rev-2")));
    let router = router(&[&update, &get]);

    let err = router
        .set("orders", "live", &ten_percent(), Some("rev-1"))
        .await
        .unwrap_err();
    match &err {
        Error::Aws(aws) => {
            assert_eq!(aws.kind, AwsErrorKind::Conflict);
            assert_eq!(aws.code.as_deref(), Some("PreconditionFailedException"));
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert!(!err.is_retryable(), "a lost race is not retried blindly");
    assert_eq!(update.num_calls(), 1, "no retry of a conflicting write");
    assert_eq!(
        get.num_calls(),
        0,
        "nothing read back after a refused write"
    );
}

#[tokio::test]
async fn throttling_is_absorbed_by_retries() {
    let update = mock!(LambdaClient::update_alias)
        .sequence()
        .http_response(|| lambda_error(429, "TooManyRequestsException"))
        .times(2)
        .http_response(|| json_response(200, &alias_body("1", Some(0.1), "rev-2")))
        .build();
    let get = mock!(LambdaClient::get_alias)
        .then_http_response(|| json_response(200, &alias_body("1", Some(0.1), "rev-2")));
    let router = router(&[&update, &get]);

    let state = router
        .set("orders", "live", &ten_percent(), None)
        .await
        .unwrap();
    assert_eq!(state.routing, ten_percent());
    assert_eq!(update.num_calls(), 3);
}

#[tokio::test]
async fn exhausted_throttling_and_5xx_surface_as_retryable() {
    for (status, code, kind) in [
        (429, "TooManyRequestsException", AwsErrorKind::Throttled),
        (500, "ServiceException", AwsErrorKind::Transient),
    ] {
        let update = mock!(LambdaClient::update_alias)
            .sequence()
            .http_response(move || lambda_error(status, code))
            .repeatedly()
            .build();
        let router = router(&[&update]);
        let err = router
            .set("orders", "live", &ten_percent(), None)
            .await
            .unwrap_err();
        match &err {
            Error::Aws(aws) => assert_eq!(aws.kind, kind, "{code}"),
            other => panic!("{other}"),
        }
        assert!(err.is_retryable());
        assert_eq!(err.error_type(), "Shiftback.Retryable");
        assert_eq!(update.num_calls(), 3, "the SDK retried up to its limit");
    }
}

#[tokio::test]
async fn a_write_that_lambda_stored_differently_is_a_verification_failure() {
    // UpdateAlias answers with the alias as stored; that answer is the check, with no
    // read-back (a step makes one read and one write). Lambda stored another routing than
    // the one asked for (moto cannot be made to).
    let update = mock!(LambdaClient::update_alias)
        .then_http_response(|| json_response(200, &alias_body("3", None, "rev-3")));
    let get = mock!(LambdaClient::get_alias)
        .then_http_response(|| json_response(200, &alias_body("1", Some(0.1), "rev-2")));
    let router = router(&[&update, &get]);
    let err = router
        .set("orders", "live", &ten_percent(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::VerifyFailed { .. }), "{err}");
    assert!(err.to_string().contains("version 3"), "{err}");
    assert_eq!(get.num_calls(), 0, "no read-back");
}

fn dynamo_error(status: u16, code: &str) -> Response {
    json_response(
        status,
        &format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"mock"}}"#),
    )
}

fn store(rules: &[&Rule]) -> DynamoStore {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |b| {
        b.retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    });
    DynamoStore::new(client, "releases")
}

fn release() -> Release {
    let spec = ReleaseSpec {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
        release_id: Some("r-1".into()),
        function: "orders".into(),
        alias: "live".into(),
        stable_version: "1".into(),
        target_version: "2".into(),
        strategy: "canary:10:5m".parse().unwrap(),
        alarms: vec![],
        alarm_overrides: vec![],
        bake_after_secs: 0,
        started_by: "ci".into(),
        kind: ReleaseKind::Deploy,
        analysis: shiftback::domain::AnalysisSettings::off(),
        retain_versions: None,
    };
    Release::new(spec, DateTime::from_timestamp(1_800_000_000, 0).unwrap()).unwrap()
}

#[tokio::test]
async fn store_throttling_is_retryable_and_creates_nothing() {
    let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| dynamo_error(400, "ThrottlingException"))
        .repeatedly()
        .build();
    let store = store(&[&write]);
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let err = store.create(&release(), now, None).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(write.num_calls(), 2);
}

#[tokio::test]
async fn a_save_that_loses_its_condition_is_stale() {
    let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .sequence()
        .http_response(|| json_response(200, "{}"))
        .http_response(|| {
            json_response(
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled","CancellationReasons":[{"Code":"ConditionalCheckFailed"},{"Code":"None"}]}"#,
            )
        })
        .build();
    let store = store(&[&write]);
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut tracked = store.create(&release(), now, None).await.unwrap();
    tracked.release.apply(Input::Begin, now, "wf").unwrap();
    let err = store.save(&mut tracked).await.unwrap_err();
    assert!(
        matches!(err, Error::StaleRelease { expected: 1, .. }),
        "{err}"
    );
    assert_eq!(tracked.release.revision, 1, "nothing recorded as saved");
    assert_eq!(tracked.stored_log_len(), 1);
}
