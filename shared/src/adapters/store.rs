//! The release store: one DynamoDB table holding releases, their event logs, the
//! one-active-release-per-alias locks and the alarm-to-release guards.
//!
//! | item            | pk                      | sk             | notes                          |
//! |-----------------|-------------------------|----------------|--------------------------------|
//! | release         | `REL#<id>`              | `REL`          | `doc` JSON, `revision`, GSI1   |
//! | log entry       | `REL#<id>`              | `EV#<seq:05>`  | `doc` JSON, written once       |
//! | alias lock      | `LOCK#<fn>#<alias>`     | `LOCK`         | holder, expiry                 |
//! | alarm guard     | `ALARM#<alarm>`         | `REL#<id>`     | what to revert, until when     |
//!
//! GSI1 (`gsi1pk` = `FN#<function>`, `gsi1sk` = `<created_at>#<id>`) lists a function's
//! releases newest first. Every state change is conditional on the state it expects.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, PutRequest, ScalarAttributeType,
    TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::{DateTime, Duration, Utc};

use crate::domain::{LogEntry, Release};
use crate::error::{AwsError, AwsErrorKind, Error, Result};

pub const HISTORY_INDEX: &str = "gsi1";
/// A lock outlives its release's schedule by this much, counted from its last renewal (every
/// look of the workflow renews it, paused or not), before a later release may break it.
const LOCK_GRACE_SECS: i64 = 6 * 3600;
/// How far a caller's clock may be off (an operator's laptop running `shiftback rollback`):
/// a lock counts as expired only this long after its expiry by the caller's clock.
pub const LOCK_CLOCK_SKEW_SECS: i64 = 300;

impl LockInfo {
    /// Whether a release may break this lock at `now` by the caller's clock, allowing for
    /// that clock to be off by [`LOCK_CLOCK_SKEW_SECS`].
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at + Duration::seconds(LOCK_CLOCK_SKEW_SECS) < now
    }
}

/// When a lock taken or renewed at `at` for `release` expires.
fn lock_expiry(release: &Release, at: DateTime<Utc>) -> DateTime<Utc> {
    at + Duration::seconds(release.schedule.total_bake_secs() as i64 + LOCK_GRACE_SECS)
}

type Item = HashMap<String, AttributeValue>;

/// A release as loaded, remembering how much of its log is already stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracked {
    pub release: Release,
    stored_log_len: usize,
    /// Whether the stored release still holds its alias lock (it was not yet terminal).
    holds_lock: bool,
}

impl Tracked {
    pub fn stored_log_len(&self) -> usize {
        self.stored_log_len
    }
}

/// The holder of an alias lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub release_id: String,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Taking over an alias lock that expired: whose it was, and that release (already moved to
/// its lock-broken state) when it was still running, so both are recorded in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct Takeover<'a> {
    pub holder: &'a str,
    pub broken: Option<&'a Tracked>,
}

/// What an alarm guards: enough to revert the alias without reading anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub alarm: String,
    pub release_id: String,
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub target_version: String,
    /// None while the release is in progress; the end of the bake window once it succeeded.
    pub until: Option<DateTime<Utc>>,
    /// When the release started: an alarm state change before it is not about this release,
    /// and of two releases on one alias the newer decides where the alias goes. None on guards
    /// written before this was recorded (they count as the oldest).
    pub started_at: Option<DateTime<Utc>>,
}

/// One page of a function's history, newest first.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub releases: Vec<Release>,
    /// Pass back to get the next page; None on the last page.
    pub next: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ReleaseStore {
    client: Client,
    table: String,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn release_pk(id: &str) -> String {
    format!("REL#{id}")
}

fn lock_pk(function: &str, alias: &str) -> String {
    format!("LOCK#{function}#{alias}")
}

fn alarm_pk(alarm: &str) -> String {
    format!("ALARM#{alarm}")
}

fn get_s<'a>(item: &'a Item, key: &str) -> Result<&'a str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| Error::Corrupt(format!("item lacks string attribute {key}")))
}

