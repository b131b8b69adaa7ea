//! Canary analysis in the workflow's look: judged once a step has baked, over the minutes
//! since the target took traffic, recorded with its numbers, and acted on with the alarms.

use chrono::{DateTime, DurationRound, Utc};

use super::*;
use crate::analysis::{Comparison, Minute};
use crate::domain::{AnalysisSettings, CanaryVerdict, ReleaseEvent};

/// Ten settled minutes: the target with `target_errors` of 100 invocations a minute, the
/// stable version error-free at 900 a minute.
pub(super) fn traffic(target_errors: f64) -> Comparison {
    let minute = chrono::Duration::minutes(1);
    let now: DateTime<Utc> = Utc::now().duration_trunc(minute).unwrap();
    let series = |invocations: f64, errors: f64| -> Vec<Minute> {
        (3..13)
            .map(|i| Minute {
                at: now - minute * i,
                invocations,
                errors,
                throttles: 0.0,
                p99_ms: Some(100.0),
            })
            .collect()
    };
    Comparison {
        target: series(100.0, target_errors),
        stable: series(900.0, 0.0),
        latency_unread: None,
    }
}

pub(super) async fn started_with_analysis(w: &World, strategy: &str) {
    let request = StartRequest {
        analysis: AnalysisSettings::default(),
        ..request("r-1", strategy)
    };
    w.service.start(request).await.unwrap();
}

/// Release r-1's traffic moved a quarter of an hour back, so that its minutes have settled.
pub(super) fn settle(w: &World) {
    let back = chrono::Duration::minutes(15);
    w.store.records.lock().unwrap().change("r-1", |r| {
        r.created_at -= back;
        r.step_started_at = r.step_started_at.map(|at| at - back);
        for entry in &mut r.log {
            entry.at -= back;
        }
    });
}

pub(super) fn analyses(w: &World) -> Vec<ReleaseEvent> {
    w.store
        .release("r-1")
        .log
        .into_iter()
        .filter(|e| matches!(e.event, ReleaseEvent::Analysed { .. }))
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn an_erroring_canary_rolls_back_with_the_numbers_and_no_alarm_firing() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    settle(&w);
    *w.alarms.metrics.lock().unwrap() = traffic(4.0);
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "rolling_back");
    let reason = w.store.release("r-1").reason.unwrap();
    assert_eq!(
        reason,
        "canary analysis failed: target 4.00% errors over 1,000 vs stable 0.00% over 9,000: worse than the margin allows, beyond chance at 99.75% confidence"
    );
    assert_eq!(analyses(&w).len(), 1, "the numbers are on the record");
    // The query: this alias, both versions, from the target's first traffic's minute.
    let queries = w.alarms.queries.lock().unwrap().clone();
    let release = w.store.release("r-1");
    let since = release.target_traffic_since().unwrap();
    assert_eq!(
        (
            queries[0].function.as_str(),
            queries[0].alias.as_str(),
            queries[0].target_version.as_str(),
            queries[0].stable_version.as_str()
        ),
        (FUNCTION, ALIAS, "2", "1")
    );
    assert!(queries[0].start <= since && since < queries[0].end);
    assert!(queries[0].end <= Utc::now() - chrono::Duration::seconds(120));
}

