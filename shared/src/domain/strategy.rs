//! Traffic-shifting strategies and the schedules they expand to.
//!
//! A strategy is written as one string so it reads the same on the command line, in a
//! Step Functions input and in the release record:
//!
//! - a CodeDeploy preset, with or without its prefix: `Canary10Percent5Minutes`,
//!   `CodeDeployDefault.LambdaLinear10PercentEvery1Minute`, `AllAtOnce`, ...
//! - `canary:PERCENT:BAKE` (e.g. `canary:5:10m`): PERCENT, then everything after BAKE;
//! - `linear:PERCENT:BAKE` (e.g. `linear:20:2m`): PERCENT more every BAKE until 100;
//! - `steps:W[@BAKE],W[@BAKE],...` (e.g. `steps:1@60s,5@2m,25@5m,50@5m`): any list; a
//!   `gate` after a step (`steps:5@5m,gate,25@5m`) holds the release there until a person
//!   approves.
//!
//! Durations are seconds unless suffixed `s`, `m` or `h`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::weight::Weight;

/// The longest a Step Functions standard workflow may run (one year), in seconds.
pub const MAX_TOTAL_BAKE_SECS: u64 = 365 * 24 * 3600;
/// More steps than this would not fit a workflow's 25,000-event history comfortably, and no
/// person reads a schedule that long.
pub const MAX_STEPS: usize = 100;

/// How traffic moves from the stable version to the target version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Strategy {
    /// Everything at once, then done.
    AllAtOnce,
    /// `percent` of traffic for `bake_secs`, then everything.
    Canary { percent: Weight, bake_secs: u64 },
    /// `percent` more traffic every `bake_secs` until everything.
    Linear { percent: Weight, bake_secs: u64 },
    /// An explicit list of partial weights, each held for its own bake time.
    Steps(Vec<Step>),
}

/// One partial weight held for a bake time, then (with `gate_after`) until a person approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub weight: Weight,
    pub bake_secs: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub gate_after: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// What a strategy expands to: the partial weights in order; after the last one has baked
/// (or at once, when there are none) the alias is promoted wholly to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub steps: Vec<Step>,
}

