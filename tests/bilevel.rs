//! Independent-oracle tests of `bilevel` (Algorithm 1 of appendix B, Section 5).
//!
//! | oracle | what it checks | tests |
//! |---|---|---|
//! | central differences of `u ↦ ℓ(x*(u))`, `x*` solved here | the exact hypergradient `Dx*ᵀ∇ℓ(x*)` | `exact_vs_fd_*` |
//! | central differences of `u ↦ ℓ(x_K(u))`, GD written here, `x_0` and `α` fixed | the unrolled `d^{(r)}` (cold, warm, truncated) | `unrolled_vs_fd_*` |
//! | an a-priori bound `K ρ^{K−1}…+ ρ^K…` derived below for GD on the ridge weight | exact and unrolled agree as `K` grows, down to rounding | `exact_and_unrolled_agree_as_k_grows` |
//! | a replay of Algorithm 1 written here | warm-start bookkeeping, the outer step, `T'` | `warm_bookkeeping`, `t_prime_is_first_index` |
//! | Theorem 7, Remark 3 and the contraction, put together (`src/bilevel/stopping.rs`) | `alg1.eps_stop`: Algorithm 1's ε rule on pseudo-Huber: stopping index, inner error, hypergradient error | `alg1_eps_stop_*` |
//! | planted bugs | each check above *can* fail | `negative_*` |
//!
//! Every instance is drawn from a fixed seed. Tolerances come from `unrollcheck::tol`
//! (`ToleranceModel`: `product`, `recursion`, `solve`), evaluated on magnitudes computed
//! here ([`Scales`]), plus the Richardson estimate of the truncation error of a central
//! difference (`|D(2h) − D(h)|/3`, doubled for the `O(h⁴)` remainder).

mod common;

use common::{Cmp, fd_step};
use nalgebra::{DMatrix, DVector};
use unrollcheck::Error;
use unrollcheck::bilevel::stopping::Comparison;
use unrollcheck::bilevel::{
    Algorithm1, BilevelSpec, ColdStart, EpsStopRecord, EpsStopVariant, HyperProblem, InnerAt, InnerBudget, InnerFamily,
    Start, eps_stop_records, estimate, first_below, run, warm_and_cold,
};
use unrollcheck::map::{FixedPointMap, GradientDescent, HeavyBall};
use unrollcheck::problem::draw;
use unrollcheck::problem::ridge::{Ridge, RidgeParam};
use unrollcheck::problem::robust::{Loss, Robust, RobustParam};
use unrollcheck::spec::{Method, StepRule};
use unrollcheck::tol::ToleranceModel;
use unrollcheck::unroll::{Trajectory, forward_jacobians, implicit_jacobian, truncated_vjp};

/// Training rows, validation rows, dimension (the default problem).
const M: usize = 40;
const M_VAL: usize = 40;
const N: usize = 10;
/// The initial ridge weight.
const U0: f64 = 1.0;

// ---------------------------------------------------------------------------------------
// Fixture and oracles (written from the formulas, not from the engine)
// ---------------------------------------------------------------------------------------

/// Data drawn here (planted model, like `BilevelSpec`), and the engine's problem on it.
struct Fixture {
    a: DMatrix<f64>,
    b: DVector<f64>,
    a_val: DMatrix<f64>,
    b_val: DVector<f64>,
    x0: DVector<f64>,
    step: StepRule,
    problem: HyperProblem,
}

fn fixture(seed: u64, step: StepRule, x0_sigma: f64) -> Fixture {
    let mut rng = draw::rng(seed);
    let a = draw::uniform_matrix(M, N, &mut rng);
    let a_val = draw::uniform_matrix(M_VAL, N, &mut rng);
    let x_true = draw::normal_vector(N, 1.0, &mut rng);
    let b = &a * &x_true + draw::normal_vector(M, 1.0, &mut rng);
    let b_val = &a_val * &x_true + draw::normal_vector(M_VAL, 1.0, &mut rng);
    let x0 = draw::normal_vector(N, x0_sigma, &mut rng);
    let ridge = Ridge::new(a.clone(), b.clone(), U0, RidgeParam::Weight).unwrap();
    let problem =
        HyperProblem::new(Box::new(ridge), a_val.clone(), b_val.clone(), Method::GradientDescent, step, x0.clone())
            .unwrap();
    Fixture { a, b, a_val, b_val, x0, step, problem }
}

impl Fixture {
    /// `H(u) = AᵀA + uI`.
    fn hessian(&self, u: f64) -> DMatrix<f64> {
        self.a.tr_mul(&self.a) + DMatrix::identity(N, N) * u
    }
    /// `(μ, L)` of `H(u)` by a symmetric eigendecomposition.
    fn spectrum(&self, u: f64) -> (f64, f64) {
        let ev = self.hessian(u).symmetric_eigenvalues();
        (ev.min(), ev.max())
    }
    /// The step of the rule at `u`.
    fn alpha(&self, u: f64) -> f64 {
        let (mu, l) = self.spectrum(u);
        match self.step {
            StepRule::Optimal => 2.0 / (l + mu),
            StepRule::InvThreeL => 1.0 / (3.0 * l),
            _ => unreachable!("the tests use two rules"),
        }
    }
    /// `ρ = max_i |1 − αλ_i|`.
    fn rho(&self, u: f64, alpha: f64) -> f64 {
        self.hessian(u).symmetric_eigenvalues().iter().map(|l| (1.0 - alpha * l).abs()).fold(0.0, f64::max)
    }
    /// `x*(u) = H(u)⁻¹Aᵀb` (Cholesky).
    fn x_star(&self, u: f64) -> DVector<f64> {
        self.hessian(u).cholesky().unwrap().solve(&self.a.tr_mul(&self.b))
    }
    /// `K` steps of `x ← x − α(H(u)x − Aᵀb)` from `x`.
    fn gd(&self, u: f64, alpha: f64, x: &DVector<f64>, k: usize) -> DVector<f64> {
        let (h, atb) = (self.hessian(u), self.a.tr_mul(&self.b));
        let mut x = x.clone();
        for _ in 0..k {
            x = &x - alpha * (&h * &x - &atb);
        }
        x
    }
    /// `ℓ(x) = ½‖A_val x − b_val‖²`.
    fn loss(&self, x: &DVector<f64>) -> f64 {
        0.5 * (&self.a_val * x - &self.b_val).norm_squared()
    }
    /// `∇ℓ(x)`.
    fn loss_grad(&self, x: &DVector<f64>) -> DVector<f64> {
        self.a_val.tr_mul(&(&self.a_val * x - &self.b_val))
    }
    /// Magnitudes at `u` for iterates from `x0`.
    fn scales(&self, u: f64, alpha: f64, x0: &DVector<f64>) -> Scales {
        let (mu, l) = self.spectrum(u);
        let rho = self.rho(u, alpha);
        let x_star = self.x_star(u);
        let sx = x_star.norm() + (x0 - &x_star).norm();
        let atb = self.a.tr_mul(&self.b).norm();
        let hv = self.a_val.tr_mul(&self.a_val).norm();
        let av = self.a_val.norm();
        let gmag = hv * sx + self.a_val.tr_mul(&self.b_val).norm();
        Scales {
            rho,
            mu,
            cond: l / mu,
            sx,
            step_mag: sx + alpha * (l * sx + atb),
            gmag,
            lmag: 0.5 * (av * sx + self.b_val.norm()).powi(2),
            dmag: alpha * sx * gmag / (1.0 - rho),
            hv,
        }
    }
}

