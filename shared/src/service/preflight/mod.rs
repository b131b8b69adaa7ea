//! The checks a release passes before anything is recorded or moved, in one place: the start
//! handler runs them, and so do the CLI's `plan` (which prints them) and `start` (which refuses
//! early, before starting a workflow that would refuse anyway).

use crate::domain::gates::OnGateTimeout;
use crate::domain::{Release, ReleaseKind, ReleaseSpec, SpecError, Strategy};
use crate::error::{Error, Result};
use crate::hooks::HookPhase;
use crate::ports::Ports;
use crate::ports::{AliasRouter, HookCaller, ReleaseRecords};
use crate::router::AliasRouting;
use crate::service::{ReleaseService, StartRequest};
use crate::store::LockInfo;

mod checks;
use checks::{managed_ramp, shareable};

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The request with its function in its one spelling and its stable version known.
    pub request: StartRequest,
    /// The release's spec, validated as the release will be.
    pub spec: ReleaseSpec,
    /// An expired lock the start will take over, on the record.
    pub expired_lock: Option<LockInfo>,
    /// Expired locks on a group's other members, taken over by the start too.
    pub expired_member_locks: Vec<LockInfo>,
    /// Releases holding an alias that the start supersedes (`supersede`), first.
    pub superseding: Vec<String>,
    /// What was checked, in words (for `plan`).
    pub findings: Vec<String>,
    /// The target is a durable function's version.
    pub target_durable: bool,
    /// A group's other functions whose target is a durable function's version.
    pub durable_members: Vec<String>,
}

impl<P: Ports> ReleaseService<P> {
    /// What the request itself says, checked without any AWS call. Returns it with its
    /// function in its one spelling, and its spec.
    pub fn validate(&self, request: StartRequest) -> Result<(StartRequest, ReleaseSpec)> {
        let request = lead_from_members(request);
        for (field, value) in [
            ("function", &request.function),
            ("alias", &request.alias),
            ("target_version", &request.target_version),
        ] {
            if value.is_empty() {
                return Err(Error::BadRequest(format!(
                    "missing field `{field}` (a group may name every member in `members` instead)"
                )));
            }
        }
        let strategy: Strategy = request.strategy.parse()?;
        let mut spec = ReleaseSpec {
            gates: request.gates.clone(),
            release_id: request.release_id.clone(),
            function: request.function.clone(),
            alias: request.alias.clone(),
            stable_version: request.stable_version.clone().unwrap_or_default(),
            target_version: request.target_version.clone(),
            members: request.members.clone(),
            labels: request.labels.clone(),
            strategy,
            alarms: request.alarms.clone(),
            alarm_overrides: request.alarm_overrides.clone(),
            bake_after_secs: request.bake_after_secs,
            started_by: request.started_by.clone(),
            kind: request.kind,
            analysis: request.analysis.clone(),
            retain_versions: request.retain_versions,
            hooks: request.hooks.clone(),
        };
        spec.validate_without_stable()?;
        // The handler that may invoke hooks knows which: the stack's pattern. (The CLI does
        // not; the workflow's start refuses a hook the stack may not call.)
        if let Some(hooks) = &self.hooks {
            spec.hooks
                .check_allowed(hooks.allowed())
                .map_err(SpecError::Hooks)?;
        }
        // One spelling per function from here on: locks, guards and history meet there.
        spec.function = self.canonical(&request.function)?;
        for member in &mut spec.members {
            member.function = self.canonical(&member.function)?;
        }
        // Spelled differently, one alias could be named twice.
        spec.validate_without_stable()?;
        let request = StartRequest {
            function: spec.function.clone(),
            members: spec.members.clone(),
            // A preset and its spelled-out steps are one strategy: recorded one way.
            strategy: spec.strategy.to_string(),
            ..request
        };
        Ok((request, spec))
    }

