//! `shiftback`: the operator's CLI. Human output by default, `--json` everywhere.
//!
//! Exit codes: 0 done; 2 usage (bad flags, strategy or request); 3 refused (lock held, alarm
//! firing, not allowed in the release's phase, unknown function or version); 4 AWS failure;
//! 5 the watched release ended without promoting.

mod output;
mod resources;

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use clap::{Parser, Subcommand};
use serde_json::json;
use shiftback::adapters::WorkflowControl;
use shiftback::domain::release::new_release_id;
use shiftback::domain::{
    check_function_name, check_names, check_release_id, check_version, Strategy,
};
use shiftback::service::{Control, ReleaseService, StartRequest};
use shiftback::Error;

use resources::Resources;

#[derive(Parser)]
#[command(
    name = "shiftback",
    version,
    about = "Progressive delivery and immediate rollback for AWS Lambda aliases"
)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// The deployed shiftback stack (its outputs name the table and state machine).
    #[arg(long, global = true, env = "SHIFTBACK_STACK")]
    stack: Option<String>,
    /// The release table, instead of reading it from the stack.
    #[arg(long, global = true, env = "SHIFTBACK_TABLE")]
    table: Option<String>,
    /// The release state machine, instead of reading it from the stack.
    #[arg(long, global = true, env = "SHIFTBACK_STATE_MACHINE_ARN")]
    state_machine: Option<String>,
    /// The topic release events go to, instead of reading it from the stack: operator
    /// actions (pause, resume, promote, abort, rollback) are announced as they happen.
    #[arg(long, global = true, env = "SHIFTBACK_RELEASE_TOPIC")]
    release_topic: Option<String>,
    /// The incident (PagerDuty) topic, instead of reading it from the stack.
    #[arg(long, global = true, env = "SHIFTBACK_INCIDENT_TOPIC")]
    incident_topic: Option<String>,
    /// Who is asking, for the record.
    #[arg(long, global = true, env = "SHIFTBACK_ACTOR")]
    by: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ReleaseArgs {
    /// The function's name or ARN.
    function: String,
    #[arg(long)]
    alias: String,
    /// The version to release.
    #[arg(long, conflicts_with = "publish")]
    to: Option<String>,
    /// Publish $LATEST as a new version and release that.
    #[arg(long)]
    publish: bool,
    /// The version to start from (default: where the alias points now).
    #[arg(long)]
    from: Option<String>,
    /// A CodeDeploy preset, canary:P:BAKE, linear:P:BAKE or steps:W@BAKE,...
    #[arg(long, default_value = "Canary10Percent5Minutes")]
    strategy: String,
    /// An alarm that guards the release (repeat for several).
    #[arg(long = "alarm")]
    alarms: Vec<String>,
    /// Deploy through this alarm although it is in ALARM (recorded).
    #[arg(long = "override-alarm")]
    overrides: Vec<String>,
    /// Keep the alarms guarding this long after success (e.g. 15m).
    #[arg(long, default_value = "0")]
    bake_after: String,
}

#[derive(Subcommand)]
enum Command {
    /// Dry run: the schedule, and every precondition checked without changing anything.
    Plan(ReleaseArgs),
    /// Start a release through the deployed state machine; returns at once.
    Start(ReleaseArgs),
    /// A release's progress (by id), or the newest release of a function.
    Status {
        target: String,
        /// Follow until the release finishes.
        #[arg(long)]
        watch: bool,
        /// Seconds between looks with --watch.
        #[arg(long, default_value = "2")]
        interval: f64,
    },
    /// A function's releases, newest first.
    History {
        function: String,
        #[arg(long, default_value = "20")]
        limit: i32,
        /// The token a previous page printed.
        #[arg(long)]
        page: Option<String>,
    },
    /// Skip the remaining steps: the alias goes wholly to the target now.
    Promote {
        release: String,
    },
    /// Hold the current weight until resumed.
    Pause {
        release: String,
    },
    Resume {
        release: String,
    },
    /// Roll back now.
    Abort {
        release: String,
        #[arg(long, default_value = "aborted by operator")]
        reason: String,
    },
    /// Create the release table with shiftback's schema, for local emulators (a deployed
    /// stack's table comes from template.yaml).
    #[command(hide = true)]
    CreateTable,
    /// Put the alias on any version its history records as good.
    Rollback {
        function: String,
        #[arg(long)]
        alias: String,
        #[arg(long)]
        to: String,
    },
}

