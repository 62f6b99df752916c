//! Independent-oracle tests of the engine (`problem`, `map`, `unroll`, `instance`, `spec`).
//!
//! | oracle | what it checks | tests |
//! |---|---|---|
//! | dual numbers (num-dual) on the value formula | `Objective::{gradient, hessian, mixed}`, `mixed_vjp_acc` | `<family>::dual_numbers` |
//! | central differences of `FixedPointMap::step` | `d_x` (B), `d_u` (C), `vjp` | `<family>::map_fd_*` |
//! | forward against reverse mode (Remark 3, Sec. 4.1) | `forward_*`, `reverse_*`, `late_start_*`, `truncated_*` | `fwd_rev_*` |
//! | central differences of `u ↦ x*(u)` | `implicit_jacobian` via `Instance` | `<family>::implicit_fd` |
//! | the acceptance instance (`Spec::figure2`) | all of the above at M=50, N=10, K=300 | `figure2_*` |
//! | a frozen NumPy reference (appendix C) | the whole directional protocol | `reference_appendix_c_*` |
//! | planted bugs | each comparison above *can* fail | `negative_*` |
//! | all of the above on Nesterov (both schedules) and logistic regression (issue #16) | | `nesterov::*`, `logistic_*`, `negative_nesterov_*`, `negative_logistic_*` |
//! | dual numbers, differences, dot product, `Dx*` on proximal gradient and FISTA (elastic net, a.e. derivative away from the kinks; issue #16) | `map::proximal` | `proximal::*`, `proximal::negative_*` |
//!
//! Every instance is drawn from a fixed seed (`problem::draw` or `Spec`); every tolerance
//! comes from the model written next to it (see `common/mod.rs` for the rounding model
//! `γ_k = k u/(1 − k u)`, `u = 2⁻⁵³`).

mod common;

use common::*;
use nalgebra::{DMatrix, DVector};
use unrollcheck::instance::Instance;
use unrollcheck::map::{FixedPointMap, GradientDescent};
use unrollcheck::problem::draw;
use unrollcheck::problem::logistic::LogisticParam;
use unrollcheck::problem::ridge::{Ridge, RidgeParam};
use unrollcheck::problem::robust::RobustParam;
use unrollcheck::problem::{Scratch, VecView, VecViewMut};
use unrollcheck::spec::Spec;
use unrollcheck::unroll::{
    Trajectory, forward_jacobians, implicit_jacobian, late_start_jvp, reverse_jacobians, truncated_vjp,
};

/// Ridge weight of the hand-built cases (robust families need `λ > 0`).
const LAMBDA: f64 = 0.1;
/// Momentum of the heavy-ball cases.
const BETA: f64 = 0.5;
/// Transition scale of the pseudo-Huber cases: small enough that `φ''` varies a lot
/// over the residuals (so `B_k` changes along a run).
const DELTA_PH: f64 = 0.5;
/// Transition scale of the classic Huber cases: residuals of N(0,1)-scale data fall on
/// both sides of it.
const DELTA_H: f64 = 1.0;

/// A small case of each family: `M = 8`, `N = 4` (`M = 5`, `N = 3` for the data
/// parameter, whose `p = MN + M` makes the dual numbers cost `O((N + p)²)` per operation).
fn case(fam: Fam, meth: Meth, seed: u64) -> Case {
    let (m, n) = match fam {
        Fam::Ridge(RidgeParam::Data) | Fam::Logistic(LogisticParam::Data) => (5, 3),
        _ => (8, 4),
    };
    Case::draw(fam, meth, m, n, LAMBDA, seed)
}

/// Seeded direction vectors for a case (tangent `du ∈ R^p`, cotangent `w ∈ R^{N_z}`).
fn directions(seed: u64, p: usize, nz: usize) -> (DVector<f64>, DVector<f64>) {
    let mut rng = draw::rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (draw::normal_vector(p, 1.0, &mut rng), draw::normal_vector(nz, 1.0, &mut rng))
}

/// For the classic Huber loss the second derivative must exist at the test point: no
/// residual at `|r| = δ` (a margin of `10⁻³` is far above any rounding), and both regimes
/// present so that the test exercises both branches.
fn assert_huber_point(c: &Case, x: &DVector<f64>) {
    if let Fam::Huber(..) = c.fam {
        assert!(c.kink_margin(x) > 1e-3, "{}: residual at a kink", c.name());
        let inside = c.inside_count(x);
        assert!(inside > 0 && inside < c.dims().0, "{}: only one Huber regime ({inside} residuals inside)", c.name());
    }
}

// ---------------------------------------------------------------------------------------
// 1, 2, 4: per family
// ---------------------------------------------------------------------------------------

fn check_dual(fam: Fam, seed: u64) {
    let c = case(fam, Meth::Gd, seed);
    assert_huber_point(&c, &c.x);
    let f = c.objective(None);
    // The parameter layout of the engine is the one re-derived here (row-major A, then b).
    assert_eq!(f.param(), c.u0(), "{}: parameter layout", c.name());
    let (du, w) = directions(seed, c.dim_u(), c.dims().1);
    objective_vs_dual(f.as_ref(), &c, &c.x, &du, &w).assert(&c.name());
}

fn check_map(fam: Fam, meth: Meth, seed: u64) {
    let c = case(fam, meth, seed);
    let z = c.state(&c.x);
    assert_huber_point(&c, &c.x);
    let map = c.map(None);
    let (du, w) = directions(seed, c.dim_u(), map.dim_x());
    let (_, dz) = directions(seed + 1, 1, map.dim_x());
    map_vs_fd(map.as_ref(), &c, &z, (&dz, &du, &w)).assert(&c.name());
}

fn check_implicit(fam: Fam, meth: Meth, seed: u64) {
    let c = case(fam, meth, seed);
    let inst = Instance::new(c.map(None), c.state(&c.x)).unwrap();
    let x_star = inst.x_star.rows(0, c.dims().1).into_owned();
    assert_huber_point(&c, &x_star);
    let (cmp, _) = implicit_vs_fd(&inst.dx_star, &c);
    cmp.assert(&c.name());
}

macro_rules! family {
    ($name:ident, $fam:expr, $seed:expr) => {
        mod $name {
            use super::*;
            /// Objective derivatives against dual numbers (oracle 1).
            #[test]
            fn dual_numbers() {
                check_dual($fam, $seed);
            }
            /// `B`, `C`, `vjp` of gradient descent against central differences (oracle 2).
            #[test]
            fn map_fd_gradient_descent() {
                check_map($fam, Meth::Gd, $seed);
            }
            /// `B`, `C`, `vjp` of heavy-ball against central differences (oracle 2).
            #[test]
            fn map_fd_heavy_ball() {
                check_map($fam, Meth::Hb(BETA), $seed);
            }
            /// `Dx*` against central differences of `u ↦ x*(u)` (oracle 4), both methods.
            #[test]
            fn implicit_fd() {
                check_implicit($fam, Meth::Gd, $seed);
                check_implicit($fam, Meth::Hb(BETA), $seed);
            }
        }
    };
}

family!(ridge_weight, Fam::Ridge(RidgeParam::Weight), 101);
family!(ridge_targets, Fam::Ridge(RidgeParam::Targets), 102);
family!(ridge_data, Fam::Ridge(RidgeParam::Data), 103);
family!(pseudo_huber_weight, Fam::PseudoHuber(RobustParam::Weight, DELTA_PH), 104);
family!(pseudo_huber_targets, Fam::PseudoHuber(RobustParam::Targets, DELTA_PH), 105);
family!(huber_weight, Fam::Huber(RobustParam::Weight, DELTA_H), 106);
family!(huber_targets, Fam::Huber(RobustParam::Targets, DELTA_H), 107);
family!(logistic_weight, Fam::Logistic(LogisticParam::Weight), 108);
family!(logistic_sample_weights, Fam::Logistic(LogisticParam::SampleWeights), 109);
family!(logistic_data, Fam::Logistic(LogisticParam::Data), 110);

/// Nesterov's method (issue #16): the maps of both schedules against central differences
/// (oracle 2) on a quadratic, a pseudo-Huber and a logistic objective, `Dx*` against the
/// differences of `u ↦ x*(u)` (oracle 4), and forward against reverse mode (oracle 3) on the
/// genuine time-varying map.
mod nesterov {
    use super::*;

    /// The families the momentum maps are checked on.
    const FAMS: [(Fam, u64); 4] = [
        (Fam::Ridge(RidgeParam::Data), 103),
        (Fam::PseudoHuber(RobustParam::Targets, DELTA_PH), 105),
        (Fam::Logistic(LogisticParam::SampleWeights), 109),
        (Fam::Logistic(LogisticParam::Data), 110),
    ];

    /// Constant momentum (strongly convex schedule).
    #[test]
    fn map_fd_constant_momentum() {
        for (fam, seed) in FAMS {
            check_map(fam, Meth::Nag(BETA), seed);
        }
    }

    /// The convex schedule: the maps of iterations 0 (a gradient step), 2, 40 and the limit
    /// `β = 1`, each against the central differences of its own step.
    #[test]
    fn map_fd_convex_schedule() {
        for (fam, seed) in FAMS {
            for k in [Some(0), Some(2), Some(40), None] {
                check_map(fam, Meth::NagConvex(k), seed);
            }
        }
    }

