//! `Custom::ShiftbackRelease` with `Waves`: a stack's deploy starts a wave plan from this, its
//! home, Region. The home coordinator checks every Region and records the plan before the
//! answer (a Region's refusal is the resource's FAILED, nothing moved), then the waves
//! workflow carries it out. Every sequence CloudFormation can send leaves a stack that can
//! deploy again:
//! - the same request again is the same plan (its id is the request's);
//! - an update while the resource's plan still runs stops it first (every moved Region back),
//!   or fails with `WhenBusy: Fail`;
//! - a rollback's Update, or a Delete undoing a Create, stops the resource's running plan and
//!   is never refused;
//! - `Wait: true` is answered when the plan ends: SUCCESS only for a completed plan.

use super::*;
use crate::domain::wave::{PlanPhase, PlanRequest, WavePlan, LOOK_INTERVAL_SECS};
use crate::waves::{PlanCoordinator, StackPlans};

/// What one request names, for the plan and for the answer it may wait for.
pub(super) struct PlanAsked<'a> {
    pub request_id: &'a str,
    pub stack_id: &'a str,
    pub logical_id: &'a str,
    pub response_url: &'a str,
    pub props: &'a ReleaseProperties,
    /// The properties CloudFormation had before (an Update's).
    pub old: Option<&'a ReleaseProperties>,
}

/// The plan a request starts: its id made from CloudFormation's request id, which a repeated
/// request keeps (`plan-` and 32 hex digits for the UUID CloudFormation sends).
pub fn plan_id_for(request_id: &str) -> String {
    let id: String = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(crate::domain::wave::MAX_PLAN_ID - "plan-".len())
        .collect();
    format!("plan-{id}")
}

/// The resource a plan belongs to, as its record keeps it.
fn resource_of(stack_id: &str, logical_id: &str) -> String {
    format!("{stack_id}/{logical_id}")
}

