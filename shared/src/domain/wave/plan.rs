//! A wave plan's state, and every decision the coordinator makes from it: which targets to
//! start, which to look at, when a wave has baked, and, on a stop, which to bring back. Pure:
//! the coordinator feeds in what it saw in each Region and carries out what this returns.

use serde::{Deserialize, Serialize};

use super::spec::{Target, LOOK_INTERVAL_SECS};
use super::target::{PlanTarget, Seen, TargetState, MAX_ATTEMPTS, START_SETTLE_SECS};

/// What stopped a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopCause {
    /// The target whose release rolled back, or None for an operator's abort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<usize>,
    pub why: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "phase", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PlanPhase {
    /// A wave's releases run.
    Releasing { wave: usize },
    /// Every target of the wave promoted; the next starts at `until`.
    Baking { wave: usize, until: i64 },
    /// Every wave promoted and baked.
    Completed { at: i64 },
    /// A rollback somewhere: every moved target is being brought back.
    Stopping { cause: StopCause },
    /// Every moved target is back on its stable version.
    Stopped { cause: StopCause, at: i64 },
}

impl PlanPhase {
    /// The phase's name as records and people spell it (`baking`).
    pub fn name(&self) -> &'static str {
        self.into()
    }
}

/// What the coordinator does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanAction {
    /// Start these targets' regional releases (their wave begins).
    Start(Vec<usize>),
    /// Look at these targets' releases, then look again after the interval.
    Look(Vec<usize>),
    /// Bring these targets back to their stable versions.
    Revert(Vec<usize>),
    /// Nothing to do until then (a bake).
    WaitUntil(i64),
    /// The plan has ended.
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WavePlan {
    pub id: String,
    /// The Region whose shiftback stack coordinates the plan.
    pub home_region: String,
    pub targets: Vec<PlanTarget>,
    pub waves: usize,
    pub wave_bake_secs: u64,
    pub strategy: String,
    /// Alarm names, looked up in each target's Region.
    #[serde(default)]
    pub alarms: Vec<String>,
    pub phase: PlanPhase,
    pub started_at: i64,
    pub started_by: String,
    /// The coordinator function's ARN (the home stack's `WavesFunctionArn`): a regional
    /// release's rollback tells it at once. None: the plan's looks alone find rollbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinator: Option<String>,
    /// The custom resource that started it (`<stack id>/<logical id>`), if a stack did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The stack waiting for its end (`Wait: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_to: Option<Box<crate::domain::StackWaiting>>,
}

impl WavePlan {
    pub fn new(
        id: &str,
        home_region: &str,
        waves: Vec<Vec<Target>>,
        wave_bake_secs: u64,
        strategy: &str,
        now: i64,
        started_by: &str,
    ) -> WavePlan {
        let count = waves.len();
        let targets = waves
            .into_iter()
            .enumerate()
            .flat_map(|(wave, targets)| {
                targets.into_iter().map(move |target| PlanTarget {
                    target,
                    wave,
                    state: TargetState::Waiting,
                    attempts: 0,
                    last_error: None,
                    last_seen: None,
                })
            })
            .collect();
        WavePlan {
            id: id.into(),
            home_region: home_region.into(),
            targets,
            waves: count,
            wave_bake_secs,
            strategy: strategy.into(),
            alarms: Vec::new(),
            phase: PlanPhase::Releasing { wave: 0 },
            started_at: now,
            started_by: started_by.into(),
            coordinator: None,
            resource: None,
            answer_to: None,
        }
    }

    /// The regional release id a target's release takes: the same on every retry, so a start
    /// repeated after a crash finds the release it made (the regional lock and the execution
    /// name refuse a second).
    pub fn release_id_for(&self, index: usize) -> String {
        let t = &self.targets[index];
        format!("{}-w{}-{}", self.id, t.wave + 1, index + 1)
    }

    /// The target whose regional release `release_id` is (what a Region's rollback names
    /// when it stops the plan).
    pub fn target_of(&self, release_id: &str) -> Option<usize> {
        (0..self.targets.len()).find(|&i| {
            self.targets[i].state.release_id() == Some(release_id)
                || self.release_id_for(i) == release_id
        })
    }

    fn in_wave(&self, wave: usize) -> impl Iterator<Item = (usize, &PlanTarget)> {
        self.targets
            .iter()
            .enumerate()
            .filter(move |(_, t)| t.wave == wave)
    }

    fn moved(&self) -> Vec<usize> {
        (0..self.targets.len())
            .filter(|&i| self.targets[i].state.moved())
            .collect()
    }

    /// The phase as people read it: `releasing (wave 2 of 3)`, `stopped`.
    pub fn phase_line(&self) -> String {
        match self.phase {
            PlanPhase::Releasing { wave } | PlanPhase::Baking { wave, .. } => {
                format!(
                    "{} (wave {} of {})",
                    self.phase.name(),
                    wave + 1,
                    self.waves
                )
            }
            _ => self.phase.name().to_string(),
        }
    }