    /// `Dx*` of both schedules (the fixed point does not depend on `β`).
    #[test]
    fn implicit_fd() {
        for (fam, seed) in FAMS {
            check_implicit(fam, Meth::Nag(BETA), seed);
            check_implicit(fam, Meth::NagConvex(Some(5)), seed);
        }
    }

    /// Forward against reverse mode, full and late-started, on the genuine maps (the
    /// convex schedule changes `β_k` at every step; magnitudes with `β = 1`, which bounds
    /// every `β_k`).
    #[test]
    fn fwd_rev() {
        check_fwd_rev(Fam::Logistic(LogisticParam::Weight), Meth::NagConvex(None), 207);
        check_fwd_rev(Fam::PseudoHuber(RobustParam::Weight, DELTA_PH), Meth::NagConvex(None), 208);
        check_fwd_rev(Fam::Logistic(LogisticParam::SampleWeights), Meth::Nag(BETA), 209);
        check_fwd_rev(Fam::Ridge(RidgeParam::Targets), Meth::Nag(BETA), 210);
    }
}

#[test]
fn fwd_rev_gd_logistic_data() {
    check_fwd_rev(Fam::Logistic(LogisticParam::Data), Meth::Gd, 211);
}

// ---------------------------------------------------------------------------------------
// 3: forward against reverse (Remark 3) and late start against truncation (Section 4.1)
// ---------------------------------------------------------------------------------------

/// Iterations of the forward/reverse cases.
const K_FR: usize = 40;
/// Late start / truncation: `T'` and `K'` (with `K' − T'` late-started steps).
const T_PRIME: usize = 15;
const K_PRIME: usize = 40;

/// Runs `K_FR` iterations from `x_0 = 3x` (away from `x*`) and checks the full sweep and
/// the truncated one.
fn check_fwd_rev(fam: Fam, meth: Meth, seed: u64) {
    let c = case(fam, meth, seed);
    let map = c.map(None);
    let traj = Trajectory::run(map.as_ref(), &c.state(&(3.0 * &c.x)), K_FR);
    let (v, w) = directions(seed, c.dim_u(), map.dim_x());
    forward_vs_reverse(map.as_ref(), &c, &traj, 0, K_FR, &v, &w).assert(&c.name());
    forward_vs_reverse(map.as_ref(), &c, &traj, T_PRIME, K_PRIME, &v, &w).assert(&format!("{} (late start)", c.name()));
}

#[test]
fn fwd_rev_gd_ridge_weight() {
    check_fwd_rev(Fam::Ridge(RidgeParam::Weight), Meth::Gd, 201);
}

#[test]
fn fwd_rev_gd_ridge_data() {
    check_fwd_rev(Fam::Ridge(RidgeParam::Data), Meth::Gd, 202);
}

#[test]
fn fwd_rev_hb_ridge_targets() {
    check_fwd_rev(Fam::Ridge(RidgeParam::Targets), Meth::Hb(BETA), 203);
}

#[test]
fn fwd_rev_gd_pseudo_huber_weight() {
    check_fwd_rev(Fam::PseudoHuber(RobustParam::Weight, DELTA_PH), Meth::Gd, 204);
}

#[test]
fn fwd_rev_hb_pseudo_huber_targets() {
    check_fwd_rev(Fam::PseudoHuber(RobustParam::Targets, DELTA_PH), Meth::Hb(BETA), 205);
}

#[test]
fn fwd_rev_gd_huber_targets() {
    check_fwd_rev(Fam::Huber(RobustParam::Targets, DELTA_H), Meth::Gd, 206);
}

// ---------------------------------------------------------------------------------------
// 5: the acceptance instance
// ---------------------------------------------------------------------------------------

/// Seed of the acceptance instance.
const FIG2_SEED: u64 = 2026;
/// Iterations of the acceptance instance.
const FIG2_K: usize = 300;

/// The data of `Spec::figure2(seed)` drawn again, in `Spec::build`'s order (A row by
/// row from U(0,1), then b from N(0,1)), as a [`Case`]; the step `α = 2/(L + μ)` is
/// computed here from the eigenvalues of `AᵀA + λI` (it only enters the magnitudes of
/// the rounding model). The test checks that the replica has the instance's `x*`.
fn figure2_replica(spec: &Spec) -> Case {
    let mut rng = draw::rng(spec.seed);
    let a = draw::uniform_matrix(spec.m, spec.n, &mut rng);
    let b = draw::normal_vector(spec.m, 1.0, &mut rng);
    let ev = a.tr_mul(&a).symmetric_eigenvalues();
    let alpha = 2.0 / (ev.max() + ev.min() + 2.0 * spec.lambda);
    Case {
        fam: Fam::Ridge(RidgeParam::Weight),
        meth: Meth::Gd,
        a,
        b,
        lambda: spec.lambda,
        alpha,
        x: DVector::zeros(spec.n),
        w: DVector::from_element(spec.m, 1.0),
        seed: spec.seed,
    }
}

/// Forward and reverse full Jacobians agree to `1e-12` relative (acceptance), and within
/// the rounding model of `forward_vs_reverse`.
#[test]
fn figure2_forward_equals_reverse() {
    let spec = Spec::figure2(FIG2_SEED);
    let inst = spec.build().unwrap();
    let c = figure2_replica(&spec);
    let traj = inst.run(FIG2_K);
    let zero = DMatrix::zeros(spec.n, 1);
    let f = &forward_jacobians(&inst.map, &traj, &zero)[FIG2_K];
    let r = &reverse_jacobians(&inst.map, &traj).0[0];
    let rel = (f - r).norm() / r.norm();
    assert!(rel <= 1e-12, "figure2 seed {FIG2_SEED}: ‖Ẋ_K − Ū^(0)‖/‖Ū^(0)‖ = {rel:.3e} > 1e-12");
    let (v, w) = directions(FIG2_SEED, 1, spec.n);
    forward_vs_reverse(&inst.map, &c, &traj, 0, FIG2_K, &v, &w).assert("figure2");
}

/// `Dx*` agrees with central differences of `λ ↦ x*(λ)` to `1e-6` relative (acceptance),
/// and within the model of `implicit_vs_fd`.
#[test]
fn figure2_implicit_matches_finite_differences() {
    let spec = Spec::figure2(FIG2_SEED);
    let inst = spec.build().unwrap();
    let c = figure2_replica(&spec);
    let x_rep = c.objective(None).minimizer().unwrap();
    assert!(
        (&x_rep - &inst.x_star).amax() <= 1e-12 * inst.x_star.amax(),
        "the replica of figure2's data does not reproduce its x*"
    );
    let (cmp, fd) = implicit_vs_fd(&inst.dx_star, &c);
    cmp.assert("figure2");
    let rel = (&fd - &inst.dx_star).norm() / inst.dx_star.norm();
    assert!(rel <= 1e-6, "figure2: ‖FD − Dx*‖/‖Dx*‖ = {rel:.3e} > 1e-6");
}

/// With `x_0 = x* + N(0, 10²)` (figure2's `x_0`) the forward error first grows: `k̇ > 0`.
#[test]
fn figure2_forward_error_first_grows() {
    let inst = Spec::figure2(FIG2_SEED).build().unwrap();
    let curves = inst.error_curves(FIG2_K);
    assert!(curves.k_dot() > 0, "figure2 seed {FIG2_SEED}: k̇ = 0, ė = {:?}", &curves.edot[..5]);
}

/// Control for the previous test: started *at* `x*`, `Ẋ_k − Dx* = −Bᵏ Dx*` with
/// `‖B‖ < 1`, so `ė_k` decreases from `k = 0` and `k̇ = 0`: `k̇ > 0` above is informative.
#[test]
fn figure2_control_no_curse_from_solution() {
    let spec = Spec { x0_sigma: Some(0.0), ..Spec::figure2(FIG2_SEED) };
    let curves = spec.build().unwrap().error_curves(FIG2_K);
    assert_eq!(curves.k_dot(), 0, "ė = {:?}", &curves.edot[..5]);
}

// ---------------------------------------------------------------------------------------
// 6: the frozen cross-implementation reference (appendix C)
// ---------------------------------------------------------------------------------------

#[path = "support/reference.rs"]
mod reference_data;
use reference_data::{RefInstance, reference};

/// How the tangent `v = (vA, vb)` is flattened: the protocol's row-major order, or the
/// column-major one (a classic bug; used by the negative control).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flatten {
    RowMajor,
    ColumnMajor,
}

/// Relative agreement of two careful float64 implementations stated by the reference's
/// README (`< 1e-11`). Ours and the reference are each within that spread of any other
/// careful implementation, so by the triangle inequality we allow twice it.
const REF_REL: f64 = 2e-11;

