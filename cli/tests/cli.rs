//! The `shiftback` binary against moto: human and `--json` output, and exit codes.

use shiftback::ports::AliasRouter as _;
use std::process::Output;

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::Value;
use shiftback::adapters::{AlarmHealth, ReleaseStore, TrafficRouter};
use shiftback::service::{Next, ReleaseService, StepInput};
use shiftback_integration_tests::{
    alarm_in_state, drain_queue, emulator, function_with_versions, release_request, release_store,
    snapshot, subscribed_queue, topic, unique, Emulator, ROLE_ARN,
};

struct Setup {
    env: Emulator,
    store: ReleaseStore,
    function: String,
    alarm: String,
}

async fn setup() -> Setup {
    let env = emulator().await;
    let function = function_with_versions(&env, 3, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let store = release_store(&env).await;
    Setup {
        env,
        store,
        function,
        alarm,
    }
}

async fn set_alarm(env: &Emulator, alarm: &str, state: StateValue) {
    env.cloudwatch
        .set_alarm_state()
        .alarm_name(alarm)
        .state_value(state)
        .state_reason("errors above threshold")
        .send()
        .await
        .unwrap();
}

impl Setup {
    fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_shiftback"))
            .args(args)
            .env("SHIFTBACK_TABLE", self.store.table())
            .env("SHIFTBACK_ACTOR", "carol")
            .env_remove("SHIFTBACK_STACK")
            .output()
            .unwrap()
    }

    fn service(&self) -> ReleaseService {
        ReleaseService::new(
            TrafficRouter::new(self.env.lambda.clone()),
            self.store.clone(),
            AlarmHealth::new(self.env.cloudwatch.clone()),
        )
    }

    async fn started(&self, strategy: &str, target: &str) -> String {
        self.service()
            .start(release_request(
                &self.function,
                &self.alarm,
                target,
                strategy,
            ))
            .await
            .unwrap()
            .release_id
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(output)))
}

#[tokio::test]
async fn plan_shows_the_schedule_and_every_check() {
    let s = setup().await;
    let args = [
        "plan",
        &s.function,
        "--alias",
        "live",
        "--to",
        "2",
        "--strategy",
        "linear:25:1m",
        "--alarm",
        &s.alarm,
    ];
    let out = s.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains("step 3/3") && printed.contains("75%"),
        "{printed}"
    );
    assert!(printed.contains("no release holds the alias"), "{printed}");
    let out = s.run(&[&["--json"][..], &args[..]].concat());
    let plan = json(&out);
    assert_eq!(plan["steps"].as_array().unwrap().len(), 3);
    assert_eq!(plan["request"]["stable_version"], "1");
    assert_eq!(plan["ok"], true);
}

#[tokio::test]
async fn plan_refuses_with_the_reason_and_the_right_exit_code() {
    let s = setup().await;
    let plan = |to: &str, strategy: &str| {
        let f = s.function.clone();
        let a = s.alarm.clone();
        let (to, strategy) = (to.to_string(), strategy.to_string());
        move |s: &Setup| {
            s.run(&[
                "plan",
                &f,
                "--alias",
                "live",
                "--to",
                &to,
                "--strategy",
                &strategy,
                "--alarm",
                &a,
            ])
        }
    };
    let out = plan("2", "canary:150:5m")(&s);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("out of range"));

    let out = plan("9", "canary:10:5m")(&s);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("version 9"));

    let out = s.run(&["plan", "no-such-function", "--alias", "live", "--to", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    set_alarm(&s.env, &s.alarm, StateValue::Alarm).await;
    let out = plan("2", "canary:10:5m")(&s);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains(&s.alarm) && text(&out).contains("override"),
        "{}",
        text(&out)
    );
    set_alarm(&s.env, &s.alarm, StateValue::Ok).await;

    let holder = s.started("canary:10:10m", "2").await;
    // The alias is split now: name the stable version to see the lock refusal.
    let out = s.run(&[
        "--json",
        "plan",
        &s.function,
        "--alias",
        "live",
        "--to",
        "3",
        "--from",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let error = json(&out)["error"].as_str().unwrap().to_string();
    assert!(
        error.contains(&holder) && error.contains(&format!("shiftback abort {holder}")),
        "{error}"
    );
}

#[tokio::test]
async fn start_hands_the_release_to_the_state_machine_and_returns() {
    let s = setup().await;
    let sfn = aws_sdk_sfn::Client::new(&s.env.config);
    let machine = sfn
        .create_state_machine()
        .name(unique("release"))
        .role_arn(ROLE_ARN)
        .definition(
            r#"{"StartAt":"Wait","States":{"Wait":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn;
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
}

#[tokio::test]
async fn history_and_status_report_a_finished_release() {
    let s = setup().await;
    let id = s.started("steps:50@0s", "2").await;
    let service = s.service();
    let mut step = service
        .advance(StepInput {
            release_id: Some(id.clone()),
            error: None,
        })
        .await
        .unwrap();
    assert_eq!(step.next, Next::Promote);
    step = service
        .promote(StepInput {
            release_id: Some(id.clone()),
            error: None,
        })
        .await
        .unwrap();
    assert_eq!(step.phase, "succeeded");

    let out = s.run(&["history", &s.function]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains(&id) && printed.contains("succeeded") && printed.contains("1->2"),
        "{printed}"
    );
    let out = s.run(&["--json", "history", &s.function]);
    assert_eq!(json(&out)["releases"][0]["id"], id.as_str());

    let out = s.run(&["status", &s.function]);
    assert!(
        text(&out).contains("SUCCEEDED") && text(&out).contains("version 2"),
        "{}",
        text(&out)
    );
    let out = s.run(&["status", &id, "--watch"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a succeeded release ends the watch with 0"
    );
    let out = s.run(&["status", "nothing-by-that-name"]);
    assert_eq!(out.status.code(), Some(3));
}

#[tokio::test]
async fn pause_resume_abort_promote_are_recorded_with_who_asked() {
    let s = setup().await;
    let id = s.started("linear:25:10m", "2").await;
    let out = s.run(&["pause", &id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("paused at 25%"));
    let out = s.run(&["--json", "status", &id]);
    assert_eq!(json(&out)["release"]["phase_name"], "paused");
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
    let router = TrafficRouter::new(s.env.lambda.clone());
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
async fn without_a_table_or_stack_the_error_says_what_to_pass() {
    let s = setup().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shiftback"))
        .args(["history", &s.function])
        .env_remove("SHIFTBACK_TABLE")
        .env_remove("SHIFTBACK_STACK")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--table") && text(&out).contains("--stack"),
        "{}",
        text(&out)
    );
}

#[tokio::test]
async fn every_bad_command_line_gets_its_specific_error_and_changes_nothing() {
    let s = setup().await;
    let release = s.started("canary:10:10m", "2").await;
    let before = snapshot(&s.env, s.store.table(), &s.function, None).await;
    let corpus: Value =
        serde_json::from_str(include_str!("../../tests/corpus/cli-inputs.json")).unwrap();
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
async fn a_table_given_by_flag_needs_no_stack_for_the_topics() {
    // samconfig.toml names a stack in most working directories; with --table given, the CLI
    // must not go looking for that stack's topics (the stack may not exist here at all).
    let s = setup().await;
    let id = s.started("linear:10:10m", "2").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shiftback"))
        .args(["pause", &id])
        .env("SHIFTBACK_TABLE", s.store.table())
        .env("SHIFTBACK_STACK", "no-such-stack")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
