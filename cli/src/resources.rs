//! Where the deployed shiftback lives: flags and environment first, then the stack's outputs.

use std::collections::BTreeMap;

use shiftback::adapters::{load_config, DynamoStore, StepFunctionsWorkflow};
use shiftback::runtime::{
    release_service_with, task_tokens_with, version_retention_with, workflow_with, Caller,
    HandlerClients, HandlerSettings,
};
use shiftback::service::retention::VersionRetention;
use shiftback::service::ReleaseService;
use shiftback::waves::{ShiftbackRegions, WaveCoordinator};
use tokio::sync::OnceCell;

use crate::args::Cli;
use crate::Failure;

/// The deployed shiftback as the CLI finds it: its clients built once, the flags, and the
/// stack's outputs, read at most once and only if a flag leaves something unnamed. The
/// services come from the handlers' own builders ([`shiftback::runtime`]).
pub struct Resources {
    config: aws_config::SdkConfig,
    clients: HandlerClients,
    stack: Option<String>,
    table: Option<String>,
    state_machine: Option<String>,
    release_topic: Option<String>,
    incident_topic: Option<String>,
    outputs: OnceCell<Result<BTreeMap<String, String>, Failure>>,
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
        let config = load_config().await;
        Resources {
            clients: HandlerClients::new(&config),
            config,
            stack: cli.stack.clone().or_else(samconfig_stack),
            table: cli.table.clone(),
            state_machine: cli.state_machine.clone(),
            release_topic: cli.release_topic.clone(),
            incident_topic: cli.incident_topic.clone(),
            outputs: OnceCell::new(),
        }
    }

    /// The stack's outputs, from one DescribeStacks for the whole command.
    async fn outputs(&self, stack: &str) -> Result<&BTreeMap<String, String>, Failure> {
        let described = self.outputs.get_or_init(|| async {
            let out = self
                .clients
                .cloudformation
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
            let outputs = out
                .stacks()
                .first()
                .map(|s| s.outputs())
                .unwrap_or_default();
            Ok(outputs
                .iter()
                .filter_map(|o| Some((o.output_key()?.into(), o.output_value()?.into())))
                .collect())
        });
        described.await.as_ref().map_err(Failure::clone)
    }

    /// The flag's value, else the stack's output `key`.
    async fn named(
        &self,
        flag_value: &Option<String>,
        key: &str,
        flag: &str,
    ) -> Result<String, Failure> {
        if let Some(value) = flag_value {
            return Ok(value.clone());
        }
        let Some(stack) = &self.stack else {
            return Err(crate::usage(format!(
                "cannot find the {key}: pass {flag}, or --stack (or SHIFTBACK_STACK) naming the deployed shiftback stack"
            )));
        };
        self.outputs(stack)
            .await?
            .get(key)
            .cloned()
            .ok_or_else(|| crate::usage(format!("stack {stack} has no output {key}; pass {flag}")))
    }

    /// What the services need: the table, and the topics operator actions are announced on
    /// (like the workflow's own steps).
    async fn settings(&self) -> Result<HandlerSettings, Failure> {
        let release_table = self
            .named(&self.table, "ReleaseTableName", "--table")
            .await?;
        let (release_topic, incident_topic) = self.topics().await?;
        Ok(HandlerSettings {
            release_table,
            release_topic,
            incident_topic,
            caller: Caller::Operator,
            ..HandlerSettings::default()
        })
    }

    pub async fn service(&self) -> Result<ReleaseService, Failure> {
        Ok(release_service_with(&self.clients, &self.settings().await?))
    }

    /// The release and incident topics: flags first, then the stack's outputs when the table
    /// also comes from the stack. Given resources by flag (`--table` without
    /// `--release-topic`), nothing is announced from here; the workflow's next step announces
    /// it instead.
    async fn topics(&self) -> Result<(Option<String>, Option<String>), Failure> {
        if self.release_topic.is_some() || self.table.is_some() || self.stack.is_none() {
            return Ok((self.release_topic.clone(), self.incident_topic.clone()));
        }
        let release = self
            .named(&None, "ReleaseTopicArn", "--release-topic")
            .await?;
        let incident = self
            .named(&self.incident_topic, "IncidentTopicArn", "--incident-topic")
            .await
            .ok();
        Ok((Some(release), incident))
    }

    /// Version retention: Lambda's versions and the release history (for what is in
    /// progress and what is a rollback target).
    pub async fn retention(&self) -> Result<VersionRetention, Failure> {
        let release_table = self
            .named(&self.table, "ReleaseTableName", "--table")
            .await?;
        let settings = HandlerSettings {
            release_table,
            caller: Caller::Operator,
            ..HandlerSettings::default()
        };
        Ok(version_retention_with(&self.clients, &settings))
    }

    /// For handing task tokens back to Step Functions, which needs no state machine ARN.
    pub fn task_tokens(&self) -> StepFunctionsWorkflow {
        task_tokens_with(&self.clients)
    }

    /// The Region the CLI acts in: a wave plan's home.
    pub fn region(&self) -> Option<String> {
        self.config.region().map(|r| r.to_string())
    }

    /// The wave coordinator, run here with the operator's credentials: plans in this Region's
    /// table, every Region's shiftback found by this stack's name.
    pub async fn waves(&self) -> Result<WaveCoordinator<ShiftbackRegions, DynamoStore>, Failure> {
        let stack = self.stack.clone().ok_or_else(|| {
            crate::usage("a wave plan needs --stack (or SHIFTBACK_STACK): each Region's shiftback stack has its name")
        })?;
        let table = self
            .named(&self.table, "ReleaseTableName", "--table")
            .await?;
        Ok(WaveCoordinator::new(
            ShiftbackRegions::new(self.config.clone(), stack),
            DynamoStore::new(self.clients.dynamodb.clone(), table),
        ))
    }

    /// The stack's wave coordinator (`WavesFunctionArn`), which a plan's regional releases
    /// tell when they roll back; None from a stack without it (the looks alone then stop it).
    pub async fn waves_coordinator(&self) -> Option<String> {
        self.named(&None, "WavesFunctionArn", "--stack").await.ok()
    }

    /// The wave plans' workflow (the stack's `WavesStateMachineArn`).
    pub async fn waves_workflow(&self) -> Result<StepFunctionsWorkflow, Failure> {
        let arn = self.named(&None, "WavesStateMachineArn", "--stack").await?;
        Ok(StepFunctionsWorkflow::new(self.clients.sfn.clone(), arn))
    }

    pub async fn workflow(&self) -> Result<StepFunctionsWorkflow, Failure> {
        let arn = self
            .named(&self.state_machine, "StateMachineArn", "--state-machine")
            .await?;
        let settings = HandlerSettings {
            state_machine_arn: Some(arn),
            ..HandlerSettings::default()
        };
        workflow_with(&self.clients, &settings)
            .ok_or_else(|| crate::usage("no state machine is named: pass --state-machine"))
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
