//! The Chebyshev semi-iterative method on `z = (x_1, x_2)` (current and previous iterate):
//! a *time-varying* fixed-point map
//! `A_k(z, u) = (ω_{k+1}(x_1 − h∇f(x_1, u)) + (1 − ω_{k+1}) x_2, x_1)`,
//! tuned to an interval `[μ, L]`: `h = 2/(L + μ)`, `ω_1 = 1` (the first step is a gradient
//! step) and `ω_{k+1} = 2σT_k(σ)/T_{k+1}(σ)`, `σ = (L + μ)/(L − μ)`, for `k ≥ 1`
//! ([`Polynomial::chebyshev_omega`]). From the lift `z_0 = (x_0, x_0)` its residual
//! polynomial on a quadratic whose spectrum lies in `[μ, L]` is
//! `P_t(λ) = T_t((L + μ − 2λ)/(L − μ))/T_t(σ)`, the smallest on `[μ, L]` among polynomials
//! with `P_t(0) = 1`.
//!
//! `D_z A_k = [[ω(I − h∇²f), (1 − ω)I], [I, 0]]`, `D_u A_k = [[−ωh D_u∇f], [0]]`. As for
//! heavy-ball, `‖D_z A_k‖₂ ≥ 1` (the second block row copies `x_1`), so A2.1 fails in the
//! Euclidean norm; and the map changes with `k`, so no single contraction modulus exists.
//! The unindexed methods of the trait ([`FixedPointMap::step`] …) are the limit map
//! `ω = ω_∞ = 2/(1 + √(1 − 1/σ²))` (heavy-ball with Polyak's parameters); the unrolling
//! uses the indexed ones.

use super::{Capabilities, FixedPointMap, LIMIT, Lift, Reparameterise, momentum};
use crate::constants::MapConstants;
use crate::error::{Error, Result, check_open};
use crate::problem::{Ball, Objective, Scratch, VecView, VecViewMut};
use crate::quadratic::Polynomial;
use nalgebra::DVector;

/// The Chebyshev semi-iterative method tuned to `[μ, L]` on an objective `O`.
#[derive(Debug, Clone)]
pub struct Chebyshev<O> {
    f: O,
    mu: f64,
    l: f64,
}

impl<O: Objective> Chebyshev<O> {
    /// Checks `0 < μ ≤ L < ∞`.
    pub fn new(f: O, mu: f64, l: f64) -> Result<Self> {
        check_open("mu", mu, 0.0, f64::INFINITY)?;
        if !(l >= mu && l.is_finite()) {
            return Err(Error::InvalidParameter { field: "L", value: l, reason: "must be finite and >= mu" });
        }
        Ok(Chebyshev { f, mu, l })
    }
    /// The interval `[μ, L]` the method is tuned to.
    pub fn interval(&self) -> (f64, f64) {
        (self.mu, self.l)
    }
    /// The step `h = 2/(L + μ)`.
    pub fn h(&self) -> f64 {
        2.0 / (self.l + self.mu)
    }
    /// `ω_{k+1}`, the weight of iteration `k`; from the index [`LIMIT`] of the limit map
    /// on, `ω_∞` in closed form.
    pub fn omega(&self, k: usize) -> f64 {
        if k >= LIMIT {
            let s = (self.l - self.mu) / (self.l + self.mu);
            return 2.0 / (1.0 + (1.0 - s * s).sqrt());
        }
        Polynomial::chebyshev_omega(self.mu, self.l, k.min(i32::MAX as usize - 1))
    }
    /// The largest weight, `max_k ω_{k+1}` (`ω_2`, or 1 for a single point `μ = L`).
    pub fn omega_max(&self) -> f64 {
        self.omega(1).max(1.0)
    }
    fn n(&self) -> usize {
        self.f.dim_x()
    }
}

