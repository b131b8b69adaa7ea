//! Interceptors on the SDK clients: a log of every call (with what IAM authorizes for it),
//! a process that dies after a write, and another actor's write landing mid-call.

use crate::{iam_requests, IamRequest};

/// One AWS call as the SDK made it.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    /// What IAM authorizes for this call (see [`iam_requests`]).
    pub iam: Vec<IamRequest>,
    pub started: std::time::Instant,
    pub finished: Option<std::time::Instant>,
    /// For DynamoDB writes: the approximate size in bytes of each item written.
    pub written: Vec<usize>,
    /// For GetMetricData: how many metrics it requests (what CloudWatch bills it by).
    pub metrics_requested: usize,
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
        // The client's Region: what the ARNs of resources named by name are in.
        let region = cfg.load::<aws_config::Region>().map(|r| r.to_string());
        let iam = iam_requests(&service, &operation, context.input())
            .into_iter()
            .map(|r| crate::iam::in_region(r, region.as_deref()))
            .collect();
        self.0.lock().unwrap().push(Call {
            iam,
            operation,
            started: std::time::Instant::now(),
            finished: None,
            written: written_items(context.input()),
            metrics_requested: context
                .input()
                .downcast_ref::<aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataInput>(
                )
                .map_or(0, |i| i.metric_data_queries().len()),
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

/// Simulates a handler's process dying right after its `n`-th state-changing AWS call took
/// effect: that call's answer is lost, and no later call leaves the process.
#[derive(Debug, Clone, Default)]
pub struct Crash(std::sync::Arc<std::sync::Mutex<CrashState>>);

#[derive(Debug, Default)]
struct CrashState {
    after_write: Option<usize>,
    writes: usize,
    crashed_after: Option<String>,
    /// Writes sent and not yet answered: a concurrent one (a publish while its claim is
    /// renewed) takes effect even as the process dies.
    in_flight: Vec<String>,
    /// What was in flight when the process died.
    in_flight_at_crash: Vec<String>,
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

    /// The write the process died after, if it did; with ` (Publish in flight)` when a
    /// publish sent concurrently reached SNS as it died (its confirmation never written).
    pub fn crashed_after(&self) -> Option<String> {
        let state = self.0.lock().unwrap();
        let publishing = state.in_flight_at_crash.iter().any(|op| op == "Publish");
        state.crashed_after.clone().map(|op| {
            if publishing && op != "Publish" {
                format!("{op} (Publish in flight)")
            } else {
                op
            }
        })
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
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let mut state = self.0.lock().unwrap();
        if let Some(op) = &state.crashed_after {
            return Err(format!("the process died after {op}").into());
        }
        let operation = operation_name(cfg);
        if WRITES.contains(&operation.as_str()) {
            state.in_flight.push(operation);
        }
        Ok(())
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
        if let Some(i) = state.in_flight.iter().position(|op| *op == operation) {
            state.in_flight.remove(i);
        }
        state.writes += 1;
        if state.after_write == Some(state.writes) {
            state.in_flight_at_crash = state.in_flight.clone();
            state.crashed_after = Some(operation.clone());
            return Err(format!("the process died after {operation} took effect").into());
        }
        Ok(())
    }
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
