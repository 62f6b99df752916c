//! Certified violations (issue: trustworthy verdicts): a violated paper statement is
//! re-evaluated with the unrolling recomputed in double-double
//! (`src/claims/certify.rs`, `src/unroll/refined.rs`).
//!
//! - the double-double unrolling agrees with the `f64` one to the `f64` rounding, and is
//!   far more accurate where the `f64` one stalls (iterates below `ε‖x*‖`);
//! - a tolerance made 10⁹ times too tight turns rounding into "violations" of (8): each one
//!   is reported *within rounding*, with the double-double figures;
//! - a real violation (a control, one factor `ρ` too many) is *certified*;
//! - on a non-affine map the witness says *not certified* and why.

use unrollcheck::claims::{self, Case, Certification, Config, Verdict};
use unrollcheck::problem::ridge::RidgeParam;
use unrollcheck::problem::robust::RobustParam;
use unrollcheck::spec::{Data, Family, Method, Norm, Spec, StepRule};
use unrollcheck::tol::ToleranceModel;
use unrollcheck::unroll::Linearization;
use unrollcheck::unroll::refined::AffineDd;

fn spec(family: Family, method: Method, norm: Norm, seed: u64) -> Spec {
    Spec {
        family,
        method,
        m: 12,
        n: 4,
        data: Data::Spectrum { s_min: 1.0, s_max: 2.0 },
        lambda: 0.1,
        step: StepRule::Optimal,
        x0_sigma: None,
        seed,
        norm,
    }
}

const TARGETS: Family = Family::Ridge { param: RidgeParam::Targets };

/// Long runs: `ρ^K ≤ 1e-24`, far below the `f64` floor of the iterates' errors (the spectrum
/// of the data is in `[1, 2]`, so `ρ` is small and `K` a few hundred at most).
fn long_cfg() -> Config {
    Config { target: 1e-24, k_max: 600, ..Config::default() }
}

fn certification(v: &Verdict) -> &Certification {
    v.witness().and_then(|w| w.certification.as_ref()).unwrap_or_else(|| panic!("no certification on {v}"))
}

#[test]
fn the_double_double_unrolling_matches_f64_and_goes_below_its_floor() {
    let cfg = long_cfg();
    for (method, norm) in [
        (Method::GradientDescent, Norm::Euclidean),
        (Method::HeavyBall { beta: 0.3 }, Norm::Euclidean),
        (Method::HeavyBall { beta: 0.3 }, Norm::Adapted { eps: 0.1 }),
        (Method::Chebyshev, Norm::Euclidean),
    ] {
        for param in [RidgeParam::Weight, RidgeParam::Targets, RidgeParam::Data] {
            let s = spec(Family::Ridge { param }, method, norm, 3);
            let case = Case::from_spec(&s, &cfg).expect("builds");
            let refined = Case::refined(s.build().expect("builds"), Some(s), case.k).expect("affine");
            let (a, b) = (case.run(), refined.run());
            let scale = case.x_scale().max(1.0);
            for k in 0..=case.k {
                let dx = (a.traj.x(k) - b.traj.x(k)).norm();
                assert!(dx <= 1e-12 * scale, "{method:?}/{param:?}: x_{k} differs by {dx:e}");
                let dj = (&a.fwd[k] - &b.fwd[k]).norm();
                assert!(dj <= 1e-11 * case.j_scale().max(1.0), "{method:?}/{param:?}: Ẋ_{k} differs by {dj:e}");
                let du = (&a.rev[k] - &b.rev[k]).norm();
                assert!(du <= 1e-11 * case.j_scale().max(1.0), "{method:?}/{param:?}: Ū_K^({k}) differs by {du:e}");
            }
            assert!((&case.inst.x_star - &refined.inst.x_star).norm() <= 1e-12 * scale);
            assert!((&case.inst.dx_star - &refined.inst.dx_star).norm() <= 1e-10 * case.j_scale().max(1.0));
            // Below the f64 floor: the refined errors keep falling geometrically.
            let e = &b.curves.e;
            if !matches!(method, Method::Chebyshev) {
                assert!(e[case.k] < 1e-20 * e[0], "{method:?}/{param:?}: e_K/e_0 = {:e}", e[case.k] / e[0]);
                assert!(a.curves.e[case.k] > 1e-18 * e[0], "the f64 run is expected to stall at rounding");
            }
        }
    }
}

