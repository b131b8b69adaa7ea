//! The Regions and the plan table in memory, for the coordinator's tests: each Region's
//! releases by id (a start repeated is one release, a revert repeated is one revert), Regions
//! that stop answering or refuse, and a plan table whose saves are conditional on the revision
//! and can be made to fail once (a crash after the regional calls, before the save).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::{PlanLink, PlanRecords, RegionalReleases, Reverted, Seen, Target, WavePlan};
use crate::error::{AwsError, AwsErrorKind, Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionalRelease {
    pub region: String,
    pub function: String,
    pub seen: Seen,
    pub labels: Vec<(String, String)>,
    /// How many times a revert changed it (at most once).
    pub reverts: usize,
}

#[derive(Clone, Default)]
pub struct MemoryRegions {
    pub releases: Arc<Mutex<BTreeMap<String, RegionalRelease>>>,
    /// Regions whose control plane throttles every call.
    pub unreachable: Arc<Mutex<BTreeSet<String>>>,
    /// Regions that refuse a start (the alias held by another release there).
    pub refusing: Arc<Mutex<BTreeSet<String>>>,
    /// Regions whose alias is on the plan's version already.
    pub on_version: Arc<Mutex<BTreeSet<String>>>,
    /// Regions without the alias (until the plan makes it).
    pub no_alias: Arc<Mutex<BTreeSet<String>>>,
    /// How long each revert takes (a Region slow to answer).
    pub revert_takes: Arc<Mutex<Option<std::time::Duration>>>,
    /// Every call, as `operation region release`.
    pub calls: Arc<Mutex<Vec<String>>>,
}

impl MemoryRegions {
    fn call(&self, operation: &str, target: &Target, release_id: &str) -> Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("{operation} {} {release_id}", target.region));
        if self.unreachable.lock().unwrap().contains(&target.region) {
            return Err(Error::Aws(AwsError {
                operation: "StartExecution",
                kind: AwsErrorKind::Throttled,
                code: Some("ThrottlingException".into()),
                message: format!("{} is throttled", target.region),
            }));
        }
        Ok(())
    }

    /// A refusing Region's answer: the alias held by another release there.
    fn refused(&self, target: &Target) -> Result<()> {
        if self.refusing.lock().unwrap().contains(&target.region) {
            return Err(Error::LockHeld {
                function: target.function.clone(),
                alias: target.alias.clone(),
                holder: "r-someone-else".into(),
                since: "earlier".into(),
            });
        }
        Ok(())
    }

    /// `region`'s control plane throttles every call (true) or answers again (false).
    pub fn set_unreachable(&self, region: &str, unreachable: bool) {
        let mut regions = self.unreachable.lock().unwrap();
        if unreachable {
            regions.insert(region.into());
        } else {
            regions.remove(region);
        }
    }

    /// `region` refuses every start (the alias held by another release there).
    pub fn refuse_starts(&self, region: &str) {
        self.refusing.lock().unwrap().insert(region.into());
    }

    /// The regional release promotes.
    pub fn promote(&self, release_id: &str, at: i64) {
        self.releases
            .lock()
            .unwrap()
            .get_mut(release_id)
            .unwrap()
            .seen = Seen::Promoted { at };
    }

    /// The regional release rolls back on its own (its alarm, its analysis).
    pub fn roll_back(&self, release_id: &str, why: &str) {
        self.releases
            .lock()
            .unwrap()
            .get_mut(release_id)
            .unwrap()
            .seen = Seen::RolledBack { why: why.into() };
    }

    pub fn release(&self, release_id: &str) -> RegionalRelease {
        self.releases.lock().unwrap()[release_id].clone()
    }

    pub fn count(&self, operation: &str) -> usize {
        let calls = self.calls.lock().unwrap();
        calls.iter().filter(|c| c.starts_with(operation)).count()
    }
}

impl RegionalReleases for MemoryRegions {
    async fn start(
        &self,
        target: &Target,
        release_id: &str,
        _strategy: &str,
        _alarms: &[String],
        plan: &PlanLink,
    ) -> Result<()> {
        self.call("start", target, release_id)?;
        self.refused(target)?;
        self.releases
            .lock()
            .unwrap()
            .entry(release_id.to_string())
            .or_insert_with(|| RegionalRelease {
                region: target.region.clone(),
                function: target.function.clone(),
                seen: Seen::Running,
                labels: plan.labels(),
                reverts: 0,
            });
        Ok(())
    }

    async fn check(
        &self,
        target: &Target,
        _strategy: &str,
        _alarms: &[String],
        _plan: &PlanLink,
    ) -> Result<super::Readiness> {
        self.call("check", target, "-")?;
        self.refused(target)?;
        let region = &target.region;
        Ok(if self.no_alias.lock().unwrap().contains(region) {
            super::Readiness::NoAlias
        } else if self.on_version.lock().unwrap().contains(region) {
            super::Readiness::OnVersion
        } else {
            super::Readiness::Ready
        })
    }

    async fn create_alias(&self, target: &Target) -> Result<()> {
        self.call("create_alias", target, "-")?;
        self.no_alias.lock().unwrap().remove(&target.region);
        self.on_version
            .lock()
            .unwrap()
            .insert(target.region.clone());
        Ok(())
    }

