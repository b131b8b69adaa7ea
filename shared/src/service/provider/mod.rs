//! The custom resource provider: `sam deploy` of a team's own app starts a release.
//!
//! A team declares a `Custom::ShiftbackRelease` beside its function (see `examples/`). Every
//! sequence CloudFormation can send must leave a stack that can deploy again:
//! - Create makes the alias on the version (nothing to shift); Delete leaves it as it is.
//! - An Update to a new version starts a release, named after CloudFormation's request id so
//!   a repeated request starts nothing new ([`forward`]). A release still moving the alias is
//!   superseded (or, with `WhenBusy: Fail`, the update fails); a version an alarm, the
//!   analysis or a person rejected is not released again unless `Rerelease: true` says so.
//! - An Update while the stack rolls back is never refused ([`rollback`]): the alias goes back
//!   to the last version the record says was good, a release toward the version being rolled
//!   back from is aborted, and nothing is started.
//! - Only the stack that owns a function may release it ([`ownership`]).

use std::collections::HashMap;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest as CfnRequest,
    CloudFormationCustomResourceResponseStatus as Status,
};
use backon::{ExponentialBuilder, Retryable};
mod answer;
mod forward;
mod ownership;
mod plan_properties;
mod plans;
use plans::rolls_back_a_plan;
mod properties;
mod records;
mod rollback;
mod wait;

use super::*;
use crate::domain::{Phase, Release, StackWaiting, VersionRecord};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::{AliasRouter, CfnAnswers, ExecutionControl, ReleaseRecords, StackStates};
use crate::waves::StackPlans;
pub use answer::{answer_for, Answered, EXECUTION_STATUS_CHANGE};
pub use ownership::{may_release, RELEASE_STACKS_TAG, STACK_ID_TAG};
pub use plan_properties::PlanProperties;
pub use plans::plan_id_for;
use properties::{properties, stack_name};
pub use properties::{release_id_for, ReleaseProperties, WhenBusy};
use records::asked_for;

/// Attempts at a request that fails as retryable (throttling, 5xx) before answering FAILED:
/// a stack must not roll back over a hiccup, nor wait an hour for an answer that never comes.
const ATTEMPTS: usize = 3;
/// Kept back from the invocation's time to send the answer (its PUT is retried too).
const ANSWER_RESERVE: std::time::Duration = std::time::Duration::from_secs(20);
/// Attempts at an Update while the stack rolls back, whose FAILED is costly.
const ROLLBACK_ATTEMPTS: usize = 6;
/// CloudFormation reads at most 4 KB of response; the reason is kept well inside it.
const REASON_MAX: usize = 1_000;
/// The stack status in which CloudFormation's Updates put the previous properties back.
pub const UPDATE_ROLLBACK: &str = "UPDATE_ROLLBACK_IN_PROGRESS";
/// Releases of one alias read to find what the record says of a version.
const HISTORY_PAGES: usize = 5;

/// What the provider did, for the response's `PhysicalResourceId`, `Data` and `Reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provided {
    /// `function:alias`: the alias is the resource.
    pub physical_id: String,
    pub data: HashMap<String, String>,
    /// What a person should know of a SUCCESS (a version not released, say).
    pub note: Option<String>,
    /// The release whose end answers the request (`Wait: true`).
    pub wait_for: Option<String>,
    /// The plan whose end answers the request (`Wait: true`), its record keeping the answer.
    pub plan_answers: Option<String>,
}

impl Provided {
    fn done(physical_id: String, outcome: &str, version: &str) -> Provided {
        Provided {
            physical_id,
            data: HashMap::from([
                ("Outcome".to_string(), outcome.to_string()),
                ("Version".to_string(), version.to_string()),
            ]),
            note: None,
            wait_for: None,
            plan_answers: None,
        }
    }

    fn noting(mut self, note: String) -> Provided {
        self.data.insert("Note".to_string(), note.clone());
        self.note = Some(note);
        self
    }

    fn with_release(mut self, release_id: &str) -> Provided {
        self.data
            .insert("ReleaseId".to_string(), release_id.to_string());
        self
    }
}

/// Who a stack's requests act as, on the record.
fn stack_actor(stack_id: &str) -> String {
    format!(
        "{}{}",
        crate::domain::STACK_ACTOR_PREFIX,
        stack_name(stack_id)
    )
}

