//! A release and the one transition function that moves it between phases.
//!
//! The release record is the desired state of an alias: whatever phase it is in says what the
//! alias should look like (see [`Release::desired_alias`]). Handlers record a decision first,
//! then make the alias match it, so a crash between the two leaves a record that says what to
//! finish or undo, never an alias shifted without one.

mod as_at;
mod described;
mod gate;
mod hooked;
pub use hooked::HookPayload;
mod ignore;
mod input;
mod judged;
mod labels;
mod log;
mod member;
mod moves;
mod names;
mod open;
mod phase;
mod spec;
mod step_time;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_analysis;
#[cfg(test)]
mod tests_gates;
#[cfg(test)]
mod tests_groups;
#[cfg(test)]
mod tests_hooks;
#[cfg(test)]
mod tests_judged;
mod transition;
mod waiting;

pub use described::{Described, Severity, IN_PROGRESS};
pub use ignore::{ignore_until, ANALYSIS_GUARD, MAX_IGNORE_SECS};
pub use input::*;
pub use judged::{record_of, VersionRecord, DECLINED, STACK_ACTOR_PREFIX, WORKFLOW_ACTOR};
pub use labels::{check_labels, describe_labels, parse_label, MAX_LABELS};
pub use log::*;
pub use member::{Member, MAX_MEMBERS};
pub use names::*;
pub use phase::*;
pub use spec::*;
pub use step_time::{interim_looks, INTERIM_LOOK_MIN_SECS, MAX_INTERIM_LOOKS};
pub use waiting::StackWaiting;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::gates::Gates;
use super::strategy::{Schedule, Strategy};
use super::weight::Weight;
use crate::analysis::{AlarmKind, AnalysisSettings, CanaryVerdict};
use crate::hooks::{HookPhase, HookVerdict, Hooks};

pub use super::limits::{LOCK_GRACE_SECS, MAX_PAUSE_SECS};

/// How often an inconclusive step looks again for enough traffic: CloudWatch's resolution.
pub const INCONCLUSIVE_RETRY_SECS: u64 = 60;
/// The longest an alarm may keep guarding a release after it succeeded.
pub const MAX_BAKE_AFTER_SECS: u64 = 7 * 24 * 3600;
/// Alarms one release may name. Bound by DynamoDB's 100 items per transaction: the start that
/// takes over an expired lock writes, in one transaction, the new release, its lock, its log
/// (at most 3 entries), a guard per alarm (its own analysis alarm too), and the broken release
/// with its new log entry and a guard deletion per alarm: 7 + 2 x 41 = 89 items, with room to
/// spare. (CodeDeploy allows
/// 50, which would make that transaction 107 items: DynamoDB refuses it, every time.)
pub const MAX_ALARMS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: String,
    pub kind: ReleaseKind,
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub target_version: String,
    /// A group's other members, moved in step with the first (empty for a single release).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    pub strategy: Strategy,
    pub schedule: Schedule,
    pub alarms: Vec<String>,
    pub alarm_overrides: Vec<String>,
    pub bake_after_secs: u64,
    /// Read as off for a release stored before analysis existed: it finishes as it started.
    #[serde(default = "AnalysisSettings::off")]
    pub analysis: AnalysisSettings,
    /// The release's own analysis alarm (CloudWatch), while it has one: it guards the release
    /// as its other alarms do.
    #[serde(default)]
    pub analysis_alarm: Option<String>,
    /// Which alarms each member has besides its error-rate alarm. Empty on a release recorded
    /// before the others existed: it has the error-rate alarm alone, and is asked of no other.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analysis_alarm_kinds: Vec<AlarmKind>,
    /// The target is a durable function's version: a revert counts the executions left
    /// running on it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub target_durable: bool,
    /// A group's other functions whose target is a durable function's version: counted too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub durable_members: Vec<String>,
    /// Versions kept by the automatic retention that runs once the bake window closes.
    #[serde(default)]
    pub retain_versions: Option<u32>,
    /// The functions called before any traffic moves and at 100% before success.
    #[serde(default)]
    pub hooks: Hooks,
    /// Where it came from (a semantic version, the commit, the build URL, a note).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Its gates' settings (the gates themselves are on the schedule's steps).
    #[serde(default)]
    pub gates: Gates,
    /// The task token the workflow waits on at a gate, once registered: what `approve`,
    /// `promote` and `abort` hand back to Step Functions. Never logged or announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_token: Option<String>,
    /// The stack update that waits for this release's end (`Wait: true`), answered when its
    /// workflow ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_to: Option<StackWaiting>,
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

