//! Lambda routes to a version only once it is Active (a SnapStart version stays Pending
//! while its snapshot is made), and a weighted alias needs both versions to share the
//! execution role and dead-letter target. moto reports every version Active and cannot
//! publish versions under different roles, so these are mocked.
use super::*;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use shiftback::adapters::CloudWatchHealth;
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
    let no_lock =
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
            .build(),
    );
    ReleaseService::new(
        router(lambda).with_version_wait(version_wait),
        store(&[&nothing_stored, &no_lock]),
        CloudWatchHealth::new(cloudwatch),
    )
}

fn request() -> StartRequest {
    StartRequest {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
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
        analysis: shiftback::domain::AnalysisSettings::off(),
        retain_versions: None,
        supersede: false,
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

/// Lambda Managed Instances are newer than moto: GetFunctionConfiguration's documented
/// `CapacityProviderConfig`, modelled.
#[tokio::test]
async fn a_version_on_a_capacity_provider_is_known_as_such() {
    use shiftback::ports::AliasRouter as _;
    let managed = mock!(LambdaClient::get_function_configuration)
        .match_requests(|req| req.qualifier() == Some("8"))
        .then_http_response(|| {
            json_response(
                200,
                r#"{"FunctionName":"orders","Version":"8","Role":"arn:aws:iam::123456789012:role/app","State":"Active","LastUpdateStatus":"Successful","CapacityProviderConfig":{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"arn:aws:lambda:us-east-1:123456789012:capacity-provider:fleet","PerExecutionEnvironmentMaxConcurrency":32}}}"#,
            )
        });
    let plain = version("7", "Active", "arn:aws:iam::123456789012:role/app");
    let router = router(&[&managed, &plain]);
    let info = router.version_info("orders", "8").await.unwrap();
    assert_eq!(
        info.capacity_provider.as_deref(),
        Some("arn:aws:lambda:us-east-1:123456789012:capacity-provider:fleet")
    );
    assert_eq!(
        router
            .version_info("orders", "7")
            .await
            .unwrap()
            .capacity_provider,
        None
    );
}

/// Self-managed S3 code storage is newer than moto: GetFunction's documented `Code`
/// (`ResolvedS3Object`, and `Error` when Lambda cannot retrieve the object), modelled.
#[tokio::test]
async fn code_kept_by_reference_and_code_lambda_cannot_retrieve_are_read_as_such() {
    use shiftback::ports::VersionFacts as _;
    let gone = mock!(LambdaClient::get_function)
        .match_requests(|req| req.qualifier() == Some("6"))
        .then_http_response(|| {
            json_response(
                200,
                r#"{"Configuration":{"FunctionName":"orders","Version":"6"},"Code":{"RepositoryType":"S3","ResolvedS3Object":{"S3Bucket":"team-code","S3Key":"orders.zip","S3ObjectVersion":"3"},"Error":{"ErrorCode":"S3ObjectNotFound","Message":"The object version was deleted"}}}"#,
            )
        });
    let managed = mock!(LambdaClient::get_function)
        .match_requests(|req| req.qualifier() == Some("7"))
        .then_http_response(|| {
            json_response(
                200,
                r#"{"Configuration":{"FunctionName":"orders","Version":"7"},"Code":{"RepositoryType":"S3","Location":"https://awslambda-us-east-1-tasks.s3.amazonaws.com/snapshots/x"}}"#,
            )
        });
    let router = router(&[&gone, &managed]);
    let six = router.code_location("orders", "6").await.unwrap();
    assert_eq!(
        six.reference.as_deref(),
        Some("s3://team-code/orders.zip (object version 3)")
    );
    assert_eq!(
        six.unretrievable.as_deref(),
        Some("S3ObjectNotFound: The object version was deleted")
    );
    assert_eq!(
        router.code_location("orders", "7").await.unwrap(),
        Default::default()
    );
}
