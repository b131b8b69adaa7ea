//! Traffic hooks in the workflow: a pre-traffic hook holds the first weight until it passes
//! (and refuses the release, with nothing shifted, when it fails); a post-traffic hook holds
//! the promotion at 100% (and rolls back when it fails). "Not yet" waits within a deadline.

use super::*;
use crate::domain::Input;
use crate::hooks::{HookPhase, HookVerdict, Hooks};

const TWO_STEPS: &str = "steps:10@0s,25@0s";
const SMOKE: &str = "orders-smoke";
const E2E: &str = "orders-e2e";

fn with_hooks(id: &str, pre: Option<&str>, post: Option<&str>) -> StartRequest {
    StartRequest {
        hooks: Hooks {
            pre_traffic: pre.map(String::from),
            post_traffic: post.map(String::from),
            ..Hooks::default()
        },
        ..request(id, TWO_STEPS)
    }
}

fn not_yet(secs: u64) -> crate::Result<HookVerdict> {
    Ok(HookVerdict::NotYet {
        retry_after_secs: secs,
    })
}

fn failed(reason: &str) -> crate::Result<HookVerdict> {
    Ok(HookVerdict::Failed {
        reason: reason.into(),
    })
}

impl World {
    fn alias_writes(&self) -> usize {
        self.journal.count("alias ")
    }

    /// Advances until the workflow would promote.
    async fn to_promotion(&self, id: &str) -> StepOutcome {
        loop {
            let outcome = self.service.advance(step(id)).await.unwrap();
            if outcome.next != Next::Wait {
                return outcome;
            }
        }
    }
}

#[tokio::test]
async fn a_pre_traffic_hook_holds_the_first_weight_until_it_passes() {
    let w = world();
    w.hooks.script(
        SMOKE,
        vec![not_yet(30), not_yet(30), Ok(HookVerdict::Passed)],
    );
    let started = w
        .service
        .start(with_hooks("r-1", Some(SMOKE), None))
        .await
        .unwrap();
    // Recorded with its lock, nothing shifted, and the next look comes at once.
    assert_eq!(
        (started.phase.as_str(), started.next, started.wait_seconds),
        ("pending", Next::Wait, 0)
    );
    assert!(w.store.lock(FUNCTION, ALIAS).is_some());
    assert_eq!(w.alias_writes(), 0);

    for _ in 0..2 {
        let waiting = w.service.advance(step("r-1")).await.unwrap();
        assert_eq!(
            (waiting.phase.as_str(), waiting.wait_seconds),
            ("pending", 30)
        );
        assert_eq!(w.routing(), "version 1");
    }
    let moved = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(moved.phase, "shifting");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");

    let calls = w.hooks.calls();
    assert_eq!(calls.len(), 3);
    let (hook, told) = &calls[0];
    assert_eq!(hook, SMOKE);
    assert_eq!(told.phase, HookPhase::PreTraffic);
    assert_eq!(
        (told.stable_version.as_str(), told.target_version.as_str()),
        ("1", "2")
    );
    assert_eq!(
        told.target_arn, "orders:2",
        "the fake knows no account: name:version"
    );
    // The deadline counts from the first answer: the same on every later call.
    assert_eq!(calls[1].1.deadline, calls[2].1.deadline);
    assert!((calls[1].1.deadline - told.deadline).num_seconds().abs() <= 1);
    let answers = w
        .store
        .release("r-1")
        .log
        .iter()
        .filter(|e| e.event.name() == "hook_answered")
        .count();
    assert_eq!(answers, 3, "every answer is on the record");
}

#[tokio::test]
async fn a_failing_pre_traffic_hook_refuses_the_release_with_nothing_shifted() {
    let w = world();
    w.hooks
        .script(SMOKE, vec![failed("GET /health answered 500")]);
    w.service
        .start(with_hooks("r-1", Some(SMOKE), None))
        .await
        .unwrap();
    let refused = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(
        (refused.phase.as_str(), refused.next),
        ("refused", Next::Done)
    );
    let reason = refused.reason.unwrap();
    assert!(
        reason.contains("pre-traffic hook orders-smoke failed: GET /health answered 500"),
        "{reason}"
    );
    assert_eq!(w.alias_writes(), 0);
    assert_eq!(w.routing(), "version 1");
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None, "the lock is given up");
    assert!(
        w.journal.count("announce r-1 refused") == 1,
        "{:?}",
        w.journal.entries()
    );
    // A later look finds it finished and calls nothing more.
    w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(w.hooks.calls().len(), 1);
}

