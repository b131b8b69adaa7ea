//! The workflow's task handlers against moto, driven the way the state machine drives them.

mod locks;
mod reverts;

use aws_sdk_cloudwatch::types::StateValue;
use shiftback::adapters::{AliasRouting, CloudWatchHealth, LambdaRouter};
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
        LambdaRouter::new(env.lambda.clone()),
        release_store(&env).await,
        CloudWatchHealth::new(env.cloudwatch.clone()),
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
    StepInput::of(&outcome.release_id)
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
        gate_expired: false,
        task_token: None,
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
