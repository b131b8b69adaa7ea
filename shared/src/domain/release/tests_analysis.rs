//! Analysis in the release: a step whose canary analysis cannot judge (too little traffic) has
//! its bake extended, then does what the release says (hold, fail or pass); verdicts recorded.

use chrono::{DateTime, Utc};

use super::tests::spec;
use super::*;
use crate::analysis::{CanaryVerdict, WhenInconclusive};

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn unsure() -> Input {
    Input::Check(Verdict::Inconclusive {
        reason: "too quiet".into(),
    })
}

/// A release at its first step (10% for 60 s), whose analysis waits up to 300 s past a bake.
fn at_first_step(when: WhenInconclusive) -> Release {
    let mut spec = spec("steps:10@60s,50@60s");
    spec.analysis.max_extension_secs = 300;
    spec.analysis.when_inconclusive = when;
    let mut r = Release::new(spec, t(0)).unwrap();
    r.apply(Input::Begin, t(0), "wf").unwrap();
    r
}

#[test]
fn an_inconclusive_step_waits_for_traffic_a_minute_at_a_time_within_its_extension() {
    let mut r = at_first_step(WhenInconclusive::Hold);
    assert_eq!(
        r.apply(unsure(), t(30), "wf"),
        Ok(Action::Wait { secs: 30 }),
        "still baking"
    );
    assert_eq!(
        r.apply(unsure(), t(60), "wf"),
        Ok(Action::Wait { secs: 60 })
    );
    assert_eq!(
        r.apply(unsure(), t(330), "wf"),
        Ok(Action::Wait { secs: 30 }),
        "what is left"
    );
    assert_eq!(r.phase, Phase::Shifting { step: 0 });
    // Enough traffic came in the end: on to the next step.
    let next = r
        .apply(Input::Check(Verdict::Healthy), t(340), "wf")
        .unwrap();
    assert_eq!(
        next,
        Action::SetWeight {
            step: 1,
            weight: Weight::from_percent(50.0).unwrap()
        }
    );
}

#[test]
fn held_past_its_extension_it_waits_for_a_person_and_says_what_to_run() {
    let mut r = at_first_step(WhenInconclusive::Hold);
    let action = r.apply(unsure(), t(360), "wf").unwrap();
    assert_eq!(
        action,
        Action::AwaitApproval {
            secs: MAX_PAUSE_SECS
        }
    );
    assert_eq!(r.phase, Phase::Paused { step: 0 });
    match &r.log.last().unwrap().event {
        ReleaseEvent::Held { reason } => assert!(
            reason.starts_with("too quiet, 300s past the step's bake")
                && reason.contains("shiftback resume, promote or abort r-1"),
            "{reason}"
        ),
        e => panic!("{e:?}"),
    }
    // Held, it stays put for inconclusive and healthy looks alike; a person resumes it.
    assert!(matches!(
        r.apply(unsure(), t(420), "wf"),
        Ok(Action::AwaitApproval { .. })
    ));
    assert_eq!(r.phase, Phase::Paused { step: 0 });
    r.apply(Input::Resume, t(500), "alice").unwrap();
    assert_eq!(r.phase, Phase::Shifting { step: 0 });
}

#[test]
fn failing_when_inconclusive_rolls_back_with_the_reason() {
    let mut r = at_first_step(WhenInconclusive::Fail);
    let action = r.apply(unsure(), t(360), "wf").unwrap();
    assert!(matches!(action, Action::RollBack { ref reason } if reason.starts_with("too quiet")));
    assert!(matches!(r.phase, Phase::RollingBack { .. }));
}

#[test]
fn passing_when_inconclusive_moves_on_and_records_the_verdict() {
    let mut r = at_first_step(WhenInconclusive::Pass);
    let action = r.apply(unsure(), t(360), "wf").unwrap();
    assert!(matches!(action, Action::SetWeight { .. }));
    let checked = r.log.iter().rev().find_map(|e| match &e.event {
        ReleaseEvent::HealthChecked { verdict } => Some(verdict.clone()),
        _ => None,
    });
    assert_eq!(
        checked,
        Some(Verdict::Inconclusive {
            reason: "too quiet".into()
        })
    );
}

#[test]
fn an_analysis_is_recorded_with_the_weight_it_judged() {
    let mut r = at_first_step(WhenInconclusive::Hold);
    let verdict = CanaryVerdict::Healthy {
        summary: "target 0.0% errors over 812 invocations".into(),
    };
    assert_eq!(
        r.apply(Input::Analysed(verdict.clone()), t(60), "wf"),
        Ok(Action::Nothing)
    );
    assert_eq!(
        r.log.last().unwrap().event,
        ReleaseEvent::Analysed {
            weight: Weight::from_percent(10.0).unwrap(),
            verdict: verdict.clone()
        }
    );
    // Nothing to analyse once it ended.
    r.apply(Input::Abort { reason: "x".into() }, t(70), "alice")
        .unwrap();
    r.apply(Input::RolledBack, t(71), "wf").unwrap();
    assert!(r.apply(Input::Analysed(verdict), t(72), "wf").is_err());
}

#[test]
fn analysis_is_on_for_a_new_release_and_off_for_one_stored_before_it_existed() {
    let r = at_first_step(WhenInconclusive::Hold);
    assert!(r.analysis.enabled);
    let mut stored = serde_json::to_value(&r).unwrap();
    stored.as_object_mut().unwrap().remove("analysis");
    let old: Release = serde_json::from_value(stored).unwrap();
    assert!(!old.analysis.enabled, "it finishes as it started");
    let spec: ReleaseSpec = serde_json::from_value(serde_json::json!({
        "function": "orders", "alias": "live", "stable_version": "1",
        "target_version": "2", "strategy": "linear:10:1m"
    }))
    .unwrap();
    assert!(
        spec.analysis.enabled,
        "a request that says nothing gets analysis"
    );
}

#[test]
fn a_release_with_analysis_settings_out_of_range_is_refused() {
    let mut spec = spec("linear:10:1m");
    spec.analysis.min_invocations = 0;
    let err = Release::new(spec.clone(), t(0)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid analysis settings: min_invocations"),
        "{err}"
    );
    spec.analysis.enabled = false;
    assert!(
        Release::new(spec, t(0)).is_ok(),
        "switched off, its settings do not matter"
    );
}
