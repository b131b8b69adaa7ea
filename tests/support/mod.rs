//! Shared setup for the integration tests: SDK clients pointed at the moto server that
//! `scripts/with-moto` started, and helpers that create real resources in it.

mod iam;

pub use iam::{iam_requests, IamRequest};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/shiftback-test-role";

pub struct Emulator {
    pub config: aws_config::SdkConfig,
    pub lambda: aws_sdk_lambda::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

/// Clients for the emulator. Fails loudly when the tests were not started through
/// `scripts/with-moto` (as `make test` does), rather than reaching for a real account.
pub async fn emulator() -> Emulator {
    let endpoint = std::env::var("SHIFTBACK_TEST_ENDPOINT").expect(
        "SHIFTBACK_TEST_ENDPOINT is not set: run the integration tests with `make test` \
         (or scripts/with-moto cargo test), which starts the local emulator",
    );
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    Emulator {
        lambda: aws_sdk_lambda::Client::new(&config),
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        config,
    }
}

/// A name no other test uses, so tests share one emulator without seeing each other.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// A valid zip archive holding one file, built by hand (stored, not deflated).
pub fn zip_with(name: &str, body: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let crc = crc32(body);
    let (name_len, size) = (name.len() as u16, body.len() as u32);
    let mut out = Vec::new();
    let header = |out: &mut Vec<u8>, central: bool| {
        out.extend_from_slice(if central {
            b"PK\x01\x02"
        } else {
            b"PK\x03\x04"
        });
        if central {
            out.extend_from_slice(&20u16.to_le_bytes());
        }
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // flags, method (stored)
        out.extend_from_slice(&[0; 4]); // time, date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        if central {
            out.extend_from_slice(&[0; 12]); // comment len, disk, attrs, external attrs
            out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
        }
        out.extend_from_slice(name.as_bytes());
    };
    header(&mut out, false);
    out.extend_from_slice(body);
    let central_start = out.len() as u32;
    header(&mut out, true);
    let central_len = out.len() as u32 - central_start;
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Creates a function with `versions` published versions (1..=versions) and an alias on
/// version 1. Returns the function name.
pub async fn function_with_versions(env: &Emulator, versions: u32, alias: &str) -> String {
    let name = unique("fn");
    env.lambda
        .create_function()
        .function_name(&name)
        .runtime(Runtime::Providedal2023)
        .role(ROLE_ARN)
        .handler("bootstrap")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip_with("bootstrap", b"#!/bin/sh\n")))
                .build(),
        )
        .send()
        .await
        .expect("create function");
    for v in 1..=versions {
        // moto publishes a new version only after a change, as Lambda does.
        env.lambda
            .update_function_configuration()
            .function_name(&name)
            .description(format!("build {v}"))
            .send()
            .await
            .expect("update function");
        let published = env
            .lambda
            .publish_version()
            .function_name(&name)
            .send()
            .await
            .expect("publish version");
        assert_eq!(published.version(), Some(v.to_string().as_str()));
    }
    env.lambda
        .create_alias()
        .function_name(&name)
        .name(alias)
        .function_version("1")
        .send()
        .await
        .expect("create alias");
    name
}

/// A fresh release table with shiftback's schema.
pub async fn release_store(env: &Emulator) -> shiftback::adapters::ReleaseStore {
    let store = shiftback::adapters::ReleaseStore::new(env.dynamodb.clone(), unique("releases"));
    store.create_table().await.expect("create table");
    store
}

/// One AWS call as the SDK made it.
#[derive(Debug, Clone)]
pub struct Call {
    /// The SDK's service name (`Lambda`, `DynamoDB`, `SNS`, ...).
    pub service: String,
    pub operation: String,
    /// What IAM authorizes for this call (see [`iam_requests`]).
    pub iam: Vec<IamRequest>,
    pub started: std::time::Instant,
    pub finished: Option<std::time::Instant>,
    /// For DynamoDB writes: the approximate size in bytes of each item written.
    pub written: Vec<usize>,
}

/// DynamoDB's item size, approximately: attribute names plus values.
fn item_size(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue;
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len() / 2 + 1,
                    _ => 8,
                }
        })
        .sum()
}

