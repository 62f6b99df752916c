//! Independent oracles for the engine, shared by the tests of `tests/engine.rs`.
//!
//! Everything here is written from the paper's formulas, not from the engine's code:
//! - [`Formula`]: the *value* of each objective, generic over a dual-number scalar, so
//!   that `num_dual::hessian` yields exact derivatives to compare with the engine's
//!   hand-written products;
//! - [`Case`]: a seeded instance (data drawn with `problem::draw`, fixed seed) that can
//!   rebuild its objective and map at any parameter `u`, for central finite differences;
//! - comparison helpers that return the worst error *and* the tolerance of a stated
//!   rounding/truncation model ([`Cmp`]); the positive tests and the negative controls
//!   call the same helpers;
//! - [`FaultyMap`], [`FaultyObjective`]: test-only wrappers that plant a known bug, used by
//!   the negative controls to show that each comparison can fail.
//!
//! # Rounding model used throughout
//!
//! `u = ε/2 = 2⁻⁵³` is the unit roundoff and `γ_k = k u / (1 − k u)` (Higham, *Accuracy and
//! Stability of Numerical Algorithms*, §3.1): a quantity computed by a chain of at most `k`
//! roundings (an inner product of `k` terms, nested sums, correctly rounded elementary
//! functions) differs from its exact value by at most `γ_k` times the same computation
//! done on absolute values (the *magnitude*). Two independent computations of the same
//! exact quantity therefore differ by at most `2 γ_k · magnitude`.

#![allow(dead_code)] // not every test uses every helper

use nalgebra::{DMatrix, DVector, Dyn, OVector};
use num_dual::{Dual2Vec, DualNum};
use unrollcheck::map::nesterov::Schedule;
use unrollcheck::map::{Capabilities, FixedPointMap, GradientDescent, HeavyBall, LIMIT, Lift, Nesterov};
use unrollcheck::problem::logistic::{Logistic, LogisticParam};
use unrollcheck::problem::ridge::{Ridge, RidgeParam};
use unrollcheck::problem::robust::{Loss, Robust, RobustParam};
use unrollcheck::problem::{Ball, Curvature, Objective, Scratch, Smoothness, VecView, VecViewMut, draw};
use unrollcheck::unroll::{Trajectory, forward, reverse};

/// Unit roundoff `u = 2⁻⁵³`.
pub const U: f64 = f64::EPSILON / 2.0;

/// `γ_k = k u / (1 − k u)`.
pub fn gamma(k: usize) -> f64 {
    let ku = k as f64 * U;
    ku / (1.0 - ku)
}

/// Extra roundings allowed, on top of the inner-product lengths, for the elementwise work
/// of a loss (pseudo-Huber: a division, a square, `sqrt` or `powf` (≤ 1 ulp each), and the
/// chain rule of the dual numbers, about ten operations per derivative), rounded up.
pub const ELEMENTWISE: usize = 16;

// ---------------------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------------------

/// One comparison: the worst error and the tolerance the model allows *at that entry*
/// (both in the same units). `err` is NaN-safe: a NaN anywhere counts as `+∞`.
#[derive(Debug, Clone)]
pub struct Cmp {
    /// What was compared (for messages).
    pub what: String,
    /// The worst error (the entry with the largest `err / tol`).
    pub err: f64,
    /// The model's tolerance for that entry.
    pub tol: f64,
}

impl Cmp {
    /// A comparison with a single tolerance.
    pub fn new(what: impl Into<String>, err: f64, tol: f64) -> Self {
        let err = if err.is_nan() { f64::INFINITY } else { err };
        Cmp { what: what.into(), err, tol }
    }
    /// `err / tol` (`> 1` is a mismatch).
    pub fn ratio(&self) -> f64 {
        self.err / self.tol
    }
    /// `err ≤ tol`.
    pub fn passes(&self) -> bool {
        self.err <= self.tol
    }
    /// Keeps the comparison with the larger ratio.
    pub fn worse(self, other: Cmp) -> Cmp {
        if other.ratio() > self.ratio() { other } else { self }
    }
    /// Panics with everything needed to replay when the comparison fails.
    #[track_caller]
    pub fn assert(&self, context: &str) {
        // The margin is kept in the output (shown with `--nocapture`), not just pass/fail.
        eprintln!(
            "{context}: {}: error {:.3e}, tolerance {:.3e}, ratio {:.3e}",
            self.what,
            self.err,
            self.tol,
            self.ratio()
        );
        assert!(
            self.passes(),
            "{context}: {} mismatch: error {:.3e} > tolerance {:.3e} (ratio {:.3e})",
            self.what,
            self.err,
            self.tol,
            self.ratio()
        );
    }
    /// Panics unless the comparison *fails* (negative controls).
    #[track_caller]
    pub fn assert_fails(&self, context: &str) {
        eprintln!(
            "{context}: {} (planted fault): error {:.3e}, tolerance {:.3e}, ratio {:.3e}",
            self.what,
            self.err,
            self.tol,
            self.ratio()
        );
        assert!(
            !self.passes(),
            "{context}: planted fault NOT detected by the {} check: error {:.3e} <= tolerance {:.3e}",
            self.what,
            self.err,
            self.tol
        );
    }
}

/// Entrywise comparison of two equally shaped matrices against one absolute tolerance;
/// reports the worst relative error `max|a − b| / scale` against `tol_abs / scale`.
pub fn cmp_abs(what: &str, a: &DMatrix<f64>, b: &DMatrix<f64>, tol_abs: f64, scale: f64) -> Cmp {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let err = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| {
            let d = (x - y).abs();
            if d.is_nan() { f64::INFINITY } else { d }
        })
        .fold(0.0, f64::max);
    Cmp::new(what, err / scale, tol_abs / scale)
}

/// Vector version of [`cmp_abs`].
pub fn cmp_vec(what: &str, a: &DVector<f64>, b: &DVector<f64>, tol_abs: f64, scale: f64) -> Cmp {
    cmp_abs(
        what,
        &DMatrix::from_column_slice(a.len(), 1, a.as_slice()),
        &DMatrix::from_column_slice(b.len(), 1, b.as_slice()),
        tol_abs,
        scale,
    )
}

// ---------------------------------------------------------------------------------------
// Instances
// ---------------------------------------------------------------------------------------

/// The objective family (value formula and parameter), independent of the engine's enum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fam {
    /// `½‖Ax − b‖² + (λ/2)‖x‖²`.
    Ridge(RidgeParam),
    /// `Σ δ²(√(1 + (r/δ)²) − 1) + (λ/2)‖x‖²`.
    PseudoHuber(RobustParam, f64),
    /// `Σ huber_δ(r) + (λ/2)‖x‖²`.
    Huber(RobustParam, f64),
    /// `Σ w_k log(1 + exp(−y_k a_kᵀx)) + (λ/2)‖x‖²`, `y = sign(b)`, `w` drawn U(0.5, 1.5).
    Logistic(LogisticParam),
}

/// The fixed-point method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Meth {
    /// Gradient descent.
    Gd,
    /// Heavy-ball with momentum `β`.
    Hb(f64),
    /// Nesterov with the constant momentum `β`.
    Nag(f64),
    /// Nesterov with the convex schedule `β_k = k/(k + 3)`: `Some(k)` is the map of
    /// iteration `k` applied at every step ([`Frozen`], so that the time-invariant oracles
    /// test `A_k`); `None` the genuine time-varying map (whose unindexed methods are the
    /// limit `β = 1`).
    NagConvex(Option<usize>),
}

/// `β_k = k/(k + 3)` of Nesterov's convex schedule, written here from its definition
/// `(k' − 1)/(k' + 2)`, `k' = k + 1` (1 from the limit index on).
pub fn convex_momentum(k: usize) -> f64 {
    if k >= LIMIT {
        1.0
    } else {
        let kp = (k + 1) as f64;
        (kp - 1.0) / (kp + 2.0)
    }
}

/// A seeded instance: data, ridge weight, step size and method.
#[derive(Debug, Clone)]
pub struct Case {
    /// Family.
    pub fam: Fam,
    /// Method.
    pub meth: Meth,
    /// Data matrix (M×N).
    pub a: DMatrix<f64>,
    /// Targets.
    pub b: DVector<f64>,
    /// Ridge weight.
    pub lambda: f64,
    /// Step size.
    pub alpha: f64,
    /// A test point `x` (N), drawn with the data.
    pub x: DVector<f64>,
    /// Per-sample weights (logistic: U(0.5, 1.5), drawn after `x`; ones otherwise).
    pub w: DVector<f64>,
    /// The seed of the draw.
    pub seed: u64,
}

