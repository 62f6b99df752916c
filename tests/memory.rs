//! The memory estimates of `budget` bound the bytes the runs they estimate allocate.
//!
//! A peak-tracking global allocator (`tests/support/peak_alloc.rs`) measures the largest
//! number of bytes live at once while a run is in progress (every thread). Over a table of
//! cases — every family and method `check --spec` accepts, tiny (`M = 3, N = 2`, where
//! the matrices' headers and the caches' bookkeeping dominate) and moderate sizes, `ω` of
//! 0, 3 and 100 — every claim and variant runs on one case at `K = 100`, as `check` does
//! (certifications in double-double included), and the peak must be at most
//! `budget::case_bytes`; `exmex`'s one parse of (22)'s `h` must stay within
//! `budget::SYMBOLIC_BYTES`; an error-curve run (a trend file's pair) must stay within
//! `budget::curves_bytes`.
//!
//! How loose the bound is (estimate/peak, measured on this table in release, x86-64): from
//! 1.22 (ridge weight, heavy-ball, `M = 40, N = 30`: a case that certifies, so the
//! double-double rebuild the estimate always counts does run) to 3.66 (maps that are not
//! affine, or cases with no violation to certify, and large `ω`); every row is in
//! `docs/performance.md`, *The memory estimate against the measured peak*.
//!
//! Controls: the assertion can fail — on the heavy-ball case the last model missed
//! (ridge weight, `M = 40, N = 30`, whose peak is a certification), the estimate without
//! the caches (`budget::caches_bytes`, of the case and of its rebuild) is below the peak,
//! and so is the estimate without the certification (`budget::certify_bytes`); some case
//! of the table certifies; the error-curve estimate halved is below its peak.

#[path = "support/peak_alloc.rs"]
mod peak_alloc;
use peak_alloc::measure;
use unrollcheck::budget::{self, CaseDims};
use unrollcheck::claims::{self, Case, Certification, Config};
use unrollcheck::spec::Spec;

fn spec(family: &str, method: &str, m: usize, n: usize) -> Spec {
    let json = format!(
        r#"{{"family":{family},"method":{method},"m":{m},"n":{n},"data":{{"data":"paper"}},"lambda":0.1,"step":{{"rule":"optimal"}},"x0_sigma":10.0,"seed":0}}"#
    );
    Spec::from_json(&serde_json::from_str(&json).unwrap()).unwrap()
}

/// One measured case: the peak, the estimate and its parts, and how many violations were
/// recomputed in double-double.
struct Measured {
    peak: f64,
    estimate: f64,
    caches: f64,
    certify: f64,
    certified: usize,
}

/// Builds the case of `spec` and runs every claim and variant on it; returns the measured
/// peak and the estimate.
fn check_all(spec: &Spec, cfg: &Config) -> Measured {
    let d: CaseDims = budget::case_dims(spec);
    let (peak, (k, certified)) = measure(|| {
        let case = Case::from_spec(spec, cfg).unwrap();
        let outcomes = claims::check_all(&case, cfg);
        assert!(!outcomes.is_empty());
        let certified = outcomes
            .iter()
            .filter_map(|o| match &o.verdict {
                claims::Verdict::NotApplicable { observed: Some(v), .. } => v.witness(),
                v => v.witness(),
            })
            .filter(|w| {
                matches!(w.certification, Some(Certification::Certified { .. } | Certification::WithinRounding { .. }))
            })
            .count();
        (case.k, certified)
    });
    assert_eq!(k, cfg.k_max, "the configurations run at K = k_max (the estimate's horizon)");
    let (k, t) = (k as f64, cfg.t_fractions.len() as f64);
    Measured {
        peak: peak as f64,
        estimate: budget::case_bytes(d, k, cfg.omega, t),
        caches: budget::caches_bytes(d, k, t),
        certify: budget::certify_bytes(d, k, cfg.omega, t),
        certified,
    }
}

fn assert_bound(what: &str, peak: f64, estimate: f64, model: &str) {
    println!("{what}: peak {peak:.0} bytes, estimate {estimate:.0} ({:.2}×)", estimate / peak);
    assert!(
        estimate >= peak,
        "{what}: the estimate {estimate:.0} bytes is below the measured peak {peak:.0} (ratio {:.3}): the model of \
         {model} misses an allocation",
        estimate / peak
    );
}

const RIDGE_WEIGHT: &str = r#"{"family":"ridge","param":"weight"}"#;
const GD: &str = r#"{"method":"gradient_descent"}"#;
const HEAVY_BALL: &str = r#"{"method":"heavy_ball","beta":0.5}"#;