/// The items a DynamoDB write request writes, by approximate size (keys only for deletes).
fn written_items(
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Vec<usize> {
    use aws_sdk_dynamodb::operation::{
        put_item::PutItemInput, transact_write_items::TransactWriteItemsInput,
        update_item::UpdateItemInput,
    };
    if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
        return t
            .transact_items()
            .iter()
            .map(|w| {
                if let Some(put) = w.put() {
                    item_size(put.item())
                } else if let Some(delete) = w.delete() {
                    item_size(delete.key())
                } else if let Some(update) = w.update() {
                    item_size(update.key())
                } else {
                    1
                }
            })
            .collect();
    }
    if let Some(put) = input.downcast_ref::<PutItemInput>() {
        return vec![put.item().map(item_size).unwrap_or(1)];
    }
    if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
        return vec![update.key().map(item_size).unwrap_or(1)];
    }
    Vec::new()
}

/// Records every call the SDK clients it is attached to make, in order.
#[derive(Debug, Clone, Default)]
pub struct CallLog(std::sync::Arc<std::sync::Mutex<Vec<Call>>>);

impl CallLog {
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }

    pub fn operations(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.operation).collect()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_serialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let (service, operation) = service_and_operation(cfg);
        self.0.lock().unwrap().push(Call {
            iam: iam_requests(&service, &operation, context.input()),
            service,
            operation,
            started: std::time::Instant::now(),
            finished: None,
            written: written_items(context.input()),
        });
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let operation = operation_name(cfg);
        let mut calls = self.0.lock().unwrap();
        if let Some(call) = calls
            .iter_mut()
            .rev()
            .find(|c| c.operation == operation && c.finished.is_none())
        {
            call.finished = Some(std::time::Instant::now());
        }
        Ok(())
    }
}

/// The clients shiftback's handlers use, as the handlers build them.
pub use shiftback::runtime::HandlerClients as Clients;

impl Emulator {
    /// Clients that pass every call through `interceptor` (a [`CallLog`], a [`Crash`]).
    pub fn clients_with<I>(&self, interceptor: &I) -> Clients
    where
        I: aws_smithy_runtime_api::client::interceptors::Intercept + Clone + 'static,
    {
        Clients {
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&self.config)
                    .interceptor(interceptor.clone())
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&self.config)
                    .interceptor(interceptor.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(&self.config)
                    .interceptor(interceptor.clone())
                    .build(),
            ),
            sns: aws_sdk_sns::Client::from_conf(
                aws_sdk_sns::config::Builder::from(&self.config)
                    .interceptor(interceptor.clone())
                    .build(),
            ),
            sfn: aws_sdk_sfn::Client::from_conf(
                aws_sdk_sfn::config::Builder::from(&self.config)
                    .interceptor(interceptor.clone())
                    .build(),
            ),
        }
    }
}

/// A metric alarm with a fresh name, put in `state`. Returns its name.
pub async fn alarm_in_state(
    env: &Emulator,
    state: aws_sdk_cloudwatch::types::StateValue,
) -> String {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    let name = unique("errors");
    env.cloudwatch
        .put_metric_alarm()
        .alarm_name(&name)
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .expect("put alarm");
    set_alarm_state(env, &name, state, "set by the test").await;
    name
}

pub async fn set_alarm_state(
    env: &Emulator,
    name: &str,
    state: aws_sdk_cloudwatch::types::StateValue,
    reason: &str,
) {
    env.cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason(reason)
        .send()
        .await
        .expect("set alarm state");
}

/// A release request on alias `live` with the stable version read from the alias, a fresh
/// release id, and one guarding alarm.
pub fn release_request(
    function: &str,
    alarm: &str,
    target: &str,
    strategy: &str,
) -> shiftback::service::StartRequest {
    shiftback::service::StartRequest {
        release_id: Some(unique("r")),
        function: function.to_string(),
        alias: "live".into(),
        stable_version: None,
        target_version: target.to_string(),
        strategy: strategy.to_string(),
        alarms: vec![alarm.to_string()],
        alarm_overrides: vec![],
        bake_after_secs: 0,
        started_by: "ci".into(),
        kind: Default::default(),
    }
}

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

