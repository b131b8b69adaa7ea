//! The checks behind a preflight: a group member's own, where both versions' code is, the
//! alarms that must not be firing, the lock, and the rules two versions and a capacity
//! provider set on a weighted alias.

use crate::domain::{firing, Member, SpecError};
use crate::error::{Error, Result};
use crate::ports::Ports;
use crate::ports::VersionFacts;
use crate::ports::{AliasRouter, HealthSource, ReleaseRecords, VersionInfo};
use crate::router::AliasRouting;
use crate::service::ReleaseService;
use crate::store::LockInfo;

/// What a group member's own checks found.
pub(super) struct MemberCheck {
    pub findings: Vec<String>,
    pub expired: Option<LockInfo>,
    pub superseded: Option<String>,
    pub durable: bool,
}

impl<P: Ports> ReleaseService<P> {
    /// Where both versions' code is. A target whose code Lambda cannot retrieve (kept by
    /// reference in the team's bucket, the object since deleted or its access revoked) would
    /// fail every invocation routed to it: refused. A stable version in that state is the
    /// release's rollback target: said, not refused (the release may be the fix).
    pub(super) async fn code_findings(
        &self,
        function: &str,
        stable: &str,
        target: &str,
    ) -> Result<Vec<String>> {
        let mut findings = Vec::new();
        for (role, version) in [("target", target), ("stable", stable)] {
            let code = self.router.code_location(function, version).await?;
            match (&code.unretrievable, role) {
                (Some(why), "target") => {
                    return Err(Error::BadRequest(format!(
                        "{function} version {version}'s code cannot be retrieved by Lambda ({why}){}: every invocation routed to it would fail; restore the object or publish a version whose code exists",
                        code.reference.as_deref().map(|r| format!(", kept in {r}")).unwrap_or_default()
                    )))
                }
                (Some(why), _) => findings.push(format!(
                    "warning: {function} version {version}, the rollback target, has code Lambda cannot retrieve ({why}): a revert to it would fail; restore the object before releasing"
                )),
                (None, _) => {}
            }
            if let Some(object) = &code.reference {
                findings.push(format!(
                    "{function} version {version}'s code is kept in the team's bucket ({object}), not in Lambda's storage: it must stay there while the version can take traffic"
                ));
            }
        }
        Ok(findings)
    }

    /// A group member's own checks, as the first member's above: its target can take
    /// traffic, no release holds its alias, the alias sits wholly on one version (its stable
    /// version, found here when not given), both versions can share a weighted alias, and
    /// both have code Lambda can retrieve.
    /// An expired lock on a member is taken over by the start's transaction.
    pub(super) async fn preflight_member(
        &self,
        member: &mut Member,
        supersede: bool,
        strategy: &crate::domain::Strategy,
    ) -> Result<MemberCheck> {
        let (function, alias) = (member.function.clone(), member.alias.clone());
        let target = self
            .router
            .ready_version(&function, &member.target_version)
            .await?;
        let held = match supersede {
            true => self.to_supersede(&function, &alias).await?,
            false => None,
        };
        let expired = match &held {
            Some(_) => None,
            None => self.free_or_expired(&function, &alias).await?,
        };
        let mut current = self.router.read(&function, &alias).await?;
        if let Some(holder) = &held {
            current.routing = AliasRouting::single(&holder.stable_version);
        }
        if member.stable_version.is_empty() {
            member.stable_version = current.routing.version.clone();
        }
        let refuse = |reason: String| Error::InvalidRouting {
            function: function.clone(),
            alias: alias.clone(),
            reason,
        };
        if current.routing != AliasRouting::single(&member.stable_version) {
            return Err(refuse(format!(
                "it is on {}, not wholly on version {}: every member of a group starts from the version its alias carries",
                current.routing, member.stable_version
            )));
        }
        if member.stable_version == member.target_version {
            return Err(SpecError::Group(format!(
                "member {} is already on its target version {}: nothing to release",
                member.name(),
                member.target_version
            ))
            .into());
        }
        let from = self
            .router
            .version_info(&function, &member.stable_version)
            .await?;
        shareable(&function, &alias, &from, &target)?;
        // Each member's target is its own function's: on Managed Instances or not.
        if let Some(provider) = &target.capacity_provider {
            managed_ramp(&target.version, provider, strategy)?;
        }
        let finding = format!(
            "member {}: v{} → v{}, {}, both versions compatible",
            member.name(),
            member.stable_version,
            target.version,
            match (&held, &expired) {
                (Some(holder), _) => format!("release {} superseded first", holder.id),
                (None, None) => "no release holds it".to_string(),
                (None, Some(lock)) =>
                    format!("release {}'s expired lock taken over", lock.release_id),
            }
        );
        let mut findings = vec![finding];
        findings.extend(
            self.code_findings(&function, &member.stable_version, &target.version)
                .await?,
        );
        Ok(MemberCheck {
            findings,
            expired,
            superseded: held.map(|h| h.id),
            durable: target.durable,
        })
    }