/// The double-double sweeps stop where they are told: the truncated reverse sweep from `K'`
/// to `T' > 0` (and its `X̄_{K'}^{(T')}`) and the late start from `T' > 0` agree with the
/// `f64` sweeps over the same `B_k`, `C_k` to the `f64` rounding.
#[test]
fn double_double_sweeps_start_and_stop_at_the_given_indices() {
    let s = spec(Family::Ridge { param: RidgeParam::Data }, Method::HeavyBall { beta: 0.3 }, Norm::Euclidean, 5);
    let inst = s.build().expect("builds");
    let dd = AffineDd::unroll(&inst.map, &inst.x0, 30).expect("affine");
    let lin = Linearization::from_parts(dd.b.clone(), dd.c.iter().map(|c| c.to_f64()).collect());
    for (k_end, stop) in [(20, 7), (30, 1), (12, 12)] {
        let (ubars, xbar) = dd.truncated(k_end, stop);
        let (ubars64, xbar64) = lin.truncated_jacobians(k_end, stop);
        assert_eq!(ubars.len(), ubars64.len(), "one Ū per k = T'..=K'");
        for (i, (u, u64)) in ubars.iter().zip(&ubars64).enumerate() {
            let d = (&u.to_f64() - u64).norm();
            assert!(d <= 1e-12 * u64.norm().max(1.0), "Ū^({}) from K' = {k_end} differs by {d:e}", stop + i);
        }
        let d = (&xbar.to_f64() - &xbar64).norm();
        assert!(d <= 1e-12 * xbar64.norm().max(1.0), "X̄^({stop}) from K' = {k_end} differs by {d:e}");
    }
    let dx0 = nalgebra::DMatrix::from_fn(inst.map.dim_x(), inst.map.dim_u(), |i, j| (i + 2 * j) as f64 * 0.1);
    let late = dd.late_start(9, 15, &dx0);
    let late64 = lin.late_start_jacobians(9, 15, &dx0);
    for (j, (x, x64)) in late.iter().zip(&late64).enumerate() {
        let d = (&x.to_f64() - x64).norm();
        assert!(d <= 1e-12 * x64.norm().max(1.0), "late start from T' = 9, step {j}: differs by {d:e}");
    }
}

#[test]
fn a_rounding_level_violation_is_within_rounding_and_a_real_one_is_certified() {
    let s = Spec { x0_sigma: Some(10.0), ..spec(TARGETS, Method::GradientDescent, Norm::Euclidean, 3) };
    // A tolerance 10⁹ times too tight: the f64 derivative errors stall at rounding level
    // while the bound (19) falls to 1e-24, so (19) is "violated" by rounding.
    let tight = Config { tol: ToleranceModel { safety: 16e-9 }, ..long_cfg() };
    let case = Case::from_spec(&s, &tight).expect("builds");
    let v = claims::check("thm7.bound", "paper", &case, &tight).expect("known");
    assert!(v.violated(), "expected a rounding-level violation with safety 1.6e-8, got {v}");
    match certification(&v) {
        Certification::WithinRounding { lhs, rhs, tol } => assert!(lhs <= &(rhs + tol)),
        other => panic!("expected within rounding, got {other}"),
    }
    assert_eq!(v.word(), "violated (within rounding)");
    let w = v.witness().expect("witness");
    assert!(w.to_string().contains("within rounding: in double-double lhs = "), "{w}");
    // Control: at the default safety the same claim holds (so the violation above is the
    // tightened tolerance's, not the paper's).
    let cfg = long_cfg();
    let case = Case::from_spec(&s, &cfg).expect("builds");
    assert!(claims::check("thm7.bound", "paper", &case, &cfg).expect("known").holds());
    // A real violation (the control with one factor ρ too many) survives double-double.
    let v = claims::check("thm2.rate", "rho_k_plus_1", &case, &cfg).expect("known");
    let w = v.witness().expect("the control is violated");
    assert!(w.certification.is_none(), "controls are not certified: their violation is expected");
    let claim = claims::find("thm2.rate").expect("known");
    match claims::certify::certify(claim, "rho_k_plus_1", &case, &cfg, w) {
        Certification::Certified { lhs, rhs, tol } => assert!(lhs > rhs + tol),
        other => panic!("expected certified, got {other}"),
    }
}

