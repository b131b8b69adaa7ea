//! The `shiftback` binary against moto: human and `--json` output, and exit codes.

#[path = "cli/operator.rs"]
mod operator;
#[path = "cli/plan.rs"]
mod plan;
#[path = "cli/prune.rs"]
mod prune;
#[path = "cli/start.rs"]
mod start;
#[path = "cli/waves.rs"]
mod waves;

use std::process::Output;

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftback::adapters::{CloudWatchHealth, DynamoStore, LambdaRouter};
use shiftback::service::{Next, ReleaseService, StepInput};
use shiftback_integration_tests::{
    alarm_in_state, emulator, function_with_versions, release_request, release_store,
    waiting_machine, Emulator,
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

/// The command ended with exit code `code` and said `needle` (on either stream).
#[track_caller]
fn says(output: &Output, code: i32, needle: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", text(output));
    assert!(text(output).contains(needle), "{}", text(output));
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(output)))
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
    says(&out, 0, "nothing is releasing");
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
