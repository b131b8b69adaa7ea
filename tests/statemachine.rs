//! The state machine definition from the repository, executed: aws-local-stepfunctions runs
//! statemachine/release.asl.json and dispatches each Task to the real handler binaries, each
//! invocation a cold process behind `local-lambda`'s Invoke API, talking to moto.

use shiftback::ports::AliasRouter as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftback::adapters::{
    AliasRouting, CloudWatchHealth, DynamoStore, LambdaRouter, StepFunctionsWorkflow,
};
use shiftback::domain::{Phase, Weight};
use shiftback::service::{Control, ReleaseService};
use shiftback_integration_tests::{
    alarm_in_state, emulator, function_with_versions, hook_function, unique, Emulator,
};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The handler binaries behind Lambda's Invoke API (`local-lambda`); stopped when dropped.
pub(crate) struct Handlers {
    _child: Child,
    pub url: String,
}

/// Builds the handler binaries with the workspace's own features (`--all-targets`: with the
/// dev-dependencies' too), so they share every compiled dependency with this test build
/// (`make test` has built them already: then this is a no-op).
fn build_handlers() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    // Without the variables cargo sets for this test binary: a build script that tracks one
    // (ring's tracks CARGO_MANIFEST_DIR) would count as changed and rebuild everything above it.
    for (name, _) in std::env::vars() {
        let set_for_this_test = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
            ]
            .contains(&name.as_str());
        if set_for_this_test {
            build.env_remove(name);
        }
    }
    let status = build
        .args(["build", "--quiet", "--workspace", "--all-targets"])
        .current_dir(root())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building the handler binaries failed");
}

async fn serve_handlers(table: &str) -> Handlers {
    serve_handlers_with(&[("RELEASE_TABLE", table), ("HOOK_FUNCTION_NAMES", "hook-*")]).await
}

/// The handler binaries behind Lambda's Invoke API, each invocation with `env` besides this
/// process's own (the emulator's endpoint and credentials).
pub(crate) async fn serve_handlers_with(env: &[(&str, &str)]) -> Handlers {
    build_handlers();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_local-lambda"))
        .args(["--port", &port.to_string()])
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("local-lambda");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Handlers { _child: child, url };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("local-lambda did not listen on {port}");
}

/// Runs one execution to its end; returns the runner's report.
/// Runs one execution named `name` (Step Functions' execution name, the release id).
async fn execute(handlers: &Handlers, name: &str, input: Value) -> Value {
    run_definition("e2e/run-workflow.mjs", &[&handlers.url, name], input).await
}

/// Runs one of e2e's runners of a definition on `input` (its standard input) and reads the
/// report it prints last.
async fn run_definition(runner: &str, args: &[&str], input: Value) -> Value {
    let root = root();
    let mut child = Command::new(root.join("e2e/node_modules/.bin/node"))
        .arg(root.join(runner))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node 22 (installed by scripts/bootstrap into e2e/node_modules)");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(900), child.wait_with_output())
        .await
        .expect("the execution did not finish within 15 minutes")
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("runner printed no report ({e}): {text}"))
}

/// The Task states the execution ran, in order.
fn states(report: &Value) -> Vec<&str> {
    let states = report["states"].as_array().expect("states");
    states.iter().filter_map(|s| s.as_str()).collect()
}

struct Scenario {
    env: Emulator,
    function: String,
    alarm: String,
}

impl Scenario {
    async fn new() -> Scenario {
        let env = emulator().await;
        let function = function_with_versions(&env, 2, "live").await;
        let alarm = alarm_in_state(&env, StateValue::InsufficientData).await;
        Scenario {
            env,
            function,
            alarm,
        }
    }

    /// An execution name and a workflow input that leaves the release id to it.
    fn input(&self, strategy: &str) -> (String, Value) {
        let id = unique("r");
        let input = json!({
            "function": self.function, "alias": "live",
            "target_version": "2", "strategy": strategy, "alarms": [self.alarm],
            "analysis": {"enabled": false},
            "started_by": "e2e"
        });
        (id, input)
    }

    async fn alias(&self) -> AliasRouting {
        LambdaRouter::new(self.env.lambda.clone())
            .read(&self.function, "live")
            .await
            .unwrap()
            .routing
    }