#[test]
fn certification_recomputes_truncated_runs_too() {
    // thm8.bound recomputes late-started runs itself (through `Case::late_start_jacobians`):
    // with the tolerance 10⁹ too tight, its rounding-level violations are within rounding.
    // (An f64 late start on the refined data would pass this too: the f64 recursion error
    // stays below one rounding of the result, the refined tolerance; the next test pins
    // that the refined case's late starts are the double-double ones.)
    let s = Spec { x0_sigma: Some(10.0), ..spec(TARGETS, Method::GradientDescent, Norm::Euclidean, 3) };
    let tight = Config { tol: ToleranceModel { safety: 16e-9 }, ..long_cfg() };
    let case = Case::from_spec(&s, &tight).expect("builds");
    let v = claims::check("thm8.bound", "paper", &case, &tight).expect("known");
    assert!(v.violated(), "expected a rounding-level violation with safety 1.6e-8, got {v}");
    assert!(matches!(certification(&v), Certification::WithinRounding { .. }), "thm8.bound: {}", certification(&v));
    // A real violation: the curse term dropped, on the ridge weight (where M_u > 0).
    let claim = claims::find("thm8.bound").expect("known");
    let cfg = long_cfg();
    let s = Spec { family: Family::Ridge { param: RidgeParam::Weight }, ..s };
    let case = Case::from_spec(&s, &cfg).expect("builds");
    let v = claims::check("thm8.bound", "no_curse_term", &case, &cfg).expect("known");
    let w = v.witness().expect("the control is violated");
    assert!(matches!(
        claims::certify::certify(claim, "no_curse_term", &case, &cfg, w),
        Certification::Certified { .. }
    ));
}

#[test]
fn a_non_affine_map_is_not_certified_and_says_why() {
    let s = spec(
        Family::PseudoHuber { param: RobustParam::Weight, delta: 0.5 },
        Method::GradientDescent,
        Norm::Euclidean,
        3,
    );
    let cfg = Config::default();
    let case = Case::from_spec(&s, &cfg).expect("builds");
    let v = claims::check("thm2.rate", "rho_k_plus_1", &case, &cfg).expect("known");
    let w = v.witness().expect("the control is violated");
    let claim = claims::find("thm2.rate").expect("known");
    match claims::certify::certify(claim, "rho_k_plus_1", &case, &cfg, w) {
        Certification::NotCertified { reason } => assert!(reason.contains("not affine"), "{reason}"),
        other => panic!("expected not certified, got {other}"),
    }
}

