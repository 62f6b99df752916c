//! The implicit Jacobian (6): `Dx* = (I − B)^{-1} C`, `B`, `C` at the fixed point (7).

use crate::error::{Error, Result};
use crate::map::FixedPointMap;
use nalgebra::{DMatrix, DVector};

/// `Dx*(u) = (I − D_x A(x*, u))^{-1} D_u A(x*, u)` by an LU solve.
pub fn implicit_jacobian<M: FixedPointMap + ?Sized>(map: &M, x_star: &DVector<f64>) -> Result<DMatrix<f64>> {
    let n = map.dim_x();
    let b = map.d_x(x_star.as_view());
    let c = map.d_u(x_star.as_view());
    let lu = (DMatrix::identity(n, n) - b).lu();
    lu.solve(&c).ok_or_else(|| Error::Numerical("I − B is singular at x*".into()))
}
