//! The custom resource's properties, as CloudFormation sends them, and the names derived
//! from its requests.
//!
//! CloudFormation turns every scalar into a string: `Wait: true` arrives as `"true"`, and an
//! unquoted YAML `off`, `no`, `on` or `yes` (YAML 1.1 booleans) arrives as `"false"` or
//! `"true"`. So every flag here accepts the booleans in every spelling a template can produce,
//! and anything else is refused with the property's name and the values it takes.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What the provider does when a release still moves the alias as a new version arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenBusy {
    /// The running release ends as superseded (back to its stable version, on the record)
    /// and the new one starts: what a team shipping a fix wants.
    #[default]
    Supersede,
    /// The update fails, naming the running release.
    Fail,
}

/// The resource's properties, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseProperties {
    pub function_name: String,
    pub alias: String,
    /// A version number; its ARN (`!Ref Fn.Version` under `AutoPublishAlias`) is read as one.
    pub version: String,
    pub strategy: String,
    pub alarms: Vec<String>,
    /// Alarms known to be in ALARM that the release deploys through (a fix for the very
    /// problem they report), as `shiftback start --override` names them.
    pub alarm_overrides: Vec<String>,
    /// Whether the stack update waits for the release (and fails if it rolls back).
    pub wait: bool,
    /// How long CloudFormation waits for the answer (`ServiceTimeout`: 1 to 3,600 seconds,
    /// an hour when absent).
    pub service_timeout_secs: u64,
    /// Canary analysis, on unless switched off.
    pub analysis: bool,
    /// The fast path's namespace (the function's own one-second metrics), if it opts in.
    pub fast_path_namespace: Option<String>,
    /// Where the release came from (`Commit`, `Version`, `BuildUrl`, ...), as labels.
    pub labels: BTreeMap<String, String>,
    pub when_busy: WhenBusy,
    /// Release the version even if an alarm, the analysis or a person rejected it before.
    pub rerelease: bool,
}

pub const DEFAULT_STRATEGY: &str = "Canary10Percent5Minutes";

/// Every property the resource takes; CloudFormation adds `ServiceToken` and
/// `ServiceTimeout` from the resource's own declaration.
const KNOWN: [&str; 14] = [
    "ServiceToken",
    "ServiceTimeout",
    "FunctionName",
    "Alias",
    "Version",
    "Strategy",
    "Alarms",
    "AlarmOverrides",
    "Wait",
    "Analysis",
    "FastPathNamespace",
    "Labels",
    "WhenBusy",
    "Rerelease",
];

const FLAG_VALUES: &str = "true or false (also yes/no, on/off)";

fn bad(property: &str, why: String) -> Error {
    Error::BadRequest(format!(
        "Custom::ShiftbackRelease property {property}: {why}"
    ))
}

/// A scalar as text: CloudFormation's strings, or a JSON number or boolean from elsewhere.
fn scalar(property: &str, value: &Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.trim().to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(bad(property, format!("expected a string, got {other}"))),
    }
}

fn required(props: &Map<String, Value>, property: &str) -> Result<String> {
    match props
        .get(property)
        .map(|v| scalar(property, v))
        .transpose()?
    {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(bad(property, "missing: it is required".into())),
    }
}

/// An optional scalar: absent and empty are alike (`!If [.., .., !Ref AWS::NoValue]`, or a
/// parameter left empty).
fn optional(props: &Map<String, Value>, property: &str) -> Result<Option<String>> {
    Ok(props
        .get(property)
        .filter(|v| !v.is_null())
        .map(|v| scalar(property, v))
        .transpose()?
        .filter(|t| !t.is_empty()))
}

fn flag(props: &Map<String, Value>, property: &str, default: bool) -> Result<bool> {
    let text =
        optional(props, property).map_err(|_| bad(property, format!("expected {FLAG_VALUES}")))?;
    let Some(text) = text else {
        return Ok(default);
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Ok(true),
        "false" | "no" | "off" => Ok(false),
        _ => Err(bad(
            property,
            format!("'{text}' is not a flag: use {FLAG_VALUES}"),
        )),
    }
}

