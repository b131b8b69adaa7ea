//! Version retention as a use case: list what a function's versions are used for, decide by
//! the domain's rules, and (when asked) delete the rest, oldest first, pacing the deletes.
//! A version Lambda refuses to delete (an alias made since the listing) is kept, not an
//! error; a run stopped by an error reports what it had done, and running it again resumes.

use serde::Serialize;

use crate::domain::{function_ref, Release};
use crate::error::{Error, Result};
use crate::ports::{CodeStorage, Deletion, ReleaseRecords, VersionCatalog};
use crate::retention::LambdaVersions;
use crate::retention::{
    bypassing_triggers, plan_retention, KeepReason, Retention, RetentionPlan,
    DEFAULT_ROLLBACK_DEPTH,
};
use crate::store::DynamoStore;

/// Releases of the function read for the rules (in-progress ones and rollback targets are
/// among the newest): five history pages.
const HISTORY_READ: usize = 500;

/// Retention over its ports: Lambda's versions and the release history.
#[derive(Clone, Debug)]
pub struct VersionRetention<C = LambdaVersions, S = DynamoStore> {
    pub catalog: C,
    pub store: S,
}

/// What `prune` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneRequest {
    pub function: String,
    pub keep_newest: usize,
    pub rollback_depth: usize,
    /// False: a dry run, nothing deleted.
    pub apply: bool,
}

impl PruneRequest {
    pub fn dry_run(function: &str, keep_newest: usize) -> PruneRequest {
        PruneRequest {
            function: function.to_string(),
            keep_newest,
            rollback_depth: DEFAULT_ROLLBACK_DEPTH,
            apply: false,
        }
    }
}

/// What a prune found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    pub function: String,
    pub plan: RetentionPlan,
    /// The account's code storage, or why it could not be read (None: not asked; the
    /// workflow's retention does not ask).
    pub storage: Option<std::result::Result<CodeStorage, String>>,
    /// Each capacity provider the function's versions run on: the function versions it holds
    /// (every function's, against its quota of 100), or why they could not be counted; and
    /// how many of them the plan deletes.
    pub providers: Vec<ProviderUse>,
    pub applied: bool,
    pub outcome: DeleteOutcome,
}

/// One capacity provider's versions, as `prune` reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUse {
    pub provider: String,
    pub holds: std::result::Result<usize, String>,
    pub deleting: usize,
}

/// What the deletes did: each version in one list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeleteOutcome {
    pub deleted: Vec<String>,
    /// Lambda refused (in use since the listing): kept, with Lambda's reason.
    pub refused: Vec<(String, String)>,
    pub already_gone: Vec<String>,
    /// Not attempted: the error that stopped the run.
    pub not_attempted: Vec<String>,
    pub stopped_by: Option<String>,
}

impl<C: VersionCatalog, S: ReleaseRecords> VersionRetention<C, S> {
    /// Lists, decides and, if `request.apply`, deletes.
    pub async fn prune(&self, request: &PruneRequest) -> Result<PruneReport> {
        let mut report = prune_with(&self.catalog, &self.store, request).await?;
        report.storage = Some(self.catalog.code_storage().await.map_err(|e| e.to_string()));
        let mut providers: Vec<String> = report
            .plan
            .fates
            .iter()
            .filter_map(|f| f.version.capacity_provider.clone())
            .collect();
        providers.sort();
        providers.dedup();
        for provider in providers {
            let deleting = report
                .plan
                .fates
                .iter()
                .filter(|f| f.deleted() && f.version.capacity_provider.as_ref() == Some(&provider))
                .count();
            let holds = self
                .catalog
                .provider_versions(&provider)
                .await
                .map_err(|e| e.to_string());
            report.providers.push(ProviderUse {
                provider,
                holds,
                deleting,
            });
        }
        Ok(report)
    }

    /// Triggers of `function` that do not go through `alias` (see [`bypassing_triggers`]).
    pub async fn bypassing(&self, function: &str, alias: &str) -> Result<Vec<String>> {
        let function = whole_function(function)?;
        let mut uses = self.catalog.uses(&function).await?;
        uses.latest_invokers = self.catalog.latest_invokers(&function).await?;
        Ok(bypassing_triggers(&uses, alias))
    }
}

/// [`VersionRetention::prune`] over borrowed ports: the workflow's automatic retention runs
/// it with the release service's own store.
pub async fn prune_with<C: VersionCatalog, S: ReleaseRecords>(
    catalog: &C,
    store: &S,
    request: &PruneRequest,
) -> Result<PruneReport> {
    let function = whole_function(&request.function)?;
    let retention = Retention::new(request.keep_newest, request.rollback_depth)
        .map_err(|e| Error::BadRequest(format!("--keep {}: {e}", request.keep_newest)))?;
    let versions = catalog.versions(&function).await?;
    let uses = catalog.uses(&function).await?;
    let releases = recent_releases(store, &function).await?;
    let mut plan = plan_retention(&versions, &uses, &releases, retention, store.now());
    check_before_delete(catalog, &function, &mut plan).await;
    let outcome = if request.apply {
        delete(catalog, &function, &plan).await
    } else {
        DeleteOutcome::default()
    };
    Ok(PruneReport {
        function,
        plan,
        storage: None,
        providers: Vec::new(),
        applied: request.apply,
        outcome,
    })
}

