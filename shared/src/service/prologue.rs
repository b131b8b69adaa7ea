//! What every step of the workflow does first: load the release it names, and answer at once
//! for one that has ended (a retried step, or a revert the alarm function made meanwhile).

use super::{ReleaseService, StepOutcome};
use crate::domain::{Action, Release};
use crate::error::{Error, Result};
use crate::ports::{Ports, ReleaseRecords};
use crate::store::LoadedRelease;

impl<P: Ports> ReleaseService<P> {
    /// The release a step is for, with its revision; a step that names none is a bad request.
    pub(super) async fn load_step(&self, release_id: Option<&str>) -> Result<LoadedRelease> {
        let id = release_id.ok_or_else(|| Error::BadRequest("release_id is required".into()))?;
        self.store.load(id).await
    }

    /// For a release that has ended, the step's answer: nothing to do but catch up what its
    /// last write left to do (announcements, alarm cleanup). None while it runs.
    pub(super) async fn ended(&self, release: &Release) -> Option<StepOutcome> {
        if !release.phase.is_terminal() {
            return None;
        }
        self.after_write(release).await;
        Some(StepOutcome::of(release, &Action::Nothing))
    }
}
