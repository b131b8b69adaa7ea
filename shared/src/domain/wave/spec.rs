//! What a wave plan is made of, as a team writes it (`--wave us-east-1 --wave
//! eu-west-1,ap-southeast-2`, a plan file, a workflow input), and the limits it must keep.

use serde::{Deserialize, Serialize};

/// At most this many waves. Each wave adds its releases' run and a bake, and the coordinator
/// looks at the plan every [`LOOK_INTERVAL_SECS`] within one workflow history of 25,000
/// events (about five a look): ten waves of a day's release and bake each fit in it with room.
pub const MAX_WAVES: usize = 10;
/// At most this many targets in a plan. A stop brings every moved target back in one
/// invocation of the coordinator: two control-plane calls each (`GetAlias`, `UpdateAlias`)
/// and two table writes, Regions in parallel. 50 targets is at most 100 calls, and a Region's
/// share of them stays inside its account's 15 control-plane requests a second.
pub const MAX_TARGETS: usize = 50;
/// At most this many targets in one wave: a release group's limit, for the same reason (the
/// looks of one wave are made together, every target each look).
pub const MAX_TARGETS_PER_WAVE: usize = 20;
/// At most this many accounts. Each other account is reached through a role the coordinator
/// assumes (an STS call each look); ten keeps a look under a second of STS.
pub const MAX_ACCOUNTS: usize = 10;
/// The longest bake between waves: a day. Longer and the plan outlives its locks' grace.
pub const MAX_WAVE_BAKE_SECS: u64 = 24 * 3600;
/// Looks one execution of the plan's workflow makes before it continues as a new execution
/// (statemachine/waves.asl.json's `Continue`): about 31 history events a look at worst, all
/// retries spent, so 700 looks stay inside the 25,000-event history.
pub const LOOKS_PER_EXECUTION: u64 = 700;
/// How often the coordinator looks at the Regions of a running plan (the slow path: a rollback
/// anywhere also stops the plan at once, through the home Region's stop).
pub const LOOK_INTERVAL_SECS: u64 = 30;

