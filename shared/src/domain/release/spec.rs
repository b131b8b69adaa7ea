//! What a release is asked to do, validated before anything is recorded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use crate::domain::gates::Gates;
use crate::domain::strategy::{Schedule, Strategy, StrategyError};
use crate::hooks::{Hooks, MAX_HOOK_DEADLINE_SECS};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error(transparent)]
    Strategy(#[from] StrategyError),
    #[error("{steps} steps, each waiting up to {extension_secs}s for an inconclusive verdict a minute at a time, make up to {looks} looks; the workflow's 25,000-event history holds {max} (MAX_LOOKS): shorten max_extension_secs or use fewer steps")]
    TooManyLooks {
        steps: usize,
        extension_secs: u64,
        looks: u64,
        max: u64,
    },
    #[error("invalid function name '{0}': use the function's name or ARN without a qualifier")]
    FunctionName(String),
    #[error("function '{function}' is in region {region}, but shiftback runs in {ours}: release it with the shiftback stack of that region")]
    FunctionElsewhere {
        function: String,
        region: String,
        ours: String,
    },
    #[error("invalid alias name '{0}': 1-128 letters, digits, '-' or '_', not only digits, and not $LATEST")]
    AliasName(String),
    #[error("invalid {role} version '{value}': name a published version number ($LATEST cannot be weighted)")]
    Version { role: &'static str, value: String },
    #[error("the target version {0} is already the stable version: nothing to release")]
    SameVersion(String),
    #[error("invalid alarm name '{0}': 1-255 characters")]
    AlarmName(String),
    #[error("{0} alarms given; at most {MAX_ALARMS} can guard one release")]
    TooManyAlarms(usize),
    #[error("alarm override '{0}' is not one of the release's alarms")]
    OverrideNotGuarding(String),
    #[error("bake-after window of {0}s is longer than the {MAX_BAKE_AFTER_SECS}s allowed")]
    BakeAfterTooLong(u64),
    #[error(
        "retain_versions must keep at least 1 version (leave it out for no automatic retention)"
    )]
    RetainNothing,
    #[error("invalid release id '{0}': 1-64 letters, digits, '-' or '_'")]
    ReleaseId(String),
    #[error("invalid analysis settings: {0}")]
    Analysis(String),
    #[error("invalid hooks: {0}")]
    Hooks(String),
    #[error("invalid gates: {0}")]
    Gates(String),
    #[error("invalid release group: {0}")]
    Group(String),
    #[error("invalid labels: {0}")]
    Labels(String),
}

/// Is this release moving traffic forward, or an operator's revert to a recorded version?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseKind {
    #[default]
    Deploy,
    Revert,
}

/// What a caller asks for; validated into a [`Release`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSpec {
    /// Supplied by the caller to make a retried start harmless; generated when absent.
    #[serde(default)]
    pub release_id: Option<String>,
    pub function: String,
    pub alias: String,
    pub stable_version: String,
    pub target_version: String,
    /// A group's other members, moved in step with the first.
    #[serde(default)]
    pub members: Vec<Member>,
    pub strategy: Strategy,
    #[serde(default)]
    pub alarms: Vec<String>,
    /// Alarms the requester knows are in ALARM and deploys through anyway (a fix for the
    /// very problem they report). Recorded in the release's log.
    #[serde(default)]
    pub alarm_overrides: Vec<String>,
    #[serde(default)]
    pub bake_after_secs: u64,
    #[serde(default)]
    pub started_by: String,
    #[serde(default)]
    pub kind: ReleaseKind,
    /// Canary analysis: on unless switched off.
    #[serde(default)]
    pub analysis: AnalysisSettings,
    /// After success and the bake window, prune the function's versions keeping this many
    /// newest (and everything in use); None: no automatic retention.
    #[serde(default)]
    pub retain_versions: Option<u32>,
    /// Pre- and post-traffic hooks; none unless named.
    #[serde(default)]
    pub hooks: Hooks,
    #[serde(default)]
    pub gates: Gates,
    /// Where the release came from: `version`, `commit`, `build_url`, or anything else.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

