//! Canary analysis against moto: Lambda's per-version metrics published under `AWS/Lambda`
//! with the dimensions a weighted alias gives them (FunctionName, Resource, ExecutedVersion),
//! read back with GetMetricData. moto computes sums, not percentiles: p99 is covered by the
//! domain's tables and the adapter's query test, not here.

use aws_sdk_cloudwatch::types::StateValue;
use shiftback::adapters::{CloudWatchHealth, LambdaRouter};
use shiftback::alarm::AlarmResponder;
use shiftback::analysis::{analysis_alarm, WhenInconclusive};
use shiftback::domain::{AnalysisSettings, Phase, Release, ReleaseEvent, ReleaseSpec};
use shiftback::ports::AliasRouter as _;
use shiftback::service::{Next, ReleaseService, StepInput};
use shiftback_integration_tests::{
    alarm_in_state, alarm_state_change, emulator, function_with_versions, metric_alarm,
    publish_version_metric, release_request, release_store, set_alarm_state, Emulator,
};

struct Canary {
    env: Emulator,
    service: ReleaseService,
    function: String,
    release_id: String,
}

/// A release of version 2 at its first step (10% for 0 s), analysis on with `settings`, its
/// minutes judged as they are published (moto's metrics do not arrive late).
async fn canary(settings: AnalysisSettings) -> Canary {
    let settings = AnalysisSettings {
        settle_secs: 0,
        warmup_secs: 0,
        ..settings
    };
    let env = emulator().await;
    let function = function_with_versions(&env, 2, "live").await;
    let alarm = alarm_in_state(&env, StateValue::Ok).await;
    let service = ReleaseService::new(
        LambdaRouter::new(env.lambda.clone()),
        release_store(&env).await,
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );
    let mut request = release_request(&function, &alarm, "2", "steps:10@0s,50@0s");
    request.analysis = settings;
    let release_id = service.start(request).await.unwrap().release_id;
    Canary {
        env,
        service,
        function,
        release_id,
    }
}

impl Canary {
    fn step(&self) -> StepInput {
        StepInput::of(&self.release_id)
    }

    async fn look(&self) -> shiftback::service::StepOutcome {
        self.service.advance(self.step()).await.unwrap()
    }

    async fn own_alarm_exists(&self) -> bool {
        let own = format!("shiftback-analysis-{}", self.release_id);
        metric_alarm(&self.env, &own).await.is_some()
    }

    async fn routing(&self) -> String {
        self.service
            .router
            .read(&self.function, "live")
            .await
            .unwrap()
            .routing
            .to_string()
    }
}

#[tokio::test]
async fn an_erroring_canary_rolls_back_with_its_numbers_though_no_alarm_fires() {
    let c = canary(AnalysisSettings::default()).await;
    publish_version_metric(&c.env, &c.function, "2", "Invocations", 120.0).await;
    publish_version_metric(&c.env, &c.function, "2", "Errors", 9.0).await;
    publish_version_metric(&c.env, &c.function, "1", "Invocations", 1_080.0).await;
    publish_version_metric(&c.env, &c.function, "1", "Errors", 1.0).await;
    let outcome = c.look().await;
    assert_eq!(outcome.next, Next::Rollback);
    assert_eq!(
        outcome.reason.as_deref(),
        Some(
            // Two steps: each has half the release's budget.
            "canary analysis failed: target 7.50% errors over 120 vs stable 0.09% over 1,080: \
             worse than the margin allows, beyond chance at 99.75% confidence"
        )
    );
    assert_eq!(
        c.routing().await,
        "version 1 with 10% on version 2",
        "the rollback task reverts"
    );
}

#[tokio::test]
async fn a_healthy_canary_moves_to_the_next_step_with_its_verdict_on_the_record() {
    let c = canary(AnalysisSettings::default()).await;
    // Enough error-free target invocations to show it no worse than the stable version.
    publish_version_metric(&c.env, &c.function, "2", "Invocations", 2_000.0).await;
    publish_version_metric(&c.env, &c.function, "1", "Invocations", 18_000.0).await;
    publish_version_metric(&c.env, &c.function, "1", "Errors", 3.0).await;
    let outcome = c.look().await;
    assert_eq!(
        (outcome.next, outcome.phase.as_str()),
        (Next::Wait, "shifting")
    );
    assert_eq!(c.routing().await, "version 1 with 50% on version 2");
    let release = c.service.store.load(&c.release_id).await.unwrap().release;
    let analysed = release
        .log
        .iter()
        .find(|e| matches!(e.event, ReleaseEvent::Analysed { .. }));
    assert!(analysed.is_some(), "{:?}", release.log);
    assert!(
        c.own_alarm_exists().await,
        "guarding while the release runs"
    );
    let last = c.look().await;
    assert_eq!(last.next, Next::Promote);
    let done = c.service.promote(c.step()).await.unwrap();
    assert_eq!(done.phase, "succeeded");
    assert!(
        !c.own_alarm_exists().await,
        "gone once the release is (no bake window)"
    );
}

