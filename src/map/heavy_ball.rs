//! Heavy-ball `A_{α,β}(z, u) = (x_1 − α∇f(x_1, u) + β(x_1 − x_2), x_1)` on
//! `z = (x_1, x_2)` (Remark 1(ii)).
//!
//! `D_z A = [[(1+β)I − α∇²f, −βI], [I, 0]]`, `D_u A = [[−α D_u∇f], [0]]`.
//! **Subtlety** (Remark 1(ii), `docs/claims-spec.md`): `‖D_z A‖₂ ≥ 1` always (apply it to `(y, 0)`:
//! the second block returns `y`), so A2.1 fails in the Euclidean norm; only the spectral
//! radius of `D_z A(z*)` is below 1. [`FixedPointMap::constants`] therefore reports the
//! Euclidean `ρ` as the norm bound `≥ 1` and the spectral radius separately.

use super::{Capabilities, FixedPointMap, Lift, Reparameterise, momentum};
use crate::constants::MapConstants;
use crate::error::{Error, Result, check_open};
use crate::problem::{Ball, Objective, Scratch, VecView, VecViewMut};
use crate::quadratic::Polynomial;
use nalgebra::DVector;

/// Heavy-ball with constant `α > 0`, `β ∈ [0, 1)`.
#[derive(Debug, Clone)]
pub struct HeavyBall<O> {
    f: O,
    alpha: f64,
    beta: f64,
}

impl<O: Objective> HeavyBall<O> {
    /// Checks `α > 0` finite and `0 ≤ β < 1`.
    pub fn new(f: O, alpha: f64, beta: f64) -> Result<Self> {
        check_open("alpha", alpha, 0.0, f64::INFINITY)?;
        if !(0.0..1.0).contains(&beta) {
            return Err(Error::InvalidParameter { field: "beta", value: beta, reason: "must lie in [0, 1)" });
        }
        Ok(HeavyBall { f, alpha, beta })
    }
    /// The step size `α`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// The momentum `β`.
    pub fn beta(&self) -> f64 {
        self.beta
    }
    /// The objective.
    pub fn objective(&self) -> &O {
        &self.f
    }
    fn n(&self) -> usize {
        self.f.dim_x()
    }
}

/// Spectral radius of heavy-ball on a quadratic with Hessian eigenvalue `h`: the largest
/// root modulus of `t² − (1 + β − αh)t + β`.
pub fn hb_root_modulus(alpha: f64, beta: f64, h: f64) -> f64 {
    root_modulus(1.0 + beta - alpha * h, beta)
}

/// The largest root modulus of `s² − ts + c` (the spectral radius of the block
/// `[[t, −c], [1, 0]]` of a momentum map).
pub fn root_modulus(t: f64, c: f64) -> f64 {
    let disc = t * t - 4.0 * c;
    if disc < 0.0 { c.sqrt() } else { (t.abs() + disc.sqrt()) / 2.0 }
}

impl<O: Objective> FixedPointMap for HeavyBall<O> {
    fn dim_x(&self) -> usize {
        2 * self.n()
    }
    fn dim_u(&self) -> usize {
        self.f.dim_u()
    }
    fn name(&self) -> String {
        format!("heavy_ball({})", self.f.name())
    }
    fn scratch(&self) -> Scratch {
        self.f.scratch()
    }
    fn step_at(&self, _k: usize, z: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let n = self.n();
        let (x1, x2) = (z.rows(0, n), z.rows(n, n));
        let (mut o1, mut o2) = out.rows_range_pair_mut(0..n, n..2 * n);
        o1.copy_from(&x1);
        o1.axpy(self.beta, &x1, 1.0);
        o1.axpy(-self.beta, &x2, 1.0);
        self.f.grad_acc(x1, -self.alpha, o1, s);
        o2.copy_from(&x1);
    }
    fn step_magnitude(&self, _k: usize, z: VecView, s: &mut Scratch) -> f64 {
        // (1 + β)x − βx₋ − α∇f(x); the second block copies x exactly.
        let n = self.n();
        let x1 = z.rows(0, n);
        (1.0 + self.beta.abs()) * x1.norm()
            + self.beta.abs() * z.rows(n, n).norm()
            + self.alpha.abs() * self.f.grad_magnitude(x1, s)
    }
    fn jvp_at(&self, _k: usize, z: VecView, dz: VecView, du: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let n = self.n();
        let x1 = z.rows(0, n);
        let (d1, d2) = (dz.rows(0, n), dz.rows(n, n));
        let (mut o1, mut o2) = out.rows_range_pair_mut(0..n, n..2 * n);
        o1.copy_from(&d1);
        o1.axpy(self.beta, &d1, 1.0);
        o1.axpy(-self.beta, &d2, 1.0);
        self.f.hvp_acc(x1, d1, -self.alpha, o1.as_view_mut(), s);
        self.f.mixed_jvp_acc(x1, du, -self.alpha, o1, s);
        o2.copy_from(&d1);
    }
    fn vjp_at(
        &self,
        _k: usize,
        z: VecView,
        w: VecView,
        mut xbar_out: VecViewMut,
        ubar_acc: VecViewMut,
        s: &mut Scratch,
    ) {
        let n = self.n();
        let x1 = z.rows(0, n);
        let (w1, w2) = (w.rows(0, n), w.rows(n, n));
        let (mut o1, mut o2) = xbar_out.rows_range_pair_mut(0..n, n..2 * n);
        // (D_zA)ᵀ w = ((1+β)w1 − α∇²f w1 + w2, −β w1).
        o1.copy_from(&w1);
        o1.axpy(self.beta, &w1, 1.0);
        o1.axpy(1.0, &w2, 1.0);
        self.f.hvp_acc(x1, w1, -self.alpha, o1, s);
        o2.copy_from(&w1);
        o2.scale_mut(-self.beta);
        self.f.mixed_vjp_acc(x1, w1, -self.alpha, ubar_acc, s);
    }
    fn fixed_point(&self) -> Result<DVector<f64>> {
        Ok(Lift::Stacked.apply(&self.f.minimizer()?))
    }
    fn constants(&self, ball: &Ball) -> Result<MapConstants> {
        momentum::constants(self, &self.f, ball, self.alpha)
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            step_parameters: (self.alpha, self.beta),
            lift: Lift::Stacked,
            objective: Some(&self.f),
            polynomial: Some(Polynomial::HeavyBall { alpha: self.alpha, beta: self.beta }),
            reparameterise: Some(self),
            ..Capabilities::default()
        }
    }
}

impl<O: Objective> Reparameterise for HeavyBall<O> {
    fn param(&self) -> DVector<f64> {
        self.f.param()
    }
    fn fixed_point_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        Ok(Lift::Stacked.apply(&self.f.minimizer_at(u)?))
    }
}
