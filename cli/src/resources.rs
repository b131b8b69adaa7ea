//! Where the deployed shiftback lives: flags and environment first, then the stack's outputs.

use aws_config::SdkConfig;
use shiftback::adapters::{load_config, AlarmHealth, ReleaseStore, TrafficRouter, WorkflowControl};
use shiftback::service::ReleaseService;

use crate::{Cli, Failure};

pub struct Resources {
    config: SdkConfig,
    stack: Option<String>,
    table: Option<String>,
    state_machine: Option<String>,
}

/// `stack_name` from samconfig.toml in the working directory, as `sam deploy` would use.
fn samconfig_stack() -> Option<String> {
    let text = std::fs::read_to_string("samconfig.toml").ok()?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("stack_name"))
        .filter_map(|rest| rest.trim().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_string())
        .next()
}

impl Resources {
    pub async fn load(cli: &Cli) -> Resources {
        Resources {
            config: load_config().await,
            stack: cli.stack.clone().or_else(samconfig_stack),
            table: cli.table.clone(),
            state_machine: cli.state_machine.clone(),
        }
    }

    async fn output(&self, key: &str, flag: &str) -> Result<String, Failure> {
        let Some(stack) = &self.stack else {
            return Err(crate::usage(format!(
                "cannot find the {key}: pass {flag}, or --stack (or SHIFTBACK_STACK) naming the deployed shiftback stack"
            )));
        };
        let client = aws_sdk_cloudformation::Client::new(&self.config);
        let out = client
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| Failure {
                code: 4,
                message: format!(
                    "reading stack {stack}: {}",
                    aws_sdk_cloudformation::error::DisplayErrorContext(&e)
                ),
            })?;
        out.stacks()
            .first()
            .and_then(|s| s.outputs().iter().find(|o| o.output_key() == Some(key)))
            .and_then(|o| o.output_value())
            .map(str::to_string)
            .ok_or_else(|| crate::usage(format!("stack {stack} has no output {key}; pass {flag}")))
    }

    pub async fn service(&self) -> Result<ReleaseService, Failure> {
        let table = match &self.table {
            Some(t) => t.clone(),
            None => self.output("ReleaseTableName", "--table").await?,
        };
        Ok(ReleaseService::new(
            TrafficRouter::new(aws_sdk_lambda::Client::new(&self.config)),
            ReleaseStore::new(aws_sdk_dynamodb::Client::new(&self.config), table),
            AlarmHealth::new(aws_sdk_cloudwatch::Client::new(&self.config)),
        ))
    }

    pub async fn workflow(&self) -> Result<WorkflowControl, Failure> {
        let arn = match &self.state_machine {
            Some(a) => a.clone(),
            None => self.output("StateMachineArn", "--state-machine").await?,
        };
        Ok(WorkflowControl::new(
            aws_sdk_sfn::Client::new(&self.config),
            arn,
        ))
    }
}
