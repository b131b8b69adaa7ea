//! Version retention against moto: every use it can hold keeps its version (aliases, a
//! weighted alias, an event source mapping on a version, a release in progress, the newest),
//! a dry run deletes nothing, `apply` deletes exactly what was listed, and a version aliased
//! between the listing and its delete is kept. moto cannot hold provisioned concurrency or a
//! function URL on an alias (covered with aws-smithy-mocks in faults/retention.rs); the
//! refusal to delete an aliased version and the calls moto has no route for are modelled in
//! tests/moto/moto_lambda.py, as Lambda documents them.

use std::collections::HashMap;

use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_lambda::types::AliasRoutingConfiguration;
use shiftback::adapters::{CloudWatchHealth, DynamoStore, LambdaRouter, LambdaVersions};
use shiftback::service::retention::{PruneReport, PruneRequest, VersionRetention};
use shiftback::service::ReleaseService;
use shiftback::Error;
use shiftback_integration_tests::{
    alarm_in_state, block_on, emulator, function_with_versions, queue, release_request,
    release_store, unique, AfterCall, Emulator,
};

struct Retained {
    env: Emulator,
    store: DynamoStore,
    function: String,
    release_id: String,
}

/// Ten versions: live on 1 with release r (1 -> 5) in progress, beta on 3 with 10% on 4, an
/// SQS mapping invoking version 2, and a function URL on $LATEST.
async fn retained() -> Retained {
    let env = emulator().await;
    let function = function_with_versions(&env, 10, "live").await;
    let weights = HashMap::from([("4".to_string(), 0.1)]);
    env.lambda
        .create_alias()
        .function_name(&function)
        .name("beta")
        .function_version("3")
        .routing_config(
            AliasRoutingConfiguration::builder()
                .set_additional_version_weights(Some(weights))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (_, queue_arn) = queue(&env).await;
    env.lambda
        .create_event_source_mapping()
        .function_name(format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{function}:2"
        ))
        .event_source_arn(&queue_arn)
        .send()
        .await
        .unwrap();
    env.lambda
        .create_function_url_config()
        .function_name(&function)
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::AwsIam)
        .send()
        .await
        .unwrap();
    let store = release_store(&env).await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let service = ReleaseService::new(
        LambdaRouter::new(env.lambda.clone()),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );
    let release_id = service
        .start(release_request(&function, &alarm, "5", "steps:10@0s,50@0s"))
        .await
        .unwrap()
        .release_id;
    Retained {
        env,
        store,
        function,
        release_id,
    }
}

impl Retained {
    fn retention(&self, lambda: aws_sdk_lambda::Client) -> VersionRetention {
        VersionRetention {
            catalog: LambdaVersions::new(lambda),
            store: self.store.clone(),
        }
    }

    async fn prune(&self, apply: bool) -> PruneReport {
        let request = PruneRequest {
            apply,
            ..PruneRequest::dry_run(&self.function, 2)
        };
        let retention = self.retention(self.env.lambda.clone());
        retention.prune(&request).await.unwrap()
    }

    async fn published(&self) -> Vec<String> {
        let out = self
            .env
            .lambda
            .list_versions_by_function()
            .function_name(&self.function)
            .send()
            .await
            .unwrap();
        out.versions()
            .iter()
            .filter_map(|v| v.version())
            .filter(|v| *v != "$LATEST")
            .map(str::to_string)
            .collect()
    }
}

