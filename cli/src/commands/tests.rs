//! The CLI's own logic over the in-memory twins (`shiftback::testing`): flags read into a
//! release request, and every bad flag refused with its exit code and a message naming it,
//! before anything is recorded. In `make check`: no emulator, milliseconds.

use chrono::{Duration, Utc};
use clap::Parser;
use shiftback::analysis::memory::MemoryHealth;
use shiftback::domain::gates::OnGateTimeout;
use shiftback::domain::AlarmState;
use shiftback::router::memory::MemoryRouter;
use shiftback::service::ReleaseService;
use shiftback::store::memory::MemoryStore;
use shiftback::testing::{Journal, Memory};

use crate::args::{Cli, Command, ReleaseArgs};
use crate::Failure;

struct World {
    service: ReleaseService<Memory>,
    store: MemoryStore,
}

fn world() -> World {
    let journal = Journal::default();
    let router = MemoryRouter::new(journal.clone())
        .with_alias("orders", "live", "1")
        .with_version("orders", "1", None)
        .with_version("orders", "2", None)
        .with_alias("payments", "live", "4")
        .with_version("payments", "4", None)
        .with_version("payments", "5", None);
    let health = MemoryHealth::default();
    health.set(
        "orders-errors",
        AlarmState::Ok,
        Utc::now() - Duration::hours(1),
    );
    health.set(
        "orders-p99",
        AlarmState::Alarm,
        Utc::now() - Duration::minutes(5),
    );
    let store = MemoryStore::new(journal);
    let service = ReleaseService {
        router,
        store: store.clone(),
        health,
        notifier: None,
        hooks: None,
        plan_stops: None,
    };
    World { service, store }
}

fn start_args(flags: &[&str]) -> ReleaseArgs {
    let argv = [
        "shiftback",
        "start",
        "orders",
        "--alias",
        "live",
        "--to",
        "2",
    ];
    let cli = Cli::try_parse_from(argv.iter().chain(flags)).expect("a command line clap takes");
    match cli.command {
        Command::Start(args) => args,
        _ => unreachable!("a start"),
    }
}

async fn checked(w: &World, flags: &[&str]) -> Result<shiftback::service::Preflight, Failure> {
    let args = start_args(flags);
    let target = args.to.clone().expect("--to");
    super::preflight(&w.service, &args, &target).await
}

#[tokio::test]
async fn the_flags_become_the_release_request_the_start_handler_checks() {
    let w = world();
    let flags = [
        "--strategy",
        "linear:50:1m",
        "--alarm",
        "orders-errors",
        "--label",
        "version=1.4.0",
        "--member",
        "payments:live:5",
        "--gate-before-promote",
        "--gate-timeout",
        "24h",
        "--on-gate-timeout",
        "approve",
        "--bake-after",
        "15m",
    ];
    let checked = checked(&w, &flags)
        .await
        .unwrap_or_else(|f| panic!("{}", f.message));
    let request = &checked.request;
    assert_eq!(
        request.stable_version.as_deref(),
        Some("1"),
        "read off the alias"
    );
    assert_eq!(request.labels["version"], "1.4.0");
    assert_eq!(request.members[0].function, "payments");
    assert_eq!(request.bake_after_secs, 15 * 60);
    assert!(request.gates.before_promote);
    assert_eq!(request.gates.timeout_secs, 24 * 3600);
    assert_eq!(request.gates.on_timeout, OnGateTimeout::Approve);
    assert!(
        checked
            .findings
            .iter()
            .any(|f| f.contains("version 2 exists")),
        "{:?}",
        checked.findings
    );
    assert!(
        w.store.records.lock().unwrap().releases.is_empty(),
        "a plan records nothing"
    );
}

#[tokio::test]
async fn each_bad_flag_is_refused_by_name_before_anything_is_recorded() {
    let w = world();
    let cases: [(&[&str], u8, &str); 8] = [
        (&["--strategy", "linear:150:1m"], 2, "150"),
        (
            &["--analysis", "no_such_setting=1"],
            2,
            "--analysis no_such_setting=1",
        ),
        (&["--label", "no-equals-sign"], 2, "--label"),
        (&["--member", "payments"], 2, "--member"),
        (&["--hook-deadline", "soon"], 2, "--hook-deadline"),
        (&["--gate-timeout", "0x"], 2, "--gate-timeout"),
        (&["--from", "not a version"], 2, "stable"),
        // Refused, not misused: the alarm guarding it fires now.
        (&["--alarm", "orders-p99"], 3, "orders-p99"),
    ];
    for (flags, code, named) in cases {
        let failure = match checked(&w, flags).await {
            Ok(_) => panic!("{flags:?} was taken"),
            Err(failure) => failure,
        };
        assert_eq!(failure.code, code, "{flags:?}: {}", failure.message);
        assert!(
            failure.message.contains(named),
            "{flags:?}: {}",
            failure.message
        );
    }
    let records = w.store.records.lock().unwrap();
    assert!(
        records.releases.is_empty() && records.locks.is_empty(),
        "nothing recorded"
    );
}

#[tokio::test]
async fn an_unknown_version_is_refused_not_misused() {
    let w = world();
    let args = start_args(&[]);
    let Err(failure) = super::preflight(&w.service, &args, "9").await else {
        panic!("an unknown version was taken");
    };
    assert_eq!(failure.code, 3, "{}", failure.message);
    assert!(failure.message.contains('9'), "{}", failure.message);
}

#[tokio::test]
async fn a_watch_ends_when_the_release_can_no_longer_be_rolled_back() {
    use super::status::watch_ended;
    use shiftback::service::StepInput;
    let w = world();
    let flags = [
        "--strategy",
        "AllAtOnce",
        "--alarm",
        "orders-errors",
        "--bake-after",
        "10m",
    ];
    let request = checked(&w, &flags)
        .await
        .unwrap_or_else(|f| panic!("{}", f.message))
        .request;
    let id = w.service.start(request).await.unwrap().release_id;
    let running = w.store.release(&id);
    assert_eq!(watch_ended(&running, Utc::now()), None, "still shifting");
    w.service.promote(StepInput::of(&id)).await.unwrap();
    let succeeded = w.store.release(&id);
    let promoted = succeeded.finished_at.expect("promoted");
    // An alarm in the bake window still rolls it back: the job must not pass yet.
    assert_eq!(
        watch_ended(&succeeded, promoted + Duration::minutes(9)),
        None
    );
    assert_eq!(
        watch_ended(&succeeded, promoted + Duration::minutes(11)),
        Some(0)
    );
    let mut rolled_back = succeeded.clone();
    rolled_back.phase = shiftback::domain::Phase::RolledBack;
    assert_eq!(watch_ended(&rolled_back, promoted), Some(5));
}