/// Runs the reference protocol on one instance and compares every quantity; returns the
/// worst comparison per quantity (`fwd_err`, `rev_err`, `iter_err`, `wJv_fwd`, `wJv_rev`).
///
/// Tolerances: `REF_REL·|ref|` for the derivative quantities (the README's statement).
/// For `iter_err = ‖x_{K'} − x*‖` the README excepts values at rounding level; we add an
/// absolute floor from the rounding model of gradient descent: each step commits at most
/// `ε_s` per entry ([`Case::step_rounding`] at `x*`), damped by `ρ = max|1 − α·eig|`
/// (`‖B‖ = ρ` on ridge), so the iterates stagnate within `√N ε_s/(1 − ρ)` of the exact
/// ones; `x*` itself is within `δ = 2√N γ_k max grad_mag(x*)/μ` (polished gradient, strong
/// convexity with `μ = m`). Two implementations: floor `= 2(√N ε_s/(1 − ρ) + δ)`.
fn check_reference_instance(ri: &RefInstance, flatten: Flatten) -> Vec<Cmp> {
    let (m, n) = (ri.a.len(), ri.n);
    let a = DMatrix::from_fn(m, n, |i, j| ri.a[i][j]);
    let b = DVector::from_vec(ri.b.clone());
    let mut v = Vec::with_capacity(m * n + m);
    match flatten {
        Flatten::RowMajor => (0..m).for_each(|i| (0..n).for_each(|j| v.push(ri.va[i][j]))),
        Flatten::ColumnMajor => (0..n).for_each(|j| (0..m).for_each(|i| v.push(ri.va[i][j]))),
    }
    v.extend(ri.vb.iter());
    let v = DVector::from_vec(v);
    let w = DVector::from_vec(ri.w.clone());
    let label = format!("reference N={} run={}", ri.n, ri.run);

    let mut worst: Vec<Cmp> = ["fwd_err", "rev_err", "iter_err", "wJv_fwd", "wJv_rev"]
        .iter()
        .map(|q| Cmp::new(format!("{label}: {q}"), 0.0, 1.0))
        .collect();
    for (name, &alpha) in &ri.alphas {
        let f = Ridge::new(a.clone(), b.clone(), 0.0, RidgeParam::Data).unwrap();
        let map = GradientDescent::new(f, alpha).unwrap();
        let inst = Instance::new(map, DVector::zeros(n)).unwrap();
        let rows = &ri.results[name];
        let k_max = rows.iter().map(|r| r.k_prime).max().unwrap();
        let traj = inst.run(k_max);
        let dxv = &inst.dx_star * &v;
        let wdx = inst.dx_star.tr_mul(&w);

        // Rounding floor for iter_err (see above).
        let c = Case {
            fam: Fam::Ridge(RidgeParam::Data),
            meth: Meth::Gd,
            a: a.clone(),
            b: b.clone(),
            lambda: 0.0,
            alpha,
            x: inst.x_star.clone(),
            w: DVector::from_element(a.nrows(), 1.0),
            seed: 0,
        };
        let rho = (1.0 - alpha * ri.m).abs().max((1.0 - alpha * ri.l).abs());
        let sqrt_n = (n as f64).sqrt();
        let delta = 2.0 * sqrt_n * gamma(c.k_obj()) * c.grad_mag(&inst.x_star).max() / ri.m;
        let floor_x = 2.0 * (sqrt_n * c.step_rounding(&inst.x_star) / (1.0 - rho) + delta);

        for row in rows {
            let ctx = format!("{label} α={name} T={} T'={} K'={}", row.t, row.t_prime, row.k_prime);
            let steps = ri.k - row.t;
            let mut xv = DVector::zeros(n);
            let zero = DVector::zeros(n);
            late_start_jvp(&inst.map, &traj, row.t_prime, steps, v.as_view(), zero.as_view(), |j, x| {
                if j == steps {
                    xv.copy_from(x);
                }
            });
            let mut wu = DVector::zeros(v.len());
            truncated_vjp(&inst.map, &traj, row.k_prime, row.t_prime, w.as_view(), |k, ub, _| {
                if k == row.t_prime {
                    wu.copy_from(ub);
                }
            });
            let ours = [
                (&xv - &dxv).norm(),
                (&wu - &wdx).norm(),
                (traj.x(row.k_prime) - &inst.x_star).norm(),
                w.dot(&xv),
                wu.dot(&v),
            ];
            let theirs = [row.fwd_err, row.rev_err, row.iter_err, row.wjv_fwd, row.wjv_rev];
            for q in 0..5 {
                let floor = if q == 2 { floor_x } else { 0.0 };
                let scale = theirs[q].abs().max(f64::MIN_POSITIVE);
                let cmp = Cmp::new(
                    format!("{ctx}: {}", worst[q].what.rsplit(": ").next().unwrap()),
                    (ours[q] - theirs[q]).abs() / scale,
                    REF_REL + floor / scale,
                );
                worst[q] = worst[q].clone().worse(cmp);
            }
        }
    }
    worst
}

/// The reference file follows its own protocol (`K`, `T'`, `K'`, `L`, `m`), checked here
/// independently, so that a corrupted copy cannot pass silently.
#[test]
fn reference_appendix_c_protocol() {
    let rf = reference();
    assert_eq!(rf.instances.len(), 6);
    for ri in &rf.instances {
        assert_eq!((ri.a.len(), ri.a[0].len()), (rf.m, ri.n));
        let a = DMatrix::from_fn(rf.m, ri.n, |i, j| ri.a[i][j]);
        let ev = a.tr_mul(&a).symmetric_eigenvalues();
        // Eigenvalues of AᵀA carry absolute errors of order γ_M ‖A‖_F² in either
        // implementation; twice that bounds the difference.
        let tol = 2.0 * gamma(rf.m + ri.n) * a.norm_squared();
        assert!((ev.max() - ri.l).abs() <= tol && (ev.min() - ri.m).abs() <= tol);
        let rho = (ri.l - ri.m) / (ri.l + ri.m);
        let k = ((1e-3f64).ln() / rho.ln()).ceil().min(1000.0) as usize;
        assert_eq!(k, ri.k);
        for rows in ri.results.values() {
            for (row, &t) in rows.iter().zip(&ri.ts) {
                assert_eq!(row.t, t);
                assert_eq!(row.t_prime, t + rf.omega * t);
                assert_eq!(row.k_prime, ri.k + rf.omega * t);
            }
        }
    }
}

/// Our late-started forward JVP, truncated reverse VJP and iterate errors reproduce the
/// NumPy reference (oracle 6), N ∈ {2, 10}.
#[test]
fn reference_appendix_c_small() {
    let rf = reference();
    for ri in rf.instances.iter().filter(|ri| ri.n <= 10) {
        for c in check_reference_instance(ri, Flatten::RowMajor) {
            c.assert("appendix C reference");
        }
    }
}

