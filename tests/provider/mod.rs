//! The custom resource provider against moto, answering a local stand-in for the presigned
//! `ResponseURL`, with CloudFormation's own request shapes (the `aws_lambda_events` fixtures,
//! in `tests/corpus/cloudformation/`). moto's Step Functions does not run the workflow: where a
//! release must run, the test drives it through the handlers' own service, as the workflow's
//! tasks would.

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftback::adapters::LambdaRouter;
use shiftback::ports::AliasRouter as _;
use shiftback::runtime::{release_provider_with, HandlerSettings, ReleaseProvider};
use shiftback::service::{parse_input, parse_start, Next};
use shiftback_integration_tests::response_url::ResponseUrl;
use shiftback_integration_tests::{
    alarm_in_state, emulator, function_with_versions, release_store, set_alarm_state, stack_owning,
    unique, CallLog, Emulator,
};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/shiftback-workflow";

struct Setup {
    env: Emulator,
    provider: ReleaseProvider,
    sfn: aws_sdk_sfn::Client,
    machine: String,
    function: String,
    alarm: String,
    /// The stack that created the function (its `aws:cloudformation:stack-id` tag).
    stack_id: String,
}

/// CloudFormation rolling the stack back: a status moto's CloudFormation never reaches (it
/// runs no failing update), given here as `DescribeStacks` would answer it.
pub(crate) struct RollingBack;

impl shiftback::ports::StackStates for RollingBack {
    async fn status(&self, _stack_id: &str) -> Option<String> {
        Some(shiftback::service::UPDATE_ROLLBACK.to_string())
    }
}

