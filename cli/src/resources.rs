//! Where the deployed shiftback lives: flags and environment first, then the stack's outputs.

use aws_config::SdkConfig;
use shiftback::adapters::{
    load_config, CloudWatchHealth, DynamoStore, LambdaRouter, LambdaVersions, SnsNotifier,
    StepFunctionsWorkflow,
};
use shiftback::service::retention::VersionRetention;
use shiftback::service::ReleaseService;

use crate::args::Cli;
use crate::Failure;

pub struct Resources {
    config: SdkConfig,
    stack: Option<String>,
    table: Option<String>,
    state_machine: Option<String>,
    release_topic: Option<String>,
    incident_topic: Option<String>,
}

/// `stack_name` from samconfig.toml in the working directory, as `sam deploy` would use it:
/// the deploy command's own parameters first, then the global ones (default environment).
fn samconfig_stack() -> Option<String> {
    stack_in_samconfig(&std::fs::read_to_string("samconfig.toml").ok()?)
}

fn stack_in_samconfig(text: &str) -> Option<String> {
    let config: toml::Table = text.parse().ok()?;
    let environment = config.get("default")?;
    ["deploy", "global"].iter().find_map(|section| {
        environment
            .get(section)?
            .get("parameters")?
            .get("stack_name")?
            .as_str()
            .map(str::to_string)
    })
}

impl Resources {
    pub async fn load(cli: &Cli) -> Resources {
        Resources {
            config: load_config().await,
            stack: cli.stack.clone().or_else(samconfig_stack),
            table: cli.table.clone(),
            state_machine: cli.state_machine.clone(),
            release_topic: cli.release_topic.clone(),
            incident_topic: cli.incident_topic.clone(),
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
        let dynamodb = aws_sdk_dynamodb::Client::new(&self.config);
        let service = ReleaseService::new(
            LambdaRouter::new(aws_sdk_lambda::Client::new(&self.config)),
            DynamoStore::new(dynamodb.clone(), &table),
            CloudWatchHealth::new(aws_sdk_cloudwatch::Client::new(&self.config)),
        );
        // Operator actions are announced when they happen, like the workflow's own steps.
        let (release_topic, incident_topic) = self.topics().await?;
        Ok(match release_topic {
            Some(topic) => service.with_notifier(SnsNotifier::new(
                aws_sdk_sns::Client::new(&self.config),
                dynamodb,
                table,
                topic,
                incident_topic,
            )),
            None => service,
        })
    }

    /// The release and incident topics: flags first, then the stack's outputs when the table
    /// also comes from the stack. Given resources by flag (`--table` without
    /// `--release-topic`), nothing is announced from here; the workflow's next step announces
    /// it instead.
    async fn topics(&self) -> Result<(Option<String>, Option<String>), Failure> {
        if self.release_topic.is_some() || self.table.is_some() || self.stack.is_none() {
            return Ok((self.release_topic.clone(), self.incident_topic.clone()));
        }
        let release = self.output("ReleaseTopicArn", "--release-topic").await?;
        let incident = match &self.incident_topic {
            Some(topic) => Some(topic.clone()),
            None => self
                .output("IncidentTopicArn", "--incident-topic")
                .await
                .ok(),
        };
        Ok((Some(release), incident))
    }

    /// Version retention: Lambda's versions and the release history (for what is in
    /// progress and what is a rollback target).
    pub async fn retention(&self) -> Result<VersionRetention, Failure> {
        let table = match &self.table {
            Some(t) => t.clone(),
            None => self.output("ReleaseTableName", "--table").await?,
        };
        Ok(VersionRetention {
            catalog: LambdaVersions::new(aws_sdk_lambda::Client::new(&self.config)),
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&self.config), &table),
        })
    }

    /// For handing task tokens back to Step Functions, which needs no state machine ARN.
    pub fn task_tokens(&self) -> StepFunctionsWorkflow {
        StepFunctionsWorkflow::new(aws_sdk_sfn::Client::new(&self.config), "")
    }

    pub async fn workflow(&self) -> Result<StepFunctionsWorkflow, Failure> {
        let arn = match &self.state_machine {
            Some(a) => a.clone(),
            None => self.output("StateMachineArn", "--state-machine").await?,
        };
        Ok(StepFunctionsWorkflow::new(
            aws_sdk_sfn::Client::new(&self.config),
            arn,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::stack_in_samconfig;

    #[test]
    fn the_stack_name_is_read_as_sam_deploy_reads_it() {
        let ours = include_str!("../../samconfig.toml");
        assert_eq!(stack_in_samconfig(ours).as_deref(), Some("shiftback"));
        let both = "[default.global.parameters]\nstack_name = \"g\"\n\
                    [default.deploy.parameters]\nstack_name = \"d\"\n";
        assert_eq!(stack_in_samconfig(both).as_deref(), Some("d"));
        // A stack_name in a comment or another environment is not the default's.
        let elsewhere = "# stack_name = \"c\"\n[prod.deploy.parameters]\nstack_name = \"p\"\n";
        assert_eq!(stack_in_samconfig(elsewhere), None);
        assert_eq!(stack_in_samconfig("stack_name = "), None);
    }
}
