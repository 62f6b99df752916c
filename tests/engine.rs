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
//! | dual numbers, central differences, dot-product test and `Dx*` differences on the random contraction layer (issue #16, no objective) | `Layer::{jvp, vjp}`, `implicit_jacobian`, the certified constants | `layer::*`, `layer::negative_layer_planted_bugs` |
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
// The random contraction layer of issue #16 (no objective): oracles 1, 2, 4 on the map
// ---------------------------------------------------------------------------------------

/// The layer `A(x, u) = tanh(Wx + Uv + b)` against dual numbers (num-dual, on the value
/// formula re-derived here), central differences of the step, the dot-product test and
/// central differences of `u ↦ x*(u)`, for each parameter (input, bias, weights), with
/// planted bugs that each check must catch.
///
/// Rounding model. With `d = n + m + 1` terms per pre-activation `z_i` and `mag_i =
/// (|W||x| + |U||v| + |b|)_i`, either implementation computes `z_i` to `γ_d·mag_i`; `tanh`
/// and `1 − tanh²` (or the dual numbers' `sinh/cosh` quotient, whose cancellation
/// `cosh² − sinh²` is absolute, not relative) add a few ulps; `σ'` is `c₂ = 4/(3√3) ≤ 1`
/// Lipschitz. So an entry of `S ż` differs by at most `2γ_{d+16}(1 + mag_i)·ṁ_i`, with
/// `ṁ_i = (|W||dx| + |∂z/∂u||du|)_i` the magnitude of the tangent (`ELEMENTWISE = 16`
/// extra roundings, as for the losses).
mod layer {
    use super::*;
    use num_dual::{Dual64, DualNum};
    use unrollcheck::map::layer::{Layer, LayerParam};

    const PARAMS: [LayerParam; 3] = [LayerParam::Input, LayerParam::Bias, LayerParam::Weights];

    /// `n = 5` state, `m = 3` input (`n ≠ m`, so a transposed weight layout is caught).
    pub(super) fn draw(param: LayerParam, seed: u64) -> (Layer, DVector<f64>) {
        let mut rng = draw::rng(seed);
        let layer = Layer::draw(5, 3, 0.9, param, &mut rng).expect("draws");
        let x = draw::normal_vector(5, 1.0, &mut rng);
        (layer, x)
    }

    /// `(W, U, b, v)` with the parameter replaced by `u`, in any number type.
    fn parts<T: DualNum<Primitive = f64> + Copy>(l: &Layer, u: &[T]) -> (Vec<Vec<T>>, Vec<T>, Vec<T>) {
        let (n, m) = (l.w.nrows(), l.u_mat.ncols());
        let c = |v: f64| T::from(v);
        let mut um: Vec<Vec<T>> = (0..n).map(|i| (0..m).map(|j| c(l.u_mat[(i, j)])).collect()).collect();
        let mut b: Vec<T> = l.bias.iter().map(|&v| c(v)).collect();
        let mut v: Vec<T> = l.input.iter().map(|&v| c(v)).collect();
        match l.param {
            LayerParam::Input => v = u.to_vec(),
            LayerParam::Bias => b = u.to_vec(),
            LayerParam::Weights => {
                for (i, row) in um.iter_mut().enumerate() {
                    for (j, e) in row.iter_mut().enumerate() {
                        *e = u[i + j * n];
                    }
                }
            }
        }
        (um, b, v)
    }

    /// `tanh(Wx + Uv + b)` written out from the definition (independent of the engine).
    fn value<T: DualNum<Primitive = f64> + Copy>(l: &Layer, x: &[T], u: &[T]) -> Vec<T> {
        let (um, b, v) = parts(l, u);
        (0..l.w.nrows())
            .map(|i| {
                let mut z = b[i];
                for (j, &vj) in v.iter().enumerate() {
                    z += um[i][j] * vj;
                }
                for (j, &xj) in x.iter().enumerate() {
                    z += T::from(l.w[(i, j)]) * xj;
                }
                z.tanh()
            })
            .collect()
    }

