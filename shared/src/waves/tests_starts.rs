//! The coordinator's starts over in-memory Regions: a plan recorded only if every Region
//! passes, the workflow's input made a plan once, and a start whose answer is lost, racing a
//! stop.

use super::memory::{MemoryPlans, MemoryRegions};
use super::tests::{coordinator, regions, target, through_wave, BAKE};
use super::*;
use crate::error::Error;

#[tokio::test]
async fn a_plan_is_recorded_only_if_every_region_passes_its_checks() {
    let c = WaveCoordinator::new(MemoryRegions::default(), MemoryPlans::default());
    let waves = vec![vec![target("us-east-1")], vec![target("eu-west-1")]];
    let plan = WavePlan::new("p-2", "us-east-1", waves, BAKE, "linear:25:5m", 0, "carol");
    regions(&c).refuse_starts("eu-west-1");
    let refused = c.create_checked(&plan).await.unwrap_err();
    assert!(
        matches!(&refused, Error::BadRequest(m) if m.contains("nothing moved: eu-west-1:")),
        "{refused}"
    );
    assert!(c.plans().plans.lock().unwrap().is_empty());
    // A Region that does not answer: retryable, and still nothing recorded.
    regions(&c).refusing.lock().unwrap().clear();
    regions(&c).set_unreachable("eu-west-1", true);
    assert!(c.create_checked(&plan).await.unwrap_err().is_retryable());
    assert!(c.plans().plans.lock().unwrap().is_empty());
    regions(&c).set_unreachable("eu-west-1", false);
    c.create_checked(&plan).await.unwrap();
    assert_eq!(c.plans().get("p-2"), plan);
    assert_eq!(regions(&c).count("start"), 0, "checked, nothing started");
}

#[tokio::test]
async fn the_workflows_input_creates_the_plan_once_however_often_it_is_retried() {
    let c = WaveCoordinator::new(MemoryRegions::default(), MemoryPlans::default());
    let coordinator = "arn:aws:lambda:us-east-1:123456789012:function:shiftback-WavesFunction-A";
    let request: crate::domain::wave::PlanRequest = serde_json::from_value(serde_json::json!({
        "function": "orders", "alias": "live", "version": "7",
        "waves": [["us-east-1"], ["eu-west-1"]], "strategy": "linear:25:5m"
    }))
    .unwrap();
    let create = WaveCommand::Create {
        plan_id: "plan-3".into(),
        coordinator: coordinator.into(),
        plan: request,
    };
    let first = c.handle(create.clone(), 10).await.unwrap();
    assert_eq!((first.phase.as_str(), first.ended), ("releasing", false));
    let again = c.handle(create, 20).await.unwrap();
    assert_eq!(again.plan_id, "plan-3");
    let stored = c.plans().get("plan-3");
    assert_eq!(stored.started_at, 10, "the first create's record stands");
    assert_eq!(stored.coordinator.as_deref(), Some(coordinator));
}

#[tokio::test]
async fn a_stop_while_a_start_may_be_in_flight_waits_for_it_and_brings_it_back() {
    let c = coordinator().await;
    let now = through_wave(&c, 1).await;
    regions(&c).promote("p-1-w1-1", now + 600);
    let at = now + 600 + BAKE as i64;
    c.look("p-1", at).await.unwrap();
    // eu-west-1's start is claimed, and its answer lost (as a start in flight would be).
    regions(&c).set_unreachable("eu-west-1", true);
    let (plan, _) = c.look("p-1", at + 30).await.unwrap();
    assert!(matches!(
        plan.targets[1].state,
        TargetState::Releasing { .. }
    ));
    regions(&c).set_unreachable("eu-west-1", false);
    // The stop finds no trace of it in eu-west-1: too soon to say it never started.
    let (plan, next) = c.stop("p-1", None, "aborted", at + 40).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Stopping { .. }),
        "{:?}",
        plan.phase
    );
    assert!(plan.targets[1].state.moved());
    assert!(next.is_some());
    // The start lands late: the next look brings it back.
    let link = PlanLink::of(&plan, 1);
    regions(&c)
        .start(&target("eu-west-1"), "p-1-w2-2", "linear:25:5m", &[], &link)
        .await
        .unwrap();
    let (plan, next) = c.look("p-1", at + 70).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(next, None);
    assert_eq!(regions(&c).release("p-1-w2-2").reverts, 1);
}

#[tokio::test]
async fn a_claimed_start_that_never_landed_is_skipped_once_none_can_be_in_flight() {
    let c = coordinator().await;
    let now = through_wave(&c, 1).await;
    regions(&c).promote("p-1-w1-1", now + 600);
    let at = now + 600 + BAKE as i64;
    c.look("p-1", at).await.unwrap();
    regions(&c).set_unreachable("eu-west-1", true);
    c.look("p-1", at + 30).await.unwrap();
    regions(&c).set_unreachable("eu-west-1", false);
    c.stop("p-1", None, "aborted", at + 40).await.unwrap();
    let (plan, _) = c.look("p-1", at + 30 + START_SETTLE_SECS).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(plan.targets[1].state, TargetState::Skipped);
}
