//! A release's canary-analysis settings: on by default, every threshold tunable, recorded on
//! the release.

use serde::{Deserialize, Serialize};

use crate::domain::weight::Weight;

/// How far the target may fall behind the stable version before it is judged unhealthy: a
/// regression is a rate both more than the points above the stable version's and more than
/// the ratio times it (see [`super::evidence::Margin`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// The target's error rate may exceed the stable version's by this many percentage points.
    pub error_rate_margin_pct: f64,
    /// The same for the share of requests throttled.
    pub throttle_rate_margin_pct: f64,
    /// ... and may be up to this many times the stable version's (errors and throttles). A
    /// release recorded before the ratio existed reads 1: the points alone, as it was judged.
    #[serde(default = "points_alone")]
    pub error_ratio: f64,
    /// The target's p99 duration may be at most this factor of the stable version's (plus
    /// the settings' `latency_slack_ms`).
    pub p99_factor: f64,
}

fn points_alone() -> f64 {
    1.0
}

impl Thresholds {
    /// While the target carries little traffic: tight, as a canary exists to fail early.
    pub const CANARY: Thresholds = Thresholds {
        error_rate_margin_pct: 1.0,
        throttle_rate_margin_pct: 1.0,
        error_ratio: 1.5,
        p99_factor: 1.5,
    };
    /// Once it carries more: relaxed, as more traffic means more noise, not more risk.
    pub const ROLLOUT: Thresholds = Thresholds {
        error_rate_margin_pct: 2.0,
        throttle_rate_margin_pct: 2.0,
        error_ratio: 2.0,
        p99_factor: 2.0,
    };
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::CANARY
    }
}

/// What to do when a step's analysis stays inconclusive past its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WhenInconclusive {
    /// Pause the release and say so: a person decides (`resume`, `promote`, `abort`).
    #[default]
    Hold,
    /// Roll back.
    Fail,
    /// Go on as if healthy (the alarms still guard it).
    Pass,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisSettings {
    pub enabled: bool,
    /// The release's own alarm judges a minute only with at least a fifth of this many target
    /// invocations (the step-end analysis sets its own minimum sample from its test).
    pub min_invocations: u64,
    /// Kept for releases recorded with it: the analysis now takes every minute since the
    /// target's first traffic (its tests hold over a growing sample, not a sliding one).
    pub window_secs: u64,
    /// The target's first seconds of traffic are left out of the latency check (cold starts).
    pub warmup_secs: u64,
    /// A minute is judged once this long has passed since it began: Lambda's metrics reach
    /// CloudWatch a minute or more after the invocations, and not evenly, and a minute judged
    /// before it has arrived is judged on part of its traffic. 180: two minutes after it
    /// ended. 0 judges the current minute too (an emulator's metrics, published as they are).
    pub settle_secs: u64,
    /// p99 differences below this many milliseconds never count (fast functions jitter).
    pub latency_slack_ms: f64,
    /// The canary thresholds apply up to this share of traffic on the target, the rollout
    /// thresholds above it.
    pub canary_until: Weight,
    pub canary: Thresholds,
    pub rollout: Thresholds,
    /// An inconclusive step's bake is extended by up to this much before `when_inconclusive`.
    pub max_extension_secs: u64,
    pub when_inconclusive: WhenInconclusive,
    /// Keep the alias's CloudWatch dashboard (`shiftback dashboard`) current: updated when the
    /// release starts and when it ends.
    pub keep_dashboard: bool,
    /// The fast path (opt-in): the CloudWatch namespace in which the function emits its own
    /// per-version `Invocations` and `Errors` at one-second resolution (embedded metric
    /// format, dimensions `FunctionName` and `Version`). Each member then also gets a
    /// 10-second alarm on them, which reverts a clearly bad version within about 30 seconds
    /// of its errors arriving, instead of Lambda's one to three minutes.
    pub fast_path_namespace: Option<String>,
}

/// The longest look-back (CloudWatch keeps one-minute datapoints for 15 days, but an analysis
/// of more than a day says little about a step).
pub const MAX_WINDOW_SECS: u64 = 86_400;
/// The longest extension of one step's bake for want of traffic.
pub const MAX_EXTENSION_SECS: u64 = 86_400;

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            enabled: true,
            min_invocations: 50,
            window_secs: 600,
            warmup_secs: 60,
            settle_secs: 180,
            latency_slack_ms: 25.0,
            canary_until: Weight::from_basis_points(2_500).expect("25% is a weight"),
            canary: Thresholds::CANARY,
            rollout: Thresholds::ROLLOUT,
            max_extension_secs: 600,
            when_inconclusive: WhenInconclusive::Hold,
            keep_dashboard: false,
            fast_path_namespace: None,
        }
    }
}

// Settings are checked finite before any release carries them (and JSON has no NaN), so
// equality is an equivalence on every value a release can hold.
impl Eq for AnalysisSettings {}

impl AnalysisSettings {
    /// No analysis: the release is guarded by its alarms only. Also what a release stored
    /// before analysis existed reads as, so that it finishes as it started.
    pub fn off() -> Self {
        AnalysisSettings {
            enabled: false,
            ..Default::default()
        }
    }

