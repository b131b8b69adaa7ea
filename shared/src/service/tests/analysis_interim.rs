//! Interim looks: inside a long bake the analysis looks again every few minutes, and only a
//! finding of "worse" acts (its test holds over every look); the step's end still decides the
//! rest.

use super::analysis::{analyses, settle, started_with_analysis, traffic};
use super::*;

/// A 30-minute canary step: ten interim looks, 164 s apart.
const LONG_CANARY: &str = "steps:10@30m,50@0s";

#[tokio::test]
async fn a_regression_inside_a_long_bake_is_rolled_back_at_the_next_interim_look() {
    let w = world();
    started_with_analysis(&w, LONG_CANARY).await;
    // Fifteen minutes into the 30-minute bake, the target's minutes show it worse.
    settle(&w);
    *w.alarms.metrics.lock().unwrap() = traffic(4.0);
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "rolling_back", "not 15 minutes later");
    let reason = w.store.release("r-1").reason.unwrap();
    assert!(
        reason.starts_with("canary analysis failed: target 4.00% errors"),
        "{reason}"
    );
    assert_eq!(analyses(&w).len(), 1, "the finding is on the record");
}

#[tokio::test]
async fn an_interim_look_that_finds_nothing_worse_waits_for_the_next_and_records_nothing() {
    let w = world();
    let started = {
        let request = StartRequest {
            analysis: crate::domain::AnalysisSettings::default(),
            ..request("r-1", LONG_CANARY)
        };
        w.service.start(request).await.unwrap()
    };
    assert_eq!(
        (started.next, started.wait_seconds),
        (Next::Wait, 164),
        "the first look comes 164 s into the bake, not at its end"
    );
    settle(&w);
    // Healthy so far, but far from the sample that shows it no worse: not the look's to say.
    *w.alarms.metrics.lock().unwrap() = traffic(0.0);
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "shifting");
    assert_eq!(
        w.routing(),
        "version 1 with 10% on version 2",
        "not a step further"
    );
    assert_eq!((outcome.next, outcome.wait_seconds), (Next::Wait, 164));
    assert!(
        analyses(&w).is_empty(),
        "nothing recorded until a verdict acts"
    );
}

#[tokio::test]
async fn without_analysis_a_long_bake_is_one_wait() {
    let w = world();
    let outcome = w.service.start(request("r-1", LONG_CANARY)).await.unwrap();
    assert_eq!((outcome.next, outcome.wait_seconds), (Next::Wait, 1_800));
}

#[tokio::test]
async fn an_ignored_analysis_neither_acts_nor_records_inside_the_bake() {
    let w = world();
    started_with_analysis(&w, LONG_CANARY).await;
    settle(&w);
    let ignore = crate::service::Control::Ignore {
        guard: crate::domain::ANALYSIS_GUARD.into(),
        for_secs: 3_600,
        reason: "known spike from the batch import".into(),
    };
    w.service.control("r-1", ignore, "carol").await.unwrap();
    *w.alarms.metrics.lock().unwrap() = traffic(4.0);
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "shifting");
    assert!(
        analyses(&w).is_empty(),
        "nothing recorded for a verdict that decides nothing"
    );
}

#[tokio::test]
async fn a_resumed_bake_is_one_wait_to_its_end_not_more_interim_looks() {
    let w = world();
    started_with_analysis(&w, LONG_CANARY).await;
    let control = |c| w.service.control("r-1", c, "carol");
    control(crate::service::Control::Pause).await.unwrap();
    control(crate::service::Control::Resume).await.unwrap();
    // The history budget counts one pass of interim looks a step; a person may pause and
    // resume any number of times. The workflow's next look finds the bake restarted.
    *w.alarms.metrics.lock().unwrap() = traffic(0.0);
    let outcome = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(outcome.phase, "shifting");
    assert!(outcome.wait_seconds > 1_700, "{}", outcome.wait_seconds);
}
