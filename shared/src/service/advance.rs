//! Advance: check health, then record and apply the next step (or the rollback).

use super::converge::FirstStep;
use super::*;
use crate::ports::Ports;
use crate::service::converge::Converged;
use crate::store::LoadedRelease;
use chrono::{DateTime, Utc};

use crate::analysis::{self, combine, verdict, CanaryVerdict};
use crate::domain::{Action, Input, Phase, Release, Verdict, ANALYSIS_GUARD};
use crate::error::{Error, Result};
use crate::ports::{HealthSource, ReleaseRecords, VersionsQuery};

impl<P: Ports> ReleaseService<P> {
    /// One look: health first, then the next decision, recorded, then applied.
    pub async fn advance(&self, input: StepInput) -> Result<StepOutcome> {
        let tracked = self.load_step(input.release_id.as_deref()).await?;
        if let Some(token) = input.task_token {
            return self.register_gate(tracked, token).await;
        }
        let waiting = tracked.release.phase.waits_for_person();
        if input.gate_expired && waiting {
            return self.apply_and_converge(tracked, Input::GateExpired).await;
        }
        let mut tracked = tracked;
        let release = &tracked.release;
        if let Some(outcome) = self.ended(release).await {
            return Ok(outcome);
        }
        let looked_at = self.store.now();
        if release.holds_alias_lock() && release.renews_lock_at(looked_at) {
            self.store.renew_lock(release, looked_at).await?;
        }
        if release.phase == Phase::Pending {
            return self.begin_after_hook(tracked).await;
        }
        // Each member's alias as this look found it: read once, and the step's write (if any)
        // is a compare-and-swap on it.
        let mut seen = None;
        if let Phase::Shifting { step } | Phase::Paused { step } = release.phase {
            // An earlier attempt recorded this step and died before applying it: apply it now
            // and observe it for its whole bake before deciding anything on its health.
            let current = self.read_members(release).await?;
            seen = Some(current.clone());
            let moved = match self
                .converge_or_hand_off(release, first_step(release), current, WORKFLOW_ACTOR)
                .await?
            {
                Converged::Moved(moved) => moved,
                Converged::HandedOff(outcome) => return Ok(outcome),
            };
            if moved {
                let bake = release.schedule.steps[step].bake_secs;
                self.after_write(release).await;
                let secs = release.bake_wait(step, bake);
                return Ok(StepOutcome::of(release, &Action::Wait { secs }));
            }
        }
        // A guard an operator ignores for now is not asked (its firing reverts nothing).
        let watched: Vec<String> = release
            .guarding_alarms()
            .into_iter()
            .filter(|alarm| release.ignored_until(alarm, looked_at).is_none())
            .collect();
        let alarms = match self.health.statuses(&watched).await {
            Ok(statuses) => verdict(&statuses, &release.alarm_overrides, release.created_at),
            // A guard that vanished mid-release cannot vouch for it.
            Err(Error::AlarmsMissing(missing)) => Verdict::Unhealthy {
                reason: format!("alarm(s) no longer exist: {}", missing.join(", ")),
            },
            Err(e) => return Err(e),
        };
        let checked_at = self.store.now();
        let canary = self.analyse(release, checked_at).await?;
        // Inside the bake, only a finding of "worse" acts and is recorded: the test holds over
        // every look, and whether the target is no worse is the step end's to say.
        // An ignored analysis is still recorded at a step's end, with its numbers; it decides
        // nothing (and inside the bake, where only a decision is recorded, it is not).
        let analysis_ignored = release.ignored_until(ANALYSIS_GUARD, checked_at).is_some();
        let canary = canary.filter(|c| {
            !release.at_interim_look(checked_at)
                || (matches!(c, CanaryVerdict::Unhealthy { .. }) && !analysis_ignored)
        });
        let verdict = combine(alarms, canary.as_ref().filter(|_| !analysis_ignored));
        let before = tracked.release.clone();
        if let Some(canary) = canary {
            tracked
                .release
                .apply(Input::Analysed(canary), checked_at, WORKFLOW_ACTOR)?;
        }
        let action = tracked
            .release
            .apply(Input::Check(verdict), checked_at, WORKFLOW_ACTOR)?;
        if tracked.release != before {
            self.store.save(&mut tracked).await?;
        }
        if matches!(action, Action::SetWeight { .. } | Action::Wait { .. }) {
            let current = seen.unwrap_or_default();
            if let Converged::HandedOff(outcome) = self
                .converge_or_hand_off(
                    &tracked.release,
                    FirstStep::NotFromStable,
                    current,
                    WORKFLOW_ACTOR,
                )
                .await?
            {
                return Ok(outcome);
            }
        }
        self.after_write(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &action))
    }

    /// The workflow waits at the release's gate on `token`: kept on the release for whoever
    /// answers the gate. A release that left the gate already (approved, promoted or aborted
    /// before the workflow got here) ends the wait at once: `Shiftback.GateClosed`, which the
    /// workflow catches to look again.
    async fn register_gate(
        &self,
        mut tracked: LoadedRelease,
        token: String,
    ) -> Result<StepOutcome> {
        let release = &tracked.release;
        if !release.phase.waits_for_person() {
            return Err(Error::GateClosed(release.id.clone()));
        }
        let registered_at = self.store.now();
        let secs = release.gate_remaining(registered_at);
        // Nobody looks while the workflow waits: the lock must outlast the gate's timeout.
        self.store.renew_lock(release, registered_at).await?;
        if release.gate_token.as_deref() != Some(token.as_str()) {
            tracked.release.gate_token = Some(token);
            self.store.save(&mut tracked).await?;
        }
        Ok(StepOutcome::of(
            &tracked.release,
            &Action::AwaitApproval { secs },
        ))
    }

    /// Applies `input`, records it, and moves the alias as it decided.
    async fn apply_and_converge(
        &self,
        mut tracked: LoadedRelease,
        input: Input,
    ) -> Result<StepOutcome> {
        let action = tracked
            .release
            .apply(input, self.store.now(), WORKFLOW_ACTOR)?;
        self.store.save(&mut tracked).await?;
        if matches!(action, Action::SetWeight { .. }) {
            if let Converged::HandedOff(outcome) = self
                .converge_or_hand_off(
                    &tracked.release,
                    FirstStep::NotFromStable,
                    Vec::new(),
                    WORKFLOW_ACTOR,
                )
                .await?
            {
                return Ok(outcome);
            }
        }
        self.after_write(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &action))
    }

    /// A pending release waits on its pre-traffic hook: call it, and on a pass apply the
    /// first weight (from the stable version, as a start does).
    async fn begin_after_hook(&self, mut tracked: LoadedRelease) -> Result<StepOutcome> {
        let action = if tracked.release.hook_due().is_some() {
            self.call_hook(&mut tracked).await?
        } else {
            // Nothing holds it back (a release recorded before its hook was known): begin.
            let action = tracked
                .release
                .apply(Input::Begin, self.store.now(), WORKFLOW_ACTOR)?;
            self.store.save(&mut tracked).await?;
            action
        };
        if matches!(action, Action::SetWeight { .. } | Action::Promote) {
            return self.finish_step(&tracked.release, &action).await;
        }
        self.after_write(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &action))
    }

    /// The canary analysis of a step, at its end or at an interim look inside its bake (none
    /// while paused: the alarms guard a paused release), over the step's minutes.
    async fn analyse(
        &self,
        release: &Release,
        now: DateTime<Utc>,
    ) -> Result<Option<CanaryVerdict>> {
        let since = match release.target_traffic_since() {
            Some(since)
                if release.analysis.enabled && matches!(release.phase, Phase::Shifting { .. }) =>
            {
                since
            }
            _ => return Ok(None),
        };
        // The step's minutes: each step's tests start afresh, with its share of the budget.
        let step_since = release.step_started_at.unwrap_or(since).max(since);
        let members = release.all_members().len().max(1);
        let look = analysis::Look {
            weight: release.weight,
            step_since,
            budget_share: 1.0 / (release.schedule.steps.len().max(1) * members) as f64,
        };
        let (start, end) = analysis::window(&release.analysis, step_since, now);
        if start >= end {
            // CloudWatch refuses an empty range, and nothing would be in it.
            return Ok(Some(CanaryVerdict::Inconclusive {
                why: format!(
                    "no minute of the step's traffic has settled yet (judged {}s after it began, as Lambda's metrics arrive late)",
                    release.analysis.settle_secs
                ),
            }));
        }
        // A group is judged member by member: any member failing fails the group.
        let mut verdicts = Vec::new();
        for member in release.all_members() {
            let query = VersionsQuery {
                function: member.function.clone(),
                alias: member.alias.clone(),
                target_version: member.target_version.clone(),
                stable_version: member.stable_version.clone(),
                start,
                end,
            };
            // A read that fails is no evidence either way: the look is inconclusive, with the
            // reason on the record, and looks again (never a rollback once the workflow's
            // retries run out, as an error here would be).
            let judged = match self.health.compare_versions(&query).await {
                Ok(comparison) => analysis::judge_step(&release.analysis, &look, &comparison),
                Err(e) => CanaryVerdict::Inconclusive {
                    why: format!("the metrics could not be read: {e}"),
                },
            };
            verdicts.push((member.name(), judged));
        }
        Ok(analysis::of_members(verdicts))
    }
}

/// How a look may move the alias to the recorded step: from the stable version only when the
/// step is the first, just recorded by its pre-traffic hook's pass (a retry of the look that
/// recorded it, as a retried start may); otherwise an alias found on the stable version was
/// reverted by someone, and stays so.
fn first_step(release: &Release) -> FirstStep {
    if release.first_step_after_hook() {
        FirstStep::FromStable
    } else {
        FirstStep::NotFromStable
    }
}
