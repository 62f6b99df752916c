//! The memory estimates of `budget` bound the bytes the runs they estimate allocate.
//!
//! A peak-tracking global allocator (`tests/support/peak_alloc.rs`) measures the largest
//! number of bytes live at once while a run is in progress (every thread). For a few
//! configurations — parameter-heavy (`ridge_data`, the class of the `check --spec` the
//! estimate missed by 2×) — every claim and variant
//! runs on one case, as `check` does (certifications in double-double included), and the
//! peak must be at most `budget::case_bytes`; an error-curve run (a trend file's pair) must
//! stay within `budget::curves_bytes`. Controls: half of each estimate is below the
//! measured peak, so the test can fail and the bound is not vacuous by a wide margin.

#[path = "support/peak_alloc.rs"]
mod peak_alloc;
use peak_alloc::measure;
use unrollcheck::budget;
use unrollcheck::claims::{self, Case, Config};
use unrollcheck::spec::Spec;

fn spec(family: &str, method: &str, m: usize, n: usize) -> Spec {
    let json = format!(
        r#"{{"family":{family},"method":{method},"m":{m},"n":{n},"data":{{"data":"paper"}},"lambda":0.1,"step":{{"rule":"optimal"}},"x0_sigma":10.0,"seed":0}}"#
    );
    Spec::from_json(&serde_json::from_str(&json).unwrap()).unwrap()
}

/// Builds the case of `spec` and runs every claim and variant on it; returns the measured
/// peak and the estimate.
fn check_all(spec: &Spec, cfg: &Config) -> (usize, f64) {
    let (n, p) = budget::dims(spec);
    let (peak, k) = measure(|| {
        let case = Case::from_spec(spec, cfg).unwrap();
        let outcomes = claims::check_all(&case, cfg);
        assert!(!outcomes.is_empty());
        case.k
    });
    assert_eq!(k, cfg.k_max, "the configurations run at K = k_max (the estimate's horizon)");
    (peak, budget::case_bytes(n, p, spec.m as f64, k as f64, cfg.omega))
}

fn assert_bounds(what: &str, peak: usize, estimate: f64) {
    let peak = peak as f64;
    println!("{what}: peak {peak:.0} bytes, estimate {estimate:.0} ({:.2}×)", estimate / peak);
    assert!(
        estimate >= peak,
        "{what}: the estimate {estimate:.0} bytes is below the measured peak {peak:.0}: the model of \
         budget::case_bytes misses an allocation"
    );
    assert!(
        0.5 * estimate < peak,
        "control, {what}: half the estimate ({:.0}) still bounds the peak {peak:.0}: the bound is loose by more than 2×",
        0.5 * estimate
    );
}

#[test]
fn case_bytes_bounds_every_claim_on_a_case() {
    let ridge_data = r#"{"family":"ridge","param":"data"}"#;
    let gd = r#"{"method":"gradient_descent"}"#;
    let cfg = Config { k_max: 100, target: 1e-300, ..Config::default() };
    let configs = [("ridge_data, gd, M = 20, N = 10 (p = 220)", spec(ridge_data, gd, 20, 10), cfg)];
    for (what, spec, cfg) in configs {
        let (peak, estimate) = check_all(&spec, &cfg);
        assert_bounds(what, peak, estimate);
    }
}

#[test]
fn curves_bytes_bounds_an_error_curve_run() {
    let ridge_weight = r#"{"family":"ridge","param":"weight"}"#;
    let gd = r#"{"method":"gradient_descent"}"#;
    for (m, n, k) in [(100, 50, 400), (30, 10, 2000)] {
        let spec = spec(ridge_weight, gd, m, n);
        let (dn, p) = budget::dims(&spec);
        let inst = spec.build().unwrap();
        let (peak, _) = measure(|| inst.error_curves(k));
        let estimate = budget::curves_bytes(dn, p, k as f64);
        assert_bounds(&format!("error curves, M = {m}, N = {n}, K = {k}"), peak, estimate);
    }
}
