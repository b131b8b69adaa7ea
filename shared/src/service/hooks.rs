//! Calling a release's due traffic hook and recording its answer.

use super::*;
use crate::domain::{Action, Input};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::{HookCaller, ReleaseRecords};
use crate::store::LoadedRelease;

impl<P: Ports> ReleaseService<P> {
    /// Calls the release's due hook, then records its answer and what it decided (the first
    /// weight, a wait, the promotion, a refusal or a rollback). If the release changed while
    /// the hook ran (an operator aborted it, an alarm reverted it), the save fails as stale
    /// and the answer is dropped: the next look finds the release as it now is.
    pub(super) async fn call_hook(&self, tracked: &mut LoadedRelease) -> Result<Action> {
        let release = &tracked.release;
        let Some((phase, hook)) = release.hook_due() else {
            return Ok(Action::Nothing);
        };
        let hook = hook.to_string();
        let hooks = self.hooks.as_ref().ok_or_else(|| {
            Error::BadRequest(format!(
                "release {} waits on its {phase} hook {hook}, and this handler cannot invoke hooks",
                release.id
            ))
        })?;
        let target = hooks.target_arn(&release.function, &release.target_version);
        let payload = release.hook_payload(phase, target, self.store.now());
        let verdict = hooks.call(&hook, &payload).await?;
        tracing::info!(release = %release.id, %phase, %hook, ?verdict, "hook answered");
        let answered = Input::HookAnswered {
            phase,
            hook,
            verdict,
        };
        let action = tracked
            .release
            .apply(answered, self.store.now(), WORKFLOW_ACTOR)?;
        self.store.save(tracked).await?;
        Ok(action)
    }
}
