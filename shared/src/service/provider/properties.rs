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
    /// A wave plan across Regions (`Waves`), with its bake (`WaveBake`): the version is the
    /// home default, each entry may name its own.
    pub plan: Option<super::plan_properties::PlanProperties>,
}

pub const DEFAULT_STRATEGY: &str = "Canary10Percent5Minutes";

/// Every property the resource takes; CloudFormation adds `ServiceToken` and
/// `ServiceTimeout` from the resource's own declaration.
const KNOWN: [&str; 16] = [
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
    "Waves",
    "WaveBake",
];

const FLAG_VALUES: &str = "true or false (also yes/no, on/off)";

pub(super) fn bad(property: &str, why: String) -> Error {
    Error::BadRequest(format!(
        "Custom::ShiftbackRelease property {property}: {why}"
    ))
}

/// A scalar as text: CloudFormation's strings, or a JSON number or boolean from elsewhere.
pub(super) fn scalar(property: &str, value: &Value) -> Result<String> {
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
pub(super) fn optional(props: &Map<String, Value>, property: &str) -> Result<Option<String>> {
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
        plan: super::plan_properties::plan(props)?,
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
#[path = "properties_tests.rs"]
mod tests;
