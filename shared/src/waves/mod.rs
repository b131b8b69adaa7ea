//! Waves: the coordinator that carries a wave plan out from the home Region, and the ports it
//! acts through. Each Region keeps its own shiftback stack and its own immediate revert; the
//! coordinator starts each Region's release, looks at it, and on a stop brings every moved
//! Region back through that Region's own release records.

use std::future::Future;

mod coordinator;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
#[cfg(test)]
mod tests;

pub use coordinator::WaveCoordinator;

pub use crate::domain::wave::*;
use crate::error::Result;

/// What a regional release is told of its plan: recorded as its labels (`plan`, `wave`,
/// `plan_home`), so `history` and `list` in its Region point to the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLink {
    pub plan_id: String,
    pub home_region: String,
    /// 1-based, as people count waves.
    pub wave: usize,
}

impl PlanLink {
    pub fn labels(&self) -> Vec<(String, String)> {
        vec![
            ("plan".into(), self.plan_id.clone()),
            ("plan_home".into(), self.home_region.clone()),
            ("wave".into(), self.wave.to_string()),
        ]
    }
}

/// The releases of every Region a plan reaches, through each Region's own shiftback.
pub trait RegionalReleases: Send + Sync {
    /// Starts `target`'s release as `release_id`, or finds it started: the same id twice is
    /// one release.
    fn start(
        &self,
        target: &Target,
        release_id: &str,
        strategy: &str,
        alarms: &[String],
        plan: &PlanLink,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Where the release stands.
    fn look(&self, target: &Target, release_id: &str) -> impl Future<Output = Result<Seen>> + Send;

    /// Brings `target`'s alias back to its stable version, on the release's record: an abort
    /// of a running release, a rollback of a promoted one. Done already is done.
    fn revert(
        &self,
        target: &Target,
        release_id: &str,
        why: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The plans, in the home Region's table; each save is conditional on the revision loaded.
pub trait PlanRecords: Send + Sync {
    /// Refused (`ReleaseExists`) if a plan has the id.
    fn create(&self, plan: &WavePlan) -> impl Future<Output = Result<()>> + Send;
    /// The plan and its revision.
    fn load(&self, id: &str) -> impl Future<Output = Result<(WavePlan, u64)>> + Send;
    /// Refused (`StaleRelease`) if the plan was saved since `revision`.
    fn save(&self, plan: &WavePlan, revision: u64) -> impl Future<Output = Result<()>> + Send;
}
