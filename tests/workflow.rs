//! The workflow's task handlers against moto, driven the way the state machine drives them.

use aws_sdk_cloudwatch::types::StateValue;
use shiftback::adapters::{AlarmHealth, AliasRouting, TrafficRouter};
use shiftback::domain::{Phase, Weight};
use shiftback::ports::AliasRouter as _;
use shiftback::service::{
    Control, Next, ReleaseService, StartRequest, StepError, StepInput, StepOutcome,
};
use shiftback::Error;
use shiftback_integration_tests::{
    alarm_in_state, emulator, function_with_versions, release_request, release_store, Emulator,
};

struct Fixture {
    env: Emulator,
    service: ReleaseService,
    function: String,
    alarm: String,
}

async fn fixture() -> Fixture {
    let env = emulator().await;
    // Version 3 stands for a hotfix someone ships by hand.
    let function = function_with_versions(&env, 3, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let service = ReleaseService::new(
        TrafficRouter::new(env.lambda.clone()),
        release_store(&env).await,
        AlarmHealth::new(env.cloudwatch.clone()),
    );
    Fixture {
        env,
        service,
        function,
        alarm,
    }
}

async fn set_alarm(env: &Emulator, alarm: &str, state: StateValue) {
    env.cloudwatch
        .set_alarm_state()
        .alarm_name(alarm)
        .state_value(state)
        .state_reason("5xx above threshold")
        .send()
        .await
        .unwrap();
}

fn request(f: &Fixture, strategy: &str) -> StartRequest {
    release_request(&f.function, &f.alarm, "2", strategy)
}

fn step(outcome: &StepOutcome) -> StepInput {
    StepInput {
        release_id: Some(outcome.release_id.clone()),
        error: None,
    }
}

async fn alias(f: &Fixture) -> AliasRouting {
    f.service
        .router
        .read(&f.function, "live")
        .await
        .unwrap()
        .routing
}

/// The release holding the fixture's alias lock, if any.
async fn lock_holder(f: &Fixture) -> Option<String> {
    f.service
        .store
        .lock_holder(&f.function, "live")
        .await
        .unwrap()
        .map(|holder| holder.release_id)
}

fn pct(p: f64) -> Weight {
    Weight::from_percent(p).unwrap()
}

#[tokio::test]
async fn a_linear_release_ends_wholly_on_the_target_with_a_complete_history() {
    let f = fixture().await;
    let mut outcome = f
        .service
        .start(request(&f, "steps:10@0s,25@0s,50@0s"))
        .await
        .unwrap();
    let mut seen = vec![alias(&f).await.weight_towards("1", "2").unwrap()];
    while outcome.next == Next::Wait {
        outcome = f.service.advance(step(&outcome)).await.unwrap();
        seen.push(alias(&f).await.weight_towards("1", "2").unwrap());
    }
    assert_eq!(outcome.next, Next::Promote);
    let done = f.service.promote(step(&outcome)).await.unwrap();
    assert_eq!((done.next, done.phase.as_str()), (Next::Done, "succeeded"));
    assert_eq!(seen, [pct(10.), pct(25.), pct(50.), pct(50.)]);
    assert_eq!(alias(&f).await, AliasRouting::single("2"));

    let release = f
        .service
        .store
        .load(&outcome.release_id)
        .await
        .unwrap()
        .release;
    assert_eq!(release.phase, Phase::Succeeded);
    let events: Vec<_> = release.log.iter().map(|e| e.event.name()).collect();
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
    assert_eq!(lock_holder(&f).await, None);
    // Running the last step again changes nothing.
    let again = f.service.promote(step(&outcome)).await.unwrap();
    assert_eq!(again.phase, "succeeded");
}

#[tokio::test]
async fn an_alarm_before_step_three_ends_rolled_back_with_the_reason() {
    let f = fixture().await;
    let first = f
        .service
        .start(request(&f, "steps:10@0s,25@0s,50@0s"))
        .await
        .unwrap();
    let second = f.service.advance(step(&first)).await.unwrap();
    assert_eq!(alias(&f).await.weight_towards("1", "2"), Some(pct(25.)));
    set_alarm(&f.env, &f.alarm, StateValue::Alarm).await;
    let verdict = f.service.advance(step(&second)).await.unwrap();
    assert_eq!(verdict.next, Next::Rollback);
    let done = f.service.rollback(step(&verdict)).await.unwrap();
    assert_eq!(done.phase, "rolled_back");
    assert_eq!(alias(&f).await, AliasRouting::single("1"));
    let release = f
        .service
        .store
        .load(&first.release_id)
        .await
        .unwrap()
        .release;
    let reason = release.reason.unwrap();
    assert!(
        reason.contains(&f.alarm) && reason.contains("5xx above threshold"),
        "{reason}"
    );
    assert_eq!(lock_holder(&f).await, None);
}

#[tokio::test]
async fn a_failure_mid_release_ends_rolled_back_never_half_shifted() {
    let f = fixture().await;
    let first = f
        .service
        .start(request(&f, "steps:10@0s,25@0s"))
        .await
        .unwrap();
    // The state machine's Catch hands the failed step's input and error to rollback.
    let failed = StepInput {
        release_id: Some(first.release_id.clone()),
        error: Some(StepError {
            error: "Shiftback.Retryable".into(),
            cause: r#"{"errorType":"Shiftback.Retryable","errorMessage":"UpdateAlias failed (TooManyRequestsException)"}"#.into(),
        }),
    };
    let done = f.service.rollback(failed).await.unwrap();
    assert_eq!(done.phase, "rolled_back");
    assert!(done.reason.unwrap().contains("TooManyRequestsException"));
    assert_eq!(alias(&f).await, AliasRouting::single("1"));
    // The workflow looking again after the rollback ends quietly.
    let later = f.service.advance(step(&first)).await.unwrap();
    assert_eq!(later.next, Next::Done);
}

#[tokio::test]
async fn a_start_refused_leaves_nothing_behind() {
    let f = fixture().await;
    let store = &f.service.store;

    let mut unknown = request(&f, "canary:10:5m");
    unknown.target_version = "9".into();
    let err = f.service.start(unknown.clone()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");

    let mut latest = request(&f, "canary:10:5m");
    latest.target_version = "$LATEST".into();
    assert!(matches!(
        f.service.start(latest).await.unwrap_err(),
        Error::Spec(_)
    ));

    let bad_strategy = request(&f, "canary:150:5m");
    assert!(matches!(
        f.service.start(bad_strategy).await.unwrap_err(),
        Error::Strategy(_)
    ));

    let mut missing_alarm = request(&f, "canary:10:5m");
    missing_alarm.alarms = vec!["no-such-alarm".into()];
    assert!(matches!(
        f.service.start(missing_alarm).await.unwrap_err(),
        Error::AlarmsMissing(_)
    ));

    set_alarm(&f.env, &f.alarm, StateValue::Alarm).await;
    let firing = request(&f, "canary:10:5m");
    let err = f.service.start(firing.clone()).await.unwrap_err();
    assert!(
        matches!(err, Error::AlarmsFiring(ref a) if a == &vec![f.alarm.clone()]),
        "{err}"
    );

    assert_eq!(store.lock_holder(&f.function, "live").await.unwrap(), None);
    assert!(matches!(
        store.load(unknown.release_id.as_ref().unwrap()).await,
        Err(Error::ReleaseNotFound(_))
    ));
    assert_eq!(alias(&f).await, AliasRouting::single("1"));

    // Naming the firing alarm as an override deploys through it, and says so in the record.
    let mut through = firing;
    through.alarm_overrides = vec![f.alarm.clone()];
    let outcome = f.service.start(through).await.unwrap();
    let release = store.load(&outcome.release_id).await.unwrap().release;
    assert_eq!(release.alarm_overrides, vec![f.alarm.clone()]);
    assert_eq!(alias(&f).await.weight_towards("1", "2"), Some(pct(10.)));
}

#[tokio::test]
async fn a_repeated_start_is_the_same_release() {
    let f = fixture().await;
    let req = request(&f, "canary:10:5m");
    let first = f.service.start(req.clone()).await.unwrap();
    let second = f.service.start(req).await.unwrap();
    assert_eq!(first, second);
    let release = f
        .service
        .store
        .load(&first.release_id)
        .await
        .unwrap()
        .release;
    assert_eq!(release.log.len(), 2, "started and one weight, once");
    // Another release on the same alias is refused while this one holds it.
    let err = f
        .service
        .start(request(&f, "canary:10:5m"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::LockHeld { ref holder, .. } if holder == &first.release_id),
        "{err}"
    );
}

#[tokio::test]
async fn a_forward_shift_never_undoes_a_revert() {
    let f = fixture().await;
    let first = f
        .service
        .start(request(&f, "steps:10@0s,25@0s"))
        .await
        .unwrap();
    // Someone (the alarm path) reverted the alias; the release record has not caught up.
    f.service
        .router
        .set(&f.function, "live", &AliasRouting::single("1"), None)
        .await
        .unwrap();
    // Nobody records it: after a moment's grace for the alarm handler's record, it counts as
    // a rollback by hand, recorded as such, and the alias stays where it was put.
    let next = f.service.advance(step(&first)).await.unwrap();
    assert_eq!(next.next, Next::Done);
    assert_eq!(next.phase, "rolled_back");
    assert_eq!(alias(&f).await, AliasRouting::single("1"));
    let release = f
        .service
        .store
        .load(&first.release_id)
        .await
        .unwrap()
        .release;
    assert_eq!(release.log.last().unwrap().event.name(), "manual_rollback");
    assert!(release.reason.unwrap().contains("by hand"));
    assert_eq!(lock_holder(&f).await, None);
}

#[tokio::test]
async fn an_alias_taken_over_mid_release_is_left_as_found_and_recorded() {
    // An operator ships a hotfix by hand mid-release: neither the release's weights nor its
    // stable version. The release ends interrupted, touching the alias no more, whichever
    // step finds it: the next look, the promotion, the operator's promote, or a rollback.
    for moment in ["advance", "promote", "operator promote", "rollback"] {
        let f = fixture().await;
        let strategy = if moment == "promote" {
            "steps:10@0s"
        } else {
            "steps:10@0s,25@0s"
        };
        let first = f.service.start(request(&f, strategy)).await.unwrap();
        if moment == "promote" {
            let next = f.service.advance(step(&first)).await.unwrap();
            assert_eq!(next.next, Next::Promote);
        }
        let hotfix = AliasRouting::single("3");
        f.service
            .router
            .set(&f.function, "live", &hotfix, None)
            .await
            .unwrap();
        let outcome = match moment {
            "advance" => f.service.advance(step(&first)).await,
            "promote" => f.service.promote(step(&first)).await,
            "operator promote" => {
                f.service
                    .control(&first.release_id, Control::Promote, "bob")
                    .await
            }
            _ => {
                f.service
                    .rollback(StepInput {
                        release_id: Some(first.release_id.clone()),
                        error: None,
                    })
                    .await
            }
        }
        .unwrap_or_else(|e| panic!("{moment}: {e}"));
        assert_eq!(outcome.phase, "interrupted", "{moment}");
        assert_eq!(outcome.next, Next::Done, "{moment}");
        assert_eq!(alias(&f).await, hotfix, "{moment}: left as found");
        let release = f
            .service
            .store
            .load(&first.release_id)
            .await
            .unwrap()
            .release;
        assert_eq!(release.phase, Phase::Interrupted);
        assert!(release.reason.unwrap().contains("version 3"), "{moment}");
        assert!(
            !release.log.iter().any(|e| e.event.name() == "failed"),
            "{moment}: not a failed rollback"
        );
        assert_eq!(lock_holder(&f).await, None);
    }
}

#[tokio::test]
async fn an_alias_reverts_to_any_version_recorded_as_good_and_no_other() {
    let env = emulator().await;
    let function = function_with_versions(&env, 4, "live").await;
    let service = ReleaseService::new(
        TrafficRouter::new(env.lambda.clone()),
        release_store(&env).await,
        AlarmHealth::new(env.cloudwatch.clone()),
    );
    // 1 -> 2 -> 3, both succeeded.
    for target in ["2", "3"] {
        let outcome = service
            .start(StartRequest {
                release_id: None,
                function: function.clone(),
                alias: "live".into(),
                stable_version: None,
                target_version: target.into(),
                strategy: "AllAtOnce".into(),
                alarms: vec![],
                alarm_overrides: vec![],
                bake_after_secs: 0,
                started_by: "ci".into(),
                kind: Default::default(),
            })
            .await
            .unwrap();
        service
            .promote(StepInput {
                release_id: Some(outcome.release_id),
                error: None,
            })
            .await
            .unwrap();
    }
    let read = |s: &ReleaseService| {
        let s = s.clone();
        let f = function.clone();
        async move { s.router.read(&f, "live").await.unwrap().routing }
    };
    assert_eq!(read(&service).await, AliasRouting::single("3"));

    // Version 4 exists but was never live: refused, nothing changes.
    let err = service
        .revert_to(&function, "live", "4", "bob", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotKnownGood { .. }), "{err}");
    assert_eq!(read(&service).await, AliasRouting::single("3"));

    // Version 1, two releases back, was the stable version of the first release.
    let outcome = service
        .revert_to(&function, "live", "1", "bob", None)
        .await
        .unwrap();
    assert_eq!(outcome.phase, "succeeded");
    assert_eq!(read(&service).await, AliasRouting::single("1"));
    let history = service.store.history(&function, 10, None).await.unwrap();
    let newest = &history.releases[0];
    assert_eq!(newest.kind, shiftback::domain::ReleaseKind::Revert);
    assert_eq!(
        (
            newest.stable_version.as_str(),
            newest.target_version.as_str()
        ),
        ("3", "1")
    );
    assert_eq!(newest.started_by, "bob");
    assert_eq!(
        service.store.lock_holder(&function, "live").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_start_breaks_an_expired_lock_on_the_record_and_the_old_workflow_just_ends() {
    let f = fixture().await;
    // A release whose workflow died long ago, still holding the alias.
    let long_ago = chrono::Utc::now() - chrono::Duration::days(3);
    let stuck = recorded_at(&f, long_ago, vec![f.alarm.clone()]).await;

    let outcome = f.service.start(request(&f, "linear:50:1m")).await.unwrap();
    assert_eq!(alias(&f).await.weight_towards("1", "2"), Some(pct(50.0)));
    let holder = f
        .service
        .store
        .lock_holder(&f.function, "live")
        .await
        .unwrap();
    assert_eq!(holder.unwrap().release_id, outcome.release_id);

    let old = f.service.store.load(&stuck.id).await.unwrap().release;
    assert_eq!(old.phase, Phase::Failed);
    let last = old.log.last().unwrap();
    assert_eq!(last.event.name(), "lock_broken");
    assert!(old.reason.unwrap().contains(&outcome.release_id));
    let new = f.service.store.load(&outcome.release_id).await.unwrap();
    let events: Vec<_> = new.release.log.iter().map(|e| e.event.name()).collect();
    assert_eq!(events, ["started", "lock_taken_over", "weight_set"]);

    // The old workflow, waking up, finds its release over and leaves the alias alone.
    let late = f.service.advance(step_of(&stuck.id)).await.unwrap();
    assert_eq!(late.next, Next::Done);
    assert_eq!(alias(&f).await.weight_towards("1", "2"), Some(pct(50.0)));
}

fn step_of(release_id: &str) -> StepInput {
    StepInput {
        release_id: Some(release_id.to_string()),
        error: None,
    }
}

#[tokio::test]
async fn one_function_under_two_spellings_is_one_alias() {
    let f = fixture().await;
    let mut by_arn = request(&f, "canary:10:10m");
    by_arn.function = format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}",
        f.function
    );
    let first = f.service.start(by_arn).await.unwrap();
    // The same alias by its bare name: the same lock, so refused while the first runs.
    let err = f
        .service
        .start(request(&f, "canary:10:10m"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    let mut partial = request(&f, "canary:10:10m");
    partial.function = format!("123456789012:function:{}", f.function);
    let err = f.service.start(partial).await.unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    // Recorded under the one name, so history finds it by that name.
    let history = f
        .service
        .store
        .history(&f.function, 10, None)
        .await
        .unwrap();
    assert_eq!(history.releases.len(), 1);
    assert_eq!(history.releases[0].id, first.release_id);
    assert_eq!(history.releases[0].function, f.function);
    // An ARN of another region is not this stack's to release.
    let mut elsewhere = request(&f, "canary:10:10m");
    elsewhere.function = format!(
        "arn:aws:lambda:eu-west-1:123456789012:function:{}",
        f.function
    );
    let err = f.service.start(elsewhere).await.unwrap_err();
    assert!(err.to_string().contains("eu-west-1"), "{err}");
}

/// A release recorded as started at `at` (its lock counted from then), with nothing applied.
async fn recorded_at(
    f: &Fixture,
    at: chrono::DateTime<chrono::Utc>,
    alarms: Vec<String>,
) -> shiftback::domain::Release {
    let spec = shiftback::domain::ReleaseSpec {
        release_id: Some(shiftback_integration_tests::unique("r-old")),
        function: f.function.clone(),
        alias: "live".into(),
        stable_version: "1".into(),
        target_version: "2".into(),
        strategy: "linear:50:1m".parse().unwrap(),
        alarms,
        alarm_overrides: vec![],
        bake_after_secs: 0,
        started_by: "old-pipeline".into(),
        kind: Default::default(),
    };
    let mut release = shiftback::domain::Release::new(spec, at).unwrap();
    release
        .apply(shiftback::domain::Input::Begin, at, "workflow")
        .unwrap();
    f.service.store.create(&release, at, None).await.unwrap();
    release
}

#[tokio::test]
async fn a_lock_just_past_its_expiry_by_the_callers_clock_is_not_broken() {
    // The lock lasts the schedule (2 minutes) plus 6 hours; by this caller's clock it expired
    // a minute ago, which a clock a few minutes fast would also say of a live lock.
    let f = fixture().await;
    let held_for = chrono::Duration::seconds(120 + 6 * 3600 + 60);
    let old = recorded_at(&f, chrono::Utc::now() - held_for, vec![]).await;
    let err = f
        .service
        .start(request(&f, "linear:50:1m"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LockHeld { .. }), "{err}");
    let holder = f
        .service
        .store
        .lock_holder(&f.function, "live")
        .await
        .unwrap();
    assert_eq!(holder.unwrap().release_id, old.id);
}

#[tokio::test]
async fn every_look_at_a_paused_release_renews_its_lock() {
    let f = fixture().await;
    let first = f.service.start(request(&f, "linear:50:1m")).await.unwrap();
    f.service
        .control(&first.release_id, Control::Pause, "bob")
        .await
        .unwrap();
    let expiry = || async {
        f.service
            .store
            .lock_holder(&f.function, "live")
            .await
            .unwrap()
            .unwrap()
            .expires_at
    };
    let before = expiry().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let look = f.service.advance(step(&first)).await.unwrap();
    assert_eq!(look.phase, "paused");
    assert!(expiry().await > before, "a paused release keeps its alias");
}

#[tokio::test]
async fn a_rollback_repairs_a_split_alias() {
    // A release that failed outside shiftback's control can leave the alias split; the
    // operator's way out is `shiftback rollback --to` a version the history records as good.
    let f = fixture().await;
    let mut first = request(&f, "AllAtOnce");
    first.alarms.clear();
    let first = f.service.start(first).await.unwrap();
    f.service.promote(step(&first)).await.unwrap();
    let split = AliasRouting {
        version: "2".into(),
        extra: Some(("3".into(), pct(10.0))),
    };
    for to in ["2", "1"] {
        f.service
            .router
            .set(&f.function, "live", &split, None)
            .await
            .unwrap();
        let done = f
            .service
            .revert_to(&f.function, "live", to, "carol", None)
            .await
            .unwrap_or_else(|e| panic!("--to {to}: {e}"));
        assert_eq!(done.phase, "succeeded", "--to {to}");
        assert_eq!(alias(&f).await, AliasRouting::single(to));
        let release = f
            .service
            .store
            .load(&done.release_id)
            .await
            .unwrap()
            .release;
        assert_eq!(release.kind, shiftback::domain::ReleaseKind::Revert);
        assert_eq!(release.started_by, "carol");
    }
    // Already there: nothing to do, said plainly.
    let err = f
        .service
        .revert_to(&f.function, "live", "1", "carol", None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("already wholly on version 1"),
        "{err}"
    );
}
