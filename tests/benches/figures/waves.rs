//! A 3-wave plan over 6 Regions (one Region, then two, then three; each Region's release
//! linear:25 with zero bakes, no bake between waves), coordinated from the home Region with
//! every coordinator call recorded: what a look costs per target, the Lambda control-plane
//! calls per target to start and to bring back, the waves workflow's transitions and a plan's
//! cost at list prices; then, with every Region moved, the last Region's alarm and the one
//! stop that brings all six back, timed from the first revert to the last.

use std::time::{Duration, Instant};

use shiftback::waves::{epoch_now, WaveCommand, WavePlan};
use shiftback_integration_tests::waves::{coordinator_through, region, Region};
use shiftback_integration_tests::{release_store, unique, CallLog, Emulator};

use crate::Row;

const WAVES: [&[&str]; 3] = [
    &["eu-west-3"],
    &["eu-central-1", "eu-north-1"],
    &["ap-northeast-1", "ap-south-1", "sa-east-1"],
];
/// What the waves workflow enters each look: Look, Ended, Count, Continue, Wait.
const TRANSITIONS_PER_LOOK: f64 = 5.0;
/// A typical plan's length, for its cost: each wave's release 20 minutes, a 30-minute bake
/// between waves, looked at every 30 seconds.
const TYPICAL_PLAN_SECS: f64 = (3 * 20 * 60 + 2 * 30 * 60) as f64;
// Public list prices, us-east-1 (USD); the coordinator runs arm64 at 128 MB.
const SFN_PER_TRANSITION: f64 = 0.025 / 1_000.0;
const LAMBDA_PER_REQUEST: f64 = 0.20 / 1_000_000.0;
const LAMBDA_ARM_PER_GB_SECOND: f64 = 0.000_013_333_4;
const DYNAMODB_PER_READ_UNIT: f64 = 0.125 / 1_000_000.0;
const DYNAMODB_PER_WRITE_UNIT: f64 = 0.625 / 1_000_000.0;
const MEMORY_GB: f64 = 128.0 / 1024.0;

fn count(log: &CallLog, operations: &[&str]) -> usize {
    log.calls()
        .iter()
        .filter(|c| operations.contains(&c.operation.as_str()))
        .count()
}

const LAMBDA_CONTROL_PLANE: [&str; 4] = [
    "GetAlias",
    "UpdateAlias",
    "GetFunctionConfiguration",
    "PublishVersion",
];
const DYNAMODB_READS: [&str; 2] = ["GetItem", "Query"];
const DYNAMODB_WRITES: [&str; 3] = ["PutItem", "UpdateItem", "TransactWriteItems"];

/// The looks made, timed, with the table calls they made and the targets they looked at.
#[derive(Default)]
struct Looks {
    count: u32,
    time: Duration,
    targets: usize,
    reads: usize,
    writes: usize,
}

impl Looks {
    async fn look(&mut self, waves: &Coordinator, id: &str, log: &CallLog, targets: usize) {
        log.clear();
        let started = Instant::now();
        waves.look(id, epoch_now()).await.unwrap();
        self.time += started.elapsed();
        self.count += 1;
        self.targets += targets;
        self.reads += count(log, &DYNAMODB_READS);
        self.writes += count(log, &DYNAMODB_WRITES);
    }
}

type Coordinator = std::sync::Arc<
    shiftback::waves::WaveCoordinator<
        shiftback::waves::ShiftbackRegions,
        shiftback::adapters::DynamoStore,
    >,
>;