/// A list of names: a YAML list, or one comma-separated string (a `CommaDelimitedList`
/// parameter joined, or a single name).
fn names(props: &Map<String, Value>, property: &str) -> Result<Vec<String>> {
    let items = match props.get(property) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| scalar(property, v))
            .collect::<Result<Vec<_>>>()?,
        Some(other) => scalar(property, other)?
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
    };
    Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
}

fn labels(props: &Map<String, Value>) -> Result<BTreeMap<String, String>> {
    match props.get("Labels") {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| Ok((k.clone(), scalar(&format!("Labels.{k}"), v)?)))
            .collect(),
        Some(other) => Err(bad(
            "Labels",
            format!("expected a map of names to values, got {other}"),
        )),
    }
}

pub(super) fn properties(value: &Value) -> Result<ReleaseProperties> {
    let Some(props) = value.as_object() else {
        return Err(bad(
            "(all)",
            format!("expected a map of properties, got {value}"),
        ));
    };
    if let Some(unknown) = props.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(bad(
            unknown,
            format!(
                "not a property of the resource; it takes {}",
                KNOWN[2..].join(", ")
            ),
        ));
    }
    let when_busy = match optional(props, "WhenBusy")?.map(|t| t.to_ascii_lowercase()) {
        None => WhenBusy::default(),
        Some(t) if t == "supersede" => WhenBusy::Supersede,
        Some(t) if t == "fail" => WhenBusy::Fail,
        Some(t) => {
            return Err(bad(
                "WhenBusy",
                format!("'{t}' is not one of Supersede, Fail"),
            ))
        }
    };
    let missing: Vec<&str> = ["FunctionName", "Alias", "Version"]
        .into_iter()
        .filter(|p| {
            props
                .get(*p)
                .is_none_or(|v| v.is_null() || v.as_str().is_some_and(|t| t.trim().is_empty()))
        })
        .collect();
    if !missing.is_empty() {
        return Err(bad(
            &missing.join(", "),
            "missing: the resource needs FunctionName, Alias and Version".into(),
        ));
    }
    let mut version = required(props, "Version")?;
    // `!Ref Fn.Version` (SAM's published version) is the version's ARN: its number is last.
    if let Some((_, number)) = version.rsplit_once(':') {
        version = number.to_string();
    }
    Ok(ReleaseProperties {
        function_name: required(props, "FunctionName")?,
        alias: required(props, "Alias")?,
        version,
        strategy: optional(props, "Strategy")?.unwrap_or_else(|| DEFAULT_STRATEGY.to_string()),
        alarms: names(props, "Alarms")?,
        alarm_overrides: names(props, "AlarmOverrides")?,
        wait: flag(props, "Wait", false)?,
        service_timeout_secs: service_timeout(props)?,
        analysis: flag(props, "Analysis", true)?,
        fast_path_namespace: optional(props, "FastPathNamespace")?,
        labels: labels(props)?,
        when_busy,
        rerelease: flag(props, "Rerelease", false)?,
    })
}

/// CloudFormation's longest wait for a custom resource, and its default.
pub const MAX_SERVICE_TIMEOUT_SECS: u64 = 3_600;

fn service_timeout(props: &Map<String, Value>) -> Result<u64> {
    let Some(text) = optional(props, "ServiceTimeout")? else {
        return Ok(MAX_SERVICE_TIMEOUT_SECS);
    };
    match text.parse::<u64>() {
        Ok(secs) if (1..=MAX_SERVICE_TIMEOUT_SECS).contains(&secs) => Ok(secs),
        _ => Err(bad(
            "ServiceTimeout",
            format!("'{text}' is not a number of seconds from 1 to {MAX_SERVICE_TIMEOUT_SECS}"),
        )),
    }
}

/// The release a request starts: CloudFormation's request id, which a repeated request keeps.
pub fn release_id_for(request_id: &str) -> String {
    let id: String = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(59)
        .collect();
    format!("cfn-{id}")
}