/// Step size used by the hand-built cases: `α = 1/(λ + ‖A‖_F²)`. Since
/// `L ≤ λ + ‖A‖₂² ≤ λ + ‖A‖_F²` (φ'' ≤ 1 for both robust losses), `αL ≤ 1`: gradient
/// descent contracts, and heavy-ball with `β < 1` has spectral radius `< 1`. Computed
/// from the data alone, not from the engine's certified constants.
pub fn safe_alpha(a: &DMatrix<f64>, lambda: f64) -> f64 {
    1.0 / (lambda + a.norm_squared())
}

impl Case {
    /// Draws `A` (M×N, U(0,1)), `b` (N(0,1)) and a point `x` (N(0,1)) from `seed`.
    pub fn draw(fam: Fam, meth: Meth, m: usize, n: usize, lambda: f64, seed: u64) -> Self {
        let mut rng = draw::rng(seed);
        let a = draw::uniform_matrix(m, n, &mut rng);
        let b = draw::normal_vector(m, 1.0, &mut rng);
        let x = draw::normal_vector(n, 1.0, &mut rng);
        let w = match fam {
            Fam::Logistic(_) => draw::sample_weights(m, &mut rng),
            _ => DVector::from_element(m, 1.0),
        };
        let alpha = safe_alpha(&a, lambda);
        Case { fam, meth, a, b, lambda, alpha, x, w, seed }
    }

    /// A short name for messages (family, method, seed).
    pub fn name(&self) -> String {
        format!(
            "{:?} / {:?} / M={} N={} λ={} α={:.6e} seed={}",
            self.fam,
            self.meth,
            self.a.nrows(),
            self.a.ncols(),
            self.lambda,
            self.alpha,
            self.seed
        )
    }

    /// `M`, `N`.
    pub fn dims(&self) -> (usize, usize) {
        self.a.shape()
    }

    /// `p`, the dimension of the parameter.
    pub fn dim_u(&self) -> usize {
        let (m, n) = self.dims();
        match self.fam {
            Fam::Ridge(RidgeParam::Weight)
            | Fam::PseudoHuber(RobustParam::Weight, _)
            | Fam::Huber(RobustParam::Weight, _) => 1,
            Fam::Ridge(RidgeParam::Targets)
            | Fam::PseudoHuber(RobustParam::Targets, _)
            | Fam::Huber(RobustParam::Targets, _) => m,
            Fam::Ridge(RidgeParam::Data) => m * n + m,
            Fam::Logistic(LogisticParam::Weight) => 1,
            Fam::Logistic(LogisticParam::SampleWeights) => m,
            Fam::Logistic(LogisticParam::Data) => m * n,
        }
    }

    /// The parameter `u`, flattened here (not by the engine): `λ`, `b`, `w`, `A` row by row,
    /// or `(A row by row, b)`.
    pub fn u0(&self) -> DVector<f64> {
        let (m, n) = self.dims();
        match self.fam {
            Fam::Ridge(RidgeParam::Weight)
            | Fam::PseudoHuber(RobustParam::Weight, _)
            | Fam::Huber(RobustParam::Weight, _) => DVector::from_element(1, self.lambda),
            Fam::Ridge(RidgeParam::Targets)
            | Fam::PseudoHuber(RobustParam::Targets, _)
            | Fam::Huber(RobustParam::Targets, _) => self.b.clone(),
            Fam::Ridge(RidgeParam::Data) => {
                let mut u = Vec::with_capacity(m * n + m);
                for k in 0..m {
                    for j in 0..n {
                        u.push(self.a[(k, j)]);
                    }
                }
                u.extend(self.b.iter());
                DVector::from_vec(u)
            }
            Fam::Logistic(LogisticParam::Weight) => DVector::from_element(1, self.lambda),
            Fam::Logistic(LogisticParam::SampleWeights) => self.w.clone(),
            Fam::Logistic(LogisticParam::Data) => DVector::from_fn(m * n, |k, _| self.a[(k / n, k % n)]),
        }
    }

    /// The labels `y_k = sign(b_k)` (`+1` at 0) of the logistic family.
    pub fn labels(&self) -> DVector<f64> {
        self.b.map(|v| if v >= 0.0 { 1.0 } else { -1.0 })
    }

    fn logistic(&self, u: Option<&DVector<f64>>) -> Logistic {
        let Fam::Logistic(param) = self.fam else { unreachable!() };
        let f = Logistic::new(self.a.clone(), self.labels(), self.w.clone(), self.lambda, param).unwrap();
        match u {
            Some(u) => f.with_param(u).unwrap(),
            None => f,
        }
    }

    /// The loss of a robust family.
    fn loss(&self) -> Option<Loss> {
        match self.fam {
            Fam::Ridge(_) | Fam::Logistic(_) => None,
            Fam::PseudoHuber(_, delta) => Some(Loss::PseudoHuber { delta }),
            Fam::Huber(_, delta) => Some(Loss::Huber { delta }),
        }
    }

    fn ridge(&self, u: Option<&DVector<f64>>) -> Ridge {
        let Fam::Ridge(param) = self.fam else { unreachable!() };
        let f = Ridge::new(self.a.clone(), self.b.clone(), self.lambda, param).unwrap();
        match u {
            Some(u) => f.with_param(u).unwrap(),
            None => f,
        }
    }

    fn robust(&self, u: Option<&DVector<f64>>) -> Robust {
        let (Fam::PseudoHuber(param, _) | Fam::Huber(param, _)) = self.fam else { unreachable!() };
        let f = Robust::new(self.a.clone(), self.b.clone(), self.lambda, self.loss().unwrap(), param).unwrap();
        match u {
            Some(u) => f.with_param(u).unwrap(),
            None => f,
        }
    }

    /// The engine's objective, at the drawn parameter (`None`) or rebuilt at `u` with
    /// `Ridge::with_param` / `Robust::with_param`.
    pub fn objective(&self, u: Option<&DVector<f64>>) -> Box<dyn Objective> {
        match self.fam {
            Fam::Ridge(_) => Box::new(self.ridge(u)),
            Fam::Logistic(_) => Box::new(self.logistic(u)),
            _ => Box::new(self.robust(u)),
        }
    }

    /// The engine's map with this case's `α` (and `β`), at `u` (or the drawn parameter).
    pub fn map(&self, u: Option<&DVector<f64>>) -> Box<dyn FixedPointMap> {
        match self.fam {
            Fam::Ridge(_) => wrap(self.ridge(u), self.meth, self.alpha),
            Fam::Logistic(_) => wrap(self.logistic(u), self.meth, self.alpha),
            _ => wrap(self.robust(u), self.meth, self.alpha),
        }
    }

    /// The independent value formula.
    pub fn formula(&self) -> Formula {
        Formula {
            a: self.a.clone(),
            b: self.b.clone(),
            lambda: self.lambda,
            fam: self.fam,
            y: self.labels(),
            w: self.w.clone(),
        }
    }

    /// A state of the map built from `x`: `x` itself, or `(x, x + d)` for the momentum
    /// methods with a seeded offset `d` so that the momentum term is exercised.
    pub fn state(&self, x: &DVector<f64>) -> DVector<f64> {
        match self.meth {
            Meth::Gd => x.clone(),
            Meth::Hb(_) | Meth::Nag(_) | Meth::NagConvex(_) => {
                let mut rng = draw::rng(self.seed ^ 0x5eed);
                let d = draw::normal_vector(x.len(), 0.5, &mut rng);
                let n = x.len();
                DVector::from_fn(2 * n, |i, _| if i < n { x[i] } else { x[i - n] + d[i - n] })
            }
        }
    }

    // --- magnitudes (the absolute-value computations of the rounding model) -------------

    /// `|A||x| + |b|`: bounds `|r_k|` and the magnitude of computing it.
    pub fn r_abs(&self, x: &DVector<f64>) -> DVector<f64> {
        self.a.abs() * x.abs() + self.b.abs()
    }

    /// Entrywise magnitude of `∇_x f(x)`: `|A|ᵀ(|A||x| + |b|) + λ|x|` (as `|φ'(r)| ≤ |r|`
    /// for all three losses); logistic: `|A|ᵀ(w ⊙ (1 + |A||x| + |b|)) + λ|x|` (`|ℓ'| < 1`,
    /// and the rounding of the margin moves `ℓ'` by at most `ℓ'' ≤ ¼` times it).
    pub fn grad_mag(&self, x: &DVector<f64>) -> DVector<f64> {
        match self.fam {
            Fam::Logistic(_) => {
                let inner = self.r_abs(x).map(|r| 1.0 + r).component_mul(&self.w);
                self.a.abs().tr_mul(&inner) + self.lambda * x.abs()
            }
            _ => self.a.abs().tr_mul(&self.r_abs(x)) + self.lambda * x.abs(),
        }
    }

