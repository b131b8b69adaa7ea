//! What only a per-version read shows, before a version is deleted: its own resource policy's
//! grants (callers of its ARN) and a durable function's executions still running on it. A
//! read that fails keeps the version, with the reason.

use super::retention::{request, with_versions};
use super::*;

fn why(report: &crate::service::retention::PruneReport, version: &str) -> Vec<String> {
    let fate = report
        .plan
        .fates
        .iter()
        .find(|f| f.version.version == version)
        .unwrap();
    fate.kept_for.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn a_version_called_by_arn_or_running_durable_executions_is_kept_with_the_reason() {
    let w = world();
    let retention = with_versions(&w).await;
    let catalog = &retention.catalog;
    catalog.grants.lock().unwrap().insert(
        "3".into(),
        vec![
            "api: apigateway.amazonaws.com from arn:aws:execute-api:us-east-1:123456789012:abc/*"
                .into(),
        ],
    );
    {
        let mut versions = catalog.versions.lock().unwrap();
        for v in versions
            .iter_mut()
            .filter(|v| v.version == "4" || v.version == "5")
        {
            v.durable = true;
        }
    }
    catalog
        .durable_running
        .lock()
        .unwrap()
        .insert("4".into(), 2);
    let report = retention.prune(&request(true)).await.unwrap();
    assert_eq!(
        why(&report, "3"),
        ["its resource policy lets api: apigateway.amazonaws.com from arn:aws:execute-api:us-east-1:123456789012:abc/* invoke it by ARN"]
    );
    assert_eq!(
        why(&report, "4"),
        ["2 durable execution(s) still running on it"]
    );
    // Durable, but nothing runs on it any more: it goes like any other.
    assert_eq!(report.plan.to_delete(), ["6", "5"]);
    assert_eq!(report.outcome.deleted, ["5", "6"]);
    let mut left = retention.catalog.remaining();
    left.sort();
    assert_eq!(left, ["1", "2", "3", "4", "7", "8"]);
    // Only the versions the rules would delete were read, each once.
    assert_eq!(w.journal.count("GetPolicy"), 4);
}

#[tokio::test]
async fn a_read_that_fails_keeps_the_version_and_says_why() {
    let w = world();
    let retention = with_versions(&w).await;
    retention
        .catalog
        .unreadable
        .lock()
        .unwrap()
        .push("3".into());
    retention
        .catalog
        .versions
        .lock()
        .unwrap()
        .iter_mut()
        .for_each(|v| v.durable = v.version == "3");
    let report = retention.prune(&request(true)).await.unwrap();
    let kept = why(&report, "3");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter().all(|k| k.contains("AccessDeniedException")
            && k.ends_with("kept rather than deleted on doubt")),
        "{kept:?}"
    );
    assert!(retention.catalog.remaining().contains(&"3".to_string()));
    assert_eq!(report.outcome.deleted, ["4", "5", "6"]);
}

#[tokio::test]
async fn code_kept_by_reference_frees_no_quota() {
    let w = world();
    let retention = with_versions(&w).await;
    let reference = |v: &str| crate::ports::CodeLocation {
        reference: Some(format!("s3://team-code/orders-{v}.zip (object version 1)")),
        unretrievable: None,
    };
    // Version 6, one the rules delete, has its code kept by reference.
    {
        let mut code = retention.catalog.code.lock().unwrap();
        code.insert("6".into(), reference("6"));
    }
    let before = retention.prune(&request(false)).await.unwrap();
    assert_eq!(before.plan.to_delete(), ["6", "5", "4", "3"]);
    assert_eq!(
        before.plan.frees(),
        (3 + 4 + 5) * 1_048_576,
        "version 6's code is not Lambda's"
    );
    let six = before
        .plan
        .fates
        .iter()
        .find(|f| f.version.version == "6")
        .unwrap();
    assert_eq!(
        six.by_reference.as_deref(),
        Some("s3://team-code/orders-6.zip (object version 1)")
    );
}

#[tokio::test]
async fn a_rollback_target_whose_code_is_gone_is_kept_and_flagged() {
    let w = world();
    let retention = with_versions(&w).await;
    // r-1 (1 -> 2) succeeds: both its versions are the alias's rollback targets now.
    w.service
        .control("r-1", crate::service::Control::Promote, "bob")
        .await
        .unwrap();
    let done = w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    retention.catalog.code.lock().unwrap().insert(
        "1".into(),
        crate::ports::CodeLocation {
            reference: Some("s3://team-code/orders-1.zip (object version 1)".into()),
            unretrievable: Some("S3ObjectNotFound: deleted".into()),
        },
    );
    let report = retention.prune(&request(false)).await.unwrap();
    let one = report
        .plan
        .fates
        .iter()
        .find(|f| f.version.version == "1")
        .unwrap();
    assert!(!one.deleted());
    assert_eq!(
        one.warning.as_deref(),
        Some(
            "its code cannot be retrieved (S3ObjectNotFound: deleted): a rollback to it would fail"
        )
    );
    let two = report
        .plan
        .fates
        .iter()
        .find(|f| f.version.version == "2")
        .unwrap();
    assert_eq!(two.warning, None);
}

#[tokio::test]
async fn prune_counts_a_capacity_providers_versions_against_its_quota_of_100() {
    let w = world();
    let retention = with_versions(&w).await;
    let provider = "arn:aws:lambda:eu-west-1:123456789012:capacity-provider:fleet";
    retention
        .catalog
        .versions
        .lock()
        .unwrap()
        .iter_mut()
        .for_each(|v| v.capacity_provider = Some(provider.into()));
    retention
        .catalog
        .provider_versions
        .lock()
        .unwrap()
        .insert(provider.into(), 97);
    let report = retention.prune(&request(false)).await.unwrap();
    assert_eq!(
        report.providers,
        [crate::service::retention::ProviderUse {
            provider: provider.into(),
            holds: Ok(97),
            deleting: 4,
        }]
    );
}
