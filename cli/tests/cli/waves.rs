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
               "StateMachineArn": waiting_machine(&sfn).await, "WavesFunctionArn": COORDINATOR}),
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
    let out = p.run(&["abort", &plan_id, "--reason", "wrong build"]);
    says(&out, 0, "stopped: aborted by cli:carol: wrong build");
    assert!(
        text(&out).contains("skipped (never moved)"),
        "{}",
        text(&out)
    );
    let json_status = json(&p.run(&["--json", "status", &plan_id]));
    assert_eq!(json_status["phase"]["phase"], "stopped");
}