    fn param(l: &Layer) -> DVector<f64> {
        unrollcheck::map::Reparameterise::param(l)
    }

    /// `mag_i = (|W||x| + |U||v| + |b|)_i`.
    fn magnitude(l: &Layer, x: &DVector<f64>) -> DVector<f64> {
        l.w.abs() * x.abs() + l.u_mat.abs() * l.input.abs() + l.bias.abs()
    }

    /// `ṁ = |W||dx| + |∂z/∂u||du|`.
    fn tangent_magnitude(l: &Layer, dx: &DVector<f64>, du: &DVector<f64>) -> DVector<f64> {
        let n = l.w.nrows();
        let dz_du = match l.param {
            LayerParam::Input => l.u_mat.abs() * du.abs(),
            LayerParam::Bias => du.abs(),
            LayerParam::Weights => DMatrix::from_column_slice(n, l.u_mat.ncols(), du.as_slice()).abs() * l.input.abs(),
        };
        l.w.abs() * dx.abs() + dz_du
    }

    /// Oracle 1: `jvp(dx, du)` against the dual-number derivative of [`value`] along
    /// `(dx, du)`, for every coordinate direction and one random one.
    pub(super) fn dual(map: &dyn FixedPointMap, l: &Layer, x: &DVector<f64>, seed: u64) -> Cmp {
        let (n, p) = (map.dim_x(), map.dim_u());
        let u = param(l);
        let mag = magnitude(l, x);
        let tol_rel = 2.0 * gamma(n + l.u_mat.ncols() + 1 + ELEMENTWISE);
        let mut rng = draw::rng(seed);
        let mut dirs: Vec<(DVector<f64>, DVector<f64>)> = Vec::new();
        for j in 0..n + p {
            let (mut dx, mut du) = (DVector::zeros(n), DVector::zeros(p));
            if j < n {
                dx[j] = 1.0
            } else {
                du[j - n] = 1.0
            }
            dirs.push((dx, du));
        }
        dirs.push((draw::normal_vector(n, 1.0, &mut rng), draw::normal_vector(p, 1.0, &mut rng)));
        let mut s = map.scratch();
        let mut worst = Cmp::new("layer jvp vs dual numbers", 0.0, 1.0);
        for (dx, du) in &dirs {
            let xd: Vec<Dual64> = x.iter().zip(dx.iter()).map(|(&a, &b)| Dual64::new(a, b)).collect();
            let ud: Vec<Dual64> = u.iter().zip(du.iter()).map(|(&a, &b)| Dual64::new(a, b)).collect();
            let want = DVector::from_iterator(n, value(l, &xd, &ud).iter().map(|d| d.eps));
            let mut got = DVector::zeros(n);
            map.jvp(x.as_view(), dx.as_view(), du.as_view(), got.as_view_mut(), &mut s);
            let tm = tangent_magnitude(l, dx, du);
            for i in 0..n {
                let scale = tm[i].max(f64::MIN_POSITIVE);
                let c = Cmp::new(
                    format!("layer jvp vs dual numbers (entry {i})"),
                    (got[i] - want[i]).abs() / scale,
                    tol_rel * (1.0 + mag[i]),
                );
                worst = worst.worse(c);
            }
        }
        worst
    }

