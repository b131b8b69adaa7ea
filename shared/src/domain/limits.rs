//! The limits a release and the rules it is built from (gates, hooks) share: here, so that
//! those rules need not import the release.

/// A lock outlives its release's schedule by this much, counted from the start or its last
/// renewal (`Release::renews_lock_at`), before a later release may break it.
pub const LOCK_GRACE_SECS: i64 = 6 * 3600;
/// A release paused longer than this is aborted (back to its stable version, recorded and
/// announced), so its workflow always ends within the history cap: about 1,400 looks.
pub const MAX_PAUSE_SECS: u64 = 14 * 24 * 3600;
