//! The coordinator: one look at a plan (start what its wave needs, look at what moved, bring
//! everything back on a stop), and the stop itself, which a Region's rollback or an operator's
//! abort calls at once rather than waiting for the next look.
//!
//! Every change to the plan is a conditional save on the revision loaded: two coordinators (a
//! look and a stop, or a retried invocation) never both act on one state; the loser reloads and
//! decides again from what the winner saved. Every regional call is safe to repeat (a start by
//! its fixed release id, a revert of a target already back), so a crash between a call and the
//! save repeats the call, never doubles its effect.

use futures::future::join_all;

use super::{PlanLink, PlanRecords, RegionalReleases, Target, WaveAnswer, WaveCommand};
use crate::domain::wave::{PlanAction, PlanPhase, Readiness, Reverted, Seen, WavePlan};
use crate::error::{Error, Result};

/// How many times a look or a stop reloads after losing a race for the plan's record.
const RACE_RETRIES: usize = 5;

pub struct WaveCoordinator<R, S> {
    regions: R,
    plans: S,
}

impl<R: RegionalReleases, S: PlanRecords> WaveCoordinator<R, S> {
    pub fn new(regions: R, plans: S) -> Self {
        WaveCoordinator { regions, plans }
    }

    pub fn plans(&self) -> &S {
        &self.plans
    }

    pub fn regions(&self) -> &R {
        &self.regions
    }

    /// Records a new plan (its limits already checked by [`crate::domain::wave::check_waves`]).
    pub async fn create(&self, plan: &WavePlan) -> Result<()> {
        self.plans.create(plan).await
    }

    /// One look: returns the plan as saved, with when to look next (None: it has ended).
    pub async fn look(&self, id: &str, now: i64) -> Result<(WavePlan, Option<i64>)> {
        self.advance(id, now, |_| {}).await?;
        self.finish_stop(id, now).await
    }

    /// Stops the plan (`target`: the index whose release rolled back; None: an operator's
    /// abort) and brings every moved target back. The first cause stands; a repeated stop
    /// finishes what a crashed one began.
    pub async fn stop(
        &self,
        id: &str,
        target: Option<usize>,
        why: &str,
        now: i64,
    ) -> Result<(WavePlan, Option<i64>)> {
        self.advance(id, now, |plan| {
            plan.stop(target, why, now);
        })
        .await?;
        self.finish_stop(id, now).await
    }

    /// Checks every target in its own Region, all at once, and records the plan only if every
    /// Region passes: nothing is recorded or moved otherwise. A Region that could not be
    /// reached fails it as retryable; one that refuses, by name. A target whose alias is on the
    /// version already is recorded as such; one whose alias does not exist has it made on the
    /// version (as a stack's first deploy of one alias does), once every Region has passed.
    pub async fn create_checked(&self, plan: &WavePlan) -> Result<()> {
        let checks = plan.targets.iter().enumerate().map(|(i, t)| {
            let link = PlanLink::of(plan, i);
            async move {
                let checked = self
                    .regions
                    .check(&t.target, &plan.strategy, &plan.alarms, &link)
                    .await;
                (t.target.place(), checked)
            }
        });
        let mut refused = Vec::new();
        let mut readiness = Vec::new();
        for (place, checked) in join_all(checks).await {
            match checked {
                Ok(ready) => readiness.push(ready),
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => refused.push(format!("{place}: {e}")),
            }
        }
        if !refused.is_empty() {
            return Err(Error::BadRequest(format!(
                "plan {} not started, nothing moved: {}",
                plan.id,
                refused.join("; ")
            )));
        }
        let mut plan = plan.clone();
        for (i, ready) in readiness.into_iter().enumerate() {
            match ready {
                Readiness::Ready => continue,
                Readiness::NoAlias => self.regions.create_alias(&plan.targets[i].target).await?,
                Readiness::OnVersion => {}
            }
            plan.already_on(i);
        }
        self.plans.create(&plan).await
    }

