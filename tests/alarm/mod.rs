//! The alarm handler against moto: each event shape, exactly-once under duplicates, untrusted
//! input, the bake window, and the critical path (one read, then the revert).

mod bake;
mod races;

use aws_sdk_cloudwatch::types::StateValue;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use shiftback::adapters::{AliasRouting, CloudWatchHealth, DynamoStore, LambdaRouter};
use shiftback::alarm::AlarmResponder;
use shiftback::domain::{Phase, Weight};
use shiftback::ports::AliasRouter as _;
use shiftback::service::{Control, Next, ReleaseService, StartRequest, StepInput};
use shiftback::Error;
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, block_on, emulator, function_with_versions,
    release_request, release_store, unique, AfterCall, CallLog, Clients, Emulator,
};

const ACCOUNT: &str = "123456789012";

struct Fixture {
    env: Emulator,
    service: ReleaseService,
    responder: AlarmResponder,
    function: String,
    alarm: String,
}

async fn fixture() -> Fixture {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let store = release_store(&env).await;
    let router = LambdaRouter::new(env.lambda.clone());
    let service = ReleaseService::new(
        router.clone(),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );
    let responder = AlarmResponder::new(router, store, None);
    Fixture {
        env,
        service,
        responder,
        function,
        alarm,
    }
}

impl Fixture {
    /// A release holding 10% on version 2, guarded by the fixture's alarm.
    async fn release_in_progress(&self, bake_after_secs: u64) -> String {
        let outcome = self
            .service
            .start(StartRequest {
                labels: Default::default(),
                members: Vec::new(),
                gates: Default::default(),
                hooks: Default::default(),
                release_id: Some(unique("r")),
                function: self.function.clone(),
                alias: "live".into(),
                stable_version: None,
                target_version: "2".into(),
                strategy: "canary:10:10m".into(),
                alarms: vec![self.alarm.clone()],
                alarm_overrides: vec![],
                bake_after_secs,
                started_by: "ci".into(),
                kind: Default::default(),
                analysis: shiftback::domain::AnalysisSettings::off(),
                retain_versions: None,
                supersede: false,
            })
            .await
            .unwrap();
        assert_eq!(
            self.alias().await.weight_towards("1", "2"),
            Some(Weight::from_percent(10.0).unwrap())
        );
        outcome.release_id
    }

    async fn alias(&self) -> AliasRouting {
        self.service
            .router
            .read(&self.function, "live")
            .await
            .unwrap()
            .routing
    }

    fn store(&self) -> &DynamoStore {
        &self.service.store
    }
}

fn direct(alarm: &str, composite: bool) -> Value {
    let configuration = if composite {
        json!({"alarmRule": "ALARM(a)", "actionsSuppressor": "", "actionsSuppressorWaitPeriod": 0, "actionsSuppressorExtensionPeriod": 0})
    } else {
        json!({"metrics": []})
    };
    json!({
        "source": "aws.cloudwatch",
        "alarmArn": format!("arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{alarm}"),
        "accountId": ACCOUNT, "time": Utc::now().to_rfc3339(), "region": "us-east-1",
        "alarmData": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": "Threshold Crossed: 3 errors", "timestamp": Utc::now().to_rfc3339()},
            "configuration": configuration
        }
    })
}

fn sns(alarm: &str) -> Value {
    let message = json!({
        "AlarmName": alarm, "AWSAccountId": ACCOUNT, "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 3 errors",
        "StateChangeTime": Utc::now().format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string(),
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{alarm}"),
        "OldStateValue": "OK", "Trigger": {}
    });
    json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alarms:1",
        "Sns": {"Type": "Notification", "MessageId": "m1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
                "Subject": format!("ALARM: \"{alarm}\""), "Message": message.to_string(),
                "Timestamp": Utc::now().to_rfc3339(), "SignatureVersion": "1", "Signature": "x",
                "SigningCertUrl": "https://example.invalid", "UnsubscribeUrl": "https://example.invalid",
                "MessageAttributes": {}}
    }]})
}

