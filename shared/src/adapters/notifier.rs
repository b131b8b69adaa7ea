//! The notifier: publishes release events to SNS, once each.
//!
//! The release's own log is the outbox. A watermark item (`REL#<id>`, `NOTIFIED`) records how
//! many log entries were announced; each entry is claimed by a conditional update before it is
//! published, so concurrent publishers (a retried step, a duplicated alarm) announce it once.
//! A publish that fails gives its claim back and reports the error, so the next call to
//! [`Notifier::announce`] for that release sends it.

use std::collections::HashMap;

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
        }
    }

    /// Publishes every log entry of `release` not yet announced. Returns how many were sent.
    pub async fn announce(&self, release: &Release) -> Result<usize> {
        let mut next = self.watermark(&release.id).await?;
        let mut sent = 0;
        while next < release.log.len() {
            if !self.claim(&release.id, next).await? {
                // Another publisher is on it.
                return Ok(sent);
            }
            if let Some(message) = notification(release, next, &self.account, &self.region) {
                if let Err(e) = self.publish(&message).await {
                    self.unclaim(&release.id, next).await.ok();
                    return Err(e);
                }
                sent += 1;
            }
            next += 1;
        }
        Ok(sent)
    }

    async fn watermark(&self, release_id: &str) -> Result<usize> {
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("REL#{release_id}")))
            .key("sk", AttributeValue::S("NOTIFIED".into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("GetItem", e)))?;
        Ok(out
            .item
            .and_then(|i| {
                i.get("upto")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0))
    }

    /// Moves the watermark from `index` to `index + 1`, if nobody else did.
    async fn claim(&self, release_id: &str, index: usize) -> Result<bool> {
        self.move_watermark(release_id, index, index + 1).await
    }

    async fn unclaim(&self, release_id: &str, index: usize) -> Result<bool> {
        self.move_watermark(release_id, index + 1, index).await
    }

    async fn move_watermark(&self, release_id: &str, from: usize, to: usize) -> Result<bool> {
        let condition = if from == 0 {
            "attribute_not_exists(upto) OR upto = :from"
        } else {
            "upto = :from"
        };
        match self
            .dynamodb
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("REL#{release_id}")))
            .key("sk", AttributeValue::S("NOTIFIED".into()))
            .update_expression("SET upto = :to")
            .condition_expression(condition)
            .expression_attribute_values(":from", AttributeValue::N(from.to_string()))
            .expression_attribute_values(":to", AttributeValue::N(to.to_string()))
            .send()
            .await
        {
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
