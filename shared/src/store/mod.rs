//! The release store: releases with their logs, the one-release-per-alias lock, and the
//! alarm guards.

use std::future::Future;

pub mod dynamo;
#[cfg(any(test, feature = "testing"))]
pub mod memory;

pub use dynamo::{DynamoStore, Outbox, RecordClock, Watermark, HISTORY_INDEX, OPEN_INDEX};

use chrono::{DateTime, Duration, Utc};

use crate::domain::Release;
use crate::error::Result;

/// The release store: releases with their logs, the one-release-per-alias lock, and the
/// alarm guards. Every write is conditional: a release is saved only over the revision it was
/// loaded at ([`crate::Error::StaleRelease`] otherwise).
pub trait ReleaseRecords: Send + Sync {
    /// Records a new release with its lock and guards, all or nothing
    /// ([`crate::Error::LockHeld`], [`crate::Error::ReleaseExists`]).
    fn create(
        &self,
        release: &Release,
        now: DateTime<Utc>,
        takeover: Option<LockTakeover<'_>>,
    ) -> impl Future<Output = Result<LoadedRelease>> + Send;

    fn load(&self, id: &str) -> impl Future<Output = Result<LoadedRelease>> + Send;

    /// The release without its log.
    fn load_summary(&self, id: &str) -> impl Future<Output = Result<Release>> + Send;

    fn save(&self, tracked: &mut LoadedRelease) -> impl Future<Output = Result<()>> + Send;

    fn lock_holder(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = Result<Option<LockInfo>>> + Send;

    fn renew_lock(
        &self,
        release: &Release,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    fn history(
        &self,
        function: &str,
        limit: i32,
        page: Option<&str>,
    ) -> impl Future<Output = Result<HistoryPage>> + Send;

    fn guards_for_alarm(&self, alarm: &str) -> impl Future<Output = Result<Vec<Guard>>> + Send;

    /// The records' own clock: every time a release records, and every lock's expiry, is
    /// written and judged on it, never on the caller's (an operator's laptop may be off).
    fn now(&self) -> DateTime<Utc>;
}

/// How long after its expiry a lock counts as expired. Expiry is written and judged on the
/// records' clock (DynamoDB's, read to the second off its responses' `Date` header; see
/// [`RecordClock`]), never on a caller's: a few seconds cover that
/// reading's rounding.
pub const LOCK_EXPIRY_MARGIN_SECS: i64 = 5;

/// The holder of an alias lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub release_id: String,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl LockInfo {
    /// Whether a release may break this lock at `now`, a time on the records' clock
    /// ([`crate::ports::ReleaseRecords::now`]).
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at + Duration::seconds(LOCK_EXPIRY_MARGIN_SECS) < now
    }
}

/// What an alarm guards: enough to revert the alias without reading anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub alarm: String,
    pub release_id: String,
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub target_version: String,
    /// A group's other members, reverted with the first.
    pub members: Vec<crate::domain::Member>,
    /// None while the release is in progress; the end of the bake window once it succeeded.
    pub until: Option<DateTime<Utc>>,
    /// When the release started: an alarm state change before it is not about this release,
    /// and of two releases on one alias the newer decides where the alias goes. None on guards
    /// written before this was recorded (they count as the oldest).
    pub started_at: Option<DateTime<Utc>>,
    /// An operator's ignore of this alarm for this release: a state change before this time
    /// is recorded, not acted on.
    pub ignored_until: Option<DateTime<Utc>>,
}

impl Guard {
    /// One guard per alias it reverts: a group's guard stands for each of its members.
    pub fn per_member(self) -> Vec<Guard> {
        let members = self.members.clone();
        let mut guards = vec![Guard {
            members: Vec::new(),
            ..self.clone()
        }];
        guards.extend(members.into_iter().map(|m| Guard {
            function: m.function,
            alias: m.alias,
            stable_version: m.stable_version,
            target_version: m.target_version,
            members: Vec::new(),
            ..self.clone()
        }));
        guards
    }
}

/// One page of a function's history, newest first.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub releases: Vec<Release>,
    /// Pass back to get the next page; None on the last page.
    pub next: Option<String>,
}

/// A release as loaded, remembering how much of its log is already stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedRelease {
    pub release: Release,
    pub(crate) stored_log_len: usize,
    /// Whether the stored release still holds its alias lock (it was not yet terminal).
    pub(crate) holds_lock: bool,
}

impl LoadedRelease {
    /// A release as a store read it back: `release.log` is all stored.
    pub(crate) fn stored(release: Release) -> LoadedRelease {
        LoadedRelease {
            stored_log_len: release.log.len(),
            holds_lock: release.holds_alias_lock(),
            release,
        }
    }

    pub fn stored_log_len(&self) -> usize {
        self.stored_log_len
    }
}

/// Taking over an alias lock that expired: whose it was, and that release (already moved to
/// its lock-broken state) when it was still running, so both are recorded in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct LockTakeover<'a> {
    pub holder: &'a str,
    pub broken: Option<&'a LoadedRelease>,
}
