//! A release's traffic hooks: which one is due, what it is told, and what its answer does.
//! The pre-traffic hook runs while the release is pending (lock taken, nothing shifted); the
//! post-traffic hook while it is promoting, once the alias is wholly on the target.

use chrono::{DateTime, Duration, Utc};

use super::*;
use serde::Serialize;

use crate::hooks::within_deadline;

impl Release {
    /// The hook the release must hear from before it goes on, if any.
    pub fn hook_due(&self) -> Option<(HookPhase, &str)> {
        let phase = match self.phase {
            Phase::Pending => HookPhase::PreTraffic,
            Phase::Promoting => HookPhase::PostTraffic,
            _ => return None,
        };
        let hook = self.hooks.for_phase(phase)?;
        (!self.hook_passed(phase)).then_some((phase, hook))
    }

    /// Whether the hook of `phase` has passed.
    pub fn hook_passed(&self, phase: HookPhase) -> bool {
        self.hook_answers(phase)
            .any(|(_, verdict)| *verdict == HookVerdict::Passed)
    }

    fn hook_answers(
        &self,
        phase: HookPhase,
    ) -> impl Iterator<Item = (DateTime<Utc>, &HookVerdict)> {
        self.log.iter().filter_map(move |e| match &e.event {
            ReleaseEvent::HookAnswered {
                phase: p, verdict, ..
            } if *p == phase => Some((e.at, verdict)),
            _ => None,
        })
    }

    /// When the hook of `phase` must have passed: its deadline counts from its first answer
    /// on the record (the first call, to within one call's time), or from `now` before any.
    pub fn hook_deadline(&self, phase: HookPhase, now: DateTime<Utc>) -> DateTime<Utc> {
        let first = self.hook_answers(phase).next().map_or(now, |(at, _)| at);
        first + Duration::seconds(self.hooks.deadline_secs as i64)
    }

    /// What the due hook of `phase` is told. `target_arn` is the target version's qualified ARN.
    pub fn hook_payload(
        &self,
        phase: HookPhase,
        target_arn: String,
        now: DateTime<Utc>,
    ) -> HookPayload {
        HookPayload {
            members: self.members.clone(),
            release_id: self.id.clone(),
            phase,
            function: self.function.clone(),
            alias: self.alias.clone(),
            stable_version: self.stable_version.clone(),
            target_version: self.target_version.clone(),
            target_arn,
            deadline: self.hook_deadline(phase, now),
        }
    }

    /// Applies the due hook's answer: "not yet" past its deadline is a failure. A pre-traffic
    /// hook that passes lets the first weight move; one that fails refuses the release with
    /// nothing shifted. A post-traffic hook that passes completes the promotion; one that
    /// fails rolls the release back.
    pub(super) fn answer_hook(
        &mut self,
        phase: HookPhase,
        hook: &str,
        verdict: &HookVerdict,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<Action, TransitionError> {
        if self.hook_due() != Some((phase, hook)) {
            return Err(TransitionError::HookNotDue {
                id: self.id.clone(),
                phase,
                hook: hook.to_string(),
            });
        }
        let verdict = within_deadline(verdict.clone(), self.hook_deadline(phase, now), now);
        let event = ReleaseEvent::HookAnswered {
            phase,
            hook: hook.to_string(),
            verdict: verdict.clone(),
        };
        self.record(now, actor, event);
        Ok(match (phase, verdict) {
            (_, HookVerdict::NotYet { retry_after_secs }) => Action::Wait {
                secs: retry_after_secs,
            },
            (HookPhase::PreTraffic, HookVerdict::Passed) => self.first_move(now, actor),
            (HookPhase::PostTraffic, HookVerdict::Passed) => Action::Promote,
            (HookPhase::PreTraffic, HookVerdict::Failed { reason }) => {
                let reason = format!("pre-traffic hook {hook} failed: {reason}");
                self.reason = Some(reason.clone());
                self.finish(Phase::Refused, now);
                self.record(now, actor, ReleaseEvent::Refused { reason });
                Action::Nothing
            }
            (HookPhase::PostTraffic, HookVerdict::Failed { reason }) => {
                let reason = format!("post-traffic hook {hook} failed: {reason}");
                self.start_rollback(RollbackCause::Unhealthy, reason, now, actor)
            }
        })
    }

    /// Whether the release's last record is its first weight, set on its pre-traffic hook's
    /// pass: the look that recorded it may still have to apply it from the stable version.
    pub fn first_step_after_hook(&self) -> bool {
        let mut recent = self.log.iter().rev();
        matches!(self.phase, Phase::Shifting { step: 0 })
            && matches!(
                recent.next().map(|e| &e.event),
                Some(ReleaseEvent::WeightSet { step: 0, .. })
            )
            && matches!(
                recent.next().map(|e| &e.event),
                Some(ReleaseEvent::HookAnswered {
                    phase: HookPhase::PreTraffic,
                    verdict: HookVerdict::Passed,
                    ..
                })
            )
    }

    /// What a pending release does once nothing holds it back: its first step, or straight
    /// to promotion for an all-at-once strategy.
    pub(super) fn first_move(&mut self, now: DateTime<Utc>, actor: &str) -> Action {
        if self.schedule.steps.is_empty() {
            self.start_promotion()
        } else {
            self.set_step(0, now, actor)
        }
    }
}

/// What a hook is told: everything it needs, nothing to look up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookPayload {
    pub release_id: String,
    pub phase: HookPhase,
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub target_version: String,
    /// The qualified ARN of the version to exercise.
    pub target_arn: String,
    /// After this, "not yet" is a failure.
    pub deadline: DateTime<Utc>,
    /// A group's other members (the fields above are its first): one hook vouches for the
    /// whole group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
}