/// As [`reference_appendix_c_small`], N = 40 (K' up to 3400, p = 2050). About 0.1 s
/// with `--release` (the README's command) but ~20 s in an unoptimised build, where the
/// engine's nalgebra kernels run at opt-level 0; so it runs only in optimised builds.
#[test]
#[cfg_attr(debug_assertions, ignore = "N = 40 reference takes ~20 s unoptimised; run with --release")]
fn reference_appendix_c_large() {
    let rf = reference();
    for ri in rf.instances.iter().filter(|ri| ri.n > 10) {
        for c in check_reference_instance(ri, Flatten::RowMajor) {
            c.assert("appendix C reference");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 7: negative controls — each comparison above can fail
// ---------------------------------------------------------------------------------------

/// Oracle 1: scaling the mixed derivative, the Hessian product, or the transposed mixed
/// product by `1.001` is caught by the dual-number check, on every family.
#[test]
fn negative_dual_catches_perturbed_second_derivatives() {
    let fams = [
        (Fam::Ridge(RidgeParam::Weight), 101),
        (Fam::Ridge(RidgeParam::Targets), 102),
        (Fam::Ridge(RidgeParam::Data), 103),
        (Fam::PseudoHuber(RobustParam::Weight, DELTA_PH), 104),
        (Fam::PseudoHuber(RobustParam::Targets, DELTA_PH), 105),
        (Fam::Huber(RobustParam::Weight, DELTA_H), 106),
        (Fam::Huber(RobustParam::Targets, DELTA_H), 107),
        (Fam::Logistic(LogisticParam::Weight), 108),
        (Fam::Logistic(LogisticParam::SampleWeights), 109),
        (Fam::Logistic(LogisticParam::Data), 110),
    ];
    for (fam, seed) in fams {
        let c = case(fam, Meth::Gd, seed);
        let f = c.objective(None);
        let (du, w) = directions(seed, c.dim_u(), c.dims().1);
        let mut bad = FaultyObjective::new(f.as_ref());
        bad.mixed_scale = 1.001;
        let r = objective_vs_dual(&bad, &c, &c.x, &du, &w);
        r.mixed.assert_fails(&c.name());
        r.dot.assert_fails(&c.name());
        let mut bad = FaultyObjective::new(f.as_ref());
        bad.hvp_scale = 1.001;
        objective_vs_dual(&bad, &c, &c.x, &du, &w).hess.assert_fails(&c.name());
        let mut bad = FaultyObjective::new(f.as_ref());
        bad.vjp_scale = 1.001;
        objective_vs_dual(&bad, &c, &c.x, &du, &w).vjp.assert_fails(&c.name());
    }
}

/// Oracle 2: a flipped C-term is caught by the C check; `B_{k+1}` in place of `B_k` by the
/// B check (pseudo-Huber, where `B` depends on `x`); `B w` in place of `Bᵀw` by the vjp
/// check (heavy-ball, whose `B` is not symmetric).
#[test]
fn negative_map_fd_catches_planted_faults() {
    let c = case(Fam::PseudoHuber(RobustParam::Targets, DELTA_PH), Meth::Gd, 105);
    let map = c.map(None);
    let z = c.state(&c.x);
    let (du, w) = directions(105, c.dim_u(), map.dim_x());
    let (_, dz) = directions(106, 1, map.dim_x());
    let flip = FaultyMap { inner: map.as_ref(), fault: MapFault::FlipC };
    let r = map_vs_fd(&flip, &c, &z, (&dz, &du, &w));
    r.c.assert_fails(&c.name());
    r.dot.assert_fails(&c.name());
    let next = FaultyMap { inner: map.as_ref(), fault: MapFault::NextIterate };
    map_vs_fd(&next, &c, &z, (&dz, &du, &w)).b.assert_fails(&c.name());

    let c = case(Fam::Ridge(RidgeParam::Data), Meth::Hb(BETA), 103);
    let map = c.map(None);
    let z = c.state(&c.x);
    let (du, w) = directions(103, c.dim_u(), map.dim_x());
    let (_, dz) = directions(104, 1, map.dim_x());
    let nt = FaultyMap { inner: map.as_ref(), fault: MapFault::VjpNoTranspose };
    let r = map_vs_fd(&nt, &c, &z, (&dz, &du, &w));
    r.vjp.assert_fails(&c.name());
    r.dot.assert_fails(&c.name());
}

/// Oracle 3: a forward mode with a flipped C-term, or with `B_{k+1}` in place of `B_k`,
/// disagrees with the (genuine) reverse mode; and the literal reading `Ẋ_{T'}^{(K')}` of
/// Section 4.1 disagrees with the truncated reverse sweep `Ū_{K'}^{(T')}` (subtlety 2).
#[test]
fn negative_fwd_rev_catches_planted_faults() {
    let c = case(Fam::PseudoHuber(RobustParam::Weight, DELTA_PH), Meth::Gd, 204);
    let map = c.map(None);
    let traj = Trajectory::run(map.as_ref(), &c.state(&(3.0 * &c.x)), 2 * K_FR);
    let (v, w) = directions(204, c.dim_u(), map.dim_x());
    for fault in [MapFault::FlipC, MapFault::NextIterate] {
        let bad = FaultyMap { inner: map.as_ref(), fault };
        // The dense modes both build `B_k`, `C_k` from the same (faulty) `jvp`, so only
        // the directional comparison (`jvp` against `vjp`) can see these faults.
        let r = forward_vs_reverse(&bad, &c, &traj, 0, K_FR, &v, &w);
        r.dir.assert_fails(&format!("{fault:?}"));
    }
    let r = forward_vs_reverse_steps(map.as_ref(), &c, &traj, T_PRIME, K_PRIME, K_PRIME, &v, &w);
    r.full.assert_fails("literal index K'");
    r.dir.assert_fails("literal index K'");
}

/// Oracle 4: an implicit Jacobian computed from a map whose C-term is off by `0.1 %` is
/// caught by the finite differences of `u ↦ x*(u)`.
#[test]
fn negative_implicit_catches_scaled_c() {
    for fam in [Fam::Ridge(RidgeParam::Data), Fam::PseudoHuber(RobustParam::Targets, DELTA_PH)] {
        let c = case(fam, Meth::Gd, 301);
        let map = c.map(None);
        let x_star = map.fixed_point().unwrap();
        let bad = FaultyMap { inner: map.as_ref(), fault: MapFault::ScaleC(1.001) };
        let dx_bad = implicit_jacobian(&bad, &x_star).unwrap();
        implicit_vs_fd(&dx_bad, &c).0.assert_fails(&c.name());
    }
}

/// Oracle 6: flattening the reference tangent `vA` column by column instead of row by
/// row changes `fwd_err` and `wJv_rev` beyond the tolerance.
#[test]
fn negative_reference_catches_column_major_tangent() {
    let rf = reference();
    let ri = rf.instances.iter().find(|ri| ri.n == 10).unwrap();
    let r = check_reference_instance(ri, Flatten::ColumnMajor);
    r[0].assert_fails("column-major vA");
    r[4].assert_fails("column-major vA");
}

/// `argmin`/`argmax` against an explicit scan for the *first* extreme (ties included), on
/// fixed and random sequences whose extreme is not at index 0.
#[test]
fn argmin_argmax_return_the_first_extreme() {
    use unrollcheck::unroll::{argmax, argmin};
    let first = |v: &[f64], better: fn(f64, f64) -> bool| -> usize {
        let mut best = 0;
        for i in 1..v.len() {
            if better(v[i], v[best]) {
                best = i;
            }
        }
        best
    };
    let v = [3.0, 1.0, 2.0, 1.0, 5.0, 5.0];
    assert_eq!((argmin(&v), argmax(&v)), (1, 4));
    let mut rng = draw::rng(91);
    for len in 2..40 {
        let v: Vec<f64> = draw::normal_vector(len, 1.0, &mut rng).iter().map(|x| (x * 4.0).round()).collect();
        assert_eq!(argmin(&v), first(&v, |a, b| a < b), "{v:?}");
        assert_eq!(argmax(&v), first(&v, |a, b| a > b), "{v:?}");
    }
    // Negative control: the oracle tells the first minimum from the last.
    assert_ne!(first(&[1.0, 0.0, 0.0], |a, b| a < b), first(&[1.0, 0.0, 0.0], |a, b| a <= b));
}

/// `forward_jvp` against an independent oracle: central differences in `u = λ` of the
/// iterates themselves (`x_k(λ ± h)`, two plain runs), on ridge-weight gradient descent.
/// `x_k` is a polynomial in `λ`, so the difference quotient is accurate to `O(h²)` plus
/// rounding `≈ ε‖x‖/h`.
#[test]
fn forward_jvp_matches_differences_of_the_iterates() {
    let mut rng = draw::rng(77);
    let a = draw::uniform_matrix(8, 3, &mut rng);
    let b = draw::normal_vector(8, 1.0, &mut rng);
    let map = |lam: f64| {
        GradientDescent::new(Ridge::new(a.clone(), b.clone(), lam, RidgeParam::Weight).unwrap(), 0.05).unwrap()
    };
    let (k, h) = (30, 1e-5);
    let x0 = DVector::from_element(3, 1.0);
    let (plus, minus) = (Trajectory::run(&map(LAMBDA + h), &x0, k), Trajectory::run(&map(LAMBDA - h), &x0, k));
    let m0 = map(LAMBDA);
    let traj = Trajectory::run(&m0, &x0, k);
    let (v, zero) = (DVector::from_element(1, 1.0), DVector::zeros(3));
    let (mut seen, mut worst, mut flipped) = (0, 0.0_f64, 0.0_f64);
    unrollcheck::unroll::forward_jvp(&m0, &traj, v.as_view(), zero.as_view(), |j, xv| {
        let fd = (plus.x(j) - minus.x(j)) / (2.0 * h);
        worst = worst.max((xv - &fd).norm() / (1.0 + fd.norm()));
        flipped = flipped.max((xv + &fd).norm() / (1.0 + fd.norm()));
        seen += 1;
    });
    assert_eq!(seen, k + 1, "forward_jvp must observe Ẋ_0 v, …, Ẋ_K v");
    assert!(worst < 1e-7, "forward JVP differs from the differences of the iterates by {worst:.3e}");
    // Negative control: the wrong sign of the tangent is seen.
    assert!(flipped > 1e-3, "{flipped:.3e}");
}

/// The error curves by hand (survivors of `cargo mutants` on `src/unroll/` with the engine
/// tests alone): `e_k = ‖x_k − x*‖`, `ė_k`, `ē_k` from the dense Jacobians, the directional
/// errors `‖Ẋ_k v − Dx* v‖`, `‖wᵀŪ^{(k)} − wᵀDx*‖`, `k̄ = argmin ē`, and `is_empty`.
#[test]
fn error_curves_match_their_definitions() {
    use unrollcheck::linalg::spectral_norm;
    use unrollcheck::unroll::{ErrorCurves, argmin};
    let spec = Spec { x0_sigma: Some(10.0), ..Spec::figure2(3) };
    let inst = spec.build().expect("builds");
    let (n, p) = (inst.map.dim_x(), inst.map.dim_u());
    let k = 60;
    let traj = inst.run(k);
    assert!(!traj.is_empty() && inst.run(0).is_empty());
    assert_eq!(traj.len(), k);
    let lin = unrollcheck::unroll::Linearization::along(&inst.map, &traj, 3);
    assert!(!lin.is_empty() && lin.len() == 3);
    assert!(unrollcheck::unroll::Linearization::along(&inst.map, &traj, 0).is_empty());
    let e = traj.errors(&inst.x_star);
    for (j, ej) in e.iter().enumerate() {
        assert_eq!(*ej, (traj.x(j) - &inst.x_star).norm(), "e_{j}");
    }
    let full = ErrorCurves::full(&inst.map, &traj, &inst.x_star, &inst.dx_star, &inst.dx0);
    let fwd = forward_jacobians(&inst.map, &traj, &inst.dx0);
    let (rev, _) = reverse_jacobians(&inst.map, &traj);
    for j in 0..=k {
        assert_eq!(full.e[j], e[j]);
        assert_eq!(full.edot[j], spectral_norm(&(&fwd[j] - &inst.dx_star)), "ė_{j}");
        assert_eq!(full.ebar[j], spectral_norm(&(&rev[j] - &inst.dx_star)), "ē_{j}");
    }
    assert_eq!(full.k_bar(), argmin(&full.ebar));
    assert!(full.k_bar() > 1, "the reverse error first falls on this instance: k̄ = {}", full.k_bar());
    let mut rng = draw::rng(17);
    let v = draw::normal_vector(p, 1.0, &mut rng);
    let w = draw::normal_vector(n, 1.0, &mut rng);
    let dir = ErrorCurves::directional(&inst.map, &traj, &inst.x_star, &inst.dx_star, &v, &w);
    let scale = inst.dx_star.norm() * (v.norm() + w.norm());
    for j in 0..=k {
        let want_dot = (&fwd[j] * &v - &inst.dx_star * &v).norm();
        let want_bar = (rev[j].tr_mul(&w) - inst.dx_star.tr_mul(&w)).norm();
        assert!((dir.edot[j] - want_dot).abs() <= 1e-12 * scale, "directional ė_{j}: {} vs {want_dot}", dir.edot[j]);
        assert!((dir.ebar[j] - want_bar).abs() <= 1e-12 * scale, "directional ē_{j}: {} vs {want_bar}", dir.ebar[j]);
    }
}

/// Chebyshev is time-varying: the directional late start must apply the map of iteration
/// `T' + j` at step `j`, as the dense recursion on `B_k`, `C_k` does (a survivor of
/// `cargo mutants` on `src/unroll/`: `T' + j` → `T' * j` or `T' − j` changed nothing for
/// the time-invariant maps the engine tests used).
#[test]
fn chebyshev_late_start_jvp_uses_the_map_of_each_iteration() {
    use unrollcheck::spec::Method;
    use unrollcheck::unroll::late_start_jacobians;
    let spec = Spec { method: Method::Chebyshev, x0_sigma: Some(10.0), ..Spec::figure2(2) };
    let inst = spec.build().expect("builds");
    assert!(inst.map.capabilities().time_varying);
    let traj = inst.run(40);
    let (t_prime, steps) = (3, 30);
    let mut rng = draw::rng(5);
    let v = draw::normal_vector(inst.map.dim_u(), 1.0, &mut rng);
    let dense = late_start_jacobians(&inst.map, &traj, t_prime, steps, &inst.dx0);
    let zero = DVector::zeros(inst.map.dim_x());
    let mut worst: f64 = 0.0;
    late_start_jvp(&inst.map, &traj, t_prime, steps, v.as_view(), zero.as_view(), |j, xv| {
        let want = &dense[j] * &v;
        worst = worst.max((xv - &want).norm() / want.norm().max(1.0));
    });
    assert!(worst < 1e-10, "directional and dense late starts differ by {worst:e}");
}

// ---------------------------------------------------------------------------------------
// Planted bugs in the maps of issue #16
// ---------------------------------------------------------------------------------------

/// Nesterov's convex schedule with the momentum index off by one in the derivatives:
/// `step_at(k)` uses `β_k`, `jvp_at` (and `vjp_at` when `.1`) use `β_{k+1}` (a classic bug
/// of unrolled accelerated methods).
struct WrongMomentumIndex<'a>(&'a dyn FixedPointMap, bool);

impl FixedPointMap for WrongMomentumIndex<'_> {
    fn dim_x(&self) -> usize {
        self.0.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.0.dim_u()
    }
    fn name(&self) -> String {
        format!("wrong_index({})", self.0.name())
    }
    fn scratch(&self) -> Scratch {
        self.0.scratch()
    }
    fn step_at(&self, k: usize, x: VecView, out: VecViewMut, s: &mut Scratch) {
        self.0.step_at(k, x, out, s)
    }
    fn step_magnitude(&self, k: usize, x: VecView, s: &mut Scratch) -> f64 {
        self.0.step_magnitude(k, x, s)
    }
    fn jvp_at(&self, k: usize, x: VecView, dx: VecView, du: VecView, out: VecViewMut, s: &mut Scratch) {
        self.0.jvp_at(k + 1, x, dx, du, out, s)
    }
    fn vjp_at(&self, k: usize, x: VecView, w: VecView, xb: VecViewMut, ub: VecViewMut, s: &mut Scratch) {
        self.0.vjp_at(if self.1 { k + 1 } else { k }, x, w, xb, ub, s)
    }
    fn fixed_point(&self) -> unrollcheck::Result<DVector<f64>> {
        self.0.fixed_point()
    }
    fn constants(
        &self,
        ball: &unrollcheck::problem::Ball,
    ) -> unrollcheck::Result<unrollcheck::constants::MapConstants> {
        self.0.constants(ball)
    }
    fn capabilities(&self) -> unrollcheck::map::Capabilities<'_> {
        self.0.capabilities()
    }
}

