//! Evidence that holds however often it is looked at: anytime-valid confidence sequences.
//!
//! A release is judged at every step, and an inconclusive step is judged again every minute:
//! a fixed-sample test (a z-test, a Wilson interval) would be wrong α of the time at *each*
//! look, and a release of ten looks would be rolled back for noise ten times as often. A
//! confidence sequence holds at every look at once: P(the true rate ever leaves it) ≤ α,
//! however many looks there are and whenever they stop (Ville's inequality).
//!
//! The sequence here is Robbins' beta-binomial mixture (Robbins 1970; Howard, Ramdas,
//! McAuliffe & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence
//! sequences"): for each candidate rate p, the mixture likelihood ratio
//! `M(p) = B(x+a, n−x+b) / (B(a,b) · p^x (1−p)^(n−x))` is a nonnegative martingale with mean 1
//! under p, so `{p : M(p) < 1/α}` contains the true rate at every n with probability ≥ 1 − α.
//! The beta function comes from `statrs`.

use statrs::distribution::{Beta, ContinuousCDF};
use statrs::function::beta::ln_beta;

/// The mixture's prior, Beta(1/2, 1/2) (Jeffreys'): no rate favoured, and its mass near 0
/// keeps the bounds tight for the small error rates releases have.
const PRIOR: (f64, f64) = (0.5, 0.5);

/// A rate's confidence sequence at the data so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub low: f64,
    pub high: f64,
}

/// `x · ln(y)`, with 0 · ln(0) = 0 (no events say nothing of ln p).
fn x_ln_y(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x * y.ln()
    }
}

/// Every rate: what no trials say.
const ANY_RATE: Bounds = Bounds {
    low: 0.0,
    high: 1.0,
};

/// Counts as whole numbers (CloudWatch's sums are floats): (events, trials), or None for no
/// trials.
fn whole(events: f64, trials: f64) -> Option<(f64, f64)> {
    if trials <= 0.0 || trials.is_nan() || events.is_nan() {
        return None;
    }
    let n = trials.round();
    Some((events.round().clamp(0.0, n), n))
}

/// The confidence sequence of a rate after `events` in `trials` (counts), at level `alpha`.
/// No trials: everything is possible.
pub fn confidence_sequence(events: f64, trials: f64, alpha: f64) -> Bounds {
    let Some((x, n)) = whole(events, trials) else {
        return ANY_RATE;
    };
    let (a, b) = PRIOR;
    let log_marginal = ln_beta(x + a, n - x + b) - ln_beta(a, b);
    let level = (1.0 / alpha).ln();
    // ln M(p) is convex with its minimum at x/n, where it is ≤ 0 (the marginal likelihood never
    // beats the maximum likelihood): one crossing of the level on each side.
    let outside = |p: f64| log_marginal - x_ln_y(x, p) - x_ln_y(n - x, 1.0 - p) >= level;
    let p_hat = x / n;
    let crossing = |mut inside: f64, mut out: f64| {
        for _ in 0..100 {
            let mid = (inside + out) / 2.0;
            if outside(mid) {
                out = mid;
            } else {
                inside = mid;
            }
        }
        inside
    };
    Bounds {
        low: if x == 0.0 { 0.0 } else { crossing(p_hat, 0.0) },
        high: if x == n { 1.0 } else { crossing(p_hat, 1.0) },
    }
}

/// The exact (Clopper-Pearson) one-sided bounds of a rate at one look, each wrong at most
/// `alpha` of the time: (lowest, highest) plausible rate.
pub fn exact_bounds(events: f64, trials: f64, alpha: f64) -> Bounds {
    let Some((x, n)) = whole(events, trials) else {
        return ANY_RATE;
    };
    let quantile = |a: f64, b: f64, p: f64| match Beta::new(a, b) {
        Ok(beta) => beta.inverse_cdf(p),
        Err(_) => f64::NAN,
    };
    Bounds {
        low: if x == 0.0 {
            0.0
        } else {
            quantile(x, n - x + 1.0, alpha)
        },
        high: if x == n {
            1.0
        } else {
            quantile(x + 1.0, n - x, 1.0 - alpha)
        },
    }
}

/// How much worse than the stable version's rate the target's may be before it is a
/// regression: more than `points` above it *and* more than `ratio` times it. (The points keep
/// a tiny rate's doubling from counting; the ratio keeps a high rate's noise from counting.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Margin {
    /// A rate (0.01: one percentage point).
    pub points: f64,
    pub ratio: f64,
}

impl Margin {
    /// The lowest target rate that is a regression against a stable rate of `stable`.
    pub fn regression_from(&self, stable: f64) -> f64 {
        (stable + self.points).max(self.ratio * stable)
    }
}

/// What the counts so far show of the target against the stable version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// Worse by more than the margin, at the stated confidence.
    Worse,
    /// Not worse by more than the margin, at the stated confidence.
    NotWorse,
    /// The data do not tell yet.
    Unsure,
}

/// The regressions the ratio test is tuned to find, as multiples of the ratio it tests
/// against, equally weighted: from a modest step up to an outright failure.
const ALTERNATIVES: [f64; 5] = [1.5, 2.0, 4.0, 8.0, 16.0];

/// One minute of both versions' counts: (target events, target trials, stable events, stable
/// trials).
pub type PairedMinute = (f64, f64, f64, f64);

