//! One file per command; each takes the parsed command line and the deployed resources and
//! returns the exit code.

pub mod completions;
pub mod control;
pub mod create_table;
pub mod dashboard;
pub mod durable;
pub mod history;
pub mod list;
pub mod plan;
pub mod prune;
pub mod rollback;
pub mod start;
pub mod status;
pub mod waves;

#[cfg(test)]
mod tests;

use chrono::Utc;
use shiftback::domain::gates::Gates;
use shiftback::domain::release::new_release_id;
use shiftback::domain::{check_version, AnalysisSettings};
use shiftback::hooks::Hooks;
use shiftback::ports::Ports;
use shiftback::service::retention::PruneRequest;
use shiftback::service::{ReleaseService, StartRequest};

use crate::args::ReleaseArgs;
use crate::resources::Resources;
use crate::{usage, Failure};

/// The checks `plan` and `start` share, which are the start handler's own
/// ([`ReleaseService::preflight`]); returns the release request and what was checked.
pub async fn preflight<P: Ports>(
    service: &ReleaseService<P>,
    args: &ReleaseArgs,
    target: &str,
) -> Result<shiftback::service::Preflight, Failure> {
    let bake_after_secs = shiftback::domain::strategy::parse_duration(&args.bake_after)
        .map_err(|e| usage(e.to_string()))?;
    if let Some(from) = &args.from {
        check_version("stable", from).map_err(|e| usage(e.to_string()))?;
    }
    let mut analysis = AnalysisSettings::default();
    for option in &args.analysis {
        analysis
            .set(option)
            .map_err(|e| usage(format!("--analysis {option}: {e}")))?;
    }
    let deadline_secs = shiftback::domain::strategy::parse_duration(&args.hook_deadline)
        .map_err(|e| usage(format!("--hook-deadline: {e}")))?;
    let hooks = Hooks {
        pre_traffic: args.pre_traffic_hook.clone(),
        post_traffic: args.post_traffic_hook.clone(),
        deadline_secs,
    };
    let gates = Gates {
        before_promote: args.gate_before_promote,
        timeout_secs: shiftback::domain::strategy::parse_duration(&args.gate_timeout)
            .map_err(|e| usage(format!("--gate-timeout: {e}")))?,
        on_timeout: args.on_gate_timeout,
    };
    let members = args
        .members
        .iter()
        .map(|m| shiftback::domain::Member::parse(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| usage(format!("--member: {e}")))?;
    let request = StartRequest {
        labels: labels_of(args)?,
        members,
        gates,
        hooks,
        release_id: Some(new_release_id(Utc::now())),
        function: args.function.clone(),
        alias: args.alias.clone(),
        stable_version: args.from.clone(),
        target_version: target.to_string(),
        strategy: args.strategy.clone(),
        alarms: args.alarms.clone(),
        alarm_overrides: args.overrides.clone(),
        bake_after_secs,
        started_by: String::new(),
        kind: Default::default(),
        analysis,
        retain_versions: args.retain,
        supersede: args.supersede,
    };
    Ok(service.preflight(request).await?)
}

/// The `--label KEY=VALUE` flags, checked.
pub fn labels_of(
    args: &ReleaseArgs,
) -> Result<std::collections::BTreeMap<String, String>, Failure> {
    let labels = args
        .labels
        .iter()
        .map(|l| shiftback::domain::parse_label(l))
        .collect::<Result<std::collections::BTreeMap<_, _>, _>>()
        .map_err(|e| usage(format!("--label: {e}")))?;
    shiftback::domain::check_labels(&labels).map_err(|e| usage(format!("--label: {e}")))?;
    Ok(labels)
}

/// Triggers of the function that do not go through the alias being released: their traffic is
/// neither shifted nor reverted. A listing that fails is a warning too, never a refusal.
pub async fn bypass_warnings(resources: &Resources, function: &str, alias: &str) -> Vec<String> {
    let found = match resources.retention().await {
        Ok(retention) => retention.bypassing(function, alias).await,
        Err(failure) => return vec![format!("triggers not checked: {}", failure.message)],
    };
    match found {
        Ok(found) => found
            .into_iter()
            .map(|f| format!("{f}: a release does not shift or revert that traffic"))
            .collect(),
        Err(e) => vec![format!("triggers not checked: {e}")],
    }
}

/// The account's code storage, and what pruning the function (keeping `keep`) would free.
pub async fn storage_note(resources: &Resources, function: &str, keep: usize) -> String {
    let retention = match resources.retention().await {
        Ok(retention) => retention,
        Err(failure) => return format!("code storage not checked: {}", failure.message),
    };
    let request = PruneRequest::dry_run(function, keep);
    match retention.prune(&request).await {
        Ok(report) => {
            let doomed = report.plan.to_delete().len();
            let frees = crate::output::bytes(report.plan.frees());
            let storage = match &report.storage {
                Some(Ok(s)) => format!(
                    "code storage {} of {} used",
                    crate::output::bytes(s.used),
                    crate::output::bytes(s.limit)
                ),
                _ => "code storage not read".to_string(),
            };
            format!(
                "{storage}; `shiftback prune {function} --keep {keep} --apply` would delete {doomed} version(s), freeing {frees}"
            )
        }
        Err(e) => format!("code storage not checked: {e}"),
    }
}
