//! The release workflow's steps, as the Step Functions tasks call them: start, advance,
//! finalize and roll back. Each records its decision before it touches the alias, and each is
//! safe to run again with the same input (Step Functions retries, events arrive twice).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::adapters::{
    AlarmHealth, AliasRouting, Notifier, ReleaseStore, Takeover, Tracked, TrafficRouter,
};
use crate::domain::health::verdict;
use crate::domain::{
    check_names, check_release_id, check_version, function_ref, Action, AliasTarget, Input, Phase,
    Release, ReleaseKind, SpecError, Strategy, Verdict, Weight,
};
use crate::error::{AwsErrorKind, Error, Result};
use crate::preflight::Preflight;

/// Who the workflow's own steps are recorded as.
pub const WORKFLOW_ACTOR: &str = "workflow";

/// What `start` accepts: the workflow's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Also the Step Functions execution name, so a start repeated is the same release.
    pub release_id: Option<String>,
    pub function: String,
    pub alias: String,
    /// Defaults to the version the alias points at now.
    pub stable_version: Option<String>,
    pub target_version: String,
    pub strategy: String,
    #[serde(default)]
    pub alarms: Vec<String>,
    #[serde(default)]
    pub alarm_overrides: Vec<String>,
    #[serde(default)]
    pub bake_after_secs: u64,
    #[serde(default)]
    pub started_by: String,
    #[serde(default)]
    pub kind: ReleaseKind,
}

/// What `advance`, `finalize` and `rollback` accept: the previous step's output, possibly
/// with the error a Catch attached.
#[derive(Debug, Clone, Deserialize)]
pub struct StepInput {
    pub release_id: Option<String>,
    #[serde(default)]
    pub error: Option<StepError>,
}

/// The `{Error, Cause}` object Step Functions puts in `$.error` on a Catch.
#[derive(Debug, Clone, Deserialize)]
pub struct StepError {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// What the workflow does after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Next {
    Wait,
    Promote,
    Rollback,
    Done,
}

/// Every task's output: all the Choice state needs, and what a person reads in the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    pub release_id: String,
    pub next: Next,
    pub wait_seconds: u64,
    pub phase: String,
    pub weight: Weight,
    pub reason: Option<String>,
}

impl StepOutcome {
    fn of(release: &Release, action: &Action) -> StepOutcome {
        let (next, wait_seconds) = match action {
            _ if release.phase.is_terminal() => (Next::Done, 0),
            Action::SetWeight { step, .. } => (Next::Wait, release.schedule.steps[*step].bake_secs),
            Action::Wait { secs } => (Next::Wait, *secs),
            Action::Promote => (Next::Promote, 0),
            Action::RollBack { .. } => (Next::Rollback, 0),
            Action::Nothing => match release.phase {
                Phase::Promoting => (Next::Promote, 0),
                Phase::RollingBack { .. } => (Next::Rollback, 0),
                _ => (Next::Wait, 0),
            },
        };
        StepOutcome {
            release_id: release.id.clone(),
            next,
            wait_seconds,
            phase: release.phase.name().to_string(),
            weight: release.weight,
            reason: release.reason.clone(),
        }
    }

    fn not_started(release_id: Option<String>, reason: String) -> StepOutcome {
        StepOutcome {
            release_id: release_id.unwrap_or_default(),
            next: Next::Done,
            wait_seconds: 0,
            phase: "not_started".to_string(),
            weight: Weight::ZERO,
            reason: Some(reason),
        }
    }
}

/// An operator's command on a running release. Promote and abort act on the alias at once;
/// the workflow finds the release finished at its next look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Control {
    Pause,
    Resume,
    Promote,
    Abort { reason: String },
}

/// Attempts at an operator command when the workflow keeps moving the release's revision.
const CONTROL_ATTEMPTS: usize = 5;

/// What the state machine's Start task receives: the execution's name, which is the release
/// id, and the workflow's input as given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartTask {
    release_id: String,
    request: serde_json::Value,
}

