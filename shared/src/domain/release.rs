//! A release and the one transition function that moves it between phases.
//!
//! The release record is the desired state of an alias: whatever phase it is in says what the
//! alias should look like (see [`Release::desired_alias`]). Handlers record a decision first,
//! then make the alias match it, so a crash between the two leaves a record that says what to
//! finish or undo, never an alias shifted without one.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::strategy::{Schedule, Strategy, StrategyError};
use super::weight::Weight;

/// How long a paused release waits between looks at its state and health, at first. Later
/// looks come at a tenth of the time it has been paused, up to [`MAX_PAUSE_POLL_SECS`]: each
/// look adds about 9 events to the execution's history, which Step Functions caps at 25,000.
pub const PAUSE_POLL_SECS: u64 = 60;
pub const MAX_PAUSE_POLL_SECS: u64 = 900;
/// A release paused longer than this is aborted (back to its stable version, recorded and
/// announced), so its workflow always ends within the history cap: about 1,400 looks.
pub const MAX_PAUSE_SECS: u64 = 14 * 24 * 3600;
/// The longest an alarm may keep guarding a release after it succeeded.
pub const MAX_BAKE_AFTER_SECS: u64 = 7 * 24 * 3600;
/// Alarms one release may name. Bound by DynamoDB's 100 items per transaction: the start that
/// takes over an expired lock writes, in one transaction, the new release, its lock, its log
/// (at most 3 entries), a guard per alarm, and the broken release with its new log entry and
/// a guard deletion per alarm: 7 + 2 x 40 = 87 items, with room to spare. (CodeDeploy allows
/// 50, which would make that transaction 107 items: DynamoDB refuses it, every time.)
pub const MAX_ALARMS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackCause {
    /// A health check or an alarm said the target is unhealthy.
    Unhealthy,
    /// An operator asked for it.
    Aborted,
    /// A step of the workflow failed beyond its retries.
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Pending,
    Shifting {
        step: usize,
    },
    Paused {
        step: usize,
    },
    Promoting,
    Succeeded,
    RollingBack {
        cause: RollbackCause,
    },
    RolledBack,
    Aborted,
    Failed,
    /// Someone else moved the alias mid-release (a hotfix by hand): the release stopped and
    /// left the alias as it found it.
    Interrupted,
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Shifting { .. } => "shifting",
            Phase::Paused { .. } => "paused",
            Phase::Promoting => "promoting",
            Phase::Succeeded => "succeeded",
            Phase::RollingBack { .. } => "rolling_back",
            Phase::RolledBack => "rolled_back",
            Phase::Aborted => "aborted",
            Phase::Failed => "failed",
            Phase::Interrupted => "interrupted",
        }
    }

    /// Terminal phases hold no lock and take no further action from the workflow.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Phase::Succeeded
                | Phase::RolledBack
                | Phase::Aborted
                | Phase::Failed
                | Phase::Interrupted
        )
    }
}

/// What a health check concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Healthy,
    Unhealthy { reason: String },
}

/// What the alias should look like for a release in a given phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasTarget {
    /// Wholly on the stable version.
    Stable,
    /// The stable version, with `weight` of traffic on the target version.
    Weighted(Weight),
    /// Wholly on the target version.
    Target,
}

/// Inputs to the transition function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The release was recorded; start moving traffic.
    Begin,
    /// The workflow looks again, with the current health verdict.
    Check(Verdict),
    Pause,
    Resume,
    /// Skip the remaining steps.
    Promote,
    Abort {
        reason: String,
    },
    /// A step failed beyond its retries: roll back.
    Fail {
        error: String,
    },
    /// An alarm guarding the release fired. Also accepted in the bake window after success.
    /// Applied at the moment the alarm changed state: one that changed before the release
    /// started (an override at start, an old event redelivered) is refused.
    Alarm {
        alarm: String,
        reason: String,
    },
    /// A guarding alarm went into ALARM while a suppressor held its actions: recorded, not
    /// acted on.
    AlarmSuppressed {
        alarm: String,
        by: String,
        changed_at: DateTime<Utc>,
    },
    /// The alias was made wholly the target.
    Promoted,
    /// The alias was made wholly the stable version.
    RolledBack,
    /// Rolling back itself failed beyond retries: the alias may be anywhere.
    RollbackFailed {
        error: String,
    },
    /// This release's alias lock expired and release `by` took the alias over: the release
    /// ends here, leaving the alias as it is, for a person to look at.
    LockBroken {
        by: String,
        expired_at: DateTime<Utc>,
    },
    /// The alias was found where this release never put it: `found` describes it. On the
    /// stable version (`to_stable`) that is a rollback by hand; anywhere else someone took the
    /// alias over. Either way the release ends without touching the alias again.
    HandsOff {
        found: String,
        to_stable: bool,
    },
    /// A new release takes over the expired lock of release `from` before it begins.
    TakeOverLock {
        from: String,
        expired_at: DateTime<Utc>,
    },
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    SetWeight { step: usize, weight: Weight },
    Wait { secs: u64 },
    Promote,
    RollBack { reason: String },
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("release {id} is {phase}: cannot {input}")]
    Illegal {
        id: String,
        phase: &'static str,
        input: &'static str,
    },
    #[error(
        "alarm {alarm} changed state at {changed_at}, before release {id} started at {started_at}"
    )]
    AlarmBeforeStart {
        id: String,
        alarm: String,
        changed_at: DateTime<Utc>,
        started_at: DateTime<Utc>,
    },
    #[error("release {id} finished at {finished_at}; its bake window closed at {closed_at}")]
    BakeWindowClosed {
        id: String,
        finished_at: DateTime<Utc>,
        closed_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error("invalid function name '{0}': use the function's name or ARN without a qualifier")]
    FunctionName(String),
    #[error("function '{function}' is in region {region}, but shiftback runs in {ours}: release it with the shiftback stack of that region")]
    FunctionElsewhere {
        function: String,
        region: String,
        ours: String,
    },
    #[error("invalid alias name '{0}': 1-128 letters, digits, '-' or '_', not only digits, and not $LATEST")]
    AliasName(String),
    #[error("invalid {role} version '{value}': name a published version number ($LATEST cannot be weighted)")]
    Version { role: &'static str, value: String },
    #[error("the target version {0} is already the stable version: nothing to release")]
    SameVersion(String),
    #[error("invalid alarm name '{0}': 1-255 characters")]
    AlarmName(String),
    #[error("{0} alarms given; at most {MAX_ALARMS} can guard one release")]
    TooManyAlarms(usize),
    #[error("alarm override '{0}' is not one of the release's alarms")]
    OverrideNotGuarding(String),
    #[error("bake-after window of {0}s is longer than the {MAX_BAKE_AFTER_SECS}s allowed")]
    BakeAfterTooLong(u64),
    #[error("invalid release id '{0}': 1-64 letters, digits, '-' or '_'")]
    ReleaseId(String),
}

