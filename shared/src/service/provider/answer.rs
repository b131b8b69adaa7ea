//! `Wait: true`: the stack's update is answered when its release ends, by the provider
//! invoked on the end of the release's workflow (EventBridge's "Step Functions Execution
//! Status Change"), not by an invocation that waits. So a release may take up to the
//! resource's `ServiceTimeout` (CloudFormation's hour at most), not the provider's 15 minutes.
//!
//! Every way a release ends also ends its workflow: its own last state, the alarm function's
//! `StopExecution` after it records the revert, an operator's or a stack's abort. The answer
//! target is kept on the release record itself: saved over the revision it was read at, so
//! either it is there before the release's end is recorded (and the workflow's end finds it),
//! or the save fails on the newer revision, and the provider, reading the release again, finds
//! it ended and answers at once. A repeated end event answers again with the same document
//! (the presigned object is written again; CloudFormation has its answer already).

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse as Response;
use serde::Deserialize;

use super::*;
use crate::domain::wave::is_plan_id;
use crate::domain::StackWaiting;
use crate::ports::Ports;

/// The EventBridge detail-type of a Step Functions execution's status change.
pub const EXECUTION_STATUS_CHANGE: &str = "Step Functions Execution Status Change";
/// Saves of the answer target tried against releases that move meanwhile.
const REMEMBER_ATTEMPTS: usize = 5;

/// What the provider did with a request: answered it, or left the answer to the end of the
/// release it waits for.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answered {
    Now(Response),
    WhenReleaseEnds { release_id: String },
    WhenPlanEnds { plan_id: String },
}

impl Answered {
    /// The answer sent now, if one was.
    pub fn now(self) -> Option<Response> {
        match self {
            Answered::Now(response) => Some(response),
            Answered::WhenReleaseEnds { .. } | Answered::WhenPlanEnds { .. } => None,
        }
    }
}

/// The part of the status-change event the answer needs.
#[derive(Debug, Deserialize)]
struct ExecutionEnded {
    detail: ExecutionDetail,
}

#[derive(Debug, Deserialize)]
struct ExecutionDetail {
    /// The execution's name: its release's id.
    name: String,
    status: String,
}

/// A response to the request `to` names, with its physical id and data; its status and
/// reason are the caller's. Every answer the provider sends, now or later, starts here.
pub(super) fn addressed(to: &StackWaiting) -> Response {
    let mut response = Response::default();
    response.stack_id = to.stack_id.clone();
    response.request_id = to.request_id.clone();
    response.logical_resource_id = to.logical_resource_id.clone();
    response.physical_resource_id = to.physical_resource_id.clone();
    response.data = to.data.clone().into_iter().collect();
    response
}

/// The answer to a waiting stack once `release` has ended, or its workflow has (`workflow_end`:
/// the execution's status): SUCCESS only for a release that succeeded.
pub fn answer_for(release: &Release, waiting: &StackWaiting, workflow_end: &str) -> Response {
    let mut response = addressed(waiting);
    response.data.insert(
        "Outcome".to_string(),
        format!("release {}", release.phase.name()),
    );
    if release.phase == Phase::Succeeded {
        response.status = Status::Success;
        return response;
    }
    response.status = Status::Failed;
    let reason = match release.phase.is_terminal() {
        true => format!(
            "release {} ended {}: {}",
            release.id,
            release.phase.name(),
            release.reason.as_deref().unwrap_or("no reason recorded")
        ),
        false => format!(
            "the workflow of release {} ended {workflow_end} while the release was {}: see `shiftback status {}`",
            release.id,
            release.phase.name(),
            release.id
        ),
    };
    response.reason = Some(clip(&reason));
    response
}

