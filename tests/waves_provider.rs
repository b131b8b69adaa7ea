//! A team's stack releasing across three Regions through `Custom::ShiftbackRelease` with
//! `Waves`, against moto: the provider (its own adapters, as the provider function builds them)
//! asks the home coordinator (the handlers binary behind Lambda's Invoke API, as Lambda runs it)
//! to check and record the plan, starts the waves workflow, and answers the presigned URL. The
//! workflow's looks are made here as its Look task would make them; moto runs no workflow.
//!
//! The sequences a stack walks: a deploy that starts a plan and a stack rollback mid-plan that
//! stops it (every moved Region back, never refused); the next deploy, which starts again; a
//! stack that waits for its plan and hears it stopped.

use serde_json::{json, Value};
use shiftback::runtime::{plans_with, release_provider_with, HandlerSettings, ReleaseProvider};
use shiftback::waves::{PlanCoordinator as _, PlanPhase, StackPlans as _, WavePlan};
use shiftback_integration_tests::response_url::ResponseUrl;
use shiftback_integration_tests::waves::{region_for, Region};
use shiftback_integration_tests::{stack_owning, unique, waiting_machine_named, CallLog};

const HOME: &str = "us-east-1";
const REGIONS: [&str; 3] = [HOME, "eu-west-1", "ap-southeast-2"];
/// The home stack's coordinator, as local-lambda serves it (`shiftback-waves`).
const COORDINATOR: &str = "arn:aws:lambda:us-east-1:123456789012:function:shiftback-waves";

struct Team {
    regions: Vec<Region>,
    provider: ReleaseProvider,
    function: String,
    alarm: String,
    stack_id: String,
    url: ResponseUrl,
    _handlers: crate::statemachine::Handlers,
}

/// Three Regions with a shiftback stack each and one function name, the home Region's owned by
/// the team's stack; the provider with the home coordinator and waves workflow.
async fn team() -> Team {
    let stack = unique("shiftback");
    let alarm = unique("errors");
    let function = unique("orders");
    let mut regions = Vec::new();
    for name in REGIONS {
        regions.push(region_for(name, &stack, &alarm, Some(&function), json!({})).await);
    }
    let home = &regions[0];
    let table = home.store.table().to_string();
    let handlers = crate::statemachine::serve_handlers_with(&[
        ("RELEASE_TABLE", &table),
        ("REGIONAL_STACK_NAME", &stack),
        ("AWS_REGION", HOME),
    ])
    .await;
    let clients = home.env.clients_with(&CallLog::default());
    let settings = HandlerSettings {
        release_table: table,
        state_machine_arn: Some(waiting_machine_named(&clients.sfn, "release").await),
        ..HandlerSettings::default()
    };
    let machine = waiting_machine_named(&clients.sfn, "waves").await;
    let mut plans = plans_with(&clients, &settings, COORDINATOR, &machine);
    // The coordinator's Invoke goes to local-lambda; everything else to moto.
    let invoke = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&home.env.config)
            .endpoint_url(&handlers.url)
            .build(),
    );
    plans.coordinator = shiftback::waves::LambdaCoordinator::new(invoke, COORDINATOR);
    let provider = release_provider_with(&clients, &settings)
        .unwrap()
        .with_plans(plans);
    let stack_id = stack_owning(&home.env, &function).await;
    Team {
        regions,
        provider,
        function,
        alarm,
        stack_id,
        url: ResponseUrl::start(0).await,
        _handlers: handlers,
    }
}

