//! Operator commands on a running release: recorded with who asked, announced when they happen,
//! and a bad command line refused with its specific error and nothing changed.

use super::*;
use shiftback::ports::AliasRouter as _;
use shiftback_integration_tests::{drain_queue, snapshot, subscribed_queue, topic};

#[tokio::test]
async fn pause_resume_abort_promote_are_recorded_with_who_asked() {
    let s = setup().await;
    let id = s.started("linear:25:10m", "2").await;
    let out = s.run(&["pause", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("paused at 25%"));
    let out = s.run(&["--json", "status", &id]);
    assert_eq!(json(&out)["release"]["phase_name"], "paused");
    // The newest entry as the team was told of it.
    let told = &json(&out)["release"]["last_event"];
    assert_eq!(
        (&told["kind"], &told["severity"]),
        (&"paused".into(), &"info".into())
    );
    assert_eq!(told["outcome"], "in_progress");
    let out = s.run(&["pause", &id]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "pausing twice is refused: {}",
        text(&out)
    );
    assert_eq!(s.run(&["resume", &id]).status.code(), Some(0));

    let out = s.run(&["abort", &id, "--reason", "latency regression"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let router = LambdaRouter::new(s.env.lambda.clone());
    assert_eq!(
        router
            .read(&s.function, "live")
            .await
            .unwrap()
            .routing
            .to_string(),
        "version 1"
    );
    let release = s.store.load(&id).await.unwrap().release;
    assert_eq!(release.phase.name(), "aborted");
    assert!(release
        .log
        .iter()
        .any(|e| e.actor == "cli:carol" && e.event.name() == "paused"));
    assert!(release.reason.unwrap().contains("latency regression"));
    let out = s.run(&["promote", &id]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out).contains("aborted"), "{}", text(&out));
    let out = s.run(&["status", &id, "--watch"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "a watched release that did not promote exits 5"
    );

    // Promote takes effect at once.
    let next = s.started("linear:10:10m", "3").await;
    let out = s.run(&["promote", &next]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        router
            .read(&s.function, "live")
            .await
            .unwrap()
            .routing
            .to_string(),
        "version 3"
    );

    // Rollback to a recorded version, and not to one never live.
    let out = s.run(&["rollback", &s.function, "--alias", "live", "--to", "2"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "version 2 was aborted, never good: {}",
        text(&out)
    );
    let out = s.run(&["rollback", &s.function, "--alias", "live", "--to", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        router
            .read(&s.function, "live")
            .await
            .unwrap()
            .routing
            .to_string(),
        "version 1"
    );
}

#[tokio::test]
async fn every_bad_command_line_gets_its_specific_error_and_changes_nothing() {
    let s = setup().await;
    let release = s.started("canary:10:10m", "2").await;
    let before = snapshot(&s.env, s.store.table(), &s.function, None).await;
    let corpus: Value =
        serde_json::from_str(include_str!("../../../tests/corpus/cli-inputs.json")).unwrap();
    let cases = corpus["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    let mut wrong = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let args: Vec<String> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a.as_str()
                    .unwrap()
                    .replace("{{function}}", &s.function)
                    .replace("{{alarm}}", &s.alarm)
                    .replace("{{release}}", &release)
            })
            .collect();
        let expected = case["error"]
            .as_str()
            .unwrap()
            .replace("{{release}}", &release);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = s.run(&args);
        let printed = text(&out);
        if out.status.code() != case["exit"].as_i64().map(|c| c as i32)
            || !printed.contains(&expected)
        {
            wrong.push(format!(
                "{name}: expected exit {} and '{expected}', got {:?}: {printed}",
                case["exit"],
                out.status.code()
            ));
        }
        // No panic, no backtrace: a person reads this.
        assert!(!printed.contains("panicked"), "{name}: {printed}");
        assert_eq!(
            snapshot(&s.env, s.store.table(), &s.function, None).await,
            before,
            "{name} changed state"
        );
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn operator_actions_are_announced_when_they_happen() {
    // Not at the workflow's next look, which for a paused release may be minutes away.
    let s = setup().await;
    let topic = topic(&s.env, "releases").await;
    let queue = subscribed_queue(&s.env, &topic, true, None).await;
    let id = s.started("linear:10:10m", "2").await;
    for command in ["pause", "resume", "abort"] {
        let mut args = vec!["--release-topic", topic.as_str(), command, id.as_str()];
        if command == "abort" {
            args.extend(["--reason", "latency"]);
        }
        let out = s.run(&args);
        assert_eq!(out.status.code(), Some(0), "{command}: {}", text(&out));
    }
    let sent: Vec<String> = drain_queue(&s.env, &queue)
        .await
        .iter()
        .map(|m| {
            m["metadata"]["eventType"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    for event in ["paused", "resumed", "aborted"] {
        assert!(sent.iter().any(|e| e == event), "{event} not in {sent:?}");
    }
}

#[tokio::test]
async fn ignore_silences_one_guard_for_a_while_and_never_the_last() {
    let s = setup().await;
    let only_guard = s.started("linear:25:10m", "2").await;
    let ignore = |id: &str, guard: &[&str]| {
        let mut args = vec!["ignore", id];
        args.extend_from_slice(guard);
        args.extend_from_slice(&["--for", "10m", "--reason", "batch import spike"]);
        s.run(&args)
    };
    let out = ignore(&only_guard, &["--alarm", &s.alarm]);
    says(&out, 3, "the last guard not ignored");
    s.run(&["abort", &only_guard]);

    // Guarded by its alarm and its canary analysis: one of the two may be ignored.
    let mut request = release_request(&s.function, &s.alarm, "2", "linear:25:10m");
    request.analysis = shiftback::domain::AnalysisSettings::default();
    let id = s.service().start(request).await.unwrap().release_id;
    let out = ignore(&id, &["--alarm", &s.alarm]);
    says(&out, 0, &format!("{} ignored until", s.alarm));
    let shown = text(&s.run(&["status", &id]));
    assert!(
        shown.contains(&format!("ignoring {} until", s.alarm))
            && shown.contains("(cli:carol: batch import spike)"),
        "{shown}"
    );
    let status = json(&s.run(&["--json", "status", &id]));
    assert_eq!(status["ignored"][0]["guard"], s.alarm.as_str());
    let out = ignore(&id, &["--analysis"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = s.run(&[
        "ignore", &id, "--alarm", &s.alarm, "--for", "1d", "--reason", "x",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[tokio::test]
async fn approve_needs_a_release_at_a_gate_and_plan_names_the_gates() {
    let s = setup().await;
    let id = s.started("linear:25:10m", "2").await;
    let out = s.run(&["approve", &id]);
    says(&out, 3, "cannot approve (it is not at a gate)");
    let release = s.store.load(&id).await.unwrap().release;
    assert!(!release.log.iter().any(|e| e.event.name() == "approved"));
    s.run(&["abort", &id]);

    let plan = s.run(&[
        "plan",
        &s.function,
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        "steps:10@5m,gate,50@5m",
        "--gate-before-promote",
        "--gate-timeout",
        "24h",
        "--alarm",
        &s.alarm,
    ]);
    let printed = text(&plan);
    assert!(
        printed.contains("waits for `shiftback approve` after step(s) 1, 2; a gate unanswered for 86400s aborts the release"),
        "{printed}"
    );
    let refused = s.run(&[
        "plan",
        &s.function,
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        "steps:gate,10@5m",
    ]);
    says(&refused, 2, "a gate holds the release after a step");
}

#[tokio::test]
async fn approve_at_a_gate_moves_on_and_hands_back_the_token_that_status_never_shows() {
    let s = setup().await;
    let service = s.service();
    let started = service
        .start(release_request(
            &s.function,
            &s.alarm,
            "2",
            "steps:10@0s,gate,50@0s",
        ))
        .await
        .unwrap();
    let step = |token: Option<&str>| shiftback::service::StepInput {
        release_id: Some(started.release_id.clone()),
        error: None,
        task_token: token.map(String::from),
        gate_expired: false,
    };
    assert_eq!(service.advance(step(None)).await.unwrap().phase, "at_gate");
    // The workflow registers its token, as its Gate state does.
    service.advance(step(Some("tok-secret-1"))).await.unwrap();
    let id = started.release_id.as_str();
    let shown = text(&s.run(&["--json", "status", id]));
    assert!(
        shown.contains("at_gate") && !shown.contains("tok-secret-1"),
        "{shown}"
    );

    let out = s.run(&["approve", id]);
    says(&out, 0, "approved: 50% on version 2");
    let release = s.store.load(id).await.unwrap().release;
    assert!(release
        .log
        .iter()
        .any(|e| e.event.name() == "approved" && e.actor == "cli:carol"));
    // Step Functions got the token back (moto keeps it for the e2e runner; see moto_sfn.py).
    let kept: Value = post_json(
        &format!(
            "{}/moto-api/shiftback/task-result",
            std::env::var("AWS_ENDPOINT_URL").unwrap()
        ),
        r#"{"token": "tok-secret-1"}"#,
    );
    assert_eq!(
        serde_json::from_str::<Value>(kept["output"].as_str().unwrap()).unwrap()["next"],
        "wait"
    );
}

/// A POST with the standard library only (the tests have no HTTP client crate of their own).
fn post_json(url: &str, body: &str) -> Value {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /{path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (_, json) = response.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(json).unwrap()
}