    async fn look(&self, target: &Target, release_id: &str) -> Result<Seen> {
        self.call("look", target, release_id)?;
        let releases = self.releases.lock().unwrap();
        let found = releases.get(release_id);
        Ok(found.map_or(Seen::NotStarted, |r| r.seen.clone()))
    }

    async fn revert(&self, target: &Target, release_id: &str, why: &str) -> Result<Reverted> {
        let takes = *self.revert_takes.lock().unwrap();
        if let Some(takes) = takes {
            tokio::time::sleep(takes).await;
        }
        self.call("revert", target, release_id)?;
        let mut releases = self.releases.lock().unwrap();
        let Some(release) = releases.get_mut(release_id) else {
            return Ok(Reverted::NotStarted);
        };
        if !matches!(release.seen, Seen::RolledBack { .. }) {
            release.seen = Seen::RolledBack { why: why.into() };
            release.reverts += 1;
        }
        Ok(Reverted::Back)
    }
}

#[derive(Clone, Default)]
pub struct MemoryPlans {
    pub plans: Arc<Mutex<BTreeMap<String, (WavePlan, u64)>>>,
    /// Saves made so far.
    pub saves: Arc<Mutex<usize>>,
    /// The save with this number (0-based) fails as a crash would: after every regional call
    /// before it, and changing nothing. Once.
    pub crash_at_save: Arc<Mutex<Option<usize>>>,
    /// The open plans' index has not caught up (a GSI is eventually consistent): `running`
    /// shows none.
    pub index_lags: Arc<Mutex<bool>>,
    /// Plans' ids in the order they were created.
    pub created: Arc<Mutex<Vec<String>>>,
    /// Called between a load and the save that follows it: another writer's turn.
    #[allow(clippy::type_complexity)]
    pub between: Arc<Mutex<Option<Box<dyn FnMut(&mut WavePlan) + Send>>>>,
}

impl MemoryPlans {
    pub fn get(&self, id: &str) -> WavePlan {
        self.plans.lock().unwrap()[id].0.clone()
    }
}

impl PlanRecords for MemoryPlans {
    async fn create(&self, plan: &WavePlan) -> Result<()> {
        let mut plans = self.plans.lock().unwrap();
        if plans.contains_key(&plan.id) {
            return Err(Error::ReleaseExists(plan.id.clone()));
        }
        plans.insert(plan.id.clone(), (plan.clone(), 1));
        self.created.lock().unwrap().push(plan.id.clone());
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<(WavePlan, u64)> {
        let mut plans = self.plans.lock().unwrap();
        let entry = plans
            .get_mut(id)
            .ok_or_else(|| Error::ReleaseNotFound(id.into()))?;
        let loaded = entry.clone();
        if let Some(mut other) = self.between.lock().unwrap().take() {
            other(&mut entry.0);
            entry.1 += 1;
        }
        Ok(loaded)
    }

    async fn save(&self, plan: &WavePlan, revision: u64) -> Result<()> {
        let mut crash = self.crash_at_save.lock().unwrap();
        if *crash == Some(*self.saves.lock().unwrap()) {
            *crash = None;
            return Err(Error::Panicked("crashed before the save".into()));
        }
        let mut plans = self.plans.lock().unwrap();
        let entry = plans.get_mut(&plan.id).unwrap();
        if entry.1 != revision {
            return Err(Error::StaleRelease {
                id: plan.id.clone(),
                expected: revision,
            });
        }
        *entry = (plan.clone(), revision + 1);
        *self.saves.lock().unwrap() += 1;
        Ok(())
    }

    async fn resource_plan(&self, resource: &str) -> Result<Option<WavePlan>> {
        // The last created, as the store's pointer is the last written.
        let plans = self.plans.lock().unwrap();
        let created = self.created.lock().unwrap();
        let mut mine = created.iter().rev().map(|id| &plans[id].0);
        Ok(mine
            .find(|p| p.resource.as_deref() == Some(resource))
            .cloned())
    }

    async fn running(&self) -> Result<Vec<WavePlan>> {
        if *self.index_lags.lock().unwrap() {
            return Ok(Vec::new());
        }
        let plans = self.plans.lock().unwrap();
        Ok(plans
            .values()
            .map(|(p, _)| p.clone())
            .filter(|p| !p.ended())
            .collect())
    }
}

/// A home Region's plans in memory, for the provider's tests: the coordinator itself over
/// memory Regions, the waves workflow's launches, the plans' table.
pub type MemoryStackPlans = super::HomePlans<
    super::DirectCoordinator<MemoryRegions, MemoryPlans>,
    crate::workflow::memory::MemoryWorkflow,
    MemoryPlans,
>;

impl MemoryStackPlans {
    /// Plans coordinated from `home` (the coordinator's Region).
    pub fn in_region(home: &str) -> Self {
        let (regions, records) = (MemoryRegions::default(), MemoryPlans::default());
        let coordinator = super::WaveCoordinator::new(regions, records.clone());
        super::HomePlans {
            coordinator: super::DirectCoordinator {
                coordinator: Arc::new(coordinator),
                arn: format!(
                    "arn:aws:lambda:{home}:123456789012:function:shiftback-WavesFunction-A"
                ),
            },
            workflow: Default::default(),
            records,
        }
    }

    pub fn regions(&self) -> &MemoryRegions {
        self.coordinator.coordinator.regions()
    }
}
