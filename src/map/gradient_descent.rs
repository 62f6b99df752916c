//! Gradient descent `A_α(x, u) = x − α∇_x f(x, u)` (Remark 1(ii)).
//!
//! `B = I − α∇²_xx f`, `C = −α D_u∇_x f`. On an objective whose Hessian spectrum lies in
//! `[μ, L]`, `‖B‖ ≤ ρ = max(|1 − αμ|, |1 − αL|)`, which is `< 1` exactly when
//! `0 < α < 2/L` (and `μ > 0`). By Remark 5(ii), `M_x = α·Lip(∇²f)`, `M_u = α·Lip(D_u∇f)`,
//! `κ = α·sup‖D_u∇f‖`.

use super::{Capabilities, FixedPointMap, Reparameterise};
use crate::constants::{Constant, MapConstants};
use crate::error::{Result, check_open};
use crate::linalg::{spectral_norm, spectral_radius};
use crate::problem::{Ball, Objective, Scratch, VecView, VecViewMut};
use crate::quadratic::Polynomial;
use nalgebra::DVector;

/// Gradient descent with a constant step size on an objective `O`.
#[derive(Debug, Clone)]
pub struct GradientDescent<O> {
    f: O,
    alpha: f64,
}

impl<O: Objective> GradientDescent<O> {
    /// `α` must be finite and positive. A step that is not contractive (`α ≥ 2/L`) is
    /// accepted here and reported by [`FixedPointMap::constants`] as `ρ ≥ 1`, so that
    /// the claims can say *not applicable* with the reason.
    pub fn new(f: O, alpha: f64) -> Result<Self> {
        check_open("alpha", alpha, 0.0, f64::INFINITY)?;
        Ok(GradientDescent { f, alpha })
    }
    /// The step size `α`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// The objective.
    pub fn objective(&self) -> &O {
        &self.f
    }
}

/// `ρ = max(|1 − αμ|, |1 − αL|)`, the modulus of gradient descent on `[μ, L]`.
pub fn gd_rate(alpha: f64, mu: f64, l: f64) -> f64 {
    (1.0 - alpha * mu).abs().max((1.0 - alpha * l).abs())
}

impl<O: Objective> FixedPointMap for GradientDescent<O> {
    fn dim_x(&self) -> usize {
        self.f.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.f.dim_u()
    }
    fn name(&self) -> String {
        format!("gd({})", self.f.name())
    }
    fn scratch(&self) -> Scratch {
        self.f.scratch()
    }
    fn step_at(&self, _k: usize, x: VecView, mut out: VecViewMut, s: &mut Scratch) {
        out.copy_from(&x);
        self.f.grad_acc(x, -self.alpha, out, s);
    }
    fn step_magnitude(&self, _k: usize, x: VecView, s: &mut Scratch) -> f64 {
        x.norm() + self.alpha.abs() * self.f.grad_magnitude(x, s)
    }
    fn jvp_at(&self, _k: usize, x: VecView, dx: VecView, du: VecView, mut out: VecViewMut, s: &mut Scratch) {
        out.copy_from(&dx);
        self.f.hvp_acc(x, dx, -self.alpha, out.as_view_mut(), s);
        self.f.mixed_jvp_acc(x, du, -self.alpha, out, s);
    }
    fn vjp_at(
        &self,
        _k: usize,
        x: VecView,
        w: VecView,
        mut xbar_out: VecViewMut,
        ubar_acc: VecViewMut,
        s: &mut Scratch,
    ) {
        xbar_out.copy_from(&w);
        self.f.hvp_acc(x, w, -self.alpha, xbar_out, s); // ∇²f is symmetric
        self.f.mixed_vjp_acc(x, w, -self.alpha, ubar_acc, s);
    }
    fn fixed_point(&self) -> Result<DVector<f64>> {
        self.f.minimizer()
    }
    fn constants(&self, ball: &Ball) -> Result<MapConstants> {
        let curv = self.f.curvature(ball);
        let sm = self.f.smoothness(ball);
        let rho = Constant {
            value: gd_rate(self.alpha, curv.mu.value, curv.l.value),
            scope: Constant::join_scope(curv.mu.scope, curv.l.scope),
        };
        let b_star = self.d_x(ball.center.as_view());
        Ok(MapConstants {
            rho,
            m_x: sm.hessian_lipschitz.scale(self.alpha),
            m_u: sm.mixed_lipschitz.scale(self.alpha),
            kappa: sm.mixed_bound.scale(self.alpha),
            spectral_radius: spectral_radius(&b_star)?,
            jacobian_norm_at_fixed_point: spectral_norm(&b_star),
        })
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            step_parameters: (self.alpha, 0.0),
            objective: Some(&self.f),
            polynomial: Some(Polynomial::GradientDescent { h: self.alpha }),
            reparameterise: Some(self),
            ..Capabilities::default()
        }
    }
}

impl<O: Objective> Reparameterise for GradientDescent<O> {
    fn param(&self) -> DVector<f64> {
        self.f.param()
    }
    fn fixed_point_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        self.f.minimizer_at(u)
    }
}
