//! What the log records of events from outside the workflow: a broken lock, alarms (before
//! the start, suppressed, in the bake window), an alias taken over, durable executions left.

use super::*;

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
fn event_and_phase_names_are_the_records_own_spelling() {
    let mut r = release("linear:25:60s");
    let mut phases = vec![r.phase];
    for input in [Input::Begin, Input::Pause, Input::Resume] {
        r.apply(input, t(1), "wf").unwrap();
        phases.push(r.phase);
    }
    let alarm = Input::Alarm {
        alarm: "orders-errors".into(),
        reason: "5xx".into(),
    };
    r.apply(alarm, t(2), "alarm").unwrap();
    phases.push(r.phase);
    r.apply(Input::RolledBack, t(3), "alarm").unwrap();
    phases.push(r.phase);
    // Metrics, messages and the CLI say the name; the records say the serde tag: one word.
    for entry in &r.log {
        let stored = serde_json::to_value(&entry.event).unwrap();
        assert_eq!(stored["event"], entry.event.name(), "{entry:?}");
    }
    for phase in phases {
        let stored = serde_json::to_value(phase).unwrap();
        assert_eq!(stored["phase"], phase.name(), "{phase:?}");
    }
    assert!(r.log.iter().any(|e| e.event.name() == "rollback_started"));
    assert_eq!(r.phase.name(), "rolled_back");
}
