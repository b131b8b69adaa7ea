//! `shiftback`: the operator's CLI. Human output by default, `--json` everywhere.
//!
//! Exit codes: 0 done; 2 usage (bad flags, strategy or request); 3 refused (lock held, alarm
//! firing, not allowed in the release's phase, unknown function or version); 4 AWS failure;
//! 5 the watched release ended without promoting.

mod args;
mod commands;
#[cfg(test)]
mod doc_flags;
mod output;
mod resources;

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;
use shiftback::service::retention::PruneRequest;
use shiftback::service::Control;
use shiftback::waves::is_plan_id;
use shiftback::Error;

use args::{Cli, Command};
use resources::Resources;

/// A failure and the exit code it maps to.
#[derive(Clone)]
pub struct Failure {
    code: u8,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Spec(_) | Error::Strategy(_) | Error::BadRequest(_) => 2,
            Error::Aws(_) => 4,
            _ => 3,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

pub fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

/// Who is asking, for the record.
pub fn actor(cli: &Cli) -> String {
    cli.by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|| "cli".to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            if cli.json {
                println!(
                    "{}",
                    json!({"error": failure.message, "exit_code": failure.code})
                );
            } else {
                eprintln!("shiftback: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

async fn run(cli: &Cli) -> Result<u8, Failure> {
    use commands::*;
    if let Command::Completions { shell } = &cli.command {
        return Ok(completions::run(*shell));
    }
    let resources = Resources::load(cli).await;
    let r = &resources;
    match &cli.command {
        Command::Plan(args) if waves::wanted(args) => waves::plan(cli, r, args).await,
        Command::Plan(args) => plan::run(cli, r, args).await,
        Command::Start(args) if waves::wanted(args) => waves::start(cli, r, args).await,
        Command::Start(args) => start::run(cli, r, args).await,
        Command::Status { target, .. } if is_plan_id(target) => waves::status(cli, r, target).await,
        Command::Status {
            target,
            watch,
            interval,
        } => status::run(cli, r, target, *watch, *interval).await,
        Command::Dashboard { function, alias } => dashboard::run(cli, r, function, alias).await,
        Command::List => list::run(cli, r).await,
        Command::History {
            function,
            limit,
            page,
        } => history::run(cli, r, function, *limit, page.as_deref()).await,
        Command::Approve { release } => control::run(cli, r, release, Control::Approve).await,
        Command::Promote { release } => control::run(cli, r, release, Control::Promote).await,
        Command::Pause { release } => control::run(cli, r, release, Control::Pause).await,
        Command::Resume { release } => control::run(cli, r, release, Control::Resume).await,
        Command::Abort { release, reason } if is_plan_id(release) => {
            waves::abort(cli, r, release, reason).await
        }
        Command::Abort { release, reason } => {
            let abort = Control::Abort {
                reason: reason.clone(),
            };
            control::run(cli, r, release, abort).await
        }
        Command::Ignore {
            release,
            alarm,
            analysis,
            for_,
            reason,
        } => {
            let for_secs = shiftback::domain::strategy::parse_duration(for_)
                .map_err(|e| usage(format!("--for: {e}")))?;
            let guard = match (alarm, analysis) {
                (Some(alarm), _) => alarm.clone(),
                _ => shiftback::domain::ANALYSIS_GUARD.to_string(),
            };
            let ignore = Control::Ignore {
                guard,
                for_secs,
                reason: reason.clone(),
            };
            control::run(cli, r, release, ignore).await
        }
        Command::CreateTable => create_table::run(cli, r).await,
        Command::Rollback {
            function,
            alias,
            to,
        } => rollback::run(cli, r, function, alias, to).await,
        Command::Prune {
            function,
            keep,
            rollback_depth,
            apply,
        } => {
            let request = PruneRequest {
                function: function.clone(),
                keep_newest: *keep,
                rollback_depth: *rollback_depth,
                apply: *apply,
            };
            prune::run(cli, r, &request).await
        }
        Command::Durable { function, version } => durable::run(cli, r, function, version).await,
        Command::Completions { .. } => unreachable!("answered above"),
    }
}
