//! `shiftback plan | start | status | abort` of a wave plan: every Region's checks before
//! anything moves, the plan recorded at home and its workflow started, a refusal that moves
//! nothing, and an operator's abort of the plan. Each Region has its own shiftback stack of
//! one name (moto's CloudFormation, with the outputs the CLI reads).

use super::*;
use shiftback_integration_tests::{alarm_named, emulator_in, function_named, unique};

const OTHER_REGIONS: [&str; 2] = ["eu-west-1", "ap-southeast-2"];
const COORDINATOR: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:shiftback-WavesFunction-1";

struct Plan {
    stack: String,
    function: String,
    alarm: String,
    home: Emulator,
    home_table: String,
    waves_machine: String,
}

async fn stack(env: &Emulator, name: &str, outputs: Value) {
    let outputs: serde_json::Map<String, Value> = outputs
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!({"Value": v})))
        .collect();
    let template = json!({
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": outputs,
    });
    aws_sdk_cloudformation::Client::new(&env.config)
        .create_stack()
        .stack_name(name)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
}

/// The home Region (us-east-1) and two more, each with the function on version 1 of 2, the
/// alarm, and a shiftback stack of one name.
async fn plan_fixture() -> Plan {
    let stack_name = unique("shiftback");
    let function = unique("fn");
    let alarm = unique("errors");
    let home = emulator().await;
    let home_table = release_store(&home).await.table().to_string();
    let sfn = aws_sdk_sfn::Client::new(&home.config);
    let waves_machine = waiting_machine(&sfn).await;
    stack(
        &home,
        &stack_name,
        json!({"ReleaseTableName": home_table, "WavesStateMachineArn": waves_machine,
               "StateMachineArn": waiting_machine(&sfn).await, "WavesFunctionArn": COORDINATOR,
               "ReleaseTopicArn": shiftback_integration_tests::topic(&home, "releases").await}),
    )
    .await;
    for region in OTHER_REGIONS {
        let env = emulator_in(region).await;
        function_named(&env, &function, 2, "live", 1).await;
        alarm_named(&env, &alarm, StateValue::Ok).await;
        let table = release_store(&env).await.table().to_string();
        let machine = waiting_machine(&aws_sdk_sfn::Client::new(&env.config)).await;
        stack(
            &env,
            &stack_name,
            json!({"ReleaseTableName": table, "StateMachineArn": machine}),
        )
        .await;
    }
    Plan {
        stack: stack_name,
        function,
        alarm,
        home,
        home_table,
        waves_machine,
    }
}

impl Plan {
    fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_shiftback"))
            .args(args)
            .env("SHIFTBACK_STACK", &self.stack)
            .env("SHIFTBACK_ACTOR", "carol")
            .env_remove("SHIFTBACK_TABLE")
            .output()
            .unwrap()
    }

    fn release_args<'a>(&'a self, command: &'a str, waves: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            command,
            &self.function,
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "canary:10:5m",
            "--alarm",
            &self.alarm,
            "--wave-bake",
            "10m",
        ];
        for wave in waves {
            args.extend(["--wave", wave]);
        }
        args
    }

    async fn executions(&self) -> Vec<(String, Value)> {
        let sfn = aws_sdk_sfn::Client::new(&self.home.config);
        let listed = sfn
            .list_executions()
            .state_machine_arn(&self.waves_machine)
            .send()
            .await
            .unwrap();
        let mut found = Vec::new();
        for e in listed.executions() {
            let described = sfn
                .describe_execution()
                .execution_arn(e.execution_arn())
                .send()
                .await
                .unwrap();
            let input = serde_json::from_str(described.input().unwrap_or("null")).unwrap();
            found.push((e.name().to_string(), input));
        }
        found
    }
}

#[tokio::test]
async fn plan_shows_every_wave_and_every_regions_checks() {
    let p = plan_fixture().await;
    let out = p.run(&p.release_args("plan", &["eu-west-1", "ap-southeast-2"]));
    says(
        &out,
        0,
        "2 wave(s), 2 target(s), coordinated from us-east-1",
    );
    let printed = text(&out);
    for needle in [
        "wave 1:",
        "wave 2:",
        "eu-west-1",
        "ap-southeast-2",
        "1->2",
        "bakes 10m00s",
    ] {
        assert!(printed.contains(needle), "{needle}: {printed}");
    }
    // A dry run: nothing recorded, nothing started.
    assert!(p.executions().await.is_empty());
}

