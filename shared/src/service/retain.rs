//! The workflow's automatic retention: once a release that asked for it has succeeded and its
//! bake window has closed, the function's versions are pruned by the same rules as
//! `shiftback prune`, once, and what was done goes on the release's log and to its team.

use super::retention::{prune_with, PruneReport, PruneRequest};
use super::*;
use crate::domain::Input;
use crate::ports::Ports;
use crate::ports::VersionCatalog;
use crate::retention::{PruneSummary, DEFAULT_ROLLBACK_DEPTH};
use crate::service::changes::{change_stored, Changed};

/// Saves tried when another writer (a bake-window alarm) keeps moving the revision.
const SAVE_ATTEMPTS: usize = 3;

impl<P: Ports> ReleaseService<P> {
    /// Prunes the release's function if its retention is due; a no-op otherwise (already
    /// done, never asked for, or the release rolled back in its bake window).
    pub async fn retain<C: VersionCatalog>(
        &self,
        catalog: &C,
        input: StepInput,
    ) -> Result<StepOutcome> {
        let tracked = self.load_step(input.release_id.as_deref()).await?;
        let id = tracked.release.id.clone();
        let release = &tracked.release;
        let (Some(keep), true) = (release.retain_versions, release.retention_due()) else {
            return Ok(StepOutcome::of(release, &Action::Nothing));
        };
        // Early (a shortened wait): its own versions are kept by the rules as baking, but the
        // run is meant for after the window. Wait the rest.
        if release
            .guard_until()
            .is_some_and(|until| until > self.store.now())
        {
            return Ok(StepOutcome::of(release, &Action::Nothing));
        }
        let request = PruneRequest {
            function: release.function.clone(),
            keep_newest: keep as usize,
            rollback_depth: DEFAULT_ROLLBACK_DEPTH,
            apply: true,
        };
        let summary = match prune_with(catalog, &self.store, &request).await {
            Ok(report) => summary_of(&report),
            // Throttled or unavailable: Step Functions retries the step.
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => PruneSummary {
                kept: 0,
                deleted: Vec::new(),
                refused: Vec::new(),
                freed: 0,
                error: Some(e.to_string()),
            },
        };
        let release = self.record_pruning(&id, summary).await?;
        announce_logged(self.notifier.as_ref(), &release).await;
        // Its bake window has closed: its own analysis alarm has nothing left to guard (the
        // promotion could not delete it while the window was open).
        self.retire_analysis_alarm(&release).await;
        Ok(StepOutcome::of(&release, &Action::Nothing))
    }

    /// Records the summary once, over whatever revision is current.
    async fn record_pruning(&self, id: &str, summary: PruneSummary) -> Result<Release> {
        let now = self.store.now();
        let change = |release: &mut Release| {
            if !release.retention_due() {
                return Ok(false);
            }
            release.apply(Input::Pruned(summary.clone()), now, WORKFLOW_ACTOR)?;
            Ok(true)
        };
        match change_stored(&self.store, id, SAVE_ATTEMPTS, change).await? {
            Changed::Saved(tracked) | Changed::Declined(tracked) => Ok(tracked.release),
        }
    }
}

fn summary_of(report: &PruneReport) -> PruneSummary {
    let outcome = &report.outcome;
    let freed = report
        .plan
        .fates
        .iter()
        .filter(|f| outcome.deleted.contains(&f.version.version))
        .map(|f| f.version.code_size)
        .sum();
    PruneSummary {
        kept: report.plan.fates.len() - outcome.deleted.len() - outcome.already_gone.len(),
        deleted: outcome.deleted.clone(),
        refused: outcome.refused.iter().map(|(v, _)| v.clone()).collect(),
        freed,
        error: outcome.stopped_by.clone(),
    }
}