    /// Carries out what the coordinator function is asked.
    pub async fn handle(&self, command: WaveCommand, now: i64) -> Result<WaveAnswer> {
        let (plan, next) = match command {
            WaveCommand::Create {
                plan_id,
                coordinator,
                plan,
            } => {
                let plan = plan
                    .into_plan(&plan_id, &coordinator, now)
                    .map_err(Error::BadRequest)?;
                // A retried create finds the record it made, without asking every Region again;
                // a name reused for another plan is refused rather than taken over.
                let recorded = match self.plans.load(&plan.id).await {
                    Ok((recorded, _)) => Some(recorded),
                    Err(Error::ReleaseNotFound(_)) => None,
                    Err(e) => return Err(e),
                };
                if let Some(recorded) = recorded {
                    let targets = |p: &WavePlan| -> Vec<Target> {
                        p.targets.iter().map(|t| t.target.clone()).collect()
                    };
                    if targets(&recorded) != targets(&plan) {
                        return Err(Error::BadRequest(format!(
                            "a plan named {} exists already, with other targets: name this one anew",
                            plan.id
                        )));
                    }
                    let next = next_look(&recorded, now);
                    return Ok(WaveAnswer::of(&recorded, next.map(|_| now), now));
                }
                match self.create_checked(&plan).await {
                    // A retried create: the plan its execution's name names is recorded.
                    Ok(()) | Err(Error::ReleaseExists(_)) => {}
                    Err(e) => return Err(e),
                }
                let (plan, _) = self.plans.load(&plan.id).await?;
                let next = (!plan.ended()).then_some(now);
                (plan, next)
            }
            WaveCommand::Look { plan_id } => self.look(&plan_id, now).await?,
            WaveCommand::Stop {
                plan_id,
                release_id: None,
                why,
                recall: true,
            } => {
                // A plan that has not completed is stopped, as any stop would.
                self.advance(&plan_id, now, |plan| {
                    if !plan.recall(&why, now) {
                        plan.stop(None, &why, now);
                    }
                })
                .await?;
                self.finish_stop(&plan_id, now).await?
            }
            WaveCommand::Stop {
                plan_id,
                release_id,
                why,
                ..
            } => {
                let (target, why) = match &release_id {
                    Some(id) => {
                        let (plan, _) = self.plans.load(&plan_id).await?;
                        let Some(i) = plan.target_of(id) else {
                            return Err(Error::BadRequest(format!(
                                "release {id} is not one of plan {plan_id}'s"
                            )));
                        };
                        (
                            Some(i),
                            format!("{}: {why}", plan.targets[i].target.place()),
                        )
                    }
                    None => (None, why),
                };
                self.stop(&plan_id, target, &why, now).await?
            }
        };
        Ok(WaveAnswer::of(&plan, next, now))
    }