#[tokio::test]
async fn a_region_without_shiftback_refuses_the_plan_and_nothing_moves() {
    let p = plan_fixture().await;
    let waves = ["eu-west-1", "eu-north-1"];
    let out = p.run(&p.release_args("plan", &waves));
    says(
        &out,
        3,
        &format!("no shiftback stack named {} in eu-north-1", p.stack),
    );
    let out = p.run(&p.release_args("start", &waves));
    says(&out, 3, "plan not started, nothing moved: eu-north-1:");
    assert!(p.executions().await.is_empty());
    // What a plan does not carry yet is refused, not dropped.
    let mut args = p.release_args("start", &waves);
    args.extend(["--member", "other:live:2"]);
    says(
        &p.run(&args),
        2,
        "--member is not carried by a wave plan yet",
    );
}

#[tokio::test]
async fn start_records_the_plan_at_home_and_starts_its_workflow_then_abort_stops_it() {
    let p = plan_fixture().await;
    let out = p.run(&p.release_args("start", &["eu-west-1", "ap-southeast-2"]));
    says(&out, 0, "started plan plan-");
    let plan_id = text(&out)
        .split_whitespace()
        .find(|w| w.starts_with("plan-"))
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let executions = p.executions().await;
    assert_eq!(
        executions,
        [(
            plan_id.clone(),
            json!({"plan_id": plan_id, "looks": 0, "generation": 0})
        )]
    );
    let status = p.run(&["status", &plan_id]);
    says(&status, 0, "releasing (wave 1 of 2)");
    assert!(text(&status).contains("waiting"), "{}", text(&status));
    // The record is in the home Region's table.
    let stored = DynamoStore::new(p.home.dynamodb.clone(), &p.home_table)
        .load_plan(&plan_id)
        .await
        .unwrap()
        .0;
    assert_eq!(stored.targets.len(), 2);
    // Each regional release will name the home stack's coordinator, to stop the plan at once.
    assert_eq!(stored.coordinator.as_deref(), Some(COORDINATOR));
    assert_eq!(stored.alarms, std::slice::from_ref(&p.alarm));
    // `list` in the home Region shows the running plan, Region by Region.
    let listed = p.run(&["list"]);
    says(&listed, 0, &plan_id);
    assert!(
        text(&listed).contains("eu-west-1 waiting"),
        "{}",
        text(&listed)
    );
    let out = p.run(&["abort", &plan_id, "--reason", "wrong build"]);
    says(&out, 0, "stopped: aborted by cli:carol: wrong build");
    assert!(
        text(&out).contains("skipped (never moved)"),
        "{}",
        text(&out)
    );
    let json_status = json(&p.run(&["--json", "status", &plan_id]));
    assert_eq!(json_status["phase"]["phase"], "stopped");
    // Ended: no longer listed.
    let listed = json(&p.run(&["--json", "list"]));
    assert_eq!(listed["plans"], json!([]), "{listed}");
}