    /// Largest entry magnitude of `∇²_xx f`: `max (|A|ᵀ|A|)_ij + λ` (as `0 ≤ φ'' ≤ 1`).
    ///
    /// Logistic: `max (|A|ᵀ diag(w/2)|A|)_ij + λ`: `ℓ'' ≤ ¼`, and the rounding of `e^{−|t|}`
    /// (relative `|t|γ`) moves `ℓ''` by at most `|t|ℓ''(t)γ ≤ 0.23γ`, so `½` bounds both.
    pub fn hess_mag(&self) -> f64 {
        let aa = self.a.abs();
        match self.fam {
            Fam::Logistic(_) => aa.tr_mul(&(DMatrix::from_diagonal(&(0.5 * &self.w)) * &aa)).max() + self.lambda,
            _ => aa.tr_mul(&aa).max() + self.lambda,
        }
    }

    /// Largest entry magnitude of `D_u∇_x f(x)`: `|x_i|` (weight), `|a_ki|φ''` (targets),
    /// `|r_k| δ_il + |a_ki||x_l|` and `|a_ki|` (data).
    pub fn mixed_mag(&self, x: &DVector<f64>) -> f64 {
        let amax = self.a.abs().max();
        match self.fam {
            Fam::Ridge(RidgeParam::Weight)
            | Fam::PseudoHuber(RobustParam::Weight, _)
            | Fam::Huber(RobustParam::Weight, _) => x.abs().max(),
            Fam::Ridge(RidgeParam::Targets)
            | Fam::PseudoHuber(RobustParam::Targets, _)
            | Fam::Huber(RobustParam::Targets, _) => amax,
            Fam::Ridge(RidgeParam::Data) => (self.r_abs(x).max() + amax * x.abs().max()).max(amax),
            // Logistic: `|x_i|`; `|a_ki ℓ'(t_k)|` (plus the rounding of `t_k` through
            // `ℓ''`); `w_k|ℓ'| δ_il + w_k ℓ''|a_ki||x_l|`.
            Fam::Logistic(LogisticParam::Weight) => x.abs().max(),
            Fam::Logistic(LogisticParam::SampleWeights) => amax * (1.0 + self.r_abs(x).max()),
            Fam::Logistic(LogisticParam::Data) => self.w.max() * ((1.0 + self.r_abs(x).max()) + amax * x.abs().max()),
        }
    }

    /// For the momentum methods, the largest weight on the iterates in the step:
    /// Nesterov's gradient is taken at `y = (1 + β)x_1 − βx_2`, whose entries are bounded by
    /// `(1 + β)|x_1| + β|x_2|` ([`Self::y_mag`]); heavy-ball's at `x_1`.
    pub fn y_mag(&self, z: &DVector<f64>) -> DVector<f64> {
        let n = self.dims().1;
        let x1 = z.rows(0, n).abs();
        match self.meth {
            Meth::Nag(_) | Meth::NagConvex(_) if z.len() == 2 * n => {
                let beta = self.beta();
                (1.0 + beta) * x1 + beta * z.rows(n, n).abs()
            }
            _ => x1,
        }
    }

    /// `true` for Nesterov (gradient at the extrapolated point).
    pub fn is_nesterov(&self) -> bool {
        matches!(self.meth, Meth::Nag(_) | Meth::NagConvex(_))
    }

    /// The number of roundings `k` of the longest chain in one objective product:
    /// `AᵀA` (M terms) times a vector (N terms) plus the right-hand side, and the
    /// elementwise work of the loss.
    pub fn k_obj(&self) -> usize {
        let (m, n) = self.dims();
        m + n + ELEMENTWISE
    }

    /// `β` (0 for gradient descent).
    pub fn beta(&self) -> f64 {
        match self.meth {
            Meth::Gd => 0.0,
            Meth::Hb(beta) | Meth::Nag(beta) => beta,
            Meth::NagConvex(Some(k)) => convex_momentum(k),
            Meth::NagConvex(None) => 1.0, // an upper bound on every β_k
        }
    }

    /// Bound on the rounding error of any entry of `step(z)`, `z = x` or `(x_1, x_2)`:
    /// `γ_k ((1+β)|x_1| + β|x_2| + α·grad_mag(x_1))` with `k = k_obj + 3` (the three
    /// extra roundings of the momentum combination and the `α` scaling).
    ///
    /// Nesterov: `γ_k(|y|(1 + αN hess_mag) + α·grad_mag(|y|))` with `|y|` of [`Self::y_mag`]
    /// (the rounding of `y`, two operations, enters the gradient through the Hessian).
    pub fn step_rounding(&self, z: &DVector<f64>) -> f64 {
        let n = self.dims().1;
        let beta = self.beta();
        if self.is_nesterov() {
            let y = self.y_mag(z);
            let mag = &y * (1.0 + self.alpha * n as f64 * self.hess_mag()) + self.alpha * self.grad_mag(&y);
            return gamma(self.k_obj() + 3) * mag.max();
        }
        let x1 = z.rows(0, n).into_owned();
        let mut mag = (1.0 + beta) * x1.abs() + self.alpha * self.grad_mag(&x1);
        if z.len() == 2 * n {
            mag += beta * z.rows(n, n).abs();
        }
        gamma(self.k_obj() + 3) * mag.max()
    }

    /// Magnitude of an entry of `B = D_x A` as computed by a `jvp`: `1 + 2β + α·hess_mag`
    /// (bounds `(1+β) + α|H|_ij`, the momentum entries `β` and `1`, and the row sums of
    /// the momentum combination `(1+β)dx_1 − βdx_2`).
    ///
    /// Nesterov: `(1 + 2β)(1 + α·hess_mag)` (the blocks `(1 + β)(I − αH)` and `β(I − αH)`).
    pub fn b_mag(&self) -> f64 {
        if self.is_nesterov() {
            return (1.0 + 2.0 * self.beta()) * (1.0 + self.alpha * self.hess_mag());
        }
        1.0 + 2.0 * self.beta() + self.alpha * self.hess_mag()
    }

    /// Largest entry magnitude of `C = D_u A` at `z`: `α·mixed_mag(x_1)`.
    pub fn c_mag(&self, z: &DVector<f64>) -> f64 {
        if self.is_nesterov() {
            return self.alpha * self.mixed_mag(&self.y_mag(z));
        }
        let n = self.dims().1;
        self.alpha * self.mixed_mag(&z.rows(0, n).into_owned())
    }

    /// `max |∂³ step_i / ∂x_j³|` along coordinate directions. The step is `x_1 −
    /// α∇f(x_1) + (momentum, linear)`; `∂³_{x_j}∇_i f = Σ_k a_ki a_kj³ φ''''(r_k)`.
    /// Ridge: 0 (quadratic). Huber: 0 between kinks (checked by the caller). Pseudo-Huber:
    /// `φ''''(r) = −(3/δ²)(1 + s²)^{-7/2}(1 − 4s²)`, `s = r/δ`, whose modulus is at most
    /// `3/δ²` (at `s = 0`), so the bound is `α (3/δ²) M max|a|⁴`.
    ///
    /// Logistic: `|ℓ''''| ≤ ⅛` (at `t = 0`), so `α (1/8) M max w max|a|⁴`. Nesterov: the
    /// gradient is taken at `y`, which moves by `(1 + β)h` along a coordinate of `x_1`: a
    /// factor `(1 + β)³`.
    pub fn third_x(&self) -> f64 {
        let amax = self.a.abs().max();
        let loss = match self.fam {
            Fam::PseudoHuber(_, delta) => self.alpha * 3.0 / (delta * delta) * self.a.nrows() as f64 * amax.powi(4),
            Fam::Logistic(_) => self.alpha / 8.0 * self.a.nrows() as f64 * self.w.max() * amax.powi(4),
            _ => 0.0,
        };
        if self.is_nesterov() { loss * (1.0 + self.beta()).powi(3) } else { loss }
    }

