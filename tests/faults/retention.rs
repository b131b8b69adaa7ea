//! Retention's Lambda calls where moto cannot answer as Lambda does: provisioned concurrency
//! and function URLs on aliases (moto holds neither), versions across pages (Lambda pages at
//! 50; moto never pages), and the delete's answers: refused for an alias, gone, throttled.

use super::*;
use shiftback::adapters::LambdaVersions;
use shiftback::retention::lambda::{Deletion, VersionCatalog, VersionFacts};
use shiftback::retention::{plan_retention, Retention};

fn catalog(rules: &[&Rule]) -> LambdaVersions {
    LambdaVersions::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        rules,
        fast_retries
    ))
}

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:orders";

#[tokio::test]
async fn provisioned_concurrency_and_alias_urls_keep_what_they_use() {
    let aliases = mock!(LambdaClient::list_aliases).then_http_response(|| {
        json_response(
            200,
            r#"{"Aliases":[{"Name":"live","FunctionVersion":"4"}]}"#,
        )
    });
    let mappings = mock!(LambdaClient::list_event_source_mappings)
        .then_http_response(|| json_response(200, r#"{"EventSourceMappings":[]}"#));
    let provisioned = mock!(LambdaClient::list_provisioned_concurrency_configs).then_http_response(|| {
        json_response(
            200,
            &format!(
                r#"{{"ProvisionedConcurrencyConfigs":[{{"FunctionArn":"{ARN}:2","RequestedProvisionedConcurrentExecutions":5}},{{"FunctionArn":"{ARN}:live","RequestedProvisionedConcurrentExecutions":5}}]}}"#
            ),
        )
    });
    let urls = mock!(LambdaClient::list_function_url_configs).then_http_response(|| {
        json_response(
            200,
            &format!(
                r#"{{"FunctionUrlConfigs":[{{"FunctionUrl":"https://x.lambda-url.us-east-1.on.aws/","FunctionArn":"{ARN}:live","AuthType":"AWS_IAM","CreationTime":"2026-11-23T10:00:00.000+0000","LastModifiedTime":"2026-11-23T10:00:00.000+0000"}}]}}"#
            ),
        )
    });
    let policy = mock!(LambdaClient::get_policy)
        .then_http_response(|| lambda_error(404, "ResourceNotFoundException"));
    let catalog = catalog(&[&aliases, &mappings, &provisioned, &urls, &policy]);
    let uses = catalog.uses("orders").await.unwrap();
    assert_eq!(uses.provisioned, ["2", "live"]);
    assert_eq!(uses.urls, [Some("live".to_string())]);
    assert_eq!(policy.num_calls(), 0, "retention needs no policy");
    let invokers = catalog.latest_invokers("orders").await.unwrap();
    assert!(invokers.is_empty(), "no policy is no grant");

    let versions: Vec<_> = (1..=5)
        .map(|k| shiftback::retention::PublishedVersion {
            version: k.to_string(),
            code_size: 1,
            last_modified: None,
            durable: false,
            capacity_provider: None,
        })
        .collect();
    let plan = plan_retention(
        &versions,
        &uses,
        &[],
        Retention::new(1, 0).unwrap(),
        chrono::Utc::now(),
    );
    assert_eq!(plan.to_delete(), ["3", "1"]);
    let kept_2: Vec<String> = plan.fates[3]
        .kept_for
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(kept_2, ["provisioned concurrency on 2"]);
}

#[tokio::test]
async fn versions_are_read_across_every_page() {
    let page = |from: u32, to: u32, next: Option<&str>| {
        let versions: Vec<String> = (from..=to)
            .map(|v| format!(r#"{{"Version":"{v}","CodeSize":100,"LastModified":"2026-11-23T10:00:00.000+0000"}}"#))
            .collect();
        let latest = if from == 1 {
            r#"{"Version":"$LATEST","CodeSize":100},"#
        } else {
            ""
        };
        let marker = next
            .map(|m| format!(r#","NextMarker":"{m}""#))
            .unwrap_or_default();
        format!(r#"{{"Versions":[{latest}{}]{marker}}}"#, versions.join(","))
    };
    let first = page(1, 49, Some("page-2"));
    let second = page(50, 60, None);
    let one = mock!(LambdaClient::list_versions_by_function)
        .match_requests(|r| r.marker().is_none())
        .then_http_response(move || json_response(200, &first));
    let two = mock!(LambdaClient::list_versions_by_function)
        .match_requests(|r| r.marker() == Some("page-2"))
        .then_http_response(move || json_response(200, &second));
    let versions = catalog(&[&one, &two]).versions("orders").await.unwrap();
    assert_eq!(versions.len(), 60);
    assert_eq!(versions[59].version, "60");
    assert!(versions.iter().all(|v| v.version != "$LATEST"));
}

#[tokio::test]
async fn a_refused_or_vanished_delete_is_an_answer_and_exhausted_throttling_an_error() {
    let refused = mock!(LambdaClient::delete_function)
        .match_requests(|r| r.qualifier() == Some("3"))
        .then_http_response(|| {
            let mut response = json_response(
                409,
                r#"{"message":"Unable to delete version because the following aliases reference it: [live]"}"#,
            );
            response
                .headers_mut()
                .insert("x-amzn-errortype", "ResourceConflictException");
            response
        });
    let gone = mock!(LambdaClient::delete_function)
        .match_requests(|r| r.qualifier() == Some("4"))
        .then_http_response(|| lambda_error(404, "ResourceNotFoundException"));
    let throttled = mock!(LambdaClient::delete_function)
        .match_requests(|r| r.qualifier() == Some("5"))
        .sequence()
        .http_response(|| lambda_error(429, "TooManyRequestsException"))
        .repeatedly()
        .build();
    let catalog = catalog(&[&refused, &gone, &throttled]);
    match catalog.delete_version("orders", "3").await.unwrap() {
        Deletion::Refused(why) => assert!(why.contains("aliases reference it"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        catalog.delete_version("orders", "4").await.unwrap(),
        Deletion::AlreadyGone
    );
    let err = catalog.delete_version("orders", "5").await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(throttled.num_calls(), 3, "the SDK retried before giving up");
}

/// ListDurableExecutionsByFunction is newer than moto: its documented response, modelled.
#[tokio::test]
async fn running_durable_executions_are_counted_on_the_version_asked_and_more_pages_said() {
    use aws_sdk_lambda::operation::list_durable_executions_by_function::ListDurableExecutionsByFunctionOutput;
    let execution = |name: &str| running_on("3", name);
    let listing = mock!(LambdaClient::list_durable_executions_by_function)
        .match_requests(|r| {
            r.qualifier() == Some("3")
                && r.statuses() == [aws_sdk_lambda::types::ExecutionStatus::Running]
        })
        .then_output(move || {
            ListDurableExecutionsByFunctionOutput::builder()
                .durable_executions(execution("order-1"))
                .durable_executions(execution("order-2"))
                .next_marker("page-2")
                .build()
        });
    let denied = mock!(LambdaClient::list_durable_executions_by_function)
        .match_requests(|r| r.qualifier() == Some("4"))
        .then_http_response(|| lambda_error(403, "AccessDeniedException"));
    let catalog = catalog(&[&listing, &denied]);
    let running = catalog
        .running_durable_executions("orders", "3")
        .await
        .unwrap();
    assert_eq!(running, (2, true), "two on this page, and more after it");
    let err = catalog
        .running_durable_executions("orders", "4")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("ListDurableExecutionsByFunction"),
        "{err}"
    );
}

/// A grant on one version's own policy is that version's alone (moto shares one policy among
/// versions; Lambda does not): asked with the version as qualifier, no policy is no grant.
#[tokio::test]
async fn a_versions_own_policy_is_read_with_its_qualifier_and_no_policy_is_no_grant() {
    let granted = mock!(LambdaClient::get_policy)
        .match_requests(|r| r.qualifier() == Some("7"))
        .then_http_response(|| {
            json_response(
                200,
                r#"{"Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"rule\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"events.amazonaws.com\"},\"Action\":\"lambda:InvokeFunction\"}]}","RevisionId":"r1"}"#,
            )
        });
    let none = mock!(LambdaClient::get_policy)
        .match_requests(|r| r.qualifier() == Some("6"))
        .then_http_response(|| lambda_error(404, "ResourceNotFoundException"));
    let throttled = mock!(LambdaClient::get_policy)
        .match_requests(|r| r.qualifier() == Some("5"))
        .then_http_response(|| lambda_error(429, "TooManyRequestsException"));
    let catalog = catalog(&[&granted, &none, &throttled]);
    assert_eq!(
        catalog.version_grants("orders", "7").await.unwrap(),
        ["rule: events.amazonaws.com"]
    );
    assert!(catalog
        .version_grants("orders", "6")
        .await
        .unwrap()
        .is_empty());
    // Past its retries, a throttle is an error: the caller keeps the version on doubt.
    assert!(catalog.version_grants("orders", "5").await.is_err());
}

/// `shiftback durable`'s listing, across pages (Lambda's documented marker), modelled.
#[tokio::test]
async fn the_durable_listing_follows_every_page_on_the_version_asked() {
    use aws_sdk_lambda::operation::list_durable_executions_by_function::ListDurableExecutionsByFunctionOutput;
    let execution = |name: &str| running_on("7", name);
    let first = mock!(LambdaClient::list_durable_executions_by_function)
        .match_requests(|r| r.qualifier() == Some("7") && r.marker().is_none())
        .then_output(move || {
            ListDurableExecutionsByFunctionOutput::builder()
                .durable_executions(execution("a"))
                .next_marker("m2")
                .build()
        });
    let second = mock!(LambdaClient::list_durable_executions_by_function)
        .match_requests(|r| r.qualifier() == Some("7") && r.marker() == Some("m2"))
        .then_output(move || {
            ListDurableExecutionsByFunctionOutput::builder()
                .durable_executions(execution("b"))
                .build()
        });
    let (listed, more) = catalog(&[&first, &second])
        .running_durable_executions_list("orders", "7")
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(!more);
    assert_eq!(listed[0].started.unwrap().timestamp(), 1_800_000_000);
}

/// A durable execution RUNNING on `version`, as Lambda lists it.
fn running_on(version: &str, name: &str) -> aws_sdk_lambda::types::Execution {
    aws_sdk_lambda::types::Execution::builder()
        .durable_execution_arn(format!("{ARN}:{version}/durable-execution/{name}"))
        .durable_execution_name(name)
        .function_arn(format!("{ARN}:{version}"))
        .status(aws_sdk_lambda::types::ExecutionStatus::Running)
        .start_timestamp(aws_smithy_types::DateTime::from_secs(1_800_000_000))
        .build()
        .unwrap()
}

/// Lambda Managed Instances are newer than moto: a version's capacity provider in
/// ListVersionsByFunction, and the provider's versions counted across pages, as documented.
#[tokio::test]
async fn a_capacity_providers_versions_are_counted_by_its_name_across_pages() {
    let listing = mock!(LambdaClient::list_versions_by_function).then_http_response(|| {
        json_response(
            200,
            r#"{"Versions":[{"Version":"$LATEST","CodeSize":1},{"Version":"1","CodeSize":1,"CapacityProviderConfig":{"LambdaManagedInstancesCapacityProviderConfig":{"CapacityProviderArn":"arn:aws:lambda:us-east-1:123456789012:capacity-provider:fleet"}}}]}"#,
        )
    });
    let item = |v: &str| format!(r#"{{"FunctionArn":"{ARN}:{v}","State":"Active"}}"#);
    let first = format!(
        r#"{{"CapacityProviderArn":"x","FunctionVersions":[{},{}],"NextMarker":"m2"}}"#,
        item("1"),
        item("2")
    );
    let second = format!(
        r#"{{"CapacityProviderArn":"x","FunctionVersions":[{}]}}"#,
        item("3")
    );
    let one = mock!(LambdaClient::list_function_versions_by_capacity_provider)
        .match_requests(|r| r.capacity_provider_name() == Some("fleet") && r.marker().is_none())
        .then_http_response(move || json_response(200, &first));
    let two = mock!(LambdaClient::list_function_versions_by_capacity_provider)
        .match_requests(|r| r.marker() == Some("m2"))
        .then_http_response(move || json_response(200, &second));
    let catalog = catalog(&[&listing, &one, &two]);
    let versions = catalog.versions("orders").await.unwrap();
    let provider = versions[0].capacity_provider.clone().unwrap();
    assert_eq!(
        provider,
        "arn:aws:lambda:us-east-1:123456789012:capacity-provider:fleet"
    );
    assert_eq!(catalog.provider_versions(&provider).await.unwrap(), 3);
}
