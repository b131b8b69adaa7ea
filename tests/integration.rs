//! The integration tests, one module per concern, in one test binary. Run them through
//! `make test` (or `scripts/with-moto cargo test --test integration`), which starts the local
//! emulator they talk to; `cargo test --test integration alarm::` runs one module.

#[path = "alarm/mod.rs"]
mod alarm;
#[path = "analysis.rs"]
mod analysis;
#[path = "analysis_alarms.rs"]
mod analysis_alarms;
#[path = "control_plane.rs"]
mod control_plane;
#[path = "corpus.rs"]
mod corpus;
#[path = "crash.rs"]
mod crash;
#[path = "faults/mod.rs"]
mod faults;
#[path = "groups.rs"]
mod groups;
#[path = "health.rs"]
mod health;
#[path = "history_bound.rs"]
mod history_bound;
#[path = "hooks.rs"]
mod hooks;
#[path = "notify.rs"]
mod notify;
#[path = "outbox.rs"]
mod outbox;
#[path = "provider.rs"]
mod provider;
#[path = "retention.rs"]
mod retention;
#[path = "roles.rs"]
mod roles;
#[path = "router.rs"]
mod router;
#[path = "service_faults.rs"]
mod service_faults;
#[path = "statemachine.rs"]
mod statemachine;
#[path = "store.rs"]
mod store;
#[path = "workflow/mod.rs"]
mod workflow;