/// The stack's name, from its id (`arn:...:stack/NAME/uuid`).
pub(super) fn stack_name(stack_id: &str) -> &str {
    stack_id.split('/').nth(1).unwrap_or(stack_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(extra: Value) -> Value {
        let mut props = json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:shiftback-provider",
            "FunctionName": "orders", "Alias": "live", "Version": "7"
        });
        for (k, v) in extra.as_object().unwrap() {
            props[k] = v.clone();
        }
        props
    }

    #[test]
    fn flags_take_every_spelling_cloudformation_can_send() {
        // YAML 1.1 reads unquoted on/off/yes/no as booleans, and CloudFormation stringifies
        // them; quoted, they arrive as written.
        let cases = [
            (json!("true"), Some(true)),
            (json!("True"), Some(true)),
            (json!("TRUE"), Some(true)),
            (json!(true), Some(true)),
            (json!("yes"), Some(true)),
            (json!("on"), Some(true)),
            (json!("On"), Some(true)),
            (json!(" true "), Some(true)),
            (json!("false"), Some(false)),
            (json!("False"), Some(false)),
            (json!(false), Some(false)),
            (json!("no"), Some(false)),
            (json!("off"), Some(false)),
            (json!("OFF"), Some(false)),
            (json!("enabled"), None),
            (json!("1"), None),
            (json!(["true"]), None),
        ];
        for property in ["Wait", "Analysis", "Rerelease"] {
            for (value, expected) in &cases {
                let got = properties(&with(json!({ property: value })));
                match (expected, got) {
                    (Some(want), Ok(p)) => {
                        let read = match property {
                            "Wait" => p.wait,
                            "Analysis" => p.analysis,
                            _ => p.rerelease,
                        };
                        assert_eq!(read, *want, "{property}: {value}");
                    }
                    (None, Err(e)) => {
                        let text = e.to_string();
                        assert!(text.contains(property), "{text}");
                        assert!(text.contains("true or false"), "{text}");
                    }
                    (want, got) => panic!("{property}: {value}: wanted {want:?}, got {got:?}"),
                }
            }
        }
    }

    #[test]
    fn absent_or_empty_properties_take_their_defaults() {
        for props in [
            with(json!({})),
            with(
                json!({"Wait": "", "Analysis": "", "Rerelease": "", "WhenBusy": "",
                        "Strategy": "", "Alarms": "", "Labels": null}),
            ),
        ] {
            let p = properties(&props).unwrap();
            assert!(!p.wait);
            assert!(p.analysis, "analysis is on unless switched off");
            assert!(!p.rerelease);
            assert_eq!(p.when_busy, WhenBusy::Supersede);
            assert_eq!(p.strategy, DEFAULT_STRATEGY);
            assert!(p.alarms.is_empty());
            assert!(p.labels.is_empty());
        }
    }

    #[test]
    fn when_busy_takes_supersede_or_fail_in_any_case() {
        for (value, expected) in [
            ("Supersede", Some(WhenBusy::Supersede)),
            ("supersede", Some(WhenBusy::Supersede)),
            ("Fail", Some(WhenBusy::Fail)),
            ("FAIL", Some(WhenBusy::Fail)),
            ("Queue", None),
            ("true", None),
        ] {
            match (expected, properties(&with(json!({ "WhenBusy": value })))) {
                (Some(want), Ok(p)) => assert_eq!(p.when_busy, want, "{value}"),
                (None, Err(e)) => {
                    let text = e.to_string();
                    assert!(
                        text.contains("WhenBusy") && text.contains("Supersede, Fail"),
                        "{text}"
                    );
                }
                (want, got) => panic!("{value}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn versions_alarms_and_labels_as_cloudformation_sends_them() {
        let p = properties(&with(json!({
            "Version": "arn:aws:lambda:us-east-1:123456789012:function:orders:12",
            "Alarms": ["errors", " latency "],
            "Labels": {"Commit": "3f2a1c9", "Build": "42"},
        })))
        .unwrap();
        assert_eq!(p.version, "12", "a version's ARN is read as its number");
        assert_eq!(p.alarms, ["errors", "latency"]);
        assert_eq!(p.labels["Build"], "42");
        // A number from a JSON template, and one comma-separated string of alarms.
        let p = properties(&with(json!({"Version": 7, "Alarms": "errors, latency,"}))).unwrap();
        assert_eq!(p.version, "7");
        assert_eq!(p.alarms, ["errors", "latency"]);
    }

    #[test]
    fn a_missing_or_unknown_property_is_named() {
        for (props, names) in [
            (json!({"Alias": "live", "Version": "2"}), "FunctionName"),
            (json!({"FunctionName": "orders", "Version": "2"}), "Alias"),
            (
                json!({"FunctionName": "orders", "Alias": "live", "Version": ""}),
                "Version",
            ),
            (with(json!({"Analisys": "off"})), "Analisys"),
            (with(json!({"Labels": "commit=1"})), "Labels"),
            (with(json!({"Alias": {"Ref": "x"}})), "Alias"),
            (json!(["orders"]), "map of properties"),
        ] {
            let text = properties(&props).unwrap_err().to_string();
            assert!(text.contains(names), "{props}: {text}");
        }
        let text = properties(&with(json!({"Analisys": "off"})))
            .unwrap_err()
            .to_string();
        assert!(text.contains("Analysis"), "lists what it takes: {text}");
    }

    /// A value from a synthesized template as CloudFormation would send it to the provider:
    /// intrinsics resolved (a `Ref` to the resource's logical id, the version's `GetAtt` to a
    /// number, an import to an ARN) and every scalar stringified.
    fn as_sent(value: &Value) -> Value {
        match value {
            Value::Object(map) if map.contains_key("Ref") => json!(map["Ref"]),
            Value::Object(map) if map.contains_key("Fn::GetAtt") => {
                assert_eq!(
                    map["Fn::GetAtt"][1], "Version",
                    "only the version is read: {value}"
                );
                json!("3")
            }
            Value::Object(map) if map.contains_key("Fn::ImportValue") => {
                json!("arn:aws:lambda:us-east-1:123456789012:function:shiftback-provider")
            }
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), as_sent(v))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(as_sent).collect()),
            Value::String(_) | Value::Null => value.clone(),
            scalar => json!(scalar.to_string()),
        }
    }

    /// The CDK example's template (examples/cdk, kept equal to what `cdk synth` makes by
    /// scripts/check-cdk in `make test`): its ShiftbackRelease construct must make properties
    /// this parser takes, with the values the example means.
    #[test]
    fn the_cdk_examples_release_is_one_the_provider_takes() {
        let template: Value = serde_json::from_str(include_str!(
            "../../../../examples/cdk/Orders.template.json"
        ))
        .unwrap();
        let releases: Vec<&Value> = template["Resources"]
            .as_object()
            .unwrap()
            .values()
            .filter(|r| r["Type"] == "Custom::ShiftbackRelease")
            .collect();
        assert_eq!(releases.len(), 1, "the example releases one function");
        let sent = as_sent(&releases[0]["Properties"]);
        let p = properties(&sent).unwrap();
        assert!(p.function_name.starts_with("Orders"), "{}", p.function_name);
        assert_eq!((p.alias.as_str(), p.version.as_str()), ("live", "3"));
        assert_eq!(
            p.service_timeout_secs, 300,
            "the construct's 5-minute default"
        );
        assert!(!p.wait && p.analysis && !p.rerelease);
        assert!(p.alarms.len() == 1 && p.alarms[0].starts_with("OrdersErrors"));
        assert_eq!(p.labels.keys().collect::<Vec<_>>(), ["commit"]);
        p.strategy
            .parse::<crate::domain::strategy::Strategy>()
            .expect("a strategy shiftback knows");
    }
}