async fn setup() -> Setup {
    let env = emulator().await;
    let store = release_store(&env).await;
    let sfn = aws_sdk_sfn::Client::new(&env.config);
    // moto keeps executions but runs nothing: the release is driven by the test.
    let machine = sfn
        .create_state_machine()
        .name(unique("release"))
        .role_arn(ROLE_ARN)
        .definition(r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let settings = HandlerSettings {
        release_table: store.table().to_string(),
        state_machine_arn: Some(machine.clone()),
        ..HandlerSettings::default()
    };
    let provider =
        release_provider_with(&env.clients_with(&CallLog::default()), &settings).unwrap();
    let function = function_with_versions(&env, 3, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let stack_id = stack_owning(&env, &function).await;
    Setup {
        env,
        provider,
        sfn,
        machine,
        function,
        alarm,
        stack_id,
    }
}

impl Setup {
    /// The resource's properties, as CloudFormation sends them: every scalar a string.
    fn props(&self, alias: &str, version: &str, strategy: &str, wait: bool) -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:shiftback-provider",
            "FunctionName": self.function, "Alias": alias, "Version": version,
            "Strategy": strategy, "Alarms": [self.alarm], "Wait": wait.to_string(),
            "Analysis": "off"
        })
    }

    /// A request of `kind` (create, update, delete) in CloudFormation's shape.
    fn request(&self, kind: &str, url: &str, id: &str, props: Value, old: Option<Value>) -> Value {
        let text = match kind {
            "create" => include_str!("../corpus/cloudformation/create-request.json"),
            "update" => include_str!("../corpus/cloudformation/update-request.json"),
            _ => include_str!("../corpus/cloudformation/delete-request.json"),
        };
        let mut request: Value = serde_json::from_str(text).unwrap();
        request["ResponseURL"] = json!(url);
        request["RequestId"] = json!(id);
        request["StackId"] = json!(self.stack_id);
        request["ResourceType"] = json!("Custom::ShiftbackRelease");
        request["LogicalResourceId"] = json!("OrdersRelease");
        if kind != "create" {
            let alias = props["Alias"].as_str().unwrap().to_string();
            request["PhysicalResourceId"] = json!(format!("{}:{alias}", self.function));
        }
        request["ResourceProperties"] = props;
        match old {
            Some(old) => request["OldResourceProperties"] = old,
            None => {
                request
                    .as_object_mut()
                    .unwrap()
                    .remove("OldResourceProperties");
            }
        }
        request
    }

    /// An Update of alias `live` from version `old` to `version`, with a new request id.
    fn update(&self, url: &ResponseUrl, version: &str, old: &str, strategy: &str) -> Value {
        let props = |v: &str| self.props("live", v, strategy, false);
        self.request(
            "update",
            &url.url,
            &unique("req"),
            props(version),
            Some(props(old)),
        )
    }

    /// The stack's deploy of version 2 (from 1, `linear:50:1h`), its workflow's Start run:
    /// half the traffic on 2. Returns the release (its execution's name).
    async fn deploy_version_2(&self, url: &ResponseUrl) -> String {
        let update = self.update(url, "2", "1", "linear:50:1h");
        self.provider.handle(update, 0).await.unwrap();
        let (id, input) = self.executions().await.remove(0);
        self.workflow_start(input).await;
        assert_eq!(self.alias("live").await, "version 1 with 50% on version 2");
        id
    }

    /// The workflow's Start task, run on the input the provider launched it with.
    async fn workflow_start(&self, input: Value) {
        let request = parse_start(input).unwrap();
        self.provider.service.start(request).await.unwrap();
    }

    /// Answers `request` while the stack rolls back.
    async fn handle_rolling_back(&self, request: Value) -> Value {
        let p = &self.provider;
        let answer = p
            .service
            .answer_cfn(
                request,
                &p.workflow,
                p.plans.as_ref(),
                p.answers.as_ref(),
                &RollingBack,
                None,
            )
            .await
            .unwrap()
            .now()
            .expect("answered now");
        serde_json::to_value(answer).unwrap()
    }

    async fn alias(&self, alias: &str) -> String {
        let router = LambdaRouter::new(self.env.lambda.clone());
        router
            .read(&self.function, alias)
            .await
            .unwrap()
            .routing
            .to_string()
    }

    /// The executions the provider started, with their inputs.
    async fn executions(&self) -> Vec<(String, Value)> {
        let listed = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.machine)
            .send()
            .await
            .unwrap();
        let mut executions = Vec::new();
        for e in listed.executions() {
            let described = self
                .sfn
                .describe_execution()
                .execution_arn(e.execution_arn())
                .send()
                .await
                .unwrap();
            let input = serde_json::from_str(described.input().unwrap_or("{}")).unwrap();
            executions.push((e.name().to_string(), input));
        }
        executions
    }

    /// Runs the release an execution stands for, as the workflow's tasks would (the alarm
    /// firing after its first step, if `alarm_fires`); returns the phase it ends in.
    async fn run_release(&self, input: Value, alarm_fires: bool) -> String {
        let service = &self.provider.service;
        let mut outcome = service.start(parse_start(input).unwrap()).await.unwrap();
        if alarm_fires {
            set_alarm_state(&self.env, &self.alarm, StateValue::Alarm, "errors").await;
        }
        let id = json!({ "release_id": outcome.release_id });
        while outcome.next == Next::Wait {
            tokio::time::sleep(std::time::Duration::from_secs(outcome.wait_seconds)).await;
            outcome = service
                .advance(parse_input(id.clone()).unwrap())
                .await
                .unwrap();
        }
        match outcome.next {
            Next::Promote => {
                service
                    .promote(parse_input(id).unwrap())
                    .await
                    .unwrap()
                    .phase
            }
            _ => {
                service
                    .rollback(parse_input(id).unwrap())
                    .await
                    .unwrap()
                    .phase
            }
        }
    }
}

fn status(put: &Value) -> &str {
    put["Status"].as_str().unwrap_or("?")
}

