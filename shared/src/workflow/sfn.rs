//! The release workflow's executions on Step Functions, named after their releases.

use std::future::Future;

use aws_sdk_sfn::Client;

use crate::error::{AwsError, AwsErrorKind, Error, Result};
use crate::ports::ExecutionControl;

#[derive(Clone, Debug)]
pub struct StepFunctionsWorkflow {
    client: Client,
    state_machine_arn: String,
}

impl StepFunctionsWorkflow {
    pub fn new(client: Client, state_machine_arn: impl Into<String>) -> Self {
        StepFunctionsWorkflow {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// `arn:...:stateMachine:NAME` → `arn:...:execution:NAME:RELEASE`.
    pub fn execution_arn(&self, release_id: &str) -> String {
        format!(
            "{}:{release_id}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }

    /// Starts the release's execution. Starting the same release again with the same input is
    /// harmless: Step Functions answers with the running execution.
    pub async fn start(&self, release_id: &str, input: &serde_json::Value) -> Result<String> {
        let out = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(release_id)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("StartExecution", e)))?;
        Ok(out.execution_arn().to_string())
    }

    /// Ends the workflow's wait at a gate with `output` (the release's outcome, which its
    /// next state routes on). False when nothing waits on the token any more (the gate timed
    /// out, the execution ended): not an error, the release's record already says what happened.
    pub async fn resume(&self, task_token: &str, output: &serde_json::Value) -> Result<bool> {
        match self
            .client
            .send_task_success()
            .task_token(task_token)
            .output(output.to_string())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = AwsError::from_sdk("SendTaskSuccess", e);
                let gone = matches!(
                    err.code.as_deref(),
                    Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken")
                );
                if gone {
                    Ok(false)
                } else {
                    Err(Error::Aws(err))
                }
            }
        }
    }

    /// The release's execution as Step Functions has it: None if there is none; else its
    /// status (`RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`) and, once it ended
    /// badly, its error and cause. What a look reads when a release has no record yet.
    pub async fn execution(&self, release_id: &str) -> Result<Option<(String, Option<String>)>> {
        match self
            .client
            .describe_execution()
            .execution_arn(self.execution_arn(release_id))
            .send()
            .await
        {
            Ok(out) => {
                let why = match (out.error(), out.cause()) {
                    (None, None) => None,
                    (error, cause) => Some(format!(
                        "{}: {}",
                        error.unwrap_or("error"),
                        cause.unwrap_or("no cause given")
                    )),
                };
                Ok(Some((out.status().as_str().to_string(), why)))
            }
            Err(e) => {
                let err = AwsError::from_sdk("DescribeExecution", e);
                if err.kind == AwsErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(Error::Aws(err))
                }
            }
        }
    }

    /// Stops the release's execution, if it still runs.
    pub async fn stop(&self, release_id: &str, cause: &str) -> Result<()> {
        let cause: String = cause.chars().take(32_000).collect();
        match self
            .client
            .stop_execution()
            .execution_arn(self.execution_arn(release_id))
            .error("Shiftback.RolledBack")
            .cause(cause)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = AwsError::from_sdk("StopExecution", e);
                if err.kind == AwsErrorKind::NotFound {
                    Ok(())
                } else {
                    Err(Error::Aws(err))
                }
            }
        }
    }
}

impl ExecutionControl for StepFunctionsWorkflow {
    async fn launch(&self, release_id: &str, input: &serde_json::Value) -> Result<()> {
        match self.start(release_id, input).await {
            Ok(_) => Ok(()),
            // The same name with another input, or an execution already ended: the release
            // this name stands for was started before.
            Err(Error::Aws(e)) if e.code.as_deref() == Some("ExecutionAlreadyExists") => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn stop(&self, release_id: &str, cause: &str) -> impl Future<Output = Result<()>> + Send {
        StepFunctionsWorkflow::stop(self, release_id, cause)
    }

    fn resume(
        &self,
        task_token: &str,
        output: &serde_json::Value,
    ) -> impl Future<Output = Result<bool>> + Send {
        StepFunctionsWorkflow::resume(self, task_token, output)
    }
}
