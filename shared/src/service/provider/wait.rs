//! `Wait: true`: what a release may take for its stack to wait for it. The answer comes from
//! the end of the release's workflow ([`super::answer`]), so the bound is the resource's
//! `ServiceTimeout` (CloudFormation's hour at most), not the provider's own run.

use super::*;

/// What a release needs beyond its bakes (the start, each look, the promotion, the end
/// event's delivery) to be answered inside the stack's wait.
pub(super) const WAIT_MARGIN_SECS: u64 = 120;

impl<P: Ports> ReleaseService<P> {
    /// Refuses `Wait: true` with a release whose worst case cannot end within the resource's
    /// `ServiceTimeout`: every bake, and with analysis on, every step's extension for more
    /// traffic. A step still inconclusive after its extension holds for a person (the
    /// analysis's default): that hold counts against the same timeout, past which
    /// CloudFormation fails the update and the stack's rollback aborts the release.
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
        let timeout = props.service_timeout_secs;
        if needs > timeout {
            return Err(Error::BadRequest(format!(
                "Wait: true, but strategy {} may take {needs}s ({bakes}s of bakes, {extensions}s of analysis extensions, {WAIT_MARGIN_SECS}s to start, look and promote) and CloudFormation waits {timeout}s (ServiceTimeout, at most 3600): use a shorter strategy, a longer ServiceTimeout, Analysis: off, or Wait: false and follow the release with `shiftback status`",
                props.strategy
            )));
        }
        Ok(())
    }
}