/// Oracles 2 and 3 catch a wrong momentum index in Nesterov's convex schedule: the map of
/// iteration `k = 2` (`β = 2/5`) with the derivatives of iteration 3 (`β = 1/2`) fails the
/// B check against the differences of its step; and a forward mode with the shifted index
/// (`jvp_at` only) disagrees with the genuine reverse mode along a run of the genuine
/// time-varying map.
#[test]
fn negative_nesterov_wrong_momentum_index() {
    let c = case(Fam::Logistic(LogisticParam::SampleWeights), Meth::NagConvex(Some(2)), 109);
    let genuine = Case { meth: Meth::NagConvex(None), ..c.clone() }.map(None);
    let frozen = Frozen { inner: WrongMomentumIndex(genuine.as_ref(), true), k: 2 };
    let z = c.state(&c.x);
    let (du, w) = directions(109, c.dim_u(), frozen.dim_x());
    let (_, dz) = directions(110, 1, frozen.dim_x());
    map_vs_fd(&frozen, &c, &z, (&dz, &du, &w)).b.assert_fails(&format!("{} (β_(k+1) in the Jacobian)", c.name()));

    let c = case(Fam::Logistic(LogisticParam::Weight), Meth::NagConvex(None), 207);
    let map = c.map(None);
    let traj = Trajectory::run(map.as_ref(), &c.state(&(3.0 * &c.x)), K_FR);
    let (v, w) = directions(207, c.dim_u(), map.dim_x());
    let bad = WrongMomentumIndex(map.as_ref(), false);
    forward_vs_reverse(&bad, &c, &traj, 0, K_FR, &v, &w).dir.assert_fails("forward mode with β_(k+1)");
}

/// Heavy-ball's Jacobian in place of Nesterov's (the gradient's derivative taken at `x_1`
/// instead of the extrapolated point `y`): caught by the B check (constant momentum).
struct GradientAtX1<'a> {
    nag: &'a dyn FixedPointMap,
    hb: &'a dyn FixedPointMap,
}

impl FixedPointMap for GradientAtX1<'_> {
    fn dim_x(&self) -> usize {
        self.nag.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.nag.dim_u()
    }
    fn name(&self) -> String {
        format!("gradient_at_x1({})", self.nag.name())
    }
    fn scratch(&self) -> Scratch {
        self.nag.scratch()
    }
    fn step_at(&self, k: usize, x: VecView, out: VecViewMut, s: &mut Scratch) {
        self.nag.step_at(k, x, out, s)
    }
    fn step_magnitude(&self, k: usize, x: VecView, s: &mut Scratch) -> f64 {
        self.nag.step_magnitude(k, x, s)
    }
    fn jvp_at(&self, k: usize, x: VecView, dx: VecView, du: VecView, out: VecViewMut, _s: &mut Scratch) {
        self.hb.jvp_at(k, x, dx, du, out, &mut self.hb.scratch())
    }
    fn vjp_at(&self, k: usize, x: VecView, w: VecView, xb: VecViewMut, ub: VecViewMut, _s: &mut Scratch) {
        self.hb.vjp_at(k, x, w, xb, ub, &mut self.hb.scratch())
    }
    fn fixed_point(&self) -> unrollcheck::Result<DVector<f64>> {
        self.nag.fixed_point()
    }
    fn constants(
        &self,
        ball: &unrollcheck::problem::Ball,
    ) -> unrollcheck::Result<unrollcheck::constants::MapConstants> {
        self.nag.constants(ball)
    }
    fn capabilities(&self) -> unrollcheck::map::Capabilities<'_> {
        self.nag.capabilities()
    }
}

#[test]
fn negative_nesterov_gradient_at_the_wrong_point() {
    let c = case(Fam::PseudoHuber(RobustParam::Targets, DELTA_PH), Meth::Nag(BETA), 105);
    let nag = c.map(None);
    let hb = Case { meth: Meth::Hb(BETA), ..c.clone() }.map(None);
    let bad = GradientAtX1 { nag: nag.as_ref(), hb: hb.as_ref() };
    let z = c.state(&c.x);
    let (du, w) = directions(105, c.dim_u(), nag.dim_x());
    let (_, dz) = directions(106, 1, nag.dim_x());
    let r = map_vs_fd(&bad, &c, &z, (&dz, &du, &w));
    r.b.assert_fails(&c.name());
    r.c.assert_fails(&c.name());
}

/// Logistic regression with a wrong sigmoid derivative, `ℓ''(t) = σ(t)²` in place of
/// `σ(t)σ(−t)`, in the Hessian product: caught by the dual numbers (oracle 1) and by the
/// differences of the gradient step (oracle 2).
struct WrongSigmoidDerivative {
    inner: unrollcheck::problem::logistic::Logistic,
}