impl Team {
    /// A request of `kind` to release version `version` (from `old`) wave by wave, a Region a
    /// wave, with `extra` properties; every scalar a string, as CloudFormation sends it.
    fn request(&self, kind: &str, version: &str, old: &str, extra: Value) -> Value {
        let props = |version: &str| {
            let mut props = json!({
                "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:shiftback-provider",
                "FunctionName": self.function, "Alias": "live", "Version": version,
                "Strategy": "canary:10:5m", "Alarms": [self.alarm],
                "Waves": [[HOME], [REGIONS[1]], [{"Region": REGIONS[2]}]], "WaveBake": "1m"
            });
            for (k, v) in extra.as_object().unwrap() {
                props[k] = v.clone();
            }
            props
        };
        let mut request = json!({
            "RequestType": kind, "RequestId": uuid::Uuid::new_v4().to_string(),
            "ResponseURL": self.url.url, "StackId": self.stack_id,
            "ResourceType": "Custom::ShiftbackRelease", "LogicalResourceId": "OrdersRelease",
            "ResourceProperties": props(version),
        });
        if kind == "Update" {
            request["PhysicalResourceId"] = json!(format!("{}:live", self.function));
            request["OldResourceProperties"] = props(old);
        }
        request
    }

    /// Sends `request` and returns the answer PUT to the presigned URL.
    async fn send(&self, request: Value) -> Value {
        let before = self.url.puts().len();
        Box::pin(self.provider.handle(request, 0)).await.unwrap();
        let puts = self.url.puts();
        assert_eq!(puts.len(), before + 1, "one answer");
        puts.last().unwrap().body.clone()
    }

    fn plans(&self) -> &shiftback::runtime::AwsPlans {
        self.provider.plans.as_ref().unwrap()
    }

    async fn plan(&self, id: &str) -> WavePlan {
        self.plans().records.load_plan(id).await.unwrap().0
    }

    /// One look, as the waves workflow's Look task makes it.
    async fn look(&self, id: &str) -> WavePlan {
        let command = shiftback::waves::WaveCommand::Look { plan_id: id.into() };
        let payload = serde_json::to_vec(&command).unwrap();
        let invoke = aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&self.regions[0].env.config)
                .endpoint_url(&self._handlers.url)
                .build(),
        );
        let out = invoke
            .invoke()
            .function_name(COORDINATOR)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await
            .unwrap();
        assert_eq!(out.function_error(), None, "{:?}", out.payload());
        self.plan(id).await
    }

    /// The plan's first wave started and run in the home Region: 10% there on version 2.
    async fn first_wave_moves(&self, id: &str) {
        let plan = self.look(id).await;
        assert_eq!(plan.phase, PlanPhase::Releasing { wave: 0 });
        self.regions[0].run_start(&format!("{id}-w1-1")).await;
        assert_eq!(self.regions[0].live().await, "1 + 2 at 10%");
    }

    async fn every_region_on_1(&self) {
        for region in &self.regions {
            assert_eq!(region.live().await, "1", "{} is back", region.name);
        }
    }
}