pub async fn measure(env: &Emulator) -> Vec<Row> {
    let stack = unique("shiftback");
    let alarm = unique("errors");
    let mut regions: Vec<Vec<Region>> = Vec::new();
    for wave in WAVES {
        let mut here = Vec::new();
        for name in wave.iter() {
            here.push(region(name, &stack, &alarm).await);
        }
        regions.push(here);
    }
    let log = CallLog::default();
    let home = release_store(env).await;
    let waves = coordinator_through(&env.config, &stack, home.table(), &log);
    let id = unique("plan");
    let targets = regions
        .iter()
        .map(|wave| wave.iter().map(Region::target).collect())
        .collect();
    let mut plan = WavePlan::new(
        &id,
        "us-east-1",
        targets,
        0,
        "linear:25:0s",
        epoch_now(),
        "bench",
    );
    plan.alarms = vec![alarm.clone()];
    waves.create(&plan).await.unwrap();

    // Wave by wave: the look that starts it, the look that watches it, the one that sees it
    // promoted. Every look's calls, and the targets it looked at.
    let mut looks = Looks::default();
    let (mut start_calls, mut started) = (0usize, 0usize);
    let mut index = 0;
    for (w, wave) in regions.iter().enumerate() {
        let moved: usize = regions[..=w].iter().map(Vec::len).sum();
        looks.look(&waves, &id, &log, 0).await;
        start_calls += count(&log, &LAMBDA_CONTROL_PLANE);
        started += wave.len();
        let first = index;
        for region in wave {
            index += 1;
            region.run_start(&format!("{id}-w{}-{index}", w + 1)).await;
        }
        looks.look(&waves, &id, &log, moved).await;
        if w + 1 < regions.len() {
            for (k, region) in wave.iter().enumerate() {
                region
                    .promote(&format!("{id}-w{}-{}", w + 1, first + k + 1))
                    .await;
            }
            looks.look(&waves, &id, &log, moved).await;
        }
    }
    let (reads, writes, looked_targets) = (looks.reads, looks.writes, looks.targets);
    let (look_time, looks) = (looks.time, looks.count);
    let calls_per_target_look = (reads as f64) / looked_targets.max(1) as f64;

    // Every Region moved: the last Region's alarm reverts it; the stop its alarm function
    // sends (called here as the invoke would call it) brings the other five back.
    let last = regions.last().unwrap().last().unwrap();
    log.clear();
    let first = Instant::now();
    last.alarm_fires(&alarm).await;
    let own_revert = first.elapsed();
    let stop = WaveCommand::Stop {
        plan_id: id.clone(),
        release_id: Some(format!("{id}-w3-{index}")),
        why: "alarm".into(),
        recall: false,
    };
    let answer = Box::pin(waves.handle(stop, epoch_now())).await.unwrap();
    let all_back = first.elapsed();
    assert_eq!(answer.phase, "stopped");
    let revert_calls = count(&log, &LAMBDA_CONTROL_PLANE) as f64 / 5.0;
    for region in regions.iter().flatten() {
        assert_eq!(region.live().await, "1", "{} is back", region.name);
    }

    let look_ms = look_time.as_secs_f64() * 1000.0 / looks as f64;
    let plan_looks = TYPICAL_PLAN_SECS / 30.0;
    let per_look_cost = TRANSITIONS_PER_LOOK * SFN_PER_TRANSITION
        + LAMBDA_PER_REQUEST
        + LAMBDA_ARM_PER_GB_SECOND * MEMORY_GB * look_ms / 1000.0
        + DYNAMODB_PER_READ_UNIT * reads as f64 / looks as f64
        + DYNAMODB_PER_WRITE_UNIT * writes as f64 / looks as f64;
    let plan_cost = plan_looks * per_look_cost;
    println!(
        "\na 3-wave plan over 6 Regions (1, 2, 3; linear:25, zero bakes): {looks} looks, {look_ms:.0} ms each on average; {calls_per_target_look:.1} table reads per target per look (its release's record, and the plan's own two reads shared out), no Lambda control-plane call; to start a target {:.1} Lambda control-plane calls (its Region's preflight); to bring one back {revert_calls:.1}. The waves workflow: {TRANSITIONS_PER_LOOK} transitions a look; a typical plan (3 x 20 min of release, 2 x 30 min of bake: {plan_looks:.0} looks) about {:.0} transitions and ${plan_cost:.4} at list prices. The last Region's alarm: its own revert {:.0} ms; all six Regions back {:.0} ms after the alarm ({:.0} ms from the first revert to the last)",
        start_calls as f64 / started as f64,
        plan_looks * TRANSITIONS_PER_LOOK,
        own_revert.as_secs_f64() * 1000.0,
        all_back.as_secs_f64() * 1000.0,
        (all_back - own_revert).as_secs_f64() * 1000.0,
    );
    vec![
        Row::new(
            "3-wave plan, 6 Regions: Lambda control-plane calls per target to start / to bring back",
            format!("{:.1} / {revert_calls:.1}", start_calls as f64 / started as f64),
            "- (the Region's own release adds 2 a step)",
            None,
        ),
        Row::new(
            "3-wave plan: cost at list prices (2 h: 240 looks, 5 transitions each)",
            format!("${plan_cost:.4}"),
            "-",
            None,
        ),
        Row::new(
            "3-wave plan: first revert to last of 6 Regions (moto, one stop)",
            format!("{:.0} ms", (all_back - own_revert).as_secs_f64() * 1000.0),
            "-",
            None,
        ),
    ]
}