/// Magnitudes for the tolerance model (Frobenius norms bound spectral ones, so each is an
/// upper bound of the quantity it names).
struct Scales {
    /// `ρ`, `μ`, and `cond = L/μ` of `H(u)`.
    rho: f64,
    mu: f64,
    cond: f64,
    /// `S_x ≥ ‖x_k‖` for every iterate (`‖x*‖ + e_0`, as `e_k ≤ e_0`).
    sx: f64,
    /// Magnitude of one GD step's operands, `S_x + α(L S_x + ‖Aᵀb‖)`.
    step_mag: f64,
    /// `≥ ‖∇ℓ(x)‖` on the iterates.
    gmag: f64,
    /// Magnitude of `ℓ`'s operands, `½(‖A_val‖S_x + ‖b_val‖)²`.
    lmag: f64,
    /// `≥ Σ_k ‖x̄^{(k+1)}C_k‖ ≤ α S_x ‖∇ℓ‖/(1 − ρ)`, the hypergradient's magnitude.
    dmag: f64,
    /// `‖A_valᵀA_val‖`.
    hv: f64,
}

impl Scales {
    /// Rounding of the iterates after `k` steps (`tol::recursion`).
    fn iterate(&self, k: usize) -> f64 {
        ToleranceModel::default().recursion(k, N, self.step_mag, self.rho)
    }
    /// Rounding of `ℓ(x_k)`: the iterate error through `∇ℓ`, plus the product itself.
    fn loss(&self, k: usize) -> f64 {
        self.gmag * self.iterate(k) + ToleranceModel::default().product(N + M_VAL, self.lmag)
    }
    /// Rounding of an unrolled hypergradient with `k` sweep steps: the sweep
    /// (`tol::recursion` on `dmag`), and the iterate errors through `C_k = −αx_k` and
    /// through `∇ℓ(x_K)` (times `‖Dx_K‖ ≤ αS_x/(1−ρ)`).
    fn unrolled(&self, k: usize) -> f64 {
        let tol = ToleranceModel::default();
        let through = self.iterate(k) * (self.dmag / self.sx + self.hv * self.dmag / self.gmag);
        tol.recursion(k, N, self.dmag, self.rho) + through
    }
    /// Rounding of the exact hypergradient: solves with condition `L/μ` on the magnitude
    /// `S_x ‖∇ℓ‖/μ` of `Dx*ᵀ∇ℓ` (engine's LU and this file's Cholesky alike).
    fn exact(&self) -> f64 {
        ToleranceModel::default().solve(N, self.cond, self.sx * self.gmag / self.mu)
    }
}

/// Central difference of `f` at `u` with step `h`, and twice its Richardson error estimate.
fn central(f: impl Fn(f64) -> f64, u: f64, h: f64) -> (f64, f64) {
    let d = |h: f64| (f(u + h) - f(u - h)) / ((u + h) - (u - h));
    let (d1, d2) = (d(h), d(2.0 * h));
    (d1, 2.0 * (d2 - d1).abs() / 3.0)
}

/// The step of a central difference of a function whose evaluation has the rounding error
/// `round` on values of size `size`: `h = (round/size)^{1/3}·max(1, |u|)` balances the
/// rounding term `round/h` against the truncation `h²|F‴|/6` when `|F‴|` is of the size of
/// `F` over the natural length `max(1, |u|)` (as `common::fd_step`, with `ε` replaced by the
/// model's relative rounding). The tolerances evaluate both terms, not the balance.
fn fd_step_for(u: f64, round: f64, size: f64) -> f64 {
    (round / size).cbrt().max(f64::EPSILON.cbrt()) * u.abs().max(1.0)
}

/// The unrolled hypergradient of the engine vs central differences of `u ↦ ℓ(x_k(u))`
/// (`k` GD steps written here from the fixed `x`, `α` frozen). Tolerance: truncation
/// (Richardson) + rounding of two loss evaluations over `2h` (`loss(k)/h`) + the engine's
/// rounding (`unrolled(k)`).
fn unrolled_vs_fd(fx: &Fixture, what: &str, d: f64, u: f64, alpha: f64, x: &DVector<f64>, k: usize) -> Cmp {
    let sc = fx.scales(u, alpha, x);
    let h = fd_step_for(u, sc.loss(k), sc.lmag);
    let (fd, trunc) = central(|v| fx.loss(&fx.gd(v, alpha, x, k)), u, h);
    let tol = trunc + sc.loss(k) / h + sc.unrolled(k);
    Cmp::new(format!("{what} vs central differences of ℓ(x_K(u)), K = {k}"), (d - fd).abs(), tol)
}

/// The exact hypergradient vs central differences of `u ↦ ℓ(x*(u))` (Cholesky here).
/// Tolerance: truncation + rounding of `ℓ(x*)` (the solve's error through `∇ℓ`, plus the
/// product) over `h` + the engine's solve.
fn exact_vs_fd(fx: &Fixture, exact: f64, u: f64) -> Cmp {
    let sc = fx.scales(u, fx.alpha(u), &fx.x_star(u));
    let tol_solve = ToleranceModel::default().solve(N, sc.cond, sc.sx);
    let loss_round = sc.gmag * tol_solve + ToleranceModel::default().product(N + M_VAL, sc.lmag);
    let h = fd_step_for(u, loss_round, sc.lmag);
    let (fd, trunc) = central(|v| fx.loss(&fx.x_star(v)), u, h);
    let tol = trunc + loss_round / h + sc.exact();
    Cmp::new("Dx*ᵀ∇ℓ(x*) vs central differences of ℓ(x*(u))", (exact - fd).abs(), tol)
}

fn at(fx: &Fixture, u: f64) -> InnerAt {
    fx.problem.at(&DVector::from_element(1, u)).unwrap()
}

/// The engine's cold-start hypergradient with `k` inner iterations, full sweep.
fn cold_hypergradient(fx: &Fixture, at: &InnerAt, k: usize) -> f64 {
    let traj = Trajectory::run(&at.map, fx.problem.x0(), k);
    fx.problem.hypergradient(at, &traj, k, 0).unwrap()[0]
}

/// The seeds of the tests (fixed, printed on failure through the messages).
const SEEDS: [u64; 3] = [1, 2, 3];
const RULES: [StepRule; 2] = [StepRule::Optimal, StepRule::InvThreeL];

// ---------------------------------------------------------------------------------------
// Positive tests
// ---------------------------------------------------------------------------------------

