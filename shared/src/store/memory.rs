//! The release table (releases, locks, guards), in memory, with the adapter's conditions.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::domain::Release;
use crate::error::{AwsErrorKind, Error, Result};
use crate::ports::*;
use crate::testing::{aws, Hooks, Journal};

/// The release table: releases with their logs, locks and guards.
#[derive(Default)]
pub struct Records {
    pub releases: BTreeMap<String, Release>,
    /// (function, alias) → holder.
    pub locks: HashMap<(String, String), LockInfo>,
    /// (alarm, release id) → guard.
    pub guards: BTreeMap<(String, String), Guard>,
}

impl Records {
    /// Changes a stored release as another writer would: a new revision, nothing journaled.
    pub fn change(&mut self, id: &str, change: impl FnOnce(&mut Release)) {
        let release = self.releases.get_mut(id).expect("stored release");
        change(release);
        release.revision += 1;
    }

    fn store(&mut self, release: &Release, revision: u64) {
        let mut stored = release.clone();
        stored.revision = revision;
        for alarm in &release.recorded_guards() {
            let key = (alarm.clone(), release.id.clone());
            if release.phase.is_terminal() && release.guard_until().is_none() {
                self.guards.remove(&key);
            } else {
                self.guards.insert(key, guard(release, alarm));
            }
        }
        self.releases.insert(release.id.clone(), stored);
    }
}

fn guard(release: &Release, alarm: &str) -> Guard {
    Guard {
        members: release.members.clone(),
        alarm: alarm.into(),
        release_id: release.id.clone(),
        function: release.function.clone(),
        alias: release.alias.clone(),
        stable_version: release.stable_version.clone(),
        target_version: release.target_version.clone(),
        until: release.guard_until(),
        started_at: Some(release.created_at),
        ignored_until: release.ignore_of(alarm),
    }
}

#[derive(Default, Clone)]
pub struct MemoryStore {
    pub records: Arc<Mutex<Records>>,
    hooks: Arc<Hooks<Records>>,
    pub journal: Journal,
    /// The table's clock less the machine's (zero: they agree).
    clock_offset: Arc<Mutex<chrono::Duration>>,
}

impl MemoryStore {
    pub fn new(journal: Journal) -> Self {
        MemoryStore {
            journal,
            ..Default::default()
        }
    }

    /// The table's clock set `offset` from the machine's (a laptop whose clock is off).
    pub fn set_clock_offset(&self, offset: chrono::Duration) {
        *self.clock_offset.lock().unwrap() = offset;
    }

    pub fn release(&self, id: &str) -> Release {
        self.records.lock().unwrap().releases[id].clone()
    }

    pub fn lock(&self, function: &str, alias: &str) -> Option<LockInfo> {
        let records = self.records.lock().unwrap();
        records.locks.get(&(function.into(), alias.into())).cloned()
    }

    /// Runs `hook` once, just before the next call named `call` ("load", "save", ...).
    pub fn interleave(&self, call: &'static str, hook: impl FnOnce(&mut Records) + Send + 'static) {
        self.hooks.add(call, Box::new(hook));
    }

    fn saved(&self, records: &mut Records, tracked: &mut LoadedRelease) -> Result<()> {
        let release = &tracked.release;
        let stored = records.releases.get(&release.id).map(|r| r.revision);
        if stored != Some(release.revision) {
            return Err(Error::StaleRelease {
                id: release.id.clone(),
                expected: release.revision,
            });
        }
        for member in release.all_members() {
            let key = (member.function, member.alias);
            if release.phase.is_terminal()
                && tracked.holds_lock
                && records
                    .locks
                    .get(&key)
                    .is_some_and(|l| l.release_id == release.id)
            {
                records.locks.remove(&key);
            }
        }
        records.store(release, release.revision + 1);
        tracked.release.revision += 1;
        tracked.stored_log_len = tracked.release.log.len();
        tracked.holds_lock = tracked.release.holds_alias_lock();
        Ok(())
    }
}

