//! What moto cannot model, against the SDK's own test double (aws-smithy-mocks): RevisionId
//! conflicts, throttling and 5xx. Responses are raw HTTP, so the SDK's real deserialisers,
//! error classification and retry loop are what is tested.

use shiftback::ports::AliasRouter as _;
use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_lambda::Client as LambdaClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use chrono::DateTime;
use shiftback::adapters::{AliasRouting, ReleaseStore, TrafficRouter};
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

fn router(rules: &[&Rule]) -> TrafficRouter {
    TrafficRouter::new(mock_client!(
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
async fn a_write_that_reads_back_differently_is_a_verification_failure() {
    // Someone else changed the alias between our write and our read-back.
    let update = mock!(LambdaClient::update_alias)
        .then_http_response(|| json_response(200, &alias_body("1", Some(0.1), "rev-2")));
    let get = mock!(LambdaClient::get_alias)
        .then_http_response(|| json_response(200, &alias_body("3", None, "rev-3")));
    let router = router(&[&update, &get]);
    let err = router
        .set("orders", "live", &ten_percent(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::VerifyFailed { .. }), "{err}");
    assert!(err.to_string().contains("version 3"), "{err}");
}

fn dynamo_error(status: u16, code: &str) -> Response {
    json_response(
        status,
        &format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"mock"}}"#),
    )
}

fn store(rules: &[&Rule]) -> ReleaseStore {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |b| {
        b.retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    });
    ReleaseStore::new(client, "releases")
}

