//! The confidence sequences and the comparison built on them, against independent references
//! (the mixture's own definition, the exact Clopper-Pearson interval from `statrs`' beta
//! distribution) and by simulation of their one promise: the true rate stays inside at every
//! look, but for α of the runs.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use statrs::distribution::{Beta, ContinuousCDF};

use super::evidence::*;

const LEVELS: Levels = Levels {
    worse: 0.004,
    not_worse: 0.1,
};

const CANARY: Margin = Margin {
    points: 0.01,
    ratio: 1.5,
};

/// The mixture's likelihood ratio at `p`, straight from its definition with the gamma
/// function (an independent path to the same number as the bounds' `ln_beta`).
fn mixture_ratio(x: f64, n: f64, p: f64) -> f64 {
    use statrs::function::gamma::ln_gamma;
    let ln_b = |a: f64, b: f64| ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
    (ln_b(x + 0.5, n - x + 0.5) - ln_b(0.5, 0.5) - x * p.ln() - (n - x) * (1.0 - p).ln()).exp()
}

/// The exact fixed-sample interval at level `alpha` (Clopper-Pearson).
fn clopper_pearson(x: f64, n: f64, alpha: f64) -> (f64, f64) {
    let low = match x {
        0.0 => 0.0,
        _ => Beta::new(x, n - x + 1.0).unwrap().inverse_cdf(alpha / 2.0),
    };
    let high = match x == n {
        true => 1.0,
        false => Beta::new(x + 1.0, n - x)
            .unwrap()
            .inverse_cdf(1.0 - alpha / 2.0),
    };
    (low, high)
}

#[test]
fn each_bound_is_where_the_mixture_reaches_one_over_alpha() {
    for (x, n, alpha) in [
        (3.0, 100.0, 0.01),
        (50.0, 1_000.0, 0.05),
        (1.0, 20_000.0, 0.002),
    ] {
        let b = confidence_sequence(x, n, alpha);
        assert!(b.low < x / n && x / n < b.high, "{b:?}");
        for p in [b.low, b.high] {
            let m = mixture_ratio(x, n, p);
            assert!((m * alpha - 1.0).abs() < 1e-6, "M({p}) = {m} at {x}/{n}");
        }
    }
    // No events: the lowest plausible rate is 0, and the highest shrinks with the trials.
    let (b100, b1000) = (
        confidence_sequence(0.0, 100.0, 0.01),
        confidence_sequence(0.0, 1_000.0, 0.01),
    );
    assert_eq!(b100.low, 0.0);
    assert!(b1000.high < b100.high / 5.0, "{b100:?} {b1000:?}");
    assert_eq!(
        confidence_sequence(0.0, 0.0, 0.01),
        Bounds {
            low: 0.0,
            high: 1.0
        }
    );
}

#[test]
fn the_sequence_is_wider_than_the_exact_fixed_sample_interval_it_must_outlast() {
    // Valid at every look, so never narrower than what is valid at one look.
    for (x, n) in [
        (1.0, 50.0),
        (10.0, 500.0),
        (40.0, 2_000.0),
        (500.0, 10_000.0),
    ] {
        let (low, high) = clopper_pearson(x, n, 0.01);
        let b = confidence_sequence(x, n, 0.01);
        assert!(
            b.low <= low && high <= b.high,
            "{x}/{n}: {b:?} vs ({low}, {high})"
        );
    }
}

#[test]
fn a_true_rate_leaves_the_sequence_in_at_most_alpha_of_runs_looked_at_every_minute() {
    // 400 runs of 60 one-minute looks at 200 invocations a minute, 1% errors, α = 10%: a
    // fixed-sample interval looked at this often would be left in most runs.
    let (p, alpha, runs) = (0.01, 0.10, 400);
    let mut rng = StdRng::seed_from_u64(27);
    let mut left = 0;
    for _ in 0..runs {
        let (mut x, mut n) = (0.0, 0.0);
        for _minute in 0..60 {
            for _ in 0..200 {
                n += 1.0;
                if rng.random::<f64>() < p {
                    x += 1.0;
                }
            }
            let b = confidence_sequence(x, n, alpha);
            if p < b.low || b.high < p {
                left += 1;
                break;
            }
        }
    }
    assert!(
        left as f64 <= alpha * runs as f64,
        "left in {left} of {runs}"
    );
}

/// One minute of both versions (target errors, target invocations, stable ...).
fn finding(t: (f64, f64), s: (f64, f64)) -> Finding {
    compare(&[(t.0, t.1, s.0, s.1)], CANARY, LEVELS).finding
}

