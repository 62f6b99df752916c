//! Nesterov's accelerated gradient on `z = (x_1, x_2)` (current and previous iterate), a
//! momentum map whose gradient is taken at the extrapolated point (beyond the paper;
//! issue #16):
//!
//! ```text
//! y_k = (1 + β_k) x_1 − β_k x_2,     A_k(z, u) = (y_k − α∇f(y_k, u), x_1).
//! ```
//!
//! Two momentum schedules ([`Schedule`]):
//! - **strongly convex**: the constant `β = (1 − √(αμ))/(1 + √(αμ))`, which is
//!   `(√L − √μ)/(√L + √μ)` for the step `α = 1/L` (Nesterov 2004, (2.2.22)); the map is
//!   time-invariant;
//! - **convex**: `β_k = (k' − 1)/(k' + 2)` with the one-based count `k' = k + 1` of the
//!   step `x_{k+1} = A_k(x_k, u)`, i.e. `β_k = k/(k + 3)`: `β_0 = 0` (the first step is a
//!   gradient step) and `β_k → 1`. The map is *time-varying* (the iteration index enters
//!   as in [`super::chebyshev`]); the unindexed methods of the trait are the limit map
//!   `β = 1` ([`LIMIT`]).
//!
//! Derivatives, with `F = [(1 + β)I, −βI]` the read-out `y = Fz` and `H = ∇²f(y, u)`:
//!
//! ```text
//! D_z A_k = [[(1 + β)(I − αH), −β(I − αH)], [I, 0]],   D_u A_k = [[−α D_u∇f(y, u)], [0]].
//! ```
//!
//! As for heavy-ball, `‖D_z A_k‖₂ ≥ 1` (the second block row copies `x_1`), so A2.1 fails
//! in the Euclidean norm (Remark 1(ii)); at `z* = (x*, x*)` the eigenvalue `λ_i` of
//! `H(x*)` gives the 2×2 block `T_i = [[(1 + β)m_i, −βm_i], [1, 0]]`, `m_i = 1 − αλ_i`,
//! whose roots solve `s² − (1 + β)m_i s + βm_i = 0`; with the strongly convex `β` and
//! `α = 1/L` the spectral radius is `1 − √(αμ)` (the accelerated rate). The constant
//! schedule contracts in the adapted norm of [`super::adapted`] built from these blocks.
//!
//! Certified constants on the state ball of radius `r` around `z*`: the read-out maps it
//! into the ball of radius `‖F‖r` around `x*` (`‖F‖₂ = √((1 + β)² + β²)`), on which the
//! objective's constants `L_H`, `L_u`, `κ_f` hold; since
//! `D_z A(z) − D_z A(z̃) = −αE_1(H(Fz) − H(Fz̃))F` and `D_u A(z) = −αE_1 D_u∇f(Fz)`:
//! `M_x = α‖F‖²L_H`, `M_u = α‖F‖L_u`, `κ = ακ_f`, with `β = max_k β_k` (1 for the convex
//! schedule).

use super::{Capabilities, FixedPointMap, LIMIT, Lift, Reparameterise};
use crate::constants::{Constant, MapConstants, Scope};
use crate::error::{Error, Result, check_open};
use crate::linalg::{spectral_norm, spectral_radius};
use crate::problem::{Ball, Objective, Scratch, VecView, VecViewMut};
use nalgebra::DVector;

/// The momentum schedule of Nesterov's method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// The constant momentum of the strongly convex method.
    StronglyConvex {
        /// `β ∈ [0, 1)`.
        beta: f64,
    },
    /// `β_k = k/(k + 3)` (the convex schedule `(k' − 1)/(k' + 2)`, `k' = k + 1`).
    Convex,
}

/// The strongly convex momentum `(1 − √(αμ))/(1 + √(αμ))` for the step `α` and the
/// curvature bound `μ` (`(√L − √μ)/(√L + √μ)` when `α = 1/L`).
pub fn strongly_convex_momentum(alpha: f64, mu: f64) -> f64 {
    let q = (alpha * mu).clamp(0.0, 1.0).sqrt();
    (1.0 - q) / (1.0 + q)
}

/// Nesterov's accelerated gradient with step `α` and a momentum [`Schedule`].
#[derive(Debug, Clone)]
pub struct Nesterov<O> {
    f: O,
    alpha: f64,
    schedule: Schedule,
}

