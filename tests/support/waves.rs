//! One Region's own shiftback in the emulator, for the wave plans' tests and figures: a
//! table, a release workflow that only waits (the test plays its steps), topics, and a stack
//! whose outputs name them, each named as CloudFormation names it; and the function it releases.

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::json;
use shiftback::adapters::{DynamoStore, StepFunctionsWorkflow};
use shiftback::alarm::AlarmResponder;
use shiftback::ports::AliasRouter as _;
use shiftback::runtime::{
    alarm_responder_with, release_service_with, Caller, HandlerClients, HandlerSettings,
};
use shiftback::service::{parse_start, Control, ReleaseService};
use shiftback::waves::{ShiftbackRegions, Target, WaveCoordinator};

use crate::{
    alarm_named, alarm_state_change, emulator_in, function_with_versions, topic, unique, Emulator,
};

/// The wave coordinator on `home`'s credentials (plans in its Region's `table`), every call it
/// makes, at home and in every Region, through `interceptor` (a [`crate::CallLog`], a
/// [`crate::Crash`]).
pub fn coordinator_through<I>(
    home: &aws_config::SdkConfig,
    stack: &str,
    table: &str,
    interceptor: &I,
) -> std::sync::Arc<WaveCoordinator<ShiftbackRegions, DynamoStore>>
where
    I: aws_smithy_runtime_api::client::interceptors::Intercept + Clone + Send + Sync + 'static,
{
    let through = interceptor.clone();
    std::sync::Arc::new(WaveCoordinator::new(
        ShiftbackRegions::new(home.clone(), stack)
            .with_clients(move |config| crate::clients_on(config, &through)),
        DynamoStore::new(crate::clients_on(home, interceptor).dynamodb, table),
    ))
}

/// moto's account.
const ACCOUNT: &str = "123456789012";

/// One Region's shiftback and the function it releases.
pub struct Region {
    pub name: &'static str,
    pub env: Emulator,
    pub service: ReleaseService,
    pub responder: AlarmResponder,
    pub workflow: StepFunctionsWorkflow,
    pub store: DynamoStore,
    pub function: String,
}

/// A Region with its own shiftback stack named `stack`, its resources named as CloudFormation
/// names them (`<stack>-ReleaseTable-<suffix>`, `ReleaseStateMachine-<suffix>`), and a
/// function on version 1 of 2.
pub async fn region(name: &'static str, stack: &str, alarm: &str) -> Region {
    region_for(name, stack, alarm, None, json!({})).await
}

/// The same, releasing `function` (a fresh name when None), with `outputs` besides the
/// Region's own in its stack (a home Region's waves workflow and coordinator).
pub async fn region_for(
    name: &'static str,
    stack: &str,
    alarm: &str,
    function: Option<&str>,
    outputs: serde_json::Value,
) -> Region {
    region_in(
        emulator_in(name).await,
        name,
        stack,
        alarm,
        function,
        outputs,
    )
    .await
}

/// The same in `env`'s account (another account: [`crate::emulator_as`]).
pub async fn region_in(
    env: Emulator,
    name: &'static str,
    stack: &str,
    alarm: &str,
    function: Option<&str>,
    outputs: serde_json::Value,
) -> Region {
    let function = match function {
        Some(function) => {
            crate::function_named(&env, function, 2, "live", 1).await;
            function.to_string()
        }
        None => function_with_versions(&env, 2, "live").await,
    };
    alarm_named(&env, alarm, StateValue::Ok).await;
    let store = DynamoStore::new(
        env.dynamodb.clone(),
        unique(&format!("{stack}-ReleaseTable")),
    );
    store.create_table().await.expect("create table");
    let release_topic = topic(&env, &format!("{stack}-ReleaseTopic")).await;
    let incident_topic = topic(&env, &format!("{stack}-IncidentTopic")).await;
    let sfn = aws_sdk_sfn::Client::new(&env.config);
    // A workflow that only waits: the test plays its steps.
    let machine = crate::waiting_machine_named(&sfn, "ReleaseStateMachine").await;
    let mut template = json!({
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            "ReleaseTableName": {"Value": store.table()},
            "StateMachineArn": {"Value": machine},
            "ReleaseTopicArn": {"Value": release_topic},
            "IncidentTopicArn": {"Value": incident_topic},
        }
    });
    for (key, value) in outputs.as_object().into_iter().flatten() {
        template["Outputs"][key] = json!({ "Value": value });
    }
    aws_sdk_cloudformation::Client::new(&env.config)
        .create_stack()
        .stack_name(stack)
        .template_body(template.to_string())
        .send()
        .await
        .expect("create the Region's stack");
    let clients = HandlerClients::new(&env.config);
    let settings = HandlerSettings {
        release_table: store.table().to_string(),
        release_topic: Some(release_topic),
        incident_topic: Some(incident_topic),
        state_machine_arn: Some(machine.clone()),
        caller: Caller::Operator,
        ..HandlerSettings::default()
    };
    Region {
        name,
        service: release_service_with(&clients, &settings),
        responder: alarm_responder_with(&clients, &settings),
        workflow: StepFunctionsWorkflow::new(sfn, machine),
        store,
        function,
        env,
    }
}

impl Region {
    pub fn target(&self) -> Target {
        Target {
            region: self.name.into(),
            role_arn: None,
            function: self.function.clone(),
            alias: "live".into(),
            version: Some("2".into()),
        }
    }

    /// The Region's workflow runs its Start task on the execution the coordinator started,
    /// as Step Functions passes it: the execution's name and its input.
    pub async fn run_start(&self, release_id: &str) {
        let described = aws_sdk_sfn::Client::new(&self.env.config)
            .describe_execution()
            .execution_arn(self.workflow.execution_arn(release_id))
            .send()
            .await
            .expect("the coordinator started the Region's execution");
        let input: serde_json::Value =
            serde_json::from_str(described.input().unwrap_or("{}")).unwrap();
        let task = json!({"release_id": release_id, "request": input});
        self.service
            .start(parse_start(task).unwrap())
            .await
            .unwrap();
    }

    /// The release promoted (as an operator's `promote` does, rather than a canary's bake).
    pub async fn promote(&self, release_id: &str) {
        self.service
            .control(release_id, Control::Promote, "carol")
            .await
            .unwrap();
    }

    /// The version `live` routes to wholly, or the pair it is split between.
    pub async fn live(&self) -> String {
        let state = shiftback::adapters::LambdaRouter::new(self.env.lambda.clone())
            .read(&self.function, "live")
            .await
            .unwrap();
        match state.routing.extra {
            None => state.routing.version,
            Some((v, w)) => format!("{} + {v} at {w}", state.routing.version),
        }
    }

    /// The Region's alarm fires: its own alarm function reverts it, with no other Region's
    /// call before its UpdateAlias.
    pub async fn alarm_fires(&self, alarm: &str) {
        let mut event = alarm_state_change(alarm, "ALARM", ACCOUNT);
        event["region"] = json!(self.name);
        event["resources"] = json!([format!(
            "arn:aws:cloudwatch:{}:{ACCOUNT}:alarm:{alarm}",
            self.name
        )]);
        self.responder.handle(event, Some(ACCOUNT)).await.unwrap();
    }
}