async fn assert_rolled_back(f: &Fixture, id: &str) {
    assert_eq!(f.alias().await, AliasRouting::single("1"));
    let release = f.store().load(id).await.unwrap().release;
    assert_eq!(release.phase, Phase::RolledBack);
    let reason = release.reason.unwrap();
    assert!(
        reason.contains(&f.alarm) && reason.contains("Threshold Crossed"),
        "{reason}"
    );
    assert!(reason.contains("alias reverted"), "{reason}");
    let log = &release.log;
    assert_eq!(log.last().unwrap().actor, format!("alarm:{}", f.alarm));
    assert_eq!(
        f.store().lock_holder(&f.function, "live").await.unwrap(),
        None
    );
    assert!(f
        .store()
        .guards_for_alarm(&f.alarm)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn every_event_shape_reverts_and_records() {
    for shape in ["eventbridge", "metric", "composite", "sns"] {
        let f = fixture().await;
        let id = f.release_in_progress(0).await;
        let event = match shape {
            "eventbridge" => alarm_state_change(&f.alarm, "ALARM", ACCOUNT),
            "metric" => direct(&f.alarm, false),
            "composite" => direct(&f.alarm, true),
            _ => sns(&f.alarm),
        };
        let outcomes = f.responder.handle(event, Some(ACCOUNT)).await.unwrap();
        assert_eq!(outcomes[0].reverted.len(), 1, "{shape}");
        assert!(outcomes[0].reverted[0].recorded, "{shape}");
        assert_rolled_back(&f, &id).await;
        // The workflow's next look ends quietly.
        let next = f.service.advance(StepInput::of(&id)).await.unwrap();
        assert_eq!(next.next, Next::Done, "{shape}");
    }
}

#[tokio::test]
async fn ok_and_insufficient_data_change_nothing() {
    let f = fixture().await;
    let id = f.release_in_progress(0).await;
    for state in ["OK", "INSUFFICIENT_DATA"] {
        let outcomes = f
            .responder
            .handle(alarm_state_change(&f.alarm, state, ACCOUNT), Some(ACCOUNT))
            .await
            .unwrap();
        assert!(outcomes[0].reverted.is_empty());
        assert!(outcomes[0].ignored.is_some());
    }
    assert_eq!(
        f.alias().await.weight_towards("1", "2"),
        Some(Weight::from_percent(10.0).unwrap())
    );
    assert!(matches!(
        f.store().load(&id).await.unwrap().release.phase,
        Phase::Shifting { .. }
    ));
}

#[tokio::test]
async fn untrusted_events_revert_nothing() {
    let f = fixture().await;
    let id = f.release_in_progress(0).await;
    // An alarm that guards nothing, even one named like the function.
    let stray = f
        .responder
        .handle(
            alarm_state_change(&f.function, "ALARM", ACCOUNT),
            Some(ACCOUNT),
        )
        .await
        .unwrap();
    assert!(stray[0].reverted.is_empty());
    // The right name, from another account.
    let foreign = f
        .responder
        .handle(
            alarm_state_change(&f.alarm, "ALARM", "999999999999"),
            Some(ACCOUNT),
        )
        .await
        .unwrap();
    assert!(foreign[0]
        .ignored
        .as_deref()
        .unwrap()
        .contains("999999999999"));
    // Not an alarm event at all.
    let err = f
        .responder
        .handle(json!({"function": f.function}), Some(ACCOUNT))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadRequest(_)), "{err}");
    assert_eq!(
        f.alias().await.weight_towards("1", "2"),
        Some(Weight::from_percent(10.0).unwrap())
    );
    assert!(matches!(
        f.store().load(&id).await.unwrap().release.phase,
        Phase::Shifting { .. }
    ));
}

