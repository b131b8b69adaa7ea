//! `make bench`: how often canary analysis is wrong, by simulation. Synthetic per-minute traffic
//! (Poisson invocations with a diurnal swing, binomial errors, a cold-start burst in the
//! target's first minute, CloudWatch's delivery lag of one to three minutes per datapoint)
//! over many seeded runs, through the real judge and the real release transitions (no AWS).
//! Three guards side by side on the same traffic: the judge, the fixed-margin judge it
//! replaced, and a static-threshold alarm (CodeDeploy's way). Printed, never asserted.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Binomial, Distribution, Poisson};
use shiftback::domain::analysis::{self, combine, CanaryVerdict, Comparison, Minute};
use shiftback::domain::{Action, AnalysisSettings, Input, Release, ReleaseSpec, Verdict};

/// The strategy of a release made with the custom resource's defaults.
const STRATEGY: &str = "Canary10Percent5Minutes";
const RUNS: usize = 300;
/// A release that neither promotes nor rolls back in this long is counted as held.
const HORIZON_MIN: i64 = 60;

#[derive(Clone, Copy, PartialEq)]
enum Guard {
    /// The statistical judge (shared/src/domain/analysis).
    Judge,
    /// "target > stable + 1 point over the last 10 minutes, at least 50 target invocations",
    /// judged to the current minute: what shiftback did before.
    FixedMargin,
    /// An alarm on the alias's error rate above twice the healthy baseline, 2 of 2 minutes.
    StaticAlarm,
}

struct Traffic {
    /// Target invocations a minute at the 10% canary.
    target_per_min: f64,
    baseline: f64,
    /// The target's error rate as a multiple of the baseline (1: healthy).
    regression: f64,
}

/// One version-minute, with when it reaches CloudWatch.
struct Datum {
    minute: Minute,
    arrives: DateTime<Utc>,
}

#[derive(Default)]
struct Outcomes {
    rolled_back: usize,
    held: usize,
    promoted: usize,
    /// Minutes from the first shift to the rollback.
    minutes_to_rollback: Vec<f64>,
}

fn spec() -> ReleaseSpec {
    serde_json::from_value(serde_json::json!({
        "release_id": "r-sim", "function": "orders", "alias": "live",
        "stable_version": "1", "target_version": "2", "strategy": STRATEGY,
        "started_by": "simulation"
    }))
    .unwrap()
}

/// The old fixed-margin judge, as it was.
fn fixed_margin(comparison: &Comparison) -> CanaryVerdict {
    let total = |ms: &[Minute]| {
        ms.iter()
            .fold((0.0, 0.0), |(e, n), m| (e + m.errors, n + m.invocations))
    };
    let (te, tn) = total(&comparison.target);
    let (se, sn) = total(&comparison.stable);
    if tn < 50.0 {
        return CanaryVerdict::Inconclusive {
            why: "too few".into(),
        };
    }
    let stable = if sn > 0.0 { se / sn } else { 0.0 };
    if te / tn > stable + 0.01 {
        CanaryVerdict::Unhealthy {
            reasons: vec!["over".into()],
            summary: String::new(),
        }
    } else {
        CanaryVerdict::Healthy {
            summary: String::new(),
        }
    }
}

