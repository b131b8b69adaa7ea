//! `shiftback start`: the version labelled, the release handed to the state machine, a held
//! alias refused and superseded when asked.

use super::*;

#[tokio::test]
async fn start_publish_labels_the_version_and_the_release() {
    let s = setup().await;
    let sfn = aws_sdk_sfn::Client::new(&s.env.config);
    let machine = waiting_machine(&sfn).await;
    // A change to publish, as a build would make.
    s.env
        .lambda
        .update_function_configuration()
        .function_name(&s.function)
        .description("build 4")
        .send()
        .await
        .unwrap();
    let out = s.run(&[
        "--json",
        "--state-machine",
        &machine,
        "start",
        &s.function,
        "--alias",
        "live",
        "--publish",
        "--strategy",
        "linear:50:1m",
        "--alarm",
        &s.alarm,
        "--label",
        "commit=3f2a1c9",
        "--label",
        "version=1.4.0",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let started = json(&out);
    assert_eq!(started["target_version"], "4");
    let version = s
        .env
        .lambda
        .get_function_configuration()
        .function_name(&s.function)
        .qualifier("4")
        .send()
        .await
        .unwrap();
    assert_eq!(version.description(), Some("commit=3f2a1c9 version=1.4.0"));
    let execution = sfn
        .describe_execution()
        .execution_arn(started["execution_arn"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let input: Value = serde_json::from_str(execution.input().unwrap()).unwrap();
    assert_eq!(
        input["labels"],
        json!({"commit": "3f2a1c9", "version": "1.4.0"})
    );
    // A label that is not KEY=VALUE: a usage error, nothing published.
    let bad = s.run(&[
        "--state-machine",
        &machine,
        "start",
        &s.function,
        "--alias",
        "live",
        "--publish",
        "--label",
        "commit",
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

#[tokio::test]
async fn start_hands_the_release_to_the_state_machine_and_returns() {
    let s = setup().await;
    let sfn = aws_sdk_sfn::Client::new(&s.env.config);
    let machine = waiting_machine(&sfn).await;
    let out = s.run(&[
        "--json",
        "--state-machine",
        &machine,
        "start",
        &s.function,
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        "Linear10PercentEvery1Minute",
        "--alarm",
        &s.alarm,
        "--pre-traffic-hook",
        "orders-smoke",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let started = json(&out);
    let id = started["release_id"].as_str().unwrap();
    let execution = sfn
        .describe_execution()
        .execution_arn(started["execution_arn"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(execution.name(), Some(id));
    let input: Value = serde_json::from_str(execution.input().unwrap()).unwrap();
    assert_eq!(input["release_id"], id);
    assert_eq!(input["target_version"], "2");
    assert_eq!(input["started_by"], "cli:carol");
    assert_eq!(input["strategy"], "linear:10:1m");
    assert_eq!(
        input["hooks"],
        json!({"pre_traffic": "orders-smoke", "deadline_secs": 900})
    );
}

#[tokio::test]
async fn start_refuses_a_held_alias_and_supersedes_the_release_holding_it_when_asked() {
    use shiftback::ports::AliasRouter as _;
    let s = setup().await;
    let sfn = aws_sdk_sfn::Client::new(&s.env.config);
    let machine = waiting_machine(&sfn).await;
    let running = s.started("linear:50:1h", "2").await;
    let start = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "--state-machine",
            &machine,
            "start",
            &s.function,
            "--alias",
            "live",
            "--to",
            "3",
            "--strategy",
            "linear:50:1h",
        ];
        args.extend_from_slice(extra);
        s.run(&args)
    };
    let refused = start(&[]);
    assert_ne!(refused.status.code(), Some(0), "{}", text(&refused));
    assert!(text(&refused).contains(&running), "{}", text(&refused));
    let held = s.store.load_summary(&running).await.unwrap();
    assert_eq!(held.phase.name(), "shifting", "nothing changed");

    let out = start(&["--supersede"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let started = json(&out);
    assert_eq!(started["superseded"], json!([running]));
    let superseded = s.store.load_summary(&running).await.unwrap();
    assert_eq!(superseded.phase.name(), "superseded");
    assert!(superseded
        .reason
        .unwrap()
        .contains(started["release_id"].as_str().unwrap()));
    let routing = LambdaRouter::new(s.env.lambda.clone())
        .read(&s.function, "live")
        .await
        .unwrap()
        .routing;
    assert_eq!(
        routing.to_string(),
        "version 1",
        "back on its stable version"
    );
    let execution = sfn
        .describe_execution()
        .execution_arn(started["execution_arn"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let input: Value = serde_json::from_str(execution.input().unwrap()).unwrap();
    assert_eq!(input["supersede"], true);
    assert_eq!(input["stable_version"], "1");
}