    /// What stopped the plan, once it is stopping or stopped.
    pub fn stop_cause(&self) -> Option<&StopCause> {
        match &self.phase {
            PlanPhase::Stopping { cause } | PlanPhase::Stopped { cause, .. } => Some(cause),
            _ => None,
        }
    }

    pub fn ended(&self) -> bool {
        matches!(
            self.phase,
            PlanPhase::Completed { .. } | PlanPhase::Stopped { .. }
        )
    }

    /// Targets that could not be reached [`MAX_ATTEMPTS`] times in a row. They are still tried
    /// at every look, and the plan never advances past their wave: it holds, and says so,
    /// until their Region answers or a person stops the plan.
    pub fn needs_person(&self) -> Vec<usize> {
        (0..self.targets.len())
            .filter(|&i| self.targets[i].attempts >= MAX_ATTEMPTS)
            .collect()
    }

    /// What to do now: the phase brought up to date ([`WavePlan::settle`]), then its action.
    pub fn next(&mut self, now: i64) -> PlanAction {
        self.settle(now);
        self.action()
    }

    /// Moves the phase on as far as what is known allows: a wave all promoted starts its bake
    /// (counted from its last promotion, however late the look) or completes the plan; a bake
    /// passed starts the next wave; a stop with every target back is stopped.
    pub fn settle(&mut self, now: i64) {
        loop {
            match self.phase.clone() {
                PlanPhase::Stopping { cause } if self.moved().is_empty() => {
                    self.phase = PlanPhase::Stopped { cause, at: now };
                }
                PlanPhase::Releasing { wave } => {
                    // Done when every target promoted, or was on the version already.
                    let promoted: Option<Vec<Option<i64>>> = self
                        .in_wave(wave)
                        .map(|(_, t)| match t.state {
                            TargetState::Promoted { at, .. } => Some(Some(at)),
                            TargetState::AlreadyOn => Some(None),
                            _ => None,
                        })
                        .collect();
                    let Some(promoted) = promoted else { return };
                    // A wave that moved nothing has nothing to bake.
                    let last = promoted.into_iter().flatten().max();
                    self.phase = match (wave + 1 == self.waves, last) {
                        (true, _) => PlanPhase::Completed { at: now },
                        (false, None) => PlanPhase::Releasing { wave: wave + 1 },
                        (false, Some(last)) => PlanPhase::Baking {
                            wave,
                            until: last + self.wave_bake_secs as i64,
                        },
                    };
                }
                // Over only once every moved target has answered since the bake's end: a
                // Region gone dark in the bake holds the plan, as one in a wave does.
                PlanPhase::Baking { wave, until }
                    if now >= until
                        && self
                            .moved()
                            .iter()
                            .all(|&i| self.targets[i].last_seen.is_some_and(|at| at >= until)) =>
                {
                    self.phase = PlanPhase::Releasing { wave: wave + 1 };
                }
                _ => return,
            }
        }
    }

    /// The action the phase, as it stands, asks for.
    pub fn action(&self) -> PlanAction {
        match &self.phase {
            PlanPhase::Completed { .. } | PlanPhase::Stopped { .. } => PlanAction::Done,
            PlanPhase::Stopping { .. } => PlanAction::Revert(self.moved()),
            PlanPhase::Releasing { wave } => {
                let waiting: Vec<usize> = self
                    .in_wave(*wave)
                    .filter(|(_, t)| t.state == TargetState::Waiting)
                    .map(|(i, _)| i)
                    .collect();
                if waiting.is_empty() {
                    PlanAction::Look(self.moved())
                } else {
                    PlanAction::Start(waiting)
                }
            }
            // Every moved target is watched through the bake: a late regional rollback stops
            // the plan as surely as one during the wave.
            PlanPhase::Baking { until, .. } => match self.moved() {
                moved if moved.is_empty() => PlanAction::WaitUntil(*until),
                moved => PlanAction::Look(moved),
            },
        }
    }

    /// A target is claimed for its start as `release_id`, saved before its Region is asked:
    /// a stop from then on brings it back (or waits to see that it never started).
    pub fn claim(&mut self, index: usize, release_id: &str, now: i64) {
        let t = &mut self.targets[index];
        if t.state == TargetState::Waiting {
            t.state = TargetState::Releasing {
                release_id: release_id.into(),
                since: now,
            };
        }
    }

    /// A target whose alias was on the version before the plan began.
    pub fn already_on(&mut self, index: usize) {
        let t = &mut self.targets[index];
        if t.state == TargetState::Waiting {
            t.state = TargetState::AlreadyOn;
        }
    }

    /// A target's regional release was started (or found started).
    pub fn started(&mut self, index: usize, now: i64) {
        let t = &mut self.targets[index];
        t.attempts = 0;
        t.last_error = None;
        t.last_seen = Some(now);
    }

