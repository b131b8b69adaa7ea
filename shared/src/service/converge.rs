//! Converge: make the alias match what the release recorded, from the routings this release
//! may find it in; what to do when someone else moved it (hands off).

use super::*;
use crate::domain::{Action, AliasTarget, Input, Member, Phase, Release, ReleaseKind};
use crate::error::{AwsErrorKind, Error, Result};
use crate::ports::Ports;
use crate::ports::{AliasRouter, AliasState, ReleaseRecords};
use crate::router::AliasRouting;

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

impl<P: Ports> ReleaseService<P> {
    /// Puts every member's alias back on its stable version, whatever weight it carries: a
    /// revert must win, so it does not compare revisions. It refuses only an alias this
    /// release never routed (someone moved it elsewhere), which is not ours to overwrite; in
    /// a group, the others are reverted first, all at once (the router's rate limiter paces
    /// them), and the first such alias is the error.
    pub async fn revert(&self, release: &Release) -> Result<()> {
        let reverts = release
            .members_to_revert()
            .into_iter()
            .map(|member| self.revert_member(release, member));
        let results = futures::future::join_all(reverts).await;
        // A retryable failure first: the retry reverts what is left before anything is
        // recorded of an alias found elsewhere.
        let (retryable, other): (Vec<_>, Vec<_>) = results
            .into_iter()
            .filter_map(Result::err)
            .partition(Error::is_retryable);
        match retryable.into_iter().chain(other).next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn revert_member(&self, release: &Release, member: Member) -> Result<()> {
        let current = self.router.read(&member.function, &member.alias).await?;
        let stable = AliasRouting::single(&member.stable_version);
        if current.routing == stable {
            return Ok(());
        }
        if current
            .routing
            .weight_towards(&member.stable_version, &member.target_version)
            .is_none()
        {
            return Err(unexpected(release, &member, &stable, &current.routing));
        }
        self.router
            .set(&member.function, &member.alias, &stable, None)
            .await?;
        Ok(())
    }

    /// Reverts and records it, until the release has left its rollback: in a group, each
    /// alias found changed by someone else is recorded as left alone, and the others are
    /// reverted again. The caller saves.
    pub(super) async fn revert_recorded(&self, release: &mut Release, actor: &str) -> Result<()> {
        for _ in 0..=release.members.len() {
            let outcome = reverted(self.revert(release).await)?;
            release.apply(outcome, self.store.now(), actor)?;
            if !matches!(release.phase, Phase::RollingBack { .. }) {
                break;
            }
        }
        for left in Box::pin(durable_left(&self.router, release)).await {
            release.apply(left, self.store.now(), actor)?;
        }
        Ok(())
    }

    /// Every member's alias, as read now (in member order).
    pub(super) async fn read_members(&self, release: &Release) -> Result<Vec<AliasState>> {
        let mut states = Vec::with_capacity(release.members.len() + 1);
        for member in release.all_members() {
            states.push(self.router.read(&member.function, &member.alias).await?);
        }
        Ok(states)
    }

    /// Makes every member's alias match the release's recorded decision for a forward move.
    ///
    /// Each alias must be where this release left it: at the desired routing already (a
    /// retry), or at the previous step's. Anything else (notably the stable version after
    /// the first step, which is what a revert leaves) means someone else acted, and a forward
    /// shift must not undo that. Each write is a compare-and-swap on the revision read, and
    /// the release is re-read before the first, so a revert landing in between makes it fail.
    /// Returns whether it had to move any alias.
    /// Only `start` applies the first step from the stable version; after it, an alias found
    /// on the stable version was reverted by someone, and stays so.
    pub async fn converge(&self, release: &Release) -> Result<bool> {
        self.converge_seen(release, FirstStep::FromStable, Vec::new())
            .await
    }

    /// [`Self::converge`] from the aliases as read earlier in the same look (`seen`, in
    /// member order; a member not in it is read now), so a step costs each member one read
    /// and one write. An alias changed since that read fails the write's compare-and-swap, as
    /// it would have between a fresh read and the write.
    pub(super) async fn converge_seen(
        &self,
        release: &Release,
        first_step: FirstStep,
        seen: Vec<AliasState>,
    ) -> Result<bool> {
        let Some(desired) = release.desired_alias() else {
            return Ok(false);
        };
        // An operator's revert holds the alias lock and names a recorded-good version: it
        // repairs whatever routing it finds (a split left by a failed release, say); the
        // write below is still a compare-and-swap on the revision read here.
        let repair = release.kind == ReleaseKind::Revert && desired == AliasTarget::Target;
        let mut seen = seen.into_iter();
        let mut release_checked = false;
        let mut moved = false;
        for member in release.all_members() {
            let current = match seen.next() {
                Some(state) => state,
                None => self.router.read(&member.function, &member.alias).await?,
            };
            let routing =
                AliasRouting::for_release(&member.stable_version, &member.target_version, desired);
            if current.routing == routing {
                continue;
            }
            let mut acceptable_previous = release.routings_before(&member, desired);
            if first_step == FirstStep::NotFromStable {
                let stable = AliasRouting::single(&member.stable_version);
                acceptable_previous.retain(|routing| *routing != stable);
            }
            if !repair && !acceptable_previous.contains(&current.routing) {
                return Err(unexpected(release, &member, &routing, &current.routing));
            }
            // Re-read the release: if a revert was recorded since we decided, stand down.
            if !release_checked {
                let fresh = self.store.load_summary(&release.id).await?;
                if fresh.phase != release.phase || fresh.revision != release.revision {
                    return Err(Error::StaleRelease {
                        id: release.id.clone(),
                        expected: release.revision,
                    });
                }
                release_checked = true;
            }
            self.router
                .set(
                    &member.function,
                    &member.alias,
                    &routing,
                    current.revision_id.as_deref(),
                )
                .await
                .map_err(|e| match e {
                    Error::Aws(aws) if aws.kind == AwsErrorKind::Conflict => {
                        Error::UnexpectedAlias {
                            function: member.function.clone(),
                            alias: member.alias.clone(),
                            release: release.id.clone(),
                            expected: format!(
                                "revision {}",
                                current.revision_id.clone().unwrap_or_default()
                            ),
                            actual: "a newer revision (changed concurrently)".to_string(),
                        }
                    }
                    other => other,
                })?;
            moved = true;
        }
        Ok(moved)
    }

    /// The end of a workflow step that decided `action`: every alias made to match the
    /// release (or the release handed off), then what follows its write, and the outcome.
    pub(super) async fn finish_step(
        &self,
        release: &Release,
        action: &Action,
    ) -> Result<StepOutcome> {
        if let Converged::HandedOff(outcome) = self
            .converge_or_hand_off(release, FirstStep::FromStable, Vec::new(), WORKFLOW_ACTOR)
            .await?
        {
            return Ok(outcome);
        }
        self.after_write(release).await;
        Ok(StepOutcome::of(release, action))
    }

    /// Makes every member's alias match the release (as [`Self::converge_seen`]); an alias
    /// someone else moved, or a write that did not take, hands the release off instead (the
    /// one place that decides which failures do).
    pub(super) async fn converge_or_hand_off(
        &self,
        release: &Release,
        first_step: FirstStep,
        seen: Vec<AliasState>,
        actor: &str,
    ) -> Result<Converged> {
        match self.converge_seen(release, first_step, seen).await {
            Ok(moved) => Ok(Converged::Moved(moved)),
            Err(Error::UnexpectedAlias { .. } | Error::VerifyFailed { .. }) => Ok(
                Converged::HandedOff(self.hands_off(&release.id, actor).await?),
            ),
            Err(e) => Err(e),
        }
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
                self.after_write(release).await;
                return Ok(StepOutcome::of(release, &Action::Nothing));
            }
            // The first member not where this release put it (in a group, members after it
            // may not have moved yet).
            let mut changed = None;
            for member in release.all_members() {
                let current = self.router.read(&member.function, &member.alias).await?;
                if !release.own_routings(&member).contains(&current.routing) {
                    changed = Some((member, current));
                    break;
                }
            }
            let Some((member, current)) = changed else {
                return Err(Error::StaleRelease {
                    id: release.id.clone(),
                    expected: release.revision,
                });
            };
            let stable = AliasRouting::single(&member.stable_version);
            if current.routing == stable && attempt == 0 {
                tokio::time::sleep(REVERT_RECORD_GRACE).await;
                tracked = self.store.load(release_id).await?;
                continue;
            }
            let found = Input::HandsOff {
                found: current.routing.to_string(),
                to_stable: current.routing == stable,
                member: Some(member.name()),
            };
            tracing::warn!(release = %release.id, member = %member.name(), alias = %current.routing, "alias changed outside the release; hands off");
            tracked.release.apply(found, self.store.now(), actor)?;
            // A group's other members go back to their stable versions at once.
            if matches!(tracked.release.phase, Phase::RollingBack { .. }) {
                self.store.save(&mut tracked).await?;
                self.revert_recorded(&mut tracked.release, actor).await?;
            }
            self.store.save(&mut tracked).await?;
            break;
        }
        self.after_write(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }
}

