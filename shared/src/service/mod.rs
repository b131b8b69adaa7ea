//! The release workflow's steps, as the Step Functions tasks call them: start, advance,
//! promote and roll back. Each records its decision before it touches the alias, and each is
//! safe to run again with the same input (Step Functions retries, events arrive twice).

use crate::domain::Member;
use crate::ports::Ports;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::analysis::cloudwatch::CloudWatchHealth;
use crate::domain::gates::Gates;
use crate::domain::{
    function_ref, Action, AnalysisSettings, Phase, Release, ReleaseKind, SpecError, Weight,
};
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::hooks::LambdaHooks;
use crate::notifier::SnsNotifier;
use crate::ports::{AliasRouter, Announcer, ReleaseRecords};
use crate::router::LambdaRouter;
use crate::store::DynamoStore;

mod advance;
mod advice;
pub mod alarm;
mod analysis_alarm;
mod changes;
mod control;
mod converge;
mod hooks;
pub mod preflight;
mod prologue;
mod promote;
mod provider;
mod retain;
pub mod retention;
mod revert_to;
mod rollback;
mod start;
mod supersede;
#[cfg(test)]
mod tests;

pub(crate) use analysis_alarm::done_with_alarm;
pub(crate) use converge::durable_left;
pub use preflight::Preflight;
pub use provider::{
    answer_for, may_release, plan_id_for, release_id_for, Answered, PlanProperties, Provided,
    ReleaseProperties, WhenBusy, EXECUTION_STATUS_CHANGE, RELEASE_STACKS_TAG, STACK_ID_TAG,
    UPDATE_ROLLBACK,
};
pub use supersede::Superseded;

/// Who the workflow's own steps are recorded as.
pub use crate::domain::release::WORKFLOW_ACTOR;

/// What `start` accepts: the workflow's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Also the Step Functions execution name, so a start repeated is the same release.
    pub release_id: Option<String>,
    /// The (first) member's function, alias and versions. A group may instead name every
    /// member in `members` and leave these out.
    #[serde(default)]
    pub function: String,
    #[serde(default)]
    pub alias: String,
    /// Defaults to the version the alias points at now.
    pub stable_version: Option<String>,
    #[serde(default)]
    pub target_version: String,
    /// A group's other members (each `function`, `alias`, `target_version`, and optionally
    /// `stable_version`), moved in step with the first and back together.
    #[serde(default)]
    pub members: Vec<Member>,
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
    /// Canary analysis settings; on, with its defaults, unless given.
    #[serde(default)]
    pub analysis: AnalysisSettings,
    /// Automatic retention once the bake window closes: the newest versions kept (with
    /// everything in use). Absent: the stack's default, if it has one.
    #[serde(default)]
    pub retain_versions: Option<u32>,
    /// A pre-traffic and a post-traffic hook, each a Lambda function the stack may invoke.
    #[serde(default)]
    pub hooks: Hooks,
    /// A gate before promotion, and every gate's timeout and what it does then.
    #[serde(default)]
    pub gates: Gates,
    /// Where the release came from (`version`, `commit`, `build_url`, ...): shown in its
    /// history, status and notifications.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// A release that holds the alias (or a group member's) when this one starts is
    /// superseded: rolled back to its stable version and ended on the record, naming this
    /// one. Without it, a held alias refuses the start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supersede: bool,
}

/// What `advance`, `promote` and `rollback` accept: the previous step's output, possibly
/// with the error a Catch attached.
#[derive(Debug, Clone, Deserialize)]
pub struct StepInput {
    pub release_id: Option<String>,
    #[serde(default)]
    pub error: Option<StepError>,
    /// At a gate: the task token the workflow waits on (`$$.Task.Token`), to be registered.
    #[serde(default)]
    pub task_token: Option<String>,
    /// The gate's wait timed out with no answer.
    #[serde(default)]
    pub gate_expired: bool,
}

