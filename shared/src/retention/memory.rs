//! A function's versions and their uses, in memory: deleting a version an alias routes to is
//! refused as Lambda refuses it; anything else in use is the caller's to protect.

use std::sync::{Arc, Mutex};

use crate::error::{AwsError, AwsErrorKind, Error, Result};
use crate::ports::{CodeLocation, CodeStorage, Deletion, VersionCatalog, VersionFacts};
use crate::retention::{PublishedVersion, VersionUses};
use crate::testing::Journal;

#[derive(Clone, Default)]
pub struct MemoryCatalog {
    pub journal: Journal,
    pub function: String,
    pub versions: Arc<Mutex<Vec<PublishedVersion>>>,
    pub uses: Arc<Mutex<VersionUses>>,
    /// Versions whose delete fails with a throttle, as an exhausted retry would.
    pub throttled: Arc<Mutex<Vec<String>>>,
    /// Versions an alias was pointed at after the listing: Lambda refuses their delete.
    pub aliased_since_listing: Arc<Mutex<Vec<String>>>,
    /// Each version's own resource policy grants (`sid: principal`).
    pub grants: Arc<Mutex<std::collections::HashMap<String, Vec<String>>>>,
    /// RUNNING durable executions per version.
    pub durable_running: Arc<Mutex<std::collections::HashMap<String, usize>>>,
    /// Versions whose policy and durable-execution reads fail (AccessDenied).
    pub unreadable: Arc<Mutex<Vec<String>>>,
    /// Where each version's code is (Lambda's own storage when absent).
    pub code: Arc<Mutex<std::collections::HashMap<String, CodeLocation>>>,
    /// Function versions each capacity provider holds (every function's).
    pub provider_versions: Arc<Mutex<std::collections::HashMap<String, usize>>>,
}

impl MemoryCatalog {
    /// `function` with versions 1..=n, version k of k MB.
    pub fn new(journal: Journal, function: &str, n: u64) -> MemoryCatalog {
        let versions = (1..=n)
            .map(|k| PublishedVersion {
                version: k.to_string(),
                code_size: k as i64 * 1_048_576,
                last_modified: None,
                durable: false,
                capacity_provider: None,
            })
            .collect();
        MemoryCatalog {
            journal,
            function: function.to_string(),
            versions: Arc::new(Mutex::new(versions)),
            ..MemoryCatalog::default()
        }
    }

    pub fn remaining(&self) -> Vec<String> {
        let versions = self.versions.lock().unwrap();
        versions.iter().map(|v| v.version.clone()).collect()
    }

    fn readable(&self, version: &str, operation: &'static str) -> Result<()> {
        if self.unreadable.lock().unwrap().iter().any(|v| v == version) {
            return Err(Error::Aws(AwsError {
                operation,
                kind: AwsErrorKind::Rejected,
                code: Some("AccessDeniedException".into()),
                message: format!("not authorized to perform lambda:{operation}"),
            }));
        }
        Ok(())
    }

    fn known(&self, function: &str) -> Result<()> {
        if function == self.function {
            Ok(())
        } else {
            Err(Error::FunctionNotFound(function.to_string()))
        }
    }
}

impl VersionFacts for MemoryCatalog {
    async fn code_location(&self, function: &str, version: &str) -> Result<CodeLocation> {
        self.known(function)?;
        let code = self.code.lock().unwrap();
        Ok(code.get(version).cloned().unwrap_or_default())
    }

    async fn running_durable_executions(
        &self,
        function: &str,
        version: &str,
    ) -> Result<(usize, bool)> {
        self.known(function)?;
        self.readable(version, "ListDurableExecutionsByFunction")?;
        let running = self.durable_running.lock().unwrap();
        Ok((running.get(version).copied().unwrap_or(0), false))
    }
}

impl VersionCatalog for MemoryCatalog {
    async fn versions(&self, function: &str) -> Result<Vec<PublishedVersion>> {
        self.known(function)?;
        Ok(self.versions.lock().unwrap().clone())
    }

    async fn uses(&self, function: &str) -> Result<VersionUses> {
        self.known(function)?;
        Ok(self.uses.lock().unwrap().clone())
    }

    async fn latest_invokers(&self, function: &str) -> Result<Vec<(String, String)>> {
        self.known(function)?;
        Ok(self.uses.lock().unwrap().latest_invokers.clone())
    }

    async fn version_grants(&self, function: &str, version: &str) -> Result<Vec<String>> {
        self.known(function)?;
        self.readable(version, "GetPolicy")?;
        self.journal.push(format!("GetPolicy {function}:{version}"));
        let grants = self.grants.lock().unwrap();
        Ok(grants.get(version).cloned().unwrap_or_default())
    }

    async fn provider_versions(&self, provider: &str) -> Result<usize> {
        let counts = self.provider_versions.lock().unwrap();
        Ok(counts.get(provider).copied().unwrap_or(0))
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<Deletion> {
        self.known(function)?;
        if self.throttled.lock().unwrap().iter().any(|v| v == version) {
            return Err(Error::Aws(AwsError {
                operation: "DeleteFunction",
                kind: AwsErrorKind::Throttled,
                code: Some("TooManyRequestsException".into()),
                message: "Rate exceeded".into(),
            }));
        }
        let aliased = self
            .uses
            .lock()
            .unwrap()
            .aliases
            .iter()
            .any(|(_, routing)| {
                routing.version == version
                    || routing.extra.as_ref().is_some_and(|(v, _)| v == version)
            })
            || self
                .aliased_since_listing
                .lock()
                .unwrap()
                .iter()
                .any(|v| v == version);
        if aliased {
            return Ok(Deletion::Refused(format!(
                "Unable to delete version because the following aliases reference it: [{version}]"
            )));
        }
        let mut versions = self.versions.lock().unwrap();
        let before = versions.len();
        versions.retain(|v| v.version != version);
        if versions.len() == before {
            return Ok(Deletion::AlreadyGone);
        }
        self.journal
            .push(format!("DeleteFunction {function}:{version}"));
        Ok(Deletion::Deleted)
    }

    async fn code_storage(&self) -> Result<CodeStorage> {
        let used = self
            .versions
            .lock()
            .unwrap()
            .iter()
            .map(|v| v.code_size)
            .sum();
        Ok(CodeStorage {
            used,
            limit: 75 * 1024 * 1024 * 1024,
        })
    }
}
