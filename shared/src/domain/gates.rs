//! Approval gates: a release that stops after a step until a person approves (`shiftback
//! approve`), waiting on a Step Functions task token rather than polling, so it may wait for
//! days within the execution's event history. Its alarms and analysis alarm keep guarding it.

use serde::{Deserialize, Serialize};

/// How long a gate waits for a person unless the release says otherwise: a week.
pub const DEFAULT_GATE_TIMEOUT_SECS: u64 = 7 * 24 * 3600;
/// The longest a gate may wait: a paused release's limit, for the same reason (its lock).
pub const MAX_GATE_TIMEOUT_SECS: u64 = super::limits::MAX_PAUSE_SECS;

/// What a gate nobody answered does when its time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum OnGateTimeout {
    /// Back to the stable version, as an abort.
    #[default]
    Abort,
    /// On, as if approved.
    Approve,
}

/// A release's gates beyond those its strategy names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gates {
    /// A gate after the last step, before the alias goes wholly to the target.
    #[serde(default)]
    pub before_promote: bool,
    /// How long each gate waits for a person.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(default)]
    pub on_timeout: OnGateTimeout,
}

fn default_timeout() -> u64 {
    DEFAULT_GATE_TIMEOUT_SECS
}

impl Default for Gates {
    fn default() -> Gates {
        Gates {
            before_promote: false,
            timeout_secs: DEFAULT_GATE_TIMEOUT_SECS,
            on_timeout: OnGateTimeout::Abort,
        }
    }
}

impl Gates {
    pub fn check(&self) -> Result<(), String> {
        if self.timeout_secs == 0 || self.timeout_secs > MAX_GATE_TIMEOUT_SECS {
            return Err(format!(
                "a gate's timeout of {}s must be between 1s and {}s ({} days)",
                self.timeout_secs,
                MAX_GATE_TIMEOUT_SECS,
                MAX_GATE_TIMEOUT_SECS / 86_400
            ));
        }
        Ok(())
    }
}
