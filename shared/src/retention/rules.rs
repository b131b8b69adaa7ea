//! Version retention: which published versions of a function stay, and why each one does.
//! Pure: the adapters list the versions and everything that refers to them; this decides.
//! Lambda refuses to delete only a version an alias routes to; every other use (an event
//! source mapping, provisioned concurrency, a release's rollback target) is ours to protect.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::release::valid_version;
use crate::domain::{AliasRouting, Phase, Release, Weight};

#[cfg(test)]
mod tests;

/// The succeeded releases per alias whose versions stay, unless a release says otherwise:
/// what `shiftback rollback --to` can go back to.
pub const DEFAULT_ROLLBACK_DEPTH: usize = 3;

/// One published version of the function (never `$LATEST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    pub version: String,
    pub code_size: i64,
    pub last_modified: Option<DateTime<Utc>>,
    /// A durable function's version (`DurableConfig`): an execution started on it stays on it
    /// for as long as it runs (up to a year), whatever the alias does since.
    pub durable: bool,
    /// The capacity provider it runs on (Lambda Managed Instances), whose 100 function
    /// versions, every function's together, it counts against.
    pub capacity_provider: Option<String>,
}

impl PublishedVersion {
    fn number(&self) -> u64 {
        self.version.parse().unwrap_or(0)
    }
}

/// What refers to the function's versions, by qualifier, as Lambda lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionUses {
    pub aliases: Vec<(String, AliasRouting)>,
    /// Event source mappings: their id, and the qualifier of the function ARN they invoke
    /// (None: the unqualified function, that is `$LATEST`).
    pub mappings: Vec<(String, Option<String>)>,
    /// Qualifiers (alias or version) with provisioned concurrency.
    pub provisioned: Vec<String>,
    /// Qualifiers (alias, or None for `$LATEST`) with a function URL.
    pub urls: Vec<Option<String>>,
    /// Statements of the unqualified function's resource policy letting an AWS service invoke
    /// it (their id and the service): an API, rule or schedule calling `$LATEST`. A grant for
    /// an alias lives in that alias's own policy.
    pub latest_invokers: Vec<(String, String)>,
}

/// Why a version stays.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeepReason {
    Newest {
        keep: usize,
    },
    Alias {
        alias: String,
        weight: Option<Weight>,
    },
    EventSourceMapping {
        id: String,
        via: Option<String>,
    },
    ProvisionedConcurrency {
        qualifier: String,
    },
    FunctionUrl {
        alias: String,
    },
    Release {
        id: String,
        role: &'static str,
        state: &'static str,
    },
    RollbackTarget {
        alias: String,
        release: String,
    },
    /// Its own resource policy lets these invoke it by its ARN (an API, a rule, a schedule, a
    /// topic, a bucket, a state machine, another account), each `sid: principal`.
    Granted {
        grants: Vec<String>,
    },
    /// Durable executions still running on it (`more`: at least this many).
    DurableExecutions {
        running: usize,
        more: bool,
    },
    /// What could not be read: kept, never deleted on doubt.
    Unchecked {
        what: String,
        why: String,
    },
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let via = |via: &Option<String>| match via {
            Some(alias) => format!(" through alias {alias}"),
            None => String::new(),
        };
        match self {
            KeepReason::Newest { keep } => write!(f, "one of the newest {keep}"),
            KeepReason::Alias {
                alias,
                weight: None,
            } => write!(f, "alias {alias} routes to it"),
            KeepReason::Alias {
                alias,
                weight: Some(w),
            } => write!(f, "alias {alias} routes {w} to it"),
            KeepReason::EventSourceMapping { id, via: v } => {
                write!(f, "event source mapping {id}{}", via(v))
            }
            KeepReason::ProvisionedConcurrency { qualifier } => {
                write!(f, "provisioned concurrency on {qualifier}")
            }
            KeepReason::FunctionUrl { alias } => write!(f, "function URL of alias {alias}"),
            KeepReason::Release { id, role, state } => {
                write!(f, "{role} version of release {id}, {state}")
            }
            KeepReason::RollbackTarget { alias, release } => {
                write!(f, "rollback target of alias {alias} (release {release})")
            }
            KeepReason::Granted { grants } => write!(
                f,
                "its resource policy lets {} invoke it by ARN",
                grants.join(", ")
            ),
            KeepReason::DurableExecutions { running, more } => write!(
                f,
                "{running}{} durable execution(s) still running on it",
                if *more { " or more" } else { "" }
            ),
            KeepReason::Unchecked { what, why } => {
                write!(
                    f,
                    "{what} not read ({why}): kept rather than deleted on doubt"
                )
            }
        }
    }
}

