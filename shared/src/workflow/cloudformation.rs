//! The stacks that send the custom resource provider its requests: their status, which is the
//! only way to know that an Update is CloudFormation rolling the stack back (the request
//! itself looks like any other Update).

use aws_sdk_cloudformation::Client;

use crate::error::AwsError;
use crate::ports::StackStates;

#[derive(Clone, Debug)]
pub struct CfnStacks {
    client: Client,
}

impl CfnStacks {
    pub fn new(client: Client) -> Self {
        CfnStacks { client }
    }
}

impl StackStates for CfnStacks {
    /// `DescribeStacks` by the request's `StackId`; a stack that cannot be read (a missing
    /// grant, throttling beyond the SDK's retries) is logged and answered None.
    async fn status(&self, stack_id: &str) -> Option<String> {
        match self
            .client
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
        {
            Ok(out) => out
                .stacks()
                .first()
                .and_then(|stack| stack.stack_status())
                .map(|status| status.as_str().to_string()),
            Err(e) => {
                let error = AwsError::from_sdk("DescribeStacks", e);
                tracing::warn!(stack = %stack_id, %error, "the stack's status could not be read; deciding from the release records");
                None
            }
        }
    }
}
