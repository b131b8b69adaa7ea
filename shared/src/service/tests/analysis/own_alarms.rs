//! The release's own alarms: created at the start, guarding it, deleted when their work is
//! done (by the alarm function, the workflow or the next release), never left by a start
//! that failed.

use super::*;

#[tokio::test]
async fn a_releases_own_alarm_guards_it_and_its_firing_reverts_at_once() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    let release = w.store.release("r-1");
    assert_eq!(
        release.analysis_alarm.as_deref(),
        Some("shiftback-analysis-r-1")
    );
    assert_eq!(
        own_alarms(&w),
        ["shiftback-analysis-r-1", "shiftback-analysis-r-1.latency"]
    );
    let outcomes = w
        .responder
        .handle(alarm_fired("shiftback-analysis-r-1"), None)
        .await
        .unwrap();
    assert_eq!(
        outcomes[0].reverted.len(),
        1,
        "its guard was written at the start"
    );
    assert_eq!(w.routing(), "version 1");
    // Its work done, the alarm is deleted by the alarm function itself, after the revert.
    assert!(own_alarms(&w).is_empty());
}

#[tokio::test]
async fn an_own_alarm_the_alarm_function_left_is_deleted_by_the_next_release() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    // A responder that cannot delete (its DeleteAlarms failed, or an older stack's).
    let responder = Responder {
        alarms: None,
        ..w.responder.clone()
    };
    responder
        .handle(alarm_fired("shiftback-analysis-r-1"), None)
        .await
        .unwrap();
    assert_eq!(
        own_alarms(&w),
        ["shiftback-analysis-r-1", "shiftback-analysis-r-1.latency"]
    );
    let next = StartRequest {
        analysis: AnalysisSettings::default(),
        ..request("r-2", "steps:10@0s,50@0s")
    };
    w.service.start(next).await.unwrap();
    assert_eq!(
        own_alarms(&w),
        ["shiftback-analysis-r-2", "shiftback-analysis-r-2.latency"]
    );
}

#[tokio::test]
async fn a_release_that_ends_in_the_workflow_deletes_its_own_alarm() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    *w.alarms.metrics.lock().unwrap() = traffic(4.0);
    w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(
        own_alarms(&w),
        ["shiftback-analysis-r-1", "shiftback-analysis-r-1.latency"],
        "rolling back, not done"
    );
    let done = w.service.rollback(step("r-1")).await.unwrap();
    assert_eq!(done.phase, "rolled_back");
    assert!(own_alarms(&w).is_empty());
}

#[tokio::test]
async fn a_start_refused_leaves_no_alarm_behind() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    let second = StartRequest {
        analysis: AnalysisSettings::default(),
        ..request("r-2", "steps:10@0s,50@0s")
    };
    let err = w.service.start(second).await.unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    assert_eq!(
        own_alarms(&w),
        ["shiftback-analysis-r-1", "shiftback-analysis-r-1.latency"]
    );
}

#[tokio::test]
async fn a_machine_clock_hours_fast_never_ends_a_bake_window_early() {
    let w = world();
    // The machine's clock (an operator's laptop) runs 2 hours ahead of the table's.
    w.store.set_clock_offset(chrono::Duration::hours(-2));
    let request = StartRequest {
        analysis: AnalysisSettings::default(),
        bake_after_secs: 3600,
        ..request("r-1", "steps:10@0s")
    };
    w.service.start(request).await.unwrap();
    *w.alarms.metrics.lock().unwrap() = traffic(0.0);
    settle(&w);
    let baked = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(baked.next, Next::Promote);
    w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(
        w.store.release("r-1").phase,
        crate::domain::Phase::Succeeded
    );
    // An hour of bake window on the table's clock: its own alarms still guard it.
    assert_eq!(
        own_alarms(&w),
        ["shiftback-analysis-r-1", "shiftback-analysis-r-1.latency"]
    );
}

#[tokio::test]
async fn a_start_whose_second_alarm_is_refused_deletes_the_first_and_records_nothing() {
    let w = world();
    w.alarms
        .refused_alarms
        .lock()
        .unwrap()
        .push(".latency".into());
    let request = StartRequest {
        analysis: AnalysisSettings::default(),
        ..request("r-1", "steps:10@0s,50@0s")
    };
    let err = w.service.start(request).await.unwrap_err();
    assert!(err.to_string().contains("LimitExceeded"), "{err}");
    assert!(
        own_alarms(&w).is_empty(),
        "the error-rate alarm went with it"
    );
    assert!(matches!(
        w.service.store.load("r-1").await,
        Err(Error::ReleaseNotFound(_))
    ));
}

#[tokio::test]
async fn the_fast_path_adds_a_ten_second_alarm_that_reverts_like_the_others() {
    let w = world();
    let request = StartRequest {
        analysis: AnalysisSettings {
            fast_path_namespace: Some("Orders/Fast".into()),
            ..Default::default()
        },
        ..request("r-1", "steps:10@0s,50@0s")
    };
    w.service.start(request).await.unwrap();
    assert_eq!(
        own_alarms(&w),
        [
            "shiftback-analysis-r-1",
            "shiftback-analysis-r-1.fast",
            "shiftback-analysis-r-1.latency"
        ]
    );
    let fast = w.alarms.analysis_alarms.lock().unwrap()["shiftback-analysis-r-1.fast"].clone();
    assert_eq!(fast.period_secs, 10);
    let outcomes = w
        .responder
        .handle(alarm_fired("shiftback-analysis-r-1.fast"), None)
        .await
        .unwrap();
    assert_eq!(outcomes[0].reverted.len(), 1);
    assert_eq!(w.routing(), "version 1");
    let release = w.store.release("r-1");
    assert!(
        release
            .log
            .iter()
            .any(|e| format!("{:?}", e.event).contains("shiftback-analysis-r-1.fast")),
        "the revert names the alarm that fired: {:?}",
        release.log
    );
}

#[tokio::test]
async fn a_losing_start_never_deletes_the_alarms_of_the_release_its_twin_recorded() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    let recorded = w.store.release("r-1");
    // A racing start of the same id failed after putting the same alarms (its transaction
    // conflicted with its twin's): they are the recorded release's, and stay.
    w.service
        .delete_unrecorded_alarms(&recorded, &recorded.analysis_alarms())
        .await;
    assert_eq!(
        own_alarms(&w),
        ["shiftback-analysis-r-1", "shiftback-analysis-r-1.latency"]
    );
    // A start that recorded nothing at all: its alarms go.
    let mut unrecorded = recorded.clone();
    unrecorded.id = "r-9".into();
    let names = recorded.analysis_alarms();
    w.service
        .delete_unrecorded_alarms(&unrecorded, &names)
        .await;
    assert!(own_alarms(&w).is_empty());
}
