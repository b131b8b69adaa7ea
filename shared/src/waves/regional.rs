//! The regional releases of a plan through each Region's own shiftback stack: its release
//! table and its release workflow, found from the stack's outputs, with the same service the
//! CLI uses there. In another account, through a role the coordinator assumes.
//!
//! Every call here is safe to repeat: a start finds the release its id names (recorded, or
//! its execution started), a revert of a release already back does nothing.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use tokio::sync::Mutex;

use super::stacks::{missing, stack_outputs};
use super::{PlanLink, Readiness, RegionalReleases, Reverted, Seen, Target};
use crate::adapters::StepFunctionsWorkflow;
use crate::domain::{Phase, SpecError};
use crate::error::{Error, Result};
use crate::runtime::{release_service_with, Caller, HandlerClients, HandlerSettings};
use crate::service::{Control, ReleaseService, StartRequest, StepInput};

/// What the coordinator signs its actions with, in every Region's records.
pub const WAVES_ACTOR: &str = "shiftback-waves";

/// Each Region's shiftback, found by its stack's name (the same in every Region: one
/// template, deployed as one stack set or one pipeline).
pub struct ShiftbackRegions {
    base: SdkConfig,
    stack_name: String,
    regions: Mutex<HashMap<Place, Arc<Regional>>>,
    clients: ClientsFor,
}

/// How a Region's clients are built from its configuration.
type ClientsFor = Box<dyn Fn(&SdkConfig) -> HandlerClients + Send + Sync>;

/// A Region, and the role that reaches its account (None: the coordinator's own).
type Place = (String, Option<String>);

/// One Region's (and account's) shiftback: its release service and its workflow.
struct Regional {
    service: ReleaseService,
    workflow: StepFunctionsWorkflow,
}

impl ShiftbackRegions {
    /// `base`: the coordinator's own configuration (its credentials; the Region is each
    /// target's). `stack_name`: the shiftback stack's name in every Region.
    pub fn new(base: SdkConfig, stack_name: impl Into<String>) -> Self {
        ShiftbackRegions {
            base,
            stack_name: stack_name.into(),
            regions: Mutex::new(HashMap::new()),
            clients: Box::new(HandlerClients::new),
        }
    }

    /// The same, with each Region's clients built by `clients` (the tests' record every call).
    pub fn with_clients(
        self,
        clients: impl Fn(&SdkConfig) -> HandlerClients + Send + Sync + 'static,
    ) -> Self {
        ShiftbackRegions {
            clients: Box::new(clients),
            ..self
        }
    }

    /// The target's Region's shiftback, found once per coordinator (a failure is not kept:
    /// the next call looks again).
    async fn regional(&self, target: &Target) -> Result<Arc<Regional>> {
        let key = (target.region.clone(), target.role_arn.clone());
        if let Some(found) = self.regions.lock().await.get(&key) {
            return Ok(found.clone());
        }
        let config = self.config_for(target).await;
        let clients = (self.clients)(&config);
        let outputs = stack_outputs(&clients, &self.stack_name, &target.place()).await?;
        let named = |key: &str| outputs.get(key).cloned();
        let settings = HandlerSettings {
            release_table: named("ReleaseTableName").ok_or_else(|| missing("ReleaseTableName"))?,
            release_topic: named("ReleaseTopicArn"),
            incident_topic: named("IncidentTopicArn"),
            caller: Caller::Operator,
            ..HandlerSettings::default()
        };
        let machine = named("StateMachineArn").ok_or_else(|| missing("StateMachineArn"))?;
        let mut service = release_service_with(&clients, &settings);
        // The coordinator acts here itself: its own reverts need not tell it.
        service.plan_stops = None;
        let regional = Arc::new(Regional {
            service,
            workflow: StepFunctionsWorkflow::new(clients.sfn.clone(), machine),
        });
        self.regions.lock().await.insert(key, regional.clone());
        Ok(regional)
    }

    /// The coordinator's configuration in the target's Region; in another account, with the
    /// credentials of the role it names (assumed, and renewed before they expire, by the SDK).
    async fn config_for(&self, target: &Target) -> SdkConfig {
        let region = Region::new(target.region.clone());
        let builder = self.base.to_builder().region(region.clone());
        match &target.role_arn {
            None => builder.build(),
            Some(role) => {
                let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                    .session_name(WAVES_ACTOR)
                    .region(region)
                    .configure(&self.base)
                    .build()
                    .await;
                builder
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    .build()
            }
        }
    }

