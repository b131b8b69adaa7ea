//! CloudWatch in memory: alarms by name, the versions' minutes, the releases' own alarms and
//! dashboards.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{AnalysisAlarm, Comparison, HealthSource, VersionsQuery};
use crate::domain::{AlarmState, AlarmStatus, Release};
use crate::error::{AwsErrorKind, Error, Result};
use crate::testing::aws;

/// A dashboard put: `function:alias`, and the ids of the releases it showed.
pub type DashboardPut = (String, Vec<String>);

/// CloudWatch: alarms by name, and the versions' minutes every comparison returns (with the
/// queries asked, in order).
#[derive(Default, Clone)]
pub struct MemoryHealth {
    alarms: Arc<Mutex<HashMap<String, AlarmStatus>>>,
    pub metrics: Arc<Mutex<Comparison>>,
    /// One function's own metrics, where they differ from `metrics` (a group's member).
    pub metrics_of: Arc<Mutex<HashMap<String, Comparison>>>,
    pub queries: Arc<Mutex<Vec<VersionsQuery>>>,
    /// The releases' own alarms that exist now.
    pub analysis_alarms: Arc<Mutex<HashMap<String, AnalysisAlarm>>>,
    /// Every dashboard put, in order.
    pub dashboards: Arc<Mutex<Vec<DashboardPut>>>,
    /// Metric reads refused (GetMetricData throttled past its retries, or not allowed).
    pub metrics_unreadable: Arc<std::sync::atomic::AtomicBool>,
    /// Alarm names (their endings) PutMetricAlarm refuses, as CloudWatch does past the
    /// account's alarm quota.
    pub refused_alarms: Arc<Mutex<Vec<String>>>,
}

impl MemoryHealth {
    pub fn set(&self, name: &str, state: AlarmState, since: DateTime<Utc>) {
        let status = AlarmStatus {
            name: name.into(),
            state,
            reason: format!("{name} is {state:?}"),
            since: Some(since),
        };
        self.alarms.lock().unwrap().insert(name.into(), status);
    }

    pub fn remove(&self, name: &str) {
        self.alarms.lock().unwrap().remove(name);
    }
}

impl HealthSource for MemoryHealth {
    async fn statuses(&self, names: &[String]) -> Result<Vec<AlarmStatus>> {
        let alarms = self.alarms.lock().unwrap();
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !alarms.contains_key(*n))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Error::AlarmsMissing(missing));
        }
        Ok(names.iter().map(|n| alarms[n].clone()).collect())
    }

    async fn compare_versions(&self, query: &VersionsQuery) -> Result<Comparison> {
        self.queries.lock().unwrap().push(query.clone());
        if self
            .metrics_unreadable
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(aws(
                "GetMetricData",
                AwsErrorKind::Throttled,
                "Rate exceeded",
            ));
        }
        if let Some(own) = self.metrics_of.lock().unwrap().get(&query.function) {
            return Ok(own.clone());
        }
        Ok(self.metrics.lock().unwrap().clone())
    }

    /// A new alarm is in INSUFFICIENT_DATA until CloudWatch first evaluates it.
    async fn put_analysis_alarm(&self, alarm: &AnalysisAlarm) -> Result<()> {
        let refused = self.refused_alarms.lock().unwrap().clone();
        if refused
            .iter()
            .any(|ending| alarm.name.ends_with(ending.as_str()))
        {
            return Err(aws(
                "PutMetricAlarm",
                AwsErrorKind::Rejected,
                "LimitExceeded: the account has too many alarms",
            ));
        }
        let status = AlarmStatus {
            name: alarm.name.clone(),
            state: AlarmState::InsufficientData,
            reason: "Unchecked: Initial alarm creation".into(),
            since: Some(Utc::now()),
        };
        self.alarms
            .lock()
            .unwrap()
            .insert(alarm.name.clone(), status);
        let mut alarms = self.analysis_alarms.lock().unwrap();
        alarms.insert(alarm.name.clone(), alarm.clone());
        Ok(())
    }

    async fn put_dashboard(
        &self,
        function: &str,
        alias: &str,
        releases: &[Release],
    ) -> Result<String> {
        let ids = releases.iter().map(|r| r.id.clone()).collect();
        let mut dashboards = self.dashboards.lock().unwrap();
        dashboards.push((format!("{function}:{alias}"), ids));
        Ok(format!("shiftback-{function}-{alias}"))
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<()> {
        let mut alarms = self.analysis_alarms.lock().unwrap();
        for name in names {
            alarms.remove(name);
            self.alarms.lock().unwrap().remove(name);
        }
        Ok(())
    }
}
