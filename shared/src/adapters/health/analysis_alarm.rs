//! A release's own alarm in CloudWatch: created with metric math over both versions'
//! per-version metrics, its action the alarm function; deleted when the release is done.

use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricDataQuery};

use super::metrics::version_query;
use super::AlarmHealth;
use crate::adapters::dashboard::{dashboard_body, dashboard_name};
use crate::domain::analysis::alarm::{Role, ALARM_METRICS};
use crate::domain::analysis::AnalysisAlarm;
use crate::domain::Release;
use crate::error::{AwsError, Error, Result};

/// DeleteAlarms takes at most this many names a call.
const NAMES_PER_DELETE: usize = 100;

fn metric_queries(alarm: &AnalysisAlarm) -> Vec<MetricDataQuery> {
    let mut queries: Vec<MetricDataQuery> = ALARM_METRICS
        .iter()
        .map(|(id, metric, role)| {
            let version = match role {
                Role::Target => &alarm.target_version,
                Role::Stable => &alarm.stable_version,
            };
            let target = (
                alarm.function.as_str(),
                alarm.alias.as_str(),
                version.as_str(),
            );
            version_query(id, target, metric, "Sum", false)
        })
        .collect();
    queries.push(
        MetricDataQuery::builder()
            .id("points_worse")
            .expression(&alarm.expression)
            .label("target error rate minus stable error rate (points)")
            .return_data(true)
            .build(),
    );
    queries
}

impl AlarmHealth {
    pub async fn put_analysis_alarm(&self, alarm: &AnalysisAlarm) -> Result<()> {
        self.client
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(&alarm.description)
            .set_metrics(Some(metric_queries(alarm)))
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .threshold(alarm.threshold_points)
            .evaluation_periods(alarm.evaluation_minutes)
            .datapoints_to_alarm(alarm.evaluation_minutes)
            // No traffic is no regression: the step-end analysis says what too little means.
            .treat_missing_data("notBreaching")
            .set_alarm_actions(alarm.action_arn.clone().map(|arn| vec![arn]))
            .send()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("PutMetricAlarm", e)))?;
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
