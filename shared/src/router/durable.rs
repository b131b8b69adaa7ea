//! Lambda's durable executions of one version, as both the router (a revert's count) and
//! retention (the versions kept, `shiftback durable`) read them.

use aws_sdk_lambda::types::ExecutionStatus;
use aws_sdk_lambda::Client;

use chrono::{DateTime, Utc};

use super::RateLimiter;
use crate::error::{AwsError, Error, Result};

/// How many the first page of the executions RUNNING on `version` holds, and whether there are
/// more.
pub(crate) async fn running_count(
    client: &Client,
    function: &str,
    version: &str,
) -> Result<(usize, bool)> {
    let page = client
        .list_durable_executions_by_function()
        .function_name(function)
        .qualifier(version)
        .statuses(ExecutionStatus::Running)
        .send()
        .await
        .map_err(|e| Error::Aws(AwsError::from_sdk("ListDurableExecutionsByFunction", e)))?;
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
    let mut pages = client
        .list_durable_executions_by_function()
        .function_name(function)
        .qualifier(version)
        .statuses(ExecutionStatus::Running)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    loop {
        limiter.acquire().await;
        let page = pages
            .try_next()
            .await
            .map_err(|e| Error::Aws(AwsError::from_sdk("ListDurableExecutionsByFunction", e)))?;
        let Some(page) = page else {
            return Ok((found, false));
        };
        found.extend(page.durable_executions().iter().map(|e| DurableExecution {
            name: e.durable_execution_name().to_string(),
            arn: e.durable_execution_arn().to_string(),
            started: DateTime::from_timestamp(e.start_timestamp().secs(), 0),
        }));
        // Returned before the paginator asks for a page that is not there.
        let more = page.next_marker().is_some();
        if !more || found.len() >= DURABLE_LISTING_MAX {
            return Ok((found, more));
        }
    }
}
