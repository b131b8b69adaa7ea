//! A version on Lambda Managed Instances: a schedule that more than doubles its traffic within
//! five minutes is refused before anything moves, with a strategy that fits; one that does not
//! starts as any other.

use super::*;

const PROVIDER: &str = "arn:aws:lambda:us-east-1:123456789012:capacity-provider:orders-fleet";

#[tokio::test]
async fn a_canary_that_jumps_to_all_traffic_is_refused_with_a_strategy_that_fits() {
    let w = world();
    let _ = w
        .router
        .clone()
        .on_capacity_provider(FUNCTION, "2", PROVIDER);
    let err = w
        .service
        .start(request("r-1", "Canary10Percent5Minutes"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("runs on Lambda Managed Instances"), "{text}");
    assert!(text.contains("from 10% to 100%"), "{text}");
    assert!(
        text.contains("--strategy steps:10@5m,20@5m,40@5m,80@5m"),
        "{text}"
    );
    // Refused before anything was recorded or moved.
    assert_eq!(w.routing(), "version 1");
    assert!(matches!(
        w.service.store.load("r-1").await,
        Err(Error::ReleaseNotFound(_))
    ));

    // The suggested strategy starts, and plan says why it fits.
    let fits = request("r-2", "steps:10@5m,20@5m,40@5m,80@5m");
    let preflight = w.service.preflight(fits.clone()).await.unwrap();
    assert!(
        preflight
            .findings
            .iter()
            .any(|f| f.contains("no step more than doubles")),
        "{:?}",
        preflight.findings
    );
    w.service.start(fits).await.unwrap();
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
}

#[tokio::test]
async fn a_version_without_a_capacity_provider_is_not_held_to_it() {
    let w = world();
    w.service
        .start(request("r-1", "Canary10Percent5Minutes"))
        .await
        .unwrap();
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
}

#[tokio::test]
async fn a_group_member_on_managed_instances_is_held_to_it_as_the_first_is() {
    let w = group_world();
    let _ = w.router.clone().on_capacity_provider(WORKER, "8", PROVIDER);
    let request = StartRequest {
        members: vec![worker()],
        ..request("r-g", "Canary10Percent5Minutes")
    };
    let err = w.service.start(request).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("version 8 runs on Lambda Managed Instances"),
        "{err}"
    );
    assert_eq!(w.routing(), "version 1", "nothing moved");
}

/// Code kept by reference in the team's bucket (self-managed S3 code storage).
fn code(reference: &str, unretrievable: Option<&str>) -> crate::ports::CodeLocation {
    crate::ports::CodeLocation {
        reference: Some(reference.into()),
        unretrievable: unretrievable.map(str::to_string),
    }
}

#[tokio::test]
async fn a_target_whose_code_is_gone_is_refused_and_a_rollback_target_in_that_state_is_said() {
    let w = world();
    let object = "s3://team-code/orders.zip (object version 3)";
    w.router.table.lock().unwrap().code.insert(
        (FUNCTION.into(), "2".into()),
        code(
            object,
            Some("S3ObjectNotFound: the object version was deleted"),
        ),
    );
    let err = w
        .service
        .start(request("r-1", "steps:10@0s,50@0s"))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("orders version 2's code cannot be retrieved by Lambda"),
        "{text}"
    );
    assert!(text.contains(object), "{text}");
    assert_eq!(w.routing(), "version 1", "nothing moved");

    // The stable version (the rollback target) in that state: said, and the release (maybe
    // the fix) goes on.
    let w = world();
    {
        let mut table = w.router.table.lock().unwrap();
        table.code.insert(
            (FUNCTION.into(), "1".into()),
            code(object, Some("S3ObjectNotFound: gone")),
        );
        table.code.insert(
            (FUNCTION.into(), "2".into()),
            code("s3://team-code/orders-2.zip (object version 4)", None),
        );
    }
    let preflight = w
        .service
        .preflight(request("r-1", "steps:10@0s,50@0s"))
        .await
        .unwrap();
    let said = preflight.findings.join("\n");
    assert!(
        said.contains(
            "warning: orders version 1, the rollback target, has code Lambda cannot retrieve"
        ),
        "{said}"
    );
    assert!(
        said.contains(
            "orders version 2's code is kept in the team's bucket (s3://team-code/orders-2.zip"
        ),
        "{said}"
    );
    w.service
        .start(request("r-1", "steps:10@0s,50@0s"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_group_members_target_whose_code_is_gone_is_refused_before_anything_moves() {
    let w = group_world();
    w.router.table.lock().unwrap().code.insert(
        (WORKER.into(), "8".into()),
        code(
            "s3://team-code/worker.zip (object version 9)",
            Some("S3ObjectNotFound: deleted"),
        ),
    );
    let request = StartRequest {
        members: vec![worker()],
        ..request("r-g", "steps:10@0s,50@0s")
    };
    let err = w.service.start(request).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("orders-worker version 8's code cannot be retrieved by Lambda"),
        "{text}"
    );
    assert_eq!(w.routing(), "version 1", "nothing moved");
    assert_eq!(w.router.routing(WORKER, ALIAS).to_string(), "version 7");
    assert!(w.store.lock(FUNCTION, ALIAS).is_none(), "no lock left held");
}
