//! What heavy-ball and the Chebyshev method share as momentum maps on `z = (x_1, x_2)`:
//! their certified constants. Both have `D_z A_k = [[·, ·], [I, 0]]`, so `‖D_z A_k‖₂ ≥ 1`
//! (the second block row copies `x_1`) and A2.1 fails in the Euclidean norm
//! (Remark 1(ii)); their smoothness constants are those of the objective on the ball
//! around `x_1*`, scaled by the largest gradient coefficient of the step (`α` for
//! heavy-ball, `max_k ω_{k+1} h` for Chebyshev).

use super::FixedPointMap;
use crate::constants::{Constant, MapConstants};
use crate::error::Result;
use crate::linalg::{spectral_norm, spectral_radius};
use crate::problem::{Ball, Objective};

/// The constants of a momentum map `map` on the objective `f` whose gradient steps are
/// scaled by at most `scale`, on the state ball `ball` around `z* = (x*, x*)`.
pub(super) fn constants<M: FixedPointMap + ?Sized, O: Objective>(
    map: &M,
    f: &O,
    ball: &Ball,
    scale: f64,
) -> Result<MapConstants> {
    let n = f.dim_x();
    let xball = Ball { center: ball.center.rows(0, n).into_owned(), radius: ball.radius };
    let sm = f.smoothness(&xball);
    let b_star = map.d_x(ball.center.as_view());
    let norm = spectral_norm(&b_star);
    Ok(MapConstants {
        // The Euclidean operator norm is ≥ 1 everywhere: A2.1 fails (Remark 1(ii)).
        rho: Constant::global(norm.max(1.0)),
        m_x: sm.hessian_lipschitz.scale(scale),
        m_u: sm.mixed_lipschitz.scale(scale),
        kappa: sm.mixed_bound.scale(scale),
        spectral_radius: spectral_radius(&b_star)?,
        jacobian_norm_at_fixed_point: norm,
    })
}
