//! Real resources created in the emulator for a test: functions with versions, alarms, the
//! release table, and release requests.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

use crate::{unique, Emulator, ROLE_ARN};

/// A zip archive holding one file (stored, not deflated: it only has to be valid).
pub fn zip_with(name: &str, body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(name, options).expect("zip entry");
    zip.write_all(body).expect("zip body");
    zip.finish().expect("zip archive").into_inner()
}

/// Creates a function with `versions` published versions (1..=versions) and an alias on
/// version 1. Returns the function name.
pub async fn function_with_versions(env: &Emulator, versions: u32, alias: &str) -> String {
    let name = unique("fn");
    function_named(env, &name, versions, alias, 1).await;
    name
}

/// Function `name` with versions 1 to `versions` published, and `alias` on `alias_version`.
pub async fn function_named(
    env: &Emulator,
    name: &str,
    versions: u32,
    alias: &str,
    alias_version: u32,
) {
    create_function(env, name)
        .send()
        .await
        .expect("create function");
    for v in 1..=versions {
        // moto publishes a new version only after a change, as Lambda does.
        env.lambda
            .update_function_configuration()
            .function_name(name)
            .description(format!("build {v}"))
            .send()
            .await
            .expect("update function");
        let published = env
            .lambda
            .publish_version()
            .function_name(name)
            .send()
            .await
            .expect("publish version");
        assert_eq!(published.version(), Some(v.to_string().as_str()));
    }
    env.lambda
        .create_alias()
        .function_name(name)
        .name(alias)
        .function_version(alias_version.to_string())
        .send()
        .await
        .expect("create alias");
}

/// A fresh release table with shiftback's schema.
pub async fn release_store(env: &Emulator) -> shiftback::adapters::DynamoStore {
    let store = shiftback::adapters::DynamoStore::new(env.dynamodb.clone(), unique("releases"));
    store.create_table().await.expect("create table");
    store
}

/// The notifier as the handlers wire it: publishing to `topic` (and `incident`), its outbox on
/// the store's table, client and clock.
pub fn notifier_on(
    env: &Emulator,
    store: &shiftback::adapters::DynamoStore,
    topic: &str,
    incident: Option<String>,
) -> shiftback::adapters::SnsNotifier {
    let sns = aws_sdk_sns::Client::new(&env.config);
    shiftback::adapters::SnsNotifier::with_outbox(sns, store.outbox(), topic, incident)
}

/// A metric alarm with a fresh name, put in `state`. Returns its name.
pub async fn alarm_in_state(
    env: &Emulator,
    state: aws_sdk_cloudwatch::types::StateValue,
) -> String {
    let name = unique("errors");
    alarm_named(env, &name, state).await;
    name
}

/// An alarm `name` on Errors, in `state`.
pub async fn alarm_named(env: &Emulator, name: &str, state: aws_sdk_cloudwatch::types::StateValue) {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    env.cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .expect("put alarm");
    set_alarm_state(env, name, state, "set by the test").await;
}

pub async fn set_alarm_state(
    env: &Emulator,
    name: &str,
    state: aws_sdk_cloudwatch::types::StateValue,
    reason: &str,
) {
    env.cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(state)
        .state_reason(reason)
        .send()
        .await
        .expect("set alarm state");
}

/// A release request on alias `live` with the stable version read from the alias, a fresh
/// release id, and one guarding alarm; canary analysis off (the analysis tests switch it on:
/// the others publish no metrics, and would wait for traffic).
pub fn release_request(
    function: &str,
    alarm: &str,
    target: &str,
    strategy: &str,
) -> shiftback::service::StartRequest {
    shiftback::service::StartRequest {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
        release_id: Some(unique("r")),
        function: function.to_string(),
        alias: "live".into(),
        stable_version: None,
        target_version: target.to_string(),
        strategy: strategy.to_string(),
        alarms: vec![alarm.to_string()],
        alarm_overrides: vec![],
        bake_after_secs: 0,
        started_by: "ci".into(),
        kind: Default::default(),
        analysis: shiftback::domain::AnalysisSettings::off(),
        retain_versions: None,
        supersede: false,
    }
}

