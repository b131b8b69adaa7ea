//! The traffic router's rules: what an alias may route to, what a release wants it to route
//! to, and which routings a release may find it in before each move. The Lambda adapter only
//! reads and writes aliases.

use std::fmt;

use crate::domain::release::{valid_version, AliasTarget, Member, Phase, Release};
use crate::domain::weight::Weight;

/// What an alias routes to: one version, optionally with a share on a second version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasRouting {
    pub version: String,
    pub extra: Option<(String, Weight)>,
}

impl AliasRouting {
    /// Lambda's rules for a weighted alias: two published versions, distinct, with a weight
    /// strictly between 0% and 100%. The error says which rule is broken.
    pub fn check(&self) -> Result<(), String> {
        let routing = self;
        let invalid = |reason: String| reason;
        if routing.version.is_empty()
            || (routing.version != "$LATEST" && !valid_version(&routing.version))
        {
            return Err(invalid(format!("'{}' is not a version", routing.version)));
        }
        if let Some((extra, weight)) = &routing.extra {
            if !valid_version(&routing.version) || !valid_version(extra) {
                return Err(invalid(
                    "a weighted alias can only split traffic between two published versions, not $LATEST"
                        .to_string(),
                ));
            }
            if extra == &routing.version {
                return Err(invalid(format!(
                    "both sides of the split are version {extra}"
                )));
            }
            if !weight.is_partial() {
                return Err(invalid(format!("weight {weight} is outside (0%, 100%)")));
            }
        }
        Ok(())
    }

    pub fn single(version: &str) -> AliasRouting {
        AliasRouting {
            version: version.to_string(),
            extra: None,
        }
    }

    /// The routing a release wants: `stable` carries the rest of the traffic while weighted.
    pub fn for_release(stable: &str, target: &str, desired: AliasTarget) -> AliasRouting {
        match desired {
            AliasTarget::Stable => AliasRouting::single(stable),
            AliasTarget::Target => AliasRouting::single(target),
            AliasTarget::Weighted(w) if w == Weight::ZERO => AliasRouting::single(stable),
            AliasTarget::Weighted(w) if w == Weight::FULL => AliasRouting::single(target),
            AliasTarget::Weighted(w) => AliasRouting {
                version: stable.to_string(),
                extra: Some((target.to_string(), w)),
            },
        }
    }

    /// The target's share of traffic when this routing is read as a move from stable to target,
    /// or None when it is not such a routing at all.
    pub fn weight_towards(&self, stable: &str, target: &str) -> Option<Weight> {
        match &self.extra {
            None if self.version == stable => Some(Weight::ZERO),
            None if self.version == target => Some(Weight::FULL),
            Some((extra, w)) if self.version == stable && extra == target => Some(*w),
            _ => None,
        }
    }
}

impl fmt::Display for AliasRouting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.extra {
            None => write!(f, "version {}", self.version),
            Some((extra, w)) => write!(f, "version {} with {w} on version {extra}", self.version),
        }
    }
}

impl Release {
    /// Where the alias may be before this release moves it to `desired`: the routing of the
    /// step before (for a weighted step), or where this release put it (for a promotion).
    /// A move from anywhere else would undo someone's change (a revert above all).
    /// For a group, each member's own versions (`member`); a single release is its lead.
    pub fn routings_before(&self, member: &Member, desired: AliasTarget) -> Vec<AliasRouting> {
        let (stable, target) = (&member.stable_version, &member.target_version);
        match desired {
            AliasTarget::Weighted(w) => {
                let weights: Vec<Weight> = self.schedule.steps.iter().map(|s| s.weight).collect();
                let index = weights.iter().position(|x| *x == w).unwrap_or(0);
                let previous = if index == 0 {
                    Weight::ZERO
                } else {
                    weights[index - 1]
                };
                vec![AliasRouting::for_release(
                    stable,
                    target,
                    AliasTarget::Weighted(previous),
                )]
            }
            // Promotion moves on from where this release put the alias: the last weight it
            // recorded, or the one before when that was recorded but not yet applied. Only a
            // release that applied no weight at all (all at once, or promoted while pending)
            // may start from the stable version; after any step, an alias found there was
            // reverted by someone, and promoting would undo that revert.
            AliasTarget::Target => {
                let applied = self.applied_weights();
                let from: Vec<Weight> = match applied.as_slice() {
                    [] => vec![Weight::ZERO],
                    [.., previous, last] => vec![*previous, *last],
                    [only] => vec![*only],
                };
                from.into_iter()
                    .map(|w| AliasRouting::for_release(stable, target, AliasTarget::Weighted(w)))
                    .collect()
            }
            AliasTarget::Stable => Vec::new(),
        }
    }

