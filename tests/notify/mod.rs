//! Notifications against moto: SNS topics with SQS queues subscribed (raw and enveloped
//! delivery, one with a filter policy), read back and checked.

use shiftback::ports::AliasRouter as _;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftback::adapters::{CloudWatchHealth, LambdaRouter, SnsNotifier};
use shiftback::alarm::AlarmResponder;
use shiftback::service::{Next, ReleaseService, StartRequest, StepInput};
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, emulator, function_with_versions, notifier_on,
    release_request, release_store, subscribed_queue, topic, Emulator,
};

struct Queues {
    sqs: aws_sdk_sqs::Client,
    urls: HashMap<&'static str, String>,
}

impl Queues {
    /// Every message now in the queue (bodies parsed as JSON).
    async fn drain(&self, name: &str) -> Vec<Value> {
        let mut bodies = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.urls[name])
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap();
            let messages = out.messages();
            if messages.is_empty() {
                return bodies;
            }
            for m in messages {
                bodies.push(serde_json::from_str(m.body().unwrap()).unwrap());
                self.sqs
                    .delete_message()
                    .queue_url(&self.urls[name])
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

async fn topics_and_queues(env: &Emulator) -> (String, String, Queues) {
    let release_topic = topic(env, "releases").await;
    let incident_topic = topic(env, "incidents").await;
    let oncall = json!({"event_type": ["rolled_back", "failed"], "alias": ["live"]});
    let urls = HashMap::from([
        (
            "raw",
            subscribed_queue(env, &release_topic, true, None).await,
        ),
        (
            "enveloped",
            subscribed_queue(env, &release_topic, false, None).await,
        ),
        (
            "oncall",
            subscribed_queue(env, &release_topic, true, Some(oncall)).await,
        ),
        (
            "pagerduty",
            subscribed_queue(env, &incident_topic, false, None).await,
        ),
    ]);
    let sqs = aws_sdk_sqs::Client::new(&env.config);
    (release_topic, incident_topic, Queues { sqs, urls })
}

async fn alarm(env: &Emulator) -> String {
    alarm_in_state(env, StateValue::Ok).await
}

fn request(function: &str, alarm: &str, target: &str, strategy: &str) -> StartRequest {
    StartRequest {
        started_by: "alice".into(),
        ..release_request(function, alarm, target, strategy)
    }
}

fn event_types(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            m["metadata"]["eventType"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn every_subscriber_gets_what_it_asked_for_once() {
    let env = emulator().await;
    let (release_topic, incident_topic, queues) = topics_and_queues(&env).await;
    let function = function_with_versions(&env, 3, "live").await;
    let guard = alarm(&env).await;
    let store = release_store(&env).await;
    let notifier = notifier_on(&env, &store, &release_topic, Some(incident_topic));
    let router = LambdaRouter::new(env.lambda.clone());
    let service = ReleaseService::new(
        router.clone(),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    )
    .with_notifier(notifier.clone());
    let responder =
        AlarmResponder::new(router, store.clone(), None).with_notifier(notifier.clone());

    // 1 -> 2 rolled back by the alarm.
    let first = service
        .start(request(&function, &guard, "2", "canary:10:10m"))
        .await
        .unwrap();
    // An alarm delivered twice notifies once.
    for _ in 0..2 {
        responder
            .handle(
                alarm_state_change(&guard, "ALARM", "123456789012"),
                Some("123456789012"),
            )
            .await
            .unwrap();
    }
    // 1 -> 3 succeeds.
    env.cloudwatch
        .set_alarm_state()
        .alarm_name(&guard)
        .state_value(StateValue::Ok)
        .state_reason("recovered")
        .send()
        .await
        .unwrap();
    let mut step = service
        .start(request(&function, &guard, "3", "steps:50@0s"))
        .await
        .unwrap();
    while step.next == Next::Wait {
        step = service
            .advance(StepInput::of(&step.release_id))
            .await
            .unwrap();
    }
    let done = service
        .promote(StepInput::of(&step.release_id))
        .await
        .unwrap();
    assert_eq!(done.phase, "succeeded");
    // A retried step re-announces nothing.
    service
        .promote(StepInput::of(&step.release_id))
        .await
        .unwrap();

    let raw = queues.drain("raw").await;
    assert_eq!(
        event_types(&raw),
        [
            "started",
            "step_applied",
            "rolled_back",
            "started",
            "step_applied",
            "promoted"
        ]
    );
    let rollback = &raw[2];
    assert_eq!(rollback["version"], "1.0");
    assert_eq!(rollback["source"], "custom");
    let title = rollback["content"]["title"].as_str().unwrap();
    assert!(
        title.contains(&function) && title.contains("v1") && title.contains("ROLLED BACK"),
        "{title}"
    );
    assert!(rollback["content"]["description"]
        .as_str()
        .unwrap()
        .contains("Threshold Crossed"));
    assert!(!rollback["content"]["nextSteps"]
        .as_array()
        .unwrap()
        .is_empty());
    let context = &rollback["metadata"]["additionalContext"];
    assert_eq!(context["release_id"], first.release_id.as_str());
    assert_eq!(context["alarm"], guard.as_str());
    assert_eq!(
        (
            context["stable_version"].as_str(),
            context["target_version"].as_str()
        ),
        (Some("1"), Some("2"))
    );
    assert_eq!(context["schema_version"], "1");

    let enveloped = queues.drain("enveloped").await;
    assert_eq!(enveloped.len(), 6);
    let attributes = &enveloped[2]["MessageAttributes"];
    assert_eq!(attributes["event_type"]["Value"], "rolled_back");
    assert_eq!(attributes["severity"]["Value"], "critical");
    assert_eq!(attributes["function"]["Value"], function.as_str());
    assert_eq!(attributes["outcome"]["Value"], "rolled_back");
    let inner: Value = serde_json::from_str(enveloped[2]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(inner, raw[2]);

    let oncall = queues.drain("oncall").await;
    assert_eq!(event_types(&oncall), ["rolled_back"]);

    let pagerduty = queues.drain("pagerduty").await;
    assert_eq!(pagerduty.len(), 2, "{pagerduty:?}");
    assert!(pagerduty[0]["Subject"]
        .as_str()
        .unwrap()
        .starts_with("ALARM: "));
    let alarm_body: Value =
        serde_json::from_str(pagerduty[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(alarm_body["NewStateValue"], "ALARM");
    assert!(pagerduty[1]["Subject"]
        .as_str()
        .unwrap()
        .starts_with("OK: "));
    let ok_body: Value = serde_json::from_str(pagerduty[1]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(ok_body["NewStateValue"], "OK");
    assert_eq!(
        ok_body["AlarmName"], alarm_body["AlarmName"],
        "the OK resolves the same incident"
    );
}

#[tokio::test]
async fn a_failed_publish_never_blocks_the_rollback_and_is_sent_later() {
    let env = emulator().await;
    let (release_topic, _incidents, queues) = topics_and_queues(&env).await;
    let function = function_with_versions(&env, 2, "live").await;
    let guard = alarm(&env).await;
    let store = release_store(&env).await;
    let broken = notifier_on(
        &env,
        &store,
        "arn:aws:sns:us-east-1:123456789012:no-such-topic",
        None,
    );
    let router = LambdaRouter::new(env.lambda.clone());
    let service = ReleaseService::new(
        router.clone(),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );
    let responder = AlarmResponder::new(router.clone(), store.clone(), None).with_notifier(broken);
    let started = service
        .start(request(&function, &guard, "2", "canary:10:10m"))
        .await
        .unwrap();

    let outcome = responder
        .handle(
            alarm_state_change(&guard, "ALARM", "123456789012"),
            Some("123456789012"),
        )
        .await
        .unwrap();
    assert!(
        outcome[0].reverted[0].recorded,
        "the revert and its record came first"
    );
    assert_eq!(
        router
            .read(&function, "live")
            .await
            .unwrap()
            .routing
            .to_string(),
        "version 1"
    );

    // Once the topic is reachable, everything not yet announced goes out, in order.
    let working = notifier_on(&env, &store, &release_topic, None);
    let release = store.load(&started.release_id).await.unwrap().release;
    assert_eq!(working.announce(&release).await.unwrap(), 3);
    assert_eq!(
        working.announce(&release).await.unwrap(),
        0,
        "and only once"
    );
    assert_eq!(
        event_types(&queues.drain("raw").await),
        ["started", "step_applied", "rolled_back"]
    );
}

/// A loopback proxy to the emulator that holds every chunk a client sends for `delay` before
/// passing it on: an SNS whose every publish takes at least that long.
async fn slow_proxy(delay: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let endpoint = std::env::var("SHIFTBACK_TEST_ENDPOINT").expect("started by with-moto");
    let upstream = endpoint.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let outbound = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let (mut client_read, mut client_write) = inbound.into_split();
                let (mut server_read, mut server_write) = outbound.into_split();
                let requests = async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = client_read.read(&mut buffer).await {
                        if n == 0 {
                            break;
                        }
                        tokio::time::sleep(delay).await;
                        if server_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let answers = async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                };
                tokio::join!(requests, answers);
            });
        }
    });
    format!("http://{address}")
}

mod lease;
