//! Alarm verdicts: from the states of a release's alarms to a verdict, the one rule that both
//! the start's preflight and every later health check apply.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::release::Verdict;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn parse(text: &str) -> Option<AlarmState> {
        match text {
            "OK" => Some(AlarmState::Ok),
            "ALARM" => Some(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }
}

/// One alarm as CloudWatch reports it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmStatus {
    pub name: String,
    pub state: AlarmState,
    pub reason: String,
    /// When the alarm last changed state.
    pub since: Option<DateTime<Utc>>,
}

/// The alarms that count against a release started at `release_started`: every alarm in
/// ALARM, except an overridden alarm that has been in ALARM since before the start: the
/// requester saw that very episode and deployed through it (typically to ship its fix). A new
/// transition into ALARM after the start counts. Before a release starts, pass the time of
/// the check as its start.
pub fn firing<'a>(
    alarms: &'a [AlarmStatus],
    overrides: &[String],
    release_started: DateTime<Utc>,
) -> Vec<&'a AlarmStatus> {
    alarms
        .iter()
        .filter(|a| a.state == AlarmState::Alarm)
        .filter(|a| {
            let overridden = overrides.contains(&a.name);
            let same_episode = a.since.is_some_and(|since| since <= release_started);
            !(overridden && same_episode)
        })
        .collect()
}

/// Unhealthy if any alarm is [`firing`], naming each with CloudWatch's reason.
pub fn verdict(
    alarms: &[AlarmStatus],
    overrides: &[String],
    release_started: DateTime<Utc>,
) -> Verdict {
    let firing: Vec<String> = firing(alarms, overrides, release_started)
        .into_iter()
        .map(|a| format!("alarm {} is in ALARM: {}", a.name, a.reason))
        .collect();
    if firing.is_empty() {
        Verdict::Healthy
    } else {
        Verdict::Unhealthy {
            reason: firing.join("; "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn alarm(name: &str, state: AlarmState, since: i64) -> AlarmStatus {
        AlarmStatus {
            name: name.into(),
            state,
            reason: "Threshold Crossed".into(),
            since: Some(t(since)),
        }
    }

    #[test]
    fn any_alarm_in_alarm_is_unhealthy_and_named() {
        let alarms = [
            alarm("errors", AlarmState::Ok, 0),
            alarm("latency", AlarmState::Alarm, 5),
            alarm("throttles", AlarmState::InsufficientData, 0),
        ];
        match verdict(&alarms, &[], t(0)) {
            Verdict::Unhealthy { reason } => {
                assert!(
                    reason.contains("latency") && !reason.contains("errors"),
                    "{reason}"
                )
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(verdict(&alarms[..1], &[], t(0)), Verdict::Healthy);
        assert_eq!(verdict(&[], &[], t(0)), Verdict::Healthy);
    }

    #[test]
    fn override_covers_only_the_episode_seen_at_start() {
        let overrides = vec!["latency".to_string()];
        let seen = [alarm("latency", AlarmState::Alarm, -60)];
        assert_eq!(verdict(&seen, &overrides, t(0)), Verdict::Healthy);
        let new_episode = [alarm("latency", AlarmState::Alarm, 30)];
        assert!(matches!(
            verdict(&new_episode, &overrides, t(0)),
            Verdict::Unhealthy { .. }
        ));
        assert!(matches!(
            verdict(&seen, &[], t(0)),
            Verdict::Unhealthy { .. }
        ));
    }
}