/// Is this release moving traffic forward, or an operator's revert to a recorded version?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseKind {
    #[default]
    Deploy,
    Revert,
}

/// What a caller asks for; validated into a [`Release`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSpec {
    /// Supplied by the caller to make a retried start harmless; generated when absent.
    #[serde(default)]
    pub release_id: Option<String>,
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub target_version: String,
    pub strategy: Strategy,
    #[serde(default)]
    pub alarms: Vec<String>,
    /// Alarms the requester knows are in ALARM and deploys through anyway (a fix for the
    /// very problem they report). Recorded in the release's log.
    #[serde(default)]
    pub alarm_overrides: Vec<String>,
    #[serde(default)]
    pub bake_after_secs: u64,
    #[serde(default)]
    pub started_by: String,
    #[serde(default)]
    pub kind: ReleaseKind,
}

/// One entry of a release's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    #[serde(flatten)]
    pub event: ReleaseEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ReleaseEvent {
    Started {
        strategy: Strategy,
        stable_version: String,
        target_version: String,
        alarms: Vec<String>,
        alarm_overrides: Vec<String>,
    },
    WeightSet {
        step: usize,
        steps: usize,
        weight: Weight,
    },
    HealthChecked {
        verdict: Verdict,
    },
    Paused,
    Resumed,
    PromoteRequested,
    Promoted,
    RollbackStarted {
        cause: RollbackCause,
        reason: String,
    },
    RolledBack {
        reason: String,
    },
    Failed {
        error: String,
    },
    /// The alias lock expired and another release took the alias over.
    LockBroken {
        by: String,
        expired_at: DateTime<Utc>,
    },
    /// This release took over another release's expired alias lock.
    LockTakenOver {
        from: String,
        expired_at: DateTime<Utc>,
    },
    /// The alias was put back on the stable version outside shiftback.
    ManualRollback {
        found: String,
    },
    /// The alias was moved outside shiftback to something this release never set.
    Interrupted {
        found: String,
    },
    /// A guarding alarm fired while its actions were suppressed; nothing was reverted.
    AlarmSuppressed {
        alarm: String,
        suppressed_by: String,
        changed_at: DateTime<Utc>,
    },
}

impl ReleaseEvent {
    pub fn name(&self) -> &'static str {
        match self {
            ReleaseEvent::Started { .. } => "started",
            ReleaseEvent::WeightSet { .. } => "weight_set",
            ReleaseEvent::HealthChecked { .. } => "health_checked",
            ReleaseEvent::Paused => "paused",
            ReleaseEvent::Resumed => "resumed",
            ReleaseEvent::PromoteRequested => "promote_requested",
            ReleaseEvent::Promoted => "promoted",
            ReleaseEvent::RollbackStarted { .. } => "rollback_started",
            ReleaseEvent::RolledBack { .. } => "rolled_back",
            ReleaseEvent::Failed { .. } => "failed",
            ReleaseEvent::LockBroken { .. } => "lock_broken",
            ReleaseEvent::LockTakenOver { .. } => "lock_taken_over",
            ReleaseEvent::AlarmSuppressed { .. } => "alarm_suppressed",
            ReleaseEvent::ManualRollback { .. } => "manual_rollback",
            ReleaseEvent::Interrupted { .. } => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: String,
    pub kind: ReleaseKind,
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub target_version: String,
    pub strategy: Strategy,
    pub schedule: Schedule,
    pub alarms: Vec<String>,
    pub alarm_overrides: Vec<String>,
    pub bake_after_secs: u64,
    pub started_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub phase: Phase,
    /// The target version's share of traffic the alias should carry now.
    pub weight: Weight,
    /// When the current step's weight was set (its bake runs from here).
    pub step_started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why the release ended as it did (rollback reason, failure), for people.
    pub reason: Option<String>,
    /// Incremented by every stored change; the store writes only over the revision it read.
    pub revision: u64,
    pub log: Vec<LogEntry>,
}

fn valid_release_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A function as an operator may name it: its name, a partial ARN (`ACCOUNT:function:NAME`)
/// or a full ARN, without a qualifier (the alias is named separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionRef<'a> {
    /// The bare name: what locks, guards and history are keyed by, however it was written.
    pub name: &'a str,
    pub region: Option<&'a str>,
    pub account: Option<&'a str>,
}

/// Reads a function reference by Lambda's naming rules, or None when it breaks them.
pub fn function_ref(name: &str) -> Option<FunctionRef<'_>> {
    let parts: Vec<&str> = name.split(':').collect();
    let (bare, region, account) = match parts.as_slice() {
        [bare] => (*bare, None, None),
        [account, "function", bare] => (*bare, None, Some(*account)),
        ["arn", _partition, "lambda", region, account, "function", bare] => {
            (*bare, Some(*region), Some(*account))
        }
        _ => return None,
    };
    let valid = name.len() <= 140
        && !bare.is_empty()
        && bare.len() <= 64
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    valid.then_some(FunctionRef {
        name: bare,
        region: region.filter(|r| !r.is_empty()),
        account: account.filter(|a| !a.is_empty()),
    })
}

fn valid_function_name(name: &str) -> bool {
    function_ref(name).is_some()
}

/// The one spelling of a function: its bare name. Two releases on one alias under two
/// spellings (name and ARN) must meet at the same lock.
pub fn canonical_function(name: &str) -> Result<String, SpecError> {
    function_ref(name)
        .map(|f| f.name.to_string())
        .ok_or_else(|| SpecError::FunctionName(name.chars().take(160).collect()))
}

pub fn valid_alias_name(alias: &str) -> bool {
    !alias.is_empty()
        && alias.len() <= 128
        && !alias.chars().all(|c| c.is_ascii_digit())
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && version.len() <= 10
        && version.chars().all(|c| c.is_ascii_digit())
        && version != "0"
}

