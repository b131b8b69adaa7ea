//! Ports: what the use cases need of the outside world, as small traits. The AWS adapters
//! implement them over one SDK client each; the services' unit tests implement them in memory
//! (`service::fakes`), so the decisions (refusals, races, retries) are tested in
//! milliseconds and the emulator tests are left with the wire.
//!
//! The futures are `Send` so a handler may run a use case on any runtime thread.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};

use crate::domain::analysis::{AnalysisAlarm, Comparison};
use crate::domain::hooks::{HookPayload, HookVerdict};
use crate::domain::retention::{PublishedVersion, VersionUses};
use crate::domain::routing::AliasRouting;
use crate::domain::{AlarmStatus, Release};
use crate::error::Result;

/// Calls a release's traffic hooks: Lambda functions that answer whether the target is fit
/// to take traffic (pre-traffic) or to keep it (post-traffic).
pub trait HookCaller: Send + Sync {
    /// The stack's pattern of functions it may invoke as hooks (None: no hook is allowed).
    fn allowed(&self) -> Option<&str>;

    /// The qualified ARN a hook is told to exercise: `name:version` where the account is not
    /// known (Lambda's Invoke takes that too).
    fn target_arn(&self, function: &str, version: &str) -> String {
        format!("{function}:{version}")
    }

    /// Calls `hook` and reads its answer. Only a failure to reach Lambda (throttling, 5xx) is
    /// an error; anything the hook does wrong is its verdict.
    fn call(
        &self,
        hook: &str,
        payload: &HookPayload,
    ) -> impl Future<Output = Result<HookVerdict>> + Send;
}