    /// `max |∂³ step_i / ∂u_j³|` at the state `z`. Linear in `λ` and in `b` for ridge, and
    /// quadratic in each single entry of `A` (`∇f = Aᵀ(Ax − b) + λx`), so central
    /// differences are exact up to rounding except for pseudo-Huber targets, where
    /// `∂³_{b_k}∇_i f = −a_ki φ''''(r_k)`, bounded by `α max|a| 3/δ²`. Logistic: linear in
    /// `λ` and in `w`; for the data, `∂³_{a_kl}∇_i f = w_k ℓ''''(t_k) y_l³ a_ki +
    /// 3w_k y_k ℓ'''(t_k) y_l² δ_il` at the point `y` where the gradient is taken, bounded by
    /// `α max w (1.01 max|a| |y|³/8 + 3 c₃ |y|²)` (`c₃ = √3/18 < 0.1`; 1.01 for the
    /// perturbed entry).
    pub fn third_u(&self, z: &DVector<f64>) -> f64 {
        match self.fam {
            Fam::PseudoHuber(RobustParam::Targets, delta) => self.alpha * self.a.abs().max() * 3.0 / (delta * delta),
            Fam::Logistic(LogisticParam::Data) => {
                let y = self.y_mag(z).max();
                self.alpha * self.w.max() * (1.01 * self.a.abs().max() * y.powi(3) / 8.0 + 0.3 * y * y)
            }
            _ => 0.0,
        }
    }

    /// For the classic Huber loss: `min_k ||r_k(x)| − δ|`, the distance of the residuals
    /// to the kinks (`+∞` for the smooth families).
    pub fn kink_margin(&self, x: &DVector<f64>) -> f64 {
        match self.fam {
            Fam::Huber(_, delta) => {
                (&self.a * x - &self.b).iter().map(|r| (r.abs() - delta).abs()).fold(f64::INFINITY, f64::min)
            }
            _ => f64::INFINITY,
        }
    }

    /// For the classic Huber loss: how many residuals sit inside `|r| ≤ δ`.
    pub fn inside_count(&self, x: &DVector<f64>) -> usize {
        match self.fam {
            Fam::Huber(_, delta) | Fam::PseudoHuber(_, delta) => {
                (&self.a * x - &self.b).iter().filter(|r| r.abs() <= delta).count()
            }
            _ => 0,
        }
    }
}

/// Builds a boxed map around an objective.
pub fn wrap<O: Objective + 'static>(f: O, meth: Meth, alpha: f64) -> Box<dyn FixedPointMap> {
    match meth {
        Meth::Gd => Box::new(GradientDescent::new(f, alpha).unwrap()),
        Meth::Hb(beta) => Box::new(HeavyBall::new(f, alpha, beta).unwrap()),
        Meth::Nag(beta) => Box::new(Nesterov::new(f, alpha, Schedule::StronglyConvex { beta }).unwrap()),
        Meth::NagConvex(None) => Box::new(Nesterov::new(f, alpha, Schedule::Convex).unwrap()),
        Meth::NagConvex(Some(k)) => Box::new(Frozen { inner: Nesterov::new(f, alpha, Schedule::Convex).unwrap(), k }),
    }
}

/// The map `A_k` of one iteration of a time-varying map, applied at every step: a
/// time-invariant map, so that the oracles written for the unindexed products test `A_k`.
pub struct Frozen<M> {
    /// The time-varying map.
    pub inner: M,
    /// The iteration whose map is applied.
    pub k: usize,
}

impl<M: FixedPointMap> FixedPointMap for Frozen<M> {
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.inner.dim_u()
    }
    fn name(&self) -> String {
        format!("{} at k = {}", self.inner.name(), self.k)
    }
    fn scratch(&self) -> Scratch {
        self.inner.scratch()
    }
    fn step_at(&self, _k: usize, x: VecView, out: VecViewMut, s: &mut Scratch) {
        self.inner.step_at(self.k, x, out, s)
    }
    fn step_magnitude(&self, _k: usize, x: VecView, s: &mut Scratch) -> f64 {
        self.inner.step_magnitude(self.k, x, s)
    }
    fn jvp_at(&self, _k: usize, x: VecView, dx: VecView, du: VecView, out: VecViewMut, s: &mut Scratch) {
        self.inner.jvp_at(self.k, x, dx, du, out, s)
    }
    fn vjp_at(&self, _k: usize, x: VecView, w: VecView, xbar_out: VecViewMut, ubar_acc: VecViewMut, s: &mut Scratch) {
        self.inner.vjp_at(self.k, x, w, xbar_out, ubar_acc, s)
    }
    fn fixed_point(&self) -> unrollcheck::Result<DVector<f64>> {
        self.inner.fixed_point()
    }
    fn constants(&self, ball: &Ball) -> unrollcheck::Result<unrollcheck::constants::MapConstants> {
        self.inner.constants(ball)
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities { lift: Lift::Stacked, ..Capabilities::default() }
    }
}

// ---------------------------------------------------------------------------------------
// Oracle 1: dual numbers on the value formula
// ---------------------------------------------------------------------------------------

/// The objective's value formula only, re-implemented from the paper over a generic
/// (dual) scalar on the joint vector `z = (x, u)`.
#[derive(Debug, Clone)]
pub struct Formula {
    a: DMatrix<f64>,
    b: DVector<f64>,
    lambda: f64,
    fam: Fam,
    /// Labels `±1` (logistic).
    y: DVector<f64>,
    /// Sample weights (logistic).
    w: DVector<f64>,
}

impl Formula {
    /// `f(x, u)` for `z = (x, u)`, `x ∈ R^N`.
    pub fn value<T: DualNum<Primitive = f64>>(&self, z: &[T]) -> T {
        let (m, n) = self.a.shape();
        let (x, u) = z.split_at(n);
        let mut f = T::from(0.0);
        for k in 0..m {
            // The logistic margin has no target.
            let mut r = if let Fam::Logistic(_) = self.fam { T::from(0.0) } else { -self.b_at(u, k) };
            for (j, xj) in x.iter().enumerate() {
                r += self.a_at(u, k, j) * xj.clone();
            }
            f += match self.fam {
                // w_k log(1 + exp(−y_k a_kᵀx)).
                Fam::Logistic(_) => self.w_at(u, k) * ((-(r * self.y[k])).exp() + 1.0).ln(),
                _ => self.loss(r),
            };
        }
        let mut xx = T::from(0.0);
        for xj in x {
            xx += xj.clone() * xj.clone();
        }
        f + self.lambda_at(u) * xx * 0.5
    }

    /// The kind of parameter: 0 weight, 1 targets, 2 data `(A row by row, b)` (logistic:
    /// `A` row by row), 3 sample weights.
    fn kind(&self) -> u8 {
        match self.fam {
            Fam::Logistic(LogisticParam::Weight) => 0,
            Fam::Logistic(LogisticParam::Data) => 2,
            Fam::Logistic(LogisticParam::SampleWeights) => 3,
            Fam::Ridge(RidgeParam::Weight)
            | Fam::PseudoHuber(RobustParam::Weight, _)
            | Fam::Huber(RobustParam::Weight, _) => 0,
            Fam::Ridge(RidgeParam::Targets)
            | Fam::PseudoHuber(RobustParam::Targets, _)
            | Fam::Huber(RobustParam::Targets, _) => 1,
            Fam::Ridge(RidgeParam::Data) => 2,
        }
    }

    /// `λ`: the parameter itself for the weight families, else a constant.
    fn lambda_at<T: DualNum<Primitive = f64>>(&self, u: &[T]) -> T {
        if self.kind() == 0 { u[0].clone() } else { T::from(self.lambda) }
    }

    /// `A_kj`: `u[k N + j]` for the data family, else a constant.
    fn a_at<T: DualNum<Primitive = f64>>(&self, u: &[T], k: usize, j: usize) -> T {
        if self.kind() == 2 { u[k * self.a.ncols() + j].clone() } else { T::from(self.a[(k, j)]) }
    }

    /// `w_k`: `u[k]` (sample weights), else a constant.
    fn w_at<T: DualNum<Primitive = f64>>(&self, u: &[T], k: usize) -> T {
        if self.kind() == 3 { u[k].clone() } else { T::from(self.w[k]) }
    }

    /// `b_k`: `u[k]` (targets), `u[M N + k]` (data), else a constant.
    fn b_at<T: DualNum<Primitive = f64>>(&self, u: &[T], k: usize) -> T {
        match self.kind() {
            1 => u[k].clone(),
            2 => u[self.a.len() + k].clone(),
            _ => T::from(self.b[k]),
        }
    }

