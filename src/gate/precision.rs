//! The rounding model of a float32 array, and when an array can be judged at all.
//!
//! # float32: a probabilistic model of the products a step forms
//!
//! The float64 tolerances of the gate are the worst-case model of [`crate::tol`]: a product
//! of length `d` errs by at most `c·d·ε·S` (`c = 16`, `ε = 2⁻⁵²`), with `d = n + p`. Scaled
//! by `2²⁹` to float32 that bound exceeded the arrays it judged (on `--size large` ridge
//! data, `d = 3110` and a float32 tolerance of `≈ 0.012·S` per step of the recursion: all-zero
//! and sign-flipped derivative arrays passed). A float32 array is judged instead with the
//! probabilistic bound of Higham and Mary (*A new approach to probabilistic rounding error
//! analysis*, SIAM J. Sci. Comput. 41(5), 2019, Theorem 3.1): an inner product of length `d`
//! computed in a precision of unit roundoff `u` errs by at most `λ·√d·u` times the sum of
//! the magnitudes of its terms, with probability at least `1 − 2d·exp(−λ²(1 − u)²/2)`,
//! the rounding errors being independent and of mean zero (the same holds for a solve by LU,
//! their Theorem 4.4). With [`LAMBDA`] `= 8` that failure probability is below
//! `2.6·10⁻¹⁴·d` per product (`3·10⁻¹²` for the large set's `d = 114`). In the units of
//! [`crate::tol`] (`ε = 2u`), one product of a float32 step errs by at most
//! `(λ/2)·√d·ε₃₂·S` ([`float32_product`]), with the same `S` as the float64 model. The bound
//! states its constant (it is first order in `u` with nothing hidden), so the float64
//! model's safety factor `c = 16`, which stands for the constants hidden in the `≤` of the
//! worst-case bounds, is not applied on top of `λ`: with it (a tolerance 16 times larger)
//! the float32 implicit arrays of the small set were already not judgeable (tolerance
//! half the array's norm on `18_heavy_ball_pseudo_huber_targets`), and the measured
//! float32 errors stay far below the bound without it (below).
//!
//! `d` is the length of the products a step actually forms ([`step_length`]), not `n + p`:
//! a step of the objective families evaluates `∇f(x) = Aᵀφ'(Ax − b) + λx`, a product of
//! length `N` inside one of length `M` (a product of two matrices errs by `γ_{M+N}`,
//! Higham, *Accuracy and Stability*, §3.5), and combines it with at most four more terms
//! (`x₁ − α∇f + β(x₁ − x₂)`); its derivatives form the same products (`B_k Ẋ` and `C_k v`
//! are `Hessian` or mixed-derivative products through `A`, each entry of `X̄ C_k` a product
//! of `A X̄` with few terms); a layer `tanh(Wx + Uv + b)` sums `N + M + 1` terms. So
//! `d = M + N + 4`. The implicit arrays solve with `I − B` (LU, products of length `n`)
//! after forming the right-hand side: `d = n + M + N + 4`
//! ([`super::implicit::tolerance`]).
//!
//! The model bounds the rounding of the *steps*; it assumes the client's coefficients
//! (`α`, `β`, the Chebyshev weights `ω_k`) are themselves correct to float32 rounding. A
//! client that computes one with cancellation (`√(1 − s²)` for `ω_∞` at a large `L/μ`, off
//! by 55 float32 ulps) is outside the model and is rejected ("cause unknown"), which is the
//! right verdict: its iteration is not the exported one to float32 accuracy.
//!
//! A float32 array is compared with the float64 reference, whose own error is the float64
//! bound: its tolerance is the float32 bound of the client's computation *plus* the float64
//! bound of the reference (where two float64 computations take twice the float64 bound).
//!
//! Measured (2026-11-27, `examples/gate_numpy.py --float32` against its float64 run and
//! against the gate): the error of every float32 array is at most a few percent of this
//! tolerance (docs/gate.md, "Precision", gives the figures per set).
//!
//! # What cannot be judged
//!
//! A comparison whose tolerance is not below half the size of the reference value certifies
//! less than one correct bit: all-zero and negated arrays would be within it. Such an array
//! (or final, or implicit array, or forward = reverse equality) is not *passed*: it is a
//! finding of its own, "cannot be judged", and the instance fails ([`judgeable`]).

use crate::tol::ToleranceModel;

/// The `λ` of the probabilistic bound (module docs): the failure probability of one
/// product of length `d` is at most `2d·exp(−λ²/2) = 2.5·10⁻¹⁴·d`.
pub const LAMBDA: f64 = 8.0;

/// float32's machine epsilon `2⁻²³` (twice its unit roundoff, as [`crate::tol::EPS`] is
/// float64's).
pub const EPS32: f64 = f32::EPSILON as f64;

/// The length of the products one step forms on an instance with data `A` of `M` rows and
/// `N` columns (for a layer, the input length `M` and the state dimension `N`): `M + N + 4`
/// (module docs).
pub fn step_length(m: usize, n_cols: usize) -> usize {
    m + n_cols + 4
}

/// The float32 error of one product of length `d` on operands of size `scale`:
/// `(λ/2)·√d·ε₃₂·scale` (no safety factor: module docs).
pub fn float32_product(d: usize, scale: f64) -> f64 {
    (LAMBDA / 2.0) * (d.max(1) as f64).sqrt() * EPS32 * scale.abs()
}

/// The float32 error of `k` steps of a recursion of such products contracting by `rho`
/// (amplified as [`ToleranceModel::amplification`]).
pub fn float32_recursion(k: usize, d: usize, scale: f64, rho: f64) -> f64 {
    float32_product(d, scale) * ToleranceModel::amplification(k, rho)
}

/// Whether a comparison with tolerance `tol` of a value whose reference has size
/// `reference` judges anything: `tol < reference / 2`, at least one correct bit (an
/// all-zero or a negated value is then out of tolerance). NaN is never judgeable.
pub fn judgeable(tol: f64, reference: f64) -> bool {
    tol < 0.5 * reference
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tolerance_of_half_the_reference_or_more_judges_nothing() {
        assert!(judgeable(0.49, 1.0));
        assert!(
            !judgeable(0.5, 1.0),
            "at half the reference, a value of half its size is within tolerance: not one bit"
        );
        assert!(!judgeable(1.0, 0.0), "a zero reference cannot be judged relatively");
        assert!(!judgeable(f64::NAN, 1.0));
    }

    #[test]
    fn the_float32_product_grows_with_the_square_root_of_its_length() {
        let (a, b) = (float32_product(100, 1.0), float32_product(400, 1.0));
        assert!((b / a - 2.0).abs() < 1e-12, "{a} {b}");
        // (λ/2) √d ε₃₂: 4 · 10 · 2⁻²³ for d = 100.
        assert!((a - 40.0 * EPS32).abs() < 1e-18, "{a}");
    }
}