/// The step rule is recomputed from `u` and matches the spectrum computed here.
#[test]
fn step_follows_u() {
    for rule in RULES {
        let fx = fixture(1, rule, 1.0);
        for u in [0.01, 1.0, 30.0] {
            let at = at(&fx, u);
            let want = fx.alpha(u);
            // Two eigensolvers on `H(u)`: one product-sized rounding of `α` each.
            let tol = 2.0 * ToleranceModel::default().product(N, want);
            let c = Cmp::new(format!("α({u}) for {rule:?}"), (at.alpha - want).abs(), tol);
            c.assert("step_follows_u");
        }
    }
}

/// The exact hypergradient `Dx*(u)ᵀ∇ℓ(x*(u))` (implicit Jacobian) against central
/// differences of `u ↦ ℓ(x*(u))`, on several seeds and weights.
#[test]
fn exact_vs_fd_ridge() {
    for seed in SEEDS {
        let fx = fixture(seed, StepRule::Optimal, 1.0);
        for u in [0.05, 1.0, 10.0] {
            let at = at(&fx, u);
            exact_vs_fd(&fx, at.exact[0], u).assert(&format!("seed {seed}, u = {u}"));
            let sc = fx.scales(u, at.alpha, &fx.x_star(u));
            let tol = 2.0 * (sc.gmag * ToleranceModel::default().solve(N, sc.cond, sc.sx) + sc.loss(0));
            let loss = Cmp::new("ℓ(x*)", (at.loss_star - fx.loss(&fx.x_star(u))).abs(), tol);
            loss.assert(&format!("seed {seed}, u = {u}"));
        }
    }
}

/// The unrolled hypergradient from a fixed `x_0` (cold start, zero or random) against
/// central differences of `u ↦ ℓ(x_K(u))`, for several `K` and both step rules.
#[test]
fn unrolled_vs_fd_cold() {
    for rule in RULES {
        for sigma in [0.0, 3.0] {
            let fx = fixture(2, rule, sigma);
            let u = 0.7;
            let at = at(&fx, u);
            for k in [1, 2, 5, 20, 100] {
                let d = cold_hypergradient(&fx, &at, k);
                unrolled_vs_fd(&fx, "d (cold)", d, u, at.alpha, &fx.x0, k).assert(&format!("{rule:?}, σ = {sigma}"));
            }
        }
    }
}

/// The warm run's `d^{(r)}` is the derivative of `ℓ(x_K(u))` with the warm start
/// `x^{(0)}(u^{(r)}) = x_K(u^{(r−1)})` held constant (`Dx_0 = 0`, Algorithm 1).
#[test]
fn unrolled_vs_fd_warm() {
    for rule in RULES {
        let fx = fixture(1, rule, 0.0);
        let k = 20;
        let warm = run(&fx.problem, &Algorithm1::new(6, k, 0.05)).unwrap();
        for rec in &warm.records[1..] {
            let x0 = DVector::from_column_slice(&rec.x0);
            let c = unrolled_vs_fd(&fx, "d (warm)", rec.estimate.hypergradient[0], rec.u[0], rec.alpha, &x0, k);
            c.assert(&format!("{rule:?}, r = {}", rec.r));
        }
    }
}

/// The truncated estimates of the comparison are derivatives of `ℓ` after `K` (shifted)
/// or `K − T'` (same forward budget) iterations started from the cold iterate `x_{T'}`
/// held constant: the meaning of "stop the sweep at `T'`".
#[test]
fn unrolled_vs_fd_truncated() {
    let fx = fixture(1, StepRule::Optimal, 0.0);
    let k = 20;
    let warm = run(&fx.problem, &Algorithm1::new(4, k, 0.05)).unwrap();
    let mut seen = (false, false);
    for rec in &warm.records {
        let it = &rec.comparison.as_ref().unwrap().implicit_truncation;
        let (u, alpha) = (rec.u[0], rec.alpha);
        let t = it.t_prime.unwrap();
        let x_t = fx.gd(u, alpha, &fx.x0, t);
        let s = it.shifted.as_ref().unwrap();
        assert_eq!((s.iterations, s.stop), (t + k, t));
        unrolled_vs_fd(&fx, "shifted truncation", s.hypergradient[0], u, alpha, &x_t, k).assert("shifted");
        seen.0 = true;
        if let Some(sf) = &it.same_forward {
            assert_eq!((sf.iterations, sf.stop), (k, t));
            unrolled_vs_fd(&fx, "same-forward truncation", sf.hypergradient[0], u, alpha, &x_t, k - t)
                .assert("same forward");
            seen.1 = t > 0;
        }
    }
    assert!(seen.0 && seen.1, "the run must exercise both readings with T' > 0");
}

/// An a-priori bound on `|d_K − d*|` for gradient descent on the ridge weight, from a
/// constant `x_0` (derived from (12) here, not taken from the engine). With `B = I − αH`
/// symmetric, `‖B‖ = ρ`, `C_k = −αx_k`, `g_K = ∇ℓ(x_K)`:
/// `d_K = Σ_{k<K} C_kᵀB^{K−1−k}g_K`, `d* = C*ᵀ(I − B)⁻¹g*`, and
/// `d_K − d* = Σ_k (C_k − C*)ᵀB^{K−1−k}g_K + C*ᵀ(I − B)⁻¹[(g_K − g*) − B^K g_K]`.
/// With `e_k ≤ ρ^k e_0`, `‖(I − B)⁻¹‖ = 1/(αμ)`, `‖g_K − g*‖ ≤ ‖H_v‖ρ^K e_0`:
/// `|d_K − d*| ≤ αKρ^{K−1}e_0 G + (‖x*‖/μ)ρ^K(‖H_v‖e_0 + G)`, `G = ‖g*‖ + ‖H_v‖ρ^K e_0`.
fn apriori_bound(fx: &Fixture, u: f64, alpha: f64, k: usize) -> f64 {
    let (mu, _) = fx.spectrum(u);
    let rho = fx.rho(u, alpha);
    let x_star = fx.x_star(u);
    let e0 = (&fx.x0 - &x_star).norm();
    let hv = fx.a_val.tr_mul(&fx.a_val).norm();
    let rk = rho.powi(k as i32);
    let g = fx.loss_grad(&x_star).norm() + hv * rk * e0;
    let first = if k == 0 { 0.0 } else { alpha * k as f64 * rho.powi(k as i32 - 1) * e0 * g };
    first + x_star.norm() / mu * rk * (hv * e0 + g)
}

/// K values from 0 to `k_max`, roughly geometric (the sweep costs `O(K)` each).
fn k_grid(k_max: usize) -> Vec<usize> {
    let mut ks: Vec<usize> = (0..=8).collect();
    let mut k = 8.0_f64;
    while (k as usize) < k_max {
        k *= 1.25;
        ks.push((k as usize).min(k_max));
    }
    ks.dedup();
    ks
}