impl Schedule {
    /// Seconds from the first weight to promotion, if every step is healthy.
    pub fn total_bake_secs(&self) -> u64 {
        self.steps.iter().map(|s| s.bake_secs).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrategyError {
    #[error("unknown strategy '{0}': use a CodeDeploy preset (e.g. Canary10Percent5Minutes, Linear10PercentEvery1Minute, AllAtOnce), canary:PERCENT:BAKE, linear:PERCENT:BAKE or steps:W@BAKE,...")]
    Unknown(String),
    #[error("strategy has no steps: give at least one weight, or use AllAtOnce")]
    Empty,
    #[error("weight {0} is out of range: a step's weight must be above 0% and below 100%")]
    WeightOutOfRange(String),
    #[error("weights must increase strictly: {next} follows {previous}")]
    NotIncreasing { previous: Weight, next: Weight },
    #[error("invalid duration '{0}': use seconds, or a number followed by s, m or h")]
    BadDuration(String),
    #[error("bake time {secs}s is too long: no single step may bake longer than {max}s")]
    BakeTooLong { secs: u64, max: u64 },
    #[error("the schedule bakes for {secs}s in all, longer than a Step Functions standard workflow can run ({max}s)")]
    TotalTooLong { secs: u64, max: u64 },
    #[error("the schedule has {0} steps; at most {MAX_STEPS} are allowed")]
    TooManySteps(usize),
    #[error("the final 100% step cannot bake; watch the promoted version with a bake-after window instead")]
    BakeOnFinalStep,
    #[error("a gate holds the release after a step: put it after a weight (steps:5@5m,gate,25@5m), once")]
    GateWithoutStep,
}

impl Strategy {
    /// Expands the strategy and validates the result.
    pub fn schedule(&self) -> Result<Schedule, StrategyError> {
        let steps = match self {
            Strategy::AllAtOnce => Vec::new(),
            Strategy::Canary { percent, bake_secs } => vec![Step {
                weight: *percent,
                bake_secs: *bake_secs,
                gate_after: false,
            }],
            Strategy::Linear { percent, bake_secs } => {
                // A zero increment would never reach 100%.
                if !percent.is_partial() {
                    return Err(StrategyError::WeightOutOfRange(percent.to_string()));
                }
                let increment = percent.basis_points();
                (1..)
                    .map(|i| i * increment)
                    .take_while(|bps| *bps < Weight::FULL.basis_points())
                    // One more than allowed is enough to refuse it, however small the step.
                    .take(MAX_STEPS + 1)
                    .map(|bps| Step {
                        weight: Weight::from_basis_points(bps).expect("below 100%"),
                        bake_secs: *bake_secs,
                        gate_after: false,
                    })
                    .collect()
            }
            Strategy::Steps(steps) => {
                if steps.is_empty() {
                    return Err(StrategyError::Empty);
                }
                steps.clone()
            }
        };
        validate(&steps)?;
        Ok(Schedule { steps })
    }
}

fn validate(steps: &[Step]) -> Result<(), StrategyError> {
    if steps.len() > MAX_STEPS {
        return Err(StrategyError::TooManySteps(steps.len()));
    }
    for step in steps {
        if !step.weight.is_partial() {
            return Err(StrategyError::WeightOutOfRange(step.weight.to_string()));
        }
        if step.bake_secs > MAX_TOTAL_BAKE_SECS {
            return Err(StrategyError::BakeTooLong {
                secs: step.bake_secs,
                max: MAX_TOTAL_BAKE_SECS,
            });
        }
    }
    for pair in steps.windows(2) {
        if pair[1].weight <= pair[0].weight {
            return Err(StrategyError::NotIncreasing {
                previous: pair[0].weight,
                next: pair[1].weight,
            });
        }
    }
    let total: u64 = steps.iter().map(|s| s.bake_secs).sum();
    if total > MAX_TOTAL_BAKE_SECS {
        return Err(StrategyError::TotalTooLong {
            secs: total,
            max: MAX_TOTAL_BAKE_SECS,
        });
    }
    Ok(())
}

/// CodeDeploy's predefined Lambda configurations: (name, strategy kind, percent, minutes).
const PRESETS: &[(&str, char, u32, u64)] = &[
    ("Canary10Percent5Minutes", 'c', 10, 5),
    ("Canary10Percent10Minutes", 'c', 10, 10),
    ("Canary10Percent15Minutes", 'c', 10, 15),
    ("Canary10Percent30Minutes", 'c', 10, 30),
    ("Linear10PercentEvery1Minute", 'l', 10, 1),
    ("Linear10PercentEvery2Minutes", 'l', 10, 2),
    ("Linear10PercentEvery3Minutes", 'l', 10, 3),
    ("Linear10PercentEvery10Minutes", 'l', 10, 10),
];

fn preset(name: &str) -> Option<Strategy> {
    let name = name
        .strip_prefix("CodeDeployDefault.Lambda")
        .map(|rest| rest.strip_prefix('.').unwrap_or(rest))
        .unwrap_or(name);
    if name == "AllAtOnce" {
        return Some(Strategy::AllAtOnce);
    }
    PRESETS
        .iter()
        .find(|(preset, ..)| *preset == name)
        .map(|&(_, kind, percent, minutes)| {
            let percent = Weight::from_percent(percent as f64).expect("preset weights are valid");
            let bake_secs = minutes * 60;
            if kind == 'c' {
                Strategy::Canary { percent, bake_secs }
            } else {
                Strategy::Linear { percent, bake_secs }
            }
        })
}

/// Parses `90`, `90s`, `5m`, `2h`.
pub fn parse_duration(text: &str) -> Result<u64, StrategyError> {
    let text = text.trim();
    let bad = || StrategyError::BadDuration(text.to_string());
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        Some(_) => (text, 's'),
        None => return Err(bad()),
    };
    let value: u64 = digits.parse().map_err(|_| bad())?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => return Err(bad()),
    };
    value.checked_mul(factor).ok_or_else(bad)
}