impl StepInput {
    /// A look at `release_id`, with nothing else said: what a handler asks of itself.
    pub fn of(release_id: &str) -> StepInput {
        StepInput {
            release_id: Some(release_id.to_string()),
            error: None,
            task_token: None,
            gate_expired: false,
        }
    }
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
    /// Succeeded, with automatic retention to run once the bake window (`wait_seconds`) is
    /// over.
    Retain,
    /// At a gate: the workflow waits on a task token, at most `wait_seconds`.
    Gate,
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
            _ if release.retention_due() => {
                let left = release
                    .guard_until()
                    .map_or(0, |until| (until - Utc::now()).num_seconds().max(0) as u64);
                (Next::Retain, left)
            }
            _ if release.phase.is_terminal() => (Next::Done, 0),
            Action::SetWeight { step, .. } => (
                Next::Wait,
                release.bake_wait(*step, release.schedule.steps[*step].bake_secs),
            ),
            // The next look (at once) calls it.
            Action::CallHook { .. } => (Next::Wait, 0),
            Action::AwaitApproval { secs } => (Next::Gate, *secs),
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
    /// Approve the gate the release waits at.
    Approve,
    Abort {
        reason: String,
    },
    /// Release `by` takes the release's place: back to its stable version, ended as
    /// superseded.
    Supersede {
        by: String,
    },
    /// Stop one guard (an alarm, or `analysis`) from reverting the release for `for_secs`.
    Ignore {
        guard: String,
        for_secs: u64,
        reason: String,
    },
}

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

/// The release workflow's logic over its ports: by default the AWS adapters, built once per
/// cold start; in the unit tests, the in-memory fakes.
#[derive(Clone)]
pub struct ReleaseService<P: Ports = Aws> {
    pub router: P::Router,
    pub store: P::Store,
    pub health: P::Health,
    pub notifier: Option<P::Notifier>,
    /// Only the handlers that call hooks (advance, promote) and check them (start) have one.
    pub hooks: Option<P::Hooks>,
    /// Tells a wave plan's coordinator when one of its regional releases ends without
    /// promoting (the plan's fast path).
    pub plan_stops: Option<P::PlanStops>,
}

impl<P: Ports> std::fmt::Debug for ReleaseService<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReleaseService").finish_non_exhaustive()
    }
}

/// The AWS adapters, each over its SDK client: what the handlers and the CLI run on.
#[derive(Clone, Debug)]
pub struct Aws;

impl Ports for Aws {
    type Router = LambdaRouter;
    type Store = DynamoStore;
    type Health = CloudWatchHealth;
    type Notifier = SnsNotifier;
    type Hooks = LambdaHooks;
    type Workflow = crate::workflow::StepFunctionsWorkflow;
    type PlanStops = crate::waves::LambdaPlanStops;
}

impl ReleaseService {
    pub fn new(router: LambdaRouter, store: DynamoStore, health: CloudWatchHealth) -> Self {
        ReleaseService {
            router,
            store,
            health,
            notifier: None,
            hooks: None,
            plan_stops: None,
        }
    }

    pub fn with_plan_stops(mut self, stops: crate::waves::LambdaPlanStops) -> Self {
        self.plan_stops = Some(stops);
        self
    }

    pub fn with_hooks(mut self, hooks: LambdaHooks) -> Self {
        self.hooks = Some(hooks);
        self
    }

    pub fn with_notifier(mut self, notifier: SnsNotifier) -> Self {
        self.notifier = Some(notifier);
        self
    }
}

impl<P: Ports> ReleaseService<P> {
    /// What follows every write of a release: its new log entries announced, its own
    /// alarms retired once they guard nothing, and at its end its dashboard refreshed. A
    /// failure is logged, never returned: telling people must not block or undo a release
    /// step, and the next step of the same release sends what this one could not.
    pub async fn after_write(&self, release: &Release) {
        // Boxed: every step's future holds this one, and a test thread's stack holds them.
        Box::pin(crate::waves::stop_plan_logged(
            self.plan_stops.as_ref(),
            release,
        ))
        .await;
        announce_logged(self.notifier.as_ref(), release).await;
        self.retire_analysis_alarm(release).await;
        if release.phase.is_terminal() {
            self.after_end(release).await;
        }
    }
}

/// Announces through `notifier`, if there is one; a failure is logged, never returned (the
/// release's next write announces what this one could not).
pub(crate) async fn announce_logged<N: Announcer>(notifier: Option<&N>, release: &Release) {
    if let Some(notifier) = notifier {
        if let Err(e) = notifier.announce(release).await {
            tracing::error!(release = %release.id, error = %e, "notification not sent yet; the release's next step retries it");
        }
    }
}

impl<P: Ports> ReleaseService<P> {
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
}
