//! Health: what CloudWatch says of a release (alarm states, both versions' metrics), and
//! the release's own alarms and dashboard.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::domain::analysis::{AnalysisAlarm, Comparison};
use crate::domain::{AlarmStatus, Release};
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
