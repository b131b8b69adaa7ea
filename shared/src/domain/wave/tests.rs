//! The sequences a plan walks: wave by wave to the end; a rollback in the last wave; an
//! abort; a Region that stops answering; duplicate and late news.

use super::*;

const BAKE: u64 = 1800;

fn target(region: &str) -> Target {
    Target::orders_in(region)
}

/// us-east-1, then eu-west-1 and ap-southeast-2, then sa-east-1.
fn plan() -> WavePlan {
    let waves = vec![
        vec![target("us-east-1")],
        vec![target("eu-west-1"), target("ap-southeast-2")],
        vec![target("sa-east-1")],
    ];
    check_waves(&waves, BAKE).unwrap();
    WavePlan::new("p-1", "us-east-1", waves, BAKE, "linear:25:5m", 0, "carol")
}

/// Starts and promotes every target of the wave `next` asks to start, at `now` (after the
/// look at the bake's end, where every moved target answers).
fn run_wave(plan: &mut WavePlan, now: i64) -> Vec<usize> {
    answered(plan, now);
    let PlanAction::Start(started) = plan.next(now) else {
        panic!("expected a start: {:?}", plan.phase)
    };
    for &i in &started {
        let id = plan.release_id_for(i);
        plan.claim(i, &id, 0);
        plan.started(i, 0);
    }
    assert_eq!(plan.next(now + 30), PlanAction::Look(plan_moved(plan)));
    for &i in &started {
        plan.saw(i, Seen::Promoted { at: now + 600 }, now + 600);
    }
    started
}

/// The look at a bake's end: every moved target's Region answers.
fn answered(plan: &mut WavePlan, now: i64) {
    for i in plan_moved(plan) {
        plan.saw(i, Seen::Promoted { at: 0 }, now);
    }
}

fn plan_moved(plan: &WavePlan) -> Vec<usize> {
    (0..plan.targets.len())
        .filter(|&i| plan.targets[i].state.moved())
        .collect()
}

#[test]
fn a_plan_goes_wave_by_wave_with_a_bake_between_and_completes() {
    let mut p = plan();
    assert_eq!(run_wave(&mut p, 0), [0]);
    // Wave 1 promoted: the bake begins, and the promoted target is still watched.
    assert_eq!(p.next(600), PlanAction::Look(vec![0]));
    assert_eq!(
        p.phase,
        PlanPhase::Baking {
            wave: 0,
            until: 600 + BAKE as i64
        }
    );
    assert_eq!(p.next_look(600 + BAKE as i64 - 10), 600 + BAKE as i64);
    // Not before the bake has passed.
    assert_eq!(p.next(600 + BAKE as i64 - 1), PlanAction::Look(vec![0]));
    let wave2 = 600 + BAKE as i64;
    assert_eq!(run_wave(&mut p, wave2), [1, 2]);
    let wave3 = wave2 + 600 + BAKE as i64;
    assert_eq!(p.next(wave2 + 600), PlanAction::Look(vec![0, 1, 2]));
    assert_eq!(run_wave(&mut p, wave3), [3]);
    assert_eq!(p.next(wave3 + 600), PlanAction::Done);
    assert_eq!(p.phase, PlanPhase::Completed { at: wave3 + 600 });
    assert!(p.ended());
    // Each release id names its plan, wave and target: the same on every retry.
    assert_eq!(p.targets[2].state.release_id(), Some("p-1-w2-3"));
}