    /// The start request a target's regional release is made from.
    fn request(
        target: &Target,
        version: String,
        release_id: &str,
        strategy: &str,
        alarms: &[String],
        plan: &PlanLink,
    ) -> StartRequest {
        StartRequest {
            release_id: Some(release_id.into()),
            function: target.function.clone(),
            alias: target.alias.clone(),
            stable_version: None,
            target_version: version,
            members: Vec::new(),
            strategy: strategy.into(),
            alarms: alarms.to_vec(),
            alarm_overrides: Vec::new(),
            bake_after_secs: 0,
            started_by: WAVES_ACTOR.into(),
            kind: Default::default(),
            analysis: Default::default(),
            retain_versions: None,
            hooks: Default::default(),
            gates: Default::default(),
            labels: plan.labels().into_iter().collect(),
            supersede: false,
        }
    }

    /// What `plan` shows for a target before anything moves: every check its Region's start
    /// would make (the stack, the function, alias and version, the alarms, the lock, the
    /// strategy). A version to be published when its wave starts: the stack and the alias.
    pub async fn preflight(
        &self,
        target: &Target,
        strategy: &str,
        alarms: &[String],
        plan: &PlanLink,
    ) -> Result<Option<StartRequest>> {
        let regional = self.regional(target).await?;
        let Some(version) = target.version.clone() else {
            use crate::router::AliasRouter;
            regional
                .service
                .router
                .read(&target.function, &target.alias)
                .await?;
            return Ok(None);
        };
        let request = Self::request(target, version, "plan-preflight", strategy, alarms, plan);
        Ok(Some(regional.service.preflight(request).await?.request))
    }
}

impl RegionalReleases for ShiftbackRegions {
    async fn start(
        &self,
        target: &Target,
        release_id: &str,
        strategy: &str,
        alarms: &[String],
        plan: &PlanLink,
    ) -> Result<()> {
        let regional = self.regional(target).await?;
        // Started before (recorded, or its execution running before its first record).
        if regional
            .service
            .store
            .load_summary(release_id)
            .await
            .is_ok()
            || regional.workflow.execution(release_id).await?.is_some()
        {
            return Ok(());
        }
        let version = match &target.version {
            Some(version) => version.clone(),
            // Publishing unchanged code again returns the version it made the first time.
            None => {
                let note = format!("shiftback plan {}, wave {}", plan.plan_id, plan.wave);
                regional
                    .service
                    .router
                    .publish(&target.function, &note)
                    .await?
            }
        };
        let request = Self::request(target, version, release_id, strategy, alarms, plan);
        let request = match regional.service.preflight(request).await {
            Ok(checked) => checked.request,
            // Its own start took the lock between the two reads above and this one.
            Err(Error::LockHeld { holder, .. }) if holder == release_id => return Ok(()),
            Err(e) => return Err(e),
        };
        let input = serde_json::to_value(&request).map_err(|e| Error::Corrupt(e.to_string()))?;
        crate::ports::ExecutionControl::launch(&regional.workflow, release_id, &input).await
    }

    async fn check(
        &self,
        target: &Target,
        strategy: &str,
        alarms: &[String],
        plan: &PlanLink,
    ) -> Result<Readiness> {
        match self.preflight(target, strategy, alarms, plan).await {
            Ok(_) => Ok(Readiness::Ready),
            Err(Error::Spec(SpecError::SameVersion(_))) => Ok(Readiness::OnVersion),
            Err(Error::NotFound { what, .. })
                if what.starts_with("alias") && target.version.is_some() =>
            {
                Ok(Readiness::NoAlias)
            }
            Err(e) => Err(e),
        }
    }

    async fn create_alias(&self, target: &Target) -> Result<()> {
        use crate::router::AliasRouter;
        let regional = self.regional(target).await?;
        let version = target.version.as_deref().unwrap_or_default();
        regional
            .service
            .router
            .create_alias(&target.function, &target.alias, version)
            .await
            .map(|_| ())
    }

