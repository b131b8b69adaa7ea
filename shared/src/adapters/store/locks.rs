//! One release per alias: the lock, its expiry and renewal, and who holds it.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::domain::Release;
use crate::error::Result;

/// A lock outlives its release's schedule by this much, counted from its last renewal (every
/// look of the workflow renews it, paused or not), before a later release may break it.
const LOCK_GRACE_SECS: i64 = 6 * 3600;
/// How far a caller's clock may be off (an operator's laptop running `shiftback rollback`):
/// a lock counts as expired only this long after its expiry by the caller's clock.
pub const LOCK_CLOCK_SKEW_SECS: i64 = 300;

/// The holder of an alias lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub release_id: String,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl LockInfo {
    /// Whether a release may break this lock at `now` by the caller's clock, allowing for
    /// that clock to be off by [`LOCK_CLOCK_SKEW_SECS`].
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at + Duration::seconds(LOCK_CLOCK_SKEW_SECS) < now
    }
}

/// When a lock taken or renewed at `at` for `release` expires.
pub(super) fn lock_expiry(release: &Release, at: DateTime<Utc>) -> DateTime<Utc> {
    at + Duration::seconds(release.schedule.total_bake_secs() as i64 + LOCK_GRACE_SECS)
}

impl ReleaseStore {
    /// Pushes the expiry of `release`'s alias lock to a full schedule plus grace from `now`,
    /// if the lock is still its own and would expire sooner. A release that makes progress,
    /// or sits paused for days, keeps its alias.
    pub async fn renew_lock(&self, release: &Release, now: DateTime<Utc>) -> Result<()> {
        let expires = lock_expiry(release, now);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(lock_pk(&release.function, &release.alias)))
            .key("sk", string("LOCK"))
            .update_expression("SET lock_expires_at = :expires")
            .condition_expression("release_id = :id AND lock_expires_at < :expires")
            .expression_attribute_values(":id", string(&release.id))
            .expression_attribute_values(":expires", number(expires.timestamp()))
            .send()
            .await;
        // Not applied: not ours any more, or already later. Nothing to renew either way.
        applied("UpdateItem", out)?;
        Ok(())
    }

    pub async fn lock_holder(&self, function: &str, alias: &str) -> Result<Option<LockInfo>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(lock_pk(function, alias)))
            .key("sk", string("LOCK"))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("GetItem"))?;
        out.item
            .map(|item| {
                Ok(LockInfo {
                    release_id: get_s(&item, "release_id")?.to_string(),
                    acquired_at: time(get_n(&item, "acquired_at")?),
                    expires_at: time(get_n(&item, "lock_expires_at")?),
                })
            })
            .transpose()
    }
}
