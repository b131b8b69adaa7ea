//! Traffic hooks against moto, through the handlers' own service (`runtime::release_service_with`)
//! and the real Invoke: what a hook is sent on the wire, and how each kind of answer (a pass
//! after "not yet", a refusal, an unhandled error, garbage, no such function) ends the
//! release. moto runs function code in Docker, absent here: tests/moto/moto_lambda.py plays each
//! hook's answers instead (see `hook_function`).

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftback::adapters::{DynamoStore, LambdaRouter};
use shiftback::hooks::Hooks;
use shiftback::ports::AliasRouter as _;
use shiftback::runtime::{release_service_with, HandlerSettings};
use shiftback::service::{Next, ReleaseService, StartRequest, StepInput, StepOutcome};
use shiftback_integration_tests::{
    alarm_in_state, emulator, function_with_versions, hook_function, release_request,
    release_store, CallLog, Emulator,
};

const ARN_PREFIX: &str = "arn:aws:lambda:us-east-1:123456789012:function:";

struct Hooked {
    env: Emulator,
    store: DynamoStore,
    service: ReleaseService,
    function: String,
    alarm: String,
}

async fn hooked() -> Hooked {
    let env = emulator().await;
    let store = release_store(&env).await;
    let settings = HandlerSettings {
        release_table: store.table().to_string(),
        hook_functions: Some("hook-*".into()),
        function_arn_prefix: Some(ARN_PREFIX.into()),
        ..HandlerSettings::default()
    };
    let service = release_service_with(&env.clients_with(&CallLog::default()), &settings);
    let function = function_with_versions(&env, 2, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    Hooked {
        env,
        store,
        service,
        function,
        alarm,
    }
}

impl Hooked {
    fn request(&self, pre: Option<&str>, post: Option<&str>) -> StartRequest {
        StartRequest {
            hooks: Hooks {
                pre_traffic: pre.map(String::from),
                post_traffic: post.map(String::from),
                ..Hooks::default()
            },
            ..release_request(&self.function, &self.alarm, "2", "steps:10@0s")
        }
    }

    async fn advance(&self, outcome: &StepOutcome) -> StepOutcome {
        self.service.advance(step(outcome)).await.unwrap()
    }

    async fn alias_version(&self) -> String {
        LambdaRouter::new(self.env.lambda.clone())
            .read(&self.function, "live")
            .await
            .unwrap()
            .routing
            .to_string()
    }
}

fn step(outcome: &StepOutcome) -> StepInput {
    StepInput::of(&outcome.release_id)
}

#[tokio::test]
async fn a_hook_is_sent_the_release_and_a_refusal_leaves_the_alias_untouched() {
    let h = hooked().await;
    let smoke = hook_function(&h.env, json!([{"echo": true}])).await;
    let started = h
        .service
        .start(h.request(Some(&smoke), None))
        .await
        .unwrap();
    let refused = h.advance(&started).await;
    assert_eq!(
        (refused.phase.as_str(), refused.next),
        ("refused", Next::Done)
    );
    // The hook answered "no" with the payload it received: read it back off the reason.
    let reason = refused.reason.unwrap();
    let sent: Value = serde_json::from_str(reason.split_once(" failed: ").unwrap().1).unwrap();
    assert_eq!(sent["release_id"], started.release_id);
    assert_eq!(sent["phase"], "pre_traffic");
    assert_eq!(sent["function"], h.function.as_str());
    assert_eq!(
        (
            sent["stable_version"].as_str(),
            sent["target_version"].as_str()
        ),
        (Some("1"), Some("2"))
    );
    assert_eq!(sent["target_arn"], format!("{ARN_PREFIX}{}:2", h.function));
    assert!(sent["deadline"].as_str().unwrap().ends_with('Z'), "{sent}");
    assert_eq!(h.alias_version().await, "version 1");
    assert_eq!(
        h.store.lock_holder(&h.function, "live").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_hook_answering_not_yet_twice_then_passing_lets_the_release_through() {
    let h = hooked().await;
    let not_yet = json!({"ok": null, "retry_after_secs": 15});
    let smoke = hook_function(&h.env, json!([not_yet, not_yet, {"ok": true}])).await;
    let e2e = hook_function(&h.env, json!([{"ok": true}])).await;
    let mut outcome = h
        .service
        .start(h.request(Some(&smoke), Some(&e2e)))
        .await
        .unwrap();
    let mut waits = Vec::new();
    while outcome.phase == "pending" {
        waits.push(outcome.wait_seconds);
        outcome = h.advance(&outcome).await;
    }
    assert_eq!(
        waits,
        [0, 15, 15],
        "called at once, then again after each not yet"
    );
    assert_eq!(h.alias_version().await, "version 1 with 10% on version 2");
    while outcome.next == Next::Wait {
        outcome = h.advance(&outcome).await;
    }
    let done = h.service.promote(step(&outcome)).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    assert_eq!(h.alias_version().await, "version 2");
    let release = h.store.load(&done.release_id).await.unwrap().release;
    let answers: Vec<Value> = release
        .log
        .iter()
        .filter(|e| e.event.name() == "hook_answered")
        .map(|e| serde_json::to_value(&e.event).unwrap())
        .collect();
    let outcomes: Vec<&str> = answers
        .iter()
        .map(|a| a["verdict"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["not_yet", "not_yet", "passed", "passed"]);
    assert_eq!(answers[3]["phase"], "post_traffic");
}

#[tokio::test]
async fn a_post_traffic_hook_that_raises_rolls_back_with_its_message() {
    let h = hooked().await;
    let e2e = hook_function(
        &h.env,
        json!([{"raise": "assertion failed: checkout total"}]),
    )
    .await;
    let mut outcome = h.service.start(h.request(None, Some(&e2e))).await.unwrap();
    while outcome.next == Next::Wait {
        outcome = h.advance(&outcome).await;
    }
    let promoted = h.service.promote(step(&outcome)).await.unwrap();
    assert_eq!(promoted.next, Next::Rollback);
    let done = h.service.rollback(step(&promoted)).await.unwrap();
    assert_eq!(done.phase, "rolled_back");
    assert_eq!(h.alias_version().await, "version 1");
    let reason = done.reason.unwrap();
    assert!(
        reason.contains("raised an error (Unhandled): assertion failed: checkout total"),
        "{reason}"
    );
}

#[tokio::test]
async fn garbage_or_a_missing_hook_fails_the_hook_and_a_hook_outside_the_stack_is_refused() {
    let h = hooked().await;
    let garbage = hook_function(&h.env, json!(["OK"])).await;
    for (hook, expected) in [
        (
            garbage.as_str(),
            "is not {\"ok\": true|false|null, ...}: \"OK\"",
        ),
        ("hook-that-does-not-exist", "could not be invoked"),
    ] {
        let started = h.service.start(h.request(Some(hook), None)).await.unwrap();
        let refused = h.advance(&started).await;
        assert_eq!(refused.phase, "refused");
        let reason = refused.reason.unwrap();
        assert!(reason.contains(expected), "{reason}");
    }
    let err = h
        .service
        .start(h.request(Some("payments-smoke"), None))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not one the stack may invoke (HookFunctionNames is hook-*)"),
        "{err}"
    );
    assert_eq!(
        h.store.lock_holder(&h.function, "live").await.unwrap(),
        None
    );
    assert_eq!(h.alias_version().await, "version 1");
}
