//! The fast path of a plan's stop: a regional release that ends without promoting tells its
//! plan's coordinator at once, after its own revert and record (an asynchronous invoke of the
//! home Region's coordinator), rather than at the coordinator's next look. The look remains
//! the slow path: a stop that could not be sent is found there.

use std::future::Future;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use super::WaveCommand;
use crate::domain::{Phase, Release};
use crate::error::{AwsError, Error, Result};

/// The label a plan's regional release carries: its coordinator's function ARN.
pub const PLAN_STOP_LABEL: &str = "plan_stop";

/// Tells a plan's coordinator to stop the plan.
pub trait PlanStopper: Send + Sync {
    /// `coordinator`: the home Region's coordinator function (its ARN).
    fn stop(
        &self,
        coordinator: &str,
        command: &WaveCommand,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// What a release's end asks of its plan: its coordinator and the stop, if it belongs to a
/// plan and ended without promoting.
pub fn stop_for(release: &Release) -> Option<(String, WaveCommand)> {
    if !release.phase.is_terminal() || release.phase == Phase::Succeeded {
        return None;
    }
    let plan_id = release.labels.get("plan")?;
    let coordinator = release.labels.get(PLAN_STOP_LABEL)?;
    // A label anyone may set: only a Lambda function's ARN is called (and the role allows
    // only the stack's coordinator).
    let parts: Vec<&str> = coordinator.split(':').collect();
    if parts.len() < 7 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" {
        return None;
    }
    let why = format!(
        "release {} ended {}: {}",
        release.id,
        release.phase.name(),
        release.reason.as_deref().unwrap_or("no reason recorded")
    );
    Some((
        coordinator.clone(),
        WaveCommand::Stop {
            plan_id: plan_id.clone(),
            release_id: Some(release.id.clone()),
            why,
            recall: false,
        },
    ))
}

/// Stops the release's plan, if it asks for that; a failure is logged, never returned (the
/// coordinator's next look finds the rollback all the same).
pub(crate) async fn stop_plan_logged<S: PlanStopper>(stops: Option<&S>, release: &Release) {
    let (Some(stops), Some((coordinator, command))) = (stops, stop_for(release)) else {
        return;
    };
    if let Err(e) = stops.stop(&coordinator, &command).await {
        tracing::warn!(release = %release.id, error = %e, "the plan's coordinator was not told; its next look finds the rollback");
    }
}

/// The coordinator invoked asynchronously, in its own Region: a client for that Region made
/// from the handler's own the first time, then kept for the container's life.
#[derive(Clone, Debug)]
pub struct LambdaPlanStops {
    client: aws_sdk_lambda::Client,
    by_region:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, aws_sdk_lambda::Client>>>,
}

impl LambdaPlanStops {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        LambdaPlanStops {
            client,
            by_region: Default::default(),
        }
    }

    fn client_in(&self, region: &str) -> aws_sdk_lambda::Client {
        let mut clients = self.by_region.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = self
                    .client
                    .config()
                    .to_builder()
                    .region(aws_sdk_lambda::config::Region::new(region.to_string()))
                    .build();
                aws_sdk_lambda::Client::from_conf(config)
            })
            .clone()
    }
}

impl PlanStopper for LambdaPlanStops {
    async fn stop(&self, coordinator: &str, command: &WaveCommand) -> Result<()> {
        let region = coordinator.split(':').nth(3).unwrap_or_default();
        let payload = serde_json::to_vec(command).map_err(|e| Error::Corrupt(e.to_string()))?;
        self.client_in(region)
            .invoke()
            .function_name(coordinator)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("Invoke", e)))?;
        Ok(())
    }
}

/// The stops sent, in memory.
#[cfg(any(test, feature = "testing"))]
#[derive(Clone, Debug, Default)]
pub struct MemoryPlanStops {
    pub sent: std::sync::Arc<std::sync::Mutex<Vec<(String, WaveCommand)>>>,
    /// Where each stop is written in order with the other twins' calls (`plan stop PLAN`).
    pub journal: Option<crate::testing::Journal>,
}

#[cfg(any(test, feature = "testing"))]
impl PlanStopper for MemoryPlanStops {
    async fn stop(&self, coordinator: &str, command: &WaveCommand) -> Result<()> {
        if let (Some(journal), WaveCommand::Stop { plan_id, .. }) = (&self.journal, command) {
            journal.push(format!("plan stop {plan_id}"));
        }
        self.sent
            .lock()
            .unwrap()
            .push((coordinator.to_string(), command.clone()));
        Ok(())
    }
}
