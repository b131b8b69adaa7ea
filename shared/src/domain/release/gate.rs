//! Gates in the transition function: a step with a gate, once baked healthy, holds the release
//! there (`AtGate`) until a person approves, promotes or aborts, or the gate times out.

use chrono::{DateTime, Utc};

use super::*;
use crate::domain::gates::OnGateTimeout;

impl Release {
    /// Whether the gate after `step` has been passed (approved, or timed out into approval).
    fn gate_passed(&self, step: usize) -> bool {
        self.log.iter().any(|e| {
            matches!(e.event, ReleaseEvent::Approved { step: s } if s == step)
                || matches!(e.event, ReleaseEvent::GateExpired { step: s } if s == step)
        })
    }

    /// When the release reached its current gate.
    fn gate_reached_at(&self) -> Option<DateTime<Utc>> {
        self.log.iter().rev().find_map(|e| match e.event {
            ReleaseEvent::GateReached { .. } => Some(e.at),
            _ => None,
        })
    }

    /// Seconds left before the current gate times out (at least 1: the workflow's own timeout
    /// decides the end).
    pub fn gate_remaining(&self, now: DateTime<Utc>) -> u64 {
        if let Phase::Paused { .. } = self.phase {
            return MAX_PAUSE_SECS.saturating_sub(self.paused_for(now)).max(1);
        }
        let waited = self
            .gate_reached_at()
            .map_or(0, |at| (now - at).num_seconds().max(0) as u64);
        self.gates.timeout_secs.saturating_sub(waited).max(1)
    }

    /// Step `step` baked healthy: hold at its gate, or go on.
    pub(super) fn after_bake(&mut self, step: usize, now: DateTime<Utc>, actor: &str) -> Action {
        if self.schedule.steps[step].gate_after && !self.gate_passed(step) {
            self.phase = Phase::AtGate { step };
            self.gate_token = None;
            let timeout_secs = self.gates.timeout_secs;
            self.record(now, actor, ReleaseEvent::GateReached { step, timeout_secs });
            return Action::AwaitApproval { secs: timeout_secs };
        }
        self.move_on(step, now, actor)
    }

    /// On from step `step`: the next step, or promotion after the last.
    pub(super) fn move_on(&mut self, step: usize, now: DateTime<Utc>, actor: &str) -> Action {
        if step + 1 < self.schedule.steps.len() {
            self.set_step(step + 1, now, actor)
        } else {
            self.start_promotion()
        }
    }

    pub(super) fn approve(&mut self, step: usize, now: DateTime<Utc>, actor: &str) -> Action {
        self.record(now, actor, ReleaseEvent::Approved { step });
        self.move_on(step, now, actor)
    }

    pub(super) fn gate_expired(&mut self, step: usize, now: DateTime<Utc>, actor: &str) -> Action {
        self.record(now, actor, ReleaseEvent::GateExpired { step });
        match self.gates.on_timeout {
            OnGateTimeout::Approve => self.move_on(step, now, actor),
            OnGateTimeout::Abort => {
                let reason = format!(
                    "nobody approved the gate after step {} within {}s: aborted, as the release says",
                    step + 1,
                    self.gates.timeout_secs
                );
                self.start_rollback(RollbackCause::Aborted, reason, now, actor)
            }
        }
    }
}
