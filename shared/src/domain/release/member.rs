//! Release groups: one release moving several functions' aliases in step, each from its own
//! stable version to its own target, and back together.

use serde::{Deserialize, Serialize};

use super::*;

/// Members one release may move. Bound by DynamoDB's 100 items per transaction: the start
/// writes, in one transaction, the release, a lock per member, a history entry per member
/// after the first (so `history` finds the group through any of them), its log (at most 3
/// entries) and a guard per alarm: the ones it names and an analysis alarm per member, which
/// together may number at most [`MAX_ALARMS`] + 1 (so a 20-member group names at most 21):
/// 1 + 20 + 19 + 3 + 41 = 84 items. The save that ends it deletes a lock per member beside
/// the guards: 1 + log + 20 + 41, well under. Moving 20 aliases a step also spends 40 of
/// Lambda's 15 control-plane calls a second: about 3 seconds a step.
pub const MAX_MEMBERS: usize = 20;

/// One alias a release moves. A release's first member is its own `function`, `alias` and
/// versions; a group's others are in [`Release::members`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub function: String,
    pub alias: String,
    /// Where the alias is when the release starts (found by the start when not given).
    #[serde(default)]
    pub stable_version: String,
    pub target_version: String,
}

impl Member {
    /// `function:alias`, as people and the log name it.
    pub fn name(&self) -> String {
        format!("{}:{}", self.function, self.alias)
    }

    /// Parses `function:alias:version` (the CLI's `--member`).
    pub fn parse(text: &str) -> Result<Member, SpecError> {
        let mut parts = text.rsplitn(3, ':');
        let (Some(target), Some(alias), Some(function)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(SpecError::Group(format!(
                "member '{}' is not FUNCTION:ALIAS:VERSION",
                text.chars().take(160).collect::<String>()
            )));
        };
        Ok(Member {
            function: function.to_string(),
            alias: alias.to_string(),
            stable_version: String::new(),
            target_version: target.to_string(),
        })
    }

    pub(super) fn check(&self, stable_known: bool) -> Result<(), SpecError> {
        check_names(&self.function, &self.alias, None)?;
        if !valid_version(&self.target_version) {
            return Err(SpecError::Version {
                role: "target",
                value: self.target_version.chars().take(40).collect(),
            });
        }
        if stable_known {
            if !valid_version(&self.stable_version) {
                return Err(SpecError::Version {
                    role: "stable",
                    value: self.stable_version.chars().take(40).collect(),
                });
            }
            if self.stable_version == self.target_version {
                return Err(SpecError::Group(format!(
                    "member {} is already on its target version {}: nothing to release",
                    self.name(),
                    self.target_version
                )));
            }
        }
        Ok(())
    }
}

impl ReleaseSpec {
    /// Every member, the spec's own first.
    pub fn all_members(&self) -> Vec<Member> {
        std::iter::once(Member {
            function: self.function.clone(),
            alias: self.alias.clone(),
            stable_version: self.stable_version.clone(),
            target_version: self.target_version.clone(),
        })
        .chain(self.members.iter().cloned())
        .collect()
    }

    /// A group's own rules: few enough members for one transaction, each alias once, each
    /// member well formed; and only a release moving traffic forward may be a group.
    pub(super) fn check_group(&self, stable_known: bool) -> Result<(), SpecError> {
        if self.members.is_empty() {
            return Ok(());
        }
        if self.kind == ReleaseKind::Revert {
            return Err(SpecError::Group(
                "an operator's rollback names one alias; roll back each member".into(),
            ));
        }
        let members = self.all_members();
        if members.len() > MAX_MEMBERS {
            return Err(SpecError::Group(format!(
                "{} members given; at most {MAX_MEMBERS} can move as one release (a start writes every member's lock and the release in one DynamoDB transaction, at most 100 items)",
                members.len()
            )));
        }
        // Each member after the first adds its own analysis alarm's guard.
        if self.alarms.len() + self.members.len() > MAX_ALARMS {
            return Err(SpecError::Group(format!(
                "{} alarms and {} members: a group's alarms and members beyond the first may number at most {MAX_ALARMS} together (each member has its own analysis alarm, and every guard is written in the start's one transaction)",
                self.alarms.len(),
                members.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for member in &members[1..] {
            member.check(stable_known)?;
        }
        for member in &members {
            if !seen.insert(member.name()) {
                return Err(SpecError::Group(format!(
                    "member {} is named twice",
                    member.name()
                )));
            }
        }
        if self.retain_versions.is_some() {
            return Err(SpecError::Group(
                "automatic retention runs for single releases only: prune a group's functions with `shiftback prune`".into(),
            ));
        }
        Ok(())
    }
}

impl Release {
    /// Every alias this release moves, its own first.
    pub fn all_members(&self) -> Vec<Member> {
        std::iter::once(self.lead())
            .chain(self.members.iter().cloned())
            .collect()
    }

    /// The release's own function, alias and versions, as a member.
    pub fn lead(&self) -> Member {
        Member {
            function: self.function.clone(),
            alias: self.alias.clone(),
            stable_version: self.stable_version.clone(),
            target_version: self.target_version.clone(),
        }
    }

    pub fn is_group(&self) -> bool {
        !self.members.is_empty()
    }

    /// What the release moves, for people: `orders:live`, or every member joined by `+`.
    pub fn subject(&self) -> String {
        self.all_members()
            .iter()
            .map(Member::name)
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// Members whose alias someone changed outside the release: left exactly as found, while
    /// the others go back to their stable versions.
    pub fn left_alone(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|e| match &e.event {
                ReleaseEvent::ManualRollback { member, .. }
                | ReleaseEvent::Interrupted { member, .. } => member.clone(),
                _ => None,
            })
            .collect()
    }

    /// The release as seen from `function`'s history: for each of its members of that
    /// function, a copy whose own function, alias and versions are that member's (a single
    /// release of it: itself). What retention and rollback judge a function's versions by:
    /// a group's first member's versions are another function's numbers.
    pub fn views_of(&self, function: &str) -> Vec<Release> {
        if !self.is_group() {
            // Found in the function's history by its own function.
            return vec![self.clone()];
        }
        self.all_members()
            .into_iter()
            .filter(|m| m.function == function)
            .map(|m| self.as_member(m))
            .collect()
    }

    /// A copy of the release whose own function, alias and versions are `member`'s: what
    /// that member's history entry, analysis alarm and retention are judged by.
    pub fn as_member(&self, member: Member) -> Release {
        Release {
            function: member.function,
            alias: member.alias,
            stable_version: member.stable_version,
            target_version: member.target_version,
            ..self.clone()
        }
    }

    /// The members a revert moves back to their stable versions.
    pub fn members_to_revert(&self) -> Vec<Member> {
        let left = self.left_alone();
        self.all_members()
            .into_iter()
            .filter(|m| !left.contains(&m.name()))
            .collect()
    }
}
