//! What the record says of one version of one alias: proven good, rejected (by what, and why),
//! or never judged. What a stack may bring back (a CloudFormation rollback, a repeated deploy)
//! is decided from it, so a version an alarm took off the alias never returns by accident.

use super::*;

/// The record's word on a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRecord {
    /// It carried the alias wholly: a release of it succeeded, or it was a release's stable
    /// version, and nothing took it off since.
    Good { release_id: String },
    /// An alarm, the analysis, a hook or a person took it off the alias (or refused it before
    /// any traffic moved), and no release has proven it since.
    Rejected { release_id: String, why: String },
    /// No release of the alias judged it.
    Unknown,
}

/// How a declined re-release's reason begins ([`Input::Decline`]).
pub const DECLINED: &str = "not released again";

impl Release {
    /// Whether it was recorded only to say its version is not released again.
    pub fn was_declined(&self) -> bool {
        self.phase == Phase::Refused
            && self
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with(DECLINED))
    }
}

/// Who the workflow's own decisions are recorded as (a gate or pause that timed out).
pub const WORKFLOW_ACTOR: &str = "workflow";

/// Actors whose aborts and reverts are a stack's own bookkeeping (a CloudFormation rollback
/// undoing its update), not a verdict on the version.
pub const STACK_ACTOR_PREFIX: &str = "cloudformation:";

/// The record's word on `version`, from the alias's releases newest first (each seen as the
/// alias's own member: [`Release::views_of`]). The newest release that judged the version
/// decides; superseded, failed and interrupted releases judged nothing.
pub fn record_of(newest_first: &[Release], version: &str) -> VersionRecord {
    for r in newest_first {
        // A declined re-release only repeats an earlier verdict: that one decides.
        if r.was_declined() {
            continue;
        }
        let by_stack = r.started_by.starts_with(STACK_ACTOR_PREFIX);
        if r.kind == ReleaseKind::Revert {
            if r.phase != Phase::Succeeded {
                continue;
            }
            if r.target_version == version {
                return good(r);
            }
            if r.stable_version == version && !by_stack {
                let why = format!("{} rolled it back (release {})", r.started_by, r.id);
                return rejected(r, why);
            }
            continue;
        }
        if r.target_version == version {
            match rejection(r) {
                Some(why) => return rejected(r, why),
                None if r.phase == Phase::Succeeded => return good(r),
                // Running, superseded, failed, interrupted, or undone by its stack: no verdict.
                None => continue,
            }
        }
        // A release starts from a version that wholly carried the alias.
        if r.stable_version == version && r.phase != Phase::Pending {
            return good(r);
        }
    }
    VersionRecord::Unknown
}

fn good(r: &Release) -> VersionRecord {
    VersionRecord::Good {
        release_id: r.id.clone(),
    }
}

fn rejected(r: &Release, why: String) -> VersionRecord {
    VersionRecord::Rejected {
        release_id: r.id.clone(),
        why,
    }
}

/// Why a release's own target was rejected, if it was: a rollback started as unhealthy (an
/// alarm, the analysis, a hook; however it ended, a failed revert included), put back by hand,
/// aborted by a person, or refused before traffic moved. A gate or pause that timed out (the
/// workflow's own abort) and the stack's own rollback judged nothing.
fn rejection(r: &Release) -> Option<String> {
    let reason = r.reason.clone().unwrap_or_default();
    let started = r.log.iter().rev().find_map(|e| match &e.event {
        ReleaseEvent::RollbackStarted { cause, .. } => Some((*cause, e.actor.as_str())),
        _ => None,
    });
    let by_hand = r
        .log
        .iter()
        .any(|e| matches!(e.event, ReleaseEvent::ManualRollback { .. }));
    if r.phase == Phase::Refused {
        return Some(format!("release {} was refused: {reason}", r.id));
    }
    if by_hand && r.phase == Phase::RolledBack {
        return Some(format!(
            "release {} found it put back by hand: {reason}",
            r.id
        ));
    }
    match started {
        Some((RollbackCause::Unhealthy, _)) => {
            Some(format!("release {} rolled it back: {reason}", r.id))
        }
        Some((RollbackCause::Aborted, actor))
            if actor.starts_with(STACK_ACTOR_PREFIX) || actor == WORKFLOW_ACTOR =>
        {
            None
        }
        Some((RollbackCause::Aborted, actor)) => {
            Some(format!("release {} was aborted by {actor}: {reason}", r.id))
        }
        _ => None,
    }
}
