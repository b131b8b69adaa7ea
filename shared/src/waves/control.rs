//! What a stack's `Custom::ShiftbackRelease` with `Waves` asks of the home Region's plans:
//! the coordinator checks, records and stops them (it alone may reach the other Regions and
//! accounts), the waves workflow carries them out, and the plans' records say which of them
//! a stack's resource started.

use std::future::Future;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::{PlanRecords, PlanRequest, WaveAnswer, WaveCommand, WavePlan};
use crate::error::{AwsError, Error, Result};
use crate::workflow::ExecutionControl;

/// The home coordinator, asked and answered (not the fast path's fire-and-forget stop).
pub trait PlanCoordinator: Send + Sync {
    /// Every target checked in its own Region, then the plan recorded; the same id again finds
    /// the record. A refusal names each Region's reason, and nothing is recorded.
    fn create(
        &self,
        plan_id: &str,
        request: &PlanRequest,
    ) -> impl Future<Output = Result<WaveAnswer>> + Send;

    /// Stops the plan (`recall`: a completed one too, its stack rolling back from it);
    /// answered once every moved target it could reach is back.
    fn stop(
        &self,
        plan_id: &str,
        why: &str,
        recall: bool,
    ) -> impl Future<Output = Result<WaveAnswer>> + Send;

    /// The Region the plans live in (the coordinator's).
    fn home_region(&self) -> &str;
}

/// The plans a stack's resource starts, stops and waits for.
pub trait StackPlans: Send + Sync {
    fn coordinator(&self) -> &impl PlanCoordinator;
    /// Starts the recorded plan's workflow, named after it: one that exists is underway.
    fn launch(&self, plan_id: &str) -> impl Future<Output = Result<()>> + Send;
    /// Starts one more workflow for a recalled plan, whose own has ended: `<plan>-recall`, its
    /// continuations numbered apart from the first run's (`-g1001` on).
    fn relaunch(&self, plan_id: &str) -> impl Future<Output = Result<()>> + Send;
    /// The last plan the resource started, read consistently, whatever its phase.
    fn last_for(&self, resource: &str) -> impl Future<Output = Result<Option<WavePlan>>> + Send;
    /// The plans the resource (`<stack id>/<logical id>`) started that still run: the open
    /// index, and the last one it started read consistently (the index may lag a moment).
    fn running_for(&self, resource: &str) -> impl Future<Output = Result<Vec<WavePlan>>> + Send;
    /// Every plan still running in the home Region.
    fn running(&self) -> impl Future<Output = Result<Vec<WavePlan>>> + Send;
    fn load(&self, plan_id: &str) -> impl Future<Output = Result<WavePlan>> + Send;
}

/// The home Region's coordinator, workflow and records together.
#[derive(Clone, Debug)]
pub struct HomePlans<C, W, S> {
    pub coordinator: C,
    /// The waves workflow (the stack's `WavesStateMachine`).
    pub workflow: W,
    pub records: S,
}

impl<C: PlanCoordinator, W: ExecutionControl, S: PlanRecords> StackPlans for HomePlans<C, W, S> {
    fn coordinator(&self) -> &impl PlanCoordinator {
        &self.coordinator
    }

    async fn launch(&self, plan_id: &str) -> Result<()> {
        let input = serde_json::json!({"plan_id": plan_id, "looks": 0, "generation": 0});
        self.workflow.launch(plan_id, &input).await
    }

    async fn relaunch(&self, plan_id: &str) -> Result<()> {
        let input = serde_json::json!({"plan_id": plan_id, "looks": 0, "generation": 1000});
        self.workflow
            .launch(&format!("{plan_id}-recall"), &input)
            .await
    }

    fn last_for(&self, resource: &str) -> impl Future<Output = Result<Option<WavePlan>>> + Send {
        self.records.resource_plan(resource)
    }

    async fn running_for(&self, resource: &str) -> Result<Vec<WavePlan>> {
        // The index may also lag the other way (a plan that has just ended): each read again.
        let mut plans = Vec::new();
        for listed in self.records.running().await? {
            if listed.resource.as_deref() != Some(resource) {
                continue;
            }
            let (plan, _) = self.records.load(&listed.id).await?;
            if !plan.ended() {
                plans.push(plan);
            }
        }
        if let Some(last) = self.records.resource_plan(resource).await? {
            if !last.ended() && !plans.iter().any(|p| p.id == last.id) {
                plans.push(last);
            }
        }
        Ok(plans)
    }

    fn running(&self) -> impl Future<Output = Result<Vec<WavePlan>>> + Send {
        self.records.running()
    }

    async fn load(&self, plan_id: &str) -> Result<WavePlan> {
        Ok(self.records.load(plan_id).await?.0)
    }
}

/// How long a synchronous call waits for the coordinator: beyond its function's timeout
/// (`WavesFunction`, 180 s), so that Lambda's answer, not the SDK's patience, ends the call.
const COORDINATOR_WAIT: std::time::Duration = std::time::Duration::from_secs(200);

