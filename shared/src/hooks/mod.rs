//! Traffic hooks: the port that calls a release's hook functions.

use std::future::Future;

pub mod lambda;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod rules;

pub use crate::domain::release::HookPayload;
pub use lambda::LambdaHooks;
pub use rules::*;

use crate::error::Result;

/// Calls a release's traffic hooks: Lambda functions that answer whether the target is fit
/// to take traffic (pre-traffic) or to keep it (post-traffic).
pub trait HookCaller: Send + Sync {
    /// The stack's pattern of functions it may invoke as hooks (None: no hook is allowed).
    fn allowed(&self) -> Option<&str>;

    /// The qualified ARN a hook is told to exercise: `name:version` where the account is not
    /// known (Lambda's Invoke takes that too).
    fn target_arn(&self, function: &str, version: &str) -> String {
        format!("{function}:{version}")
    }

    /// Calls `hook` and reads its answer. Only a failure to reach Lambda (throttling, 5xx) is
    /// an error; anything the hook does wrong is its verdict.
    fn call(
        &self,
        hook: &str,
        payload: &HookPayload,
    ) -> impl Future<Output = Result<HookVerdict>> + Send;
}