#[tokio::test]
async fn a_healthy_canary_moves_on_with_its_verdict_recorded() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    settle(&w);
    *w.alarms.metrics.lock().unwrap() = traffic(0.0);
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(w.routing(), "version 1 with 50% on version 2");
    assert_eq!(outcome.phase, "shifting");
    match &analyses(&w)[..] {
        [ReleaseEvent::Analysed { weight, verdict }] => {
            assert_eq!(weight.to_string(), "10%");
            assert!(
                matches!(verdict, CanaryVerdict::Healthy { .. }),
                "{verdict:?}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_silent_canary_waits_for_traffic_instead_of_passing() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(
        w.routing(),
        "version 1 with 10% on version 2",
        "not a step further"
    );
    assert_eq!(outcome.phase, "shifting");
    assert_eq!((outcome.next, outcome.wait_seconds), (Next::Wait, 60));
}

#[tokio::test]
async fn a_release_without_analysis_asks_cloudwatch_for_no_metrics() {
    let w = world();
    w.started("r-1", "steps:10@0s,50@0s").await;
    w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(w.routing(), "version 1 with 50% on version 2");
    assert!(w.alarms.queries.lock().unwrap().is_empty());
}

fn own_alarms(w: &World) -> Vec<String> {
    let mut names: Vec<String> = w
        .alarms
        .analysis_alarms
        .lock()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

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
async fn a_release_that_keeps_the_dashboard_current_updates_it_at_start_and_end() {
    let w = world();
    let request = StartRequest {
        analysis: AnalysisSettings {
            keep_dashboard: true,
            ..AnalysisSettings::default()
        },
        ..request("r-1", "steps:10@0s")
    };
    w.service.start(request).await.unwrap();
    let puts = || w.alarms.dashboards.lock().unwrap().clone();
    assert_eq!(
        puts(),
        [("orders:live".to_string(), vec!["r-1".to_string()])]
    );
    *w.alarms.metrics.lock().unwrap() = traffic(0.0);
    settle(&w);
    let baked = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(baked.next, Next::Promote);
    assert_eq!(puts().len(), 1, "not at every step");
    w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(puts().len(), 2, "and once it ended");
    // A release that does not ask for it leaves the dashboard alone.
    w.service.start(request_with_analysis("r-2")).await.unwrap();
    assert_eq!(puts().len(), 2);
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

fn request_with_analysis(id: &str) -> StartRequest {
    StartRequest {
        analysis: AnalysisSettings::default(),
        target_version: "3".into(),
        ..request(id, "steps:10@0s")
    }
}

/// `orders:live` and the worker started as a group `r-1`, analysis on.
async fn group_started_with_analysis() -> World {
    let w = group_world();
    let request = StartRequest {
        analysis: AnalysisSettings::default(),
        members: vec![worker()],
        ..request("r-1", "steps:10@0s,50@0s")
    };
    w.service.start(request).await.unwrap();
    settle(&w);
    w
}

#[tokio::test]
async fn one_group_member_failing_its_analysis_rolls_every_member_back() {
    let w = group_started_with_analysis().await;
    *w.alarms.metrics.lock().unwrap() = traffic(0.0);
    w.alarms
        .metrics_of
        .lock()
        .unwrap()
        .insert("orders-worker".into(), traffic(4.0));
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "rolling_back");
    let queried: Vec<String> = w
        .alarms
        .queries
        .lock()
        .unwrap()
        .iter()
        .map(|q| format!("{}:{}->{}", q.function, q.stable_version, q.target_version))
        .collect();
    assert_eq!(
        queried,
        ["orders:1->2", "orders-worker:7->8"],
        "each member judged on its own versions"
    );
    let reason = w.store.release("r-1").reason.unwrap();
    assert!(
        reason.contains("orders-worker:live: target 4.00% errors"),
        "{reason}"
    );
    assert!(
        !reason.contains("orders:live:"),
        "the healthy member is not blamed: {reason}"
    );
    w.service.rollback(step("r-1")).await.unwrap();
    assert_eq!(w.routing(), "version 1");
    assert_eq!(
        w.router.routing("orders-worker", ALIAS).to_string(),
        "version 7"
    );
}

#[tokio::test]
async fn each_group_member_has_its_own_alarm_and_any_of_them_reverts_the_group() {
    let w = group_started_with_analysis().await;
    assert_eq!(
        own_alarms(&w),
        [
            "shiftback-analysis-r-1",
            "shiftback-analysis-r-1-m1",
            "shiftback-analysis-r-1-m1.latency",
            "shiftback-analysis-r-1.latency"
        ]
    );
    let watched = w.alarms.analysis_alarms.lock().unwrap()["shiftback-analysis-r-1-m1"].clone();
    assert_eq!(
        (
            watched.function.as_str(),
            watched.stable_version.as_str(),
            watched.target_version.as_str()
        ),
        ("orders-worker", "7", "8"),
        "the worker's alarm watches the worker's versions"
    );
    // The worker's own p99 alarm fires (recorded under its error-rate alarm's guard): the
    // whole group goes back at once.
    let outcomes = w
        .responder
        .handle(alarm_fired("shiftback-analysis-r-1-m1.latency"), None)
        .await
        .unwrap();
    assert_eq!(outcomes[0].reverted.len(), 2);
    assert_eq!(w.routing(), "version 1");
    assert_eq!(
        w.router.routing("orders-worker", ALIAS).to_string(),
        "version 7"
    );
    assert!(own_alarms(&w).is_empty(), "every member's alarm deleted");
}

#[tokio::test]
async fn a_metrics_read_that_fails_is_an_inconclusive_look_not_an_error_or_a_rollback() {
    let w = world();
    started_with_analysis(&w, "steps:10@0s,50@0s").await;
    settle(&w);
    *w.alarms.metrics.lock().unwrap() = traffic(4.0);
    w.alarms
        .metrics_unreadable
        .store(true, std::sync::atomic::Ordering::Relaxed);
    // The workflow's retries would end in its Catch, a rollback: the look answers instead.
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    // Its extension long over (the step is a quarter of an hour old), it holds for a person,
    // as any step left undecided does.
    assert_eq!(outcome.phase, "paused");
    match &analyses(&w)[..] {
        [ReleaseEvent::Analysed { verdict, .. }] => assert!(
            matches!(verdict, CanaryVerdict::Inconclusive { why } if why.contains("the metrics could not be read")),
            "{verdict:?}"
        ),
        other => panic!("{other:?}"),
    }
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
