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
    /// A newer release of the same alias took its place: no verdict on its version.
    Superseded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "phase", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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
    /// It ended before any traffic moved: its pre-traffic hook failed, or its version was
    /// rejected before and nobody asked for it again (a declined re-release).
    Refused,
    /// A newer release of the alias replaced it: back on its stable version, no verdict on
    /// its target.
    Superseded,
}

impl Phase {
    /// The phase's name as records and messages spell it (`at_gate`).
    pub fn name(&self) -> &'static str {
        self.into()
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
                | Phase::Superseded
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
