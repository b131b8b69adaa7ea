//! Retention's use case: the rules' answer acted on, refusals kept, a stopped run resumable,
//! bad input refused before anything is listed or deleted.

use super::*;
use crate::domain::AliasRouting;
use crate::service::retention::{PruneRequest, VersionRetention};

type Retention = VersionRetention<FakeCatalog, FakeStore>;

/// `orders` with versions 1..=8, alias live on 1, release r-1 (1 -> 2) in progress.
async fn with_versions(w: &World) -> Retention {
    let catalog = FakeCatalog::new(w.journal.clone(), FUNCTION, 8);
    catalog.uses.lock().unwrap().aliases = vec![(ALIAS.into(), AliasRouting::single("1"))];
    w.started("r-1", "steps:10@0s,50@0s").await;
    VersionRetention {
        catalog,
        store: w.store.clone(),
    }
}

fn request(apply: bool) -> PruneRequest {
    PruneRequest {
        apply,
        ..PruneRequest::dry_run(FUNCTION, 2)
    }
}

#[tokio::test]
async fn a_dry_run_lists_every_fate_with_its_reasons_and_deletes_nothing() {
    let w = world();
    let retention = with_versions(&w).await;
    let report = retention.prune(&request(false)).await.unwrap();
    assert_eq!(report.plan.to_delete(), ["6", "5", "4", "3"]);
    let why = |v: &str| {
        let fate = report
            .plan
            .fates
            .iter()
            .find(|f| f.version.version == v)
            .unwrap();
        fate.kept_for
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(why("8"), ["one of the newest 2"]);
    assert_eq!(
        why("1"),
        [
            "alias live routes to it",
            "stable version of release r-1, in progress"
        ]
    );
    assert_eq!(why("2"), ["target version of release r-1, in progress"]);
    assert_eq!(report.plan.frees(), (3 + 4 + 5 + 6) * 1_048_576);
    assert!(report.storage.is_ok());
    assert_eq!(retention.catalog.remaining().len(), 8);
    assert_eq!(w.journal.count("DeleteFunction"), 0);
}

#[tokio::test]
async fn applied_it_deletes_exactly_the_listed_versions_oldest_first() {
    let w = world();
    let retention = with_versions(&w).await;
    let report = retention.prune(&request(true)).await.unwrap();
    assert_eq!(report.outcome.deleted, ["3", "4", "5", "6"]);
    assert_eq!(retention.catalog.remaining(), ["1", "2", "7", "8"]);
    let deletes: Vec<String> = w
        .journal
        .entries()
        .into_iter()
        .filter(|e| e.starts_with("DeleteFunction"))
        .collect();
    assert_eq!(
        deletes,
        [
            "DeleteFunction orders:3",
            "DeleteFunction orders:4",
            "DeleteFunction orders:5",
            "DeleteFunction orders:6"
        ]
    );
    // Run again: nothing left to delete.
    let again = retention.prune(&request(true)).await.unwrap();
    assert!(again.outcome.deleted.is_empty());
}

#[tokio::test]
async fn a_version_aliased_during_the_run_is_kept_and_the_rest_go_on() {
    let w = world();
    let retention = with_versions(&w).await;
    retention
        .catalog
        .aliased_since_listing
        .lock()
        .unwrap()
        .push("4".into());
    let report = retention.prune(&request(true)).await.unwrap();
    assert_eq!(report.outcome.deleted, ["3", "5", "6"]);
    assert_eq!(report.outcome.refused.len(), 1);
    assert_eq!(report.outcome.refused[0].0, "4");
    assert!(report.outcome.stopped_by.is_none());
    assert!(retention.catalog.remaining().contains(&"4".to_string()));
}

#[tokio::test]
async fn a_run_stopped_by_throttling_says_what_it_did_and_the_next_run_resumes() {
    let w = world();
    let retention = with_versions(&w).await;
    retention.catalog.throttled.lock().unwrap().push("5".into());
    let report = retention.prune(&request(true)).await.unwrap();
    assert_eq!(report.outcome.deleted, ["3", "4"]);
    assert_eq!(report.outcome.not_attempted, ["5", "6"]);
    assert!(
        report
            .outcome
            .stopped_by
            .as_deref()
            .is_some_and(|e| e.contains("Rate exceeded")),
        "{:?}",
        report.outcome.stopped_by
    );
    retention.catalog.throttled.lock().unwrap().clear();
    let resumed = retention.prune(&request(true)).await.unwrap();
    assert_eq!(resumed.outcome.deleted, ["5", "6"]);
}

#[tokio::test]
async fn bad_input_is_refused_by_name_and_nothing_is_deleted() {
    let w = world();
    let retention = with_versions(&w).await;
    let keep_none = PruneRequest {
        keep_newest: 0,
        ..request(true)
    };
    let err = retention.prune(&keep_none).await.unwrap_err();
    assert!(err.to_string().contains("keep at least 1"), "{err}");

    let unknown = PruneRequest {
        function: "payments".into(),
        ..request(true)
    };
    let err = retention.prune(&unknown).await.unwrap_err();
    assert!(
        matches!(err, Error::FunctionNotFound(ref f) if f == "payments"),
        "{err}"
    );

    for qualified in [
        "orders:3",
        "arn:aws:lambda:eu-west-1:123456789012:function:orders:live",
    ] {
        let request = PruneRequest {
            function: qualified.into(),
            ..request(true)
        };
        let err = retention.prune(&request).await.unwrap_err();
        assert!(
            err.to_string().contains("names one version or alias"),
            "{err}"
        );
    }
    assert_eq!(w.journal.count("DeleteFunction"), 0);
    assert_eq!(retention.catalog.remaining().len(), 8);
}