/// One alias in one Region (and account) that a plan releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub region: String,
    /// The role the coordinator assumes to act in another account; None: the home account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub function: String,
    pub alias: String,
    /// The version to release there; None: publish one there from `$LATEST` when the wave
    /// starts (each Region numbers its own versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Target {
    /// `orders:live` at version 7 in `region`: the tests' target.
    #[cfg(test)]
    pub(crate) fn orders_in(region: &str) -> Target {
        Target {
            region: region.into(),
            role_arn: None,
            function: "orders".into(),
            alias: "live".into(),
            version: Some("7".into()),
        }
    }

    /// Where it is, as people name it: `eu-west-1` or `eu-west-1 (account 210987654321)`.
    pub fn place(&self) -> String {
        match self.account() {
            Some(account) => format!("{} (account {account})", self.region),
            None => self.region.clone(),
        }
    }

    /// The account a role ARN names (`arn:aws:iam::ACCOUNT:role/...`).
    pub fn account(&self) -> Option<&str> {
        self.role_arn
            .as_deref()
            .and_then(|arn| arn.split(':').nth(4))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaveError {
    #[error("a plan needs at least one wave with one target")]
    Empty,
    #[error("'{0}' is not a Region name (like us-east-1 or ap-southeast-2)")]
    RegionName(String),
    #[error("{what} appears twice in the plan: each alias is released once, in one wave")]
    Duplicate { what: String },
    #[error("{count} waves: a plan holds at most {MAX_WAVES} (each adds a release and a bake inside one workflow history)")]
    TooManyWaves { count: usize },
    #[error("{count} targets: a plan holds at most {MAX_TARGETS} (a stop brings every moved one back in one invocation)")]
    TooManyTargets { count: usize },
    #[error("wave {wave} has {count} targets: a wave holds at most {MAX_TARGETS_PER_WAVE}, a release group's limit")]
    TooManyInWave { wave: usize, count: usize },
    #[error("{count} accounts: a plan reaches at most {MAX_ACCOUNTS} (a role assumed in each, every look)")]
    TooManyAccounts { count: usize },
    #[error("a bake of {secs}s between waves: at most {MAX_WAVE_BAKE_SECS}s (a day)")]
    BakeTooLong { secs: u64 },
    #[error("'{0}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")]
    RoleArn(String),
}

/// A Region's name: letters, then dash-separated words, the last a number (`us-east-1`,
/// `us-gov-west-1`, `ap-southeast-2`).
pub fn check_region(name: &str) -> Result<(), WaveError> {
    let parts: Vec<&str> = name.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    if ok {
        Ok(())
    } else {
        Err(WaveError::RegionName(name.to_string()))
    }
}

/// The waves `--wave` names, in order: each a comma-separated list of Regions.
pub fn parse_wave_regions(specs: &[String]) -> Result<Vec<Vec<String>>, WaveError> {
    let waves: Vec<Vec<String>> = specs
        .iter()
        .map(|spec| {
            spec.split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect()
        })
        .collect();
    for region in waves.iter().flatten() {
        check_region(region)?;
    }
    Ok(waves)
}

/// A plan's waves, checked: no empty wave, no alias twice, and every limit kept.
pub fn check_waves(waves: &[Vec<Target>], bake_secs: u64) -> Result<(), WaveError> {
    if waves.is_empty() || waves.iter().any(Vec::is_empty) {
        return Err(WaveError::Empty);
    }
    if waves.len() > MAX_WAVES {
        return Err(WaveError::TooManyWaves { count: waves.len() });
    }
    if bake_secs > MAX_WAVE_BAKE_SECS {
        return Err(WaveError::BakeTooLong { secs: bake_secs });
    }
    let total: usize = waves.iter().map(Vec::len).sum();
    if total > MAX_TARGETS {
        return Err(WaveError::TooManyTargets { count: total });
    }
    if let Some((index, wave)) = waves
        .iter()
        .enumerate()
        .find(|(_, w)| w.len() > MAX_TARGETS_PER_WAVE)
    {
        return Err(WaveError::TooManyInWave {
            wave: index + 1,
            count: wave.len(),
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut accounts = std::collections::BTreeSet::new();
    for target in waves.iter().flatten() {
        check_region(&target.region)?;
        if let Some(role) = &target.role_arn {
            let valid = role.starts_with("arn:") && role.split(':').nth(2) == Some("iam");
            if !valid || target.account().is_none_or(|a| a.len() != 12) {
                return Err(WaveError::RoleArn(role.clone()));
            }
        }
        accounts.insert(target.account().unwrap_or("home").to_string());
        let key = format!("{}:{} in {}", target.function, target.alias, target.place());
        if !seen.insert(key.clone()) {
            return Err(WaveError::Duplicate { what: key });
        }
    }
    if accounts.len() > MAX_ACCOUNTS {
        return Err(WaveError::TooManyAccounts {
            count: accounts.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(region: &str) -> Target {
        Target::orders_in(region)
    }

    #[test]
    fn wave_flags_read_as_ordered_sets_of_regions() {
        let specs = [
            "us-east-1".to_string(),
            "eu-west-1, ap-southeast-2".to_string(),
        ];
        let waves = parse_wave_regions(&specs).unwrap();
        assert_eq!(
            waves,
            [vec!["us-east-1"], vec!["eu-west-1", "ap-southeast-2"]]
        );
        for bad in ["us-east", "US-EAST-1", "useast1", "us-east-x", "eu--west-1"] {
            assert_eq!(
                parse_wave_regions(&[bad.to_string()]),
                Err(WaveError::RegionName(bad.into())),
                "{bad}"
            );
        }
        assert!(check_region("us-gov-west-1").is_ok());
    }

    #[test]
    fn every_limit_is_enforced_with_its_reason() {
        let next = std::cell::Cell::new(0);
        let wave = |n: usize| -> Vec<Target> {
            (0..n)
                .map(|_| {
                    next.set(next.get() + 1);
                    Target {
                        function: format!("f{}", next.get()),
                        ..target("us-east-1")
                    }
                })
                .collect()
        };
        assert!(check_waves(&[wave(1), wave(2)], 1800).is_ok());
        assert_eq!(check_waves(&[], 0), Err(WaveError::Empty));
        assert_eq!(check_waves(&[wave(1), vec![]], 0), Err(WaveError::Empty));
        let eleven: Vec<Vec<Target>> = (0..11).map(|_| wave(1)).collect();
        assert_eq!(
            check_waves(&eleven, 0),
            Err(WaveError::TooManyWaves { count: 11 })
        );
        let e = check_waves(&[wave(21)], 0).unwrap_err();
        assert_eq!(e, WaveError::TooManyInWave { wave: 1, count: 21 });
        assert!(e.to_string().contains("release group"), "{e}");
        let many: Vec<Vec<Target>> = (0..3).map(|_| wave(17)).collect();
        assert_eq!(
            check_waves(&many, 0),
            Err(WaveError::TooManyTargets { count: 51 })
        );
        assert_eq!(
            check_waves(&[wave(1)], 86_401),
            Err(WaveError::BakeTooLong { secs: 86_401 })
        );
    }

    #[test]
    fn an_alias_twice_or_a_bad_role_or_too_many_accounts_is_refused() {
        let twice = check_waves(&[vec![target("us-east-1")], vec![target("us-east-1")]], 0);
        assert!(
            matches!(twice, Err(WaveError::Duplicate { .. })),
            "{twice:?}"
        );
        // The same alias in another account is another target.
        let other = Target {
            role_arn: Some("arn:aws:iam::210987654321:role/shiftback-waves".into()),
            ..target("us-east-1")
        };
        assert_eq!(other.place(), "us-east-1 (account 210987654321)");
        assert!(check_waves(&[vec![target("us-east-1")], vec![other]], 0).is_ok());
        let bad = Target {
            role_arn: Some("arn:aws:iam::12:role/x".into()),
            ..target("us-east-1")
        };
        assert!(matches!(
            check_waves(&[vec![bad]], 0),
            Err(WaveError::RoleArn(_))
        ));
        let accounts: Vec<Target> = (0..11)
            .map(|i| Target {
                role_arn: Some(format!("arn:aws:iam::{:012}:role/w", 100 + i)),
                ..target("us-east-1")
            })
            .collect();
        let e = check_waves(&[accounts[..10].to_vec(), accounts[10..].to_vec()], 0);
        assert_eq!(e, Err(WaveError::TooManyAccounts { count: 11 }));
    }
}
