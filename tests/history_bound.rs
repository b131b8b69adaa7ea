//! No loop of the release workflow reaches Step Functions' execution history limit (25,000
//! events: "the execution will fail"): the worst case computed from the ASL itself (each
//! state's events, every retry it allows) and the settings' maxima the domain accepts.

use serde_json::Value;
use shiftback::domain::release::{worst_case_looks, MAX_LOOKS};
use shiftback::domain::strategy::MAX_STEPS;

const HISTORY_LIMIT: u64 = 25_000;

fn asl() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../statemachine/release.asl.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The most events one pass through `state` writes: entered and exited, and for a task its
/// scheduled, started and succeeded events, with three more (failed, scheduled, started) for
/// every retry its Retry rules allow.
fn events(state: &Value) -> u64 {
    match state["Type"].as_str().unwrap() {
        "Task" => {
            let retries: u64 = state["Retry"]
                .as_array()
                .map(|rules| {
                    rules
                        .iter()
                        .map(|r| r["MaxAttempts"].as_u64().unwrap_or(3))
                        .sum()
                })
                .unwrap_or(0);
            5 + 3 * retries
        }
        _ => 2,
    }
}

#[test]
fn the_worst_case_of_every_look_and_every_state_fits_the_execution_history() {
    let asl = asl();
    let states = asl["States"].as_object().unwrap();
    // One look: Route (Choice) -> Bake (Wait) -> Advance (Task) -> Route.
    assert_eq!(states["Route"]["Type"], "Choice");
    assert_eq!(states["Bake"]["Next"], "Advance");
    assert_eq!(states["Advance"]["Next"], "Route");
    let per_look: u64 = ["Route", "Bake", "Advance"]
        .iter()
        .map(|s| events(&states[*s]))
        .sum();
    // Everything else, each state passed a few times at most (a gate per step is counted in
    // the steps' looks: a gate's answer leads back to a look).
    let once: u64 = states
        .iter()
        .filter(|(name, _)| !["Route", "Bake", "Advance"].contains(&name.as_str()))
        .map(|(_, s)| 3 * events(s))
        .sum();
    let worst = MAX_LOOKS * per_look + once + 2;
    assert!(
        worst < HISTORY_LIMIT,
        "{MAX_LOOKS} looks of {per_look} events and {once} more: {worst}"
    );
    // The domain refuses what would make more looks: every step at its maximum extension.
    assert!(worst_case_looks(MAX_STEPS, 0) <= MAX_LOOKS);
}

#[test]
fn interim_looks_never_take_a_release_past_the_looks_the_history_holds() {
    use shiftback::analysis::settings::MAX_EXTENSION_SECS;
    use shiftback::domain::release::{interim_looks, MAX_INTERIM_LOOKS};
    let mut shapes = 0;
    for steps in 1..=MAX_STEPS {
        for extension in (0..=MAX_EXTENSION_SECS).step_by(300) {
            let step_ends = worst_case_looks(steps, extension);
            if step_ends > MAX_LOOKS {
                continue; // refused at submit time (TooManyLooks)
            }
            shapes += 1;
            let interim = interim_looks(steps, extension);
            assert!(interim <= MAX_INTERIM_LOOKS);
            assert!(
                step_ends + steps as u64 * interim <= MAX_LOOKS,
                "{steps} steps, {extension}s extension: {step_ends} + {steps} x {interim}"
            );
        }
    }
    assert!(shapes > 100, "the loop covered the accepted shapes");
    // The common ones keep every interim look: two or ten steps, the default extension.
    assert_eq!(interim_looks(2, 600), MAX_INTERIM_LOOKS);
    assert_eq!(interim_looks(10, 600), MAX_INTERIM_LOOKS);
}

/// A wave plan's workflow: every look at its worst (all retries spent) and the states passed
/// once fit one execution's history before it continues as a new one, at the count the domain
/// names.
#[test]
fn a_wave_plans_looks_fit_each_execution_before_it_continues_as_new() {
    use shiftback::domain::wave::LOOKS_PER_EXECUTION;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../statemachine/waves.asl.json"
    );
    let asl: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let states = asl["States"].as_object().unwrap();
    let threshold = &states["Continue"]["Choices"][0];
    assert_eq!(threshold["Variable"], "$.looks");
    assert_eq!(threshold["NumericGreaterThanEquals"], LOOKS_PER_EXECUTION);
    assert_eq!(states["Continue"]["Default"], "Wait");
    assert_eq!(states["Wait"]["Next"], "Look");
    // One look: Look (or, failed, LookFailed), Ended, Count, Continue, Wait.
    let per_look: u64 = ["Look", "LookFailed", "Ended", "Count", "Continue", "Wait"]
        .iter()
        .map(|s| events(&states[*s]))
        .sum();
    let once: u64 = [
        "Begin",
        "Create",
        "Created",
        "ContinueAsNew",
        "ContinueFailed",
        "Unreadable",
        "Done",
    ]
    .iter()
    .map(|s| events(&states[*s]))
    .sum();
    let worst = LOOKS_PER_EXECUTION * per_look + once + 2;
    assert!(
        worst < HISTORY_LIMIT,
        "{LOOKS_PER_EXECUTION} looks of {per_look} events and {once} more: {worst}"
    );
}
