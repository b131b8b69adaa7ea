//! Scale: one function's history grows to 1,000 finished 10-step releases, with another
//! function's releases beside it. At each size: the newest-page history query's latency, and
//! the stored size of one release.
//! The history is backfilled with `DynamoStore::import_finished` (the same items a release
//! leaves, written in batches): moto copies the whole table for every item of a transaction,
//! and filling it through the workflow's transactions ran it out of memory (24 GB) before
//! 1,000.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use shiftback::adapters::DynamoStore;
use shiftback::domain::{Input, Phase, Release, ReleaseKind, ReleaseSpec, Verdict};
use shiftback_integration_tests::{release_store, unique, Emulator};

use crate::{ms, percentile, Row};

const SIZES: [usize; 3] = [10, 100, 1000];
const QUERIES: usize = 20;

fn spec(function: &str, n: usize) -> ReleaseSpec {
    ReleaseSpec {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
        release_id: Some(format!("r-{function}-{n:05}")),
        function: function.to_string(),
        alias: "live".into(),
        stable_version: "1".into(),
        target_version: "2".into(),
        strategy: "linear:10:1m".parse().unwrap(),
        alarms: vec![format!("{function}-errors")],
        alarm_overrides: vec![],
        bake_after_secs: 0,
        started_by: "bench".into(),
        kind: ReleaseKind::Deploy,
        analysis: shiftback::domain::AnalysisSettings::off(),
        retain_versions: None,
    }
}

/// A release walked to success as the workflow walks it (9 steps, promotion), then stored.
async fn finished_release(store: &DynamoStore, function: &str, n: usize, at: DateTime<Utc>) {
    let mut release = Release::new(spec(function, n), at).unwrap();
    release.apply(Input::Begin, at, "workflow").unwrap();
    let mut now = at;
    while release.phase != Phase::Promoting {
        now += chrono::Duration::seconds(60);
        release
            .apply(Input::Check(Verdict::Healthy), now, "workflow")
            .unwrap();
    }
    release.apply(Input::Promoted, now, "workflow").unwrap();
    store.import_finished(&release).await.unwrap();
}

/// Bytes stored for one release: its item and its log entries (approximate, as DynamoDB
/// counts: names plus values).
async fn stored_bytes(env: &Emulator, table: &str, id: &str) -> usize {
    let out = env
        .dynamodb
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("REL#{id}")),
        )
        .send()
        .await
        .unwrap();
    out.items()
        .iter()
        .flat_map(|item| item.iter())
        .map(|(k, v)| k.len() + v.as_s().map(String::len).unwrap_or(8))
        .sum()
}

pub async fn measure(env: &Emulator) -> Vec<Row> {
    let store = release_store(env).await;
    let function = unique("busy");
    let neighbour = unique("other");
    let start = Utc::now() - chrono::Duration::days(400);
    let mut made = 0;
    let mut latencies = Vec::new();
    println!(
        "\nscale: one function's history grown to {} releases",
        SIZES[2]
    );
    println!("| releases | history page p50 ms | p90 ms | one release stored, bytes |");
    println!("|---|---|---|---|");
    let filling = Instant::now();
    for size in SIZES {
        while made < size {
            let at = start + chrono::Duration::hours(made as i64 * 6);
            finished_release(&store, &function, made, at).await;
            if made % 10 == 0 {
                finished_release(&store, &neighbour, made, at).await;
            }
            made += 1;
        }
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..QUERIES {
            let started = Instant::now();
            let page = store.history(&function, 20, None).await.unwrap();
            times.push(started.elapsed());
            assert_eq!(page.releases.len(), size.min(20));
            assert_eq!(page.releases[0].id, format!("r-{function}-{:05}", size - 1));
        }
        times.sort();
        let newest = format!("r-{function}-{:05}", size - 1);
        let bytes = stored_bytes(env, store.table(), &newest).await;
        println!(
            "| {size} | {:.2} | {:.2} | {bytes} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.9))
        );
        latencies.push((percentile(&times, 0.5), bytes));
    }
    println!(
        "(filling the table took {:.0} s against moto)",
        filling.elapsed().as_secs_f64()
    );
    let (first, last) = (latencies[0], latencies[latencies.len() - 1]);
    vec![
        // moto answers an index query by scanning the whole table (moto/dynamodb/models/
        // table.py, `for item in self.all_items()`), so its latency grows with every item
        // stored; DynamoDB reads only the page's 20 index entries.
        Row::new(
            "history page (20 newest) at 10 -> 1000 releases, p50 (moto scans the table)",
            format!("{:.2} -> {:.2} ms", ms(first.0), ms(last.0)),
            "flat",
            None,
        ),
        Row::new(
            "one release's stored records at 10 -> 1000 releases",
            format!("{} -> {} bytes", first.1, last.1),
            "flat",
            Some(first.1 == last.1),
        ),
    ]
}