impl<O: Objective> Nesterov<O> {
    /// Checks `α > 0` finite and, for the constant schedule, `0 ≤ β < 1`.
    pub fn new(f: O, alpha: f64, schedule: Schedule) -> Result<Self> {
        check_open("alpha", alpha, 0.0, f64::INFINITY)?;
        if let Schedule::StronglyConvex { beta } = schedule
            && !(0.0..1.0).contains(&beta)
        {
            return Err(Error::InvalidParameter { field: "beta", value: beta, reason: "must lie in [0, 1)" });
        }
        Ok(Nesterov { f, alpha, schedule })
    }
    /// The step size `α`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// The schedule.
    pub fn schedule(&self) -> Schedule {
        self.schedule
    }
    /// The objective.
    pub fn objective(&self) -> &O {
        &self.f
    }
    /// The momentum `β_k` of iteration `k` (from [`LIMIT`] on, the limit `β_∞`).
    pub fn beta(&self, k: usize) -> f64 {
        match self.schedule {
            Schedule::StronglyConvex { beta } => beta,
            Schedule::Convex if k >= LIMIT => 1.0,
            Schedule::Convex => k as f64 / (k as f64 + 3.0),
        }
    }
    /// `max_k β_k`: `β`, or 1 for the convex schedule.
    pub fn beta_max(&self) -> f64 {
        self.beta(LIMIT)
    }
    fn n(&self) -> usize {
        self.f.dim_x()
    }

    /// The map's constants with the objective's constants scaled by `α` only (no read-out
    /// factor): `αL_H`, `αL_u`, `ακ_f` on the objective's ball of the given radius around
    /// the first block of `ball.center`, and the spectral radius and norm of `D_zA` at the
    /// centre. Used by [`FixedPointMap::constants`] (times the powers of `‖F‖`) and by the
    /// adapted norm (times those of `‖FP‖`).
    pub fn unit_constants(&self, ball: &Ball) -> Result<MapConstants> {
        let n = self.n();
        let xball = Ball { center: ball.center.rows(0, n).into_owned(), radius: ball.radius };
        let sm = self.f.smoothness(&xball);
        let b_star = self.d_x(ball.center.as_view());
        let norm = spectral_norm(&b_star);
        Ok(MapConstants {
            rho: Constant::global(norm.max(1.0)),
            m_x: sm.hessian_lipschitz.scale(self.alpha),
            m_u: sm.mixed_lipschitz.scale(self.alpha),
            kappa: sm.mixed_bound.scale(self.alpha),
            spectral_radius: spectral_radius(&b_star)?,
            jacobian_norm_at_fixed_point: norm,
        })
    }

    /// The read-out `y = g_1 x_1 + g_2 x_2` of iteration `k`: `(1 + β_k, −β_k)`.
    pub fn readout(&self, k: usize) -> (f64, f64) {
        let b = self.beta(k);
        (1.0 + b, -b)
    }
}

/// A constant certified on the objective's ball (radius `‖F‖r`), stated on the state ball
/// of radius `r` that maps into it.
pub(super) fn rescope(c: Constant, radius: f64) -> Constant {
    match c.scope {
        Scope::Global => c,
        Scope::Local { .. } => Constant::local(c.value, radius),
    }
}

/// `out = (1 + β)x_1 − βx_2`.
pub(super) fn extrapolate(beta: f64, x1: VecView, x2: VecView, out: &mut DVector<f64>) {
    out.copy_from(&x1);
    out.axpy(-beta, &x2, 1.0 + beta);
}

