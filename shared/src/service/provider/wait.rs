//! `Wait: true`: the provider answers once the release it started has ended.

use super::*;

/// How long the provider may wait for a release (`Wait: true`): its function's 15-minute
/// limit, less the time to start the release and to answer CloudFormation.
pub const PROVIDER_WAIT_SECS: u64 = 13 * 60;
/// What a release needs beyond its bakes (looks, the promotion) to finish inside the wait.
pub(super) const WAIT_MARGIN_SECS: u64 = 60;
/// How often a waiting provider looks at its release.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_secs(5);

impl<R: AliasRouter, S: ReleaseRecords, H: HealthSource, N: Announcer, K: HookCaller>
    ReleaseService<R, S, H, N, K>
{
    /// Waits for `release_id` to end, at most `secs`: Ok when it succeeded, the reason
    /// otherwise (or that it is still running).
    pub async fn wait_for_release(&self, release_id: &str, secs: u64) -> Result<Release> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            match self.store.load_summary(release_id).await {
                Ok(release) if release.phase == Phase::Succeeded => return Ok(release),
                Ok(release) if release.phase.is_terminal() => {
                    return Err(Error::BadRequest(format!(
                        "release {release_id} ended {}: {}",
                        release.phase.name(),
                        release.reason.unwrap_or_default()
                    )))
                }
                // Not recorded yet: the workflow's Start has not run.
                Ok(_) | Err(Error::ReleaseNotFound(_)) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::BadRequest(format!(
                    "release {release_id} was still running after {secs}s; it goes on (shiftback status {release_id})"
                )));
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }

    /// Refuses `Wait: true` with a release whose worst case cannot end within the provider's
    /// wait: every bake, and with analysis on, every step's extension for more traffic. (A
    /// step still inconclusive after it holds for a person: past the wait, the answer is FAILED
    /// and the stack's rollback aborts the release.)
    pub(super) fn check_wait(
        &self,
        props: &ReleaseProperties,
        schedule: &crate::domain::Schedule,
        analysis: &crate::domain::AnalysisSettings,
    ) -> Result<()> {
        if !props.wait {
            return Ok(());
        }
        let bakes = schedule.total_bake_secs();
        let extensions = match analysis.enabled {
            true => schedule.steps.len() as u64 * analysis.max_extension_secs,
            false => 0,
        };
        let needs = bakes + extensions + WAIT_MARGIN_SECS;
        if needs > PROVIDER_WAIT_SECS {
            return Err(Error::BadRequest(format!(
                "Wait: true, but strategy {} may take {needs}s ({bakes}s of bakes, {extensions}s of analysis extensions, {WAIT_MARGIN_SECS}s to promote) and the provider can wait {PROVIDER_WAIT_SECS}s: use a shorter strategy, Analysis: off, or Wait: false and follow it with `shiftback status`",
                props.strategy
            )));
        }
        Ok(())
    }
}