#[tokio::test]
async fn a_silent_canary_is_held_for_a_person_not_passed() {
    let settings = AnalysisSettings {
        max_extension_secs: 0,
        when_inconclusive: WhenInconclusive::Hold,
        ..AnalysisSettings::default()
    };
    let c = canary(settings).await;
    // Traffic on the stable version only: the target has too little to judge.
    publish_version_metric(&c.env, &c.function, "2", "Invocations", 12.0).await;
    publish_version_metric(&c.env, &c.function, "1", "Invocations", 1_080.0).await;
    let outcome = c.look().await;
    assert_eq!(outcome.phase, "paused");
    assert_eq!(
        c.routing().await,
        "version 1 with 10% on version 2",
        "held where it was"
    );
    let release = c.service.store.load(&c.release_id).await.unwrap().release;
    assert_eq!(release.phase, Phase::Paused { step: 0 });
    let held = release.log.iter().find_map(|e| match &e.event {
        ReleaseEvent::Held { reason } => Some(reason.clone()),
        _ => None,
    });
    assert!(
        held.as_deref()
            .is_some_and(|r| r.contains("not enough evidence yet: target 0.00% errors over 12 ")),
        "{held:?}"
    );
}

#[tokio::test]
async fn a_releases_own_alarm_is_created_with_its_metric_math_and_deleted_twice_harmlessly() {
    let env = emulator().await;
    let health = CloudWatchHealth::new(env.cloudwatch.clone());
    let action = "arn:aws:lambda:us-east-1:123456789012:function:shiftback-alarm";
    let spec: ReleaseSpec = serde_json::from_value(serde_json::json!({
        "release_id": shiftback_integration_tests::unique("r"), "function": "orders",
        "alias": "live", "stable_version": "6", "target_version": "7", "strategy": "linear:50:1m"
    }))
    .unwrap();
    let release = Release::new(spec, chrono::Utc::now()).unwrap();
    let alarm = analysis_alarm(&release, Some(action));
    health.put_analysis_alarm(&alarm).await.unwrap();
    // The same again (a retried start) replaces it.
    health.put_analysis_alarm(&alarm).await.unwrap();
    let stored = metric_alarm(&env, &alarm.name).await.expect("created");
    assert_eq!(stored.alarm_actions(), [action]);
    // Above 0: any excess past the regression (the margin is inside the expression).
    assert_eq!(stored.threshold(), Some(0.0));
    assert_eq!(
        (stored.evaluation_periods(), stored.datapoints_to_alarm()),
        (Some(3), Some(3))
    );
    let queries = stored.metrics();
    assert_eq!(queries.len(), 5, "four series and the expression");
    let expression = queries
        .iter()
        .find(|q| q.return_data() == Some(true))
        .unwrap();
    assert_eq!(expression.expression(), Some(alarm.expression.as_str()));
    let versions: Vec<_> = queries
        .iter()
        .filter_map(|q| q.metric_stat()?.metric())
        .flat_map(|m| m.dimensions())
        .filter(|d| d.name() == Some("ExecutedVersion"))
        .filter_map(|d| d.value())
        .collect();
    assert_eq!(versions, ["7", "7", "6", "6"]);

    let names = [alarm.name.clone()];
    health.delete_alarms(&names).await.unwrap();
    health.delete_alarms(&names).await.unwrap();
    assert!(metric_alarm(&env, &alarm.name).await.is_none());
}

#[tokio::test]
async fn the_releases_own_alarm_reverts_at_once_through_the_alarm_function() {
    let c = canary(AnalysisSettings::default()).await;
    let own = format!("shiftback-analysis-{}", c.release_id);
    assert!(
        metric_alarm(&c.env, &own).await.is_some(),
        "created at the start"
    );
    // CloudWatch crossed it: the state change EventBridge delivers to the alarm function.
    set_alarm_state(
        &c.env,
        &own,
        StateValue::Alarm,
        "Threshold Crossed: 2 datapoints",
    )
    .await;
    let responder = AlarmResponder::new(c.service.router.clone(), c.service.store.clone(), None)
        .with_alarm_cleanup(c.service.health.clone());
    let outcomes = responder
        .handle(
            alarm_state_change(&own, "ALARM", "123456789012"),
            Some("123456789012"),
        )
        .await
        .unwrap();
    assert_eq!(outcomes[0].reverted.len(), 1);
    assert_eq!(c.routing().await, "version 1");
    let release = c.service.store.load(&c.release_id).await.unwrap().release;
    assert_eq!(release.phase, Phase::RolledBack);
    assert!(
        release
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with(&format!("alarm {own} is in ALARM"))),
        "{:?}",
        release.reason
    );
    // Its work done, the alarm function deletes it: no release may follow to do it.
    assert!(metric_alarm(&c.env, &own).await.is_none());
}