fn release() -> Release {
    let spec = ReleaseSpec {
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

mod revert_race {
    //! The advance handler shifting weight while the alarm handler reverts: the revert must
    //! win in every interleaving. moto does not enforce RevisionId, so these are mocked.
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::types::AttributeValue;
    use shiftback::adapters::AlarmHealth;
    use shiftback::domain::{Phase, Verdict};
    use shiftback::service::ReleaseService;

    /// A release that has just decided to go from 10% to 25%.
    fn deciding() -> Release {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut r = release();
        r.strategy = "steps:10@0s,25@0s".parse().unwrap();
        r.schedule = r.strategy.schedule().unwrap();
        r.apply(Input::Begin, now, "wf").unwrap();
        r.apply(Input::Check(Verdict::Healthy), now, "wf").unwrap();
        r.revision = 3;
        assert_eq!(r.phase, Phase::Shifting { step: 1 });
        r
    }

    fn stored(release: &Release) -> GetItemOutput {
        let mut doc = release.clone();
        doc.log.clear();
        GetItemOutput::builder()
            .item(
                "doc",
                AttributeValue::S(serde_json::to_string(&doc).unwrap()),
            )
            .item("revision", AttributeValue::N(release.revision.to_string()))
            .build()
    }

    fn service(lambda: &[&Rule], dynamodb: &[&Rule]) -> ReleaseService {
        let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::Config::builder()
                .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
                .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
                .build(),
        );
        ReleaseService::new(
            router(lambda),
            store(dynamodb),
            AlarmHealth::new(cloudwatch),
        )
    }

    fn at_ten_percent() -> Rule {
        mock!(LambdaClient::get_alias)
            .then_http_response(|| json_response(200, &alias_body("1", Some(0.1), "rev-1")))
    }

    #[tokio::test]
    async fn a_revert_between_read_and_write_makes_the_shift_fail() {
        let release = deciding();
        let summary = stored(&release);
        let get_item =
            mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || summary.clone());
        let get_alias = at_ten_percent();
        // The alarm handler reverted after our read: Lambda refuses the stale revision.
        let update = mock!(LambdaClient::update_alias)
            .match_requests(|req| req.revision_id() == Some("rev-1"))
            .then_http_response(|| lambda_error(412, "PreconditionFailedException"));
        let service = service(&[&get_alias, &update], &[&get_item]);

        let err = service.converge(&release).await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedAlias { .. }), "{err}");
        assert_eq!(
            update.num_calls(),
            1,
            "one conditional attempt, never an unconditional one"
        );
        assert_eq!(
            get_item.num_calls(),
            1,
            "the release was re-read before writing"
        );
    }

    #[tokio::test]
    async fn a_revert_recorded_first_stops_the_shift_before_any_write() {
        let release = deciding();
        let mut reverted = release.clone();
        reverted
            .apply(
                Input::Alarm {
                    alarm: "errors".into(),
                    reason: "5xx".into(),
                },
                release.updated_at,
                "alarm",
            )
            .unwrap();
        reverted
            .apply(Input::RolledBack, release.updated_at, "alarm")
            .unwrap();
        reverted.revision = 4;
        let summary = stored(&reverted);
        let get_item =
            mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || summary.clone());
        let get_alias = at_ten_percent();
        let update = mock!(LambdaClient::update_alias)
            .then_http_response(|| json_response(200, &alias_body("1", Some(0.25), "rev-2")));
        let service = service(&[&get_alias, &update], &[&get_item]);

        let err = service.converge(&release).await.unwrap_err();
        assert!(matches!(err, Error::StaleRelease { .. }), "{err}");
        assert_eq!(
            update.num_calls(),
            0,
            "no weight written after a recorded revert"
        );
    }

    #[tokio::test]
    async fn an_alias_already_reverted_is_never_shifted_forward() {
        let release = deciding();
        let get_alias = mock!(LambdaClient::get_alias)
            .then_http_response(|| json_response(200, &alias_body("1", None, "rev-9")));
        let update = mock!(LambdaClient::update_alias)
            .then_http_response(|| json_response(200, &alias_body("1", Some(0.25), "rev-10")));
        let service = service(&[&get_alias, &update], &[]);
        let err = service.converge(&release).await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedAlias { .. }), "{err}");
        assert_eq!(update.num_calls(), 0);
    }

    /// A release that applied 10% and was then promoted (by its last step or an operator).
    fn promoting() -> Release {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut r = release();
        r.apply(Input::Begin, now, "wf").unwrap();
        r.apply(Input::Promote, now, "bob").unwrap();
        r.revision = 3;
        assert_eq!(r.phase, Phase::Promoting);
        r
    }

    fn summary_of(release: &Release) -> Rule {
        let summary = stored(release);
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || summary.clone())
    }

    fn promotion_write() -> Rule {
        mock!(LambdaClient::update_alias)
            .then_http_response(|| json_response(200, &alias_body("2", None, "rev-2")))
    }

    #[tokio::test]
    async fn a_promotion_never_moves_an_alias_an_alarm_reverted_before_its_read() {
        let release = promoting();
        let get_item = summary_of(&release);
        let get_alias = mock!(LambdaClient::get_alias)
            .then_http_response(|| json_response(200, &alias_body("1", None, "rev-9")));
        let update = promotion_write();
        let service = service(&[&get_alias, &update], &[&get_item]);
        let err = service.converge(&release).await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedAlias { .. }), "{err}");
        assert_eq!(update.num_calls(), 0, "the revert stands");
    }

    #[tokio::test]
    async fn a_revert_between_a_promotions_read_and_write_makes_it_fail() {
        let release = promoting();
        let get_item = summary_of(&release);
        let get_alias = at_ten_percent();
        let update = mock!(LambdaClient::update_alias)
            .match_requests(|req| req.revision_id() == Some("rev-1"))
            .then_http_response(|| lambda_error(412, "PreconditionFailedException"));
        let service = service(&[&get_alias, &update], &[&get_item]);
        let err = service.converge(&release).await.unwrap_err();
        assert!(matches!(err, Error::UnexpectedAlias { .. }), "{err}");
        assert_eq!(update.num_calls(), 1, "one conditional attempt");
    }

    #[tokio::test]
    async fn a_revert_recorded_first_stops_the_promotion_before_any_write() {
        let release = promoting();
        let mut reverted = release.clone();
        reverted
            .apply(
                Input::Alarm {
                    alarm: "errors".into(),
                    reason: "5xx".into(),
                },
                release.updated_at,
                "alarm",
            )
            .unwrap();
        reverted.revision = 4;
        let get_item = summary_of(&reverted);
        let get_alias = at_ten_percent();
        let update = promotion_write();
        let service = service(&[&get_alias, &update], &[&get_item]);
        let err = service.converge(&release).await.unwrap_err();
        assert!(matches!(err, Error::StaleRelease { .. }), "{err}");
        assert_eq!(update.num_calls(), 0);
    }

    #[tokio::test]
    async fn an_all_at_once_release_that_applied_nothing_promotes_from_the_stable_version() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut release = release();
        release.strategy = "AllAtOnce".parse().unwrap();
        release.schedule = release.strategy.schedule().unwrap();
        release.apply(Input::Begin, now, "wf").unwrap();
        assert_eq!(release.phase, Phase::Promoting);
        let get_item = summary_of(&release);
        let get_alias = mock!(LambdaClient::get_alias)
            .sequence()
            .http_response(|| json_response(200, &alias_body("1", None, "rev-1")))
            .http_response(|| json_response(200, &alias_body("2", None, "rev-2")))
            .build();
        let update = mock!(LambdaClient::update_alias)
            .match_requests(|req| {
                req.revision_id() == Some("rev-1") && req.function_version() == Some("2")
            })
            .then_http_response(|| json_response(200, &alias_body("2", None, "rev-2")));
        let service = service(&[&get_alias, &update], &[&get_item]);
        assert!(service.converge(&release).await.unwrap());
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn without_interference_the_shift_is_a_compare_and_swap() {
        let release = deciding();
        let summary = stored(&release);
        let get_item =
            mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || summary.clone());
        let get_alias = mock!(LambdaClient::get_alias)
            .sequence()
            .http_response(|| json_response(200, &alias_body("1", Some(0.1), "rev-1")))
            .http_response(|| json_response(200, &alias_body("1", Some(0.25), "rev-2")))
            .build();
        let update = mock!(LambdaClient::update_alias)
            .match_requests(|req| {
                req.revision_id() == Some("rev-1")
                    && req
                        .routing_config()
                        .and_then(|r| r.additional_version_weights())
                        .and_then(|w| w.get("2"))
                        == Some(&0.25)
            })
            .then_http_response(|| json_response(200, &alias_body("1", Some(0.25), "rev-2")));
        let service = service(&[&get_alias, &update], &[&get_item]);
        service.converge(&release).await.unwrap();
        assert_eq!(update.num_calls(), 1);
    }
}

