//! The quadratic theory of Scieur et al. (2022): residual polynomials as exact objects.
//!
//! On a quadratic `f(x, θ) = ½xᵀH(θ)x − g(θ)ᵀx` a polynomial method (gradient descent,
//! heavy-ball with constant `α, β`, the Chebyshev semi-iterative method) satisfies
//! `x_t − x* = P_t(H)(x_0 − x*)` with a residual polynomial `P_t`, `P_t(0) = 1`; when `H(θ)`
//! commutes with its derivative, differentiating in `θ` gives
//! `∂x_t − ∂x* = (P_t(H) − P_t'(H)H)(∂x_0 − ∂x*) + P_t'(H) ∂_θ∇f(x_0, θ)`, where
//! `∂_θ∇f(x_0, θ)` is the *total* derivative `∂_θ∇f + H∂x_0` when `x_0` depends on `θ`
//! (subtlety 5 of `docs/claims-spec.md`).
//!
//! - [`residual`]: the polynomials `P_t`, `P_t'`, `P_t''` by their recurrences, at scalars
//!   and at symmetric matrices (matrix recurrence, eigendecomposition);
//! - [`maxima`]: reliable maxima of `|P_t|`, `|P_t'|`, `|P_t − λP_t'|` over `[μ, L]`;
//! - [`QuadraticView`]: the Hessian `H`, its spectrum and the derivatives `∂_jH` of a
//!   method's objective, and how far `H` is from commuting with them.

pub mod maxima;
pub mod residual;

pub use maxima::{Maximum, Which};
pub use residual::{Fault, Polynomial, Spectral, Values};

use crate::linalg::spectral_norm;
use crate::problem::Objective;
use nalgebra::{DMatrix, DVector};

/// The quadratic structure of a method's objective at its current parameter.
#[derive(Debug, Clone)]
pub struct QuadraticView {
    /// The method's residual polynomials.
    pub poly: Polynomial,
    /// `H = ∇²_xx f` (at `x*`; constant when `f` is quadratic).
    pub h: DMatrix<f64>,
    /// Its eigendecomposition.
    pub spectral: Spectral,
    /// `μ = λ_min(H)`.
    pub mu: f64,
    /// `L = λ_max(H)`.
    pub l: f64,
    /// `∂_jH`, one `n×n` matrix per parameter coordinate, from differences of the mixed
    /// derivative `D_u∇f(x)` (affine in `x` on a quadratic, so exact up to rounding).
    pub dh: Vec<DMatrix<f64>>,
}

impl QuadraticView {
    /// The view of a method with residual polynomials `poly` running on the objective `f`,
    /// at the objective-space point `x_star`; `None` when `H` has no eigendecomposition.
    pub fn new(f: &dyn Objective, poly: Polynomial, x_star: &DVector<f64>) -> Option<Self> {
        let h = f.hessian(x_star.as_view());
        let spectral = Spectral::new(&h)?;
        let mu = spectral.eigenvalues.min();
        let l = spectral.eigenvalues.max();
        let n = h.nrows();
        let base = f.mixed(x_star.as_view());
        let shifted: Vec<DMatrix<f64>> = (0..n)
            .map(|i| {
                let mut x = x_star.clone();
                x[i] += 1.0;
                f.mixed(x.as_view()) - &base
            })
            .collect();
        let dh = (0..f.dim_u()).map(|j| DMatrix::from_fn(n, n, |r, i| shifted[i][(r, j)])).collect();
        Some(QuadraticView { poly, h, spectral, mu, l, dh })
    }

    /// `max_j ‖H ∂_jH − ∂_jH H‖ / (‖H‖ ‖∂_jH‖)`: 0 when `H(θ)` commutes with its derivative.
    pub fn commutator(&self) -> f64 {
        let nh = spectral_norm(&self.h);
        self.dh
            .iter()
            .map(|d| {
                let nd = spectral_norm(d);
                if nd == 0.0 { 0.0 } else { spectral_norm(&(&self.h * d - d * &self.h)) / (nh * nd) }
            })
            .fold(0.0, f64::max)
    }

    /// The polynomial's values at every eigenvalue for `t = 0..=t_max` (`[i][t]`).
    pub fn at_eigenvalues(&self, t_max: usize, fault: Fault) -> Vec<Vec<Values>> {
        self.spectral.eigenvalues.iter().map(|&l| self.poly.sequence_with(l, t_max, fault)).collect()
    }
}