impl<P: Ports> ReleaseService<P> {
    /// Handles one custom resource request end to end and answers it at its `ResponseURL`:
    /// SUCCESS, or FAILED with a readable reason, whatever went wrong. Only a request without
    /// a `ResponseURL` to answer is an error. Returns the answer sent, or that the answer waits
    /// for the end of the release it started (`Wait: true`, the `answer` module).
    ///
    /// `budget` is how long the invocation has left (None: unbounded, as in tests): the work and
    /// any wait are cut short in time for the answer to be sent, FAILED if it must be.
    pub async fn answer_cfn<W: ExecutionControl, A: CfnAnswers, T: StackStates, L: StackPlans>(
        &self,
        event: serde_json::Value,
        workflow: &W,
        plans: Option<&L>,
        answers: &A,
        stacks: &T,
        budget: Option<std::time::Duration>,
    ) -> Result<Answered> {
        let request: CfnRequest = serde_json::from_value(event)
            .map_err(|e| Error::BadRequest(format!("not a CloudFormation request: {e}")))?;
        let (url, stack_id, request_id, logical_id, physical_id) = match &request {
            CfnRequest::Create(r) => (
                &r.response_url,
                &r.stack_id,
                &r.request_id,
                &r.logical_resource_id,
                None,
            ),
            CfnRequest::Update(r) => (
                &r.response_url,
                &r.stack_id,
                &r.request_id,
                &r.logical_resource_id,
                Some(&r.physical_resource_id),
            ),
            CfnRequest::Delete(r) => (
                &r.response_url,
                &r.stack_id,
                &r.request_id,
                &r.logical_resource_id,
                Some(&r.physical_resource_id),
            ),
            _ => return Err(Error::BadRequest("unknown RequestType".into())),
        };
        // Read once: an Update is a rollback only by the stack's status; a Delete during any
        // rollback undoes a Create that may have started a release.
        let rolling_back = match &request {
            CfnRequest::Update(_) => {
                stacks.status(stack_id).await.as_deref() == Some(UPDATE_ROLLBACK)
            }
            CfnRequest::Delete(_) => stacks
                .status(stack_id)
                .await
                .is_some_and(|status| status.contains("ROLLBACK")),
            _ => false,
        };
        // A rollback's FAILED leaves the stack for a person to clear: it tries for longer
        // (about a minute, well inside the resource's ServiceTimeout).
        let attempts = if rolling_back {
            ROLLBACK_ATTEMPTS
        } else {
            ATTEMPTS
        };
        let pauses = ExponentialBuilder::default()
            .with_min_delay(std::time::Duration::from_secs(2))
            .with_max_delay(std::time::Duration::from_secs(20))
            .with_max_times(attempts - 1);
        // Where an answer goes and what it names: now, or when the release ends.
        let to = |physical_resource_id: String, data: &HashMap<String, String>| StackWaiting {
            response_url: url.clone(),
            stack_id: stack_id.clone(),
            request_id: request_id.clone(),
            logical_resource_id: logical_id.clone(),
            physical_resource_id,
            data: data.clone().into_iter().collect(),
        };
        let attempt = std::sync::atomic::AtomicUsize::new(0);
        // Boxed: a request's future is deep (a supersede inside a start inside a request), and
        // a handler's stack is not.
        let work = Box::pin(async {
            let provided = Box::pin(
                (|| {
                    let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    self.provide(&request, rolling_back, n >= attempts, workflow, plans)
                })
                .retry(pauses)
                .sleep(tokio::time::sleep)
                .when(Error::is_retryable),
            )
            .await?;
            let Some(id) = provided.wait_for.clone() else {
                return Ok((provided, None));
            };
            let waiting = to(provided.physical_id.clone(), &provided.data);
            let ended = self.answer_when_ended(&id, &waiting).await?;
            Ok::<_, Error>((provided, Some((id, waiting, ended))))
        });
        // Whatever happens, the answer is sent before Lambda ends the invocation.
        let outcome = match budget.map(|b| b.saturating_sub(ANSWER_RESERVE)) {
            Some(left) => match tokio::time::timeout(left, work).await {
                Ok(outcome) => outcome,
                // A plan's stop goes on in its coordinator (and its looks) without this
                // invocation: a rollback is not failed for waiting on it.
                Err(_) if rolling_back && rolls_back_a_plan(&request) => {
                    let physical = physical_id.cloned().unwrap_or_default();
                    let note = format!(
                        "the stack rolls back; the resource's plan is being stopped and its coordinator goes on after this answer ({}s): `shiftback list` and `shiftback status PLAN` follow it",
                        left.as_secs()
                    );
                    Ok((Provided::done(physical, "plan stopping", "").noting(note), None))
                }
                Err(_) => Err(Error::BadRequest(format!(
                    "the provider's invocation ran out of time after {}s; a release it started goes on (shiftback history FUNCTION)",
                    left.as_secs()
                ))),
            },
            None => work.await,
        };
        let outcome = match outcome {
            // A plan's answer is kept on its record from the start: its workflow's end sends it.
            Ok((
                Provided {
                    plan_answers: Some(id),
                    ..
                },
                _,
            )) => {
                tracing::info!(request = %request_id, plan = %id, "the answer waits for the plan's end");
                return Ok(Answered::WhenPlanEnds { plan_id: id });
            }
            // Answered when the release's workflow ends ([`answer`]).
            Ok((_, Some((id, _, None)))) => {
                tracing::info!(request = %request_id, release = %id, "the answer waits for the release's end");
                return Ok(Answered::WhenReleaseEnds { release_id: id });
            }
            // It ended before the answer could be left to its end: answered now.
            Ok((_, Some((_, waiting, Some(ended))))) => {
                let response = answer_for(&ended, &waiting, "ended");
                answers.send(url, &response).await?;
                return Ok(Answered::Now(response));
            }
            Ok((provided, None)) => Ok(provided),
            Err(e) => Err(e),
        };
        let response = match outcome {
            Ok(provided) => {
                let mut response = answer::addressed(&to(provided.physical_id, &provided.data));
                response.status = Status::Success;
                response.reason = provided.note.map(|n| clip(&n));
                response
            }
            Err(e) => {
                tracing::warn!(request = %request_id, error = %e, rolling_back, "custom resource request failed");
                // A failed create names no alias of ours: CloudFormation still needs an id.
                let physical = physical_id
                    .cloned()
                    .unwrap_or_else(|| release_id_for(request_id));
                let mut response = answer::addressed(&to(physical, &HashMap::new()));
                response.status = Status::Failed;
                response.reason = Some(clip(&e.to_string()));
                response
            }
        };
        answers.send(url, &response).await?;
        Ok(Answered::Now(response))
    }