#[test]
fn a_rollback_in_the_last_wave_brings_every_earlier_region_back() {
    let mut p = plan();
    run_wave(&mut p, 0);
    run_wave(&mut p, 600 + BAKE as i64);
    let last = 2 * (600 + BAKE as i64);
    answered(&mut p, last);
    let PlanAction::Start(started) = p.next(last) else {
        panic!()
    };
    assert_eq!(started, [3]);
    p.claim(3, "p-1-w3-4", 0);
    p.started(3, 0);
    // sa-east-1's alarm reverted its alias at once; the look sees its release rolled back.
    p.saw(
        3,
        Seen::RolledBack {
            why: "alarm orders-errors".into(),
        },
        last + 90,
    );
    let PlanPhase::Stopping { cause } = &p.phase else {
        panic!("{:?}", p.phase)
    };
    assert_eq!(cause.target, Some(3));
    assert_eq!(cause.why, "sa-east-1: alarm orders-errors");
    // Every target of the completed waves goes back, not only the last wave's.
    assert_eq!(p.next(last + 90), PlanAction::Revert(vec![0, 1, 2]));
    p.reverted(0);
    p.reverted(2);
    assert_eq!(p.next(last + 95), PlanAction::Revert(vec![1]));
    p.reverted(1);
    assert_eq!(p.next(last + 100), PlanAction::Done);
    assert!(matches!(p.phase, PlanPhase::Stopped { at, .. } if at == last + 100));
    let TargetState::Reverted { why, release_id } = &p.targets[1].state else {
        panic!()
    };
    assert_eq!(why, "stopped with the plan: sa-east-1: alarm orders-errors");
    assert_eq!(release_id.as_deref(), Some("p-1-w2-2"));
}

#[test]
fn an_abort_brings_back_what_moved_and_skips_what_did_not() {
    let mut p = plan();
    run_wave(&mut p, 0);
    let wave2 = 600 + BAKE as i64;
    answered(&mut p, wave2);
    let PlanAction::Start(started) = p.next(wave2) else {
        panic!()
    };
    p.claim(started[0], "p-1-w2-2", 0);
    p.started(started[0], 0);
    // ap-southeast-2 not started yet when the operator aborts.
    assert!(p.stop(None, "aborted by carol", wave2 + 5));
    assert_eq!(p.targets[2].state, TargetState::Skipped);
    assert_eq!(p.targets[3].state, TargetState::Skipped);
    assert_eq!(p.next(wave2 + 5), PlanAction::Revert(vec![0, 1]));
    // A second stop does not replace the first cause.
    assert!(!p.stop(None, "aborted by dave", wave2 + 6));
    let PlanPhase::Stopping { cause } = &p.phase else {
        panic!()
    };
    assert_eq!(cause.why, "aborted by carol");
}

#[test]
fn a_region_that_stops_answering_holds_the_plan_and_asks_for_a_person() {
    let mut p = plan();
    run_wave(&mut p, 0);
    let wave2 = 600 + BAKE as i64;
    answered(&mut p, wave2);
    let PlanAction::Start(started) = p.next(wave2) else {
        panic!()
    };
    p.claim(1, "p-1-w2-2", 0);
    p.started(1, 0);
    for attempt in 1..=MAX_ATTEMPTS {
        p.unreachable(2, "ap-southeast-2: StartExecution throttled");
        assert_eq!(p.needs_person().is_empty(), attempt < MAX_ATTEMPTS);
        // Still tried at every look; never skipped.
        assert_eq!(
            p.next(wave2 + 30 * attempt as i64),
            PlanAction::Start(vec![2])
        );
    }
    assert_eq!(started, [1, 2]);
    assert_eq!(p.needs_person(), [2]);
    // eu-west-1 promoting does not move the plan past the wave.
    p.saw(1, Seen::Promoted { at: wave2 + 400 }, wave2 + 400);
    assert_eq!(p.next(wave2 + 400), PlanAction::Start(vec![2]));
    assert_eq!(p.phase, PlanPhase::Releasing { wave: 1 });
    // Its Region answers again: the count resets and the wave goes on.
    p.claim(2, "p-1-w2-3", 0);
    p.started(2, 0);
    assert!(p.needs_person().is_empty());
    assert_eq!(p.next(wave2 + 430), PlanAction::Look(vec![0, 1, 2]));
}