    /// Oracle 2: the dense `B`, `C` (from `jvp`) against central differences of the
    /// genuine step in `x` and in `u` (the layer rebuilt at `u ± h e_j`), with the
    /// tolerance `ε_s/h + h²T₃/6 + 2γ_k|entry scale|`: `ε_s = 2γ_{d+16}(mag_i + 1)` bounds
    /// the rounding of one step (`z` to `γ_d·mag_i` through the 1-Lipschitz tanh, plus its
    /// ulps), `T₃ = max|σ'''|·|∂z_i/∂coordinate|³ = 2|∂z_i/∂·|³` the third derivative.
    pub(super) fn finite_differences(map: &dyn FixedPointMap, l: &Layer, x: &DVector<f64>) -> (Cmp, Cmp) {
        let (n, p) = (map.dim_x(), map.dim_u());
        let d = n + l.u_mat.ncols() + 1 + ELEMENTWISE;
        let step = |layer: &Layer, x: &DVector<f64>| {
            let mut out = DVector::zeros(n);
            layer.step(x.as_view(), out.as_view_mut(), &mut layer.scratch());
            out
        };
        let bmat = map.d_x(x.as_view());
        let mut bcmp = Cmp::new("layer B vs central differences", 0.0, 1.0);
        for j in 0..n {
            let h = fd_step(x[j]);
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[j] += h;
            xm[j] -= h;
            let col = (step(l, &xp) - step(l, &xm)) / (xp[j] - xm[j]);
            let mag = magnitude(l, &x.map(|v| v.abs() + h));
            for i in 0..n {
                let wij = l.w[(i, j)].abs();
                let tol = 2.0 * gamma(d) * (mag[i] + 1.0) / h + h * h * 2.0 * wij.powi(3) / 6.0 + 2.0 * gamma(d) * wij;
                let c =
                    Cmp::new(format!("layer B vs central differences ({i}, {j})"), (bmat[(i, j)] - col[i]).abs(), tol);
                bcmp = bcmp.worse(c);
            }
        }
        let cmat = map.d_u(x.as_view());
        let u0 = param(l);
        let mut ccmp = Cmp::new("layer C vs central differences", 0.0, 1.0);
        for j in 0..p {
            let h = fd_step(u0[j]);
            let (mut up, mut um) = (u0.clone(), u0.clone());
            up[j] += h;
            um[j] -= h;
            let (lp, lm) = (l.with_param(&up).unwrap(), l.with_param(&um).unwrap());
            let col = (step(&lp, x) - step(&lm, x)) / (up[j] - um[j]);
            let mag = magnitude(&lp, x).zip_map(&magnitude(&lm, x), f64::max);
            let mut e = DVector::zeros(p);
            e[j] = 1.0;
            let dz = tangent_magnitude(l, &DVector::zeros(n), &e);
            for i in 0..n {
                let tol =
                    2.0 * gamma(d) * (mag[i] + 1.0) / h + h * h * 2.0 * dz[i].powi(3) / 6.0 + 2.0 * gamma(d) * dz[i];
                let c =
                    Cmp::new(format!("layer C vs central differences ({i}, {j})"), (cmat[(i, j)] - col[i]).abs(), tol);
                ccmp = ccmp.worse(c);
            }
        }
        (bcmp, ccmp)
    }

    /// Oracle 2b: the dot-product test `⟨jvp(dx, du), w⟩ = ⟨dx, x̄(w)⟩ + ⟨du, ū(w)⟩` of the
    /// map's own products (`x̄` pre-filled with NaN: it must be overwritten; `ū` accumulates
    /// into zeros), tolerance `2γ_{d+n+p}·Σ_i ṁ_i|w_i|`.
    pub(super) fn dot(map: &dyn FixedPointMap, l: &Layer, x: &DVector<f64>, seed: u64) -> Cmp {
        let (n, p) = (map.dim_x(), map.dim_u());
        let mut rng = draw::rng(seed ^ 0xd07);
        let (dx, du, w) = (
            draw::normal_vector(n, 1.0, &mut rng),
            draw::normal_vector(p, 1.0, &mut rng),
            draw::normal_vector(n, 1.0, &mut rng),
        );
        let mut s = map.scratch();
        let mut jv = DVector::zeros(n);
        map.jvp(x.as_view(), dx.as_view(), du.as_view(), jv.as_view_mut(), &mut s);
        let (mut xbar, mut ubar) = (DVector::from_element(n, f64::NAN), DVector::zeros(p));
        map.vjp(x.as_view(), w.as_view(), xbar.as_view_mut(), ubar.as_view_mut(), &mut s);
        let scale = tangent_magnitude(l, &dx, &du).dot(&w.abs());
        Cmp::new(
            "layer dot-product test <B dx + C du, w> = <dx, Bᵀw> + <du, Cᵀw>",
            (jv.dot(&w) - dx.dot(&xbar) - du.dot(&ubar)).abs() / scale,
            2.0 * gamma(n + l.u_mat.ncols() + 1 + n + p + ELEMENTWISE),
        )
    }