#[tokio::test]
async fn a_hook_still_not_done_at_its_deadline_fails() {
    let w = world();
    w.hooks.script(SMOKE, vec![not_yet(60)]);
    w.service
        .start(with_hooks("r-1", Some(SMOKE), None))
        .await
        .unwrap();
    w.service.advance(step("r-1")).await.unwrap();
    // Its first answer came 16 minutes ago (the default deadline is 15).
    w.store.interleave("load", |records| {
        records.change("r-1", |r| {
            for entry in &mut r.log {
                entry.at -= Duration::minutes(16);
            }
        })
    });
    let refused = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(refused.phase, "refused");
    assert!(refused
        .reason
        .unwrap()
        .contains("still not done at its deadline"));
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn a_failing_post_traffic_hook_at_full_traffic_rolls_the_release_back() {
    let w = world();
    w.hooks.script(E2E, vec![failed("checkout flow broken")]);
    w.service
        .start(with_hooks("r-1", None, Some(E2E)))
        .await
        .unwrap();
    assert_eq!(w.to_promotion("r-1").await.next, Next::Promote);
    let promoted = w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(
        (promoted.phase.as_str(), promoted.next),
        ("rolling_back", Next::Rollback)
    );
    assert_eq!(w.routing(), "version 2", "the hook ran at 100%");
    let told = &w.hooks.calls()[0].1;
    assert_eq!(told.phase, HookPhase::PostTraffic);
    let done = w.service.rollback(step("r-1")).await.unwrap();
    assert_eq!(done.phase, "rolled_back");
    assert_eq!(w.routing(), "version 1");
    assert!(done
        .reason
        .unwrap()
        .contains("post-traffic hook orders-e2e failed: checkout flow broken"));
}

#[tokio::test]
async fn a_post_traffic_hook_not_yet_done_keeps_the_release_at_full_traffic_then_succeeds() {
    let w = world();
    w.hooks
        .script(E2E, vec![not_yet(20), Ok(HookVerdict::Passed)]);
    w.service
        .start(with_hooks("r-1", None, Some(E2E)))
        .await
        .unwrap();
    w.to_promotion("r-1").await;
    let waiting = w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(
        (waiting.phase.as_str(), waiting.next, waiting.wait_seconds),
        ("promoting", Next::Wait, 20)
    );
    assert!(
        w.store.lock(FUNCTION, ALIAS).is_some(),
        "not succeeded yet: the lock is held"
    );
    // The workflow's look in between checks health, then comes back to the promotion.
    assert_eq!(
        w.service.advance(step("r-1")).await.unwrap().next,
        Next::Promote
    );
    let done = w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    assert_eq!(w.hooks.calls().len(), 2);
}

#[tokio::test]
async fn an_alarm_while_the_post_traffic_hook_is_not_done_rolls_back() {
    let w = world();
    w.hooks.script(E2E, vec![not_yet(20)]);
    w.service
        .start(with_hooks("r-1", None, Some(E2E)))
        .await
        .unwrap();
    w.to_promotion("r-1").await;
    w.service.promote(step("r-1")).await.unwrap();
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let checked = w.service.advance(step("r-1")).await.unwrap();
    assert_eq!(checked.next, Next::Rollback);
    w.service.rollback(step("r-1")).await.unwrap();
    assert_eq!(w.routing(), "version 1");
}

#[tokio::test]
async fn an_early_promote_skips_the_steps_but_not_the_post_traffic_hook() {
    let w = world();
    w.hooks.script(E2E, vec![Ok(HookVerdict::Passed)]);
    w.service
        .start(with_hooks("r-1", None, Some(E2E)))
        .await
        .unwrap();
    let early = w
        .service
        .control("r-1", Control::Promote, "bob")
        .await
        .unwrap();
    assert_eq!(
        (early.phase.as_str(), early.next),
        ("promoting", Next::Promote)
    );
    assert_eq!(w.routing(), "version 2");
    assert!(w.hooks.calls().is_empty());
    let done = w.service.promote(step("r-1")).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    assert_eq!(w.hooks.calls().len(), 1);
}

#[tokio::test]
async fn a_hook_the_stack_does_not_allow_is_refused_before_anything_is_recorded() {
    let w = world();
    let err = w
        .service
        .start(with_hooks("r-1", Some("payments-smoke"), None))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("pre-traffic hook payments-smoke is not one the stack may invoke"),
        "{err}"
    );
    assert!(w.journal.entries().is_empty(), "{:?}", w.journal.entries());
    assert_eq!(w.store.lock(FUNCTION, ALIAS), None);
}

#[tokio::test]
async fn an_answer_that_comes_back_after_an_abort_changes_nothing() {
    let w = world();
    w.hooks.script(SMOKE, vec![Ok(HookVerdict::Passed)]);
    w.service
        .start(with_hooks("r-1", Some(SMOKE), None))
        .await
        .unwrap();
    let store = w.store.clone();
    // The operator aborts while the hook runs: its pass must not move the alias.
    w.hooks.while_calling(move || {
        store.interleave("save", |records| {
            records.change("r-1", |r| {
                let abort = Input::Abort {
                    reason: "bob changed his mind".into(),
                };
                r.apply(abort, Utc::now(), "bob").unwrap();
            })
        })
    });
    let err = w.service.advance(step("r-1")).await.unwrap_err();
    assert!(matches!(err, Error::StaleRelease { .. }), "{err}");
    assert_eq!(w.alias_writes(), 0);
    assert_eq!(w.phase("r-1"), "rolling_back");
}
