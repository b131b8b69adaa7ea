//! `Waves` and `WaveBake`: the custom resource's wave plan, in CloudFormation's spelling.
//!
//! ```yaml
//! Waves:
//!   - [us-east-1]
//!   - [eu-west-1, {Region: ap-southeast-2, Version: !GetAtt ApacVersion.Version}]
//! WaveBake: 30m
//! ```
//!
//! A wave is a list of entries (or one comma-separated string, as `!Join` or a
//! `CommaDelimitedList` parameter gives it); an entry is a Region, or a Region with what
//! differs there (`Version`, `FunctionName`, `Alias`, `RoleArn`). The limits are the plan's
//! own, checked where the plan is made.

use serde_json::{Map, Value};

use super::properties::{bad, optional, scalar};
use crate::domain::wave::{EntryTarget, PlanEntry};
use crate::error::Result;

/// A plan's part of the properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProperties {
    pub waves: Vec<Vec<PlanEntry>>,
    /// `30m`; the plan's default when absent.
    pub wave_bake: Option<String>,
}

/// What an entry may say of its Region's target.
const ENTRY_KEYS: [&str; 5] = ["Region", "Version", "FunctionName", "Alias", "RoleArn"];

/// What a plan does not carry to its regional releases: refused by name rather than dropped.
const NOT_CARRIED: [&str; 5] = [
    "Labels",
    "AlarmOverrides",
    "FastPathNamespace",
    "Analysis",
    "Rerelease",
];

/// The plan the properties name, if they name `Waves`.
pub(super) fn plan(props: &Map<String, Value>) -> Result<Option<PlanProperties>> {
    let wave_bake = optional(props, "WaveBake")?;
    let waves = match props.get("Waves") {
        None | Some(Value::Null) => {
            if wave_bake.is_some() {
                return Err(bad(
                    "WaveBake",
                    "only a plan bakes between waves: name its Waves".into(),
                ));
            }
            return Ok(None);
        }
        Some(Value::Array(waves)) => waves,
        Some(other) => {
            return Err(bad(
                "Waves",
                format!("expected a list of waves, each a list of Regions, got {other}"),
            ))
        }
    };
    if let Some(extra) = NOT_CARRIED
        .iter()
        .find(|p| props.get(**p).is_some_and(|v| !v.is_null()))
    {
        return Err(bad(
            extra,
            "a wave plan does not carry it to its regional releases (each Region's own defaults apply): remove it, or release each Region on its own".into(),
        ));
    }
    let waves = waves
        .iter()
        .enumerate()
        .map(|(i, wave)| wave_of(&format!("Waves[{i}]"), wave))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(PlanProperties { waves, wave_bake }))
}

fn wave_of(property: &str, wave: &Value) -> Result<Vec<PlanEntry>> {
    match wave {
        Value::Array(entries) => entries
            .iter()
            .enumerate()
            .map(|(j, entry)| entry_of(&format!("{property}[{j}]"), entry))
            .collect(),
        Value::String(regions) => Ok(regions
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| PlanEntry::Region(r.to_string()))
            .collect()),
        other => Err(bad(
            property,
            format!("expected a list of Regions, got {other}"),
        )),
    }
}

fn entry_of(property: &str, entry: &Value) -> Result<PlanEntry> {
    let Value::Object(map) = entry else {
        return Ok(PlanEntry::Region(scalar(property, entry)?));
    };
    if let Some(unknown) = map.keys().find(|k| !ENTRY_KEYS.contains(&k.as_str())) {
        return Err(bad(
            &format!("{property}.{unknown}"),
            format!(
                "not part of a wave's entry; it takes {}",
                ENTRY_KEYS.join(", ")
            ),
        ));
    }
    let field = |key: &str| {
        optional(map, key)
            .map_err(|_| bad(&format!("{property}.{key}"), "expected a string".into()))
    };
    let Some(region) = field("Region")? else {
        return Err(bad(
            &format!("{property}.Region"),
            "missing: every entry names its Region".into(),
        ));
    };
    // `!GetAtt Fn.Version` or a version's ARN: the number is last.
    let version = field("Version")?.map(|v| match v.rsplit_once(':') {
        Some((_, number)) => number.to_string(),
        None => v,
    });
    Ok(PlanEntry::Target(EntryTarget {
        region,
        function: field("FunctionName")?,
        alias: field("Alias")?,
        version,
        role_arn: field("RoleArn")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::properties::properties;
    use super::*;
    use serde_json::json;

    fn with(extra: Value) -> Value {
        let mut props = json!({"ServiceToken": "arn", "FunctionName": "orders", "Alias": "live", "Version": "7"});
        props
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        props
    }

    #[test]
    fn waves_are_lists_of_regions_or_regions_with_what_differs_there() {
        let props = properties(&with(json!({
            "Waves": [["us-east-1"], "eu-west-1, ap-southeast-2",
                      [{"Region": "sa-east-1", "Version": "arn:aws:lambda:sa-east-1:1:function:orders:12",
                        "RoleArn": "arn:aws:iam::210987654321:role/shiftback-waves"}]],
            "WaveBake": "20m"
        })))
        .unwrap();
        let plan = props.plan.unwrap();
        assert_eq!(plan.waves[0], vec![PlanEntry::Region("us-east-1".into())]);
        assert_eq!(plan.waves[1].len(), 2);
        let PlanEntry::Target(last) = &plan.waves[2][0] else {
            panic!("{:?}", plan.waves[2])
        };
        assert_eq!(last.version.as_deref(), Some("12"));
        assert_eq!(
            last.role_arn.as_deref(),
            Some("arn:aws:iam::210987654321:role/shiftback-waves")
        );
        assert_eq!(plan.wave_bake.as_deref(), Some("20m"));
        assert_eq!(properties(&with(json!({}))).unwrap().plan, None);
    }

    #[test]
    fn what_a_plan_cannot_carry_or_read_is_refused_by_name() {
        let refused = |extra: Value| properties(&with(extra)).unwrap_err().to_string();
        let e = refused(json!({"Waves": [["us-east-1"]], "Labels": {"Commit": "abc"}}));
        assert!(
            e.contains("property Labels") && e.contains("does not carry"),
            "{e}"
        );
        let e = refused(json!({"Waves": [[{"Region": "us-east-1", "Weight": "5"}]]}));
        assert!(e.contains("Waves[0][0].Weight"), "{e}");
        let e = refused(json!({"Waves": [[{"Version": "3"}]]}));
        assert!(e.contains("Waves[0][0].Region: missing"), "{e}");
        let e = refused(json!({"Waves": "us-east-1"}));
        assert!(e.contains("expected a list of waves"), "{e}");
        let e = refused(json!({"WaveBake": "30m"}));
        assert!(e.contains("name its Waves"), "{e}");
    }
}