    /// Who holds the alias: nobody, or a release whose lock expired (the start takes it over,
    /// on the record); a live holder refuses the release, naming it.
    pub(super) async fn free_or_expired(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<LockInfo>> {
        match self.store.lock_holder(function, alias).await? {
            Some(holder) if !holder.expired_at(self.store.now()) => Err(Error::LockHeld {
                function: function.to_string(),
                alias: alias.to_string(),
                holder: holder.release_id,
                since: holder.acquired_at.to_rfc3339(),
            }),
            expired => Ok(expired),
        }
    }

    /// Refuses alarms that do not exist, or that are [`firing`] now (the rule every later
    /// health check of the release applies too).
    pub(super) async fn refuse_firing(
        &self,
        alarms: &[String],
        overrides: &[String],
    ) -> Result<()> {
        let statuses = self.health.statuses(alarms).await?;
        let firing: Vec<String> = firing(&statuses, overrides, self.store.now())
            .into_iter()
            .map(|s| s.name.clone())
            .collect();
        if firing.is_empty() {
            Ok(())
        } else {
            Err(Error::AlarmsFiring(firing))
        }
    }
}

/// A version on Lambda Managed Instances scales asynchronously and throttles when its traffic
/// more than doubles within five minutes: a schedule that would do so is refused, with the
/// steps that would and a strategy that fits.
pub(super) fn managed_ramp(
    version: &str,
    provider: &str,
    strategy: &crate::domain::Strategy,
) -> Result<String> {
    let schedule = strategy.schedule()?;
    let too_fast = crate::domain::managed::too_fast_steps(&schedule);
    if too_fast.is_empty() {
        return Ok(format!(
            "version {version} runs on Lambda Managed Instances ({provider}): no step more than doubles its traffic within five minutes"
        ));
    }
    let first = schedule
        .steps
        .first()
        .map_or(crate::domain::Weight::FULL, |s| s.weight);
    let start = if first.as_fraction() > 0.5 {
        crate::domain::Weight::from_percent(10.0).expect("10% is a weight")
    } else {
        first
    };
    Err(Error::BadRequest(format!(
        "version {version} runs on Lambda Managed Instances ({provider}), which scale asynchronously and may throttle when traffic more than doubles within five minutes: {}; use a strategy that at most doubles it every five minutes, e.g. --strategy {}",
        too_fast.join("; "),
        crate::domain::managed::doubling_strategy(start)
    )))
}

/// Whether one alias may carry both versions at once: a weighted alias needs them to share
/// the execution role and the dead-letter target.
pub(super) fn shareable(
    function: &str,
    alias: &str,
    from: &VersionInfo,
    to: &VersionInfo,
) -> Result<()> {
    if from.role != to.role || from.dead_letter != to.dead_letter {
        return Err(Error::InvalidRouting {
            function: function.to_string(),
            alias: alias.to_string(),
            reason: format!(
                "versions {} and {} differ in execution role or dead-letter queue, which a weighted alias does not allow",
                from.version, to.version
            ),
        });
    }
    Ok(())
}
