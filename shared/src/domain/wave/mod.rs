//! Waves: one release across Regions and accounts, a wave at a time, with a bake between
//! waves, and one stop that brings every moved Region back. Pure: the plan, its limits and
//! every decision; the coordinator (`crate::waves`) carries them out.

mod file;
mod plan;
mod spec;
mod target;
#[cfg(test)]
mod tests;

pub use file::{
    check_plan_id, is_plan_id, new_plan_id, EntryTarget, PlanEntry, PlanFile, PlanRequest,
    TargetDefaults, MAX_PLAN_ID,
};
pub use plan::{PlanAction, PlanPhase, StopCause, WavePlan};
pub use spec::{
    check_region, check_waves, parse_wave_regions, Target, WaveError, LOOKS_PER_EXECUTION,
    LOOK_INTERVAL_SECS, MAX_ACCOUNTS, MAX_TARGETS, MAX_TARGETS_PER_WAVE, MAX_WAVES,
    MAX_WAVE_BAKE_SECS,
};
pub use target::{
    PlanTarget, Readiness, Reverted, Seen, TargetState, MAX_ATTEMPTS, START_SETTLE_SECS,
};
