//! The tolerance model, in one place.
//!
//! Every comparison of the suite is one-sided, `lhs ≤ rhs + τ`, and an equality `a = b`
//! is `|a − b| ≤ τ`. `τ` bounds the floating-point error of the *computed* sides, never a
//! modelling error, and is built from three standard rounding estimates (Higham,
//! *Accuracy and Stability of Numerical Algorithms*, §3):
//!
//! 1. **One product or closed form** of length `d` on operands of size `S`: error
//!    `≤ d·ε·S` (a dot product of length `d` is accurate to `d·u` times the sum of the
//!    magnitudes). [`ToleranceModel::product`].
//! 2. **A recursion of `k` such steps** (unrolling (4), (9), (12)): each step adds a fresh
//!    error of size (1) and propagates the earlier ones through `B_j`, whose norm is `ρ`;
//!    so the accumulated error is `≤ d·ε·S·Σ_{j≤k} ρ^j ≤ d·ε·S·min(k + 1, 1/(1 − ρ))`.
//!    Without a contraction (`ρ ≥ 1`, heavy-ball in the Euclidean norm) the factor is
//!    `k + 1` with `S` the largest magnitude *observed* along the recursion, which bounds
//!    how far the recursion amplifies a perturbation of the modes it excites.
//!    [`ToleranceModel::recursion`].
//! 3. **A linear solve** `(I − B)^{-1}C` or `x*`: error `≤ d·ε·cond·S` with `cond` the
//!    condition number of the system. [`ToleranceModel::solve`].
//!
//! Each estimate is multiplied by one safety factor `c` (default 16, faer's `ApproxEq`
//! uses 128ε·8n) for the constants hidden in the `≤`. The factor is not tuned: with `c = 16`
//! and `d ≥ 1`, a tolerance stays below `10⁻¹⁰` relative on every instance of the suite,
//! so a real violation of even `10⁻⁸` relative is reported, while the equality of Lemma 6
//! on the ridge-weight family (where both sides agree to rounding) is not flagged.

use serde::Serialize;

/// Unit roundoff of `f64` (`2⁻⁵²`, machine epsilon).
pub const EPS: f64 = f64::EPSILON;

/// The rounding model; see the module docs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ToleranceModel {
    /// The safety factor `c`.
    pub safety: f64,
}

impl Default for ToleranceModel {
    fn default() -> Self {
        ToleranceModel { safety: 16.0 }
    }
}

impl ToleranceModel {
    /// Error of one product of length `d` on operands of magnitude `scale`.
    pub fn product(&self, d: usize, scale: f64) -> f64 {
        self.safety * EPS * d.max(1) as f64 * scale.abs()
    }

    /// Error accumulated by `k` steps of a recursion of products of length `d` on
    /// quantities of magnitude `scale`, propagated by maps of norm `rho`.
    pub fn recursion(&self, k: usize, d: usize, scale: f64, rho: f64) -> f64 {
        let steps = (k + 1) as f64;
        let amplification = if rho < 1.0 { steps.min(1.0 / (1.0 - rho)) } else { steps };
        self.product(d, scale) * amplification
    }

    /// Error of a linear solve of dimension `d` with condition number `cond`.
    pub fn solve(&self, d: usize, cond: f64, scale: f64) -> f64 {
        self.product(d, scale) * cond.max(1.0)
    }

    /// Error of a closed-form expression whose value is `value`, involving powers
    /// `ρ^e` with exponents up to `max_exponent` (relative error `≈ ε·(1 + e·|ln ρ|)`).
    pub fn closed_form(&self, value: f64, rho: f64, max_exponent: f64) -> f64 {
        let pow_err = if rho > 0.0 { 1.0 + max_exponent.abs() * rho.ln().abs() } else { 1.0 };
        self.safety * EPS * pow_err * value.abs()
    }
}
