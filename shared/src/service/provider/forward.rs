//! A Create, or an Update while the stack moves forward: the alias made, a release started,
//! superseded, or declined, as a careful release engineer would decide.

use super::*;
use crate::domain::{check_names, check_version, ReleaseKind};
use crate::ports::Ports;
use crate::router::routing::AliasRouting;

/// One forward request, as the provider reads it.
pub(super) struct Asked<'a> {
    pub request_id: &'a str,
    pub stack_id: &'a str,
    pub props: &'a ReleaseProperties,
    /// The properties CloudFormation had before (an Update's).
    pub old: Option<&'a ReleaseProperties>,
}

impl<P: Ports> ReleaseService<P> {
    pub(super) async fn forward<W: ExecutionControl>(
        &self,
        asked: Asked<'_>,
        workflow: &W,
    ) -> Result<Provided> {
        let props = asked.props;
        check_names(&props.function_name, &props.alias, None)?;
        check_version("target", &props.version)?;
        let function = self.canonical(&props.function_name)?;
        self.check_owner(&function, asked.stack_id).await?;
        let by = stack_actor(asked.stack_id);
        let (alias, version) = (props.alias.as_str(), props.version.as_str());
        let physical_id = format!("{function}:{alias}");
        let own_id = release_id_for(asked.request_id);
        // A repeated request: the answer it had, nothing done twice.
        match self.store.load_summary(&own_id).await {
            Ok(own) if own.was_declined() => {
                let note = own.reason.unwrap_or_default();
                // As the first answer: a stack that waits never goes green without a release.
                if props.wait {
                    return Err(Error::BadRequest(note));
                }
                return Ok(Provided::done(physical_id, "not released", version)
                    .noting(note)
                    .with_release(&own_id));
            }
            Ok(own) if own.kind == ReleaseKind::Revert => {
                self.finish_revert(&own).await?;
                return Ok(Provided::done(physical_id, "reverted", version));
            }
            Ok(own) => {
                // Recorded by an earlier try whose launch failed (or never ran): launch it
                // now, or nothing would ever move it. Launching an execution that exists
                // already, with the same input, is a no-op.
                if !own.phase.is_terminal() {
                    let mut request = start_request(&own_id, props, &function, &by, false);
                    request.stable_version = Some(own.stable_version.clone());
                    self.launch_recorded(&own_id, &request, &by, workflow)
                        .await?;
                }
                return Ok(self.started(physical_id, version, &own_id, props.wait));
            }
            Err(Error::ReleaseNotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let current = match self.router.read(&function, alias).await {
            Ok(current) => current,
            Err(Error::NotFound { .. }) => {
                self.router.create_alias(&function, alias, version).await?;
                return Ok(Provided::done(physical_id, "alias created", version));
            }
            Err(e) => return Err(e),
        };
        // An update that keeps the version (a label, a strategy) moves nothing by itself.
        let unchanged = asked.old.is_some_and(|o| o.version == version) && !props.rerelease;
        let mut supersede = false;
        if let Some(holder) = self.live_holder(&function, alias).await? {
            if holder.target_version == version {
                let outcome = format!("release {} already moves the alias to it", holder.id);
                let mut provided = Provided::done(physical_id, &outcome, version);
                provided.wait_for = props.wait.then(|| holder.id.clone());
                return Ok(provided.with_release(&holder.id));
            }
            if unchanged {
                let note = format!(
                    "version {version} is unchanged, and release {} (started by {}) moves the alias: left to it",
                    holder.id, holder.started_by
                );
                return Ok(Provided::done(physical_id, "nothing started", version).noting(note));
            }
            // The stack going back to where a release of its own started (or one moving toward
            // the version the stack leaves): abort that release. Another's is left alone.
            let leaving = asked
                .old
                .map(|o| o.version.as_str())
                .filter(|o| *o != version);
            let ours_or_toward_leaving =
                holder.started_by == by || leaving == Some(holder.target_version.as_str());
            if holder.stable_version == version
                && holder.kind == ReleaseKind::Deploy
                && leaving.is_some()
                && ours_or_toward_leaving
            {
                let reason = format!("the stack went back to version {version}");
                self.abort_for_stack(&holder, reason, &by, workflow).await?;
                let outcome = format!("release {} aborted", holder.id);
                return Ok(Provided::done(physical_id, &outcome, version));
            }
            if holder.kind == ReleaseKind::Revert || props.when_busy == WhenBusy::Fail {
                return Err(busy(&holder, &function, alias, props.when_busy));
            }
            supersede = true;
        } else if current.routing == AliasRouting::single(version) {
            return Ok(Provided::done(
                physical_id,
                "already on the version",
                version,
            ));
        }
        if unchanged {
            let note = format!(
                "version {version} is unchanged: nothing started; the alias is on {}",
                current.routing
            );
            return Ok(Provided::done(physical_id, "nothing started", version).noting(note));
        }
        let record = self.version_record(&function, alias, version).await?;
        if let VersionRecord::Rejected { why, .. } = &record {
            if !props.rerelease {
                let stable = current.routing.version.clone();
                self.record_declined(
                    &own_id,
                    asked_for(&function, alias, &stable, version),
                    why,
                    &by,
                )
                .await?;
                let note = format!(
                    "version {version} is not released again: {why}. Publish a fixed version, or set Rerelease: true to release it all the same"
                );
                // A stack that waits for its release must not go green without one.
                if props.wait {
                    return Err(Error::BadRequest(note));
                }
                return Ok(Provided::done(physical_id, "not released", version)
                    .noting(note)
                    .with_release(&own_id));
            }
        }
        // Back to a version that ran well, from where the stack's last release left the
        // alias: at once, on the record, as a rollback would.
        let going_back = asked
            .old
            .is_some_and(|o| current.routing == AliasRouting::single(&o.version));
        if !supersede && going_back && matches!(record, VersionRecord::Good { .. }) {
            match Box::pin(self.revert_to(&function, alias, version, &by, Some(own_id.clone())))
                .await
            {
                Ok(_) => return Ok(Provided::done(physical_id, "reverted", version)),
                // Not a version the alias ran well by revert's own reading: an ordinary release.
                Err(Error::NotKnownGood { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let superseded = self
            .start_release(&own_id, props, &function, &by, supersede, workflow)
            .await?;
        let provided = self.started(physical_id, version, &own_id, props.wait);
        Ok(match superseded.is_empty() {
            true => provided,
            false => provided.noting(format!(
                "superseded release(s) {}: back on their stable versions, on the record",
                superseded.join(", ")
            )),
        })
    }

    fn started(&self, physical_id: String, version: &str, id: &str, wait: bool) -> Provided {
        let mut provided = Provided::done(physical_id, "release started", version).with_release(id);
        provided.wait_for = wait.then(|| id.to_string());
        provided
    }

    /// Starts the release (a refusal is the resource's failure, with nothing changed), after
    /// superseding what holds its alias when asked, then its workflow. Returns the releases it
    /// superseded.
    async fn start_release<W: ExecutionControl>(
        &self,
        id: &str,
        props: &ReleaseProperties,
        function: &str,
        by: &str,
        supersede: bool,
        workflow: &W,
    ) -> Result<Vec<String>> {
        let (request, spec) = self.validate(start_request(id, props, function, by, supersede))?;
        self.check_wait(props, &spec.validate_without_stable()?, &spec.analysis)?;
        // The start checks everything itself; only a supersede, which ends another release
        // first, needs the checks run before it, so that a refusal still changes nothing.
        let superseded = match supersede {
            false => Vec::new(),
            true => {
                let checked = Box::pin(self.preflight(request.clone())).await?;
                Box::pin(self.supersede_holders(&checked.request, id, Some(workflow)))
                    .await?
                    .into_iter()
                    .map(|s| s.release_id)
                    .collect()
            }
        };
        // Recorded (its lock taken, its first step applied) before the answer, not later by
        // the workflow's Start: a stack rollback that follows at once must find the release
        // to abort it. The workflow's Start then finds it and simply continues it.
        // The stable version is left for the start to find where the alias is when it runs, not
        // where a check before the supersede found it: a superseded release that promoted
        // meanwhile is left wholly on its target, and the new release goes on from there.
        let mut request = crate::runtime::with_default_retention(request);
        Box::pin(self.start(request.clone())).await?;
        // The workflow's input says what was recorded.
        request.stable_version = Some(self.store.load_summary(id).await?.stable_version);
        self.launch_recorded(id, &request, by, workflow).await?;
        Ok(superseded)
    }

    /// Starts the workflow of release `id`, recorded already. A launch refused for good (not
    /// throttling, not a 5xx) aborts the release, on the record, so that no release is left
    /// holding the alias with nothing to move it; the refusal is the answer.
    async fn launch_recorded<W: ExecutionControl>(
        &self,
        id: &str,
        request: &StartRequest,
        by: &str,
        workflow: &W,
    ) -> Result<()> {
        let input = serde_json::to_value(request).map_err(|e| Error::Corrupt(e.to_string()))?;
        match workflow.launch(id, &input).await {
            Err(e) if !e.is_retryable() => {
                let reason = format!("its workflow could not be started: {e}");
                let abort = Control::Abort { reason };
                if let Err(undone) =
                    Box::pin(self.control_gate_aware(id, abort, by, workflow)).await
                {
                    tracing::warn!(release = %id, error = %undone, "a release whose workflow could not start was not aborted");
                }
                Err(e)
            }
            other => other,
        }
    }
}

/// The start request a resource's properties make.
fn start_request(
    id: &str,
    props: &ReleaseProperties,
    function: &str,
    by: &str,
    supersede: bool,
) -> StartRequest {
    StartRequest {
        labels: props.labels.clone(),
        release_id: Some(id.to_string()),
        function: function.to_string(),
        alias: props.alias.clone(),
        stable_version: None,
        target_version: props.version.clone(),
        members: Vec::new(),
        strategy: props.strategy.clone(),
        alarms: props.alarms.clone(),
        alarm_overrides: props.alarm_overrides.clone(),
        bake_after_secs: 0,
        started_by: by.to_string(),
        kind: Default::default(),
        analysis: match props.analysis {
            true => crate::domain::AnalysisSettings {
                fast_path_namespace: props.fast_path_namespace.clone(),
                ..Default::default()
            },
            false => crate::domain::AnalysisSettings::off(),
        },
        retain_versions: None,
        hooks: Default::default(),
        gates: Default::default(),
        supersede,
    }
}

/// The refusal of a new version while `holder` moves the alias: with `WhenBusy: Fail`, or
/// when the holder is an operator's revert (which nothing forward may undo).
fn busy(holder: &Release, function: &str, alias: &str, when_busy: WhenBusy) -> Error {
    let why = match (holder.kind, when_busy) {
        (ReleaseKind::Revert, _) => "an operator's rollback is not superseded".to_string(),
        _ => "WhenBusy: Fail refuses a new version while it runs (WhenBusy: Supersede would replace it)".to_string(),
    };
    Error::BadRequest(format!(
        "release {} ({}, v{} -> v{}, started by {}) still moves {function}:{alias}; {why}. Wait for it (`shiftback status {}`) or abort it, then deploy again",
        holder.id,
        holder.phase.name(),
        holder.stable_version,
        holder.target_version,
        holder.started_by,
        holder.id
    ))
}
