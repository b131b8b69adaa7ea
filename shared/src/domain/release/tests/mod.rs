//! The transition function's table of cases, and the spec's refusals.

use super::names::valid_release_id;
use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

/// A spec on orders:live from version 3 to 4, for tests here and in sibling modules.
pub(crate) fn spec(strategy: &str) -> ReleaseSpec {
    ReleaseSpec {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
        release_id: Some("r-1".into()),
        function: "orders".into(),
        alias: "live".into(),
        stable_version: "3".into(),
        target_version: "4".into(),
        strategy: strategy.parse().unwrap(),
        alarms: vec!["orders-errors".into()],
        alarm_overrides: vec![],
        bake_after_secs: 600,
        started_by: "alice".into(),
        kind: ReleaseKind::Deploy,
        analysis: Default::default(),
        retain_versions: None,
    }
}

fn release(strategy: &str) -> Release {
    Release::new(spec(strategy), t(0)).unwrap()
}

fn healthy() -> Input {
    Input::Check(Verdict::Healthy)
}

fn weight(p: f64) -> Weight {
    Weight::from_percent(p).unwrap()
}

#[test]
fn linear_release_walks_every_step_then_promotes() {
    let mut r = release("linear:25:60s");
    assert_eq!(r.desired_alias(), None);
    assert_eq!(
        r.apply(Input::Begin, t(0), "wf").unwrap(),
        Action::SetWeight {
            step: 0,
            weight: weight(25.0)
        }
    );
    assert_eq!(r.desired_alias(), Some(AliasTarget::Weighted(weight(25.0))));
    // Too early: wait out the rest of the bake, changing nothing.
    assert_eq!(
        r.apply(healthy(), t(20), "wf").unwrap(),
        Action::Wait { secs: 40 }
    );
    assert_eq!(r.phase, Phase::Shifting { step: 0 });
    assert_eq!(
        r.apply(healthy(), t(60), "wf").unwrap(),
        Action::SetWeight {
            step: 1,
            weight: weight(50.0)
        }
    );
    assert_eq!(
        r.apply(healthy(), t(120), "wf").unwrap(),
        Action::SetWeight {
            step: 2,
            weight: weight(75.0)
        }
    );
    assert_eq!(r.apply(healthy(), t(180), "wf").unwrap(), Action::Promote);
    assert_eq!(r.desired_alias(), Some(AliasTarget::Target));
    assert_eq!(
        r.apply(Input::Promoted, t(181), "wf").unwrap(),
        Action::Nothing
    );
    assert_eq!(r.phase, Phase::Succeeded);
    assert_eq!(r.weight, Weight::FULL);
    assert_eq!(r.finished_at, Some(t(181)));
    let events: Vec<_> = r.log.iter().map(|e| e.event.name()).collect();
    assert_eq!(
        events,
        [
            "started",
            "weight_set",
            "health_checked",
            "weight_set",
            "health_checked",
            "weight_set",
            "health_checked",
            "promoted"
        ]
    );
    assert_eq!(r.log[1].at, t(0));
    assert_eq!(r.log[3].at, t(60));
}

#[test]
fn all_at_once_promotes_immediately() {
    let mut r = release("AllAtOnce");
    assert_eq!(r.apply(Input::Begin, t(0), "wf").unwrap(), Action::Promote);
    assert_eq!(r.phase, Phase::Promoting);
}

#[test]
fn unhealthy_verdict_rolls_back_with_reason_at_any_step() {
    let mut r = release("linear:25:60s");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    r.apply(healthy(), t(60), "wf").unwrap();
    let unhealthy = Input::Check(Verdict::Unhealthy {
        reason: "alarm orders-errors is in ALARM".into(),
    });
    assert_eq!(
        r.apply(unhealthy, t(70), "wf").unwrap(),
        Action::RollBack {
            reason: "alarm orders-errors is in ALARM".into()
        }
    );
    assert_eq!(r.desired_alias(), Some(AliasTarget::Stable));
    // The workflow looking again keeps asking for the rollback until it is recorded.
    assert!(matches!(
        r.apply(healthy(), t(71), "wf").unwrap(),
        Action::RollBack { .. }
    ));
    r.apply(Input::RolledBack, t(72), "wf").unwrap();
    assert_eq!(r.phase, Phase::RolledBack);
    assert_eq!(r.weight, Weight::ZERO);
    assert_eq!(r.reason.as_deref(), Some("alarm orders-errors is in ALARM"));
    // A finished release ends the workflow quietly.
    assert_eq!(r.apply(healthy(), t(80), "wf").unwrap(), Action::Nothing);
}

#[test]
fn pause_holds_weight_until_resumed_and_bake_restarts() {
    let mut r = release("linear:50:60s");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    assert_eq!(
        r.apply(Input::Pause, t(10), "bob").unwrap(),
        Action::Nothing
    );
    assert_eq!(r.phase, Phase::Paused { step: 0 });
    // However long the pause, healthy looks hold the weight: the workflow waits on a person
    // (a task token), at most what is left of the 14 days a release may stay paused.
    assert_eq!(
        r.apply(healthy(), t(1000), "wf").unwrap(),
        Action::AwaitApproval {
            secs: MAX_PAUSE_SECS - 990
        }
    );
    assert_eq!(r.desired_alias(), Some(AliasTarget::Weighted(weight(50.0))));
    assert!(r.apply(Input::Pause, t(1001), "bob").is_err());
    assert_eq!(
        r.apply(Input::Resume, t(1010), "bob").unwrap(),
        Action::Wait { secs: 60 }
    );
    assert_eq!(
        r.apply(healthy(), t(1030), "wf").unwrap(),
        Action::Wait { secs: 40 }
    );
    assert_eq!(r.apply(healthy(), t(1070), "wf").unwrap(), Action::Promote);
    let actors: Vec<_> = r
        .log
        .iter()
        .filter(|e| e.actor == "bob")
        .map(|e| e.event.name())
        .collect();
    assert_eq!(actors, ["paused", "resumed"]);
}

