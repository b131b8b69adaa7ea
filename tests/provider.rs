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
struct RollingBack;

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
            "create" => include_str!("corpus/cloudformation/create-request.json"),
            "update" => include_str!("corpus/cloudformation/update-request.json"),
            _ => include_str!("corpus/cloudformation/delete-request.json"),
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
            .answer_cfn(request, &p.workflow, p.answers.as_ref(), &RollingBack, None)
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

#[tokio::test]
async fn a_refused_release_answers_failed_with_the_reason_and_changes_nothing() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let missing = s.update(&url, "9", "1", "linear:50:1m");
    let answered = s.provider.handle(missing, 0).await.unwrap().now().unwrap();
    let put = &url.puts()[0].body;
    assert_eq!(status(put), "FAILED");
    assert!(
        put["Reason"].as_str().unwrap().contains("version 9"),
        "{put}"
    );
    assert_eq!(
        answered.physical_resource_id,
        format!("{}:live", s.function)
    );
    assert!(s.executions().await.is_empty());
    assert_eq!(s.alias("live").await, "version 1");
    // Properties that are not a release: FAILED too, with what is wrong.
    let bad = s.request(
        "create",
        &url.url,
        &unique("req"),
        json!({"Alias": "live"}),
        None,
    );
    s.provider.handle(bad, 0).await.unwrap();
    let put = &url.puts()[1].body;
    assert_eq!(status(put), "FAILED");
    assert!(
        put["Reason"].as_str().unwrap().contains("FunctionName"),
        "{put}"
    );
    // A wait longer than CloudFormation's hour (ten 10-minute steps): refused up front.
    let long = s.request(
        "update",
        &url.url,
        &unique("req"),
        s.props("live", "2", "linear:10:10m", true),
        Some(s.props("live", "1", "linear:10:10m", false)),
    );
    s.provider.handle(long, 0).await.unwrap();
    let put = &url.puts()[2].body;
    assert_eq!(status(put), "FAILED");
    assert!(
        put["Reason"].as_str().unwrap().contains("Wait: true"),
        "{put}"
    );
    assert!(s.executions().await.is_empty());
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

#[tokio::test]
async fn wait_true_is_answered_when_the_workflow_ends_success_or_failed_it_rolled_back() {
    let s = setup().await;
    for (version, alarm_fires, expected) in [("2", false, "SUCCESS"), ("3", true, "FAILED")] {
        let url = ResponseUrl::start(0).await;
        let current = s
            .alias("live")
            .await
            .trim_start_matches("version ")
            .to_string();
        let update = s.request(
            "update",
            &url.url,
            &unique("req"),
            s.props("live", version, "steps:50@1s", true),
            Some(s.props("live", &current, "steps:50@1s", true)),
        );
        // The provider's invocation ends at once, its answer left to the release's end.
        let left = s.provider.serve(update, 0).await.unwrap();
        let id = left["when_release_ends"]["release_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{left}"))
            .to_string();
        assert!(url.puts().is_empty(), "no answer while the release runs");
        let (_, input) = s
            .executions()
            .await
            .into_iter()
            .find(|(name, _)| *name == id)
            .unwrap();
        let phase = s.run_release(input, alarm_fires).await;
        assert!(
            url.puts().is_empty(),
            "{phase}: answered by the workflow's end"
        );
        // The workflow's end (EventBridge), read from the release record in DynamoDB.
        let status_change = execution_ended(&s.machine, &id, "SUCCEEDED");
        s.provider.serve(status_change, 0).await.unwrap();
        let put = &url.puts()[0].body;
        assert_eq!(status(put), expected, "{phase}: {put}");
        assert_eq!(put["Data"]["ReleaseId"], id.as_str());
        if alarm_fires {
            assert!(
                put["Reason"].as_str().unwrap().contains("rolled_back"),
                "{put}"
            );
            set_alarm_state(&s.env, &s.alarm, StateValue::Ok, "recovered").await;
        }
        // The presigned URL is kept on the record only for the answer.
        let record = s.provider.service.store.load_summary(&id).await.unwrap();
        assert!(record.answer_to.is_some());
    }
    assert_eq!(s.alias("live").await, "version 2");
}

#[tokio::test]
async fn a_stack_rolling_back_aborts_the_release_or_reverts_a_finished_one() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    s.deploy_version_2(&url).await;
    // Something else in the stack failed: CloudFormation sends the old version back.
    let back = s.update(&url, "1", "2", "linear:50:1h");
    s.provider.handle(back.clone(), 0).await.unwrap();
    let put = &url.puts()[1].body;
    assert_eq!(status(put), "SUCCESS", "{put}");
    assert!(
        put["Data"]["Outcome"].as_str().unwrap().contains("aborted"),
        "{put}"
    );
    assert_eq!(s.alias("live").await, "version 1");

    // A release that succeeded, and then the stack rolls back: back at once, on the record.
    let url = ResponseUrl::start(0).await;
    let forward = s.update(&url, "3", "1", "steps:50@0s");
    s.provider.handle(forward, 0).await.unwrap();
    let (_, input) = s
        .executions()
        .await
        .into_iter()
        .find(|(_, i)| i["target_version"] == "3")
        .unwrap();
    assert_eq!(s.run_release(input, false).await, "succeeded");
    assert_eq!(s.alias("live").await, "version 3");
    let back = s.update(&url, "1", "3", "steps:50@0s");
    s.provider.handle(back, 0).await.unwrap();
    let put = &url.puts()[1].body;
    assert_eq!(put["Data"]["Outcome"], "reverted", "{put}");
    assert_eq!(s.alias("live").await, "version 1");
}

