//! The implicit Jacobian (6): `Dx* = (I − B)^{-1} C`, `B`, `C` at the fixed point (7), and
//! the conditioning of that solve ([`conditioning`]).

use crate::error::{Error, Result};
use crate::linalg::eigen_iteration_cap;
use crate::map::FixedPointMap;
use crate::tol::ToleranceModel;
use nalgebra::{DMatrix, DVector};

/// `Dx*(u) = (I − D_x A(x*, u))^{-1} D_u A(x*, u)` by an LU solve.
pub fn implicit_jacobian<M: FixedPointMap + ?Sized>(map: &M, x_star: &DVector<f64>) -> Result<DMatrix<f64>> {
    let n = map.dim_x();
    let b = map.d_x(x_star.as_view());
    let c = map.d_u(x_star.as_view());
    let lu = (DMatrix::identity(n, n) - b).lu();
    lu.solve(&c).ok_or_else(|| Error::Numerical("I − B is singular at x*".into()))
}

/// Upper bounds on `‖(I − B)^{-1}‖₂` and `cond₂(I − B) = ‖I − B‖₂‖(I − B)^{-1}‖₂` for
/// `B = D_x A(x̂*, u)` at a computed fixed point, in the map's own coordinates (for a map
/// in an adapted norm, [`crate::map::adapted`], these are the adapted norms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditioning {
    /// `≥ ‖(I − B)^{-1}‖₂ = 1/σ_min(I − B)`.
    pub inverse_norm: f64,
    /// `≥ cond₂(I − B)`.
    pub cond: f64,
}

/// [`Conditioning`] from the singular values of the computed `I − B̂`, with the rounding
/// of that computation accounted for: `B̂` (its evaluation, `d` products long) and the SVD
/// (backward stable: its `σ̂_i` are the exact singular values of a matrix within
/// `p(n)·ε·‖I − B̂‖` of `I − B̂`) are off the exact `I − B` by at most
/// `τ = c·ε·d·(1 + 2σ̂_max)` in norm (`‖B̂‖ ≤ 1 + σ̂_max`; `c` the default safety factor
/// of [`ToleranceModel`], the same constant every estimate of the model carries), so by
/// Weyl's inequality `σ_min(I − B) ≥ σ̂_min − τ` and `‖I − B‖ ≤ σ̂_max + τ`. `None` when
/// that lower bound is not positive (`I − B` singular to working accuracy), an entry is
/// not finite, or the SVD does not converge: the caller then uses its a-priori bound.
pub fn conditioning<M: FixedPointMap + ?Sized>(map: &M, x_star: &DVector<f64>, d: usize) -> Option<Conditioning> {
    let n = map.dim_x();
    let i_minus_b = DMatrix::identity(n, n) - map.d_x(x_star.as_view());
    if n == 0 || i_minus_b.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let svd = nalgebra::linalg::SVD::try_new(i_minus_b, false, false, f64::EPSILON, eigen_iteration_cap(n))?;
    let s = &svd.singular_values;
    let hi = s.iter().copied().fold(0.0f64, f64::max);
    let lo = s.iter().copied().fold(f64::INFINITY, f64::min);
    let tau = ToleranceModel::default().product(d, 1.0 + 2.0 * hi);
    let lower = lo - tau;
    (lower > 0.0 && hi.is_finite()).then(|| Conditioning { inverse_norm: 1.0 / lower, cond: (hi + tau) / lower })
}
