//! A step's time: its bake, the extension an inconclusive analysis gets, and what comes after
//! a step (the next one, or what the release says to do when its analysis stays inconclusive).

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::domain::analysis::WhenInconclusive;

impl Release {
    /// Seconds left of the current step's bake plus `extra_secs`, if any.
    fn step_time_left(&self, extra_secs: u64, now: DateTime<Utc>) -> Option<u64> {
        let Phase::Shifting { step } = self.phase else {
            return None;
        };
        let until = self.schedule.steps[step].bake_secs + extra_secs;
        let started = self.step_started_at.unwrap_or(now);
        let remaining = (started + Duration::seconds(until as i64) - now).num_seconds();
        (remaining > 0).then_some(remaining as u64)
    }

    /// Seconds left of the current step's bake, if any.
    pub(super) fn bake_remaining(&self, now: DateTime<Utc>) -> Option<u64> {
        self.step_time_left(0, now)
    }

    /// Whether the current step has baked its full time: when its health decides what next
    /// (and so when a canary analysis is due).
    pub fn step_baked(&self, now: DateTime<Utc>) -> bool {
        matches!(self.phase, Phase::Shifting { .. }) && self.bake_remaining(now).is_none()
    }

    /// Seconds left of an inconclusive step's extension (past its bake), if any.
    pub(super) fn extension_remaining(&self, now: DateTime<Utc>) -> Option<u64> {
        self.step_time_left(self.analysis.max_extension_secs, now)
    }

    /// The step baked with this verdict: on to the next step, or to promotion after the last.
    pub(super) fn next_step(
        &mut self,
        step: usize,
        verdict: Verdict,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Action {
        self.record(now, actor, ReleaseEvent::HealthChecked { verdict });
        self.after_bake(step, now, actor)
    }

    /// The analysis stayed inconclusive past the extension: what the release says to do.
    pub(super) fn when_inconclusive(
        &mut self,
        step: usize,
        reason: &str,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Action {
        let waited = self.analysis.max_extension_secs;
        match self.analysis.when_inconclusive {
            WhenInconclusive::Hold => {
                self.phase = Phase::Paused { step };
                self.gate_token = None;
                let reason = format!(
                    "{reason}, {waited}s past the step's bake: held for a person (shiftback resume, promote or abort {})",
                    self.id
                );
                self.record(now, actor, ReleaseEvent::Held { reason });
                Action::AwaitApproval {
                    secs: MAX_PAUSE_SECS,
                }
            }
            WhenInconclusive::Fail => {
                let reason = format!("{reason}, {waited}s past the step's bake");
                self.start_rollback(RollbackCause::Unhealthy, reason, now, actor)
            }
            WhenInconclusive::Pass => {
                let verdict = Verdict::Inconclusive {
                    reason: reason.to_string(),
                };
                self.next_step(step, verdict, now, actor)
            }
        }
    }
}