impl<P: Ports> ReleaseService<P> {
    /// A Create, or an Update moving forward, whose properties name `Waves`.
    pub(super) async fn forward_plan<L: StackPlans>(
        &self,
        asked: PlanAsked<'_>,
        plans: Option<&L>,
    ) -> Result<Provided> {
        let props = asked.props;
        let Some(plans) = plans else {
            return Err(Error::BadRequest(
                "Waves: this shiftback stack has no waves coordinator (WavesFunctionArn); deploy its current template".into(),
            ));
        };
        let function = self.canonical(&props.function_name)?;
        let physical_id = format!("{function}:{}", props.alias);
        let plan_id = plan_id_for(asked.request_id);
        let started = |outcome: &str| {
            let mut provided = Provided::done(physical_id.clone(), outcome, &props.version);
            provided.data.insert("PlanId".into(), plan_id.clone());
            provided.plan_answers = props.wait.then(|| plan_id.clone());
            provided
        };
        // A repeated request: its plan, launched (a no-op if it runs already); one that has
        // ended answers a waiting stack now, as its end did (or would have).
        match Box::pin(plans.load(&plan_id)).await {
            Ok(recorded) if recorded.ended() && props.wait => {
                return match recorded.stop_cause() {
                    Some(cause) => Err(Error::BadRequest(format!(
                        "plan {plan_id} stopped: {}",
                        cause.why
                    ))),
                    None => Ok(Provided {
                        plan_answers: None,
                        ..started("plan completed")
                    }),
                };
            }
            Ok(recorded) => {
                if !recorded.ended() {
                    Box::pin(plans.launch(&plan_id)).await?;
                }
                return Ok(started("plan started"));
            }
            Err(Error::ReleaseNotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let home = plans.coordinator().home_region().to_string();
        let resource = resource_of(asked.stack_id, asked.logical_id);
        let (request, checked) = self.plan_of(props, asked.stack_id, &resource, &home)?;
        for t in checked
            .targets
            .iter()
            .filter(|t| t.target.region == home && t.target.role_arn.is_none())
        {
            self.check_owner(&t.target.function, asked.stack_id).await?;
        }
        // An update that keeps every target's version (a strategy, an alarm, a bake) moves
        // nothing by itself, and a running plan goes on.
        let old = asked.old.filter(|old| old.plan.is_some());
        let old = old.and_then(|old| self.plan_of(old, asked.stack_id, &resource, &home).ok());
        if old.is_some_and(|(_, old)| targets_of(&old) == targets_of(&checked)) {
            let note = "every target's version is unchanged: nothing started (a plan still running goes on)";
            let provided = Provided::done(physical_id.clone(), "nothing started", &props.version);
            return Ok(provided.noting(note.to_string()));
        }
        if props.wait {
            check_plan_wait(props, &checked)?;
        }
        let mut notes = Vec::new();
        for running in Box::pin(plans.running_for(&resource)).await? {
            if props.when_busy == WhenBusy::Fail {
                return Err(Error::BadRequest(format!(
                    "plan {} ({}) still runs for this resource; WhenBusy: Fail refuses a new one while it runs. Wait for it (`shiftback status {}`) or abort it, then deploy again",
                    running.id,
                    running.phase_line(),
                    running.id
                )));
            }
            let why = format!(
                "superseded by the stack's update to version {}",
                props.version
            );
            let answer = Box::pin(plans.coordinator().stop(&running.id, &why, false)).await?;
            if !answer.ended {
                // A Region not back yet would refuse the new plan's start: the stop goes on
                // at the plan's looks, and the update is tried again later.
                return Err(Error::Unsettled(format!(
                    "plan {} is stopping, and not every Region is back yet ({}): deploy again once it has stopped",
                    running.id, answer.phase
                )));
            }
            notes.push(format!("superseded plan {}: every Region back", running.id));
        }
        let superseded = notes.clone();
        let waiting = props.wait.then(|| {
            let data = started("plan started").data;
            StackWaiting {
                response_url: asked.response_url.to_string(),
                stack_id: asked.stack_id.to_string(),
                request_id: asked.request_id.to_string(),
                logical_resource_id: asked.logical_id.to_string(),
                physical_resource_id: physical_id.clone(),
                data: data.into_iter().collect(),
            }
        });
        let request = PlanRequest {
            answer_to: waiting.map(Box::new),
            ..request
        };
        match Box::pin(plans.coordinator().create(&plan_id, &request)).await {
            // A Region that refuses the new plan after the running one was stopped for it:
            // the answer says both (the stack's rollback then finds nothing running to stop).
            Err(Error::BadRequest(refused)) if !superseded.is_empty() => {
                return Err(Error::BadRequest(format!(
                    "{refused}; {} before the refusal",
                    superseded.join("; ")
                )));
            }
            other => other?,
        };
        Box::pin(plans.launch(&plan_id)).await?;
        let provided = started("plan started");
        Ok(match notes.is_empty() {
            true => provided,
            false => provided.noting(notes.join("; ")),
        })
    }

    /// The plan the properties ask for, as the coordinator will be asked for it, and the plan it
    /// makes (every limit checked, as the coordinator will check it: a bad plan fails before
    /// anything is stopped for it). `home`: the coordinator's Region.
    fn plan_of(
        &self,
        props: &ReleaseProperties,
        stack_id: &str,
        resource: &str,
        home: &str,
    ) -> Result<(PlanRequest, WavePlan)> {
        let plan = props.plan.as_ref().expect("a plan's properties");
        crate::domain::check_names(&props.function_name, &props.alias, None)?;
        crate::domain::check_version("target", &props.version)?;
        let request = PlanRequest {
            function: self.canonical(&props.function_name)?,
            alias: props.alias.clone(),
            version: Some(props.version.clone()),
            waves: plan.waves.clone(),
            wave_bake: plan.wave_bake.clone(),
            strategy: props.strategy.clone(),
            alarms: props.alarms.clone(),
            started_by: Some(stack_actor(stack_id)),
            resource: Some(resource.to_string()),
            answer_to: None,
        };
        let checked = request
            .clone()
            .plan_in(home, "plan-checked", 0)
            .map_err(|e| Error::BadRequest(format!("Waves: {e}")))?;
        Ok((request, checked))
    }

    /// An Update while the stack rolls back from properties with `Waves`: the plan's stop
    /// brings every Region it moved back to where it was, the properties' versions among them.
    pub(super) async fn roll_back_from_plan<L: StackPlans>(
        &self,
        update: &aws_lambda_events::event::cloudformation::UpdateRequest,
        plans: Option<&L>,
        last_attempt: bool,
    ) -> Result<Provided> {
        let (stack, logical) = (&update.stack_id, &update.logical_resource_id);
        let back_to = properties(&update.resource_properties).ok();
        let back_from = properties(&update.old_resource_properties).ok();
        let stop = self.stop_resources_plans(
            stack,
            logical,
            (back_to.as_ref(), back_from.as_ref()),
            plans,
            last_attempt,
        );
        let (stopped, note) = Box::pin(stop).await?;
        let version = back_to.map(|p| p.version).unwrap_or_default();
        let outcome = match (stopped, &note) {
            (0, None) => "nothing to stop",
            (0, Some(_)) => "left as it is",
            _ => "plan stopped",
        };
        let provided = Provided::done(update.physical_resource_id.clone(), outcome, &version);
        Ok(match note {
            Some(note) => provided.noting(note),
            None => provided,
        })
    }

    /// A rollback's Update from properties with `Waves`, or a Delete undoing a Create that
    /// started a plan: the resource's running plan is stopped, every moved Region back, unless
    /// it is the plan of the properties the stack goes back to (`back_to`), which moves the
    /// Regions to them and is left to finish. The plan of the properties rolled back from
    /// (`back_from`) that had already completed is recalled: every Region it moved back. Never
    /// a refusal, but while tries are left, a stop that failed is tried again.
    pub(super) async fn stop_resources_plans<L: StackPlans>(
        &self,
        stack_id: &str,
        logical_id: &str,
        (back_to, back_from): (Option<&ReleaseProperties>, Option<&ReleaseProperties>),
        plans: Option<&L>,
        last_attempt: bool,
    ) -> Result<(usize, Option<String>)> {
        let Some(plans) = plans else {
            return Ok((0, None));
        };
        let resource = resource_of(stack_id, logical_id);
        let home = plans.coordinator().home_region().to_string();
        let targets = targets_of;
        let kept = back_to
            .filter(|props| props.plan.is_some())
            .and_then(|props| self.plan_of(props, stack_id, &resource, &home).ok())
            .map(|(_, plan)| targets(&plan));
        let why = format!("the stack {} rolled back", stack_name(stack_id));
        let attempt = async {
            let (mut stopped, mut notes) = (0, Vec::new());
            for plan in plans.running_for(&resource).await? {
                if kept.as_ref() == Some(&targets(&plan)) {
                    notes.push(format!(
                        "plan {} moves the Regions to the versions the stack goes back to: left to finish",
                        plan.id
                    ));
                    continue;
                }
                let answer = Box::pin(plans.coordinator().stop(&plan.id, &why, false)).await?;
                stopped += 1;
                // A recall an earlier try began (its own workflow ended when the plan first
                // completed): the recall's workflow, once, carries it to its end.
                if !answer.ended && matches!(plan.phase, PlanPhase::Stopping { .. }) {
                    Box::pin(plans.relaunch(&plan.id)).await?;
                }
                notes.push(match answer.ended {
                    true => format!("plan {} stopped: every Region back", plan.id),
                    false => format!(
                        "plan {} stopping: its looks bring back the Regions not back yet (`shiftback status {}`)",
                        plan.id, plan.id
                    ),
                });
            }
            // The plan rolled back from, completed before its stack failed: recalled.
            let failed = back_from
                .filter(|props| props.plan.is_some())
                .and_then(|props| self.plan_of(props, stack_id, &resource, &home).ok())
                .map(|(_, plan)| targets(&plan));
            let last = match failed {
                Some(_) => Box::pin(plans.last_for(&resource)).await?,
                None => None,
            };
            if let Some(last) = last.filter(|last| {
                matches!(last.phase, PlanPhase::Completed { .. })
                    && failed.as_ref() == Some(&targets(last))
                    && kept.as_ref() != Some(&targets(last))
            }) {
                let answer = Box::pin(plans.coordinator().stop(&last.id, &why, true)).await?;
                stopped += 1;
                if answer.ended {
                    notes.push(format!(
                        "completed plan {} recalled: every Region back",
                        last.id
                    ));
                } else {
                    // Its workflow had ended: one more carries the recall to its end.
                    Box::pin(plans.relaunch(&last.id)).await?;
                    notes.push(format!(
                        "completed plan {} recalled: its looks bring back the Regions not back yet (`shiftback status {}`)",
                        last.id, last.id
                    ));
                }
            }
            Ok::<_, Error>((stopped, notes))
        };
        match Box::pin(attempt).await {
            Ok((stopped, notes)) if notes.is_empty() => Ok((stopped, None)),
            Ok((stopped, notes)) => Ok((stopped, Some(notes.join("; ")))),
            Err(e) if e.is_retryable() && !last_attempt => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "a stack rollback could not stop its plan");
                Ok((0, Some(format!(
                    "the resource's plan could not be stopped ({e}): stop it with `shiftback abort PLAN` (`shiftback list` shows it)"
                ))))
            }
        }
    }
}