impl Release {
    /// Validates a request into a pending release whose log starts with who asked for what.
    pub fn new(spec: ReleaseSpec, now: DateTime<Utc>) -> Result<Release, SpecError> {
        let mut schedule = spec.validate()?;
        if spec.gates.before_promote {
            match schedule.steps.last_mut() {
                Some(last) => last.gate_after = true,
                None => {
                    return Err(SpecError::Gates(
                        "a gate before promotion needs a step to hold at: AllAtOnce has none"
                            .into(),
                    ))
                }
            }
        }
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
            members: spec.members,
            strategy: spec.strategy,
            schedule,
            alarms,
            alarm_overrides: spec.alarm_overrides,
            bake_after_secs: spec.bake_after_secs,
            analysis: spec.analysis,
            analysis_alarm: None,
            analysis_alarm_kinds: Vec::new(),
            target_durable: false,
            durable_members: Vec::new(),
            retain_versions: spec.retain_versions,
            hooks: spec.hooks,
            labels: spec.labels,
            gates: spec.gates,
            gate_token: None,
            answer_to: None,
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

    /// Every alarm that guards the release: its own analysis alarms with the ones it names.
    pub fn guarding_alarms(&self) -> Vec<String> {
        self.alarms
            .iter()
            .cloned()
            .chain(self.analysis_alarms())
            .collect()
    }

    /// The alarms the release is recorded as guarded by (one record each): the ones it names,
    /// and one per member for its own alarms (the error-rate alarm's name, which the alarm
    /// function finds from any of them with [`crate::analysis::guard_alarm_of`]), so
    /// that the start's one transaction stays within DynamoDB's 100 items.
    pub fn recorded_guards(&self) -> Vec<String> {
        self.alarms
            .iter()
            .cloned()
            .chain(self.member_alarm_bases())
            .collect()
    }

    /// Each member's own alarm name: the first member's named on the release, a group's
    /// others after it (`-m1`, `-m2`, ...). Its kinds add their suffixes.
    pub(super) fn member_alarm_bases(&self) -> Vec<String> {
        let Some(name) = &self.analysis_alarm else {
            return Vec::new();
        };
        std::iter::once(name.clone())
            .chain((1..=self.members.len()).map(|i| format!("{name}-m{i}")))
            .collect()
    }

    /// The kinds of alarm each member has.
    pub fn alarm_kinds(&self) -> Vec<AlarmKind> {
        if self.analysis_alarm_kinds.is_empty() {
            vec![AlarmKind::Errors]
        } else {
            self.analysis_alarm_kinds.clone()
        }
    }

    /// The release's own analysis alarms, while it has them: each member's, of each kind.
    pub fn analysis_alarms(&self) -> Vec<String> {
        let kinds = self.alarm_kinds();
        self.member_alarm_bases()
            .into_iter()
            .flat_map(|base| {
                kinds
                    .iter()
                    .map(move |kind| format!("{base}{}", kind.suffix()))
            })
            .collect()
    }

    /// Each member with its own alarms' base name.
    pub fn members_with_alarm_bases(&self) -> Vec<(Member, String)> {
        self.all_members()
            .into_iter()
            .zip(self.member_alarm_bases())
            .collect()
    }

    /// When the target version first took traffic: its first step.
    pub fn target_traffic_since(&self) -> Option<DateTime<Utc>> {
        self.log
            .iter()
            .find(|entry| matches!(entry.event, ReleaseEvent::WeightSet { .. }))
            .map(|entry| entry.at)
    }

    /// What the alias should look like now.
    pub fn desired_alias(&self) -> Option<AliasTarget> {
        match self.phase {
            Phase::Pending => None,
            Phase::Shifting { .. } | Phase::Paused { .. } | Phase::AtGate { .. } => {
                Some(AliasTarget::Weighted(self.weight))
            }
            Phase::Promoting | Phase::Succeeded => Some(AliasTarget::Target),
            Phase::RollingBack { .. } | Phase::RolledBack | Phase::Aborted | Phase::Superseded => {
                Some(AliasTarget::Stable)
            }
            // Nobody knows where a failed rollback left the alias; leave it for a person.
            Phase::Failed => None,
            // Someone else owns the alias now.
            Phase::Interrupted => None,
            // Refused before any weight moved: the alias was never this release's to set.
            Phase::Refused => None,
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

    /// When this release's alias lock, taken or renewed at `at`, expires: its whole schedule
    /// plus [`LOCK_GRACE_SECS`] later.
    pub fn lock_expiry(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        // At a gate nobody looks until it is answered or times out: the lock covers that too.
        let gate = match self.phase {
            Phase::AtGate { .. } => self.gates.timeout_secs as i64,
            Phase::Paused { .. } => MAX_PAUSE_SECS as i64,
            _ => 0,
        };
        at + Duration::seconds(self.schedule.total_bake_secs() as i64 + gate + LOCK_GRACE_SECS)
    }

    /// Whether a look at `now` pushes the alias lock's expiry out: while paused (the schedule
    /// stands still, for days perhaps), or when the expiry the lock was taken with at the
    /// start might not outlast the next wait by half the grace (the release fell hours behind
    /// its schedule: retries, a pause since resumed). Otherwise that expiry covers the
    /// release, and a look writes nothing for it.
    pub fn renews_lock_at(&self, now: DateTime<Utc>) -> bool {
        let longest_wait = self.schedule.steps.iter().map(|s| s.bake_secs).max();
        let next_look = now + Duration::seconds(longest_wait.unwrap_or(0) as i64);
        let covered_until =
            self.lock_expiry(self.created_at) - Duration::seconds(LOCK_GRACE_SECS / 2);
        matches!(self.phase, Phase::Paused { .. } | Phase::AtGate { .. })
            || next_look > covered_until
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
}
