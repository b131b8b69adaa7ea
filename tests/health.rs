//! Alarm health against moto's CloudWatch (metric alarms, state set by SetAlarmState).

use aws_sdk_cloudwatch::types::StateValue;
use chrono::Utc;
use shiftback::adapters::CloudWatchHealth;
use shiftback::analysis::verdict;
use shiftback::domain::{AlarmState, Verdict};
use shiftback::Error;
use shiftback_integration_tests::{alarm_in_state, emulator, Emulator};

async fn alarm(env: &Emulator) -> String {
    alarm_in_state(env, StateValue::InsufficientData).await
}

async fn set_state(env: &Emulator, name: &str, state: StateValue) {
    env.cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason("test says so")
        .send()
        .await
        .expect("set alarm state");
}

#[tokio::test]
async fn alarm_states_are_read_and_judged() {
    let env = emulator().await;
    let health = CloudWatchHealth::new(env.cloudwatch.clone());
    let (a, b) = (alarm(&env).await, alarm(&env).await);
    set_state(&env, &a, StateValue::Ok).await;
    set_state(&env, &b, StateValue::Ok).await;
    let names = vec![a.clone(), b.clone()];

    let statuses = health.statuses(&names).await.unwrap();
    assert_eq!(
        statuses.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        names
    );
    assert!(statuses.iter().all(|s| s.state == AlarmState::Ok));
    assert_eq!(verdict(&statuses, &[], Utc::now()), Verdict::Healthy);

    set_state(&env, &b, StateValue::Alarm).await;
    let statuses = health.statuses(&names).await.unwrap();
    assert_eq!(statuses[1].state, AlarmState::Alarm);
    assert_eq!(statuses[1].reason, "test says so");
    match verdict(&statuses, &[], Utc::now()) {
        Verdict::Unhealthy { reason } => assert!(reason.contains(&b) && !reason.contains(&a)),
        v => panic!("expected unhealthy, got {v:?}"),
    }
}

#[tokio::test]
async fn a_missing_alarm_is_an_error_not_a_pass() {
    let env = emulator().await;
    let health = CloudWatchHealth::new(env.cloudwatch.clone());
    let real = alarm(&env).await;
    let err = health
        .statuses(&[real, "no-such-alarm".to_string()])
        .await
        .unwrap_err();
    match err {
        Error::AlarmsMissing(missing) => assert_eq!(missing, ["no-such-alarm"]),
        other => panic!("unexpected: {other}"),
    }
}