/// A rollback's request whose properties rolled back from name `Waves`.
pub(super) fn rolls_back_a_plan(request: &CfnRequest) -> bool {
    let from = match request {
        CfnRequest::Update(update) => &update.old_resource_properties,
        CfnRequest::Delete(delete) => &delete.resource_properties,
        _ => return false,
    };
    properties(from).is_ok_and(|p| p.plan.is_some())
}

/// Where a plan goes: every target (Region, account, function, alias, version), in order.
fn targets_of(plan: &WavePlan) -> Vec<crate::domain::wave::Target> {
    plan.targets.iter().map(|t| t.target.clone()).collect()
}

/// Refuses `Wait: true` with a plan whose worst case cannot end within the resource's
/// `ServiceTimeout`: every wave's release (its bakes, and the analysis's extensions at their
/// default), a look's interval twice a wave, every bake between waves, and the margin.
fn check_plan_wait(props: &ReleaseProperties, plan: &WavePlan) -> Result<()> {
    let schedule = props
        .strategy
        .parse::<crate::domain::Strategy>()
        .and_then(|s| s.schedule())
        .map_err(|e| Error::BadRequest(format!("Strategy: {e}")))?;
    let analysis = crate::domain::AnalysisSettings::default();
    let per_wave = schedule.total_bake_secs()
        + schedule.steps.len() as u64 * analysis.max_extension_secs
        + 2 * LOOK_INTERVAL_SECS;
    let waves = plan.waves as u64;
    let needs = waves * per_wave + (waves - 1) * plan.wave_bake_secs + wait::WAIT_MARGIN_SECS;
    let timeout = props.service_timeout_secs;
    if needs > timeout {
        return Err(Error::BadRequest(format!(
            "Wait: true, but a plan of {waves} wave(s) of {} with {}s bakes between them may take {needs}s and CloudFormation waits {timeout}s (ServiceTimeout, at most 3600): use fewer waves or shorter bakes, or Wait: false and follow the plan with `shiftback status PLAN`",
            props.strategy, plan.wave_bake_secs
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plans_id_is_its_requests_and_fits_every_id_made_from_it() {
        let id = plan_id_for("5f0c6e34-3a2b-4c1d-9e8f-0a1b2c3d4e5f");
        assert_eq!(id, "plan-5f0c6e343a2b4c1d9e8f0a1b2c3d4e5f");
        assert_eq!(crate::domain::wave::check_plan_id(&id), Ok(()));
        assert_eq!(
            answer::continued_from(&format!("{id}-g3")),
            Some(id.as_str())
        );
        assert_eq!(answer::continued_from(&id), None);
        assert_eq!(answer::continued_from("plan-x-gone"), None);
    }
}
