//! What the release records say of a version, and the record of a version not released
//! again: where the provider's decisions on rejected versions come from.

use super::*;
use crate::domain::record_of;
use crate::ports::Ports;

impl<P: Ports> ReleaseService<P> {
    /// What the record says of `version` on `function:alias` ([`record_of`]).
    pub(super) async fn version_record(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> Result<VersionRecord> {
        let mut page = None;
        let mut releases = Vec::new();
        for _ in 0..HISTORY_PAGES {
            let history = self.store.history(function, 100, page.as_deref()).await?;
            for summary in &history.releases {
                for mut view in summary.views_of(function) {
                    if view.alias != alias {
                        continue;
                    }
                    // History lists releases without their logs; a verdict on a release's own
                    // target is read from its log (who rolled it back, and why).
                    if view.target_version == version && view.phase.is_terminal() {
                        view.log = self.store.load(&view.id).await?.release.log;
                    }
                    releases.push(view);
                }
            }
            match history.next {
                Some(next) => page = Some(next),
                None => break,
            }
        }
        Ok(record_of(&releases, version))
    }

    /// Records, as a release that ends before any traffic moves, that `alias`'s target is not
    /// released again and why: the history says what the stack asked for and what came of it.
    /// A repeated request finds its record there already.
    pub(super) async fn record_declined(
        &self,
        release_id: &str,
        alias: crate::domain::Member,
        why: &str,
        by: &str,
    ) -> Result<()> {
        let version = alias.target_version.clone();
        let spec = crate::domain::ReleaseSpec {
            release_id: Some(release_id.to_string()),
            function: alias.function,
            alias: alias.alias,
            stable_version: alias.stable_version,
            target_version: alias.target_version,
            members: Vec::new(),
            strategy: crate::domain::Strategy::AllAtOnce,
            alarms: Vec::new(),
            alarm_overrides: Vec::new(),
            bake_after_secs: 0,
            started_by: by.to_string(),
            kind: Default::default(),
            analysis: crate::domain::AnalysisSettings::off(),
            retain_versions: None,
            hooks: Default::default(),
            gates: Default::default(),
            labels: Default::default(),
        };
        let at = self.store.now();
        let mut release = Release::new(spec, at)?;
        let reason = format!("version {version}: {why}");
        release.apply(crate::domain::Input::Decline { reason }, at, by)?;
        match self.store.create(&release, at, None).await {
            Ok(created) => {
                self.after_write(&created.release).await;
                Ok(())
            }
            Err(Error::ReleaseExists(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// An alias of `function` on `stable`, asked to go to `version`.
pub(super) fn asked_for(
    function: &str,
    alias: &str,
    stable: &str,
    version: &str,
) -> crate::domain::Member {
    crate::domain::Member {
        function: function.to_string(),
        alias: alias.to_string(),
        stable_version: stable.to_string(),
        target_version: version.to_string(),
    }
}
