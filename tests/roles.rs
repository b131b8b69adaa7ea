//! Every call each function makes is allowed by its own role: the stand-in for a deploy into a
//! real account, where a missing permission would surface only as an AccessDenied in the
//! middle of a release (or, worse, of a revert). moto authorizes nothing, so each handler is
//! built exactly as its binary builds it (`runtime::*_with`), driven through its paths against
//! moto with every call recorded, and the recorded calls are checked by scripts/check_roles.py
//! against the roles the SAM translator makes of template.yaml.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftback::analysis::WhenInconclusive;
use shiftback::domain::AnalysisSettings;
use shiftback::hooks::Hooks;
use shiftback::runtime::{
    alarm_responder_with, release_provider_with, release_service_with, retention_service_with,
    HandlerSettings,
};
use shiftback::service::{Next, StepInput, StepOutcome};
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, emulator, function_with_versions, hook_function,
    release_request, release_store, set_alarm_state, stack_owning, topic, unique, CallLog,
};

const ACCOUNT: &str = "123456789012";

/// The calls each function made, by its logical id in template.yaml, and what `Ref` gives
/// for each resource of the stack the tests stand in for.
struct Recorded {
    calls: BTreeMap<&'static str, CallLog>,
    physical: Vec<(&'static str, String)>,
    alarm: String,
}

fn step(outcome: &StepOutcome) -> StepInput {
    StepInput {
        gate_expired: false,
        task_token: None,
        release_id: Some(outcome.release_id.clone()),
        error: None,
    }
}

/// Drives every handler through the paths a release takes: one that succeeds, one the
/// workflow rolls back on a failed health check, one the alarm function reverts at once.
// Each handler's call boxed: their futures, inlined here, would not fit a test thread's stack.
async fn record_every_handler() -> Recorded {
    let env = emulator().await;
    // Five versions: the succeeding release's retention deletes 3 and 4, the later ones use 5.
    let function = function_with_versions(&env, 5, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let store = release_store(&env).await;
    let settings = HandlerSettings {
        release_table: store.table().to_string(),
        release_topic: Some(topic(&env, "releases").await),
        incident_topic: Some(topic(&env, "incidents").await),
        // StopExecution of an execution that does not exist is a no-op for the responder;
        // the call is made, recorded and checked all the same.
        state_machine_arn: Some(format!(
            "arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{}",
            unique("releases")
        )),
        hook_functions: Some("hook-*".into()),
        function_arn_prefix: Some(format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:")),
    };
    let calls: BTreeMap<_, _> = [
        "StartFunction",
        "AdvanceFunction",
        "PromoteFunction",
        "RollbackFunction",
        "RetainFunction",
        "AlarmFunction",
        "ReleaseProviderFunction",
    ]
    .into_iter()
    .map(|name| (name, CallLog::default()))
    .collect();
    let service = |name: &str| release_service_with(&env.clients_with(&calls[name]), &settings);
    let (start, advance, promote, rollback) = (
        service("StartFunction"),
        service("AdvanceFunction"),
        service("PromoteFunction"),
        service("RollbackFunction"),
    );
    let responder = alarm_responder_with(&env.clients_with(&calls["AlarmFunction"]), &settings);
    let (retain, catalog) =
        retention_service_with(&env.clients_with(&calls["RetainFunction"]), &settings);

    let mut succeeds = release_request(&function, &alarm, "2", "steps:10@0s,50@0s");
    // Analysis on, so that its GetMetricData is made and checked; no traffic is published,
    // and an inconclusive step passes at once.
    succeeds.analysis = AnalysisSettings {
        max_extension_secs: 0,
        when_inconclusive: WhenInconclusive::Pass,
        keep_dashboard: true,
        // The current minute judged too: an empty window makes no GetMetricData to check.
        settle_secs: 0,
        warmup_secs: 0,
        ..AnalysisSettings::default()
    };
    succeeds.retain_versions = Some(1);
    // Both hooks: advance calls the pre-traffic one, promote the post-traffic one.
    succeeds.hooks = Hooks {
        pre_traffic: Some(hook_function(&env, json!([{"ok": true}])).await),
        post_traffic: Some(hook_function(&env, json!([{"ok": true}])).await),
        ..Hooks::default()
    };
    let mut outcome = Box::pin(start.start(succeeds)).await.unwrap();
    while outcome.next == Next::Wait {
        outcome = Box::pin(advance.advance(step(&outcome))).await.unwrap();
    }
    assert_eq!(outcome.next, Next::Promote);
    let done = Box::pin(promote.promote(step(&outcome))).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    assert_eq!(done.next, Next::Retain);
    let pruned = Box::pin(retain.retain(&catalog, step(&done)))
        .await
        .unwrap();
    assert_eq!(pruned.next, Next::Done);

    let fails_its_check = release_request(&function, &alarm, "5", "canary:10:10m");
    let started = Box::pin(start.start(fails_its_check)).await.unwrap();
    set_alarm_state(&env, &alarm, StateValue::Alarm, "errors").await;
    let checked = Box::pin(advance.advance(step(&started))).await.unwrap();
    assert_eq!(checked.next, Next::Rollback);
    let reverted = Box::pin(rollback.rollback(step(&checked))).await.unwrap();
    assert_eq!(reverted.phase, "rolled_back");

    set_alarm_state(&env, &alarm, StateValue::Ok, "recovered").await;
    let mut reverted_at_once = release_request(&function, &alarm, "5", "canary:10:10m");
    // With its own alarm, which the alarm function deletes once it has reverted; and a group,
    // so its further member's lock, history entry and alarm are written (and reverted) too.
    reverted_at_once.analysis = AnalysisSettings::default();
    reverted_at_once.members = vec![shiftback::domain::Member {
        function: function_with_versions(&env, 2, "live").await,
        alias: "live".into(),
        stable_version: String::new(),
        target_version: "2".into(),
    }];
    Box::pin(start.start(reverted_at_once)).await.unwrap();
    Box::pin(responder.handle(alarm_state_change(&alarm, "ALARM", ACCOUNT), Some(ACCOUNT)))
        .await
        .unwrap();

    // The provider: an alias created; a release of it waiting at its gate, which the stack's
    // next version supersedes (the provider hands the workflow's task token back); and an
    // update back to a version the alias never ran (not known good: a release it starts; the
    // recorded state machine does not exist, so it answers FAILED, the calls made all the same).
    // The function is the stack's own, as CloudFormation tags what it creates.
    let stack_id = stack_owning(&env, &function).await;
    set_alarm_state(&env, &alarm, StateValue::Ok, "recovered").await;
    let provider = release_provider_with(
        &env.clients_with(&calls["ReleaseProviderFunction"]),
        &settings,
    )
    .unwrap();
    let url = shiftback_integration_tests::response_url::ResponseUrl::start(0).await;
    let cfn = |kind: &str, version: &str, old: Option<&str>| {
        let props = |v: &str| json!({"FunctionName": function, "Alias": "prod", "Version": v, "Strategy": "AllAtOnce", "Alarms": [alarm]});
        let mut request = json!({
            "RequestType": kind, "RequestId": unique("req"), "ResponseURL": url.url,
            "StackId": stack_id,
            "ResourceType": "Custom::ShiftbackRelease", "LogicalResourceId": "Release",
            "ResourceProperties": props(version),
        });
        if let Some(old) = old {
            request["OldResourceProperties"] = props(old);
            request["PhysicalResourceId"] = json!(format!("{function}:prod"));
        }
        request
    };
    Box::pin(provider.handle(cfn("Create", "5", None), 0))
        .await
        .unwrap();
    let mut gated = release_request(&function, &alarm, "2", "steps:10@0s,gate,50@0s");
    gated.alias = "prod".into();
    let gated = Box::pin(start.start(gated)).await.unwrap();
    let at_gate = Box::pin(advance.advance(step(&gated))).await.unwrap();
    assert_eq!(at_gate.next, Next::Gate);
    let registered = StepInput {
        task_token: Some("token-at-the-gate".into()),
        ..step(&at_gate)
    };
    Box::pin(advance.advance(registered)).await.unwrap();
    Box::pin(provider.handle(cfn("Update", "1", Some("2")), 0))
        .await
        .unwrap();
    Box::pin(provider.handle(cfn("Update", "2", Some("5")), 0))
        .await
        .unwrap();
    assert_eq!(url.puts().len(), 3);
    // The end of a release's workflow (EventBridge), which answers a stack waiting for it.
    let ended = json!({
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "detail": {"name": gated.release_id, "status": "ABORTED"}
    });
    Box::pin(provider.serve(ended, 0)).await.unwrap();

    let physical = vec![
        ("ReleaseTable", settings.release_table.clone()),
        ("ReleaseTopic", settings.release_topic.clone().unwrap()),
        ("IncidentTopic", settings.incident_topic.clone().unwrap()),
        ("ReleaseStateMachine", settings.state_machine_arn.unwrap()),
        // The alarm function's failure destination: Lambda itself sends to it, with the
        // function's role; no handler code does.
        (
            "AlarmFailureQueue",
            format!("https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/shiftback-alarm-failures"),
        ),
    ];
    Recorded {
        calls,
        physical,
        alarm,
    }
}

/// The calls, recorded once for every test here: both tests check the same run.
async fn recorded() -> &'static Recorded {
    static RECORDED: tokio::sync::OnceCell<Recorded> = tokio::sync::OnceCell::const_new();
    // Boxed: the whole scenario's future is larger than a test thread's stack.
    RECORDED
        .get_or_init(|| Box::pin(record_every_handler()))
        .await
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs scripts/check_roles.py on the recorded calls, with `without` (FUNCTION=ACTION) taken
/// out of the roles first.
fn check(recorded: &Recorded, without: &[&str]) -> (Output, String) {
    let calls: BTreeMap<_, Vec<Value>> = recorded
        .calls
        .iter()
        .map(|(function, log)| {
            let made = log
                .calls()
                .into_iter()
                .flat_map(|call| {
                    let op = call.operation.clone();
                    if call.iam.is_empty() {
                        return vec![json!({"operation": op, "action": "", "resource": ""})];
                    }
                    call.iam
                        .into_iter()
                        .map(|r| json!({"operation": op, "action": r.action, "resource": r.resource}))
                        .collect()
                })
                .collect();
            (*function, made)
        })
        .collect();
    let file = std::env::temp_dir().join(format!("{}.json", unique("role-calls")));
    std::fs::write(&file, serde_json::to_vec_pretty(&calls).unwrap()).unwrap();

    let python = workspace().join(".venv-sam/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make test` (scripts/bootstrap installs the SAM translator)",
        python.display()
    );
    let mut command = std::process::Command::new(python);
    command
        .current_dir(workspace())
        .arg("scripts/check_roles.py")
        .arg("template.yaml")
        .arg("--calls")
        .arg(&file)
        .arg("--parameter")
        .arg("ManagedFunctionNames=fn-*")
        .arg("--parameter")
        .arg("HookFunctionNames=hook-*");
    for (logical_id, value) in &recorded.physical {
        command
            .arg("--physical")
            .arg(format!("{logical_id}={value}"));
    }
    for w in without {
        command.arg("--without").arg(w);
    }
    let output = command.output().expect("run scripts/check_roles.py");
    let _ = std::fs::remove_file(&file);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

/// The operations `function` made, each once.
fn operations(recorded: &Recorded, function: &str) -> std::collections::BTreeSet<String> {
    recorded.calls[function].operations().into_iter().collect()
}

#[tokio::test]
async fn every_call_each_function_makes_is_allowed_by_its_own_role() {
    let recorded = recorded().await;
    // The paths ran: each function made the calls that matter most to it, so the check below
    // cannot pass on a scenario that quietly stopped exercising a handler.
    let expected: &[(&str, &[&str])] = &[
        (
            "StartFunction",
            &[
                "GetFunctionConfiguration",
                "GetFunction",
                "DescribeAlarms",
                "PutMetricAlarm",
                "PutDashboard",
                "UpdateAlias",
                "TransactWriteItems",
                "Publish",
            ],
        ),
        (
            "AdvanceFunction",
            &[
                "Invoke",
                "DescribeAlarms",
                "GetMetricData",
                "UpdateAlias",
                "Query",
                "Publish",
            ],
        ),
        (
            "PromoteFunction",
            &[
                "Invoke",
                "UpdateAlias",
                "TransactWriteItems",
                "Publish",
                "DeleteAlarms",
                "PutDashboard",
            ],
        ),
        (
            "RollbackFunction",
            &["UpdateAlias", "TransactWriteItems", "Publish"],
        ),
        (
            "RetainFunction",
            &[
                "ListVersionsByFunction",
                "ListAliases",
                "ListEventSourceMappings",
                "ListProvisionedConcurrencyConfigs",
                "ListFunctionUrlConfigs",
                "GetPolicy",
                "GetFunction",
                "DeleteFunction",
                "DeleteAlarms",
                "TransactWriteItems",
                "Publish",
            ],
        ),
        (
            "AlarmFunction",
            &[
                "Query",
                "UpdateAlias",
                "StopExecution",
                "Publish",
                "DeleteAlarms",
            ],
        ),
        (
            "ReleaseProviderFunction",
            &[
                "DescribeStacks",
                "GetFunction",
                "CreateAlias",
                "SendTaskSuccess",
                "UpdateAlias",
                "StartExecution",
            ],
        ),
    ];
    for (function, needed) in expected {
        let made = operations(recorded, function);
        for op in *needed {
            assert!(made.contains(*op), "{function} made no {op}: {made:?}");
        }
    }
    let (output, text) = check(recorded, &[]);
    assert!(output.status.success(), "{text}");
}

#[tokio::test]
async fn a_permission_taken_from_a_role_fails_the_check_naming_the_call() {
    let recorded = recorded().await;
    let (output, text) = check(recorded, &["AdvanceFunction=cloudwatch:DescribeAlarms"]);
    assert!(!output.status.success(), "{text}");
    let expected = format!(
        "AdvanceFunction: DescribeAlarms needs cloudwatch:DescribeAlarms on \
         arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{}, which its role AdvanceFunctionRole \
         does not allow",
        recorded.alarm
    );
    assert!(text.contains(&expected), "{text}");
    // Only that permission is missing: the other functions' reads of the alarm still pass.
    assert!(!text.contains("StartFunction:"), "{text}");
    // The same for the release's own alarm, scoped to shiftback's alarm names.
    let (output, text) = check(recorded, &["StartFunction=cloudwatch:PutMetricAlarm"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("StartFunction: PutMetricAlarm needs cloudwatch:PutMetricAlarm on arn:aws:cloudwatch:us-east-1:123456789012:alarm:shiftback-analysis-"),
        "{text}"
    );
    // Retention deletes versions by their qualified ARN, the only ones its role names.
    let (output, text) = check(recorded, &["RetainFunction=lambda:DeleteFunction"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("RetainFunction: DeleteFunction needs lambda:DeleteFunction on arn:aws:lambda:us-east-1:123456789012:function:fn-")
            && text.contains(":3, which its role RetainFunctionRole does not allow"),
        "{text}"
    );
    // A gate's task token is granted on "*" (IAM matches no resource for it): a grant on the
    // state machine alone would be refused on a real account.
    let (output, text) = check(
        recorded,
        &["ReleaseProviderFunction=states:SendTaskSuccess"],
    );
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("ReleaseProviderFunction: SendTaskSuccess needs states:SendTaskSuccess on *, which its role ReleaseProviderFunctionRole does not allow"),
        "{text}"
    );
    // GetFunction answers with the tags the ownership check reads only if ListTags is allowed.
    let (output, text) = check(recorded, &["ReleaseProviderFunction=lambda:ListTags"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("ReleaseProviderFunction: GetFunction needs lambda:ListTags on arn:aws:lambda:us-east-1:123456789012:function:fn-"),
        "{text}"
    );
    // A hook is invoked only under the stack's HookFunctionNames.
    let (output, text) = check(recorded, &["PromoteFunction=lambda:InvokeFunction"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("PromoteFunction: Invoke needs lambda:InvokeFunction on arn:aws:lambda:us-east-1:123456789012:function:hook-"),
        "{text}"
    );
}
