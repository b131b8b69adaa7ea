//! An operator's override during a known spike: one guard of a release (an alarm, or its
//! canary analysis) stops reverting it for a bounded time, on the record, and starts again by
//! itself. Never every guard at once: something always watches a release.

use chrono::{DateTime, Duration, Utc};

use super::*;

/// The guard name that stands for the release's canary analysis (its verdicts and its own
/// analysis alarm).
pub const ANALYSIS_GUARD: &str = "analysis";
/// The longest one ignore lasts: a spike, not a policy. Ask again if it goes on.
pub const MAX_IGNORE_SECS: u64 = 4 * 3600;

impl Release {
    /// Until when `guard` is ignored at `now`, if it is.
    pub fn ignored_until(&self, guard: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.ignore_of(guard).filter(|until| now < *until)
    }

    /// The end of the latest ignore of `guard` on the record, expired or not: what the guard
    /// item carries for the alarm function, which compares it with the alarm's own time.
    pub fn ignore_of(&self, guard: &str) -> Option<DateTime<Utc>> {
        let guard = self.guard_key(guard);
        self.log.iter().rev().find_map(|e| match &e.event {
            ReleaseEvent::GuardIgnored {
                guard: g, until, ..
            } if *g == guard => Some(*until),
            _ => None,
        })
    }

    /// The ignores in force at `now`, newest first, one per guard: (guard, until, who, why).
    pub fn active_ignores(&self, now: DateTime<Utc>) -> Vec<(&str, DateTime<Utc>, &str, &str)> {
        let mut seen = Vec::new();
        self.log
            .iter()
            .rev()
            .filter_map(|e| match &e.event {
                ReleaseEvent::GuardIgnored {
                    guard,
                    until,
                    reason,
                } if !seen.contains(guard) => {
                    seen.push(guard.clone());
                    (now < *until).then_some((
                        guard.as_str(),
                        *until,
                        e.actor.as_str(),
                        reason.as_str(),
                    ))
                }
                _ => None,
            })
            .collect()
    }

    /// The guarding alarms whose ignore the log entries from `from` on record: what the
    /// alarm function's guard items must now carry.
    pub fn alarms_ignored_since(&self, from: usize) -> Vec<String> {
        let guarding = self.recorded_guards();
        let mut alarms: Vec<String> = self.log[from.min(self.log.len())..]
            .iter()
            .flat_map(|e| match &e.event {
                ReleaseEvent::GuardIgnored { guard, .. } if guard == ANALYSIS_GUARD => {
                    self.member_alarm_bases()
                }
                ReleaseEvent::GuardIgnored { guard, .. } => vec![guard.clone()],
                _ => Vec::new(),
            })
            .filter(|alarm| guarding.contains(alarm))
            .collect();
        alarms.sort();
        alarms.dedup();
        alarms
    }

    /// The guards that watch the release: its alarms, its own analysis alarm, and its
    /// analysis (which the analysis alarm belongs to).
    fn guards(&self) -> Vec<String> {
        let mut guards = self.alarms.clone();
        if self.analysis.enabled {
            guards.push(ANALYSIS_GUARD.to_string());
        }
        guards
    }

    /// The release's own analysis alarms are ignored as part of its analysis.
    fn guard_key(&self, guard: &str) -> String {
        if self.analysis_alarms().iter().any(|a| a == guard) {
            ANALYSIS_GUARD.to_string()
        } else {
            guard.to_string()
        }
    }

    pub(super) fn ignore(
        &mut self,
        guard: &str,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<Action, TransitionError> {
        let refuse = |why: String| TransitionError::IgnoreRefused {
            id: self.id.clone(),
            why,
        };
        let open = !self.phase.is_terminal() || self.guard_until().is_some_and(|u| now < u);
        if !open {
            return Err(refuse(format!(
                "it is {} and nothing guards it",
                self.phase.name()
            )));
        }
        let guards = self.guards();
        let guard = self.guard_key(guard);
        if !guards.contains(&guard) {
            return Err(refuse(format!(
                "{guard} does not guard it (its guards: {})",
                guards.join(", ")
            )));
        }
        let secs = (until - now).num_seconds();
        if secs <= 0 || secs as u64 > MAX_IGNORE_SECS {
            return Err(refuse(format!(
                "an ignore lasts from 1s to {}h, not {secs}s",
                MAX_IGNORE_SECS / 3600
            )));
        }
        if reason.trim().is_empty() {
            return Err(refuse(
                "say why (a reason is recorded and announced)".into(),
            ));
        }
        let still_watching = guards
            .iter()
            .any(|g| *g != guard && self.ignored_until(g, now).is_none());
        if !still_watching {
            return Err(refuse(format!(
                "{guard} is the last guard not ignored: every guard at once would leave the release unwatched"
            )));
        }
        let event = ReleaseEvent::GuardIgnored {
            guard,
            until,
            reason: reason.to_string(),
        };
        self.record(now, actor, event);
        Ok(Action::Nothing)
    }
}

/// `until` for an ignore of `secs` from `now`.
pub fn ignore_until(now: DateTime<Utc>, secs: u64) -> DateTime<Utc> {
    now + Duration::seconds(secs.min(i64::MAX as u64) as i64)
}

#[cfg(test)]
mod tests {
    use super::super::tests::spec;
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    /// Guarded by two alarms and its analysis, at its first step.
    fn running() -> Release {
        let mut spec = spec("linear:50:60s");
        spec.alarms = vec!["orders-errors".into(), "orders-latency".into()];
        let mut r = Release::new(spec, t(0)).unwrap();
        r.analysis_alarm = Some("shiftback-analysis-r-1".into());
        r.apply(Input::Begin, t(0), "wf").unwrap();
        r
    }