    async fn look(&self, target: &Target, release_id: &str) -> Result<Seen> {
        let regional = self.regional(target).await?;
        let release = match regional.service.store.load_summary(release_id).await {
            Ok(release) => release,
            Err(Error::ReleaseNotFound(_)) => {
                // Its workflow has not recorded it yet, or ended before it could (a start
                // refused inside the workflow): the alias never moved.
                return match regional.workflow.execution(release_id).await? {
                    Some((status, _)) if status == "RUNNING" => Ok(Seen::Running),
                    Some((status, why)) => Ok(Seen::RolledBack {
                        why: format!(
                            "its workflow ended {status} before recording a release: {}",
                            why.unwrap_or_default()
                        ),
                    }),
                    // Claimed, and its start never reached the Region.
                    None => Ok(Seen::NotStarted),
                };
            }
            Err(e) => return Err(e),
        };
        Ok(match release.phase {
            // Its rollback failed: the alias may be anywhere, so the plan brings it back.
            Phase::Failed => Seen::Stuck {
                why: release
                    .reason
                    .clone()
                    .unwrap_or_else(|| "it failed".to_string()),
            },
            Phase::Succeeded => Seen::Promoted {
                at: release
                    .finished_at
                    .unwrap_or(release.updated_at)
                    .timestamp(),
            },
            phase if phase.is_terminal() => Seen::RolledBack {
                why: release
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("it ended {}", phase.name())),
            },
            _ => Seen::Running,
        })
    }

    async fn revert(&self, target: &Target, release_id: &str, why: &str) -> Result<Reverted> {
        let regional = self.regional(target).await?;
        let service = &regional.service;
        let release = match service.store.load_summary(release_id).await {
            Ok(release) => release,
            Err(Error::ReleaseNotFound(_)) => {
                // Not recorded: stop its workflow before its start moves anything. Its start
                // may be mid-invocation, so this counts as not done until a later look finds
                // the execution ended and still no record.
                return match regional.workflow.execution(release_id).await? {
                    Some((status, _)) if status == "RUNNING" => {
                        regional.workflow.stop(release_id, why).await?;
                        Err(Error::Unsettled(format!(
                            "release {release_id}'s workflow stopped before its first record"
                        )))
                    }
                    // Neither a record nor a running workflow: never started, unless its
                    // start is still in flight (the coordinator waits that out).
                    _ => Ok(Reverted::NotStarted),
                };
            }
            Err(e) => return Err(e),
        };
        match release.phase {
            // Promoted, or failed with the alias anywhere: brought back as a release of its
            // own, named for this one, so a repeated revert finds it rather than making a
            // second.
            Phase::Succeeded | Phase::Failed => {
                let back = format!("{}-back", &release_id[..release_id.len().min(59)]);
                match service.store.load_summary(&back).await {
                    Ok(done) if done.phase == Phase::Succeeded => return Ok(Reverted::Back),
                    // A revert a crashed coordinator began: finished, not begun again.
                    Ok(begun) if !begun.phase.is_terminal() => {
                        service.promote(StepInput::of(&back)).await?;
                        return Ok(Reverted::Back);
                    }
                    Ok(ended) => {
                        return Err(Error::Unsettled(format!(
                            "the revert {back} ended {} without bringing {} back",
                            ended.phase.name(),
                            target.place()
                        )))
                    }
                    Err(Error::ReleaseNotFound(_)) => {}
                    Err(e) => return Err(e),
                }
                // A promoted release's alias may have moved on since (a later release, an
                // operator's rollback, a plan recalled long after): where it is now decides.
                if release.phase == Phase::Succeeded {
                    use crate::router::{routing::AliasRouting, AliasRouter};
                    let now = service
                        .router
                        .read(&release.function, &release.alias)
                        .await?;
                    if now.routing == AliasRouting::single(&release.stable_version) {
                        return Ok(Reverted::Back);
                    }
                    if now.routing != AliasRouting::single(&release.target_version) {
                        return Ok(Reverted::MovedOn(now.routing.to_string()));
                    }
                }
                match service
                    .revert_to_labelled(
                        &release.function,
                        &release.alias,
                        &release.stable_version,
                        WAVES_ACTOR,
                        Some(back),
                        PlanLink::carried(&release.labels),
                    )
                    .await
                {
                    Ok(_) => Ok(Reverted::Back),
                    // Another coordinator's revert, begun meanwhile: looked at again.
                    Err(Error::ReleaseExists(id)) => Err(Error::Unsettled(format!(
                        "the revert {id} was begun by another coordinator"
                    ))),
                    Err(e) => Err(e),
                }
            }
            phase if phase.is_terminal() => Ok(Reverted::Back),
            _ => {
                let abort = Control::Abort { reason: why.into() };
                match service
                    .control_gate_aware(release_id, abort, WAVES_ACTOR, &regional.workflow)
                    .await
                {
                    Ok(_) => Ok(Reverted::Back),
                    // It ended between the read and the abort (its own rollback, a promotion):
                    // decided again at the next look.
                    Err(e) if !e.is_retryable() => {
                        let now = service.store.load_summary(release_id).await?;
                        match now.phase {
                            Phase::Succeeded => Err(Error::Unsettled(format!(
                                "release {release_id} promoted as it was aborted"
                            ))),
                            phase if phase.is_terminal() => Ok(Reverted::Back),
                            _ => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }
}
