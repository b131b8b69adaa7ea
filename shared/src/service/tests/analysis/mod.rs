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

mod groups;
mod own_alarms;
