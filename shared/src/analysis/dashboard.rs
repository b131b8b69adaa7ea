//! An alias's CloudWatch dashboard: each version's invocations, error rate and p99 duration
//! through the alias (Lambda's `ExecutedVersion` metrics), with every release's steps and
//! outcome as annotations. The body is built here, in one function, and put by the adapter.

use serde_json::{json, Value};

use crate::domain::{Release, ReleaseEvent};

/// CloudWatch's dashboard grid is 24 columns wide.
const GRID_COLUMNS: u64 = 24;
/// The versions shown: the newest releases' stable and target versions, at most this many.
const MAX_VERSIONS: usize = 4;
/// Annotations kept (the newest): a dashboard with hundreds is unreadable.
const MAX_ANNOTATIONS: usize = 50;

/// The dashboard of `function:alias`. Dashboard names allow letters, digits, `-` and `_`,
/// which is all a function or alias name may hold.
pub fn dashboard_name(function: &str, alias: &str) -> String {
    format!("shiftback-{function}-{alias}")
}

/// The versions the releases (newest first) moved between, newest first, without repeats.
fn versions(releases: &[Release]) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for release in releases {
        for version in [&release.target_version, &release.stable_version] {
            if !versions.contains(version) && versions.len() < MAX_VERSIONS {
                versions.push(version.clone());
            }
        }
    }
    versions
}

/// Each release's steps and ending, as vertical annotations.
fn annotations(releases: &[Release]) -> Vec<Value> {
    let mut marks: Vec<(String, String)> = Vec::new();
    for release in releases {
        for (index, entry) in release.log.iter().enumerate() {
            if !release.describe(index).is_some_and(|d| d.marked) {
                continue;
            }
            let label = match &entry.event {
                ReleaseEvent::WeightSet { weight, .. } => {
                    format!("{}: {weight} on v{}", release.id, release.target_version)
                }
                ReleaseEvent::Promoted => {
                    format!("{}: promoted v{}", release.id, release.target_version)
                }
                ReleaseEvent::RolledBack { .. } | ReleaseEvent::ManualRollback { .. } => {
                    format!("{}: rolled back to v{}", release.id, release.stable_version)
                }
                ReleaseEvent::Held { .. } => format!("{}: held", release.id),
                _ => format!("{}: {}", release.id, release.phase.name()),
            };
            marks.push((entry.at.to_rfc3339(), label));
        }
    }
    marks.sort();
    let skip = marks.len().saturating_sub(MAX_ANNOTATIONS);
    marks
        .into_iter()
        .skip(skip)
        .map(|(value, label)| json!({"value": value, "label": label}))
        .collect()
}

fn metric(function: &str, alias: &str, name: &str, version: &str, extra: Value) -> Value {
    let mut metric = json!([
        "AWS/Lambda",
        name,
        "FunctionName",
        function,
        "Resource",
        format!("{function}:{alias}"),
        "ExecutedVersion",
        version
    ]);
    metric.as_array_mut().expect("an array").push(extra);
    metric
}

fn widget(
    index: u64,
    title: &str,
    stat: &str,
    metrics: Vec<Value>,
    region: &str,
    marks: &[Value],
) -> Value {
    let width = GRID_COLUMNS / 2;
    json!({
        "type": "metric",
        "x": (index % 2) * width,
        "y": (index / 2) * 6,
        "width": width,
        "height": 6,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "region": region,
            "stat": stat,
            "period": 60,
            "metrics": metrics,
            "annotations": {"vertical": marks},
        }
    })
}