mod error_classes {
    //! Real AWS error classes moto never produces: what is a lost race, and what only needs a
    //! moment. A transient error mistaken for a lost race ends a healthy release.
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::sync::{Arc, Mutex};

    fn cancelled(reasons: &[&str]) -> Response {
        let reasons: Vec<String> = reasons
            .iter()
            .map(|r| format!(r#"{{"Code":"{r}"}}"#))
            .collect();
        json_response(
            400,
            &format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled","CancellationReasons":[{}]}}"#,
                reasons.join(",")
            ),
        )
    }

    #[tokio::test]
    async fn an_update_in_progress_on_the_function_is_transient_not_a_lost_race() {
        // Lambda answers 409 ResourceConflictException while the function is being updated
        // (a deploy, a configuration change): it passes, unlike a stale RevisionId (412).
        let update = mock!(LambdaClient::update_alias)
            .sequence()
            .http_response(|| lambda_error(409, "ResourceConflictException"))
            .repeatedly()
            .build();
        let router = router(&[&update]);
        let err = router
            .set("orders", "live", &ten_percent(), Some("rev-1"))
            .await
            .unwrap_err();
        match &err {
            Error::Aws(aws) => assert_eq!(aws.kind, AwsErrorKind::Transient),
            other => panic!("expected a transient AWS error, got {other}"),
        }
        assert_eq!(err.error_type(), "Shiftback.Retryable");
    }

    #[tokio::test]
    async fn a_save_cancelled_for_contention_is_transient_not_stale() {
        for reasons in [
            &["TransactionConflict", "None"][..],
            &["None", "ThrottlingError"][..],
        ] {
            let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
                .sequence()
                .http_response(|| json_response(200, "{}"))
                .http_response(move || cancelled(reasons))
                .repeatedly()
                .build();
            let store = store(&[&write]);
            let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            let mut tracked = store.create(&release(), now, None).await.unwrap();
            tracked.release.apply(Input::Begin, now, "wf").unwrap();
            let err = store.save(&mut tracked).await.unwrap_err();
            match &err {
                Error::Aws(aws) => assert_eq!(aws.kind, AwsErrorKind::Transient, "{reasons:?}"),
                other => panic!("{reasons:?}: expected transient, got {other}"),
            }
            assert!(err.is_retryable());
        }
    }

    #[tokio::test]
    async fn a_start_cancelled_for_contention_is_retried_not_refused_as_locked() {
        // The lock item was busy in another transaction (its holder giving it up, say): the
        // start must be retried, not refused because someone held the lock a moment ago.
        let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .sequence()
            .http_response(|| cancelled(&["None", "TransactionConflict"]))
            .repeatedly()
            .build();
        let lock = mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
            aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder()
                .item("release_id", AttributeValue::S("r-0".into()))
                .item("acquired_at", AttributeValue::N("1800000000".into()))
                .item("lock_expires_at", AttributeValue::N("1900000000".into()))
                .build()
        });
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let err = store(&[&write, &lock])
            .create(&release(), now, None)
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(!matches!(err, Error::LockHeld { .. }), "{err}");
        let conflict = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .sequence()
            .http_response(|| dynamo_error(400, "TransactionConflictException"))
            .repeatedly()
            .build();
        let err = store(&[&conflict, &lock])
            .create(&release(), now, None)
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }

    #[tokio::test]
    async fn a_commit_retried_after_a_lost_answer_is_the_same_commit() {
        // The first attempt commits but its answer is lost (a 500). DynamoDB recognises the
        // retry as the same transaction only by its ClientRequestToken; without one, the
        // retry finds the revision already moved, fails its condition, and a save that took
        // effect is reported as lost to someone else.
        let tokens: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let seen = tokens.clone();
        let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .match_requests(move |req| {
                seen.lock()
                    .unwrap()
                    .push(req.client_request_token().map(str::to_string));
                true
            })
            .sequence()
            .http_response(|| json_response(200, "{}"))
            .http_response(|| dynamo_error(500, "InternalServerError"))
            .http_response(|| json_response(200, "{}"))
            .build();
        let store = store(&[&write]);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut tracked = store.create(&release(), now, None).await.unwrap();
        tracked.release.apply(Input::Begin, now, "wf").unwrap();
        store.save(&mut tracked).await.unwrap();
        assert_eq!(write.num_calls(), 3, "create, then the save and its retry");
        // Rules match an operation's input once; the SDK's retry re-sends that same input, so
        // the token it carries is the same on every attempt.
        let tokens = tokens.lock().unwrap().clone();
        assert_eq!(tokens.len(), 2, "{tokens:?}");
        assert!(
            tokens
                .iter()
                .all(|t| t.as_ref().is_some_and(|t| !t.is_empty())),
            "every commit carries a ClientRequestToken: {tokens:?}"
        );
        assert_ne!(tokens[0], tokens[1], "each commit has a token of its own");
    }
}

