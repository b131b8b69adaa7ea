//! The coordinator over in-memory Regions: the sequences a plan's users walk, and a crash
//! after each of its writes.

use super::memory::{MemoryPlans, MemoryRegions};
use super::*;

pub(super) const BAKE: u64 = 1800;

pub(super) fn target(region: &str) -> Target {
    Target::orders_in(region)
}

/// Three waves over three Regions: us-east-1, then eu-west-1, then ap-southeast-2.
pub(super) async fn coordinator() -> WaveCoordinator<MemoryRegions, MemoryPlans> {
    let waves = vec![
        vec![target("us-east-1")],
        vec![target("eu-west-1")],
        vec![target("ap-southeast-2")],
    ];
    check_waves(&waves, BAKE).unwrap();
    let c = WaveCoordinator::new(MemoryRegions::default(), MemoryPlans::default());
    let plan = WavePlan::new("p-1", "us-east-1", waves, BAKE, "linear:25:5m", 0, "carol");
    c.create(&plan).await.unwrap();
    c
}

pub(super) fn regions(c: &WaveCoordinator<MemoryRegions, MemoryPlans>) -> &MemoryRegions {
    c.regions()
}

/// Looks until wave `n` (1-based) has started, promoting each wave before it.
pub(super) async fn through_wave(c: &WaveCoordinator<MemoryRegions, MemoryPlans>, n: usize) -> i64 {
    let mut now = 0;
    for wave in 1..=n {
        if wave > 1 {
            // The look at the bake's end: every moved Region answers, the bake is over.
            let (plan, _) = c.look("p-1", now).await.unwrap();
            assert_eq!(plan.phase, PlanPhase::Releasing { wave: wave - 1 });
            now += LOOK_INTERVAL_SECS as i64;
        }
        let (plan, _) = c.look("p-1", now).await.unwrap();
        let id = format!("p-1-w{wave}-{wave}");
        assert_eq!(plan.targets[wave - 1].state.release_id(), Some(id.as_str()));
        if wave < n {
            regions(c).promote(&id, now + 600);
            now += 600 + BAKE as i64;
            // The look that sees the promotion starts the bake; the next, after it, the wave.
            let (plan, next) = c.look("p-1", now - BAKE as i64).await.unwrap();
            assert!(
                matches!(plan.phase, PlanPhase::Baking { .. }),
                "{:?}",
                plan.phase
            );
            assert_eq!(next, Some(now - BAKE as i64 + LOOK_INTERVAL_SECS as i64));
        }
    }
    now
}

