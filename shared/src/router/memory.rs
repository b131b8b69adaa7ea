//! Lambda aliases and versions, in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{AwsErrorKind, Error, Result};
use crate::ports::*;
use crate::router::routing::AliasRouting;
use crate::testing::{aws, Hooks, Journal};

/// Lambda aliases and versions.
#[derive(Default)]
pub struct AliasTable {
    /// (function, alias) → routing and revision.
    pub aliases: HashMap<(String, String), (AliasRouting, u64)>,
    /// (function, version) → configuration.
    pub versions: HashMap<(String, String), VersionInfo>,
    /// Errors the next writes fail with, first one first (throttling, say).
    pub failing_writes: Vec<Error>,
    /// function → its tags.
    pub tags: HashMap<String, std::collections::BTreeMap<String, String>>,
    /// Alias reads and writes made: what a step spends of the control-plane rate.
    pub reads: usize,
    pub writes: usize,
    /// (function, version) → durable executions RUNNING on it; a version missing from it
    /// whose count is asked fails as an unreadable listing.
    pub durable_running: HashMap<(String, String), usize>,
    /// (function, version) → where its code is (Lambda's own storage when absent).
    pub code: HashMap<(String, String), CodeLocation>,
}

impl AliasTable {
    /// Moves an alias as someone else would: a new revision, nothing journaled.
    pub fn move_alias(&mut self, function: &str, alias: &str, routing: AliasRouting) {
        let entry = self
            .aliases
            .entry((function.into(), alias.into()))
            .or_insert((routing.clone(), 0));
        *entry = (routing, entry.1 + 1);
    }
}

/// Clones share one table, as two handlers share one account.
#[derive(Default, Clone)]
pub struct MemoryRouter {
    pub table: Arc<Mutex<AliasTable>>,
    hooks: Arc<Hooks<AliasTable>>,
    pub journal: Journal,
}

impl MemoryRouter {
    pub fn new(journal: Journal) -> Self {
        MemoryRouter {
            journal,
            ..Default::default()
        }
    }

    pub fn with_alias(self, function: &str, alias: &str, version: &str) -> Self {
        let routing = AliasRouting::single(version);
        self.table
            .lock()
            .unwrap()
            .move_alias(function, alias, routing);
        self
    }

    /// The function tagged as CloudFormation tags what stack `stack_id` created.
    pub fn owned_by(self, function: &str, stack_id: &str) -> Self {
        let tags = [(
            crate::service::STACK_ID_TAG.to_string(),
            stack_id.to_string(),
        )];
        self.table
            .lock()
            .unwrap()
            .tags
            .insert(function.to_string(), tags.into_iter().collect());
        self
    }

    /// A published version, ready (`state` None) or in the given `State`.
    pub fn with_version(self, function: &str, version: &str, state: Option<&str>) -> Self {
        let info = VersionInfo {
            version: version.into(),
            role: "arn:aws:iam::123456789012:role/app".into(),
            dead_letter: None,
            state: state.map(str::to_string),
            state_reason: None,
            last_update: None,
            capacity_provider: None,
            durable: false,
        };
        let key = (function.to_string(), version.to_string());
        self.table.lock().unwrap().versions.insert(key, info);
        self
    }

    /// Version `version` is a durable function's, with `running` executions on it.
    pub fn durable(self, function: &str, version: &str, running: usize) -> Self {
        let key = (function.to_string(), version.to_string());
        let mut table = self.table.lock().unwrap();
        if let Some(info) = table.versions.get_mut(&key) {
            info.durable = true;
        }
        table.durable_running.insert(key, running);
        drop(table);
        self
    }

    /// Version `version` runs on a Lambda Managed Instances capacity provider.
    pub fn on_capacity_provider(self, function: &str, version: &str, provider: &str) -> Self {
        let key = (function.to_string(), version.to_string());
        if let Some(info) = self.table.lock().unwrap().versions.get_mut(&key) {
            info.capacity_provider = Some(provider.to_string());
        }
        self
    }

    /// Alias reads and writes so far, and counting from zero again.
    pub fn take_calls(&self) -> (usize, usize) {
        let mut table = self.table.lock().unwrap();
        let calls = (table.reads, table.writes);
        (table.reads, table.writes) = (0, 0);
        calls
    }

    pub fn routing(&self, function: &str, alias: &str) -> AliasRouting {
        let table = self.table.lock().unwrap();
        table.aliases[&(function.to_string(), alias.to_string())]
            .0
            .clone()
    }

