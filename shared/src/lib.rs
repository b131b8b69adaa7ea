//! shiftback: progressive delivery and immediate, alarm-driven rollback for AWS Lambda.
//!
//! - [`domain`]: strategies and the release state machine, free of AWS.
//! - [`ports`]: what the use cases need of AWS, as small traits.
//! - [`adapters`]: one small type per AWS service, each owning its SDK client, implementing a port.
//! - [`service`]: the use cases, one per file, over the ports.

pub mod adapters;
pub mod alarm_event;
pub mod analysis;
pub mod domain;
pub mod error;
pub mod hooks;
pub mod notifier;
pub mod ports;
pub mod retention;
pub mod router;
pub mod runtime;
pub mod service;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod waves;
pub mod workflow;

pub use error::{Error, Result};
/// The use cases by their own names too: `shiftback::alarm::AlarmResponder`.
pub use service::{alarm, preflight};