/// The coordinator function invoked synchronously (`RequestResponse`): its answer, or its
/// error as Step Functions would read it (`Shiftback.Retryable` and Lambda's own timeouts
/// are tried again; anything else is the refusal it names).
#[derive(Clone, Debug)]
pub struct LambdaCoordinator {
    client: aws_sdk_lambda::Client,
    function_arn: String,
}

impl LambdaCoordinator {
    pub fn new(client: aws_sdk_lambda::Client, function_arn: impl Into<String>) -> Self {
        LambdaCoordinator {
            client,
            function_arn: function_arn.into(),
        }
    }

    async fn call(&self, command: &WaveCommand) -> Result<WaveAnswer> {
        let payload = serde_json::to_vec(command).map_err(|e| Error::Corrupt(e.to_string()))?;
        let out = self
            .client
            .invoke()
            .function_name(&self.function_arn)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            // The handlers' 5-second attempts would cut a coordinator that asks every Region
            // short, and the SDK's retry would ask them all again: wait out its own timeout.
            .customize()
            .config_override(
                aws_sdk_lambda::config::Config::builder().timeout_config(
                    aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                        .operation_attempt_timeout(COORDINATOR_WAIT)
                        .operation_timeout(COORDINATOR_WAIT)
                        .build(),
                ),
            )
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("Invoke", e)))?;
        let body = out.payload().map(|b| b.as_ref()).unwrap_or_default();
        if out.function_error().is_some() {
            return Err(function_error(body));
        }
        serde_json::from_slice(body)
            .map_err(|e| Error::Corrupt(format!("the coordinator's answer: {e}")))
    }
}

/// A function error's payload (`{"errorType", "errorMessage"}`) as the error it stands for.
fn function_error(body: &[u8]) -> Error {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let kind = value["errorType"].as_str().unwrap_or("Unknown");
    let message = value["errorMessage"]
        .as_str()
        .unwrap_or("the coordinator failed without a message")
        .to_string();
    let retryable = kind.starts_with("Shiftback.Retryable")
        || kind.starts_with("Shiftback.NotReady")
        || kind.starts_with("Sandbox.")
        || kind.starts_with("Runtime.");
    match retryable {
        true => Error::Unsettled(format!("the plans' coordinator: {message}")),
        false => Error::BadRequest(message),
    }
}

impl PlanCoordinator for LambdaCoordinator {
    fn create(
        &self,
        plan_id: &str,
        request: &PlanRequest,
    ) -> impl Future<Output = Result<WaveAnswer>> + Send {
        let command = WaveCommand::Create {
            plan_id: plan_id.into(),
            coordinator: self.function_arn.clone(),
            plan: request.clone(),
        };
        async move { self.call(&command).await }
    }

    fn stop(
        &self,
        plan_id: &str,
        why: &str,
        recall: bool,
    ) -> impl Future<Output = Result<WaveAnswer>> + Send {
        let command = WaveCommand::Stop {
            plan_id: plan_id.into(),
            release_id: None,
            why: why.into(),
            recall,
        };
        async move { self.call(&command).await }
    }

    fn home_region(&self) -> &str {
        self.function_arn.split(':').nth(3).unwrap_or_default()
    }
}

/// The coordinator itself, as the memory twin of its function: `arn` names it.
#[cfg(any(test, feature = "testing"))]
#[derive(Clone)]
pub struct DirectCoordinator<R, S> {
    pub coordinator: std::sync::Arc<super::WaveCoordinator<R, S>>,
    pub arn: String,
}

#[cfg(any(test, feature = "testing"))]
impl<R: super::RegionalReleases, S: PlanRecords> PlanCoordinator for DirectCoordinator<R, S> {
    async fn create(&self, plan_id: &str, request: &PlanRequest) -> Result<WaveAnswer> {
        let command = WaveCommand::Create {
            plan_id: plan_id.into(),
            coordinator: self.arn.clone(),
            plan: request.clone(),
        };
        self.coordinator.handle(command, super::epoch_now()).await
    }

    async fn stop(&self, plan_id: &str, why: &str, recall: bool) -> Result<WaveAnswer> {
        let command = WaveCommand::Stop {
            plan_id: plan_id.into(),
            release_id: None,
            why: why.into(),
            recall,
        };
        self.coordinator.handle(command, super::epoch_now()).await
    }

    fn home_region(&self) -> &str {
        self.arn.split(':').nth(3).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coordinators_error_is_retried_only_when_it_says_so() {
        let retryable = function_error(
            br#"{"errorType": "Shiftback.Retryable", "errorMessage": "eu-west-1 throttled"}"#,
        );
        assert!(retryable.is_retryable(), "{retryable}");
        let timeout = function_error(br#"{"errorType": "Sandbox.Timedout", "errorMessage": "t"}"#);
        assert!(timeout.is_retryable());
        let refused = function_error(
            br#"{"errorType": "Shiftback.Invalid", "errorMessage": "plan p not started, nothing moved: eu-west-1: no alarm"}"#,
        );
        assert!(!refused.is_retryable());
        assert_eq!(
            refused.to_string(),
            Error::BadRequest("plan p not started, nothing moved: eu-west-1: no alarm".into())
                .to_string()
        );
    }
}