#[test]
fn duplicate_and_late_news_change_nothing_twice() {
    let mut p = plan();
    run_wave(&mut p, 0);
    // The same promotion seen twice keeps its first time.
    p.saw(0, Seen::Promoted { at: 999 }, 999);
    assert_eq!(
        p.targets[0].state,
        TargetState::Promoted {
            release_id: "p-1-w1-1".into(),
            at: 600
        }
    );
    let wave2 = 600 + BAKE as i64;
    run_wave(&mut p, wave2);
    p.saw(
        1,
        Seen::RolledBack {
            why: "analysis".into(),
        },
        wave2 + 700,
    );
    // A second rollback, late: recorded on its target, the first cause stands.
    p.saw(
        2,
        Seen::RolledBack {
            why: "alarm".into(),
        },
        wave2 + 710,
    );
    let PlanPhase::Stopping { cause } = &p.phase else {
        panic!()
    };
    assert_eq!(cause.target, Some(1));
    assert!(matches!(&p.targets[2].state, TargetState::Reverted { why, .. } if why == "alarm"));
    assert_eq!(p.next(wave2 + 710), PlanAction::Revert(vec![0]));
    p.reverted(0);
    // A revert repeated, and a rollback seen after the plan brought the target back.
    p.reverted(0);
    p.saw(
        0,
        Seen::RolledBack {
            why: "late alarm".into(),
        },
        wave2 + 720,
    );
    assert!(
        matches!(&p.targets[0].state, TargetState::Reverted { why, .. } if why.starts_with("stopped with the plan"))
    );
    assert_eq!(p.next(wave2 + 720), PlanAction::Done);
    // After the end, nothing stops it again.
    assert!(!p.stop(None, "aborted", wave2 + 800));
}

#[test]
fn a_rollback_after_the_plan_completed_does_not_reopen_it() {
    let mut p = WavePlan::new(
        "p-2",
        "us-east-1",
        vec![vec![target("us-east-1")]],
        0,
        "canary:10:5m",
        0,
        "ci",
    );
    run_wave(&mut p, 0);
    assert_eq!(p.next(600), PlanAction::Done);
    p.saw(
        0,
        Seen::RolledBack {
            why: "alarm in its own bake".into(),
        },
        900,
    );
    assert!(matches!(p.phase, PlanPhase::Completed { .. }));
}

#[test]
fn a_plan_round_trips_through_its_record() {
    let mut p = plan();
    run_wave(&mut p, 0);
    p.unreachable(0, "throttled");
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["phase"]["phase"], "releasing");
    assert_eq!(json["targets"][0]["state"]["state"], "promoted");
    let back: WavePlan = serde_json::from_value(json).unwrap();
    assert_eq!(back, p);
}

#[test]
fn a_second_regions_stop_records_its_own_rollback_under_the_first_cause() {
    let mut p = plan();
    run_wave(&mut p, 0);
    let wave2 = 600 + BAKE as i64;
    answered(&mut p, wave2);
    let PlanAction::Start(started) = p.next(wave2) else {
        panic!("{:?}", p.phase)
    };
    for &i in &started {
        let id = p.release_id_for(i);
        p.claim(i, &id, 0);
        p.started(i, 0);
    }
    assert!(p.stop(Some(1), "eu-west-1: alarm", wave2 + 60));
    assert!(!p.stop(Some(2), "ap-southeast-2: alarm", wave2 + 61));
    assert_eq!(p.stop_cause().unwrap().target, Some(1));
    assert!(
        matches!(&p.targets[2].state, TargetState::Reverted { why, .. } if why == "ap-southeast-2: alarm")
    );
    // Only the first wave's promoted Region is left for the plan to bring back.
    assert_eq!(p.next(wave2 + 62), PlanAction::Revert(vec![0]));
}

#[test]
fn a_region_gone_dark_in_the_bake_holds_the_next_wave() {
    let mut p = plan();
    run_wave(&mut p, 0);
    let until = 600 + BAKE as i64;
    // The bake is over, and us-east-1 has not answered since: the next wave waits.
    p.unreachable(0, "us-east-1: throttled");
    assert_eq!(p.next(until + 30), PlanAction::Look(vec![0]));
    assert!(matches!(p.phase, PlanPhase::Baking { .. }), "{:?}", p.phase);
    // It answers: the next wave starts.
    p.saw(0, Seen::Promoted { at: 600 }, until + 60);
    assert_eq!(p.next(until + 60), PlanAction::Start(vec![1, 2]));
}

