//! One 10-step linear release (9 partial weights, then promotion) driven through the real
//! state machine definition: a small walker follows `statemachine/release.asl.json` state by
//! state, calling the same service functions the Task states' handlers call (with zero bakes,
//! so it runs in seconds). Counted: every AWS call by operation, Step Functions state
//! transitions, DynamoDB write units; then the cost at public us-east-1 list prices.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::Value;
use shiftback::adapters::{CloudWatchHealth, DynamoStore, LambdaRouter, SnsNotifier};
use shiftback::service::{parse_input, parse_start, ReleaseService};
use shiftback_integration_tests::{
    alarm_in_state, function_with_versions, publish_version_metric, release_request,
    subscribed_queue, topic, CallLog, Clients, Emulator,
};

use crate::Row;

// Public list prices, us-east-1 (USD).
const SFN_PER_TRANSITION: f64 = 0.025 / 1_000.0;
const LAMBDA_PER_REQUEST: f64 = 0.20 / 1_000_000.0;
const LAMBDA_ARM_PER_GB_SECOND: f64 = 0.000_013_333_4;
const DYNAMODB_PER_WRITE_UNIT: f64 = 0.625 / 1_000_000.0;
const DYNAMODB_PER_READ_UNIT: f64 = 0.125 / 1_000_000.0;
const SNS_PER_PUBLISH: f64 = 0.50 / 1_000_000.0;
const CLOUDWATCH_PER_API_REQUEST: f64 = 0.01 / 1_000.0;
// GetMetricData is billed by the metric requested, not by the call.
const CLOUDWATCH_PER_METRIC_REQUESTED: f64 = 0.01 / 1_000.0;
const MEMORY_GB: f64 = 128.0 / 1024.0;

fn write_units(operation: &str, sizes: &[usize]) -> u64 {
    // One unit per KB written; transactions cost two.
    let per_item = if operation == "TransactWriteItems" {
        2
    } else {
        1
    };
    sizes
        .iter()
        .map(|size| per_item * (*size as u64).div_ceil(1024).max(1))
        .sum()
}

pub async fn measure(env: &Emulator) -> Vec<Row> {
    let mut rows = release_cost(env, false).await;
    rows.extend(release_cost(env, true).await);
    rows
}

/// What Lambda publishes for an alias with weighted routing, so that every step's analysis
/// has traffic to judge (and judges it healthy).
async fn publish_traffic(env: &Emulator, function: &str) {
    for (version, invocations) in [("2", 500.0), ("1", 5_000.0)] {
        publish_version_metric(env, function, version, "Invocations", invocations).await;
    }
}