fn format_duration(secs: u64) -> String {
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

fn parse_weight(text: &str) -> Result<Weight, StrategyError> {
    let text = text.trim().trim_end_matches('%');
    text.parse::<f64>()
        .ok()
        .and_then(Weight::from_percent)
        .ok_or_else(|| StrategyError::WeightOutOfRange(text.to_string()))
}

fn parse_step(text: &str) -> Result<Step, StrategyError> {
    let (weight, bake) = text.split_once('@').unwrap_or((text, "0"));
    Ok(Step {
        weight: parse_weight(weight)?,
        bake_secs: parse_duration(bake)?,
        gate_after: false,
    })
}

/// A `steps:` list: weights, each `gate` marking the step before it.
fn parse_steps(list: &str) -> Result<Vec<Step>, StrategyError> {
    let mut steps: Vec<Step> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item.eq_ignore_ascii_case("gate") {
            match steps.last_mut() {
                Some(step) if !step.gate_after => step.gate_after = true,
                _ => return Err(StrategyError::GateWithoutStep),
            }
        } else {
            steps.push(parse_step(item)?);
        }
    }
    Ok(steps)
}

impl FromStr for Strategy {
    type Err = StrategyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Some(strategy) = preset(text) {
            return Ok(strategy);
        }
        let unknown = || StrategyError::Unknown(text.chars().take(80).collect());
        let (kind, rest) = text.split_once(':').ok_or_else(unknown)?;
        let strategy = match kind.to_ascii_lowercase().as_str() {
            "canary" | "linear" => {
                let (percent, bake) = rest.split_once(':').ok_or_else(unknown)?;
                let percent = parse_weight(percent)?;
                let bake_secs = parse_duration(bake)?;
                if kind.eq_ignore_ascii_case("canary") {
                    Strategy::Canary { percent, bake_secs }
                } else {
                    Strategy::Linear { percent, bake_secs }
                }
            }
            "steps" => {
                let mut steps = parse_steps(rest)?;
                // A trailing 100 just restates promotion; it may not bake.
                if steps.last().is_some_and(|s| s.weight == Weight::FULL) {
                    if steps.last().is_some_and(|s| s.bake_secs > 0) {
                        return Err(StrategyError::BakeOnFinalStep);
                    }
                    // After 100% there is nothing left to hold.
                    if steps.last().is_some_and(|s| s.gate_after) {
                        return Err(StrategyError::GateWithoutStep);
                    }
                    steps.pop();
                    if steps.is_empty() {
                        return Ok(Strategy::AllAtOnce);
                    }
                }
                Strategy::Steps(steps)
            }
            _ => return Err(unknown()),
        };
        strategy.schedule()?;
        Ok(strategy)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::AllAtOnce => f.write_str("AllAtOnce"),
            Strategy::Canary { percent, bake_secs } => {
                write!(
                    f,
                    "canary:{}:{}",
                    percent.percent_text(),
                    format_duration(*bake_secs)
                )
            }
            Strategy::Linear { percent, bake_secs } => {
                write!(
                    f,
                    "linear:{}:{}",
                    percent.percent_text(),
                    format_duration(*bake_secs)
                )
            }
            Strategy::Steps(steps) => {
                f.write_str("steps:")?;
                for (i, step) in steps.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(
                        f,
                        "{}@{}",
                        step.weight.percent_text(),
                        format_duration(step.bake_secs)
                    )?;
                    if step.gate_after {
                        f.write_str(",gate")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl TryFrom<String> for Strategy {
    type Error = StrategyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Strategy> for String {
    fn from(value: Strategy) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests;
