//! The custom resource provider's decisions, as sequences of CloudFormation requests a team's
//! stack sends (every property a string, as CloudFormation sends it), with the workflow's
//! start run where a release was launched. Each sequence ends with the stack able to deploy
//! again: no FAILED answer during a rollback, no split alias that nothing moves, no lock held
//! by a release that is over. The emulator tests (`tests/provider.rs`) keep the wire.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse as Answer;

use super::*;
use crate::router::routing::AliasRouting;

const TWO_STEPS: &str = "steps:10@0s,50@0s";

/// A `Create` of `orders:prod` on `version`, in CloudFormation's shape.
fn create(version: &str) -> Value {
    json!({
        "RequestType": "Create", "RequestId": "7d2b4c1e-0000-4000-8000-000000000001",
        "ResponseURL": "https://example.com/response",
        "StackId": STACK,
        "ResourceType": "Custom::ShiftbackRelease", "LogicalResourceId": "OrdersRelease",
        "ResourceProperties": {"FunctionName": FUNCTION, "Alias": "prod", "Version": version}
    })
}

/// The resource's properties: `orders:live` on `version`, the world's alarm, analysis off
/// (spelled as an unquoted YAML `off` arrives), and `extra`.
fn props(version: &str, extra: &Value) -> Value {
    let mut props = json!({
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:shiftback-provider",
        "FunctionName": FUNCTION, "Alias": ALIAS, "Version": version,
        "Strategy": TWO_STEPS, "Alarms": [ALARM], "Analysis": "false"
    });
    for (k, v) in extra.as_object().unwrap() {
        props[k] = v.clone();
    }
    props
}

/// A team's stack deploying through the provider.
struct Stack<'a> {
    w: &'a World,
    workflow: MemoryWorkflow,
    answers: MemoryAnswers,
    requests: std::cell::Cell<u32>,
}

impl<'a> Stack<'a> {
    fn of(w: &'a World) -> Self {
        Stack {
            w,
            workflow: MemoryWorkflow {
                journal: w.journal.clone(),
                ..Default::default()
            },
            answers: MemoryAnswers::default(),
            requests: std::cell::Cell::new(0),
        }
    }

    /// An Update from `old` to `version` (both with `extra`), with a new request id.
    fn update(&self, version: &str, old: &str, extra: Value) -> Value {
        self.requests.set(self.requests.get() + 1);
        json!({
            "RequestType": "Update",
            "RequestId": format!("00000000-0000-4000-8000-{:012}", self.requests.get()),
            "ResponseURL": "https://example.com/response",
            "StackId": STACK,
            "ResourceType": "Custom::ShiftbackRelease", "LogicalResourceId": "OrdersRelease",
            "PhysicalResourceId": format!("{FUNCTION}:{ALIAS}"),
            "ResourceProperties": props(version, &extra),
            "OldResourceProperties": props(old, &extra),
        })
    }

    /// Sends a request while the stack's status is `status`.
    async fn send_in(&self, request: &Value, stacks: MemoryStacks) -> Answer {
        self.send_within(request, stacks, None).await
    }

    /// Sends a request to an invocation with `budget` left.
    async fn send_within(
        &self,
        request: &Value,
        stacks: MemoryStacks,
        budget: Option<std::time::Duration>,
    ) -> Answer {
        self.w
            .service
            .answer_cfn(
                request.clone(),
                &self.workflow,
                &self.answers,
                &stacks,
                budget,
            )
            .await
            .unwrap()
            .now()
            .expect("answered now")
    }

    /// Sends a `Wait: true` request whose answer waits for its release's end: the release.
    async fn send_waiting(&self, request: &Value) -> String {
        let answered = self
            .w
            .service
            .answer_cfn(
                request.clone(),
                &self.workflow,
                &self.answers,
                &MemoryStacks(None),
                None,
            )
            .await
            .unwrap();
        match answered {
            Answered::WhenReleaseEnds { release_id } => release_id,
            Answered::Now(answer) => panic!("answered at once: {answer:?}"),
        }
    }

    /// Sends a request while the stack updates (its status unreadable: decided from the
    /// records alone, as with a missing grant).
    async fn send(&self, request: &Value) -> Answer {
        self.send_in(request, MemoryStacks(None)).await
    }

