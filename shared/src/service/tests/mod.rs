//! The use cases' decisions (refusals, races, retries) against the in-memory ports, in
//! milliseconds. The emulator tests in `tests/` keep what only the wire shows.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::alarm::AlarmResponder;
use super::*;
use crate::domain::{AlarmState, AnalysisSettings};
use crate::testing::*;

mod alarm;
mod analysis;
mod analysis_interim;
mod durable;
mod gates;
mod groups;
mod hooks;
mod ignore;
mod input;
mod managed;
mod operator;
mod plan_stops;
mod provider;
mod retention;
mod retention_reads;
mod start;
mod step;

const FUNCTION: &str = "orders";
const ALIAS: &str = "live";
const ALARM: &str = "orders-errors";
/// The stack that created `orders` (its `aws:cloudformation:stack-id` tag).
const STACK: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/app/1";

type Service = ReleaseService<Memory>;
type Responder = AlarmResponder<Memory>;

/// One account: `orders:live` on version 1, versions 1 to 3 published, one alarm in OK;
/// the workflow's service and the alarm's responder over the same fakes.
struct World {
    journal: Journal,
    plan_stops: crate::waves::MemoryPlanStops,
    router: MemoryRouter,
    store: MemoryStore,
    alarms: MemoryHealth,
    hooks: MemoryHooks,
    service: Service,
    responder: Responder,
}

fn world() -> World {
    let journal = Journal::default();
    let router = MemoryRouter::new(journal.clone())
        .with_alias(FUNCTION, ALIAS, "1")
        .with_version(FUNCTION, "1", None)
        .with_version(FUNCTION, "2", None)
        .with_version(FUNCTION, "3", None)
        .owned_by(FUNCTION, STACK);
    let store = MemoryStore::new(journal.clone());
    let alarms = MemoryHealth::default();
    alarms.set(ALARM, AlarmState::Ok, Utc::now() - Duration::hours(1));
    let hooks = MemoryHooks::default();
    let announcer = MemoryNotifier {
        journal: journal.clone(),
    };
    let plan_stops = crate::waves::MemoryPlanStops {
        journal: Some(journal.clone()),
        ..Default::default()
    };
    let service = ReleaseService {
        router: router.clone(),
        store: store.clone(),
        health: alarms.clone(),
        notifier: Some(announcer.clone()),
        hooks: Some(hooks.clone()),
        plan_stops: Some(plan_stops.clone()),
    };
    let responder = AlarmResponder {
        router: router.clone(),
        store: store.clone(),
        workflow: Some(MemoryWorkflow {
            journal: journal.clone(),
            ..Default::default()
        }),
        notifier: Some(announcer),
        alarms: Some(alarms.clone()),
        plan_stops: Some(plan_stops.clone()),
    };
    World {
        plan_stops,
        journal,
        router,
        store,
        alarms,
        hooks,
        service,
        responder,
    }
}

fn request(id: &str, strategy: &str) -> StartRequest {
    StartRequest {
        labels: Default::default(),
        members: Vec::new(),
        gates: Default::default(),
        hooks: Default::default(),
        release_id: Some(id.into()),
        function: FUNCTION.into(),
        alias: ALIAS.into(),
        stable_version: None,
        target_version: "2".into(),
        strategy: strategy.into(),
        alarms: vec![ALARM.into()],
        alarm_overrides: vec![],
        bake_after_secs: 0,
        started_by: "ci".into(),
        kind: Default::default(),
        // Switched on by the analysis tests; the others are about something else.
        analysis: AnalysisSettings::off(),
        retain_versions: None,
        supersede: false,
    }
}

/// A group's second member: `orders-worker:live`, on version 7, with 8 published.
const WORKER: &str = "orders-worker";

/// The world with the worker beside `orders:live` (clones of the router share one table).
fn group_world() -> World {
    let w = world();
    let _ = w
        .router
        .clone()
        .with_alias(WORKER, ALIAS, "7")
        .with_version(WORKER, "7", None)
        .with_version(WORKER, "8", None);
    w
}

/// The worker as a group member moving to version 8.
fn worker() -> crate::domain::Member {
    crate::domain::Member {
        function: WORKER.into(),
        alias: ALIAS.into(),
        stable_version: String::new(),
        target_version: "8".into(),
    }
}

fn step(id: &str) -> StepInput {
    StepInput::of(id)
}

/// EventBridge's "CloudWatch Alarm State Change" into ALARM, timestamped now.
fn alarm_fired(alarm: &str) -> Value {
    let now = Utc::now().to_rfc3339();
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
        "account": "123456789012", "time": now, "region": "eu-west-1",
        "resources": [format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": now},
            "previousState": {"value": "OK", "reason": "", "timestamp": now},
            "configuration": {"metrics": []}
        }
    })
}

impl World {
    fn routing(&self) -> String {
        self.router.routing(FUNCTION, ALIAS).to_string()
    }

    fn phase(&self, id: &str) -> &'static str {
        self.store.release(id).phase.name()
    }

    /// A release started with `strategy` and left at its first step.
    async fn started(&self, id: &str, strategy: &str) -> StepOutcome {
        self.service.start(request(id, strategy)).await.unwrap()
    }
}