impl<O: Objective> FixedPointMap for Nesterov<O> {
    fn dim_x(&self) -> usize {
        2 * self.n()
    }
    fn dim_u(&self) -> usize {
        self.f.dim_u()
    }
    fn name(&self) -> String {
        match self.schedule {
            Schedule::StronglyConvex { .. } => format!("nesterov({})", self.f.name()),
            Schedule::Convex => format!("nesterov_convex({})", self.f.name()),
        }
    }
    fn scratch(&self) -> Scratch {
        let mut s = self.f.scratch();
        s.extrapolated = vec![DVector::zeros(self.n()); 2];
        s
    }
    fn step_at(&self, k: usize, z: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let (n, beta) = (self.n(), self.beta(k));
        let mut wrapped = std::mem::take(&mut s.extrapolated);
        let [y, _] = &mut wrapped[..] else { unreachable!("two buffers from scratch()") };
        extrapolate(beta, z.rows(0, n), z.rows(n, n), y);
        let (mut o1, mut o2) = out.rows_range_pair_mut(0..n, n..2 * n);
        o1.copy_from(&*y);
        self.f.grad_acc(y.as_view(), -self.alpha, o1, s);
        o2.copy_from(&z.rows(0, n));
        s.extrapolated = wrapped;
    }
    fn step_magnitude(&self, k: usize, z: VecView, s: &mut Scratch) -> f64 {
        // y = (1 + β)x − βx₋, then y − α∇f(y); the second block copies x exactly.
        let (n, beta) = (self.n(), self.beta(k));
        let mut wrapped = std::mem::take(&mut s.extrapolated);
        let [y, _] = &mut wrapped[..] else { unreachable!("two buffers from scratch()") };
        extrapolate(beta, z.rows(0, n), z.rows(n, n), y);
        let g = self.f.grad_magnitude(y.as_view(), s);
        s.extrapolated = wrapped;
        (1.0 + beta.abs()) * z.rows(0, n).norm() + beta.abs() * z.rows(n, n).norm() + self.alpha.abs() * g
    }
    fn jvp_at(&self, k: usize, z: VecView, dz: VecView, du: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let (n, beta) = (self.n(), self.beta(k));
        let mut wrapped = std::mem::take(&mut s.extrapolated);
        let [y, dy] = &mut wrapped[..] else { unreachable!("two buffers from scratch()") };
        extrapolate(beta, z.rows(0, n), z.rows(n, n), y);
        extrapolate(beta, dz.rows(0, n), dz.rows(n, n), dy);
        let (mut o1, mut o2) = out.rows_range_pair_mut(0..n, n..2 * n);
        // (I − αH) ẏ − α D_u∇f u̇.
        o1.copy_from(&*dy);
        self.f.hvp_acc(y.as_view(), dy.as_view(), -self.alpha, o1.as_view_mut(), s);
        self.f.mixed_jvp_acc(y.as_view(), du, -self.alpha, o1, s);
        o2.copy_from(&dz.rows(0, n));
        s.extrapolated = wrapped;
    }
    fn vjp_at(
        &self,
        k: usize,
        z: VecView,
        w: VecView,
        mut xbar_out: VecViewMut,
        ubar_acc: VecViewMut,
        s: &mut Scratch,
    ) {
        let (n, beta) = (self.n(), self.beta(k));
        let mut wrapped = std::mem::take(&mut s.extrapolated);
        let [y, g] = &mut wrapped[..] else { unreachable!("two buffers from scratch()") };
        extrapolate(beta, z.rows(0, n), z.rows(n, n), y);
        let (w1, w2) = (w.rows(0, n), w.rows(n, n));
        // g = (I − αH) w1 (H symmetric); (D_zA)ᵀ w = ((1 + β)g + w2, −βg).
        g.copy_from(&w1);
        self.f.hvp_acc(y.as_view(), w1, -self.alpha, g.as_view_mut(), s);
        let (mut o1, mut o2) = xbar_out.rows_range_pair_mut(0..n, n..2 * n);
        o1.copy_from(&w2);
        o1.axpy(1.0 + beta, &*g, 1.0);
        o2.copy_from(&*g);
        o2.scale_mut(-beta);
        self.f.mixed_vjp_acc(y.as_view(), w1, -self.alpha, ubar_acc, s);
        s.extrapolated = wrapped;
    }
    fn fixed_point(&self) -> Result<DVector<f64>> {
        Ok(Lift::Stacked.apply(&self.f.minimizer()?))
    }
    fn constants(&self, ball: &Ball) -> Result<MapConstants> {
        let b = self.beta_max();
        let norm_f = ((1.0 + b) * (1.0 + b) + b * b).sqrt();
        let unit = self.unit_constants(&Ball { center: ball.center.clone(), radius: norm_f * ball.radius })?;
        let r = ball.radius;
        Ok(MapConstants {
            m_x: rescope(unit.m_x.scale(norm_f * norm_f), r),
            m_u: rescope(unit.m_u.scale(norm_f), r),
            kappa: rescope(unit.kappa, r),
            ..unit
        })
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            time_varying: self.schedule == Schedule::Convex,
            step_parameters: (self.alpha, self.beta(LIMIT)),
            lift: Lift::Stacked,
            objective: Some(&self.f),
            reparameterise: Some(self),
            ..Capabilities::default()
        }
    }
}

impl<O: Objective> Reparameterise for Nesterov<O> {
    fn param(&self) -> DVector<f64> {
        self.f.param()
    }
    fn fixed_point_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        Ok(Lift::Stacked.apply(&self.f.minimizer_at(u)?))
    }
}
