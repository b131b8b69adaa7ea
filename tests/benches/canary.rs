//! `make bench`: how often canary analysis is wrong, by simulation. Synthetic per-minute traffic
//! (Poisson invocations with a diurnal swing, binomial errors, a cold-start burst in the
//! target's first minute, CloudWatch's delivery lag of one to three minutes per datapoint)
//! over many seeded runs, through the real judge and the real release transitions (no AWS).
//! Guards side by side on the same traffic: the judge; the judge with the release's own
//! per-minute error alarm; both with the opt-in fast path (a 10-second alarm on the function's
//! own high-resolution metrics); the fixed-margin judge it replaced; and a static-threshold
//! alarm (CodeDeploy's way). The alarms are evaluated with the rules their metric math is
//! written from, as CloudWatch evaluates it: the last N periods whose data has arrived, a
//! period not yet arrived not breaching, nothing before the warm-up ends. Printed, never
//! asserted.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Binomial, Distribution, Poisson};
use shiftback::analysis::alarm::ALARM_MINUTES;
use shiftback::analysis::alarm::{error_rule, FAST_PERIODS, FAST_RULE};
use shiftback::analysis::alarm_rule::RegressionRule;
use shiftback::analysis::{self, combine, CanaryVerdict, Comparison, Minute};
use shiftback::domain::{Action, AnalysisSettings, Input, Release, ReleaseSpec, Verdict};

/// The strategy of a release made with the custom resource's defaults.
const STRATEGY: &str = "Canary10Percent5Minutes";
/// A long canary step, where interim looks matter.
const LONG_STRATEGY: &str = "Canary10Percent30Minutes";
const RUNS: usize = 300;
/// A release that neither promotes nor rolls back in this long is counted as held.
const HORIZON_MIN: i64 = 60;
/// The alarms' warm-up (the default `warmup_secs`, 60, in whole minutes).
const WARM_UP_MIN: i64 = 1;
/// How long the fast path's metrics take to reach CloudWatch: embedded metric format goes
/// through CloudWatch Logs, seconds rather than Lambda's minutes (an assumption, stated).
const FAST_LAG_SECS: std::ops::RangeInclusive<i64> = 5..=30;