    /// The loss `φ(r)`.
    fn loss<T: DualNum<Primitive = f64>>(&self, r: T) -> T {
        match self.fam {
            Fam::Ridge(_) => r.clone() * r * 0.5,
            Fam::Logistic(_) => unreachable!("the logistic term is written in `value`"),
            Fam::PseudoHuber(_, d) => {
                let s = r / d;
                ((s.clone() * s + 1.0).sqrt() - 1.0) * (d * d)
            }
            Fam::Huber(_, d) => {
                if r.re().abs() <= d {
                    r.clone() * r * 0.5
                } else {
                    (r.abs() - 0.5 * d) * d
                }
            }
        }
    }

    /// `(f, ∇_z f, ∇²_zz f)` at `z = (x, u)` by second-order dual numbers.
    pub fn hessian(&self, x: &DVector<f64>, u: &DVector<f64>) -> (f64, DVector<f64>, DMatrix<f64>) {
        let z: DVector<f64> = DVector::from_iterator(x.len() + u.len(), x.iter().chain(u.iter()).cloned());
        num_dual::hessian(|zd: OVector<Dual2Vec<f64, Dyn>, Dyn>| self.value(zd.as_slice()), &z)
    }
}

/// The results of [`objective_vs_dual`], one [`Cmp`] per block.
#[derive(Debug, Clone)]
pub struct ObjCheck {
    /// `f(x, u)` vs the formula.
    pub value: Cmp,
    /// `Objective::gradient` vs the x-block of the dual gradient.
    pub grad: Cmp,
    /// `Objective::hessian` (from `hvp_acc`) vs the xx-block of the dual Hessian.
    pub hess: Cmp,
    /// `Objective::mixed` (from `mixed_jvp_acc`) vs the xu-block of the dual Hessian.
    pub mixed: Cmp,
    /// `mixed_vjp_acc(w)` vs `(xu-block)ᵀ w` from the dual Hessian.
    pub vjp: Cmp,
    /// Dot-product test `⟨M du, w⟩ = ⟨du, Mᵀw⟩` with the engine's two products.
    pub dot: Cmp,
}

impl ObjCheck {
    /// All comparisons.
    pub fn all(&self) -> [&Cmp; 6] {
        [&self.value, &self.grad, &self.hess, &self.mixed, &self.vjp, &self.dot]
    }
    /// Asserts that every block passes.
    #[track_caller]
    pub fn assert(&self, context: &str) {
        for c in self.all() {
            c.assert(context);
        }
    }
}

/// Compares the engine's derivatives of `f` at `x` with the dual-number oracle of `case`.
///
/// Tolerance model (module docs): every entry is an inner product of at most `k = M + N +
/// ELEMENTWISE` roundings in either implementation (the engine forms `AᵀA` (M terms) then
/// multiplies by a vector (N terms); the dual numbers form `r = Ax − b` (N terms) then sum
/// `M` losses), so two computations differ by at most `2γ_k` times the entry's magnitude,
/// bounded by [`Case::grad_mag`], [`Case::hess_mag`], [`Case::mixed_mag`]. Errors are
/// reported relative to those magnitudes, against the relative tolerance `2γ_k`. The
/// transposed products add one inner product of length `N` (and `p` for the dot test) and
/// are scaled by `‖w‖₁` (and `‖du‖₁`).
pub fn objective_vs_dual(
    f: &dyn Objective,
    case: &Case,
    x: &DVector<f64>,
    du: &DVector<f64>,
    w: &DVector<f64>,
) -> ObjCheck {
    let n = case.dims().1;
    let p = case.dim_u();
    assert_eq!((f.dim_x(), f.dim_u()), (n, p), "dimensions of {}", case.name());
    let (val, g, h) = case.formula().hessian(x, &case.u0());
    let k = case.k_obj();
    let tol = 2.0 * gamma(k);

    // Value: magnitude of each loss evaluated on |r| ≤ r_abs: ½r² (ridge); ½r² + δ|r| + δ²
    // (Huber, both branches); δ²(√(1 + (r/δ)²) + 1) for pseudo-Huber, whose `√· − 1`
    // cancels for small r, so its rounding error is O(u δ²), not O(u r²).
    // Logistic: `w_k log(1 + e^{−t})` ≤ `w_k(log 2 + |t|)`, magnitude `w_k(1 + |t|)`.
    let loss_mag = |r: f64| match case.fam {
        Fam::Ridge(_) => 0.5 * r * r,
        Fam::Logistic(_) => 1.0 + r,
        Fam::Huber(_, d) => 0.5 * r * r + d * r + d * d,
        Fam::PseudoHuber(_, d) => d * d * ((1.0 + (r / d).powi(2)).sqrt() + 1.0),
    };
    let vmag = case.r_abs(x).iter().zip(case.w.iter()).map(|(&r, &wk)| wk * loss_mag(r)).sum::<f64>()
        + 0.5 * case.lambda * x.norm_squared();
    let value = Cmp::new("value", (f.value(x.as_view()) - val).abs() / vmag, tol);

    let gmag = case.grad_mag(x).max();
    let grad = cmp_vec("gradient", &f.gradient(x.as_view()), &g.rows(0, n).into_owned(), tol * gmag, gmag);
    let hmag = case.hess_mag();
    let hess = cmp_abs("hessian", &f.hessian(x.as_view()), &h.view((0, 0), (n, n)).into_owned(), tol * hmag, hmag);
    let mmag = case.mixed_mag(x);
    let m_dual = h.view((0, n), (n, p)).into_owned();
    let mixed = cmp_abs("mixed D_u∇_x f", &f.mixed(x.as_view()), &m_dual, tol * mmag, mmag);

    // mixed_vjp_acc with a = −2 (a power of two: the scaling is exact) into zeros.
    let mut vjp_out = DVector::zeros(p);
    let mut s = f.scratch();
    f.mixed_vjp_acc(x.as_view(), w.as_view(), -2.0, vjp_out.as_view_mut(), &mut s);
    let vmag_t = mmag * w.lp_norm(1);
    let tol_t = 2.0 * gamma(k + n);
    let vjp = cmp_vec("mixed_vjp_acc vs dual transpose", &(vjp_out * -0.5), &m_dual.tr_mul(w), tol_t * vmag_t, vmag_t);

    // ⟨M du, w⟩ against ⟨du, Mᵀ w⟩, both from the engine's products.
    let mut jv = DVector::zeros(n);
    f.mixed_jvp_acc(x.as_view(), du.as_view(), 1.0, jv.as_view_mut(), &mut s);
    let mut vj = DVector::zeros(p);
    f.mixed_vjp_acc(x.as_view(), w.as_view(), 1.0, vj.as_view_mut(), &mut s);
    let dmag = mmag * w.lp_norm(1) * du.lp_norm(1);
    let dot = Cmp::new(
        "dot-product test <M du, w> = <du, Mᵀw>",
        (jv.dot(w) - du.dot(&vj)).abs() / dmag,
        2.0 * gamma(k + n + p),
    );
    ObjCheck { value, grad, hess, mixed, vjp, dot }
}

// ---------------------------------------------------------------------------------------
// Oracle 2: central finite differences of the step
// ---------------------------------------------------------------------------------------

/// The step of a central difference along a coordinate of size `scale`:
/// `h = ε^{1/3} · max(1, |scale|)`. It balances the rounding error `O(ε·|F|/h)` against the
/// truncation error `O(h²|F'''|)` when `F'''` is of the size of `F` over the coordinate's
/// natural length (`max(1, |scale|)`), giving a total error `O(ε^{2/3})`; the tolerances
/// below do not rely on that balance but evaluate both terms from the model.
pub fn fd_step(scale: f64) -> f64 {
    f64::EPSILON.cbrt() * scale.abs().max(1.0)
}

/// The results of [`map_vs_fd`].
#[derive(Debug, Clone)]
pub struct MapCheck {
    /// `d_x` against central differences of `step` in `x`.
    pub b: Cmp,
    /// `d_u` against central differences of `step` in `u` (rebuilt maps).
    pub c: Cmp,
    /// `vjp` against the transpose of the dense `d_x`, `d_u`, entry by entry.
    pub vjp: Cmp,
    /// Dot-product test with the map's own products:
    /// `⟨jvp(dz, du), w⟩ = ⟨dz, x̄(w)⟩ + ⟨du, ū(w)⟩`.
    pub dot: Cmp,
}

impl MapCheck {
    /// Asserts all four.
    #[track_caller]
    pub fn assert(&self, context: &str) {
        self.b.assert(context);
        self.c.assert(context);
        self.vjp.assert(context);
        self.dot.assert(context);
    }
}