    /// Sends a request while the stack rolls back: never a FAILED answer.
    async fn send_rolling_back(&self, request: &Value) -> Answer {
        let answer = self.send_in(request, MemoryStacks::rolling_back()).await;
        assert_eq!(status(&answer), "SUCCESS", "a rollback refused: {answer:?}");
        answer
    }

    /// Runs the workflow's start of the release `answer` launched.
    async fn run_start(&self, answer: &Answer) -> StepOutcome {
        let id = answer.data["ReleaseId"].clone();
        let input = self
            .workflow
            .launched
            .lock()
            .unwrap()
            .iter()
            .find(|(name, _)| *name == id)
            .map(|(_, input)| input.clone())
            .unwrap_or_else(|| panic!("{id} was not launched"));
        self.w
            .service
            .start(parse_start(input).unwrap())
            .await
            .unwrap()
    }

    fn launches(&self) -> usize {
        self.workflow.launched.lock().unwrap().len()
    }

    /// What a stack that can deploy again leaves: the alias split only while a live release
    /// holds it, and no lock held by a release that is over.
    fn can_deploy_again(&self) {
        let lock = self.w.store.lock(FUNCTION, ALIAS);
        if let Some(lock) = &lock {
            let holder = self.w.store.release(&lock.release_id);
            assert!(!holder.phase.is_terminal(), "{holder:?} holds the lock");
        }
        let routing = self.w.router.routing(FUNCTION, ALIAS);
        assert!(
            routing.extra.is_none() || lock.is_some(),
            "{routing} with nothing moving it"
        );
    }
}

/// How often the alias was put wholly on version 1, the stable version.
fn back_on_stable(w: &World) -> usize {
    let entries = w.journal.entries();
    entries
        .iter()
        .filter(|e| *e == "alias orders:live -> version 1")
        .count()
}

fn status(answer: &Answer) -> String {
    serde_json::to_value(&answer.status)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

fn outcome(answer: &Answer) -> &str {
    answer.data.get("Outcome").map(String::as_str).unwrap_or("")
}

#[tokio::test(start_paused = true)]
async fn a_create_that_loses_a_race_for_the_alias_looks_again_and_succeeds() {
    let w = world();
    // Between the provider's read (no alias) and its CreateAlias, another create of the same
    // resource (CloudFormation's own retry) makes the alias: Lambda refuses the second with
    // ResourceConflictException, which passes with time. The provider looks again.
    w.router.interleave("create_alias", |table| {
        table.move_alias(FUNCTION, "prod", AliasRouting::single("2"));
    });
    let stack = Stack::of(&w);
    let answer = stack.send(&create("2")).await;
    assert_eq!(outcome(&answer), "already on the version", "{answer:?}");
    assert_eq!(stack.answers.sent.lock().unwrap().len(), 1, "answered once");
    assert_eq!(w.router.routing(FUNCTION, "prod").to_string(), "version 2");
    assert_eq!(w.journal.count("launch"), 0, "no release started");
}

#[tokio::test]
async fn deploying_twice_in_a_row_supersedes_the_running_release() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    assert_eq!(outcome(&first), "release started");
    stack.run_start(&first).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 2");

    // A fix a few minutes later, while the first still moves the alias.
    let second_request = stack.update("3", "2", json!({}));
    let second = stack.send(&second_request).await;
    assert_eq!(status(&second), "SUCCESS", "{second:?}");
    let first_id = &first.data["ReleaseId"];
    let second_id = &second.data["ReleaseId"];
    let superseded = w.store.release(first_id);
    assert_eq!(superseded.phase, Phase::Superseded);
    assert!(
        superseded
            .reason
            .as_deref()
            .unwrap()
            .contains(second_id.as_str()),
        "names the release that took its place: {:?}",
        superseded.reason
    );
    assert!(second
        .reason
        .as_deref()
        .unwrap()
        .contains(first_id.as_str()));
    assert_eq!(
        w.journal.count(&format!("announce {first_id} superseded")),
        1
    );
    assert_eq!(back_on_stable(&w), 1, "back on its stable version first");
    // Recorded and at its first step before the answer; the workflow's start continues it.
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    stack.run_start(&second).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    assert_eq!(
        w.store.lock(FUNCTION, ALIAS).unwrap().release_id,
        *second_id
    );

    // CloudFormation delivers the second request again: the same answer, nothing more.
    let again = stack.send(&second_request).await;
    assert_eq!(
        (outcome(&again), &again.data["ReleaseId"]),
        ("release started", second_id)
    );
    assert_eq!(stack.launches(), 2);
    assert_eq!(w.phase(second_id), "shifting");
    stack.can_deploy_again();
}

