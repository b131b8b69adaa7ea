//! What a plan says of its steps' analysis: at the function's recent traffic, how long each
//! step must last for the analysis to show a healthy target no worse, and which steps are too
//! short to ever decide (they wait out their extension, then do what `when_inconclusive`
//! says). Pure: `plan` reads the traffic, this judges it.

use super::evidence::{sample_to_decide, Margin, ERROR_LEVELS};
use super::settings::AnalysisSettings;
use crate::domain::strategy::Schedule;

/// The alias's traffic over a recent window: what the stable version took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecentTraffic {
    pub minutes: f64,
    pub invocations: f64,
    pub errors: f64,
}

/// The error rate assumed when the recent traffic had none: a clean record still has to be
/// shown, and rarer errors need fewer calls to show it.
const FLOOR_RATE: f64 = 0.001;

/// One line per step that cannot decide within its bake and extension at `traffic`, and what
/// to do; nothing when every step can (or the analysis is off).
pub fn step_advice(
    schedule: &Schedule,
    settings: &AnalysisSettings,
    traffic: &RecentTraffic,
) -> Vec<String> {
    if !settings.enabled {
        return Vec::new();
    }
    let per_minute = traffic.invocations / traffic.minutes.max(1.0);
    let what_to_do = "lengthen the steps, send synthetic traffic from a pre-traffic hook, or judge by alarms only (--analysis off)";
    if per_minute <= 0.0 {
        return vec![format!(
            "canary analysis: the alias took no invocations in the last {:.0} minutes, so no step can be shown healthy; each would wait {}s and then {}: {what_to_do}",
            traffic.minutes,
            settings.max_extension_secs,
            inconclusive(settings)
        )];
    }
    let rate = (traffic.errors / traffic.invocations).max(FLOOR_RATE);
    let mut advice = Vec::new();
    for (i, step) in schedule.steps.iter().enumerate() {
        let w = step.weight.as_fraction();
        if w <= 0.0 || w >= 1.0 {
            continue;
        }
        let t = settings.thresholds_at(step.weight);
        let margin = Margin {
            points: t.error_rate_margin_pct / 100.0,
            ratio: t.error_ratio,
        };
        let needed = sample_to_decide(rate, (1.0 - w) / w, margin, ERROR_LEVELS);
        // The step's first minute is its warm-up, and its last minutes have not settled.
        let overhead = 1.0 + settings.settle_secs as f64 / 60.0;
        let available = (step.bake_secs + settings.max_extension_secs) as f64 / 60.0;
        let needs_minutes = needed.map(|n| n as f64 / (per_minute * w) + overhead);
        match needs_minutes {
            Some(m) if m <= available => {}
            _ => advice.push(format!(
                "canary analysis: step {} ({} for {}s) needs about {} target invocations to show a healthy target no worse at the last {:.0} minutes' {:.0} calls a minute and {:.2}% errors: {}, past its bake and {}s extension; it would then {}: {what_to_do}",
                i + 1,
                step.weight,
                step.bake_secs,
                needed.map_or("more than 10 million".to_string(), |n| n.to_string()),
                traffic.minutes,
                per_minute,
                rate * 100.0,
                needs_minutes.map_or("never".to_string(), |m| format!("about {m:.0} minutes")),
                settings.max_extension_secs,
                inconclusive(settings)
            )),
        }
    }
    advice
}

fn inconclusive(settings: &AnalysisSettings) -> &'static str {
    match settings.when_inconclusive {
        super::settings::WhenInconclusive::Hold => "hold for a person",
        super::settings::WhenInconclusive::Fail => "roll back",
        super::settings::WhenInconclusive::Pass => "go on unjudged",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(strategy: &str) -> Schedule {
        strategy
            .parse::<crate::domain::Strategy>()
            .unwrap()
            .schedule()
            .unwrap()
    }

    fn traffic(per_minute: f64, error_rate: f64) -> RecentTraffic {
        RecentTraffic {
            minutes: 60.0,
            invocations: per_minute * 60.0,
            errors: per_minute * 60.0 * error_rate,
        }
    }

    #[test]
    fn a_busy_function_needs_no_advice_and_a_quiet_one_is_told_what_to_do() {
        let canary = schedule("Canary10Percent5Minutes");
        let settings = AnalysisSettings::default();
        // 10,000 calls a minute: 1,000 a minute on a 10% canary decides in the bake.
        assert!(step_advice(&canary, &settings, &traffic(10_000.0, 0.01)).is_empty());
        // 50 calls a minute: 5 a minute on the canary, far from the sample it needs.
        let quiet = step_advice(&canary, &settings, &traffic(50.0, 0.01));
        assert_eq!(quiet.len(), 1, "{quiet:?}");
        assert!(
            quiet[0].starts_with("canary analysis: step 1 (10% for 300s) needs about ")
                && quiet[0].contains("hold for a person")
                && quiet[0].contains("pre-traffic hook"),
            "{quiet:?}"
        );
        // No traffic at all: said once, not per step.
        let none = step_advice(&canary, &settings, &traffic(0.0, 0.0));
        assert!(none[0].contains("took no invocations"), "{none:?}");
        assert!(step_advice(&canary, &AnalysisSettings::off(), &traffic(0.0, 0.0)).is_empty());
    }

    #[test]
    fn only_the_steps_too_short_for_their_weight_are_named() {
        // At 300 calls a minute, 10% gets 30 a minute and 50% gets 150: the first step of
        // five minutes (and ten of extension) cannot decide, the second can.
        let steps = schedule("steps:10@5m,50@5m");
        let advice = step_advice(&steps, &AnalysisSettings::default(), &traffic(300.0, 0.01));
        assert_eq!(advice.len(), 1, "{advice:?}");
        assert!(advice[0].contains("step 1 (10%"), "{advice:?}");
    }
}
