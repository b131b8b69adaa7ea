//! A wave plan's regional release that ends without promoting tells its plan's coordinator
//! (the fast path), after its revert and its record; one that promotes, or belongs to no plan,
//! tells nobody.

use super::*;
use crate::waves::{stop_for, WaveCommand, PLAN_STOP_LABEL};

const COORDINATOR: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:shiftback-WavesFunction-ABC";

fn in_plan(id: &str, strategy: &str) -> StartRequest {
    let mut request = request(id, strategy);
    request.labels = [
        ("plan".to_string(), "plan-1".to_string()),
        ("plan_home".to_string(), "us-east-1".to_string()),
        ("wave".to_string(), "3".to_string()),
        (PLAN_STOP_LABEL.to_string(), COORDINATOR.to_string()),
    ]
    .into();
    request
}

#[tokio::test]
async fn an_alarms_revert_of_a_plans_release_stops_the_plan_after_the_revert_and_record() {
    let w = world();
    w.service
        .start(in_plan("r-1", "steps:10@0s,25@0s"))
        .await
        .unwrap();
    let before = w.journal.entries().len();
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    let after: Vec<String> = w.journal.entries()[before..].to_vec();
    assert_eq!(
        &after[..3],
        [
            "alias orders:live -> version 1",
            "save r-1 rolled_back",
            "stop r-1",
        ]
    );
    assert_eq!(after[3], "plan stop plan-1", "{after:?}");
    let sent = w.plan_stops.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let (
        coordinator,
        WaveCommand::Stop {
            plan_id,
            release_id,
            why,
            recall: false,
        },
    ) = &sent[0]
    else {
        panic!("{sent:?}");
    };
    assert_eq!(coordinator, COORDINATOR);
    assert_eq!(plan_id, "plan-1");
    assert_eq!(release_id.as_deref(), Some("r-1"));
    assert!(why.contains("rolled_back") && why.contains(ALARM), "{why}");
}

#[tokio::test]
async fn the_workflows_rollback_and_an_operators_abort_stop_the_plan_too() {
    let w = world();
    w.service
        .start(in_plan("r-1", "steps:10@0s,25@0s"))
        .await
        .unwrap();
    w.service
        .control(
            "r-1",
            Control::Abort {
                reason: "bad".into(),
            },
            "carol",
        )
        .await
        .unwrap();
    assert_eq!(w.plan_stops.sent.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_promoted_release_or_one_of_no_plan_tells_nobody() {
    let w = world();
    w.service
        .start(in_plan("r-1", "steps:10@0s,25@0s"))
        .await
        .unwrap();
    w.service
        .control("r-1", Control::Promote, "carol")
        .await
        .unwrap();
    assert_eq!(w.phase("r-1"), "succeeded");
    // Back to version 2 of 3 with a release of no plan: its revert tells nobody either.
    let mut no_plan = request("r-2", "steps:10@0s,25@0s");
    no_plan.target_version = "3".into();
    w.service.start(no_plan).await.unwrap();
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(w.phase("r-2"), "rolled_back");
    assert!(w.plan_stops.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn only_a_lambda_functions_arn_is_ever_told() {
    let w = world();
    let mut request = in_plan("r-1", "steps:10@0s,25@0s");
    request
        .labels
        .insert(PLAN_STOP_LABEL.into(), "https://example.com/hook".into());
    w.service.start(request).await.unwrap();
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    let release = w.store.release("r-1");
    assert_eq!(release.phase.name(), "rolled_back");
    assert_eq!(stop_for(&release), None);
    assert!(w.plan_stops.sent.lock().unwrap().is_empty());
}