impl unrollcheck::problem::Objective for WrongSigmoidDerivative {
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.inner.dim_u()
    }
    fn name(&self) -> String {
        "wrong_sigmoid(logistic)".into()
    }
    fn scratch_len(&self) -> usize {
        self.inner.scratch_len()
    }
    fn value(&self, x: VecView) -> f64 {
        self.inner.value(x)
    }
    fn grad_acc(&self, x: VecView, a: f64, out: VecViewMut, s: &mut Scratch) {
        self.inner.grad_acc(x, a, out, s)
    }
    fn grad_magnitude(&self, x: VecView, s: &mut Scratch) -> f64 {
        self.inner.grad_magnitude(x, s)
    }
    fn hvp_acc(&self, x: VecView, v: VecView, a: f64, mut out: VecViewMut, _s: &mut Scratch) {
        let (am, y, w) = (self.inner.a(), self.inner.y(), self.inner.w());
        let t = (am * x).component_mul(y);
        let sigma = |t: f64| 1.0 / (1.0 + (-t).exp());
        let d = DVector::from_fn(t.len(), |i, _| w[i] * sigma(t[i]) * sigma(t[i]));
        out.gemv_tr(a, am, &(am * v).component_mul(&d), 1.0);
        out.axpy(a * self.inner.lambda(), &v, 1.0);
    }
    fn mixed_jvp_acc(&self, x: VecView, du: VecView, a: f64, out: VecViewMut, s: &mut Scratch) {
        self.inner.mixed_jvp_acc(x, du, a, out, s)
    }
    fn mixed_vjp_acc(&self, x: VecView, w: VecView, a: f64, out: VecViewMut, s: &mut Scratch) {
        self.inner.mixed_vjp_acc(x, w, a, out, s)
    }
    fn param(&self) -> DVector<f64> {
        self.inner.param()
    }
    fn curvature(&self, ball: &unrollcheck::problem::Ball) -> unrollcheck::problem::Curvature {
        self.inner.curvature(ball)
    }
    fn smoothness(&self, ball: &unrollcheck::problem::Ball) -> unrollcheck::problem::Smoothness {
        self.inner.smoothness(ball)
    }
}

#[test]
fn negative_logistic_wrong_sigmoid_derivative() {
    use unrollcheck::problem::logistic::Logistic;
    let c = case(Fam::Logistic(LogisticParam::SampleWeights), Meth::Gd, 109);
    let inner = Logistic::new(c.a.clone(), c.labels(), c.w.clone(), c.lambda, LogisticParam::SampleWeights).unwrap();
    let bad = WrongSigmoidDerivative { inner };
    let (du, w) = directions(109, c.dim_u(), c.dims().1);
    objective_vs_dual(&bad, &c, &c.x, &du, &w).hess.assert_fails(&c.name());
    let map = GradientDescent::new(bad, c.alpha).unwrap();
    let (_, dz) = directions(110, 1, c.dims().1);
    map_vs_fd(&map, &c, &c.x, (&dz, &du, &w)).b.assert_fails(&c.name());
}

