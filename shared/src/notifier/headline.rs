//! How each announced log entry reads in one line: its emoji, its title, and the outcome it
//! announces (which the message's attributes and next steps follow).

use crate::domain::release::{LogEntry, Phase, Release, ReleaseEvent};

use super::format::{clip, TEXT_MAX};

/// A log entry's headline: `(emoji, title, outcome)`; None for an entry nobody is told about.
pub(super) fn headline(
    release: &Release,
    entry: &LogEntry,
    target: &str,
    versions: &str,
) -> Option<(&'static str, String, &'static str)> {
    Some(match &entry.event {
        ReleaseEvent::Started { strategy, .. } => (
            ":rocket:",
            format!("{target} release started {versions} ({strategy})"),
            "in_progress",
        ),
        ReleaseEvent::WeightSet {
            step,
            steps,
            weight,
        } => (
            ":arrow_right:",
            format!(
                "{target} {versions}: step {} of {steps}, {weight} on v{}",
                step + 1,
                release.target_version
            ),
            "in_progress",
        ),
        ReleaseEvent::Paused => (
            ":double_vertical_bar:",
            format!("{target} release paused at {}", release.weight),
            "in_progress",
        ),
        ReleaseEvent::Held { reason } => (
            ":hourglass:",
            format!(
                "{target} release HELD at {} ({versions}): {}",
                release.weight,
                clip(reason, TEXT_MAX)
            ),
            "in_progress",
        ),
        ReleaseEvent::Resumed => (
            ":arrow_forward:",
            format!("{target} release resumed at {}", release.weight),
            "in_progress",
        ),
        ReleaseEvent::PromoteRequested => (
            ":fast_forward:",
            format!("{target} promoted early to v{}", release.target_version),
            "in_progress",
        ),
        ReleaseEvent::Promoted => (
            ":white_check_mark:",
            format!(
                "{target} now on v{} ({versions} succeeded)",
                release.target_version
            ),
            "succeeded",
        ),
        ReleaseEvent::RolledBack { .. } if release.phase == Phase::Aborted => (
            ":octagonal_sign:",
            format!(
                "{target} release aborted, back on v{}",
                release.stable_version
            ),
            "aborted",
        ),
        ReleaseEvent::RolledBack { reason } if release.phase == Phase::Superseded => (
            ":arrows_counterclockwise:",
            format!(
                "{target} release of v{} {reason}; back on v{} for it",
                release.target_version, release.stable_version
            ),
            "superseded",
        ),
        ReleaseEvent::RolledBack { .. } => (
            ":rotating_light:",
            format!(
                "{target} ROLLED BACK to v{} ({versions})",
                release.stable_version
            ),
            "rolled_back",
        ),
        ReleaseEvent::Failed { .. } => (
            ":x:",
            format!("{target} release FAILED ({versions}); check the alias"),
            "failed",
        ),
        ReleaseEvent::LockBroken { by, .. } => (
            ":x:",
            format!(
                "{target} release ABANDONED ({versions}): its lock expired and {by} took the alias"
            ),
            "failed",
        ),
        ReleaseEvent::ManualRollback {
            member: Some(member),
            ..
        } => (
            ":leftwards_arrow_with_hook:",
            format!("{target} group: {member} rolled back BY HAND ({versions}); the other members go back to their stable versions"),
            "interrupted",
        ),
        ReleaseEvent::ManualRollback { .. } => (
            ":leftwards_arrow_with_hook:",
            format!(
                "{target} rolled back BY HAND to v{} ({versions})",
                release.stable_version
            ),
            "rolled_back",
        ),
        ReleaseEvent::Interrupted {
            found,
            member: None,
        } => (
            ":warning:",
            format!("{target} release INTERRUPTED ({versions}): the alias was changed outside shiftback to {found}; left as found"),
            "interrupted",
        ),
        ReleaseEvent::Interrupted {
            found,
            member: Some(member),
        } => (
            ":warning:",
            format!("{target} group INTERRUPTED ({versions}): {member} was changed outside shiftback to {found} and is left as found; the other members go back to their stable versions"),
            "interrupted",
        ),
        ReleaseEvent::AlarmSuppressed {
            alarm,
            suppressed_by,
            ..
        } => (
            ":mute:",
            format!("{target}: alarm {alarm} fired while its actions were suppressed by {suppressed_by}; not reverted"),
            if release.phase.is_terminal() {
                release.phase.name()
            } else {
                "in_progress"
            },
        ),
        ReleaseEvent::VersionsPruned { summary } => (
            ":broom:",
            format!("{target}: version retention {}", clip(&summary.describe(), TEXT_MAX)),
            release.phase.name(),
        ),
        ReleaseEvent::HookAnswered { phase, hook, .. } => (
            ":white_check_mark:",
            format!("{target} {versions}: {phase} hook {hook} passed"),
            "in_progress",
        ),
        ReleaseEvent::GuardIgnored {
            guard,
            until,
            reason,
        } => (
            ":mute:",
            format!(
                "{target} {versions}: {} ignores {guard} until {} ({})",
                entry.actor,
                until.format("%H:%M UTC"),
                clip(reason, TEXT_MAX)
            ),
            // In the bake window, the release has its outcome already.
            if release.phase.is_terminal() {
                release.phase.name()
            } else {
                "in_progress"
            },
        ),
        ReleaseEvent::GateReached { step, timeout_secs } => (
            ":raised_hand:",
            format!(
                "{target} {versions} WAITING FOR APPROVAL at {} (after step {}): `shiftback approve {}` (or promote, abort) within {}h",
                release.weight,
                step + 1,
                release.id,
                timeout_secs / 3600
            ),
            "in_progress",
        ),
        ReleaseEvent::Approved { step } => (
            ":ok_hand:",
            format!(
                "{target} {versions}: gate after step {} approved by {}",
                step + 1,
                entry.actor
            ),
            "in_progress",
        ),
        ReleaseEvent::GateExpired { step } => (
            ":hourglass:",
            format!(
                "{target} {versions}: nobody answered the gate after step {} in time",
                step + 1
            ),
            "in_progress",
        ),
        ReleaseEvent::Refused { .. } => (
            ":no_entry:",
            format!(
                "{target} release REFUSED ({versions}): nothing shifted, still on v{}",
                release.stable_version
            ),
            "refused",
        ),
        ReleaseEvent::DurableExecutionsLeft {
            function,
            version,
            running,
            more,
        } => (
            ":hourglass_flowing_sand:",
            format!(
                "{}: {running}{} durable execution(s) still running on v{version}, which the release reverted from",
                function.as_deref().unwrap_or(target),
                if *more { " or more" } else { "" }
            ),
            release.phase.name(),
        ),
        _ => return None,
    })
}
