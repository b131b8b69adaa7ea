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
fn alarm_during_bake_window_reverts_a_succeeded_release_but_not_after() {
    let mut r = release("AllAtOnce");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    r.apply(Input::Promoted, t(10), "wf").unwrap();
    assert_eq!(r.guard_until(), Some(t(610)));
    let mut late = r.clone();
    let alarm = |reason: &str| Input::Alarm {
        alarm: "orders-errors".into(),
        reason: reason.into(),
    };
    assert!(matches!(
        late.apply(alarm("5xx"), t(611), "alarm").unwrap_err(),
        TransitionError::BakeWindowClosed { .. }
    ));
    assert_eq!(late, r, "a refused input changes nothing");
    assert!(matches!(
        r.apply(alarm("5xx"), t(300), "alarm").unwrap(),
        Action::RollBack { .. }
    ));
    r.apply(Input::RolledBack, t(300), "alarm").unwrap();
    assert_eq!(r.phase, Phase::RolledBack);
    assert!(r.reason.as_deref().unwrap().contains("bake window"));
    // A second copy of the alarm finds the release finished.
    assert!(r.apply(alarm("5xx"), t(301), "alarm").is_err());
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

#[test]
fn specs_are_validated() {
    let bad = |f: fn(&mut ReleaseSpec)| {
        let mut s = spec("canary:10:5m");
        f(&mut s);
        Release::new(s, t(0)).unwrap_err()
    };
    assert!(matches!(
        bad(|s| s.target_version = "3".into()),
        SpecError::SameVersion(_)
    ));
    assert!(matches!(
        bad(|s| s.target_version = "$LATEST".into()),
        SpecError::Version { role: "target", .. }
    ));
    assert!(matches!(
        bad(|s| s.stable_version = "".into()),
        SpecError::Version { role: "stable", .. }
    ));
    assert!(matches!(
        bad(|s| s.alias = "$LATEST".into()),
        SpecError::AliasName(_)
    ));
    assert!(matches!(
        bad(|s| s.alias = "123".into()),
        SpecError::AliasName(_)
    ));
    assert!(matches!(
        bad(|s| s.function = "orders:live".into()),
        SpecError::FunctionName(_)
    ));
    assert!(matches!(
        bad(|s| s.function = "x".repeat(200)),
        SpecError::FunctionName(_)
    ));
    assert!(matches!(
        bad(|s| s.alarms = vec!["".into()]),
        SpecError::AlarmName(_)
    ));
    assert!(matches!(
        bad(|s| s.alarms = (0..=MAX_ALARMS).map(|i| i.to_string()).collect()),
        SpecError::TooManyAlarms(41)
    ));
    assert!(matches!(
        bad(|s| s.alarm_overrides = vec!["other".into()]),
        SpecError::OverrideNotGuarding(_)
    ));
    assert!(matches!(
        bad(|s| s.bake_after_secs = MAX_BAKE_AFTER_SECS + 1),
        SpecError::BakeAfterTooLong(_)
    ));
    assert!(matches!(
        bad(|s| s.release_id = Some("a b".into())),
        SpecError::ReleaseId(_)
    ));
    let mut ok = spec("canary:10:5m");
    ok.function = "arn:aws:lambda:us-east-1:123456789012:function:orders".into();
    assert!(Release::new(ok, t(0)).is_ok());
    let generated = new_release_id(t(0));
    assert!(generated.starts_with("r-20270115T"), "{generated}");
    assert!(valid_release_id(&generated));
}

#[test]
fn a_function_has_one_name_however_it_is_written() {
    for spelling in [
        "orders",
        "123456789012:function:orders",
        "arn:aws:lambda:us-east-1:123456789012:function:orders",
    ] {
        assert_eq!(
            canonical_function(spelling).unwrap(),
            "orders",
            "{spelling}"
        );
    }
    let arn = function_ref("arn:aws:lambda:eu-west-1:123456789012:function:orders").unwrap();
    assert_eq!(
        (arn.region, arn.account),
        (Some("eu-west-1"), Some("123456789012"))
    );
    for bad in [
        "",
        "orders:live",
        "arn:aws:lambda:us-east-1:1:function:orders:7",
        "a b",
    ] {
        assert!(canonical_function(bad).is_err(), "{bad}");
    }
}

#[test]
fn release_serializes_round_trip() {
    let mut r = release("steps:1@1m,50@1m");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<Release>(&json).unwrap(), r);
    assert!(json.contains("\"phase\":\"shifting\""), "{json}");
}
#[test]
fn a_broken_lock_ends_the_old_release_and_is_recorded_in_both() {
    let mut old = release("linear:25:60s");
    old.apply(Input::Begin, t(0), "wf").unwrap();
    assert!(old.holds_alias_lock());
    let broken = Input::LockBroken {
        by: "r-2".into(),
        expired_at: t(100),
    };
    assert_eq!(
        old.apply(broken.clone(), t(200), "start").unwrap(),
        Action::Nothing
    );
    assert_eq!(old.phase, Phase::Failed);
    assert!(!old.holds_alias_lock());
    // Failed leaves the alias for a person: nothing to converge to.
    assert_eq!(old.desired_alias(), None);
    assert!(old
        .reason
        .as_deref()
        .unwrap()
        .contains("release r-2 took the alias over"));
    assert_eq!(old.log.last().unwrap().event.name(), "lock_broken");
    // Only a live release can lose its lock, and only once.
    let before = old.clone();
    assert!(old.apply(broken, t(300), "start").is_err());
    assert_eq!(old, before);

    let mut new = release("linear:25:60s");
    let take_over = Input::TakeOverLock {
        from: "r-1".into(),
        expired_at: t(100),
    };
    new.apply(take_over.clone(), t(200), "wf").unwrap();
    assert_eq!(new.phase, Phase::Pending);
    assert_eq!(new.log.last().unwrap().event.name(), "lock_taken_over");
    new.apply(Input::Begin, t(200), "wf").unwrap();
    assert!(new.apply(take_over, t(201), "wf").is_err());
}

