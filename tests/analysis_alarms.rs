//! A release's own alarms as CloudWatch stores them (moto): the error-rate alarm's p99
//! neighbour, the fast path's 10-second alarm on the function's own metrics, and the warm-up
//! that the pinned CloudWatch SDK has no field for (added to the request's form body).

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use shiftback::adapters::CloudWatchHealth;
use shiftback::analysis::{alarm_name, kind_alarm, AlarmKind};
use shiftback::domain::{AnalysisSettings, Release, ReleaseSpec};
use shiftback_integration_tests::{emulator, metric_alarm, unique};

/// Every request body as it went on the wire (after every interceptor's change).
#[derive(Clone, Default, Debug)]
struct Bodies(Arc<Mutex<Vec<String>>>);

impl Intercept for Bodies {
    fn name(&self) -> &'static str {
        "Bodies"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.request().body().bytes() {
            let body = String::from_utf8_lossy(bytes).into_owned();
            self.0.lock().unwrap().push(body);
        }
        Ok(())
    }
}

#[tokio::test]
async fn each_kind_of_own_alarm_is_stored_as_written_with_its_warm_up_on_the_wire() {
    let env = emulator().await;
    let bodies = Bodies::default();
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(&env.config)
            .interceptor(bodies.clone())
            .build(),
    );
    let health = CloudWatchHealth::new(cloudwatch);
    let mut spec: ReleaseSpec = serde_json::from_value(serde_json::json!({
        "release_id": unique("r"), "function": "orders", "alias": "live",
        "stable_version": "6", "target_version": "7", "strategy": "linear:50:1m"
    }))
    .unwrap();
    spec.analysis = AnalysisSettings {
        fast_path_namespace: Some("Orders/Fast".into()),
        warmup_secs: 90,
        ..Default::default()
    };
    let mut release = Release::new(spec, chrono::Utc::now()).unwrap();
    let base = alarm_name(&release.id);
    release.analysis_alarm = Some(base.clone());
    release.analysis_alarm_kinds = AlarmKind::for_settings(&release.analysis);
    for kind in release.alarm_kinds() {
        let alarm = kind_alarm(&release, &base, kind, None);
        health.put_analysis_alarm(&alarm).await.unwrap();
        // A retried start puts it again: the warm-up is written once a request all the same.
        health.put_analysis_alarm(&alarm).await.unwrap();
        let stored = metric_alarm(&env, &alarm.name).await.expect("created");
        let periods = stored.evaluation_periods();
        let stats: Vec<(String, String, i32)> = stored
            .metrics()
            .iter()
            .filter_map(|q| q.metric_stat())
            .map(|s| {
                let metric = s.metric().unwrap();
                (
                    metric.namespace().unwrap_or_default().to_string(),
                    s.stat().unwrap_or_default().to_string(),
                    s.period().unwrap_or_default(),
                )
            })
            .collect();
        match kind {
            AlarmKind::Errors => {
                assert_eq!(periods, Some(3));
                assert!(
                    stats
                        .iter()
                        .all(|(ns, stat, p)| ns == "AWS/Lambda" && stat == "Sum" && *p == 60),
                    "{stats:?}"
                );
            }
            AlarmKind::Latency => {
                assert_eq!(alarm.name, format!("{base}.latency"));
                assert_eq!(periods, Some(5));
                let p99s = stats.iter().filter(|(_, stat, _)| stat == "p99").count();
                assert_eq!(p99s, 2, "{stats:?}");
            }
            AlarmKind::Fast => {
                assert_eq!(alarm.name, format!("{base}.fast"));
                assert_eq!(periods, Some(3));
                assert!(
                    stats
                        .iter()
                        .all(|(ns, _, p)| ns == "Orders/Fast" && *p == 10),
                    "{stats:?}"
                );
                let dimensions: Vec<(String, String)> = stored
                    .metrics()
                    .iter()
                    .filter_map(|q| q.metric_stat()?.metric())
                    .flat_map(|m| m.dimensions())
                    .map(|d| {
                        (
                            d.name().unwrap().to_string(),
                            d.value().unwrap().to_string(),
                        )
                    })
                    .collect();
                assert_eq!(
                    dimensions,
                    [
                        ("FunctionName", "orders"),
                        ("Version", "7"),
                        ("FunctionName", "orders"),
                        ("Version", "7"),
                        ("FunctionName", "orders"),
                        ("Version", "6"),
                        ("FunctionName", "orders"),
                        ("Version", "6"),
                    ]
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                );
            }
        }
    }
    let sent = bodies.0.lock().unwrap().clone();
    let puts: Vec<&String> = sent
        .iter()
        .filter(|b| b.contains("Action=PutMetricAlarm"))
        .collect();
    assert_eq!(puts.len(), 6);
    assert_eq!(puts.iter().filter(|b| b.contains(".fast&")).count(), 2);
    for body in puts {
        // 90 s of warm-up: two whole minutes, and nothing judged before they end.
        assert_eq!(
            body.matches("WarmUpConfiguration.WarmUpPeriodDurationInMinutes=2")
                .count(),
            1,
            "{body}"
        );
        // The per-minute alarms wait it out whole; the fast path ends it once it has data.
        let whole = !body.contains(".fast&");
        let only_after =
            format!("WarmUpConfiguration.OnlyStartEvaluatingAfterWarmUpPeriodEnds={whole}");
        assert_eq!(body.matches(&only_after).count(), 1, "{body}");
    }
    let names = release.analysis_alarms();
    health.delete_alarms(&names).await.unwrap();
    for name in names {
        assert!(metric_alarm(&env, &name).await.is_none(), "{name}");
    }
}
