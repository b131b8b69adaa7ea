//! Releases and their logs: created with their lock and guards in one transaction, saved
//! only over the revision they were read at, loaded whole.

use chrono::{DateTime, Utc};

use super::open::open_key;
use super::schema::{from_item, to_item, LogItem, ReleaseDoc, ReleaseItem, OPEN_PARTITION};
use super::*;
use crate::domain::{LogEntry, Release};
use crate::error::{AwsError, AwsErrorKind, Error, Result};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

impl DynamoStore {
    pub(super) fn release_item(&self, release: &Release, revision: u64) -> Result<Item> {
        let mut doc = release.clone();
        doc.log.clear();
        doc.revision = revision;
        let open_until = release.open_until();
        to_item(&ReleaseItem {
            pk: release_pk(&release.id),
            sk: "REL".into(),
            gsi1pk: format!("FN#{}", release.function),
            gsi1sk: format!("{}#{}", release.created_at.to_rfc3339(), release.id),
            gsi2pk: open_until.map(|_| OPEN_PARTITION.to_string()),
            gsi2sk: open_until.map(|until| open_key(until.timestamp(), &release.id)),
            function: release.function.clone(),
            alias: release.alias.clone(),
            phase: release.phase.name().into(),
            revision,
            event_count: release.log.len(),
            doc: serde_json::to_string(&doc).map_err(|e| Error::Corrupt(e.to_string()))?,
        })
    }

