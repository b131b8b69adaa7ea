//! Shared setup for the integration tests, by concern: the emulator and its clients, fixtures
//! (functions, alarms, tables, requests), interceptors that record or break calls, SNS and SQS
//! helpers, and snapshots that prove a refused input changed nothing.

mod emulator;
mod fixtures;
mod iam;
mod interceptors;
mod messaging;
pub mod response_url;
pub mod runtime_api;
mod snapshots;
pub mod waves;

pub use emulator::*;
pub use fixtures::*;
pub use iam::{iam_requests, IamRequest};
pub use interceptors::*;
pub use messaging::*;
pub use snapshots::*;
