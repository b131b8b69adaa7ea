//! A resource with `Waves`: the sequences a team's stack walks with a wave plan, each ending
//! with a stack that can deploy again. The coordinator is the real one over memory Regions
//! (eu-west-1 the home, us-east-1 the second wave); its looks are run here as the waves
//! workflow would run them, and its end event as EventBridge would deliver it.

use super::*;
use crate::domain::wave::{PlanPhase, TargetState, WavePlan};
use crate::waves::{PlanCoordinator, PlanRecords, StackPlans};

/// A request of `kind` for `orders:live` on `version` in two waves, with `extra` properties.
fn plan_request(kind: &str, n: u32, version: &str, old: &str, extra: Value) -> Value {
    let props = |version: &str| {
        let mut props = json!({
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:shiftback-provider",
            "FunctionName": FUNCTION, "Alias": ALIAS, "Version": version,
            "Strategy": TWO_STEPS, "Alarms": [ALARM],
            "Waves": [["eu-west-1"], [{"Region": "us-east-1", "Version": format!("1{version}")}]],
            "WaveBake": "1m"
        });
        for (k, v) in extra.as_object().unwrap() {
            props[k] = v.clone();
        }
        props
    };
    let mut request = json!({
        "RequestType": kind,
        "RequestId": format!("00000000-0000-4000-8000-{n:012}"),
        "ResponseURL": "https://example.com/response",
        "StackId": STACK,
        "ResourceType": "Custom::ShiftbackRelease", "LogicalResourceId": "OrdersRelease",
        "ResourceProperties": props(version),
    });
    if kind != "Create" {
        request["PhysicalResourceId"] = json!(format!("{FUNCTION}:{ALIAS}"));
        request["OldResourceProperties"] = props(old);
    }
    request
}

impl Stack<'_> {
    fn plan(&self, id: &str) -> WavePlan {
        self.plans.records.get(id)
    }

    /// One look at the plan, as its workflow makes it.
    async fn look(&self, id: &str, now: i64) -> WavePlan {
        self.plans
            .coordinator
            .coordinator
            .look(id, now)
            .await
            .unwrap()
            .0
    }

    /// The plan's workflow's end, as EventBridge delivers it to the provider.
    async fn plan_workflow_ended(&self, execution: &str, status: &str) -> Option<Answer> {
        self.w
            .service
            .answer_ended(
                waits::execution_ended(execution, status),
                Some(&self.plans),
                &self.answers,
            )
            .await
            .unwrap()
    }

    /// Sends a `Wait: true` request whose answer waits for its plan's end: the plan.
    async fn send_waiting_for_plan(&self, request: &Value) -> String {
        match self.send_left_to_its_end(request).await {
            Answered::WhenPlanEnds { plan_id } => plan_id,
            other => panic!("not left to the plan's end: {other:?}"),
        }
    }

    fn plan_launches(&self) -> Vec<String> {
        let launched = self.plans.workflow.launched.lock().unwrap();
        launched.iter().map(|(name, _)| name.clone()).collect()
    }
}

#[tokio::test]
async fn a_stacks_plan_is_checked_recorded_and_launched_once_however_often_it_is_asked() {
    let w = world();
    let stack = Stack::of(&w);
    let create = plan_request("Create", 1, "2", "", json!({}));
    let answer = stack.send(&create).await;
    assert_eq!(status(&answer), "SUCCESS", "{answer:?}");
    assert_eq!(outcome(&answer), "plan started");
    let id = answer.data["PlanId"].clone();
    assert_eq!(
        id,
        crate::service::plan_id_for("00000000-0000-4000-8000-000000000001")
    );
    let plan = stack.plan(&id);
    assert_eq!(plan.started_by, "cloudformation:app");
    assert_eq!(
        plan.resource.as_deref(),
        Some(format!("{STACK}/OrdersRelease").as_str())
    );
    assert_eq!(plan.targets[1].target.version.as_deref(), Some("12"));
    assert_eq!(
        stack.plans.regions().count("check"),
        2,
        "each Region checked"
    );
    assert_eq!(stack.plan_launches(), vec![id.clone()]);
    // The same request again (the provider retried, or CloudFormation redelivered): the same
    // plan, its workflow launched by the same name, no Region asked again.
    let again = stack.send(&create).await;
    assert_eq!(again.data["PlanId"], id);
    assert_eq!(stack.plans.records.plans.lock().unwrap().len(), 1);
    assert_eq!(stack.plans.regions().count("check"), 2);
    assert_eq!(stack.plan_launches(), vec![id]);
    // Nothing of the single-alias path ran.
    assert_eq!(stack.launches(), 0);
}