    /// Does what the request asks of the alias. An error is the reason the response gives
    /// with `FAILED`; during a stack rollback only an alias that cannot be written is one.
    pub async fn provide<W: ExecutionControl, L: StackPlans>(
        &self,
        request: &CfnRequest,
        rolling_back: bool,
        last_attempt: bool,
        workflow: &W,
        plans: Option<&L>,
    ) -> Result<Provided> {
        match request {
            // The alias stays as it is: the app's traffic must not move because a stack, or
            // this resource, went away.
            CfnRequest::Delete(delete) => {
                let mut provided =
                    Provided::done(delete.physical_resource_id.clone(), "left as it is", "");
                let with_plan =
                    properties(&delete.resource_properties).is_ok_and(|p| p.plan.is_some());
                let note = match (rolling_back, with_plan) {
                    (false, _) => None,
                    (true, false) => self.abort_created_release(delete, workflow).await,
                    (true, true) => {
                        let (stack, logical) = (&delete.stack_id, &delete.logical_resource_id);
                        let created = properties(&delete.resource_properties).ok();
                        let undone = self.stop_resources_plans(
                            stack,
                            logical,
                            (None, created.as_ref()),
                            plans,
                            last_attempt,
                        );
                        Box::pin(undone).await?.1
                    }
                };
                if let Some(note) = note {
                    provided = provided.noting(note);
                }
                Ok(provided)
            }
            CfnRequest::Create(create) => {
                let props = properties(&create.resource_properties)?;
                if props.plan.is_some() {
                    let asked = plans::PlanAsked {
                        request_id: &create.request_id,
                        stack_id: &create.stack_id,
                        logical_id: &create.logical_resource_id,
                        response_url: &create.response_url,
                        props: &props,
                        old: None,
                    };
                    return Box::pin(self.forward_plan(asked, plans)).await;
                }
                let asked = forward::Asked {
                    request_id: &create.request_id,
                    stack_id: &create.stack_id,
                    props: &props,
                    old: None,
                };
                Box::pin(self.forward(asked, workflow)).await
            }
            CfnRequest::Update(update) if rolling_back && rolls_back_a_plan(request) => {
                Box::pin(self.roll_back_from_plan(update, plans, last_attempt)).await
            }
            CfnRequest::Update(update) if rolling_back => {
                Box::pin(self.roll_back_never_refusing(update, workflow, last_attempt)).await
            }
            CfnRequest::Update(update) => {
                let props = properties(&update.resource_properties)?;
                if props.plan.is_some() {
                    let old_props = properties(&update.old_resource_properties).ok();
                    let asked = plans::PlanAsked {
                        request_id: &update.request_id,
                        stack_id: &update.stack_id,
                        logical_id: &update.logical_resource_id,
                        response_url: &update.response_url,
                        props: &props,
                        old: old_props.as_ref(),
                    };
                    return Box::pin(self.forward_plan(asked, plans)).await;
                }
                let old = properties(&update.old_resource_properties).ok();
                let asked = forward::Asked {
                    request_id: &update.request_id,
                    stack_id: &update.stack_id,
                    props: &props,
                    old: old.as_ref(),
                };
                // Boxed: a forward request's future is deep, and a handler's stack is not.
                Box::pin(self.forward(asked, workflow)).await
            }
            _ => Err(Error::BadRequest("unknown RequestType".into())),
        }
    }

