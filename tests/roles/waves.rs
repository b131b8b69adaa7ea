//! The wave coordinator's part of the scenario: a plan over two other Regions of the account,
//! each with a shiftback stack of this stack's name (`shiftback`, as check_roles.py resolves
//! `AWS::StackName`), started wave by wave and then stopped: an abort of the running release,
//! a revert of the promoted one. Every call the coordinator makes, in every Region, recorded.

use shiftback::waves::{epoch_now, WaveCommand, WavePlan};
use shiftback_integration_tests::{CallLog, Emulator};

use shiftback_integration_tests::waves::{coordinator_through, region};

/// The Regions the plan reaches: ones no other test keeps a `shiftback` stack in.
const REGIONS: [&str; 2] = ["us-east-2", "us-west-1"];

pub(super) async fn walk_a_plan(home: &Emulator, table: &str, log: &CallLog, alarm: &str) {
    let mut regions = Vec::new();
    for name in REGIONS {
        regions.push(region(name, "shiftback", alarm).await);
    }
    let waves = coordinator_through(&home.config, "shiftback", table, log);
    let id = shiftback_integration_tests::unique("plan");
    let mut targets: Vec<Vec<_>> = regions.iter().map(|r| vec![r.target()]).collect();
    // An alias the second Region does not have yet: made on its version when the plan is
    // checked and recorded.
    let mut new_alias = regions[1].target();
    new_alias.alias = "prod".into();
    targets[1].push(new_alias);
    let mut plan = WavePlan::new(
        &id,
        "us-east-1",
        targets,
        0,
        "canary:10:5m",
        epoch_now(),
        "ci",
    );
    plan.alarms = vec![alarm.to_string()];
    Box::pin(waves.create_checked(&plan)).await.unwrap();
    let look = || async { Box::pin(waves.look(&id, epoch_now())).await.unwrap() };
    look().await;
    regions[0].run_start(&format!("{id}-w1-1")).await;
    look().await;
    regions[0].promote(&format!("{id}-w1-1")).await;
    // The promotion seen (no bake), then the second wave started.
    look().await;
    look().await;
    regions[1].run_start(&format!("{id}-w2-2")).await;
    let stop = WaveCommand::Stop {
        plan_id: id.clone(),
        release_id: None,
        why: "aborted by ci".into(),
        recall: false,
    };
    let answer = Box::pin(waves.handle(stop, epoch_now())).await.unwrap();
    assert_eq!(answer.phase, "stopped");
    for region in &regions {
        assert_eq!(region.live().await, "1", "{}", region.name);
    }
}

/// The waves workflow's ARN, as `!Ref WavesStateMachine` resolves.
pub(super) const WAVES_MACHINE: &str =
    "arn:aws:states:us-east-1:123456789012:stateMachine:WavesStateMachine-AbC123";

/// The provider's part for a resource with `Waves`: a Create whose plan it asks the coordinator
/// to check and record (moto has no such function to run: the call is recorded all the same),
/// then the same request once the plan is recorded, which launches the waves workflow.
pub(super) async fn provide_a_plan(
    home: &Emulator,
    settings: &shiftback::runtime::HandlerSettings,
    log: &CallLog,
    (url, stack_id, function): (&str, &str, &str),
) {
    use shiftback::runtime::{plans_with, release_provider_with};
    let clients = home.clients_with(log);
    let coordinator =
        "arn:aws:lambda:us-east-1:123456789012:function:shiftback-WavesFunction-AbC123";
    let plans = plans_with(&clients, settings, coordinator, WAVES_MACHINE);
    let provider = release_provider_with(&clients, settings)
        .unwrap()
        .with_plans(plans);
    let request_id = shiftback_integration_tests::unique("req");
    let request = serde_json::json!({
        "RequestType": "Create", "RequestId": request_id, "ResponseURL": url,
        "StackId": stack_id,
        "ResourceType": "Custom::ShiftbackRelease", "LogicalResourceId": "Plan",
        "ResourceProperties": {"FunctionName": function, "Alias": "prod", "Version": "5",
                               "Waves": [["us-east-1"], ["us-east-2"]]}
    });
    Box::pin(provider.handle(request.clone(), 0)).await.unwrap();
    let id = shiftback::service::plan_id_for(&request_id);
    let store =
        shiftback::adapters::DynamoStore::new(clients.dynamodb.clone(), &settings.release_table);
    let target = shiftback::waves::Target {
        region: "us-east-1".into(),
        role_arn: None,
        function: function.into(),
        alias: "prod".into(),
        version: Some("5".into()),
    };
    let plan = WavePlan::new(
        &id,
        "us-east-1",
        vec![vec![target]],
        0,
        "AllAtOnce",
        epoch_now(),
        "ci",
    );
    store.create_plan(&plan).await.unwrap();
    Box::pin(provider.handle(request, 0)).await.unwrap();
}