    /// Loads, applies `first`, starts or looks at what the plan's phase asks, and saves: the
    /// stop a look found is on the record before any revert, so a crash after the reverts
    /// repeats only reverts, under the cause first found. Again from a fresh load if another
    /// writer saved first.
    async fn advance(&self, id: &str, now: i64, first: impl Fn(&mut WavePlan)) -> Result<()> {
        let mut races = 0;
        loop {
            let (mut plan, mut revision) = self.plans.load(id).await?;
            let mut saved = plan.clone();
            // `first` may reopen an ended plan (a stack's recall): only it.
            first(&mut plan);
            if plan.ended() {
                return Ok(());
            }
            let action = plan.next(now);
            if let PlanAction::Start(targets) = &action {
                // Claimed on the record before any Region is asked: a stop from here on
                // brings them back, or waits until no start can still be in flight.
                for &i in targets {
                    let release_id = plan.release_id_for(i);
                    plan.claim(i, &release_id, now);
                }
                match self.plans.save(&plan, revision).await {
                    Err(Error::StaleRelease { .. }) if races < RACE_RETRIES => {
                        races += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                    Ok(()) => {
                        revision += 1;
                        saved = plan.clone();
                    }
                }
            }
            match action {
                PlanAction::Start(targets) => {
                    self.start(&mut plan, &targets, now).await;
                    // Every other moved target is looked at in the same look: a start
                    // retried for hours never hides a rollback elsewhere.
                    let others: Vec<usize> = (0..plan.targets.len())
                        .filter(|i| plan.targets[*i].state.moved() && !targets.contains(i))
                        .collect();
                    self.look_at(&mut plan, &others, now).await;
                }
                PlanAction::Look(targets) => self.look_at(&mut plan, &targets, now).await,
                PlanAction::Revert(_) | PlanAction::WaitUntil(_) | PlanAction::Done => {}
            }
            plan.settle(now);
            if plan == saved {
                return Ok(());
            }
            match self.plans.save(&plan, revision).await {
                Err(Error::StaleRelease { .. }) if races < RACE_RETRIES => races += 1,
                saved => return saved,
            }
        }
    }

    /// If the plan is stopping: brings every moved target back and saves. Targets that could
    /// not be reached stay moved on the record, and the next look tries them again.
    async fn finish_stop(&self, id: &str, now: i64) -> Result<(WavePlan, Option<i64>)> {
        let mut races = 0;
        loop {
            let (mut plan, revision) = self.plans.load(id).await?;
            let PlanAction::Revert(targets) = plan.next(now) else {
                let next = next_look(&plan, now);
                return Ok((plan, next));
            };
            self.revert(&mut plan, &targets, now).await;
            plan.settle(now);
            match self.plans.save(&plan, revision).await {
                Ok(()) => {
                    let next = next_look(&plan, now);
                    return Ok((plan, next));
                }
                Err(Error::StaleRelease { .. }) if races < RACE_RETRIES => races += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Asks each claimed target's Region to start its release (by its fixed id: a start
    /// asked again finds the one it made).
    async fn start(&self, plan: &mut WavePlan, targets: &[usize], now: i64) {
        let calls = targets.iter().map(|&i| {
            let target = plan.targets[i].target.clone();
            let release_id = plan.release_id_for(i);
            let link = PlanLink::of(plan, i);
            let (strategy, alarms) = (plan.strategy.clone(), plan.alarms.clone());
            async move {
                let result = self
                    .regions
                    .start(&target, &release_id, &strategy, &alarms, &link)
                    .await;
                (i, result)
            }
        });
        for (i, result) in join_all(calls).await {
            match result {
                Ok(()) => plan.started(i, now),
                // Throttled, 5xx, unreachable: claimed still, started at the next look.
                Err(e) if e.is_retryable() => unreached(plan, i, &e),
                // Refused (the alias held, an alarm firing, no such version): the plan cannot
                // go on as planned, so it stops and brings back what moved.
                Err(e) => {
                    let why = format!("{}: start refused: {e}", plan.targets[i].target.place());
                    plan.stop(Some(i), &why, now);
                }
            }
        }
    }

    async fn look_at(&self, plan: &mut WavePlan, targets: &[usize], now: i64) {
        let calls =
            releases_of(plan, targets)
                .into_iter()
                .map(|(i, target, release_id)| async move {
                    (i, self.regions.look(&target, &release_id).await)
                });
        let mut not_started = Vec::new();
        for (i, result) in join_all(calls).await {
            match result {
                Ok(Seen::NotStarted) => not_started.push(i),
                Ok(seen) => plan.saw(i, seen, now),
                Err(e) => unreached(plan, i, &e),
            }
        }
        // Claimed, and its start never reached its Region (a crash, a Region that did not
        // answer): asked again, while the plan still goes on.
        if !not_started.is_empty() && !matches!(plan.phase, PlanPhase::Stopping { .. }) {
            Box::pin(self.start(plan, &not_started, now)).await;
        }
    }

    async fn revert(&self, plan: &mut WavePlan, targets: &[usize], now: i64) {
        let why = match plan.stop_cause() {
            Some(cause) => format!("plan {} stopped: {}", plan.id, cause.why),
            None => format!("plan {} stopped", plan.id),
        };
        let calls = releases_of(plan, targets)
            .into_iter()
            .map(|(i, target, release_id)| {
                let why = &why;
                async move { (i, self.regions.revert(&target, &release_id, why).await) }
            });
        for (i, result) in join_all(calls).await {
            match result {
                Ok(Reverted::Back) => plan.reverted(i),
                Ok(Reverted::MovedOn(now_on)) => plan.moved_on(i, &now_on),
                Ok(Reverted::NotStarted) => plan.not_started(i, now),
                Err(e) => unreached(plan, i, &e),
            }
        }
    }
}

/// Each target with its regional release's id.
fn releases_of(plan: &WavePlan, targets: &[usize]) -> Vec<(usize, Target, String)> {
    targets
        .iter()
        .map(|&i| {
            let t = &plan.targets[i];
            let release_id = t.state.release_id().unwrap_or_default().to_string();
            (i, t.target.clone(), release_id)
        })
        .collect()
}

/// A call to the target's Region failed: counted, and tried again at the next look.
fn unreached(plan: &mut WavePlan, index: usize, error: &Error) {
    let place = plan.targets[index].target.place();
    plan.unreachable(index, &format!("{place}: {error}"));
}

/// When to look again: None once the plan has ended.
fn next_look(plan: &WavePlan, now: i64) -> Option<i64> {
    (!plan.ended()).then(|| plan.next_look(now))
}
