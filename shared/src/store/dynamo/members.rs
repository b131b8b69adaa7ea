//! The alias locks of a release's members (one for a single release), taken in the start's
//! transaction and given up in its last save; and a group's history entry per further
//! function.

use chrono::{DateTime, Utc};

use super::schema::{to_item, LockItem, MemberHistoryItem};
use super::*;
use crate::domain::{Member, Release};
use crate::error::Result;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

impl DynamoStore {
    /// A group's other members' locks, taken with the release: each free, or expired (at
    /// `now`, on the records' clock). A member's expired lock is broken here and its
    /// old holder told afterwards ([`Self::create`]'s caller records it), since recording
    /// every broken release in this transaction would not fit DynamoDB's 100 items.
    pub(super) fn member_lock_puts(
        &self,
        release: &Release,
        now: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>> {
        release
            .members
            .iter()
            .map(|member| {
                let lock = self.lock_item(release, member, now)?;
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(lock))
                    .condition_expression("attribute_not_exists(pk) OR lock_expires_at < :now")
                    .expression_attribute_values(
                        ":now",
                        number(now.timestamp() - LOCK_EXPIRY_MARGIN_SECS),
                    );
                Ok(TransactWriteItem::builder()
                    .put(built(put.build())?)
                    .build())
            })
            .collect()
    }

    /// One member's alias lock, held by `release` from `now` for its whole schedule.
    pub(super) fn lock_item(
        &self,
        release: &Release,
        member: &Member,
        now: DateTime<Utc>,
    ) -> Result<Item> {
        to_item(&LockItem {
            pk: lock_pk(&member.function, &member.alias),
            sk: "LOCK".into(),
            release_id: release.id.clone(),
            acquired_at: now.timestamp(),
            lock_expires_at: release.lock_expiry(release.created_at).timestamp(),
        })
    }

    /// Every member's lock given up, only where it is still ours: a lock a later release
    /// broke stays its (the broken release's save then retries without these, see `save`).
    pub(super) fn lock_deletes(&self, release: &Release) -> Result<Vec<TransactWriteItem>> {
        release
            .all_members()
            .iter()
            .map(|member| {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .key("pk", string(lock_pk(&member.function, &member.alias)))
                    .key("sk", string("LOCK"))
                    .condition_expression("attribute_not_exists(pk) OR release_id = :id")
                    .expression_attribute_values(":id", string(&release.id));
                Ok(TransactWriteItem::builder()
                    .delete(built(delete.build())?)
                    .build())
            })
            .collect()
    }

    /// One history entry per function of the group other than the first's.
    pub(super) fn member_history_puts(&self, release: &Release) -> Result<Vec<TransactWriteItem>> {
        let mut functions: Vec<&str> = release
            .members
            .iter()
            .map(|m| m.function.as_str())
            .filter(|f| *f != release.function)
            .collect();
        functions.sort();
        functions.dedup();
        functions
            .into_iter()
            .map(|function| {
                let item = to_item(&MemberHistoryItem {
                    pk: release_pk(&release.id),
                    sk: format!("FN#{function}"),
                    gsi1pk: format!("FN#{function}"),
                    gsi1sk: format!("{}#{}", release.created_at.to_rfc3339(), release.id),
                    release_id: release.id.clone(),
                })?;
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)");
                Ok(TransactWriteItem::builder()
                    .put(built(put.build())?)
                    .build())
            })
            .collect()
    }
}