    /// Oracle 4: `Dx* = (I − B)^{-1}C` (the engine's `implicit_jacobian` on `map`) against
    /// central differences of `u ↦ x*(u)` (the layer rebuilt and re-solved at `u ± h e_j`):
    /// tolerance `2|D(2h) − D(h)|/3` (Richardson estimate of the truncation, doubled) plus
    /// `2δ/h` for the fixed points' own error `δ = r/(1 − ρ)` (residual `r` measured) and the
    /// solve's rounding `2γ_{n+16}·cond·scale` with `cond ≤ (1 + ρ)/(1 − ρ)`.
    pub(super) fn implicit(map: &dyn FixedPointMap, l: &Layer) -> Cmp {
        let x_star = l.solve().unwrap();
        let dx_star = implicit_jacobian(map, &x_star).unwrap();
        let rho = unrollcheck::linalg::spectral_norm(&l.w);
        let n = l.w.nrows();
        let residual = |layer: &Layer, x: &DVector<f64>| {
            let mut out = DVector::zeros(n);
            layer.step(x.as_view(), out.as_view_mut(), &mut layer.scratch());
            (out - x).norm() + 2.0 * gamma(n + l.u_mat.ncols() + 1 + ELEMENTWISE) * (magnitude(layer, x).norm() + 1.0)
        };
        let u0 = param(l);
        let scale = dx_star.amax().max(1e-300);
        let cond = (1.0 + rho) / (1.0 - rho);
        let mut worst = Cmp::new("layer Dx* vs central differences", 0.0, 1.0);
        for j in 0..u0.len() {
            let h = fd_step(u0[j]);
            let diff = |h: f64| {
                let (mut up, mut um) = (u0.clone(), u0.clone());
                up[j] += h;
                um[j] -= h;
                let (lp, lm) = (l.with_param(&up).unwrap(), l.with_param(&um).unwrap());
                let (xp, xm) = (lp.solve().unwrap(), lm.solve().unwrap());
                let delta = (residual(&lp, &xp) + residual(&lm, &xm)) / (1.0 - rho);
                ((xp - xm) / (up[j] - um[j]), delta / (up[j] - um[j]))
            };
            let ((d1, e1), (d2, _)) = (diff(h), diff(2.0 * h));
            let tol = 2.0 * (&d2 - &d1).amax() / 3.0 + e1 + 2.0 * gamma(n + ELEMENTWISE) * cond * scale * n as f64;
            let c = cmp_vec(
                &format!("layer Dx* vs central differences (column {j})"),
                &dx_star.column(j).into_owned(),
                &d1,
                tol,
                scale,
            );
            worst = worst.worse(c);
        }
        worst
    }

    #[test]
    fn dual_numbers() {
        for (i, param) in PARAMS.into_iter().enumerate() {
            let (l, x) = draw(param, 400 + i as u64);
            dual(&l, &l, &x, 7).assert(&l.name());
            dual(&l, &l, &(x * 3.0), 8).assert(&format!("{} at 3x", l.name()));
        }
    }