#[tokio::test]
async fn when_busy_fail_refuses_with_the_reason_and_its_rollback_is_answered() {
    let w = world();
    let stack = Stack::of(&w);
    let fail = json!({"WhenBusy": "Fail"});
    let first = stack.send(&stack.update("2", "1", fail.clone())).await;
    stack.run_start(&first).await;
    let journal = w.journal.entries().len();

    let refused = stack.send(&stack.update("3", "2", fail.clone())).await;
    assert_eq!(status(&refused), "FAILED");
    let reason = refused.reason.clone().unwrap();
    assert!(
        reason.contains(first.data["ReleaseId"].as_str()),
        "{reason}"
    );
    assert!(reason.contains("WhenBusy: Fail"), "{reason}");
    assert_eq!(stack.launches(), 1, "nothing started");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    assert!(
        w.journal.entries()[journal..]
            .iter()
            .all(|e| !e.starts_with("save") && !e.starts_with("alias")),
        "nothing written: {:?}",
        &w.journal.entries()[journal..]
    );
    // CloudFormation rolls the stack back: the running release is the version it goes back to.
    let back = stack.send_rolling_back(&stack.update("2", "3", fail)).await;
    assert!(outcome(&back).contains("moves the alias to it"), "{back:?}");
    assert_eq!(w.phase(&first.data["ReleaseId"]), "shifting");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_rollback_after_an_alarm_revert_never_brings_the_rejected_version_back() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    stack.run_start(&first).await;
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(w.routing(), "version 1");
    w.alarms.set(ALARM, AlarmState::Ok, Utc::now());

    // The next deploy fails (a version that does not exist)...
    let failed = stack.send(&stack.update("9", "2", json!({}))).await;
    assert_eq!(status(&failed), "FAILED");
    assert!(failed.reason.as_deref().unwrap().contains("version 9"));
    // ...and CloudFormation's rollback names version 2 again.
    let rollback = stack.update("2", "9", json!({}));
    let back = stack.send_rolling_back(&rollback).await;
    assert_eq!(outcome(&back), "not released", "{back:?}");
    assert!(
        back.reason.as_deref().unwrap().contains("rolled it back"),
        "{back:?}"
    );
    assert_eq!(w.routing(), "version 1");
    assert_eq!(stack.launches(), 1, "no release of version 2 again");
    let declined = w.store.release(&back.data["ReleaseId"]);
    assert_eq!(declined.phase, Phase::Refused, "on the record");
    assert!(declined.was_declined());
    // The same request delivered twice: the same answer, one record.
    let again = stack.send_rolling_back(&rollback).await;
    assert_eq!(again.data, back.data);
    stack.can_deploy_again();

    // An ordinary update that keeps the version (a strategy change): nothing either.
    let kept = stack
        .send(&stack.update("2", "2", json!({"Strategy": "AllAtOnce"})))
        .await;
    assert_eq!(
        (status(&kept).as_str(), outcome(&kept)),
        ("SUCCESS", "nothing started")
    );
    assert_eq!(stack.launches(), 1);
    // The rejected version asked for again (after the failed deploy of 9): not released, and
    // with Wait: true the stack must not go green without its release.
    let asked_again = stack.send(&stack.update("2", "9", json!({}))).await;
    assert_eq!(
        (status(&asked_again).as_str(), outcome(&asked_again)),
        ("SUCCESS", "not released")
    );
    let waited = stack
        .send(&stack.update("2", "9", json!({"Wait": "true"})))
        .await;
    assert_eq!(status(&waited), "FAILED");
    assert!(waited
        .reason
        .as_deref()
        .unwrap()
        .contains("Rerelease: true"));
    // A deliberate re-release says so.
    let deliberate = stack
        .send(&stack.update("2", "2", json!({"Rerelease": "yes"})))
        .await;
    assert_eq!(outcome(&deliberate), "release started", "{deliberate:?}");
    stack.run_start(&deliberate).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_rollback_after_a_failed_health_check_leaves_the_last_good_version() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("3", "1", json!({}))).await;
    stack.run_start(&first).await;
    // The workflow's own look finds the alarm firing (no alarm event: a judged step).
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let id = first.data["ReleaseId"].clone();
    let looked = w.service.advance(step(&id)).await.unwrap();
    assert_eq!(looked.next, Next::Rollback);
    w.service.rollback(step(&id)).await.unwrap();
    assert_eq!(w.phase(&id), "rolled_back");
    w.alarms.set(ALARM, AlarmState::Ok, Utc::now());
    // Another resource of the stack fails; CloudFormation goes back to version 3.
    let back = stack
        .send_rolling_back(&stack.update("3", "2", json!({})))
        .await;
    assert_eq!(outcome(&back), "not released");
    assert_eq!(w.routing(), "version 1");
    assert_eq!(stack.launches(), 1);
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_rollback_aborts_the_stacks_release_or_reverts_a_promoted_one() {
    let w = world();
    let stack = Stack::of(&w);
    // v2 promoted.
    let first = stack
        .send(&stack.update("2", "1", json!({"Strategy": "AllAtOnce"})))
        .await;
    let started = stack.run_start(&first).await;
    assert_eq!(started.next, Next::Promote);
    w.service
        .promote(step(&first.data["ReleaseId"]))
        .await
        .unwrap();
    assert_eq!(w.routing(), "version 2");
    // v3 underway when another resource fails: the rollback aborts it, back on v2.
    let second = stack.send(&stack.update("3", "2", json!({}))).await;
    stack.run_start(&second).await;
    let back = stack
        .send_rolling_back(&stack.update("2", "3", json!({})))
        .await;
    assert!(outcome(&back).contains("aborted"), "{back:?}");
    assert_eq!(w.routing(), "version 2");
    let aborted = w.store.release(&second.data["ReleaseId"]);
    assert_eq!(aborted.phase, Phase::Aborted);
    // Not a verdict on v3: the team may deploy it again once the stack is fixed.
    let again = stack.send(&stack.update("3", "2", json!({}))).await;
    assert_eq!(outcome(&again), "release started", "{again:?}");
    stack.run_start(&again).await;
    w.service.promote(step(&again.data["ReleaseId"])).await.ok();
    let id = again.data["ReleaseId"].clone();
    while !w.store.release(&id).phase.is_terminal() {
        match w.service.advance(step(&id)).await.unwrap().next {
            Next::Promote => {
                w.service.promote(step(&id)).await.unwrap();
            }
            Next::Wait => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(w.routing(), "version 3");
    // Promoted, then the stack rolls back: back to v2 at once, on the record.
    let back = stack
        .send_rolling_back(&stack.update("2", "3", json!({})))
        .await;
    assert_eq!(outcome(&back), "reverted", "{back:?}");
    assert_eq!(w.routing(), "version 2");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_stack_that_does_not_own_the_function_is_refused_with_nothing_changed() {
    let w = world();
    let stack = Stack::of(&w);
    let mut request = stack.update("2", "1", json!({}));
    request["StackId"] = json!("arn:aws:cloudformation:eu-west-1:123456789012:stack/intruder/9");
    let before = w.journal.entries();
    let refused = stack.send(&request).await;
    assert_eq!(status(&refused), "FAILED");
    let reason = refused.reason.clone().unwrap();
    assert!(
        reason.contains("stack intruder may not release orders"),
        "{reason}"
    );
    assert_eq!(w.journal.entries(), before, "nothing written");
    assert_eq!(w.routing(), "version 1");
    // Its owner names it: then it may.
    w.router.table.lock().unwrap().tags.insert(
        FUNCTION.into(),
        [
            (STACK_ID_TAG.to_string(), STACK.to_string()),
            (RELEASE_STACKS_TAG.to_string(), "intruder".to_string()),
        ]
        .into_iter()
        .collect(),
    );
    let allowed = stack.send(&request).await;
    assert_eq!(outcome(&allowed), "release started", "{allowed:?}");
}

#[tokio::test]
async fn a_superseded_release_at_a_gate_has_its_token_handed_back() {
    let w = world();
    let stack = Stack::of(&w);
    let gated = json!({"Strategy": "steps:10@0s,gate,50@0s"});
    let first = stack.send(&stack.update("2", "1", gated.clone())).await;
    stack.run_start(&first).await;
    let id = first.data["ReleaseId"].clone();
    assert_eq!(w.service.advance(step(&id)).await.unwrap().next, Next::Gate);
    let registered = StepInput {
        task_token: Some("token-gate".into()),
        ..step(&id)
    };
    w.service.advance(registered).await.unwrap();
    let second = stack.send(&stack.update("3", "2", gated)).await;
    assert_eq!(outcome(&second), "release started");
    assert_eq!(w.phase(&id), "superseded");
    assert_eq!(
        w.journal.count("resume token-gate"),
        1,
        "{:?}",
        w.journal.entries()
    );
    assert_eq!(back_on_stable(&w), 1);
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_group_holding_the_alias_is_superseded_as_a_whole() {
    let w = group_world();
    let group = StartRequest {
        members: vec![worker()],
        ..request("g-1", TWO_STEPS)
    };
    w.service.start(group).await.unwrap();
    assert_eq!(
        w.router.routing(WORKER, ALIAS).to_string(),
        "version 7 with 10% on version 8"
    );
    let stack = Stack::of(&w);
    let answer = stack.send(&stack.update("3", "2", json!({}))).await;
    assert_eq!(outcome(&answer), "release started", "{answer:?}");
    assert_eq!(w.phase("g-1"), "superseded");
    assert_eq!(w.router.routing(WORKER, ALIAS).to_string(), "version 7");
    assert_eq!(
        w.store.lock(WORKER, ALIAS),
        None,
        "every member's lock given up"
    );
    stack.run_start(&answer).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
}

#[tokio::test]
async fn the_workflow_input_supersedes_as_the_provider_does_and_never_an_operators_revert() {
    let w = world();
    w.started("r-1", TWO_STEPS).await;
    // Without the choice, a held alias refuses the start.
    let held = w
        .service
        .start(request("r-2", TWO_STEPS))
        .await
        .unwrap_err();
    assert!(matches!(held, Error::LockHeld { .. }), "{held}");
    let superseding = StartRequest {
        supersede: true,
        target_version: "3".into(),
        ..request("r-2", TWO_STEPS)
    };
    w.service.start(superseding.clone()).await.unwrap();
    assert_eq!(w.phase("r-1"), "superseded");
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    // A retried start (the workflow's task again) continues r-2 and supersedes nothing more.
    w.service.start(superseding).await.unwrap();
    assert_eq!(w.phase("r-2"), "shifting");
}

#[tokio::test]
async fn an_update_that_keeps_the_version_leaves_anothers_release_alone() {
    let w = world();
    let stack = Stack::of(&w);
    // An operator releases version 2 by hand while the stack records version 1; the team then
    // deploys a labels-only change (version 1 again).
    w.started("r-ops", TWO_STEPS).await;
    let labels = json!({"Labels": {"commit": "abc"}});
    let answer = stack.send(&stack.update("1", "1", labels)).await;
    assert_eq!(
        (status(&answer).as_str(), outcome(&answer)),
        ("SUCCESS", "nothing started"),
        "{answer:?}"
    );
    assert!(answer.reason.as_deref().unwrap().contains("r-ops"));
    assert_eq!(w.phase("r-ops"), "shifting", "not aborted");
    assert_eq!(w.routing(), "version 1 with 10% on version 2");
}

#[tokio::test]
async fn a_supersede_cut_off_between_its_record_and_its_revert_is_finished_on_the_retry() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    stack.run_start(&first).await;
    let first_id = first.data["ReleaseId"].clone();
    // The supersede recorded its decision, then the revert's UpdateAlias was throttled beyond
    // the SDK's retries: the release is left rolling back, the alias still split.
    w.store.records.lock().unwrap().change(&first_id, |r| {
        r.phase = Phase::RollingBack {
            cause: crate::domain::RollbackCause::Superseded,
        };
        r.reason = Some("superseded by release cfn-earlier".into());
    });
    let second = stack.send(&stack.update("3", "2", json!({}))).await;
    assert_eq!(outcome(&second), "release started", "{second:?}");
    assert_eq!(w.phase(&first_id), "superseded");
    assert_eq!(back_on_stable(&w), 1);
    stack.run_start(&second).await;
    assert_eq!(w.routing(), "version 1 with 10% on version 3");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_declined_request_that_waits_is_failed_however_often_it_is_delivered() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    stack.run_start(&first).await;
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    w.alarms.set(ALARM, AlarmState::Ok, Utc::now());
    let waits = stack.update("2", "3", json!({"Wait": "yes"}));
    for _ in 0..2 {
        let answer = stack.send(&waits).await;
        assert_eq!(status(&answer), "FAILED", "{answer:?}");
    }
    assert_eq!(stack.launches(), 1);
}

#[tokio::test]
async fn a_rollback_right_after_the_answer_finds_the_release_before_its_workflow_runs() {
    let w = world();
    let stack = Stack::of(&w);
    // The update answers SUCCESS while another resource of the stack has failed already; the
    // workflow's Start has not run yet (Step Functions is slower than CloudFormation here).
    let forward = stack.send(&stack.update("2", "1", json!({}))).await;
    assert_eq!(outcome(&forward), "release started");
    let id = forward.data["ReleaseId"].clone();
    assert_eq!(w.phase(&id), "shifting", "recorded before the answer");
    let back = stack
        .send_rolling_back(&stack.update("1", "2", json!({})))
        .await;
    assert!(outcome(&back).contains("aborted"), "{back:?}");
    assert_eq!(w.routing(), "version 1");
    // The workflow's Start runs at last: it finds the release over and moves nothing.
    let late = stack.run_start(&forward).await;
    assert_eq!(late.next, Next::Done);
    assert_eq!(w.routing(), "version 1");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_delete_during_a_rollback_undoes_the_release_its_create_started() {
    let w = world();
    let stack = Stack::of(&w);
    // The resource is added to a stack whose function's alias already exists: its Create
    // starts a release. Another resource fails; CloudFormation deletes what it created.
    let mut create = stack.update("2", "1", json!({}));
    create["RequestType"] = json!("Create");
    let obj = create.as_object_mut().unwrap();
    obj.remove("OldResourceProperties");
    obj.remove("PhysicalResourceId");
    let created = stack.send(&create).await;
    assert_eq!(outcome(&created), "release started", "{created:?}");
    let mut delete = stack.update("2", "1", json!({}));
    delete["RequestType"] = json!("Delete");
    delete
        .as_object_mut()
        .unwrap()
        .remove("OldResourceProperties");
    // Outside a rollback, a Delete leaves everything as it is.
    let kept = stack.send(&delete).await;
    assert_eq!(status(&kept), "SUCCESS");
    assert_eq!(w.phase(&created.data["ReleaseId"]), "shifting");
    let undone = stack.send_rolling_back(&delete).await;
    assert!(
        undone.reason.as_deref().unwrap().contains("aborted"),
        "{undone:?}"
    );
    assert_eq!(w.phase(&created.data["ReleaseId"]), "aborted");
    assert_eq!(w.routing(), "version 1");
    stack.can_deploy_again();
}

#[tokio::test]
async fn wait_true_counts_every_bake_and_analysis_extension_against_the_service_timeout() {
    let w = world();
    let stack = Stack::of(&w);
    // Two one-minute steps (10%, 50%): 120 s of bakes, but with analysis on each step may wait
    // up to 10 more minutes for traffic: 1,440 s with the margin, past a 15-minute
    // ServiceTimeout.
    let judged = json!({"Wait": "true", "Strategy": "steps:10@1m,50@1m", "Analysis": "on",
                        "ServiceTimeout": "900"});
    let refused = stack.send(&stack.update("2", "1", judged)).await;
    assert_eq!(status(&refused), "FAILED");
    let reason = refused.reason.clone().unwrap();
    assert!(
        reason.contains("120s of bakes, 1200s of analysis extensions")
            && reason.contains("waits 900s"),
        "{reason}"
    );
    // Without a ServiceTimeout, CloudFormation waits its hour: two half-hour steps do not fit.
    let long = json!({"Wait": "true", "Strategy": "steps:10@30m,50@30m"});
    let refused = stack.send(&stack.update("2", "1", long)).await;
    assert!(
        refused.reason.as_deref().unwrap().contains("waits 3600s"),
        "{refused:?}"
    );
    assert_eq!(stack.launches(), 0);
    assert_eq!(w.routing(), "version 1", "nothing changed");
    assert!(w.store.lock(FUNCTION, ALIAS).is_none());
    // Within the hour, a release longer than the provider's own 15 minutes is waited for.
    let fits = json!({"Wait": "true", "Strategy": "steps:10@1m,50@1m", "Analysis": "on"});
    stack.send_waiting(&stack.update("2", "1", fits)).await;
    assert_eq!(stack.launches(), 1);
}

#[tokio::test]
async fn a_release_whose_alarm_fires_is_left_to_the_alarm_function_not_superseded_or_aborted() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    let first_id = first.data["ReleaseId"].clone();
    // Its alarm fires; the alarm function's event is still on its way (asynchronous invokes
    // arrive late). A supersede or an abort now would record no verdict on version 2.
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let fix = stack
        .send(&stack.update("3", "2", json!({"Alarms": []})))
        .await;
    assert_eq!(status(&fix), "FAILED", "{fix:?}");
    assert!(fix.reason.as_deref().unwrap().contains(ALARM), "{fix:?}");
    assert_eq!(w.phase(&first_id), "shifting", "nothing changed");
    let back = stack
        .send_rolling_back(&stack.update("1", "3", json!({})))
        .await;
    assert!(
        back.reason.as_deref().unwrap().contains("alarm function"),
        "{back:?}"
    );
    assert_eq!(w.phase(&first_id), "shifting");
    // The alarm function's event arrives: the verdict is recorded, and holds.
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(w.phase(&first_id), "rolled_back");
    assert_eq!(w.routing(), "version 1");
    stack.can_deploy_again();
}

#[tokio::test]
async fn every_refusal_is_failed_with_its_reason_and_changes_nothing_but_never_in_a_rollback() {
    let w = world();
    let stack = Stack::of(&w);
    let other_stack = "arn:aws:cloudformation:eu-west-1:123456789012:stack/intruder/9";
    // (what is changed in an Update from 1 to 2, what the reason must name)
    let refusals: Vec<(Value, &str)> = vec![
        (json!({"Version": ""}), "Version"),
        (json!({"Wait": "maybe"}), "Wait"),
        (json!({"Analysis": "enabled"}), "Analysis"),
        (json!({"WhenBusy": "Queue"}), "WhenBusy"),
        (json!({"Analisys": "off"}), "Analisys"),
        (json!({"Strategy": "Canary200Percent"}), "Canary200Percent"),
        (json!({"Version": "9"}), "version 9"),
        (json!({"Alarms": ["no-such-alarm"]}), "no-such-alarm"),
        (
            json!({"FunctionName": "not a function!"}),
            "not a function!",
        ),
        (json!({"StackId": other_stack}), "may not release"),
    ];
    for (change, names) in &refusals {
        let mut request = stack.update("2", "1", json!({}));
        for (k, v) in change.as_object().unwrap() {
            match k.as_str() {
                "StackId" => request["StackId"] = v.clone(),
                _ => request["ResourceProperties"][k] = v.clone(),
            }
        }
        let before = w.journal.entries();
        let refused = stack.send(&request).await;
        assert_eq!(status(&refused), "FAILED", "{change}: {refused:?}");
        let reason = refused.reason.clone().unwrap_or_default();
        assert!(reason.contains(names), "{change}: {reason}");
        assert_eq!(w.journal.entries(), before, "{change}: something changed");
        // The same request while the stack rolls back: answered, never refused.
        let answered = stack.send_rolling_back(&request).await;
        assert!(
            answered.reason.is_some(),
            "{change}: says why: {answered:?}"
        );
    }
    assert_eq!(stack.launches(), 0);
    assert_eq!(w.routing(), "version 1");
    assert!(w.store.lock(FUNCTION, ALIAS).is_none());
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_release_that_promotes_while_it_is_being_superseded_is_built_on() {
    let w = world();
    let stack = Stack::of(&w);
    let first = stack.send(&stack.update("2", "1", json!({}))).await;
    let first_id = first.data["ReleaseId"].clone();
    // Between the provider's checks and its supersede (its fourth read of a release: its own
    // id, the holder, the check's look at the holder, the supersede's), the first release
    // promotes: the alias is wholly on 2 and the release over.
    for _ in 0..3 {
        w.store.interleave("load_summary", |_| {});
    }
    let promoted = first_id.clone();
    w.store.interleave("load_summary", move |records| {
        records.change(&promoted, |r| r.phase = Phase::Succeeded);
        records.locks.clear();
    });
    w.router
        .table
        .lock()
        .unwrap()
        .move_alias(FUNCTION, ALIAS, AliasRouting::single("2"));
    let second = stack.send(&stack.update("3", "2", json!({}))).await;
    assert_eq!(outcome(&second), "release started", "{second:?}");
    let started = w.store.release(&second.data["ReleaseId"]);
    assert_eq!(started.stable_version, "2", "from where the alias is now");
    assert_eq!(w.routing(), "version 2 with 10% on version 3");
    assert_eq!(
        w.phase(&first_id),
        "succeeded",
        "nothing to supersede any more"
    );
}

#[tokio::test(start_paused = true)]
async fn a_launch_that_fails_after_the_release_was_recorded_is_launched_on_the_retry() {
    use crate::error::AwsErrorKind;
    let w = world();
    let stack = Stack::of(&w);
    // StartExecution throttled once, after the release was recorded and at its first step.
    stack.workflow.failing_launches.lock().unwrap().push(aws(
        "StartExecution",
        AwsErrorKind::Throttled,
        "Rate exceeded",
    ));
    let answer = stack.send(&stack.update("2", "1", json!({}))).await;
    assert_eq!(outcome(&answer), "release started", "{answer:?}");
    assert_eq!(
        stack.launches(),
        1,
        "launched on the retry: something moves it"
    );
    let (_, input) = stack.workflow.launched.lock().unwrap()[0].clone();
    assert_eq!(input["stable_version"], "1");
    assert_eq!(w.phase(&answer.data["ReleaseId"]), "shifting");
}

#[tokio::test]
async fn a_launch_refused_for_good_aborts_the_recorded_release_and_answers_failed() {
    use crate::error::AwsErrorKind;
    let w = world();
    let stack = Stack::of(&w);
    stack.workflow.failing_launches.lock().unwrap().push(aws(
        "StartExecution",
        AwsErrorKind::Rejected,
        "State Machine Does Not Exist",
    ));
    let answer = stack.send(&stack.update("2", "1", json!({}))).await;
    assert_eq!(status(&answer), "FAILED");
    assert!(answer.reason.as_deref().unwrap().contains("Does Not Exist"));
    let id = crate::service::release_id_for("00000000-0000-4000-8000-000000000001");
    assert_eq!(w.phase(&id), "aborted", "no release left holding the alias");
    assert_eq!(w.routing(), "version 1");
    stack.can_deploy_again();
}

#[tokio::test]
async fn an_alarm_an_operator_ignores_does_not_block_the_supersede() {
    let w = world();
    let stack = Stack::of(&w);
    // Two guards: an operator may ignore one, never the last.
    w.alarms.set(
        "orders-latency",
        AlarmState::Ok,
        Utc::now() - Duration::hours(1),
    );
    let guarded = json!({"Alarms": [ALARM, "orders-latency"]});
    let first = stack.send(&stack.update("2", "1", guarded)).await;
    let first_id = first.data["ReleaseId"].clone();
    w.alarms.set(ALARM, AlarmState::Alarm, Utc::now());
    let ignore = Control::Ignore {
        guard: ALARM.into(),
        for_secs: 3600,
        reason: "a known spike".into(),
    };
    w.service.control(&first_id, ignore, "alice").await.unwrap();
    let fix = stack
        .send(&stack.update("3", "2", json!({"AlarmOverrides": [ALARM]})))
        .await;
    assert_eq!(outcome(&fix), "release started", "{fix:?}");
    assert_eq!(w.phase(&first_id), "superseded");
}

mod waits;

#[tokio::test]
async fn a_stack_opts_into_the_fast_path_by_namespace_and_a_reserved_one_is_refused() {
    let w = world();
    let stack = Stack::of(&w);
    let fast = json!({"Analysis": "true", "FastPathNamespace": "Orders/Fast"});
    let answer = stack.send(&stack.update("2", "1", fast)).await;
    assert_eq!(outcome(&answer), "release started", "{answer:?}");
    stack.run_start(&answer).await;
    let alarms: Vec<String> = w
        .alarms
        .analysis_alarms
        .lock()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(alarms.iter().any(|a| a.ends_with(".fast")), "{alarms:?}");

    let reserved = json!({"Analysis": "true", "FastPathNamespace": "AWS/Lambda"});
    let answer = stack.send(&stack.update("3", "2", reserved)).await;
    assert_eq!(status(&answer), "FAILED");
    assert!(
        answer
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("AWS/ is reserved")),
        "{answer:?}"
    );
}