#[tokio::test]
async fn a_plan_succeeds_wave_by_wave_and_each_release_points_to_it() {
    let c = coordinator().await;
    let now = through_wave(&c, 3).await;
    regions(&c).promote("p-1-w3-3", now + 600);
    let (plan, next) = c.look("p-1", now + 630).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Completed { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(next, None);
    assert_eq!(
        regions(&c).count("start"),
        3,
        "each Region's release started once"
    );
    let labels = regions(&c).release("p-1-w2-2").labels;
    assert!(labels.contains(&("plan".into(), "p-1".into())));
    assert!(labels.contains(&("wave".into(), "2".into())));
    assert!(labels.contains(&("plan_home".into(), "us-east-1".into())));
    // A look after the end changes nothing and calls no Region.
    let calls = regions(&c).calls.lock().unwrap().len();
    c.look("p-1", now + 9999).await.unwrap();
    assert_eq!(regions(&c).calls.lock().unwrap().len(), calls);
}

#[tokio::test]
async fn an_alarm_in_the_last_wave_stops_the_plan_and_brings_every_region_back_at_once() {
    let c = coordinator().await;
    let now = through_wave(&c, 3).await;
    // ap-southeast-2's own alarm path reverted its alias; its rollback calls the home Region's
    // stop at once (the fast path), not at the next look.
    regions(&c).roll_back("p-1-w3-3", "alarm orders-errors");
    let (plan, next) = c
        .stop(
            "p-1",
            Some(2),
            "ap-southeast-2: alarm orders-errors",
            now + 90,
        )
        .await
        .unwrap();
    let PlanPhase::Stopped { cause, at } = &plan.phase else {
        panic!("{:?}", plan.phase)
    };
    assert_eq!(cause.why, "ap-southeast-2: alarm orders-errors");
    assert_eq!(*at, now + 90, "every Region back within the one stop");
    assert_eq!(next, None);
    for id in ["p-1-w1-1", "p-1-w2-2"] {
        let release = regions(&c).release(id);
        assert!(matches!(release.seen, Seen::RolledBack { .. }), "{id}");
        assert_eq!(release.reverts, 1, "{id} reverted once");
    }
    assert_eq!(
        regions(&c).release("p-1-w3-3").reverts,
        0,
        "it reverted itself"
    );
    // The same stop again (a retried notification), and a late look: nothing more.
    c.stop("p-1", Some(2), "again", now + 95).await.unwrap();
    c.look("p-1", now + 120).await.unwrap();
    assert_eq!(regions(&c).count("revert"), 2);
}

#[tokio::test]
async fn a_rollback_found_by_a_look_stops_the_plan_in_the_same_look() {
    let c = coordinator().await;
    let now = through_wave(&c, 2).await;
    // The fast path's notification was lost: the next look finds the rollback.
    regions(&c).roll_back("p-1-w2-2", "canary analysis: error rate 4.1% vs 0.2%");
    let (plan, _) = c.look("p-1", now + 30).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    assert!(matches!(
        regions(&c).release("p-1-w1-1").seen,
        Seen::RolledBack { .. }
    ));
    assert_eq!(plan.targets[2].state, TargetState::Skipped);
}

#[tokio::test]
async fn an_abort_stops_the_plan_and_the_waves_not_started_never_move() {
    let c = coordinator().await;
    let now = through_wave(&c, 2).await;
    let (plan, _) = c
        .stop("p-1", None, "aborted by carol", now + 10)
        .await
        .unwrap();
    assert!(matches!(plan.phase, PlanPhase::Stopped { .. }));
    assert_eq!(
        regions(&c).count("start"),
        2,
        "ap-southeast-2 never started"
    );
    assert_eq!(regions(&c).count("revert"), 2);
}

#[tokio::test]
async fn an_unreachable_region_is_retried_then_needs_a_person_and_the_plan_holds() {
    let c = coordinator().await;
    let now = through_wave(&c, 1).await;
    regions(&c).promote("p-1-w1-1", now + 600);
    regions(&c).set_unreachable("eu-west-1", true);
    let mut at = now + 600 + BAKE as i64;
    // The look at the bake's end: us-east-1 answers, the bake is over.
    let (plan, _) = c.look("p-1", at).await.unwrap();
    assert_eq!(plan.phase, PlanPhase::Releasing { wave: 1 });
    at += LOOK_INTERVAL_SECS as i64;
    for _ in 0..MAX_ATTEMPTS + 2 {
        let (plan, next) = c.look("p-1", at).await.unwrap();
        // Claimed, its start asked again at every look: never skipped.
        assert!(
            matches!(plan.targets[1].state, TargetState::Releasing { .. }),
            "{:?}",
            plan.targets[1].state
        );
        assert!(next.is_some());
        at += LOOK_INTERVAL_SECS as i64;
    }
    let plan = c.plans().get("p-1");
    assert_eq!(plan.needs_person(), [1]);
    assert!(plan.targets[1]
        .last_error
        .as_deref()
        .unwrap()
        .contains("throttled"));
    assert_eq!(
        plan.targets[2].state,
        TargetState::Waiting,
        "not past the wave"
    );
    // The Region answers again: the wave starts.
    regions(&c).set_unreachable("eu-west-1", false);
    let (plan, _) = c.look("p-1", at).await.unwrap();
    assert!(plan.targets[1].state.moved());
    assert!(plan.needs_person().is_empty());
}

#[tokio::test]
async fn a_stop_with_a_region_unreachable_brings_back_the_others_and_keeps_trying() {
    let c = coordinator().await;
    let now = through_wave(&c, 3).await;
    regions(&c).set_unreachable("eu-west-1", true);
    let (plan, next) = c.stop("p-1", None, "aborted", now).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Stopping { .. }),
        "not over until all are back"
    );
    assert!(next.is_some());
    assert!(matches!(
        regions(&c).release("p-1-w1-1").seen,
        Seen::RolledBack { .. }
    ));
    regions(&c).set_unreachable("eu-west-1", false);
    let (plan, next) = c.look("p-1", now + 30).await.unwrap();
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(next, None);
}

