//! Lambda's per-version metrics behind an alias: both versions' minutes in one
//! `GetMetricData` call.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::DateTime;

use super::AlarmHealth;
use crate::domain::analysis::{Comparison, Minute};
use crate::error::{AwsError, Error, Result};
use crate::ports::VersionsQuery;

/// What is fetched for each version: (query id suffix, metric, statistic).
const SERIES: [(&str, &str, &str); 4] = [
    ("inv", "Invocations", "Sum"),
    ("err", "Errors", "Sum"),
    ("thr", "Throttles", "Sum"),
    ("p99", "Duration", "p99"),
];

/// One version's metric `name` through `function:alias`, a `stat` a minute, as query `id`:
/// the dimensions Lambda publishes for an alias with weighted routing.
pub(super) fn version_query(
    id: &str,
    target: (&str, &str, &str),
    name: &str,
    stat: &str,
    return_data: bool,
) -> MetricDataQuery {
    let (function, alias, version) = target;
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    let metric = Metric::builder()
        .namespace("AWS/Lambda")
        .metric_name(name)
        .dimensions(dimension("FunctionName", function))
        .dimensions(dimension("Resource", &format!("{function}:{alias}")))
        .dimensions(dimension("ExecutedVersion", version))
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(60)
                .stat(stat)
                .build(),
        )
        .return_data(return_data)
        .build()
}

fn query(function: &str, alias: &str, version: &str, role: &str) -> Vec<MetricDataQuery> {
    SERIES
        .iter()
        .map(|(id, metric, stat)| {
            let id = format!("{role}_{id}");
            version_query(&id, (function, alias, version), metric, stat, true)
        })
        .collect()
}

fn minute_at(minutes: &mut BTreeMap<i64, Minute>, secs: i64) -> &mut Minute {
    minutes.entry(secs).or_insert_with(|| Minute {
        at: DateTime::from_timestamp(secs, 0).unwrap_or_default(),
        ..Minute::default()
    })
}

impl AlarmHealth {
    pub async fn compare_versions(&self, query_for: &VersionsQuery) -> Result<Comparison> {
        let VersionsQuery {
            function,
            alias,
            target_version,
            stable_version,
            start,
            end,
        } = query_for;
        let mut queries = query(function, alias, target_version, "t");
        queries.extend(query(function, alias, stable_version, "s"));
        let mut target = BTreeMap::new();
        let mut stable = BTreeMap::new();
        let mut token = None;
        loop {
            let out = self
                .client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(aws_smithy_types::DateTime::from_secs(start.timestamp()))
                .end_time(aws_smithy_types::DateTime::from_secs(end.timestamp()))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Error::Aws(AwsError::from_sdk("GetMetricData", e)))?;
            for result in out.metric_data_results() {
                let Some((role, series)) = result.id().and_then(|id| id.split_once('_')) else {
                    continue;
                };
                let minutes = if role == "t" {
                    &mut target
                } else {
                    &mut stable
                };
                for (at, value) in result.timestamps().iter().zip(result.values()) {
                    let minute = minute_at(minutes, at.secs());
                    match series {
                        "inv" => minute.invocations += value,
                        "err" => minute.errors += value,
                        "thr" => minute.throttles += value,
                        _ => minute.p99_ms = Some(*value),
                    }
                }
            }
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        Ok(Comparison {
            target: target.into_values().collect(),
            stable: stable.into_values().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_is_queried_on_the_alias_with_its_executed_version() {
        let queries = query("orders", "live", "7", "t");
        let ids: Vec<_> = queries.iter().map(|q| q.id().unwrap_or_default()).collect();
        assert_eq!(ids, ["t_inv", "t_err", "t_thr", "t_p99"]);
        let stat = queries[3].metric_stat().unwrap();
        assert_eq!((stat.period(), stat.stat()), (Some(60), Some("p99")));
        let dimensions: Vec<_> = stat
            .metric()
            .unwrap()
            .dimensions()
            .iter()
            .map(|d| format!("{}={}", d.name().unwrap(), d.value().unwrap()))
            .collect();
        assert_eq!(
            dimensions,
            [
                "FunctionName=orders",
                "Resource=orders:live",
                "ExecutedVersion=7"
            ]
        );
    }
}