/// The required test: exact and unrolled hypergradients agree as the inner
/// iterations grow. For every `K` on a grid, `|d_K − d*| ≤ bound(K) + rounding(K)`, and
/// the grid runs until the bound is below the rounding level, where the error must be at
/// rounding level. Returns the worst comparison and the final one.
fn agree_as_k_grows(fx: &Fixture, u: f64, hypergradient: impl Fn(&InnerAt, usize) -> f64) -> (Cmp, Cmp, Vec<f64>) {
    let at = at(fx, u);
    let alpha = at.alpha;
    let sc = fx.scales(u, alpha, &fx.x0);
    let rounding = |k: usize| sc.unrolled(k) + sc.exact();
    let k_max = (0..20_000).find(|&k| apriori_bound(fx, u, alpha, k) <= rounding(k)).expect("bound reaches rounding");
    let mut worst = Cmp::new("|d_K − d*| vs a-priori bound + rounding", 0.0, 1.0);
    let mut errors = Vec::new();
    let mut last = worst.clone();
    for k in k_grid(k_max + 50) {
        let err = (hypergradient(&at, k) - at.exact[0]).abs();
        errors.push(err);
        let c = Cmp::new(format!("|d_K − d*| at K = {k}"), err, apriori_bound(fx, u, alpha, k) + rounding(k));
        last = Cmp::new(format!("|d_K − d*| at K = {k} (rounding level)"), err, 2.0 * rounding(k));
        worst = worst.worse(c);
    }
    (worst, last, errors)
}

#[test]
fn exact_and_unrolled_agree_as_k_grows() {
    for rule in RULES {
        for (seed, sigma) in [(1, 0.0), (2, 3.0)] {
            let fx = fixture(seed, rule, sigma);
            let (worst, last, errors) = agree_as_k_grows(&fx, 0.7, |at, k| cold_hypergradient(&fx, at, k));
            let ctx = format!("{rule:?}, seed {seed}, σ = {sigma}");
            worst.assert(&ctx);
            last.assert(&ctx);
            // Not vacuous: the rounding level reached is far below the hypergradient
            // (`errors[0] = |d_0 − d*| = |d*|`, as `d_0 = 0`), and the error fell to it.
            assert!(last.tol < 1e-6 * errors[0], "{ctx}: rounding level {:.3e} vs |d*| = {:.3e}", last.tol, errors[0]);
            eprintln!("{ctx}: |d_K − d*| from {:.3e} (K = 0) to {:.3e}", errors[0], errors.last().unwrap());
        }
    }
}

/// Warm-start bookkeeping, replayed here: `x^{(0)}(u^{(r+1)}) = x_K(u^{(r)})`,
/// `e_0^{(r+1)} = ‖x_K(u^{(r)}) − x*(u^{(r+1)})‖` and `u^{(r+1)} = max(u_min, u^{(r)} − τd^{(r)})`.
fn bookkeeping(fx: &Fixture, records: &[unrollcheck::bilevel::OuterRecord], k: usize, tau: f64) -> Cmp {
    let mut worst = Cmp::new("warm-start bookkeeping", 0.0, 1.0);
    for pair in records.windows(2) {
        let (prev, next) = (&pair[0], &pair[1]);
        let (u, u_next) = (prev.u[0], next.u[0]);
        let x0 = DVector::from_column_slice(&prev.x0);
        let x_k = fx.gd(u, fx.alpha(u), &x0, k);
        let e0 = (&x_k - fx.x_star(u_next)).norm();
        let sc = fx.scales(u, prev.alpha, &x0);
        let tol = 2.0 * sc.iterate(k) + ToleranceModel::default().solve(N, sc.cond, sc.sx);
        let c = Cmp::new(format!("e_0 at r = {}", next.r), (next.estimate.e0 - e0).abs(), tol);
        worst = worst.worse(c);
        let want_u = (u - tau * prev.estimate.hypergradient[0]).max(1e-6);
        let c = Cmp::new(format!("u at r = {}", next.r), (u_next - want_u).abs(), 4.0 * f64::EPSILON * want_u);
        worst = worst.worse(c);
    }
    worst
}

#[test]
fn warm_bookkeeping() {
    for rule in RULES {
        let fx = fixture(3, rule, 2.0);
        let (k, tau) = (20, 0.05);
        let warm = run(&fx.problem, &Algorithm1::new(10, k, tau)).unwrap();
        bookkeeping(&fx, &warm.records, k, tau).assert(&format!("{rule:?}"));
        // r = 0 starts from the cold x_0.
        assert_eq!(warm.records[0].x0, fx.x0.as_slice());
    }
}

/// `T'` is the first index where the cold iterate error is at most the warm `e_0`
/// (replayed here), and the shifted estimate starts there.
#[test]
fn t_prime_is_first_index() {
    let fx = fixture(1, StepRule::Optimal, 1.0);
    let warm = run(&fx.problem, &Algorithm1::new(8, 20, 0.05)).unwrap();
    for rec in &warm.records {
        let it = &rec.comparison.as_ref().unwrap().implicit_truncation;
        let t = it.t_prime.unwrap();
        let u = rec.u[0];
        let x_star = fx.x_star(u);
        let err = |k| (fx.gd(u, rec.alpha, &fx.x0, k) - &x_star).norm();
        let sc = fx.scales(u, rec.alpha, &fx.x0);
        let slack = sc.iterate(t) + ToleranceModel::default().solve(N, sc.cond, sc.sx);
        assert!(err(t) <= it.warm_e0 + slack, "r = {}: e_T' = {} > e_0 = {}", rec.r, err(t), it.warm_e0);
        if t > 0 {
            assert!(err(t - 1) > it.warm_e0 - slack, "r = {}: T' = {t} is not the first index", rec.r);
        }
        assert_eq!(it.warm_e0, rec.estimate.e0);
        let s = it.shifted.as_ref().unwrap();
        assert!((s.e_stop - err(t)).abs() <= slack);
    }
    assert_eq!(warm.records[0].comparison.as_ref().unwrap().implicit_truncation.t_prime, Some(0));
}

/// Warm and cold coincide at `r = 0`; the cold run restarts from `x_0`; the comparison's
/// cold estimate at the warm `u^{(r)}` is the cold hypergradient there.
#[test]
fn warm_and_cold_runs() {
    let fx = fixture(2, StepRule::Optimal, 0.0);
    let study = warm_and_cold(&fx.problem, &Algorithm1::new(5, 20, 0.05)).unwrap();
    assert_eq!(study.warm.records[0].estimate, study.cold.records[0].estimate);
    assert!(study.cold.records.iter().all(|r| r.x0 == fx.x0.as_slice() && r.comparison.is_none()));
    for rec in &study.warm.records {
        let cmp = rec.comparison.as_ref().unwrap();
        let at = at(&fx, rec.u[0]);
        assert_eq!(cmp.cold.hypergradient[0], cold_hypergradient(&fx, &at, 20));
        let sc = fx.scales(rec.u[0], rec.alpha, &fx.x0);
        let e0 = (&fx.x0 - fx.x_star(rec.u[0])).norm();
        let c =
            Cmp::new("cold e_0", (cmp.cold.e0 - e0).abs(), 2.0 * ToleranceModel::default().solve(N, sc.cond, sc.sx));
        c.assert(&format!("r = {}", rec.r));
    }
}

