//! One target of a wave plan: where it stands, what a look or a revert found of it, and how
//! long the plan waits on a Region that does not answer or a start that may be in flight.

use serde::{Deserialize, Serialize};

use super::spec::Target;

/// A target is given up as unreachable (the plan then waits for a person) after this many
/// failed attempts in a row, about [`LOOK_INTERVAL_SECS`](super::LOOK_INTERVAL_SECS) apart: five minutes of a Region's
/// control plane not answering or throttling every call.
pub const MAX_ATTEMPTS: u32 = 10;

/// How long after a target is claimed for its start that its Region may still begin its
/// release: the coordinator's invocation that claimed it (180 s at most), then the start
/// function its workflow may still be running (90 s). A stop finds a claimed target with
/// neither a record nor a running execution: before this, it waits (a start may be in
/// flight); after it, the target never moved.
pub const START_SETTLE_SECS: i64 = 300;

/// Where one target stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "state", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum TargetState {
    /// Its wave has not started.
    Waiting,
    /// Claimed for its start (saved before the Region is asked), then its regional release
    /// runs. `since`: when it was claimed.
    Releasing {
        release_id: String,
        #[serde(default)]
        since: i64,
    },
    /// Its regional release promoted the version.
    Promoted { release_id: String, at: i64 },
    /// Back on its stable version: by its own rollback (the plan's cause) or by the plan's stop.
    Reverted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        release_id: Option<String>,
        why: String,
    },
    /// Never moved: the plan stopped before its wave started.
    Skipped,
    /// Its alias was on the version before the plan began (or was made on it, where it did
    /// not exist): nothing to release, nothing to bring back.
    AlreadyOn,
}

impl TargetState {
    /// The state's name as records and people spell it (`releasing`).
    pub fn name(&self) -> &'static str {
        self.into()
    }

    pub fn release_id(&self) -> Option<&str> {
        match self {
            TargetState::Releasing { release_id, .. }
            | TargetState::Promoted { release_id, .. } => Some(release_id),
            TargetState::Reverted { release_id, .. } => release_id.as_deref(),
            TargetState::Waiting | TargetState::Skipped | TargetState::AlreadyOn => None,
        }
    }

    /// Whether the target's alias may route to the new version now.
    pub fn moved(&self) -> bool {
        matches!(
            self,
            TargetState::Releasing { .. } | TargetState::Promoted { .. }
        )
    }
}

/// One target of the plan: its wave, its state, and the failed attempts to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTarget {
    pub target: Target,
    /// 0-based.
    pub wave: usize,
    pub state: TargetState,
    /// Failed attempts in a row to reach its Region (reset by an answer).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When its Region last answered a look about it: a bake ends only once every moved
    /// target has answered since the bake's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}

/// What the coordinator saw of one target's regional release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Claimed, and its Region has neither its record nor its workflow: to be started.
    NotStarted,
    Running,
    Promoted {
        at: i64,
    },
    /// It rolled back (alarm, analysis, hook, abort), or failed, and its alias is on its
    /// stable version.
    RolledBack {
        why: String,
    },
    /// It ended without promoting and without bringing its alias back (its rollback failed):
    /// the plan stops, and the target stays moved until the plan's revert brings it back.
    Stuck {
        why: String,
    },
}

/// What a target's Region says of it before the plan begins (every check passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Its release can start.
    Ready,
    /// Its alias is on the version already.
    OnVersion,
    /// Its alias does not exist: it is made on the version, as a stack's first deploy makes it.
    NoAlias,
}

/// What a revert of a target found in its Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reverted {
    /// Its alias is on its stable version, on the record.
    Back,
    /// Its release had promoted, and its alias has moved on since (another release, an
    /// operator's rollback): not the plan's to move back. Says where it is.
    MovedOn(String),
    /// Its Region has neither its record nor a running workflow: it never started, unless a
    /// start is still in flight ([`START_SETTLE_SECS`]).
    NotStarted,
}
