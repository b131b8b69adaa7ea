//! The phases a release moves through, and what the alias should look like in each.

use serde::{Deserialize, Serialize};

use crate::domain::weight::Weight;

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
    /// Step `step` baked healthy and its gate waits for a person's approval.
    AtGate {
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
    /// Its pre-traffic hook failed: it ended before any traffic moved.
    Refused,
}

impl Phase {
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Shifting { .. } => "shifting",
            Phase::Paused { .. } => "paused",
            Phase::AtGate { .. } => "at_gate",
            Phase::Promoting => "promoting",
            Phase::Succeeded => "succeeded",
            Phase::RollingBack { .. } => "rolling_back",
            Phase::RolledBack => "rolled_back",
            Phase::Aborted => "aborted",
            Phase::Failed => "failed",
            Phase::Interrupted => "interrupted",
            Phase::Refused => "refused",
        }
    }

    /// Whether the workflow waits on a person here (a gate, a pause), on a task token.
    pub fn waits_for_person(&self) -> bool {
        matches!(self, Phase::AtGate { .. } | Phase::Paused { .. })
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
                | Phase::Refused
        )
    }
}

/// What a health check concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Healthy,
    Unhealthy {
        reason: String,
    },
    /// Nothing wrong seen, but not enough seen to say so (a canary with too little traffic).
    Inconclusive {
        reason: String,
    },
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