/// Compares the Jacobians of `map` (the map under test, normally `case.map(None)`) at
/// the state `z` with central finite differences of the *genuine* step: in `z` with the
/// genuine map, in `u` with maps rebuilt at `u ± h e_j` (same `α`, `β`).
///
/// Tolerance per column `j` (absolute):
/// `ε_s/h + h² T₃/6 + 2γ_k |B|_max`, where `ε_s` bounds the rounding error of one
/// evaluation of the step ([`Case::step_rounding`]; the difference of two evaluations
/// divided by `2h` gives `ε_s/h`), `T₃` bounds the third derivative of the step along the
/// coordinate ([`Case::third_x`], [`Case::third_u`]), `h²T₃/6` is the Taylor remainder of
/// the central difference, and the last term covers the engine's own rounding of the
/// entry plus the rounding of the realised step `x_j + h − (x_j − h)`.
/// The `vjp` is compared entrywise with `Bᵀw` and `Cᵀw` from the dense matrices, with
/// the relative tolerance `2γ_{k+n}` on the magnitudes `|B|_max ‖w‖₁`, `|C|_max ‖w‖₁`.
/// The output `x̄` of `vjp` is pre-filled with NaN to check that it is overwritten, and
/// `ū` with zeros (it accumulates). The scalar dot-product test has the tolerance
/// `2γ_{k+N_z+p}(|B|_max‖dz‖₁ + |C|_max‖du‖₁)‖w‖₁`.
pub fn map_vs_fd(
    map: &dyn FixedPointMap,
    case: &Case,
    z: &DVector<f64>,
    dirs: (&DVector<f64>, &DVector<f64>, &DVector<f64>),
) -> MapCheck {
    let (dz, du, w) = dirs;
    let genuine = case.map(None);
    let nz = map.dim_x();
    let p = map.dim_u();
    let mut s = genuine.scratch();
    let step = |m: &dyn FixedPointMap, z: &DVector<f64>, s: &mut Scratch| {
        let mut out = DVector::zeros(nz);
        m.step(z.as_view(), out.as_view_mut(), s);
        out
    };
    let k = case.k_obj() + 3;
    let b_mag = case.b_mag();
    let c_mag = case.c_mag(z);

    // B = D_x A by central differences in z.
    let bmat = map.d_x(z.as_view());
    let h_max = z.iter().map(|&v| fd_step(v)).fold(0.0, f64::max);
    // Precondition of the model for the classic Huber loss: no residual crosses a kink
    // within the differences (a coordinate step moves r_k by at most max|a|·h, a target
    // step by h), so the step is exactly quadratic there and T₃ = 0.
    let x1 = z.rows(0, case.dims().1).into_owned();
    let h_u = case.u0().iter().map(|&v| fd_step(v)).fold(0.0, f64::max);
    let reach = (case.a.abs().max() * h_max).max(h_u);
    assert!(
        case.kink_margin(&x1) > 2.0 * reach, // twice, for headroom
        "{}: a residual lies within {reach:.2e} of the Huber kink; pick another point",
        case.name()
    );
    let eps_s = case.step_rounding(&z.map(|v| v.abs() + h_max));
    let mut bcmp = Cmp::new("B = D_x A vs central differences", 0.0, 1.0);
    for j in 0..nz {
        let h = fd_step(z[j]);
        let (mut zp, mut zm) = (z.clone(), z.clone());
        zp[j] += h;
        zm[j] -= h;
        let hh = zp[j] - zm[j];
        let col = (step(genuine.as_ref(), &zp, &mut s) - step(genuine.as_ref(), &zm, &mut s)) / hh;
        let tol = eps_s / h + h * h * case.third_x() / 6.0 + 2.0 * gamma(k) * b_mag;
        let c = cmp_vec(
            &format!("B = D_x A vs central differences (column {j})"),
            &bmat.column(j).into_owned(),
            &col,
            tol,
            b_mag,
        );
        bcmp = bcmp.worse(c);
    }

    // C = D_u A by central differences in u (objective rebuilt at u ± h e_j).
    let cmat = map.d_u(z.as_view());
    let u0 = case.u0();
    let eps_s = case.step_rounding(z);
    let mut ccmp = Cmp::new("C = D_u A vs central differences", 0.0, 1.0);
    for j in 0..p {
        let h = fd_step(u0[j]);
        let (mut up, mut um) = (u0.clone(), u0.clone());
        up[j] += h;
        um[j] -= h;
        let hh = up[j] - um[j];
        let (mp, mm) = (case.map(Some(&up)), case.map(Some(&um)));
        let col = (step(mp.as_ref(), z, &mut s) - step(mm.as_ref(), z, &mut s)) / hh;
        // The magnitudes at u ± h differ from those at u by a relative 1e-5 at most
        // (h ≤ ε^{1/3}·max(1,|u_j|)); `ε_s` is inflated by that factor.
        let tol = eps_s * (1.0 + 1e-5) / h + h * h * case.third_u(z) / 6.0 + 2.0 * gamma(k) * c_mag;
        let c = cmp_vec(
            &format!("C = D_u A vs central differences (column {j})"),
            &cmat.column(j).into_owned(),
            &col,
            tol,
            c_mag,
        );
        ccmp = ccmp.worse(c);
    }

    // vjp against the transposes of the dense Jacobians.
    let mut xbar = DVector::from_element(nz, f64::NAN);
    let mut ubar = DVector::zeros(p);
    map.vjp(z.as_view(), w.as_view(), xbar.as_view_mut(), ubar.as_view_mut(), &mut s);
    let tol_t = 2.0 * gamma(k + nz);
    let wb = b_mag * w.lp_norm(1);
    let wc = c_mag * w.lp_norm(1);
    let vjp = cmp_vec("vjp x̄ vs Bᵀw", &xbar, &bmat.tr_mul(w), tol_t * wb, wb).worse(cmp_vec(
        "vjp ū vs Cᵀw",
        &ubar,
        &cmat.tr_mul(w),
        tol_t * wc,
        wc,
    ));

    let mut jv = DVector::zeros(nz);
    map.jvp(z.as_view(), dz.as_view(), du.as_view(), jv.as_view_mut(), &mut s);
    let mut ubar = DVector::zeros(p);
    map.vjp(z.as_view(), w.as_view(), xbar.as_view_mut(), ubar.as_view_mut(), &mut s);
    let dmag = (b_mag * dz.lp_norm(1) + c_mag * du.lp_norm(1)) * w.lp_norm(1);
    let dot = Cmp::new(
        "map dot-product test <B dz + C du, w> = <dz, Bᵀw> + <du, Cᵀw>",
        (jv.dot(w) - dz.dot(&xbar) - du.dot(&ubar)).abs() / dmag,
        2.0 * gamma(k + nz + p),
    );
    MapCheck { b: bcmp, c: ccmp, vjp, dot }
}

// ---------------------------------------------------------------------------------------
// Planted faults (negative controls)
// ---------------------------------------------------------------------------------------

/// A bug planted in a map's products.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MapFault {
    /// `jvp` returns `B dx − C du` (sign of the C-term flipped).
    FlipC,
    /// `jvp` returns `B dx + s·C du`.
    ScaleC(f64),
    /// `jvp` evaluates `B`, `C` at the next iterate `A(x)` (i.e. `B_{k+1}` instead of `B_k`).
    NextIterate,
    /// `vjp` returns `x̄ = B w` instead of `Bᵀ w`.
    VjpNoTranspose,
}

/// A map whose `jvp` or `vjp` carries a [`MapFault`]; everything else delegates.
pub struct FaultyMap<'a> {
    /// The genuine map.
    pub inner: &'a dyn FixedPointMap,
    /// The planted bug.
    pub fault: MapFault,
}

