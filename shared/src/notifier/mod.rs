//! The notifier: a release's log entries announced to its teams. Which entries are announced
//! and how they read (pure), the port, and its SNS adapter ([`SnsNotifier`]).

use std::future::Future;

pub mod format;
mod headline;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
mod next_steps;
pub mod notification;
pub mod sns;

pub use sns::SnsNotifier;

use crate::domain::Release;
use crate::error::Result;

/// The notifier: announces what a release's log holds that was not announced yet, and says
/// how many entries it sent.
pub trait Announcer: Send + Sync {
    fn announce(&self, release: &Release) -> impl Future<Output = Result<usize>> + Send;
}
