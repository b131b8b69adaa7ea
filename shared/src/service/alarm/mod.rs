//! The immediate, alarm-driven rollback.
//!
//! Critical path first: one DynamoDB query finds what the alarm guards, and the very next call
//! is `UpdateAlias` back to the stable version. Only then is the rollback recorded, the
//! workflow stopped and the alias verified. The alarm event decides nothing by itself: only
//! releases that recorded the alarm as a guard are touched.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::alarm_event::{parse_alarm_event, AlarmSignal};
use crate::analysis::cloudwatch::CloudWatchHealth;
use crate::domain::AlarmState;
use crate::error::Result;
use crate::notifier::SnsNotifier;
use crate::ports::Ports;
use crate::ports::{AliasRouter, ReleaseRecords};
use crate::router::{AliasRouting, LambdaRouter};
use crate::service::Aws;
use crate::store::{DynamoStore, Guard};
use crate::workflow::StepFunctionsWorkflow;

mod record;
pub mod select;

use select::{select, Selection};

/// Aliases reverted at once for one alarm: well inside Lambda's control-plane rate.
const REVERT_CONCURRENCY: usize = 10;
/// Attempts to record a revert when other writers keep moving the release's revision.
const RECORD_ATTEMPTS: usize = 5;

/// What happened to one alarm signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmOutcome {
    pub alarm: String,
    pub state: String,
    pub reverted: Vec<Reverted>,
    /// Why nothing was done, when nothing was.
    pub ignored: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reverted {
    pub release_id: String,
    pub function: String,
    pub alias: String,
    pub version: String,
    pub reverted_at: DateTime<Utc>,
    /// False when another delivery of the same event had already recorded it.
    pub recorded: bool,
}

/// The alarm's use case over its ports: by default the AWS adapters; in the unit tests, the
/// in-memory fakes.
#[derive(Clone)]
pub struct AlarmResponder<P: Ports = Aws> {
    pub router: P::Router,
    pub store: P::Store,
    pub workflow: Option<P::Workflow>,
    pub notifier: Option<P::Notifier>,
    /// Deletes a reverted release's own analysis alarm, last of all (no release may follow
    /// on the alias to clean it up, and it costs while it exists).
    pub alarms: Option<P::Health>,
    /// Tells a wave plan's coordinator, after the revert, that one of its releases rolled back.
    pub plan_stops: Option<P::PlanStops>,
}

impl<P: Ports> std::fmt::Debug for AlarmResponder<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlarmResponder").finish_non_exhaustive()
    }
}

impl AlarmResponder {
    pub fn new(
        router: LambdaRouter,
        store: DynamoStore,
        workflow: Option<StepFunctionsWorkflow>,
    ) -> Self {
        AlarmResponder {
            router,
            store,
            workflow,
            notifier: None,
            alarms: None,
            plan_stops: None,
        }
    }

    pub fn with_plan_stops(mut self, stops: crate::waves::LambdaPlanStops) -> Self {
        self.plan_stops = Some(stops);
        self
    }

    pub fn with_notifier(mut self, notifier: SnsNotifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    pub fn with_alarm_cleanup(mut self, alarms: CloudWatchHealth) -> Self {
        self.alarms = Some(alarms);
        self
    }
}

impl<P: Ports> AlarmResponder<P> {
    /// Handles one alarm event, in any of its shapes. `own_account` (from the function's own
    /// ARN) makes alarms of other accounts inert even if their names collide.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        own_account: Option<&str>,
    ) -> Result<Vec<AlarmOutcome>> {
        let signals = parse_alarm_event(event)?;
        let mut outcomes = Vec::with_capacity(signals.len());
        for signal in signals {
            outcomes.push(self.respond(&signal, own_account).await?);
        }
        Ok(outcomes)
    }

