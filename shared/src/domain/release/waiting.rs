//! A CloudFormation request that waits for a release's end (`Wait: true`): where its answer
//! goes and what the answer says besides the outcome.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Kept on the release until it ends, when the workflow's end answers it. The URL is a
/// presigned credential (anyone holding it can answer the stack): never logged, announced or
/// shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackWaiting {
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: String,
    /// The answer's `Data` (Outcome, Version, ReleaseId), as the request would have had it.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

impl std::fmt::Debug for StackWaiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackWaiting")
            .field("response_url", &"<presigned>")
            .field("stack_id", &self.stack_id)
            .field("request_id", &self.request_id)
            .field("logical_resource_id", &self.logical_resource_id)
            .finish_non_exhaustive()
    }
}