/// A release id as an operator typed it, checked before it reaches any AWS call.
pub fn check_release_id(id: &str) -> Result<(), SpecError> {
    if valid_release_id(id) {
        Ok(())
    } else {
        Err(SpecError::ReleaseId(id.chars().take(80).collect()))
    }
}

/// A function name or ARN as an operator typed it.
pub fn check_function_name(name: &str) -> Result<(), SpecError> {
    if valid_function_name(name) {
        Ok(())
    } else {
        Err(SpecError::FunctionName(name.chars().take(160).collect()))
    }
}

/// A published version number (`role` says which, in the error).
pub fn check_version(role: &'static str, version: &str) -> Result<(), SpecError> {
    if valid_version(version) {
        Ok(())
    } else {
        Err(SpecError::Version {
            role,
            value: version.chars().take(40).collect(),
        })
    }
}

/// The names a request carries, checked before they reach any AWS call (where an oversized
/// or malformed name would fail less clearly, or not at all).
pub fn check_names(function: &str, alias: &str, release_id: Option<&str>) -> Result<(), SpecError> {
    if let Some(id) = release_id {
        if !valid_release_id(id) {
            return Err(SpecError::ReleaseId(id.chars().take(80).collect()));
        }
    }
    if !valid_function_name(function) {
        return Err(SpecError::FunctionName(
            function.chars().take(160).collect(),
        ));
    }
    if !valid_alias_name(alias) {
        return Err(SpecError::AliasName(alias.chars().take(160).collect()));
    }
    Ok(())
}

impl ReleaseSpec {
    fn validate(&self) -> Result<Schedule, SpecError> {
        if !valid_version(&self.stable_version) {
            return Err(SpecError::Version {
                role: "stable",
                value: self.stable_version.chars().take(40).collect(),
            });
        }
        self.validate_without_stable()
    }

    /// Everything but the stable version, which may only be known once the alias is read:
    /// lets a request be refused for what it says before any AWS call.
    pub fn validate_without_stable(&self) -> Result<Schedule, SpecError> {
        check_names(&self.function, &self.alias, self.release_id.as_deref())?;
        if !valid_version(&self.target_version) {
            return Err(SpecError::Version {
                role: "target",
                value: self.target_version.chars().take(40).collect(),
            });
        }
        // An operator's revert may collapse a split alias onto the version it mostly carries.
        if self.stable_version == self.target_version && self.kind != ReleaseKind::Revert {
            return Err(SpecError::SameVersion(self.target_version.clone()));
        }
        if self.alarms.len() > MAX_ALARMS {
            return Err(SpecError::TooManyAlarms(self.alarms.len()));
        }
        if let Some(bad) = self
            .alarms
            .iter()
            .find(|a| a.trim().is_empty() || a.len() > 255)
        {
            return Err(SpecError::AlarmName(bad.chars().take(80).collect()));
        }
        if let Some(stray) = self
            .alarm_overrides
            .iter()
            .find(|o| !self.alarms.contains(o))
        {
            return Err(SpecError::OverrideNotGuarding(
                stray.chars().take(80).collect(),
            ));
        }
        if self.bake_after_secs > MAX_BAKE_AFTER_SECS {
            return Err(SpecError::BakeAfterTooLong(self.bake_after_secs));
        }
        Ok(self.strategy.schedule()?)
    }
}

/// A fresh, sortable, readable release id: `r-20261122T171500-3fa2`.
pub fn new_release_id(now: DateTime<Utc>) -> String {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("r-{}-{suffix}", now.format("%Y%m%dT%H%M%S"))
}

impl Release {
    /// Validates a request into a pending release whose log starts with who asked for what.
    pub fn new(spec: ReleaseSpec, now: DateTime<Utc>) -> Result<Release, SpecError> {
        let schedule = spec.validate()?;
        let mut alarms = spec.alarms;
        alarms.sort();
        alarms.dedup();
        let started_by = if spec.started_by.trim().is_empty() {
            "unknown".to_string()
        } else {
            spec.started_by
        };
        let mut release = Release {
            id: spec.release_id.unwrap_or_else(|| new_release_id(now)),
            kind: spec.kind,
            function: spec.function,
            alias: spec.alias,
            stable_version: spec.stable_version,
            target_version: spec.target_version,
            strategy: spec.strategy,
            schedule,
            alarms,
            alarm_overrides: spec.alarm_overrides,
            bake_after_secs: spec.bake_after_secs,
            started_by: started_by.clone(),
            created_at: now,
            updated_at: now,
            phase: Phase::Pending,
            weight: Weight::ZERO,
            step_started_at: None,
            finished_at: None,
            reason: None,
            revision: 0,
            log: Vec::new(),
        };
        let started = ReleaseEvent::Started {
            strategy: release.strategy.clone(),
            stable_version: release.stable_version.clone(),
            target_version: release.target_version.clone(),
            alarms: release.alarms.clone(),
            alarm_overrides: release.alarm_overrides.clone(),
        };
        release.record(now, &started_by, started);
        Ok(release)
    }

    /// What the alias should look like now.
    pub fn desired_alias(&self) -> Option<AliasTarget> {
        match self.phase {
            Phase::Pending => None,
            Phase::Shifting { .. } | Phase::Paused { .. } => {
                Some(AliasTarget::Weighted(self.weight))
            }
            Phase::Promoting | Phase::Succeeded => Some(AliasTarget::Target),
            Phase::RollingBack { .. } | Phase::RolledBack | Phase::Aborted => {
                Some(AliasTarget::Stable)
            }
            // Nobody knows where a failed rollback left the alias; leave it for a person.
            Phase::Failed => None,
            // Someone else owns the alias now.
            Phase::Interrupted => None,
        }
    }

    /// Whether the release still holds its alias lock: it gave it up when it finished, and a
    /// release re-opened by an alarm in its bake window does not take it back (the alias may
    /// be another release's by then).
    pub fn holds_alias_lock(&self) -> bool {
        !self.phase.is_terminal()
            && !self
                .log
                .iter()
                .any(|e| matches!(e.event, ReleaseEvent::Promoted))
    }

    /// Until when alarms keep guarding a succeeded release.
    pub fn guard_until(&self) -> Option<DateTime<Utc>> {
        match self.phase {
            Phase::Succeeded => self
                .finished_at
                .map(|t| t + Duration::seconds(self.bake_after_secs as i64)),
            _ => None,
        }
    }

