//! An open release: one running, or in its bake window. What `shiftback list` shows on call,
//! and the store's index of them keeps.

use chrono::{DateTime, Duration, Utc};

use super::*;

/// "Open until" for a running release: it has no end time yet.
const NO_END: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z

impl Release {
    /// Until when the release is open: running (no end), or succeeded with a bake window (its
    /// end); None once it is closed for good.
    pub fn open_until(&self) -> Option<DateTime<Utc>> {
        if !self.phase.is_terminal() {
            return DateTime::from_timestamp(NO_END, 0);
        }
        (self.phase == Phase::Succeeded && self.bake_after_secs > 0)
            .then(|| self.guard_until())
            .flatten()
    }

    /// What an open release is waiting on, and since when: for people on call.
    pub fn waiting_on(&self, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let since = self.step_started_at.unwrap_or(self.updated_at);
        if let Some((phase, hook)) = self.hook_due() {
            let deadline = self.hook_deadline(phase, now);
            return (
                format!(
                    "its {phase} hook {hook} (deadline {})",
                    deadline.format("%H:%M:%S UTC")
                ),
                self.updated_at,
            );
        }
        match self.phase {
            Phase::Pending => ("its first step".into(), self.created_at),
            Phase::Shifting { step } => {
                let steps = self.schedule.steps.len();
                let what = match self.bake_remaining(now) {
                    Some(left) => format!("step {}/{steps} bake, {}s left", step + 1, left),
                    None => format!("step {}/{steps}: its health check", step + 1),
                };
                (what, since)
            }
            Phase::Paused { step } => {
                // The newest stop says why: a person's pause, or a hold for a person.
                let stop = self.log.iter().rev().find_map(|e| match &e.event {
                    ReleaseEvent::Held { reason } => Some((Some(reason), e.at)),
                    ReleaseEvent::Paused => Some((None, e.at)),
                    _ => None,
                });
                let step = step + 1;
                match stop {
                    Some((Some(reason), at)) => {
                        (format!("a person (held at step {step}: {reason})"), at)
                    }
                    Some((None, at)) => (format!("resume (paused at step {step})"), at),
                    None => (format!("resume (paused at step {step})"), since),
                }
            }
            Phase::AtGate { step } => {
                let reached = self.updated_at;
                let until = now + Duration::seconds(self.gate_remaining(now) as i64);
                (
                    format!(
                        "approval after step {} (shiftback approve {}), until {}",
                        step + 1,
                        self.id,
                        until.format("%Y-%m-%d %H:%M UTC")
                    ),
                    reached,
                )
            }
            Phase::Promoting => ("promotion".into(), self.updated_at),
            Phase::RollingBack { .. } => ("rollback".into(), self.updated_at),
            _ => {
                let finished = self.finished_at.unwrap_or(self.updated_at);
                let until = finished + Duration::seconds(self.bake_after_secs as i64);
                (
                    format!("bake window, until {}", until.format("%H:%M:%S UTC")),
                    finished,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::spec;
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_release_is_open_while_it_runs_and_through_its_bake_window_only() {
        let mut release = Release::new(spec("linear:50:60s"), t(0)).unwrap();
        assert!(release.open_until().unwrap() > t(10_000_000));
        release.apply(Input::Begin, t(0), "wf").unwrap();
        assert_eq!(
            release.waiting_on(t(20)),
            ("step 1/1 bake, 40s left".to_string(), t(0))
        );
        release.apply(Input::Pause, t(30), "alice").unwrap();
        assert_eq!(
            release.waiting_on(t(40)),
            ("resume (paused at step 1)".to_string(), t(30))
        );
        release.apply(Input::Promote, t(50), "alice").unwrap();
        release.apply(Input::Promoted, t(60), "wf").unwrap();
        // spec(): a 600 s bake window after success.
        assert_eq!(release.open_until(), Some(t(660)));
        assert_eq!(
            release.waiting_on(t(100)).0,
            "bake window, until 08:11:00 UTC"
        );
        release.bake_after_secs = 0;
        assert_eq!(release.open_until(), None, "no window: closed at success");
        let mut aborted = Release::new(spec("linear:50:60s"), t(0)).unwrap();
        aborted.apply(Input::Begin, t(0), "wf").unwrap();
        aborted
            .apply(
                Input::Abort {
                    reason: "no".into(),
                },
                t(5),
                "bob",
            )
            .unwrap();
        assert!(aborted.open_until().is_some(), "rolling back is still open");
        aborted.apply(Input::RolledBack, t(6), "wf").unwrap();
        assert_eq!(aborted.open_until(), None);
    }

    #[test]
    fn a_release_waiting_on_its_hook_says_which_until_when_and_closes_when_refused() {
        let mut spec = spec("linear:50:60s");
        spec.hooks.pre_traffic = Some("orders-smoke".into());
        let mut release = Release::new(spec, t(0)).unwrap();
        release.apply(Input::Begin, t(0), "wf").unwrap();
        assert_eq!(
            release.waiting_on(t(20)).0,
            "its pre-traffic hook orders-smoke (deadline 08:15:20 UTC)"
        );
        let failed = Input::HookAnswered {
            phase: HookPhase::PreTraffic,
            hook: "orders-smoke".into(),
            verdict: HookVerdict::Failed {
                reason: "no".into(),
            },
        };
        release.apply(failed, t(30), "wf").unwrap();
        assert_eq!(release.open_until(), None, "refused: closed at once");
    }
}
