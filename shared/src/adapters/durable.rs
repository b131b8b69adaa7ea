//! Lambda's durable executions of one version, as both the router (a revert's count) and
//! retention (the versions kept, `shiftback durable`) read them.

use aws_sdk_lambda::operation::list_durable_executions_by_function::ListDurableExecutionsByFunctionOutput;
use aws_sdk_lambda::types::ExecutionStatus;
use aws_sdk_lambda::Client;

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