#[derive(Clone, Copy, PartialEq)]
enum Guard {
    /// The statistical judge (shared/src/analysis).
    Judge,
    /// The judge at each step's end alone, as before interim looks.
    JudgeAtStepEnd,
    /// The judge and the release's own per-minute error-rate alarm.
    JudgeAndAlarm,
    /// Both, and the fast path's 10-second alarm.
    WithFastPath,
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

/// One period of both versions' counts (target errors, target calls, stable errors, stable
/// calls), with when it reaches CloudWatch.
#[derive(Clone, Copy)]
struct Period {
    counts: [f64; 4],
    arrives: DateTime<Utc>,
}

/// A release's own alarm as CloudWatch evaluates it at `now`: the last `periods` periods up
/// to the newest that has arrived, each breaching only if it has arrived and is past `rule`.
fn alarm_breaches(
    rule: &RegressionRule,
    data: &[Period],
    periods: usize,
    now: DateTime<Utc>,
) -> bool {
    let Some(newest) = data.iter().rposition(|p| p.arrives <= now) else {
        return false;
    };
    newest + 1 >= periods
        && data[newest + 1 - periods..=newest].iter().all(|p| {
            let [te, ti, se, si] = p.counts;
            p.arrives <= now && rule.points_past(te, ti, se, si) > 0.0
        })
}

#[derive(Default)]
struct Outcomes {
    rolled_back: usize,
    held: usize,
    promoted: usize,
    /// Minutes from the first shift to the rollback.
    minutes_to_rollback: Vec<f64>,
}

fn spec(strategy: &str) -> ReleaseSpec {
    serde_json::from_value(serde_json::json!({
        "release_id": "r-sim", "function": "orders", "alias": "live",
        "stable_version": "1", "target_version": "2", "strategy": strategy,
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

fn simulate(guard: Guard, traffic: &Traffic, seed: u64, strategy: &str) -> (Option<f64>, bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
    let settings = AnalysisSettings::default();
    let mut release = Release::new(spec(strategy), t0).unwrap();
    let mut action = release.apply(Input::Begin, t0, "sim").unwrap();
    let mut weight = 0.0;
    let mut next_look = t0;
    let phase = rng.random::<f64>() * 1_440.0;
    let mut data: Vec<(Datum, Datum)> = Vec::new();
    // The same minutes, summed, for the release's own alarm; and the fast path's periods.
    let (mut minutes, mut fast): (Vec<Period>, Vec<Period>) = (Vec::new(), Vec::new());
    let minute_rule = error_rule(&settings);
    let mut static_breaches = 0;
    for minute in 0..HORIZON_MIN {
        let at = t0 + Duration::minutes(minute);
        // Act on the release's last decision.
        match &action {
            Action::SetWeight { step, weight: w } => {
                weight = w.as_fraction();
                let bake = release.schedule.steps[*step].bake_secs;
                next_look = at + Duration::seconds(release.bake_wait(*step, bake) as i64);
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
        // This minute's traffic, ten seconds at a time (the fast path's periods).
        let swing = 1.0 + 0.3 * (std::f64::consts::TAU * (minute as f64 + phase) / 1_440.0).sin();
        let burst = if minute == 0 { 3.0 } else { 1.0 };
        let p_t = (traffic.baseline * traffic.regression * burst).min(1.0);
        let mut sums = [0u64; 4];
        for tick in 0..6 {
            let total = Poisson::new(traffic.target_per_min * 10.0 * swing / 6.0)
                .unwrap()
                .sample(&mut rng) as u64;
            let n_t = Binomial::new(total, weight).unwrap().sample(&mut rng);
            let n_s = total - n_t;
            let x_t = Binomial::new(n_t, p_t).unwrap().sample(&mut rng);
            let x_s = Binomial::new(n_s, traffic.baseline)
                .unwrap()
                .sample(&mut rng);
            for (sum, n) in sums.iter_mut().zip([x_t, n_t, x_s, n_s]) {
                *sum += n;
            }
            let end = at + Duration::seconds(10 * (tick + 1));
            fast.push(Period {
                counts: [x_t, n_t, x_s, n_s].map(|n| n as f64),
                arrives: end + Duration::seconds(rng.random_range(FAST_LAG_SECS)),
            });
            // CloudWatch evaluates a 10-second alarm every 10 seconds; its warm-up ends as
            // soon as its three periods have data.
            if guard == Guard::WithFastPath
                && alarm_breaches(&FAST_RULE, &fast, FAST_PERIODS as usize, end)
            {
                return (Some((end - t0).num_seconds() as f64 / 60.0), false);
            }
        }
        let [x_t, n_t, x_s, n_s] = sums;
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
        minutes.push(Period {
            counts: [x_t, n_t, x_s, n_s].map(|n| n as f64),
            arrives: pair.0.arrives.max(pair.1.arrives),
        });
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
                static_breaches = if rate > 2.0 * traffic.baseline {
                    static_breaches + 1
                } else {
                    0
                };
                if static_breaches >= 2 {
                    return (Some(minute as f64 + 1.0), false);
                }
            }
        }
        if matches!(guard, Guard::JudgeAndAlarm | Guard::WithFastPath)
            && now >= t0 + Duration::minutes(WARM_UP_MIN)
            && alarm_breaches(&minute_rule, &minutes, ALARM_MINUTES as usize, now)
        {
            return (Some(minute as f64 + 1.0), false);
        }
        if now < next_look {
            continue;
        }
        let since = release.target_traffic_since().unwrap_or(t0);
        let canary = match guard {
            Guard::StaticAlarm => None,
            Guard::Judge | Guard::JudgeAtStepEnd | Guard::JudgeAndAlarm | Guard::WithFastPath => {
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
        // As the workflow's look does: inside the bake only "worse" acts (the judge's
        // interim looks; the old guards judged at the step's end alone).
        let interim = release.at_interim_look(now);
        let canary = match (guard, canary) {
            (Guard::FixedMargin | Guard::StaticAlarm | Guard::JudgeAtStepEnd, _) if interim => None,
            (_, Some(c)) if interim && !matches!(c, CanaryVerdict::Unhealthy { .. }) => None,
            (Guard::StaticAlarm, _) => Some(CanaryVerdict::Healthy {
                summary: String::new(),
            }),
            (_, canary) => canary,
        };
        if let Some(canary) = &canary {
            release
                .apply(Input::Analysed(canary.clone()), now, "sim")
                .unwrap();
        }
        action = release
            .apply(
                Input::Check(combine(Verdict::Healthy, canary.as_ref())),
                now,
                "sim",
            )
            .unwrap();
    }
    (None, false)
}

fn run(guard: Guard, traffic: &Traffic) -> Outcomes {
    run_with(guard, traffic, STRATEGY)
}

fn run_with(guard: Guard, traffic: &Traffic, strategy: &str) -> Outcomes {
    let mut outcomes = Outcomes::default();
    for seed in 0..RUNS as u64 {
        match simulate(guard, traffic, seed, strategy) {
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
        "{:.1}",
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
        (Guard::JudgeAndAlarm, "judge + own alarm"),
        (Guard::WithFastPath, "judge + own alarm + fast path"),
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
    // A wave plan stops everywhere when any one Region's release rolls back: its false-stop
    // rate compounds over its Regions, 1 - (1 - p)^N, p one Region's false rollback rate.
    println!("\n   a wave plan of healthy releases over N Regions (judge + own alarm + fast path): the chance it is stopped falsely somewhere, 1 - (1 - p)^N");
    println!("| target calls/min | baseline | p (one Region) | 3 Regions | 6 Regions | 20 Regions | 50 Regions |");
    println!("|---|---|---|---|---|---|---|");
    for per_min in [10.0, 100.0, 1_000.0] {
        for baseline in [0.001, 0.01, 0.05] {
            let traffic = Traffic {
                target_per_min: per_min,
                baseline,
                regression: 1.0,
            };
            let p = run(Guard::WithFastPath, &traffic).rolled_back as f64 / RUNS as f64;
            let stopped = |n: i32| format!("{:.1}%", 100.0 * (1.0 - (1.0 - p).powi(n)));
            println!(
                "| {per_min} | {:.1}% | {:.2}% | {} | {} | {} | {} |",
                baseline * 100.0,
                100.0 * p,
                stopped(3),
                stopped(6),
                stopped(20),
                stopped(50)
            );
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
    println!("\n   a long canary step ({LONG_STRATEGY}) at 100 target calls a minute: the judge with its interim looks (up to ten in a bake), and at the step's end alone");
    println!("| baseline | regression | guard | p50 min | p90 min | false or missed | held |");
    println!("|---|---|---|---|---|---|---|");
    for (baseline, regression) in [
        (0.01, 1.0),
        (0.05, 1.0),
        (0.01, 5.0),
        (0.01, 20.0),
        (0.05, 5.0),
    ] {
        let traffic = Traffic {
            target_per_min: 100.0,
            baseline,
            regression,
        };
        for (guard, name) in [
            (Guard::Judge, "judge"),
            (Guard::JudgeAtStepEnd, "judge at step end"),
        ] {
            let o = run_with(guard, &traffic, LONG_STRATEGY);
            // Healthy: rollbacks are false ones; regressed: promotions are misses.
            let wrong = if regression == 1.0 {
                o.rolled_back
            } else {
                o.promoted
            };
            println!(
                "| {:.1}% | {regression}x | {name} | {} | {} | {} | {} |",
                baseline * 100.0,
                quantile(&o.minutes_to_rollback, 0.5),
                quantile(&o.minutes_to_rollback, 0.9),
                pct(wrong),
                pct(o.held)
            );
        }
    }
}
