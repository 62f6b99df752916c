//! Reliable maxima of `|φ(λ)|` over a spectrum interval `[μ, L]` for the polynomials of
//! [`super::residual`] (`φ = P_t`, `P_t'` or `P_t − λP_t'`, all of degree `≤ t`).
//!
//! **Grid and certificate.** With `λ(θ) = (μ + L)/2 + (L − μ)/2 · cos θ`, `g(θ) = φ(λ(θ))` is
//! a trigonometric polynomial of degree `≤ t`, so Bernstein's inequality gives
//! `|g'(θ)| ≤ t·M` with `M = max|φ|`. On the cosine grid `θ_j = jπ/(m − 1)` (dense near the
//! ends of the interval, where polynomials vary fastest) every `θ` is within `Δθ/2` of a grid
//! point, so `M ≤ G + tΔθ/2 · M`, i.e. `M ≤ G/(1 − tΔθ/2)` with `G` the grid maximum. The
//! grid has `m − 1 = 16·(t_max + 1)` intervals, so the certificate is within 10 % of `G`
//! (much closer for `t ≪ t_max`).
//!
//! **Refinement.** Every grid local maximum that could hold the maximum
//! (`g_j + tΔθ/2 · upper ≥ G`) is refined by golden-section search on `|g|` over its two
//! neighbouring grid intervals; the reported value is the largest *attained* value (a lower
//! bound on `M`, exact to rounding at a smooth maximum), and `upper` the certificate.
//!
//! The negative controls of `scieur.rate_bound` use the unsafe maxima [`endpoints`] (the
//! values at `μ` and `L` only) and [`coarse`] (a coarse uniform grid).

use super::residual::{Polynomial, Values};
use serde::Serialize;

/// The maximum of `|φ|` over `[μ, L]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Maximum {
    /// The largest attained value of `|φ|` found (grid, then refinement).
    pub value: f64,
    /// Where it is attained.
    pub at: f64,
    /// A certified upper bound on `max |φ|` (Bernstein's inequality on the grid).
    pub upper: f64,
}

/// Which function of the residual polynomial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// `P_t(λ)`.
    Residual,
    /// `P_t'(λ)`.
    Derivative,
    /// `P_t(λ) − λP_t'(λ)`.
    JacobianFactor,
}

impl Which {
    /// The value of this function from the polynomial's values at `λ`.
    pub fn of(self, v: &Values, lambda: f64) -> f64 {
        match self {
            Which::Residual => v.p,
            Which::Derivative => v.dp,
            Which::JacobianFactor => v.jacobian_factor(lambda),
        }
    }
}

/// Grid intervals for degrees up to `t_max`.
fn intervals(t_max: usize) -> usize {
    16 * (t_max + 1)
}

fn lambda_at(theta: f64, a: f64, b: f64) -> f64 {
    0.5 * (a + b) + 0.5 * (b - a) * theta.cos()
}

/// `max_{λ∈[a,b]} |φ_t(λ)|` for every `t = 0..=t_max`, `φ_t` the chosen function of `P_t`.
///
/// ```
/// use unrollcheck::quadratic::{Polynomial, maxima::{self, Which}};
/// // Chebyshev on [1, 9]: max |P_t| = 1/T_t(5/4) (equioscillation).
/// let cheb = Polynomial::Chebyshev { mu: 1.0, l: 9.0 };
/// let m = maxima::max_abs_all(&cheb, Which::Residual, 1.0, 9.0, 6);
/// let t6 = (6.0 * 1.25f64.acosh()).cosh();
/// assert!((m[6].value - 1.0 / t6).abs() < 1e-14 && m[6].upper >= m[6].value);
/// ```
pub fn max_abs_all(poly: &Polynomial, which: Which, a: f64, b: f64, t_max: usize) -> Vec<Maximum> {
    let m = intervals(t_max);
    let step = std::f64::consts::PI / m as f64;
    let grid: Vec<Vec<f64>> = (0..=m)
        .map(|j| {
            let lambda = lambda_at(j as f64 * step, a, b);
            poly.sequence(lambda, t_max).iter().map(|v| which.of(v, lambda).abs()).collect()
        })
        .collect();
    (0..=t_max)
        .map(|t| {
            let g: Vec<f64> = grid.iter().map(|row| row[t]).collect();
            refine(|lambda| which.of(&poly.eval(t, lambda), lambda).abs(), &g, t, (a, b), step)
        })
        .collect()
}