impl<O: Objective> FixedPointMap for Chebyshev<O> {
    fn dim_x(&self) -> usize {
        2 * self.n()
    }
    fn dim_u(&self) -> usize {
        self.f.dim_u()
    }
    fn name(&self) -> String {
        format!("chebyshev({})", self.f.name())
    }
    fn scratch(&self) -> Scratch {
        self.f.scratch()
    }
    fn step_at(&self, k: usize, z: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let (n, w, h) = (self.n(), self.omega(k), self.h());
        let (x1, x2) = (z.rows(0, n), z.rows(n, n));
        let (mut o1, mut o2) = out.rows_range_pair_mut(0..n, n..2 * n);
        o1.copy_from(&x1);
        o1.scale_mut(w);
        o1.axpy(1.0 - w, &x2, 1.0);
        self.f.grad_acc(x1, -w * h, o1, s);
        o2.copy_from(&x1);
    }
    fn step_magnitude(&self, k: usize, z: VecView, s: &mut Scratch) -> f64 {
        // ωx + (1 − ω)x₋ − ωh∇f(x); the second block copies x exactly.
        let (n, w, h) = (self.n(), self.omega(k), self.h());
        let x1 = z.rows(0, n);
        w.abs() * x1.norm() + (1.0 - w).abs() * z.rows(n, n).norm() + (w * h).abs() * self.f.grad_magnitude(x1, s)
    }
    fn jvp_at(&self, k: usize, z: VecView, dz: VecView, du: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let (n, w, h) = (self.n(), self.omega(k), self.h());
        let x1 = z.rows(0, n);
        let (d1, d2) = (dz.rows(0, n), dz.rows(n, n));
        let (mut o1, mut o2) = out.rows_range_pair_mut(0..n, n..2 * n);
        o1.copy_from(&d1);
        o1.scale_mut(w);
        o1.axpy(1.0 - w, &d2, 1.0);
        self.f.hvp_acc(x1, d1, -w * h, o1.as_view_mut(), s);
        self.f.mixed_jvp_acc(x1, du, -w * h, o1, s);
        o2.copy_from(&d1);
    }
    fn vjp_at(
        &self,
        k: usize,
        z: VecView,
        wv: VecView,
        mut xbar_out: VecViewMut,
        ubar_acc: VecViewMut,
        s: &mut Scratch,
    ) {
        let (n, w, h) = (self.n(), self.omega(k), self.h());
        let x1 = z.rows(0, n);
        let (w1, w2) = (wv.rows(0, n), wv.rows(n, n));
        let (mut o1, mut o2) = xbar_out.rows_range_pair_mut(0..n, n..2 * n);
        // (D_zA_k)ᵀ w = (ω(I − h∇²f) w1 + w2, (1 − ω) w1).
        o1.copy_from(&w1);
        o1.scale_mut(w);
        o1.axpy(1.0, &w2, 1.0);
        self.f.hvp_acc(x1, w1, -w * h, o1, s);
        o2.copy_from(&w1);
        o2.scale_mut(1.0 - w);
        self.f.mixed_vjp_acc(x1, w1, -w * h, ubar_acc, s);
    }
    fn fixed_point(&self) -> Result<DVector<f64>> {
        Ok(Lift::Stacked.apply(&self.f.minimizer()?))
    }
    fn constants(&self, ball: &Ball) -> Result<MapConstants> {
        momentum::constants(self, &self.f, ball, self.omega_max() * self.h())
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            time_varying: true,
            step_parameters: (self.h(), self.omega(LIMIT) - 1.0),
            lift: Lift::Stacked,
            objective: Some(&self.f),
            polynomial: Some(Polynomial::Chebyshev { mu: self.mu, l: self.l }),
            reparameterise: Some(self),
            ..Capabilities::default()
        }
    }
}

impl<O: Objective> Reparameterise for Chebyshev<O> {
    fn param(&self) -> DVector<f64> {
        self.f.param()
    }
    fn fixed_point_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        Ok(Lift::Stacked.apply(&self.f.minimizer_at(u)?))
    }
}
