//! The notifier's outbox mark: how many of a release's log entries were announced, and who
//! holds the claim on the next one. The release's own log is the outbox; this item
//! (`REL#<id>`, `NOTIFIED`) is the watermark over it, moved only by conditional updates, so
//! concurrent publishers (a retried step, a duplicated alarm) announce each entry once.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::schema::{from_item, release_pk, OutboxMarkItem};
use super::RecordClock;
use crate::error::{AwsError, Error, Result};

/// How long a claim on an entry keeps others off it: far longer than one publish takes.
pub const CLAIM_LEASE: Duration = Duration::from_secs(5);

/// The watermark item as read.
pub struct Watermark {
    pub upto: usize,
    /// Someone's claim on entry `upto`, live until this epoch millisecond.
    pub claimed_until: Option<i64>,
}

/// The condition that the watermark stands at `:index` (an absent one stands at 0).
fn watermark_at(index: usize) -> &'static str {
    if index == 0 {
        "(attribute_not_exists(upto) OR upto = :index)"
    } else {
        "upto = :index"
    }
}

#[derive(Clone, Debug)]
pub struct Outbox {
    client: Client,
    table: String,
    lease: Duration,
    /// Claims are written and judged on the table's clock: a laptop's CLI and the handlers
    /// announce into the same outbox.
    clock: RecordClock,
}

impl Outbox {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        let (client, clock) = RecordClock::attach(&client, chrono::Utc::now);
        Self::on(client, table.into(), clock)
    }

    /// On a client that already reads the table's time into `clock` (the store's).
    pub(super) fn on(client: Client, table: String, clock: RecordClock) -> Self {
        Outbox {
            client,
            table,
            lease: CLAIM_LEASE,
            clock,
        }
    }

    /// The table's time, in epoch milliseconds, on which claims expire.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// A shorter lease, for tests that crash a publisher on purpose.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// An update of `release_id`'s mark.
    fn update(
        &self,
        release_id: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(release_id)))
    }

    fn key(release_id: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_string(), AttributeValue::S(release_pk(release_id))),
            ("sk".to_string(), AttributeValue::S("NOTIFIED".into())),
        ])
    }

    pub async fn watermark(&self, release_id: &str) -> Result<Watermark> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(release_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("GetItem", e)))?;
        let mark: OutboxMarkItem = match out.item {
            Some(item) => from_item(item, "outbox mark")?,
            None => OutboxMarkItem::default(),
        };
        Ok(Watermark {
            upto: mark.upto,
            claimed_until: mark.claimed_until,
        })
    }

    /// Claims entry `index` for one lease, if the watermark is there and the claim seen (none,
    /// or `expired`) is still the one in place. Returns the claim (its lease end) if taken.
    pub async fn claim(
        &self,
        release_id: &str,
        index: usize,
        expired: Option<i64>,
    ) -> Result<Option<i64>> {
        let at_index = watermark_at(index);
        let free = match expired {
            None => "attribute_not_exists(claimed_until)",
            Some(_) => "claimed_until = :expired",
        };
        let until = self.now_ms() + self.lease.as_millis() as i64;
        let mut update = self
            .update(release_id)
            .update_expression("SET claimed_until = :until")
            .condition_expression(format!("{at_index} AND {free}"))
            .expression_attribute_values(":index", AttributeValue::N(index.to_string()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()));
        if let Some(expired) = expired {
            update = update
                .expression_attribute_values(":expired", AttributeValue::N(expired.to_string()));
        }
        Ok(super::applied("UpdateItem", update.send().await)?.then_some(until))
    }

    /// Extends our claim `claim` on entry `index` by one lease, if it is still ours.
    pub async fn renew(&self, release_id: &str, index: usize, claim: i64) -> Result<Option<i64>> {
        let until = self.now_ms() + self.lease.as_millis() as i64;
        let update = self
            .update(release_id)
            .update_expression("SET claimed_until = :until")
            .condition_expression(format!(
                "{} AND claimed_until = :claim",
                watermark_at(index)
            ))
            .expression_attribute_values(":index", AttributeValue::N(index.to_string()))
            .expression_attribute_values(":claim", AttributeValue::N(claim.to_string()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()));
        Ok(super::applied("UpdateItem", update.send().await)?.then_some(until))
    }

    /// Entries `index` up to `next` (exclusive) are done (sent, or never to be sent): move the
    /// watermark to `next` and drop the claim.
    pub async fn confirm(&self, release_id: &str, index: usize, next: usize) -> Result<bool> {
        let update = self
            .update(release_id)
            .update_expression("SET upto = :next REMOVE claimed_until")
            .condition_expression(watermark_at(index))
            .expression_attribute_values(":index", AttributeValue::N(index.to_string()))
            .expression_attribute_values(":next", AttributeValue::N(next.to_string()));
        super::applied("UpdateItem", update.send().await)
    }

    /// The entry claimed could not be sent: drop the claim (if still ours) so the next
    /// announcer sends it.
    pub async fn release_claim(&self, release_id: &str, claim: i64) -> Result<bool> {
        let update = self
            .update(release_id)
            .update_expression("REMOVE claimed_until")
            .condition_expression("claimed_until = :claim")
            .expression_attribute_values(":claim", AttributeValue::N(claim.to_string()));
        super::applied("UpdateItem", update.send().await)
    }
}