    pub fn thresholds_at(&self, weight: Weight) -> &Thresholds {
        if weight <= self.canary_until {
            &self.canary
        } else {
            &self.rollout
        }
    }

    /// What the analysis will check, in words (for `plan`).
    pub fn describe(&self) -> String {
        if !self.enabled {
            return "canary analysis is off: the release's alarms alone judge it".to_string();
        }
        let (canary, rollout) = (&self.canary, &self.rollout);
        let inconclusive = match self.when_inconclusive {
            WhenInconclusive::Hold => "hold for a person",
            WhenInconclusive::Fail => "roll back",
            WhenInconclusive::Pass => "go on",
        };
        // The minimum sample follows from the test: what it takes to show a target running
        // like the stable version no worse, at a 10% canary (9 stable calls for each).
        let needs = |rate: f64| {
            let margin = super::evidence::Margin {
                points: canary.error_rate_margin_pct / 100.0,
                ratio: canary.error_ratio,
            };
            match super::evidence::sample_to_decide(
                rate,
                9.0,
                margin,
                super::evidence::ERROR_LEVELS,
            ) {
                Some(n) => format!("{n}"),
                None => "more than 10 million".to_string(),
            }
        };
        let fast = match &self.fast_path_namespace {
            Some(namespace) => format!(
                "; and the fast path: a 10-second alarm on the function's own {namespace} \
                 metrics reverts a clearly bad version within about 30 seconds of its errors"
            ),
            None => String::new(),
        };
        let alarms = format!(
            ". Between looks, each alias's own alarms: its error rate (3 minutes in a row) and \
             its p99 (5 minutes in a row) against the stable version's{fast}"
        );
        format!(
            "canary analysis after each step's bake (and, for a regression, inside a long one), over every settled minute since the \
             target's first traffic, with tests that hold however often they look (a release \
             is rolled back for noise at most 1% of the time): up to {} of traffic, a \
             regression is an error or throttled rate more than {} / {} points above the \
             stable version's and more than {}x it, or p99 above {}x + {} ms in most warm \
             minutes; above it, {} / {} points and {}x, p99 {}x; p99 only after a {}s warm-up; \
             until the data show the target no worse, wait up to {}s more, then {inconclusive}. \
             Showing a target no worse at a 10% canary takes about {} of its invocations at a \
             1% error rate ({} at 0.1%, {} at 5%): a step shorter than that at the function's \
             traffic waits, then holds; with too little traffic, lengthen the steps, send \
             synthetic traffic from a pre-traffic hook, or judge by alarms only (--analysis off)",
            self.canary_until,
            canary.error_rate_margin_pct,
            canary.throttle_rate_margin_pct,
            canary.error_ratio,
            canary.p99_factor,
            self.latency_slack_ms,
            rollout.error_rate_margin_pct,
            rollout.throttle_rate_margin_pct,
            rollout.error_ratio,
            rollout.p99_factor,
            self.warmup_secs,
            self.max_extension_secs,
            needs(0.01),
            needs(0.001),
            needs(0.05),
        ) + &alarms
    }