/// What only a per-version read shows, asked of the versions the plan would delete (so a
/// function with hundreds of versions in use costs no call for them): a resource policy of
/// the version's own (whoever it names calls the version's ARN, and would fail once it is
/// gone), and a durable function's executions still running on it. A read that fails keeps
/// the version, with the reason: never a delete on doubt.
async fn check_before_delete<C: VersionCatalog>(
    catalog: &C,
    function: &str,
    plan: &mut RetentionPlan,
) {
    // A rollback target whose code Lambda cannot retrieve (kept by reference, the team's
    // object since deleted) is kept all the same, and said: a rollback to it would fail.
    let targets: Vec<String> = plan
        .fates
        .iter()
        .filter(|f| {
            f.kept_for
                .iter()
                .any(|k| matches!(k, KeepReason::RollbackTarget { .. }))
        })
        .map(|f| f.version.version.clone())
        .collect();
    for version in targets {
        match catalog.code_location(function, &version).await {
            Ok(code) => {
                if let Some(why) = code.unretrievable {
                    set_warning(
                        plan,
                        &version,
                        format!(
                            "its code cannot be retrieved ({why}): a rollback to it would fail"
                        ),
                    );
                }
            }
            Err(e) => {
                tracing::warn!(%function, %version, error = %e, "rollback target's code not checked")
            }
        }
    }
    let candidates: Vec<(String, bool)> = plan
        .fates
        .iter()
        .filter(|f| f.deleted())
        .map(|f| (f.version.version.clone(), f.version.durable))
        .collect();
    for (version, durable) in candidates {
        // Code kept by reference in the team's bucket: deleting the version frees nothing of
        // the quota (a read that fails counts it as Lambda's, as before).
        if let Ok(code) = catalog.code_location(function, &version).await {
            if let Some(fate) = plan.fates.iter_mut().find(|f| f.version.version == version) {
                fate.by_reference = code.reference;
            }
        }
        match catalog.version_grants(function, &version).await {
            Ok(grants) if grants.is_empty() => {}
            Ok(grants) => plan.keep(&version, KeepReason::Granted { grants }),
            Err(e) => plan.keep(&version, unchecked("its resource policy", &e)),
        }
        if !durable {
            continue;
        }
        match catalog.running_durable_executions(function, &version).await {
            Ok((0, false)) => {}
            Ok((running, more)) => {
                plan.keep(&version, KeepReason::DurableExecutions { running, more })
            }
            Err(e) => plan.keep(&version, unchecked("its durable executions", &e)),
        }
    }
}

fn set_warning(plan: &mut RetentionPlan, version: &str, warning: String) {
    if let Some(fate) = plan.fates.iter_mut().find(|f| f.version.version == version) {
        fate.warning = Some(warning);
    }
}

fn unchecked(what: &str, e: &Error) -> KeepReason {
    KeepReason::Unchecked {
        what: what.to_string(),
        why: e.to_string(),
    }
}

/// Oldest first, so a run cut short has freed the versions least likely to be wanted.
async fn delete<C: VersionCatalog>(
    catalog: &C,
    function: &str,
    plan: &RetentionPlan,
) -> DeleteOutcome {
    let mut outcome = DeleteOutcome::default();
    let mut doomed = plan.to_delete();
    doomed.reverse();
    let mut doomed = doomed.into_iter();
    for version in doomed.by_ref() {
        match catalog.delete_version(function, &version).await {
            Ok(Deletion::Deleted) => outcome.deleted.push(version),
            Ok(Deletion::Refused(why)) => outcome.refused.push((version, why)),
            Ok(Deletion::AlreadyGone) => outcome.already_gone.push(version),
            Err(e) => {
                tracing::warn!(%function, %version, error = %e, "prune stopped");
                outcome.not_attempted.push(version);
                outcome.stopped_by = Some(e.to_string());
                break;
            }
        }
    }
    outcome.not_attempted.extend(doomed);
    outcome
}

async fn recent_releases<S: ReleaseRecords>(store: &S, function: &str) -> Result<Vec<Release>> {
    let mut releases = Vec::new();
    let mut page = None;
    while releases.len() < HISTORY_READ {
        let history = store.history(function, 100, page.as_deref()).await?;
        // A group is judged by its member of this function.
        releases.extend(history.releases.iter().flat_map(|r| r.views_of(function)));
        match history.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    Ok(releases)
}

/// The function's bare name; a qualified name (a version or an alias) is refused by name.
fn whole_function(function: &str) -> Result<String> {
    if let Some(reference) = function_ref(function) {
        return Ok(reference.name.to_string());
    }
    let qualified = function
        .rsplit_once(':')
        .is_some_and(|(unqualified, _)| function_ref(unqualified).is_some());
    if qualified {
        return Err(Error::BadRequest(format!(
            "{function} names one version or alias; retention works on the whole function: pass its name without the qualifier"
        )));
    }
    Err(crate::domain::SpecError::FunctionName(function.chars().take(160).collect()).into())
}
