//! A 5-member group, 10 steps (linear:10, zero bakes): the Lambda control-plane calls each
//! member pays per step against the account's shared 15 requests/s, and how long a step of
//! the whole group takes with the rate limiter pacing it.

use std::time::Instant;

use aws_sdk_cloudwatch::types::StateValue;
use shiftback::adapters::{CloudWatchHealth, DynamoStore, LambdaRouter};
use shiftback::domain::Member;
use shiftback::service::{Next, ReleaseService, StartRequest, StepInput};
use shiftback_integration_tests::{
    alarm_in_state, function_with_versions, release_request, CallLog, Clients, Emulator,
};

use crate::Row;

const MEMBERS: usize = 5;
const STEPS: usize = 10;

pub async fn measure(env: &Emulator) -> Vec<Row> {
    let log = CallLog::default();
    let Clients {
        lambda,
        dynamodb,
        cloudwatch,
        ..
    } = env.clients_with(&log);
    let table = shiftback_integration_tests::release_store(env).await;
    let service = ReleaseService::new(
        LambdaRouter::new(lambda),
        DynamoStore::new(dynamodb, table.table()),
        CloudWatchHealth::new(cloudwatch),
    );
    let mut functions = Vec::new();
    for _ in 0..MEMBERS {
        functions.push(function_with_versions(env, 2, "live").await);
    }
    let alarm = alarm_in_state(env, StateValue::Ok).await;
    let request = StartRequest {
        members: functions[1..]
            .iter()
            .map(|f| Member {
                function: f.clone(),
                alias: "live".into(),
                stable_version: String::new(),
                target_version: "2".into(),
            })
            .collect(),
        ..release_request(&functions[0], &alarm, "2", "linear:10:0s")
    };
    let id = request.release_id.clone().unwrap();
    let step = || -> StepInput {
        serde_json::from_value(serde_json::json!({ "release_id": id })).unwrap()
    };

    log.clear();
    let started = Instant::now();
    service.start(request).await.expect("group starts");
    let start_calls = control_plane(&log);
    log.clear();
    let looked = Instant::now();
    loop {
        let outcome = service.advance(step()).await.expect("a look");
        if outcome.next == Next::Promote {
            break;
        }
    }
    service.promote(step()).await.expect("promotes");
    let step_time = looked.elapsed() / STEPS as u32;
    let total = started.elapsed();
    let per_step = control_plane(&log);
    let per_member_step = per_step as f64 / (MEMBERS * STEPS) as f64;
    println!(
        "\na {MEMBERS}-member group, {STEPS} steps (linear:10, zero bakes): start {start_calls} Lambda control-plane calls (preflight and first step); steps and promotion {per_step} ({per_member_step:.1} per member per step: GetAlias {}, UpdateAlias {}); {:.0} ms a step of the whole group, {:.1} s in all",
        log.calls().iter().filter(|c| c.operation == "GetAlias").count(),
        log.calls().iter().filter(|c| c.operation == "UpdateAlias").count(),
        step_time.as_secs_f64() * 1000.0,
        total.as_secs_f64()
    );
    vec![Row::new(
        &format!("{MEMBERS}-member group: Lambda control-plane calls per member per step"),
        format!("{per_member_step:.1}"),
        "<= 2 (one read, one write)",
        Some(per_member_step <= 2.0),
    )]
}

fn control_plane(log: &CallLog) -> usize {
    log.calls()
        .iter()
        .filter(|c| {
            matches!(
                c.operation.as_str(),
                "GetAlias" | "UpdateAlias" | "GetFunctionConfiguration"
            )
        })
        .count()
}
