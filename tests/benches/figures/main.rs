//! `make bench`: shiftback's figures, measured on this machine against moto, printed as one
//! table at the end (details above it). Nothing here asserts a time: these are measurements.
//!
//! Sections: the revert critical path; each handler's cold start, peak memory and binary
//! size; the calls, transitions, writes and cost of a 10-step release; a group's calls per
//! member per step; history at scale; a wave plan over six Regions.
//! `SHIFTBACK_HANDLERS_DIR` names the release binaries (`make bench` builds them).

mod cost;
mod group;
mod handlers;
mod revert;
mod scale;
mod waves;

use std::path::PathBuf;
use std::time::Duration;

use shiftback::adapters::{CloudWatchHealth, LambdaRouter};
use shiftback::service::ReleaseService;
use shiftback_integration_tests::{emulator, release_store};

/// One line of the summary table.
pub struct Row {
    measure: String,
    value: String,
    target: String,
    met: Option<bool>,
}

impl Row {
    pub fn new(measure: &str, value: String, target: &str, met: Option<bool>) -> Row {
        Row {
            measure: measure.to_string(),
            value,
            target: target.to_string(),
            met,
        }
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs benches without it, and
    // figures are no test (they also need the release binaries `make bench` builds).
    if !std::env::args().any(|a| a == "--bench") {
        println!("figures: not measured under cargo test; run `make bench`");
        return;
    }
    let env = emulator().await;
    let endpoint = std::env::var("SHIFTBACK_TEST_ENDPOINT").expect("run through make bench");
    let handlers_dir = std::env::var("SHIFTBACK_HANDLERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release"));
    let service = ReleaseService::new(
        LambdaRouter::new(env.lambda.clone()),
        release_store(&env).await,
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );

    // SHIFTBACK_BENCH=scale (say) runs one section.
    let only = std::env::var("SHIFTBACK_BENCH").unwrap_or_default();
    let wanted = |section: &str| only.is_empty() || only.split(',').any(|s| s == section);
    let mut rows = Vec::new();
    if wanted("revert") {
        rows.extend(revert::measure(&env).await);
    }
    if wanted("handlers") {
        rows.extend(handlers::measure(&env, &service, &handlers_dir, &endpoint).await);
    }
    if wanted("cost") {
        rows.extend(cost::measure(&env).await);
    }
    if wanted("group") {
        rows.extend(group::measure(&env).await);
    }
    if wanted("scale") {
        rows.extend(scale::measure(&env).await);
    }
    if wanted("waves") {
        rows.extend(waves::measure(&env).await);
    }

    println!(
        "\nshiftback figures (this machine, moto {})",
        std::env::var("MOTO_VERSION").unwrap_or_else(|_| "server".into())
    );
    println!("| measure | value | target | met |");
    println!("|---|---|---|---|");
    for row in rows {
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        println!(
            "| {} | {} | {} | {met} |",
            row.measure, row.value, row.target
        );
    }
}