fn get_n(item: &Item, key: &str) -> Result<i64> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Corrupt(format!("item lacks number attribute {key}")))
}

fn time(epoch: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch, 0).unwrap_or_default()
}

fn aws<E>(operation: &'static str) -> impl Fn(SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| Error::Aws(AwsError::from_sdk(operation, e))
}

fn built<T>(result: std::result::Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T> {
    result.map_err(|e| Error::BadRequest(e.to_string()))
}

impl ReleaseStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        ReleaseStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with the schema `template.yaml` declares (for tests and the demo).
    pub async fn create_table(&self) -> Result<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(built(attr("pk"))?)
            .attribute_definitions(built(attr("sk"))?)
            .attribute_definitions(built(attr("gsi1pk"))?)
            .attribute_definitions(built(attr("gsi1sk"))?)
            .key_schema(built(key("pk", KeyType::Hash))?)
            .key_schema(built(key("sk", KeyType::Range))?)
            .global_secondary_indexes(built(
                GlobalSecondaryIndex::builder()
                    .index_name(HISTORY_INDEX)
                    .key_schema(built(key("gsi1pk", KeyType::Hash))?)
                    .key_schema(built(key("gsi1sk", KeyType::Range))?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build(),
            )?)
            .send()
            .await
            .map_err(aws("CreateTable"))?;
        Ok(())
    }

    fn release_item(&self, release: &Release, revision: u64) -> Result<Item> {
        let mut doc = release.clone();
        doc.log.clear();
        doc.revision = revision;
        let json = serde_json::to_string(&doc).map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(HashMap::from([
            ("pk".to_string(), s(release_pk(&release.id))),
            ("sk".to_string(), s("REL")),
            ("gsi1pk".to_string(), s(format!("FN#{}", release.function))),
            (
                "gsi1sk".to_string(),
                s(format!(
                    "{}#{}",
                    release.created_at.to_rfc3339(),
                    release.id
                )),
            ),
            ("function".to_string(), s(&release.function)),
            ("alias".to_string(), s(&release.alias)),
            ("phase".to_string(), s(release.phase.name())),
            ("revision".to_string(), n(revision)),
            ("event_count".to_string(), n(release.log.len())),
            ("doc".to_string(), s(json)),
        ]))
    }

    fn event_puts(&self, release: &Release, from: usize) -> Result<Vec<TransactWriteItem>> {
        release.log[from..]
            .iter()
            .enumerate()
            .map(|(offset, entry)| {
                let json =
                    serde_json::to_string(entry).map_err(|e| Error::Corrupt(e.to_string()))?;
                let item = HashMap::from([
                    ("pk".to_string(), s(release_pk(&release.id))),
                    ("sk".to_string(), s(format!("EV#{:05}", from + offset))),
                    ("doc".to_string(), s(json)),
                ]);
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

    fn guard_item(&self, release: &Release, alarm: &str) -> Item {
        let mut item = HashMap::from([
            ("pk".to_string(), s(alarm_pk(alarm))),
            ("sk".to_string(), s(release_pk(&release.id))),
            ("release_id".to_string(), s(&release.id)),
            ("function".to_string(), s(&release.function)),
            ("alias".to_string(), s(&release.alias)),
            ("stable_version".to_string(), s(&release.stable_version)),
            ("target_version".to_string(), s(&release.target_version)),
            (
                "started_at_ms".to_string(),
                n(release.created_at.timestamp_millis()),
            ),
        ]);
        if let Some(until) = release.guard_until() {
            item.insert("guard_until".to_string(), n(until.timestamp()));
            // DynamoDB's TTL removes guards whose window closed (a day later, to be safe).
            item.insert("expires_at".to_string(), n(until.timestamp() + 86_400));
        }
        item
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
        takeover: Option<Takeover<'_>>,
    ) -> Result<Tracked> {
        let expires = lock_expiry(release, release.created_at);
        let lock = HashMap::from([
            (
                "pk".to_string(),
                s(lock_pk(&release.function, &release.alias)),
            ),
            ("sk".to_string(), s("LOCK")),
            ("release_id".to_string(), s(&release.id)),
            ("acquired_at".to_string(), n(now.timestamp())),
            ("lock_expires_at".to_string(), n(expires.timestamp())),
        ]);
        let lock_put = Put::builder().table_name(&self.table).set_item(Some(lock));
        let lock_put = match takeover {
            None => lock_put.condition_expression("attribute_not_exists(pk)"),
            Some(takeover) => lock_put
                .condition_expression("release_id = :holder AND lock_expires_at < :now")
                .expression_attribute_values(":holder", s(takeover.holder))
                .expression_attribute_values(":now", n(now.timestamp() - LOCK_CLOCK_SKEW_SECS)),
        };
        let mut items = vec![
            TransactWriteItem::builder()
                .put(built(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(self.release_item(release, 1)?))
                        .condition_expression("attribute_not_exists(pk)")
                        .build(),
                )?)
                .build(),
            TransactWriteItem::builder()
                .put(built(lock_put.build())?)
                .build(),
        ];
        for alarm in &release.alarms {
            items.push(
                TransactWriteItem::builder()
                    .put(built(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(self.guard_item(release, alarm)))
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
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(request_token())
            .send()
            .await
        {
            Ok(_) => {
                let mut release = release.clone();
                release.revision = 1;
                let stored_log_len = release.log.len();
                Ok(Tracked {
                    release,
                    stored_log_len,
                    holds_lock: true,
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
                match self.lock_holder(&release.function, &release.alias).await? {
                    Some(holder) => Err(Error::LockHeld {
                        function: release.function.clone(),
                        alias: release.alias.clone(),
                        holder: holder.release_id,
                        since: holder.acquired_at.to_rfc3339(),
                    }),
                    None => Err(Error::Aws(aws_err)),
                }
            }
        }
    }

    /// The writes that store a release's new state over the revision it was loaded at: the
    /// release item, its new log entries, its lock given up (if `release_lock`) and its guards
    /// kept for the bake window or dropped once it is terminal.
    fn update_items(
        &self,
        tracked: &Tracked,
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
                    .expression_attribute_values(":expected", n(expected))
                    .build(),
            )?)
            .build()];
        items.extend(self.event_puts(release, tracked.stored_log_len)?);
        if release_lock && release.phase.is_terminal() && tracked.holds_lock {
            items.push(
                TransactWriteItem::builder()
                    .delete(built(
                        Delete::builder()
                            .table_name(&self.table)
                            .key("pk", s(lock_pk(&release.function, &release.alias)))
                            .key("sk", s("LOCK"))
                            // Only our own lock. A release that lost its lock was moved to a
                            // new revision when it was broken, so its stale save fails above.
                            .condition_expression("attribute_not_exists(pk) OR release_id = :id")
                            .expression_attribute_values(":id", s(&release.id))
                            .build(),
                    )?)
                    .build(),
            );
        }
        if release.phase.is_terminal() {
            for alarm in &release.alarms {
                let key = HashMap::from([
                    ("pk".to_string(), s(alarm_pk(alarm))),
                    ("sk".to_string(), s(release_pk(&release.id))),
                ]);
                let item = if release.guard_until().is_some() {
                    TransactWriteItem::builder()
                        .put(built(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(self.guard_item(release, alarm)))
                                .build(),
                        )?)
                        .build()
                } else {
                    TransactWriteItem::builder()
                        .delete(built(
                            Delete::builder()
                                .table_name(&self.table)
                                .set_key(Some(key))
                                .build(),
                        )?)
                        .build()
                };
                items.push(item);
            }
        }
        Ok(items)
    }

    /// Stores a release's new state and log entries, only over the revision it was loaded at.
    /// A terminal release gives up its lock; a succeeded one keeps its alarm guards for the
    /// bake window; any other terminal release drops them.
    pub async fn save(&self, tracked: &mut Tracked) -> Result<()> {
        let expected = tracked.release.revision;
        let next = expected + 1;
        let items = self.update_items(tracked, true)?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(request_token())
            .send()
            .await
        {
            Ok(_) => {
                tracked.release.revision = next;
                tracked.stored_log_len = tracked.release.log.len();
                tracked.holds_lock = tracked.release.holds_alias_lock();
                Ok(())
            }
            Err(err) => {
                let reasons = cancellation_codes(&err);
                let aws_err = AwsError::from_transaction(err, &reasons);
                if aws_err.kind == AwsErrorKind::Conflict {
                    Err(Error::StaleRelease {
                        id: tracked.release.id.clone(),
                        expected,
                    })
                } else {
                    Err(Error::Aws(aws_err))
                }
            }
        }
    }

    /// Backfills history with a release that already finished elsewhere (say, a CodeDeploy
    /// deployment being migrated): its item and log, written as they would have been, with no
    /// lock or alarm guard involved. An id already stored is left as it is.
    pub async fn import_finished(&self, release: &Release) -> Result<()> {
        if !release.phase.is_terminal() {
            return Err(Error::BadRequest(format!(
                "release {} is {}: only finished releases can be imported",
                release.id,
                release.phase.name()
            )));
        }
        let mut puts = vec![self.release_item(release, 1)?];
        for write in self.event_puts(release, 0)? {
            if let Some(put) = write.put {
                puts.push(put.item);
            }
        }
        let mut puts = puts.into_iter().peekable();
        let release_item = puts.next().expect("the release item is first");
        // The release item first and conditionally, so an existing release is never touched.
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(release_item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) => {
                let err = AwsError::from_sdk("PutItem", e);
                return if err.kind == AwsErrorKind::Conflict {
                    Ok(())
                } else {
                    Err(Error::Aws(err))
                };
            }
        }
        while puts.peek().is_some() {
            let batch: Vec<_> = puts
                .by_ref()
                .take(25)
                .map(|item| {
                    let put = built(PutRequest::builder().set_item(Some(item)).build())?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_>>()?;
            let mut pending = Some(HashMap::from([(self.table.clone(), batch)]));
            while let Some(requests) = pending.filter(|r| !r.is_empty()) {
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(requests))
                    .send()
                    .await
                    .map_err(aws("BatchWriteItem"))?;
                pending = out.unprocessed_items;
                if pending.as_ref().is_some_and(|r| !r.is_empty()) {
                    // What DynamoDB could not take now, it takes after a breath.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
        Ok(())
    }

    async fn load_release_item(&self, id: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(release_pk(id)))
            .key("sk", s("REL"))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("GetItem"))?;
        Ok(out.item)
    }

    fn parse_release(item: &Item) -> Result<Release> {
        let doc = get_s(item, "doc")?;
        let mut release: Release =
            serde_json::from_str(doc).map_err(|e| Error::Corrupt(format!("release: {e}")))?;
        release.revision = get_n(item, "revision")? as u64;
        Ok(release)
    }

    /// The release without its log: one strongly consistent read.
    pub async fn load_summary(&self, id: &str) -> Result<Release> {
        let item = self
            .load_release_item(id)
            .await?
            .ok_or_else(|| Error::ReleaseNotFound(id.to_string()))?;
        Self::parse_release(&item)
    }

    /// The release with its whole log, ready to change and save.
    pub async fn load(&self, id: &str) -> Result<Tracked> {
        let mut release_item = None;
        let mut log = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(release_pk(id)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(aws("Query"))?;
            for item in out.items() {
                let sk = get_s(item, "sk")?;
                if sk == "REL" {
                    release_item = Some(item.clone());
                } else if sk.starts_with("EV#") {
                    let entry: LogEntry = serde_json::from_str(get_s(item, "doc")?)
                        .map_err(|e| Error::Corrupt(format!("log entry {sk}: {e}")))?;
                    log.push(entry);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let item = release_item.ok_or_else(|| Error::ReleaseNotFound(id.to_string()))?;
        let mut release = Self::parse_release(&item)?;
        let stored_log_len = log.len();
        release.log = log;
        Ok(Tracked {
            holds_lock: release.holds_alias_lock(),
            release,
            stored_log_len,
        })
    }

    /// Pushes the expiry of `release`'s alias lock to a full schedule plus grace from `now`,
    /// if the lock is still its own and would expire sooner. A release that makes progress,
    /// or sits paused for days, keeps its alias.
    pub async fn renew_lock(&self, release: &Release, now: DateTime<Utc>) -> Result<()> {
        let expires = lock_expiry(release, now);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(lock_pk(&release.function, &release.alias)))
            .key("sk", s("LOCK"))
            .update_expression("SET lock_expires_at = :expires")
            .condition_expression("release_id = :id AND lock_expires_at < :expires")
            .expression_attribute_values(":id", s(&release.id))
            .expression_attribute_values(":expires", n(expires.timestamp()))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = AwsError::from_sdk("UpdateItem", e);
                // Not ours any more, or already later: nothing to renew.
                if err.kind == AwsErrorKind::Conflict {
                    Ok(())
                } else {
                    Err(Error::Aws(err))
                }
            }
        }
    }

    pub async fn lock_holder(&self, function: &str, alias: &str) -> Result<Option<LockInfo>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(lock_pk(function, alias)))
            .key("sk", s("LOCK"))
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

    /// Every release an alarm guards: the one read on the revert's critical path.
    pub async fn guards_for_alarm(&self, alarm: &str) -> Result<Vec<Guard>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(alarm_pk(alarm)))
            .consistent_read(true)
            .send()
            .await
            .map_err(aws("Query"))?;
        out.items()
            .iter()
            .map(|item| {
                Ok(Guard {
                    alarm: alarm.to_string(),
                    release_id: get_s(item, "release_id")?.to_string(),
                    function: get_s(item, "function")?.to_string(),
                    alias: get_s(item, "alias")?.to_string(),
                    stable_version: get_s(item, "stable_version")?.to_string(),
                    target_version: get_s(item, "target_version")?.to_string(),
                    until: get_n(item, "guard_until").ok().map(time),
                    started_at: get_n(item, "started_at_ms")
                        .ok()
                        .and_then(DateTime::from_timestamp_millis),
                })
            })
            .collect()
    }

    /// A function's releases, newest first, `limit` at a time.
    pub async fn history(
        &self,
        function: &str,
        limit: i32,
        page: Option<&str>,
    ) -> Result<HistoryPage> {
        let start = match page {
            None => None,
            Some(token) => {
                let (gsi1sk, id) = token
                    .rsplit_once('#')
                    .ok_or_else(|| Error::BadRequest(format!("invalid page token '{token}'")))?;
                Some(HashMap::from([
                    ("pk".to_string(), s(release_pk(id))),
                    ("sk".to_string(), s("REL")),
                    ("gsi1pk".to_string(), s(format!("FN#{function}"))),
                    ("gsi1sk".to_string(), s(format!("{gsi1sk}#{id}"))),
                ]))
            }
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(HISTORY_INDEX)
            .key_condition_expression("gsi1pk = :fn")
            .expression_attribute_values(":fn", s(format!("FN#{function}")))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 100))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(aws("Query"))?;
        let releases = out
            .items()
            .iter()
            .map(Self::parse_release)
            .collect::<Result<Vec<_>>>()?;
        let next = match out.last_evaluated_key() {
            Some(key) => Some(get_s(key, "gsi1sk")?.to_string()),
            None => None,
        };
        Ok(HistoryPage { releases, next })
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
