//! The wave coordinator's process dying after any one of its writes, in any Region or at home,
//! then run again as Lambda runs it again (the stop's asynchronous invoke retried, or the next
//! look): every Region ends back on its stable version, each once, on its record; a wave's
//! start is one release per Region. Each scenario is run with the crash after its 1st write,
//! its 2nd, and so on, until a run needs none.

use std::sync::Arc;

use shiftback::adapters::DynamoStore;
use shiftback::domain::Phase;
use shiftback::waves::{
    epoch_now, PlanPhase, ShiftbackRegions, WaveCommand, WaveCoordinator, WavePlan,
};
use shiftback_integration_tests::waves::{coordinator_through, region, Region};
use shiftback_integration_tests::{emulator, release_store, unique, Crash};

type Coordinator = Arc<WaveCoordinator<ShiftbackRegions, DynamoStore>>;

struct World {
    regions: Vec<Region>,
    /// The coordinator whose every call goes through `crash`.
    waves: Coordinator,
    crash: Crash,
    id: String,
    alarm: String,
}

/// The Regions, a wave each: the first promoted (a stop reverts it with a release of its own),
/// the last running (a stop aborts it), the two kinds of revert; two keep the loop, which
/// builds them again for every write, short.
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const LAST: usize = REGIONS.len() - 1;

/// The Regions a wave each, the plan recorded; no crash armed.
async fn world() -> World {
    let stack = unique("shiftback");
    let alarm = unique("errors");
    let mut regions = Vec::new();
    for name in REGIONS {
        regions.push(region(name, &stack, &alarm).await);
    }
    let home = emulator().await;
    let table = release_store(&home).await.table().to_string();
    let crash = Crash::default();
    let waves = coordinator_through(&home.config, &stack, &table, &crash);
    let id = unique("plan");
    let targets = regions.iter().map(|r| vec![r.target()]).collect();
    let mut plan = WavePlan::new(
        &id,
        "us-east-1",
        targets,
        0,
        "canary:10:5m",
        epoch_now(),
        "ci",
    );
    plan.alarms = vec![alarm.clone()];
    waves.create(&plan).await.unwrap();
    World {
        regions,
        waves,
        crash,
        id,
        alarm,
    }
}

impl World {
    fn release_id(&self, wave: usize) -> String {
        format!("{}-w{wave}-{wave}", self.id)
    }

    /// Every wave but the last promoted, the last running (its Region's workflow played).
    async fn through_the_last_wave(&self) {
        for (i, region) in self.regions.iter().enumerate() {
            Box::pin(self.waves.look(&self.id, epoch_now()))
                .await
                .unwrap();
            region.run_start(&self.release_id(i + 1)).await;
            if i < LAST {
                region.promote(&self.release_id(i + 1)).await;
                // Seen promoted (no bake); the next look starts the next wave.
                Box::pin(self.waves.look(&self.id, epoch_now()))
                    .await
                    .unwrap();
            }
        }
    }

    async fn stored(&self) -> WavePlan {
        self.waves.plans().load_plan(&self.id).await.unwrap().0
    }
}

#[tokio::test]
async fn a_stop_that_dies_after_any_write_brings_every_region_back_once_when_run_again() {
    let mut crash_after = 1;
    loop {
        let w = world().await;
        w.through_the_last_wave().await;
        let last = &w.regions[LAST];
        last.alarm_fires(&w.alarm).await;
        let stop = WaveCommand::Stop {
            plan_id: w.id.clone(),
            release_id: Some(w.release_id(LAST + 1)),
            why: "alarm".into(),
            recall: false,
        };
        w.crash.arm(crash_after);
        let first = Box::pin(w.waves.handle(stop.clone(), epoch_now())).await;
        let crashed = w.crash.crashed_after();
        w.crash.disarm();
        // Lambda runs the invoke again (its own retry of an asynchronous invoke, or the next
        // look): until the plan says stopped.
        if crashed.is_some() {
            assert!(first.is_err(), "after {crashed:?}: {first:?}");
            let mut again = Box::pin(w.waves.handle(stop.clone(), epoch_now())).await;
            for _ in 0..3 {
                if matches!(&again, Ok(answer) if answer.ended) {
                    break;
                }
                again = Box::pin(w.waves.look(&w.id, epoch_now()))
                    .await
                    .map(|(plan, next)| shiftback::waves::WaveAnswer::of(&plan, next, 0));
            }
            let answer = again.unwrap_or_else(|e| panic!("after {crashed:?}: {e}"));
            assert!(answer.ended, "after {crashed:?}: {answer:?}");
        }
        let plan = w.stored().await;
        assert!(
            matches!(plan.phase, PlanPhase::Stopped { .. }),
            "after {crashed:?}: {:?}",
            plan.phase
        );
        assert_eq!(
            plan.stop_cause().unwrap().target,
            Some(LAST),
            "the first cause stands"
        );
        for (i, region) in w.regions.iter().enumerate() {
            assert_eq!(
                region.live().await,
                "1",
                "after {crashed:?}: {} is back",
                region.name
            );
            let history = region
                .store
                .history(&region.function, 10, None)
                .await
                .unwrap();
            let ids: Vec<&str> = history.releases.iter().map(|r| r.id.as_str()).collect();
            // The wave's release, and for a promoted one, one revert of it: never two.
            let expected = if i < LAST { 2 } else { 1 };
            assert_eq!(
                ids.len(),
                expected,
                "after {crashed:?}: {}: {ids:?}",
                region.name
            );
            for release in &history.releases {
                assert!(
                    release.phase.is_terminal(),
                    "after {crashed:?}: {}",
                    release.id
                );
                let mut kinds: Vec<&str> = release.log.iter().map(|e| e.event.name()).collect();
                let all = kinds.len();
                kinds.dedup();
                assert_eq!(
                    kinds.len(),
                    all,
                    "after {crashed:?}: {}: an event twice",
                    release.id
                );
            }
            if i < LAST {
                let back = region
                    .store
                    .load_summary(&format!("{}-back", w.release_id(i + 1)))
                    .await
                    .unwrap();
                assert_eq!(back.phase, Phase::Succeeded, "after {crashed:?}");
            }
        }
        match crashed {
            Some(_) => crash_after += 1,
            None => break,
        }
    }
    eprintln!("the stop made {} writes", crash_after - 1);
    assert!(crash_after > 4, "the stop made {} writes", crash_after - 1);
}

#[tokio::test]
async fn a_look_that_dies_after_starting_a_wave_starts_it_once_when_run_again() {
    let mut crash_after = 1;
    loop {
        let w = world().await;
        w.crash.arm(crash_after);
        let first = Box::pin(w.waves.look(&w.id, epoch_now())).await;
        let crashed = w.crash.crashed_after();
        w.crash.disarm();
        if crashed.is_some() {
            assert!(first.is_err(), "after {crashed:?}");
            Box::pin(w.waves.look(&w.id, epoch_now())).await.unwrap();
        }
        let plan = w.stored().await;
        assert_eq!(
            plan.targets[0].state.release_id(),
            Some(w.release_id(1).as_str())
        );
        // One execution in the first Region, which its workflow records once.
        let region = &w.regions[0];
        assert!(region
            .workflow
            .execution(&w.release_id(1))
            .await
            .unwrap()
            .is_some());
        region.run_start(&w.release_id(1)).await;
        let history = region
            .store
            .history(&region.function, 10, None)
            .await
            .unwrap();
        assert_eq!(history.releases.len(), 1, "after {crashed:?}");
        match crashed {
            Some(_) => crash_after += 1,
            None => break,
        }
    }
    assert!(crash_after > 1, "the look made no write");
}
