//! Control: an operator's pause, resume, promote or abort of a running release.

use super::converge::FirstStep;
use super::*;
use crate::domain::{check_release_id, ignore_until, Action, Input, Phase};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::{ExecutionControl, ReleaseRecords};
use crate::service::changes::{change_stored, Changed};
use crate::service::converge::Converged;

/// Attempts at an operator command when the workflow keeps moving the release's revision.
const CONTROL_ATTEMPTS: usize = 5;

impl<P: Ports> ReleaseService<P> {
    /// [`Self::control`], then, when the command took the release off its gate, hands the
    /// workflow's task token back with the new outcome, so the workflow goes on from it at once.
    /// A gate whose token is not registered yet needs nothing: the workflow finds it closed.
    pub async fn control_gate_aware<W: ExecutionControl>(
        &self,
        release_id: &str,
        control: Control,
        by: &str,
        workflow: &W,
    ) -> Result<StepOutcome> {
        check_release_id(release_id)?;
        let before = self.store.load_summary(release_id).await?;
        // Boxed: the command's future is large, and callers nest this one deep.
        let outcome = Box::pin(self.control(release_id, control, by)).await?;
        if before.phase.waits_for_person() {
            let after = self.store.load_summary(release_id).await?;
            if let (false, Some(token)) =
                (after.phase.waits_for_person(), after.gate_token.as_deref())
            {
                let output =
                    serde_json::to_value(&outcome).map_err(|e| Error::Corrupt(e.to_string()))?;
                if !workflow.resume(token, &output).await? {
                    tracing::info!(release = %release_id, "nothing waited on the gate's token any more");
                }
            }
        }
        Ok(outcome)
    }

    /// Applies an operator's command, recorded with who asked.
    pub async fn control(
        &self,
        release_id: &str,
        control: Control,
        by: &str,
    ) -> Result<StepOutcome> {
        check_release_id(release_id)?;
        let change = |release: &mut crate::domain::Release| {
            let input = match &control {
                Control::Pause => Input::Pause,
                Control::Resume => Input::Resume,
                Control::Promote => Input::Promote,
                Control::Approve => Input::Approve,
                Control::Abort { reason } => Input::Abort {
                    reason: format!("aborted by {by}: {reason}"),
                },
                Control::Supersede { by } => Input::Supersede { by: by.clone() },
                Control::Ignore {
                    guard,
                    for_secs,
                    reason,
                } => Input::Ignore {
                    guard: guard.clone(),
                    until: ignore_until(self.store.now(), *for_secs),
                    reason: reason.clone(),
                },
            };
            release.apply(input, self.store.now(), by)?;
            Ok(true)
        };
        let mut tracked =
            match change_stored(&self.store, release_id, CONTROL_ATTEMPTS, change).await? {
                Changed::Saved(tracked) | Changed::Declined(tracked) => tracked,
            };
        let completion = match tracked.release.phase {
            Phase::Promoting => {
                if let Converged::HandedOff(outcome) = self
                    .converge_or_hand_off(&tracked.release, FirstStep::FromStable, Vec::new(), by)
                    .await?
                {
                    return Ok(outcome);
                }
                // An early promotion skips steps, not the post-traffic hook: the workflow's
                // next look calls it, and records the promotion when it passes.
                if tracked.release.hook_due().is_some() {
                    self.after_write(&tracked.release).await;
                    return Ok(StepOutcome::of(&tracked.release, &Action::Nothing));
                }
                Input::Promoted
            }
            Phase::RollingBack { .. } => {
                self.revert_recorded(&mut tracked.release, by).await?;
                self.store.save(&mut tracked).await?;
                self.after_write(&tracked.release).await;
                return Ok(StepOutcome::of(&tracked.release, &Action::Nothing));
            }
            // Approved at its gate: the next step's weight, now; its bake is the workflow's.
            Phase::Shifting { step } if control == Control::Approve => {
                let release = &tracked.release;
                if let Converged::HandedOff(outcome) = self
                    .converge_or_hand_off(release, FirstStep::NotFromStable, Vec::new(), by)
                    .await?
                {
                    return Ok(outcome);
                }
                self.after_write(release).await;
                let applied = Action::SetWeight {
                    step,
                    weight: release.weight,
                };
                return Ok(StepOutcome::of(release, &applied));
            }
            _ => {
                self.after_write(&tracked.release).await;
                return Ok(StepOutcome::of(&tracked.release, &Action::Nothing));
            }
        };
        tracked.release.apply(completion, self.store.now(), by)?;
        self.store.save(&mut tracked).await?;
        self.after_write(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }
}
