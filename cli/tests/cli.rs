//! The `shiftback` binary against moto: human and `--json` output, and exit codes.

#[path = "cli/operator.rs"]
mod operator;
#[path = "cli/prune.rs"]
mod prune;

use std::process::Output;

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftback::adapters::{CloudWatchHealth, DynamoStore, LambdaRouter};
use shiftback::service::{Next, ReleaseService, StepInput};
use shiftback_integration_tests::{
    alarm_in_state, emulator, function_with_versions, release_request, release_store, unique,
    Emulator, ROLE_ARN,
};

struct Setup {
    env: Emulator,
    store: DynamoStore,
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

/// A state machine that only waits: moto keeps its executions, and runs nothing.
async fn waiting_machine(sfn: &aws_sdk_sfn::Client) -> String {
    sfn.create_state_machine()
        .name(unique("release"))
        .role_arn(ROLE_ARN)
        .definition(
            r#"{"StartAt":"Wait","States":{"Wait":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn
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
            LambdaRouter::new(self.env.lambda.clone()),
            self.store.clone(),
            CloudWatchHealth::new(self.env.cloudwatch.clone()),
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
    assert!(
        printed.contains("canary analysis after each step's bake")
            && printed.contains("Showing a target no worse at a 10% canary takes about"),
        "what the analysis will check: {printed}"
    );
    // The function took no traffic in the last hour (nothing published to the emulator): the
    // plan says no step can decide, and what to do.
    assert!(
        printed.contains("the alias took no invocations in the last 60 minutes")
            && printed.contains("pre-traffic hook"),
        "{printed}"
    );
    let off = s.run(&[&args[..], &["--analysis", "off"][..]].concat());
    assert!(
        !text(&off).contains("took no invocations"),
        "no advice without analysis"
    );
    assert!(
        text(&off).contains("canary analysis is off"),
        "{}",
        text(&off)
    );
    let out = s.run(&[&["--json"][..], &args[..]].concat());
    let plan = json(&out);
    assert_eq!(plan["steps"].as_array().unwrap().len(), 3);
    assert_eq!(plan["request"]["stable_version"], "1");
    assert_eq!(plan["ok"], true);
    // Versions 1-3, live on 1, keeping 1: version 2 would go.
    let retained = s.run(&[&args[..], &["--retain", "1"][..]].concat());
    let printed = text(&retained);
    assert!(
        printed.contains("versions are pruned: the newest 1 and every version in use"),
        "{printed}"
    );
    assert!(
        printed.contains("code storage ")
            && printed.contains(" --keep 1 --apply` would delete 1 version(s)"),
        "{printed}"
    );
    let hooked = [
        "--pre-traffic-hook",
        "orders-smoke",
        "--post-traffic-hook",
        "orders-e2e",
        "--hook-deadline",
        "20m",
    ];
    let printed = text(&s.run(&[&args[..], &hooked[..]].concat()));
    assert!(
        printed.contains("pre-traffic hook orders-smoke is called before any traffic moves; it must pass within 1200s")
            && printed.contains("post-traffic hook orders-e2e is called at 100%"),
        "{printed}"
    );
    let bad = s.run(
        &[
            &args[..],
            &["--pre-traffic-hook", "x", "--hook-deadline", "4h"][..],
        ]
        .concat(),
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("hook deadline of 14400s must be between 1s and 10800s"),
        "{}",
        text(&bad)
    );
}

#[tokio::test]
async fn plan_checks_every_member_of_a_group() {
    let s = setup().await;
    let worker = function_with_versions(&s.env, 2, "live").await;
    let member = format!("{worker}:live:2");
    let args = [
        "plan",
        &s.function,
        "--alias",
        "live",
        "--to",
        "2",
        "--member",
        &member,
        "--strategy",
        "linear:50:1m",
        "--alarm",
        &s.alarm,
    ];
    let out = s.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains(&format!("member {worker}:live: v1 → v2")),
        "{printed}"
    );
    // A member that names no version: a usage error before any AWS call.
    let bad = s.run(&[&args[..6], &["--member", "orders-worker"][..]].concat());
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("FUNCTION:ALIAS:VERSION"),
        "{}",
        text(&bad)
    );
    // A member whose version does not exist refuses the whole group.
    let missing = format!("{worker}:live:9");
    let refused = s.run(&[&args[..6], &["--member", &missing][..]].concat());
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
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
async fn history_and_status_report_a_finished_release() {
    let s = setup().await;
    let id = s.started("steps:50@0s", "2").await;
    let service = s.service();
    let mut step = service
        .advance(StepInput {
            task_token: None,
            gate_expired: false,
            release_id: Some(id.clone()),
            error: None,
        })
        .await
        .unwrap();
    assert_eq!(step.next, Next::Promote);
    step = service
        .promote(StepInput {
            task_token: None,
            gate_expired: false,
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

#[tokio::test]
async fn dashboard_puts_the_aliass_versions_and_release_steps() {
    let s = setup().await;
    let id = s.started("steps:50@0s", "2").await;
    let out = s.run(&["--json", "dashboard", &s.function, "--alias", "live"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = json(&out);
    let name = printed["dashboard"].as_str().unwrap();
    assert_eq!(printed["releases"], 1);
    let stored = s
        .env
        .cloudwatch
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(stored.dashboard_body().unwrap()).unwrap();
    let widget = &body["widgets"][0]["properties"];
    let labels: Vec<&str> = widget["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m[8]["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["v2", "v1"]);
    let marks = widget["annotations"]["vertical"].as_array().unwrap();
    assert_eq!(marks[0]["label"], format!("{id}: 50% on v2"));
}

#[tokio::test]
async fn list_shows_what_is_releasing_and_says_so_when_nothing_is() {
    let s = setup().await;
    let out = s.run(&["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("nothing is releasing"),
        "{}",
        text(&out)
    );
    let id = s.started("linear:25:10m", "2").await;
    let out = s.run(&["list"]);
    let shown = text(&out);
    assert!(
        shown.contains(&id) && shown.contains(&format!("{}:live", s.function)),
        "{shown}"
    );
    assert!(shown.contains("step 1/3 bake"), "{shown}");
    let out = s.run(&["--json", "list"]);
    let listed = &json(&out)["releases"];
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["phase"], "shifting");
    assert_eq!(listed[0]["weight"], 25.0);
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
