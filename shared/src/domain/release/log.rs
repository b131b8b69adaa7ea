//! The release log: every event, when, and who caused it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use crate::domain::strategy::Strategy;
use crate::domain::weight::Weight;
use crate::retention::PruneSummary;

/// One entry of a release's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    #[serde(flatten)]
    pub event: ReleaseEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "event", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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
    /// The target compared with the stable version at the end of a step, with the numbers.
    Analysed {
        weight: Weight,
        verdict: CanaryVerdict,
    },
    /// The release stopped for a person: its analysis stayed inconclusive past the extension.
    Held {
        reason: String,
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
        /// The group member whose alias it was (a group's others go back to stable).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member: Option<String>,
    },
    /// The alias was moved outside shiftback to something this release never set.
    Interrupted {
        found: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member: Option<String>,
    },
    /// The automatic retention ran for the function, after success and the bake window.
    VersionsPruned {
        summary: PruneSummary,
    },
    /// A traffic hook answered (or failed to): passed, failed with its reason, or not yet.
    HookAnswered {
        phase: HookPhase,
        hook: String,
        verdict: HookVerdict,
    },
    /// The release ended before any traffic moved (its pre-traffic hook failed).
    Refused {
        reason: String,
    },
    /// Step `step` baked healthy; its gate waits for a person until `timeout_secs` from now.
    GateReached {
        step: usize,
        timeout_secs: u64,
    },
    /// The gate after step `step` was approved (the actor is who approved).
    Approved {
        step: usize,
    },
    /// Nobody answered the gate after step `step` in time.
    GateExpired {
        step: usize,
    },
    /// An operator stopped one guard (an alarm, or `analysis`) from reverting the release
    /// until `until`.
    GuardIgnored {
        guard: String,
        until: DateTime<Utc>,
        reason: String,
    },
    /// A guarding alarm fired while its actions were suppressed; nothing was reverted.
    AlarmSuppressed {
        alarm: String,
        suppressed_by: String,
        changed_at: DateTime<Utc>,
    },
    /// After a revert: durable executions still running on the version it reverted from (they
    /// stay on it for as long as they run; `more`: at least this many).
    DurableExecutionsLeft {
        /// A group member's function; absent for the release's own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        function: Option<String>,
        version: String,
        running: usize,
        more: bool,
    },
}

impl ReleaseEvent {
    /// The event's name as records and metrics spell it (`weight_set`).
    pub fn name(&self) -> &'static str {
        self.into()
    }
}
