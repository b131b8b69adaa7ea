//! Revert-to: put an alias on any version its history records as good.

use super::*;
use crate::domain::{check_names, check_version, Phase, ReleaseKind, Strategy};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::ReleaseRecords;

impl<P: Ports> ReleaseService<P> {
    /// Reverts an alias to any version its history records as good, as a release of its own
    /// (kind `revert`, all at once), so it takes the alias lock and leaves a record.
    pub async fn revert_to(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        by: &str,
        release_id: Option<String>,
    ) -> Result<StepOutcome> {
        self.revert_to_labelled(function, alias, version, by, release_id, Default::default())
            .await
    }

    /// The same, its record labelled (a wave plan's revert names its plan).
    pub async fn revert_to_labelled(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        by: &str,
        release_id: Option<String>,
        labels: std::collections::BTreeMap<String, String>,
    ) -> Result<StepOutcome> {
        check_names(function, alias, release_id.as_deref())?;
        check_version("rollback", version)?;
        let function = &self.canonical(function)?;
        if !self.was_good(function, alias, version).await? {
            return Err(Error::NotKnownGood {
                function: function.to_string(),
                version: version.to_string(),
            });
        }
        let started = self
            .start(StartRequest {
                supersede: false,
                labels,
                members: Vec::new(),
                gates: Default::default(),
                hooks: Default::default(),
                release_id,
                function: function.to_string(),
                alias: alias.to_string(),
                stable_version: None,
                target_version: version.to_string(),
                strategy: Strategy::AllAtOnce.to_string(),
                alarms: Vec::new(),
                alarm_overrides: Vec::new(),
                bake_after_secs: 0,
                started_by: by.to_string(),
                kind: ReleaseKind::Revert,
                // All at once to a version already proven: nothing to compare it with.
                analysis: AnalysisSettings::off(),
                retain_versions: None,
            })
            .await?;
        self.promote(StepInput::of(&started.release_id)).await
    }

    /// Was `version` ever live on this alias by shiftback's records?
    async fn was_good(&self, function: &str, alias: &str, version: &str) -> Result<bool> {
        let mut page = None;
        loop {
            let history = self.store.history(function, 100, page.as_deref()).await?;
            let found = history
                .releases
                .iter()
                .flat_map(|r| r.views_of(function))
                .filter(|r| r.alias == alias)
                .any(|r| {
                    (r.phase == Phase::Succeeded && r.target_version == version)
                        || r.stable_version == version
                });
            if found {
                return Ok(true);
            }
            match history.next {
                Some(next) => page = Some(next),
                None => return Ok(false),
            }
        }
    }
}