#[tokio::test]
async fn a_region_that_refuses_fails_the_resource_with_nothing_recorded_or_launched() {
    let w = world();
    let stack = Stack::of(&w);
    stack.plans.regions().refuse_starts("us-east-1");
    let answer = stack
        .send(&plan_request("Create", 1, "2", "", json!({})))
        .await;
    assert_eq!(status(&answer), "FAILED");
    let reason = answer.reason.clone().unwrap();
    assert!(
        reason.contains("nothing moved") && reason.contains("us-east-1"),
        "{reason}"
    );
    assert!(stack.plans.records.plans.lock().unwrap().is_empty());
    assert!(stack.plan_launches().is_empty());
    // A plan beyond the limits fails by its reason before any Region is asked.
    let eleven: Vec<Value> = (0..11).map(|_| json!(["eu-west-1"])).collect();
    let long = plan_request("Create", 2, "2", "", json!({"Waves": eleven}));
    let answer = stack.send(&long).await;
    assert_eq!(status(&answer), "FAILED");
    assert!(
        answer.reason.clone().unwrap().contains("Waves: 11 waves"),
        "{answer:?}"
    );
    assert_eq!(stack.plans.regions().count("check"), 2);
}

/// Deploy twice in a row: the second update stops the first plan (its moved Region back)
/// before its own plan starts; with `WhenBusy: Fail` it is refused and the first goes on.
#[tokio::test]
async fn an_update_while_the_resources_plan_runs_stops_it_then_starts_its_own() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack
        .send(&plan_request("Update", 1, "2", "1", json!({})))
        .await;
    let first_id = first.data["PlanId"].clone();
    let now = crate::waves::epoch_now();
    stack.look(&first_id, now).await;
    let moved = format!("{first_id}-w1-1");
    assert_eq!(
        stack.plans.regions().release(&moved).seen,
        crate::waves::Seen::Running
    );

    // An update that keeps every version (a strategy changed) starts nothing and stops
    // nothing: the running plan goes on.
    let mut restrategised = plan_request("Update", 8, "2", "2", json!({}));
    restrategised["ResourceProperties"]["Strategy"] = json!("AllAtOnce");
    let answer = stack.send(&restrategised).await;
    assert_eq!(outcome(&answer), "nothing started", "{answer:?}");
    assert!(!stack.plan(&first_id).ended());
    assert_eq!(stack.plan_launches().len(), 1);

    let refused = plan_request("Update", 2, "3", "2", json!({"WhenBusy": "Fail"}));
    let answer = stack.send(&refused).await;
    assert_eq!(status(&answer), "FAILED");
    assert!(
        answer.reason.clone().unwrap().contains(&first_id),
        "{answer:?}"
    );
    assert!(!stack.plan(&first_id).ended(), "left to run");
    // The refusal rolls the stack back to the properties whose plan still runs: that plan
    // moves the Regions to them, and is left to finish.
    let rollback = plan_request("Update", 9, "2", "3", json!({"WhenBusy": "Fail"}));
    let answer = stack.send_rolling_back(&rollback).await;
    assert_eq!(outcome(&answer), "left as it is");
    assert!(answer.reason.clone().unwrap().contains("left to finish"));
    assert!(!stack.plan(&first_id).ended(), "left to finish");

    let second = stack
        .send(&plan_request("Update", 3, "3", "2", json!({})))
        .await;
    assert_eq!(status(&second), "SUCCESS", "{second:?}");
    let plan = stack.plan(&first_id);
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    assert!(plan.stop_cause().unwrap().why.contains("superseded"));
    assert_eq!(
        stack.plans.regions().release(&moved).reverts,
        1,
        "brought back once"
    );
    assert!(second.reason.clone().unwrap().contains(&first_id));
    let second_id = second.data["PlanId"].clone();
    assert_eq!(stack.plan_launches(), vec![first_id, second_id.clone()]);
    // A Region refuses the next one after the running plan was stopped for it: the answer
    // says both, and nothing is left running.
    stack.look(&second_id, now).await;
    stack.plans.regions().refuse_starts("us-east-1");
    let refused = stack
        .send(&plan_request("Update", 4, "4", "3", json!({})))
        .await;
    assert_eq!(status(&refused), "FAILED");
    let reason = refused.reason.clone().unwrap();
    assert!(
        reason.contains("us-east-1") && reason.contains(&format!("superseded plan {second_id}")),
        "{reason}"
    );
    assert!(stack.plans.running().await.unwrap().is_empty());
}