/// What becomes of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFate {
    pub version: PublishedVersion,
    /// Empty: deleted.
    pub kept_for: Vec<KeepReason>,
    /// Its code is kept by reference in the team's bucket (this object), not in Lambda's
    /// storage: deleting it frees nothing of the quota.
    pub by_reference: Option<String>,
    /// What is wrong with it that retention cannot fix (a rollback target whose code Lambda
    /// cannot retrieve).
    pub warning: Option<String>,
}

impl VersionFate {
    pub fn deleted(&self) -> bool {
        self.kept_for.is_empty()
    }
}

/// The rules' answer for a function, newest version first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPlan {
    pub fates: Vec<VersionFate>,
}

impl RetentionPlan {
    /// Keeps `version` for `reason` too (a fact read once the plan named it for deletion).
    pub fn keep(&mut self, version: &str, reason: KeepReason) {
        if let Some(fate) = self.fates.iter_mut().find(|f| f.version.version == version) {
            if !fate.kept_for.contains(&reason) {
                fate.kept_for.push(reason);
                fate.kept_for.sort();
            }
        }
    }

    pub fn to_delete(&self) -> Vec<String> {
        self.fates
            .iter()
            .filter(|f| f.deleted())
            .map(|f| f.version.version.clone())
            .collect()
    }

    /// Bytes of code the deletions free.
    pub fn frees(&self) -> i64 {
        self.fates
            .iter()
            .filter(|f| f.deleted() && f.by_reference.is_none())
            .map(|f| f.version.code_size)
            .sum()
    }
}

/// What an automatic retention did, for the release's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneSummary {
    pub kept: usize,
    pub deleted: Vec<String>,
    /// Lambda refused (in use since the listing): kept.
    pub refused: Vec<String>,
    /// Bytes of code the deletes freed.
    pub freed: i64,
    /// What stopped it before it was done, if anything.
    pub error: Option<String>,
}

impl PruneSummary {
    /// One line for the log's reader and the announcement.
    pub fn describe(&self) -> String {
        let mut text = if self.deleted.is_empty() {
            format!("no version to delete; {} kept", self.kept)
        } else {
            format!(
                "deleted {} old version(s) ({}), freeing {:.1} MB; {} kept",
                self.deleted.len(),
                self.deleted.join(", "),
                self.freed as f64 / 1e6,
                self.kept
            )
        };
        if !self.refused.is_empty() {
            text += &format!(
                "; Lambda refused {} (in use since the listing), kept",
                self.refused.join(", ")
            );
        }
        if let Some(error) = &self.error {
            text += &format!("; stopped: {error}");
        }
        text
    }
}

/// How much to keep beyond what is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The newest published versions kept whatever else holds (at least 1).
    pub keep_newest: usize,
    /// Succeeded releases per alias whose versions stay as rollback targets.
    pub rollback_depth: usize,
}

impl Retention {
    pub fn new(keep_newest: usize, rollback_depth: usize) -> Result<Retention, String> {
        if keep_newest == 0 {
            return Err("keep at least 1 version: the newest may be about to be released".into());
        }
        Ok(Retention {
            keep_newest,
            rollback_depth,
        })
    }
}

