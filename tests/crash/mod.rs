//! A handler's process dying between any two of its AWS writes. Step Functions retries the
//! task (or the event source delivers the alarm again) with the same input, and the work
//! completes once: the alias ends where it should, the log holds each event once, the lock is
//! where it should be, and every notification arrives. Each scenario is run with the crash
//! after its 1st write, its 2nd, and so on, until a run needs none.

use shiftback::ports::AliasRouter as _;
use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudwatch::types::StateValue;
use shiftback::adapters::{CloudWatchHealth, DynamoStore, LambdaRouter, SnsNotifier};
use shiftback::alarm::AlarmResponder;
use shiftback::domain::{Phase, Release, Weight};
use shiftback::service::{Next, ReleaseService, StepError, StepInput};
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, drain_queue, emulator, function_with_versions,
    release_request, release_store, subscribed_queue, topic, Crash, Emulator,
};

struct World {
    env: Emulator,
    crash: Crash,
    service: ReleaseService,
    responder: AlarmResponder,
    function: String,
    /// A second function on `live` at version 1, for the group scenarios.
    worker: String,
    alarm: String,
    queue: String,
}

async fn world() -> World {
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let worker = function_with_versions(&env, 2, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let table = release_store(&env).await.table().to_string();
    let topic = topic(&env, "releases").await;
    let queue = subscribed_queue(&env, &topic, true, None).await;
    let crash = Crash::default();
    let clients = env.clients_with(&crash);
    let store = DynamoStore::new(clients.dynamodb.clone(), &table);
    let router = LambdaRouter::new(clients.lambda);
    // A short lease: a re-run waits out the dead process's claim on a notification.
    let notifier = SnsNotifier::new(clients.sns, clients.dynamodb, &table, topic, None)
        .with_claim_lease(Duration::from_millis(300));
    let service = ReleaseService::new(
        router.clone(),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    )
    .with_notifier(notifier.clone());
    let responder = AlarmResponder::new(router, store, None).with_notifier(notifier);
    World {
        env,
        crash,
        service,
        responder,
        function,
        worker,
        alarm,
        queue,
    }
}

fn step(release_id: &str) -> StepInput {
    StepInput::of(release_id)
}

impl World {
    async fn weight(&self) -> Option<Weight> {
        let alias = self.service.router.read(&self.function, "live").await;
        alias.unwrap().routing.weight_towards("1", "2")
    }

    async fn release(&self, id: &str) -> Release {
        self.service.store.load(id).await.unwrap().release
    }

    /// A release started (uncrashed) with `strategy`, its announcements already drained.
    async fn started(&self, strategy: &str) -> String {
        self.started_as(strategy, false).await
    }

    /// The same, as a group of the world's two functions when `group`.
    async fn started_as(&self, strategy: &str, group: bool) -> String {
        let request = self.request(strategy, group);
        let id = self.service.start(request).await.unwrap().release_id;
        self.announced().await;
        id
    }

    /// A release of the world's function to version 2; with the worker too when `group`.
    fn request(&self, strategy: &str, group: bool) -> shiftback::service::StartRequest {
        let members = match group {
            true => vec![shiftback::domain::Member {
                function: self.worker.clone(),
                alias: "live".into(),
                stable_version: String::new(),
                target_version: "2".into(),
            }],
            false => Vec::new(),
        };
        shiftback::service::StartRequest {
            members,
            ..release_request(&self.function, &self.alarm, "2", strategy)
        }
    }

    /// Each member's weight towards version 2 (the function's, then the worker's if `group`).
    async fn weights(&self, group: bool) -> Vec<Option<Weight>> {
        let mut functions = vec![&self.function];
        if group {
            functions.push(&self.worker);
        }
        let mut weights = Vec::new();
        for function in functions {
            let alias = self.service.router.read(function, "live").await;
            weights.push(alias.unwrap().routing.weight_towards("1", "2"));
        }
        weights
    }

    /// Who holds each member's lock.
    async fn locks(&self, group: bool) -> Vec<Option<String>> {
        let mut functions = vec![&self.function];
        if group {
            functions.push(&self.worker);
        }
        let mut locks = Vec::new();
        for function in functions {
            let holder = self.service.store.lock_holder(function, "live").await;
            locks.push(holder.unwrap().map(|h| h.release_id));
        }
        locks
    }

    async fn events(&self, id: &str) -> Vec<&'static str> {
        let release = self.release(id).await;
        release.log.iter().map(|e| e.event.name()).collect()
    }

    async fn lock(&self) -> Option<String> {
        let holder = self.service.store.lock_holder(&self.function, "live").await;
        holder.unwrap().map(|h| h.release_id)
    }

    /// How many times each event type was announced.
    async fn announced(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for message in drain_queue(&self.env, &self.queue).await {
            let event = message["metadata"]["eventType"].as_str().unwrap_or("?");
            *counts.entry(event.to_string()).or_default() += 1;
        }
        counts
    }

    /// Checks each expected announcement arrived once. A process that died between a
    /// publish and its confirmation is the documented exception: that one may arrive twice
    /// (the crash after the publish, or after a write made while the publish was in flight).
    async fn assert_announced_once(&self, expected: &[&str], crashed_after: &str) {
        let counts = self.announced().await;
        let names: Vec<&str> = counts.keys().map(String::as_str).collect();
        let mut wanted = expected.to_vec();
        wanted.sort();
        assert_eq!(names, wanted, "crash after {crashed_after}: {counts:?}");
        let twice = counts.values().filter(|n| **n == 2).count();
        // Also when a publish was in flight as it died (sent while its claim was renewed).
        let allowed = usize::from(
            crashed_after == "Publish" || crashed_after.ends_with("(Publish in flight)"),
        );
        assert!(
            counts.values().all(|n| *n <= 2) && twice <= allowed,
            "crash after {crashed_after}: {counts:?}"
        );
    }

    /// Runs `run` with the process dying after write `k`, then (a new process) runs it again.
    /// Returns the write it died after, or None when `run` makes fewer than `k` writes.
    async fn crash_then_retry<F, Fut, T>(&self, k: usize, run: F) -> Option<String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = shiftback::Result<T>>,
    {
        self.crash.arm(k);
        let first = run().await.map(|_| ());
        let crashed_after = self.crash.crashed_after();
        self.crash.disarm();
        match &crashed_after {
            Some(_) => {
                // A dead process reports nothing (the handler logs a failed notification and
                // carries on, so `first` may even be Ok): the task times out and Step
                // Functions' Retry runs it again until it succeeds.
                let mut attempts = 0;
                while let Err(e) = run().await {
                    attempts += 1;
                    assert!(attempts < 5, "re-run after a crash keeps failing: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            None => first.unwrap_or_else(|e| panic!("uncrashed run failed: {e}")),
        }
        crashed_after
    }
}

/// Runs `scenario(k)` for k = 1, 2, ... until it makes no crash, and returns the writes it
/// crashed after, so each test can check every kind of write was covered.
async fn at_every_write<F, Fut>(scenario: F) -> Vec<String>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let mut crashed = Vec::new();
    for k in 1..60 {
        match scenario(k).await {
            Some(write) => crashed.push(write),
            None => return crashed,
        }
    }
    panic!("more than 60 writes in one handler run: {crashed:?}");
}

/// The kinds of write every handler makes: each must have been crashed after at least once.
const WRITES: [&str; 4] = ["TransactWriteItems", "UpdateAlias", "UpdateItem", "Publish"];

fn covers(crashed: &[String]) {
    for write in WRITES {
        assert!(
            crashed
                .iter()
                .any(|c| c == write || c.starts_with(&format!("{write} ("))),
            "no crash after {write}: {crashed:?}"
        );
    }
}

/// A start (of one alias, or of a group of two) crashed after write `k`, then run again.
async fn start_scenario(k: usize, group: bool) -> Option<String> {
    let w = world().await;
    let request = w.request("linear:50:1m", group);
    let id = request.release_id.clone().unwrap();
    let crashed = w
        .crash_then_retry(k, || w.service.start(request.clone()))
        .await?;
    let fifty = Some(Weight::from_percent(50.0).unwrap());
    assert!(
        w.weights(group).await.iter().all(|w| *w == fifty),
        "crash after {crashed}"
    );
    let release = w.release(&id).await;
    assert_eq!(release.phase, Phase::Shifting { step: 0 });
    let events: Vec<_> = release.log.iter().map(|e| e.event.name()).collect();
    assert_eq!(events, ["started", "weight_set"], "crash after {crashed}");
    assert!(w
        .locks(group)
        .await
        .iter()
        .all(|l| l.as_deref() == Some(id.as_str())));
    w.assert_announced_once(&["started", "step_applied"], &crashed)
        .await;
    Some(crashed)
}

#[tokio::test]
async fn start_completes_once_after_a_crash_after_any_write() {
    covers(&at_every_write(|k| start_scenario(k, false)).await);
}

#[tokio::test]
async fn a_group_start_completes_once_after_a_crash_after_any_write() {
    covers(&at_every_write(|k| start_scenario(k, true)).await);
}

mod alarm;
mod steps;
mod waves;