/// `Wait: true`: the stack waits for the plan. A Region's rollback stops the plan and answers
/// FAILED; the stack's rollback then finds nothing to stop and is never refused; the next
/// deploy starts a plan of its own.
#[tokio::test]
async fn a_waiting_stack_hears_its_plan_stop_rolls_back_cleanly_and_deploys_again() {
    let w = world();
    let stack = Stack::of(&w);
    let wait = json!({"Wait": "true"});
    let update = plan_request("Update", 1, "2", "1", wait.clone());
    let id = stack.send_waiting_for_plan(&update).await;
    let now = crate::waves::epoch_now();
    stack.look(&id, now).await;
    // A continuation's end while the plan runs answers nothing; the end of the one it ended
    // in (a continuation too, `<plan>-g2`) answers.
    assert_eq!(
        stack
            .plan_workflow_ended(&format!("{id}-g1"), "SUCCEEDED")
            .await,
        None
    );
    stack
        .plans
        .regions()
        .roll_back(&format!("{id}-w1-1"), "alarm orders-errors fired");
    let plan = stack.look(&id, now + 30).await;
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    let answer = stack
        .plan_workflow_ended(&format!("{id}-g2"), "SUCCEEDED")
        .await
        .expect("answered");
    assert_eq!(status(&answer), "FAILED");
    let reason = answer.reason.clone().unwrap();
    assert!(
        reason.contains("stopped") && reason.contains("alarm orders-errors fired"),
        "{reason}"
    );
    assert_eq!(answer.data["PlanId"], id);
    assert_eq!(
        stack.answers.sent.lock().unwrap().len(),
        1,
        "sent once, to the stack's URL"
    );
    // The same request delivered again after the plan ended: answered now, as its end was.
    let again = stack.send(&update).await;
    assert_eq!(status(&again), "FAILED");
    assert!(again
        .reason
        .clone()
        .unwrap()
        .contains("alarm orders-errors fired"));

    // CloudFormation rolls the stack back: the previous properties, the failed ones as old.
    let rollback = plan_request("Update", 2, "1", "2", wait.clone());
    let answer = stack.send_rolling_back(&rollback).await;
    assert_eq!(outcome(&answer), "nothing to stop");
    assert_eq!(stack.plan_launches(), vec![id.clone()], "nothing started");

    let next = stack
        .send(&plan_request("Update", 3, "3", "1", json!({})))
        .await;
    assert_eq!(status(&next), "SUCCESS", "{next:?}");
    assert_ne!(next.data["PlanId"], id);
}

