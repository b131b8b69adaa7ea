//! The waves workflow's definition, executed: aws-local-stepfunctions runs
//! statemachine/waves.asl.json, each Lambda task on the real handlers binary (the coordinator,
//! cold, behind local-lambda) against three Regions of the emulator, whose own release
//! workflows are played beside it as each Region's would run.

use std::sync::Arc;

use super::*;
use shiftback::waves::PlanPhase;
use shiftback_integration_tests::waves::{region, Region};

/// The waves definition on `input`, its waits 200 ms.
async fn execute_waves(handlers: &Handlers, name: &str, input: Value) -> Value {
    run_definition("e2e/run-waves.mjs", &[&handlers.url, name, "200"], input).await
}

struct Regions {
    regions: Arc<Vec<Region>>,
    stack: String,
    alarm: String,
}

async fn regions() -> Regions {
    let stack = unique("shiftback");
    let alarm = unique("errors");
    let mut regions = Vec::new();
    for name in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
        regions.push(region(name, &stack, &alarm).await);
    }
    Regions {
        regions: Arc::new(regions),
        stack,
        alarm,
    }
}

impl Regions {
    /// The plan as the workflow's input: us-east-1, then eu-west-1 and ap-southeast-2, each
    /// Region's function named where it differs, `extra` Regions appended to the last wave.
    fn input(&self, extra: &[&str]) -> Value {
        let entry = |r: &Region| json!({"region": r.name, "function": r.function});
        let mut last: Vec<Value> = self.regions[1..].iter().map(entry).collect();
        last.extend(extra.iter().map(|r| json!(r)));
        json!({"plan": {
            "function": self.regions[0].function, "alias": "live", "version": "2",
            "waves": [[entry(&self.regions[0])], last],
            "wave_bake": "0s", "strategy": "canary:10:5m", "alarms": [self.alarm],
            "started_by": "pipeline"
        }})
    }

    async fn coordinator(&self) -> Handlers {
        let home = &self.regions[0];
        serve_handlers_with(&[
            ("RELEASE_TABLE", home.store.table()),
            ("REGIONAL_STACK_NAME", &self.stack),
            ("AWS_REGION", "us-east-1"),
        ])
        .await
    }
}

/// Each Region's release workflow, played as the coordinator starts it: its Start task on
/// the execution's input, then promoted.
fn play_regions(regions: Arc<Vec<Region>>, plan: String) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let ids = [(0, 1, 1), (1, 2, 2), (2, 2, 3)];
        let mut done = [false; 3];
        for _ in 0..600 {
            for (k, (i, wave, n)) in ids.iter().enumerate() {
                let id = format!("{plan}-w{wave}-{n}");
                let started = regions[*i].workflow.execution(&id).await.unwrap().is_some();
                if started && !done[k] {
                    regions[*i].run_start(&id).await;
                    regions[*i].promote(&id).await;
                    done[k] = true;
                }
            }
            if done.iter().all(|d| *d) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        done.iter().filter(|d| **d).count()
    })
}

#[tokio::test]
async fn a_plan_in_the_workflows_input_is_checked_recorded_and_carried_out_wave_by_wave() {
    let r = regions().await;
    let handlers = r.coordinator().await;
    let name = unique("plan");
    let players = play_regions(r.regions.clone(), name.clone());
    let report = execute_waves(&handlers, &name, r.input(&[])).await;
    assert_eq!(report["status"], "SUCCEEDED", "{report}");
    assert_eq!(
        players.await.unwrap(),
        3,
        "every Region's release was started"
    );
    let states = states(&report);
    assert_eq!(states[..2], ["Create", "Look"], "{states:?}");
    assert!(!states.contains(&"ContinueAsNew"), "{states:?}");
    for region in r.regions.iter() {
        assert_eq!(region.live().await, "2", "{}", region.name);
    }
    let home = &r.regions[0];
    let plan = DynamoStore::new(home.env.dynamodb.clone(), home.store.table())
        .load_plan(&name)
        .await
        .unwrap()
        .0;
    assert!(
        matches!(plan.phase, PlanPhase::Completed { .. }),
        "{:?}",
        plan.phase
    );
    assert_eq!(plan.started_by, "pipeline");
    // The coordinator named itself: each regional release can stop the plan at once.
    assert_eq!(
        plan.coordinator.as_deref(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:shiftback-waves")
    );
}

#[tokio::test]
async fn a_plan_a_region_refuses_fails_its_execution_with_nothing_recorded_or_moved() {
    let r = regions().await;
    let handlers = r.coordinator().await;
    let name = unique("plan");
    let report = execute_waves(&handlers, &name, r.input(&["eu-north-1"])).await;
    assert_eq!(report["status"], "FAILED", "{report}");
    let cause = report["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("nothing moved")
            && cause.contains(&format!(
                "no shiftback stack named {} in eu-north-1",
                r.stack
            )),
        "{report}"
    );
    assert_eq!(states(&report), ["Create"]);
    let home = &r.regions[0];
    let stored = DynamoStore::new(home.env.dynamodb.clone(), home.store.table())
        .load_plan(&name)
        .await;
    assert!(matches!(stored, Err(shiftback::Error::ReleaseNotFound(_))));
    for region in r.regions.iter() {
        assert_eq!(region.live().await, "1", "{}", region.name);
    }
}