#[tokio::test]
async fn deploying_twice_in_a_row_supersedes_and_the_stacks_rollback_is_answered() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let first_id = s.deploy_version_2(&url).await;

    // The fix, while the first release still moves the alias.
    let second = s.update(&url, "3", "2", "linear:50:1h");
    s.provider.handle(second, 0).await.unwrap();
    let put = &url.puts()[1].body;
    assert_eq!(status(put), "SUCCESS", "{put}");
    let second_id = put["Data"]["ReleaseId"].as_str().unwrap().to_string();
    let store = &s.provider.service.store;
    let superseded = store.load_summary(&first_id).await.unwrap();
    assert_eq!(superseded.phase.name(), "superseded");
    assert!(superseded.reason.unwrap().contains(&second_id));
    // Back on version 1, then the new release's first step from there.
    assert_eq!(s.alias("live").await, "version 1 with 50% on version 3");
    let (_, input) = s
        .executions()
        .await
        .into_iter()
        .find(|(name, _)| *name == second_id)
        .unwrap();
    assert_eq!(
        input["supersede"], true,
        "the workflow's start supersedes too"
    );
    s.workflow_start(input).await;
    assert_eq!(s.alias("live").await, "version 1 with 50% on version 3");

    // Another resource fails: CloudFormation rolls back to version 2, during its rollback.
    let back = s.update(&url, "2", "3", "linear:50:1h");
    let answered = s.handle_rolling_back(back).await;
    assert_eq!(status(&answered), "SUCCESS", "{answered}");
    assert_eq!(
        s.alias("live").await,
        "version 1",
        "the last version that ran well"
    );
    let aborted = store.load_summary(&second_id).await.unwrap();
    assert_eq!(aborted.phase.name(), "aborted");
    assert_eq!(
        s.executions().await.len(),
        2,
        "nothing started during the rollback"
    );
    // The stack can deploy again: no lock left.
    let lock = store.lock_holder(&s.function, "live").await.unwrap();
    assert_eq!(lock, None);
}

#[tokio::test]
async fn a_rollback_after_an_alarm_revert_starts_nothing_and_says_why() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let forward = s.update(&url, "2", "1", "steps:50@1s");
    s.provider.handle(forward, 0).await.unwrap();
    let (_, input) = s.executions().await.remove(0);
    assert_eq!(s.run_release(input, true).await, "rolled_back");
    set_alarm_state(&s.env, &s.alarm, StateValue::Ok, "recovered").await;
    assert_eq!(s.alias("live").await, "version 1");
    // The next deploy fails: a version that does not exist.
    let broken = s.update(&url, "9", "2", "steps:50@1s");
    s.provider.handle(broken, 0).await.unwrap();
    assert_eq!(status(&url.puts()[1].body), "FAILED");
    // CloudFormation's rollback names version 2, which the alarm rejected.
    let back = s.update(&url, "2", "9", "steps:50@1s");
    let answered = s.handle_rolling_back(back).await;
    assert_eq!(status(&answered), "SUCCESS", "{answered}");
    assert_eq!(answered["Data"]["Outcome"], "not released");
    assert!(
        answered["Reason"]
            .as_str()
            .unwrap()
            .contains("rolled it back"),
        "{answered}"
    );
    assert_eq!(s.alias("live").await, "version 1");
    assert_eq!(s.executions().await.len(), 1);
    // On the record, in the function's history.
    let history = s
        .provider
        .service
        .store
        .history(&s.function, 10, None)
        .await
        .unwrap();
    assert!(
        history.releases[0].was_declined(),
        "{:?}",
        history.releases[0]
    );
}

#[tokio::test]
async fn a_request_from_a_stack_that_does_not_own_the_function_changes_nothing() {
    let s = setup().await;
    let url = ResponseUrl::start(0).await;
    let mut request = s.update(&url, "2", "1", "linear:50:1h");
    request["StackId"] =
        json!("arn:aws:cloudformation:us-east-1:123456789012:stack/other-team/0f0f0f0f");
    s.provider.handle(request, 0).await.unwrap();
    let put = &url.puts()[0].body;
    assert_eq!(status(put), "FAILED");
    assert!(
        put["Reason"].as_str().unwrap().contains("may not release"),
        "{put}"
    );
    assert!(s.executions().await.is_empty());
    assert_eq!(s.alias("live").await, "version 1");
    let history = s
        .provider
        .service
        .store
        .history(&s.function, 10, None)
        .await
        .unwrap();
    assert!(history.releases.is_empty());
}

#[tokio::test]
async fn the_stack_status_is_read_from_cloudformation() {
    use shiftback::ports::StackStates as _;
    let s = setup().await;
    let stacks = &s.provider.stacks;
    assert_eq!(
        stacks.status(&s.stack_id).await.as_deref(),
        Some("CREATE_COMPLETE")
    );
    // A stack that cannot be read: None, and the provider decides from the records.
    let gone = "arn:aws:cloudformation:us-east-1:123456789012:stack/gone/00000000";
    assert_eq!(stacks.status(gone).await, None);
}