fn plan_id(answer: &Value) -> String {
    answer["Data"]["PlanId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_stacks_plan_is_stopped_by_its_rollback_and_the_next_deploy_starts_again() {
    let t = team().await;
    let answer = t.send(t.request("Update", "2", "1", json!({}))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"]["Outcome"], "plan started");
    let id = plan_id(&answer);
    let plan = t.plan(&id).await;
    assert_eq!(plan.targets.len(), 3);
    assert_eq!(plan.coordinator.as_deref(), Some(COORDINATOR));
    assert!(
        plan.started_by.starts_with("cloudformation:app"),
        "{}",
        plan.started_by
    );
    // The resource points to its plan, read consistently (the open index may lag).
    let resource = format!("{}/OrdersRelease", t.stack_id);
    let pointed = t.plans().records.resource_plan(&resource).await.unwrap();
    assert_eq!(pointed.map(|p| p.id), Some(id.clone()));
    // The waves workflow was started under the plan's name, on the recorded plan.
    let executions = t.plans().workflow.execution(&id).await.unwrap();
    assert!(executions.is_some(), "the waves workflow runs the plan");
    t.first_wave_moves(&id).await;

    // Another resource of the update failed: CloudFormation rolls back, the previous
    // properties as new, the failed ones as old. Never refused; every moved Region back.
    let rollback = t.request("Update", "1", "2", json!({}));
    let p = &t.provider;
    let answered = Box::pin(p.service.answer_cfn(
        rollback,
        &p.workflow,
        p.plans.as_ref(),
        p.answers.as_ref(),
        &crate::provider::RollingBack,
        None,
    ))
    .await
    .unwrap();
    let answer = serde_json::to_value(answered.now().unwrap()).unwrap();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"]["Outcome"], "plan stopped");
    t.every_region_on_1().await;
    let plan = t.plan(&id).await;
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    assert!(plan.stop_cause().unwrap().why.contains("rolled back"));
    assert!(t.plans().running().await.unwrap().is_empty());

    // The team deploys again: a plan of its own, from the start.
    let again = t.send(t.request("Update", "2", "1", json!({}))).await;
    assert_eq!(again["Status"], "SUCCESS", "{again}");
    let next = plan_id(&again);
    assert_ne!(next, id);
    t.first_wave_moves(&next).await;
}

/// `Wait: true`: the stack's answer waits for the plan. An operator's abort stops it; the end
/// of its workflow (EventBridge's status change, to the provider) answers FAILED with why.
/// A Region that refuses fails the resource at once, with nothing recorded.
#[tokio::test]
async fn a_waiting_stack_hears_its_plan_stopped_and_a_refused_plan_fails_at_once() {
    let t = team().await;
    let before = t.url.puts().len();
    let waits = t.request("Update", "2", "1", json!({"Wait": "true"}));
    let answered = Box::pin(t.provider.handle(waits, 0)).await.unwrap();
    let shiftback::service::Answered::WhenPlanEnds { plan_id: id } = answered else {
        panic!("answered at once: {answered:?}")
    };
    assert_eq!(t.url.puts().len(), before, "no answer yet");
    t.first_wave_moves(&id).await;
    let stop = t
        .plans()
        .coordinator
        .stop(&id, "aborted by carol", false)
        .await;
    assert!(stop.unwrap().ended);
    t.every_region_on_1().await;
    let ended = json!({
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "detail": {"name": id, "status": "SUCCEEDED"}
    });
    Box::pin(t.provider.serve(ended, 0)).await.unwrap();
    let answer = t.url.puts().last().unwrap().body.clone();
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    let reason = answer["Reason"].as_str().unwrap();
    assert!(
        reason.contains(&id) && reason.contains("aborted by carol"),
        "{reason}"
    );
    assert_eq!(answer["Data"]["PlanId"], id.as_str());

    // A version one Region does not have: that Region refuses, the resource fails, and
    // nothing is recorded or started anywhere.
    let refused = t
        .send(t.request(
            "Update",
            "2",
            "1",
            json!({"Waves": [[HOME], [{"Region": REGIONS[1], "Version": "9"}]]}),
        ))
        .await;
    assert_eq!(refused["Status"], "FAILED", "{refused}");
    let reason = refused["Reason"].as_str().unwrap();
    assert!(
        reason.contains("nothing moved") && reason.contains(REGIONS[1]),
        "{reason}"
    );
    assert!(t.plans().running().await.unwrap().is_empty());
    t.every_region_on_1().await;

    // A first deploy of an alias no Region has yet: each Region's is made on the version (as
    // a first deploy of one alias makes it), and the plan has nothing left to release.
    let created = t
        .send(t.request("Create", "2", "", json!({"Alias": "prod"})))
        .await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    let id = plan_id(&created);
    for region in &t.regions {
        let alias = region
            .env
            .lambda
            .get_alias()
            .function_name(&t.function)
            .name("prod");
        let alias = alias.send().await.unwrap();
        assert_eq!(alias.function_version(), Some("2"), "{}", region.name);
    }
    let plan = t.look(&id).await;
    assert!(
        matches!(plan.phase, PlanPhase::Completed { .. }),
        "{:?}",
        plan.phase
    );
}