#[test]
fn an_alarm_that_changed_state_before_the_release_started_is_refused() {
    let mut r = release("linear:25:60s");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let before = r.clone();
    let alarm = Input::Alarm {
        alarm: "orders-errors".into(),
        reason: "overridden at start".into(),
    };
    let err = r.apply(alarm.clone(), t(-5), "alarm").unwrap_err();
    assert!(
        matches!(err, TransitionError::AlarmBeforeStart { .. }),
        "{err}"
    );
    assert_eq!(r, before);
    assert!(matches!(
        r.apply(alarm, t(5), "alarm").unwrap(),
        Action::RollBack { .. }
    ));
}

#[test]
fn a_suppressed_alarm_is_recorded_once_and_changes_nothing_else() {
    let mut r = release("linear:25:60s");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let suppressed = Input::AlarmSuppressed {
        alarm: "orders-composite".into(),
        by: "maintenance (Alarm)".into(),
        changed_at: t(30),
    };
    let (phase, weight) = (r.phase, r.weight);
    assert_eq!(
        r.apply(suppressed.clone(), t(31), "alarm").unwrap(),
        Action::Nothing
    );
    assert_eq!((r.phase, r.weight), (phase, weight));
    assert_eq!(r.log.last().unwrap().event.name(), "alarm_suppressed");
    let before = r.clone();
    assert!(r.apply(suppressed, t(32), "alarm").is_err(), "a duplicate");
    assert_eq!(r, before);
    // A finished release outside any bake window has nothing to record it on.
    let mut done = release("AllAtOnce");
    done.bake_after_secs = 0;
    done.apply(Input::Begin, t(0), "wf").unwrap();
    done.apply(Input::Promoted, t(1), "wf").unwrap();
    let late = Input::AlarmSuppressed {
        alarm: "orders-composite".into(),
        by: "maintenance".into(),
        changed_at: t(100),
    };
    assert!(done.apply(late, t(100), "alarm").is_err());
}

#[test]
fn an_alias_taken_over_ends_the_release_hands_off() {
    for (to_stable, phase, event) in [
        (false, Phase::Interrupted, "interrupted"),
        (true, Phase::RolledBack, "manual_rollback"),
    ] {
        let mut r = release("linear:25:60s");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        let found = Input::HandsOff {
            member: None,
            found: "version 9".into(),
            to_stable,
        };
        assert_eq!(r.apply(found.clone(), t(5), "wf").unwrap(), Action::Nothing);
        assert_eq!(r.phase, phase);
        assert!(r.phase.is_terminal());
        assert!(!r.holds_alias_lock());
        assert_eq!(r.log.last().unwrap().event.name(), event);
        if to_stable {
            assert_eq!(r.desired_alias(), Some(AliasTarget::Stable));
        } else {
            assert_eq!(r.desired_alias(), None, "left as found");
            assert!(r.reason.as_deref().unwrap().contains("version 9"));
        }
        assert!(r.apply(found, t(6), "wf").is_err(), "once");
    }
}

#[test]
fn a_release_reopened_in_its_bake_window_holds_no_lock() {
    let mut r = release("AllAtOnce");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    r.apply(Input::Promoted, t(1), "wf").unwrap();
    assert!(!r.holds_alias_lock());
    r.apply(
        Input::Alarm {
            alarm: "orders-errors".into(),
            reason: "errors".into(),
        },
        t(10),
        "alarm:orders-errors",
    )
    .unwrap();
    assert!(!r.phase.is_terminal());
    assert!(!r.holds_alias_lock());
}

#[test]
fn settings_whose_looks_would_outgrow_the_workflow_history_are_refused() {
    // 99 one-minute steps, each waiting up to 10 minutes for traffic: 1,089 looks.
    let mut long = spec("linear:1:1m");
    long.analysis.max_extension_secs = 600;
    match long.validate() {
        Err(SpecError::TooManyLooks { looks, max, .. }) => {
            assert_eq!((looks, max), (1_089, MAX_LOOKS))
        }
        other => panic!("{other:?}"),
    }
    // Three minutes of extension a step fit: 396 looks.
    long.analysis.max_extension_secs = 180;
    assert!(long.validate().is_ok());
    assert_eq!(worst_case_looks(99, 180), 396);
    // The defaults with any preset fit.
    assert!(spec("Linear10PercentEvery1Minute").validate().is_ok());
}

#[test]
fn durable_executions_left_are_recorded_once_per_function_and_version() {
    let mut r = release("linear:50:1m");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let abort = Input::Abort {
        reason: "bad build".into(),
    };
    r.apply(abort, t(5), "carol").unwrap();
    r.apply(Input::RolledBack, t(6), "wf").unwrap();
    let left = |function: Option<&str>| Input::DurableLeft {
        function: function.map(str::to_string),
        version: "2".into(),
        running: 3,
        more: false,
    };
    r.apply(left(None), t(7), "wf").unwrap();
    // A retried save's second try: refused, nothing recorded twice.
    let before = r.clone();
    assert!(r.apply(left(None), t(8), "wf").is_err());
    assert_eq!(r, before);
    // Another function's executions on its own version 2 are their own entry.
    r.apply(left(Some("orders-worker")), t(9), "wf").unwrap();
    let recorded = r
        .log
        .iter()
        .filter(|e| e.event.name() == "durable_executions_left")
        .count();
    assert_eq!(recorded, 2);
}
