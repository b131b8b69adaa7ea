//! The command line: global options (where the stack is, who asks, how to print) apart from
//! each command's own.

use clap::{Parser, Subcommand};
use shiftback::domain::gates::OnGateTimeout;

const GLOBAL: &str = "Global options";
/// `shiftback --version`: the crate's version and the commit it was built from (build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SHIFTBACK_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "shiftback",
    version = VERSION,
    about = "Progressive delivery and immediate rollback for AWS Lambda aliases",
    after_help = "Exit codes: 0 done; 2 usage; 3 refused (lock held, alarm firing, not allowed \
                  in the release's phase, unknown function or version); 4 AWS failure; 5 the \
                  watched release ended without promoting."
)]
pub struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// The deployed shiftback stack (its outputs name the table and state machine).
    #[arg(long, global = true, env = "SHIFTBACK_STACK", help_heading = GLOBAL)]
    pub stack: Option<String>,
    /// The release table, instead of reading it from the stack.
    #[arg(long, global = true, env = "SHIFTBACK_TABLE", help_heading = GLOBAL)]
    pub table: Option<String>,
    /// The release state machine, instead of reading it from the stack.
    #[arg(long, global = true, env = "SHIFTBACK_STATE_MACHINE_ARN", help_heading = GLOBAL)]
    pub state_machine: Option<String>,
    /// The topic release events go to, instead of reading it from the stack: operator
    /// actions (pause, resume, promote, abort, rollback) are announced as they happen.
    #[arg(long, global = true, env = "SHIFTBACK_RELEASE_TOPIC", help_heading = GLOBAL)]
    pub release_topic: Option<String>,
    /// The incident (PagerDuty) topic, instead of reading it from the stack.
    #[arg(long, global = true, env = "SHIFTBACK_INCIDENT_TOPIC", help_heading = GLOBAL)]
    pub incident_topic: Option<String>,
    /// Who is asking, for the record (default: cli:$USER).
    #[arg(long, global = true, env = "SHIFTBACK_ACTOR", help_heading = GLOBAL)]
    pub by: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args, Clone)]
pub struct ReleaseArgs {
    /// The function's name or ARN.
    pub function: String,
    /// The alias to move (it must exist and point at one version).
    #[arg(long)]
    pub alias: String,
    /// The version to release.
    #[arg(long, conflicts_with = "publish")]
    pub to: Option<String>,
    /// Publish $LATEST as a new version and release that.
    #[arg(long)]
    pub publish: bool,
    /// The version to start from (default: where the alias points now).
    #[arg(long)]
    pub from: Option<String>,
    /// Where the release came from, KEY=VALUE (repeat): version=1.4.0, commit=SHA,
    /// build_url=URL, or your own. Shown in history, status and notifications; `--publish`
    /// writes them into the version's description.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Another member of a group release, FUNCTION:ALIAS:VERSION (repeat for several): it
    /// moves in step with FUNCTION and comes back with it.
    #[arg(long = "member", value_name = "FUNCTION:ALIAS:VERSION")]
    pub members: Vec<String>,
    /// A CodeDeploy preset, canary:P:BAKE, linear:P:BAKE or steps:W@BAKE,...
    #[arg(long, default_value = "Canary10Percent5Minutes")]
    pub strategy: String,
    /// An alarm that guards the release (repeat for several).
    #[arg(long = "alarm")]
    pub alarms: Vec<String>,
    /// Deploy through this alarm although it is in ALARM (recorded).
    #[arg(long = "override-alarm")]
    pub overrides: Vec<String>,
    /// Keep the alarms guarding this long after success (e.g. 15m).
    #[arg(long, default_value = "0")]
    pub bake_after: String,
    /// Canary analysis (on by default): `off`, or KEY=VALUE to tune it (repeat for several):
    /// min_invocations, window, warmup, settle, max_extension,
    /// when_inconclusive=hold|fail|pass, canary_until (percent), latency_slack_ms,
    /// keep_dashboard=on|off (the alias's dashboard updated at start and end),
    /// fast_path=NAMESPACE|off (a 10-second alarm on the function's own one-second metrics),
    /// and [canary.|rollout.]error_rate_margin_pct, throttle_rate_margin_pct, error_ratio,
    /// p99_factor.
    #[arg(long = "analysis", value_name = "off|KEY=VALUE")]
    pub analysis: Vec<String>,
    /// Once the release succeeds and its bake window closes, prune the function's versions,
    /// keeping the newest N and every version in use (as `shiftback prune --apply` would).
    #[arg(long, value_name = "N")]
    pub retain: Option<u32>,
    /// A Lambda function called before any traffic moves; it answers {"ok": true|false|null}
    /// (null: not yet). It must match the stack's HookFunctionNames.
    #[arg(long, value_name = "FUNCTION")]
    pub pre_traffic_hook: Option<String>,
    /// A Lambda function called at 100% before the release succeeds; a failure rolls back.
    #[arg(long, value_name = "FUNCTION")]
    pub post_traffic_hook: Option<String>,
    /// How long each hook may keep answering "not yet" (e.g. 15m).
    #[arg(long, default_value = "15m")]
    pub hook_deadline: String,
    /// Hold at a gate after the last step until someone runs `shiftback approve` (gates after
    /// other steps: `--strategy steps:5@5m,gate,25@5m`).
    #[arg(long)]
    pub gate_before_promote: bool,
    /// How long a gate waits for approval (e.g. 24h; at most 14 days).
    #[arg(long, default_value = "168h")]
    pub gate_timeout: String,
    /// What a gate nobody answered does: abort (back to the stable version) or approve.
    #[arg(long, value_enum, default_value_t)]
    pub on_gate_timeout: OnGateTimeout,
    /// If a release still moves the alias (or a member's), supersede it: it goes back to its
    /// stable version and ends as superseded, on the record, then this one starts. Without
    /// it, a held alias refuses the start. An operator's rollback is never superseded.
    #[arg(long)]
    pub supersede: bool,
    /// Release in waves across Regions: one wave's Regions, comma-separated; repeat for each
    /// wave, in order (`--wave us-east-1 --wave eu-west-1,ap-southeast-2`). Each Region needs
    /// its own shiftback stack of --stack's name; this Region coordinates.
    #[arg(long = "wave", value_name = "REGION,...")]
    pub waves: Vec<String>,
    /// A wave plan as a JSON file instead of --wave: each wave a list of Regions, or of
    /// {"region", "version", "function", "alias", "role_arn"} where a Region differs.
    #[arg(long, value_name = "FILE", conflicts_with = "waves")]
    pub plan_file: Option<std::path::PathBuf>,
    /// How long each wave bakes, promoted in every Region, before the next starts (at most 24h).
    #[arg(long, default_value = "30m")]
    pub wave_bake: String,
}

