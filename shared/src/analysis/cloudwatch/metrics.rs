//! Lambda's per-version metrics behind an alias: both versions' counts in one
//! `GetMetricData` call, their p99s in another, so that a percentile the service cannot give
//! (or a throttled read of it) loses the latency check, never the counts.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use chrono::DateTime;

use super::CloudWatchHealth;
use crate::analysis::{Comparison, Minute};
use crate::error::{AwsError, Error, Result};
use crate::ports::VersionsQuery;

/// The counts fetched for each version: (query id suffix, metric, statistic).
const COUNTS: [(&str, &str, &str); 3] = [
    ("inv", "Invocations", "Sum"),
    ("err", "Errors", "Sum"),
    ("thr", "Throttles", "Sum"),
];
/// The percentile, fetched apart.
const LATENCY: [(&str, &str, &str); 1] = [("p99", "Duration", "p99")];

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

fn query(
    series: &[(&str, &str, &str)],
    function: &str,
    alias: &str,
    version: &str,
    role: &str,
) -> Vec<MetricDataQuery> {
    series
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

type ByMinute = BTreeMap<i64, Minute>;

fn one_version(query: &VersionsQuery) -> bool {
    query.target_version == query.stable_version
}

impl CloudWatchHealth {
    pub async fn compare_versions(&self, query_for: &VersionsQuery) -> Result<Comparison> {
        let (mut target, mut stable) = self.fetch(query_for, &COUNTS).await?;
        // A p99 means something only over enough calls in its minute: without one minute in
        // which both versions had that many, the percentiles are not worth a call. One version
        // asked for as both (a traffic read, as `plan` makes) has nothing to compare.
        let enough = crate::analysis::canary::MIN_P99_INVOCATIONS;
        let comparable = target.iter().any(|(at, t)| {
            t.invocations >= enough && stable.get(at).is_some_and(|s| s.invocations >= enough)
        });
        if !comparable || one_version(query_for) {
            return Ok(Comparison {
                target: target.into_values().collect(),
                stable: stable.into_values().collect(),
                latency_unread: None,
            });
        }
        let latency_unread = match self.fetch(query_for, &LATENCY).await {
            Ok((t, s)) => {
                for (minutes, p99s) in [(&mut target, t), (&mut stable, s)] {
                    for (at, minute) in p99s {
                        minute_at(minutes, at).p99_ms = minute.p99_ms;
                    }
                }
                None
            }
            Err(e) => Some(format!("the p99s could not be read: {e}")),
        };
        Ok(Comparison {
            target: target.into_values().collect(),
            stable: stable.into_values().collect(),
            latency_unread,
        })
    }

    /// Both versions' `series`, minute by minute, every page.
    async fn fetch(
        &self,
        query_for: &VersionsQuery,
        series: &[(&str, &str, &str)],
    ) -> Result<(ByMinute, ByMinute)> {
        let VersionsQuery {
            function,
            alias,
            target_version,
            stable_version,
            start,
            end,
        } = query_for;
        let mut queries = query(series, function, alias, target_version, "t");
        // The same version's series asked for once, not twice.
        if !one_version(query_for) {
            queries.extend(query(series, function, alias, stable_version, "s"));
        }
        let mut target = BTreeMap::new();
        let mut stable = BTreeMap::new();
        let mut pages = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(aws_smithy_types::DateTime::from_secs(start.timestamp()))
            .end_time(aws_smithy_types::DateTime::from_secs(end.timestamp()))
            .scan_by(ScanBy::TimestampAscending)
            .into_paginator()
            .send();
        while let Some(out) = pages
            .try_next()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("GetMetricData", e)))?
        {
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
        }
        if one_version(query_for) {
            stable = target.clone();
        }
        Ok((target, stable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_is_queried_on_the_alias_with_its_executed_version() {
        let queries = query(&COUNTS, "orders", "live", "7", "t");
        let ids: Vec<_> = queries.iter().map(|q| q.id().unwrap_or_default()).collect();
        assert_eq!(ids, ["t_inv", "t_err", "t_thr"]);
        let latency = query(&LATENCY, "orders", "live", "7", "t");
        let stat = latency[0].metric_stat().unwrap();
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