/// The cases: `(family, method, M, N, ω)`.
const CASES: &[(&str, &str, usize, usize, f64)] = &[
    (RIDGE_WEIGHT, HEAVY_BALL, 40, 30, 3.0),
    (RIDGE_WEIGHT, GD, 40, 30, 3.0),
    (RIDGE_WEIGHT, GD, 3, 2, 0.0),
    (RIDGE_WEIGHT, HEAVY_BALL, 3, 2, 100.0),
    (RIDGE_WEIGHT, r#"{"method":"chebyshev"}"#, 20, 10, 3.0),
    (RIDGE_WEIGHT, r#"{"method":"nesterov"}"#, 3, 2, 0.0),
    (r#"{"family":"ridge","param":"targets"}"#, HEAVY_BALL, 20, 10, 3.0),
    (r#"{"family":"ridge","param":"targets"}"#, r#"{"method":"nesterov_convex"}"#, 3, 2, 3.0),
    (r#"{"family":"ridge","param":"data"}"#, GD, 20, 10, 3.0),
    (r#"{"family":"ridge","param":"data"}"#, HEAVY_BALL, 3, 2, 0.0),
    (r#"{"family":"pseudo_huber","param":"targets","delta":1.0}"#, HEAVY_BALL, 20, 10, 100.0),
    (r#"{"family":"huber","param":"weight","delta":1.0}"#, GD, 3, 2, 3.0),
    (r#"{"family":"logistic","param":"sample_weights"}"#, GD, 3, 2, 0.0),
    (r#"{"family":"logistic","param":"data"}"#, GD, 3, 2, 100.0),
    (r#"{"family":"layer","param":"bias","rho_w":0.9}"#, r#"{"method":"picard"}"#, 3, 2, 100.0),
    (r#"{"family":"layer","param":"weights","rho_w":0.9}"#, r#"{"method":"picard"}"#, 20, 10, 3.0),
    (r#"{"family":"elastic_net","param":"l1","l1":0.5}"#, r#"{"method":"prox_gd"}"#, 3, 2, 0.0),
    (r#"{"family":"elastic_net","param":"targets","l1":0.5}"#, r#"{"method":"fista"}"#, 20, 10, 3.0),
    (
        r#"{"family":"elastic_net","param":"l1","l1":0.5}"#,
        r#"{"method":"prox_gd","restart":"identified"}"#,
        20,
        10,
        3.0,
    ),
];

#[test]
fn case_bytes_bounds_every_claim_on_a_case() {
    // First in the process: exmex parses and differentiates (22)'s h once, into a static.
    let h = unrollcheck::bounds::Truncation { rho: 0.9, edot0: 1.0, gamma: 1.0, e0: 1.0, k: 100.0, omega: 3.0 };
    let (first, _) = measure(|| unrollcheck::bounds::symbolic_h_derivatives(&h).unwrap());
    let (again, _) = measure(|| unrollcheck::bounds::symbolic_h_derivatives(&h).unwrap());
    assert_bound("exmex's parse of h", first as f64, budget::SYMBOLIC_BYTES, "budget::SYMBOLIC_BYTES");
    assert!(again < first, "control: the second call ({again} bytes) parsed again (the first took {first})");

    let mut certifying = 0;
    for &(family, method, m, n, omega) in CASES {
        let spec = spec(family, method, m, n);
        let cfg = Config { k_max: 100, target: 1e-300, omega, ..Config::default() };
        let what = format!("{family} {method} M = {m}, N = {n}, omega = {omega}");
        let r = check_all(&spec, &cfg);
        println!("  ({} violations recomputed in double-double)", r.certified);
        assert_bound(&what, r.peak, r.estimate, "budget::case_bytes");
        certifying += usize::from(r.certified > 0);
        if (family, method, m, n) == (RIDGE_WEIGHT, HEAVY_BALL, 40, 30) {
            // The caches are counted twice: the case's and those of its rebuild in double-double.
            let without = r.estimate - 2.0 * r.caches;
            assert!(
                without < r.peak,
                "control, {what}: the estimate without the caches of the case and of its rebuild ({without:.0} \
                 bytes) still bounds the peak {:.0}: the table no longer shows the allocation the last model missed",
                r.peak
            );
            // Its peak is the certification's (lem6.dxstar_bound/paper, recomputed in double-double).
            let without = r.estimate - r.certify;
            assert!(
                r.certified > 0 && without < r.peak,
                "control, {what}: {} violations recomputed in double-double, and the estimate without the \
                 certification ({without:.0} bytes) against the peak {:.0}: the test must see that term",
                r.certified,
                r.peak
            );
        }
    }
    assert!(certifying > 0, "control: no case recomputed a violation in double-double: the table misses that term");
}

#[test]
fn curves_bytes_bounds_an_error_curve_run() {
    for (m, n, k) in [(100, 50, 400), (30, 10, 2000)] {
        let spec = spec(RIDGE_WEIGHT, GD, m, n);
        let (dn, p) = budget::dims(&spec);
        let inst = spec.build().unwrap();
        let (peak, _) = measure(|| inst.error_curves(k));
        let (peak, estimate) = (peak as f64, budget::curves_bytes(dn, p, k as f64));
        let what = format!("error curves, M = {m}, N = {n}, K = {k}");
        assert_bound(&what, peak, estimate, "budget::curves_bytes");
        assert!(
            0.5 * estimate < peak,
            "control, {what}: half the estimate ({:.0}) still bounds the peak {peak:.0}: the bound is loose by more than 2×",
            0.5 * estimate
        );
    }
}

#[test]
fn rem3_sweeps_counts_the_horizons_of_rem3() {
    for k in 1..=3000 {
        let hs = claims::rem3::horizons(k);
        let want = (hs.len() as f64, hs.iter().map(|h| (h + 1) as f64).sum::<f64>());
        assert_eq!(budget::rem3_sweeps(k as f64), want, "K = {k}: horizons {hs:?}");
    }
}
