//! Start: validate a request, record the release with its alias lock and first decision,
//! then apply it. Safe to run again for the same release id.

use super::*;
use crate::domain::{Action, Input, Phase, Release};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::ReleaseRecords;
use crate::service::converge::{Converged, FirstStep};
use crate::store::{LoadedRelease, LockInfo, LockTakeover};

impl<P: Ports> ReleaseService<P> {
    /// Validates the request, checks what it names exists and is healthy (the shared
    /// [`Self::preflight`]), records the release (taking the alias lock) with its first
    /// decision, then applies that decision.
    pub async fn start(&self, request: StartRequest) -> Result<StepOutcome> {
        // Refuse what the request itself gets wrong before asking AWS anything.
        let (request, _) = self.validate(request)?;
        if let Some(id) = &request.release_id {
            // A retried start finds its own release and simply continues it.
            match self.store.load(id).await {
                Ok(tracked) => return self.resume_started(tracked).await,
                Err(Error::ReleaseNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut request = request;
        if request.supersede {
            // Named now: the releases it supersedes record which release took their place.
            let id = request
                .release_id
                .get_or_insert_with(|| crate::domain::release::new_release_id(self.store.now()))
                .clone();
            self.supersede_holders(&request, &id, None::<&super::supersede::NoWorkflow>)
                .await?;
        }
        let Preflight {
            spec,
            expired_lock,
            expired_member_locks,
            target_durable,
            durable_members,
            ..
        } = self.preflight(request).await?;
        let started_at = self.store.now();
        let mut release = Release::new(spec, started_at)?;
        release.target_durable = target_durable;
        release.durable_members = durable_members;
        // Before the release is recorded, so that its guard is written with the others.
        self.open_analysis_alarm(&mut release).await?;
        let (tracked, action, broken, broken_after) = match self
            .record_start(&mut release, expired_lock.as_ref(), &expired_member_locks)
            .await
        {
            Ok(recorded) => recorded,
            // Two identical starts raced; the other one recorded it first (and its alarms are
            // this one's, by name).
            Err(Error::ReleaseExists(id)) => {
                return self.resume_started(self.store.load(&id).await?).await
            }
            Err(e) => {
                // Nothing recorded: no alarm left behind either (they cost, and keep firing
                // into the alarm function for a release that does not exist).
                self.delete_unrecorded_alarms(&release, &release.analysis_alarms())
                    .await;
                return Err(e);
            }
        };
        self.after_start(&tracked.release).await;
        if let Some(old) = &broken {
            self.after_write(&old.release).await;
        }
        for old in broken_after {
            self.record_broken(old, &tracked.release).await;
        }
        self.finish_step(&tracked.release, &action).await
    }

    /// Records the release with its first decision, breaking an expired lock on the record
    /// (a group's other broken releases are returned to be recorded after its transaction:
    /// with every member's lock, theirs would not fit DynamoDB's 100 items).
    async fn record_start(
        &self,
        release: &mut Release,
        expired_lock: Option<&LockInfo>,
        expired_member_locks: &[LockInfo],
    ) -> Result<(
        LoadedRelease,
        Action,
        Option<LoadedRelease>,
        Vec<LoadedRelease>,
    )> {
        let started_at = release.created_at;
        // An expired lock is broken on the record: the release that held it (if it still ran)
        // ends as failed with who took the alias over, in the same transaction as this one.
        let mut broken = None;
        if let Some(holder) = expired_lock {
            broken = self.lose_lock(holder, release, started_at).await?;
            let take_over = Input::TakeOverLock {
                from: holder.release_id.clone(),
                expired_at: holder.expires_at,
            };
            release.apply(take_over, started_at, WORKFLOW_ACTOR)?;
        }
        let mut broken_after = Vec::new();
        if release.is_group() {
            broken_after.extend(broken.take());
            for holder in expired_member_locks {
                match self.lose_lock(holder, release, started_at).await {
                    Ok(old) => broken_after.extend(old),
                    Err(e) => {
                        tracing::warn!(release = %holder.release_id, error = %e, "the release whose lock is taken over was not read; its next look finds the lock gone")
                    }
                }
            }
        }
        let takeover = expired_lock.map(|holder| LockTakeover {
            holder: &holder.release_id,
            broken: broken.as_ref(),
        });
        let action = release.apply(Input::Begin, started_at, WORKFLOW_ACTOR)?;
        let tracked = self.store.create(release, started_at, takeover).await?;
        Ok((tracked, action, broken, broken_after))
    }

    /// The release that held an expired lock, moved to its lock-broken end by `release`'s
    /// start; None when it no longer holds it (finished, or vanished).
    async fn lose_lock(
        &self,
        holder: &LockInfo,
        release: &Release,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<LoadedRelease>> {
        match self.store.load(&holder.release_id).await {
            Ok(mut old) if old.release.holds_alias_lock() => {
                let lost = Input::LockBroken {
                    by: release.id.clone(),
                    expired_at: holder.expires_at,
                };
                old.release.apply(lost, at, &release.started_by)?;
                Ok(Some(old))
            }
            // A lock left behind by a finished or vanished release: nothing to record there.
            Ok(_) | Err(Error::ReleaseNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores and announces a release whose expired lock a group took over; a failure is
    /// logged (its next look finds its lock gone).
    async fn record_broken(&self, mut old: LoadedRelease, by: &Release) {
        // Its locks are the group's now: its save must not give them up.
        old.holds_lock = false;
        match self.store.save(&mut old).await {
            Ok(()) => self.after_write(&old.release).await,
            Err(e) => {
                tracing::warn!(release = %old.release.id, by = %by.id, error = %e, "could not record the lock taken over")
            }
        }
    }

    pub(super) async fn resume_started(&self, tracked: LoadedRelease) -> Result<StepOutcome> {
        let release = tracked.release;
        if let Converged::HandedOff(outcome) = self
            .converge_or_hand_off(&release, FirstStep::FromStable, Vec::new(), WORKFLOW_ACTOR)
            .await?
        {
            return Ok(outcome);
        }
        self.after_write(&release).await;
        let action = match release.phase {
            Phase::Shifting { step } => Action::SetWeight {
                step,
                weight: release.weight,
            },
            _ => Action::Nothing,
        };
        Ok(StepOutcome::of(&release, &action))
    }
}