/// The walk-through in docs/src/waves.md, as it runs: a 3-Region plan (us-east-1 coordinating
/// and first, then eu-west-1, then ap-southeast-2) planned and started with the CLI, carried
/// out by the coordinator's looks (as the waves workflow makes them, the 30-minute bakes on
/// the plan's clock), and stopped by an alarm in the last wave; then `status` and a Region's
/// `history`. `SHIFTBACK_WALKTHROUGH=1` prints what each command printed.
#[tokio::test]
async fn walkthrough_a_three_region_plan_stopped_by_an_alarm_in_its_last_wave() {
    use shiftback::runtime::wave_coordinator_with;
    use shiftback::waves::{epoch_now, stop_for};
    use shiftback_integration_tests::waves::region_for;

    let (stack, alarm, function) = ("shiftback-walk", "checkout-errors", "checkout");
    let home_outputs = {
        let env = emulator().await;
        let machine = waiting_machine(&aws_sdk_sfn::Client::new(&env.config)).await;
        json!({"WavesStateMachineArn": machine, "WavesFunctionArn": COORDINATOR})
    };
    let mut regions =
        vec![region_for("us-east-1", stack, alarm, Some(function), home_outputs).await];
    for name in ["eu-west-1", "ap-southeast-2"] {
        regions.push(region_for(name, stack, alarm, Some(function), json!({})).await);
    }
    let shown = std::env::var("SHIFTBACK_WALKTHROUGH").is_ok();
    let run = |args: &[&str], region: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shiftback"))
            .args(args)
            .env("SHIFTBACK_STACK", stack)
            .env("SHIFTBACK_ACTOR", "dana")
            .env("AWS_REGION", region)
            .env_remove("SHIFTBACK_TABLE")
            .output()
            .unwrap();
        if shown {
            println!("$ shiftback {}\n{}", args.join(" "), text(&out));
        }
        out
    };
    let release = |command: &'static str| -> Vec<&'static str> {
        vec![
            command,
            "checkout",
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "linear:50:5m",
            "--alarm",
            "checkout-errors",
            "--wave",
            "us-east-1",
            "--wave",
            "eu-west-1",
            "--wave",
            "ap-southeast-2",
            "--wave-bake",
            "30m",
        ]
    };
    says(
        &run(&release("plan"), "us-east-1"),
        0,
        "3 wave(s), 3 target(s)",
    );
    let started = run(&release("start"), "us-east-1");
    says(&started, 0, "started plan plan-");
    let plan_id = text(&started)
        .split_whitespace()
        .find(|w| w.starts_with("plan-"))
        .unwrap()
        .trim_end_matches(':')
        .to_string();

    // The waves workflow's looks, on the plan's clock: a wave's release, then its bake.
    let home = &regions[0];
    let waves = wave_coordinator_with(&home.env.config, home.store.table(), stack);
    let mut now = epoch_now();
    for (i, region) in regions.iter().enumerate() {
        let id = format!("{plan_id}-w{}-{}", i + 1, i + 1);
        waves.look(&plan_id, now).await.unwrap();
        region.run_start(&id).await;
        if i < 2 {
            region.promote(&id).await;
            now = epoch_now() + 1;
            waves.look(&plan_id, now).await.unwrap();
            // The bake's end: every moved Region answers; the next look starts the wave.
            now += 30 * 60;
            waves.look(&plan_id, now).await.unwrap();
            now += 30;
        }
    }
    let status = run(&["status", &plan_id], "us-east-1");
    says(&status, 0, "releasing (wave 3 of 3)");

    // The last Region's alarm: its own alarm function reverts it, then stops the plan
    // through the home coordinator (called here as its invoke would call it).
    let last = &regions[2];
    last.alarm_fires(alarm).await;
    // What its alarm function sends: the stop its release's end asks for.
    let reverted = last
        .store
        .load_summary(&format!("{plan_id}-w3-3"))
        .await
        .unwrap();
    let (coordinator, stop) = stop_for(&reverted).expect("a plan's release, rolled back");
    assert_eq!(coordinator, COORDINATOR);
    waves.handle(stop, now + 40).await.unwrap();
    let status = run(&["status", &plan_id], "us-east-1");
    says(&status, 0, "stopped: ap-southeast-2: release");
    let printed = text(&status);
    assert_eq!(
        printed.matches("reverted with the plan").count(),
        2,
        "{printed}"
    );
    assert!(
        printed.contains("rolled back: stopped the plan"),
        "{printed}"
    );
    for region in &regions {
        assert_eq!(region.live().await, "1", "{}", region.name);
    }
    let history = run(&["history", "checkout"], "eu-west-1");
    says(&history, 0, &format!("plan={plan_id}"));
    assert!(
        text(&history).contains(&format!("{plan_id}-w2-2-back")),
        "{}",
        text(&history)
    );
}

/// A plan reaching another account: the CLI cannot assume the role its coordinator may, so
/// that target is checked by the coordinator when the plan starts: `start` hands the whole
/// plan to the waves workflow's input, and records nothing itself.
#[tokio::test]
async fn a_plan_reaching_another_account_is_checked_and_recorded_by_the_home_coordinator() {
    let p = plan_fixture().await;
    let file = std::env::temp_dir().join(format!("{}.json", unique("plan")));
    let role = "arn:aws:iam::210987654321:role/shiftback-WavesAccessRole-X";
    std::fs::write(
        &file,
        json!({"waves": [["eu-west-1"], [{"region": "ap-southeast-2", "role_arn": role, "version": "3"}]],
               "wave_bake": "10m"})
        .to_string(),
    )
    .unwrap();
    let path = file.display().to_string();
    let args = |command: &'static str| -> Vec<String> {
        [
            command,
            &p.function,
            "--alias",
            "live",
            "--to",
            "2",
            "--strategy",
            "canary:10:5m",
            "--alarm",
            &p.alarm,
            "--plan-file",
            &path,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let plan_args = args("plan");
    let out = p.run(&plan_args.iter().map(String::as_str).collect::<Vec<_>>());
    says(&out, 0, "checked by the home coordinator at start");
    let start_args = args("start");
    let out = p.run(&start_args.iter().map(String::as_str).collect::<Vec<_>>());
    says(&out, 0, "started plan plan-");
    let executions = p.executions().await;
    assert_eq!(executions.len(), 1);
    let (name, input) = &executions[0];
    let plan = &input["plan"];
    assert_eq!(plan["waves"][1][0]["role_arn"], role, "{input}");
    assert_eq!(plan["waves"][1][0]["version"], "3");
    assert_eq!(plan["wave_bake"], "600s");
    // Recorded by the coordinator's first state, not by the CLI.
    let recorded = DynamoStore::new(p.home.dynamodb.clone(), &p.home_table)
        .load_plan(name)
        .await;
    assert!(matches!(
        recorded,
        Err(shiftback::Error::ReleaseNotFound(_))
    ));
    let _ = std::fs::remove_file(&file);
}