    #[test]
    fn map_fd_and_dot_product() {
        for (i, param) in PARAMS.into_iter().enumerate() {
            let (l, x) = draw(param, 410 + i as u64);
            let (b, c) = finite_differences(&l, &l, &x);
            b.assert(&l.name());
            c.assert(&l.name());
            dot(&l, &l, &x, 11).assert(&l.name());
        }
    }

    #[test]
    fn implicit_fd() {
        for (i, param) in PARAMS.into_iter().enumerate() {
            let (l, _) = draw(param, 420 + i as u64);
            implicit(&l, &l).assert(&l.name());
        }
    }

    /// The certified constants are upper bounds on what they bound, sampled: `‖D_xA(x)‖ ≤ ρ`,
    /// `‖D_xA(x) − D_xA(y)‖ ≤ M_x‖x − y‖`, `‖D_uA(x) − D_uA(y)‖ ≤ M_u‖x − y‖`,
    /// `‖D_uA(x)‖ ≤ κ` at random pairs of points (near ones, where the Lipschitz quotients
    /// are largest, and far ones). A constant too small by the factor `max σ' = 1` or
    /// `c₂ = 4/(3√3)` is not certain to be caught here (the sampled quotients stay below the
    /// suprema); `rem1.jacobian_bound`, `lem6.gamma` and `thm7.recursion` of
    /// verify/layer.toml check the same constants along the runs.
    #[test]
    fn certified_constants_bound_the_sampled_quotients() {
        use unrollcheck::linalg::spectral_norm;
        use unrollcheck::problem::Ball;
        for (i, param) in PARAMS.into_iter().enumerate() {
            let (l, _) = draw(param, 430 + i as u64);
            let c = l.constants(&Ball { center: DVector::zeros(5), radius: f64::INFINITY }).unwrap();
            let mut rng = draw::rng(431 + i as u64);
            let slack = 1.0 + 1e-12;
            for t in 0..200 {
                let x = draw::normal_vector(5, if t % 2 == 0 { 1.0 } else { 5.0 }, &mut rng);
                let y = &x + draw::normal_vector(5, if t % 3 == 0 { 1e-3 } else { 1.0 }, &mut rng);
                let (bx, by) = (l.d_x(x.as_view()), l.d_x(y.as_view()));
                let (cx, cy) = (l.d_u(x.as_view()), l.d_u(y.as_view()));
                let dist = (&x - &y).norm();
                assert!(spectral_norm(&bx) <= c.rho.value * slack, "{}: ‖B‖ > ρ", l.name());
                assert!(spectral_norm(&cx) <= c.kappa.value * slack, "{}: ‖C‖ > κ", l.name());
                assert!(spectral_norm(&(&bx - &by)) <= c.m_x.value * dist * slack, "{}: M_x", l.name());
                assert!(spectral_norm(&(&cx - &cy)) <= c.m_u.value * dist * slack, "{}: M_u", l.name());
            }
        }
    }