    /// What a look saw. A rollback anywhere stops the plan (once: a second or late one is
    /// recorded on its target, and changes nothing else).
    pub fn saw(&mut self, index: usize, seen: Seen, now: i64) {
        let t = &mut self.targets[index];
        t.attempts = 0;
        t.last_error = None;
        t.last_seen = Some(now);
        let release_id = t.state.release_id().map(str::to_string);
        match (seen, &t.state) {
            (Seen::Stuck { why }, state) if state.moved() => {
                // Not back: the plan's stop brings it back, under its cause.
                let why = format!("{}: {why}", t.target.place());
                t.last_error = Some(why.clone());
                if self.stop(None, &why, now) {
                    if let PlanPhase::Stopping { cause } = &mut self.phase {
                        cause.target = Some(index);
                    }
                }
            }
            (Seen::Promoted { at }, TargetState::Releasing { release_id, .. }) => {
                t.state = TargetState::Promoted {
                    release_id: release_id.clone(),
                    at,
                };
            }
            (Seen::RolledBack { why }, state) if state.moved() => {
                t.state = TargetState::Reverted {
                    release_id,
                    why: why.clone(),
                };
                let place = t.target.place();
                self.stop(Some(index), &format!("{place}: {why}"), now);
            }
            _ => {}
        }
    }

    /// A target was brought back to its stable version by the plan's stop.
    pub fn reverted(&mut self, index: usize) {
        let why = match self.stop_cause() {
            Some(cause) => format!("stopped with the plan: {}", cause.why),
            None => "stopped with the plan".into(),
        };
        self.no_longer_moved(index, why);
    }

    /// A promoted target whose alias has moved on since the plan moved it: left there.
    pub fn moved_on(&mut self, index: usize, now_on: &str) {
        let why = format!("left as it is: the alias moved on since ({now_on})");
        self.no_longer_moved(index, why);
    }

    /// The plan's stop is done with a target its Region answered for: `why`, on its record.
    fn no_longer_moved(&mut self, index: usize, why: String) {
        let t = &mut self.targets[index];
        t.attempts = 0;
        t.last_error = None;
        if t.state.moved() {
            t.state = TargetState::Reverted {
                release_id: t.state.release_id().map(str::to_string),
                why,
            };
        }
    }

    /// A revert found the target never started. Once no start can still be in flight, it
    /// never moved: skipped. Before that, it stays claimed and is looked at again.
    pub fn not_started(&mut self, index: usize, now: i64) {
        let t = &mut self.targets[index];
        if let TargetState::Releasing { since, .. } = t.state {
            if now >= since + START_SETTLE_SECS {
                t.state = TargetState::Skipped;
                t.attempts = 0;
                t.last_error = None;
            }
        }
    }

    /// A call to a target's Region failed (unreachable, throttled, refused).
    pub fn unreachable(&mut self, index: usize, error: &str) {
        let t = &mut self.targets[index];
        t.attempts += 1;
        t.last_error = Some(error.into());
    }

    /// Stops the plan: every moved target is to be brought back, every waiting one skipped.
    /// Returns false if it had already stopped (or ended): the first cause stands.
    pub fn stop(&mut self, target: Option<usize>, why: &str, now: i64) -> bool {
        // The target whose own rollback stops the plan is back already: its Region reverted
        // it. Recorded with its own why even when another cause stopped the plan first.
        if let Some(t) = target.and_then(|i| self.targets.get_mut(i)) {
            if t.state.moved() {
                t.state = TargetState::Reverted {
                    release_id: t.state.release_id().map(str::to_string),
                    why: why.into(),
                };
            }
        }
        if matches!(
            self.phase,
            PlanPhase::Stopping { .. } | PlanPhase::Stopped { .. } | PlanPhase::Completed { .. }
        ) {
            return false;
        }
        for t in &mut self.targets {
            if t.state == TargetState::Waiting {
                t.state = TargetState::Skipped;
            }
        }
        self.phase = PlanPhase::Stopping {
            cause: StopCause {
                target,
                why: why.into(),
                at: now,
            },
        };
        true
    }

    /// A completed plan's stack rolls back from it: every target it moved is to be brought
    /// back, as a stop does. Returns false for a plan that has not completed (a running one is
    /// stopped instead; a stopped one is back already).
    pub fn recall(&mut self, why: &str, now: i64) -> bool {
        if !matches!(self.phase, PlanPhase::Completed { .. }) {
            return false;
        }
        // The stack that waited was answered when the plan completed.
        self.answer_to = None;
        self.phase = PlanPhase::Stopping {
            cause: StopCause {
                target: None,
                why: why.into(),
                at: now,
            },
        };
        true
    }

    /// When the coordinator looks next.
    pub fn next_look(&self, now: i64) -> i64 {
        match self.phase {
            PlanPhase::Baking { until, .. } => until.min(now + LOOK_INTERVAL_SECS as i64),
            _ => now + LOOK_INTERVAL_SECS as i64,
        }
    }
}