#[test]
fn a_clear_regression_is_worse_a_like_rate_not_worse_and_a_thin_sample_unsure() {
    // 1% on the stable version over 9,000; the target over 1,000.
    let stable = (90.0, 9_000.0);
    assert_eq!(finding((50.0, 1_000.0), stable), Finding::Worse);
    assert_eq!(finding((10.0, 1_000.0), stable), Finding::NotWorse);
    assert_eq!(finding((5.0, 400.0), (36.0, 3_600.0)), Finding::Unsure);
    assert_eq!(finding((2.0, 40.0), stable), Finding::Unsure);
    // 5x at 100 invocations a minute (10% of the traffic): three minutes' expected counts are
    // not yet enough at this level; ten are.
    assert_eq!(finding((15.0, 300.0), (27.0, 2_700.0)), Finding::Unsure);
    // Ten times the stable rate, but under a point above it as observed: not worth a rollback
    // (the points are practical significance).
    assert_eq!(
        finding((60.0, 10_000.0), (9.0, 90_000.0)),
        Finding::NotWorse
    );
    assert_ne!(finding((90.0, 10_000.0), (9.0, 90_000.0)), Finding::Worse);
    // No stable traffic: never worse, and not worse only below the points outright.
    assert_eq!(finding((50.0, 1_000.0), (0.0, 0.0)), Finding::Unsure);
    assert_eq!(finding((0.0, 2_000.0), (0.0, 0.0)), Finding::NotWorse);
    // Clearly four times the stable rate, but less than a point above it: no regression.
    assert_eq!(
        finding((40.0, 20_000.0), (90.0, 180_000.0)),
        Finding::NotWorse
    );
}

#[test]
fn a_bad_minute_both_versions_share_is_no_evidence() {
    // A dependency fails for a minute: 30% errors on both versions alike.
    let minutes = [
        (1.0, 100.0, 9.0, 900.0),
        (30.0, 100.0, 270.0, 900.0),
        (1.0, 100.0, 9.0, 900.0),
    ];
    let judged = compare(&minutes, CANARY, LEVELS);
    assert!(judged.evidence < 1.0, "{judged:?}");
    assert_ne!(judged.finding, Finding::Worse);
}

#[test]
fn the_ratio_tests_false_alarms_stay_under_its_level_however_often_it_looks() {
    // A healthy target (1%, like the stable version) at 100 invocations a minute, 10% of the
    // traffic, looked at every minute for an hour, 1,000 times over: the test's promise is
    // that it passes 1 / α in at most α of the runs (here α = 5%, to see it in 1,000 runs).
    use rand_distr::{Binomial, Distribution};
    let mut rng = StdRng::seed_from_u64(7);
    let (runs, alpha) = (1_000, 0.05);
    let mut false_alarms = 0;
    for _ in 0..runs {
        let mut minutes = Vec::new();
        for _ in 0..60 {
            let x_t = Binomial::new(100, 0.01).unwrap().sample(&mut rng) as f64;
            let x_s = Binomial::new(900, 0.01).unwrap().sample(&mut rng) as f64;
            minutes.push((x_t, 100.0, x_s, 900.0));
            if ratio_evidence(&minutes, 1.5) >= 1.0 / alpha {
                false_alarms += 1;
                break;
            }
        }
    }
    assert!(
        false_alarms as f64 <= alpha * runs as f64,
        "{false_alarms} of {runs}"
    );
}

#[test]
fn the_sample_to_decide_grows_as_the_rate_and_the_margin_shrink() {
    let one_pct = sample_to_decide(0.01, 9.0, CANARY, LEVELS).unwrap();
    let tight = Margin {
        points: 0.002,
        ratio: 1.2,
    };
    let tight_one_pct = sample_to_decide(0.01, 9.0, tight, LEVELS).unwrap();
    assert!(one_pct > 100 && one_pct < 20_000, "{one_pct}");
    assert!(tight_one_pct > one_pct, "{tight_one_pct} vs {one_pct}");
    // At the sample it names, a target at the stable rate is shown no worse; well before, not.
    let m = one_pct as f64;
    let at = |n: f64| finding((0.01 * n, n), (0.01 * 9.0 * n, 9.0 * n));
    assert_eq!(at(m), Finding::NotWorse);
    assert_eq!(at(m / 2.0), Finding::Unsure);
}

fn rank(f: Finding) -> u8 {
    match f {
        Finding::NotWorse => 0,
        Finding::Unsure => 1,
        Finding::Worse => 2,
    }
}

proptest! {
    #[test]
    fn more_target_errors_never_make_a_finding_healthier(
        x in 0u32..400, extra in 1u32..100, n in 400u32..5_000, sx in 0u32..300, sn in 1_000u32..40_000
    ) {
        let (n, sn) = (n as f64, sn as f64);
        let sx = (sx as f64).min(sn);
        let base = finding(((x as f64).min(n), n), (sx, sn));
        let worse = finding((((x + extra) as f64).min(n), n), (sx, sn));
        prop_assert!(rank(worse) >= rank(base), "{base:?} -> {worse:?}");
    }

    #[test]
    fn the_same_rates_over_more_invocations_never_turn_a_clear_finding_unsure(
        x in 0u32..200, n in 200u32..3_000, sx in 0u32..400, sn in 1_000u32..20_000, k in 2u32..10
    ) {
        let (x, n, sn) = ((x as f64).min(n as f64), n as f64, sn as f64);
        let sx = (sx as f64).min(sn);
        let k = k as f64;
        let few = finding((x, n), (sx, sn));
        let many = finding((k * x, k * n), (k * sx, k * sn));
        if few != Finding::Unsure {
            prop_assert_eq!(many, few);
        }
    }
}