#[tokio::test]
async fn a_start_refused_in_a_region_stops_the_plan() {
    let c = coordinator().await;
    let now = through_wave(&c, 1).await;
    regions(&c).promote("p-1-w1-1", now + 600);
    regions(&c).refuse_starts("eu-west-1");
    // The look that sees the bake over opens the wave; the next starts it, and is refused.
    let (plan, _) = c.look("p-1", now + 600 + BAKE as i64).await.unwrap();
    assert_eq!(plan.phase, PlanPhase::Releasing { wave: 1 });
    let (plan, _) = c.look("p-1", now + 630 + BAKE as i64).await.unwrap();
    let PlanPhase::Stopped { cause, .. } = &plan.phase else {
        panic!("{:?}", plan.phase)
    };
    assert!(
        cause
            .why
            .starts_with("eu-west-1: start refused: alias orders:live is held"),
        "{}",
        cause.why
    );
    assert!(matches!(
        regions(&c).release("p-1-w1-1").seen,
        Seen::RolledBack { .. }
    ));
}

#[tokio::test]
async fn a_stop_racing_a_look_wins_and_the_look_decides_again() {
    let c = coordinator().await;
    let now = through_wave(&c, 2).await;
    // Between the look's load and its save, the fast path's stop saves first.
    *c.plans().between.lock().unwrap() = Some(Box::new(move |plan: &mut WavePlan| {
        plan.stop(None, "aborted by dave", now + 1);
    }));
    let (plan, _) = c.look("p-1", now + 30).await.unwrap();
    let PlanPhase::Stopped { cause, .. } = &plan.phase else {
        panic!("{:?}", plan.phase)
    };
    assert_eq!(cause.why, "aborted by dave");
    assert_eq!(regions(&c).release("p-1-w2-2").reverts, 1);
}

/// The crash harness: the coordinator dies before each of its saves in turn (after every
/// regional call the invocation made); run again, it ends as a run without a crash does,
/// under the same cause, and no Region's release is started or reverted twice.
#[tokio::test]
async fn a_crash_before_each_save_repeats_nothing_when_run_again() {
    async fn walk(c: &WaveCoordinator<MemoryRegions, MemoryPlans>) -> WavePlan {
        let look = |now: i64| async move {
            match c.look("p-1", now).await {
                Ok(_) => {}
                // Crashed: the next invocation (Step Functions' retry) runs the look again.
                Err(_) => {
                    c.look("p-1", now).await.unwrap();
                }
            }
        };
        look(0).await;
        c.regions().promote("p-1-w1-1", 600);
        look(600).await;
        look(600 + BAKE as i64).await;
        look(630 + BAKE as i64).await;
        c.regions().promote("p-1-w2-2", 3000);
        look(3000).await;
        look(3000 + BAKE as i64).await;
        look(3030 + BAKE as i64).await;
        c.regions().roll_back("p-1-w3-3", "alarm");
        look(5000).await;
        c.plans().get("p-1")
    }
    let clean = coordinator().await;
    let expected = walk(&clean).await;
    assert!(matches!(expected.phase, PlanPhase::Stopped { .. }));
    let saves = *clean.plans().saves.lock().unwrap();
    assert!(saves >= 7, "{saves} saves");
    for crash_at in 0..saves {
        let c = coordinator().await;
        *c.plans().crash_at_save.lock().unwrap() = Some(crash_at);
        let plan = walk(&c).await;
        assert_eq!(plan, expected, "crash before save {crash_at}");
        let releases = c.regions().releases.lock().unwrap();
        assert_eq!(releases.len(), 3, "crash before save {crash_at}");
        for release in releases.values() {
            assert!(
                release.reverts <= 1,
                "crash before save {crash_at}: {release:?}"
            );
        }
    }
}

/// A recall (a stack rolling back from its plan) of a plan that has not completed is a stop:
/// it never carries on as a look would. A late recall of a stopped plan changes nothing.
#[tokio::test]
async fn a_recall_of_a_running_plan_stops_it_and_of_a_stopped_one_does_nothing() {
    let c = coordinator().await;
    let now = through_wave(&c, 2).await;
    let recall = |why: &str| WaveCommand::Stop {
        plan_id: "p-1".into(),
        release_id: None,
        why: why.into(),
        recall: true,
    };
    let answer = c
        .handle(recall("the stack app rolled back"), now)
        .await
        .unwrap();
    assert_eq!(answer.phase, "stopped");
    let plan = c.plans().get("p-1");
    assert_eq!(plan.stop_cause().unwrap().why, "the stack app rolled back");
    assert_eq!(
        plan.targets[2].state,
        TargetState::Skipped,
        "the last wave never started"
    );
    assert_eq!(regions(&c).release("p-1-w1-1").reverts, 1);
    c.handle(recall("again"), now + 30).await.unwrap();
    assert_eq!(c.plans().get("p-1"), plan, "nothing more");
}
