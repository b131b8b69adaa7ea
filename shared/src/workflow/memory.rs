//! Step Functions and CloudFormation in memory: executions launched and stopped, answers
//! sent, stacks' statuses.

use std::sync::{Arc, Mutex};

use super::{CfnAnswers, ExecutionControl, StackStates};
use crate::error::{Error, Result};
use crate::testing::Journal;

/// CloudFormation's ResponseURLs: every answer sent.
#[derive(Default, Clone)]
pub struct MemoryAnswers {
    /// Each answer, with the URL it was sent to.
    pub sent: Arc<
        Mutex<
            Vec<(
                String,
                aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse,
            )>,
        >,
    >,
}

impl CfnAnswers for MemoryAnswers {
    async fn send(
        &self,
        url: &str,
        response: &aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse,
    ) -> Result<()> {
        self.sent
            .lock()
            .unwrap()
            .push((url.to_string(), response.clone()));
        Ok(())
    }
}

/// CloudFormation's stacks: the status every stack reads as (None: unreadable).
#[derive(Default, Clone)]
pub struct MemoryStacks(pub Option<String>);

impl MemoryStacks {
    pub fn rolling_back() -> Self {
        MemoryStacks(Some(crate::service::UPDATE_ROLLBACK.to_string()))
    }
}

impl StackStates for MemoryStacks {
    async fn status(&self, _stack_id: &str) -> Option<String> {
        self.0.clone()
    }
}

/// Step Functions executions: which were stopped.
#[derive(Default, Clone)]
pub struct MemoryWorkflow {
    pub journal: Journal,
    /// Every execution launched, with its input: what the workflow's start would run.
    pub launched: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    /// Errors the next launches fail with, first one first (throttling, a missing machine).
    pub failing_launches: Arc<Mutex<Vec<Error>>>,
}

impl ExecutionControl for MemoryWorkflow {
    async fn launch(&self, release_id: &str, input: &serde_json::Value) -> Result<()> {
        {
            let mut failing = self.failing_launches.lock().unwrap();
            if !failing.is_empty() {
                return Err(failing.remove(0));
            }
        }
        self.journal.push(format!("launch {release_id}"));
        let mut launched = self.launched.lock().unwrap();
        // Step Functions starts one execution per name.
        if !launched.iter().any(|(id, _)| id == release_id) {
            launched.push((release_id.to_string(), input.clone()));
        }
        Ok(())
    }

    async fn stop(&self, release_id: &str, _cause: &str) -> Result<()> {
        self.journal.push(format!("stop {release_id}"));
        Ok(())
    }

    async fn resume(&self, task_token: &str, output: &serde_json::Value) -> Result<bool> {
        self.journal.push(format!(
            "resume {task_token} next={}",
            output["next"].as_str().unwrap_or("")
        ));
        Ok(true)
    }
}
