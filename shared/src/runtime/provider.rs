//! The `Custom::ShiftbackRelease` provider's handler: a stack's request, or the end of the
//! release's workflow that a stack waits for.

use std::time::Duration;

use crate::adapters::{CfnStacks, DynamoStore, StepFunctionsWorkflow};
use crate::error::Error;
use crate::service::ReleaseService;
use crate::waves::{HomePlans, LambdaCoordinator};

use super::{release_service_with, HandlerClients, HandlerSettings};

/// The custom resource provider: the release service, the workflow it starts releases on,
/// and the answers it sends CloudFormation.
#[derive(Clone, Debug)]
pub struct ReleaseProvider {
    pub service: ReleaseService,
    pub workflow: StepFunctionsWorkflow,
    pub answers: std::sync::Arc<crate::workflow::cfn_response::CfnResponder>,
    pub stacks: CfnStacks,
    /// The home Region's plans, for a resource with `Waves` (None: the stack has no coordinator).
    pub plans: Option<AwsPlans>,
}

/// The plans a stack's resource starts: the coordinator invoked, the waves workflow, the table.
pub type AwsPlans = HomePlans<LambdaCoordinator, StepFunctionsWorkflow, DynamoStore>;

impl ReleaseProvider {
    /// What the provider's function is invoked with: a custom resource request, or the end of
    /// a release's workflow (EventBridge), which answers a stack waiting for it.
    pub async fn serve(
        &self,
        event: serde_json::Value,
        deadline_ms: u64,
    ) -> Result<serde_json::Value, Error> {
        let ended = event.get("detail-type").and_then(|t| t.as_str())
            == Some(crate::service::EXECUTION_STATUS_CHANGE);
        // Boxed: each is deep, and a handler's stack is not.
        let answer = match ended {
            true => serde_json::to_value(Box::pin(self.answer_ended(event)).await?),
            false => serde_json::to_value(Box::pin(self.handle(event, deadline_ms)).await?),
        };
        answer.map_err(|e| Error::Corrupt(e.to_string()))
    }

    /// Handles one custom resource request and answers it (see
    /// [`ReleaseService::answer_cfn`]).
    /// `deadline_ms` is the invocation's deadline (epoch milliseconds), as Lambda gives it; one
    /// already past (a local emulator) bounds nothing.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        deadline_ms: u64,
    ) -> Result<crate::service::Answered, Error> {
        let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
        let budget = deadline_ms
            .checked_sub(now_ms)
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis);
        let answer = self.service.answer_cfn(
            event,
            &self.workflow,
            self.plans.as_ref(),
            self.answers.as_ref(),
            &self.stacks,
            budget,
        );
        // Boxed: the provider's future is deep (a supersede inside a start inside a request).
        Box::pin(answer).await
    }

    /// Answers the stack waiting for the release whose workflow ended (see
    /// [`ReleaseService::answer_ended`]).
    pub async fn answer_ended(
        &self,
        event: serde_json::Value,
    ) -> Result<
        Option<aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse>,
        Error,
    > {
        self.service
            .answer_ended(event, self.plans.as_ref(), self.answers.as_ref())
            .await
    }
}

/// From Lambda's environment; `WAVES_FUNCTION_ARN` and `WAVES_STATE_MACHINE_ARN` (the stack's
/// coordinator and waves workflow) let a resource name `Waves`.
pub async fn release_provider() -> Result<ReleaseProvider, lambda_runtime::Error> {
    super::from_environment(|clients, settings| {
        let provider = release_provider_with(clients, settings)?;
        let optional = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(
            match (
                optional("WAVES_FUNCTION_ARN"),
                optional("WAVES_STATE_MACHINE_ARN"),
            ) {
                (Some(function), Some(machine)) => {
                    let plans = plans_with(clients, settings, &function, &machine);
                    provider.with_plans(plans)
                }
                _ => provider,
            },
        )
    })?
}

/// The home Region's plans: `coordinator` invoked, `machine` started, the table read.
pub fn plans_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
    coordinator: &str,
    machine: &str,
) -> AwsPlans {
    HomePlans {
        coordinator: LambdaCoordinator::new(clients.lambda.clone(), coordinator),
        workflow: StepFunctionsWorkflow::new(clients.sfn.clone(), machine),
        records: DynamoStore::new(clients.dynamodb.clone(), &settings.release_table),
    }
}

impl ReleaseProvider {
    pub fn with_plans(mut self, plans: AwsPlans) -> Self {
        self.plans = Some(plans);
        self
    }
}

/// The provider, from its clients and settings (`STATE_MACHINE_ARN` is required).
pub fn release_provider_with(
    clients: &HandlerClients,
    settings: &HandlerSettings,
) -> Result<ReleaseProvider, lambda_runtime::Error> {
    let workflow = super::workflow_with(clients, settings)
        .ok_or("STATE_MACHINE_ARN is required by the release provider")?;
    Ok(ReleaseProvider {
        service: release_service_with(clients, settings),
        workflow,
        answers: std::sync::Arc::new(Default::default()),
        stacks: CfnStacks::new(clients.cloudformation.clone()),
        plans: None,
    })
}
