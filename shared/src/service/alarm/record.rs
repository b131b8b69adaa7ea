//! The alarm's bookkeeping, once every alias is safe: the revert recorded exactly once, the
//! workflow stopped, the alias checked for a forward move that slipped in, people told.

use chrono::{DateTime, Utc};

use super::{AlarmResponder, RECORD_ATTEMPTS};
use crate::alarm_event::AlarmSignal;
use crate::domain::{Input, Release, Weight};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::{AliasRouter, ExecutionControl, HealthSource, ReleaseRecords};
use crate::router::AliasRouting;
use crate::service::changes::{change_stored, Changed};
use crate::store::Guard;

impl<P: Ports> AlarmResponder<P> {
    /// Records the revert on the release, exactly once however many copies of the event
    /// arrive; then stops its workflow and makes sure no forward shift slipped in.
    pub(super) async fn record(
        &self,
        guard: &Guard,
        signal: &AlarmSignal,
        reverted_at: DateTime<Utc>,
    ) -> Result<bool> {
        let actor = format!("alarm:{}", signal.alarm);
        let reason = format!(
            "{} (state changed {}, alias reverted {})",
            signal.reason,
            signal.changed_at.to_rfc3339(),
            reverted_at.to_rfc3339()
        );
        let recorded = self
            .change_release(guard, |release| {
                let input = Input::Alarm {
                    alarm: signal.alarm.clone(),
                    reason: reason.clone(),
                };
                // The rollback started when the alarm changed state: a bake window is judged
                // by that moment, not by when the event happened to arrive.
                if let Err(refused) = release.apply(input, signal.changed_at, &actor) {
                    // Already rolled back (a duplicate event) or finished long ago (a late one).
                    tracing::info!(release = %guard.release_id, %refused, "revert already recorded or not needed");
                    return Ok(false);
                }
                release.apply(Input::RolledBack, reverted_at, &actor)?;
                Ok(true)
            })
            .await?;
        match recorded {
            Some(release) => {
                self.after_record(guard, &release).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Records, once per state change, that a suppressed alarm fired, and announces it.
    pub(super) async fn record_suppressed(
        &self,
        guard: &Guard,
        signal: &AlarmSignal,
        by: &str,
    ) -> Result<()> {
        let actor = format!("alarm:{}", signal.alarm);
        let recorded = self
            .change_release(guard, |release| {
                let input = Input::AlarmSuppressed {
                    alarm: signal.alarm.clone(),
                    by: by.to_string(),
                    changed_at: signal.changed_at,
                };
                // Refused: recorded by an earlier copy of this event, or the release is over.
                Ok(release.apply(input, self.store.now(), &actor).is_ok())
            })
            .await?;
        if let Some(release) = recorded {
            crate::service::announce_logged(self.notifier.as_ref(), &release).await;
        }
        Ok(())
    }

    /// Loads the guarded release, lets `change` decide and change it, and stores it over the
    /// revision it was loaded at, again from a fresh load when another writer moved it first.
    /// Returns the stored release, or None when it is gone or `change` declined.
    async fn change_release(
        &self,
        guard: &Guard,
        change: impl FnMut(&mut Release) -> Result<bool>,
    ) -> Result<Option<Release>> {
        match change_stored(&self.store, &guard.release_id, RECORD_ATTEMPTS, change).await {
            Ok(Changed::Saved(tracked)) => Ok(Some(tracked.release)),
            Ok(Changed::Declined(_)) | Err(Error::ReleaseNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn after_record(&self, guard: &Guard, release: &Release) {
        let reason = release.reason.clone().unwrap_or_default();
        if let Some(workflow) = &self.workflow {
            if let Err(e) = workflow.stop(&guard.release_id, &reason).await {
                tracing::warn!(release = %guard.release_id, error = %e, "could not stop the workflow; it ends at its next look");
            }
        }
        // The revert is done and recorded: a plan it belongs to stops everywhere, at once.
        // Boxed, as below: a test thread's stack holds the alarm function's future.
        Box::pin(crate::waves::stop_plan_logged(
            self.plan_stops.as_ref(),
            release,
        ))
        .await;
        self.recheck(guard).await;
        // Boxed: the alarm function's future is deep already (a test thread's 2 MB stack).
        let release = Box::pin(self.record_durable_left(guard, release)).await;
        // Last: telling people never delays or blocks the revert.
        crate::service::announce_logged(self.notifier.as_ref(), &release).await;
        self.retire_analysis_alarm(&release).await;
    }

    /// A durable function's release: the executions still running on the version reverted
    /// from, on the record (a second save, after the revert's own). Returns the release as
    /// stored; a count or save that fails is logged, never an error of the revert.
    async fn record_durable_left(&self, guard: &Guard, release: &Release) -> Release {
        let left = crate::service::durable_left(&self.router, release).await;
        if left.is_empty() {
            return release.clone();
        }
        let actor = "workflow".to_string();
        let recorded = self
            .change_release(guard, |r| {
                let now = self.store.now();
                let applied = left
                    .iter()
                    .filter(|l| r.apply((*l).clone(), now, &actor).is_ok());
                Ok(applied.count() > 0)
            })
            .await;
        match recorded {
            Ok(Some(stored)) => stored,
            Ok(None) => release.clone(),
            Err(e) => {
                tracing::warn!(release = %guard.release_id, error = %e, "durable executions left not recorded");
                release.clone()
            }
        }
    }

    /// Makes sure no forward shift slipped in after the revert of `guard`'s alias.
    pub(super) async fn recheck(&self, guard: &Guard) {
        // A forward move (a step or a promotion) that read the alias before our revert and
        // wrote after it would be caught here: the release is recorded as rolled back now, so
        // nothing moves it forward again. A bake-window release has no forward move left, and
        // its alias may belong to a newer release by now: it is not re-checked.
        match self.router.read(&guard.function, &guard.alias).await {
            Ok(state)
                if guard.until.is_none()
                    && state
                        .routing
                        .weight_towards(&guard.stable_version, &guard.target_version)
                        .is_some_and(|w| w > Weight::ZERO) =>
            {
                tracing::warn!(release = %guard.release_id, "a forward shift landed after the revert; reverting again");
                let stable = AliasRouting::single(&guard.stable_version);
                if let Err(e) = self
                    .router
                    .update(&guard.function, &guard.alias, &stable, None)
                    .await
                {
                    tracing::error!(release = %guard.release_id, error = %e, "second revert failed");
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(release = %guard.release_id, error = %e, "could not verify the revert")
            }
        }
    }

    /// Deletes the reverted release's own alarm: it has done its work, and no release may
    /// follow on the alias to clean it up. A failure is logged; the next release retries.
    async fn retire_analysis_alarm(&self, release: &Release) {
        let names = release.analysis_alarms();
        let Some(alarms) = self.alarms.as_ref().filter(|_| !names.is_empty()) else {
            return;
        };
        if !crate::service::done_with_alarm(release, self.store.now()) {
            return;
        }
        if let Err(e) = alarms.delete_alarms(&names).await {
            tracing::warn!(release = %release.id, alarms = ?names, error = %e, "analysis alarm not deleted; the next release on the alias retries");
        }
    }
}