/// The same seed gives the same study, bit for bit, and it serialises.
#[test]
fn deterministic_and_serialisable() {
    let cfg = Algorithm1::new(4, 10, 0.05);
    let a = warm_and_cold(&BilevelSpec::ridge(9).build().unwrap(), &cfg).unwrap();
    let b = warm_and_cold(&BilevelSpec::ridge(9).build().unwrap(), &cfg).unwrap();
    assert_eq!(a, b);
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains("\"implicit_truncation\"") && json.contains("\"t_prime\""));
    let c = warm_and_cold(&BilevelSpec::ridge(10).build().unwrap(), &cfg).unwrap();
    assert_ne!(a.warm.records[0].exact, c.warm.records[0].exact);
}

/// Algorithm 1's stopping rule `‖x_k − x_{k−1}‖ ≤ ε`: `K_r` is the first such `k`.
#[test]
fn tolerance_budget() {
    let fx = fixture(1, StepRule::Optimal, 0.0);
    let cfg = Algorithm1 { budget: InnerBudget::Tolerance { eps: 1e-6, k_max: 5000 }, ..Algorithm1::new(5, 1, 0.05) };
    let warm = run(&fx.problem, &cfg).unwrap();
    for rec in &warm.records {
        let (u, k) = (rec.u[0], rec.estimate.iterations);
        let x0 = DVector::from_column_slice(&rec.x0);
        let step = |j: usize| (fx.gd(u, rec.alpha, &x0, j) - fx.gd(u, rec.alpha, &x0, j - 1)).norm();
        assert!(k < 5000 && step(k) <= 1e-6 * (1.0 + 1e-6), "r = {}: K_r = {k}", rec.r);
        assert!(k == 1 || step(k - 1) > 1e-6 * (1.0 - 1e-6), "r = {}: K_r = {k} not the first", rec.r);
    }
    // Warm starts need fewer inner iterations as the outer iterates settle.
    assert!(warm.records[4].estimate.iterations < warm.records[0].estimate.iterations);
}

/// Pseudo-Huber and heavy-ball: the unrolled hypergradient against central differences of
/// `ℓ(x_K(u))` computed with the engine's own step (maps rebuilt at `u ± h`, `α`, `β`
/// frozen), and the exact one against differences of `ℓ(x*(u))` (the engine's Newton
/// minimiser). Tolerance as for ridge, with magnitudes that need no contraction
/// (heavy-ball has `‖B‖ ≥ 1`): `S ≥ max_k ‖z_k‖`, `L ≤ u + ‖A‖_F²` (`φ'' ≤ 1`), `μ ≥ u`,
/// the recursion factor `K + 1` (`tol::recursion` with `ρ = 1`), and the hypergradient's
/// magnitude `(K + 1)·α·S·‖∇ℓ‖` (`K` terms `x̄^{(k+1)}C_k` of norm `≤ αS‖∇ℓ‖` each, when
/// the observed `‖x̄‖ ≤ ‖∇ℓ‖`; checked below).
#[test]
fn other_families_vs_fd() {
    let mut rng = draw::rng(5);
    let a = draw::uniform_matrix(M, N, &mut rng);
    let a_val = draw::uniform_matrix(M_VAL, N, &mut rng);
    let b = draw::normal_vector(M, 1.0, &mut rng) + &a * draw::normal_vector(N, 1.0, &mut rng);
    let b_val = draw::normal_vector(M_VAL, 1.0, &mut rng);
    let x0 = draw::normal_vector(N, 1.0, &mut rng);
    type Build = fn(&DMatrix<f64>, &DVector<f64>, f64, f64) -> Box<dyn FixedPointMap>;
    let ph: Build = |a, b, u, alpha| {
        let f = Robust::new(a.clone(), b.clone(), u, Loss::PseudoHuber { delta: 0.5 }, RobustParam::Weight).unwrap();
        Box::new(GradientDescent::new(f, alpha).unwrap())
    };
    let hb: Build = |a, b, u, alpha| {
        Box::new(HeavyBall::new(Ridge::new(a.clone(), b.clone(), u, RidgeParam::Weight).unwrap(), alpha, 0.5).unwrap())
    };
    let robust = Robust::new(a.clone(), b.clone(), U0, Loss::PseudoHuber { delta: 0.5 }, RobustParam::Weight).unwrap();
    let cases: [(Box<dyn unrollcheck::bilevel::InnerObjective>, Method, Build); 2] = [
        (Box::new(robust), Method::GradientDescent, ph),
        (
            Box::new(Ridge::new(a.clone(), b.clone(), U0, RidgeParam::Weight).unwrap()),
            Method::HeavyBall { beta: 0.5 },
            hb,
        ),
    ];
    let tol = ToleranceModel::default();
    for (inner, method, build) in cases {
        let name = inner.name();
        let p = HyperProblem::new(inner, a_val.clone(), b_val.clone(), method, StepRule::InvL, x0.clone()).unwrap();
        let u = 0.8;
        let at = p.at(&DVector::from_element(1, u)).unwrap();
        let z0 = p.cold_start(&at);
        let h = fd_step(u);
        let l_bound = u + a.norm_squared();
        let atb = a.tr_mul(&b).norm();
        let av = a_val.norm();
        for k in [3, 30] {
            let traj = Trajectory::run(&at.map, &z0, k);
            let s = traj.as_matrix().column_iter().map(|z| z.norm()).fold(0.0, f64::max);
            let g = p.outer_gradient(traj.x(k));
            let mut xbar_max = 0.0_f64;
            let mut d = 0.0;
            truncated_vjp(&at.map, &traj, k, 0, g.as_view(), |j, ubar, xbar| {
                xbar_max = xbar_max.max(xbar.norm());
                if j == 0 {
                    d = ubar[0];
                }
            });
            assert!(xbar_max <= g.norm() * (1.0 + 1e-12), "{name}: ‖x̄‖ grew: the magnitude model does not apply");
            assert_eq!(d, p.hypergradient(&at, &traj, k, 0).unwrap()[0]);
            let ell = |v: f64| {
                let m = build(&a, &b, v, at.alpha);
                p.outer_loss(Trajectory::run(&m, &z0, k).x(k))
            };
            let (fd, trunc) = central(ell, u, h);
            let gmag = av * av * s + a_val.tr_mul(&b_val).norm();
            let step_mag = s * (1.0 + 0.5 + at.alpha * l_bound) + at.alpha * atb; // β = 0.5 at most
            let iterate = tol.recursion(k, 2 * N, step_mag, 1.0);
            let loss = gmag * iterate + tol.product(N + M_VAL, 0.5 * (av * s + b_val.norm()).powi(2));
            let dmag = (k + 1) as f64 * at.alpha * s * gmag;
            let engine =
                tol.recursion(k, 2 * N, dmag, 1.0) + iterate * (k + 1) as f64 * at.alpha * (gmag + s * av * av);
            let c = Cmp::new(format!("{name}: d vs fd, K = {k}"), (d - fd).abs(), trunc + loss / h + engine);
            c.assert("families");
        }
        let (fd, trunc) = central(|v| p.at(&DVector::from_element(1, v)).unwrap().loss_star, u, h);
        let s = at.x_star.norm();
        let gmag = av * av * s + a_val.tr_mul(&b_val).norm();
        let solve = tol.solve(N, l_bound / u, s);
        let loss = gmag * solve + tol.product(N + M_VAL, 0.5 * (av * s + b_val.norm()).powi(2));
        let exact = tol.solve(2 * N, l_bound / u, s * gmag / u);
        let c = Cmp::new(format!("{name}: exact vs fd"), (at.exact[0] - fd).abs(), trunc + loss / h + exact);
        c.assert("families");
    }
}

