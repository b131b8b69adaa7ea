//! A wave plan's state, and every decision the coordinator makes from it: which targets to
//! start, which to look at, when a wave has baked, and, on a stop, which to bring back. Pure:
//! the coordinator feeds in what it saw in each Region and carries out what this returns.

use serde::{Deserialize, Serialize};

use super::spec::{Target, LOOK_INTERVAL_SECS};

/// A target is given up as unreachable (the plan then waits for a person) after this many
/// failed attempts in a row, about [`LOOK_INTERVAL_SECS`] apart: five minutes of a Region's
/// control plane not answering or throttling every call.
pub const MAX_ATTEMPTS: u32 = 10;

/// How long after a target is claimed for its start that its Region may still begin its
/// release: the coordinator's invocation that claimed it (180 s at most), then the start
/// function its workflow may still be running (90 s). A stop finds a claimed target with
/// neither a record nor a running execution: before this, it waits (a start may be in
/// flight); after it, the target never moved.
pub const START_SETTLE_SECS: i64 = 300;

/// Where one target stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TargetState {
    /// Its wave has not started.
    Waiting,
    /// Claimed for its start (saved before the Region is asked), then its regional release
    /// runs. `since`: when it was claimed.
    Releasing {
        release_id: String,
        #[serde(default)]
        since: i64,
    },
    /// Its regional release promoted the version.
    Promoted { release_id: String, at: i64 },
    /// Back on its stable version: by its own rollback (the plan's cause) or by the plan's stop.
    Reverted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        release_id: Option<String>,
        why: String,
    },
    /// Never moved: the plan stopped before its wave started.
    Skipped,
}

impl TargetState {
    pub fn release_id(&self) -> Option<&str> {
        match self {
            TargetState::Releasing { release_id, .. }
            | TargetState::Promoted { release_id, .. } => Some(release_id),
            TargetState::Reverted { release_id, .. } => release_id.as_deref(),
            TargetState::Waiting | TargetState::Skipped => None,
        }
    }

    /// Whether the target's alias may route to the new version now.
    pub fn moved(&self) -> bool {
        matches!(
            self,
            TargetState::Releasing { .. } | TargetState::Promoted { .. }
        )
    }
}

/// One target of the plan: its wave, its state, and the failed attempts to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTarget {
    pub target: Target,
    /// 0-based.
    pub wave: usize,
    pub state: TargetState,
    /// Failed attempts in a row to reach its Region (reset by an answer).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When its Region last answered a look about it: a bake ends only once every moved
    /// target has answered since the bake's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}

/// What stopped a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopCause {
    /// The target whose release rolled back, or None for an operator's abort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<usize>,
    pub why: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
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

/// What the coordinator saw of one target's regional release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Claimed, and its Region has neither its record nor its workflow: to be started.
    NotStarted,
    Running,
    Promoted {
        at: i64,
    },
    /// It rolled back (alarm, analysis, hook, abort), or failed, and its alias is on its
    /// stable version.
    RolledBack {
        why: String,
    },
    /// It ended without promoting and without bringing its alias back (its rollback failed):
    /// the plan stops, and the target stays moved until the plan's revert brings it back.
    Stuck {
        why: String,
    },
}

/// What a revert of a target found in its Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reverted {
    /// Its alias is on its stable version, on the record.
    Back,
    /// Its Region has neither its record nor a running workflow: it never started, unless a
    /// start is still in flight ([`START_SETTLE_SECS`]).
    NotStarted,
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
                    let promoted: Option<Vec<i64>> = self
                        .in_wave(wave)
                        .map(|(_, t)| match t.state {
                            TargetState::Promoted { at, .. } => Some(at),
                            _ => None,
                        })
                        .collect();
                    let Some(promoted) = promoted else { return };
                    self.phase = if wave + 1 == self.waves {
                        PlanPhase::Completed { at: now }
                    } else {
                        let last = promoted.into_iter().max().unwrap_or(now);
                        PlanPhase::Baking {
                            wave,
                            until: last + self.wave_bake_secs as i64,
                        }
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

    /// When the coordinator looks next.
    pub fn next_look(&self, now: i64) -> i64 {
        match self.phase {
            PlanPhase::Baking { until, .. } => until.min(now + LOOK_INTERVAL_SECS as i64),
            _ => now + LOOK_INTERVAL_SECS as i64,
        }
    }
}
