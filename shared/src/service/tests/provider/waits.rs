//! `Wait: true`: the request is answered when its release's workflow ends (EventBridge's
//! status change of its execution), whichever way the release ends, so a stack can wait up to
//! its `ServiceTimeout` rather than the provider's own 15 minutes.

use super::*;

const WAITS: &str = "https://example.com/waiting-stack-response";

/// A `Wait: true` Update from 1 to `version`, answered at its own URL.
fn waits(stack: &Stack<'_>, version: &str) -> Value {
    let mut request = stack.update(version, "1", json!({"Wait": "true"}));
    request["ResponseURL"] = json!(WAITS);
    request
}

/// EventBridge's "Step Functions Execution Status Change" for release `id`'s execution.
pub(super) fn execution_ended(id: &str, status: &str) -> Value {
    json!({
        "version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175",
        "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
        "account": "123456789012", "time": "2026-12-02T11:00:00Z", "region": "eu-west-1",
        "resources": [format!("arn:aws:states:eu-west-1:123456789012:execution:shiftback-release:{id}")],
        "detail": {
            "executionArn": format!("arn:aws:states:eu-west-1:123456789012:execution:shiftback-release:{id}"),
            "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:shiftback-release",
            "name": id, "status": status,
            "startDate": 1764673200000_i64, "stopDate": 1764673260000_i64,
            "input": "{}", "output": null
        }
    })
}

impl Stack<'_> {
    /// The answers sent to the waiting stack's URL.
    fn waiting_answers(&self) -> Vec<Answer> {
        let sent = self.answers.sent.lock().unwrap();
        sent.iter()
            .filter(|(url, _)| url == WAITS)
            .map(|(_, answer)| answer.clone())
            .collect()
    }

    /// The end of release `id`'s workflow, as the provider is invoked with it.
    async fn workflow_ended(&self, id: &str, status: &str) -> Option<Answer> {
        self.w
            .service
            .answer_ended(
                execution_ended(id, status),
                Some(&self.plans),
                &self.answers,
            )
            .await
            .unwrap()
    }

    /// Runs release `id`'s workflow as its tasks would, from its launch to its last state.
    async fn run_release(&self, id: &str) -> Phase {
        let input = self.workflow.launched.lock().unwrap()[0].1.clone();
        let mut outcome = self.w.service.start(parse_start(input).unwrap()).await;
        while let Ok(StepOutcome {
            next: Next::Wait, ..
        }) = outcome
        {
            outcome = self.w.service.advance(step(id)).await;
        }
        match outcome.unwrap().next {
            Next::Promote => self.w.service.promote(step(id)).await.unwrap(),
            _ => self.w.service.rollback(step(id)).await.unwrap(),
        };
        self.w.store.release(id).phase
    }
}

#[tokio::test]
async fn a_waiting_update_is_answered_success_when_its_workflow_ends_with_the_release_done() {
    let w = world();
    let stack = Stack::of(&w);
    let request = waits(&stack, "2");
    let id = stack.send_waiting(&request).await;
    assert!(
        stack.answers.sent.lock().unwrap().is_empty(),
        "no answer yet"
    );
    // CloudFormation delivers the request again while the release runs: still no answer.
    assert_eq!(stack.send_waiting(&request).await, id);
    assert_eq!(stack.launches(), 1);
    assert_eq!(stack.run_release(&id).await, Phase::Succeeded);
    assert!(
        stack.waiting_answers().is_empty(),
        "answered by the end event"
    );

    let answer = stack.workflow_ended(&id, "SUCCEEDED").await.unwrap();
    assert_eq!(status(&answer), "SUCCESS", "{answer:?}");
    assert_eq!(answer.data["ReleaseId"], id);
    assert_eq!(answer.data["Version"], "2");
    assert_eq!(outcome(&answer), "release succeeded");
    assert_eq!(answer.physical_resource_id, format!("{FUNCTION}:{ALIAS}"));
    assert_eq!(answer.request_id, request["RequestId"].as_str().unwrap());
    // EventBridge delivers the event twice: the same document again, harmless.
    stack.workflow_ended(&id, "SUCCEEDED").await.unwrap();
    let answers = stack.waiting_answers();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0], answers[1]);
    stack.can_deploy_again();
}