/// Bad parameters are errors, never panics.
#[test]
fn invalid_parameters() {
    let p = BilevelSpec::ridge(1).build().unwrap();
    let base = Algorithm1::new(3, 5, 0.1);
    let bad = [
        Algorithm1 { budget: InnerBudget::Fixed { k: 0 }, ..base },
        Algorithm1 { outer_iterations: 0, ..base },
        Algorithm1 { tau: 0.0, ..base },
        Algorithm1 { tau: -1.0, ..base },
        Algorithm1 { tau: f64::NAN, ..base },
        Algorithm1 { tau: f64::INFINITY, ..base },
        Algorithm1 { u_min: f64::NAN, ..base },
        Algorithm1 { u_min: 2.0, ..base }, // above u0 = 1
        Algorithm1 { budget: InnerBudget::Tolerance { eps: 0.0, k_max: 10 }, ..base },
        Algorithm1 { budget: InnerBudget::Tolerance { eps: 1e-3, k_max: 0 }, ..base },
        Algorithm1 { search_max: 0, ..base },
    ];
    for cfg in bad {
        assert!(matches!(run(&p, &cfg), Err(Error::InvalidParameter { .. })), "{cfg:?} accepted");
    }
    let spec = BilevelSpec::ridge(1);
    for s in [
        BilevelSpec { u0: 0.0, ..spec },
        BilevelSpec { u0: f64::NAN, ..spec },
        BilevelSpec { noise: -1.0, ..spec },
        BilevelSpec { x0: ColdStart::Normal { sigma: f64::INFINITY }, ..spec },
        BilevelSpec { family: InnerFamily::PseudoHuberWeight { delta: 0.0 }, ..spec },
    ] {
        assert!(matches!(s.build(), Err(Error::InvalidParameter { .. })), "{s:?} accepted");
    }
    assert!(matches!(BilevelSpec { n: 0, ..spec }.build(), Err(Error::Dimension { .. })));
    assert!(p.at(&DVector::from_element(1, f64::NAN)).is_err());
    let at = p.at(&p.u0()).unwrap();
    let traj = Trajectory::run(&at.map, &p.cold_start(&at), 3);
    assert!(p.hypergradient(&at, &traj, 4, 0).is_err() && p.hypergradient(&at, &traj, 2, 3).is_err());
    assert!(estimate(&p, &at, &traj, 3, 4).is_err());
    // A weight of zero with a robust loss is rejected by the family, not a panic.
    let ph = BilevelSpec { family: InnerFamily::PseudoHuberWeight { delta: 0.5 }, ..spec }.build().unwrap();
    assert!(matches!(ph.at(&DVector::from_element(1, 0.0)), Err(Error::InvalidParameter { .. })));
}

// ---------------------------------------------------------------------------------------
// Negative controls: planted bugs, each rejected by a check above
// ---------------------------------------------------------------------------------------

/// Reverse sweep missing the last term `x̄^{(1)}C_0` (stops at `k = 1`): rejected by the
/// finite-difference check (needs `x_0 ≠ 0`, since `C_0 = −αx_0`).
#[test]
fn negative_missing_last_c_term() {
    let fx = fixture(2, StepRule::Optimal, 3.0);
    let at = at(&fx, 0.7);
    for k in [2, 5, 20] {
        let traj = Trajectory::run(&at.map, fx.problem.x0(), k);
        let bug = fx.problem.hypergradient(&at, &traj, k, 1).unwrap()[0];
        unrolled_vs_fd(&fx, "sweep without C_0", bug, 0.7, at.alpha, &fx.x0, k).assert_fails("negative");
    }
}

/// `x̄^{(K)} = ∇ℓ(x*)` instead of `∇ℓ(x_K)`: rejected by the finite-difference check.
#[test]
fn negative_cotangent_at_fixed_point() {
    let fx = fixture(2, StepRule::Optimal, 0.0);
    let at = at(&fx, 0.7);
    for k in [2, 5, 20] {
        let traj = Trajectory::run(&at.map, fx.problem.x0(), k);
        let w = fx.problem.outer_gradient(at.x_star.as_view());
        let mut bug = 0.0;
        truncated_vjp(&at.map, &traj, k, 0, w.as_view(), |j, ubar, _| {
            if j == 0 {
                bug = ubar[0];
            }
        });
        unrolled_vs_fd(&fx, "x̄ = ∇ℓ(x*)", bug, 0.7, at.alpha, &fx.x0, k).assert_fails("negative");
    }
}

/// A warm start that also carries the previous derivative, `Dx_0(u^{(r)}) = Dx_K(u^{(r−1)})`
/// (adding `x̄^{(0)}Dx_0` to `d^{(r)}`): rejected by the warm finite-difference check,
/// which holds `x_0` constant as Algorithm 1 does.
#[test]
fn negative_warm_start_carrying_derivative() {
    let fx = fixture(1, StepRule::Optimal, 0.0);
    let k = 20;
    let warm = run(&fx.problem, &Algorithm1::new(4, k, 0.05)).unwrap();
    for pair in warm.records.windows(2) {
        let (prev, rec) = (&pair[0], &pair[1]);
        let at_prev = at(&fx, prev.u[0]);
        let traj_prev = Trajectory::run(&at_prev.map, &DVector::from_column_slice(&prev.x0), k);
        let dx_prev = forward_jacobians(&at_prev.map, &traj_prev, &DMatrix::zeros(N, 1)).pop().unwrap();
        let at_r = at(&fx, rec.u[0]);
        let x0 = DVector::from_column_slice(&rec.x0);
        let traj = Trajectory::run(&at_r.map, &x0, k);
        let w = fx.problem.outer_gradient(traj.x(k));
        let (mut ubar0, mut xbar0) = (0.0, DVector::zeros(N));
        truncated_vjp(&at_r.map, &traj, k, 0, w.as_view(), |j, ubar, xbar| {
            if j == 0 {
                ubar0 = ubar[0];
                xbar0.copy_from(xbar);
            }
        });
        let bug = ubar0 + xbar0.dot(&dx_prev.column(0));
        unrolled_vs_fd(&fx, "warm start carrying Dx", bug, rec.u[0], rec.alpha, &x0, k).assert_fails("negative");
    }
}

