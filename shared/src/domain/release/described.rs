//! One description of each release event: the kind of news it is, how loudly it is told, what
//! it meant for the release's outcome, its emoji, the metric it counts for and whether the
//! release dashboard marks it. Notifications (Chatbot, PagerDuty, SNS attributes), shiftback's
//! metrics, the dashboard and the CLI all read this one table.

use super::*;

/// The outcome of a release not ended yet.
pub const IN_PROGRESS: &str = "in_progress";

/// How loudly an event is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Info,
    /// Someone should look; nothing is broken, or shiftback did not break it.
    Warning,
    /// A page: the service was rolled back or the release failed.
    Critical,
}

/// What one log entry means, for everyone who tells of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Described {
    /// The kind of news (`step_applied`, `aborted`): a notification's event type.
    pub kind: &'static str,
    /// How loudly it is announced; None: recorded, never announced.
    pub severity: Option<Severity>,
    /// What the release's outcome was when it happened: `in_progress`, or how it ended.
    pub outcome: &'static str,
    /// As Slack (through AWS Chatbot) shows it.
    pub emoji: &'static str,
    /// The count it adds to shiftback's metrics.
    pub metric: Option<&'static str>,
    /// Whether the release dashboard marks it on its graphs.
    pub marked: bool,
}

fn said(
    kind: &'static str,
    severity: Option<Severity>,
    outcome: &'static str,
    emoji: &'static str,
) -> Described {
    Described {
        kind,
        severity,
        outcome,
        emoji,
        metric: None,
        marked: false,
    }
}