/// The traffic router: reads and writes a Lambda alias's routing. Which routing may follow
/// which is the domain's ([`crate::domain::routing`]); the router only reads and writes.
/// What Lambda says of one published version beyond its configuration, read by the router (a
/// revert's count, a start's checks) and by retention alike.
pub trait VersionFacts: Send + Sync {
    /// The durable executions RUNNING on a version: how many the listing's first page holds,
    /// and whether there are more.
    fn running_durable_executions(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<(usize, bool)>> + Send;

    /// Where a version's code is kept, and whether Lambda can retrieve it.
    fn code_location(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<CodeLocation>> + Send;
}

pub trait AliasRouter: VersionFacts {
    /// The region this router's calls go to, when known.
    fn region(&self) -> Option<String>;

    fn read(&self, function: &str, alias: &str) -> impl Future<Output = Result<AliasState>> + Send;

    /// Sets the routing and checks, from the update's own answer, that it took
    /// ([`crate::Error::VerifyFailed`] otherwise). `UpdateAlias` answers with the alias as
    /// stored, so no read-back is needed: a step costs one read and one write. With `expected_revision`, the update is a compare-and-swap: if anyone
    /// changed the alias since it was read, it fails as a
    /// [`crate::error::AwsErrorKind::Conflict`] and nothing is overwritten. Without it, the
    /// update wins over whatever is there: that is what a revert wants.
    fn set(
        &self,
        function: &str,
        alias: &str,
        routing: &AliasRouting,
        expected_revision: Option<&str>,
    ) -> impl Future<Output = Result<AliasState>> + Send {
        async move {
            let state = self
                .update(function, alias, routing, expected_revision)
                .await?;
            if &state.routing != routing {
                return Err(crate::Error::VerifyFailed {
                    function: function.to_string(),
                    alias: alias.to_string(),
                    expected: routing.to_string(),
                    actual: state.routing.to_string(),
                });
            }
            Ok(state)
        }
    }

    /// The bare write, unchecked (the revert's critical path): the alias as its answer
    /// describes it.
    fn update(
        &self,
        function: &str,
        alias: &str,
        routing: &AliasRouting,
        expected_revision: Option<&str>,
    ) -> impl Future<Output = Result<AliasState>> + Send;

    fn version_info(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<VersionInfo>> + Send;

    /// Creates the alias on `version` (a team's first deploy through the custom resource).
    fn create_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> impl Future<Output = Result<AliasState>> + Send;

    /// A version that can take traffic now, waiting a while for a pending one.
    fn ready_version(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<VersionInfo>> + Send;

    /// The function's tags: who owns it (CloudFormation's `aws:cloudformation:stack-id`) and
    /// whom its owner lets release it.
    fn function_tags(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, String>>> + Send;
}

/// What the custom resource provider needs to know of the stack that sent a request.
pub trait StackStates: Send + Sync {
    /// The stack's status (`UPDATE_ROLLBACK_IN_PROGRESS`, ...); None when it cannot be read
    /// (the caller then decides from the release records alone).
    fn status(&self, stack_id: &str) -> impl Future<Output = Option<String>> + Send;
}

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

/// The notifier: announces what a release's log holds that was not announced yet, and says
/// how many entries it sent.
pub trait Announcer: Send + Sync {
    fn announce(&self, release: &Release) -> impl Future<Output = Result<usize>> + Send;
}

/// The function's published versions, what uses them, and their deletion: what retention
/// needs of Lambda.
pub trait VersionCatalog: VersionFacts {
    /// Every published version (not `$LATEST`), all pages.
    fn versions(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Vec<PublishedVersion>>> + Send;
    /// Aliases, event source mappings, provisioned concurrency and function URLs.
    fn uses(&self, function: &str) -> impl Future<Output = Result<VersionUses>> + Send;
    /// The unqualified resource policy's grants to AWS services (statement, service): what
    /// may invoke `$LATEST`. Only the bypass warnings need it.
    fn latest_invokers(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// Who the version's own resource policy lets invoke it (`sid: principal`): services and
    /// accounts that call it by its ARN. Empty when it has no policy.
    fn version_grants(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// How many function versions (every function's) a capacity provider holds, against its
    /// quota of [`PROVIDER_VERSIONS_MAX`].
    fn provider_versions(&self, provider: &str) -> impl Future<Output = Result<usize>> + Send;
    /// Deletes one published version; one still in use or already gone is an answer, not
    /// an error.
    fn delete_version(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<Deletion>> + Send;
    /// The account's code storage in this region.
    fn code_storage(&self) -> impl Future<Output = Result<CodeStorage>> + Send;
}

/// What became of one version's deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// Lambda refused: something (an alias made since the listing) uses it. Kept.
    Refused(String),
    /// Someone else deleted it first.
    AlreadyGone,
}

/// Function versions one capacity provider may hold, every function's together ("Lambda
/// Managed Instances quotas": 100, cannot be increased).
pub const PROVIDER_VERSIONS_MAX: usize = 100;

/// Bytes of code stored in the region, and the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeStorage {
    pub used: i64,
    pub limit: i64,
}

/// Workflow control: stops a release's running workflow (a no-op once it ended), and ends its
/// wait at a gate.
pub trait ExecutionControl: Send + Sync {
    /// Starts the release's workflow, named after it. Starting one that exists already (a
    /// repeated request) is not an error: that release is underway, or done.
    fn launch(
        &self,
        release_id: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<()>> + Send;

    fn stop(&self, release_id: &str, cause: &str) -> impl Future<Output = Result<()>> + Send;

    /// Hands a gate's task token back with `output`; false when nothing waits on it any more.
    fn resume(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// Answers CloudFormation: the custom resource response, sent to the request's `ResponseURL`.
pub trait CfnAnswers: Send + Sync {
    fn send(
        &self,
        url: &str,
        response: &aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// An alias as read: its routing and the revision that a compare-and-swap names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasState {
    pub routing: AliasRouting,
    pub revision_id: Option<String>,
}

/// A published version as `GetFunctionConfiguration` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: String,
    pub role: String,
    pub dead_letter: Option<String>,
    pub state: Option<String>,
    pub state_reason: Option<String>,
    pub last_update: Option<String>,
    /// The capacity provider the version runs on (Lambda Managed Instances), if any.
    pub capacity_provider: Option<String>,
    /// A durable function's version (`DurableConfig`).
    pub durable: bool,
}

/// Where a version's code is kept, and whether Lambda can retrieve it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeLocation {
    /// In the team's own bucket (self-managed storage, by reference): the object; None in
    /// Lambda's own storage.
    pub reference: Option<String>,
    /// Why Lambda cannot retrieve it (the team's object deleted, its access revoked).
    pub unretrievable: Option<String>,
}

/// Whether a version can take traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Pending, or its last update still in progress: what it says now.
    NotYet(String),
    /// It will never be ready: why.
    Failed(String),
}

impl VersionInfo {
    /// A version reports neither field only where an API (or an emulator) predates them.
    pub fn readiness(&self) -> Readiness {
        let reason = self.state_reason.clone().unwrap_or_default();
        match (self.state.as_deref(), self.last_update.as_deref()) {
            (Some("Failed" | "Inactive"), _) | (_, Some("Failed")) => Readiness::Failed(format!(
                "version {} is {} ({reason})",
                self.version,
                self.state.as_deref().unwrap_or("failed")
            )),
            (Some("Pending"), _) => Readiness::NotYet(format!("State Pending ({reason})")),
            (_, Some("InProgress")) => Readiness::NotYet("LastUpdateStatus InProgress".into()),
            _ => Readiness::Ready,
        }
    }

    /// This version if it can take traffic now; [`crate::Error::NotReady`] (retryable) while
    /// it is pending, [`crate::Error::InvalidRouting`] once it never will.
    pub fn into_ready(self, function: &str) -> Result<VersionInfo> {
        match self.readiness() {
            Readiness::Ready => Ok(self),
            Readiness::NotYet(state) => Err(crate::Error::NotReady {
                function: function.to_string(),
                version: self.version,
                state,
            }),
            Readiness::Failed(reason) => Err(crate::Error::InvalidRouting {
                function: function.to_string(),
                alias: format!("(version {})", self.version),
                reason: format!("{reason}; it cannot take traffic"),
            }),
        }
    }
}

/// How long after its expiry a lock counts as expired. Expiry is written and judged on the
/// records' clock (DynamoDB's, read to the second off its responses' `Date` header; see
/// [`crate::adapters::store::RecordClock`]), never on a caller's: a few seconds cover that
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
