//! SNS topics and the SQS queues subscribed to them, as a team's inbox.

use crate::{unique, Emulator};

/// An SNS topic with a fresh name; returns its ARN.
pub async fn topic(env: &Emulator, prefix: &str) -> String {
    aws_sdk_sns::Client::new(&env.config)
        .create_topic()
        .name(unique(prefix))
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .expect("topic arn")
}

/// A fresh SQS queue: its URL and its ARN.
pub async fn queue(env: &Emulator) -> (String, String) {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = aws_sdk_sqs::Client::new(&env.config);
    let url = sqs
        .create_queue()
        .queue_name(unique("q"))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .expect("attributes")[&QueueAttributeName::QueueArn]
        .clone();
    (url, arn)
}

/// A fresh SQS queue subscribed to `topic` (raw or enveloped delivery, optionally filtered);
/// returns its URL.
pub async fn subscribed_queue(
    env: &Emulator,
    topic: &str,
    raw: bool,
    filter: Option<serde_json::Value>,
) -> String {
    let (url, arn) = queue(env).await;
    let mut subscribe = aws_sdk_sns::Client::new(&env.config)
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", raw.to_string());
    if let Some(filter) = filter {
        subscribe = subscribe.attributes("FilterPolicy", filter.to_string());
    }
    subscribe.send().await.expect("subscribe");
    url
}

/// Every message waiting in `queue` (raw delivery), removed from it.
pub async fn drain_queue(env: &Emulator, queue: &str) -> Vec<serde_json::Value> {
    let sqs = aws_sdk_sqs::Client::new(&env.config);
    let mut bodies = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive");
        if out.messages().is_empty() {
            return bodies;
        }
        for m in out.messages() {
            bodies.push(serde_json::from_str(m.body().unwrap_or_default()).expect("json body"));
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}