impl Release {
    /// Log entry `index` described; None if there is no such entry. Its kind, severity and
    /// metric follow how the release ended (an abort's revert is no alarm's); its outcome is
    /// the release's at the entry (a late announcement tells of its own moment).
    pub fn describe(&self, index: usize) -> Option<Described> {
        use Severity::{Critical, Info, Warning};
        let entry = self.log.get(index)?;
        // Replayed only for the entries whose outcome is the phase at the time.
        let phase_then = || self.as_at(index).phase;
        let ended_or_on = |phase: Phase| match phase.is_terminal() {
            true => phase.name(),
            false => IN_PROGRESS,
        };
        let on = IN_PROGRESS;
        Some(match &entry.event {
            // A declined release recorded its start to say it is not released again.
            ReleaseEvent::Started { .. } => Described {
                metric: Some("ReleasesStarted"),
                ..said(
                    "started",
                    (!self.was_declined()).then_some(Info),
                    on,
                    ":rocket:",
                )
            },
            ReleaseEvent::WeightSet { .. } => Described {
                marked: true,
                ..said("step_applied", Some(Info), on, ":arrow_right:")
            },
            ReleaseEvent::HealthChecked { .. } => said("health_checked", None, on, ":stethoscope:"),
            ReleaseEvent::Analysed { verdict, .. } => Described {
                metric: Some(match verdict {
                    CanaryVerdict::Healthy { .. } => "AnalysisHealthy",
                    CanaryVerdict::Unhealthy { .. } => "AnalysisUnhealthy",
                    CanaryVerdict::Inconclusive { .. } => "AnalysisInconclusive",
                }),
                ..said("analysed", None, on, ":bar_chart:")
            },
            // Stopped for a person: they must act, though nothing is broken.
            ReleaseEvent::Held { .. } => Described {
                metric: Some("ReleasesHeld"),
                marked: true,
                ..said("held", Some(Warning), on, ":hourglass:")
            },
            ReleaseEvent::Paused => said("paused", Some(Info), on, ":double_vertical_bar:"),
            ReleaseEvent::Resumed => said("resumed", Some(Info), on, ":arrow_forward:"),
            ReleaseEvent::PromoteRequested => {
                said("promote_requested", Some(Info), on, ":fast_forward:")
            }
            ReleaseEvent::Promoted => Described {
                metric: Some("ReleasesSucceeded"),
                marked: true,
                ..said("promoted", Some(Info), "succeeded", ":white_check_mark:")
            },
            ReleaseEvent::RollbackStarted { .. } => said("rollback_started", None, on, ":rewind:"),
            ReleaseEvent::RolledBack { .. } => {
                let (kind, severity, metric) = match self.phase {
                    Phase::Aborted => ("aborted", Warning, "ReleasesAborted"),
                    // Replaced by a newer release: nothing is wrong with the service.
                    Phase::Superseded => ("superseded", Info, "ReleasesSuperseded"),
                    _ => ("rolled_back", Critical, "ReleasesRolledBack"),
                };
                let (outcome, emoji) = match phase_then() {
                    Phase::Aborted => ("aborted", ":octagonal_sign:"),
                    Phase::Superseded => ("superseded", ":arrows_counterclockwise:"),
                    _ => ("rolled_back", ":rotating_light:"),
                };
                Described {
                    metric: Some(metric),
                    marked: true,
                    ..said(kind, Some(severity), outcome, emoji)
                }
            }
            ReleaseEvent::Failed { .. } => Described {
                metric: Some("ReleasesFailed"),
                ..said("failed", Some(Critical), "failed", ":x:")
            },
            ReleaseEvent::LockBroken { .. } => said("failed", Some(Critical), "failed", ":x:"),
            ReleaseEvent::LockTakenOver { .. } => said("lock_taken_over", None, on, ":key:"),
            ReleaseEvent::AlarmSuppressed { .. } => {
                let outcome = ended_or_on(phase_then());
                said("alarm_suppressed", Some(Warning), outcome, ":mute:")
            }
            // Someone acted by hand: worth knowing, not a page (shiftback broke nothing). A
            // group member's interrupts the rest of the group.
            ReleaseEvent::ManualRollback { member, .. } => Described {
                marked: true,
                ..said(
                    "rolled_back",
                    Some(Warning),
                    if member.is_some() {
                        "interrupted"
                    } else {
                        "rolled_back"
                    },
                    ":leftwards_arrow_with_hook:",
                )
            },
            ReleaseEvent::Interrupted { .. } => {
                said("interrupted", Some(Warning), "interrupted", ":warning:")
            }
            ReleaseEvent::VersionsPruned { summary } => said(
                "versions_pruned",
                Some(if summary.error.is_some() {
                    Warning
                } else {
                    Info
                }),
                phase_then().name(),
                ":broom:",
            ),
            ReleaseEvent::HookAnswered {
                verdict: HookVerdict::Passed,
                ..
            } => said("hook_passed", Some(Info), on, ":white_check_mark:"),
            // A failure is announced by what it leads to (the refusal, or the rollback with
            // the hook's reason); "not yet" is the hook working.
            ReleaseEvent::HookAnswered { .. } => said("hook_answered", None, on, ":hook:"),
            // Nothing moved, nothing to repair: the team must look, but no page.
            ReleaseEvent::Refused { .. } => said("refused", Some(Warning), "refused", ":no_entry:"),
            // A guard switched off by hand: everyone watching should know.
            ReleaseEvent::GuardIgnored { .. } => {
                let outcome = ended_or_on(phase_then());
                said("guard_ignored", Some(Warning), outcome, ":mute:")
            }
            // Waiting for a person: they must act.
            ReleaseEvent::GateReached { .. } => {
                said("waiting_for_approval", Some(Warning), on, ":raised_hand:")
            }
            ReleaseEvent::Approved { .. } => said("approved", Some(Info), on, ":ok_hand:"),
            ReleaseEvent::GateExpired { .. } => {
                said("gate_expired", Some(Warning), on, ":hourglass:")
            }
            // The reverted version still runs for them: an operator decides what becomes of
            // them.
            ReleaseEvent::DurableExecutionsLeft { .. } => said(
                "durable_executions_left",
                Some(Warning),
                phase_then().name(),
                ":hourglass_flowing_sand:",
            ),
        })
    }
}
