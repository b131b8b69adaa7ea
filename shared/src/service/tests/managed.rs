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