/// Reads the start handler's input: the state machine's `{release_id, request}` (the id being
/// the execution name, which the request may repeat but not contradict), or a bare request.
pub fn parse_start(value: serde_json::Value) -> Result<StartRequest> {
    let is_task = value
        .as_object()
        .is_some_and(|o| o.len() == 2 && o.contains_key("request") && o.contains_key("release_id"));
    if !is_task {
        return parse_input(value);
    }
    let task: StartTask = parse_input(value)?;
    let mut request: StartRequest = parse_input(task.request)?;
    match &request.release_id {
        Some(id) if *id != task.release_id => Err(Error::BadRequest(format!(
            "release_id '{id}' differs from the execution name '{}': the execution name is the release id, so leave release_id out or make them equal",
            task.release_id
        ))),
        _ => {
            request.release_id = Some(task.release_id);
            Ok(request)
        }
    }
}

/// Parses a task's JSON input with an error that names what is wrong.
pub fn parse_input<T: for<'de> Deserialize<'de>>(value: serde_json::Value) -> Result<T> {
    // serde would also read a struct from an array of its fields in order: refuse that shape.
    if !value.is_object() {
        return Err(Error::BadRequest(format!(
            "expected a JSON object, got {}",
            value.to_string().chars().take(80).collect::<String>()
        )));
    }
    serde_json::from_value(value).map_err(|e| Error::BadRequest(e.to_string()))
}

