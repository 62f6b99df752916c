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
//! **Refinement.** The grid local maxima that could hold the maximum
//! (`g_j + tΔθ/2 · upper ≥ G`), the two largest of them, are refined by golden-section
//! search on `|g|` over their two neighbouring grid intervals (to a bracket of `10⁻⁹` rad); the reported value is the largest *attained* value (a lower
//! bound on `M`, exact to rounding at a smooth maximum), and `upper` the certificate.
//!
//! The negative controls of `scieur.rate_bound` use the unsafe maxima [`endpoints`] (the
//! values at `μ` and `L` only) and [`coarse`] (a coarse uniform grid).

use super::residual::{Polynomial, Values, value_at, values_along};
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
    max_abs_all_of(poly, &[which], a, b, t_max).swap_remove(0)
}

/// [`max_abs_all`] for several functions of the same polynomial, sharing one pass over the
/// grid (`[which][t]`).
pub fn max_abs_all_of(poly: &Polynomial, which: &[Which], a: f64, b: f64, t_max: usize) -> Vec<Vec<Maximum>> {
    let m = intervals(t_max);
    let step = std::f64::consts::PI / m as f64;
    // One pass over the grid, λ by λ, keeping per function and t the grid maximum and the
    // two largest local maxima (no grid stored: the values of one λ are contiguous in t).
    let ks = poly.coefficients_upto(t_max);
    let mut tracks = vec![vec![Track::default(); t_max + 1]; which.len()];
    for j in 0..=m {
        let lambda = lambda_at(j as f64 * step, a, b);
        values_along(&ks, lambda, |t, v| {
            for (w, wh) in which.iter().enumerate() {
                tracks[w][t].push(j, wh.of(v, lambda).abs());
            }
        });
    }
    which
        .iter()
        .zip(tracks)
        .map(|(&wh, tr)| {
            tr.into_iter()
                .enumerate()
                .map(|(t, mut track)| {
                    track.finish(m);
                    let f = |lambda: f64| wh.of(&value_at(&ks[..t], lambda), lambda).abs();
                    refine_candidates(f, &track, t, (a, b), (step, m))
                })
                .collect()
        })
        .collect()
}

/// The running grid statistics of one function: its maximum and its largest local maxima.
#[derive(Debug, Clone, Copy)]
struct Track {
    max: f64,
    arg: usize,
    prev2: f64,
    prev1: f64,
    candidates: [(f64, usize); REFINED],
}

impl Default for Track {
    fn default() -> Self {
        let none = (f64::NEG_INFINITY, 0);
        Track {
            max: f64::NEG_INFINITY,
            arg: 0,
            prev2: f64::NEG_INFINITY,
            prev1: f64::NEG_INFINITY,
            candidates: [none; REFINED],
        }
    }
}

impl Track {
    /// Adds the grid value `v` at index `j`; `j − 1` becomes a candidate if it is a local max.
    fn push(&mut self, j: usize, v: f64) {
        if v > self.max || v.is_nan() {
            (self.max, self.arg) = (v, j);
        }
        if j > 0 && self.prev1 >= self.prev2 && self.prev1 >= v {
            self.offer(self.prev1, j - 1);
        }
        (self.prev2, self.prev1) = (self.prev1, v);
    }
    /// The last grid point is a local max when it is not below its neighbour.
    fn finish(&mut self, last: usize) {
        if self.prev1 >= self.prev2 {
            self.offer(self.prev1, last);
        }
    }
    fn offer(&mut self, v: f64, j: usize) {
        if let Some(worst) = (0..REFINED).min_by(|&x, &y| self.candidates[x].0.total_cmp(&self.candidates[y].0))
            && v > self.candidates[worst].0
        {
            self.candidates[worst] = (v, j);
        }
    }
}

/// The certificate from the grid maximum, then golden-section refinement of the tracked
/// candidates that could hold the maximum.
fn refine_candidates(
    f: impl Fn(f64) -> f64,
    tr: &Track,
    t: usize,
    (a, b): (f64, f64),
    (step, last): (f64, usize),
) -> Maximum {
    let slack = t as f64 * step / 2.0;
    let upper = if b > a { tr.max / (1.0 - slack) } else { tr.max };
    let mut best = Maximum { value: tr.max, at: lambda_at(tr.arg as f64 * step, a, b), upper };
    if b <= a || !tr.max.is_finite() {
        return best;
    }
    // A candidate of −∞ (none tracked) or too low to hold the maximum is skipped.
    for &(_, j) in tr.candidates.iter().filter(|c| c.0 + slack * upper >= tr.max) {
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

/// `max |φ|` over `[a, b]` for one function `φ` of degree `≤ degree`.
pub fn max_abs(phi: impl Fn(f64) -> f64, a: f64, b: f64, degree: usize) -> Maximum {
    let m = intervals(degree);
    let step = std::f64::consts::PI / m as f64;
    let mut track = Track::default();
    for j in 0..=m {
        track.push(j, phi(lambda_at(j as f64 * step, a, b)).abs());
    }
    track.finish(m);
    refine_candidates(|l| phi(l).abs(), &track, degree, (a, b), (step, m))
}

/// How many candidate local maxima (the largest on the grid) are refined: an equioscillating
/// polynomial (Chebyshev) has `t + 1` equal ones, and refining all would cost `O(t²)` per `t`.
const REFINED: usize = 2;

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
        // |g''| ≤ t²M (Bernstein, twice): a bracket of 1e-9 rad leaves a relative error of the
        // value ≤ t²·1e-18/2 ≤ 5e-14 for t ≤ 300.
        if hi - lo < 1e-9 {
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
