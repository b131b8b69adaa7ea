//! A release's own analysis alarm over its life: created before the release is recorded (so
//! its guard is written with the others), deleted once the release is done (its bake window
//! closed; after an alarm's revert, by the alarm function), and, where that deletion failed,
//! by the next release on the alias.

use super::*;
use crate::analysis::{alarm_name, kind_alarm, AlarmKind};
use crate::domain::Release;
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::{HealthSource, ReleaseRecords};

/// How many of the function's newest releases the clean-up and the dashboard look at.
const RECENT_RELEASES: i32 = 20;

impl<P: Ports> ReleaseService<P> {
    /// Creates the release's own alarms if its analysis is on (each member's, of each kind
    /// its settings ask for: each watches its own function's versions), and names them on the
    /// release. If one is refused, those already created are deleted before the error is
    /// returned: no release records them, so nothing else would.
    pub(super) async fn open_analysis_alarm(&self, release: &mut Release) -> Result<()> {
        if !release.analysis.enabled {
            return Ok(());
        }
        release.analysis_alarm = Some(alarm_name(&release.id));
        release.analysis_alarm_kinds = AlarmKind::for_settings(&release.analysis);
        let mut created = Vec::new();
        for (member, base) in release.members_with_alarm_bases() {
            let watched = release.as_member(member);
            for &kind in &release.analysis_alarm_kinds {
                let alarm = kind_alarm(&watched, &base, kind, None);
                if let Err(e) = self.health.put_analysis_alarm(&alarm).await {
                    self.delete_unrecorded_alarms(release, &created).await;
                    release.analysis_alarm = None;
                    release.analysis_alarm_kinds.clear();
                    return Err(e);
                }
                created.push(alarm.name);
            }
        }
        Ok(())
    }

    /// Deletes the alarms of a start that recorded nothing, unless a racing start of the same
    /// release id (a repeated CloudFormation request, a retried `--release-id`) recorded it:
    /// alarm names come from the release id, so those alarms are the recorded release's, and
    /// deleting them would read as "alarm(s) no longer exist" at its next look and roll a
    /// healthy release back. When the record cannot be read, they are left: the next release
    /// on the alias deletes them if nothing owns them.
    pub(crate) async fn delete_unrecorded_alarms(&self, release: &Release, names: &[String]) {
        match self.store.load_summary(&release.id).await {
            Err(Error::ReleaseNotFound(_)) => self.delete_alarms_logged(names).await,
            Ok(_) => {
                tracing::info!(release = %release.id, "alarms kept: another start recorded this release")
            }
            Err(e) => {
                tracing::warn!(release = %release.id, error = %e, "alarms left: whether another start recorded this release could not be read")
            }
        }
    }

    /// Deletes `names`, logging a failure: a leftover alarm costs a little until the next
    /// release on the alias deletes it, and must never fail the step that ended a release.
    pub(super) async fn delete_alarms_logged(&self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        if let Err(e) = self.health.delete_alarms(names).await {
            tracing::warn!(alarms = ?names, error = %e, "analysis alarms not deleted; the next release on the alias retries");
        }
    }

    /// The release's own alarms, once the release is done with them.
    pub(super) async fn retire_analysis_alarm(&self, release: &Release) {
        if done_with_alarm(release, self.store.now()) {
            self.delete_alarms_logged(&release.analysis_alarms()).await;
        }
    }

    /// The alias's recent releases, newest first (summaries, without their logs): where the
    /// clean-up finds alarms left behind and the dashboard its versions. Shared by the CLI's
    /// `dashboard`.
    pub async fn recent_releases_on(&self, function: &str, alias: &str) -> Result<Vec<Release>> {
        let mut releases = self
            .store
            .history(function, RECENT_RELEASES, None)
            .await?
            .releases;
        releases.retain(|r| r.alias == alias);
        Ok(releases)
    }

    /// After a start is recorded: one read of the alias's recent releases serves both the
    /// clean-up of their alarms and the dashboard. Logged, never returned.
    pub(super) async fn after_start(&self, release: &Release) {
        match self
            .recent_releases_on(&release.function, &release.alias)
            .await
        {
            Ok(recent) => {
                let names: Vec<String> = recent
                    .iter()
                    .filter(|r| r.id != release.id && done_with_alarm(r, self.store.now()))
                    .flat_map(|r| r.analysis_alarms())
                    .collect();
                self.delete_alarms_logged(&names).await;
                self.refresh_dashboard(release, recent).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "history not read; alarms and dashboard left for later")
            }
        }
    }

    /// After a release ended: its dashboard, if it keeps it current.
    pub(super) async fn after_end(&self, release: &Release) {
        if !release.analysis.keep_dashboard {
            return;
        }
        match self
            .recent_releases_on(&release.function, &release.alias)
            .await
        {
            Ok(recent) => self.refresh_dashboard(release, recent).await,
            Err(e) => tracing::warn!(error = %e, "dashboard not updated: history not read"),
        }
    }

    /// Updates the alias's dashboard if the release keeps it current: its recent releases'
    /// versions, this release's steps as annotations. Logged, never returned: a dashboard
    /// must not fail a release step.
    async fn refresh_dashboard(&self, release: &Release, mut recent: Vec<Release>) {
        if !release.analysis.keep_dashboard {
            return;
        }
        // The history holds summaries; this release (with its log) is the one to annotate.
        match recent.iter_mut().find(|r| r.id == release.id) {
            Some(summary) => *summary = release.clone(),
            None => recent.insert(0, release.clone()),
        }
        let put = self
            .health
            .put_dashboard(&release.function, &release.alias, &recent)
            .await;
        if let Err(e) = put {
            tracing::warn!(release = %release.id, error = %e, "dashboard not updated");
        }
    }
}

/// Ended, and past the bake window in which its alarms still guard it.
/// `now` is on the records' clock: a laptop's clock hours fast must not end a bake window.
pub(crate) fn done_with_alarm(release: &Release, now: chrono::DateTime<chrono::Utc>) -> bool {
    release.phase.is_terminal() && release.guard_until().is_none_or(|until| until <= now)
}
