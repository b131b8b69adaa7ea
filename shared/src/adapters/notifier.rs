//! The notifier: publishes release events to SNS, once each.
//!
//! The release's own log is the outbox. A watermark item (`REL#<id>`, `NOTIFIED`) records how
//! many log entries were announced (`upto`). Each entry is claimed by a conditional update
//! with a short lease before it is published and confirmed after, so concurrent publishers (a
//! retried step, a duplicated alarm) announce it once. A publish that fails gives its claim
//! back and reports the error, so the next call to [`Notifier::announce`] sends it. While its
//! publish is under way the holder renews the claim every third of a lease, so a publish slower
//! than the lease (each SNS call may take up to 20 s) is never taken over and sent twice. A
//! publisher that dies holding a claim stops renewing it and loses it when the lease runs out;
//! whoever announces next waits that long at most, then sends the entry. Dying between the publish and its
//! confirmation is the one case where an entry is sent twice: SNS has no transaction to join,
//! and twice is better than never for an alert.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sns::types::MessageAttributeValue;

use crate::domain::notification::{notification, Notification};
use crate::domain::Release;
use crate::error::{AwsError, AwsErrorKind, Error, Result};

#[derive(Clone, Debug)]
pub struct Notifier {
    sns: aws_sdk_sns::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    release_topic: String,
    incident_topic: Option<String>,
    account: String,
    region: String,
    claim_lease: Duration,
}

/// How long a claim on an entry keeps others off it: far longer than one publish takes.
const CLAIM_LEASE: Duration = Duration::from_secs(5);
/// How often a publisher waiting on another's claim looks again.
const CLAIM_POLL: Duration = Duration::from_millis(50);

/// The watermark item as read.
struct Watermark {
    upto: usize,
    /// Someone's claim on entry `upto`, live until this epoch millisecond.
    claimed_until: Option<i64>,
}

/// The condition that the watermark stands at `:index` (an absent one stands at 0).
fn watermark_at(index: usize) -> &'static str {
    if index == 0 {
        "(attribute_not_exists(upto) OR upto = :index)"
    } else {
        "upto = :index"
    }
}

