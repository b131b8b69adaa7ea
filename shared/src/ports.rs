//! Ports: what the use cases need of the outside world, as small traits. The AWS adapters
//! implement them over one SDK client each; the services' unit tests implement them in memory
//! (each concern's `memory` twin), so the decisions (refusals, races, retries) are tested in
//! milliseconds and the emulator tests are left with the wire.
//!
//! The futures are `Send` so a handler may run a use case on any runtime thread.

//!
//! Each port now lives in its concern's module; this one names them all in one place.

pub use crate::analysis::{HealthSource, VersionsQuery};
pub use crate::hooks::HookCaller;
pub use crate::notifier::Announcer;
pub use crate::retention::{CodeStorage, Deletion, VersionCatalog, PROVIDER_VERSIONS_MAX};
pub use crate::router::{
    AliasRouter, AliasState, CodeLocation, Readiness, VersionFacts, VersionInfo,
};
pub use crate::store::{
    Guard, HistoryPage, LoadedRelease, LockInfo, LockTakeover, ReleaseRecords,
    LOCK_EXPIRY_MARGIN_SECS,
};
pub use crate::waves::PlanStopper;
pub use crate::workflow::{CfnAnswers, ExecutionControl, StackStates};

/// The ports one deployment of the use cases runs over, as one bundle: the AWS adapters
/// ([`crate::service::Aws`]) or their in-memory twins (`crate::testing::Memory`).
pub trait Ports: 'static {
    type Router: AliasRouter + Clone;
    type Store: ReleaseRecords + Clone;
    type Health: HealthSource + Clone;
    type Notifier: Announcer + Clone;
    type Hooks: HookCaller + Clone;
    type Workflow: ExecutionControl + Clone;
    type PlanStops: PlanStopper + Clone;
}