#[test]
fn a_refined_case_late_starts_in_double_double() {
    let cfg = long_cfg();
    let s = Spec {
        x0_sigma: Some(10.0),
        ..spec(Family::Ridge { param: RidgeParam::Weight }, Method::HeavyBall { beta: 0.3 }, Norm::Euclidean, 4)
    };
    let case = Case::from_spec(&s, &cfg).expect("builds");
    let refined = Case::refined(s.build().expect("builds"), Some(s), case.k).expect("affine");
    let dd = unrollcheck::unroll::refined::AffineDd::unroll(&refined.inst.map, &refined.inst.x0, 2 * case.k + 1)
        .expect("affine");
    let t = case.k / 4;
    let got = refined.late_start_jacobians(t, case.k - t, &refined.inst.dx0);
    let want: Vec<_> = dd.late_start(t, case.k - t, &refined.inst.dx0).iter().map(|j| j.to_f64()).collect();
    assert_eq!(got, want, "the refined case's late starts are the rounded double-double ones");
    // Control: the f64 recursion on the same (rounded) data differs in the last bits.
    let f64_run = refined.lin().late_start_jacobians(t, case.k - t, &refined.inst.dx0);
    assert_ne!(got, f64_run);
    assert!(!case.is_refined() && refined.is_refined());
}

#[test]
fn a_recomputation_too_large_for_memory_is_refused_with_its_estimate() {
    // ridge with the data as parameter: p = M·N + M entries; at M = 60, N = 20 and K = 600
    // the double-double run would take about 0.7 GiB, above the 0.5 GiB of one certification.
    let s = Spec {
        m: 60,
        n: 20,
        x0_sigma: Some(10.0),
        ..spec(Family::Ridge { param: RidgeParam::Data }, Method::GradientDescent, Norm::Euclidean, 3)
    };
    let cfg = Config { target: 1e-300, k_max: 600, ..Config::default() };
    let case = Case::from_spec(&s, &cfg).expect("builds");
    assert_eq!(case.k, 600);
    let claim = claims::find("thm2.rate").expect("known");
    let v = claims::check("thm2.rate", "rho_k_plus_1", &case, &cfg).expect("known");
    let w = v.witness().expect("the control is violated");
    match claims::certify::certify(claim, "rho_k_plus_1", &case, &cfg, w) {
        Certification::NotCertified { reason } => assert!(reason.contains("GiB"), "{reason}"),
        other => panic!("expected a refusal, got {other}"),
    }
}

/// The double-double kernels at double-double accuracy (survivors of `cargo mutants` on
/// `src/unroll/reference.rs`: an `f64`-accurate kernel passes every comparison with `f64`).
/// Residuals are formed in double-double and must be at its unit roundoff `2⁻¹⁰⁴ ≈ 4.9e-32`
/// (times a small factor), far below `f64`'s `1.1e-16`.
#[test]
fn double_double_kernels_are_double_double_accurate() {
    use twofloat::TwoFloat;
    use unrollcheck::unroll::reference::{DdMatrix, div, solve_i_minus};
    let u = 2f64.powi(-104);
    for (a, b) in [(1.0, 3.0), (2.0, 7.0), (-5.0, 0.3), (1e10, 3e-7), (0.1, -9.0)] {
        let (a, b) = (TwoFloat::from(a), TwoFloat::from(b));
        let q = div(a, b);
        let residual = f64::from(b * q - a).abs();
        assert!(residual <= 8.0 * u * f64::from(a).abs(), "div({a:?}, {b:?}): residual {residual:e}");
        assert!(q.lo() != 0.0, "div({a:?}, {b:?}) has no low part: only f64-accurate");
    }
    // A product and a norm against exact integer arithmetic.
    let x = DdMatrix::from_f64(&nalgebra::DMatrix::from_fn(3, 4, |i, j| (1 + i + 2 * j) as f64));
    let y = DdMatrix::from_f64(&nalgebra::DMatrix::from_fn(
        4,
        2,
        |i, j| if i == j { 0.0 } else { (3 * i + j) as f64 - 4.0 },
    ));
    let p = DdMatrix::mul(&x, &y);
    for i in 0..3 {
        for j in 0..2 {
            let exact: f64 =
                (0..4).map(|l| (1 + i + 2 * l) as f64 * if l == j { 0.0 } else { (3 * l + j) as f64 - 4.0 }).sum();
            assert_eq!(f64::from(p.get(i, j)), exact, "(xy)[{i},{j}]");
        }
    }
    assert_eq!(p.norm(), unrollcheck::linalg::spectral_norm(&p.to_f64()));
    assert!(p.norm() > 1.0, "the norm of a product with entries up to tens");
    // (I − B)X = R solved to double-double accuracy.
    let b = nalgebra::DMatrix::from_fn(3, 3, |i, j| 0.1 * (i as f64 - j as f64) + if i == j { 0.3 } else { 0.05 });
    let r = DdMatrix::from_f64(&nalgebra::DMatrix::from_fn(3, 2, |i, j| 1.0 / (1 + i + j) as f64));
    let sol = solve_i_minus(&b, &r).expect("I − B is regular");
    let i_minus_b = DdMatrix::identity(3).plus(&DdMatrix::from_f64(&(-&b)));
    let back = DdMatrix::mul(&i_minus_b, &sol);
    for i in 0..3 {
        for j in 0..2 {
            let res = f64::from(back.get(i, j) - r.get(i, j)).abs();
            assert!(res <= 64.0 * u, "(I − B)X − R at [{i},{j}] = {res:e}");
        }
    }
}

