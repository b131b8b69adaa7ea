//! The small moves every transition is made of (record an entry, set a step, start a
//! rollback, finish), and the facts of its log that the transitions ask.

use chrono::{DateTime, Utc};

use super::*;

impl Release {
    pub(super) fn record(&mut self, at: DateTime<Utc>, actor: &str, event: ReleaseEvent) {
        self.log.push(LogEntry {
            at,
            actor: actor.to_string(),
            event,
        });
        self.updated_at = at;
    }

    pub(super) fn illegal(&self, input: &Input) -> TransitionError {
        TransitionError::Illegal {
            id: self.id.clone(),
            phase: self.phase.name(),
            input: match input {
                Input::Begin => "begin",
                Input::Check(_) => "check health",
                Input::Analysed(_) => "record an analysis",
                Input::Pause => "pause",
                Input::Approve => "approve (it is not at a gate)",
                Input::GateExpired => "time out a gate (it is not at one)",
                Input::Resume => "resume",
                Input::Promote => "promote",
                Input::Abort { .. } => "abort",
                Input::Supersede { .. } => "supersede",
                Input::Decline { .. } => "decline",
                Input::Fail { .. } => "fail",
                Input::Alarm { .. } => "roll back on an alarm",
                Input::Promoted => "record a promotion",
                Input::HookAnswered { .. } => "record a hook's answer",
                Input::Ignore { .. } => "ignore a guard",
                Input::Pruned(_) => "record a version pruning",
                Input::RolledBack => "record a rollback",
                Input::RollbackFailed { .. } => "record a failed rollback",
                Input::LockBroken { .. } => "record a broken lock",
                Input::TakeOverLock { .. } => "take over a lock",
                Input::AlarmSuppressed { .. } => "record a suppressed alarm",
                Input::DurableLeft { .. } => "record durable executions left running",
                Input::HandsOff { .. } => "record an alias changed outside it",
            },
        }
    }

    /// Whether the executions left on `function`'s `version` are on the record already (a
    /// retried save records them once).
    pub(super) fn durable_left_recorded(&self, function: Option<&str>, version: &str) -> bool {
        self.log.iter().any(|e| {
            matches!(&e.event, ReleaseEvent::DurableExecutionsLeft { function: f, version: v, .. }
                if f.as_deref() == function && v == version)
        })
    }

    /// Whether its automatic retention has run (it runs once).
    pub fn pruned(&self) -> bool {
        self.log
            .iter()
            .any(|e| matches!(e.event, ReleaseEvent::VersionsPruned { .. }))
    }

    /// Whether its automatic retention is still to run: it succeeded and asked for one.
    pub fn retention_due(&self) -> bool {
        self.phase == Phase::Succeeded && self.retain_versions.is_some() && !self.pruned()
    }

    /// When the current pause (or hold for a person) began.
    pub(super) fn paused_since(&self) -> Option<DateTime<Utc>> {
        self.log
            .iter()
            .rev()
            .find(|e| matches!(e.event, ReleaseEvent::Paused | ReleaseEvent::Held { .. }))
            .map(|e| e.at)
    }

    /// Seconds the release has been paused, at `now`.
    pub(super) fn paused_for(&self, now: DateTime<Utc>) -> u64 {
        (now - self.paused_since().unwrap_or(now))
            .num_seconds()
            .max(0) as u64
    }

    /// Paused longer than a release may be: aborted, back to its stable version.
    pub(super) fn pause_expired(&mut self, now: DateTime<Utc>, actor: &str) -> Action {
        let reason = format!(
            "paused for more than {} days: aborted, so that its workflow ends within Step Functions' limits",
            MAX_PAUSE_SECS / 86_400
        );
        self.start_rollback(RollbackCause::Aborted, reason, now, actor)
    }

    /// Whether this alarm's suppressed state change is on the record already (a duplicate).
    pub(super) fn recorded_suppression(&self, alarm: &str, at: DateTime<Utc>) -> bool {
        self.log.iter().any(|e| {
            matches!(&e.event, ReleaseEvent::AlarmSuppressed { alarm: a, changed_at, .. }
                if a == alarm && *changed_at == at)
        })
    }

    pub(super) fn set_step(&mut self, step: usize, now: DateTime<Utc>, actor: &str) -> Action {
        let weight = self.schedule.steps[step].weight;
        self.phase = Phase::Shifting { step };
        self.weight = weight;
        self.step_started_at = Some(now);
        let steps = self.schedule.steps.len();
        self.record(
            now,
            actor,
            ReleaseEvent::WeightSet {
                step,
                steps,
                weight,
            },
        );
        Action::SetWeight { step, weight }
    }

    pub(super) fn start_promotion(&mut self) -> Action {
        self.phase = Phase::Promoting;
        Action::Promote
    }

    pub(super) fn start_rollback(
        &mut self,
        cause: RollbackCause,
        reason: String,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Action {
        self.phase = Phase::RollingBack { cause };
        self.reason = Some(reason.clone());
        self.record(
            now,
            actor,
            ReleaseEvent::RollbackStarted {
                cause,
                reason: reason.clone(),
            },
        );
        Action::RollBack { reason }
    }

    pub(super) fn finish(&mut self, phase: Phase, now: DateTime<Utc>) {
        self.phase = phase;
        self.finished_at = Some(now);
    }
}