impl<P: Ports> ReleaseService<P> {
    /// Keeps `waiting` on release `release_id` for its workflow's end to answer. Returns the
    /// release if it has ended already (the caller answers now).
    pub(super) async fn answer_when_ended(
        &self,
        release_id: &str,
        waiting: &StackWaiting,
    ) -> Result<Option<Release>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tracked = self.store.load(release_id).await?;
            if tracked.release.phase.is_terminal() {
                return Ok(Some(tracked.release));
            }
            if tracked.release.answer_to.as_ref() == Some(waiting) {
                return Ok(None);
            }
            tracked.release.answer_to = Some(waiting.clone());
            match self.store.save(&mut tracked).await {
                Ok(()) => return Ok(None),
                Err(Error::StaleRelease { .. }) if attempt < REMEMBER_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Answers the stack waiting for the release whose workflow ended (`event`: EventBridge's
    /// status change of its execution). Nothing to answer (no stack waits, an execution of no
    /// release) is not an error; a failed `PUT` is, so that Lambda tries the event again.
    pub async fn answer_ended<A: CfnAnswers, L: crate::waves::StackPlans>(
        &self,
        event: serde_json::Value,
        plans: Option<&L>,
        answers: &A,
    ) -> Result<Option<Response>> {
        let ended: ExecutionEnded = serde_json::from_value(event)
            .map_err(|e| Error::BadRequest(format!("not an execution status change: {e}")))?;
        let ExecutionDetail { name, status } = ended.detail;
        if status == "RUNNING" {
            return Ok(None);
        }
        // An execution of the waves workflow: a plan, which a stack may wait for. A plan's
        // regional releases have ids that start as plans' do (`<plan>-w1-1`): a name that is
        // not a waiting plan is read as a release's.
        if let (true, Some(plans)) = (is_plan_id(&name), plans) {
            let answered = Box::pin(self.answer_plan_ended(&name, &status, plans, answers)).await?;
            if answered.is_some() {
                return Ok(answered);
            }
        }
        let release = match self.store.load_summary(&name).await {
            Ok(release) => release,
            Err(Error::ReleaseNotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(waiting) = &release.answer_to else {
            return Ok(None);
        };
        let response = answer_for(&release, waiting, &status);
        answers.send(&waiting.response_url, &response).await?;
        tracing::info!(release = %release.id, status = ?response.status, "answered the stack that waited for the release");
        Ok(Some(response))
    }
}

/// A stack waiting for a wave plan: its record keeps the answer from the start.
impl<P: Ports> ReleaseService<P> {
    /// Answers the stack waiting for the plan whose workflow ended (`name`: an execution of
    /// the waves workflow, the plan's first or a continuation `<plan>-g<n>`). A plan still
    /// running is answered only if its workflow failed; a plan no stack waits for, not at all.
    pub(super) async fn answer_plan_ended<L: StackPlans, A: CfnAnswers>(
        &self,
        name: &str,
        status: &str,
        plans: &L,
        answers: &A,
    ) -> Result<Option<Response>> {
        let plan = match plans.load(name).await {
            Ok(plan) => plan,
            Err(Error::ReleaseNotFound(_)) => match continued_from(name) {
                Some(first) => match plans.load(first).await {
                    Ok(plan) => plan,
                    Err(Error::ReleaseNotFound(_)) => return Ok(None),
                    Err(e) => return Err(e),
                },
                None => return Ok(None),
            },
            Err(e) => return Err(e),
        };
        let Some(waiting) = &plan.answer_to else {
            return Ok(None);
        };
        // A continuation's end (SUCCEEDED, the plan going on in its next execution) answers
        // nothing.
        if !plan.ended() && status == "SUCCEEDED" {
            return Ok(None);
        }
        let mut response = answer::addressed(waiting);
        response
            .data
            .insert("Outcome".to_string(), format!("plan {}", plan.phase.name()));
        if matches!(plan.phase, crate::domain::wave::PlanPhase::Completed { .. }) {
            response.status = Status::Success;
        } else {
            response.status = Status::Failed;
            let reason = match plan.stop_cause() {
                Some(cause) if plan.ended() => format!("plan {} stopped: {}", plan.id, cause.why),
                _ => format!(
                    "the workflow of plan {} ended {status} while the plan was {}: see `shiftback status {}`",
                    plan.id,
                    plan.phase_line(),
                    plan.id
                ),
            };
            response.reason = Some(clip(&reason));
        }
        answers.send(&waiting.response_url, &response).await?;
        tracing::info!(plan = %plan.id, status = ?response.status, "answered the stack that waited for the plan");
        Ok(Some(response))
    }
}

/// The plan a continuation's execution (`<plan>-g<n>`) carries on.
pub(super) fn continued_from(name: &str) -> Option<&str> {
    let (first, generation) = name.rsplit_once("-g")?;
    (is_plan_id(first) && !generation.is_empty() && generation.chars().all(|c| c.is_ascii_digit()))
        .then_some(first)
}