#[test]
fn a_claimed_target_with_no_trace_is_skipped_only_once_no_start_can_be_in_flight() {
    let mut p = plan();
    let PlanAction::Start(started) = p.next(0) else {
        panic!()
    };
    p.claim(started[0], "p-1-w1-1", 100);
    assert!(p.stop(None, "aborted", 120));
    assert_eq!(p.next(130), PlanAction::Revert(vec![0]));
    // Its Region has no trace of it yet: the start may still be in flight.
    p.not_started(0, 130);
    assert_eq!(p.next(160), PlanAction::Revert(vec![0]));
    p.not_started(0, 100 + START_SETTLE_SECS);
    assert_eq!(p.targets[0].state, TargetState::Skipped);
    assert_eq!(p.next(100 + START_SETTLE_SECS), PlanAction::Done);
}

#[test]
fn a_release_whose_rollback_failed_stops_the_plan_and_stays_to_be_brought_back() {
    let mut p = plan();
    let PlanAction::Start(started) = p.next(0) else {
        panic!()
    };
    p.claim(started[0], "p-1-w1-1", 0);
    p.started(0, 0);
    p.saw(
        0,
        Seen::Stuck {
            why: "rollback failed: UpdateAlias throttled".into(),
        },
        60,
    );
    let cause = p.stop_cause().unwrap().clone();
    assert_eq!(cause.target, Some(0));
    assert!(cause.why.contains("rollback failed"), "{}", cause.why);
    // Not back: the plan brings it back.
    assert!(p.targets[0].state.moved());
    assert_eq!(p.next(60), PlanAction::Revert(vec![0]));
}

/// A stack's plan where some Regions are on the version already (or had no alias, made on it):
/// they count as done, a wave of them alone has nothing to bake, a stop leaves them, and a plan
/// of nothing but them completes at its first look.
#[test]
fn targets_on_the_version_already_are_done_and_never_brought_back() {
    let mut plan = plan();
    plan.already_on(0);
    plan.already_on(2);
    // The first wave moved nothing: no bake, the second starts at once.
    assert_eq!(plan.next(10), PlanAction::Start(vec![1]));
    assert_eq!(plan.phase, PlanPhase::Releasing { wave: 1 });
    let id = plan.release_id_for(1);
    plan.claim(1, &id, 10);
    plan.started(1, 10);
    plan.saw(1, Seen::Promoted { at: 600 }, 600);
    // Its moved target bakes; then a stop brings back only what moved.
    assert!(matches!(plan.next(601), PlanAction::Look(_)));
    assert!(matches!(plan.phase, PlanPhase::Baking { wave: 1, .. }));
    plan.stop(None, "aborted by carol", 700);
    assert_eq!(plan.action(), PlanAction::Revert(vec![1]));
    assert_eq!(plan.targets[0].state, TargetState::AlreadyOn);
    assert_eq!(plan.targets[2].state, TargetState::AlreadyOn);

    let mut nothing_to_do = self::plan();
    for i in 0..nothing_to_do.targets.len() {
        nothing_to_do.already_on(i);
    }
    assert_eq!(nothing_to_do.next(0), PlanAction::Done);
    assert!(matches!(nothing_to_do.phase, PlanPhase::Completed { .. }));
}

/// A promoted target whose alias moved on since (a later release, an operator's rollback) is
/// left where it is by a stop, on its record, and counts as no longer moved by the plan.
#[test]
fn a_target_whose_alias_moved_on_is_left_and_says_where() {
    let mut plan = plan();
    run_wave(&mut plan, 0);
    plan.stop(None, "aborted by carol", 5000);
    assert_eq!(plan.action(), PlanAction::Revert(vec![0]));
    plan.moved_on(0, "version 9");
    let TargetState::Reverted { why, .. } = &plan.targets[0].state else {
        panic!("{:?}", plan.targets[0].state)
    };
    assert!(
        why.contains("moved on") && why.contains("version 9"),
        "{why}"
    );
    plan.settle(5001);
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
}
