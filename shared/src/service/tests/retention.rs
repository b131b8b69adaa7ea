//! Retention's use case: the rules' answer acted on, refusals kept, a stopped run resumable,
//! bad input refused before anything is listed or deleted.

use super::*;
use crate::domain::AliasRouting;
use crate::domain::ReleaseEvent;
use crate::service::retention::{PruneRequest, VersionRetention};

pub(super) type Retention = VersionRetention<MemoryCatalog, MemoryStore>;

/// `orders` with versions 1..=8, alias live on 1, release r-1 (1 -> 2) in progress.
pub(super) async fn with_versions(w: &World) -> Retention {
    let catalog = MemoryCatalog::new(w.journal.clone(), FUNCTION, 8);
    catalog.uses.lock().unwrap().aliases = vec![(ALIAS.into(), AliasRouting::single("1"))];
    w.started("r-1", "steps:10@0s,50@0s").await;
    VersionRetention {
        catalog,
        store: w.store.clone(),
    }
}

pub(super) fn request(apply: bool) -> PruneRequest {
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
    assert!(matches!(report.storage, Some(Ok(_))));
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

/// r-1 releases version 2 all at once with automatic retention keeping `keep`, and promotes.
async fn promoted_with_retention(w: &World, keep: u32) -> (MemoryCatalog, StepOutcome) {
    let catalog = MemoryCatalog::new(w.journal.clone(), FUNCTION, 8);
    let request = StartRequest {
        retain_versions: Some(keep),
        ..super::request("r-1", "AllAtOnce")
    };
    let started = w.service.start(request).await.unwrap();
    assert_eq!(started.next, Next::Promote);
    let promoted = w.service.promote(step("r-1")).await.unwrap();
    catalog.uses.lock().unwrap().aliases = vec![(ALIAS.into(), AliasRouting::single("2"))];
    (catalog, promoted)
}

fn pruned_entries(w: &World) -> Vec<String> {
    let release = w.store.release("r-1");
    release
        .log
        .iter()
        .filter_map(|e| match &e.event {
            ReleaseEvent::VersionsPruned { summary } => Some(summary.describe()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn after_success_the_workflow_prunes_once_and_records_it() {
    let w = world();
    let (catalog, promoted) = promoted_with_retention(&w, 2).await;
    assert_eq!(promoted.phase, "succeeded");
    assert_eq!(
        promoted.next,
        Next::Retain,
        "the workflow waits out the bake window"
    );
    let done = w.service.retain(&catalog, step("r-1")).await.unwrap();
    assert_eq!((done.next, done.phase.as_str()), (Next::Done, "succeeded"));
    // Kept: 8 and 7 (newest), 2 (the alias), 1 and 2 (r-1's rollback targets).
    assert_eq!(catalog.remaining(), ["1", "2", "7", "8"]);
    assert_eq!(
        pruned_entries(&w),
        ["deleted 4 old version(s) (3, 4, 5, 6), freeing 18.9 MB; 4 kept"]
    );
    assert_eq!(
        w.journal.count("announce r-1 succeeded"),
        2,
        "at the promotion, and for the pruning"
    );
    // A retried step does nothing more.
    let again = w.service.retain(&catalog, step("r-1")).await.unwrap();
    assert_eq!(again.next, Next::Done);
    assert_eq!(pruned_entries(&w).len(), 1);
    assert_eq!(w.journal.count("DeleteFunction"), 4);
}

#[tokio::test]
async fn a_release_reverted_in_its_bake_window_prunes_nothing() {
    let w = world();
    let catalog = MemoryCatalog::new(w.journal.clone(), FUNCTION, 8);
    let request = StartRequest {
        retain_versions: Some(1),
        bake_after_secs: 600,
        ..super::request("r-1", "AllAtOnce")
    };
    w.service.start(request).await.unwrap();
    let promoted = w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(promoted.next, Next::Retain);
    assert!(promoted.wait_seconds > 590, "{}", promoted.wait_seconds);
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    let outcome = w.service.retain(&catalog, step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "rolled_back");
    assert_eq!(outcome.next, Next::Done);
    assert_eq!(w.journal.count("DeleteFunction"), 0);
    assert!(pruned_entries(&w).is_empty());
}

#[tokio::test]
async fn a_retention_that_cannot_run_is_recorded_and_the_release_stays_succeeded() {
    let w = world();
    let (_, _) = promoted_with_retention(&w, 2).await;
    // Lambda no longer knows the function (deleted since): not retryable, so on the record.
    let elsewhere = MemoryCatalog::new(w.journal.clone(), "payments", 3);
    let outcome = w.service.retain(&elsewhere, step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "succeeded");
    let entries = pruned_entries(&w);
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].contains("stopped: function orders does not exist"),
        "{entries:?}"
    );
}

#[tokio::test]
async fn retaining_no_version_is_refused_at_start() {
    let w = world();
    let request = StartRequest {
        retain_versions: Some(0),
        ..super::request("r-1", "AllAtOnce")
    };
    let err = w.service.start(request).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("retain_versions must keep at least 1"),
        "{err}"
    );
    assert_eq!(w.journal.count("UpdateAlias"), 0);
}

#[tokio::test]
async fn the_retention_step_retires_the_releases_own_alarm_once_its_window_has_closed() {
    let w = world();
    let catalog = MemoryCatalog::new(w.journal.clone(), FUNCTION, 8);
    let request = StartRequest {
        retain_versions: Some(2),
        bake_after_secs: 600,
        analysis: AnalysisSettings::default(),
        ..super::request("r-1", "AllAtOnce")
    };
    w.service.start(request).await.unwrap();
    w.service.promote(step("r-1")).await.unwrap();
    let own = || {
        let alarms = w.alarms.analysis_alarms.lock().unwrap();
        alarms.contains_key("shiftback-analysis-r-1")
    };
    assert!(own(), "its bake window is open: the alarm still guards it");
    // The window has closed by the time the step runs.
    w.store.interleave("load", |records| {
        records.change("r-1", |r| {
            r.finished_at = Some(Utc::now() - Duration::minutes(20))
        })
    });
    w.service.retain(&catalog, step("r-1")).await.unwrap();
    assert!(!own());
    assert_eq!(pruned_entries(&w).len(), 1);
}
