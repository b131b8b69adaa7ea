//! What people and programs are told about a release: which of its events are announced and
//! how loudly. How an announcement is shown (Chatbot, PagerDuty, SNS attributes) is the
//! notifier adapter's business.

use crate::domain::release::{Phase, Release, ReleaseEvent};
use crate::hooks::HookVerdict;

/// Which log events are announced, and how loudly: (event type, severity), or None for the
/// events that are recorded but not announced.
pub fn announced(release: &Release, event: &ReleaseEvent) -> Option<(&'static str, &'static str)> {
    Some(match event {
        // Recorded to say it is not released again: nothing started.
        ReleaseEvent::Started { .. } if release.was_declined() => return None,
        ReleaseEvent::Started { .. } => ("started", "info"),
        ReleaseEvent::WeightSet { .. } => ("step_applied", "info"),
        ReleaseEvent::Paused => ("paused", "info"),
        ReleaseEvent::Resumed => ("resumed", "info"),
        ReleaseEvent::PromoteRequested => ("promote_requested", "info"),
        ReleaseEvent::Promoted => ("promoted", "info"),
        ReleaseEvent::RolledBack { .. } if release.phase == Phase::Aborted => {
            ("aborted", "warning")
        }
        // Replaced by a newer release: nothing is wrong with the service.
        ReleaseEvent::RolledBack { .. } if release.phase == Phase::Superseded => {
            ("superseded", "info")
        }
        ReleaseEvent::RolledBack { .. } => ("rolled_back", "critical"),
        ReleaseEvent::Failed { .. } | ReleaseEvent::LockBroken { .. } => ("failed", "critical"),
        ReleaseEvent::AlarmSuppressed { .. } => ("alarm_suppressed", "warning"),
        // The reverted version still runs for them: an operator decides what becomes of them.
        ReleaseEvent::DurableExecutionsLeft { .. } => ("durable_executions_left", "warning"),
        // Someone acted by hand: worth knowing, not a page (shiftback broke nothing).
        ReleaseEvent::ManualRollback { .. } => ("rolled_back", "warning"),
        ReleaseEvent::Interrupted { .. } => ("interrupted", "warning"),
        // Stopped for a person: they must act, though nothing is broken.
        ReleaseEvent::Held { .. } => ("held", "warning"),
        ReleaseEvent::VersionsPruned { summary } if summary.error.is_some() => {
            ("versions_pruned", "warning")
        }
        ReleaseEvent::VersionsPruned { .. } => ("versions_pruned", "info"),
        ReleaseEvent::HookAnswered {
            verdict: HookVerdict::Passed,
            ..
        } => ("hook_passed", "info"),
        // Nothing moved, nothing to repair: the team must look, but no page.
        ReleaseEvent::Refused { .. } => ("refused", "warning"),
        // A guard switched off by hand: everyone watching should know.
        ReleaseEvent::GuardIgnored { .. } => ("guard_ignored", "warning"),
        // Waiting for a person: they must act.
        ReleaseEvent::GateReached { .. } => ("waiting_for_approval", "warning"),
        ReleaseEvent::Approved { .. } => ("approved", "info"),
        ReleaseEvent::GateExpired { .. } => ("gate_expired", "warning"),
        // A failure is announced by what it leads to (the refusal, or the rollback with the
        // hook's reason); "not yet" is the hook working.
        ReleaseEvent::HookAnswered { .. } => return None,
        ReleaseEvent::HealthChecked { .. }
        | ReleaseEvent::Analysed { .. }
        | ReleaseEvent::RollbackStarted { .. }
        | ReleaseEvent::LockTakenOver { .. } => return None,
    })
}
