//! A wave plan as a team writes it: `--wave` flags, or a plan file where a wave's entry is a
//! Region, or a Region with what differs there (its version, its function, its account).
//!
//! ```json
//! {"waves": [["us-east-1"],
//!            [{"region": "eu-west-1", "version": "12"},
//!             {"region": "ap-southeast-2", "role_arn": "arn:aws:iam::210987654321:role/shiftback-waves"}]],
//!  "wave_bake": "30m"}
//! ```

use serde::{Deserialize, Serialize};

use super::plan::WavePlan;
use super::spec::{check_region, check_waves, parse_wave_regions, Target, WaveError};
use crate::domain::strategy::{parse_duration, Strategy};
use crate::domain::StackWaiting;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    pub waves: Vec<Vec<PlanEntry>>,
    /// How long each wave bakes (`30m`); the command line's `--wave-bake` when absent.
    #[serde(default)]
    pub wave_bake: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PlanEntry {
    Region(String),
    Target(EntryTarget),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryTarget {
    pub region: String,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub alias: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub role_arn: Option<String>,
}

/// What every target has unless its entry says otherwise: the command line's function, alias
/// and version (None: published in each Region when its wave starts).
#[derive(Debug, Clone)]
pub struct TargetDefaults {
    pub function: String,
    pub alias: String,
    pub version: Option<String>,
}

impl TargetDefaults {
    fn in_region(&self, region: &str) -> Target {
        Target {
            region: region.to_string(),
            role_arn: None,
            function: self.function.clone(),
            alias: self.alias.clone(),
            version: self.version.clone(),
        }
    }

    /// The waves `--wave` names, each Region with these defaults.
    pub fn waves_of(&self, specs: &[String]) -> Result<Vec<Vec<Target>>, WaveError> {
        Ok(parse_wave_regions(specs)?
            .iter()
            .map(|wave| wave.iter().map(|r| self.in_region(r)).collect())
            .collect())
    }

    /// The waves a plan file names.
    pub fn waves_in(&self, file: &PlanFile) -> Result<Vec<Vec<Target>>, WaveError> {
        file.waves
            .iter()
            .map(|wave| {
                wave.iter()
                    .map(|entry| {
                        let target = match entry {
                            PlanEntry::Region(region) => self.in_region(region),
                            PlanEntry::Target(t) => Target {
                                region: t.region.clone(),
                                role_arn: t.role_arn.clone(),
                                function: t.function.clone().unwrap_or(self.function.clone()),
                                alias: t.alias.clone().unwrap_or(self.alias.clone()),
                                version: t.version.clone().or(self.version.clone()),
                            },
                        };
                        check_region(&target.region)?;
                        Ok(target)
                    })
                    .collect()
            })
            .collect()
    }
}

/// A plan as the waves workflow's input names it (`{"plan": {...}}`): the command line's
/// flags as fields, each wave's entries as in a plan file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    pub function: String,
    pub alias: String,
    /// None: each Region publishes its own when its wave starts.
    #[serde(default)]
    pub version: Option<String>,
    pub waves: Vec<Vec<PlanEntry>>,
    /// How long each wave bakes (`30m`, the CLI's default, when absent).
    #[serde(default)]
    pub wave_bake: Option<String>,
    pub strategy: String,
    #[serde(default)]
    pub alarms: Vec<String>,
    #[serde(default)]
    pub started_by: Option<String>,
    /// The custom resource that asked for it (`<stack id>/<logical id>`): its stack's later
    /// requests find the plan by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A stack waiting for the plan's end (`Wait: true`), answered when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_to: Option<Box<StackWaiting>>,
}

impl PlanRequest {
    /// The plan it asks for, every limit checked: `id` its workflow's execution name, coordinated
    /// by `coordinator` (whose Region is the plan's home).
    pub fn into_plan(self, id: &str, coordinator: &str, now: i64) -> Result<WavePlan, String> {
        let home = coordinator
            .split(':')
            .nth(3)
            .unwrap_or_default()
            .to_string();
        check_region(&home).map_err(|_| format!("'{coordinator}' is not a function ARN"))?;
        let mut plan = self.plan_in(&home, id, now)?;
        plan.coordinator = Some(coordinator.to_string());
        Ok(plan)
    }

    /// The plan it asks for, coordinated from `home`, every limit checked; no coordinator to
    /// tell yet (a provider checking properties before it asks the coordinator).
    pub fn plan_in(self, home: &str, id: &str, now: i64) -> Result<WavePlan, String> {
        check_plan_id(id)?;
        let defaults = TargetDefaults {
            function: self.function,
            alias: self.alias,
            version: self.version,
        };
        let file = PlanFile {
            waves: self.waves,
            wave_bake: self.wave_bake,
        };
        let waves = defaults.waves_in(&file).map_err(|e| e.to_string())?;
        let bake = file.wave_bake.as_deref().unwrap_or("30m");
        let bake_secs = parse_duration(bake).map_err(|e| format!("wave_bake: {e}"))?;
        check_waves(&waves, bake_secs).map_err(|e| e.to_string())?;
        self.strategy
            .parse::<Strategy>()
            .map_err(|e| format!("strategy: {e}"))?;
        let by = self.started_by.unwrap_or_else(|| "workflow".into());
        let mut plan = WavePlan::new(id, home, waves, bake_secs, &self.strategy, now, &by);
        plan.alarms = self.alarms;
        plan.resource = self.resource;
        plan.answer_to = self.answer_to;
        Ok(plan)
    }
}