/// Algorithm 1 as printed: `x̄^{(k)} = x̄^{(k+1)}B_k` first, then `ū^{(k)} += x̄^{(k)}C_k`
/// (instead of `x̄^{(k+1)}C_k`, as in (12)). Written here with the engine's `vjp`; it
/// converges to `∇ℓ(x*)ᵀB(I − B)⁻¹C ≠ d*`, and the "agree as K grows" check rejects it.
#[test]
fn negative_printed_update_order() {
    let fx = fixture(1, StepRule::Optimal, 0.0);
    let printed = |at: &InnerAt, k: usize| {
        let traj = Trajectory::run(&at.map, fx.problem.x0(), k);
        let mut s = at.map.scratch();
        let mut xbar = fx.problem.outer_gradient(traj.x(k));
        let mut next = DVector::zeros(N);
        let (mut ubar, mut discard, mut junk) = (DVector::zeros(1), DVector::zeros(1), DVector::zeros(N));
        for j in (0..k).rev() {
            at.map.vjp(traj.x(j), xbar.as_view(), next.as_view_mut(), discard.as_view_mut(), &mut s);
            std::mem::swap(&mut xbar, &mut next);
            at.map.vjp(traj.x(j), xbar.as_view(), junk.as_view_mut(), ubar.as_view_mut(), &mut s);
        }
        ubar[0]
    };
    let (worst, last, _) = agree_as_k_grows(&fx, 0.7, printed);
    assert!(!worst.passes() || !last.passes());
    last.assert_fails("negative: printed order");
}

/// The exact hypergradient with the implicit Jacobian taken at `x_0` instead of `x*`:
/// rejected by the finite-difference check of `ℓ(x*(u))`.
#[test]
fn negative_implicit_jacobian_at_wrong_point() {
    let fx = fixture(1, StepRule::Optimal, 2.0);
    for u in [0.05, 1.0] {
        let at = at(&fx, u);
        let dx = implicit_jacobian(&at.map, fx.problem.x0()).unwrap();
        let bug = dx.tr_mul(&fx.problem.outer_gradient(at.x_star.as_view()))[0];
        exact_vs_fd(&fx, bug, u).assert_fails("negative");
    }
}

/// The bookkeeping check rejects a run that does not carry the iterate (a cold run).
#[test]
fn negative_bookkeeping_of_cold_run() {
    let fx = fixture(3, StepRule::Optimal, 2.0);
    let cold = run(&fx.problem, &Algorithm1 { start: Start::Cold, ..Algorithm1::new(6, 20, 0.05) }).unwrap();
    bookkeeping(&fx, &cold.records, 20, 0.05).assert_fails("negative");
}

// ---------------------------------------------------------------------------------------
// Allocations
// ---------------------------------------------------------------------------------------

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

/// The inner loops (the iterates, the sweep, Algorithm 1's stopping rule, the search for
/// `T'`) allocate nothing per iteration: a run of Algorithm 1 makes as many allocations
/// with `K = 10` as with `K = 1000`, and with a loose as with a tight stopping rule; the
/// search for `T'` as many for a target reached at `k = 10` as at `k = 300`. (Runs with
/// the comparison allocate a number that depends on which readings exist, not on `K`.)
/// Negative control: the counter sees an allocation per iteration of a loop that clones
/// its iterate.
#[test]
fn algorithm1_allocations_do_not_depend_on_k() {
    let p = BilevelSpec::ridge(4).build().unwrap();
    let count_run = |cfg: Algorithm1| counting_alloc::count(|| run(&p, &cfg).unwrap());
    let fixed = |k| Algorithm1 { compare: false, ..Algorithm1::new(3, k, 1e-3) };
    let (short, long) = (count_run(fixed(10)), count_run(fixed(1000)));
    eprintln!("Algorithm 1, R = 3: {short} allocations at K = 10, {long} at K = 1000");
    assert_eq!(short, long);
    let tolerance = |eps| Algorithm1 { budget: InnerBudget::Tolerance { eps, k_max: 100_000 }, ..fixed(1) };
    let (loose, tight) = (count_run(tolerance(1e-2)), count_run(tolerance(1e-12)));
    eprintln!("Algorithm 1, stopping rule: {loose} allocations at ε = 1e-2, {tight} at ε = 1e-12");
    assert_eq!(loose, tight);
    let at = p.at(&p.u0()).unwrap();
    let x0 = p.cold_start(&at);
    let search = |k: usize| {
        let target = (Trajectory::run(&at.map, &x0, k).x(k) - &at.x_star).norm();
        let mut found = None;
        let n = counting_alloc::count(|| found = first_below(at.map.as_ref(), &x0, &at.x_star, target, 5000).0);
        assert_eq!(found, Some(k));
        n
    };
    let (near, far) = (search(10), search(300));
    eprintln!("search for T': {near} allocations at T' = 10, {far} at T' = 300");
    assert_eq!(near, far);
    // Negative control.
    let x = DVector::<f64>::zeros(N);
    let cloning = |k: usize| {
        counting_alloc::count(|| {
            for _ in 0..k {
                std::hint::black_box(x.clone());
            }
        })
    };
    assert_ne!(cloning(10), cloning(1000));
}

