//! Hooks in the transition function: an answer only for the hook that is due, no promotion
//! recorded past a post-traffic hook, and the deadline counted from the first answer.

use chrono::{DateTime, Utc};

use super::tests::spec;
use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn hooked(strategy: &str) -> Release {
    let mut spec = spec(strategy);
    spec.hooks = Hooks {
        pre_traffic: Some("smoke".into()),
        post_traffic: Some("e2e".into()),
        deadline_secs: 300,
    };
    Release::new(spec, t(0)).unwrap()
}

fn answer(phase: HookPhase, hook: &str, verdict: HookVerdict) -> Input {
    Input::HookAnswered {
        phase,
        hook: hook.into(),
        verdict,
    }
}

#[test]
fn a_release_with_a_pre_traffic_hook_begins_by_calling_it() {
    let mut r = hooked("linear:50:60s");
    assert_eq!(
        r.apply(Input::Begin, t(0), "wf").unwrap(),
        Action::CallHook {
            phase: HookPhase::PreTraffic
        }
    );
    assert_eq!(r.phase, Phase::Pending);
    assert_eq!(r.desired_alias(), None, "nothing moves before it passes");
    assert_eq!(r.hook_due(), Some((HookPhase::PreTraffic, "smoke")));
    let passed = answer(HookPhase::PreTraffic, "smoke", HookVerdict::Passed);
    assert!(matches!(
        r.apply(passed, t(5), "wf").unwrap(),
        Action::SetWeight { step: 0, .. }
    ));
    assert!(r.first_step_after_hook());
    assert_eq!(r.hook_due(), None);
}

#[test]
fn only_the_due_hook_is_answered_and_a_refusal_is_terminal() {
    let mut r = hooked("linear:50:60s");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    for wrong in [
        answer(HookPhase::PostTraffic, "e2e", HookVerdict::Passed),
        answer(HookPhase::PreTraffic, "other", HookVerdict::Passed),
    ] {
        let before = r.clone();
        assert!(matches!(
            r.apply(wrong, t(1), "wf"),
            Err(TransitionError::HookNotDue { .. })
        ));
        assert_eq!(r, before);
    }
    let failed = HookVerdict::Failed {
        reason: "500".into(),
    };
    r.apply(
        answer(HookPhase::PreTraffic, "smoke", failed.clone()),
        t(2),
        "wf",
    )
    .unwrap();
    assert_eq!(r.phase, Phase::Refused);
    assert!(r.phase.is_terminal() && !r.holds_alias_lock());
    assert_eq!(r.finished_at, Some(t(2)));
    let again = answer(HookPhase::PreTraffic, "smoke", failed);
    assert!(r.apply(again, t(3), "wf").is_err());
}

#[test]
fn the_deadline_counts_from_the_first_answer() {
    let mut r = hooked("linear:50:60s");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    let not_yet = || {
        answer(
            HookPhase::PreTraffic,
            "smoke",
            HookVerdict::NotYet {
                retry_after_secs: 120,
            },
        )
    };
    assert_eq!(r.hook_deadline(HookPhase::PreTraffic, t(10)), t(310));
    assert_eq!(
        r.apply(not_yet(), t(10), "wf").unwrap(),
        Action::Wait { secs: 120 }
    );
    assert_eq!(r.hook_deadline(HookPhase::PreTraffic, t(200)), t(310));
    // Cut to what is left of the deadline, then failed past it.
    assert_eq!(
        r.apply(not_yet(), t(250), "wf").unwrap(),
        Action::Wait { secs: 60 }
    );
    assert_eq!(r.apply(not_yet(), t(311), "wf").unwrap(), Action::Nothing);
    assert_eq!(r.phase, Phase::Refused);
}

#[test]
fn no_promotion_is_recorded_before_the_post_traffic_hook_passes() {
    let mut r = hooked("AllAtOnce");
    r.apply(Input::Begin, t(0), "wf").unwrap();
    r.apply(
        answer(HookPhase::PreTraffic, "smoke", HookVerdict::Passed),
        t(1),
        "wf",
    )
    .unwrap();
    assert_eq!(r.phase, Phase::Promoting);
    assert!(matches!(
        r.apply(Input::Promoted, t(2), "wf"),
        Err(TransitionError::HookPending { .. })
    ));
    // While it is due, an unhealthy look rolls back; a healthy one goes back to promoting.
    assert_eq!(
        r.clone()
            .apply(Input::Check(Verdict::Healthy), t(3), "wf")
            .unwrap(),
        Action::Promote
    );
    let unhealthy = Input::Check(Verdict::Unhealthy {
        reason: "errors".into(),
    });
    assert!(matches!(
        r.clone().apply(unhealthy, t(3), "wf").unwrap(),
        Action::RollBack { .. }
    ));
    assert_eq!(
        r.apply(
            answer(HookPhase::PostTraffic, "e2e", HookVerdict::Passed),
            t(4),
            "wf"
        )
        .unwrap(),
        Action::Promote
    );
    r.apply(Input::Promoted, t(5), "wf").unwrap();
    assert_eq!(r.phase, Phase::Succeeded);
}

#[test]
fn a_blank_hook_or_a_deadline_beyond_the_limit_is_refused_in_the_spec() {
    let mut blank = spec("linear:50:60s");
    blank.hooks.pre_traffic = Some("".into());
    assert!(matches!(
        Release::new(blank, t(0)),
        Err(SpecError::Hooks(_))
    ));
    let mut long = spec("linear:50:60s");
    long.hooks.deadline_secs = crate::hooks::MAX_HOOK_DEADLINE_SECS + 1;
    assert!(matches!(Release::new(long, t(0)), Err(SpecError::Hooks(_))));
}
