//! Each Region's shiftback, as its stack's outputs name it: the release table, the release
//! workflow and the topics, read with one `DescribeStacks` per Region and coordinator.

use std::collections::HashMap;

use crate::error::{AwsError, Error, Result};
use crate::runtime::HandlerClients;

pub(super) fn missing(output: &str) -> Error {
    Error::BadRequest(format!(
        "the shiftback stack has no output {output}: deploy shiftback's own template there"
    ))
}

/// The stack's outputs in the client's Region. No stack there is a refusal, with the place.
pub(super) async fn stack_outputs(
    clients: &HandlerClients,
    stack: &str,
    place: &str,
) -> Result<HashMap<String, String>> {
    let out = clients
        .cloudformation
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            let err = AwsError::from_sdk("DescribeStacks", e);
            // CloudFormation answers a missing stack with a 400 ValidationError.
            if err.code.as_deref() == Some("ValidationError") && err.message.contains("exist") {
                Error::BadRequest(format!(
                    "no shiftback stack named {stack} in {place}: deploy shiftback there first"
                ))
            } else {
                Error::Aws(err)
            }
        })?;
    Ok(out
        .stacks()
        .first()
        .map(|s| s.outputs())
        .unwrap_or_default()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect())
}