/// Algorithm 1 runs end to end on the pseudo-Huber family and with heavy-ball: finite
/// records, warm and cold equal at `r = 0`, the warm `e_0` carried (smaller than the cold
/// one after a few outer iterations on these seeds), `T' = 0` at `r = 0`.
#[test]
fn pseudo_huber_and_heavy_ball_run() {
    let specs = [
        BilevelSpec { family: InnerFamily::PseudoHuberWeight { delta: 0.5 }, ..BilevelSpec::ridge(1) },
        BilevelSpec { method: Method::HeavyBall { beta: 0.5 }, step: StepRule::InvL, ..BilevelSpec::ridge(1) },
    ];
    for spec in specs {
        let study = warm_and_cold(&spec.build().unwrap(), &Algorithm1::new(6, 20, 0.05)).unwrap();
        let (w, c) = (&study.warm.records, &study.cold.records);
        assert_eq!(w[0].estimate, c[0].estimate, "{spec:?}");
        assert!(w.iter().all(|r| r.estimate.error.is_finite() && r.loss_star.is_finite()), "{spec:?}");
        assert_eq!(w[0].comparison.as_ref().unwrap().implicit_truncation.t_prime, Some(0));
        assert!(w[5].estimate.e0 < c[5].estimate.e0, "{spec:?}");
        for r in w {
            let cmp = r.comparison.as_ref().unwrap();
            eprintln!(
                "{:?}/{:?}: r = {}, e0 {:.3e}, warm {:.3e}, cold {:.3e}, T' {:?}, shifted ratio {:?}",
                spec.family,
                spec.method,
                r.r,
                r.estimate.e0,
                r.estimate.error,
                cmp.cold.error,
                cmp.implicit_truncation.t_prime,
                cmp.implicit_truncation.shifted_ratio
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// alg1.eps_stop: Algorithm 1 with its stopping rule on pseudo-Huber (non-quadratic inner)
// ---------------------------------------------------------------------------------------

/// The inner families of `alg1.eps_stop`: pseudo-Huber on the ridge weight with `δ = 0.5`
/// (most residuals in the linear part of the loss) and `δ = 5` (nearly quadratic).
const PSEUDO_HUBER: InnerFamily = InnerFamily::PseudoHuberWeight { delta: 0.5 };
const PSEUDO_HUBER_WIDE: InnerFamily = InnerFamily::PseudoHuberWeight { delta: 5.0 };

/// The ε grid of `alg1.eps_stop`.
const EPS_GRID: [f64; 4] = [1e-2, 1e-4, 1e-6, 1e-8];

/// Algorithm 1 with the stopping rule `‖x_k − x_{k−1}‖ ≤ ε` on `family`, four warm-started
/// outer iterations from a far cold start (`x_0 ~ N(0, 25 I)`), for the step rules
/// `2/(L + μ)` and `1/(3L)`, seeds 1 and 2 and every `ε` of the grid: the records of
/// `unrollcheck::bilevel::stopping` (64 per family) and their comparisons under `variant`.
fn eps_stop_runs(variant: EpsStopVariant, family: InnerFamily) -> Vec<(String, EpsStopRecord, Vec<Comparison>)> {
    let tol = ToleranceModel::default();
    let mut out = Vec::new();
    for step in [StepRule::Optimal, StepRule::InvThreeL] {
        for seed in [1, 2] {
            let spec = BilevelSpec { family, step, x0: ColdStart::Normal { sigma: 5.0 }, ..BilevelSpec::ridge(seed) };
            let problem = spec.build().unwrap();
            for eps in EPS_GRID {
                let cfg = Algorithm1 {
                    budget: InnerBudget::Tolerance { eps, k_max: 200_000 },
                    ..Algorithm1::new(4, 1, 0.05)
                };
                for rec in eps_stop_records(&problem, &cfg, &tol).unwrap() {
                    let ctx = format!("{family:?}, {step:?}, seed {seed}, ε = {eps:e}, r = {}", rec.r);
                    let cmps = rec.comparisons(variant, &tol);
                    out.push((ctx, rec, cmps));
                }
            }
        }
    }
    out
}

/// `alg1.eps_stop` (paper): at every outer iteration the rule fired, `K_r ≤ K̄(ε)`,
/// `e_{K_r} ≤ ρε/(1 − ρ)` and `|d − d*| ≤ ‖g_K‖(ρ^Kė_0 + Kρ^{K−1}Γe_0) + ‖Dx*‖‖∇²ℓ‖ρε/(1 − ρ)`
/// (the reading of `src/bilevel/stopping.rs`); the stopping index grows and the error
/// falls as `ε` shrinks (at `r = 0`, where every `ε` starts from the same `x_0` and `u`).
#[test]
fn alg1_eps_stop_pseudo_huber() {
    let mut runs = eps_stop_runs(EpsStopVariant::Paper, PSEUDO_HUBER);
    runs.extend(eps_stop_runs(EpsStopVariant::Paper, PSEUDO_HUBER_WIDE));
    let mut smallest = [f64::INFINITY; 3];
    for (ctx, rec, cmps) in &runs {
        assert!(rec.stopped && rec.contraction, "{ctx}: the rule did not fire or ρ ≥ 1: {rec:?}");
        assert_eq!(cmps.len(), 3, "{ctx}");
        for (i, c) in cmps.iter().enumerate() {
            assert!(c.holds(), "{ctx}: {} fails: lhs = {:e} > rhs + tol = {:e} + {:e}", c.what, c.lhs, c.rhs, c.tol);
            smallest[i] = smallest[i].min(c.margin());
        }
    }
    eprintln!(
        "alg1.eps_stop: smallest margins K_r ≤ K̄ {:.3e}, e_K {:.3e}, |d − d*| {:.3e}",
        smallest[0], smallest[1], smallest[2]
    );
    // As ε shrinks (r = 0: same u, same x_0): K_r does not decrease and the error falls.
    for chunk in runs.iter().filter(|(_, r, _)| r.r == 0).collect::<Vec<_>>().chunks(EPS_GRID.len()) {
        for w in chunk.windows(2) {
            let ((c0, a, _), (c1, b, _)) = (w[0], w[1]);
            assert!(b.k >= a.k, "{c1}: K_r = {} < {} at {c0}", b.k, a.k);
            assert!(b.error < a.error, "{c1}: error {:e} not below {:e} at {c0}", b.error, a.error);
        }
        let (first, last) = (&chunk[0].1, &chunk[chunk.len() - 1].1);
        eprintln!(
            "{}: ε {:e} → {:e}: K_r {} → {} (K̄ {} → {}), |d − d*| {:.3e} → {:.3e}, ρ = {:.4}",
            chunk[0].0,
            first.eps,
            last.eps,
            first.k,
            last.k,
            first.k_bar,
            last.k_bar,
            first.error,
            last.error,
            first.rho
        );
    }
}

/// The controls of `alg1.eps_stop`, each violated by the step it targets on at least one
/// record: `off_by_one` (step 1: `K_r = K̄`, a warm start already within `ε`), `error_is_eps`
/// (step 2: the rule read as `e_{K_r} ≤ ε`; at `ρ > 1/2` the error at the stop exceeds the
/// last step) and `derivative_at_eps` (step 3: the curse makes `ė_K` lag `e_K`; caught on
/// pseudo-Huber with `δ = 5`, where the certified `ρ` is close to the true rate, not with
/// `δ = 0.5`, where `ρ/(1 − ρ)` is loose enough to absorb it).
#[test]
fn alg1_eps_stop_controls_are_caught() {
    let controls = [
        (EpsStopVariant::OffByOne, PSEUDO_HUBER, 0),
        (EpsStopVariant::ErrorIsEps, PSEUDO_HUBER, 1),
        (EpsStopVariant::DerivativeAtEps, PSEUDO_HUBER_WIDE, 2),
    ];
    for (variant, family, step) in controls {
        let runs = eps_stop_runs(variant, family);
        let caught: Vec<_> = runs.iter().filter(|(_, _, cmps)| !cmps[step].holds()).collect();
        let Some((ctx, _, cmps)) = caught.first() else {
            panic!("alg1.eps_stop[{variant:?}] was never violated on {} records of {family:?}", runs.len());
        };
        let c = &cmps[step];
        eprintln!(
            "caught alg1.eps_stop[{variant:?}] on {}/{} records; first: {ctx}: {}: lhs = {:e} > rhs + tol = {:e} + {:e}",
            caught.len(),
            runs.len(),
            c.what,
            c.lhs,
            c.rhs,
            c.tol
        );
    }
}