    /// Every routing this release has put the alias in, other than the stable version alone:
    /// finding the alias in one of them means nobody else has touched it.
    pub fn own_routings(&self, member: &Member) -> Vec<AliasRouting> {
        let (stable, target) = (&member.stable_version, &member.target_version);
        self.applied_weights()
            .into_iter()
            .map(AliasTarget::Weighted)
            .chain(matches!(self.phase, Phase::Promoting).then_some(AliasTarget::Target))
            .map(|t| AliasRouting::for_release(stable, target, t))
            .filter(|r| *r != AliasRouting::single(stable))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_for_release_and_back() {
        let w = Weight::from_percent(10.0).unwrap();
        let r = AliasRouting::for_release("3", "4", AliasTarget::Weighted(w));
        assert_eq!(r.extra, Some(("4".to_string(), w)));
        assert_eq!(r.weight_towards("3", "4"), Some(w));
        assert_eq!(
            AliasRouting::single("3").weight_towards("3", "4"),
            Some(Weight::ZERO)
        );
        assert_eq!(
            AliasRouting::single("4").weight_towards("3", "4"),
            Some(Weight::FULL)
        );
        assert_eq!(AliasRouting::single("7").weight_towards("3", "4"), None);
        assert_eq!(
            AliasRouting::for_release("3", "4", AliasTarget::Weighted(Weight::ZERO)),
            AliasRouting::single("3")
        );
        assert_eq!(r.to_string(), "version 3 with 10% on version 4");
    }

    #[test]
    fn two_version_rule_is_checked_before_calling() {
        let w = Weight::from_percent(10.0).unwrap();
        let bad = [
            AliasRouting {
                version: "$LATEST".into(),
                extra: Some(("4".into(), w)),
            },
            AliasRouting {
                version: "3".into(),
                extra: Some(("$LATEST".into(), w)),
            },
            AliasRouting {
                version: "3".into(),
                extra: Some(("3".into(), w)),
            },
            AliasRouting {
                version: "3".into(),
                extra: Some(("4".into(), Weight::FULL)),
            },
            AliasRouting {
                version: "".into(),
                extra: None,
            },
        ];
        for routing in bad {
            assert!(routing.check().is_err(), "{routing:?} passed");
        }
        assert!(AliasRouting::single("$LATEST").check().is_ok());
    }

    fn release(strategy: &str) -> Release {
        let spec = crate::domain::release::tests::spec(strategy);
        Release::new(spec, chrono::Utc::now()).unwrap()
    }

    fn split(p: f64) -> AliasRouting {
        let w = Weight::from_percent(p).unwrap();
        AliasRouting::for_release("3", "4", AliasTarget::Weighted(w))
    }

    #[test]
    fn a_step_moves_on_only_from_the_step_before_it() {
        let r = release("steps:10@1m,50@1m");
        let second = AliasTarget::Weighted(Weight::from_percent(50.0).unwrap());
        assert_eq!(r.routings_before(&r.lead(), second), vec![split(10.0)]);
        let first = AliasTarget::Weighted(Weight::from_percent(10.0).unwrap());
        assert_eq!(
            r.routings_before(&r.lead(), first),
            vec![AliasRouting::single("3")]
        );
        assert!(r.routings_before(&r.lead(), AliasTarget::Stable).is_empty());
    }

    #[test]
    fn a_promotion_starts_from_the_stable_version_only_when_no_weight_was_applied() {
        let now = chrono::Utc::now();
        let mut r = release("steps:10@0s,50@0s");
        assert_eq!(
            r.routings_before(&r.lead(), AliasTarget::Target),
            vec![AliasRouting::single("3")]
        );
        r.apply(crate::domain::Input::Begin, now, "wf").unwrap();
        // After a step, an alias found on the stable version was reverted by someone.
        assert_eq!(
            r.routings_before(&r.lead(), AliasTarget::Target),
            vec![split(10.0)]
        );
        assert_eq!(r.own_routings(&r.lead()), vec![split(10.0)]);
    }
}
