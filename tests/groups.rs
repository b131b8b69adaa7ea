//! Release groups against moto: every member's alias moved on the wire in step, the locks and
//! the history entries written in the start's one transaction, an alarm reverting every
//! member, and a 20-member group paced by the Lambda control-plane rate limiter (moto never
//! throttles; the limiter's pacing is what keeps a real account's 15 requests/s unbroken).

use aws_sdk_cloudwatch::types::StateValue;
use shiftback::adapters::{AliasRouting, CloudWatchHealth, DynamoStore, LambdaRouter};
use shiftback::alarm::AlarmResponder;
use shiftback::domain::Member;
use shiftback::ports::AliasRouter as _;
use shiftback::service::{ReleaseService, StartRequest, StepInput};
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, emulator, function_with_versions, release_request,
    release_store, unique, CallLog, Clients, Emulator,
};

struct Group {
    env: Emulator,
    store: DynamoStore,
    service: ReleaseService,
    responder: AlarmResponder,
    log: CallLog,
    /// Every member's function (each alias `live`, from version 1 to 2).
    functions: Vec<String>,
    alarm: String,
}

async fn group(size: usize) -> Group {
    let env = emulator().await;
    let store = release_store(&env).await;
    let log = CallLog::default();
    let Clients {
        lambda, cloudwatch, ..
    } = env.clients_with(&log);
    let router = LambdaRouter::new(lambda);
    let service = ReleaseService::new(
        router.clone(),
        store.clone(),
        CloudWatchHealth::new(cloudwatch),
    );
    let responder = AlarmResponder::new(router, store.clone(), None);
    let mut functions = Vec::new();
    for _ in 0..size {
        functions.push(function_with_versions(&env, 2, "live").await);
    }
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    Group {
        env,
        store,
        service,
        responder,
        log,
        functions,
        alarm,
    }
}

impl Group {
    fn request(&self, id: &str, strategy: &str) -> StartRequest {
        StartRequest {
            release_id: Some(id.into()),
            members: self.functions[1..]
                .iter()
                .map(|f| Member {
                    function: f.clone(),
                    alias: "live".into(),
                    stable_version: String::new(),
                    target_version: "2".into(),
                })
                .collect(),
            ..release_request(&self.functions[0], &self.alarm, "2", strategy)
        }
    }

    async fn routings(&self) -> Vec<String> {
        let router = LambdaRouter::new(self.env.lambda.clone());
        let mut routings = Vec::new();
        for function in &self.functions {
            routings.push(
                router
                    .read(function, "live")
                    .await
                    .unwrap()
                    .routing
                    .to_string(),
            );
        }
        routings
    }

    fn calls(&self, operation: &str) -> usize {
        self.log
            .calls()
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }
}

fn step(id: &str) -> StepInput {
    serde_json::from_value(serde_json::json!({ "release_id": id })).unwrap()
}

async fn promote_group(size: usize) {
    let g = group(size).await;
    let id = unique("r");
    g.service
        .start(g.request(&id, "steps:10@0s,50@0s"))
        .await
        .unwrap();
    let ten = AliasRouting {
        version: "1".into(),
        extra: Some((
            "2".into(),
            shiftback::domain::Weight::from_percent(10.0).unwrap(),
        )),
    };
    assert_eq!(g.routings().await, vec![ten.to_string(); size]);
    g.log.clear();
    g.service.advance(step(&id)).await.unwrap();
    assert!(g.routings().await.iter().all(|r| r.contains("50%")));
    assert_eq!(
        (g.calls("GetAlias"), g.calls("UpdateAlias")),
        (size, size),
        "one read and one write per member per step"
    );
    g.service.advance(step(&id)).await.unwrap();
    let done = g.service.promote(step(&id)).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    assert_eq!(g.routings().await, vec!["version 2".to_string(); size]);
    for function in &g.functions {
        assert_eq!(g.store.lock_holder(function, "live").await.unwrap(), None);
        // History finds the group through any member's function.
        let history = g.store.history(function, 10, None).await.unwrap();
        assert_eq!(history.releases.len(), 1, "{function}");
        assert_eq!(history.releases[0].id, id);
        assert_eq!(history.releases[0].members.len(), size - 1);
    }
}

#[tokio::test]
async fn a_two_member_group_promotes_in_step() {
    promote_group(2).await;
}

#[tokio::test]
async fn a_five_member_group_promotes_in_step() {
    promote_group(5).await;
}

#[tokio::test]
async fn an_alarm_reverts_every_member_of_a_group() {
    let g = group(3).await;
    let id = unique("r");
    g.service
        .start(g.request(&id, "steps:10@0s,50@0s"))
        .await
        .unwrap();
    let event = alarm_state_change(&g.alarm, "ALARM", "123456789012");
    let outcomes = g.responder.handle(event, None).await.unwrap();
    assert_eq!(outcomes[0].reverted.len(), 3, "{outcomes:?}");
    assert_eq!(g.routings().await, vec!["version 1".to_string(); 3]);
    let release = g.store.load(&id).await.unwrap().release;
    assert_eq!(release.phase.name(), "rolled_back");
    for function in &g.functions {
        assert_eq!(g.store.lock_holder(function, "live").await.unwrap(), None);
    }
}

#[tokio::test]
async fn a_twenty_member_group_steps_within_the_control_plane_rate() {
    let g = group(shiftback::domain::MAX_MEMBERS).await;
    let id = unique("r");
    g.service
        .start(g.request(&id, "steps:10@0s"))
        .await
        .unwrap();
    g.log.clear();
    g.service.advance(step(&id)).await.unwrap();
    let done = g.service.promote(step(&id)).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    assert_eq!(g.routings().await, vec!["version 2".to_string(); 20]);
    // The look read each alias once; the promotion read and wrote each once. Paced by the
    // limiter, none of them met a throttle (each would have been retried and counted here).
    assert_eq!((g.calls("GetAlias"), g.calls("UpdateAlias")), (40, 20));
}

#[tokio::test]
async fn a_team_filtering_on_its_own_function_hears_of_the_group() {
    use shiftback_integration_tests::notifier_on;
    use shiftback_integration_tests::{drain_queue, subscribed_queue, topic};
    let g = group(2).await;
    let topic = topic(&g.env, "releases").await;
    // The worker's team: only messages that name its function among `functions`.
    let worker_team = subscribed_queue(
        &g.env,
        &topic,
        true,
        Some(serde_json::json!({ "functions": [g.functions[1]] })),
    )
    .await;
    let strangers = subscribed_queue(
        &g.env,
        &topic,
        true,
        Some(serde_json::json!({ "functions": ["someone-else"] })),
    )
    .await;
    let notifier = notifier_on(&g.env, &g.store, &topic, None);
    let service = ReleaseService::new(
        LambdaRouter::new(g.env.lambda.clone()),
        g.store.clone(),
        CloudWatchHealth::new(g.env.cloudwatch.clone()),
    )
    .with_notifier(notifier);
    service
        .start(g.request(&unique("r"), "steps:10@0s"))
        .await
        .unwrap();
    let heard: Vec<String> = drain_queue(&g.env, &worker_team)
        .await
        .iter()
        .map(|m| {
            m["metadata"]["eventType"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert!(heard.contains(&"started".to_string()), "{heard:?}");
    assert!(drain_queue(&g.env, &strangers).await.is_empty());
}