impl ReleaseRecords for MemoryStore {
    async fn create(
        &self,
        release: &Release,
        now: DateTime<Utc>,
        takeover: Option<LockTakeover<'_>>,
    ) -> Result<LoadedRelease> {
        let mut records = self.records.lock().unwrap();
        self.hooks.run("create", &mut records);
        if records.releases.contains_key(&release.id) {
            return Err(Error::ReleaseExists(release.id.clone()));
        }
        let key = (release.function.clone(), release.alias.clone());
        if !release.holds_alias_lock() {
            // Recorded already over: no lock, as the store's transaction writes none.
            records.store(release, 1);
            self.journal.push(format!("create {}", release.id));
            let mut created = LoadedRelease::stored(release.clone());
            created.release.revision = 1;
            return Ok(created);
        }
        let free = match (records.locks.get(&key), takeover) {
            (None, None) => true,
            (Some(held), Some(takeover)) => {
                held.release_id == takeover.holder
                    && held.expires_at.timestamp() < now.timestamp() - LOCK_EXPIRY_MARGIN_SECS
            }
            _ => false,
        };
        if !free {
            return match records.locks.get(&key) {
                Some(held) => Err(Error::LockHeld {
                    function: release.function.clone(),
                    alias: release.alias.clone(),
                    holder: held.release_id.clone(),
                    since: held.acquired_at.to_rfc3339(),
                }),
                None => Err(aws(
                    "TransactWriteItems",
                    AwsErrorKind::Conflict,
                    "lock gone",
                )),
            };
        }
        // A group's other members: each lock free or expired (as the store's condition says).
        for member in &release.members {
            let key = (member.function.clone(), member.alias.clone());
            if let Some(held) = records.locks.get(&key) {
                if held.expires_at.timestamp() >= now.timestamp() - LOCK_EXPIRY_MARGIN_SECS {
                    return Err(Error::LockHeld {
                        function: member.function.clone(),
                        alias: member.alias.clone(),
                        holder: held.release_id.clone(),
                        since: held.acquired_at.to_rfc3339(),
                    });
                }
            }
        }
        // All or nothing: the broken release's save is checked before anything is written.
        if let Some(mut broken) = takeover.and_then(|t| t.broken).cloned() {
            broken.holds_lock = false;
            self.saved(&mut records, &mut broken)?;
        }
        let lock = LockInfo {
            release_id: release.id.clone(),
            acquired_at: now,
            expires_at: release.lock_expiry(release.created_at),
        };
        for member in &release.members {
            let key = (member.function.clone(), member.alias.clone());
            records.locks.insert(key, lock.clone());
        }
        records.locks.insert(key, lock);
        records.store(release, 1);
        self.journal.push(format!("create {}", release.id));
        let mut created = LoadedRelease::stored(release.clone());
        created.release.revision = 1;
        created.holds_lock = true;
        Ok(created)
    }

    async fn load(&self, id: &str) -> Result<LoadedRelease> {
        let mut records = self.records.lock().unwrap();
        self.hooks.run("load", &mut records);
        let release = records.releases.get(id).cloned();
        release
            .map(LoadedRelease::stored)
            .ok_or_else(|| Error::ReleaseNotFound(id.into()))
    }

    async fn load_summary(&self, id: &str) -> Result<Release> {
        let mut records = self.records.lock().unwrap();
        self.hooks.run("load_summary", &mut records);
        let mut release = records
            .releases
            .get(id)
            .cloned()
            .ok_or_else(|| Error::ReleaseNotFound(id.into()))?;
        release.log.clear();
        Ok(release)
    }

    async fn save(&self, tracked: &mut LoadedRelease) -> Result<()> {
        let mut records = self.records.lock().unwrap();
        self.hooks.run("save", &mut records);
        self.saved(&mut records, tracked)?;
        let release = &tracked.release;
        let phase = release.phase.name();
        self.journal.push(format!("save {} {phase}", release.id));
        Ok(())
    }

    async fn lock_holder(&self, function: &str, alias: &str) -> Result<Option<LockInfo>> {
        Ok(self.lock(function, alias))
    }

    async fn renew_lock(&self, release: &Release, now: DateTime<Utc>) -> Result<()> {
        let mut records = self.records.lock().unwrap();
        let key = (release.function.clone(), release.alias.clone());
        let expires = release.lock_expiry(now);
        if let Some(lock) = records.locks.get_mut(&key) {
            if lock.release_id == release.id && lock.expires_at < expires {
                lock.expires_at = expires;
            }
        }
        Ok(())
    }

    async fn history(&self, function: &str, limit: i32, page: Option<&str>) -> Result<HistoryPage> {
        let records = self.records.lock().unwrap();
        let mut releases: Vec<Release> = records
            .releases
            .values()
            // As the real index: a group through any of its members' functions.
            .filter(|r| r.all_members().iter().any(|m| m.function == function))
            .cloned()
            .collect();
        releases.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        let skip: usize = page.map_or(0, |p| p.parse().unwrap_or(0));
        let end = (skip + limit as usize).min(releases.len());
        let next = (end < releases.len()).then(|| end.to_string());
        Ok(HistoryPage {
            releases: releases[skip..end].to_vec(),
            next,
        })
    }

    async fn guards_for_alarm(&self, alarm: &str) -> Result<Vec<Guard>> {
        let records = self.records.lock().unwrap();
        Ok(records
            .guards
            .values()
            .filter(|g| g.alarm == alarm)
            .cloned()
            .collect())
    }

    /// The machine's clock, unless a test set the table's apart from it.
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.clock_offset.lock().unwrap()
    }
}
