//! Gates in the strategy and the transition function: where a gate may stand, the release
//! held at it until approved, and what a timeout, an alarm or an operator does there.

use chrono::{DateTime, Utc};

use super::tests::spec;
use super::*;
use crate::domain::gates::OnGateTimeout;
use crate::domain::strategy::StrategyError;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn healthy() -> Input {
    Input::Check(Verdict::Healthy)
}

/// steps:10@60s,gate,50@60s, begun at t(0), with a one-hour gate timeout.
fn gated() -> Release {
    let mut spec = spec("steps:10@60s,gate,50@60s");
    spec.gates.timeout_secs = 3600;
    let mut r = Release::new(spec, t(0)).unwrap();
    r.apply(Input::Begin, t(0), "wf").unwrap();
    r
}

#[test]
fn a_gate_stands_after_a_step_once_and_reads_back_as_written() {
    let strategy: Strategy = "steps:5@5m,gate,25@5m,50@10m".parse().unwrap();
    assert_eq!(strategy.to_string(), "steps:5@5m,gate,25@5m,50@10m");
    let schedule = strategy.schedule().unwrap();
    let gates: Vec<bool> = schedule.steps.iter().map(|s| s.gate_after).collect();
    assert_eq!(gates, [true, false, false]);
    for bad in [
        "steps:gate,5@5m",
        "steps:5@5m,gate,gate",
        "steps:50@1m,100,gate",
    ] {
        assert_eq!(
            bad.parse::<Strategy>(),
            Err(StrategyError::GateWithoutStep),
            "{bad}"
        );
    }
    let mut all_at_once = spec("AllAtOnce");
    all_at_once.gates.before_promote = true;
    assert!(matches!(
        Release::new(all_at_once, t(0)),
        Err(SpecError::Gates(_))
    ));
    let mut forever = spec("canary:10:5m");
    forever.gates.timeout_secs = 30 * 86_400;
    assert!(matches!(
        Release::new(forever, t(0)),
        Err(SpecError::Gates(_))
    ));
}

#[test]
fn a_baked_step_with_a_gate_holds_its_weight_until_approved() {
    let mut r = gated();
    assert_eq!(
        r.apply(healthy(), t(60), "wf").unwrap(),
        Action::AwaitApproval { secs: 3600 }
    );
    assert_eq!(r.phase, Phase::AtGate { step: 0 });
    assert_eq!(
        r.desired_alias(),
        Some(AliasTarget::Weighted(Weight::from_percent(10.0).unwrap()))
    );
    assert!(r.holds_alias_lock() && r.renews_lock_at(t(70)));
    // A look while waiting changes nothing and says how long is left.
    let before = r.clone();
    assert_eq!(
        r.apply(healthy(), t(660), "wf").unwrap(),
        Action::AwaitApproval { secs: 3000 }
    );
    assert_eq!(r, before);
    assert!(matches!(
        r.apply(Input::Approve, t(700), "carol").unwrap(),
        Action::SetWeight { step: 1, .. }
    ));
    let approved = &r.log[r.log.len() - 2];
    assert_eq!(
        (approved.event.name(), approved.actor.as_str()),
        ("approved", "carol")
    );
    // Past the gate: the next bake goes on to promotion without stopping again.
    assert_eq!(r.apply(healthy(), t(760), "wf").unwrap(), Action::Promote);
}

#[test]
fn approving_a_release_not_at_a_gate_is_refused_and_changes_nothing() {
    let mut r = gated();
    let before = r.clone();
    let err = r.apply(Input::Approve, t(10), "carol").unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot approve (it is not at a gate)"),
        "{err}"
    );
    assert_eq!(r, before);
}

#[test]
fn a_gate_nobody_answers_aborts_or_approves_as_the_release_says() {
    let mut r = gated();
    r.apply(healthy(), t(60), "wf").unwrap();
    assert!(matches!(
        r.apply(Input::GateExpired, t(3660), "wf").unwrap(),
        Action::RollBack { .. }
    ));
    assert_eq!(
        r.phase,
        Phase::RollingBack {
            cause: RollbackCause::Aborted
        }
    );
    assert!(r
        .reason
        .clone()
        .unwrap()
        .contains("nobody approved the gate after step 1 within 3600s"));

    let mut r = gated();
    r.gates.on_timeout = OnGateTimeout::Approve;
    r.apply(healthy(), t(60), "wf").unwrap();
    assert!(matches!(
        r.apply(Input::GateExpired, t(3660), "wf").unwrap(),
        Action::SetWeight { step: 1, .. }
    ));
}

#[test]
fn an_alarm_or_an_operator_acts_on_a_release_at_its_gate() {
    let mut r = gated();
    r.apply(healthy(), t(60), "wf").unwrap();
    let fired = Input::Alarm {
        alarm: "orders-errors".into(),
        reason: "errors".into(),
    };
    assert!(matches!(
        r.clone().apply(fired, t(100), "alarm").unwrap(),
        Action::RollBack { .. }
    ));
    let abort = Input::Abort {
        reason: "no".into(),
    };
    assert!(matches!(
        r.clone().apply(abort, t(100), "bob").unwrap(),
        Action::RollBack { .. }
    ));
    assert_eq!(
        r.apply(Input::Promote, t(100), "bob").unwrap(),
        Action::Promote
    );
}

#[test]
fn a_gate_before_promote_holds_the_last_step() {
    let mut spec = spec("linear:50:60s");
    spec.gates.before_promote = true;
    let mut r = Release::new(spec, t(0)).unwrap();
    assert_eq!(
        r.strategy.to_string(),
        "linear:50:1m",
        "the strategy reads as given"
    );
    r.apply(Input::Begin, t(0), "wf").unwrap();
    assert!(matches!(
        r.apply(healthy(), t(60), "wf").unwrap(),
        Action::AwaitApproval { .. }
    ));
    assert_eq!(
        r.apply(Input::Approve, t(90), "carol").unwrap(),
        Action::Promote
    );
}
