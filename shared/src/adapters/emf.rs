//! shiftback's own metrics in CloudWatch's embedded metric format: one JSON line on the
//! handler's standard output per metric, which CloudWatch Logs turns into a metric in the
//! `Shiftback` namespace (per function, and in total). No API call, no added latency.

use serde_json::{json, Value};

use crate::domain::metrics::{metrics_of, MetricPoint};
use crate::domain::Release;

pub const NAMESPACE: &str = "Shiftback";

/// The EMF document of one point for `function`, at `at_ms` (epoch milliseconds).
pub fn document(function: &str, at_ms: i64, point: &MetricPoint) -> Value {
    json!({
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[], ["Function"]],
                "Metrics": [{"Name": point.name, "Unit": point.unit}],
            }],
        },
        "Function": function,
        point.name: point.value,
    })
}

/// Publishes the metrics of `release`'s log entries from index `from` on (those just stored).
pub fn publish(release: &Release, from: usize) {
    let at_ms = chrono::Utc::now().timestamp_millis();
    for point in metrics_of(release, from) {
        println!("{}", document(&release.function, at_ms, &point));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_a_valid_embedded_metric_document() {
        let point = MetricPoint {
            name: "AlarmToRevert",
            value: 250.0,
            unit: "Milliseconds",
        };
        let doc = document("orders", 1_800_000_000_000, &point);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_800_000_000_000i64);
        assert_eq!(directive["Namespace"], "Shiftback");
        assert_eq!(directive["Metrics"][0]["Name"], "AlarmToRevert");
        assert_eq!(directive["Metrics"][0]["Unit"], "Milliseconds");
        // Every dimension named in a set is a top-level member; so is each metric's value.
        for set in directive["Dimensions"].as_array().unwrap() {
            for dimension in set.as_array().unwrap() {
                assert!(doc[dimension.as_str().unwrap()].is_string(), "{dimension}");
            }
        }
        assert_eq!(doc["AlarmToRevert"], 250.0);
    }
}