impl FixedPointMap for FaultyMap<'_> {
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.inner.dim_u()
    }
    fn name(&self) -> String {
        format!("faulty[{:?}]({})", self.fault, self.inner.name())
    }
    fn scratch(&self) -> Scratch {
        self.inner.scratch()
    }
    // Time-invariant: every iteration applies the inner map's limit map.
    fn step_at(&self, _k: usize, x: VecView, out: VecViewMut, s: &mut Scratch) {
        self.inner.step(x, out, s)
    }
    fn step_magnitude(&self, k: usize, x: VecView, s: &mut Scratch) -> f64 {
        self.inner.step_magnitude(k, x, s)
    }
    fn jvp_at(&self, _k: usize, x: VecView, dx: VecView, du: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let n = self.dim_x();
        let zero_u = DVector::zeros(self.dim_u());
        let zero_x = DVector::zeros(n);
        match self.fault {
            MapFault::FlipC | MapFault::ScaleC(_) => {
                let sc = match self.fault {
                    MapFault::ScaleC(c) => c,
                    _ => -1.0,
                };
                let mut bx = DVector::zeros(n);
                let mut cu = DVector::zeros(n);
                self.inner.jvp(x, dx, zero_u.as_view(), bx.as_view_mut(), s);
                self.inner.jvp(x, zero_x.as_view(), du, cu.as_view_mut(), s);
                out.copy_from(&(bx + sc * cu));
            }
            MapFault::NextIterate => {
                let mut next = DVector::zeros(n);
                self.inner.step(x, next.as_view_mut(), s);
                self.inner.jvp(next.as_view(), dx, du, out, s);
            }
            MapFault::VjpNoTranspose => self.inner.jvp(x, dx, du, out, s),
        }
    }
    fn vjp_at(
        &self,
        _k: usize,
        x: VecView,
        w: VecView,
        mut xbar_out: VecViewMut,
        ubar_acc: VecViewMut,
        s: &mut Scratch,
    ) {
        match self.fault {
            MapFault::VjpNoTranspose => {
                let mut scratch_x = DVector::zeros(self.dim_x());
                self.inner.vjp(x, w, scratch_x.as_view_mut(), ubar_acc, s);
                let zero_u = DVector::zeros(self.dim_u());
                self.inner.jvp(x, w, zero_u.as_view(), xbar_out.as_view_mut(), s);
            }
            _ => self.inner.vjp(x, w, xbar_out, ubar_acc, s),
        }
    }
    fn fixed_point(&self) -> unrollcheck::Result<DVector<f64>> {
        self.inner.fixed_point()
    }
    fn constants(&self, ball: &Ball) -> unrollcheck::Result<unrollcheck::constants::MapConstants> {
        self.inner.constants(ball)
    }
    fn capabilities(&self) -> unrollcheck::map::Capabilities<'_> {
        unrollcheck::map::Capabilities { lift: self.inner.capabilities().lift, ..Default::default() }
    }
}

/// An objective whose second-order products are scaled by planted factors.
pub struct FaultyObjective<'a> {
    /// The genuine objective.
    pub inner: &'a dyn Objective,
    /// Factor on `hvp_acc`.
    pub hvp_scale: f64,
    /// Factor on `mixed_jvp_acc`.
    pub mixed_scale: f64,
    /// Factor on `mixed_vjp_acc`.
    pub vjp_scale: f64,
}

impl<'a> FaultyObjective<'a> {
    /// No fault yet.
    pub fn new(inner: &'a dyn Objective) -> Self {
        FaultyObjective { inner, hvp_scale: 1.0, mixed_scale: 1.0, vjp_scale: 1.0 }
    }
}

impl Objective for FaultyObjective<'_> {
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.inner.dim_u()
    }
    fn name(&self) -> String {
        format!("faulty({})", self.inner.name())
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
    fn hvp_acc(&self, x: VecView, v: VecView, a: f64, out: VecViewMut, s: &mut Scratch) {
        self.inner.hvp_acc(x, v, a * self.hvp_scale, out, s)
    }
    fn mixed_jvp_acc(&self, x: VecView, du: VecView, a: f64, out: VecViewMut, s: &mut Scratch) {
        self.inner.mixed_jvp_acc(x, du, a * self.mixed_scale, out, s)
    }
    fn mixed_vjp_acc(&self, x: VecView, w: VecView, a: f64, out: VecViewMut, s: &mut Scratch) {
        self.inner.mixed_vjp_acc(x, w, a * self.vjp_scale, out, s)
    }
    fn param(&self) -> DVector<f64> {
        self.inner.param()
    }
    fn curvature(&self, ball: &Ball) -> Curvature {
        self.inner.curvature(ball)
    }
    fn smoothness(&self, ball: &Ball) -> Smoothness {
        self.inner.smoothness(ball)
    }
    fn minimizer(&self) -> unrollcheck::Result<DVector<f64>> {
        self.inner.minimizer()
    }
}

// ---------------------------------------------------------------------------------------
// Oracle 3: forward against reverse mode (Remark 3, Section 4.1)
// ---------------------------------------------------------------------------------------

/// The results of [`forward_vs_reverse`].
#[derive(Debug, Clone)]
pub struct FwdRev {
    /// Dense: `Ẋ_{T'}^{(K'−T')}` against `Ū_{K'}^{(T')}` (for `T' = 0`, `K' = K`:
    /// `forward_jacobians(..)[K]` against `reverse_jacobians(..).0[0]`).
    pub full: Cmp,
    /// Directional: `wᵀ(Ẋ v)` from `late_start_jvp` against `(wᵀŪ) v` from `truncated_vjp`.
    pub dir: Cmp,
}

impl FwdRev {
    /// Asserts both.
    #[track_caller]
    pub fn assert(&self, context: &str) {
        self.full.assert(context);
        self.dir.assert(context);
    }
}

/// Compares forward and reverse mode over the iterates `T' … K'` of `traj`, with
/// `Ẋ^{(0)} = 0`.
///
/// Rounding model (first order in `u`; `‖·‖` is Frobenius, which bounds the max-entry norm
/// and satisfies `‖|P||Q|‖ ≤ ‖P‖‖Q‖`). Both modes use the *same* dense `B_j`, `C_j`, so
/// only the association of the products differs. Write `S_j = X̄^{(j)} = B_{K'−1}⋯B_j`
/// (`S_{K'} = I`, norm taken as 1), `Ẋ_j` the forward iterates, `Ū_j` the reverse ones,
/// and `k = N_z + 1` (one inner product of `N_z` terms plus an addition per entry):
/// - forward: step `j` commits `E_j ≤ γ_k(‖B_j‖‖Ẋ_j‖ + ‖C_j‖)`, carried to the end by
///   `S_{j+1}`: `Σ_j ‖S_{j+1}‖ E_j`;
/// - reverse, `Ū` update: `γ_k(‖S_{j+1}‖‖C_j‖ + ‖Ū_{j+1}‖)` per step, not amplified;
/// - reverse, `X̄` update: `H_j ≤ γ_k‖S_{j+1}‖‖B_j‖` enters `Ū` through
///   `Σ_{i<j} B_{j−1}⋯B_{i+1} C_i = Ẋ_j` (the forward iterate), i.e. `‖H_j‖‖Ẋ_j‖`.
///
/// The sum of the three is `E_full`; it is `c·K·N·ε` with `c` set by the norms along the
/// run (≈ 1 when `‖B_j‖ ≤ 1`, larger under heavy-ball's transient growth). For the
/// directional products the same recursion runs through `jvp`/`vjp`, whose products are
/// chains of `k_obj + 3` roundings on the magnitudes `|B|_max`, `|C|_max` of
/// [`Case::b_mag`], [`Case::c_mag`] (so `‖B_j‖` is replaced by `N_z |B|_max`, `‖C_j‖` by
/// `√(N_z p)|C|_max`) and scaled by `‖v‖‖w‖`.
pub fn forward_vs_reverse(
    map: &dyn FixedPointMap,
    case: &Case,
    traj: &Trajectory,
    t_prime: usize,
    k_end: usize,
    v: &DVector<f64>,
    w: &DVector<f64>,
) -> FwdRev {
    forward_vs_reverse_steps(map, case, traj, t_prime, k_end, k_end - t_prime, v, w)
}

