//! shiftback's own metrics: what each newly recorded log entry counts for. Published from the
//! handlers' logs (embedded metric format, no extra call); which entries are new is the store's
//! to say, so each entry counts once however often a step is retried.

use super::release::{Release, ReleaseEvent};

/// One value of one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
}

fn count(name: &'static str) -> MetricPoint {
    MetricPoint {
        name,
        value: 1.0,
        unit: "Count",
    }
}

/// The metrics of `release`'s log entries from index `from` on: each entry's count, as the
/// release's description of it says ([`Release::describe`]), and an alarm's time to revert.
pub fn metrics_of(release: &Release, from: usize) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for (index, entry) in release.log.iter().enumerate().skip(from) {
        let Some(described) = release.describe(index) else {
            continue;
        };
        points.extend(described.metric.map(count));
        if described.kind == "rolled_back" && matches!(entry.event, ReleaseEvent::RolledBack { .. })
        {
            // An alarm's revert is recorded from the moment the alarm changed state (its
            // rollback's start) to the moment the alias was reverted (its end).
            let started = release.log[..index]
                .iter()
                .rev()
                .find(|e| matches!(e.event, ReleaseEvent::RollbackStarted { .. }));
            if let Some(started) = started.filter(|e| e.actor.starts_with("alarm:")) {
                let millis = (entry.at - started.at).num_milliseconds().max(0);
                points.push(MetricPoint {
                    name: "AlarmToRevert",
                    value: millis as f64,
                    unit: "Milliseconds",
                });
            }
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration};

    use super::*;
    use crate::domain::release::tests::spec;
    use crate::domain::Input;

    #[test]
    fn each_entry_counts_once_from_where_the_store_left_off() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut r = Release::new(spec("linear:50:1m"), t0).unwrap();
        r.apply(Input::Begin, t0, "wf").unwrap();
        let names =
            |points: Vec<MetricPoint>| -> Vec<&str> { points.iter().map(|p| p.name).collect() };
        assert_eq!(names(metrics_of(&r, 0)), ["ReleasesStarted"]);
        let stored = r.log.len();
        // The alarm changed state 100 ms before the responder applied it; reverted 250 ms on.
        let changed = t0 + Duration::seconds(30);
        let alarm = Input::Alarm {
            alarm: "orders-errors".into(),
            reason: "Threshold Crossed".into(),
        };
        r.apply(alarm, changed, "alarm:orders-errors").unwrap();
        r.apply(
            Input::RolledBack,
            changed + Duration::milliseconds(250),
            "alarm:orders-errors",
        )
        .unwrap();
        let points = metrics_of(&r, stored);
        assert_eq!(
            names(points.clone()),
            ["ReleasesRolledBack", "AlarmToRevert"]
        );
        assert_eq!((points[1].value, points[1].unit), (250.0, "Milliseconds"));
        assert!(
            metrics_of(&r, r.log.len()).is_empty(),
            "nothing new, nothing counted"
        );
    }

    #[test]
    fn a_rollback_the_workflow_decided_has_no_alarm_latency() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut r = Release::new(spec("linear:50:1m"), t0).unwrap();
        r.apply(Input::Begin, t0, "wf").unwrap();
        r.apply(Input::Abort { reason: "x".into() }, t0, "alice")
            .unwrap();
        r.apply(Input::RolledBack, t0 + Duration::seconds(1), "wf")
            .unwrap();
        let names: Vec<&str> = metrics_of(&r, 0).iter().map(|p| p.name).collect();
        assert_eq!(names, ["ReleasesStarted", "ReleasesAborted"]);
    }
}