#[tokio::test]
async fn an_alarm_revert_stops_the_workflow_and_the_waiting_update_fails_with_the_reason() {
    let w = world();
    let stack = Stack::of(&w);
    let id = stack.send_waiting(&waits(&stack, "2")).await;
    let input = stack.workflow.launched.lock().unwrap()[0].1.clone();
    w.service.start(parse_start(input).unwrap()).await.unwrap();
    // The alarm function reverts, records it, then stops the workflow: ABORTED.
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    assert_eq!(w.phase(&id), "rolled_back");
    let answer = stack.workflow_ended(&id, "ABORTED").await.unwrap();
    assert_eq!(status(&answer), "FAILED");
    let reason = answer.reason.clone().unwrap();
    assert!(
        reason.contains("rolled_back") && reason.contains(ALARM),
        "{reason}"
    );
    assert_eq!(w.routing(), "version 1");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_workflow_that_ends_before_its_release_fails_the_waiting_update() {
    let w = world();
    let stack = Stack::of(&w);
    let id = stack.send_waiting(&waits(&stack, "2")).await;
    // Its Start ran, then the execution failed (a task's retries ran out): the release is
    // left shifting, and the stack must not wait out its hour for it.
    let input = stack.workflow.launched.lock().unwrap()[0].1.clone();
    w.service.start(parse_start(input).unwrap()).await.unwrap();
    let answer = stack.workflow_ended(&id, "FAILED").await.unwrap();
    assert_eq!(status(&answer), "FAILED");
    let reason = answer.reason.unwrap();
    assert!(
        reason.contains("ended FAILED while the release was shifting"),
        "{reason}"
    );
    // CloudFormation rolls the stack back: the release is aborted, the rollback answered.
    let back = stack
        .send_rolling_back(&stack.update("1", "2", json!({})))
        .await;
    assert!(outcome(&back).contains("aborted"), "{back:?}");
    stack.can_deploy_again();
}

#[tokio::test]
async fn a_request_delivered_again_after_its_release_ended_is_answered_at_once() {
    let w = world();
    let stack = Stack::of(&w);
    let request = waits(&stack, "2");
    let id = stack.send_waiting(&request).await;
    assert_eq!(stack.run_release(&id).await, Phase::Succeeded);
    // The release ended (and, say, its end event was lost); the request comes again.
    let answer = stack.send(&request).await;
    assert_eq!(status(&answer), "SUCCESS", "{answer:?}");
    assert_eq!(answer.data["ReleaseId"], id);
    assert_eq!(stack.launches(), 1);
}

#[tokio::test]
async fn a_release_that_ends_while_the_provider_keeps_its_answer_is_answered_by_the_provider() {
    let w = world();
    // Between the provider's read of the release and its save of the answer target, the
    // release ends (its alarm's revert): the save is refused on the newer revision, and the
    // provider, reading the release again, answers at once.
    let stack = Stack::of(&w);
    let request = waits(&stack, "2");
    let id = stack.send_waiting(&request).await;
    let input = stack.workflow.launched.lock().unwrap()[0].1.clone();
    w.service.start(parse_start(input).unwrap()).await.unwrap();
    let mut before = w.store.release(&id);
    before.answer_to = None;
    w.responder.handle(alarm_fired(ALARM), None).await.unwrap();
    let ended = w.store.release(&id);
    // The record as the redelivered request first reads it; the revert lands before its save.
    w.store
        .records
        .lock()
        .unwrap()
        .releases
        .insert(id.clone(), before);
    w.store.interleave("save", move |records| {
        records.releases.insert(ended.id.clone(), ended);
    });
    let answer = stack.send(&request).await;
    assert_eq!(status(&answer), "FAILED", "{answer:?}");
    assert!(answer.reason.unwrap().contains("rolled_back"));
}

#[tokio::test]
async fn an_execution_with_no_waiting_stack_or_no_release_answers_nothing() {
    let w = world();
    let stack = Stack::of(&w);
    let answer = stack.send(&stack.update("2", "1", json!({}))).await;
    let id = answer.data["ReleaseId"].clone();
    stack.run_start(&answer).await;
    assert!(stack.workflow_ended(&id, "SUCCEEDED").await.is_none());
    assert!(stack.workflow_ended("r-unknown", "ABORTED").await.is_none());
    assert_eq!(
        stack.answers.sent.lock().unwrap().len(),
        1,
        "the update's own"
    );
    let not_an_event = w
        .service
        .answer_ended(json!({"detail": {}}), Some(&stack.plans), &stack.answers)
        .await;
    assert!(matches!(not_an_event, Err(Error::BadRequest(_))));
}

#[test]
fn the_presigned_url_is_never_printed() {
    let waiting = crate::domain::StackWaiting {
        response_url: "https://cloudformation-custom-resource-response.s3.amazonaws.com/x?X-Amz-Signature=secret".into(),
        stack_id: STACK.into(),
        request_id: "r".into(),
        logical_resource_id: "OrdersRelease".into(),
        physical_resource_id: "orders:live".into(),
        data: Default::default(),
    };
    assert!(!format!("{waiting:?}").contains("secret"));
}