    /// Applies one command-line option: `off`, `on`, or `KEY=VALUE` where KEY is a field
    /// (`min_invocations`, `when_inconclusive`, `canary.p99_factor`, ...; `-` for `_` too).
    /// Ranges are checked afterwards, by [`AnalysisSettings::check`].
    pub fn set(&mut self, option: &str) -> Result<(), String> {
        match option.trim() {
            "off" => self.enabled = false,
            "on" => self.enabled = true,
            option => {
                let (key, value) = option
                    .split_once('=')
                    .ok_or_else(|| format!("'{option}': use off, on or KEY=VALUE"))?;
                let key = key.trim().replace('-', "_");
                let value = value.trim();
                let number = || {
                    value
                        .parse::<f64>()
                        .map_err(|_| format!("{key}: '{value}' is not a number"))
                };
                let whole = || {
                    value
                        .parse::<u64>()
                        .map_err(|_| format!("{key}: '{value}' is not a whole number"))
                };
                let seconds = || {
                    crate::domain::strategy::parse_duration(value)
                        .map_err(|e| format!("{key}: {e}"))
                };
                match key.as_str() {
                    "min_invocations" => self.min_invocations = whole()?,
                    "window" | "window_secs" => self.window_secs = seconds()?,
                    "warmup" | "warmup_secs" => self.warmup_secs = seconds()?,
                    "settle" | "settle_secs" => self.settle_secs = seconds()?,
                    "max_extension" | "max_extension_secs" => self.max_extension_secs = seconds()?,
                    "latency_slack_ms" => self.latency_slack_ms = number()?,
                    "fast_path" | "fast_path_namespace" => {
                        self.fast_path_namespace = match value {
                            "off" | "" => None,
                            namespace => Some(namespace.to_string()),
                        }
                    }
                    "keep_dashboard" => {
                        self.keep_dashboard = match value {
                            "true" | "on" => true,
                            "false" | "off" => false,
                            _ => return Err(format!("keep_dashboard: '{value}' is not on or off")),
                        }
                    }
                    "canary_until" => {
                        self.canary_until = Weight::from_percent(number()?)
                            .ok_or_else(|| format!("canary_until: '{value}' is not 0-100%"))?
                    }
                    "when_inconclusive" => {
                        self.when_inconclusive = match value {
                            "hold" => WhenInconclusive::Hold,
                            "fail" => WhenInconclusive::Fail,
                            "pass" => WhenInconclusive::Pass,
                            _ => {
                                return Err(format!(
                                    "when_inconclusive: '{value}' is not hold, fail or pass"
                                ))
                            }
                        }
                    }
                    _ => {
                        let (phase, field) = key.split_once('.').unwrap_or(("", &key));
                        const FIELDS: [&str; 4] = [
                            "error_rate_margin_pct",
                            "throttle_rate_margin_pct",
                            "error_ratio",
                            "p99_factor",
                        ];
                        if !FIELDS.contains(&field) {
                            return Err(format!("unknown analysis setting '{key}'"));
                        }
                        let value = number()?;
                        let phases: Vec<&mut Thresholds> = match phase {
                            "canary" => vec![&mut self.canary],
                            "rollout" => vec![&mut self.rollout],
                            // Unqualified: both phases.
                            "" => vec![&mut self.canary, &mut self.rollout],
                            _ => return Err(format!("unknown analysis setting '{key}'")),
                        };
                        for t in phases {
                            match field {
                                "error_rate_margin_pct" => t.error_rate_margin_pct = value,
                                "throttle_rate_margin_pct" => t.throttle_rate_margin_pct = value,
                                "p99_factor" => t.p99_factor = value,
                                "error_ratio" => t.error_ratio = value,
                                _ => return Err(format!("unknown analysis setting '{key}'")),
                            }
                        }
                    }
                }
                self.enabled = true;
            }
        }
        Ok(())
    }

    /// Every setting in range, or what is wrong with the first that is not.
    pub fn check(&self) -> Result<(), String> {
        let margin = |name: &str, value: f64| {
            if value.is_finite() && (0.0..=100.0).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "{name} must be 0-100 percentage points, not {value}"
                ))
            }
        };
        for (phase, t) in [("canary", &self.canary), ("rollout", &self.rollout)] {
            margin(
                &format!("{phase}.error_rate_margin_pct"),
                t.error_rate_margin_pct,
            )?;
            margin(
                &format!("{phase}.throttle_rate_margin_pct"),
                t.throttle_rate_margin_pct,
            )?;
            if !(t.error_ratio.is_finite() && t.error_ratio >= 1.0) {
                return Err(format!(
                    "{phase}.error_ratio must be at least 1 (the stable version's rate), not {}",
                    t.error_ratio
                ));
            }
            if !(t.p99_factor.is_finite() && t.p99_factor >= 1.0) {
                return Err(format!(
                    "{phase}.p99_factor must be at least 1 (the stable version's p99), not {}",
                    t.p99_factor
                ));
            }
        }
        if self.min_invocations == 0 {
            return Err("min_invocations must be at least 1: no traffic is no verdict".into());
        }
        if !(60..=MAX_WINDOW_SECS).contains(&self.window_secs) {
            return Err(format!(
                "window_secs must be 60-{MAX_WINDOW_SECS} (one-minute metrics), not {}",
                self.window_secs
            ));
        }
        if self.settle_secs > 900 {
            return Err(format!(
                "settle_secs must be at most 900 (Lambda's metrics arrive within minutes), not {}",
                self.settle_secs
            ));
        }
        if self.max_extension_secs > MAX_EXTENSION_SECS {
            return Err(format!(
                "max_extension_secs must be at most {MAX_EXTENSION_SECS}, not {}",
                self.max_extension_secs
            ));
        }
        if !(self.latency_slack_ms.is_finite() && self.latency_slack_ms >= 0.0) {
            return Err(format!(
                "latency_slack_ms must be 0 or more, not {}",
                self.latency_slack_ms
            ));
        }
        if let Some(namespace) = &self.fast_path_namespace {
            check_namespace(namespace)?;
        }
        Ok(())
    }
}

/// CloudWatch's rules for a namespace the team publishes to: 1-255 of its characters, not
/// all spaces, never `AWS/` (reserved for AWS's own).
fn check_namespace(namespace: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
    if namespace.is_empty()
        || namespace.len() > 255
        || namespace.trim().is_empty()
        || !namespace.chars().all(allowed)
    {
        return Err(format!(
            "fast_path_namespace '{namespace}' is not a CloudWatch namespace (1-255 of A-Z, a-z, 0-9, . - _ / # : and space)"
        ));
    }
    if namespace.starts_with("AWS/") {
        return Err(format!(
            "fast_path_namespace '{namespace}': AWS/ is reserved for AWS's own metrics; use the namespace the function emits to"
        ));
    }
    Ok(())
}
