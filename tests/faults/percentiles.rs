//! p99 durations, which moto does not compute (it answers a percentile statistic with
//! nothing): GetMetricData's answer mocked as CloudWatch gives it, read by the adapter into
//! each version's minutes and judged. The latency check is only reachable this way.

use super::*;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::MetricDataResult;
use shiftback::adapters::CloudWatchHealth;
use shiftback::analysis::{judge, CanaryVerdict};
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

/// Twenty minutes: the target takes 200 invocations a minute and the stable version 1,800, no
/// errors; p99s as given (the first minute's for the target, then `target_p99` after it).
fn answer(first_p99: f64, target_p99: f64, stable_p99: f64) -> GetMetricDataOutput {
    let mut target = vec![target_p99; 20];
    target[0] = first_p99;
    GetMetricDataOutput::builder()
        .metric_data_results(series("t_inv", &[200.0; 20]))
        .metric_data_results(series("t_err", &[0.0; 20]))
        .metric_data_results(series("t_p99", &target))
        .metric_data_results(series("s_inv", &[1_800.0; 20]))
        .metric_data_results(series("s_p99", &[stable_p99; 20]))
        .build()
}

fn query() -> VersionsQuery {
    let started = DateTime::from_timestamp(START, 0).unwrap();
    VersionsQuery {
        function: "orders".into(),
        alias: "live".into(),
        target_version: "7".into(),
        stable_version: "6".into(),
        start: started,
        end: started + chrono::Duration::minutes(20),
    }
}

fn judge_of(comparison: &shiftback::analysis::Comparison) -> CanaryVerdict {
    let weight = Weight::from_percent(10.0).unwrap();
    let started = DateTime::from_timestamp(START, 0).unwrap();
    judge(&AnalysisSettings::default(), weight, started, comparison)
}

async fn judged(first_p99: f64, target_p99: f64, stable_p99: f64) -> CanaryVerdict {
    let output = answer(first_p99, target_p99, stable_p99);
    let rule =
        mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_output(move || output.clone());
    let health = CloudWatchHealth::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        &[&rule]
    ));
    let comparison = health.compare_versions(&query()).await.unwrap();
    assert_eq!(comparison.target.len(), 20);
    assert_eq!(comparison.target[0].p99_ms, Some(first_p99));
    judge_of(&comparison)
}

#[tokio::test]
async fn a_slower_target_fails_on_its_p99_with_the_numbers() {
    match judged(300.0, 300.0, 100.0).await {
        CanaryVerdict::Unhealthy { reasons, .. } => assert_eq!(
            reasons,
            ["target p99 above 1.5x stable + 25 ms in 19 of 19 warm minutes"]
        ),
        v => panic!("{v:?}"),
    }
}

#[tokio::test]
async fn a_target_that_starts_cold_passes_on_its_warm_p99() {
    // The first minute is the cold start; the warm-up leaves it out.
    let verdict = judged(2_500.0, 110.0, 100.0).await;
    assert!(
        matches!(&verdict, CanaryVerdict::Healthy { summary } if summary.contains("in 0 of 19 warm minutes")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn a_percentile_read_that_fails_loses_the_latency_check_not_the_counts() {
    // The counts come back; the p99 read is refused (as CloudWatch refuses a percentile it
    // cannot compute, or throttles): errors are still judged, latency is said not judged.
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError;
    use aws_sdk_cloudwatch::types::error::InvalidNextToken;
    let counts = answer(300.0, 300.0, 100.0);
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .sequence()
        .output(move || counts.clone())
        .error(|| {
            GetMetricDataError::InvalidNextToken(
                InvalidNextToken::builder().message("refused").build(),
            )
        })
        .build();
    let health = CloudWatchHealth::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        &[&rule]
    ));
    let comparison = health.compare_versions(&query()).await.unwrap();
    assert!(comparison.latency_unread.is_some());
    let verdict = judge_of(&comparison);
    assert!(
        matches!(&verdict, CanaryVerdict::Healthy { summary } if summary.contains("latency not judged: the p99s could not be read")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn too_few_calls_a_minute_for_a_p99_makes_no_percentile_read() {
    // 20 target calls a minute: no p99 of them means anything, and none is asked for.
    let low = GetMetricDataOutput::builder()
        .metric_data_results(series("t_inv", &[20.0; 20]))
        .metric_data_results(series("t_err", &[0.0; 20]))
        .metric_data_results(series("s_inv", &[180.0; 20]))
        .build();
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_output(move || low.clone());
    let health = CloudWatchHealth::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        &[&rule]
    ));
    let comparison = health.compare_versions(&query()).await.unwrap();
    assert_eq!(rule.num_calls(), 1, "the counts only");
    assert!(comparison.latency_unread.is_none());
    assert!(comparison.target.iter().all(|m| m.p99_ms.is_none()));
}

#[tokio::test]
async fn one_versions_traffic_is_read_once_without_percentiles() {
    // What `plan` asks (the stable version as both sides): its three counts, one call, and
    // both sides the same minutes.
    let seen: std::sync::Arc<std::sync::Mutex<Vec<usize>>> = Default::default();
    let queries = seen.clone();
    let busy = answer(100.0, 100.0, 100.0);
    let rule = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(move |req| {
            queries
                .lock()
                .unwrap()
                .push(req.metric_data_queries().len());
            true
        })
        .then_output(move || busy.clone());
    let health = CloudWatchHealth::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        &[&rule]
    ));
    let mut one = query();
    one.target_version = one.stable_version.clone();
    let comparison = health.compare_versions(&one).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [3], "one call, the three counts");
    assert_eq!(comparison.target, comparison.stable);
}

/// CloudWatch pages GetMetricData's answer (NextToken, at most 100,800 datapoints a page); moto
/// answers in one page. Every page is read, and each version's minutes are joined across them.
#[tokio::test]
async fn a_paged_answer_is_read_to_its_last_page() {
    let page = |from: usize, token: Option<&str>| {
        let at = |id: &str, value: f64| {
            MetricDataResult::builder()
                .id(id)
                .set_timestamps(Some(
                    (from as i64..from as i64 + 10)
                        .map(|i| aws_smithy_types::DateTime::from_secs(START + i * MINUTE))
                        .collect(),
                ))
                .set_values(Some(vec![value; 10]))
                .build()
        };
        GetMetricDataOutput::builder()
            .metric_data_results(at("t_inv", 200.0))
            .metric_data_results(at("t_err", 0.0))
            .metric_data_results(at("s_inv", 1_800.0))
            .set_next_token(token.map(str::to_string))
            .build()
    };
    let (first, second) = (page(0, Some("page-2")), page(10, None));
    let counts = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || first.clone());
    let rest = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(move || second.clone());
    let p99s = answer(110.0, 110.0, 100.0);
    let latency = mock!(aws_sdk_cloudwatch::Client::get_metric_data)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || p99s.clone());
    let health = CloudWatchHealth::new(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        &[&counts, &rest, &latency]
    ));
    let comparison = health.compare_versions(&query()).await.unwrap();
    assert_eq!((counts.num_calls(), rest.num_calls()), (1, 1));
    assert_eq!(comparison.target.len(), 20, "both pages' minutes");
    let invocations: f64 = comparison.target.iter().map(|m| m.invocations).sum();
    assert_eq!(invocations, 20.0 * 200.0);
    assert!(comparison.target.iter().all(|m| m.p99_ms == Some(110.0)));
}
