//! One problem instance: a fixed-point map, an initial point, and everything derived
//! from them once — `x*`, `Dx*` (6), `e_0`, and the certified constants on the ball
//! `‖x − x*‖ ≤ e_0`.

use crate::constants::Constants;
use crate::error::{Error, Result};
use crate::linalg::spectral_norm;
use crate::map::FixedPointMap;
use crate::problem::Ball;
use crate::unroll::{ErrorCurves, Trajectory, implicit_jacobian};
use nalgebra::{DMatrix, DVector};

/// A map with its initial point and derived quantities.
pub struct Instance<M> {
    /// The fixed-point map `A(·, u)`.
    pub map: M,
    /// The initial point `x_0` (in the map's state space).
    pub x0: DVector<f64>,
    /// `Dx_0(u)` (n×p); zero for a constant initial point.
    pub dx0: DMatrix<f64>,
    /// The fixed point `x*`.
    pub x_star: DVector<f64>,
    /// The implicit Jacobian `Dx*` (6).
    pub dx_star: DMatrix<f64>,
    /// A bound on the error of the computed fixed point, `‖x̂* − x*‖ ≤ r/(1 − ρ_glob)`, with
    /// `r = ‖A(x̂*) − x̂*‖` the fixed-point residual and `ρ_glob` the global modulus (for a
    /// map that is not a Euclidean contraction, the spectral radius: an estimate, not a bound).
    pub x_star_error: f64,
    /// The certified constants on the ball around `x̂*` of radius `e_0 + 2·x_star_error`
    /// (plus rounding), which holds every computed iterate.
    pub constants: Constants,
}

impl<M: FixedPointMap> Instance<M> {
    /// Builds an instance with a constant initial point (`Dx_0 = 0`).
    pub fn new(map: M, x0: DVector<f64>) -> Result<Self> {
        let dx0 = DMatrix::zeros(map.dim_x(), map.dim_u());
        Self::with_dx0(map, x0, dx0)
    }

    /// Builds an instance whose initial point depends on `u` with derivative `dx0`.
    pub fn with_dx0(map: M, x0: DVector<f64>, dx0: DMatrix<f64>) -> Result<Self> {
        let (n, p) = (map.dim_x(), map.dim_u());
        if x0.len() != n {
            return Err(Error::Dimension { what: "x0", expected: n, got: x0.len() });
        }
        if dx0.shape() != (n, p) {
            return Err(Error::Dimension { what: "Dx0 columns", expected: p, got: dx0.ncols() });
        }
        if x0.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter { field: "x0", value: f64::NAN, reason: "entries must be finite" });
        }
        let x_star = map.fixed_point()?;
        let dx_star = implicit_jacobian(&map, &x_star)?;
        let x_star_error = fixed_point_error(&map, &x_star)?;
        let e0 = (&x0 - &x_star).norm();
        let global = map.constants(&Ball { center: x_star.clone(), radius: f64::INFINITY })?;
        let damping = if global.rho.value < 1.0 { 1.0 - global.rho.value } else { 1.0 };
        let rounding = 16.0 * f64::EPSILON * n as f64 * (x_star.norm() + e0) / damping;
        let ball = Ball { center: x_star.clone(), radius: e0 + 2.0 * x_star_error + rounding };
        let constants = Constants::new(map.constants(&ball)?, spectral_norm(&dx_star));
        Ok(Instance { map, x0, dx0, x_star, dx_star, x_star_error, constants })
    }

    /// `e_0 = ‖x_0 − x̂*‖` (computed fixed point).
    pub fn e0(&self) -> f64 {
        (&self.x0 - &self.x_star).norm()
    }

    /// The iterates `x_0, …, x_K`.
    pub fn run(&self, k: usize) -> Trajectory {
        Trajectory::run(&self.map, &self.x0, k)
    }

    /// Dense error curves over `K` iterations (spectral norms).
    pub fn error_curves(&self, k: usize) -> ErrorCurves {
        let traj = self.run(k);
        ErrorCurves::full(&self.map, &traj, &self.x_star, &self.dx_star, &self.dx0)
    }
}

/// `r/(1 − ρ)`: the distance from a computed fixed point to the true one, from its
/// residual `r = ‖A(x̂*) − x̂*‖` and the global modulus `ρ` (Banach: `‖x̂ − x*‖ ≤ r/(1 − ρ)`).
pub fn fixed_point_error<M: FixedPointMap>(map: &M, x_star: &DVector<f64>) -> Result<f64> {
    let mut s = map.scratch();
    let mut next = DVector::zeros(map.dim_x());
    map.step(x_star.as_view(), next.as_view_mut(), &mut s);
    let r = (next - x_star).norm();
    let global = map.constants(&Ball { center: x_star.clone(), radius: f64::INFINITY })?;
    let rate = if global.rho.value < 1.0 { global.rho.value } else { global.spectral_radius };
    Ok(if rate < 1.0 { r / (1.0 - rate) } else { f64::INFINITY })
}
