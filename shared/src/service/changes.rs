//! The one way a use case changes a stored release outside its own step: load it, let a
//! decision change it, save it over the revision it was loaded at, and, when another writer
//! moved it first, do it all again from a fresh load (the decision may now be different).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::domain::Release;
use crate::error::{Error, Result};
use crate::ports::ReleaseRecords;
use crate::store::LoadedRelease;

/// What became of a change.
pub(crate) enum Changed {
    /// Saved: the release as stored.
    Saved(LoadedRelease),
    /// The decision made no change (the release as loaded).
    Declined(LoadedRelease),
}

/// Loads release `id`, asks `change` to change it (`Ok(false)`: nothing to do) and saves it
/// over the revision it was loaded at. A lost race ([`Error::StaleRelease`]) starts again from
/// a fresh load, at most `attempts` times in all, after a short pause (backon's exponential
/// schedule, with jitter, so that writers that collided do not collide again); any other
/// error is returned as it is.
pub(crate) async fn change_stored<S: ReleaseRecords>(
    store: &S,
    id: &str,
    attempts: usize,
    mut change: impl FnMut(&mut Release) -> Result<bool>,
) -> Result<Changed> {
    let mut pauses = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_millis(500))
        .with_jitter()
        .with_max_times(attempts.saturating_sub(1))
        .build();
    loop {
        let mut tracked = store.load(id).await?;
        if !change(&mut tracked.release)? {
            return Ok(Changed::Declined(tracked));
        }
        match store.save(&mut tracked).await {
            Ok(()) => return Ok(Changed::Saved(tracked)),
            Err(e @ Error::StaleRelease { .. }) => match pauses.next() {
                Some(pause) => tokio::time::sleep(pause).await,
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}