/// `window_growth` (the amplification bound of the forward = reverse tolerance) against
/// its definition by brute force, `max(1, max_{i<j} ‖B_{j−1} ⋯ B_i‖_F)` over every window
/// without the early cuts, on heavy-ball (products that first grow: the bound is above 1)
/// and gradient descent (exactly 1 on ridge, where `‖B‖_F < 1`; a single `‖B_k‖_F > 1` on
/// pseudo-Huber), on ridge (every `B_k` the same: the constant shortcut) and pseudo-Huber
/// (`B_k` varies with `x_k`: every start is walked, and the order of the factors matters). Survivors of `cargo mutants` on
/// `src/unroll/reference.rs` with the engine, calibration and certify tests alone.
#[test]
fn window_growth_is_the_largest_product_of_consecutive_jacobians() {
    use unrollcheck::unroll::reference::window_growth;
    use unrollcheck::unroll::{Linearization, Trajectory};
    let huber = Family::PseudoHuber { param: RobustParam::Targets, delta: 0.5 };
    let heavy = Method::HeavyBall { beta: 0.9 };
    for (family, method, above_one, constant) in [
        (TARGETS, heavy, true, true),
        (TARGETS, Method::GradientDescent, false, true),
        (huber, heavy, true, false),
        (huber, Method::GradientDescent, true, false),
    ] {
        let s = Spec { x0_sigma: Some(10.0), ..spec(family, method, Norm::Euclidean, 2) };
        let inst = s.build().expect("builds");
        let k = 40;
        let traj = Trajectory::run(&inst.map, &inst.x0, k);
        let lin = Linearization::along(&inst.map, &traj, k);
        let label = format!("{family:?} {method:?}");
        assert_eq!((1..k).all(|j| lin.b(j) == lin.b(0)), constant, "{label}: B_k constant?");
        for range in [0..k, 5..25] {
            // Brute force over every window, keeping where the maximum is attained.
            let (mut brute, mut longest): (f64, usize) = (1.0, 0);
            for i in range.clone() {
                let mut p = lin.b(i).clone();
                for j in i + 1..=range.end {
                    if p.norm() > brute {
                        (brute, longest) = (p.norm(), j - i);
                    }
                    if j < range.end {
                        p = lin.b(j) * p;
                    }
                }
            }
            let got = window_growth(&lin, range.clone());
            assert!((got - brute).abs() <= 1e-12 * brute, "{label} {range:?}: {got} vs brute force {brute}");
            assert_eq!(got > 1.0 + 1e-9, above_one, "{label} {range:?}: growth {got}");
            // On heavy-ball the maximum is a product of several factors, so the factors'
            // order and count are tested, not only the norms of single B_k.
            assert!(
                !matches!(method, Method::HeavyBall { .. }) || longest >= 2,
                "{label} {range:?}: maximum at a window of {longest}"
            );
        }
    }
}
