//! p99 durations, which moto does not compute (it answers a percentile statistic with
//! nothing): GetMetricData's answer mocked as CloudWatch gives it, read by the adapter into
//! each version's minutes and judged. The latency check is only reachable this way.

use super::*;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use shiftback::adapters::AlarmHealth;
use shiftback::domain::analysis::{judge, CanaryVerdict};
use shiftback::domain::AnalysisSettings;
use shiftback::ports::VersionsQuery;

const MINUTE: i64 = 60;
const START: i64 = 1_800_000_000;

/// One series of one version, a datapoint a minute from START.
fn series(id: &str, values: &[f64]) -> MetricDataResult {
    MetricDataResult::builder()
        .id(id)
        .set_timestamps(Some(
            (0..values.len() as i64)
                .map(|i| aws_smithy_types::DateTime::from_secs(START + i * MINUTE))
                .collect(),
        ))
        .set_values(Some(values.to_vec()))
        .build()
}

/// Six minutes: the target takes 40 invocations a minute and the stable version 400, no
/// errors; p99s as given.
fn answer(target_p99: [f64; 6], stable_p99: f64) -> GetMetricDataOutput {
    GetMetricDataOutput::builder()
        .metric_data_results(series("t_inv", &[40.0; 6]))
        .metric_data_results(series("t_err", &[0.0; 6]))
        .metric_data_results(series("t_p99", &target_p99))
        .metric_data_results(series("s_inv", &[400.0; 6]))
        .metric_data_results(series("s_p99", &[stable_p99; 6]))
        .build()
}

async fn judged(target_p99: [f64; 6], stable_p99: f64) -> CanaryVerdict {
    let output = answer(target_p99, stable_p99);
    let rule =
        mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_output(move || output.clone());
    let health = AlarmHealth::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        &[&rule]
    ));
    let started = DateTime::from_timestamp(START, 0).unwrap();
    let comparison = health
        .compare_versions(&VersionsQuery {
            function: "orders".into(),
            alias: "live".into(),
            target_version: "7".into(),
            stable_version: "6".into(),
            start: started,
            end: started + chrono::Duration::minutes(6),
        })
        .await
        .unwrap();
    assert_eq!(comparison.target.len(), 6);
    assert_eq!(comparison.target[0].p99_ms, Some(target_p99[0]));
    let weight = Weight::from_percent(10.0).unwrap();
    judge(&AnalysisSettings::default(), weight, started, &comparison)
}

#[tokio::test]
async fn a_slower_target_fails_on_its_p99_with_the_numbers() {
    match judged([300.0; 6], 100.0).await {
        CanaryVerdict::Unhealthy { reasons, .. } => assert_eq!(
            reasons,
            ["target p99 300 ms vs stable 100 ms; threshold 175 ms"]
        ),
        v => panic!("{v:?}"),
    }
}

#[tokio::test]
async fn a_target_that_starts_cold_passes_on_its_warm_p99() {
    // The first minute is the cold start; the warm-up leaves it out.
    let verdict = judged([2_500.0, 110.0, 105.0, 112.0, 108.0, 110.0], 100.0).await;
    assert!(
        matches!(&verdict, CanaryVerdict::Healthy { summary } if summary.contains("target p99 109 ms vs stable 100 ms")),
        "{verdict:?}"
    );
}