fn epoch_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Notifier {
    /// Account and region come from the release topic's ARN.
    pub fn new(
        sns: aws_sdk_sns::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        release_topic: impl Into<String>,
        incident_topic: Option<String>,
    ) -> Self {
        let release_topic = release_topic.into();
        let part = |i: usize| {
            release_topic
                .split(':')
                .nth(i)
                .unwrap_or_default()
                .to_string()
        };
        Notifier {
            region: part(3),
            account: part(4),
            sns,
            dynamodb,
            table: table.into(),
            release_topic,
            incident_topic,
            claim_lease: CLAIM_LEASE,
        }
    }

    /// A shorter lease, for tests that crash a publisher on purpose.
    pub fn with_claim_lease(mut self, lease: Duration) -> Self {
        self.claim_lease = lease;
        self
    }

    /// Publishes every log entry of `release` not yet announced. Returns how many were sent.
    pub async fn announce(&self, release: &Release) -> Result<usize> {
        let mut sent = 0;
        // Bounded: each pass either sends an entry, waits out a lease, or sees the watermark
        // move; a claim held longer than a few leases means something is wrong.
        let deadline = std::time::Instant::now() + self.claim_lease * 4;
        loop {
            let mark = self.watermark(&release.id).await?;
            let index = mark.upto;
            if index >= release.log.len() {
                return Ok(sent);
            }
            if let Some(until) = mark.claimed_until.filter(|until| *until > epoch_ms()) {
                // Another publisher holds the entry: let it finish, or let its lease run out.
                if std::time::Instant::now() > deadline {
                    return Err(Error::Aws(AwsError {
                        operation: "UpdateItem",
                        kind: AwsErrorKind::Transient,
                        code: None,
                        message: format!("notification claim on {}#{index} still held", release.id),
                    }));
                }
                let left = Duration::from_millis((until - epoch_ms()).max(0) as u64);
                tokio::time::sleep(left.min(CLAIM_POLL)).await;
                continue;
            }
            let Some(claim) = self.claim(&release.id, index, mark.claimed_until).await? else {
                continue;
            };
            if let Some(message) = notification(release, index, &self.account, &self.region) {
                let (published, claim) = self
                    .publish_holding(&release.id, index, claim, &message)
                    .await;
                if let Err(e) = published {
                    self.release_claim(&release.id, claim).await.ok();
                    return Err(e);
                }
                sent += 1;
            }
            self.confirm(&release.id, index).await?;
        }
    }

    fn key(release_id: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                "pk".to_string(),
                AttributeValue::S(format!("REL#{release_id}")),
            ),
            ("sk".to_string(), AttributeValue::S("NOTIFIED".into())),
        ])
    }

    async fn watermark(&self, release_id: &str) -> Result<Watermark> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(release_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("GetItem", e)))?;
        let number = |name: &str| {
            out.item
                .as_ref()
                .and_then(|i| i.get(name))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
        };
        Ok(Watermark {
            upto: number("upto").unwrap_or(0) as usize,
            claimed_until: number("claimed_until"),
        })
    }

    /// Claims entry `index` for one lease, if the watermark is there and the claim seen (none,
    /// or `expired`) is still the one in place. Returns the claim (its lease end) if taken.
    async fn claim(
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
        let until = epoch_ms() + self.claim_lease.as_millis() as i64;
        let mut update = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(release_id)))
            .update_expression("SET claimed_until = :until")
            .condition_expression(format!("{at_index} AND {free}"))
            .expression_attribute_values(":index", AttributeValue::N(index.to_string()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()));
        if let Some(expired) = expired {
            update = update
                .expression_attribute_values(":expired", AttributeValue::N(expired.to_string()));
        }
        Ok(Self::conditional(update.send().await)?.then_some(until))
    }

    /// Publishes `message` while keeping the claim on entry `index` alive. Returns the outcome
    /// and the claim as it stands at the end (its lease end moves with every renewal).
    async fn publish_holding(
        &self,
        release_id: &str,
        index: usize,
        mut claim: i64,
        message: &Notification,
    ) -> (Result<()>, i64) {
        let publish = self.publish(message);
        tokio::pin!(publish);
        loop {
            tokio::select! {
                outcome = &mut publish => return (outcome, claim),
                _ = tokio::time::sleep(self.claim_lease / 3) => {
                    match self.renew(release_id, index, claim).await {
                        Ok(Some(renewed)) => claim = renewed,
                        // Only an expired claim can be lost; the publish goes on, and at worst
                        // this entry goes out twice, as after a crash.
                        Ok(None) => tracing::warn!(release = release_id, index, "notification claim lost during a slow publish"),
                        Err(e) => tracing::warn!(release = release_id, index, error = %e, "could not renew the notification claim"),
                    }
                }
            }
        }
    }

    /// Extends our claim `claim` on entry `index` by one lease, if it is still ours.
    async fn renew(&self, release_id: &str, index: usize, claim: i64) -> Result<Option<i64>> {
        let until = epoch_ms() + self.claim_lease.as_millis() as i64;
        let update = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(release_id)))
            .update_expression("SET claimed_until = :until")
            .condition_expression(format!(
                "{} AND claimed_until = :claim",
                watermark_at(index)
            ))
            .expression_attribute_values(":index", AttributeValue::N(index.to_string()))
            .expression_attribute_values(":claim", AttributeValue::N(claim.to_string()))
            .expression_attribute_values(":until", AttributeValue::N(until.to_string()));
        Ok(Self::conditional(update.send().await)?.then_some(until))
    }

    /// Entry `index` was sent: move the watermark past it and drop the claim.
    async fn confirm(&self, release_id: &str, index: usize) -> Result<bool> {
        let update = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(release_id)))
            .update_expression("SET upto = :next REMOVE claimed_until")
            .condition_expression(watermark_at(index))
            .expression_attribute_values(":index", AttributeValue::N(index.to_string()))
            .expression_attribute_values(":next", AttributeValue::N((index + 1).to_string()));
        Self::conditional(update.send().await)
    }

    /// The entry claimed could not be sent: drop the claim (if still ours) so the next
    /// announcer sends it.
    async fn release_claim(&self, release_id: &str, claim: i64) -> Result<bool> {
        let update = self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(release_id)))
            .update_expression("REMOVE claimed_until")
            .condition_expression("claimed_until = :claim")
            .expression_attribute_values(":claim", AttributeValue::N(claim.to_string()));
        Self::conditional(update.send().await)
    }

    /// A conditional write's outcome: done, or lost to someone else's write.
    fn conditional<O, E>(
        result: std::result::Result<
            O,
            aws_smithy_runtime_api::client::result::SdkError<
                E,
                aws_smithy_runtime_api::client::orchestrator::HttpResponse,
            >,
        >,
    ) -> Result<bool>
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        match result {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = AwsError::from_sdk("UpdateItem", e);
                if err.kind == AwsErrorKind::Conflict {
                    Ok(false)
                } else {
                    Err(Error::Aws(err))
                }
            }
        }
    }

    async fn publish(&self, message: &Notification) -> Result<()> {
        let attributes: HashMap<String, MessageAttributeValue> = message
            .attributes
            .iter()
            .map(|(k, v)| {
                let value = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .expect("data type is set");
                (k.to_string(), value)
            })
            .collect();
        self.sns
            .publish()
            .topic_arn(&self.release_topic)
            .subject(&message.subject)
            .message(message.body.to_string())
            .set_message_attributes(Some(attributes.clone()))
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("Publish", e)))?;
        if let (Some(incident), Some(topic)) = (&message.incident, &self.incident_topic) {
            self.sns
                .publish()
                .topic_arn(topic)
                .subject(&incident.subject)
                .message(incident.body.to_string())
                .set_message_attributes(Some(attributes))
                .send()
                .await
                .map_err(|e| Error::Aws(AwsError::from_sdk("Publish", e)))?;
        }
        Ok(())
    }
}