#[derive(Subcommand)]
pub enum Command {
    /// Dry run: the schedule, and every precondition checked without changing anything.
    Plan(ReleaseArgs),
    /// Start a release through the deployed state machine; returns at once.
    Start(ReleaseArgs),
    /// A release's progress (by id), or the newest release of a function.
    Status {
        /// A release id, or a function name for its newest release.
        target: String,
        /// Follow until the release finishes (exit 5 if it does not promote).
        #[arg(long)]
        watch: bool,
        /// Seconds between looks with --watch.
        #[arg(long, default_value = "2")]
        interval: f64,
    },
    /// Create or update the alias's CloudWatch dashboard: invocations, error rate, p99 and
    /// throttles per version, with the releases' steps and rollbacks as annotations.
    Dashboard {
        /// The function's name or ARN.
        function: String,
        /// The alias whose traffic it shows.
        #[arg(long)]
        alias: String,
    },
    /// What is releasing: every release in progress, paused, held or in its bake window,
    /// across all functions, newest first.
    List,
    /// A function's releases, newest first.
    History {
        /// The function's name or ARN.
        function: String,
        /// Releases per page (1-100).
        #[arg(long, default_value = "20")]
        limit: i32,
        /// The token a previous page printed.
        #[arg(long)]
        page: Option<String>,
    },
    /// Let a release waiting at a gate go on to its next step (recorded with who approved).
    Approve {
        /// The release id.
        release: String,
    },
    /// Skip the remaining steps: the alias goes wholly to the target now.
    Promote {
        /// The release id.
        release: String,
    },
    /// Hold the current weight until resumed.
    Pause {
        /// The release id.
        release: String,
    },
    /// Continue a paused release from the weight it holds.
    Resume {
        /// The release id.
        release: String,
    },
    /// Roll back now.
    Abort {
        /// The release id.
        release: String,
        /// Why, for the record and the announcement.
        #[arg(long, default_value = "aborted by operator")]
        reason: String,
    },
    /// Stop one guard from reverting a release for a while (a known spike): recorded,
    /// announced, shown in `status`, and over by itself. Never every guard at once.
    Ignore {
        /// The release id.
        release: String,
        /// The guarding alarm to ignore.
        #[arg(
            long,
            conflicts_with = "analysis",
            required_unless_present = "analysis"
        )]
        alarm: Option<String>,
        /// Ignore the release's canary analysis (its verdicts and its own alarm) instead.
        #[arg(long)]
        analysis: bool,
        /// For how long (e.g. 10m; at most 4h).
        #[arg(long = "for", value_name = "DURATION")]
        for_: String,
        /// Why, for the record and the announcement.
        #[arg(long)]
        reason: String,
    },
    /// Create the release table with shiftback's schema, for local emulators (a deployed
    /// stack's table comes from template.yaml).
    #[command(hide = true)]
    CreateTable,
    /// Put the alias on any version its history records as good.
    Rollback {
        /// The function's name or ARN.
        function: String,
        /// The alias to put back.
        #[arg(long)]
        alias: String,
        /// The version to put it on (one a release of this alias ended on).
        #[arg(long)]
        to: String,
    },
    /// List a function's published versions and why each is kept or would be deleted;
    /// with --apply, delete the ones not kept (oldest first). A dry run by default.
    Prune {
        /// The function's name or ARN (not a qualified ARN: retention is per function).
        function: String,
        /// The newest published versions kept whatever else holds.
        // A negative number is read as this flag's value, to be refused as a count.
        #[arg(long, default_value = "10", allow_negative_numbers = true)]
        keep: usize,
        /// Succeeded releases per alias whose versions stay as rollback targets.
        #[arg(long, default_value = "3", allow_negative_numbers = true)]
        rollback_depth: usize,
        /// Delete the versions the listing marks for deletion.
        #[arg(long)]
        apply: bool,
    },
    /// The durable executions still running on a version (a durable execution stays on the
    /// version it started on): what a revert of a durable function leaves behind. Lists them;
    /// stopping one is a decision about that execution (`aws lambda stop-durable-execution`).
    Durable {
        /// The function's name or ARN.
        function: String,
        /// The version they run on (the one a release reverted from).
        #[arg(long)]
        version: String,
    },
    /// Print a completion script for a shell (e.g. `shiftback completions bash`).
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command and every argument an operator can see says what it is for.
    #[test]
    fn every_command_and_argument_has_help() {
        let cli = Cli::command();
        let mut missing = Vec::new();
        let commands = std::iter::once(&cli).chain(cli.get_subcommands());
        for command in commands.filter(|c| !c.is_hide_set()) {
            if command.get_name() != "shiftback" && command.get_about().is_none() {
                missing.push(command.get_name().to_string());
            }
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && !arg.is_hide_set() && arg.get_help().is_none() {
                    missing.push(format!("{} {}", command.get_name(), arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "no help for: {missing:?}");
    }

    #[test]
    fn global_options_are_listed_apart_from_a_commands_own() {
        let cli = Cli::command();
        let heading = |id: &str| {
            cli.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_help_heading())
                .map(str::to_string)
        };
        assert_eq!(heading("table").as_deref(), Some(GLOBAL));
        let start = cli.find_subcommand("start").unwrap();
        let alias = start.get_arguments().find(|a| a.get_id() == "alias");
        assert_eq!(alias.and_then(|a| a.get_help_heading()), None);
    }

    #[test]
    fn completions_are_generated_for_every_command() {
        let mut script = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "shiftback",
            &mut script,
        );
        let script = String::from_utf8(script).unwrap();
        for command in ["plan", "start", "status", "rollback", "resume"] {
            assert!(
                script.contains(command),
                "no {command} in the bash completions"
            );
        }
    }

    #[test]
    fn a_gate_timeout_choice_is_the_domains_own_and_nothing_else() {
        let start = |choice: Option<&str>| {
            let mut argv = vec!["shiftback", "start", "f", "--alias", "live", "--to", "7"];
            argv.extend(
                choice
                    .map(|c| ["--on-gate-timeout", c])
                    .into_iter()
                    .flatten(),
            );
            Cli::try_parse_from(argv).map(|cli| match cli.command {
                Command::Start(args) => args.on_gate_timeout,
                _ => unreachable!("a start"),
            })
        };
        assert_eq!(start(None).unwrap(), OnGateTimeout::Abort);
        assert_eq!(start(Some("approve")).unwrap(), OnGateTimeout::Approve);
        assert!(start(Some("ignore")).is_err());
    }

    #[test]
    fn the_version_names_the_release_and_the_commit() {
        let version = Cli::command().render_version();
        let commit = env!("SHIFTBACK_COMMIT");
        let expected = format!("shiftback {} (commit {commit})", env!("CARGO_PKG_VERSION"));
        assert_eq!(version.trim(), expected);
        // Built in a clone (as here, and in CI): the commit is the clone's HEAD.
        let head = std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
        if let (Some(head), "git") = (head, env!("SHIFTBACK_COMMIT_SOURCE")) {
            assert_eq!(commit, head, "built from another commit than HEAD");
        }
    }
}
