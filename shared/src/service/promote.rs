//! Promote: move the alias wholly to the target and record success.

use super::*;
use crate::domain::{Action, Input, Phase};
use crate::error::Result;
use crate::ports::Ports;
use crate::ports::ReleaseRecords;
use crate::service::converge::{Converged, FirstStep};

impl<P: Ports> ReleaseService<P> {
    /// Moves the alias wholly to the target and records success, giving up the lock.
    pub async fn promote(&self, input: StepInput) -> Result<StepOutcome> {
        let mut tracked = self.load_step(input.release_id.as_deref()).await?;
        if let Some(outcome) = self.ended(&tracked.release).await {
            return Ok(outcome);
        }
        if tracked.release.phase != Phase::Promoting {
            // Only a recorded promotion decision leads here; anything else is refused with the
            // illegal-transition error, and the release stays as it is.
            tracked
                .release
                .clone()
                .apply(Input::Promoted, self.store.now(), WORKFLOW_ACTOR)?;
        }
        if let Converged::HandedOff(outcome) = self
            .converge_or_hand_off(
                &tracked.release,
                FirstStep::FromStable,
                Vec::new(),
                WORKFLOW_ACTOR,
            )
            .await?
        {
            return Ok(outcome);
        }
        // At 100%, the post-traffic hook decides: a pass completes the promotion; "not yet"
        // waits (the workflow looks at health meanwhile and comes back); a failure rolls back.
        if tracked.release.hook_due().is_some() {
            let action = self.call_hook(&mut tracked).await?;
            if action != Action::Promote {
                self.after_write(&tracked.release).await;
                return Ok(StepOutcome::of(&tracked.release, &action));
            }
        }
        tracked
            .release
            .apply(Input::Promoted, self.store.now(), WORKFLOW_ACTOR)?;
        self.store.save(&mut tracked).await?;
        self.after_write(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }
}