/// `max |φ|` over `[a, b]` for one function `φ` of degree `≤ degree`.
pub fn max_abs(phi: impl Fn(f64) -> f64, a: f64, b: f64, degree: usize) -> Maximum {
    let m = intervals(degree);
    let step = std::f64::consts::PI / m as f64;
    let g: Vec<f64> = (0..=m).map(|j| phi(lambda_at(j as f64 * step, a, b)).abs()).collect();
    refine(|l| phi(l).abs(), &g, degree, (a, b), step)
}

/// The certificate from the grid values `g`, then golden-section refinement of every
/// candidate local maximum.
fn refine(f: impl Fn(f64) -> f64, g: &[f64], t: usize, (a, b): (f64, f64), step: f64) -> Maximum {
    let (mut j_best, mut grid_max) = (0, f64::NEG_INFINITY);
    for (j, &v) in g.iter().enumerate() {
        if v > grid_max || v.is_nan() {
            (j_best, grid_max) = (j, v);
        }
    }
    let slack = t as f64 * step / 2.0;
    let upper = if b > a { grid_max / (1.0 - slack) } else { grid_max };
    let mut best = Maximum { value: grid_max, at: lambda_at(j_best as f64 * step, a, b), upper };
    if b <= a || !grid_max.is_finite() {
        return best;
    }
    let last = g.len() - 1;
    for j in 0..=last {
        let left = if j > 0 { g[j - 1] } else { f64::NEG_INFINITY };
        let right = if j < last { g[j + 1] } else { f64::NEG_INFINITY };
        let local = g[j] >= left && g[j] >= right;
        if !local || g[j] + slack * upper < grid_max {
            continue;
        }
        let lo = j.saturating_sub(1) as f64 * step;
        let hi = (j + 1).min(last) as f64 * step;
        let (theta, v) = golden_max(|th| f(lambda_at(th, a, b)), lo, hi);
        if v > best.value {
            best.value = v;
            best.at = lambda_at(theta, a, b);
        }
    }
    best.upper = best.upper.max(best.value);
    best
}

/// Golden-section search for the maximum of `f` on `[lo, hi]` (the largest value seen).
fn golden_max(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> (f64, f64) {
    const INV_PHI: f64 = 0.618_033_988_749_894_9;
    let (mut x1, mut x2) = (hi - INV_PHI * (hi - lo), lo + INV_PHI * (hi - lo));
    let (mut f1, mut f2) = (f(x1), f(x2));
    let mut best = if f1 >= f2 { (x1, f1) } else { (x2, f2) };
    for _ in 0..60 {
        if f1 >= f2 {
            (hi, x2, f2) = (x2, x1, f1);
            x1 = hi - INV_PHI * (hi - lo);
            f1 = f(x1);
        } else {
            (lo, x1, f1) = (x1, x2, f2);
            x2 = lo + INV_PHI * (hi - lo);
            f2 = f(x2);
        }
        for (x, v) in [(x1, f1), (x2, f2)] {
            if v > best.1 {
                best = (x, v);
            }
        }
        if hi - lo < 1e-13 {
            break;
        }
    }
    best
}

/// The unsafe "maximum" at the ends of the interval only (a negative control).
pub fn endpoints(poly: &Polynomial, which: Which, a: f64, b: f64, t: usize) -> f64 {
    [a, b].iter().map(|&l| which.of(&poly.eval(t, l), l).abs()).fold(0.0, f64::max)
}

/// Points of the coarse uniform grid of [`coarse`].
pub const COARSE_POINTS: usize = 5;

/// The unsafe "maximum" on a coarse uniform grid of [`COARSE_POINTS`] points (a negative
/// control).
pub fn coarse(poly: &Polynomial, which: Which, a: f64, b: f64, t: usize) -> f64 {
    (0..COARSE_POINTS)
        .map(|i| a + (b - a) * i as f64 / (COARSE_POINTS - 1) as f64)
        .map(|l| which.of(&poly.eval(t, l), l).abs())
        .fold(0.0, f64::max)
}
