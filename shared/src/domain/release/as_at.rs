//! The release as its log stood at one entry: what that entry's notification describes,
//! however late it goes out (a publish retried after the release moved on, an outbox that
//! catches up after an outage). A step announced after the rollback still says "step 2, 10%",
//! not "0%" with the rollback's reason.

use super::*;

impl ReleaseEvent {
    /// Whether this entry is an outcome of the release.
    pub fn ends_release(&self) -> bool {
        matches!(
            self,
            ReleaseEvent::Promoted
                | ReleaseEvent::RolledBack { .. }
                | ReleaseEvent::Failed { .. }
                | ReleaseEvent::LockBroken { .. }
                | ReleaseEvent::ManualRollback { .. }
                | ReleaseEvent::Interrupted { .. }
                | ReleaseEvent::Refused { .. }
        )
    }
}

impl Release {
    /// The release with its log up to entry `index`, its weight as that entry left it, and,
    /// when its outcome came later, neither that outcome nor its reason.
    pub fn as_at(&self, index: usize) -> Release {
        let upto = (index + 1).min(self.log.len());
        let mut at = self.clone();
        at.log.truncate(upto);
        let mut step = 0;
        let mut weight = Weight::ZERO;
        for entry in &at.log {
            match &entry.event {
                ReleaseEvent::WeightSet {
                    step: s, weight: w, ..
                } => (step, weight) = (*s, *w),
                ReleaseEvent::Promoted => weight = Weight::FULL,
                ReleaseEvent::RolledBack { .. } | ReleaseEvent::ManualRollback { .. } => {
                    weight = Weight::ZERO
                }
                _ => {}
            }
        }
        at.weight = weight;
        if self.log[upto..].iter().any(|e| e.event.ends_release()) {
            let promoted = at
                .log
                .iter()
                .any(|e| matches!(e.event, ReleaseEvent::Promoted));
            at.phase = if promoted {
                Phase::Succeeded
            } else {
                Phase::Shifting { step }
            };
            at.reason = None;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::release::tests::spec;

    #[test]
    fn an_entry_is_seen_as_the_log_stood_then_not_as_the_release_ended() {
        let t0 = chrono::Utc::now();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let mut r = Release::new(spec("steps:10@1m,50@1m"), t0).unwrap();
        r.apply(Input::Begin, at(1), "wf").unwrap();
        let step = r.log.len() - 1;
        r.apply(
            Input::Abort {
                reason: "bad build".into(),
            },
            at(2),
            "bob",
        )
        .unwrap();
        r.apply(Input::RolledBack, at(3), "wf").unwrap();
        assert!(r.phase.is_terminal() && r.weight == Weight::ZERO);

        let then = r.as_at(step);
        assert!(matches!(
            then.log[step].event,
            ReleaseEvent::WeightSet { .. }
        ));
        assert_eq!(then.weight.to_string(), "10%");
        assert_eq!(then.phase, Phase::Shifting { step: 0 });
        assert_eq!(then.reason, None, "the rollback's reason came later");
        // The outcome itself is seen as it ended.
        let last = r.log.len() - 1;
        let ended = r.as_at(last);
        assert_eq!((ended.phase, ended.weight), (r.phase, Weight::ZERO));
        assert_eq!(ended.reason, r.reason);
    }
}
