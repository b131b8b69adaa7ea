//! An Update while the stack rolls back (`UPDATE_ROLLBACK_IN_PROGRESS`): CloudFormation puts
//! the previous properties back, and a FAILED answer leaves the stack in
//! `UPDATE_ROLLBACK_FAILED`, which a team can only clear by hand. So nothing here is refused:
//! the alias goes back to the last version the record says was good, a release moving toward
//! the version being rolled back from is aborted, and no release is started (a version an
//! alarm, the analysis or a person rejected least of all). Only an alias that cannot be
//! written at all (throttling, 5xx, beyond the retries) answers FAILED.

use aws_lambda_events::event::cloudformation::UpdateRequest;

use super::*;
use crate::domain::ReleaseKind;
use crate::error::AwsErrorKind;
use crate::ports::Ports;
use crate::router::routing::AliasRouting;

impl<P: Ports> ReleaseService<P> {
    /// Rolls the alias back as [`Self::roll_back`] does. Anything but AWS itself failing
    /// (throttling, 5xx: the alias may not be writable at all) becomes a SUCCESS whose reason
    /// says what was left and why; AWS failing is tried again by the caller first.
    pub(super) async fn roll_back_never_refusing<W: ExecutionControl>(
        &self,
        update: &UpdateRequest,
        workflow: &W,
        last_attempt: bool,
    ) -> Result<Provided> {
        match self.roll_back(update, workflow).await {
            Err(e) if aws_unavailable(&e) => Err(e),
            // A lost race with the workflow (a stale release) is tried again while tries are left.
            Err(e) if e.is_retryable() && !last_attempt => Err(e),
            Err(e) => {
                tracing::warn!(request = %update.request_id, error = %e, "a stack rollback left the alias as it was");
                let note = format!("the stack rolls back; the alias was left as it is: {e}");
                Ok(
                    Provided::done(update.physical_resource_id.clone(), "left as it is", "")
                        .noting(note),
                )
            }
            other => other,
        }
    }

    async fn roll_back<W: ExecutionControl>(
        &self,
        update: &UpdateRequest,
        workflow: &W,
    ) -> Result<Provided> {
        let props = properties(&update.resource_properties)?;
        let from = properties(&update.old_resource_properties)
            .ok()
            .map(|old| old.version);
        let function = self.canonical(&props.function_name)?;
        self.check_owner(&function, &update.stack_id).await?;
        let by = stack_actor(&update.stack_id);
        let (alias, version) = (props.alias.as_str(), props.version.as_str());
        let physical_id = format!("{function}:{alias}");
        let own_id = release_id_for(&update.request_id);
        // A repeated request whose revert is done: the answer it had.
        if let Ok(own) = self.store.load_summary(&own_id).await {
            if own.kind == ReleaseKind::Revert {
                self.finish_revert(&own).await?;
                return Ok(Provided::done(physical_id, "reverted", version).with_release(&own_id));
            }
        }
        let mut notes = Vec::new();
        if let Some(holder) = self.live_holder(&function, alias).await? {
            let ours = holder.started_by == by;
            let toward_from = from.as_deref() == Some(holder.target_version.as_str());
            if holder.target_version == version {
                // A release of the very version the stack goes back to: let it finish.
                let outcome = format!("release {} moves the alias to it", holder.id);
                return Ok(Provided::done(physical_id, &outcome, version).with_release(&holder.id));
            }
            if holder.kind == ReleaseKind::Revert || !(ours || toward_from) {
                let note = format!(
                    "the stack rolls back to version {version}, but release {} (started by {}) moves the alias: left to it",
                    holder.id, holder.started_by
                );
                return Ok(Provided::done(physical_id, "left as it is", version).noting(note));
            }
            // A throttled read of the alarms must not fail a rollback: read as not firing.
            if let Some(alarm) = self.firing_guard(&holder).await.unwrap_or(None) {
                // The alarm function reverts it and records why; an abort now would erase that.
                let note = format!(
                    "release {}'s alarm {alarm} is firing: the alarm function reverts it",
                    holder.id
                );
                return Ok(Provided::done(physical_id, "left as it is", version).noting(note));
            }
            let reason = format!(
                "the stack {} rolled back from version {}",
                stack_name(&update.stack_id),
                from.as_deref().unwrap_or("?")
            );
            self.abort_for_stack(&holder, reason, &by, workflow).await?;
            notes.push(format!("release {} aborted", holder.id));
        }
        let current = self.router.read(&function, alias).await?;
        if current.routing == AliasRouting::single(version) {
            let outcome = match notes.is_empty() {
                true => "already on the version".to_string(),
                false => notes.join("; "),
            };
            return Ok(Provided::done(physical_id, &outcome, version));
        }
        let left = |why: String| {
            let note = format!(
                "the stack rolls back to version {version}, which {why}: not released during a rollback; the alias stays on {}",
                current.routing
            );
            Provided::done(physical_id.clone(), "not released", version).noting(note)
        };
        match self.version_record(&function, alias, version).await? {
            VersionRecord::Good { .. } => {
                Box::pin(self.revert_to(&function, alias, version, &by, Some(own_id.clone())))
                    .await?;
                Ok(Provided::done(physical_id, "reverted", version).with_release(&own_id))
            }
            VersionRecord::Rejected { why, .. } => {
                let stable = current.routing.version.clone();
                self.record_declined(
                    &own_id,
                    asked_for(&function, alias, &stable, version),
                    &why,
                    &by,
                )
                .await?;
                Ok(left(format!("was rejected ({why})")).with_release(&own_id))
            }
            VersionRecord::Unknown => Ok(left(
                "has no record of running well on the alias".to_string(),
            )),
        }
    }
}

/// AWS itself throttling or failing: the one reason a rollback's answer may be FAILED.
fn aws_unavailable(error: &Error) -> bool {
    matches!(error, Error::Aws(aws) if matches!(aws.kind, AwsErrorKind::Throttled | AwsErrorKind::Transient))
}