/// What CloudWatch has of both versions at `now`, over `[start, end)`.
fn arrived(
    data: &[(Datum, Datum)],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Comparison {
    let mut comparison = Comparison::default();
    for (t, s) in data {
        for (d, side) in [(t, &mut comparison.target), (s, &mut comparison.stable)] {
            if d.arrives <= now && d.minute.at >= start && d.minute.at < end {
                side.push(d.minute);
            }
        }
    }
    comparison
}

fn simulate(guard: Guard, traffic: &Traffic, seed: u64) -> (Option<f64>, bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
    let settings = AnalysisSettings::default();
    let mut release = Release::new(spec(), t0).unwrap();
    let mut action = release.apply(Input::Begin, t0, "sim").unwrap();
    let mut weight = 0.0;
    let mut next_look = t0;
    let phase = rng.random::<f64>() * 1_440.0;
    let mut data: Vec<(Datum, Datum)> = Vec::new();
    let mut alarm_breaches = 0;
    for minute in 0..HORIZON_MIN {
        let at = t0 + Duration::minutes(minute);
        // Act on the release's last decision.
        match &action {
            Action::SetWeight { step, weight: w } => {
                weight = w.as_fraction();
                let bake = release.schedule.steps[*step].bake_secs as i64;
                next_look = at + Duration::seconds(bake);
                action = Action::Nothing;
            }
            Action::Wait { secs } => {
                next_look = at + Duration::seconds(*secs as i64);
                action = Action::Nothing;
            }
            Action::Promote => return (None, true),
            Action::RollBack { .. } => return (Some(minute as f64), false),
            Action::AwaitApproval { .. } => return (None, false),
            _ => {}
        }
        // This minute's traffic.
        let swing = 1.0 + 0.3 * (std::f64::consts::TAU * (minute as f64 + phase) / 1_440.0).sin();
        let total = Poisson::new(traffic.target_per_min * 10.0 * swing)
            .unwrap()
            .sample(&mut rng) as u64;
        let n_t = Binomial::new(total, weight).unwrap().sample(&mut rng);
        let n_s = total - n_t;
        let burst = if minute == 0 { 3.0 } else { 1.0 };
        let p_t = (traffic.baseline * traffic.regression * burst).min(1.0);
        let x_t = Binomial::new(n_t, p_t).unwrap().sample(&mut rng);
        let x_s = Binomial::new(n_s, traffic.baseline)
            .unwrap()
            .sample(&mut rng);
        let lag = |rng: &mut StdRng| Duration::minutes(1 + rng.random_range(1..=3));
        let datum = |n: u64, x: u64, rng: &mut StdRng| Datum {
            minute: Minute {
                at,
                invocations: n as f64,
                errors: x as f64,
                throttles: 0.0,
                p99_ms: None,
            },
            arrives: at + lag(rng),
        };
        let pair = (datum(n_t, x_t, &mut rng), datum(n_s, x_s, &mut rng));
        data.push(pair);
        let now = at + Duration::minutes(1);
        if guard == Guard::StaticAlarm {
            // Evaluated each minute on the whole alias's last arrived minute.
            let last = data
                .iter()
                .rev()
                .find(|(t, s)| t.arrives <= now && s.arrives <= now);
            if let Some((t, s)) = last {
                let n = t.minute.invocations + s.minute.invocations;
                let rate = if n > 0.0 {
                    (t.minute.errors + s.minute.errors) / n
                } else {
                    0.0
                };
                alarm_breaches = if rate > 2.0 * traffic.baseline {
                    alarm_breaches + 1
                } else {
                    0
                };
                if alarm_breaches >= 2 {
                    return (Some(minute as f64 + 1.0), false);
                }
            }
        }
        if now < next_look {
            continue;
        }
        let since = release.target_traffic_since().unwrap_or(t0);
        let canary = match guard {
            Guard::StaticAlarm => None,
            Guard::Judge => {
                let step_since = release.step_started_at.unwrap_or(since).max(since);
                let look = analysis::Look {
                    weight: release.weight,
                    step_since,
                    budget_share: 1.0 / release.schedule.steps.len().max(1) as f64,
                };
                let (start, end) = analysis::window(&settings, step_since, now);
                let seen = arrived(&data, start, end, now);
                Some(analysis::judge_step(&settings, &look, &seen))
            }
            Guard::FixedMargin => {
                let start = (now - Duration::minutes(10)).max(since);
                Some(fixed_margin(&arrived(&data, start, now, now)))
            }
        };
        let canary = canary.unwrap_or(CanaryVerdict::Healthy {
            summary: String::new(),
        });
        release
            .apply(Input::Analysed(canary.clone()), now, "sim")
            .unwrap();
        action = release
            .apply(
                Input::Check(combine(Verdict::Healthy, Some(&canary))),
                now,
                "sim",
            )
            .unwrap();
    }
    (None, false)
}

fn run(guard: Guard, traffic: &Traffic) -> Outcomes {
    let mut outcomes = Outcomes::default();
    for seed in 0..RUNS as u64 {
        match simulate(guard, traffic, seed) {
            (Some(minutes), _) => {
                outcomes.rolled_back += 1;
                outcomes.minutes_to_rollback.push(minutes);
            }
            (None, true) => outcomes.promoted += 1,
            (None, false) => outcomes.held += 1,
        }
    }
    outcomes.minutes_to_rollback.sort_by(f64::total_cmp);
    outcomes
}

fn pct(part: usize) -> String {
    format!("{:.1}%", 100.0 * part as f64 / RUNS as f64)
}

fn quantile(sorted: &[f64], q: f64) -> String {
    if sorted.is_empty() {
        return "-".into();
    }
    format!(
        "{:.0}",
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    )
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("canary simulation: not run under cargo test; run `make bench`");
        return;
    }
    let guards = [
        (Guard::Judge, "judge"),
        (Guard::FixedMargin, "fixed margin (before)"),
        (Guard::StaticAlarm, "static alarm"),
    ];
    println!("\n== Canary analysis by simulation: {RUNS} seeded releases a row, {STRATEGY}, default settings");
    println!("   healthy targets: false rollback rate per release (goal <= 1%), and the share held for a person");
    println!("| target calls/min | baseline | guard | false rollbacks | held | promoted |");
    println!("|---|---|---|---|---|---|");
    for per_min in [1.0, 10.0, 100.0, 1_000.0] {
        for baseline in [0.001, 0.01, 0.05] {
            let traffic = Traffic {
                target_per_min: per_min,
                baseline,
                regression: 1.0,
            };
            for (guard, name) in guards {
                let o = run(guard, &traffic);
                println!(
                    "| {per_min} | {:.1}% | {name} | {} | {} | {} |",
                    baseline * 100.0,
                    pct(o.rolled_back),
                    pct(o.held),
                    pct(o.promoted)
                );
            }
        }
    }
    println!("\n   regressions: minutes from the shift to the rollback (p50, p90) and the share missed (promoted)");
    println!(
        "| target calls/min | baseline | regression | guard | p50 min | p90 min | missed | held |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for per_min in [10.0, 100.0, 1_000.0] {
        for baseline in [0.001, 0.01, 0.05] {
            for regression in [2.0, 5.0, 20.0] {
                let traffic = Traffic {
                    target_per_min: per_min,
                    baseline,
                    regression,
                };
                for (guard, name) in guards {
                    let o = run(guard, &traffic);
                    println!(
                        "| {per_min} | {:.1}% | {regression}x | {name} | {} | {} | {} | {} |",
                        baseline * 100.0,
                        quantile(&o.minutes_to_rollback, 0.5),
                        quantile(&o.minutes_to_rollback, 0.9),
                        pct(o.promoted),
                        pct(o.held)
                    );
                }
            }
        }
    }
}