#[tokio::test]
async fn create_makes_the_alias_and_delete_leaves_it() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let mut props = s.props("prod", "2", "Canary10Percent5Minutes", false);
    // As `!Ref Fn.Version` gives it under AutoPublishAlias: the version's ARN.
    props["Version"] = json!(format!(
        "arn:aws:lambda:us-east-1:123456789012:function:{}:2",
        s.function
    ));
    let create = s.request("create", &url.url, &unique("req"), props.clone(), None);
    let answered = s.provider.handle(create, 0).await.unwrap().now().unwrap();
    assert_eq!(
        s.alias("prod").await,
        "version 2",
        "nothing to shift: made on it"
    );
    let puts = url.puts();
    assert_eq!(puts.len(), 1, "answered once");
    assert_eq!(status(&puts[0].body), "SUCCESS", "{:?}", puts[0].body);
    assert_eq!(
        puts[0].body["PhysicalResourceId"],
        format!("{}:prod", s.function)
    );
    assert_eq!(puts[0].body["LogicalResourceId"], "OrdersRelease");
    assert_eq!(
        puts[0].content_type.as_deref(),
        Some(""),
        "presigned for no content type"
    );
    assert_eq!(
        answered.physical_resource_id,
        format!("{}:prod", s.function)
    );
    assert!(s.executions().await.is_empty());

    let delete = s.request("delete", &url.url, &unique("req"), props, None);
    s.provider.handle(delete, 0).await.unwrap();
    assert_eq!(status(&url.puts()[1].body), "SUCCESS");
    assert_eq!(
        s.alias("prod").await,
        "version 2",
        "a delete leaves the alias"
    );
}

#[tokio::test]
async fn an_update_to_a_new_version_starts_one_release_however_often_it_is_delivered() {
    let s = setup().await;
    let url = ResponseUrl::start(1).await;
    let request_id = unique("req");
    let mut props = s.props("live", "2", "linear:50:1m", false);
    props["Labels"] = json!({"commit": "3f2a1c9", "version": "1.4.0"});
    let update = s.request(
        "update",
        &url.url,
        &request_id,
        props,
        Some(s.props("live", "1", "linear:50:1m", false)),
    );
    s.provider.handle(update.clone(), 0).await.unwrap();
    // S3 answered 500 to the first PUT: the provider tried again.
    let puts = url.puts();
    assert_eq!(puts.len(), 1);
    assert_eq!(status(&puts[0].body), "SUCCESS", "{:?}", puts[0].body);
    let release_id = puts[0].body["Data"]["ReleaseId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(release_id, shiftback::service::release_id_for(&request_id));
    // CloudFormation delivers the same request again: the same answer, no second release.
    s.provider.handle(update, 0).await.unwrap();
    let puts = url.puts();
    assert_eq!(puts[1].body, puts[0].body);
    let executions = s.executions().await;
    assert_eq!(executions.len(), 1);
    let (name, input) = &executions[0];
    assert_eq!(name, &release_id);
    assert_eq!(input["target_version"], "2");
    assert_eq!(input["stable_version"], "1");
    assert_eq!(input["strategy"], "linear:50:1m");
    assert_eq!(
        input["labels"],
        json!({"commit": "3f2a1c9", "version": "1.4.0"})
    );
    assert!(input["started_by"]
        .as_str()
        .unwrap()
        .starts_with("cloudformation:"));
    // Recorded, with its first step, before the answer: a stack rollback that follows at
    // once finds it. The workflow's Start continues it.
    assert_eq!(s.alias("live").await, "version 1 with 50% on version 2");
    let recorded = s.provider.service.store.load_summary(&release_id).await;
    assert_eq!(recorded.unwrap().phase.name(), "shifting");

    // An update that changes no version (a tag, say) starts nothing.
    let same = s.request(
        "update",
        &url.url,
        &unique("req"),
        s.props("live", "1", "linear:50:1m", false),
        Some(s.props("live", "1", "Canary10Percent5Minutes", false)),
    );
    s.provider.handle(same, 0).await.unwrap();
    assert_eq!(url.puts()[2].body["Data"]["Outcome"], "nothing started");
    assert_eq!(s.executions().await.len(), 1);
    let running = s.provider.service.store.load_summary(&release_id).await;
    assert_eq!(running.unwrap().phase.name(), "shifting", "left to run");
}

/// EventBridge's status change of release `id`'s execution, as the provider receives it.
fn execution_ended(machine: &str, id: &str, status: &str) -> Value {
    let execution = machine.replacen(":stateMachine:", ":execution:", 1) + ":" + id;
    json!({
        "version": "0", "id": unique("event"), "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "account": "123456789012", "time": "2026-12-02T11:00:00Z", "region": "us-east-1",
        "resources": [execution.clone()],
        "detail": {"executionArn": execution, "stateMachineArn": machine, "name": id,
                   "status": status, "startDate": 1764673200000_i64, "stopDate": null,
                   "input": "{}", "output": null}
    })
}

mod answers;
mod rollbacks;