/// After a durable function's release was reverted: the executions still running on each
/// version it reverted from (the release's own target, and a group's other durable targets),
/// to record. None running says nothing; a count that could not be read is logged, as the
/// revert is done and nothing may undo it.
pub(crate) async fn durable_left<R: AliasRouter>(router: &R, release: &Release) -> Vec<Input> {
    let ended = matches!(
        release.phase,
        Phase::RolledBack | Phase::Aborted | Phase::Superseded
    );
    if !ended {
        return Vec::new();
    }
    let mut targets: Vec<(Option<String>, String)> = Vec::new();
    if release.target_durable {
        targets.push((None, release.target_version.clone()));
    }
    // One count per function and version: a group may name the first member's function
    // again, under another alias, on the same target.
    let counted = |targets: &[(Option<String>, String)], function: &str, version: &str| {
        targets
            .iter()
            .any(|(f, v)| f.as_deref().unwrap_or(&release.function) == function && v == version)
    };
    for member in &release.members {
        if release.durable_members.contains(&member.function)
            && !counted(&targets, &member.function, &member.target_version)
        {
            targets.push((Some(member.function.clone()), member.target_version.clone()));
        }
    }
    let mut left = Vec::new();
    for (function, version) in targets {
        let name = function.as_deref().unwrap_or(&release.function);
        match router.running_durable_executions(name, &version).await {
            Ok((0, false)) => {}
            Ok((running, more)) => left.push(Input::DurableLeft {
                function,
                version,
                running,
                more,
            }),
            Err(e) => {
                tracing::warn!(release = %release.id, function = %name, %version, error = %e, "durable executions left on the reverted version not counted");
            }
        }
    }
    left
}

/// Where a convergence left the release.
pub(super) enum Converged {
    /// Every alias matches it (true: something was written).
    Moved(bool),
    /// Someone else moved an alias: handed off, with the outcome to return.
    HandedOff(StepOutcome),
}

/// What a revert's outcome records: done; the alias taken over by someone else (left as
/// found); or, beyond retries, failed.
pub(super) fn reverted(outcome: Result<()>) -> Result<Input> {
    match outcome {
        Ok(()) => Ok(Input::RolledBack),
        Err(e) if e.is_retryable() => Err(e),
        Err(Error::UnexpectedAlias {
            function,
            alias,
            actual,
            ..
        }) => Ok(Input::HandsOff {
            found: actual,
            to_stable: false,
            member: Some(format!("{function}:{alias}")),
        }),
        Err(e) => Ok(Input::RollbackFailed {
            error: e.to_string(),
        }),
    }
}

pub(super) fn unexpected(
    release: &Release,
    member: &Member,
    expected: &AliasRouting,
    actual: &AliasRouting,
) -> Error {
    Error::UnexpectedAlias {
        function: member.function.clone(),
        alias: member.alias.clone(),
        release: release.id.clone(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}