    async fn wait_for_weight(&self, percent: f64) {
        let wanted = Weight::from_percent(percent).unwrap();
        for _ in 0..600 {
            if self.alias().await.weight_towards("1", "2") == Some(wanted) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("alias never reached {wanted}");
    }
}

async fn linear_release_promotes(handlers: &Handlers, store: &DynamoStore) {
    let s = Scenario::new().await;
    let (id, input) = s.input("steps:10@1s,25@1s,50@1s");
    let report = execute(handlers, &id, input).await;
    assert_eq!(report["status"], "SUCCEEDED", "{report}");
    assert_eq!(report["output"]["phase"], "succeeded");
    assert_eq!(s.alias().await, AliasRouting::single("2"));
    let release = store.load(&id).await.unwrap().release;
    assert_eq!(release.phase, Phase::Succeeded);
    let weights: Vec<String> = release
        .log
        .iter()
        .filter(|e| e.event.name() == "weight_set")
        .map(|e| serde_json::to_value(&e.event).unwrap()["weight"].to_string())
        .collect();
    assert_eq!(weights, ["10.0", "25.0", "50.0"]);
    assert_eq!(release.log.last().unwrap().event.name(), "promoted");
    assert_eq!(store.lock_holder(&s.function, "live").await.unwrap(), None);
    // The input named no release id: the execution's name became it, and only one release
    // exists however often Start ran.
    let history = store.history(&s.function, 10, None).await.unwrap();
    assert_eq!(history.releases.len(), 1);
}

/// A group named wholly in `members`, as a team's pipeline would start one: both aliases
/// move in step through the real state machine and promote together.
async fn a_two_member_group_promotes_together(handlers: &Handlers, store: &DynamoStore) {
    let s = Scenario::new().await;
    let worker = function_with_versions(&s.env, 2, "live").await;
    let (id, _) = s.input("unused");
    let input = json!({
        "members": [
            {"function": s.function, "alias": "live", "target_version": "2"},
            {"function": worker, "alias": "live", "target_version": "2"}
        ],
        "strategy": "steps:50@1s", "alarms": [s.alarm],
        "analysis": {"enabled": false}, "started_by": "e2e"
    });
    let report = execute(handlers, &id, input).await;
    assert_eq!(report["status"], "SUCCEEDED", "{report}");
    let router = LambdaRouter::new(s.env.lambda.clone());
    for function in [&s.function, &worker] {
        let alias = router.read(function, "live").await.unwrap().routing;
        assert_eq!(alias, AliasRouting::single("2"), "{function}");
        assert_eq!(store.lock_holder(function, "live").await.unwrap(), None);
    }
    let release = store.load(&id).await.unwrap().release;
    assert_eq!(release.members.len(), 1);
    assert_eq!(release.members[0].stable_version, "1");
    let history = store.history(&worker, 10, None).await.unwrap();
    assert_eq!(
        history.releases[0].id, id,
        "found through its second member"
    );
}

async fn alarm_before_step_three_rolls_back(handlers: &Handlers, store: &DynamoStore) {
    let s = Scenario::new().await;
    let (id, input) = s.input("steps:10@1s,25@3s,50@3s");
    let run = execute(handlers, &id, input);
    let fire = async {
        s.wait_for_weight(25.0).await;
        s.env
            .cloudwatch
            .set_alarm_state()
            .alarm_name(&s.alarm)
            .state_value(StateValue::Alarm)
            .state_reason("Errors above threshold")
            .send()
            .await
            .unwrap();
    };
    let (report, ()) = tokio::join!(run, fire);
    assert_eq!(report["status"], "FAILED", "{report}");
    assert_eq!(report["error"], "Shiftback.NotPromoted", "{report}");
    assert_eq!(s.alias().await, AliasRouting::single("1"));
    let release = store.load(&id).await.unwrap().release;
    assert_eq!(release.phase, Phase::RolledBack);
    let reason = release.reason.unwrap();
    assert!(
        reason.contains(&s.alarm) && reason.contains("Errors above threshold"),
        "{reason}"
    );
    assert!(!release.log.iter().any(|e| e.event.name() == "promoted"));
}

async fn an_alias_changed_by_hand_is_left_as_found(handlers: &Handlers, store: &DynamoStore) {
    let s = Scenario::new().await;
    let (id, input) = s.input("steps:10@2s,25@2s");
    let run = execute(handlers, &id, input);
    let by_hand = AliasRouting {
        version: "1".into(),
        extra: Some(("2".into(), Weight::from_percent(40.0).unwrap())),
    };
    let interfere = async {
        s.wait_for_weight(10.0).await;
        // Someone changes the split by hand: the release stops and leaves it to them.
        LambdaRouter::new(s.env.lambda.clone())
            .set(&s.function, "live", &by_hand, None)
            .await
            .unwrap();
    };
    let (report, ()) = tokio::join!(run, interfere);
    assert_eq!(report["status"], "FAILED", "{report}");
    assert_eq!(report["error"], "Shiftback.NotPromoted", "{report}");
    let states = states(&report);
    assert!(!states.contains(&"RollBack"), "{report}");
    assert_eq!(s.alias().await, by_hand, "left as found");
    let release = store.load(&id).await.unwrap().release;
    assert_eq!(release.phase, Phase::Interrupted);
    assert!(release.reason.unwrap().contains("40%"));
    assert_eq!(store.lock_holder(&s.function, "live").await.unwrap(), None);
}

#[tokio::test]
async fn the_release_state_machine_runs_end_to_end() {
    let env = emulator().await;
    let store = DynamoStore::new(env.dynamodb.clone(), unique("releases"));
    store.create_table().await.unwrap();
    let handlers = serve_handlers(store.table()).await;
    // Compile and warm the handlers before the clock matters. A request Start refuses goes to
    // RollBack told the release id (the execution's name), through StartFailed.
    let refused = execute(&handlers, "warm-up", json!({"function": "warm-up"})).await;
    assert_eq!(refused["error"], "Shiftback.NotPromoted", "{refused}");
    assert_eq!(states(&refused), ["Start", "RollBack"], "{refused}");
    assert_eq!(refused["inputs"][1]["release_id"], "warm-up", "{refused}");
    assert!(
        refused["inputs"][1]["error"]["Error"].is_string(),
        "{refused}"
    );
    tokio::join!(
        linear_release_promotes(&handlers, &store),
        a_two_member_group_promotes_together(&handlers, &store),
        alarm_before_step_three_rolls_back(&handlers, &store),
        an_alias_changed_by_hand_is_left_as_found(&handlers, &store),
        retention_runs_after_the_bake_window(&handlers, &store),
        hooks_hold_the_release_and_a_failing_post_hook_rolls_back(&handlers, &store),
        a_gate_waits_for_approval_and_an_unanswered_one_aborts(&handlers, &store),
        a_pause_waits_on_a_token_until_resumed(&handlers, &store),
    );
}

mod waits;
mod waves;
use waits::*;
