//! The workflow's outside: Step Functions control of a release's execution, and the answers
//! to CloudFormation for the custom resource.

use std::future::Future;

pub mod cfn_response;
pub mod cloudformation;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod sfn;

pub use cfn_response::CfnResponder;
pub use cloudformation::CfnStacks;
pub use sfn::StepFunctionsWorkflow;

use crate::error::Result;

/// What the custom resource provider needs to know of the stack that sent a request.
pub trait StackStates: Send + Sync {
    /// The stack's status (`UPDATE_ROLLBACK_IN_PROGRESS`, ...); None when it cannot be read
    /// (the caller then decides from the release records alone).
    fn status(&self, stack_id: &str) -> impl Future<Output = Option<String>> + Send;
}

/// Workflow control: stops a release's running workflow (a no-op once it ended), and ends its
/// wait at a gate.
pub trait ExecutionControl: Send + Sync {
    /// Starts the release's workflow, named after it. Starting one that exists already (a
    /// repeated request) is not an error: that release is underway, or done.
    fn launch(
        &self,
        release_id: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = Result<()>> + Send;

    fn stop(&self, release_id: &str, cause: &str) -> impl Future<Output = Result<()>> + Send;

    /// Hands a gate's task token back with `output`; false when nothing waits on it any more.
    fn resume(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// Answers CloudFormation: the custom resource response, sent to the request's `ResponseURL`.
pub trait CfnAnswers: Send + Sync {
    fn send(
        &self,
        url: &str,
        response: &aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse,
    ) -> impl Future<Output = Result<()>> + Send;
}