    pub(super) fn event_puts(
        &self,
        release: &Release,
        from: usize,
    ) -> Result<Vec<TransactWriteItem>> {
        release.log[from..]
            .iter()
            .enumerate()
            .map(|(offset, entry)| {
                let item = to_item(&LogItem {
                    pk: release_pk(&release.id),
                    sk: format!("EV#{:05}", from + offset),
                    doc: serde_json::to_string(entry).map_err(|e| Error::Corrupt(e.to_string()))?,
                })?;
                let put = built(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk)")
                        .build(),
                )?;
                Ok(TransactWriteItem::builder().put(put).build())
            })
            .collect()
    }

    /// Records a new release, takes its alias lock and registers its alarm guards, all or
    /// nothing. A second release on a locked alias fails with [`Error::LockHeld`]; a release
    /// id already stored fails with [`Error::ReleaseExists`]. With a `takeover`, the lock is
    /// taken only if it is still the expired lock of that holder, and the broken release's new
    /// state is stored in the same transaction.
    pub async fn create(
        &self,
        release: &Release,
        now: DateTime<Utc>,
        takeover: Option<LockTakeover<'_>>,
    ) -> Result<LoadedRelease> {
        let lock = self.lock_item(release, &release.lead(), now)?;
        let lock_put = Put::builder().table_name(&self.table).set_item(Some(lock));
        let lock_put = match takeover {
            None => lock_put.condition_expression("attribute_not_exists(pk)"),
            Some(takeover) => lock_put
                .condition_expression("release_id = :holder AND lock_expires_at < :now")
                .expression_attribute_values(":holder", string(takeover.holder))
                .expression_attribute_values(
                    ":now",
                    number(now.timestamp() - LOCK_EXPIRY_MARGIN_SECS),
                ),
        };
        // A release recorded already over (a declined re-release) takes no lock and no guard.
        let locking = release.holds_alias_lock();
        let mut items = vec![TransactWriteItem::builder()
            .put(built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(self.release_item(release, 1)?))
                    .condition_expression("attribute_not_exists(pk)")
                    .build(),
            )?)
            .build()];
        if locking {
            items.push(
                TransactWriteItem::builder()
                    .put(built(lock_put.build())?)
                    .build(),
            );
            // A group's other members' locks come next, so a refusal's reasons name them.
            items.extend(self.member_lock_puts(release, now)?);
        }
        items.extend(self.member_history_puts(release)?);
        let guarded = if locking {
            release.recorded_guards()
        } else {
            Vec::new()
        };
        for alarm in &guarded {
            items.push(
                TransactWriteItem::builder()
                    .put(built(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(self.guard_item(release, alarm)?))
                            .build(),
                    )?)
                    .build(),
            );
        }
        items.extend(self.event_puts(release, 0)?);
        if let Some(broken) = takeover.and_then(|t| t.broken) {
            // The lock item is written above; this release must not also delete it.
            items.extend(self.update_items(broken, false)?);
        }
        match self.commit(items).await {
            Ok(_) => {
                self.publish_metrics(release, 0);
                if let Some(broken) = takeover.and_then(|t| t.broken) {
                    self.publish_metrics(&broken.release, broken.stored_log_len);
                }
                let mut release = release.clone();
                release.revision = 1;
                let stored_log_len = release.log.len();
                Ok(LoadedRelease {
                    release,
                    stored_log_len,
                    holds_lock: locking,
                })
            }
            Err(err) => {
                let reasons = cancellation_codes(&err);
                let aws_err = AwsError::from_transaction(err, &reasons);
                if aws_err.kind != AwsErrorKind::Conflict {
                    return Err(Error::Aws(aws_err));
                }
                // Reasons come in item order: [release, lock, ...]. Where the service gives
                // none, read back to find out which condition failed.
                let release_taken = match reasons.first() {
                    Some(code) => code == "ConditionalCheckFailed",
                    None => self.load_release_item(&release.id).await?.is_some(),
                };
                if release_taken {
                    return Err(Error::ReleaseExists(release.id.clone()));
                }
                for member in release.all_members() {
                    if let Some(holder) = self.lock_holder(&member.function, &member.alias).await? {
                        if holder.release_id != release.id {
                            return Err(Error::LockHeld {
                                function: member.function,
                                alias: member.alias,
                                holder: holder.release_id,
                                since: holder.acquired_at.to_rfc3339(),
                            });
                        }
                    }
                }
                Err(Error::Aws(aws_err))
            }
        }
    }

    /// The writes that store a release's new state over the revision it was loaded at: the
    /// release item, its new log entries, its lock given up (if `release_lock`) and its guards
    /// kept for the bake window or dropped once it is terminal.
    pub(super) fn update_items(
        &self,
        tracked: &LoadedRelease,
        release_lock: bool,
    ) -> Result<Vec<TransactWriteItem>> {
        let release = &tracked.release;
        let expected = release.revision;
        let mut items = vec![TransactWriteItem::builder()
            .put(built(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(self.release_item(release, expected + 1)?))
                    .condition_expression("revision = :expected")
                    .expression_attribute_values(":expected", number(expected))
                    .build(),
            )?)
            .build()];
        items.extend(self.event_puts(release, tracked.stored_log_len)?);
        if release_lock && release.phase.is_terminal() && tracked.holds_lock {
            items.extend(self.lock_deletes(release)?);
        }
        if !release.phase.is_terminal() {
            // An operator's ignore reaches the alarm function through the guard it queries.
            for alarm in release.alarms_ignored_since(tracked.stored_log_len) {
                items.push(
                    TransactWriteItem::builder()
                        .put(built(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(self.guard_item(release, &alarm)?))
                                .build(),
                        )?)
                        .build(),
                );
            }
        }
        if release.phase.is_terminal() {
            for alarm in &release.recorded_guards() {
                let item = if release.guard_until().is_some() {
                    TransactWriteItem::builder()
                        .put(built(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(self.guard_item(release, alarm)?))
                                .build(),
                        )?)
                        .build()
                } else {
                    TransactWriteItem::builder()
                        .delete(built(
                            Delete::builder()
                                .table_name(&self.table)
                                .key("pk", string(alarm_pk(alarm)))
                                .key("sk", string(release_pk(&release.id)))
                                .build(),
                        )?)
                        .build()
                };
                items.push(item);
            }
        }
        Ok(items)
    }

    /// Writes `items` in one transaction, all or nothing, under a fresh request token.
    async fn commit(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> std::result::Result<(), SdkError<TransactWriteItemsError, HttpResponse>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(request_token())
            .send()
            .await
            .map(|_| ())
    }

    /// Stores a release's new state and log entries, only over the revision it was loaded at.
    /// A terminal release gives up its lock; a succeeded one keeps its alarm guards for the
    /// bake window; any other terminal release drops them.
    pub async fn save(&self, tracked: &mut LoadedRelease) -> Result<()> {
        let expected = tracked.release.revision;
        let next = expected + 1;
        let mut release_lock = true;
        loop {
            let items = self.update_items(tracked, release_lock)?;
            let err = match self.commit(items).await {
                Ok(_) => break,
                Err(err) => err,
            };
            let reasons = cancellation_codes(&err);
            let aws_err = AwsError::from_transaction(err, &reasons);
            if aws_err.kind != AwsErrorKind::Conflict {
                return Err(Error::Aws(aws_err));
            }
            // The release's own revision held (reasons come in item order, the release
            // first): what failed is giving up a lock a later release broke and holds now.
            // Store the release without touching that lock, rather than fail for ever.
            let lock_lost = reasons.first().is_some_and(|c| c == "None")
                && reasons.iter().any(|c| c == "ConditionalCheckFailed");
            if release_lock && lock_lost {
                tracing::warn!(release = %tracked.release.id, "its lock was taken over; stored without giving it up");
                release_lock = false;
                continue;
            }
            return Err(Error::StaleRelease {
                id: tracked.release.id.clone(),
                expected,
            });
        }
        // Each entry is stored once (the write is conditional), so counts once.
        self.publish_metrics(&tracked.release, tracked.stored_log_len);
        tracked.release.revision = next;
        tracked.stored_log_len = tracked.release.log.len();
        tracked.holds_lock = tracked.release.holds_alias_lock();
        Ok(())
    }

    pub(super) async fn load_release_item(&self, id: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(release_pk(id)))
            .key("sk", string("REL"))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("GetItem"))?;
        Ok(out.item)
    }

    pub(super) fn parse_release(item: Item) -> Result<Release> {
        let item: ReleaseDoc = from_item(item, "release")?;
        let mut release: Release =
            serde_json::from_str(&item.doc).map_err(|e| Error::Corrupt(format!("release: {e}")))?;
        release.revision = item.revision;
        Ok(release)
    }

    /// The release without its log: one strongly consistent read.
    pub async fn load_summary(&self, id: &str) -> Result<Release> {
        let item = self
            .load_release_item(id)
            .await?
            .ok_or_else(|| Error::ReleaseNotFound(id.to_string()))?;
        Self::parse_release(item)
    }

    /// The release with its whole log, ready to change and save.
    pub async fn load(&self, id: &str) -> Result<LoadedRelease> {
        let mut release_item = None;
        let mut log = Vec::new();
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", string(release_pk(id)))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = items.try_next().await.map_err(aws("Query"))? {
            let sk = get_s(&item, "sk")?;
            if sk == "REL" {
                release_item = Some(item);
            } else if sk.starts_with("EV#") {
                let item: LogItem = from_item(item, "log entry")?;
                let entry: LogEntry = serde_json::from_str(&item.doc)
                    .map_err(|e| Error::Corrupt(format!("log entry {}: {e}", item.sk)))?;
                log.push(entry);
            }
        }
        let item = release_item.ok_or_else(|| Error::ReleaseNotFound(id.to_string()))?;
        let mut release = Self::parse_release(item)?;
        release.log = log;
        Ok(LoadedRelease::stored(release))
    }
}

/// A token that makes the SDK's own retry of one commit (after a lost answer) the same commit
/// to DynamoDB for 10 minutes, instead of a second attempt that finds its own write and fails
/// its condition. One per call: a new call is a new decision.
fn request_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn cancellation_codes<R>(err: &SdkError<TransactWriteItemsError, R>) -> Vec<String> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None").to_string())
            .collect(),
        _ => Vec::new(),
    }
}
