//! One release per alias: the lock, its expiry and renewal, and who holds it.

use chrono::{DateTime, Utc};

use super::schema::{from_item, LockItem};
use super::*;
use crate::domain::Release;
use crate::error::Result;

impl DynamoStore {
    /// Pushes the expiry of `release`'s alias lock to a full schedule plus grace from `now`,
    /// if the lock is still its own and would expire sooner. A release that makes progress,
    /// or sits paused for days, keeps its alias.
    /// A group renews every member's lock.
    pub async fn renew_lock(&self, release: &Release, now: DateTime<Utc>) -> Result<()> {
        for member in release.all_members() {
            self.renew_member_lock(release, &member.function, &member.alias, now)
                .await?;
        }
        Ok(())
    }

    async fn renew_member_lock(
        &self,
        release: &Release,
        function: &str,
        alias: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let expires = release.lock_expiry(now);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(lock_pk(function, alias)))
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
                let lock: LockItem = from_item(item, "lock")?;
                Ok(LockInfo {
                    release_id: lock.release_id,
                    acquired_at: time(lock.acquired_at),
                    expires_at: time(lock.lock_expires_at),
                })
            })
            .transpose()
    }
}
