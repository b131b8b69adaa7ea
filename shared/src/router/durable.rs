//! Lambda's durable executions of one version, as both the router (a revert's count) and
//! retention (the versions kept, `shiftback durable`) read them.

use aws_sdk_lambda::operation::list_durable_executions_by_function::ListDurableExecutionsByFunctionOutput;
use aws_sdk_lambda::types::ExecutionStatus;
use aws_sdk_lambda::Client;

use chrono::{DateTime, Utc};

use super::RateLimiter;
use crate::error::{AwsError, Error, Result};

/// One page of the executions RUNNING on `version` (from `marker`).
pub(crate) async fn running_page(
    client: &Client,
    function: &str,
    version: &str,
    marker: Option<String>,
) -> Result<ListDurableExecutionsByFunctionOutput> {
    client
        .list_durable_executions_by_function()
        .function_name(function)
        .qualifier(version)
        .statuses(ExecutionStatus::Running)
        .set_marker(marker)
        .send()
        .await
        .map_err(|e| Error::Aws(AwsError::from_sdk("ListDurableExecutionsByFunction", e)))
}

/// How many the first page holds, and whether there are more.
pub(crate) async fn running_count(
    client: &Client,
    function: &str,
    version: &str,
) -> Result<(usize, bool)> {
    let page = running_page(client, function, version, None).await?;
    Ok((
        page.durable_executions().len(),
        page.next_marker().is_some(),
    ))
}

/// One durable execution, as `shiftback durable` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DurableExecution {
    pub name: String,
    pub arn: String,
    pub started: Option<DateTime<Utc>>,
}

/// The most executions `shiftback durable` lists (ten pages).
const DURABLE_LISTING_MAX: usize = 1_000;

/// The durable executions RUNNING on `version`, oldest first as Lambda lists them, up to a
/// thousand (the second value: whether there are more), each page after a token of `limiter`.
pub(crate) async fn running_list(
    client: &Client,
    limiter: &RateLimiter,
    function: &str,
    version: &str,
) -> Result<(Vec<DurableExecution>, bool)> {
    let mut found = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        limiter.acquire().await;
        let out = running_page(client, function, version, marker).await?;
        for e in out.durable_executions() {
            found.push(DurableExecution {
                name: e.durable_execution_name().to_string(),
                arn: e.durable_execution_arn().to_string(),
                started: DateTime::from_timestamp(e.start_timestamp().secs(), 0),
            });
        }
        marker = out.next_marker().map(str::to_string);
        if marker.is_none() || found.len() >= DURABLE_LISTING_MAX {
            return Ok((found, marker.is_some()));
        }
    }
}