mod limits {
    //! DynamoDB refuses a transaction of more than 100 items (ValidationException) every
    //! time; moto does not. The largest transaction shiftback writes is a lock takeover.
    use super::*;
    use shiftback::adapters::LockTakeover;
    use shiftback::domain::release::MAX_ALARMS;
    use std::sync::{Arc, Mutex};

    fn with_alarms(id: &str) -> Release {
        let mut r = release();
        r.id = id.into();
        r.alarms = (0..MAX_ALARMS).map(|i| format!("alarm-{i}")).collect();
        r
    }

    #[tokio::test]
    async fn the_largest_transaction_stays_within_dynamodbs_100_items() {
        let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
        let seen = sizes.clone();
        let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .match_requests(move |req| {
                seen.lock().unwrap().push(req.transact_items().len());
                true
            })
            .then_http_response(|| json_response(200, "{}"));
        let store = store(&[&write]);
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        // The old release, with every alarm it may have, loses its lock to a new one with
        // as many: both are written in the one transaction that takes the lock over.
        let mut old = with_alarms("r-old");
        old.apply(Input::Begin, now, "wf").unwrap();
        let mut broken = store.create(&old, now, None).await.unwrap();
        broken
            .release
            .apply(
                Input::LockBroken {
                    by: "r-new".into(),
                    expired_at: now,
                },
                now,
                "wf",
            )
            .unwrap();
        let mut new = with_alarms("r-new");
        new.apply(
            Input::TakeOverLock {
                from: "r-old".into(),
                expired_at: now,
            },
            now,
            "wf",
        )
        .unwrap();
        new.apply(Input::Begin, now, "wf").unwrap();
        let takeover = LockTakeover {
            holder: "r-old",
            broken: Some(&broken),
        };
        store.create(&new, now, Some(takeover)).await.unwrap();
        let largest = *sizes.lock().unwrap().last().unwrap();
        assert!(
            largest >= 2 * MAX_ALARMS,
            "both releases' guards are in it ({largest})"
        );
        assert!(largest <= 100, "{largest} items: DynamoDB would refuse it");
    }
}

