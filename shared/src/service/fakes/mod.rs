//! In-memory ports for the use cases' unit tests. Each fake keeps what its AWS service keeps,
//! with the same conditions the adapters rely on: a release is saved only over the revision
//! it was loaded at, a lock is taken only if free (or expired, on takeover), an alias write
//! with a revision is a compare-and-swap. Every change of state goes to one shared journal,
//! so a test can assert what happened in which order (the revert before its record, say).
//!
//! A race is staged with `interleave`: a closure that runs once, just before the named call
//! of the fake, as another writer would (an alarm's revert landing between a step's read and
//! its write).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::analysis::{AnalysisAlarm, Comparison};
use crate::domain::{AlarmState, AlarmStatus, Release};
use crate::error::{AwsError, AwsErrorKind, Error, Result};
use crate::ports::*;

mod catalog;
mod hook_calls;
mod router;
mod store;

pub use catalog::FakeCatalog;
pub use hook_calls::FakeHooks;
pub use router::FakeRouter;
pub use store::FakeStore;

/// What changed, in order, across every fake of one test.
#[derive(Clone, Default, Debug)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    pub fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Where the first entry starting with `prefix` is, if any.
    pub fn position(&self, prefix: &str) -> Option<usize> {
        self.entries().iter().position(|e| e.starts_with(prefix))
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.entries()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }
}

type Hook<T> = Box<dyn FnOnce(&mut T) + Send>;

/// Hooks by the name of the call they run before, each run once.
pub(super) struct Hooks<T>(Mutex<Vec<(&'static str, Hook<T>)>>);

impl<T> Default for Hooks<T> {
    fn default() -> Self {
        Hooks(Mutex::new(Vec::new()))
    }
}

impl<T> Hooks<T> {
    pub(super) fn add(&self, call: &'static str, hook: Hook<T>) {
        self.0.lock().unwrap().push((call, hook));
    }

    pub(super) fn run(&self, call: &str, state: &mut T) {
        let hook = {
            let mut hooks = self.0.lock().unwrap();
            let at = hooks.iter().position(|(name, _)| *name == call);
            at.map(|i| hooks.remove(i).1)
        };
        if let Some(hook) = hook {
            hook(state);
        }
    }
}

pub(super) fn aws(operation: &'static str, kind: AwsErrorKind, message: &str) -> Error {
    Error::Aws(AwsError {
        operation,
        kind,
        code: None,
        message: message.to_string(),
    })
}

/// A dashboard put: `function:alias`, and the ids of the releases it showed.
pub type DashboardPut = (String, Vec<String>);

/// CloudWatch: alarms by name, and the versions' minutes every comparison returns (with the
/// queries asked, in order).
#[derive(Default, Clone)]
pub struct FakeAlarms {
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

impl FakeAlarms {
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

impl HealthSource for FakeAlarms {
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

/// Notifications: what was announced, as "release-id: log length".
#[derive(Default, Clone)]
pub struct FakeAnnouncer {
    pub journal: Journal,
}

impl Announcer for FakeAnnouncer {
    async fn announce(&self, release: &Release) -> Result<usize> {
        let entry = format!("announce {} {}", release.id, release.phase.name());
        self.journal.push(entry);
        Ok(release.log.len())
    }
}

/// CloudFormation's ResponseURLs: every answer sent.
#[derive(Default, Clone)]
pub struct FakeAnswers {
    /// Each answer, with the URL it was sent to.
    pub sent: Arc<
        Mutex<
            Vec<(
                String,
                aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse,
            )>,
        >,
    >,
}

impl CfnAnswers for FakeAnswers {
    async fn send(
        &self,
        url: &str,
        response: &aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse,
    ) -> Result<()> {
        self.sent
            .lock()
            .unwrap()
            .push((url.to_string(), response.clone()));
        Ok(())
    }
}

/// CloudFormation's stacks: the status every stack reads as (None: unreadable).
#[derive(Default, Clone)]
pub struct FakeStacks(pub Option<String>);

impl FakeStacks {
    pub fn rolling_back() -> Self {
        FakeStacks(Some(crate::service::UPDATE_ROLLBACK.to_string()))
    }
}

impl StackStates for FakeStacks {
    async fn status(&self, _stack_id: &str) -> Option<String> {
        self.0.clone()
    }
}

/// Step Functions executions: which were stopped.
#[derive(Default, Clone)]
pub struct FakeWorkflow {
    pub journal: Journal,
    /// Every execution launched, with its input: what the workflow's start would run.
    pub launched: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    /// Errors the next launches fail with, first one first (throttling, a missing machine).
    pub failing_launches: Arc<Mutex<Vec<Error>>>,
}

impl ExecutionControl for FakeWorkflow {
    async fn launch(&self, release_id: &str, input: &serde_json::Value) -> Result<()> {
        {
            let mut failing = self.failing_launches.lock().unwrap();
            if !failing.is_empty() {
                return Err(failing.remove(0));
            }
        }
        self.journal.push(format!("launch {release_id}"));
        let mut launched = self.launched.lock().unwrap();
        // Step Functions starts one execution per name.
        if !launched.iter().any(|(id, _)| id == release_id) {
            launched.push((release_id.to_string(), input.clone()));
        }
        Ok(())
    }

    async fn stop(&self, release_id: &str, _cause: &str) -> Result<()> {
        self.journal.push(format!("stop {release_id}"));
        Ok(())
    }

    async fn resume(&self, task_token: &str, output: &serde_json::Value) -> Result<bool> {
        self.journal.push(format!(
            "resume {task_token} next={}",
            output["next"].as_str().unwrap_or("")
        ));
        Ok(true)
    }
}