/// A mixture sequential probability ratio test (Robbins 1970; Johari, Pekelis & Walsh 2017,
/// "Always valid inference") that the target's rate is more than `ratio` times the stable
/// version's, minute by minute, on the errors of both together: given a minute's errors, each
/// one is the target's with probability q(ρ) = ρ·n_t / (ρ·n_t + n_s), whatever the shared
/// rate (so a diurnal swing or a dependency's bad minute, which hits both versions, is no
/// evidence). The product of the minutes' likelihood ratios of q(ρ_k) against q(ratio),
/// mixed over the alternatives (`ALTERNATIVES`), is a test martingale while the target is no worse than
/// `ratio` times the stable version (the exact, hypergeometric, law of a minute is tighter
/// than the binomial, which only makes it smaller): it passes `1 / alpha` with probability
/// at most `alpha`, however many minutes it is looked at. Returns the evidence (that value).
pub fn ratio_evidence(minutes: &[PairedMinute], ratio: f64) -> f64 {
    let mut ln_products = [0.0_f64; ALTERNATIVES.len()];
    for &(x_t, n_t, x_s, n_s) in minutes {
        let events = (x_t + x_s).round();
        if events <= 0.0 || n_t <= 0.0 || n_s <= 0.0 {
            continue;
        }
        let x = x_t.round().clamp(0.0, events);
        let q = |rho: f64| rho * n_t / (rho * n_t + n_s);
        let q0 = q(ratio);
        for (k, multiple) in ALTERNATIVES.iter().enumerate() {
            let qk = q(ratio * multiple);
            ln_products[k] += x_ln_y(x, qk / q0) + x_ln_y(events - x, (1.0 - qk) / (1.0 - q0));
        }
    }
    ln_products.iter().map(|l| l.exp()).sum::<f64>() / ALTERNATIVES.len() as f64
}

/// The error levels of a comparison, one for each way it can be wrong, over a whole release
/// however often it looks: `worse` bounds how often a target no worse than the margin is
/// found worse (a false rollback), `not_worse` how often one worse is found not worse (a
/// regression let through to the next step, where it is judged again).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    pub worse: f64,
    pub not_worse: f64,
}

/// The false-rollback budget of a whole release, however often it is looked at, shared
/// between what can roll it back: errors, throttles, latency. (A group's members each have
/// their own.) "Not worse" is shown at 90% one-sided, at one look: a regression it lets through
/// is judged again at every later look; tighter, and healthy releases are held for want of
/// evidence (the simulation in `make bench` shows the trade).
pub const ERROR_LEVELS: Levels = Levels {
    worse: 0.005,
    not_worse: 0.20,
};
pub const THROTTLE_LEVELS: Levels = Levels {
    worse: 0.003,
    not_worse: 0.20,
};
pub const LATENCY_LEVEL: f64 = 0.002;

/// What the counts of a release so far show, with the numbers behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judged {
    pub finding: Finding,
    /// Totals: (events, trials) of each version.
    pub target: (f64, f64),
    pub stable: (f64, f64),
    /// The ratio test's evidence that the target is worse ([`ratio_evidence`]).
    pub evidence: f64,
    /// The target's highest plausible rate, and the lowest rate that would be a regression.
    pub target_high: f64,
    pub regression_from: f64,
}

/// The target against the stable version over the minutes given (a step's).
/// - Worse: the ratio test passes `1 / levels.worse` (shown, however often it looks, that the
///   target runs at more than `ratio` times the stable version's rate: a target that does not
///   is found worse at most `levels.worse` of the time), and the target is also `points` above
///   the stable version as observed. The points are practical significance, not a test: a
///   tenfold rise of a rare error, under a point, is not worth a rollback.
/// - Not worse: with each version's exact one-sided bound at `levels.not_worse / 2` (together
///   right at least 1 − `not_worse` of the time, at one look), even the target's highest
///   plausible rate is within the margin (`points` or `ratio`, whichever is higher) of the
///   stable's lowest.
/// - With no stable traffic nothing is worse, and not worse means below `points` outright.
pub fn compare(minutes: &[PairedMinute], margin: Margin, levels: Levels) -> Judged {
    let (mut target, mut stable) = ((0.0, 0.0), (0.0, 0.0));
    for &(x_t, n_t, x_s, n_s) in minutes {
        target = (target.0 + x_t, target.1 + n_t);
        stable = (stable.0 + x_s, stable.1 + n_s);
    }
    let rate = |(x, n): (f64, f64)| if n > 0.0 { x / n } else { 0.0 };
    let evidence = ratio_evidence(minutes, margin.ratio);
    let t = exact_bounds(target.0, target.1, levels.not_worse / 2.0);
    let s = exact_bounds(stable.0, stable.1, levels.not_worse / 2.0);
    let regression_from = margin.regression_from(s.low);
    let finding = if evidence >= 1.0 / levels.worse
        && stable.1 > 0.0
        && rate(target) - rate(stable) >= margin.points
    {
        Finding::Worse
    } else if t.high <= regression_from {
        Finding::NotWorse
    } else {
        Finding::Unsure
    };
    Judged {
        finding,
        target,
        stable,
        evidence,
        target_high: t.high,
        regression_from,
    }
}

/// The fewest target invocations that can show a target running exactly at the stable
/// version's `rate` to be no worse (the minimum sample the test itself sets), with the stable
/// version taking `stable_per_target` invocations for each of the target's. None beyond ten
/// million: such a step never decides.
pub fn sample_to_decide(
    rate: f64,
    stable_per_target: f64,
    margin: Margin,
    levels: Levels,
) -> Option<u64> {
    let decides = |n: u64| {
        let n = n as f64;
        let m = n * stable_per_target;
        compare(&[(rate * n, n, rate * m, m)], margin, levels).finding == Finding::NotWorse
    };
    let (mut low, mut high) = (1_u64, 16_u64);
    while !decides(high) {
        low = high;
        high *= 2;
        if high > 10_000_000 {
            return None;
        }
    }
    while high - low > 1 {
        let mid = (low + high) / 2;
        if decides(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    Some(high)
}
