//! The integration tests, one module per concern, in one test binary. Run them through
//! `make test` (or `scripts/with-moto cargo test --test integration`), which starts the local
//! emulator they talk to; `cargo test --test integration alarm::` runs one module.

mod alarm;
mod analysis;
mod analysis_alarms;
mod control_plane;
mod corpus;
mod crash;
mod faults;
mod groups;
mod health;
mod history_bound;
mod hooks;
mod notify;
mod outbox;
mod provider;
mod retention;
mod roles;
mod router;
mod service_faults;
mod statemachine;
mod store;
mod waves;
mod waves_provider;
mod workflow;