/// The dashboard body for `function:alias`, from its releases (newest first).
pub fn dashboard_body(function: &str, alias: &str, region: &str, releases: &[Release]) -> Value {
    let versions = versions(releases);
    let marks = annotations(releases);
    let per_version = |name: &str| -> Vec<Value> {
        versions
            .iter()
            .map(|v| metric(function, alias, name, v, json!({"label": format!("v{v}")})))
            .collect()
    };
    let mut error_rate = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        error_rate.push(metric(
            function,
            alias,
            "Errors",
            v,
            json!({"id": format!("e{i}"), "visible": false}),
        ));
        error_rate.push(metric(
            function,
            alias,
            "Invocations",
            v,
            json!({"id": format!("i{i}"), "visible": false}),
        ));
        error_rate.push(json!([{"expression": format!("100 * e{i} / i{i}"), "label": format!("v{v} error rate (%)"), "id": format!("rate{i}")}]));
    }
    json!({
        "widgets": [
            widget(0, &format!("{function}:{alias} invocations by version"), "Sum", per_version("Invocations"), region, &marks),
            widget(1, &format!("{function}:{alias} error rate by version (%)"), "Sum", error_rate, region, &marks),
            widget(2, &format!("{function}:{alias} p99 duration by version (ms)"), "p99", per_version("Duration"), region, &marks),
            widget(3, &format!("{function}:{alias} throttles by version"), "Sum", per_version("Throttles"), region, &marks),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::release::tests::spec;
    use crate::domain::{Input, Verdict};
    use chrono::DateTime;

    /// The rules of CloudWatch's dashboard body structure that a metric dashboard must keep
    /// (the documented "Dashboard Body Structure and Syntax"), as PutDashboard checks them.
    fn check_body(body: &Value) -> Result<(), String> {
        let widgets = body["widgets"]
            .as_array()
            .ok_or("widgets must be an array")?;
        for (n, w) in widgets.iter().enumerate() {
            let int = |k: &str| {
                w[k].as_u64()
                    .ok_or(format!("widget {n}: {k} must be a whole number"))
            };
            let (x, width, height) = (int("x")?, int("width")?, int("height")?);
            int("y")?;
            if w["type"] != "metric" {
                return Err(format!("widget {n}: type must be metric"));
            }
            if !(1..=24).contains(&width) || x + width > 24 || !(1..=1000).contains(&height) {
                return Err(format!("widget {n}: outside the 24-column grid"));
            }
            let p = &w["properties"];
            if p["region"].as_str().is_none_or(str::is_empty) {
                return Err(format!("widget {n}: region is required"));
            }
            if p["period"].as_u64().is_none_or(|s| s == 0 || s % 60 != 0) {
                return Err(format!("widget {n}: period must be a multiple of 60"));
            }
            let mut ids = Vec::new();
            let mut referenced = Vec::new();
            for m in p["metrics"]
                .as_array()
                .ok_or(format!("widget {n}: metrics must be an array"))?
            {
                let parts = m
                    .as_array()
                    .ok_or(format!("widget {n}: a metric must be an array"))?;
                let (options, names) = match parts.last() {
                    Some(Value::Object(o)) => (Some(o), &parts[..parts.len() - 1]),
                    _ => (None, &parts[..]),
                };
                if let Some(expression) = options.and_then(|o| o.get("expression")) {
                    let text = expression
                        .as_str()
                        .ok_or("an expression must be a string")?;
                    referenced.extend(
                        text.split(|c: char| !c.is_alphanumeric())
                            .filter(|t| t.starts_with(['e', 'i']))
                            .map(str::to_string),
                    );
                } else if names.len() < 2
                    || names.len() % 2 != 0
                    || names.iter().any(|v| v.as_str().is_none())
                {
                    return Err(format!(
                        "widget {n}: [namespace, metric, dimension, value...] expected, got {m}"
                    ));
                }
                if let Some(id) = options.and_then(|o| o.get("id")).and_then(Value::as_str) {
                    if !id.starts_with(|c: char| c.is_ascii_lowercase())
                        || ids.contains(&id.to_string())
                    {
                        return Err(format!(
                            "widget {n}: id {id} must be unique and start lowercase"
                        ));
                    }
                    ids.push(id.to_string());
                }
            }
            if let Some(missing) = referenced.iter().find(|r| !ids.contains(r)) {
                return Err(format!("widget {n}: expression names unknown id {missing}"));
            }
            for mark in p["annotations"]["vertical"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let value = mark["value"]
                    .as_str()
                    .ok_or("an annotation needs a value")?;
                DateTime::parse_from_rfc3339(value)
                    .map_err(|e| format!("annotation {value}: {e}"))?;
            }
        }
        Ok(())
    }

    fn t(secs: i64) -> chrono::DateTime<chrono::Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    /// Two releases of orders:live: 3 -> 4 rolled back, then 3 -> 5 at its first step.
    fn releases() -> Vec<Release> {
        let mut first = Release::new(spec("linear:50:1m"), t(0)).unwrap();
        first.apply(Input::Begin, t(0), "wf").unwrap();
        first
            .apply(
                Input::Check(Verdict::Unhealthy { reason: "x".into() }),
                t(60),
                "wf",
            )
            .unwrap();
        first.apply(Input::RolledBack, t(61), "wf").unwrap();
        let mut second_spec = spec("linear:50:1m");
        second_spec.release_id = Some("r-2".into());
        second_spec.target_version = "5".into();
        let mut second = Release::new(second_spec, t(100)).unwrap();
        second.apply(Input::Begin, t(100), "wf").unwrap();
        vec![second, first]
    }

    #[test]
    fn every_version_of_the_recent_releases_is_shown_with_the_steps_as_annotations() {
        let body = dashboard_body("orders", "live", "eu-west-1", &releases());
        check_body(&body).unwrap();
        let widgets = body["widgets"].as_array().unwrap();
        assert_eq!(widgets.len(), 4);
        let invocations = &widgets[0]["properties"]["metrics"];
        let labels: Vec<&str> = invocations
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m[8]["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["v5", "v3", "v4"], "newest first, no repeats");
        assert_eq!(invocations[0][5], "orders:live");
        let marks: Vec<&str> = widgets[0]["properties"]["annotations"]["vertical"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["label"].as_str().unwrap())
            .collect();
        assert_eq!(
            marks,
            ["r-1: 50% on v4", "r-1: rolled back to v3", "r-2: 50% on v5"],
            "in time order"
        );
        assert_eq!(widgets[2]["properties"]["stat"], "p99");
    }

    /// The stack's own operations dashboard (template.yaml) keeps the same rules.
    #[test]
    fn the_stacks_operations_dashboard_is_a_valid_body() {
        let template = include_str!("../../../template.yaml");
        let start = template
            .find("DashboardBody: !Sub |")
            .expect("the template has a dashboard");
        let body: String = template[start..]
            .lines()
            .skip(1)
            .take_while(|line| !line.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
            .replace("${AWS::Region}", "us-east-1");
        let body: Value = serde_json::from_str(&body).expect("the dashboard body is JSON");
        check_body(&body).unwrap();
        let shown = body.to_string();
        for metric in ["ReleasesRolledBack", "AlarmToRevert", "AnalysisUnhealthy"] {
            assert!(shown.contains(metric), "{metric}");
        }
    }

    #[test]
    fn the_body_check_catches_what_cloudwatch_refuses() {
        let good = dashboard_body("orders", "live", "eu-west-1", &releases());
        type Breakage = (&'static str, fn(&mut Value));
        let breakages: [Breakage; 4] = [
            ("grid", |b| b["widgets"][1]["width"] = json!(20)),
            ("region", |b| {
                b["widgets"][0]["properties"]["region"] = json!("")
            }),
            ("unknown id", |b| {
                b["widgets"][1]["properties"]["metrics"][2][0]["expression"] =
                    json!("100 * e9 / i0")
            }),
            ("annotation", |b| {
                b["widgets"][0]["properties"]["annotations"]["vertical"][0]["value"] =
                    json!("yesterday")
            }),
        ];
        for (what, breaks) in breakages {
            let mut body = good.clone();
            breaks(&mut body);
            assert!(check_body(&body).is_err(), "{what}");
        }
    }
}
