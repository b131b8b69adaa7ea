//! The custom resource provider: `sam deploy` of a team's own app starts a release.
//!
//! A team declares a `Custom::ShiftbackRelease` beside its function (see `examples/`). On
//! create, the alias is made on the version (nothing to shift); on an update to a new version,
//! a release starts, named after CloudFormation's request id so a repeated request starts
//! nothing new; on delete, the alias is left as it is. A stack rolling back sends the old
//! version back: a release of ours still moving the alias is aborted, and an alias already
//! wholly on the new version is reverted at once.

use std::collections::HashMap;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest as CfnRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus as Status,
};
use backon::{ExponentialBuilder, Retryable};
mod properties;

use super::*;
use crate::domain::routing::AliasRouting;
use crate::domain::{check_names, check_version, Phase, Release};
use crate::error::{Error, Result};
use crate::ports::{
    AliasRouter, Announcer, CfnAnswers, ExecutionControl, HealthSource, HookCaller, ReleaseRecords,
};
use properties::{properties, stack_name};
pub use properties::{release_id_for, ReleaseProperties};

/// Attempts at a request that fails as retryable (throttling, 5xx) before answering FAILED:
/// a stack must not roll back over a hiccup, nor wait an hour for an answer that never comes.
const ATTEMPTS: usize = 3;
/// CloudFormation reads at most 4 KB of response; the reason is kept well inside it.
const REASON_MAX: usize = 1_000;

/// How long the provider may wait for a release (`Wait: true`): its function's 15-minute
/// limit, less the time to start the release and to answer CloudFormation.
pub const PROVIDER_WAIT_SECS: u64 = 13 * 60;
/// What a release needs beyond its bakes (looks, the promotion) to finish inside the wait.
const WAIT_MARGIN_SECS: u64 = 60;
/// How often a waiting provider looks at its release.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// What the provider did, for the response's `PhysicalResourceId` and `Data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provided {
    /// `function:alias`: the alias is the resource.
    pub physical_id: String,
    pub data: HashMap<String, String>,
    /// The release to wait for before answering (`Wait: true`).
    pub wait_for: Option<String>,
}

impl Provided {
    fn done(physical_id: String, outcome: &str, version: &str) -> Provided {
        Provided {
            physical_id,
            data: HashMap::from([
                ("Outcome".to_string(), outcome.to_string()),
                ("Version".to_string(), version.to_string()),
            ]),
            wait_for: None,
        }
    }
}