#[tokio::test]
async fn an_alarm_state_change_from_before_the_release_started_reverts_nothing() {
    // Lambda keeps a failed asynchronous alarm action for up to 6 hours and delivers it late;
    // an alarm overridden at start changed state before the release too.
    let f = fixture().await;
    let id = f.release_in_progress(0).await;
    let mut old = alarm_state_change(&f.alarm, "ALARM", ACCOUNT);
    old["detail"]["state"]["timestamp"] = json!((Utc::now() - Duration::hours(1)).to_rfc3339());
    let outcomes = f.responder.handle(old, Some(ACCOUNT)).await.unwrap();
    assert!(outcomes[0].reverted.is_empty());
    let ignored = outcomes[0].ignored.clone().unwrap();
    assert!(ignored.contains("before release"), "{ignored}");
    assert_eq!(
        f.alias().await.weight_towards("1", "2"),
        Some(Weight::from_percent(10.0).unwrap())
    );
    let release = f.store().load(&id).await.unwrap().release;
    assert_eq!(release.phase, Phase::Shifting { step: 0 });
}

#[tokio::test]
async fn a_suppressed_composite_alarm_is_recorded_once_not_reverted() {
    let f = fixture().await;
    let id = f.release_in_progress(0).await;
    let mut event = alarm_state_change(&f.alarm, "ALARM", ACCOUNT);
    event["detail"]["state"]["actionsSuppressedBy"] = json!("Alarm");
    event["detail"]["configuration"] =
        json!({"alarmRule": "ALARM(a)", "actionsSuppressor": "maintenance-window"});
    for _ in 0..2 {
        let outcomes = f
            .responder
            .handle(event.clone(), Some(ACCOUNT))
            .await
            .unwrap();
        assert!(outcomes[0].reverted.is_empty());
        assert_eq!(
            outcomes[0].ignored.as_deref(),
            Some(
                format!(
                    "alarm {} fired while its actions were suppressed by maintenance-window (Alarm); not reverted",
                    f.alarm
                )
                .as_str()
            )
        );
    }
    assert_eq!(
        f.alias().await.weight_towards("1", "2"),
        Some(Weight::from_percent(10.0).unwrap())
    );
    let release = f.store().load(&id).await.unwrap().release;
    assert_eq!(release.phase, Phase::Shifting { step: 0 });
    let suppressed = release
        .log
        .iter()
        .filter(|e| e.event.name() == "alarm_suppressed")
        .count();
    assert_eq!(suppressed, 1, "recorded once however often it arrives");
}

/// An operator's ignore reaches the alarm function through the guard item its one Query reads
/// (no load of the release on the critical path): the firing is recorded, nothing reverted;
/// the other alarm still reverts.
#[tokio::test]
async fn an_ignored_alarm_is_recorded_from_its_guard_item_and_the_other_still_reverts() {
    let f = fixture().await;
    let latency = alarm_in_state(&f.env, StateValue::Ok).await;
    let mut request = release_request(&f.function, &f.alarm, "2", "canary:10:10m");
    request.alarms.push(latency.clone());
    let id = f.service.start(request).await.unwrap().release_id;
    let ignore = Control::Ignore {
        guard: f.alarm.clone(),
        for_secs: 600,
        reason: "batch import spike".into(),
    };
    f.service.control(&id, ignore, "bob").await.unwrap();
    let guards = f.store().guards_for_alarm(&f.alarm).await.unwrap();
    let until = guards[0]
        .ignored_until
        .expect("the guard item carries the ignore");
    assert!(until > Utc::now() + Duration::minutes(9), "{until}");

    let outcome = f
        .responder
        .handle(
            alarm_state_change(&f.alarm, "ALARM", ACCOUNT),
            Some(ACCOUNT),
        )
        .await
        .unwrap();
    assert!(outcome[0].reverted.is_empty(), "{outcome:?}");
    assert_eq!(
        f.alias().await.weight_towards("1", "2"),
        Some(Weight::from_percent(10.0).unwrap())
    );
    let release = f.store().load(&id).await.unwrap().release;
    assert_eq!(release.log.last().unwrap().event.name(), "alarm_suppressed");

    f.responder
        .handle(
            alarm_state_change(&latency, "ALARM", ACCOUNT),
            Some(ACCOUNT),
        )
        .await
        .unwrap();
    assert_eq!(f.alias().await, AliasRouting::single("1"));
}
