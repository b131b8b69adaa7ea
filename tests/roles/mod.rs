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
    Caller, HandlerSettings,
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
    StepInput::of(&outcome.release_id)
}

/// The calls, recorded once for every test here: both tests check the same run.
async fn recorded() -> &'static Recorded {
    static RECORDED: tokio::sync::OnceCell<Recorded> = tokio::sync::OnceCell::const_new();
    // On a thread of its own with room to spare: every handler's path polled from one
    // unoptimised scenario nests deeper than a test thread's 2 MiB (a release build's frames
    // are a fraction of a debug build's).
    RECORDED
        .get_or_init(|| async {
            std::thread::Builder::new()
                .stack_size(16 << 20)
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(Box::pin(record_every_handler()))
                })
                .unwrap()
                .join()
                .unwrap()
        })
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
            &["UpdateAlias", "TransactWriteItems", "Publish", "Invoke"],
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
                "Invoke",
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
                "Invoke",
            ],
        ),
        (
            "WavesFunction",
            &[
                "DescribeStacks",
                "DescribeExecution",
                "StartExecution",
                "DescribeAlarms",
                "UpdateAlias",
                "CreateAlias",
                "TransactWriteItems",
                "PutItem",
                "Publish",
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
    // The wave coordinator finds each Region's shiftback by the stack's own name, there.
    let (output, text) = check(recorded, &["WavesFunction=cloudformation:DescribeStacks"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("WavesFunction: DescribeStacks needs cloudformation:DescribeStacks on arn:aws:cloudformation:us-east-2:123456789012:stack/shiftback/*"),
        "{text}"
    );
    // And starts each Region's release workflow, on that Region's state machine.
    let (output, text) = check(recorded, &["WavesFunction=states:StartExecution"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("WavesFunction: StartExecution needs states:StartExecution on arn:aws:states:us-west-1:123456789012:stateMachine:ReleaseStateMachine-"),
        "{text}"
    );
    // A plan's alias missing in a Region is made there by the coordinator.
    let (output, text) = check(recorded, &["WavesFunction=lambda:CreateAlias"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("WavesFunction: CreateAlias needs lambda:CreateAlias on arn:aws:lambda:us-west-1:123456789012:function:"),
        "{text}"
    );
    // A plan's release that rolls back tells the coordinator of this stack's name.
    let (output, text) = check(recorded, &["AlarmFunction=lambda:InvokeFunction"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("AlarmFunction: Invoke needs lambda:InvokeFunction on arn:aws:lambda:us-east-1:123456789012:function:shiftback-WavesFunction-AbC123"),
        "{text}"
    );
    // A resource with Waves has the stack's coordinator check its plan, and the stack's waves
    // workflow carry it out.
    let (output, text) = check(recorded, &["ReleaseProviderFunction=lambda:InvokeFunction"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains("ReleaseProviderFunction: Invoke needs lambda:InvokeFunction on arn:aws:lambda:us-east-1:123456789012:function:shiftback-WavesFunction-AbC123"),
        "{text}"
    );
    let (output, text) = check(recorded, &["ReleaseProviderFunction=states:StartExecution"]);
    assert!(!output.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "ReleaseProviderFunction: StartExecution needs states:StartExecution on {}",
            waves::WAVES_MACHINE
        )),
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

mod scenario;
mod waves;
use scenario::record_every_handler;