/// Decides every version's fate. `releases` is the function's recent history, newest first.
pub fn plan_retention(
    versions: &[PublishedVersion],
    uses: &VersionUses,
    releases: &[Release],
    retention: Retention,
    now: DateTime<Utc>,
) -> RetentionPlan {
    let mut reasons: BTreeMap<String, BTreeSet<KeepReason>> = BTreeMap::new();
    let mut keep = |version: &str, reason: KeepReason| {
        reasons
            .entry(version.to_string())
            .or_default()
            .insert(reason);
    };

    let mut newest: Vec<&PublishedVersion> = versions.iter().collect();
    newest.sort_by_key(|v| std::cmp::Reverse(v.number()));
    for v in newest.iter().take(retention.keep_newest) {
        keep(
            &v.version,
            KeepReason::Newest {
                keep: retention.keep_newest,
            },
        );
    }

    let alias_versions = |alias: &str| -> Vec<String> {
        uses.aliases
            .iter()
            .filter(|(name, _)| name == alias)
            .flat_map(|(_, routing)| {
                std::iter::once(routing.version.clone())
                    .chain(routing.extra.iter().map(|(v, _)| v.clone()))
            })
            .collect()
    };
    // A qualifier is a version number or an alias (whose versions it then uses).
    let resolve = |qualifier: &str| -> (Vec<String>, Option<String>) {
        if valid_version(qualifier) {
            (vec![qualifier.to_string()], None)
        } else {
            (alias_versions(qualifier), Some(qualifier.to_string()))
        }
    };

    for (alias, routing) in &uses.aliases {
        keep(
            &routing.version,
            KeepReason::Alias {
                alias: alias.clone(),
                weight: None,
            },
        );
        if let Some((version, weight)) = &routing.extra {
            keep(
                version,
                KeepReason::Alias {
                    alias: alias.clone(),
                    weight: Some(*weight),
                },
            );
        }
    }
    for (id, qualifier) in &uses.mappings {
        let Some(qualifier) = qualifier else { continue };
        let (versions, via) = resolve(qualifier);
        for v in versions {
            let reason = KeepReason::EventSourceMapping {
                id: id.clone(),
                via: via.clone(),
            };
            keep(&v, reason);
        }
    }
    for qualifier in &uses.provisioned {
        for v in resolve(qualifier).0 {
            let reason = KeepReason::ProvisionedConcurrency {
                qualifier: qualifier.clone(),
            };
            keep(&v, reason);
        }
    }
    for alias in uses.urls.iter().flatten() {
        for v in alias_versions(alias) {
            keep(
                &v,
                KeepReason::FunctionUrl {
                    alias: alias.clone(),
                },
            );
        }
    }

    let mut succeeded_per_alias: BTreeMap<&str, usize> = BTreeMap::new();
    for release in releases {
        let state = if !release.phase.is_terminal() {
            Some("in progress")
        } else if release.guard_until().is_some_and(|until| now < until) {
            Some("in its bake window")
        } else {
            None
        };
        if let Some(state) = state {
            for (role, version) in [
                ("stable", &release.stable_version),
                ("target", &release.target_version),
            ] {
                let reason = KeepReason::Release {
                    id: release.id.clone(),
                    role,
                    state,
                };
                keep(version, reason);
            }
        }
        if release.phase == Phase::Succeeded {
            let seen = succeeded_per_alias.entry(&release.alias).or_default();
            if *seen < retention.rollback_depth {
                *seen += 1;
                // Both ends were live on the alias: either is a place to go back to.
                for version in [&release.target_version, &release.stable_version] {
                    let reason = KeepReason::RollbackTarget {
                        alias: release.alias.clone(),
                        release: release.id.clone(),
                    };
                    keep(version, reason);
                }
            }
        }
    }

    let fates = newest
        .into_iter()
        .map(|v| VersionFate {
            version: v.clone(),
            kept_for: reasons
                .get(&v.version)
                .map(|r| r.iter().cloned().collect())
                .unwrap_or_default(),
            by_reference: None,
            warning: None,
        })
        .collect();
    RetentionPlan { fates }
}

/// Triggers that invoke `function` without going through `alias`: their traffic is neither
/// shifted nor reverted by a release on the alias. Each finding names the trigger.
pub fn bypassing_triggers(uses: &VersionUses, alias: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (id, qualifier) in &uses.mappings {
        match qualifier.as_deref() {
            Some(q) if q == alias => {}
            Some(q) if valid_version(q) => found.push(format!(
                "event source mapping {id} invokes version {q}, not alias {alias}"
            )),
            Some(q) if q != "$LATEST" => found.push(format!(
                "event source mapping {id} invokes alias {q}, not alias {alias}"
            )),
            _ => found.push(format!(
                "event source mapping {id} invokes $LATEST, not alias {alias}"
            )),
        }
    }
    for qualifier in &uses.urls {
        match qualifier.as_deref() {
            Some(q) if q == alias => {}
            Some(q) => found.push(format!(
                "the function URL of alias {q} does not go through alias {alias}"
            )),
            None => found.push(format!(
                "the function URL of $LATEST does not go through alias {alias}"
            )),
        }
    }
    for (statement, service) in &uses.latest_invokers {
        found.push(format!(
            "the function's resource policy (statement {statement}) lets {service} invoke $LATEST, not alias {alias}"
        ));
    }
    found
}