#[test]
fn a_pause_nobody_ends_aborts_after_fourteen_days() {
    let mut r = release("linear:50:60s");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    r.apply(Input::Pause, t(10), "bob").unwrap();
    // The workflow waits once, on a token, for what is left of the limit; then it times out.
    let Action::AwaitApproval { secs } = r.apply(healthy(), t(20), "wf").unwrap() else {
        panic!("a paused release waits for a person");
    };
    assert_eq!(secs, MAX_PAUSE_SECS - 10);
    let aborted = r
        .apply(Input::GateExpired, t(20 + secs as i64), "wf")
        .unwrap();
    assert!(matches!(aborted, Action::RollBack { .. }), "{aborted:?}");
    assert_eq!(
        r.phase,
        Phase::RollingBack {
            cause: RollbackCause::Aborted
        }
    );
    assert!(r
        .reason
        .as_deref()
        .unwrap()
        .contains("paused for more than 14 days"));
    // A look past the limit (a token lost, say) aborts too.
    let mut late = release("linear:50:60s");
    late.apply(Input::Begin, t(0), "wf").unwrap();
    late.apply(Input::Pause, t(10), "bob").unwrap();
    let past = t(20 + MAX_PAUSE_SECS as i64);
    assert!(matches!(
        late.apply(healthy(), past, "wf").unwrap(),
        Action::RollBack { .. }
    ));
}

#[test]
fn unhealthy_while_paused_still_rolls_back() {
    let mut r = release("linear:50:60s");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    r.apply(Input::Pause, t(1), "bob").unwrap();
    let a = r
        .apply(
            Input::Check(Verdict::Unhealthy { reason: "x".into() }),
            t(2),
            "wf",
        )
        .unwrap();
    assert!(matches!(a, Action::RollBack { .. }));
}

#[test]
fn promote_and_abort_take_effect_at_once() {
    let mut r = release("linear:10:10m");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    assert_eq!(
        r.apply(Input::Promote, t(5), "carol").unwrap(),
        Action::Promote
    );
    assert_eq!(r.phase, Phase::Promoting);

    let mut r = release("linear:10:10m");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let a = r
        .apply(
            Input::Abort {
                reason: "bad latency".into(),
            },
            t(5),
            "carol",
        )
        .unwrap();
    assert_eq!(
        a,
        Action::RollBack {
            reason: "bad latency".into()
        }
    );
    r.apply(Input::RolledBack, t(6), "wf").unwrap();
    assert_eq!(r.phase, Phase::Aborted);
}

#[test]
fn failures_roll_back_and_a_failed_rollback_is_terminal() {
    let mut r = release("linear:10:10m");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let a = r
        .apply(
            Input::Fail {
                error: "throttled".into(),
            },
            t(1),
            "wf",
        )
        .unwrap();
    assert!(matches!(a, Action::RollBack { .. }));
    assert_eq!(
        r.phase,
        Phase::RollingBack {
            cause: RollbackCause::Error
        }
    );
    r.apply(
        Input::RollbackFailed {
            error: "access denied".into(),
        },
        t(2),
        "wf",
    )
    .unwrap();
    assert_eq!(r.phase, Phase::Failed);
    assert_eq!(r.desired_alias(), None);
    assert!(r.reason.unwrap().contains("access denied"));
}

#[test]
fn illegal_transitions_are_errors_and_change_nothing() {
    let fresh = release("linear:10:1m");
    let cases: Vec<(Input, Release)> = vec![
        (healthy(), fresh.clone()),
        (Input::Pause, fresh.clone()),
        (Input::Resume, fresh.clone()),
        (Input::Promoted, fresh.clone()),
        (Input::RolledBack, fresh.clone()),
        (Input::RollbackFailed { error: "x".into() }, fresh.clone()),
    ];
    for (input, mut r) in cases {
        let before = r.clone();
        assert!(
            matches!(
                r.apply(input.clone(), t(1), "x"),
                Err(TransitionError::Illegal { .. })
            ),
            "{input:?} on pending"
        );
        assert_eq!(r, before);
    }
    let mut done = release("AllAtOnce");
    done.apply(Input::Begin, t(0), "wf").unwrap();
    done.apply(Input::Promoted, t(1), "wf").unwrap();
    for input in [
        Input::Begin,
        Input::Pause,
        Input::Resume,
        Input::Promote,
        Input::Abort { reason: "x".into() },
        Input::Fail { error: "x".into() },
        Input::Promoted,
        Input::RolledBack,
    ] {
        let before = done.clone();
        let err = done.apply(input.clone(), t(2), "x").unwrap_err();
        assert!(err.to_string().contains("succeeded"), "{err}");
        assert_eq!(done, before);
    }
    let mut shifting = release("linear:10:1m");
    shifting.apply(Input::Begin, t(0), "wf").unwrap();
    assert!(shifting.apply(Input::Begin, t(1), "wf").is_err());
    assert!(shifting.apply(Input::Resume, t(1), "wf").is_err());
    assert!(shifting.apply(Input::Promoted, t(1), "wf").is_err());
}

mod records;
mod spec;
