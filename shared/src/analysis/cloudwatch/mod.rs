//! Health from CloudWatch: the current state of a release's alarms, and (metrics.rs) its two
//! versions' traffic for canary analysis.

mod analysis_alarm;
mod metrics;
mod warm_up;

use std::future::Future;

use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Utc};

use crate::analysis::{AnalysisAlarm, Comparison};
use crate::domain::{AlarmState, AlarmStatus, Release};
use crate::error::{AwsError, Error, Result};
use crate::ports::{HealthSource, VersionsQuery};

/// DescribeAlarms accepts at most this many names per call.
const NAMES_PER_CALL: usize = 100;

#[derive(Clone, Debug)]
pub struct CloudWatchHealth {
    client: Client,
}

fn state(value: Option<&StateValue>) -> AlarmState {
    match value {
        Some(StateValue::Alarm) => AlarmState::Alarm,
        Some(StateValue::Ok) => AlarmState::Ok,
        _ => AlarmState::InsufficientData,
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

impl CloudWatchHealth {
    pub fn new(client: Client) -> Self {
        CloudWatchHealth { client }
    }

    /// The state of each named alarm (metric or composite), in the order given. An alarm that
    /// does not exist is an error: a guard that cannot fire is no guard.
    pub async fn statuses(&self, names: &[String]) -> Result<Vec<AlarmStatus>> {
        let mut found = Vec::with_capacity(names.len());
        for chunk in names.chunks(NAMES_PER_CALL) {
            let out = self
                .client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .max_records(NAMES_PER_CALL as i32)
                .send()
                .await
                .map_err(|e| Error::Aws(AwsError::from_sdk("DescribeAlarms", e)))?;
            for alarm in out.metric_alarms() {
                found.push(AlarmStatus {
                    name: alarm.alarm_name().unwrap_or_default().to_string(),
                    state: state(alarm.state_value()),
                    reason: alarm.state_reason().unwrap_or_default().to_string(),
                    since: time(alarm.state_transitioned_timestamp())
                        .or_else(|| time(alarm.state_updated_timestamp())),
                });
            }
            for alarm in out.composite_alarms() {
                found.push(AlarmStatus {
                    name: alarm.alarm_name().unwrap_or_default().to_string(),
                    state: state(alarm.state_value()),
                    reason: alarm.state_reason().unwrap_or_default().to_string(),
                    since: time(alarm.state_transitioned_timestamp())
                        .or_else(|| time(alarm.state_updated_timestamp())),
                });
            }
        }
        let missing: Vec<String> = names
            .iter()
            .filter(|name| !found.iter().any(|a| &a.name == *name))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Error::AlarmsMissing(missing));
        }
        Ok(names
            .iter()
            .filter_map(|name| found.iter().find(|a| &a.name == name).cloned())
            .collect())
    }
}

impl HealthSource for CloudWatchHealth {
    fn statuses(&self, names: &[String]) -> impl Future<Output = Result<Vec<AlarmStatus>>> + Send {
        CloudWatchHealth::statuses(self, names)
    }

    fn compare_versions(
        &self,
        query: &VersionsQuery,
    ) -> impl Future<Output = Result<Comparison>> + Send {
        CloudWatchHealth::compare_versions(self, query)
    }

    fn put_analysis_alarm(&self, alarm: &AnalysisAlarm) -> impl Future<Output = Result<()>> + Send {
        CloudWatchHealth::put_analysis_alarm(self, alarm)
    }

    fn put_dashboard(
        &self,
        function: &str,
        alias: &str,
        releases: &[Release],
    ) -> impl Future<Output = Result<String>> + Send {
        CloudWatchHealth::put_dashboard(self, function, alias, releases)
    }

    fn delete_alarms(&self, names: &[String]) -> impl Future<Output = Result<()>> + Send {
        CloudWatchHealth::delete_alarms(self, names)
    }
}