/// The release workflow's logic over its three adapters. Built once per cold start.
#[derive(Clone, Debug)]
pub struct ReleaseService {
    pub router: TrafficRouter,
    pub store: ReleaseStore,
    pub health: AlarmHealth,
    pub notifier: Option<Notifier>,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl ReleaseService {
    pub fn new(router: TrafficRouter, store: ReleaseStore, health: AlarmHealth) -> Self {
        ReleaseService {
            router,
            store,
            health,
            notifier: None,
        }
    }

    pub fn with_notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Announces what the release's log holds that was not announced yet. A failure is
    /// logged, never returned: telling people must not block or undo a release step, and the
    /// next step of the same release sends what this one could not.
    pub async fn announce(&self, release: &Release) {
        if let Some(notifier) = &self.notifier {
            if let Err(e) = notifier.announce(release).await {
                tracing::error!(release = %release.id, error = %e, "notification not sent yet; the next step retries it");
            }
        }
    }

    /// Validates the request, checks what it names exists and is healthy (the shared
    /// [`Self::preflight`]), records the release (taking the alias lock) with its first
    /// decision, then applies that decision.
    pub async fn start(&self, request: StartRequest) -> Result<StepOutcome> {
        // Refuse what the request itself gets wrong before asking AWS anything.
        let (request, _) = self.validate(request)?;
        if let Some(id) = &request.release_id {
            // A retried start finds its own release and simply continues it.
            match self.store.load(id).await {
                Ok(tracked) => return self.resume_started(tracked).await,
                Err(Error::ReleaseNotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let Preflight {
            spec, expired_lock, ..
        } = self.preflight(request).await?;
        let started_at = now();
        let mut release = Release::new(spec, started_at)?;

        // An expired lock is broken on the record: the release that held it (if it still ran)
        // ends as failed with who took the alias over, in the same transaction as this one.
        let mut broken = None;
        if let Some(holder) = &expired_lock {
            match self.store.load(&holder.release_id).await {
                Ok(mut old) if old.release.holds_alias_lock() => {
                    let lost = Input::LockBroken {
                        by: release.id.clone(),
                        expired_at: holder.expires_at,
                    };
                    old.release.apply(lost, started_at, &release.started_by)?;
                    broken = Some(old);
                }
                // A lock left behind by a finished or vanished release: nothing to record there.
                Ok(_) | Err(Error::ReleaseNotFound(_)) => {}
                Err(e) => return Err(e),
            }
            let take_over = Input::TakeOverLock {
                from: holder.release_id.clone(),
                expired_at: holder.expires_at,
            };
            release.apply(take_over, started_at, WORKFLOW_ACTOR)?;
        }
        let takeover = expired_lock.as_ref().map(|holder| Takeover {
            holder: &holder.release_id,
            broken: broken.as_ref(),
        });
        let action = release.apply(Input::Begin, started_at, WORKFLOW_ACTOR)?;
        let tracked = match self.store.create(&release, started_at, takeover).await {
            Ok(tracked) => tracked,
            // Two identical starts raced; the other one recorded it first.
            Err(Error::ReleaseExists(id)) => {
                return self.resume_started(self.store.load(&id).await?).await
            }
            Err(e) => return Err(e),
        };
        if let Some(old) = &broken {
            self.announce(&old.release).await;
        }
        match self.converge(&tracked.release).await {
            Err(Error::UnexpectedAlias { .. } | Error::VerifyFailed { .. }) => {
                return self.hands_off(&tracked.release.id, WORKFLOW_ACTOR).await
            }
            other => other?,
        };
        self.announce(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &action))
    }

    async fn resume_started(&self, tracked: Tracked) -> Result<StepOutcome> {
        let release = tracked.release;
        match self.converge(&release).await {
            Err(Error::UnexpectedAlias { .. } | Error::VerifyFailed { .. }) => {
                return self.hands_off(&release.id, WORKFLOW_ACTOR).await
            }
            other => other?,
        };
        self.announce(&release).await;
        let action = match release.phase {
            Phase::Shifting { step } => Action::SetWeight {
                step,
                weight: release.weight,
            },
            _ => Action::Nothing,
        };
        Ok(StepOutcome::of(&release, &action))
    }

    /// One look: health first, then the next decision, recorded, then applied.
    pub async fn advance(&self, input: StepInput) -> Result<StepOutcome> {
        let id = input
            .release_id
            .ok_or_else(|| Error::BadRequest("release_id is required".into()))?;
        let mut tracked = self.store.load(&id).await?;
        let release = &tracked.release;
        if release.phase.is_terminal() {
            self.announce(release).await;
            return Ok(StepOutcome::of(release, &Action::Nothing));
        }
        if release.holds_alias_lock() {
            self.store.renew_lock(release, now()).await?;
        }
        if let Phase::Shifting { step } | Phase::Paused { step } = release.phase {
            // An earlier attempt recorded this step and died before applying it: apply it now
            // and observe it for its whole bake before deciding anything on its health.
            let moved = match self.converge_from(release, false).await {
                Err(Error::UnexpectedAlias { .. } | Error::VerifyFailed { .. }) => {
                    return self.hands_off(&id, WORKFLOW_ACTOR).await
                }
                other => other?,
            };
            if moved {
                let bake = release.schedule.steps[step].bake_secs;
                self.announce(release).await;
                return Ok(StepOutcome::of(release, &Action::Wait { secs: bake }));
            }
        }
        let verdict = match self.health.statuses(&release.alarms).await {
            Ok(statuses) => verdict(&statuses, &release.alarm_overrides, release.created_at),
            // A guard that vanished mid-release cannot vouch for it.
            Err(Error::AlarmsMissing(missing)) => Verdict::Unhealthy {
                reason: format!("alarm(s) no longer exist: {}", missing.join(", ")),
            },
            Err(e) => return Err(e),
        };
        let before = tracked.release.clone();
        let action = tracked
            .release
            .apply(Input::Check(verdict), now(), WORKFLOW_ACTOR)?;
        if tracked.release != before {
            self.store.save(&mut tracked).await?;
        }
        if matches!(action, Action::SetWeight { .. } | Action::Wait { .. }) {
            match self.converge_from(&tracked.release, false).await {
                Err(Error::UnexpectedAlias { .. } | Error::VerifyFailed { .. }) => {
                    return self.hands_off(&id, WORKFLOW_ACTOR).await
                }
                other => other?,
            };
        }
        self.announce(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &action))
    }

    /// Moves the alias wholly to the target and records success, giving up the lock.
    pub async fn finalize(&self, input: StepInput) -> Result<StepOutcome> {
        let id = input
            .release_id
            .ok_or_else(|| Error::BadRequest("release_id is required".into()))?;
        let mut tracked = self.store.load(&id).await?;
        if tracked.release.phase.is_terminal() {
            self.announce(&tracked.release).await;
            return Ok(StepOutcome::of(&tracked.release, &Action::Nothing));
        }
        if tracked.release.phase != Phase::Promoting {
            // Only a recorded promotion decision leads here; anything else is refused with the
            // illegal-transition error, and the release stays as it is.
            tracked
                .release
                .clone()
                .apply(Input::Promoted, now(), WORKFLOW_ACTOR)?;
        }
        match self.converge(&tracked.release).await {
            Err(Error::UnexpectedAlias { .. } | Error::VerifyFailed { .. }) => {
                return self.hands_off(&id, WORKFLOW_ACTOR).await
            }
            other => other?,
        };
        tracked
            .release
            .apply(Input::Promoted, now(), WORKFLOW_ACTOR)?;
        self.store.save(&mut tracked).await?;
        self.announce(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }

    /// Reverts the alias to the stable version and records why; the workflow's Catch sends
    /// every unrecoverable failure here.
    pub async fn rollback(&self, input: StepInput) -> Result<StepOutcome> {
        let Some(id) = input.release_id else {
            return Ok(StepOutcome::not_started(
                None,
                describe(input.error.as_ref(), "no release id"),
            ));
        };
        let mut tracked = match self.store.load(&id).await {
            Ok(tracked) => tracked,
            // Refused before anything was recorded: nothing changed, nothing to undo.
            Err(Error::ReleaseNotFound(_)) => {
                return Ok(StepOutcome::not_started(
                    Some(id),
                    describe(input.error.as_ref(), "the release was never recorded"),
                ))
            }
            Err(e) => return Err(e),
        };
        if tracked.release.phase.is_terminal() {
            self.announce(&tracked.release).await;
            return Ok(StepOutcome::of(&tracked.release, &Action::Nothing));
        }
        if !matches!(tracked.release.phase, Phase::RollingBack { .. }) {
            let error = describe(input.error.as_ref(), "rollback requested");
            tracked
                .release
                .apply(Input::Fail { error }, now(), WORKFLOW_ACTOR)?;
            self.store.save(&mut tracked).await?;
        }
        let outcome = reverted(self.revert(&tracked.release).await)?;
        tracked.release.apply(outcome, now(), WORKFLOW_ACTOR)?;
        self.store.save(&mut tracked).await?;
        self.announce(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }

    /// Reverts an alias to any version its history records as good, as a release of its own
    /// (kind `revert`, all at once), so it takes the alias lock and leaves a record.
    pub async fn revert_to(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        by: &str,
        release_id: Option<String>,
    ) -> Result<StepOutcome> {
        check_names(function, alias, release_id.as_deref())?;
        check_version("rollback", version)?;
        let function = &self.canonical(function)?;
        if !self.was_good(function, alias, version).await? {
            return Err(Error::NotKnownGood {
                function: function.to_string(),
                version: version.to_string(),
            });
        }
        let started = self
            .start(StartRequest {
                release_id,
                function: function.to_string(),
                alias: alias.to_string(),
                stable_version: None,
                target_version: version.to_string(),
                strategy: Strategy::AllAtOnce.to_string(),
                alarms: Vec::new(),
                alarm_overrides: Vec::new(),
                bake_after_secs: 0,
                started_by: by.to_string(),
                kind: ReleaseKind::Revert,
            })
            .await?;
        self.finalize(StepInput {
            release_id: Some(started.release_id),
            error: None,
        })
        .await
    }

    /// Was `version` ever live on this alias by shiftback's records?
    async fn was_good(&self, function: &str, alias: &str, version: &str) -> Result<bool> {
        let mut page = None;
        loop {
            let history = self.store.history(function, 100, page.as_deref()).await?;
            let found = history
                .releases
                .iter()
                .filter(|r| r.alias == alias)
                .any(|r| {
                    (r.phase == Phase::Succeeded && r.target_version == version)
                        || r.stable_version == version
                });
            if found {
                return Ok(true);
            }
            match history.next {
                Some(next) => page = Some(next),
                None => return Ok(false),
            }
        }
    }

    /// Applies an operator's command, recorded with who asked.
    pub async fn control(
        &self,
        release_id: &str,
        control: Control,
        by: &str,
    ) -> Result<StepOutcome> {
        check_release_id(release_id)?;
        let mut attempt = 0;
        let mut tracked = loop {
            attempt += 1;
            let mut tracked = self.store.load(release_id).await?;
            let input = match &control {
                Control::Pause => Input::Pause,
                Control::Resume => Input::Resume,
                Control::Promote => Input::Promote,
                Control::Abort { reason } => Input::Abort {
                    reason: format!("aborted by {by}: {reason}"),
                },
            };
            tracked.release.apply(input, now(), by)?;
            match self.store.save(&mut tracked).await {
                Ok(()) => break tracked,
                Err(Error::StaleRelease { .. }) if attempt < CONTROL_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        };
        let completion = match tracked.release.phase {
            Phase::Promoting => {
                match self.converge(&tracked.release).await {
                    Err(Error::UnexpectedAlias { .. } | Error::VerifyFailed { .. }) => {
                        return self.hands_off(release_id, by).await
                    }
                    other => other?,
                };
                Input::Promoted
            }
            Phase::RollingBack { .. } => reverted(self.revert(&tracked.release).await)?,
            _ => {
                self.announce(&tracked.release).await;
                return Ok(StepOutcome::of(&tracked.release, &Action::Nothing));
            }
        };
        tracked.release.apply(completion, now(), by)?;
        self.store.save(&mut tracked).await?;
        self.announce(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }

    /// Puts the alias back on the stable version, whatever weight it carries: a revert must
    /// win, so it does not compare revisions. It refuses only an alias this release never
    /// routed (someone moved it elsewhere), which is not ours to overwrite.
    pub async fn revert(&self, release: &Release) -> Result<()> {
        let current = self.router.read(&release.function, &release.alias).await?;
        let stable = AliasRouting::single(&release.stable_version);
        if current.routing == stable {
            return Ok(());
        }
        if current
            .routing
            .weight_towards(&release.stable_version, &release.target_version)
            .is_none()
        {
            return Err(unexpected(release, &stable, &current.routing));
        }
        self.router
            .set(&release.function, &release.alias, &stable, None)
            .await?;
        Ok(())
    }

    /// Makes the alias match the release's recorded decision for a forward move.
    ///
    /// The alias must be where this release left it: at the desired routing already (a
    /// retry), or at the previous step's. Anything else (notably the stable version after
    /// the first step, which is what a revert leaves) means someone else acted, and a forward
    /// shift must not undo that. The write is a compare-and-swap on the revision read here,
    /// after the release is re-read, so a revert landing in between makes it fail.
    /// Returns whether it had to move the alias.
    pub async fn converge(&self, release: &Release) -> Result<bool> {
        self.converge_from(release, true).await
    }

    /// [`Self::converge`], where `from_stable` says whether the alias may be moved to the first
    /// step from the stable version. Only `start` applies the first step; after it, an alias
    /// found on the stable version was reverted by someone, and stays so.
    async fn converge_from(&self, release: &Release, from_stable: bool) -> Result<bool> {
        let Some(desired) = release.desired_alias() else {
            return Ok(false);
        };
        let routing =
            AliasRouting::for_release(&release.stable_version, &release.target_version, desired);
        let current = self.router.read(&release.function, &release.alias).await?;
        if current.routing == routing {
            return Ok(false);
        }
        let mut acceptable_previous = self.previous_routing(release, desired);
        if !from_stable {
            let stable = AliasRouting::single(&release.stable_version);
            acceptable_previous.retain(|routing| *routing != stable);
        }
        // An operator's revert holds the alias lock and names a recorded-good version: it
        // repairs whatever routing it finds (a split left by a failed release, say); the
        // write below is still a compare-and-swap on the revision read here.
        let repair = release.kind == ReleaseKind::Revert && desired == AliasTarget::Target;
        if !repair && !acceptable_previous.contains(&current.routing) {
            return Err(unexpected(release, &routing, &current.routing));
        }
        // Re-read the release: if a revert was recorded since we decided, stand down.
        let fresh = self.store.load_summary(&release.id).await?;
        if fresh.phase != release.phase || fresh.revision != release.revision {
            return Err(Error::StaleRelease {
                id: release.id.clone(),
                expected: release.revision,
            });
        }
        self.router
            .set(
                &release.function,
                &release.alias,
                &routing,
                current.revision_id.as_deref(),
            )
            .await
            .map_err(|e| match e {
                Error::Aws(aws) if aws.kind == AwsErrorKind::Conflict => Error::UnexpectedAlias {
                    function: release.function.clone(),
                    alias: release.alias.clone(),
                    release: release.id.clone(),
                    expected: format!(
                        "revision {}",
                        current.revision_id.clone().unwrap_or_default()
                    ),
                    actual: "a newer revision (changed concurrently)".to_string(),
                },
                other => other,
            })?;
        Ok(true)
    }

    /// Where the alias may legitimately be before moving to `desired`.
    fn previous_routing(&self, release: &Release, desired: AliasTarget) -> Vec<AliasRouting> {
        let (stable, target) = (&release.stable_version, &release.target_version);
        match desired {
            AliasTarget::Weighted(w) => {
                let weights: Vec<Weight> =
                    release.schedule.steps.iter().map(|s| s.weight).collect();
                let index = weights.iter().position(|x| *x == w).unwrap_or(0);
                let previous = if index == 0 {
                    Weight::ZERO
                } else {
                    weights[index - 1]
                };
                vec![AliasRouting::for_release(
                    stable,
                    target,
                    AliasTarget::Weighted(previous),
                )]
            }
            // Promotion moves on from where this release put the alias: the last weight it
            // recorded, or the one before when that was recorded but not yet applied. Only a
            // release that applied no weight at all (all at once, or promoted while pending)
            // may start from the stable version; after any step, an alias found there was
            // reverted by someone, and promoting would undo that revert.
            AliasTarget::Target => {
                let applied = release.applied_weights();
                let from: Vec<Weight> = match applied.as_slice() {
                    [] => vec![Weight::ZERO],
                    [.., previous, last] => vec![*previous, *last],
                    [only] => vec![*only],
                };
                from.into_iter()
                    .map(|w| AliasRouting::for_release(stable, target, AliasTarget::Weighted(w)))
                    .collect()
            }
            AliasTarget::Stable => Vec::new(),
        }
    }
}

/// How long a release that finds its alias on the stable version waits for a revert by the
/// alarm handler (which reverts first and records right after) to be recorded, before it
/// counts the revert as done by hand.
const REVERT_RECORD_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

impl ReleaseService {
    /// A function's one spelling (its bare name), refusing an ARN of another region: this
    /// stack's calls and permissions are for its own region. (The account is not known here;
    /// the role's permissions confine calls to the stack's own account.)
    pub fn canonical(&self, function: &str) -> Result<String> {
        let reference = function_ref(function)
            .ok_or_else(|| SpecError::FunctionName(function.chars().take(160).collect()))?;
        if let (Some(theirs), Some(ours)) = (reference.region, self.router.region()) {
            if theirs != ours {
                return Err(SpecError::FunctionElsewhere {
                    function: function.to_string(),
                    region: theirs.to_string(),
                    ours,
                }
                .into());
            }
        }
        Ok(reference.name.to_string())
    }

    /// The alias is not where this release left it. From a fresh look: a revert someone
    /// recorded meanwhile ends the step quietly; the alias still on one of this release's own
    /// routings (a write that raced an unrelated change of the alias) is retried; on the
    /// stable version it is a rollback by hand; anywhere else someone took the alias over.
    /// The last two are recorded and announced, and the alias is left exactly as found.
    async fn hands_off(&self, release_id: &str, actor: &str) -> Result<StepOutcome> {
        let mut tracked = self.store.load(release_id).await?;
        for attempt in 0..2 {
            let release = &tracked.release;
            if release.phase.is_terminal() || matches!(release.phase, Phase::RollingBack { .. }) {
                self.announce(release).await;
                return Ok(StepOutcome::of(release, &Action::Nothing));
            }
            let current = self.router.read(&release.function, &release.alias).await?;
            let stable = AliasRouting::single(&release.stable_version);
            if self.own_routings(release).contains(&current.routing) {
                return Err(Error::StaleRelease {
                    id: release.id.clone(),
                    expected: release.revision,
                });
            }
            if current.routing == stable && attempt == 0 {
                tokio::time::sleep(REVERT_RECORD_GRACE).await;
                tracked = self.store.load(release_id).await?;
                continue;
            }
            let found = Input::HandsOff {
                found: current.routing.to_string(),
                to_stable: current.routing == stable,
            };
            tracing::warn!(release = %release.id, alias = %current.routing, "alias changed outside the release; hands off");
            tracked.release.apply(found, now(), actor)?;
            self.store.save(&mut tracked).await?;
            break;
        }
        self.announce(&tracked.release).await;
        Ok(StepOutcome::of(&tracked.release, &Action::Nothing))
    }

    /// Every routing this release may have put the alias in, the stable version aside.
    fn own_routings(&self, release: &Release) -> Vec<AliasRouting> {
        let (stable, target) = (&release.stable_version, &release.target_version);
        release
            .applied_weights()
            .into_iter()
            .map(AliasTarget::Weighted)
            .chain(matches!(release.phase, Phase::Promoting).then_some(AliasTarget::Target))
            .map(|t| AliasRouting::for_release(stable, target, t))
            .filter(|r| *r != AliasRouting::single(stable))
            .collect()
    }
}

/// What a revert's outcome records: done; the alias taken over by someone else (left as
/// found); or, beyond retries, failed.
fn reverted(outcome: Result<()>) -> Result<Input> {
    match outcome {
        Ok(()) => Ok(Input::RolledBack),
        Err(e) if e.is_retryable() => Err(e),
        Err(Error::UnexpectedAlias { actual, .. }) => Ok(Input::HandsOff {
            found: actual,
            to_stable: false,
        }),
        Err(e) => Ok(Input::RollbackFailed {
            error: e.to_string(),
        }),
    }
}

fn unexpected(release: &Release, expected: &AliasRouting, actual: &AliasRouting) -> Error {
    Error::UnexpectedAlias {
        function: release.function.clone(),
        alias: release.alias.clone(),
        release: release.id.clone(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

fn describe(error: Option<&StepError>, default: &str) -> String {
    match error {
        Some(e) => {
            // Lambda errors arrive with the handler's JSON diagnostic as the Cause.
            let message = serde_json::from_str::<serde_json::Value>(&e.cause)
                .ok()
                .and_then(|v| {
                    v.get("errorMessage")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| e.cause.clone());
            format!("{}: {}", e.error, message)
                .chars()
                .take(1000)
                .collect()
        }
        None => default.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request() -> serde_json::Value {
        json!({"function": "orders", "alias": "live", "target_version": "2", "strategy": "AllAtOnce"})
    }

    #[test]
    fn the_execution_name_is_the_release_id() {
        let task = json!({"release_id": "r-exec-1", "request": request()});
        assert_eq!(
            parse_start(task).unwrap().release_id.as_deref(),
            Some("r-exec-1")
        );
        let mut same = request();
        same["release_id"] = json!("r-exec-1");
        let task = json!({"release_id": "r-exec-1", "request": same});
        assert_eq!(
            parse_start(task).unwrap().release_id.as_deref(),
            Some("r-exec-1")
        );
        let mut other = request();
        other["release_id"] = json!("r-other");
        let err = parse_start(json!({"release_id": "r-exec-1", "request": other})).unwrap_err();
        assert!(err.to_string().contains("execution name"), "{err}");
        // A bare request (a direct invocation) is read as it is.
        assert_eq!(parse_start(request()).unwrap().release_id, None);
        let err = parse_start(json!({"release_id": "r-1", "request": "x"})).unwrap_err();
        assert!(matches!(err, Error::BadRequest(_)), "{err}");
    }
}
