//! One problem instance: a fixed-point map, an initial point, and everything derived
//! from them once — `x*`, `Dx*` (6), `e_0`, and the certified constants on the ball
//! `‖x − x*‖ ≤ e_0`.

use crate::constants::Constants;
use crate::error::{Error, Result};
use crate::linalg::spectral_norm;
use crate::map::{FixedPointMap, LIMIT};
use crate::problem::Ball;
use crate::tol::ToleranceModel;
use crate::unroll::implicit::conditioning;
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
    /// A bound `δ*` on the error of the computed fixed point, `‖x̂* − x*‖ ≤ δ*`, from its
    /// fixed-point residual and the residual's own rounding ([`fixed_point_error`]: over
    /// `1 − ρ_glob`, or times the computed `‖(I − B̄)^{-1}‖` where smaller; for a map that is
    /// not a Euclidean contraction `ρ_glob` is the spectral radius, an estimate).
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

/// A bound on the distance from a computed fixed point `x̂*` to the true one, from its
/// residual:
///
/// - the residual is itself computed: `fl(A(x̂*))` is off `A(x̂*)` by at most
///   `product(d, S)` with `S` the magnitude of what the step sums
///   ([`FixedPointMap::step_magnitude`], the model of [`crate::tol`]; `d` as for every
///   tolerance of the instance, [`rounding_dim`]), so `r = r̂ + product(d, S)` bounds the
///   true `‖A(x̂*) − x̂*‖`. Without that term the bound is not one: where the update
///   `A(x̂*) − x̂*` is below half an ulp of `x̂*` (ridge with `m < n` or logistic regression
///   on separable data at `λ = 10⁻¹²`), `r̂ = 0` and the "bound" was 0;
/// - Banach: `‖x̂* − x*‖ ≤ δ₁ = r/(1 − ρ)` with `ρ` the global modulus (for a map that is not
///   a Euclidean contraction, the spectral radius: an estimate, not a bound);
/// - sharper where `I − B` is well conditioned although `ρ` is close to 1 (gradient
///   descent with a step near `2/L`, where `ρ = |1 − αL|` comes from the oscillating
///   direction): `x̂* − x* = (I − B̄)^{-1}(x̂* − A(x̂*))` with `B̄` the mean of `D_xA` on the
///   segment `[x*, x̂*]`, which lies in the ball of radius `δ₁` around `x̂*`, where
///   `‖B̄ − B(x̂*)‖ ≤ M_x δ₁` (A2.2 on that ball); with `σ⁻¹ ≥ ‖(I − B(x̂*))^{-1}‖` computed
///   with its rounding ([`conditioning`]), `‖x̂* − x*‖ ≤ r·σ⁻¹/(1 − σ⁻¹M_xδ₁)` when
///   `σ⁻¹M_xδ₁ < 1`. For an affine map (`M_x = 0`) this needs no `δ₁`.
///
/// The smaller of the two bounds is returned.
pub fn fixed_point_error<M: FixedPointMap>(map: &M, x_star: &DVector<f64>) -> Result<f64> {
    let mut s = map.scratch();
    let mut next = DVector::zeros(map.dim_x());
    map.step(x_star.as_view(), next.as_view_mut(), &mut s);
    let d = rounding_dim(map);
    let r = (next - x_star).norm()
        + ToleranceModel::default().product(d, map.step_magnitude(LIMIT, x_star.as_view(), &mut s));
    let global = map.constants(&Ball { center: x_star.clone(), radius: f64::INFINITY })?;
    let rate = if global.rho.value < 1.0 { global.rho.value } else { global.spectral_radius };
    let banach = if rate < 1.0 { r / (1.0 - rate) } else { f64::INFINITY };
    let m_x = if global.m_x.value == 0.0 {
        0.0
    } else if banach.is_finite() {
        map.constants(&Ball { center: x_star.clone(), radius: banach })?.m_x.value
    } else {
        f64::INFINITY
    };
    let sharp = conditioning(map, x_star, d)
        .map(|k| (k.inverse_norm, k.inverse_norm * m_x * if m_x == 0.0 { 0.0 } else { banach }))
        .filter(|(_, shift)| *shift < 1.0)
        .map(|(inv, shift)| r * inv / (1.0 - shift))
        .unwrap_or(f64::INFINITY);
    Ok(banach.min(sharp))
}

/// The product length `d` of the instance's rounding estimates: `dim_x + dim_u`, times
/// `cond(P)` for a map in an adapted norm (as [`crate::claims::Case::dim`]).
pub fn rounding_dim<M: FixedPointMap + ?Sized>(map: &M) -> usize {
    let d = map.dim_x() + map.dim_u();
    match map.capabilities().adapted_norm {
        Some(a) => (d as f64 * a.cond_p).ceil() as usize,
        None => d,
    }
}