/// One 10-step release, with canary analysis at every step or without.
async fn release_cost(env: &Emulator, analysis: bool) -> Vec<Row> {
    let log = CallLog::default();
    let Clients {
        lambda,
        dynamodb,
        cloudwatch,
        sns,
        ..
    } = env.clients_with(&log);
    let function = function_with_versions(env, 2, "live").await;
    let alarm = alarm_in_state(env, StateValue::Ok).await;
    let table = shiftback_integration_tests::release_store(env).await;
    let topic = topic(env, "cost").await;
    subscribed_queue(env, &topic, true, None).await;
    let store = DynamoStore::new(dynamodb.clone(), table.table());
    let service = ReleaseService::new(
        LambdaRouter::new(lambda),
        store,
        CloudWatchHealth::new(cloudwatch),
    )
    .with_notifier(SnsNotifier::new(sns, dynamodb, table.table(), topic, None));

    let asl: Value = serde_json::from_str(include_str!("../../../statemachine/release.asl.json"))
        .expect("ASL parses");
    let mut request = release_request(&function, &alarm, "2", "linear:10:0s");
    if analysis {
        request.analysis = shiftback::domain::AnalysisSettings::default();
        publish_traffic(env, &function).await;
    }
    let mut data = serde_json::to_value(&request).unwrap();
    log.clear();
    let mut state = asl["StartAt"].as_str().unwrap().to_string();
    let mut transitions = 0;
    let mut invocations = 0;
    let mut task_time = Duration::ZERO;
    let outcome = loop {
        transitions += 1;
        let definition = &asl["States"][&state];
        match definition["Type"].as_str().unwrap() {
            "Task" => {
                let resource = definition["Resource"].as_str().unwrap();
                let started = Instant::now();
                let input = data.clone();
                let output = if resource.contains("StartFunction") {
                    service.start(parse_start(input).unwrap()).await
                } else if resource.contains("AdvanceFunction") {
                    service.advance(parse_input(input).unwrap()).await
                } else if resource.contains("PromoteFunction") {
                    service.promote(parse_input(input).unwrap()).await
                } else {
                    service.rollback(parse_input(input).unwrap()).await
                };
                task_time += started.elapsed();
                invocations += 1;
                let output = output.unwrap_or_else(|e| panic!("task {state} failed: {e}"));
                data = serde_json::to_value(output).unwrap();
                state = definition["Next"].as_str().unwrap().to_string();
            }
            "Choice" => {
                let chosen = definition["Choices"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|choice| {
                        let field = choice["Variable"]
                            .as_str()
                            .unwrap()
                            .trim_start_matches("$.");
                        data[field] == choice["StringEquals"]
                    });
                state = chosen
                    .map_or(&definition["Default"], |c| &c["Next"])
                    .as_str()
                    .unwrap()
                    .to_string();
            }
            // The execution's name, which is the release id, beside the input.
            "Pass" => {
                let name = request.release_id.clone().unwrap();
                data = serde_json::json!({"release_id": name, "request": data});
                state = definition["Next"].as_str().unwrap().to_string();
            }
            // Zero bakes: the wait itself is free, but it is a transition.
            "Wait" => state = definition["Next"].as_str().unwrap().to_string(),
            "Succeed" | "Fail" => break state.clone(),
            other => panic!("state type {other} not walked"),
        }
    };
    assert_eq!(outcome, "Succeeded", "the release must succeed");

    let calls = log.calls();
    let mut by_operation: BTreeMap<String, usize> = BTreeMap::new();
    let (mut wcu, mut rcu, mut ddb_writes) = (0, 0, 0);
    for call in &calls {
        *by_operation.entry(call.operation.clone()).or_default() += 1;
        match call.operation.as_str() {
            "TransactWriteItems" | "PutItem" | "UpdateItem" | "DeleteItem" => {
                ddb_writes += call.written.len().max(1);
                wcu += write_units(&call.operation, &call.written);
            }
            // Strongly consistent reads of small items: one unit each (an estimate; the
            // release's log Query reads a few KB at most).
            "GetItem" | "Query" => rcu += 1,
            _ => {}
        }
    }
    let publishes = by_operation.get("Publish").copied().unwrap_or(0);
    let describes = by_operation.get("DescribeAlarms").copied().unwrap_or(0);
    let metrics_requested: usize = calls
        .iter()
        .filter(|c| c.operation == "GetMetricData")
        .map(|c| c.metrics_requested)
        .sum();
    let lambda_cost = invocations as f64 * LAMBDA_PER_REQUEST
        + task_time.as_secs_f64() * MEMORY_GB * LAMBDA_ARM_PER_GB_SECOND;
    let parts = [
        (
            "Step Functions transitions",
            transitions as f64 * SFN_PER_TRANSITION,
        ),
        ("Lambda requests and duration", lambda_cost),
        (
            "DynamoDB writes and reads",
            wcu as f64 * DYNAMODB_PER_WRITE_UNIT + rcu as f64 * DYNAMODB_PER_READ_UNIT,
        ),
        ("SNS publishes", publishes as f64 * SNS_PER_PUBLISH),
        (
            "CloudWatch DescribeAlarms",
            describes as f64 * CLOUDWATCH_PER_API_REQUEST,
        ),
        (
            "CloudWatch GetMetricData (per metric requested)",
            metrics_requested as f64 * CLOUDWATCH_PER_METRIC_REQUESTED,
        ),
    ];
    let total: f64 = parts.iter().map(|(_, c)| c).sum();

    let with = if analysis {
        "with canary analysis"
    } else {
        "without analysis"
    };
    println!(
        "\na 10-step linear release (linear:10, zero bakes, {with}) walked through the real ASL"
    );
    println!(
        "AWS calls: {} in all: {}",
        calls.len(),
        by_operation
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Step Functions state transitions: {transitions}; Lambda invocations: {invocations} ({:.0} ms of handler time against moto)",
        task_time.as_secs_f64() * 1000.0
    );
    println!("DynamoDB items written: {ddb_writes} ({wcu} write units), reads: {rcu}");
    println!("| cost part | USD |\n|---|---|");
    for (name, cost) in parts {
        println!("| {name} | {cost:.7} |");
    }
    println!("| total | {total:.7} |");
    println!("(Lambda control-plane calls such as UpdateAlias and GetAlias are not billed.)");
    let steps = 10.0;
    let control_plane = ["GetAlias", "UpdateAlias", "GetFunctionConfiguration"]
        .iter()
        .map(|op| by_operation.get(*op).copied().unwrap_or(0))
        .sum::<usize>();
    vec![
        Row::new(
            &format!(
                "10-step release {with}: AWS calls / SFN transitions / DynamoDB items written"
            ),
            format!("{} / {transitions} / {ddb_writes}", calls.len()),
            "-",
            None,
        ),
        Row::new(
            &format!(
                "10-step release {with}: calls per step (Lambda control plane / GetMetricData)"
            ),
            format!(
                "{:.1} / {:.1}",
                control_plane as f64 / steps,
                by_operation.get("GetMetricData").copied().unwrap_or(0) as f64 / steps
            ),
            "-",
            None,
        ),
        Row::new(
            &format!("10-step release {with}: cost at list prices"),
            format!("${total:.6}"),
            if analysis { "-" } else { "< $0.001" },
            (!analysis).then_some(total < 0.001),
        ),
    ]
}
