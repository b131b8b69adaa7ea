//! The custom resource provider's decisions, as sequences of CloudFormation requests a team's
//! stack sends (every property a string, as CloudFormation sends it), with the workflow's
//! start run where a release was launched. Each sequence ends with the stack able to deploy
//! again: no FAILED answer during a rollback, no split alias that nothing moves, no lock held
//! by a release that is over. The emulator tests (`tests/provider.rs`) keep the wire.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse as Answer;

use super::*;

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
    /// The home Region's plans (eu-west-1, the world's), for a resource with `Waves`.
    plans: crate::waves::memory::MemoryStackPlans,
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
            plans: crate::waves::memory::MemoryStackPlans::in_region("eu-west-1"),
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
                Some(&self.plans),
                &self.answers,
                &stacks,
                budget,
            )
            .await
            .unwrap()
            .now()
            .expect("answered now")
    }

    /// Sends a `Wait: true` request whose answer is left to the end of what it started.
    async fn send_left_to_its_end(&self, request: &Value) -> Answered {
        let answered = self.w.service.answer_cfn(
            request.clone(),
            &self.workflow,
            Some(&self.plans),
            &self.answers,
            &MemoryStacks(None),
            None,
        );
        Box::pin(answered).await.unwrap()
    }

    /// Sends a `Wait: true` request whose answer waits for its release's end: the release.
    async fn send_waiting(&self, request: &Value) -> String {
        match self.send_left_to_its_end(request).await {
            Answered::WhenReleaseEnds { release_id } => release_id,
            other => panic!("not left to a release's end: {other:?}"),
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

mod deploys;
mod plans;
mod refusals;
mod rollbacks;
mod waits;