/// A fresh SQS queue subscribed to `topic` (raw or enveloped delivery, optionally filtered);
/// returns its URL.
pub async fn subscribed_queue(
    env: &Emulator,
    topic: &str,
    raw: bool,
    filter: Option<serde_json::Value>,
) -> String {
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

/// Simulates a handler's process dying right after its `n`-th state-changing AWS call took
/// effect: that call's answer is lost, and no later call leaves the process.
#[derive(Debug, Clone, Default)]
pub struct Crash(std::sync::Arc<std::sync::Mutex<CrashState>>);

#[derive(Debug, Default)]
struct CrashState {
    after_write: Option<usize>,
    writes: usize,
    crashed_after: Option<String>,
}

/// The calls that change state somewhere.
const WRITES: &[&str] = &[
    "UpdateAlias",
    "TransactWriteItems",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Publish",
    "StartExecution",
    "StopExecution",
];

impl Crash {
    /// Dies after the `n`-th write from now on (1-based).
    pub fn arm(&self, n: usize) {
        *self.0.lock().unwrap() = CrashState {
            after_write: Some(n),
            ..CrashState::default()
        };
    }

    /// A new process: every call goes through again.
    pub fn disarm(&self) {
        *self.0.lock().unwrap() = CrashState::default();
    }

    /// The write the process died after, if it did.
    pub fn crashed_after(&self) -> Option<String> {
        self.0.lock().unwrap().crashed_after.clone()
    }
}

fn operation_name(cfg: &aws_smithy_types::config_bag::ConfigBag) -> String {
    service_and_operation(cfg).1
}

fn service_and_operation(cfg: &aws_smithy_types::config_bag::ConfigBag) -> (String, String) {
    cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
        .map(|m| (m.service().to_string(), m.name().to_string()))
        .unwrap_or_default()
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for Crash {
    fn name(&self) -> &'static str {
        "Crash"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        match &self.0.lock().unwrap().crashed_after {
            Some(op) => Err(format!("the process died after {op}").into()),
            None => Ok(()),
        }
    }

    fn read_after_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let operation = operation_name(cfg);
        if !WRITES.contains(&operation.as_str()) {
            return Ok(());
        }
        let mut state = self.0.lock().unwrap();
        state.writes += 1;
        if state.after_write == Some(state.writes) {
            state.crashed_after = Some(operation.clone());
            return Err(format!("the process died after {operation} took effect").into());
        }
        Ok(())
    }
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

/// Everything a refused input could have changed: the table's items, the alias, and how many
/// messages wait in `queue`. Compare two of them to prove nothing moved.
pub async fn snapshot(
    env: &Emulator,
    table: &str,
    function: &str,
    queue: Option<&str>,
) -> (std::collections::BTreeSet<String>, String, usize) {
    let items = env
        .dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan")
        .items()
        .iter()
        .map(|item| {
            let sorted: std::collections::BTreeMap<_, _> = item
                .iter()
                .map(|(k, v)| (k.clone(), format!("{v:?}")))
                .collect();
            format!("{sorted:?}")
        })
        .collect();
    let alias = shiftback::adapters::TrafficRouter::new(env.lambda.clone())
        .read(function, "live")
        .await
        .expect("read alias")
        .routing
        .to_string();
    let waiting = match queue {
        None => 0,
        Some(queue) => aws_sdk_sqs::Client::new(&env.config)
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive")
            .messages()
            .len(),
    };
    (items, alias, waiting)
}

/// Runs `action` once, right after the first `operation` call through this interceptor took
/// effect and before its caller sees the answer: another actor's write landing in between.
/// The action runs on its own thread and runtime, so it may make blocking AWS calls.
#[derive(Clone)]
pub struct AfterCall {
    operation: &'static str,
    action: std::sync::Arc<std::sync::Mutex<Option<Interleaved>>>,
}

/// What an [`AfterCall`] runs, once.
type Interleaved = Box<dyn FnOnce() + Send>;

impl std::fmt::Debug for AfterCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AfterCall({})", self.operation)
    }
}

impl AfterCall {
    pub fn new(operation: &'static str, action: impl FnOnce() + Send + 'static) -> Self {
        AfterCall {
            operation,
            action: std::sync::Arc::new(std::sync::Mutex::new(Some(Box::new(action)))),
        }
    }

    /// Whether the action has run.
    pub fn fired(&self) -> bool {
        self.action.lock().unwrap().is_none()
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for AfterCall {
    fn name(&self) -> &'static str {
        "AfterCall"
    }

    fn read_after_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if operation_name(cfg) != self.operation {
            return Ok(());
        }
        if let Some(action) = self.action.lock().unwrap().take() {
            std::thread::spawn(action)
                .join()
                .expect("the interleaved action panicked");
        }
        Ok(())
    }
}

/// Blocks on `future` on a runtime of its own (for an [`AfterCall`] action).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}