/// A rollback while the plan runs (another resource of the update failed), and a Delete
/// undoing a Create: the plan stops, every moved Region back, and the answer is SUCCESS.
#[tokio::test]
async fn a_stack_rolling_back_stops_its_running_plan_and_is_never_refused() {
    let w = world();
    let stack = Stack::of(&w);
    let started = stack
        .send(&plan_request("Update", 1, "2", "1", json!({})))
        .await;
    let id = started.data["PlanId"].clone();
    stack.look(&id, crate::waves::epoch_now()).await;
    let answer = stack
        .send_rolling_back(&plan_request("Update", 2, "1", "2", json!({})))
        .await;
    assert_eq!(outcome(&answer), "plan stopped");
    assert!(answer.reason.clone().unwrap().contains("every Region back"));
    let plan = stack.plan(&id);
    assert!(matches!(plan.phase, PlanPhase::Stopped { .. }));
    assert!(matches!(
        plan.targets[0].state,
        TargetState::Reverted { .. }
    ));
    assert_eq!(plan.targets[1].state, TargetState::Skipped, "never moved");

    // A stop slower than the invocation has left: the rollback is answered SUCCESS all the
    // same, the stop going on in its coordinator (here: finishing once the test waits for it).
    let slow = stack
        .send(&plan_request("Update", 7, "2", "1", json!({})))
        .await;
    let slow_id = slow.data["PlanId"].clone();
    stack.look(&slow_id, crate::waves::epoch_now()).await;
    *stack.plans.regions().revert_takes.lock().unwrap() = Some(std::time::Duration::from_secs(3));
    let budget = Some(std::time::Duration::from_millis(20_300));
    let rollback = plan_request("Update", 10, "1", "2", json!({}));
    let answer = stack
        .send_within(&rollback, MemoryStacks::rolling_back(), budget)
        .await;
    assert_eq!(status(&answer), "SUCCESS", "{answer:?}");
    assert_eq!(outcome(&answer), "plan stopping");
    *stack.plans.regions().revert_takes.lock().unwrap() = None;
    let coordinator = &stack.plans.coordinator;
    coordinator
        .stop(&slow_id, "the coordinator goes on", false)
        .await
        .unwrap();

    // A Create whose stack rolls back at once, before the open plans' index (a GSI, eventually
    // consistent) shows its plan: the resource's own pointer, read consistently, finds it. The
    // Delete that undoes the Create stops it.
    let created = stack
        .send(&plan_request("Create", 3, "2", "", json!({})))
        .await;
    let created_id = created.data["PlanId"].clone();
    *stack.plans.records.index_lags.lock().unwrap() = true;
    let mut delete = plan_request("Delete", 4, "2", "", json!({}));
    delete
        .as_object_mut()
        .unwrap()
        .remove("OldResourceProperties");
    let answer = stack
        .send_in(&delete, MemoryStacks(Some("ROLLBACK_IN_PROGRESS".into())))
        .await;
    assert_eq!(status(&answer), "SUCCESS");
    assert!(stack.plan(&created_id).ended(), "found without the index");
    *stack.plans.records.index_lags.lock().unwrap() = false;
    // A Delete when the stack is deleted leaves a running plan to run, as it leaves an alias.
    let kept = stack
        .send(&plan_request("Create", 5, "2", "", json!({})))
        .await;
    let kept_id = kept.data["PlanId"].clone();
    let mut delete = plan_request("Delete", 6, "2", "", json!({}));
    delete
        .as_object_mut()
        .unwrap()
        .remove("OldResourceProperties");
    assert_eq!(status(&stack.send(&delete).await), "SUCCESS");
    assert!(!stack.plan(&kept_id).ended());
}