/// An alarm's state change as EventBridge delivers it to the alarm function (the rule in
/// template.yaml), in account `account`.
pub fn alarm_state_change(alarm: &str, state: &str, account: &str) -> serde_json::Value {
    let now = chrono::Utc::now().to_rfc3339();
    serde_json::json!({
        "version": "0", "id": unique("event"),
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": account, "time": now, "region": "us-east-1",
        "resources": [format!("arn:aws:cloudwatch:us-east-1:{account}:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": state, "reason": "Threshold Crossed: 3 errors", "timestamp": now},
            "previousState": {"value": "OK", "reason": "", "timestamp": now},
            "configuration": {"metrics": []}
        }
    })
}

/// Publishes `value` of Lambda's `metric` for `version` through `function:live`, now, with
/// the dimensions Lambda gives an alias with weighted routing.
pub async fn publish_version_metric(
    env: &Emulator,
    function: &str,
    version: &str,
    metric: &str,
    value: f64,
) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    env.cloudwatch
        .put_metric_data()
        .namespace("AWS/Lambda")
        .metric_data(
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(dimension("FunctionName", function))
                .dimensions(dimension("Resource", &format!("{function}:live")))
                .dimensions(dimension("ExecutedVersion", version))
                .timestamp(aws_smithy_types::DateTime::from_secs(
                    chrono::Utc::now().timestamp(),
                ))
                .value(value)
                .build(),
        )
        .send()
        .await
        .expect("put metric data");
}

/// The metric alarm named `name`, if it exists.
pub async fn metric_alarm(
    env: &Emulator,
    name: &str,
) -> Option<aws_sdk_cloudwatch::types::MetricAlarm> {
    let found = env
        .cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .expect("describe alarms");
    found.metric_alarms().first().cloned()
}

/// A hook function (named `hook-…`) whose Nth call answers `answers[N]`, the last one from
/// then on: tests/moto/moto_lambda.py plays its code, which moto would run in Docker.
pub async fn hook_function(env: &Emulator, answers: serde_json::Value) -> String {
    use aws_sdk_lambda::types::Environment;
    let name = unique("hook");
    create_function(env, &name)
        .environment(
            Environment::builder()
                .variables("MOTO_ANSWERS", answers.to_string())
                .build(),
        )
        .send()
        .await
        .expect("create hook function");
    name
}

/// CreateFunction of a function `name` with a stand-in bootstrap, for the caller to finish.
fn create_function(
    env: &Emulator,
    name: &str,
) -> aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder {
    env.lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        // A role of the function's own account (moto refuses another account's).
        .role(ROLE_ARN.replace("123456789012", &env.account))
        .handler("bootstrap")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip_with("bootstrap", b"#!/bin/sh\n")))
                .build(),
        )
}

/// A stack in the emulator's CloudFormation that owns `function` as CloudFormation marks what
/// it creates: the function tagged `aws:cloudformation:stack-id` with the stack's id (real
/// Lambda takes `aws:` tags from CloudFormation alone; moto takes them from anyone). Returns
/// the stack's id.
pub async fn stack_owning(env: &Emulator, function: &str) -> String {
    let cloudformation = aws_sdk_cloudformation::Client::new(&env.config);
    let stack_id = cloudformation
        .create_stack()
        .stack_name(unique("app"))
        .template_body(
            r#"{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}"#,
        )
        .send()
        .await
        .expect("create stack")
        .stack_id
        .expect("a stack id");
    let arn = env
        .lambda
        .get_function()
        .function_name(function)
        .send()
        .await
        .expect("get function")
        .configuration
        .and_then(|c| c.function_arn)
        .expect("the function's ARN");
    env.lambda
        .tag_resource()
        .resource(arn)
        .tags(shiftback::service::STACK_ID_TAG, &stack_id)
        .send()
        .await
        .expect("tag the function");
    stack_id
}

/// A state machine that only waits: moto keeps its executions, and runs nothing. What the
/// CLI's `start` is pointed at where the workflow itself is not under test.
pub async fn waiting_machine(sfn: &aws_sdk_sfn::Client) -> String {
    waiting_machine_named(sfn, "release").await
}

/// The same, its name `<prefix>-<suffix>` (as SAM names a template's state machine).
pub async fn waiting_machine_named(sfn: &aws_sdk_sfn::Client, prefix: &str) -> String {
    sfn.create_state_machine()
        .name(unique(prefix))
        .role_arn(ROLE_ARN)
        .definition(
            r#"{"StartAt":"Wait","States":{"Wait":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
        )
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn
}
