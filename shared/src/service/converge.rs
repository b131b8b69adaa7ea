//! Converge: make the alias match what the release recorded, from the routings this release
//! may find it in; what to do when someone else moved it (hands off).

use super::*;
use crate::adapters::AliasRouting;
use crate::domain::{Action, AliasTarget, Input, Phase, Release, ReleaseKind};
use crate::error::{AwsErrorKind, Error, Result};
use crate::ports::{AliasRouter, AliasState, Announcer, HealthSource, HookCaller, ReleaseRecords};

/// How long a release that finds its alias on the stable version waits for a revert by the
/// alarm handler (which reverts first and records right after) to be recorded, before it
/// counts the revert as done by hand.
const REVERT_RECORD_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether a forward move may take the alias from the stable version to the first step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FirstStep {
    /// `start`, which applies the first step.
    FromStable,
    /// Every later move: an alias found on the stable version was reverted by someone.
    NotFromStable,
}

impl<R: AliasRouter, S: ReleaseRecords, H: HealthSource, N: Announcer, K: HookCaller>
    ReleaseService<R, S, H, N, K>
{
    /// Puts the alias back on the stable version, whatever weight it carries: a revert must
    /// win, so it does not compare revisions. It refuses only an alias this release never
    /// routed (someone moved it elsewhere), which is not ours to overwrite.
    pub async fn revert(&self, release: &Release) -> Result<()> {
        let current = self.router.read(&release.function, &release.alias).await?;
        let stable = AliasRouting::single(&release.stable_version);
        if current.routing == stable {
            return Ok(());
        }
        if current
            .routing
            .weight_towards(&release.stable_version, &release.target_version)
            .is_none()
        {
            return Err(unexpected(release, &stable, &current.routing));
        }
        self.router
            .set(&release.function, &release.alias, &stable, None)
            .await?;
        Ok(())
    }

    /// Makes the alias match the release's recorded decision for a forward move.
    ///
    /// The alias must be where this release left it: at the desired routing already (a
    /// retry), or at the previous step's. Anything else (notably the stable version after
    /// the first step, which is what a revert leaves) means someone else acted, and a forward
    /// shift must not undo that. The write is a compare-and-swap on the revision read here,
    /// after the release is re-read, so a revert landing in between makes it fail.
    /// Returns whether it had to move the alias.
    pub async fn converge(&self, release: &Release) -> Result<bool> {
        self.converge_from(release, FirstStep::FromStable).await
    }

    /// [`Self::converge`], where `first_step` says whether the alias may be moved to the first
    /// step from the stable version. Only `start` applies the first step; after it, an alias
    /// found on the stable version was reverted by someone, and stays so.
    pub(super) async fn converge_from(
        &self,
        release: &Release,
        first_step: FirstStep,
    ) -> Result<bool> {
        if release.desired_alias().is_none() {
            return Ok(false);
        }
        let current = self.router.read(&release.function, &release.alias).await?;
        self.converge_seen(release, first_step, current).await
    }

    /// [`Self::converge_from`] from the alias as read earlier in the same look, so a step
    /// costs one read and one write. An alias changed since that read fails the write's
    /// compare-and-swap, as it would have between a fresh read and the write.
    pub(super) async fn converge_seen(
        &self,
        release: &Release,
        first_step: FirstStep,
        current: AliasState,
    ) -> Result<bool> {
        let Some(desired) = release.desired_alias() else {
            return Ok(false);
        };
        let routing =
            AliasRouting::for_release(&release.stable_version, &release.target_version, desired);
        if current.routing == routing {
            return Ok(false);
        }
        let mut acceptable_previous = release.routings_before(desired);
        if first_step == FirstStep::NotFromStable {
            let stable = AliasRouting::single(&release.stable_version);
            acceptable_previous.retain(|routing| *routing != stable);
        }
        // An operator's revert holds the alias lock and names a recorded-good version: it
        // repairs whatever routing it finds (a split left by a failed release, say); the
        // write below is still a compare-and-swap on the revision read here.
        let repair = release.kind == ReleaseKind::Revert && desired == AliasTarget::Target;
        if !repair && !acceptable_previous.contains(&current.routing) {
            return Err(unexpected(release, &routing, &current.routing));
        }
        // Re-read the release: if a revert was recorded since we decided, stand down.
        let fresh = self.store.load_summary(&release.id).await?;
        if fresh.phase != release.phase || fresh.revision != release.revision {
            return Err(Error::StaleRelease {
                id: release.id.clone(),
                expected: release.revision,
            });
        }
        self.router
            .set(
                &release.function,
                &release.alias,
                &routing,
                current.revision_id.as_deref(),
            )
            .await
            .map_err(|e| match e {
                Error::Aws(aws) if aws.kind == AwsErrorKind::Conflict => Error::UnexpectedAlias {
                    function: release.function.clone(),
                    alias: release.alias.clone(),
                    release: release.id.clone(),
                    expected: format!(
                        "revision {}",
                        current.revision_id.clone().unwrap_or_default()
                    ),
                    actual: "a newer revision (changed concurrently)".to_string(),
                },
                other => other,
            })?;
        Ok(true)
    }

    /// The alias is not where this release left it. From a fresh look: a revert someone
    /// recorded meanwhile ends the step quietly; the alias still on one of this release's own
    /// routings (a write that raced an unrelated change of the alias) is retried; on the
    /// stable version it is a rollback by hand; anywhere else someone took the alias over.
    /// The last two are recorded and announced, and the alias is left exactly as found.
    pub(super) async fn hands_off(&self, release_id: &str, actor: &str) -> Result<StepOutcome> {
        let mut tracked = self.store.load(release_id).await?;
        for attempt in 0..2 {
            let release = &tracked.release;
            if release.phase.is_terminal() || matches!(release.phase, Phase::RollingBack { .. }) {
                self.announce(release).await;
                return Ok(StepOutcome::of(release, &Action::Nothing));
            }
            let current = self.router.read(&release.function, &release.alias).await?;
            let stable = AliasRouting::single(&release.stable_version);
            if release.own_routings().contains(&current.routing) {
                return Err(Error::StaleRelease {
                    id: release.id.clone(),
                    expected: release.revision,
                });
            }
            if current.routing == stable && attempt == 0 {
                tokio::time::sleep(REVERT_RECORD_GRACE).await;
                tracked = self.store.load(release_id).await?;
                continue;
            }
            let found = Input::HandsOff {
                found: current.routing.to_string(),
                to_stable: current.routing == stable,
            };
            tracing::warn!(release = %release.id, alias = %current.routing, "alias changed outside the release; hands off");
            tracked.release.apply(found, now(), actor)?;
            self.store.save(&mut tracked).await?;
            break;
        }
        self.announce(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }
}

/// What a revert's outcome records: done; the alias taken over by someone else (left as
/// found); or, beyond retries, failed.
pub(super) fn reverted(outcome: Result<()>) -> Result<Input> {
    match outcome {
        Ok(()) => Ok(Input::RolledBack),
        Err(e) if e.is_retryable() => Err(e),
        Err(Error::UnexpectedAlias { actual, .. }) => Ok(Input::HandsOff {
            found: actual,
            to_stable: false,
        }),
        Err(e) => Ok(Input::RollbackFailed {
            error: e.to_string(),
        }),
    }
}

pub(super) fn unexpected(
    release: &Release,
    expected: &AliasRouting,
    actual: &AliasRouting,
) -> Error {
    Error::UnexpectedAlias {
        function: release.function.clone(),
        alias: release.alias.clone(),
        release: release.id.clone(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}
