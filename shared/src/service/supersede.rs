//! Supersede: a new release takes the place of the releases still moving its aliases. Each
//! goes back to its stable version as a whole (every member of a group), ends on the record as
//! superseded, naming the new release, and its team is told; then the new release starts from
//! those stable versions as any release does.

use super::*;
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::{ExecutionControl, HealthSource, ReleaseRecords};

/// A release that a start superseded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superseded {
    pub release_id: String,
    /// Where it ended (superseded; or already over when the start got to it).
    pub phase: String,
}

impl<P: Ports> ReleaseService<P> {
    /// Supersedes, in favour of release `new_id`, every live release holding one of the
    /// request's aliases (its own and its members'). An operator's revert is never superseded:
    /// the start then finds its alias held and is refused. Safe to repeat: a release already
    /// over is left as it is. With a `workflow`, a superseded release waiting at a gate or
    /// paused has its task token handed back, so its workflow ends now rather than at the
    /// gate's timeout (the workflow's own start has none to give).
    pub async fn supersede_holders<W: ExecutionControl>(
        &self,
        request: &StartRequest,
        new_id: &str,
        workflow: Option<&W>,
    ) -> Result<Vec<Superseded>> {
        let aliases = std::iter::once((request.function.clone(), request.alias.clone())).chain(
            request
                .members
                .iter()
                .map(|m| (m.function.clone(), m.alias.clone())),
        );
        let mut superseded: Vec<Superseded> = Vec::new();
        for (function, alias) in aliases {
            let function = self.canonical(&function)?;
            let Some(holder) = self.to_supersede(&function, &alias).await? else {
                continue;
            };
            if holder.id == new_id || superseded.iter().any(|s| s.release_id == holder.id) {
                continue;
            }
            // Its own alarm is firing: the alarm function reverts it and records the verdict;
            // superseding it first would record "superseded" and lose that verdict.
            if let Some(alarm) = self.firing_guard(&holder).await? {
                return Err(Error::AlarmsFiring(vec![format!(
                    "{alarm} (guarding release {}, which it rolls back; deploy again once it has)",
                    holder.id
                )]));
            }
            let control = Control::Supersede {
                by: new_id.to_string(),
            };
            let by = match request.started_by.as_str() {
                "" => new_id,
                actor => actor,
            };
            let outcome = self.end_holder(&holder, control, by, workflow).await;
            let phase = match outcome {
                Ok(outcome) => outcome.phase,
                // It ended on its own between the lock's read and the command: nothing to do.
                Err(Error::Transition(_)) => {
                    let now = self.store.load_summary(&holder.id).await?;
                    if !now.phase.is_terminal() {
                        return Err(Error::LockHeld {
                            function,
                            alias,
                            holder: holder.id,
                            since: now.created_at.to_rfc3339(),
                        });
                    }
                    now.phase.name().to_string()
                }
                Err(e) => return Err(e),
            };
            tracing::info!(release = %holder.id, by = %new_id, %phase, "superseded");
            superseded.push(Superseded {
                release_id: holder.id,
                phase,
            });
        }
        Ok(superseded)
    }
}

impl<P: Ports> ReleaseService<P> {
    /// The live release holding `function:alias`, seen as that alias's member; None when the
    /// alias is free, its lock expired (a start takes it over instead), or the holder is over.
    pub(crate) async fn live_holder(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<crate::domain::Release>> {
        let Some(holder) = self.store.lock_holder(function, alias).await? else {
            return Ok(None);
        };
        if holder.expired_at(self.store.now()) {
            return Ok(None);
        }
        let release = match self.store.load_summary(&holder.release_id).await {
            Ok(release) => release,
            Err(Error::ReleaseNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        if release.phase.is_terminal() {
            return Ok(None);
        }
        Ok(release
            .views_of(function)
            .into_iter()
            .find(|view| view.alias == alias))
    }

    /// The release a superseding start ends on `function:alias`: its live holder, unless that
    /// is an operator's revert, which nothing forward may undo (the start is then refused as
    /// held).
    pub(crate) async fn to_supersede(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<crate::domain::Release>> {
        Ok(self
            .live_holder(function, alias)
            .await?
            .filter(|holder| holder.kind != crate::domain::ReleaseKind::Revert))
    }

    /// Ends `holder` with `control` (a supersede, or the stack's abort), handing a gate's token
    /// back through `workflow` when there is one. A holder already rolling back (an earlier try
    /// recorded its end, then its revert failed) has that rollback finished instead: a second
    /// end would be refused as illegal, with the alias left split.
    pub(crate) async fn end_holder<W: ExecutionControl>(
        &self,
        holder: &crate::domain::Release,
        control: Control,
        by: &str,
        workflow: Option<&W>,
    ) -> Result<StepOutcome> {
        // Boxed: a control's future is deep, and the start's or provider's around it too.
        if matches!(holder.phase, crate::domain::Phase::RollingBack { .. }) {
            return Box::pin(self.rollback(StepInput::of(&holder.id))).await;
        }
        match workflow {
            Some(workflow) => {
                Box::pin(self.control_gate_aware(&holder.id, control, by, workflow)).await
            }
            None => Box::pin(self.control(&holder.id, control, by)).await,
        }
    }

    /// A guarding alarm of `release` in ALARM now (its own, or its analysis alarm) that the
    /// alarm function acts on, if any: a verdict about to be recorded. Alarms since deleted,
    /// and those an operator ignores for this release, fire nothing.
    pub(crate) async fn firing_guard(
        &self,
        release: &crate::domain::Release,
    ) -> Result<Option<String>> {
        // Already rolling back: its cause is on the record, and finishing it keeps it.
        if matches!(release.phase, crate::domain::Phase::RollingBack { .. }) {
            return Ok(None);
        }
        let mut names = release.guarding_alarms();
        let statuses = loop {
            if names.is_empty() {
                return Ok(None);
            }
            match self.health.statuses(&names).await {
                Ok(statuses) => break statuses,
                Err(Error::AlarmsMissing(missing)) => names.retain(|n| !missing.contains(n)),
                Err(e) => return Err(e),
            }
        };
        let firing: Vec<String> =
            crate::domain::firing(&statuses, &release.alarm_overrides, release.created_at)
                .into_iter()
                .map(|a| a.name.clone())
                .collect();
        if firing.is_empty() {
            return Ok(None);
        }
        // Ignores are in the release's log, which a summary leaves out.
        let full = self.store.load(&release.id).await?.release;
        let at = self.store.now();
        Ok(firing
            .into_iter()
            .find(|alarm| full.ignored_until(alarm, at).is_none()))
    }
}

/// No workflow to hand a gate's token back to (the workflow's own start task): the superseded
/// release's gate ends at its timeout and finds it over.
pub(crate) struct NoWorkflow;

impl ExecutionControl for NoWorkflow {
    async fn launch(&self, _: &str, _: &serde_json::Value) -> Result<()> {
        Ok(())
    }
    async fn stop(&self, _: &str, _: &str) -> Result<()> {
        Ok(())
    }
    async fn resume(&self, _: &str, _: &serde_json::Value) -> Result<bool> {
        Ok(false)
    }
}