impl<R: AliasRouter, S: ReleaseRecords, H: HealthSource, N: Announcer, K: HookCaller>
    ReleaseService<R, S, H, N, K>
{
    /// Handles one custom resource request end to end and answers it at its `ResponseURL`:
    /// SUCCESS, or FAILED with a readable reason, whatever went wrong. Only a request without
    /// a `ResponseURL` to answer is an error. Returns the answer sent.
    pub async fn answer_cfn<W: ExecutionControl, A: CfnAnswers>(
        &self,
        event: serde_json::Value,
        workflow: &W,
        answers: &A,
    ) -> Result<CloudFormationCustomResourceResponse> {
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
        let pauses = ExponentialBuilder::default()
            .with_min_delay(std::time::Duration::from_secs(2))
            .with_max_times(ATTEMPTS - 1);
        let mut outcome = (|| self.provide(&request, workflow))
            .retry(pauses)
            .sleep(tokio::time::sleep)
            .when(Error::is_retryable)
            .await;
        if let Ok(Provided {
            wait_for: Some(id), ..
        }) = &outcome
        {
            if let Err(e) = self.wait_for_release(id, PROVIDER_WAIT_SECS).await {
                outcome = Err(e);
            }
        }
        let mut response = CloudFormationCustomResourceResponse::default();
        response.stack_id = stack_id.clone();
        response.request_id = request_id.clone();
        response.logical_resource_id = logical_id.clone();
        match outcome {
            Ok(provided) => {
                response.status = Status::Success;
                response.physical_resource_id = provided.physical_id;
                response.data = provided.data;
            }
            Err(e) => {
                tracing::warn!(request = %request_id, error = %e, "custom resource request failed");
                response.status = Status::Failed;
                response.reason = Some(e.to_string().chars().take(REASON_MAX).collect());
                // A failed create names no alias of ours: CloudFormation still needs an id.
                response.physical_resource_id = physical_id
                    .cloned()
                    .unwrap_or_else(|| release_id_for(request_id));
            }
        }
        answers.send(url, &response).await?;
        Ok(response)
    }

    /// Does what the request asks of the alias. An error is the reason the response gives
    /// with `FAILED`.
    pub async fn provide<W: ExecutionControl>(
        &self,
        request: &CfnRequest,
        workflow: &W,
    ) -> Result<Provided> {
        match request {
            // The alias stays as it is: the app's traffic must not move because a stack, or
            // this resource, went away.
            CfnRequest::Delete(delete) => Ok(Provided::done(
                delete.physical_resource_id.clone(),
                "left as it is",
                "",
            )),
            CfnRequest::Create(create) => {
                let props = properties(&create.resource_properties)?;
                let by = format!("cloudformation:{}", stack_name(&create.stack_id));
                self.provide_version(&create.request_id, &props, None, &by, workflow)
                    .await
            }
            CfnRequest::Update(update) => {
                let props = properties(&update.resource_properties)?;
                let old = properties(&update.old_resource_properties).ok();
                let by = format!("cloudformation:{}", stack_name(&update.stack_id));
                self.provide_version(&update.request_id, &props, old.as_ref(), &by, workflow)
                    .await
            }
            _ => Err(Error::BadRequest("unknown RequestType".into())),
        }
    }

    async fn provide_version<W: ExecutionControl>(
        &self,
        request_id: &str,
        props: &ReleaseProperties,
        old: Option<&ReleaseProperties>,
        by: &str,
        workflow: &W,
    ) -> Result<Provided> {
        check_names(&props.function_name, &props.alias, None)?;
        check_version("target", &props.version)?;
        let function = self.canonical(&props.function_name)?;
        let (alias, version) = (props.alias.as_str(), props.version.as_str());
        let physical_id = format!("{function}:{alias}");
        let current = match self.router.read(&function, alias).await {
            Ok(current) => current,
            Err(Error::NotFound { .. }) => {
                self.router.create_alias(&function, alias, version).await?;
                return Ok(Provided::done(physical_id, "alias created", version));
            }
            Err(e) => return Err(e),
        };
        let wanted = AliasRouting::single(version);
        if current.routing == wanted {
            return Ok(Provided::done(
                physical_id,
                "already on the version",
                version,
            ));
        }
        // The stack going back while a release of ours still moves the alias: abort it.
        if let Some(holder) = self.store.lock_holder(&function, alias).await? {
            let release = self.store.load_summary(&holder.release_id).await?;
            if !release.phase.is_terminal() && release.stable_version == version {
                let reason = format!("the stack went back to version {version}");
                let abort = Control::Abort { reason };
                self.control_gate_aware(&release.id, abort, by, workflow)
                    .await?;
                let outcome = format!("release {} aborted", release.id);
                return Ok(Provided::done(physical_id, &outcome, version));
            }
        }
        // The stack going back after its release succeeded: back at once, on the record.
        let rolling_back = old.is_some_and(|o| current.routing == AliasRouting::single(&o.version));
        if rolling_back {
            match self
                .revert_to(
                    &function,
                    alias,
                    version,
                    by,
                    Some(release_id_for(request_id)),
                )
                .await
            {
                Ok(_) => return Ok(Provided::done(physical_id, "reverted", version)),
                // Not a version the alias ran well: an ordinary release to it.
                Err(Error::NotKnownGood { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.start_release(request_id, props, &function, by, workflow)
            .await
            .map(|id| Provided {
                physical_id,
                data: HashMap::from([
                    ("Outcome".to_string(), "release started".to_string()),
                    ("Version".to_string(), version.to_string()),
                    ("ReleaseId".to_string(), id.clone()),
                ]),
                wait_for: props.wait.then_some(id),
            })
    }

    /// Checks the release as `start` would (a refusal is the resource's failure, with nothing
    /// changed), then starts its workflow. Returns the release id.
    async fn start_release<W: ExecutionControl>(
        &self,
        request_id: &str,
        props: &ReleaseProperties,
        function: &str,
        by: &str,
        workflow: &W,
    ) -> Result<String> {
        let id = release_id_for(request_id);
        // A repeated request whose release was recorded already: nothing new to start.
        if self.store.load_summary(&id).await.is_ok() {
            return Ok(id);
        }
        let request = StartRequest {
            labels: props.labels.clone(),
            release_id: Some(id.clone()),
            function: function.to_string(),
            alias: props.alias.clone(),
            stable_version: None,
            target_version: props.version.clone(),
            members: Vec::new(),
            strategy: props.strategy.clone(),
            alarms: props.alarms.clone(),
            alarm_overrides: Vec::new(),
            bake_after_secs: 0,
            started_by: by.to_string(),
            kind: Default::default(),
            analysis: match props.analysis.as_deref() {
                Some("off") => crate::domain::AnalysisSettings::off(),
                _ => Default::default(),
            },
            retain_versions: None,
            hooks: Default::default(),
            gates: Default::default(),
        };
        let checked = self.preflight(request).await?;
        if props.wait {
            let release = Release::new(checked.spec.clone(), now())?;
            let needs = release.schedule.total_bake_secs() + WAIT_MARGIN_SECS;
            if needs > PROVIDER_WAIT_SECS {
                return Err(Error::BadRequest(format!(
                    "Wait: true, but strategy {} takes at least {needs}s and the provider can wait {PROVIDER_WAIT_SECS}s: use a shorter strategy, or Wait: false and follow it with `shiftback status`",
                    props.strategy
                )));
            }
        }
        let input =
            serde_json::to_value(&checked.request).map_err(|e| Error::Corrupt(e.to_string()))?;
        workflow.launch(&id, &input).await?;
        Ok(id)
    }

    /// Waits for `release_id` to end, at most `secs`: Ok when it succeeded, the reason
    /// otherwise (or that it is still running).
    pub async fn wait_for_release(&self, release_id: &str, secs: u64) -> Result<Release> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            match self.store.load_summary(release_id).await {
                Ok(release) if release.phase == Phase::Succeeded => return Ok(release),
                Ok(release) if release.phase.is_terminal() => {
                    return Err(Error::BadRequest(format!(
                        "release {release_id} ended {}: {}",
                        release.phase.name(),
                        release.reason.unwrap_or_default()
                    )))
                }
                // Not recorded yet: the workflow's Start has not run.
                Ok(_) | Err(Error::ReleaseNotFound(_)) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::BadRequest(format!(
                    "release {release_id} was still running after {secs}s; it goes on (shiftback status {release_id})"
                )));
            }
            tokio::time::sleep(WAIT_POLL).await;
        }
    }
}
