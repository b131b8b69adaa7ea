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

/// CloudWatch answers DeleteAlarms naming an alarm that is gone with ResourceNotFound (it
/// deletes the others all the same); moto does not. For a release's own alarm, deleted by
/// whichever of its clean-ups runs first, that is success.
#[tokio::test]
async fn deleting_an_alarm_already_gone_is_success_and_other_errors_are_not() {
    use aws_sdk_cloudwatch::operation::delete_alarms::DeleteAlarmsError;
    use aws_sdk_cloudwatch::types::error::ResourceNotFound;
    let gone = mock!(aws_sdk_cloudwatch::Client::delete_alarms).then_error(|| {
        DeleteAlarmsError::ResourceNotFound(ResourceNotFound::builder().message("gone").build())
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&gone]);
    let health = shiftback::adapters::CloudWatchHealth::new(client);
    health
        .delete_alarms(&["shiftback-analysis-r-1".to_string()])
        .await
        .unwrap();

    let refused = mock!(aws_sdk_cloudwatch::Client::delete_alarms)
        .then_http_response(|| json_response(400, r#"{"__type":"AccessDenied","message":"no"}"#));
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&refused]);
    let health = shiftback::adapters::CloudWatchHealth::new(client);
    let err = health
        .delete_alarms(&["shiftback-analysis-r-1".to_string()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DeleteAlarms"), "{err}");
}

/// CloudWatch takes a dashboard body with warnings in `DashboardValidationMessages` (a 200),
/// and refuses an invalid one with `InvalidParameterInput` listing the same messages. moto
/// validates nothing; both answers are modelled here, and both are reported with CloudWatch's
/// words, never taken as a dashboard made.
#[tokio::test]
async fn a_dashboard_cloudwatch_finds_fault_with_is_reported_with_its_messages() {
    use aws_sdk_cloudwatch::operation::put_dashboard::{PutDashboardError, PutDashboardOutput};
    use aws_sdk_cloudwatch::types::error::DashboardInvalidInputError;
    use aws_sdk_cloudwatch::types::DashboardValidationMessage;
    let warned = mock!(aws_sdk_cloudwatch::Client::put_dashboard).then_output(|| {
        PutDashboardOutput::builder()
            .dashboard_validation_messages(
                DashboardValidationMessage::builder()
                    .data_path("/widgets/0/properties/metrics")
                    .message("Should NOT have more than 500 items")
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&warned]);
    let health = shiftback::adapters::CloudWatchHealth::new(client);
    let err = health
        .put_dashboard("orders", "live", &[])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("shiftback-orders-live"), "{text}");
    assert!(
        text.contains("Should NOT have more than 500 items"),
        "{text}"
    );

    let refused = mock!(aws_sdk_cloudwatch::Client::put_dashboard).then_error(|| {
        PutDashboardError::DashboardInvalidInputError(
            DashboardInvalidInputError::builder()
                .message("The field DashboardBody must be a valid JSON object")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&refused]);
    let health = shiftback::adapters::CloudWatchHealth::new(client);
    let err = health
        .put_dashboard("orders", "live", &[])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("PutDashboard"), "{text}");
    assert!(text.contains("must be a valid JSON object"), "{text}");
}

#[tokio::test]
async fn tags_lambda_withholds_are_an_error_not_an_untagged_function() {
    // GetFunction returns a function's tags only to a caller also allowed lambda:ListTags;
    // otherwise it answers with TagsError and no tags (moto always returns them). Read as "no
    // tags", the provider would refuse every function as not its stack's own.
    let withheld = mock!(LambdaClient::get_function).then_http_response(|| {
        json_response(
            200,
            r#"{"Configuration":{"FunctionName":"orders"},"TagsError":{"ErrorCode":"AccessDeniedException","Message":"not authorized to perform: lambda:ListTags"}}"#,
        )
    });
    let err = router(&[&withheld])
        .function_tags("orders")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("lambda:ListTags"), "{err}");
    let tagged = mock!(LambdaClient::get_function).then_http_response(|| {
        json_response(
            200,
            r#"{"Configuration":{"FunctionName":"orders"},"Tags":{"aws:cloudformation:stack-id":"arn:aws:cloudformation:us-east-1:123456789012:stack/app/1"}}"#,
        )
    });
    let tags = router(&[&tagged]).function_tags("orders").await.unwrap();
    assert_eq!(
        tags["aws:cloudformation:stack-id"],
        "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1"
    );
}
