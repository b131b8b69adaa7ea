//! The notifier in memory: each announcement journaled.

use super::Announcer;
use crate::domain::Release;
use crate::error::Result;
use crate::testing::Journal;

/// Notifications: what was announced, as "release-id: log length".
#[derive(Default, Clone)]
pub struct MemoryNotifier {
    pub journal: Journal,
}

impl Announcer for MemoryNotifier {
    async fn announce(&self, release: &Release) -> Result<usize> {
        let entry = format!("announce {} {}", release.id, release.phase.name());
        self.journal.push(entry);
        Ok(release.log.len())
    }
}
