//! `plan`'s advice on its steps' analysis, from the alias's traffic of the last hour.

use chrono::Duration;

use super::*;
use crate::analysis::advice::{step_advice, RecentTraffic};
use crate::error::Result;
use crate::ports::Ports;
use crate::ports::{HealthSource, ReleaseRecords, VersionsQuery};

/// How far back `plan` looks at the function's traffic.
const RECENT_MINUTES: i64 = 60;

impl<P: Ports> ReleaseService<P> {
    /// Which steps of `checked` (a preflight's request and spec) are too short for the
    /// analysis to decide at the stable version's traffic of the last hour, and what to do.
    /// A read that fails is said, not an error: a plan changes nothing either way.
    pub async fn analysis_advice(&self, checked: &crate::service::Preflight) -> Vec<String> {
        let spec = &checked.spec;
        if !spec.analysis.enabled {
            return Vec::new();
        }
        let now = self.store.now();
        let query = VersionsQuery {
            function: spec.function.clone(),
            alias: spec.alias.clone(),
            target_version: spec.stable_version.clone(),
            stable_version: spec.stable_version.clone(),
            start: now - Duration::minutes(RECENT_MINUTES),
            end: now,
        };
        let traffic: Result<RecentTraffic> = async {
            let seen = self.health.compare_versions(&query).await?;
            Ok(seen.stable.iter().fold(
                RecentTraffic {
                    minutes: RECENT_MINUTES as f64,
                    invocations: 0.0,
                    errors: 0.0,
                },
                |t, m| RecentTraffic {
                    invocations: t.invocations + m.invocations,
                    errors: t.errors + m.errors,
                    ..t
                },
            ))
        }
        .await;
        let Ok(schedule) = spec.strategy.schedule() else {
            return Vec::new();
        };
        match traffic {
            Ok(traffic) => step_advice(&schedule, &spec.analysis, &traffic),
            Err(e) => vec![format!(
                "canary analysis: the last hour's traffic could not be read ({e}), so how long a step must last to decide is not known"
            )],
        }
    }
}
