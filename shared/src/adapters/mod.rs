//! Adapters: one small type per AWS service, each owning its SDK client. Build them once per
//! cold start (see [`Clients`]) and share them across invocations.

pub mod health;
pub mod notifier;
pub mod rate;
pub mod router;
pub mod store;
pub mod workflow;

pub use health::AlarmHealth;
pub use notifier::Notifier;
pub use rate::RateLimiter;
pub use router::{AliasRouting, AliasState, TrafficRouter};
pub use store::{Guard, HistoryPage, LockInfo, ReleaseStore, Takeover, Tracked};
pub use workflow::WorkflowControl;

/// The SDK configuration every adapter is built from: the standard AWS environment (region,
/// credentials, `AWS_ENDPOINT_URL` for local emulators).
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
