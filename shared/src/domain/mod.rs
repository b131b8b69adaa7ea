//! Pure domain logic: strategies, schedules, releases and their transitions. No AWS here.

pub mod arn;
pub mod gates;
pub mod limits;
pub mod managed;
pub mod metrics;
pub mod release;
pub mod strategy;
pub mod wave;
pub mod weight;

pub use crate::analysis::{firing, AlarmState, AlarmStatus, AnalysisSettings, CanaryVerdict};
pub use crate::router::AliasRouting;
pub use release::{
    canonical_function, check_function_name, check_labels, check_names, check_release_id,
    check_version, describe_labels, function_ref, ignore_until, parse_label, Action, AliasTarget,
    Input, LogEntry, Member, Phase, Release, ReleaseEvent, ReleaseKind, ReleaseSpec, RollbackCause,
    SpecError, TransitionError, Verdict, ANALYSIS_GUARD, MAX_IGNORE_SECS, MAX_MEMBERS,
};
pub use release::{record_of, StackWaiting, VersionRecord, STACK_ACTOR_PREFIX};
pub use strategy::{Schedule, Step, Strategy, StrategyError};
pub use weight::Weight;
