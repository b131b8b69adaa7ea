//! Each handler binary (release build, as deployed) started cold against a minimal Runtime
//! API, given one real event against moto: time from process start to its first request for
//! an event (SDK clients are built before it), and its peak resident memory once it answered.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use serde_json::{json, Value};
use shiftback::service::ReleaseService;
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, function_with_versions, release_request, topic, Emulator,
};

use crate::{percentile, Row};
use shiftback_integration_tests::runtime_api::RuntimeApi;

const RUNS: usize = 10;
pub const HANDLERS: [&str; 5] = ["start", "advance", "promote", "rollback", "alarm"];

/// The one binary every function runs (`SHIFTBACK_HANDLER` picks the handler).
pub fn binary(dir: &Path) -> PathBuf {
    dir.join("shiftback-handlers")
}

/// A real event for `handler`, with what it acts on set up in moto.
async fn event_for(handler: &str, env: &Emulator, service: &ReleaseService) -> Value {
    let function = function_with_versions(env, 2, "live").await;
    let alarm = alarm_in_state(env, StateValue::Ok).await;
    let start = |strategy: &str| release_request(&function, &alarm, "2", strategy);
    let started = |strategy: &str| {
        let request = start(strategy);
        async move { service.start(request).await.unwrap().release_id }
    };
    match handler {
        "start" => serde_json::to_value(start("linear:50:1m")).unwrap(),
        "advance" => json!({"release_id": started("steps:10@0s,50@1m").await}),
        "promote" => json!({"release_id": started("AllAtOnce").await}),
        "rollback" => json!({
            "release_id": started("canary:10:10m").await,
            "error": {"Error": "States.Timeout", "Cause": "bench"}
        }),
        "alarm" => {
            started("canary:10:10m").await;
            alarm_state_change(&alarm, "ALARM", "123456789012")
        }
        other => panic!("unknown handler {other}"),
    }
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub async fn measure(
    env: &Emulator,
    service: &ReleaseService,
    dir: &Path,
    endpoint: &str,
) -> Vec<Row> {
    let release_topic = topic(env, "bench").await;
    let mut rows = Vec::new();
    println!(
        "\nhandler cold start and memory ({RUNS} cold starts each, binaries in {})",
        dir.display()
    );
    println!("| handler | cold start p50 ms | max ms | peak RSS max MB | answered |");
    println!("|---|---|---|---|---|");
    let mut worst_cold = Duration::ZERO;
    let mut worst_rss = 0;
    for handler in HANDLERS {
        let mut colds = Vec::new();
        let mut rss = Vec::new();
        let mut answers = Vec::new();
        for _ in 0..RUNS {
            let event = event_for(handler, env, service).await;
            let api = RuntimeApi::serve(event).await;
            let spawned = Instant::now();
            let mut child = Command::new(binary(dir))
                .env_clear()
                .env("SHIFTBACK_HANDLER", handler)
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("AWS_LAMBDA_RUNTIME_API", &api.address)
                .env("AWS_LAMBDA_FUNCTION_NAME", format!("shiftback-{handler}"))
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_ENDPOINT_URL", endpoint)
                .env("RELEASE_TABLE", service.store.table())
                .env("RELEASE_TOPIC", &release_topic)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary(dir).display()));
            let pid = child.id();
            let give_up = Instant::now() + Duration::from_secs(60);
            let answer = loop {
                if let Some(answer) = api.seen.lock().unwrap().answer.clone() {
                    break answer;
                }
                assert!(Instant::now() < give_up, "{handler} never answered");
                tokio::time::sleep(Duration::from_millis(2)).await;
            };
            rss.push(peak_rss_kb(pid).unwrap_or(0));
            child.kill().ok();
            child.wait().ok();
            let first = api
                .seen
                .lock()
                .unwrap()
                .first_next
                .expect("asked for an event");
            colds.push(first - spawned);
            answers.push(if answer.0.ends_with("/response") {
                "ok".to_string()
            } else {
                format!("error {}", answer.1.chars().take(120).collect::<String>())
            });
        }
        colds.sort();
        let rss_max = *rss.iter().max().unwrap();
        let failed: Vec<_> = answers.iter().filter(|a| *a != "ok").collect();
        println!(
            "| {handler} | {:.1} | {:.1} | {:.1} | {} |",
            crate::ms(percentile(&colds, 0.5)),
            crate::ms(*colds.last().unwrap()),
            rss_max as f64 / 1024.0,
            if failed.is_empty() {
                format!("{RUNS}/{RUNS}")
            } else {
                format!("{:?}", failed[0])
            }
        );
        worst_cold = worst_cold.max(percentile(&colds, 0.5));
        worst_rss = worst_rss.max(rss_max);
    }
    rows.push(Row::new(
        "cold start to first Runtime API request, worst handler p50",
        format!("{:.1} ms", crate::ms(worst_cold)),
        "< 20 ms",
        Some(worst_cold < Duration::from_millis(20)),
    ));
    rows.push(Row::new(
        "peak resident memory during an invocation, worst handler",
        format!("{:.1} MB", worst_rss as f64 / 1024.0),
        "< 32 MB",
        Some(worst_rss < 32 * 1024),
    ));
    let size = |name: &str| {
        std::fs::metadata(dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let (largest, provider) = (size("shiftback-handlers"), size("shiftback-provider"));
    println!(
        "\nstripped release binaries (x86_64, this machine): handlers {:.2} MB, provider {:.2} MB",
        largest as f64 / 1e6,
        provider as f64 / 1e6
    );
    rows.push(Row::new(
        "stripped binary size, the handlers binary (x86_64; every function but the provider)",
        format!("{:.2} MB", largest as f64 / 1e6),
        "< 8 MB",
        Some(largest < 8_000_000),
    ));
    rows.push(Row::new(
        "stripped binary size, the provider's binary (x86_64)",
        format!("{:.2} MB", provider as f64 / 1e6),
        "< 8 MB",
        Some(provider < 8_000_000),
    ));
    // The deployed (arm64) binaries, when `make build` left them.
    let sam = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/sam-build");
    let arm: Vec<u64> = std::fs::read_dir(&sam)
        .map(|dirs| {
            dirs.flatten()
                .filter(|d| d.file_name().to_string_lossy().ends_with("Function"))
                .filter_map(|d| std::fs::metadata(d.path().join("bootstrap")).ok())
                .map(|m| m.len())
                .collect()
        })
        .unwrap_or_default();
    if let Some(max) = arm.iter().max() {
        rows.push(Row::new(
            "stripped binary size, largest handler (as `make build` left it)",
            format!("{:.2} MB", *max as f64 / 1e6),
            "< 8 MB",
            Some(*max < 8_000_000),
        ));
    }
    rows
}