    /// Runs `hook` once, just before the next call named `call` ("read", "update",
    /// "create_alias").
    pub fn interleave(
        &self,
        call: &'static str,
        hook: impl FnOnce(&mut AliasTable) + Send + 'static,
    ) {
        self.hooks.add(call, Box::new(hook));
    }
}

impl VersionFacts for MemoryRouter {
    async fn code_location(&self, function: &str, version: &str) -> Result<CodeLocation> {
        let key = (function.to_string(), version.to_string());
        Ok(self
            .table
            .lock()
            .unwrap()
            .code
            .get(&key)
            .cloned()
            .unwrap_or_default())
    }

    async fn running_durable_executions(
        &self,
        function: &str,
        version: &str,
    ) -> Result<(usize, bool)> {
        let key = (function.to_string(), version.to_string());
        let table = self.table.lock().unwrap();
        match table.durable_running.get(&key) {
            Some(running) => Ok((*running, false)),
            None => Err(Error::Aws(crate::error::AwsError {
                operation: "ListDurableExecutionsByFunction",
                kind: crate::error::AwsErrorKind::Rejected,
                code: Some("AccessDeniedException".into()),
                message: "not authorized".into(),
            })),
        }
    }
}

impl AliasRouter for MemoryRouter {
    fn region(&self) -> Option<String> {
        Some("eu-west-1".into())
    }

    async fn read(&self, function: &str, alias: &str) -> Result<AliasState> {
        let mut table = self.table.lock().unwrap();
        self.hooks.run("read", &mut table);
        table.reads += 1;
        let (routing, revision) = table
            .aliases
            .get(&(function.to_string(), alias.to_string()))
            .ok_or_else(|| Error::NotFound {
                function: function.into(),
                what: format!("alias {alias}"),
            })?;
        Ok(AliasState {
            routing: routing.clone(),
            revision_id: Some(revision.to_string()),
        })
    }

    async fn update(
        &self,
        function: &str,
        alias: &str,
        routing: &AliasRouting,
        expected_revision: Option<&str>,
    ) -> Result<AliasState> {
        let mut table = self.table.lock().unwrap();
        self.hooks.run("update", &mut table);
        if !table.failing_writes.is_empty() {
            return Err(table.failing_writes.remove(0));
        }
        table.writes += 1;
        let key = (function.to_string(), alias.to_string());
        let Some((_, revision)) = table.aliases.get(&key) else {
            return Err(aws("UpdateAlias", AwsErrorKind::NotFound, "no such alias"));
        };
        if expected_revision.is_some_and(|expected| expected != revision.to_string()) {
            // Lambda's PreconditionFailedException.
            return Err(aws(
                "UpdateAlias",
                AwsErrorKind::Conflict,
                "revision changed",
            ));
        }
        table.move_alias(function, alias, routing.clone());
        self.journal
            .push(format!("alias {function}:{alias} -> {routing}"));
        let (routing, revision) = &table.aliases[&key];
        Ok(AliasState {
            routing: routing.clone(),
            revision_id: Some(revision.to_string()),
        })
    }

    async fn version_info(&self, function: &str, version: &str) -> Result<VersionInfo> {
        let table = self.table.lock().unwrap();
        table
            .versions
            .get(&(function.to_string(), version.to_string()))
            .cloned()
            .ok_or_else(|| Error::NotFound {
                function: function.into(),
                what: format!("version {version}"),
            })
    }

    async fn create_alias(&self, function: &str, alias: &str, version: &str) -> Result<AliasState> {
        self.version_info(function, version).await?;
        let mut table = self.table.lock().unwrap();
        self.hooks.run("create_alias", &mut table);
        let key = (function.to_string(), alias.to_string());
        if table.aliases.contains_key(&key) {
            // Lambda answers ResourceConflictException, which the adapter classes as
            // transient (it also means "an update is in progress").
            return Err(aws(
                "CreateAlias",
                AwsErrorKind::Transient,
                "ResourceConflictException: alias already exists",
            ));
        }
        table.move_alias(function, alias, AliasRouting::single(version));
        self.journal.push(format!(
            "create alias {function}:{alias} -> version {version}"
        ));
        Ok(AliasState {
            routing: AliasRouting::single(version),
            revision_id: Some("1".into()),
        })
    }

    async fn ready_version(&self, function: &str, version: &str) -> Result<VersionInfo> {
        self.version_info(function, version)
            .await?
            .into_ready(function)
    }

    async fn function_tags(
        &self,
        function: &str,
    ) -> Result<std::collections::BTreeMap<String, String>> {
        let table = self.table.lock().unwrap();
        Ok(table.tags.get(function).cloned().unwrap_or_default())
    }
}