#[tokio::test]
async fn a_completed_plan_answers_its_waiting_stack_success_and_its_stacks_rollback_recalls_it() {
    let w = world();
    let stack = Stack::of(&w);
    let too_long = plan_request(
        "Create",
        1,
        "2",
        "",
        json!({"Wait": "true", "WaveBake": "2h"}),
    );
    let answer = stack.send(&too_long).await;
    assert_eq!(status(&answer), "FAILED");
    assert!(
        answer
            .reason
            .clone()
            .unwrap()
            .contains("Wait: true, but a plan"),
        "{answer:?}"
    );
    assert!(stack.plans.records.plans.lock().unwrap().is_empty());

    let waits = plan_request("Create", 2, "2", "", json!({"Wait": "true"}));
    let waited = stack.send_waiting_for_plan(&waits).await;
    let id = crate::service::plan_id_for("00000000-0000-4000-8000-000000000002");
    assert_eq!(waited, id);
    let regions = stack.plans.regions();
    let mut now = crate::waves::epoch_now();
    stack.look(&id, now).await;
    regions.promote(&format!("{id}-w1-1"), now);
    stack.look(&id, now + 1).await;
    now += 61;
    stack.look(&id, now).await;
    stack.look(&id, now + 1).await;
    regions.promote(&format!("{id}-w2-2"), now + 2);
    let plan = stack.look(&id, now + 3).await;
    assert!(
        matches!(plan.phase, PlanPhase::Completed { .. }),
        "{:?}",
        plan.phase
    );
    // The record keeps the stack's presigned URL; `status --json` does not show it.
    assert!(stack
        .plans
        .records
        .load(&id)
        .await
        .unwrap()
        .0
        .answer_to
        .is_some());
    let answer = stack
        .plan_workflow_ended(&id, "SUCCEEDED")
        .await
        .expect("answered");
    assert_eq!(status(&answer), "SUCCESS", "{answer:?}");
    assert_eq!(outcome(&answer), "plan completed");
    assert!(stack.plans.running().await.unwrap().is_empty());

    // A resource after it in the same update fails: the stack rolls back from the completed
    // plan, which is recalled. One Region does not answer: the recall's own workflow (the
    // plan's had ended) carries it on, and its look brings that Region back too.
    regions.set_unreachable("us-east-1", true);
    let rollback = plan_request("Update", 3, "1", "2", json!({"Wait": "true"}));
    let answer = stack.send_rolling_back(&rollback).await;
    assert_eq!(outcome(&answer), "plan stopped", "{answer:?}");
    assert!(answer
        .reason
        .clone()
        .unwrap()
        .contains(&format!("completed plan {id} recalled")));
    let launched = stack.plans.workflow.launched.lock().unwrap().clone();
    let (name, input) = launched.last().unwrap();
    assert_eq!(name, &format!("{id}-recall"));
    assert_eq!(
        input["generation"], 1000,
        "its continuations apart from the first run's"
    );
    assert_eq!(
        stack.plan(&id).answer_to,
        None,
        "the waiting stack was answered already"
    );
    regions.set_unreachable("us-east-1", false);
    stack.look(&id, now + 100).await;
    for release in [format!("{id}-w1-1"), format!("{id}-w2-2")] {
        assert_eq!(regions.release(&release).reverts, 1, "{release} back once");
    }
    let plan = stack.plan(&id);
    assert!(
        matches!(plan.phase, PlanPhase::Stopped { .. }),
        "{:?}",
        plan.phase
    );
    // Delivered again: nothing more.
    stack.send_rolling_back(&rollback).await;
    assert_eq!(regions.release(&format!("{id}-w1-1")).reverts, 1);
}

/// A stack's first deploy: the alias missing in one Region (made on the version, as a first
/// deploy of one alias makes it) and on the version already in the other. Nothing to release:
/// the plan completes at its first look, and a waiting stack hears SUCCESS.
#[tokio::test]
async fn a_first_deploy_makes_missing_aliases_and_releases_nothing_already_there() {
    let w = world();
    let stack = Stack::of(&w);
    let regions = stack.plans.regions();
    regions.no_alias.lock().unwrap().insert("us-east-1".into());
    regions
        .on_version
        .lock()
        .unwrap()
        .insert("eu-west-1".into());
    let create = plan_request("Create", 1, "2", "", json!({"Wait": "true"}));
    let id = stack.send_waiting_for_plan(&create).await;
    assert_eq!(regions.count("create_alias"), 1, "us-east-1's alias made");
    let plan = stack.plan(&id);
    assert!(plan
        .targets
        .iter()
        .all(|t| t.state == TargetState::AlreadyOn));
    let plan = stack.look(&id, crate::waves::epoch_now()).await;
    assert!(
        matches!(plan.phase, PlanPhase::Completed { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(regions.count("start"), 0, "nothing released");
    let answer = stack
        .plan_workflow_ended(&id, "SUCCEEDED")
        .await
        .expect("answered");
    assert_eq!(status(&answer), "SUCCESS", "{answer:?}");
}