/// The magnitudes of the rounding model (issue #12): `grad_magnitude` bounds the sum it
/// magnifies from above (`Σ|terms| ≥ |Σ terms|`, so `≥ ‖∇f(x)‖`) and stays within twice the
/// coarser independent magnitude of `tests/common` (`|φ'(r)| ≤ |r|`, `|ℓ'| < 1`);
/// `step_magnitude` bounds the step `‖A(z)‖` it magnifies. Far points (`10x`) make the
/// gradient large, so a constant or zero magnitude fails.
#[test]
fn step_and_gradient_magnitudes_bound_what_they_magnify() {
    let fams = [
        Fam::Ridge(RidgeParam::Weight),
        Fam::Ridge(RidgeParam::Targets),
        Fam::PseudoHuber(RobustParam::Weight, DELTA_PH),
        Fam::Huber(RobustParam::Targets, DELTA_H),
        Fam::Logistic(LogisticParam::Weight),
        Fam::Logistic(LogisticParam::SampleWeights),
    ];
    for fam in fams {
        for meth in [Meth::Gd, Meth::Hb(BETA), Meth::Nag(BETA)] {
            for seed in 0..4 {
                let c = case(fam, meth, seed);
                let x = &c.x * 10.0;
                let f = c.objective(None);
                let mut s = f.scratch();
                let g = f.grad_magnitude(x.as_view(), &mut s);
                let grad = f.gradient(x.as_view()).norm();
                let oracle = c.grad_mag(&x).norm();
                assert!(g >= grad && grad > 1.0, "{}: magnitude {g:e} below ‖∇f‖ = {grad:e}", c.name());
                assert!(g <= 2.0 * oracle * (1.0 + 1e-12), "{}: magnitude {g:e} above 2 × {oracle:e}", c.name());
                let map = c.map(None);
                let z = c.state(&x);
                let mut ms = map.scratch();
                let mut out = DVector::zeros(map.dim_x());
                map.step_at(0, z.as_view(), out.as_view_mut(), &mut ms);
                let step = map.step_magnitude(0, z.as_view(), &mut ms);
                assert!(step >= out.norm(), "{}: step magnitude {step:e} below ‖A(z)‖ = {:e}", c.name(), out.norm());
                assert!(step >= c.alpha * grad, "{}: step magnitude {step:e} below α‖∇f‖", c.name());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Proximal gradient and FISTA on the elastic net (issue #16, item 4)
// ---------------------------------------------------------------------------------------

/// The proximal maps against the independent oracles, at points away from the kinks
/// `|z_i| = αλ₁` of the soft threshold (where the a.e. derivative is the derivative):
/// dual numbers on the step's formula (the soft threshold branching on the real part, the
/// convention of the autodiff libraries), central differences of the step (exact up to
/// rounding: the map is affine on the piece that holds `z ± h e_j`), the dot-product test
/// of `jvp` against `vjp`, and `Dx*` against central differences of `u ↦ x*(u)` (the
/// solution is locally affine in `u` under strict complementarity). Planted bugs: the
/// derivative without the prox's mask (that of the gradient step or of Nesterov's step),
/// and a reverse mode that drops the mask while the forward mode keeps it.
mod proximal {
    use super::*;
    use num_dual::Dual64;
    use unrollcheck::map::nesterov::{Nesterov, Schedule, strongly_convex_momentum};
    use unrollcheck::map::proximal::{ElasticNetParam, Proximal};

    const M: usize = 8;
    const N: usize = 5;
    const L2: f64 = 0.1;
    /// The difference step: the map is affine on the piece, so only rounding limits `h`.
    const H: f64 = 1e-5;
    /// Inner-product lengths of one step and its derivative (the residual `Ay − b`, `Aᵀr`,
    /// the extrapolation, the update and the threshold), rounded up.
    const LEN: usize = 2 * (M + N) + 8;

    #[derive(Clone)]
    struct Setup {
        a: DMatrix<f64>,
        b: DVector<f64>,
        l1: f64,
        l2: f64,
        alpha: f64,
        beta: Option<f64>,
        param: ElasticNetParam,
    }

    /// The first seed from `seed` on whose solution has both active and inactive
    /// coordinates (both branches of the soft threshold) and a strict-complementarity
    /// margin above `10³h` (so the differences stay on one affine piece).
    fn setup(seed: u64, param: ElasticNetParam, fista: bool) -> Setup {
        (seed..seed + 100)
            .map(|s| draw_setup(s, param, fista))
            .find(|s| {
                let map = s.map();
                let support = map.solution().iter().filter(|v| **v != 0.0).count();
                support > 0 && support < N && map.margin() > 1e3 * H
            })
            .expect("a seed with a partial support within 100")
    }

    fn draw_setup(seed: u64, param: ElasticNetParam, fista: bool) -> Setup {
        let mut rng = draw::rng(seed);
        let a = draw::uniform_matrix(M, N, &mut rng);
        let b = draw::normal_vector(M, 1.0, &mut rng);
        let l1 = 0.3 * (a.transpose() * &b).amax();
        let h = a.transpose() * &a + DMatrix::identity(N, N) * L2;
        let eig = h.symmetric_eigenvalues();
        let alpha = 1.0 / eig.max();
        let beta = fista.then(|| strongly_convex_momentum(alpha, eig.min()));
        Setup { a, b, l1, l2: L2, alpha, beta, param }
    }

    impl Setup {
        fn name(&self) -> String {
            format!("{}[{:?}]", if self.beta.is_some() { "fista" } else { "prox_gd" }, self.param)
        }
        fn ridge(&self) -> Ridge {
            Ridge::new(self.a.clone(), self.b.clone(), self.l2, RidgeParam::Targets).unwrap()
        }
        fn map(&self) -> Proximal {
            Proximal::new(self.ridge(), self.l1, self.alpha, self.param, self.beta).unwrap()
        }
        fn u0(&self) -> DVector<f64> {
            match self.param {
                ElasticNetParam::L1 => DVector::from_element(1, self.l1),
                ElasticNetParam::Targets => self.b.clone(),
                ElasticNetParam::L2 => DVector::from_element(1, self.l2),
            }
        }
        fn at(&self, u: &DVector<f64>) -> Setup {
            let mut s = self.clone();
            match self.param {
                ElasticNetParam::L1 => s.l1 = u[0],
                ElasticNetParam::Targets => s.b = u.clone(),
                ElasticNetParam::L2 => s.l2 = u[0],
            }
            s
        }
        fn nz(&self) -> usize {
            if self.beta.is_some() { 2 * N } else { N }
        }
        fn beta(&self) -> f64 {
            self.beta.unwrap_or(0.0)
        }
        /// `y = Fz`.
        fn readout<T: Copy + std::ops::Mul<f64, Output = T> + std::ops::Sub<Output = T>>(&self, z: &[T]) -> Vec<T> {
            match self.beta {
                None => z[..N].to_vec(),
                Some(b) => (0..N).map(|i| z[i] * (1.0 + b) - z[N + i] * b).collect(),
            }
        }
        /// The step on dual numbers, written from the definition: `z ↦ (prox(y − α∇f(y)), x_1)`
        /// with `∇f(y) = Aᵀ(Ay − b) + λ₂y` and the soft threshold branching on the real part.
        fn step_dual(&self, z: &[Dual64], u: &[Dual64]) -> Vec<Dual64> {
            let (l1, l2) = match self.param {
                ElasticNetParam::L1 => (u[0], Dual64::from(self.l2)),
                ElasticNetParam::L2 => (Dual64::from(self.l1), u[0]),
                ElasticNetParam::Targets => (Dual64::from(self.l1), Dual64::from(self.l2)),
            };
            let b = |k: usize| if self.param == ElasticNetParam::Targets { u[k] } else { Dual64::from(self.b[k]) };
            let y = self.readout(z);
            let r: Vec<Dual64> =
                (0..M).map(|k| (0..N).fold(Dual64::from(0.0), |acc, j| acc + y[j] * self.a[(k, j)]) - b(k)).collect();
            let t = l1 * self.alpha;
            let mut out: Vec<Dual64> = (0..N)
                .map(|j| {
                    let g = (0..M).fold(Dual64::from(0.0), |acc, k| acc + r[k] * self.a[(k, j)]) + l2 * y[j];
                    let w = y[j] - g * self.alpha;
                    if w.re > t.re {
                        w - t
                    } else if w.re < -t.re {
                        w + t
                    } else {
                        Dual64::from(0.0)
                    }
                })
                .collect();
            if self.beta.is_some() {
                out.extend_from_slice(&z[..N]);
            }
            out
        }
        /// `[B C]` by one dual-number sweep per column.
        fn dense_dual(&self, z: &DVector<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
            let (nz, u0) = (self.nz(), self.u0());
            let p = u0.len();
            let mut b = DMatrix::zeros(nz, nz);
            let mut c = DMatrix::zeros(nz, p);
            for col in 0..nz + p {
                let zd: Vec<Dual64> = (0..nz).map(|i| Dual64::new(z[i], if i == col { 1.0 } else { 0.0 })).collect();
                let ud: Vec<Dual64> =
                    (0..p).map(|i| Dual64::new(u0[i], if nz + i == col { 1.0 } else { 0.0 })).collect();
                let out = self.step_dual(&zd, &ud);
                for (i, o) in out.iter().enumerate() {
                    if col < nz {
                        b[(i, col)] = o.eps;
                    } else {
                        c[(i, col - nz)] = o.eps;
                    }
                }
            }
            (b, c)
        }
        /// `min_i ||z_i| − αλ₁|` at the state `z` (the distance of the pre-prox point from
        /// the kinks), from the test's own formula.
        fn kink_margin(&self, z: &DVector<f64>) -> f64 {
            let zd: Vec<Dual64> = z.iter().map(|&v| Dual64::from(v)).collect();
            let y = self.readout(&zd);
            let t = self.alpha * self.l1;
            (0..N)
                .map(|j| {
                    let g: f64 = (0..M)
                        .map(|k| self.a[(k, j)] * ((0..N).map(|i| self.a[(k, i)] * y[i].re).sum::<f64>() - self.b[k]))
                        .sum::<f64>()
                        + self.l2 * y[j].re;
                    ((y[j].re - self.alpha * g).abs() - t).abs()
                })
                .fold(f64::INFINITY, f64::min)
        }
        /// Componentwise bound on the terms one step (or one derivative product with the
        /// direction `v` of the same size) sums: `(1 + 2β)(|y| + α(|A|ᵀ(|A||y| + |b|) + λ₂|y|))
        /// + αλ₁`, its largest entry.
        fn magnitude(&self, z: &DVector<f64>) -> f64 {
            let y: Vec<f64> = self.readout(&z.iter().map(|v| v.abs()).collect::<Vec<_>>());
            let y: Vec<f64> =
                (0..N).map(|i| y[i].abs() + 2.0 * self.beta() * z[i].abs().max(z[(N + i) % z.len()].abs())).collect();
            let ay: Vec<f64> =
                (0..M).map(|k| (0..N).map(|i| self.a[(k, i)].abs() * y[i]).sum::<f64>() + self.b[k].abs()).collect();
            (0..N)
                .map(|j| {
                    y[j] + self.alpha * ((0..M).map(|k| self.a[(k, j)].abs() * ay[k]).sum::<f64>() + self.l2 * y[j])
                        + self.alpha * self.l1
                })
                .fold(0.0, f64::max)
                * (1.0 + 2.0 * self.beta())
        }
        /// A test point: the iterate `k` of the run from `x* + 3g` (before identification for
        /// small `k`), or `x*` itself.
        fn point(&self, k: usize, seed: u64) -> DVector<f64> {
            let map = self.map();
            let x_star = map.fixed_point().unwrap();
            let mut rng = draw::rng(seed ^ 0x51);
            let g = draw::normal_vector(x_star.len(), 3.0, &mut rng);
            Trajectory::run(&map, &(&x_star + g), k).x(k).into_owned()
        }
    }

    fn max_abs(m: &DMatrix<f64>) -> f64 {
        m.amax()
    }

    /// (dual-number error, tolerance) of `[B C]`.
    fn dual_error(s: &Setup, map: &dyn FixedPointMap, z: &DVector<f64>) -> (f64, f64) {
        let (bd, cd) = s.dense_dual(z);
        let (be, ce) = (map.d_x(z.as_view()), map.d_u(z.as_view()));
        let err = max_abs(&(&bd - &be)).max(max_abs(&(&cd - &ce)));
        // Both sides sum LEN products of magnitude ≤ the step's (with z replaced by a unit
        // direction): γ_LEN times the magnitude at |z| + 1.
        let tol = 2.0 * gamma(LEN) * s.magnitude(&z.map(|v| v.abs() + 1.0));
        (err, tol)
    }

    /// (difference error, tolerance) of `[B C]` against central differences of the step.
    fn fd_error(s: &Setup, map: &dyn FixedPointMap, z: &DVector<f64>) -> (f64, f64) {
        assert!(s.kink_margin(z) > 1e3 * H, "{}: the test point is within 1e3·h of a kink", s.name());
        let (be, ce) = (map.d_x(z.as_view()), map.d_u(z.as_view()));
        let mut sc = map.scratch();
        let nz = s.nz();
        let step = |z: &DVector<f64>, m: &dyn FixedPointMap, sc: &mut Scratch| {
            let mut out = DVector::zeros(nz);
            m.step(z.as_view(), out.as_view_mut(), sc);
            out
        };
        let mut err: f64 = 0.0;
        for j in 0..nz {
            let mut e = DVector::zeros(nz);
            e[j] = H;
            let d = (step(&(z + &e), map, &mut sc) - step(&(z - &e), map, &mut sc)) / (2.0 * H);
            err = err.max((d - be.column(j)).amax());
        }
        let u0 = s.u0();
        for j in 0..u0.len() {
            let mut du = DVector::zeros(u0.len());
            du[j] = H;
            let plus = s.at(&(&u0 + &du)).map();
            let minus = s.at(&(&u0 - &du)).map();
            let d = (step(z, &plus, &mut plus.scratch()) - step(z, &minus, &mut minus.scratch())) / (2.0 * H);
            err = err.max((d - ce.column(j)).amax());
        }
        // Each evaluation rounds by ≤ γ_LEN·magnitude; the quotient divides by 2h.
        let tol = 2.0 * gamma(LEN) * s.magnitude(&z.map(|v| v.abs() + H)) / (2.0 * H) * 2.0;
        (err, tol)
    }

    /// (dot-product mismatch, tolerance): `⟨w, Bv + Cdu⟩` by `jvp` against `⟨Bᵀw, v⟩ + ⟨Cᵀw, du⟩` by `vjp`.
    fn dot_error(s: &Setup, map: &dyn FixedPointMap, z: &DVector<f64>, seed: u64) -> (f64, f64) {
        let (du, w) = directions(seed, s.u0().len(), s.nz());
        let (_, v) = directions(seed + 1, 1, s.nz());
        let mut sc = map.scratch();
        let mut jv = DVector::zeros(s.nz());
        map.jvp(z.as_view(), v.as_view(), du.as_view(), jv.as_view_mut(), &mut sc);
        let (mut xb, mut ub) = (DVector::zeros(s.nz()), DVector::zeros(du.len()));
        map.vjp(z.as_view(), w.as_view(), xb.as_view_mut(), ub.as_view_mut(), &mut sc);
        let lhs = w.dot(&jv);
        let rhs = xb.dot(&v) + ub.dot(&du);
        // Each side: N + p products after vectors whose entries round by γ_LEN times the
        // magnitude of a step at the directions' scale.
        let scale = w.amax() * (v.amax() + du.amax()) * (s.nz() + du.len()) as f64;
        let tol = 4.0 * gamma(LEN + s.nz() + du.len()) * scale * s.magnitude(&DVector::from_element(s.nz(), 1.0));
        ((lhs - rhs).abs(), tol)
    }

    const CASES: [(u64, ElasticNetParam); 3] =
        [(301, ElasticNetParam::L1), (302, ElasticNetParam::Targets), (303, ElasticNetParam::L2)];

    fn for_each_case(mut f: impl FnMut(&Setup, &DVector<f64>, u64)) {
        for (seed, param) in CASES {
            for fista in [false, true] {
                let s = setup(seed, param, fista);
                let map = s.map();
                for k in [1, 3] {
                    let z = s.point(k, seed);
                    if s.kink_margin(&z) > 1e3 * H {
                        f(&s, &z, seed);
                    }
                }
                f(&s, &map.fixed_point().unwrap(), seed);
            }
        }
    }

    /// Oracle 1: `[B C]` against dual numbers of the step's formula.
    #[test]
    fn dual_numbers() {
        for_each_case(|s, z, _| {
            let (err, tol) = dual_error(s, &s.map(), z);
            assert!(err <= tol, "{}: dual numbers: error {err:e} > tol {tol:e}", s.name());
        });
    }

    /// Oracle 2: `[B C]` against central differences of the step.
    #[test]
    fn map_fd() {
        for_each_case(|s, z, _| {
            let (err, tol) = fd_error(s, &s.map(), z);
            assert!(err <= tol, "{}: differences: error {err:e} > tol {tol:e}", s.name());
        });
    }

    /// Oracle 3 (the adjoint identity behind Remark 3): `jvp` against `vjp`.
    #[test]
    fn dot_product() {
        for_each_case(|s, z, seed| {
            let (err, tol) = dot_error(s, &s.map(), z, seed);
            assert!(err <= tol, "{}: dot product: mismatch {err:e} > tol {tol:e}", s.name());
        });
    }

    /// Oracle 4: `Dx*` (6) with the a.e. `B`, `C` at `x*` against central differences of
    /// `u ↦ x*(u)`: the error of each computed solution is bounded by its fixed-point
    /// residual, plus the residual's own rounding, over `1 − q`
    /// ([`unrollcheck::instance::fixed_point_error`]; `x*` does not depend on the method).
    #[test]
    fn implicit_fd() {
        for (seed, param) in CASES {
            for fista in [false, true] {
                let s = setup(seed, param, fista);
                let map = s.map();
                let x_star = map.fixed_point().unwrap();
                assert!(map.margin() > 1e3 * H, "{}: strict complementarity margin {:e}", s.name(), map.margin());
                let inst = Instance::new(s.map(), x_star.clone()).unwrap();
                let u0 = s.u0();
                let mut err: f64 = 0.0;
                let mut tol: f64 = 0.0;
                for j in 0..u0.len() {
                    let mut du = DVector::zeros(u0.len());
                    du[j] = H;
                    let (p, m) = (s.at(&(&u0 + &du)).map(), s.at(&(&u0 - &du)).map());
                    let (xp, xm) = (p.fixed_point().unwrap(), m.fixed_point().unwrap());
                    // The residual is itself computed: its rounding, γ_LEN times the step's
                    // magnitude, joins it before the division by 1 − q.
                    let rounding = |x: &DVector<f64>| gamma(LEN) * s.magnitude(x) / (1.0 - map.gradient_step_norm());
                    let dp = unrollcheck::instance::fixed_point_error(&p, &xp).unwrap() + rounding(&xp);
                    let dm = unrollcheck::instance::fixed_point_error(&m, &xm).unwrap() + rounding(&xm);
                    let d = (xp - xm) / (2.0 * H);
                    err = err.max((d - inst.dx_star.column(j)).amax());
                    tol = tol.max(
                        (dp + dm) / (2.0 * H)
                            + 2.0 * gamma(LEN) * inst.dx_star.amax() * (N as f64) / (1.0 - map.gradient_step_norm()),
                    );
                }
                assert!(err <= tol, "{}: Dx* against differences: error {err:e} > tol {tol:e}", s.name());
            }
        }
    }

    /// The step of the prox map with the derivatives of another map (the gradient step, or
    /// Nesterov's step, on the same smooth part: the mask of the prox forgotten); `.2` keeps
    /// the genuine reverse mode (forward and reverse disagree).
    struct NoMask<'a>(&'a dyn FixedPointMap, &'a dyn FixedPointMap, bool);

    impl FixedPointMap for NoMask<'_> {
        fn dim_x(&self) -> usize {
            self.0.dim_x()
        }
        fn dim_u(&self) -> usize {
            self.0.dim_u()
        }
        fn name(&self) -> String {
            format!("no_mask({})", self.0.name())
        }
        fn scratch(&self) -> Scratch {
            self.0.scratch()
        }
        fn step_at(&self, k: usize, x: VecView, out: VecViewMut, s: &mut Scratch) {
            self.0.step_at(k, x, out, s)
        }
        fn step_magnitude(&self, k: usize, x: VecView, s: &mut Scratch) -> f64 {
            self.0.step_magnitude(k, x, s)
        }
        fn jvp_at(&self, k: usize, x: VecView, dx: VecView, du: VecView, out: VecViewMut, _s: &mut Scratch) {
            self.1.jvp_at(k, x, dx, du, out, &mut self.1.scratch())
        }
        fn vjp_at(&self, k: usize, x: VecView, w: VecView, xb: VecViewMut, ub: VecViewMut, s: &mut Scratch) {
            if self.2 {
                self.0.vjp_at(k, x, w, xb, ub, s)
            } else {
                self.1.vjp_at(k, x, w, xb, ub, &mut self.1.scratch())
            }
        }
        fn fixed_point(&self) -> unrollcheck::Result<DVector<f64>> {
            self.0.fixed_point()
        }
        fn constants(
            &self,
            ball: &unrollcheck::problem::Ball,
        ) -> unrollcheck::Result<unrollcheck::constants::MapConstants> {
            self.0.constants(ball)
        }
    }

    /// Planted bugs, one per map (prox-gd, FISTA; the targets as parameter, where the
    /// smooth maps have the same `u`): the derivative without the prox's mask is caught by
    /// the dual numbers and by the differences; a forward mode without the mask against the
    /// genuine reverse mode is caught by the dot-product test.
    #[test]
    fn negative_proximal_mask_forgotten() {
        for fista in [false, true] {
            let s = setup(302, ElasticNetParam::Targets, fista);
            let map = s.map();
            let smooth: Box<dyn FixedPointMap> = match s.beta {
                None => Box::new(GradientDescent::new(s.ridge(), s.alpha).unwrap()),
                Some(beta) => Box::new(Nesterov::new(s.ridge(), s.alpha, Schedule::StronglyConvex { beta }).unwrap()),
            };
            let z = map.fixed_point().unwrap();
            let bad = NoMask(&map, smooth.as_ref(), false);
            let (err, tol) = dual_error(&s, &bad, &z);
            assert!(err > 10.0 * tol, "{}: the dual numbers miss the forgotten mask ({err:e} vs {tol:e})", s.name());
            let (err, tol) = fd_error(&s, &bad, &z);
            assert!(err > 10.0 * tol, "{}: the differences miss the forgotten mask ({err:e} vs {tol:e})", s.name());
            let half = NoMask(&map, smooth.as_ref(), true);
            let (err, tol) = dot_error(&s, &half, &z, 302);
            assert!(err > 10.0 * tol, "{}: the dot product misses the forward-only bug ({err:e} vs {tol:e})", s.name());
        }
    }

    /// A planted bug in `∂/∂λ₁` (the sign of `−α·sign(z_i)` flipped, i.e. the threshold
    /// derivative of `x + αλ₁` on every active coordinate): caught by both oracles.
    #[test]
    fn negative_proximal_l1_derivative_sign() {
        struct FlipC<'a>(&'a dyn FixedPointMap);
        impl FixedPointMap for FlipC<'_> {
            fn dim_x(&self) -> usize {
                self.0.dim_x()
            }
            fn dim_u(&self) -> usize {
                self.0.dim_u()
            }
            fn name(&self) -> String {
                format!("flip_c({})", self.0.name())
            }
            fn scratch(&self) -> Scratch {
                self.0.scratch()
            }
            fn step_at(&self, k: usize, x: VecView, out: VecViewMut, s: &mut Scratch) {
                self.0.step_at(k, x, out, s)
            }
            fn step_magnitude(&self, k: usize, x: VecView, s: &mut Scratch) -> f64 {
                self.0.step_magnitude(k, x, s)
            }
            fn jvp_at(&self, k: usize, x: VecView, dx: VecView, du: VecView, out: VecViewMut, s: &mut Scratch) {
                let neg = -du.into_owned();
                self.0.jvp_at(k, x, dx, neg.as_view(), out, s)
            }
            fn vjp_at(&self, k: usize, x: VecView, w: VecView, xb: VecViewMut, mut ub: VecViewMut, s: &mut Scratch) {
                let before = ub.clone_owned();
                self.0.vjp_at(k, x, w, xb, ub.as_view_mut(), s);
                let d = &ub - &before;
                ub.copy_from(&(before - d));
            }
            fn fixed_point(&self) -> unrollcheck::Result<DVector<f64>> {
                self.0.fixed_point()
            }
            fn constants(
                &self,
                ball: &unrollcheck::problem::Ball,
            ) -> unrollcheck::Result<unrollcheck::constants::MapConstants> {
                self.0.constants(ball)
            }
        }
        for fista in [false, true] {
            let s = setup(301, ElasticNetParam::L1, fista);
            let map = s.map();
            let z = map.fixed_point().unwrap();
            let bad = FlipC(&map);
            let (err, tol) = dual_error(&s, &bad, &z);
            assert!(err > 10.0 * tol, "{}: the dual numbers miss the flipped ∂/∂λ₁ ({err:e} vs {tol:e})", s.name());
            let (err, tol) = fd_error(&s, &bad, &z);
            assert!(err > 10.0 * tol, "{}: the differences miss the flipped ∂/∂λ₁ ({err:e} vs {tol:e})", s.name());
        }
    }
}
