//! Version retention: a function's published versions, what uses them, and their deletion.

use std::future::Future;

pub mod lambda;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod rules;

pub use lambda::LambdaVersions;
pub use rules::*;

use crate::error::Result;
use crate::router::VersionFacts;

/// The function's published versions, what uses them, and their deletion: what retention
/// needs of Lambda.
pub trait VersionCatalog: VersionFacts {
    /// Every published version (not `$LATEST`), all pages.
    fn versions(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Vec<PublishedVersion>>> + Send;
    /// Aliases, event source mappings, provisioned concurrency and function URLs.
    fn uses(&self, function: &str) -> impl Future<Output = Result<VersionUses>> + Send;
    /// The unqualified resource policy's grants to AWS services (statement, service): what
    /// may invoke `$LATEST`. Only the bypass warnings need it.
    fn latest_invokers(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// Who the version's own resource policy lets invoke it (`sid: principal`): services and
    /// accounts that call it by its ARN. Empty when it has no policy.
    fn version_grants(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// How many function versions (every function's) a capacity provider holds, against its
    /// quota of [`PROVIDER_VERSIONS_MAX`].
    fn provider_versions(&self, provider: &str) -> impl Future<Output = Result<usize>> + Send;
    /// Deletes one published version; one still in use or already gone is an answer, not
    /// an error.
    fn delete_version(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<Deletion>> + Send;
    /// The account's code storage in this region.
    fn code_storage(&self) -> impl Future<Output = Result<CodeStorage>> + Send;
}

/// What became of one version's deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// Lambda refused: something (an alias made since the listing) uses it. Kept.
    Refused(String),
    /// Someone else deleted it first.
    AlreadyGone,
}

/// Function versions one capacity provider may hold, every function's together ("Lambda
/// Managed Instances quotas": 100, cannot be increased).
pub const PROVIDER_VERSIONS_MAX: usize = 100;

/// Bytes of code stored in the region, and the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeStorage {
    pub used: i64,
    pub limit: i64,
}
