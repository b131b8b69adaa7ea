//! Waves: the coordinator that carries a wave plan out from the home Region, and the ports it
//! acts through. Each Region keeps its own shiftback stack and its own immediate revert; the
//! coordinator starts each Region's release, looks at it, and on a stop brings every moved
//! Region back through that Region's own release records.

use std::future::Future;

mod control;
mod coordinator;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
mod regional;
mod stacks;
mod stops;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_starts;

#[cfg(any(test, feature = "testing"))]
pub use control::DirectCoordinator;
pub use control::{HomePlans, LambdaCoordinator, PlanCoordinator, StackPlans};
pub use coordinator::WaveCoordinator;
pub use regional::{ShiftbackRegions, WAVES_ACTOR};
pub(crate) use stops::stop_plan_logged;
#[cfg(any(test, feature = "testing"))]
pub use stops::MemoryPlanStops;
pub use stops::{stop_for, LambdaPlanStops, PlanStopper, PLAN_STOP_LABEL};

pub use crate::domain::wave::*;
use crate::error::Result;

/// What a regional release is told of its plan: recorded as its labels (`plan`, `wave`,
/// `plan_home`, and `plan_stop`: its coordinator), so `history` and `list` in its Region
/// point to the plan, and its rollback stops the plan at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLink {
    pub plan_id: String,
    pub home_region: String,
    /// 1-based, as people count waves.
    pub wave: usize,
    /// The coordinator function's ARN, which the regional release tells when it rolls back.
    pub coordinator: Option<String>,
}

impl PlanLink {
    /// What the plan tells its target `index`'s regional release.
    pub fn of(plan: &WavePlan, index: usize) -> PlanLink {
        PlanLink {
            plan_id: plan.id.clone(),
            home_region: plan.home_region.clone(),
            wave: plan.targets[index].wave + 1,
            coordinator: plan.coordinator.clone(),
        }
    }

    /// The plan's labels on a release (not its coordinator), for the revert that brings it
    /// back: a revert stops nothing.
    pub fn carried(
        labels: &std::collections::BTreeMap<String, String>,
    ) -> std::collections::BTreeMap<String, String> {
        labels
            .iter()
            .filter(|(key, _)| ["plan", "plan_home", "wave"].contains(&key.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn labels(&self) -> Vec<(String, String)> {
        let mut labels = vec![
            ("plan".into(), self.plan_id.clone()),
            ("plan_home".into(), self.home_region.clone()),
            ("wave".into(), self.wave.to_string()),
        ];
        if let Some(arn) = &self.coordinator {
            labels.push((PLAN_STOP_LABEL.into(), arn.clone()));
        }
        labels
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

    /// Every check the target's Region would make before its start (the stack, function,
    /// alias and version, alarms, lock, strategy), changing nothing; and whether its alias is
    /// on the version already, or does not exist.
    fn check(
        &self,
        target: &Target,
        strategy: &str,
        alarms: &[String],
        plan: &PlanLink,
    ) -> impl Future<Output = Result<Readiness>> + Send;

    /// Makes the target's alias, on its version (it did not exist).
    fn create_alias(&self, target: &Target) -> impl Future<Output = Result<()>> + Send;

    /// Where the release stands.
    fn look(&self, target: &Target, release_id: &str) -> impl Future<Output = Result<Seen>> + Send;

    /// Brings `target`'s alias back to its stable version, on the release's record: an abort
    /// of a running release, a rollback of a promoted one. Done already is done. A release
    /// its Region has no trace of is [`Reverted::NotStarted`].
    fn revert(
        &self,
        target: &Target,
        release_id: &str,
        why: &str,
    ) -> impl Future<Output = Result<Reverted>> + Send;
}

/// The plans, in the home Region's table; each save is conditional on the revision loaded.
pub trait PlanRecords: Send + Sync {
    /// Refused (`ReleaseExists`) if a plan has the id.
    fn create(&self, plan: &WavePlan) -> impl Future<Output = Result<()>> + Send;
    /// The plan and its revision.
    fn load(&self, id: &str) -> impl Future<Output = Result<(WavePlan, u64)>> + Send;
    /// Refused (`StaleRelease`) if the plan was saved since `revision`.
    fn save(&self, plan: &WavePlan, revision: u64) -> impl Future<Output = Result<()>> + Send;
    /// The plans that have not ended, newest first (an eventually consistent index).
    fn running(&self) -> impl Future<Output = Result<Vec<WavePlan>>> + Send;
    /// The last plan a stack's resource (`<stack id>/<logical id>`) started, read consistently.
    fn resource_plan(
        &self,
        resource: &str,
    ) -> impl Future<Output = Result<Option<WavePlan>>> + Send;
}

/// What the coordinator function is asked (its event): a look by the plan's workflow, or a
/// stop by a Region's rollback (naming its release) or by an operator (naming none).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum WaveCommand {
    /// A plan named in the waves workflow's input: checked in every Region, then recorded.
    Create {
        plan_id: String,
        /// The coordinator's own ARN (its Region is the plan's home).
        coordinator: String,
        plan: PlanRequest,
    },
    Look {
        plan_id: String,
    },
    Stop {
        plan_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        release_id: Option<String>,
        why: String,
        /// A completed plan is brought back too (its stack rolls back from it).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        recall: bool,
    },
}

/// What the coordinator answers: the plan's phase, and when its workflow looks next.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WaveAnswer {
    pub plan_id: String,
    pub phase: String,
    pub ended: bool,
    /// Seconds until the next look (0 once ended): the workflow's Wait reads it.
    pub wait_secs: i64,
    /// Targets whose Region has not answered for [`MAX_ATTEMPTS`] looks: a person's turn.
    pub needs_person: Vec<String>,
}

impl WaveAnswer {
    pub fn of(plan: &WavePlan, next: Option<i64>, now: i64) -> WaveAnswer {
        WaveAnswer {
            plan_id: plan.id.clone(),
            phase: plan.phase.name().to_string(),
            ended: next.is_none(),
            wait_secs: next.map_or(0, |at| (at - now).max(1)),
            needs_person: plan
                .needs_person()
                .into_iter()
                .map(|i| plan.targets[i].target.place())
                .collect(),
        }
    }
}

/// Now, in epoch seconds: the plan's clock.
pub fn epoch_now() -> i64 {
    chrono::Utc::now().timestamp()
}
