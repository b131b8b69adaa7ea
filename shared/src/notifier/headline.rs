//! How each announced log entry reads in one line (its emoji and outcome are the release's
//! description of it: [`Release::describe`]).

use crate::domain::release::{LogEntry, Phase, Release, ReleaseEvent};

use super::format::{clip, TEXT_MAX};

/// A log entry's headline; None for an entry nobody is told about.
pub(super) fn headline(
    release: &Release,
    entry: &LogEntry,
    target: &str,
    versions: &str,
) -> Option<String> {
    Some(match &entry.event {
        ReleaseEvent::Started { strategy, .. } => format!("{target} release started {versions} ({strategy})"),
        ReleaseEvent::WeightSet {
            step,
            steps,
            weight,
        } => format!(
            "{target} {versions}: step {} of {steps}, {weight} on v{}",
            step + 1,
            release.target_version
        ),
        ReleaseEvent::Paused => format!("{target} release paused at {}", release.weight),
        ReleaseEvent::Held { reason } => format!(
            "{target} release HELD at {} ({versions}): {}",
            release.weight,
            clip(reason, TEXT_MAX)
        ),
        ReleaseEvent::Resumed => format!("{target} release resumed at {}", release.weight),
        ReleaseEvent::PromoteRequested => format!("{target} promoted early to v{}", release.target_version),
        ReleaseEvent::Promoted => format!(
            "{target} now on v{} ({versions} succeeded)",
            release.target_version
        ),
        ReleaseEvent::RolledBack { .. } if release.phase == Phase::Aborted => format!(
            "{target} release aborted, back on v{}",
            release.stable_version
        ),
        ReleaseEvent::RolledBack { reason } if release.phase == Phase::Superseded => format!(
            "{target} release of v{} {reason}; back on v{} for it",
            release.target_version, release.stable_version
        ),
        ReleaseEvent::RolledBack { .. } => format!(
            "{target} ROLLED BACK to v{} ({versions})",
            release.stable_version
        ),
        ReleaseEvent::Failed { .. } => format!("{target} release FAILED ({versions}); check the alias"),
        ReleaseEvent::LockBroken { by, .. } => format!(
            "{target} release ABANDONED ({versions}): its lock expired and {by} took the alias"
        ),
        ReleaseEvent::ManualRollback {
            member: Some(member),
            ..
        } => format!("{target} group: {member} rolled back BY HAND ({versions}); the other members go back to their stable versions"),
        ReleaseEvent::ManualRollback { .. } => format!(
            "{target} rolled back BY HAND to v{} ({versions})",
            release.stable_version
        ),
        ReleaseEvent::Interrupted {
            found,
            member: None,
        } => format!("{target} release INTERRUPTED ({versions}): the alias was changed outside shiftback to {found}; left as found"),
        ReleaseEvent::Interrupted {
            found,
            member: Some(member),
        } => format!("{target} group INTERRUPTED ({versions}): {member} was changed outside shiftback to {found} and is left as found; the other members go back to their stable versions"),
        ReleaseEvent::AlarmSuppressed {
            alarm,
            suppressed_by,
            ..
        } => format!("{target}: alarm {alarm} fired while its actions were suppressed by {suppressed_by}; not reverted"),
        ReleaseEvent::VersionsPruned { summary } => format!("{target}: version retention {}", clip(&summary.describe(), TEXT_MAX)),
        ReleaseEvent::HookAnswered { phase, hook, .. } => format!("{target} {versions}: {phase} hook {hook} passed"),
        ReleaseEvent::GuardIgnored {
            guard,
            until,
            reason,
        } => format!(
            "{target} {versions}: {} ignores {guard} until {} ({})",
            entry.actor,
            until.format("%H:%M UTC"),
            clip(reason, TEXT_MAX)
        ),
        ReleaseEvent::GateReached { step, timeout_secs } => format!(
            "{target} {versions} WAITING FOR APPROVAL at {} (after step {}): `shiftback approve {}` (or promote, abort) within {}h",
            release.weight,
            step + 1,
            release.id,
            timeout_secs / 3600
        ),
        ReleaseEvent::Approved { step } => format!(
            "{target} {versions}: gate after step {} approved by {}",
            step + 1,
            entry.actor
        ),
        ReleaseEvent::GateExpired { step } => format!(
            "{target} {versions}: nobody answered the gate after step {} in time",
            step + 1
        ),
        ReleaseEvent::Refused { .. } => format!(
            "{target} release REFUSED ({versions}): nothing shifted, still on v{}",
            release.stable_version
        ),
        ReleaseEvent::DurableExecutionsLeft {
            function,
            version,
            running,
            more,
        } => format!(
            "{}: {running}{} durable execution(s) still running on v{version}, which the release reverted from",
            function.as_deref().unwrap_or(target),
            if *more { " or more" } else { "" }
        ),
        _ => return None,
    })
}