    fn record(&mut self, at: DateTime<Utc>, actor: &str, event: ReleaseEvent) {
        self.log.push(LogEntry {
            at,
            actor: actor.to_string(),
            event,
        });
        self.updated_at = at;
    }

    fn illegal(&self, input: &Input) -> TransitionError {
        TransitionError::Illegal {
            id: self.id.clone(),
            phase: self.phase.name(),
            input: match input {
                Input::Begin => "begin",
                Input::Check(_) => "check health",
                Input::Pause => "pause",
                Input::Resume => "resume",
                Input::Promote => "promote",
                Input::Abort { .. } => "abort",
                Input::Fail { .. } => "fail",
                Input::Alarm { .. } => "roll back on an alarm",
                Input::Promoted => "record a promotion",
                Input::RolledBack => "record a rollback",
                Input::RollbackFailed { .. } => "record a failed rollback",
                Input::LockBroken { .. } => "record a broken lock",
                Input::TakeOverLock { .. } => "take over a lock",
                Input::AlarmSuppressed { .. } => "record a suppressed alarm",
                Input::HandsOff { .. } => "record an alias changed outside it",
            },
        }
    }

    /// Every weight this release recorded for the alias, in order (the last may be recorded
    /// and not yet applied): where a forward move of this release may find the alias.
    pub fn applied_weights(&self) -> Vec<Weight> {
        self.log
            .iter()
            .filter_map(|e| match e.event {
                ReleaseEvent::WeightSet { weight, .. } => Some(weight),
                _ => None,
            })
            .collect()
    }

    /// When the current pause began.
    fn paused_since(&self) -> Option<DateTime<Utc>> {
        self.log
            .iter()
            .rev()
            .find(|e| matches!(e.event, ReleaseEvent::Paused))
            .map(|e| e.at)
    }

    /// Whether this alarm's suppressed state change is on the record already (a duplicate).
    fn recorded_suppression(&self, alarm: &str, at: DateTime<Utc>) -> bool {
        self.log.iter().any(|e| {
            matches!(&e.event, ReleaseEvent::AlarmSuppressed { alarm: a, changed_at, .. }
                if a == alarm && *changed_at == at)
        })
    }

    fn set_step(&mut self, step: usize, now: DateTime<Utc>, actor: &str) -> Action {
        let weight = self.schedule.steps[step].weight;
        self.phase = Phase::Shifting { step };
        self.weight = weight;
        self.step_started_at = Some(now);
        let steps = self.schedule.steps.len();
        self.record(
            now,
            actor,
            ReleaseEvent::WeightSet {
                step,
                steps,
                weight,
            },
        );
        Action::SetWeight { step, weight }
    }

    fn start_promotion(&mut self) -> Action {
        self.phase = Phase::Promoting;
        Action::Promote
    }

