//! A step's time: its bake, the extension an inconclusive analysis gets, and what comes after
//! a step (the next one, or what the release says to do when its analysis stays inconclusive).

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::analysis::WhenInconclusive;

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

    /// Whether a look now falls inside the step's bake (an interim look): only a finding of
    /// "worse" acts on it, as the analysis's test holds over every look; "not worse" is the
    /// step end's to say.
    pub fn at_interim_look(&self, now: DateTime<Utc>) -> bool {
        matches!(self.phase, Phase::Shifting { .. }) && self.bake_remaining(now).is_some()
    }

    /// How long to wait before the next look, with `remaining` seconds of step `step`'s bake
    /// left: the analysis looks during a long bake too (a regression is rolled back minutes
    /// after its data settles, not at the end of a 30-minute step), at most
    /// [`interim_looks`] times a step, a minute apart at the closest.
    pub fn bake_wait(&self, step: usize, remaining: u64) -> u64 {
        let bake = self.schedule.steps[step].bake_secs;
        let looks = interim_looks(self.schedule.steps.len(), self.analysis.max_extension_secs);
        if !self.analysis.enabled
            || looks == 0
            || bake < 2 * INTERIM_LOOK_MIN_SECS
            || self.resumed_this_step()
        {
            return remaining;
        }
        let every = bake.div_ceil(looks + 1).max(INTERIM_LOOK_MIN_SECS);
        // No look a few seconds before the step's own.
        if remaining < every + INTERIM_LOOK_MIN_SECS / 2 {
            remaining
        } else {
            every
        }
    }

    /// Whether the current step's bake was restarted by a resume. Its interim looks are the
    /// first bake's alone: the history budget counts one pass a step, and a person may pause
    /// and resume any number of times (each resume's bake is then one look at its end).
    fn resumed_this_step(&self) -> bool {
        self.log
            .iter()
            .rev()
            .take_while(|e| !matches!(e.event, ReleaseEvent::WeightSet { .. }))
            .any(|e| matches!(e.event, ReleaseEvent::Resumed))
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

/// The closest interim looks come: CloudWatch's resolution.
pub const INTERIM_LOOK_MIN_SECS: u64 = 60;
/// The most interim looks in one step's bake.
pub const MAX_INTERIM_LOOKS: u64 = 10;

/// Interim looks a step of a release with `steps` steps may make: up to
/// [`MAX_INTERIM_LOOKS`], within what the workflow's history has to spare after the step-end
/// looks and their extensions ([`super::MAX_LOOKS`]), shared out evenly.
pub fn interim_looks(steps: usize, max_extension_secs: u64) -> u64 {
    let steps = steps.max(1) as u64;
    let spare = super::MAX_LOOKS
        .saturating_sub(super::worst_case_looks(steps as usize, max_extension_secs));
    (spare / steps).min(MAX_INTERIM_LOOKS)
}
