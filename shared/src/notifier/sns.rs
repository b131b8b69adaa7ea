//! The notifier over SNS: publishes release events, once each.
//!
//! The release's own log is the outbox. A watermark item (`REL#<id>`, `NOTIFIED`, kept by the
//! store's [`Outbox`]) records how many log entries were announced (`upto`). Each entry is
//! claimed by a conditional update with a short lease before it is published and confirmed
//! after, so concurrent publishers (a retried step, a duplicated alarm) announce it once. A publish that fails gives its claim
//! back and reports the error, so the next call to [`SnsNotifier::announce`] sends it. While its
//! publish is under way the holder renews the claim every third of a lease, so a publish slower
//! than the lease (each SNS call may take up to 20 s) is never taken over and sent twice. A
//! publisher that dies holding a claim stops renewing it and loses it when the lease runs out;
//! whoever announces next waits that long at most, then sends the entry. Dying between the
//! publish and its confirmation is the one case where an entry is sent twice: SNS has no
//! transaction to join, and twice is better than never for an alert.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_sns::types::MessageAttributeValue;

use super::format::{notification, Notification};
use crate::domain::Release;
use crate::error::{AwsError, AwsErrorKind, Error, Result};
use crate::ports::Announcer;
use crate::store::Outbox;

#[derive(Clone, Debug)]
pub struct SnsNotifier {
    sns: aws_sdk_sns::Client,
    /// Which log entries were announced, in the release table.
    outbox: Outbox,
    release_topic: String,
    incident_topic: Option<String>,
    account: String,
    region: String,
}

/// How often a publisher waiting on another's claim looks again.
const CLAIM_POLL: Duration = Duration::from_millis(50);

impl SnsNotifier {
    /// Account and region come from the release topic's ARN.
    pub fn new(
        sns: aws_sdk_sns::Client,
        dynamodb: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        release_topic: impl Into<String>,
        incident_topic: Option<String>,
    ) -> Self {
        Self::with_outbox(
            sns,
            Outbox::new(dynamodb, table),
            release_topic,
            incident_topic,
        )
    }

    /// On an outbox of the release store's ([`crate::store::DynamoStore::outbox`]): the
    /// handlers' wiring, one clock for both.
    pub fn with_outbox(
        sns: aws_sdk_sns::Client,
        outbox: Outbox,
        release_topic: impl Into<String>,
        incident_topic: Option<String>,
    ) -> Self {
        let release_topic = release_topic.into();
        let topic = crate::domain::arn::Arn::parse(&release_topic);
        let region = topic.map(|t| t.region.to_string()).unwrap_or_default();
        let account = topic.map(|t| t.account.to_string()).unwrap_or_default();
        SnsNotifier {
            region,
            account,
            sns,
            outbox,
            release_topic,
            incident_topic,
        }
    }

    /// A shorter lease, for tests that crash a publisher on purpose.
    pub fn with_claim_lease(mut self, lease: Duration) -> Self {
        self.outbox = self.outbox.with_lease(lease);
        self
    }

    /// Publishes every log entry of `release` not yet announced. Returns how many were sent.
    pub async fn announce(&self, release: &Release) -> Result<usize> {
        let mut sent = 0;
        // Bounded: each pass either sends an entry, waits out a lease, or sees the watermark
        // move; a claim held longer than a few leases means something is wrong.
        let deadline = std::time::Instant::now() + self.outbox.lease() * 4;
        loop {
            let mark = self.outbox.watermark(&release.id).await?;
            let index = mark.upto;
            if index >= release.log.len() {
                return Ok(sent);
            }
            if let Some(until) = mark
                .claimed_until
                .filter(|until| *until > self.outbox.now_ms())
            {
                // Another publisher holds the entry: let it finish, or let its lease run out.
                if std::time::Instant::now() > deadline {
                    return Err(Error::Aws(AwsError {
                        operation: "UpdateItem",
                        kind: AwsErrorKind::Transient,
                        code: None,
                        message: format!("notification claim on {}#{index} still held", release.id),
                    }));
                }
                let left = Duration::from_millis((until - self.outbox.now_ms()).max(0) as u64);
                tokio::time::sleep(left.min(CLAIM_POLL)).await;
                continue;
            }
            let Some(message) = notification(release, index, &self.account, &self.region) else {
                // A run of entries nobody is told about (health checks, analyses): past all of
                // them in one write. Nothing is sent, so no claim is needed; a racing
                // announcer's write simply finds the watermark moved.
                let next = (index..release.log.len())
                    .find(|&i| notification(release, i, &self.account, &self.region).is_some())
                    .unwrap_or(release.log.len());
                self.outbox.confirm(&release.id, index, next).await?;
                continue;
            };
            let Some(claim) = self
                .outbox
                .claim(&release.id, index, mark.claimed_until)
                .await?
            else {
                continue;
            };
            let (published, claim) = self
                .publish_holding(&release.id, index, claim, &message)
                .await;
            if let Err(e) = published {
                self.outbox.release_claim(&release.id, claim).await.ok();
                return Err(e);
            }
            sent += 1;
            self.outbox.confirm(&release.id, index, index + 1).await?;
        }
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
                _ = tokio::time::sleep(self.outbox.lease() / 3) => {
                    match self.outbox.renew(release_id, index, claim).await {
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

    async fn publish(&self, message: &Notification) -> Result<()> {
        let attributes: HashMap<String, MessageAttributeValue> = message
            .attributes
            .iter()
            .map(|(k, v)| {
                let data_type = if *k == super::format::FUNCTIONS_ATTRIBUTE {
                    "String.Array"
                } else {
                    "String"
                };
                let value = MessageAttributeValue::builder()
                    .data_type(data_type)
                    .string_value(v)
                    .build()
                    .expect("data type is set");
                (k.to_string(), value)
            })
            .collect();
        // One message a protocol: mail gets plain text, every other subscriber (Chatbot's and
        // PagerDuty's HTTPS endpoints, SQS, Lambda) the JSON body as before.
        let per_protocol = serde_json::json!({
            "default": message.body.to_string(),
            "email": message.text,
        });
        self.sns
            .publish()
            .topic_arn(&self.release_topic)
            .subject(&message.subject)
            .message_structure("json")
            .message(per_protocol.to_string())
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

impl Announcer for SnsNotifier {
    fn announce(&self, release: &Release) -> impl Future<Output = Result<usize>> + Send {
        SnsNotifier::announce(self, release)
    }
}
