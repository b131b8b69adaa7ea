//! The notifier: a release's log entries announced to its teams.

use std::future::Future;

use crate::domain::Release;
use crate::error::Result;

/// The notifier: announces what a release's log holds that was not announced yet, and says
/// how many entries it sent.
pub trait Announcer: Send + Sync {
    fn announce(&self, release: &Release) -> impl Future<Output = Result<usize>> + Send;
}