mod readiness {
    //! Lambda routes to a version only once it is Active (a SnapStart version stays Pending
    //! while its snapshot is made), and a weighted alias needs both versions to share the
    //! execution role and dead-letter target. moto reports every version Active and cannot
    //! publish versions under different roles, so these are mocked.
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::query::QueryOutput;
    use shiftback::adapters::AlarmHealth;
    use shiftback::service::{ReleaseService, StartRequest};

    fn version(qualifier: &'static str, state: &'static str, role: &'static str) -> Rule {
        mock!(LambdaClient::get_function_configuration)
            .match_requests(move |req| req.qualifier() == Some(qualifier))
            .then_http_response(move || {
                json_response(
                    200,
                    &format!(
                        r#"{{"FunctionName":"orders","Version":"{qualifier}","Role":"{role}","State":"{state}","StateReason":"snapshot in progress","LastUpdateStatus":"Successful"}}"#
                    ),
                )
            })
    }

    fn service(lambda: &[&Rule], version_wait: Duration) -> ReleaseService {
        let nothing_stored =
            mock!(aws_sdk_dynamodb::Client::query).then_output(|| QueryOutput::builder().build());
        let no_lock = mock!(aws_sdk_dynamodb::Client::get_item)
            .then_output(|| GetItemOutput::builder().build());
        let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::Config::builder()
                .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
                .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
                .build(),
        );
        ReleaseService::new(
            router(lambda).with_version_wait(version_wait),
            store(&[&nothing_stored, &no_lock]),
            AlarmHealth::new(cloudwatch),
        )
    }

    fn request() -> StartRequest {
        StartRequest {
            release_id: Some("r-1".into()),
            function: "orders".into(),
            alias: "live".into(),
            stable_version: None,
            target_version: "2".into(),
            strategy: "canary:10:5m".into(),
            alarms: vec![],
            alarm_overrides: vec![],
            bake_after_secs: 0,
            started_by: "ci".into(),
            kind: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_pending_version_is_not_routed_and_the_start_is_retried_later() {
        let pending = version("2", "Pending", "role-a");
        let update = mock!(LambdaClient::update_alias)
            .then_http_response(|| json_response(200, &alias_body("1", None, "rev-2")));
        let service = service(&[&pending, &update], Duration::ZERO);
        let err = service.start(request()).await.unwrap_err();
        assert!(matches!(err, Error::NotReady { .. }), "{err}");
        assert!(err.is_retryable());
        assert_eq!(err.error_type(), "Shiftback.NotReady");
        assert!(err.to_string().contains("Pending"), "{err}");
        assert_eq!(update.num_calls(), 0, "no traffic to a version not ready");
    }

    #[tokio::test]
    async fn a_version_becoming_active_is_waited_for_with_the_sdks_waiter() {
        let becoming = mock!(LambdaClient::get_function_configuration)
            .sequence()
            .http_response(|| json_response(200, r#"{"Version":"2","Role":"r","State":"Pending"}"#))
            .http_response(|| json_response(200, r#"{"Version":"2","Role":"r","State":"Active"}"#))
            .repeatedly()
            .build();
        let router = router(&[&becoming]).with_version_wait(Duration::from_secs(30));
        let info = router.ready_version("orders", "2").await.unwrap();
        assert_eq!(info.state.as_deref(), Some("Active"));
        assert!(becoming.num_calls() >= 3, "read, waited, read again");
    }

    #[tokio::test]
    async fn a_failed_version_is_refused_for_good() {
        let failed = version("2", "Failed", "role-a");
        let err = router(&[&failed])
            .ready_version("orders", "2")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRouting { .. }), "{err}");
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn the_start_handler_refuses_versions_a_weighted_alias_cannot_join() {
        let target = version("2", "Active", "arn:aws:iam::1:role/new");
        let stable = version("1", "Active", "arn:aws:iam::1:role/old");
        let alias = mock!(LambdaClient::get_alias)
            .then_http_response(|| json_response(200, &alias_body("1", None, "rev-1")));
        let update = mock!(LambdaClient::update_alias)
            .then_http_response(|| json_response(200, &alias_body("1", None, "rev-2")));
        let service = service(&[&target, &stable, &alias, &update], Duration::ZERO);
        let err = service.start(request()).await.unwrap_err();
        assert!(err.to_string().contains("execution role"), "{err}");
        assert_eq!(err.error_type(), "Shiftback.Invalid");
        assert_eq!(update.num_calls(), 0);
    }
}