    /// A layer whose derivatives forget the activation's slope (`S = I`, i.e. the
    /// derivatives of the linear map `Wx + Uv + b`): `jvp` and `vjp` stay each other's
    /// transposes, so only the dual numbers and the differences can see it.
    struct NoSlope<'a>(&'a Layer);

    impl FixedPointMap for NoSlope<'_> {
        fn dim_x(&self) -> usize {
            self.0.dim_x()
        }
        fn dim_u(&self) -> usize {
            self.0.dim_u()
        }
        fn name(&self) -> String {
            format!("no_slope({})", self.0.name())
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
        fn jvp_at(&self, _k: usize, _x: VecView, dx: VecView, du: VecView, mut out: VecViewMut, _s: &mut Scratch) {
            let l = self.0;
            let n = l.w.nrows();
            let dz_du = match l.param {
                LayerParam::Input => &l.u_mat * du,
                LayerParam::Bias => du.into_owned(),
                LayerParam::Weights => DMatrix::from_column_slice(n, l.u_mat.ncols(), du.as_slice()) * &l.input,
            };
            out.copy_from(&(&l.w * dx + dz_du));
        }
        fn vjp_at(&self, _k: usize, _x: VecView, w: VecView, mut xb: VecViewMut, mut ub: VecViewMut, _s: &mut Scratch) {
            let l = self.0;
            xb.copy_from(&l.w.tr_mul(&w));
            match l.param {
                LayerParam::Input => ub += l.u_mat.tr_mul(&w),
                LayerParam::Bias => ub += w,
                LayerParam::Weights => {
                    let outer = w * l.input.transpose();
                    ub += DVector::from_column_slice(outer.as_slice());
                }
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

    /// The weights parameter read row-major (`U_{ij}` at `j + im` instead of `i + jn`) in
    /// both `jvp` and `vjp` (consistently, so the dot-product test passes).
    struct RowMajorWeights<'a>(&'a Layer);

    impl RowMajorWeights<'_> {
        fn permute(&self, du: VecView, to_row_major: bool) -> DVector<f64> {
            let (n, m) = (self.0.w.nrows(), self.0.u_mat.ncols());
            let mut out = DVector::zeros(n * m);
            for i in 0..n {
                for j in 0..m {
                    if to_row_major { out[i + j * n] = du[j + i * m] } else { out[j + i * m] = du[i + j * n] }
                }
            }
            out
        }
    }

    impl FixedPointMap for RowMajorWeights<'_> {
        fn dim_x(&self) -> usize {
            self.0.dim_x()
        }
        fn dim_u(&self) -> usize {
            self.0.dim_u()
        }
        fn name(&self) -> String {
            format!("row_major({})", self.0.name())
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
            let du = self.permute(du, true);
            self.0.jvp_at(k, x, dx, du.as_view(), out, s)
        }
        fn vjp_at(&self, k: usize, x: VecView, w: VecView, xb: VecViewMut, mut ub: VecViewMut, s: &mut Scratch) {
            let mut inner = DVector::zeros(self.dim_u());
            self.0.vjp_at(k, x, w, xb, inner.as_view_mut(), s);
            ub += self.permute(inner.as_view(), false);
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

    /// Planted bugs: the activation's slope forgotten (caught by the dual numbers and the
    /// B and C differences, not by the dot-product test), the weights read row-major
    /// (caught by the dual numbers and the C differences), a flipped C-term in `jvp` only
    /// (caught by the dot-product test too), and `Dx*` from a C-term off by `0.1 %` (caught
    /// by the differences of `u ↦ x*(u)`).
    #[test]
    fn negative_layer_planted_bugs() {
        for (i, param) in PARAMS.into_iter().enumerate() {
            let (l, x) = draw(param, 410 + i as u64);
            let bad = NoSlope(&l);
            dual(&bad, &l, &x, 7).assert_fails(&bad.name());
            let (b, c) = finite_differences(&bad, &l, &x);
            b.assert_fails(&bad.name());
            c.assert_fails(&bad.name());
            dot(&bad, &l, &x, 11).assert(&format!("{} (transposes stay consistent)", bad.name()));
            let flip = FaultyMap { inner: &l, fault: MapFault::FlipC };
            dual(&flip, &l, &x, 7).assert_fails(&flip.name());
            dot(&flip, &l, &x, 11).assert_fails(&flip.name());
            let (l2, _) = draw(param, 420 + i as u64);
            let scaled = FaultyMap { inner: &l2, fault: MapFault::ScaleC(1.001) };
            implicit(&scaled, &l2).assert_fails(&scaled.name());
        }
        let (l, x) = draw(LayerParam::Weights, 412);
        let bad = RowMajorWeights(&l);
        dual(&bad, &l, &x, 7).assert_fails(&bad.name());
        finite_differences(&bad, &l, &x).1.assert_fails(&bad.name());
        dot(&bad, &l, &x, 11).assert(&format!("{} (transposes stay consistent)", bad.name()));
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
