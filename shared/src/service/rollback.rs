//! Rollback: revert the alias to the stable version and record why.

use super::*;
use crate::domain::{Action, Input, Phase};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::ReleaseRecords;

impl<P: Ports> ReleaseService<P> {
    /// Reverts the alias to the stable version and records why; the workflow's Catch sends
    /// every unrecoverable failure here.
    pub async fn rollback(&self, input: StepInput) -> Result<StepOutcome> {
        let Some(id) = input.release_id else {
            return Ok(StepOutcome::not_started(
                None,
                describe(input.error.as_ref(), "no release id"),
            ));
        };
        let mut tracked = match self.store.load(&id).await {
            Ok(tracked) => tracked,
            // Refused before anything was recorded: nothing changed, nothing to undo.
            Err(Error::ReleaseNotFound(_)) => {
                return Ok(StepOutcome::not_started(
                    Some(id),
                    describe(input.error.as_ref(), "the release was never recorded"),
                ))
            }
            Err(e) => return Err(e),
        };
        if let Some(outcome) = self.ended(&tracked.release).await {
            return Ok(outcome);
        }
        if !matches!(tracked.release.phase, Phase::RollingBack { .. }) {
            let error = describe(input.error.as_ref(), "rollback requested");
            tracked
                .release
                .apply(Input::Fail { error }, self.store.now(), WORKFLOW_ACTOR)?;
            self.store.save(&mut tracked).await?;
        }
        self.revert_recorded(&mut tracked.release, WORKFLOW_ACTOR)
            .await?;
        self.store.save(&mut tracked).await?;
        self.after_write(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }
}

fn describe(error: Option<&StepError>, default: &str) -> String {
    match error {
        Some(e) => {
            // Lambda errors arrive with the handler's JSON diagnostic as the Cause.
            let message = serde_json::from_str::<serde_json::Value>(&e.cause)
                .ok()
                .and_then(|v| {
                    v.get("errorMessage")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| e.cause.clone());
            format!("{}: {}", e.error, message)
                .chars()
                .take(1000)
                .collect()
        }
        None => default.to_string(),
    }
}