fn reasons(report: &PruneReport, version: &str) -> Vec<String> {
    let fate = report
        .plan
        .fates
        .iter()
        .find(|f| f.version.version == version);
    fate.unwrap()
        .kept_for
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[tokio::test]
async fn a_dry_run_keeps_every_version_in_use_for_its_reason_and_deletes_nothing() {
    let r = retained().await;
    let report = r.prune(false).await;
    assert_eq!(report.plan.to_delete(), ["8", "7", "6"]);
    let id = &r.release_id;
    assert_eq!(
        reasons(&report, "1"),
        [
            "alias live routes to it".to_string(),
            format!("stable version of release {id}, in progress")
        ]
    );
    let mapping = reasons(&report, "2");
    assert!(
        mapping.len() == 1 && mapping[0].starts_with("event source mapping "),
        "{mapping:?}"
    );
    assert_eq!(reasons(&report, "3"), ["alias beta routes to it"]);
    assert_eq!(reasons(&report, "4"), ["alias beta routes 10% to it"]);
    // The release's first step already routes 10% to its target.
    assert_eq!(
        reasons(&report, "5"),
        [
            "alias live routes 10% to it".to_string(),
            format!("target version of release {id}, in progress")
        ]
    );
    assert_eq!(reasons(&report, "10"), ["one of the newest 2"]);
    assert!(report.plan.frees() > 0);
    let storage = report
        .storage
        .clone()
        .expect("asked")
        .expect("GetAccountSettings read");
    assert!(
        storage.used > 0 && storage.limit > storage.used,
        "{storage:?}"
    );
    assert_eq!(r.published().await.len(), 10, "a dry run deletes nothing");
}

#[tokio::test]
async fn applied_it_deletes_exactly_the_listed_versions() {
    let r = retained().await;
    let report = r.prune(true).await;
    assert_eq!(report.outcome.deleted, ["6", "7", "8"]);
    assert!(report.outcome.refused.is_empty() && report.outcome.stopped_by.is_none());
    assert_eq!(r.published().await, ["1", "2", "3", "4", "5", "9", "10"]);
    // Running it again finds nothing more to delete.
    let again = r.prune(true).await;
    assert!(again.plan.to_delete().is_empty(), "{:?}", again.plan);
}

#[tokio::test]
async fn a_version_aliased_between_the_listing_and_its_delete_is_kept() {
    let r = retained().await;
    let (env, function) = (r.env.config.clone(), r.function.clone());
    // Someone points a new alias at version 7 just after shiftback listed every use (function
    // URLs are its last Lambda listing before the deletes).
    let aliased = AfterCall::new("ListFunctionUrlConfigs", move || {
        block_on(async {
            aws_sdk_lambda::Client::new(&env)
                .create_alias()
                .function_name(&function)
                .name("hotfix")
                .function_version("7")
                .send()
                .await
                .unwrap();
        })
    });
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&r.env.config)
            .interceptor(aliased.clone())
            .build(),
    );
    let request = PruneRequest {
        apply: true,
        ..PruneRequest::dry_run(&r.function, 2)
    };
    let report = r.retention(lambda).prune(&request).await.unwrap();
    assert!(aliased.fired());
    assert_eq!(report.outcome.deleted, ["6", "8"]);
    assert_eq!(report.outcome.refused.len(), 1, "{:?}", report.outcome);
    let (version, why) = &report.outcome.refused[0];
    assert_eq!(version, "7");
    assert!(why.contains("hotfix"), "Lambda's reason is kept: {why}");
    assert!(r.published().await.contains(&"7".to_string()));
}

#[tokio::test]
async fn triggers_that_bypass_the_alias_are_named() {
    let r = retained().await;
    let found = r
        .retention(r.env.lambda.clone())
        .bypassing(&r.function, "live")
        .await
        .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("invokes version 2, not alias live"),
        "{found:?}"
    );
    assert_eq!(
        found[1],
        "the function URL of $LATEST does not go through alias live"
    );
}

#[tokio::test]
async fn an_unknown_or_qualified_function_is_refused_and_nothing_is_deleted() {
    let r = retained().await;
    let retention = r.retention(r.env.lambda.clone());
    let unknown = PruneRequest {
        apply: true,
        ..PruneRequest::dry_run(&unique("no-such-fn"), 1)
    };
    let err = retention.prune(&unknown).await.unwrap_err();
    assert!(matches!(err, Error::FunctionNotFound(_)), "{err}");
    let qualified = PruneRequest {
        apply: true,
        ..PruneRequest::dry_run(
            &format!(
                "arn:aws:lambda:us-east-1:123456789012:function:{}:3",
                r.function
            ),
            1,
        )
    };
    let err = retention.prune(&qualified).await.unwrap_err();
    assert!(
        err.to_string().contains("names one version or alias"),
        "{err}"
    );
    assert_eq!(r.published().await.len(), 10);
}

#[tokio::test]
async fn a_version_granted_to_a_caller_by_its_own_policy_is_kept_with_the_grant() {
    let r = retained().await;
    // API Gateway calls version 7 by its ARN: the grant is on the version's own policy.
    r.env
        .lambda
        .add_permission()
        .function_name(&r.function)
        .qualifier("7")
        .statement_id("orders-api")
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com")
        .source_arn("arn:aws:execute-api:us-east-1:123456789012:abc123/*")
        .send()
        .await
        .unwrap();
    let report = r.prune(true).await;
    assert_eq!(
        reasons(&report, "7"),
        ["its resource policy lets orders-api: apigateway.amazonaws.com from arn:aws:execute-api:us-east-1:123456789012:abc123/* invoke it by ARN"]
    );
    assert!(r.published().await.contains(&"7".to_string()));
    // moto's versions share one policy object (publish_version copies the function
    // shallowly), so its other versions read the grant too; Lambda keeps a policy per
    // version. Which versions a grant keeps is modelled in faults::retention.
}