    /// Every check a start makes before recording anything, in the order that gives the most
    /// useful refusal first: the target version exists and can take traffic, no guarding
    /// alarm fires, no release holds the alias, the alias sits wholly on the stable version,
    /// and both versions share what a weighted alias requires.
    pub async fn preflight(&self, request: StartRequest) -> Result<Preflight> {
        let (mut request, mut spec) = self.validate(request)?;
        let (function, alias) = (request.function.clone(), request.alias.clone());
        let mut findings = Vec::new();

        let target = self
            .router
            .ready_version(&function, &request.target_version)
            .await?;
        findings.push(format!(
            "version {} exists and can take traffic",
            target.version
        ));

        self.refuse_firing(&spec.alarms, &spec.alarm_overrides)
            .await?;
        findings.push(if spec.alarms.is_empty() && spec.analysis.enabled {
            "no alarms guard this release: canary analysis alone judges it".to_string()
        } else if spec.alarms.is_empty() {
            "no alarms guard this release and analysis is off: only operators can stop it"
                .to_string()
        } else {
            format!(
                "alarms exist and are not firing: {}",
                spec.alarms.join(", ")
            )
        });

        // Who holds the alias: the actionable answer while another release runs. The
        // transaction that records the release still decides races.
        let mut superseding = Vec::new();
        let held = match request.supersede {
            true => self.to_supersede(&function, &alias).await?,
            false => None,
        };
        let expired_lock = match &held {
            Some(_) => None,
            None => self.free_or_expired(&function, &alias).await?,
        };
        findings.push(match (&held, &expired_lock) {
            (Some(holder), _) => format!(
                "release {} ({}) holds the alias: it is superseded first, back on version {}, on the record",
                holder.id,
                holder.phase.name(),
                holder.stable_version
            ),
            (None, None) => "no release holds the alias".to_string(),
            (None, Some(lock)) => format!(
                "release {} held the alias until {}; its lock will be taken over, on the record",
                lock.release_id,
                lock.expires_at.to_rfc3339()
            ),
        });

        let mut current = self.router.read(&function, &alias).await?;
        // The alias as the start will find it: back on the superseded release's stable version.
        if let Some(holder) = held {
            current.routing = AliasRouting::single(&holder.stable_version);
            superseding.push(holder.id);
        }
        let repair = request.kind == ReleaseKind::Revert;
        if repair && current.routing == AliasRouting::single(&request.target_version) {
            return Err(Error::InvalidRouting {
                function,
                alias,
                reason: format!(
                    "it is already wholly on version {}: nothing to roll back",
                    request.target_version
                ),
            });
        }
        let stable = match request.stable_version.clone() {
            Some(v) => v,
            // An operator's revert repairs a split alias: it starts from the version carrying
            // most of the traffic, and goes all at once.
            None if repair => current.routing.version.clone(),
            None if current.routing.extra.is_some() => {
                return Err(Error::InvalidRouting {
                    function,
                    alias,
                    reason: format!(
                        "it is already split ({}); name the stable version explicitly or finish that shift first",
                        current.routing
                    ),
                });
            }
            None => current.routing.version.clone(),
        };
        spec.stable_version = stable.clone();
        request.stable_version = Some(stable.clone());
        let mut expired_member_locks = Vec::new();
        let mut durable_members = Vec::new();
        let strategy = spec.strategy.clone();
        for member in &mut spec.members {
            // Boxed: a member's checks would make every start's future too deep for a
            // test thread's 2 MB stack.
            let check =
                Box::pin(self.preflight_member(member, request.supersede, &strategy)).await?;
            findings.extend(check.findings);
            expired_member_locks.extend(check.expired);
            if let Some(id) = check.superseded.filter(|id| !superseding.contains(id)) {
                superseding.push(id);
            }
            if check.durable && !durable_members.contains(&member.function) {
                durable_members.push(member.function.clone());
            }
        }
        request.members = spec.members.clone();
        // The rest of the spec's rules, now that the stable version is known.
        Release::new(spec.clone(), self.store.now())?;

        let from = self.router.version_info(&function, &stable).await?;
        findings.push(format!(
            "alias {function}:{alias} is on {}",
            current.routing
        ));
        if repair {
            // All at once: no weighted routing, so no compatibility to check; but its target
            // must have code Lambda can run.
            findings.extend(
                self.code_findings(&function, &stable, &target.version)
                    .await?,
            );
            return Ok(Preflight {
                request,
                spec,
                expired_lock,
                expired_member_locks,
                superseding,
                findings,
                target_durable: target.durable,
                durable_members,
            });
        }
        if current.routing != AliasRouting::single(&stable) {
            return Err(Error::InvalidRouting {
                function,
                alias,
                reason: format!(
                    "it is on {}, not wholly on version {stable}: a release starts from the version the alias carries",
                    current.routing
                ),
            });
        }
        shareable(&function, &alias, &from, &target)?;
        findings.push(
            "both versions share the execution role and dead-letter configuration".to_string(),
        );
        findings.extend(
            self.code_findings(&function, &stable, &target.version)
                .await?,
        );
        if let Some(provider) = &target.capacity_provider {
            findings.push(managed_ramp(&target.version, provider, &spec.strategy)?);
        }
        findings.push(spec.analysis.describe());
        for (phase, when) in [
            (HookPhase::PreTraffic, "before any traffic moves"),
            (
                HookPhase::PostTraffic,
                "at 100%, before the release succeeds",
            ),
        ] {
            if let Some(hook) = spec.hooks.for_phase(phase) {
                findings.push(format!(
                    "{phase} hook {hook} is called {when}; it must pass within {}s",
                    spec.hooks.deadline_secs
                ));
            }
        }
        let gated: Vec<String> = Release::new(spec.clone(), self.store.now())
            .map(|r| r.schedule.steps)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.gate_after)
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        if !gated.is_empty() {
            findings.push(format!(
                "waits for `shiftback approve` after step(s) {}; a gate unanswered for {}s {}",
                gated.join(", "),
                spec.gates.timeout_secs,
                match spec.gates.on_timeout {
                    OnGateTimeout::Abort => "aborts the release",
                    OnGateTimeout::Approve => "lets it go on",
                }
            ));
        }
        if let Some(keep) = spec.retain_versions {
            findings.push(format!(
                "once it succeeds and its bake window closes, {function}'s versions are pruned: the newest {keep} and every version in use or a rollback target stay"
            ));
        }
        Ok(Preflight {
            request,
            spec,
            expired_lock,
            expired_member_locks,
            superseding,
            findings,
            target_durable: target.durable,
            durable_members,
        })
    }
}

/// A group named wholly in `members`: its first member becomes the release's own function,
/// alias and versions.
fn lead_from_members(mut request: StartRequest) -> StartRequest {
    if request.function.is_empty() && !request.members.is_empty() {
        let lead = request.members.remove(0);
        request.function = lead.function;
        request.alias = lead.alias;
        request.target_version = lead.target_version;
        if !lead.stable_version.is_empty() {
            request.stable_version = Some(lead.stable_version);
        }
    }
    request
}
