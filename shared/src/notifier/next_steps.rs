//! What the reader of an announcement does next: the commands to run, by the outcome it
//! announces.

use crate::domain::release::{LogEntry, Release, ReleaseEvent};

/// The next steps for log entry `entry` of `release`, which announces `outcome`.
pub(super) fn next_steps(
    release: &Release,
    entry: &LogEntry,
    outcome: &str,
    reason: Option<&str>,
) -> Vec<String> {
    let reason = reason.map(str::to_string);
    let next_steps: Vec<String> = match outcome {
        "rolled_back" => vec![
            format!("Look at the alarm: {}", reason.clone().unwrap_or_default()),
            format!("Fix, publish a new version, then retry: `shiftback start {} --alias {} --to NEW_VERSION`", release.function, release.alias),
            format!("History: `shiftback history {}`", release.function),
        ],
        "refused" if release.was_declined() => vec![
            format!("Nothing was shifted: {}", reason.clone().unwrap_or_default()),
            "Publish a fixed version and deploy it; to release this one again all the same, set `Rerelease: true` on the resource".to_string(),
        ],
        "refused" => vec![
            format!("Nothing was shifted. The hook said: {}", reason.clone().unwrap_or_default()),
            format!("Fix, then start again: `shiftback start {} --alias {} --to {}`", release.function, release.alias, release.target_version),
        ],
        "failed" => vec![
            format!("Check where the alias points: `shiftback status {}`", release.id),
            format!("Put it on a known-good version: `shiftback rollback {} --alias {} --to {}`", release.function, release.alias, release.stable_version),
        ],
        _ => Vec::new(),
    };
    match &entry.event {
        ReleaseEvent::DurableExecutionsLeft {
            function, version, ..
        } => durable_next_steps(function.as_deref().unwrap_or(&release.function), version),
        _ => next_steps,
    }
}

/// What an operator does about durable executions left on a reverted version. shiftback
/// lists them and does not stop them: each is a workflow part-way through its work (a payment
/// taken, a message sent), and whether to let it finish on the old code, or to stop it and
/// compensate, is a decision about that execution, not about the release.
fn durable_next_steps(function: &str, version: &str) -> Vec<String> {
    vec![
        format!(
            "List them: `shiftback durable {function} --version {version}` (or `aws lambda list-durable-executions-by-function --function-name {function} --qualifier {version} --statuses RUNNING`)"
        ),
        "Each finishes on that version's code; to stop one: `aws lambda stop-durable-execution --durable-execution-arn ARN`".to_string(),
    ]
}