    fn start_rollback(
        &mut self,
        cause: RollbackCause,
        reason: String,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Action {
        self.phase = Phase::RollingBack { cause };
        self.reason = Some(reason.clone());
        self.record(
            now,
            actor,
            ReleaseEvent::RollbackStarted {
                cause,
                reason: reason.clone(),
            },
        );
        Action::RollBack { reason }
    }

    fn finish(&mut self, phase: Phase, now: DateTime<Utc>) {
        self.phase = phase;
        self.finished_at = Some(now);
    }

    /// The one way a release changes. Returns what the caller must do next, or an error for an
    /// input the current phase does not allow (the release is then unchanged).
    pub fn apply(
        &mut self,
        input: Input,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<Action, TransitionError> {
        use Phase::*;
        if let Input::Alarm { alarm, .. } = &input {
            if now < self.created_at {
                return Err(TransitionError::AlarmBeforeStart {
                    id: self.id.clone(),
                    alarm: alarm.clone(),
                    changed_at: now,
                    started_at: self.created_at,
                });
            }
        }
        let action = match (self.phase, &input) {
            (Pending, Input::Begin) => {
                if self.schedule.steps.is_empty() {
                    self.start_promotion()
                } else {
                    self.set_step(0, now, actor)
                }
            }

            // A workflow that looks at a finished release (rolled back by the alarm handler,
            // say) simply ends.
            (phase, Input::Check(_)) if phase.is_terminal() => Action::Nothing,
            (RollingBack { .. }, Input::Check(_)) => Action::RollBack {
                reason: self.reason.clone().unwrap_or_default(),
            },
            (Promoting, Input::Check(_)) => Action::Promote,
            (Shifting { .. } | Paused { .. }, Input::Check(Verdict::Unhealthy { reason })) => {
                let verdict = Verdict::Unhealthy {
                    reason: reason.clone(),
                };
                self.record(now, actor, ReleaseEvent::HealthChecked { verdict });
                self.start_rollback(RollbackCause::Unhealthy, reason.clone(), now, actor)
            }
            (Paused { .. }, Input::Check(Verdict::Healthy)) => {
                let paused_for = (now - self.paused_since().unwrap_or(now))
                    .num_seconds()
                    .max(0) as u64;
                if paused_for > MAX_PAUSE_SECS {
                    let reason = format!(
                        "paused for more than {} days: aborted, so that its workflow ends before Step Functions' history limit",
                        MAX_PAUSE_SECS / 86_400
                    );
                    self.start_rollback(RollbackCause::Aborted, reason, now, actor)
                } else {
                    Action::Wait {
                        secs: (paused_for / 10).clamp(PAUSE_POLL_SECS, MAX_PAUSE_POLL_SECS),
                    }
                }
            }
            (Shifting { step }, Input::Check(Verdict::Healthy)) => {
                let bake = self.schedule.steps[step].bake_secs as i64;
                let started = self.step_started_at.unwrap_or(now);
                let remaining = (started + Duration::seconds(bake) - now).num_seconds();
                if remaining > 0 {
                    Action::Wait {
                        secs: remaining as u64,
                    }
                } else {
                    self.record(
                        now,
                        actor,
                        ReleaseEvent::HealthChecked {
                            verdict: Verdict::Healthy,
                        },
                    );
                    if step + 1 < self.schedule.steps.len() {
                        self.set_step(step + 1, now, actor)
                    } else {
                        self.start_promotion()
                    }
                }
            }

            (Shifting { step }, Input::Pause) => {
                self.phase = Paused { step };
                self.record(now, actor, ReleaseEvent::Paused);
                Action::Nothing
            }
            (Paused { step }, Input::Resume) => {
                // The bake of the current step starts afresh: a pause is usually a person
                // looking at something, and the step deserves a full observation after it.
                self.phase = Shifting { step };
                self.step_started_at = Some(now);
                self.record(now, actor, ReleaseEvent::Resumed);
                Action::Wait {
                    secs: self.schedule.steps[step].bake_secs,
                }
            }
            (Pending | Shifting { .. } | Paused { .. }, Input::Promote) => {
                self.record(now, actor, ReleaseEvent::PromoteRequested);
                self.start_promotion()
            }
            (Pending | Shifting { .. } | Paused { .. } | Promoting, Input::Abort { reason }) => {
                self.start_rollback(RollbackCause::Aborted, reason.clone(), now, actor)
            }
            (Pending | Shifting { .. } | Paused { .. } | Promoting, Input::Fail { error }) => {
                self.start_rollback(RollbackCause::Error, error.clone(), now, actor)
            }
            (
                Pending | Shifting { .. } | Paused { .. } | Promoting,
                Input::Alarm { alarm, reason },
            ) => {
                let reason = format!("alarm {alarm} is in ALARM: {reason}");
                self.start_rollback(RollbackCause::Unhealthy, reason, now, actor)
            }
            (Succeeded, Input::Alarm { alarm, reason }) => {
                let finished_at = self.finished_at.unwrap_or(self.updated_at);
                let closed_at = self.guard_until().unwrap_or(finished_at);
                if now > closed_at {
                    return Err(TransitionError::BakeWindowClosed {
                        id: self.id.clone(),
                        finished_at,
                        closed_at,
                    });
                }
                let reason = format!("alarm {alarm} is in ALARM during the bake window: {reason}");
                self.finished_at = None;
                self.start_rollback(RollbackCause::Unhealthy, reason, now, actor)
            }
            (Promoting, Input::Promoted) => {
                self.weight = Weight::FULL;
                self.finish(Succeeded, now);
                self.record(now, actor, ReleaseEvent::Promoted);
                Action::Nothing
            }
            (RollingBack { cause }, Input::RolledBack) => {
                self.weight = Weight::ZERO;
                let phase = if cause == RollbackCause::Aborted {
                    Aborted
                } else {
                    RolledBack
                };
                self.finish(phase, now);
                let reason = self.reason.clone().unwrap_or_default();
                self.record(now, actor, ReleaseEvent::RolledBack { reason });
                Action::Nothing
            }
            (RollingBack { .. }, Input::RollbackFailed { error }) => {
                self.reason = Some(format!(
                    "{}; rollback failed: {error}",
                    self.reason.clone().unwrap_or_default()
                ));
                self.finish(Failed, now);
                self.record(
                    now,
                    actor,
                    ReleaseEvent::Failed {
                        error: error.clone(),
                    },
                );
                Action::Nothing
            }
            (phase, Input::LockBroken { by, expired_at }) if !phase.is_terminal() => {
                self.reason = Some(format!(
                    "its alias lock expired at {} and release {by} took the alias over; the alias was left as it was",
                    expired_at.to_rfc3339()
                ));
                self.finish(Failed, now);
                self.record(
                    now,
                    actor,
                    ReleaseEvent::LockBroken {
                        by: by.clone(),
                        expired_at: *expired_at,
                    },
                );
                Action::Nothing
            }
            (
                phase,
                Input::AlarmSuppressed {
                    alarm,
                    by,
                    changed_at,
                },
            ) if (!phase.is_terminal() || self.guard_until().is_some_and(|u| *changed_at <= u))
                && !self.recorded_suppression(alarm, *changed_at) =>
            {
                self.record(
                    now,
                    &format!("alarm:{alarm}"),
                    ReleaseEvent::AlarmSuppressed {
                        alarm: alarm.clone(),
                        suppressed_by: by.clone(),
                        changed_at: *changed_at,
                    },
                );
                Action::Nothing
            }
            (phase, Input::HandsOff { found, to_stable }) if !phase.is_terminal() => {
                if *to_stable {
                    self.weight = Weight::ZERO;
                    self.reason = Some(format!(
                        "the alias was put back on version {} outside shiftback (a rollback by hand)",
                        self.stable_version
                    ));
                    self.finish(RolledBack, now);
                    self.record(
                        now,
                        actor,
                        ReleaseEvent::ManualRollback {
                            found: found.clone(),
                        },
                    );
                } else {
                    self.reason = Some(format!(
                        "the alias was changed outside shiftback to {found}; the release stopped and left it as found"
                    ));
                    self.finish(Interrupted, now);
                    self.record(
                        now,
                        actor,
                        ReleaseEvent::Interrupted {
                            found: found.clone(),
                        },
                    );
                }
                Action::Nothing
            }
            (Pending, Input::TakeOverLock { from, expired_at }) => {
                self.record(
                    now,
                    actor,
                    ReleaseEvent::LockTakenOver {
                        from: from.clone(),
                        expired_at: *expired_at,
                    },
                );
                Action::Nothing
            }
            _ => return Err(self.illegal(&input)),
        };
        Ok(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn spec(strategy: &str) -> ReleaseSpec {
        ReleaseSpec {
            release_id: Some("r-1".into()),
            function: "orders".into(),
            alias: "live".into(),
            stable_version: "3".into(),
            target_version: "4".into(),
            strategy: strategy.parse().unwrap(),
            alarms: vec!["orders-errors".into()],
            alarm_overrides: vec![],
            bake_after_secs: 600,
            started_by: "alice".into(),
            kind: ReleaseKind::Deploy,
        }
    }

    fn release(strategy: &str) -> Release {
        Release::new(spec(strategy), t(0)).unwrap()
    }

    fn healthy() -> Input {
        Input::Check(Verdict::Healthy)
    }

    fn weight(p: f64) -> Weight {
        Weight::from_percent(p).unwrap()
    }

    #[test]
    fn linear_release_walks_every_step_then_promotes() {
        let mut r = release("linear:25:60s");
        assert_eq!(r.desired_alias(), None);
        assert_eq!(
            r.apply(Input::Begin, t(0), "wf").unwrap(),
            Action::SetWeight {
                step: 0,
                weight: weight(25.0)
            }
        );
        assert_eq!(r.desired_alias(), Some(AliasTarget::Weighted(weight(25.0))));
        // Too early: wait out the rest of the bake, changing nothing.
        assert_eq!(
            r.apply(healthy(), t(20), "wf").unwrap(),
            Action::Wait { secs: 40 }
        );
        assert_eq!(r.phase, Phase::Shifting { step: 0 });
        assert_eq!(
            r.apply(healthy(), t(60), "wf").unwrap(),
            Action::SetWeight {
                step: 1,
                weight: weight(50.0)
            }
        );
        assert_eq!(
            r.apply(healthy(), t(120), "wf").unwrap(),
            Action::SetWeight {
                step: 2,
                weight: weight(75.0)
            }
        );
        assert_eq!(r.apply(healthy(), t(180), "wf").unwrap(), Action::Promote);
        assert_eq!(r.desired_alias(), Some(AliasTarget::Target));
        assert_eq!(
            r.apply(Input::Promoted, t(181), "wf").unwrap(),
            Action::Nothing
        );
        assert_eq!(r.phase, Phase::Succeeded);
        assert_eq!(r.weight, Weight::FULL);
        assert_eq!(r.finished_at, Some(t(181)));
        let events: Vec<_> = r.log.iter().map(|e| e.event.name()).collect();
        assert_eq!(
            events,
            [
                "started",
                "weight_set",
                "health_checked",
                "weight_set",
                "health_checked",
                "weight_set",
                "health_checked",
                "promoted"
            ]
        );
        assert_eq!(r.log[1].at, t(0));
        assert_eq!(r.log[3].at, t(60));
    }

    #[test]
    fn all_at_once_promotes_immediately() {
        let mut r = release("AllAtOnce");
        assert_eq!(r.apply(Input::Begin, t(0), "wf").unwrap(), Action::Promote);
        assert_eq!(r.phase, Phase::Promoting);
    }

    #[test]
    fn unhealthy_verdict_rolls_back_with_reason_at_any_step() {
        let mut r = release("linear:25:60s");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        r.apply(healthy(), t(60), "wf").unwrap();
        let unhealthy = Input::Check(Verdict::Unhealthy {
            reason: "alarm orders-errors is in ALARM".into(),
        });
        assert_eq!(
            r.apply(unhealthy, t(70), "wf").unwrap(),
            Action::RollBack {
                reason: "alarm orders-errors is in ALARM".into()
            }
        );
        assert_eq!(r.desired_alias(), Some(AliasTarget::Stable));
        // The workflow looking again keeps asking for the rollback until it is recorded.
        assert!(matches!(
            r.apply(healthy(), t(71), "wf").unwrap(),
            Action::RollBack { .. }
        ));
        r.apply(Input::RolledBack, t(72), "wf").unwrap();
        assert_eq!(r.phase, Phase::RolledBack);
        assert_eq!(r.weight, Weight::ZERO);
        assert_eq!(r.reason.as_deref(), Some("alarm orders-errors is in ALARM"));
        // A finished release ends the workflow quietly.
        assert_eq!(r.apply(healthy(), t(80), "wf").unwrap(), Action::Nothing);
    }

    #[test]
    fn pause_holds_weight_until_resumed_and_bake_restarts() {
        let mut r = release("linear:50:60s");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        assert_eq!(
            r.apply(Input::Pause, t(10), "bob").unwrap(),
            Action::Nothing
        );
        assert_eq!(r.phase, Phase::Paused { step: 0 });
        // However long the pause, healthy looks hold the weight (looking again after a tenth
        // of the time paused so far: 990 s).
        assert_eq!(
            r.apply(healthy(), t(1000), "wf").unwrap(),
            Action::Wait { secs: 99 }
        );
        assert_eq!(r.desired_alias(), Some(AliasTarget::Weighted(weight(50.0))));
        assert!(r.apply(Input::Pause, t(1001), "bob").is_err());
        assert_eq!(
            r.apply(Input::Resume, t(1010), "bob").unwrap(),
            Action::Wait { secs: 60 }
        );
        assert_eq!(
            r.apply(healthy(), t(1030), "wf").unwrap(),
            Action::Wait { secs: 40 }
        );
        assert_eq!(r.apply(healthy(), t(1070), "wf").unwrap(), Action::Promote);
        let actors: Vec<_> = r
            .log
            .iter()
            .filter(|e| e.actor == "bob")
            .map(|e| e.event.name())
            .collect();
        assert_eq!(actors, ["paused", "resumed"]);
    }

    #[test]
    fn a_long_pause_backs_off_and_ends_within_the_history_limit() {
        let mut r = release("linear:50:60s");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        r.apply(Input::Pause, t(10), "bob").unwrap();
        // Walk the workflow's looks as Step Functions would, counting history events.
        const EVENTS_PER_LOOK: u64 = 9;
        let (mut now, mut looks) = (10, 0u64);
        let aborted = loop {
            looks += 1;
            match r.apply(healthy(), t(now), "wf").unwrap() {
                Action::Wait { secs } => {
                    assert!((PAUSE_POLL_SECS..=MAX_PAUSE_POLL_SECS).contains(&secs));
                    now += secs as i64;
                }
                action => break action,
            }
        };
        assert!(matches!(aborted, Action::RollBack { .. }), "{aborted:?}");
        assert_eq!(
            r.phase,
            Phase::RollingBack {
                cause: RollbackCause::Aborted
            }
        );
        assert!(r
            .reason
            .as_deref()
            .unwrap()
            .contains("paused for more than"));
        assert!(now as u64 >= MAX_PAUSE_SECS, "not before the limit");
        assert!(
            looks * EVENTS_PER_LOOK < 20_000,
            "{looks} looks would fill the execution history"
        );
    }

    #[test]
    fn unhealthy_while_paused_still_rolls_back() {
        let mut r = release("linear:50:60s");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        r.apply(Input::Pause, t(1), "bob").unwrap();
        let a = r
            .apply(
                Input::Check(Verdict::Unhealthy { reason: "x".into() }),
                t(2),
                "wf",
            )
            .unwrap();
        assert!(matches!(a, Action::RollBack { .. }));
    }

    #[test]
    fn promote_and_abort_take_effect_at_once() {
        let mut r = release("linear:10:10m");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        assert_eq!(
            r.apply(Input::Promote, t(5), "carol").unwrap(),
            Action::Promote
        );
        assert_eq!(r.phase, Phase::Promoting);

        let mut r = release("linear:10:10m");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        let a = r
            .apply(
                Input::Abort {
                    reason: "bad latency".into(),
                },
                t(5),
                "carol",
            )
            .unwrap();
        assert_eq!(
            a,
            Action::RollBack {
                reason: "bad latency".into()
            }
        );
        r.apply(Input::RolledBack, t(6), "wf").unwrap();
        assert_eq!(r.phase, Phase::Aborted);
    }

    #[test]
    fn failures_roll_back_and_a_failed_rollback_is_terminal() {
        let mut r = release("linear:10:10m");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        let a = r
            .apply(
                Input::Fail {
                    error: "throttled".into(),
                },
                t(1),
                "wf",
            )
            .unwrap();
        assert!(matches!(a, Action::RollBack { .. }));
        assert_eq!(
            r.phase,
            Phase::RollingBack {
                cause: RollbackCause::Error
            }
        );
        r.apply(
            Input::RollbackFailed {
                error: "access denied".into(),
            },
            t(2),
            "wf",
        )
        .unwrap();
        assert_eq!(r.phase, Phase::Failed);
        assert_eq!(r.desired_alias(), None);
        assert!(r.reason.unwrap().contains("access denied"));
    }

    #[test]
    fn alarm_during_bake_window_reverts_a_succeeded_release_but_not_after() {
        let mut r = release("AllAtOnce");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        r.apply(Input::Promoted, t(10), "wf").unwrap();
        assert_eq!(r.guard_until(), Some(t(610)));
        let mut late = r.clone();
        let alarm = |reason: &str| Input::Alarm {
            alarm: "orders-errors".into(),
            reason: reason.into(),
        };
        assert!(matches!(
            late.apply(alarm("5xx"), t(611), "alarm").unwrap_err(),
            TransitionError::BakeWindowClosed { .. }
        ));
        assert_eq!(late, r, "a refused input changes nothing");
        assert!(matches!(
            r.apply(alarm("5xx"), t(300), "alarm").unwrap(),
            Action::RollBack { .. }
        ));
        r.apply(Input::RolledBack, t(300), "alarm").unwrap();
        assert_eq!(r.phase, Phase::RolledBack);
        assert!(r.reason.as_deref().unwrap().contains("bake window"));
        // A second copy of the alarm finds the release finished.
        assert!(r.apply(alarm("5xx"), t(301), "alarm").is_err());
    }

    #[test]
    fn illegal_transitions_are_errors_and_change_nothing() {
        let fresh = release("linear:10:1m");
        let cases: Vec<(Input, Release)> = vec![
            (healthy(), fresh.clone()),
            (Input::Pause, fresh.clone()),
            (Input::Resume, fresh.clone()),
            (Input::Promoted, fresh.clone()),
            (Input::RolledBack, fresh.clone()),
            (Input::RollbackFailed { error: "x".into() }, fresh.clone()),
        ];
        for (input, mut r) in cases {
            let before = r.clone();
            assert!(
                matches!(
                    r.apply(input.clone(), t(1), "x"),
                    Err(TransitionError::Illegal { .. })
                ),
                "{input:?} on pending"
            );
            assert_eq!(r, before);
        }
        let mut done = release("AllAtOnce");
        done.apply(Input::Begin, t(0), "wf").unwrap();
        done.apply(Input::Promoted, t(1), "wf").unwrap();
        for input in [
            Input::Begin,
            Input::Pause,
            Input::Resume,
            Input::Promote,
            Input::Abort { reason: "x".into() },
            Input::Fail { error: "x".into() },
            Input::Promoted,
            Input::RolledBack,
        ] {
            let before = done.clone();
            let err = done.apply(input.clone(), t(2), "x").unwrap_err();
            assert!(err.to_string().contains("succeeded"), "{err}");
            assert_eq!(done, before);
        }
        let mut shifting = release("linear:10:1m");
        shifting.apply(Input::Begin, t(0), "wf").unwrap();
        assert!(shifting.apply(Input::Begin, t(1), "wf").is_err());
        assert!(shifting.apply(Input::Resume, t(1), "wf").is_err());
        assert!(shifting.apply(Input::Promoted, t(1), "wf").is_err());
    }

    #[test]
    fn specs_are_validated() {
        let bad = |f: fn(&mut ReleaseSpec)| {
            let mut s = spec("canary:10:5m");
            f(&mut s);
            Release::new(s, t(0)).unwrap_err()
        };
        assert!(matches!(
            bad(|s| s.target_version = "3".into()),
            SpecError::SameVersion(_)
        ));
        assert!(matches!(
            bad(|s| s.target_version = "$LATEST".into()),
            SpecError::Version { role: "target", .. }
        ));
        assert!(matches!(
            bad(|s| s.stable_version = "".into()),
            SpecError::Version { role: "stable", .. }
        ));
        assert!(matches!(
            bad(|s| s.alias = "$LATEST".into()),
            SpecError::AliasName(_)
        ));
        assert!(matches!(
            bad(|s| s.alias = "123".into()),
            SpecError::AliasName(_)
        ));
        assert!(matches!(
            bad(|s| s.function = "orders:live".into()),
            SpecError::FunctionName(_)
        ));
        assert!(matches!(
            bad(|s| s.function = "x".repeat(200)),
            SpecError::FunctionName(_)
        ));
        assert!(matches!(
            bad(|s| s.alarms = vec!["".into()]),
            SpecError::AlarmName(_)
        ));
        assert!(matches!(
            bad(|s| s.alarms = (0..=MAX_ALARMS).map(|i| i.to_string()).collect()),
            SpecError::TooManyAlarms(41)
        ));
        assert!(matches!(
            bad(|s| s.alarm_overrides = vec!["other".into()]),
            SpecError::OverrideNotGuarding(_)
        ));
        assert!(matches!(
            bad(|s| s.bake_after_secs = MAX_BAKE_AFTER_SECS + 1),
            SpecError::BakeAfterTooLong(_)
        ));
        assert!(matches!(
            bad(|s| s.release_id = Some("a b".into())),
            SpecError::ReleaseId(_)
        ));
        let mut ok = spec("canary:10:5m");
        ok.function = "arn:aws:lambda:us-east-1:123456789012:function:orders".into();
        assert!(Release::new(ok, t(0)).is_ok());
        let generated = new_release_id(t(0));
        assert!(generated.starts_with("r-20270115T"), "{generated}");
        assert!(valid_release_id(&generated));
    }

    #[test]
    fn a_function_has_one_name_however_it_is_written() {
        for spelling in [
            "orders",
            "123456789012:function:orders",
            "arn:aws:lambda:us-east-1:123456789012:function:orders",
        ] {
            assert_eq!(
                canonical_function(spelling).unwrap(),
                "orders",
                "{spelling}"
            );
        }
        let arn = function_ref("arn:aws:lambda:eu-west-1:123456789012:function:orders").unwrap();
        assert_eq!(
            (arn.region, arn.account),
            (Some("eu-west-1"), Some("123456789012"))
        );
        for bad in [
            "",
            "orders:live",
            "arn:aws:lambda:us-east-1:1:function:orders:7",
            "a b",
        ] {
            assert!(canonical_function(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn release_serializes_round_trip() {
        let mut r = release("steps:1@1m,50@1m");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Release>(&json).unwrap(), r);
        assert!(json.contains("\"phase\":\"shifting\""), "{json}");
    }
    #[test]
    fn a_broken_lock_ends_the_old_release_and_is_recorded_in_both() {
        let mut old = release("linear:25:60s");
        old.apply(Input::Begin, t(0), "wf").unwrap();
        assert!(old.holds_alias_lock());
        let broken = Input::LockBroken {
            by: "r-2".into(),
            expired_at: t(100),
        };
        assert_eq!(
            old.apply(broken.clone(), t(200), "start").unwrap(),
            Action::Nothing
        );
        assert_eq!(old.phase, Phase::Failed);
        assert!(!old.holds_alias_lock());
        // Failed leaves the alias for a person: nothing to converge to.
        assert_eq!(old.desired_alias(), None);
        assert!(old
            .reason
            .as_deref()
            .unwrap()
            .contains("release r-2 took the alias over"));
        assert_eq!(old.log.last().unwrap().event.name(), "lock_broken");
        // Only a live release can lose its lock, and only once.
        let before = old.clone();
        assert!(old.apply(broken, t(300), "start").is_err());
        assert_eq!(old, before);

        let mut new = release("linear:25:60s");
        let take_over = Input::TakeOverLock {
            from: "r-1".into(),
            expired_at: t(100),
        };
        new.apply(take_over.clone(), t(200), "wf").unwrap();
        assert_eq!(new.phase, Phase::Pending);
        assert_eq!(new.log.last().unwrap().event.name(), "lock_taken_over");
        new.apply(Input::Begin, t(200), "wf").unwrap();
        assert!(new.apply(take_over, t(201), "wf").is_err());
    }

    #[test]
    fn an_alarm_that_changed_state_before_the_release_started_is_refused() {
        let mut r = release("linear:25:60s");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        let before = r.clone();
        let alarm = Input::Alarm {
            alarm: "orders-errors".into(),
            reason: "overridden at start".into(),
        };
        let err = r.apply(alarm.clone(), t(-5), "alarm").unwrap_err();
        assert!(
            matches!(err, TransitionError::AlarmBeforeStart { .. }),
            "{err}"
        );
        assert_eq!(r, before);
        assert!(matches!(
            r.apply(alarm, t(5), "alarm").unwrap(),
            Action::RollBack { .. }
        ));
    }

    #[test]
    fn a_suppressed_alarm_is_recorded_once_and_changes_nothing_else() {
        let mut r = release("linear:25:60s");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        let suppressed = Input::AlarmSuppressed {
            alarm: "orders-composite".into(),
            by: "maintenance (Alarm)".into(),
            changed_at: t(30),
        };
        let (phase, weight) = (r.phase, r.weight);
        assert_eq!(
            r.apply(suppressed.clone(), t(31), "alarm").unwrap(),
            Action::Nothing
        );
        assert_eq!((r.phase, r.weight), (phase, weight));
        assert_eq!(r.log.last().unwrap().event.name(), "alarm_suppressed");
        let before = r.clone();
        assert!(r.apply(suppressed, t(32), "alarm").is_err(), "a duplicate");
        assert_eq!(r, before);
        // A finished release outside any bake window has nothing to record it on.
        let mut done = release("AllAtOnce");
        done.bake_after_secs = 0;
        done.apply(Input::Begin, t(0), "wf").unwrap();
        done.apply(Input::Promoted, t(1), "wf").unwrap();
        let late = Input::AlarmSuppressed {
            alarm: "orders-composite".into(),
            by: "maintenance".into(),
            changed_at: t(100),
        };
        assert!(done.apply(late, t(100), "alarm").is_err());
    }

    #[test]
    fn an_alias_taken_over_ends_the_release_hands_off() {
        for (to_stable, phase, event) in [
            (false, Phase::Interrupted, "interrupted"),
            (true, Phase::RolledBack, "manual_rollback"),
        ] {
            let mut r = release("linear:25:60s");
            r.apply(Input::Begin, t(0), "wf").unwrap();
            let found = Input::HandsOff {
                found: "version 9".into(),
                to_stable,
            };
            assert_eq!(r.apply(found.clone(), t(5), "wf").unwrap(), Action::Nothing);
            assert_eq!(r.phase, phase);
            assert!(r.phase.is_terminal());
            assert!(!r.holds_alias_lock());
            assert_eq!(r.log.last().unwrap().event.name(), event);
            if to_stable {
                assert_eq!(r.desired_alias(), Some(AliasTarget::Stable));
            } else {
                assert_eq!(r.desired_alias(), None, "left as found");
                assert!(r.reason.as_deref().unwrap().contains("version 9"));
            }
            assert!(r.apply(found, t(6), "wf").is_err(), "once");
        }
    }

    #[test]
    fn a_release_reopened_in_its_bake_window_holds_no_lock() {
        let mut r = release("AllAtOnce");
        r.apply(Input::Begin, t(0), "wf").unwrap();
        r.apply(Input::Promoted, t(1), "wf").unwrap();
        assert!(!r.holds_alias_lock());
        r.apply(
            Input::Alarm {
                alarm: "orders-errors".into(),
                reason: "errors".into(),
            },
            t(10),
            "alarm:orders-errors",
        )
        .unwrap();
        assert!(!r.phase.is_terminal());
        assert!(!r.holds_alias_lock());
    }
}
