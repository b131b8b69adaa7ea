//! What people and programs are told about a release: which of its events are announced and
//! how loudly, as the release's one description of each event says
//! ([`Release::describe`]). How an announcement is shown (Chatbot, PagerDuty, SNS attributes)
//! is the notifier adapter's business.

use crate::domain::release::{Release, Severity};

/// Whether log entry `index` is announced, and how loudly: (event type, severity), or None for
/// the entries that are recorded but not announced.
pub fn announced(release: &Release, index: usize) -> Option<(&'static str, Severity)> {
    let described = release.describe(index)?;
    Some((described.kind, described.severity?))
}