    /// Completes the revert a request recorded before (`revert_to` records and moves the
    /// alias, then promotes): a retry or a redelivery after a failure between the two must not
    /// answer "reverted" while the revert still holds the alias lock.
    async fn finish_revert(&self, own: &Release) -> Result<()> {
        if !own.phase.is_terminal() {
            let step = StepInput::of(&own.id);
            Box::pin(self.promote(step)).await?;
        }
        Ok(())
    }

    /// A Delete while the stack rolls back undoes this resource's Create, which may have
    /// started a release (an alias that existed on another version): the stack's own release
    /// still moving the alias is aborted. Never a refusal: what went wrong is the answer's note.
    async fn abort_created_release<W: ExecutionControl>(
        &self,
        delete: &aws_lambda_events::event::cloudformation::DeleteRequest,
        workflow: &W,
    ) -> Option<String> {
        let props = properties(&delete.resource_properties).ok()?;
        let by = stack_actor(&delete.stack_id);
        let attempt = async {
            let function = self.canonical(&props.function_name)?;
            let Some(holder) = self.live_holder(&function, &props.alias).await? else {
                return Ok(None);
            };
            if holder.started_by != by || holder.kind != crate::domain::ReleaseKind::Deploy {
                return Ok(None);
            }
            let reason = format!("the stack {} rolled back", stack_name(&delete.stack_id));
            self.abort_for_stack(&holder, reason, &by, workflow).await?;
            Ok::<_, Error>(Some(format!("release {} aborted", holder.id)))
        };
        match attempt.await {
            Ok(note) => note,
            Err(e) => {
                tracing::warn!(error = %e, "a Delete during a rollback could not abort the stack's release");
                Some(format!("the stack's release could not be aborted: {e}"))
            }
        }
    }

    /// Aborts `holder` for the stack (or finishes its rollback: [`Self::end_holder`]).
    async fn abort_for_stack<W: ExecutionControl>(
        &self,
        holder: &Release,
        reason: String,
        by: &str,
        workflow: &W,
    ) -> Result<()> {
        let abort = Control::Abort { reason };
        self.end_holder(holder, abort, by, Some(workflow)).await?;
        Ok(())
    }

    /// Refuses a function the requesting stack does not own ([`may_release`]).
    async fn check_owner(&self, function: &str, stack_id: &str) -> Result<()> {
        let tags = self.router.function_tags(function).await?;
        may_release(function, &tags, stack_id)
    }
}

fn clip(text: &str) -> String {
    text.chars().take(REASON_MAX).collect()
}