    fn ignore(guard: &str, secs: i64, reason: &str) -> Input {
        Input::Ignore {
            guard: guard.into(),
            until: t(10 + secs),
            reason: reason.into(),
        }
    }

    fn refusal(r: &mut Release, input: Input) -> String {
        let before = r.clone();
        let err = r.apply(input, t(10), "bob").unwrap_err().to_string();
        assert_eq!(*r, before, "a refusal changes nothing");
        err
    }

    #[test]
    fn an_ignore_is_recorded_and_ends_by_itself() {
        let mut r = running();
        r.apply(ignore("orders-errors", 600, "known spike"), t(10), "bob")
            .unwrap();
        assert_eq!(r.ignored_until("orders-errors", t(20)), Some(t(610)));
        assert_eq!(
            r.ignored_until("orders-errors", t(610)),
            None,
            "over by itself"
        );
        assert_eq!(r.ignored_until("orders-latency", t(20)), None);
        assert_eq!(r.ignore_of("orders-errors"), Some(t(610)));
        assert_eq!(
            r.active_ignores(t(20)),
            [("orders-errors", t(610), "bob", "known spike")]
        );
        assert!(r.active_ignores(t(700)).is_empty());
        assert_eq!(r.alarms_ignored_since(r.log.len() - 1), ["orders-errors"]);
        // The analysis covers its own alarm.
        r.apply(ignore(ANALYSIS_GUARD, 60, "cold caches"), t(10), "bob")
            .unwrap();
        assert_eq!(
            r.ignored_until("shiftback-analysis-r-1", t(20)),
            Some(t(70))
        );
        assert_eq!(
            r.alarms_ignored_since(r.log.len() - 1),
            ["shiftback-analysis-r-1"]
        );
    }

    #[test]
    fn an_ignore_is_refused_for_what_does_not_guard_too_long_unexplained_or_the_last_guard() {
        let mut r = running();
        let err = refusal(&mut r, ignore("payments-errors", 60, "x"));
        assert!(err.contains("payments-errors does not guard it (its guards: orders-errors, orders-latency, analysis)"), "{err}");
        let err = refusal(&mut r, ignore("orders-errors", 5 * 3600, "x"));
        assert!(err.contains("from 1s to 4h"), "{err}");
        let err = refusal(&mut r, ignore("orders-errors", 0, "x"));
        assert!(err.contains("not 0s"), "{err}");
        let err = refusal(&mut r, ignore("orders-errors", 60, "  "));
        assert!(err.contains("say why"), "{err}");
        r.apply(ignore("orders-errors", 600, "spike"), t(10), "bob")
            .unwrap();
        r.apply(ignore(ANALYSIS_GUARD, 600, "spike"), t(10), "bob")
            .unwrap();
        let err = refusal(&mut r, ignore("orders-latency", 60, "spike"));
        assert!(
            err.contains("orders-latency is the last guard not ignored"),
            "{err}"
        );
        // Renewing an ignore already in force is not silencing another guard.
        r.apply(ignore("orders-errors", 1200, "still spiking"), t(10), "bob")
            .unwrap();
        assert_eq!(r.ignored_until("orders-errors", t(700)), Some(t(1210)));
    }

    #[test]
    fn a_finished_release_has_nothing_to_ignore_unless_in_its_bake_window() {
        let mut r = running();
        r.apply(Input::Promote, t(5), "bob").unwrap();
        r.apply(Input::Promoted, t(6), "wf").unwrap();
        // spec(): a 600 s bake window.
        r.apply(ignore("orders-errors", 60, "spike"), t(10), "bob")
            .unwrap();
        r.bake_after_secs = 0;
        let err = refusal(&mut r, ignore("orders-latency", 60, "spike"));
        assert!(
            err.contains("it is succeeded and nothing guards it"),
            "{err}"
        );
    }
}
