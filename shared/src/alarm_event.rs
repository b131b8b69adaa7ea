//! The three shapes in which a CloudWatch alarm reaches Lambda, reduced to one signal:
//! an EventBridge "CloudWatch Alarm State Change" event, a direct alarm action (metric or
//! composite), and an alarm notification delivered through SNS.

use aws_lambda_events::event::cloudwatch_alarms::CloudWatchAlarm;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::SnsEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::AlarmState;
use crate::error::{Error, Result};

const STATE_CHANGE: &str = "CloudWatch Alarm State Change";

/// One alarm's transition, whatever shape it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmSignal {
    pub alarm: String,
    pub alarm_arn: Option<String>,
    /// The account the alarm belongs to, when the event says.
    pub account: Option<String>,
    pub state: AlarmState,
    pub reason: String,
    pub changed_at: DateTime<Utc>,
    /// For a composite alarm whose actions a suppressor held: who held them (the suppressor
    /// alarm, and `Alarm`, `WaitPeriod` or `ExtensionPeriod`). Such an event is not acted on.
    pub suppressed_by: Option<String>,
}

/// "suppressor (WaitPeriod)" from a state's `actionsSuppressedBy` and the configuration's
/// `actionsSuppressor`, or None when the actions were not suppressed.
fn suppression(by: Option<&str>, configuration: Option<&Value>) -> Option<String> {
    let by = by.filter(|b| !b.is_empty())?;
    let suppressor = configuration
        .and_then(|c| c.get("actionsSuppressor"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    Some(match suppressor {
        Some(alarm) => format!("{alarm} ({by})"),
        None => by.to_string(),
    })
}

/// The parts of an alarm's SNS notification shiftback reads. Metric alarms send more (their
/// trigger), composite alarms send less; both send these.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsAlarmMessage {
    alarm_name: String,
    #[serde(default)]
    alarm_arn: Option<String>,
    #[serde(rename = "AWSAccountId", default)]
    aws_account_id: Option<String>,
    new_state_value: String,
    #[serde(default)]
    new_state_reason: String,
    state_change_time: String,
}

fn bad(message: impl Into<String>) -> Error {
    Error::BadRequest(message.into())
}

fn state(value: &str) -> Result<AlarmState> {
    AlarmState::parse(value).ok_or_else(|| bad(format!("unknown alarm state '{value}'")))
}

fn account_of(arn: Option<&str>) -> Option<String> {
    arn.and_then(crate::domain::arn::Arn::account_of)
        .map(str::to_string)
}

/// Reads an alarm event in any of its three shapes; anything else is refused, naming what
/// was expected.
pub fn parse_alarm_event(event: Value) -> Result<Vec<AlarmSignal>> {
    if event.get("Records").is_some() {
        let sns: SnsEvent =
            serde_json::from_value(event).map_err(|e| bad(format!("malformed SNS event: {e}")))?;
        return sns
            .records
            .iter()
            .map(|record| {
                let message: SnsAlarmMessage =
                    serde_json::from_str(&record.sns.message).map_err(|e| {
                        bad(format!(
                            "SNS message is not a CloudWatch alarm notification: {e}"
                        ))
                    })?;
                let changed_at =
                    DateTime::parse_from_str(&message.state_change_time, "%Y-%m-%dT%H:%M:%S%.3f%z")
                        .or_else(|_| DateTime::parse_from_rfc3339(&message.state_change_time))
                        .map_err(|e| {
                            bad(format!(
                                "invalid StateChangeTime '{}': {e}",
                                message.state_change_time
                            ))
                        })?
                        .with_timezone(&Utc);
                Ok(AlarmSignal {
                    account: message
                        .aws_account_id
                        .clone()
                        .or_else(|| account_of(message.alarm_arn.as_deref())),
                    alarm: message.alarm_name,
                    alarm_arn: message.alarm_arn,
                    state: state(&message.new_state_value)?,
                    reason: message.new_state_reason,
                    changed_at,
                    // CloudWatch sends no SNS notification while actions are suppressed.
                    suppressed_by: None,
                })
            })
            .collect();
    }
    if event.get("detail-type").is_some() {
        let event: EventBridgeEvent<Value> = serde_json::from_value(event)
            .map_err(|e| bad(format!("malformed EventBridge event: {e}")))?;
        if event.detail_type != STATE_CHANGE || event.source != "aws.cloudwatch" {
            return Err(bad(format!(
                "EventBridge event '{}' from '{}' is not a {STATE_CHANGE} from aws.cloudwatch",
                event.detail_type, event.source
            )));
        }
        let alarm = event.resources.as_ref().and_then(|r| r.first()).cloned();
        let detail: AlarmDetail = serde_json::from_value(event.detail)
            .map_err(|e| bad(format!("malformed alarm state change detail: {e}")))?;
        let current = detail
            .state
            .ok_or_else(|| bad("alarm state change has no state"))?;
        return Ok(vec![AlarmSignal {
            alarm: detail.alarm_name,
            account: event.account.or_else(|| account_of(alarm.as_deref())),
            alarm_arn: alarm,
            state: state(&current.value)?,
            suppressed_by: suppression(
                current.actions_suppressed_by.as_deref(),
                detail.configuration.as_ref(),
            ),
            reason: current.reason,
            changed_at: current.timestamp,
        }]);
    }
    if event.get("alarmData").is_some() {
        let alarm: CloudWatchAlarm<Value, Value> = serde_json::from_value(event)
            .map_err(|e| bad(format!("malformed CloudWatch alarm action event: {e}")))?;
        let current = alarm
            .alarm_data
            .state
            .ok_or_else(|| bad("alarm action event has no state"))?;
        let value = serde_json::to_value(&current.value)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let suppressed_by = suppression(
            current.actions_suppressed_by.as_deref(),
            Some(&alarm.alarm_data.configuration),
        );
        return Ok(vec![AlarmSignal {
            suppressed_by,
            alarm: alarm.alarm_data.alarm_name,
            account: alarm
                .account_id
                .clone()
                .or_else(|| account_of(alarm.alarm_arn.as_deref())),
            alarm_arn: alarm.alarm_arn,
            state: state(&value)?,
            reason: current.reason,
            changed_at: current.timestamp,
        }]);
    }
    Err(bad(
        "not an alarm event: expected an EventBridge 'CloudWatch Alarm State Change', a CloudWatch alarm action, or an SNS alarm notification",
    ))
}

/// EventBridge's `detail` for an alarm: the same fields as an alarm action's `alarmData`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlarmDetail {
    alarm_name: String,
    state: Option<DetailState>,
    #[serde(default)]
    configuration: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct DetailState {
    value: String,
    #[serde(default)]
    reason: String,
    timestamp: DateTime<Utc>,
    #[serde(rename = "actionsSuppressedBy", default)]
    actions_suppressed_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn eventbridge(alarm: &str, state: &str) -> Value {
        json!({
            "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
            "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
            "account": "123456789012", "time": "2026-11-22T18:00:00Z", "region": "us-east-1",
            "resources": [format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}")],
            "detail": {
                "alarmName": alarm,
                "state": {"value": state, "reason": "Threshold Crossed: 1 datapoint [5.0]", "timestamp": "2026-11-22T18:00:00.123+0000"},
                "previousState": {"value": "OK", "reason": "fine", "timestamp": "2026-11-22T17:00:00.000+0000"},
                "configuration": {"metrics": []}
            }
        })
    }

    #[test]
    fn eventbridge_state_change() {
        let signals = parse_alarm_event(eventbridge("orders-errors", "ALARM")).unwrap();
        assert_eq!(signals.len(), 1);
        let s = &signals[0];
        assert_eq!(
            (s.alarm.as_str(), s.state),
            ("orders-errors", AlarmState::Alarm)
        );
        assert_eq!(s.account.as_deref(), Some("123456789012"));
        assert!(s.reason.starts_with("Threshold Crossed"));
        assert_eq!(s.changed_at.timestamp_subsec_millis(), 123);
    }

    #[test]
    fn direct_alarm_action_metric_and_composite() {
        for configuration in [
            json!({"metrics": [{"id": "m1", "returnData": true, "metricStat": {"metric": {"namespace": "AWS/Lambda", "name": "Errors", "dimensions": {}}, "period": 60, "stat": "Sum"}}]}),
            json!({"alarmRule": "ALARM(a) OR ALARM(b)", "actionsSuppressor": "x", "actionsSuppressorWaitPeriod": 0, "actionsSuppressorExtensionPeriod": 0}),
        ] {
            let event = json!({
                "source": "aws.cloudwatch",
                "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-composite",
                "accountId": "123456789012", "time": "2026-11-22T18:00:00.000+0000", "region": "us-east-1",
                "alarmData": {
                    "alarmName": "orders-composite",
                    "state": {"value": "ALARM", "reason": "child alarm fired", "timestamp": "2026-11-22T18:00:00.000+0000"},
                    "previousState": {"value": "OK", "reason": "", "timestamp": "2026-11-22T17:00:00.000+0000"},
                    "configuration": configuration
                }
            });
            let s = &parse_alarm_event(event).unwrap()[0];
            assert_eq!(
                (s.alarm.as_str(), s.state),
                ("orders-composite", AlarmState::Alarm)
            );
            assert_eq!(s.reason, "child alarm fired");
        }
    }

    #[test]
    fn sns_wrapped_alarm() {
        let message = json!({
            "AlarmName": "orders-errors", "AlarmDescription": null, "AWSAccountId": "123456789012",
            "NewStateValue": "ALARM", "NewStateReason": "Threshold Crossed",
            "StateChangeTime": "2026-11-22T18:00:00.000+0000", "Region": "US East (N. Virginia)",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-errors",
            "OldStateValue": "OK"
        });
        let event = json!({"Records": [{
            "EventSource": "aws:sns", "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alarms:1",
            "Sns": {
                "Type": "Notification", "MessageId": "1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
                "Subject": "ALARM: \"orders-errors\"", "Message": message.to_string(),
                "Timestamp": "2026-11-22T18:00:01.000Z", "SignatureVersion": "1", "Signature": "x",
                "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {}
            }
        }]});
        let s = &parse_alarm_event(event).unwrap()[0];
        assert_eq!(
            (s.alarm.as_str(), s.state),
            ("orders-errors", AlarmState::Alarm)
        );
        assert_eq!(s.account.as_deref(), Some("123456789012"));
    }

    #[test]
    fn suppressed_composite_alarms_say_who_held_their_actions() {
        // The shape of aws_lambda_events' composite-with-suppressor fixture, as EventBridge
        // and as a direct alarm action.
        let state = json!({"value": "ALARM", "reason": "child in ALARM", "timestamp": "2026-11-22T18:00:00.000+0000",
                           "actionsSuppressedBy": "WaitPeriod", "actionsSuppressedReason": "Actions suppressed by WaitPeriod"});
        let configuration = json!({"alarmRule": "ALARM(a)", "actionsSuppressor": "maintenance",
                                   "actionsSuppressorWaitPeriod": 120, "actionsSuppressorExtensionPeriod": 180});
        let mut bridge = eventbridge("orders-composite", "ALARM");
        bridge["detail"]["state"] = state.clone();
        bridge["detail"]["configuration"] = configuration.clone();
        let direct = json!({
            "source": "aws.cloudwatch", "accountId": "123456789012", "time": "2026-11-22T18:00:00.000+0000",
            "alarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-composite", "region": "us-east-1",
            "alarmData": {"alarmName": "orders-composite", "state": state, "configuration": configuration}
        });
        for event in [bridge, direct] {
            let s = &parse_alarm_event(event).unwrap()[0];
            assert_eq!(s.suppressed_by.as_deref(), Some("maintenance (WaitPeriod)"));
        }
        let plain = &parse_alarm_event(eventbridge("orders-errors", "ALARM")).unwrap()[0];
        assert_eq!(plain.suppressed_by, None);
    }

    #[test]
    fn everything_else_is_refused_with_a_reason() {
        let cases = [
            json!({}),
            json!("ALARM"),
            json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}}),
            json!({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch", "detail": {"alarmName": 5}}),
            json!({"Records": [{"Sns": {"Message": "hello"}}]}),
            {
                let mut e = eventbridge("a", "ALARM");
                e["detail"]["state"]["value"] = json!("ON_FIRE");
                e
            },
        ];
        for case in cases {
            let err = parse_alarm_event(case.clone()).unwrap_err();
            assert!(matches!(err, Error::BadRequest(_)), "{case}: {err}");
        }
    }
}
