//! The alarm handler's revert critical path against moto, beside one bare `UpdateAlias` in
//! the same run.

use shiftback::ports::AliasRouter as _;
use std::time::Instant;

use aws_sdk_cloudwatch::types::StateValue;
use shiftback::adapters::{AliasRouting, CloudWatchHealth, DynamoStore, LambdaRouter};
use shiftback::alarm::AlarmResponder;
use shiftback::service::{ReleaseService, StartRequest};
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, function_with_versions, release_request, release_store,
    CallLog, Clients, Emulator,
};

use crate::{ms, percentile, Row};

const RUNS: usize = 30;

pub async fn measure(env: &Emulator) -> Vec<Row> {
    let store = release_store(env).await;
    let log = CallLog::default();
    let Clients {
        lambda, dynamodb, ..
    } = env.clients_with(&log);
    let responder = AlarmResponder::new(
        LambdaRouter::new(lambda.clone()),
        DynamoStore::new(dynamodb, store.table()),
        None,
    );
    let bare_router = LambdaRouter::new(lambda);
    let service = ReleaseService::new(
        LambdaRouter::new(env.lambda.clone()),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );

    let mut critical = Vec::new();
    let mut bare = Vec::new();
    let mut calls_before = Vec::new();
    let mut query = Vec::new();
    let mut revert_call = Vec::new();
    for run in 0..=RUNS {
        // Setup, not measured: a release at 10% guarded by a fresh alarm.
        let function = function_with_versions(env, 2, "live").await;
        let alarm = alarm_in_state(env, StateValue::Ok).await;
        service
            .start(StartRequest {
                started_by: "bench".into(),
                ..release_request(&function, &alarm, "2", "canary:10:10m")
            })
            .await
            .unwrap();
        let event = alarm_state_change(&alarm, "ALARM", "123456789012");

        log.clear();
        let entered = Instant::now();
        let outcome = responder.handle(event, Some("123456789012")).await.unwrap();
        assert_eq!(
            outcome[0].reverted.len(),
            1,
            "the benchmark must measure a real revert"
        );
        let calls = log.calls();
        let revert = calls
            .iter()
            .position(|c| c.operation == "UpdateAlias")
            .expect("UpdateAlias made");
        let reverted = calls[revert].finished.expect("UpdateAlias finished");

        // The same call, bare, on the same client: weight back to 10%, then time a revert.
        let weighted = AliasRouting {
            version: "1".into(),
            extra: Some((
                "2".into(),
                shiftback::domain::Weight::from_percent(10.0).unwrap(),
            )),
        };
        bare_router
            .update(&function, "live", &weighted, None)
            .await
            .unwrap();
        let started = Instant::now();
        bare_router
            .update(&function, "live", &AliasRouting::single("1"), None)
            .await
            .unwrap();
        let bare_time = started.elapsed();

        if run > 0 {
            // Run 0 warms connections and moto's code paths.
            critical.push(reverted - entered);
            bare.push(bare_time);
            calls_before.push(revert);
            let span = |c: &shiftback_integration_tests::Call| c.finished.unwrap() - c.started;
            query.push(span(&calls[0]));
            revert_call.push(span(&calls[revert]));
        }
    }
    for v in [&mut critical, &mut bare, &mut query, &mut revert_call] {
        v.sort();
    }
    let (c50, b50) = (percentile(&critical, 0.5), percentile(&bare, 0.5));
    println!("\nrevert critical path against moto ({RUNS} runs)");
    println!("| measure | p50 ms | p90 ms | max ms |");
    println!("|---|---|---|---|");
    for (name, v) in [
        ("event in -> UpdateAlias response", &critical),
        ("  of which: the guard Query", &query),
        ("  of which: the UpdateAlias", &revert_call),
        ("bare UpdateAlias", &bare),
    ] {
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} |",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.9)),
            ms(*v.last().unwrap())
        );
    }
    let ratio = ms(c50) / ms(b50);
    let before = *calls_before.iter().max().unwrap();
    println!(
        "note: moto answers the Query about as fast as UpdateAlias, so one read before the write puts a floor of about 2 under this ratio here"
    );
    vec![
        Row::new(
            "revert: event in -> UpdateAlias answered, p50 / bare UpdateAlias p50",
            format!("{:.2} / {:.2} ms = {ratio:.2}", ms(c50), ms(b50)),
            "< 1.5",
            Some(ratio < 1.5),
        ),
        Row::new(
            "revert: AWS calls before the UpdateAlias",
            before.to_string(),
            "1",
            Some(before <= 1),
        ),
    ]
}