/// A failure and the exit code it maps to.
struct Failure {
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

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

fn actor(cli: &Cli) -> String {
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
    let resources = Resources::load(cli).await;
    match &cli.command {
        Command::Plan(args) => plan(cli, &resources, args).await,
        Command::Start(args) => start(cli, &resources, args).await,
        Command::Status {
            target,
            watch,
            interval,
        } => status(cli, &resources, target, *watch, *interval).await,
        Command::History {
            function,
            limit,
            page,
        } => {
            check_function_name(function).map_err(|e| usage(e.to_string()))?;
            let service = resources.service().await?;
            let function = &service.canonical(function)?;
            let history = service
                .store
                .history(function, *limit, page.as_deref())
                .await?;
            output::history(cli.json, function, &history);
            Ok(0)
        }
        Command::Promote { release } => control(cli, &resources, release, Control::Promote).await,
        Command::Pause { release } => control(cli, &resources, release, Control::Pause).await,
        Command::Resume { release } => control(cli, &resources, release, Control::Resume).await,
        Command::Abort { release, reason } => {
            let abort = Control::Abort {
                reason: reason.clone(),
            };
            control(cli, &resources, release, abort).await
        }
        Command::CreateTable => {
            let service = resources.service().await?;
            service.store.create_table().await?;
            output::created(cli.json, service.store.table());
            Ok(0)
        }
        Command::Rollback {
            function,
            alias,
            to,
        } => {
            let service = resources.service().await?;
            let outcome = service
                .revert_to(
                    function,
                    alias,
                    to,
                    &actor(cli),
                    Some(new_release_id(Utc::now())),
                )
                .await?;
            let release = service.store.load(&outcome.release_id).await?.release;
            output::done(
                cli.json,
                &release,
                &format!("{function}:{alias} is on version {to}"),
            );
            Ok(0)
        }
    }
}

/// The checks `plan` and `start` share, which are the start handler's own
/// ([`ReleaseService::preflight`]); returns the release request and what was checked.
async fn check(
    service: &ReleaseService,
    args: &ReleaseArgs,
    target: &str,
) -> Result<(StartRequest, Vec<String>), Failure> {
    let bake_after_secs = shiftback::domain::strategy::parse_duration(&args.bake_after)
        .map_err(|e| usage(e.to_string()))?;
    if let Some(from) = &args.from {
        check_version("stable", from).map_err(|e| usage(e.to_string()))?;
    }
    let request = StartRequest {
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
    };
    let preflight = service.preflight(request).await?;
    Ok((preflight.request, preflight.findings))
}

async fn plan(cli: &Cli, resources: &Resources, args: &ReleaseArgs) -> Result<u8, Failure> {
    let service = resources.service().await?;
    let target = match (&args.to, args.publish) {
        (Some(v), _) => v.clone(),
        (None, true) => "$LATEST (to be published)".to_string(),
        (None, false) => return Err(usage("name the version to release with --to, or --publish")),
    };
    if args.publish {
        return Err(usage(
            "plan needs --to: --publish creates a version, which a dry run does not do",
        ));
    }
    let (request, findings) = check(&service, args, &target).await?;
    let strategy: Strategy = request.strategy.parse().expect("checked");
    output::plan(
        cli.json,
        &request,
        &strategy.schedule().expect("checked"),
        &findings,
    );
    Ok(0)
}

async fn start(cli: &Cli, resources: &Resources, args: &ReleaseArgs) -> Result<u8, Failure> {
    let service = resources.service().await?;
    let workflow: WorkflowControl = resources.workflow().await?;
    let target = match (&args.to, args.publish) {
        (Some(v), _) => v.clone(),
        (None, true) => {
            check_names(&args.function, &args.alias, None).map_err(|e| usage(e.to_string()))?;
            service.router.publish(&args.function).await?
        }
        (None, false) => return Err(usage("name the version to release with --to, or --publish")),
    };
    let (mut request, _) = check(&service, args, &target).await?;
    request.started_by = actor(cli);
    let id = request.release_id.clone().expect("generated");
    let input = serde_json::to_value(&request).expect("serialisable");
    let execution = workflow.start(&id, &input).await?;
    if cli.json {
        println!(
            "{}",
            json!({"release_id": id, "execution_arn": execution, "target_version": target})
        );
    } else {
        println!(
            "started release {id}: {}:{} -> version {target} ({})",
            args.function, args.alias, request.strategy
        );
        println!("follow it:   shiftback status {id} --watch");
        println!("stop it:     shiftback abort {id}");
    }
    Ok(0)
}

async fn status(
    cli: &Cli,
    resources: &Resources,
    target: &str,
    watch: bool,
    interval: f64,
) -> Result<u8, Failure> {
    if check_release_id(target).is_err() && check_function_name(target).is_err() {
        return Err(usage(format!(
            "'{}' is neither a release id nor a function name",
            target.chars().take(80).collect::<String>()
        )));
    }
    let service = resources.service().await?;
    let id = match service.store.load_summary(target).await {
        Ok(release) => release.id,
        Err(Error::ReleaseNotFound(_)) => {
            let function = service.canonical(target)?;
            let history = service.store.history(&function, 1, None).await?;
            match history.releases.first() {
                Some(newest) => newest.id.clone(),
                None => {
                    return Err(Failure {
                        code: 3,
                        message: format!(
                            "no release or function named '{target}' in the release history"
                        ),
                    })
                }
            }
        }
        Err(e) => return Err(e.into()),
    };
    loop {
        let release = service.store.load(&id).await?.release;
        let alias = service
            .router
            .read(&release.function, &release.alias)
            .await
            .ok();
        let health = if release.alarms.is_empty() {
            None
        } else {
            service.health.statuses(&release.alarms).await.ok()
        };
        output::status(
            cli.json,
            &release,
            alias.as_ref().map(|a| &a.routing),
            health.as_deref(),
        );
        if !watch || release.phase.is_terminal() {
            let failed = watch && release.phase != shiftback::domain::Phase::Succeeded;
            return Ok(if failed { 5 } else { 0 });
        }
        tokio::time::sleep(Duration::from_secs_f64(interval.max(0.1))).await;
    }
}

async fn control(
    cli: &Cli,
    resources: &Resources,
    release: &str,
    command: Control,
) -> Result<u8, Failure> {
    let service = resources.service().await?;
    let outcome = service
        .control(release, command.clone(), &actor(cli))
        .await?;
    let record = service.store.load(&outcome.release_id).await?.release;
    let what = match command {
        Control::Pause => format!("paused at {}", record.weight),
        Control::Resume => "resumed".to_string(),
        Control::Promote => format!(
            "promoted: alias wholly on version {}",
            record.target_version
        ),
        Control::Abort { .. } => {
            format!("aborted: alias back on version {}", record.stable_version)
        }
    };
    output::done(cli.json, &record, &what);
    Ok(0)
}
