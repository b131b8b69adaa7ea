//! Analysis: every health verdict a release acts on. Alarm verdicts (the alarms a team wrote)
//! and canary analysis (the target version against the stable one on Lambda's per-version
//! metrics) combine here, in one place: the rules (pure), the port to CloudWatch
//! ([`HealthSource`]) and its adapter ([`cloudwatch::CloudWatchHealth`]).

pub mod advice;
pub mod alarm;
pub mod alarm_rule;
mod alarms;
pub mod canary;
pub mod cloudwatch;
pub mod dashboard;
pub mod evidence;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod settings;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_evidence;

pub use alarm::{
    alarm_name, analysis_alarm, guard_alarm_of, is_analysis_alarm, kind_alarm, AnalysisAlarm,
    WarmUp,
};
pub use alarm_rule::AlarmKind;
pub use alarms::{firing, verdict, AlarmState, AlarmStatus};
pub use canary::{judge, judge_step, window, CanaryVerdict, Comparison, Look, Minute};
pub use settings::{AnalysisSettings, Thresholds, WhenInconclusive};

use crate::domain::release::Verdict;

/// The verdict a release acts on: unhealthy if its alarms or its analysis say so (every
/// reason named), inconclusive if the analysis could not judge, healthy otherwise.
/// A group's verdict from each member's (named): unhealthy if any member is (every failing
/// member's reasons, each named), else inconclusive if any is, else healthy. One member's
/// verdict is its own, unnamed.
pub fn of_members(mut verdicts: Vec<(String, CanaryVerdict)>) -> Option<CanaryVerdict> {
    if verdicts.len() <= 1 {
        return verdicts.pop().map(|(_, v)| v);
    }
    let mut failed = Vec::new();
    let mut summaries = Vec::new();
    let mut inconclusive = None;
    for (member, verdict) in verdicts {
        match verdict {
            CanaryVerdict::Unhealthy { reasons, summary } => {
                failed.extend(reasons.into_iter().map(|r| format!("{member}: {r}")));
                summaries.push(format!("{member}: {summary}"));
            }
            CanaryVerdict::Inconclusive { why } => {
                inconclusive.get_or_insert(format!("{member}: {why}"));
            }
            CanaryVerdict::Healthy { summary } => summaries.push(format!("{member}: {summary}")),
        }
    }
    Some(if !failed.is_empty() {
        CanaryVerdict::Unhealthy {
            reasons: failed,
            summary: summaries.join("; "),
        }
    } else if let Some(why) = inconclusive {
        CanaryVerdict::Inconclusive { why }
    } else {
        CanaryVerdict::Healthy {
            summary: summaries.join("; "),
        }
    })
}

pub fn combine(alarms: Verdict, canary: Option<&CanaryVerdict>) -> Verdict {
    let mut reasons = Vec::new();
    if let Verdict::Unhealthy { reason } = &alarms {
        reasons.push(reason.clone());
    }
    match canary {
        Some(CanaryVerdict::Unhealthy {
            reasons: failed, ..
        }) => reasons.push(format!("canary analysis failed: {}", failed.join("; "))),
        Some(CanaryVerdict::Inconclusive { why }) if reasons.is_empty() => {
            return Verdict::Inconclusive {
                reason: format!("canary analysis inconclusive: {why}"),
            }
        }
        _ => {}
    }
    if let Verdict::Inconclusive { reason } = &alarms {
        if reasons.is_empty() {
            return Verdict::Inconclusive {
                reason: reason.clone(),
            };
        }
    }
    if reasons.is_empty() {
        Verdict::Healthy
    } else {
        Verdict::Unhealthy {
            reason: reasons.join("; "),
        }
    }
}

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::domain::Release;
use crate::error::Result;

/// The health source: what CloudWatch says of a release's health.
pub trait HealthSource: Send + Sync {
    /// Each named alarm's state, in the order given; a missing alarm is
    /// [`crate::Error::AlarmsMissing`].
    fn statuses(&self, names: &[String]) -> impl Future<Output = Result<Vec<AlarmStatus>>> + Send;

    /// Both versions' traffic through the alias, minute by minute, from Lambda's own metrics
    /// (`ExecutedVersion`).
    fn compare_versions(
        &self,
        query: &VersionsQuery,
    ) -> impl Future<Output = Result<Comparison>> + Send;

    /// Creates (or, the same name again, replaces) a release's own alarm.
    fn put_analysis_alarm(&self, alarm: &AnalysisAlarm) -> impl Future<Output = Result<()>> + Send;

    /// Creates or replaces the dashboard of `function:alias` from its recent releases (newest
    /// first, with their logs where their steps are to be shown); returns its name.
    fn put_dashboard(
        &self,
        function: &str,
        alias: &str,
        releases: &[Release],
    ) -> impl Future<Output = Result<String>> + Send;

    /// Deletes alarms by name; names that do not exist (any more) are not an error.
    fn delete_alarms(&self, names: &[String]) -> impl Future<Output = Result<()>> + Send;
}

/// Which minutes of which two versions, behind one alias of one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionsQuery {
    pub function: String,
    pub alias: String,
    pub target_version: String,
    pub stable_version: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}