impl ReleaseSpec {
    pub(super) fn validate(&self) -> Result<Schedule, SpecError> {
        if !valid_version(&self.stable_version) {
            return Err(SpecError::Version {
                role: "stable",
                value: self.stable_version.chars().take(40).collect(),
            });
        }
        self.check_group(true)?;
        self.validate_without_stable()
    }

    /// Everything but the stable version, which may only be known once the alias is read:
    /// lets a request be refused for what it says before any AWS call.
    pub fn validate_without_stable(&self) -> Result<Schedule, SpecError> {
        check_names(&self.function, &self.alias, self.release_id.as_deref())?;
        self.check_group(false)?;
        if !valid_version(&self.target_version) {
            return Err(SpecError::Version {
                role: "target",
                value: self.target_version.chars().take(40).collect(),
            });
        }
        // An operator's revert may collapse a split alias onto the version it mostly carries.
        if self.stable_version == self.target_version && self.kind != ReleaseKind::Revert {
            return Err(SpecError::SameVersion(self.target_version.clone()));
        }
        if self.alarms.len() > MAX_ALARMS {
            return Err(SpecError::TooManyAlarms(self.alarms.len()));
        }
        if let Some(bad) = self
            .alarms
            .iter()
            .find(|a| a.trim().is_empty() || a.len() > 255)
        {
            return Err(SpecError::AlarmName(bad.chars().take(80).collect()));
        }
        if let Some(stray) = self
            .alarm_overrides
            .iter()
            .find(|o| !self.alarms.contains(o))
        {
            return Err(SpecError::OverrideNotGuarding(
                stray.chars().take(80).collect(),
            ));
        }
        if self.analysis.enabled {
            self.analysis.check().map_err(SpecError::Analysis)?;
        }
        if self.bake_after_secs > MAX_BAKE_AFTER_SECS {
            return Err(SpecError::BakeAfterTooLong(self.bake_after_secs));
        }
        if self.retain_versions == Some(0) {
            return Err(SpecError::RetainNothing);
        }
        self.hooks
            .check_deadline(MAX_HOOK_DEADLINE_SECS)
            .map_err(SpecError::Hooks)?;
        self.gates.check().map_err(SpecError::Gates)?;
        check_labels(&self.labels)?;
        let schedule = self.strategy.schedule()?;
        // Every look is a loop of the workflow (Route, Bake, Advance): bounded by design, under
        // the execution history's hard limit, whatever the settings ([`MAX_LOOKS`]).
        let looks = worst_case_looks(schedule.steps.len(), self.analysis.max_extension_secs);
        if looks > MAX_LOOKS {
            return Err(SpecError::TooManyLooks {
                steps: schedule.steps.len(),
                extension_secs: self.analysis.max_extension_secs,
                looks,
                max: MAX_LOOKS,
            });
        }
        Ok(schedule)
    }
}

/// The most looks one release's workflow may make: each is a loop of its Route, Bake and
/// Advance states, at most 27 events with every retry the ASL allows (Choice 2, Wait 2, the
/// Lambda task 5, six retries of 3): 700 looks are 18,900 events, and the states a release
/// passes once (start, hooks, gates, promotion, bake window, retention) stay well inside
/// Step Functions' 25,000 (`tests/statemachine.rs` computes it from the ASL).
pub const MAX_LOOKS: u64 = 700;

/// A release's looks at most: one at each step's end, then one a minute while the step's
/// verdict stays inconclusive, for up to `max_extension_secs`.
pub fn worst_case_looks(steps: usize, max_extension_secs: u64) -> u64 {
    steps as u64 * (1 + max_extension_secs.div_ceil(super::INCONCLUSIVE_RETRY_SECS))
}

/// A fresh, sortable, readable release id: `r-20261122T171500-3fa2`.
pub fn new_release_id(now: DateTime<Utc>) -> String {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("r-{}-{suffix}", now.format("%Y%m%dT%H%M%S"))
}
