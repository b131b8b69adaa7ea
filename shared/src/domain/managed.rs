//! Lambda Managed Instances: a version on a capacity provider does not scale when invocations
//! arrive; it scales asynchronously on CPU and concurrency, and "if your traffic more than
//! doubles within 5 minutes, you may see throttles" (Lambda developer guide, "Scaling Lambda
//! Managed Instances"). A release's steps shift traffic at once, so a step that more than
//! doubles the new version's share of it within five minutes is a step into throttles.

use super::strategy::Schedule;
use super::weight::Weight;

/// The window in which the platform absorbs at most a doubling.
pub const DOUBLING_WINDOW_SECS: u64 = 300;
/// The most a first step may send to the new version: its share runs on the environments
/// Lambda started with it, which it cannot know are enough for more than a part of the load.
const FIRST_STEP_MAX: f64 = 0.5;

/// Each step (and the promotion to 100%) that takes the target past twice the share it had
/// five minutes before, in words. The first step is judged only for sending more than half
/// the traffic at once: its share runs on the execution environments Lambda starts with the
/// version (three by default) before it is marked active.
pub fn too_fast_steps(schedule: &Schedule) -> Vec<String> {
    // (seconds from the first step, the target's weight from then on)
    let mut shifts: Vec<(u64, Weight)> = Vec::new();
    let mut at = 0;
    for step in &schedule.steps {
        shifts.push((at, step.weight));
        at += step.bake_secs;
    }
    shifts.push((at, Weight::FULL));
    let weight_at = |t: i64| -> Weight {
        shifts
            .iter()
            .take_while(|(s, _)| (*s as i64) <= t)
            .last()
            .map_or(Weight::ZERO, |(_, w)| *w)
    };
    let mut problems = Vec::new();
    if let Some((_, first)) = shifts
        .first()
        .filter(|(_, w)| w.as_fraction() > FIRST_STEP_MAX)
    {
        problems.push(format!(
            "step 1 sends {first} of the traffic at once to a version running only the execution environments Lambda started with it"
        ));
    }
    for (i, (t, weight)) in shifts.iter().enumerate().skip(1) {
        let before = weight_at(*t as i64 - DOUBLING_WINDOW_SECS as i64);
        let base = if before == Weight::ZERO {
            shifts[0].1
        } else {
            before
        };
        if weight.as_fraction() > 2.0 * base.as_fraction() {
            let what = if i == schedule.steps.len() {
                "the promotion".to_string()
            } else {
                format!("step {}", i + 1)
            };
            problems.push(format!(
                "{what} takes the new version from {base} to {weight} of the traffic within five minutes"
            ));
        }
    }
    problems
}

/// A strategy that fits: from the first step's share, doubling every five minutes, then
/// 100%.
pub fn doubling_strategy(first: Weight) -> String {
    let mut percent = first.as_fraction() * 100.0;
    let mut steps = Vec::new();
    while percent < 100.0 {
        steps.push(format!("{}@5m", (percent * 100.0).round() / 100.0));
        percent *= 2.0;
    }
    format!("steps:{}", steps.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::strategy::Strategy;

    fn schedule(strategy: &str) -> Schedule {
        strategy.parse::<Strategy>().unwrap().schedule().unwrap()
    }

    #[test]
    fn a_canary_that_jumps_to_all_traffic_is_too_fast_for_managed_instances() {
        assert_eq!(
            too_fast_steps(&schedule("Canary10Percent5Minutes")),
            ["the promotion takes the new version from 10% to 100% of the traffic within five minutes"]
        );
        // Linear 10% a minute: 10 -> 20 is a doubling, 10 -> 30 within five minutes is not.
        let linear = too_fast_steps(&schedule("Linear10PercentEvery1Minute"));
        assert_eq!(
            linear.first().map(String::as_str),
            Some("step 3 takes the new version from 10% to 30% of the traffic within five minutes")
        );
    }

    #[test]
    fn doubling_every_five_minutes_fits_and_is_what_is_suggested() {
        let suggested = doubling_strategy(Weight::from_percent(10.0).unwrap());
        assert_eq!(suggested, "steps:10@5m,20@5m,40@5m,80@5m");
        assert!(
            too_fast_steps(&schedule(&suggested)).is_empty(),
            "{suggested}"
        );
        assert_eq!(
            too_fast_steps(&schedule("AllAtOnce")),
            ["step 1 sends 100% of the traffic at once to a version running only the execution environments Lambda started with it"]
        );
    }
}
