//! What the transition function takes (an input) and gives (an action, or why it refused).

use serde::{Deserialize, Serialize};

use super::*;
use crate::domain::weight::Weight;
use crate::retention::PruneSummary;

/// Inputs to the transition function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The release was recorded; start moving traffic.
    Begin,
    /// The workflow looks again, with the current health verdict.
    Check(Verdict),
    /// A canary analysis judged the current step: recorded with its numbers. Its verdict
    /// reaches the release through the `Check` that follows.
    Analysed(CanaryVerdict),
    Pause,
    Resume,
    /// A person approves the gate the release waits at.
    Approve,
    /// The gate's time ran out with no answer.
    GateExpired,
    /// Skip the remaining steps.
    Promote,
    Abort {
        reason: String,
    },
    /// Release `by` takes this one's place (a new version while this one still moves the
    /// alias): back to the stable version, ended as superseded.
    Supersede {
        by: String,
    },
    /// The release is not started after all (its version was rejected before): it ends
    /// before any traffic moves, with the reason on the record.
    Decline {
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
    /// After its revert: durable executions still running on the version it reverted from.
    DurableLeft {
        /// A group member's function; None for the release's own.
        function: Option<String>,
        version: String,
        running: usize,
        more: bool,
    },
    /// The release's due traffic hook answered (the hook named, for the record).
    HookAnswered {
        phase: HookPhase,
        hook: String,
        verdict: HookVerdict,
    },
    /// An operator ignores one guard until `until`, for `reason`.
    Ignore {
        guard: String,
        until: DateTime<Utc>,
        reason: String,
    },
    /// The alias was made wholly the target.
    Promoted,
    /// The automatic retention ran, once, after success.
    Pruned(PruneSummary),
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
        /// Which member's alias, in a group (whose others then go back to stable).
        member: Option<String>,
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
    SetWeight {
        step: usize,
        weight: Weight,
    },
    /// Wait at a gate for a person, at most `secs`.
    AwaitApproval {
        secs: u64,
    },
    /// Call the release's due traffic hook (and apply its answer).
    CallHook {
        phase: HookPhase,
    },
    Wait {
        secs: u64,
    },
    Promote,
    RollBack {
        reason: String,
    },
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
    #[error("release {id}: cannot ignore: {why}")]
    IgnoreRefused { id: String, why: String },
    #[error("release {id} is not waiting on its {phase} hook {hook}")]
    HookNotDue {
        id: String,
        phase: HookPhase,
        hook: String,
    },
    #[error(
        "release {id} waits on its {phase} hook {hook}: it is not promoted before that passes"
    )]
    HookPending {
        id: String,
        phase: HookPhase,
        hook: String,
    },
    #[error("release {id} finished at {finished_at}; its bake window closed at {closed_at}")]
    BakeWindowClosed {
        id: String,
        finished_at: DateTime<Utc>,
        closed_at: DateTime<Utc>,
    },
}
