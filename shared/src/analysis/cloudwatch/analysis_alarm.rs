//! A release's own alarm in CloudWatch: created with metric math over both versions'
//! per-version metrics, its action the alarm function; deleted when the release is done.

use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat,
};

use super::metrics::version_query;
use super::warm_up::WarmUpForm;
use super::CloudWatchHealth;
use crate::analysis::alarm::{Role, Source, FAST_DIMENSIONS};
use crate::analysis::dashboard::{dashboard_body, dashboard_name};
use crate::analysis::AnalysisAlarm;
use crate::domain::Release;
use crate::error::{AwsError, Error, Result};

/// DeleteAlarms takes at most this many names a call.
const NAMES_PER_DELETE: usize = 100;

fn metric_queries(alarm: &AnalysisAlarm) -> Vec<MetricDataQuery> {
    let mut queries: Vec<MetricDataQuery> = alarm
        .metrics
        .iter()
        .map(|m| {
            let version = match m.role {
                Role::Target => &alarm.target_version,
                Role::Stable => &alarm.stable_version,
            };
            match &alarm.source {
                Source::Lambda => {
                    let target = (
                        alarm.function.as_str(),
                        alarm.alias.as_str(),
                        version.as_str(),
                    );
                    version_query(m.id, target, m.metric, m.stat, false)
                }
                Source::Emf { namespace } => {
                    let [function_dim, version_dim] = FAST_DIMENSIONS;
                    let dimension = |name: &str, value: &str| {
                        Dimension::builder().name(name).value(value).build()
                    };
                    let metric = Metric::builder()
                        .namespace(namespace)
                        .metric_name(m.metric)
                        .dimensions(dimension(function_dim, &alarm.function))
                        .dimensions(dimension(version_dim, version))
                        .build();
                    MetricDataQuery::builder()
                        .id(m.id)
                        .metric_stat(
                            MetricStat::builder()
                                .metric(metric)
                                .period(alarm.period_secs)
                                .stat(m.stat)
                                .build(),
                        )
                        .return_data(false)
                        .build()
                }
            }
        })
        .collect();
    queries.push(
        MetricDataQuery::builder()
            .id("past_regression")
            .expression(&alarm.expression)
            .label("how far the target is past a regression")
            .return_data(true)
            .build(),
    );
    queries
}

impl CloudWatchHealth {
    pub async fn put_analysis_alarm(&self, alarm: &AnalysisAlarm) -> Result<()> {
        let request = self
            .client
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(&alarm.description)
            .set_metrics(Some(metric_queries(alarm)))
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .threshold(alarm.threshold)
            .evaluation_periods(alarm.evaluation_periods)
            .datapoints_to_alarm(alarm.evaluation_periods)
            // No traffic is no regression: the step-end analysis says what too little means.
            .treat_missing_data("notBreaching")
            .set_alarm_actions(alarm.action_arn.clone().map(|arn| vec![arn]));
        let sent = match alarm.warm_up {
            Some(warm_up) => {
                request
                    .customize()
                    .interceptor(WarmUpForm(warm_up))
                    .send()
                    .await
            }
            None => request.send().await,
        };
        sent.map_err(|e| Error::Aws(AwsError::from_sdk("PutMetricAlarm", e)))?;
        Ok(())
    }

    /// Creates or replaces the dashboard of `function:alias` from its releases (newest first);
    /// returns its name.
    pub async fn put_dashboard(
        &self,
        function: &str,
        alias: &str,
        releases: &[Release],
    ) -> Result<String> {
        let region = self
            .client
            .config()
            .region()
            .map_or_else(|| "us-east-1".to_string(), |r| r.to_string());
        let name = dashboard_name(function, alias);
        let body = dashboard_body(function, alias, &region, releases);
        let out = self
            .client
            .put_dashboard()
            .dashboard_name(&name)
            .dashboard_body(body.to_string())
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("PutDashboard", e)))?;
        match out.dashboard_validation_messages() {
            [] => Ok(name),
            problems => Err(Error::BadRequest(format!(
                "CloudWatch took dashboard {name} with problems: {}",
                problems
                    .iter()
                    .filter_map(|m| m.message())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
        }
    }

    pub async fn delete_alarms(&self, names: &[String]) -> Result<()> {
        for batch in names.chunks(NAMES_PER_DELETE) {
            let out = self
                .client
                .delete_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .send()
                .await;
            match out {
                Ok(_) => {}
                // The names that exist are deleted all the same; the others are already gone.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_resource_not_found()) => {}
                Err(e) => return Err(Error::Aws(AwsError::from_sdk("DeleteAlarms", e))),
            }
        }
        Ok(())
    }
}