/// [`forward_vs_reverse`] with the number of late-started forward steps given
/// explicitly: the consistent reading of (20) is `fwd_steps = K' − T'`; the literal
/// reading of Section 4.1 (`Ẋ_{T'}^{(K')}`) is `fwd_steps = K'` (a negative control).
#[allow(clippy::too_many_arguments)]
pub fn forward_vs_reverse_steps(
    map: &dyn FixedPointMap,
    case: &Case,
    traj: &Trajectory,
    t_prime: usize,
    k_end: usize,
    fwd_steps: usize,
    v: &DVector<f64>,
    w: &DVector<f64>,
) -> FwdRev {
    let (nz, p) = (map.dim_x(), map.dim_u());
    let steps = k_end - t_prime;
    let zero = DMatrix::zeros(nz, p);
    let (fwd, (ubars, _)) = if t_prime == 0 && k_end == traj.len() && fwd_steps == steps {
        (forward::forward_jacobians(map, traj, &zero), reverse::reverse_jacobians(map, traj))
    } else {
        (
            forward::late_start_jacobians(map, traj, t_prime, fwd_steps, &zero),
            reverse::truncated_jacobians(map, traj, k_end, t_prime),
        )
    };
    assert_eq!(fwd.len(), fwd_steps + 1);
    assert_eq!(ubars.len(), steps + 1);
    let f_end = &fwd[fwd_steps];
    let r_end = &ubars[0];

    // Norms along the run (index i = j − T').
    let bs: Vec<DMatrix<f64>> = (t_prime..k_end).map(|j| map.d_x(traj.x(j))).collect();
    let cs: Vec<DMatrix<f64>> = (t_prime..k_end).map(|j| map.d_u(traj.x(j))).collect();
    let mut s_norm = vec![1.0; steps + 1]; // ‖S_{j}‖, S_{K'} = I counted as 1
    let mut s = DMatrix::<f64>::identity(nz, nz);
    for i in (0..steps).rev() {
        s = &s * &bs[i];
        s_norm[i] = s.norm();
    }
    let c_max_mag = (t_prime..=k_end).map(|j| case.c_mag(&traj.x(j).into_owned())).fold(0.0, f64::max);
    let b_abs = nz as f64 * case.b_mag();
    let c_abs = ((nz * p) as f64).sqrt() * c_max_mag;
    let (kd, ko) = (nz + 1, case.k_obj() + 3);
    let mut e_full = 0.0;
    let mut e_dir = 0.0;
    for i in 0..steps {
        let xd = fwd[i.min(fwd_steps)].norm();
        let (sn, ub) = (s_norm[i + 1], ubars[i + 1].norm());
        let (bn, cn) = (bs[i].norm(), cs[i].norm());
        e_full += gamma(kd) * (sn * (bn * xd + cn) + (sn * cn + ub) + sn * bn * xd);
        e_dir += gamma(ko) * (sn * (b_abs * xd + c_abs) + (sn * c_abs + ub) + sn * b_abs * xd);
    }
    let scale = f_end.norm().max(r_end.norm());
    let full = cmp_abs(&format!("forward vs reverse, dense, T'={t_prime} K'={k_end}"), f_end, r_end, e_full, scale);

    let mut xv = DVector::zeros(nz);
    let zero_x = DVector::zeros(nz);
    forward::late_start_jvp(map, traj, t_prime, fwd_steps, v.as_view(), zero_x.as_view(), |j, x| {
        if j == fwd_steps {
            xv.copy_from(x);
        }
    });
    let mut wu = DVector::zeros(p);
    reverse::truncated_vjp(map, traj, k_end, t_prime, w.as_view(), |k, ub, _| {
        if k == t_prime {
            wu.copy_from(ub);
        }
    });
    let (a, b) = (w.dot(&xv), wu.dot(v));
    let vw = v.norm() * w.norm();
    // The two final inner products add γ_{max(N_z, p)} on ‖Ẋ‖‖v‖‖w‖.
    let tol = e_dir * vw + 2.0 * gamma(nz.max(p)) * scale * vw;
    let dir = Cmp::new(
        format!("forward vs reverse, wᵀ(Ẋv) vs (wᵀŪ)v, T'={t_prime} K'={k_end}"),
        (a - b).abs() / (scale * vw),
        tol / (scale * vw),
    );
    FwdRev { full, dir }
}

// ---------------------------------------------------------------------------------------
// Oracle 4: Dx* against central differences of the solution map
// ---------------------------------------------------------------------------------------

/// Smallest eigenvalue bound `μ` of `∇²f` computed here (not by the engine):
/// `λ + λ_min(AᵀA)` for ridge, `λ` for the robust losses (`φ'' ≥ 0`).
pub fn mu_lower(case: &Case) -> f64 {
    match case.fam {
        Fam::Ridge(_) => {
            let ev = case.a.tr_mul(&case.a).symmetric_eigenvalues();
            case.lambda + ev.min().max(0.0)
        }
        _ => case.lambda,
    }
}

/// Compares `dx_star` (the engine's `Dx*` of `case.map(None)`, or of a faulty map) with
/// central differences of `u ↦ x*(u)`, the fixed point of the map rebuilt at `u ± h e_j`
/// (which calls the objective's `minimizer()`).
///
/// Tolerance per column `j` (absolute, max-entry):
/// - truncation: the central difference is `D(h) = Dx* e_j + c h² + O(h⁴)`, so
///   `D(2h) − D(h) = 3c h² + O(h⁴)` and the truncation error of `D(h)` is estimated by
///   `|D(2h) − D(h)|/3` (Richardson); doubled to cover the `O(h⁴)` remainder while `h` is
///   in the asymptotic range (its term is then at most the `h²` one);
/// - rounding of `x*`: the minimiser is polished until its gradient is at rounding level,
///   `|∇f(x̂)|_∞ ≤ γ_k max grad_mag` (asserted below on the computed gradient, plus the
///   gradient's own rounding), so by strong convexity `‖x̂ − x*‖ ≤ 2√N γ_k max grad_mag / μ
///   =: δ`, and the difference of two such solves over `2h` contributes `δ/h`;
/// - the engine's solve `(I − B)⁻¹C` (LU): backward error `γ_{k+N_z}` on `B`, `C`, amplified
///   by `‖(I − B)⁻¹‖ ≤ 2(1+β)/(αμ) + 1` (heavy-ball's block elimination; `1/(αμ)` for
///   gradient descent): `2γ‖(I−B)⁻¹‖ N_z(|B|_max‖Dx*‖_max + |C|_max)`.
///
/// Terms of order `δ·Lip(B, C)/(αμ)` (the engine evaluates `B`, `C` at `x̂`, not `x*`) are
/// smaller than `δ/h` by the factor `h·Lip/(αμ) ≈ 10⁻⁵` and are left out.
pub fn implicit_vs_fd(dx_star: &DMatrix<f64>, case: &Case) -> (Cmp, DMatrix<f64>) {
    let f = case.objective(None);
    let x_hat = f.minimizer().unwrap();
    let k = case.k_obj();
    let gmag = case.grad_mag(&x_hat).max();
    let g_hat = f.gradient(x_hat.as_view()).amax();
    assert!(
        g_hat <= gamma(k) * gmag,
        "{}: minimizer() not polished to rounding level: |∇f(x̂)|_∞ = {g_hat:.3e} > γ_k·{gmag:.3e}",
        case.name()
    );
    let n = case.dims().1;
    let mu = mu_lower(case);
    let delta = 2.0 * (n as f64).sqrt() * gamma(k) * gmag / mu;
    let nz = dx_star.nrows();
    let inv = 2.0 * (1.0 + case.beta()) / (case.alpha * mu) + 1.0;
    let z_hat = case.map(None).capabilities().lift.apply(&x_hat);
    let engine = 2.0 * gamma(k + nz) * inv * nz as f64 * (case.b_mag() * dx_star.amax() + case.c_mag(&z_hat));
    let u0 = case.u0();
    let scale = dx_star.amax();
    // Precondition for the classic Huber loss: x*(u ± 2h e_j) keeps every residual on the
    // same side of its kink. To first order a residual moves by at most
    // 2h (max|a| N |Dx*|_max + 1) (the 1 for a target entry); twice that for headroom.
    let h_max = u0.iter().map(|&v| fd_step(v)).fold(0.0, f64::max);
    let reach = 2.0 * h_max * (case.a.abs().max() * n as f64 * scale + 1.0);
    assert!(
        case.kink_margin(&x_hat) > 2.0 * reach,
        "{}: a residual at x* lies within {reach:.2e} of the Huber kink",
        case.name()
    );
    let mut worst = Cmp::new("Dx* vs central differences", 0.0, 1.0);
    let mut fd = DMatrix::zeros(nz, u0.len());
    let solve = |u: &DVector<f64>| case.map(Some(u)).fixed_point().unwrap();
    for j in 0..u0.len() {
        let h = fd_step(u0[j]);
        let diff = |h: f64| {
            let (mut up, mut um) = (u0.clone(), u0.clone());
            up[j] += h;
            um[j] -= h;
            (solve(&up) - solve(&um)) / (up[j] - um[j])
        };
        let (d1, d2) = (diff(h), diff(2.0 * h));
        let trunc = (&d2 - &d1).amax() / 3.0;
        fd.set_column(j, &d1);
        let tol = 2.0 * trunc + delta / h + engine;
        let c = cmp_vec(
            &format!("Dx* vs central differences of u ↦ x*(u) (column {j})"),
            &dx_star.column(j).into_owned(),
            &d1,
            tol,
            scale,
        );
        worst = worst.worse(c);
    }
    (worst, fd)
}