    async fn respond(
        &self,
        signal: &AlarmSignal,
        own_account: Option<&str>,
    ) -> Result<AlarmOutcome> {
        let mut outcome = AlarmOutcome {
            alarm: signal.alarm.clone(),
            state: format!("{:?}", signal.state).to_uppercase(),
            reverted: Vec::new(),
            ignored: None,
        };
        if signal.state != AlarmState::Alarm {
            tracing::info!(alarm = %signal.alarm, state = %outcome.state, "not a transition into ALARM; nothing to do");
            outcome.ignored = Some(format!("state {} needs no action", outcome.state));
            return Ok(outcome);
        }
        if let (Some(theirs), Some(ours)) = (signal.account.as_deref(), own_account) {
            if theirs != ours {
                tracing::warn!(alarm = %signal.alarm, account = theirs, "alarm of another account ignored");
                outcome.ignored = Some(format!("alarm belongs to account {theirs}, not {ours}"));
                return Ok(outcome);
            }
        }

        // The one read before the revert. Everything decided from here on uses only what the
        // guards carry. A member's own alarms are recorded as one guard (its error-rate
        // alarm's).
        let stored = self
            .store
            .guards_for_alarm(crate::analysis::guard_alarm_of(&signal.alarm))
            .await?;
        let (guards, ignored) = match select(
            signal.changed_at,
            signal.suppressed_by.as_deref(),
            stored,
        ) {
            Selection::Unguarded => {
                outcome.ignored = Some(format!(
                    "alarm {} guards no release in progress or in its bake window",
                    signal.alarm
                ));
                return Ok(outcome);
            }
            Selection::Stale(stale) => {
                // Overridden at start, or an old event redelivered from Lambda's retry queue.
                let ids: Vec<&str> = stale.iter().map(|g| g.release_id.as_str()).collect();
                tracing::info!(alarm = %signal.alarm, releases = ?ids, "state change before the release started; not reverted");
                outcome.ignored = Some(format!(
                    "alarm {} changed state at {}, before release {} started",
                    signal.alarm,
                    signal.changed_at.to_rfc3339(),
                    ids.join(", ")
                ));
                return Ok(outcome);
            }
            Selection::Suppressed { by, guards } => {
                let note = format!(
                    "alarm {} fired while its actions were suppressed by {by}; not reverted",
                    signal.alarm
                );
                tracing::warn!(alarm = %signal.alarm, suppressed_by = %by, "{note}");
                for guard in &guards {
                    self.record_suppressed(guard, signal, &by).await?;
                }
                outcome.ignored = Some(note);
                return Ok(outcome);
            }
            Selection::Act { revert, ignored } => (revert, ignored),
        };
        // An operator ignores this alarm for some releases: recorded, not reverted.
        for guard in &ignored {
            let until = guard.ignored_until.unwrap_or(signal.changed_at);
            let by = format!("an ignore until {}", until.to_rfc3339());
            tracing::warn!(alarm = %signal.alarm, release = %guard.release_id, %by, "alarm ignored by an operator; not reverted");
            self.record_suppressed(guard, signal, &by).await?;
        }
        if guards.is_empty() {
            outcome.ignored = Some(format!(
                "alarm {} is ignored by an operator for every release it guards",
                signal.alarm
            ));
            return Ok(outcome);
        }

        let limit = Arc::new(Semaphore::new(REVERT_CONCURRENCY));
        let reverts = guards.iter().map(|guard| {
            let limit = limit.clone();
            async move {
                let _permit = limit.acquire().await.expect("semaphore open");
                self.revert(guard).await
            }
        });
        let results = join_all(reverts).await;

        // Bookkeeping, once every alias is safe: a release recorded once (the first of a
        // group's members), each other member's alias checked as the first's is.
        let mut first_error = None;
        let mut recorded_now = std::collections::HashMap::new();
        for (guard, result) in guards.iter().zip(results) {
            match result {
                Ok(Some(reverted_at)) => {
                    let recorded = match recorded_now.get(&guard.release_id) {
                        Some(recorded) => {
                            self.recheck(guard).await;
                            *recorded
                        }
                        None => {
                            let recorded = self.record(guard, signal, reverted_at).await?;
                            recorded_now.insert(guard.release_id.clone(), recorded);
                            recorded
                        }
                    };
                    outcome.reverted.push(Reverted {
                        release_id: guard.release_id.clone(),
                        function: guard.function.clone(),
                        alias: guard.alias.clone(),
                        version: guard.stable_version.clone(),
                        reverted_at,
                        recorded,
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(release = %guard.release_id, error = %e, "revert failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        // A failed revert is retried by Lambda's own retry of the event.
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(outcome)
    }

    /// Reverts one guarded alias. An active release's alias goes back unconditionally; a
    /// succeeded release's (bake window) only if it still routes wholly to that release's
    /// target, so a newer release on the alias is never undone by an older one's alarm.
    async fn revert(&self, guard: &Guard) -> Result<Option<DateTime<Utc>>> {
        let stable = AliasRouting::single(&guard.stable_version);
        if guard.until.is_some() {
            let current = self.router.read(&guard.function, &guard.alias).await?;
            if current.routing != AliasRouting::single(&guard.target_version) {
                tracing::info!(release = %guard.release_id, alias = %current.routing, "alias moved on since the release; bake-window alarm ignored");
                return Ok(None);
            }
            self.router
                .update(
                    &guard.function,
                    &guard.alias,
                    &stable,
                    current.revision_id.as_deref(),
                )
                .await?;
        } else {
            self.router
                .update(&guard.function, &guard.alias, &stable, None)
                .await?;
        }
        Ok(Some(self.store.now()))
    }
}
