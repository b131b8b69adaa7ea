//! Traffic weights, kept as whole basis points so comparisons and sums are exact.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A share of an alias's traffic, from 0% to 100%, in basis points (1 bp = 0.01%).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Weight(u32);

impl Weight {
    pub const ZERO: Weight = Weight(0);
    pub const FULL: Weight = Weight(10_000);

    pub fn from_basis_points(bps: u32) -> Option<Weight> {
        (bps <= Self::FULL.0).then_some(Weight(bps))
    }

    /// Accepts 0..=100 with at most two decimals (Lambda's own precision is finer, but no
    /// schedule needs more, and exact comparison matters more).
    pub fn from_percent(percent: f64) -> Option<Weight> {
        if !percent.is_finite() || !(0.0..=100.0).contains(&percent) {
            return None;
        }
        let bps = (percent * 100.0).round();
        ((bps - percent * 100.0).abs() < 1e-6).then_some(Weight(bps as u32))
    }

    /// Lambda's `AdditionalVersionWeights` take a fraction in [0, 1].
    pub fn from_fraction(fraction: f64) -> Option<Weight> {
        if !fraction.is_finite() || !(0.0..=1.0).contains(&fraction) {
            return None;
        }
        Some(Weight((fraction * 10_000.0).round() as u32))
    }

    pub fn basis_points(self) -> u32 {
        self.0
    }

    pub fn as_percent(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    pub fn as_fraction(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    /// Strictly between 0% and 100%: what a weighted alias can carry.
    pub fn is_partial(self) -> bool {
        self.0 > 0 && self.0 < Self::FULL.0
    }

    /// `10`, `2.5`, `0.25`: the percentage without a sign.
    pub fn percent_text(self) -> String {
        let whole = self.0 / 100;
        match self.0 % 100 {
            0 => whole.to_string(),
            frac if frac % 10 == 0 => format!("{whole}.{}", frac / 10),
            frac => format!("{whole}.{frac:02}"),
        }
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.percent_text())
    }
}

impl TryFrom<f64> for Weight {
    type Error = String;
    fn try_from(percent: f64) -> Result<Self, Self::Error> {
        Weight::from_percent(percent).ok_or_else(|| {
            format!("weight {percent} must be a percentage from 0 to 100 with at most two decimals")
        })
    }
}

impl From<Weight> for f64 {
    fn from(w: Weight) -> f64 {
        w.as_percent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_and_fraction_conversions() {
        assert_eq!(Weight::from_percent(10.0), Some(Weight(1000)));
        assert_eq!(Weight::from_percent(0.25), Some(Weight(25)));
        assert_eq!(Weight::from_percent(100.5), None);
        assert_eq!(Weight::from_percent(-1.0), None);
        assert_eq!(Weight::from_percent(f64::NAN), None);
        assert_eq!(Weight::from_percent(1.234), None);
        assert_eq!(Weight::from_fraction(0.1), Some(Weight(1000)));
        assert_eq!(Weight::from_fraction(1.5), None);
        assert_eq!(Weight(2500).as_fraction(), 0.25);
        assert_eq!(Weight(250).to_string(), "2.5%");
        assert_eq!(Weight(5).to_string(), "0.05%");
        assert_eq!(Weight(1000).to_string(), "10%");
        assert!(!Weight::ZERO.is_partial() && !Weight::FULL.is_partial());
        assert!(serde_json::from_str::<Weight>("101").is_err());
        assert_eq!(serde_json::to_string(&Weight(1250)).unwrap(), "12.5");
    }
}
