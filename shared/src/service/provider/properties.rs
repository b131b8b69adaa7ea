//! The custom resource's properties, as CloudFormation sends them, and the names derived
//! from its requests.

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// The resource's properties as CloudFormation sends them (every scalar as a string).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReleaseProperties {
    pub function_name: String,
    pub alias: String,
    /// A version number, or a version's ARN (`!Ref Fn.Version` under `AutoPublishAlias`).
    pub version: String,
    #[serde(default = "default_strategy")]
    pub strategy: String,
    #[serde(default)]
    pub alarms: Vec<String>,
    /// Whether the stack update waits for the release (and fails if it rolls back).
    #[serde(default, deserialize_with = "cfn_bool")]
    pub wait: bool,
    /// `off` switches canary analysis off; anything else (or nothing) leaves it on.
    #[serde(default)]
    pub analysis: Option<String>,
    /// Where the release came from (`Commit`, `Version`, `BuildUrl`, ...), as labels.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

fn default_strategy() -> String {
    "Canary10Percent5Minutes".to_string()
}

/// `true`, `"true"` or `"false"`: CloudFormation turns booleans into strings.
fn cfn_bool<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Flag::deserialize(d)? {
        Flag::Bool(b) => Ok(b),
        Flag::Text(t) => match t.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "Wait must be true or false, not '{other}'"
            ))),
        },
    }
}

pub(super) fn properties(value: &serde_json::Value) -> Result<ReleaseProperties> {
    let mut props: ReleaseProperties = serde_json::from_value(value.clone())
        .map_err(|e| Error::BadRequest(format!("Custom::ShiftbackRelease properties: {e}")))?;
    // `!Ref Fn.Version` (SAM's published version) is the version's ARN: its number is last.
    if let Some((_, number)) = props.version.rsplit_once(':') {
        props.version = number.to_string();
    }
    Ok(props)
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
