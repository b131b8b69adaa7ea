//! The traffic router: a Lambda alias's routing read and written, and what Lambda says of
//! one published version. Which routing may follow which is the domain's
//! ([`routing`]).

use std::future::Future;

pub(crate) mod code;
pub(crate) mod durable;
pub mod lambda;
#[cfg(any(test, feature = "testing"))]
pub mod memory;
pub mod rate;
pub mod routing;

pub use lambda::LambdaRouter;
pub use rate::RateLimiter;
pub use routing::AliasRouting;

use crate::error::Result;

/// What Lambda says of one published version beyond its configuration, read by the router (a
/// revert's count, a start's checks) and by retention alike.
pub trait VersionFacts: Send + Sync {
    /// The durable executions RUNNING on a version: how many the listing's first page holds,
    /// and whether there are more.
    fn running_durable_executions(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<(usize, bool)>> + Send;

    /// Where a version's code is kept, and whether Lambda can retrieve it.
    fn code_location(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<CodeLocation>> + Send;
}

/// The traffic router: reads and writes a Lambda alias's routing. Which routing may follow
/// which is the domain's ([`routing`]); the router only reads and writes.
pub trait AliasRouter: VersionFacts {
    /// The region this router's calls go to, when known.
    fn region(&self) -> Option<String>;

    fn read(&self, function: &str, alias: &str) -> impl Future<Output = Result<AliasState>> + Send;

    /// Sets the routing and checks, from the update's own answer, that it took
    /// ([`crate::Error::VerifyFailed`] otherwise). `UpdateAlias` answers with the alias as
    /// stored, so no read-back is needed: a step costs one read and one write. With `expected_revision`, the update is a compare-and-swap: if anyone
    /// changed the alias since it was read, it fails as a
    /// [`crate::error::AwsErrorKind::Conflict`] and nothing is overwritten. Without it, the
    /// update wins over whatever is there: that is what a revert wants.
    fn set(
        &self,
        function: &str,
        alias: &str,
        routing: &AliasRouting,
        expected_revision: Option<&str>,
    ) -> impl Future<Output = Result<AliasState>> + Send {
        async move {
            let state = self
                .update(function, alias, routing, expected_revision)
                .await?;
            if &state.routing != routing {
                return Err(crate::Error::VerifyFailed {
                    function: function.to_string(),
                    alias: alias.to_string(),
                    expected: routing.to_string(),
                    actual: state.routing.to_string(),
                });
            }
            Ok(state)
        }
    }

    /// The bare write, unchecked (the revert's critical path): the alias as its answer
    /// describes it.
    fn update(
        &self,
        function: &str,
        alias: &str,
        routing: &AliasRouting,
        expected_revision: Option<&str>,
    ) -> impl Future<Output = Result<AliasState>> + Send;

    fn version_info(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<VersionInfo>> + Send;

    /// Creates the alias on `version` (a team's first deploy through the custom resource).
    fn create_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
    ) -> impl Future<Output = Result<AliasState>> + Send;

    /// A version that can take traffic now, waiting a while for a pending one.
    fn ready_version(
        &self,
        function: &str,
        version: &str,
    ) -> impl Future<Output = Result<VersionInfo>> + Send;

    /// The function's tags: who owns it (CloudFormation's `aws:cloudformation:stack-id`) and
    /// whom its owner lets release it.
    fn function_tags(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, String>>> + Send;
}

/// An alias as read: its routing and the revision that a compare-and-swap names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasState {
    pub routing: AliasRouting,
    pub revision_id: Option<String>,
}

/// A published version as `GetFunctionConfiguration` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: String,
    pub role: String,
    pub dead_letter: Option<String>,
    pub state: Option<String>,
    pub state_reason: Option<String>,
    pub last_update: Option<String>,
    /// The capacity provider the version runs on (Lambda Managed Instances), if any.
    pub capacity_provider: Option<String>,
    /// A durable function's version (`DurableConfig`).
    pub durable: bool,
}

/// Where a version's code is kept, and whether Lambda can retrieve it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeLocation {
    /// In the team's own bucket (self-managed storage, by reference): the object; None in
    /// Lambda's own storage.
    pub reference: Option<String>,
    /// Why Lambda cannot retrieve it (the team's object deleted, its access revoked).
    pub unretrievable: Option<String>,
}

/// Whether a version can take traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Pending, or its last update still in progress: what it says now.
    NotYet(String),
    /// It will never be ready: why.
    Failed(String),
}

impl VersionInfo {
    /// A version reports neither field only where an API (or an emulator) predates them.
    pub fn readiness(&self) -> Readiness {
        let reason = self.state_reason.clone().unwrap_or_default();
        match (self.state.as_deref(), self.last_update.as_deref()) {
            (Some("Failed" | "Inactive"), _) | (_, Some("Failed")) => Readiness::Failed(format!(
                "version {} is {} ({reason})",
                self.version,
                self.state.as_deref().unwrap_or("failed")
            )),
            (Some("Pending"), _) => Readiness::NotYet(format!("State Pending ({reason})")),
            (_, Some("InProgress")) => Readiness::NotYet("LastUpdateStatus InProgress".into()),
            _ => Readiness::Ready,
        }
    }

    /// This version if it can take traffic now; [`crate::Error::NotReady`] (retryable) while
    /// it is pending, [`crate::Error::InvalidRouting`] once it never will.
    pub fn into_ready(self, function: &str) -> Result<VersionInfo> {
        match self.readiness() {
            Readiness::Ready => Ok(self),
            Readiness::NotYet(state) => Err(crate::Error::NotReady {
                function: function.to_string(),
                version: self.version,
                state,
            }),
            Readiness::Failed(reason) => Err(crate::Error::InvalidRouting {
                function: function.to_string(),
                alias: format!("(version {})", self.version),
                reason: format!("{reason}; it cannot take traffic"),
            }),
        }
    }
}
