//! Property tests: whatever arrives, parsing answers with a value or an error, never a panic.

use proptest::prelude::*;
use serde_json::{json, Value};
use shiftback::alarm_event::parse_alarm_event;
use shiftback::domain::Strategy as ReleaseStrategy;
use shiftback::service::{parse_input, StartRequest, StepInput};

/// JSON values of any shape, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::hash_map(
                prop_oneof![
                    Just("Records".to_string()),
                    Just("detail-type".to_string()),
                    Just("alarmData".to_string()),
                    Just("detail".to_string()),
                    Just("source".to_string()),
                    Just("state".to_string()),
                    Just("Sns".to_string()),
                    Just("Message".to_string()),
                    ".{0,12}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn strategies(text in ".{0,80}") {
        let _ = text.parse::<ReleaseStrategy>();
    }

    #[test]
    fn strategy_like_text(text in "(steps|canary|linear|Canary|Linear)[:0-9@smh.,%-]{0,40}") {
        if let Ok(strategy) = text.parse::<ReleaseStrategy>() {
            // Anything accepted expands to a valid schedule and survives a round trip.
            prop_assert!(strategy.schedule().is_ok());
            prop_assert_eq!(strategy.to_string().parse::<ReleaseStrategy>().unwrap(), strategy);
        }
    }

    #[test]
    fn alarm_events(event in any_json()) {
        let _ = parse_alarm_event(event);
    }

    #[test]
    fn task_inputs(event in any_json()) {
        let _ = parse_input::<StartRequest>(event.clone());
        let _ = parse_input::<StepInput>(event);
    }

    #[test]
    fn eventbridge_events_with_hostile_fields(name in ".{0,300}", state in ".{0,20}", ts in ".{0,30}") {
        let event = json!({
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "detail": {"alarmName": name, "state": {"value": state, "reason": "", "timestamp": ts}}
        });
        let _ = parse_alarm_event(event);
    }
}
