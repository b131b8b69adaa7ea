//! Invokes a release's traffic hook (a Lambda function) synchronously and reads its answer.
//! Whatever goes wrong on the hook's side (it raised, it timed out, it does not exist, it
//! answered garbage) is the hook failing, with that reason; only Lambda's own throttling and
//! 5xx are errors, for the step to be retried.

use std::time::Duration;

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_lambda::Client;
use serde_json::Value;

use super::rules::{read_answer, HookVerdict};
use super::HookPayload;
use crate::error::{AwsError, AwsErrorKind, Error, Result};
use crate::ports::HookCaller;

/// How long one call of a hook may take; longer work answers "not yet" and is asked again.
pub const HOOK_CALL_SECS: u64 = 60;

#[derive(Clone, Debug)]
pub struct LambdaHooks {
    client: Client,
    allowed: Option<String>,
    function_arn_prefix: Option<String>,
    call_timeout: Duration,
}

impl LambdaHooks {
    /// `allowed`: the stack's pattern of hook functions (empty: none);
    /// `function_arn_prefix`: `arn:PARTITION:lambda:REGION:ACCOUNT:function:` of the managed
    /// functions, for the target's qualified ARN.
    pub fn new(client: Client, allowed: Option<&str>, function_arn_prefix: Option<&str>) -> Self {
        let set = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(String::from);
        LambdaHooks {
            client,
            allowed: set(allowed),
            function_arn_prefix: set(function_arn_prefix),
            call_timeout: Duration::from_secs(HOOK_CALL_SECS),
        }
    }

    /// How long one call may take (a test's seconds rather than a minute).
    pub fn with_call_timeout(mut self, call_timeout: Duration) -> Self {
        self.call_timeout = call_timeout;
        self
    }
}

impl HookCaller for LambdaHooks {
    fn allowed(&self) -> Option<&str> {
        self.allowed.as_deref()
    }

    fn target_arn(&self, function: &str, version: &str) -> String {
        match &self.function_arn_prefix {
            Some(prefix) if !function.starts_with("arn:") => {
                format!("{prefix}{function}:{version}")
            }
            _ => format!("{function}:{version}"),
        }
    }

    /// Calls `hook` with `payload` and says what its answer means.
    async fn call(&self, hook: &str, payload: &HookPayload) -> Result<HookVerdict> {
        let body = serde_json::to_vec(payload).map_err(|e| Error::Corrupt(e.to_string()))?;
        let out = self
            .client
            .invoke()
            .function_name(hook)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(body))
            .customize()
            .config_override(
                aws_sdk_lambda::config::Config::builder().timeout_config(
                    aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                        .operation_attempt_timeout(self.call_timeout)
                        .operation_timeout(self.call_timeout)
                        .build(),
                ),
            )
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // The hook ran past the call's time: its failure, not Lambda's.
            Err(SdkError::TimeoutError(_)) => {
                return Ok(HookVerdict::Failed {
                    reason: format!(
                        "hook {hook} did not answer within {}s; a longer check answers {{\"ok\": null, \"retry_after_secs\": N}}",
                        self.call_timeout.as_secs_f64()
                    ),
                })
            }
            Err(e) => {
                let err = AwsError::from_sdk("Invoke", e);
                return match err.kind {
                    // Lambda's throttling, 5xx or a broken connection: the step is retried.
                    AwsErrorKind::Throttled | AwsErrorKind::Transient => Err(Error::Aws(err)),
                    _ => Ok(HookVerdict::Failed {
                        reason: format!("hook {hook} could not be invoked: {err}"),
                    }),
                };
            }
        };
        let answer = out.payload().map(|p| p.as_ref()).unwrap_or_default();
        let answer: Option<Value> = serde_json::from_slice(answer).ok();
        if let Some(kind) = out.function_error() {
            let message = answer
                .as_ref()
                .and_then(|a| a.get("errorMessage"))
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Ok(HookVerdict::Failed {
                reason: format!("hook {hook} raised an error ({kind}): {message}"),
            });
        }
        Ok(match answer {
            Some(answer) => read_answer(&answer),
            None => HookVerdict::Failed {
                reason: format!("hook {hook} answered something that is not JSON"),
            },
        })
    }
}