/// A new plan's id: `plan-<UTC time>-<6 hex>`, short enough for its regional releases' ids
/// (`<plan>-w10-50-back`) and its workflow's execution names.
pub fn new_plan_id(now: chrono::DateTime<chrono::Utc>) -> String {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("plan-{}-{suffix}", now.format("%Y%m%dT%H%M%S"))
}

/// The longest plan id: its regional releases' ids (`<plan>-w10-50-back`, 64 at most) and its
/// workflow's continuations (`<plan>-g<n>`, 80 at most) must fit.
pub const MAX_PLAN_ID: usize = 40;

/// A plan's id (its workflow's first execution name): `plan-`, then letters, digits, `-` or
/// `_`, at most [`MAX_PLAN_ID`] in all, so every id made from it is a valid release id.
pub fn check_plan_id(id: &str) -> Result<(), String> {
    let chars_ok = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if is_plan_id(id) && id.len() <= MAX_PLAN_ID && chars_ok {
        Ok(())
    } else {
        Err(format!(
            "'{id}' cannot name a plan: 'plan-' then letters, digits, '-' or '_', at most {MAX_PLAN_ID} in all (its regional releases' ids are made from it)"
        ))
    }
}

/// Whether an id names a plan rather than a release.
pub fn is_plan_id(id: &str) -> bool {
    id.starts_with("plan-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> TargetDefaults {
        TargetDefaults {
            function: "orders".into(),
            alias: "live".into(),
            version: None,
        }
    }

    #[test]
    fn a_plan_file_entry_is_a_region_or_a_region_with_what_differs_there() {
        let file: PlanFile = serde_json::from_str(
            r#"{"waves": [["us-east-1"],
                [{"region": "eu-west-1", "version": "12"},
                 {"region": "ap-southeast-2", "function": "orders-apac",
                  "role_arn": "arn:aws:iam::210987654321:role/shiftback-waves"}]],
                "wave_bake": "30m"}"#,
        )
        .unwrap();
        let waves = defaults().waves_in(&file).unwrap();
        assert_eq!(waves.len(), 2);
        assert_eq!(waves[0][0], defaults().in_region("us-east-1"));
        assert_eq!(waves[1][0].version.as_deref(), Some("12"));
        assert_eq!(waves[1][1].function, "orders-apac");
        assert_eq!(waves[1][1].alias, "live");
        assert_eq!(waves[1][1].account(), Some("210987654321"));
        assert_eq!(file.wave_bake.as_deref(), Some("30m"));
    }

    #[test]
    fn a_plan_file_with_a_bad_region_or_an_unknown_field_is_refused() {
        let bad: PlanFile = serde_json::from_str(r#"{"waves": [["us-east"]]}"#).unwrap();
        assert_eq!(
            defaults().waves_in(&bad),
            Err(WaveError::RegionName("us-east".into()))
        );
        let typo = serde_json::from_str::<PlanFile>(r#"{"waves": [], "wave_bakes": "1m"}"#);
        assert!(typo.is_err());
    }

    #[test]
    fn a_workflow_input_becomes_a_checked_plan_coordinated_from_its_functions_region() {
        let coordinator =
            "arn:aws:lambda:eu-west-1:123456789012:function:shiftback-WavesFunction-A";
        let request: PlanRequest = serde_json::from_value(serde_json::json!({
            "function": "orders", "alias": "live", "version": "7",
            "waves": [["eu-west-1"], ["us-east-1", {"region": "ap-southeast-2", "version": "9"}]],
            "strategy": "linear:25:5m", "alarms": ["orders-errors"]
        }))
        .unwrap();
        let plan = request
            .clone()
            .into_plan("plan-9", coordinator, 100)
            .unwrap();
        assert_eq!(plan.home_region, "eu-west-1");
        assert_eq!(plan.waves, 2);
        assert_eq!(plan.wave_bake_secs, 1800, "the CLI's default bake");
        assert_eq!(plan.targets[2].target.version.as_deref(), Some("9"));
        assert_eq!(plan.coordinator.as_deref(), Some(coordinator));
        assert_eq!(plan.started_by, "workflow");
        let bad = PlanRequest {
            strategy: "sideways".into(),
            ..request.clone()
        };
        assert!(bad
            .into_plan("plan-9", coordinator, 100)
            .unwrap_err()
            .starts_with("strategy:"));
        let long = PlanRequest {
            wave_bake: Some("25h".into()),
            ..request
        };
        assert!(long
            .into_plan("plan-9", coordinator, 100)
            .unwrap_err()
            .contains("a day"));
    }

    #[test]
    fn plan_ids_leave_room_for_every_regional_release_id() {
        let id = new_plan_id(chrono::Utc::now());
        assert!(is_plan_id(&id));
        let longest = format!("{id}-w10-50-back");
        assert!(longest.len() <= 64, "{longest}");
        assert!(!is_plan_id("r-20261203T070000-abcdef"));
        assert_eq!(check_plan_id(&id), Ok(()));
        // Ids its regional releases' ids cannot be made from are refused by name.
        let too_long = format!("plan-{}", "x".repeat(MAX_PLAN_ID));
        for bad in ["checkout-2", "plan-a.b", too_long.as_str()] {
            let e = check_plan_id(bad).unwrap_err();
            assert!(e.contains("cannot name a plan"), "{bad}: {e}");
        }
        // At the longest, every id made from it is a valid release id and execution name.
        let longest_plan = format!("plan-{}", "x".repeat(MAX_PLAN_ID - 5));
        assert_eq!(check_plan_id(&longest_plan), Ok(()));
        assert!(format!("{longest_plan}-w10-50-back").len() <= 64);
        assert!(format!("{longest_plan}-g99999").len() <= 80);
    }
}
