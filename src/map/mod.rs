//! Fixed-point maps `A(x, u)` of (2) and (4), behind one small trait.
//!
//! A map needs [`FixedPointMap::step`] (`x ↦ A(x, u)`), [`FixedPointMap::jvp`]
//! (`B ẋ + C u̇`, the right-hand side of the forward recursion (9)) and
//! [`FixedPointMap::vjp`] (`x̄ ↦ (x̄ᵀB, x̄ᵀC)`, one step of the reverse recursion (12)),
//! plus its fixed point and its certified constants. The dense Jacobians `B = D_x A` and
//! `C = D_u A` (10) are derived from the products. Products rather than matrices are the
//! required methods because the appendix-C parameter `(A, b)` has `p = MN + M` entries:
//! forming `C_k` (n×p) at each iterate would cost far more than the product.
//!
//! A new method (Nesterov, Chebyshev) is one new file implementing this trait.
//! [`adapted`] re-expresses heavy-ball in a norm in which it contracts (beyond the paper).

pub mod adapted;
pub mod gradient_descent;
pub mod heavy_ball;

pub use adapted::{Adapted, AdaptedNorm};
pub use gradient_descent::GradientDescent;
pub use heavy_ball::HeavyBall;

use crate::constants::MapConstants;
use crate::problem::{Ball, Scratch, Vw, VwMut};
use nalgebra::{DMatrix, DVector};

/// A parameterised fixed-point map `A(·, u)` on `R^n`.
pub trait FixedPointMap: Send + Sync {
    /// State dimension `n` (`2·dim` for heavy-ball's `z = (x_1, x_2)`).
    fn dim_x(&self) -> usize;
    /// Parameter dimension `p`.
    fn dim_u(&self) -> usize;
    /// A short name, e.g. `gd(ridge[weight])`.
    fn name(&self) -> String;
    /// Scratch buffers for [`Self::step`], [`Self::jvp`], [`Self::vjp`].
    fn scratch(&self) -> Scratch;
    /// `out = A(x, u)`.
    fn step(&self, x: Vw, out: VwMut, s: &mut Scratch);
    /// `out = D_x A(x, u) dx + D_u A(x, u) du` (overwrites `out`).
    fn jvp(&self, x: Vw, dx: Vw, du: Vw, out: VwMut, s: &mut Scratch);
    /// `xbar_out = D_x A(x, u)ᵀ w` (overwrites) and `ubar_acc += D_u A(x, u)ᵀ w`.
    fn vjp(&self, x: Vw, w: Vw, xbar_out: VwMut, ubar_acc: VwMut, s: &mut Scratch);
    /// The fixed point `x*(u)`.
    fn fixed_point(&self) -> crate::Result<DVector<f64>>;
    /// The fixed point at another parameter value `u'` (finite differences of `u ↦ x*(u)`).
    fn fixed_point_at(&self, u: &DVector<f64>) -> crate::Result<DVector<f64>> {
        let _ = u;
        Err(crate::Error::Numerical(format!("{} cannot be re-parameterised", self.name())))
    }
    /// The step size `α` and momentum `β` (0 without momentum), for exporting instances.
    fn step_parameters(&self) -> (f64, f64) {
        (f64::NAN, 0.0)
    }
    /// The current parameter `u`, when the map can be re-parameterised.
    fn param(&self) -> Option<DVector<f64>> {
        None
    }
    /// Certified constants of A2.1/A2.2 on the ball around `x*` of radius `e_0`.
    fn constants(&self, ball: &Ball) -> MapConstants;
    /// Lifts a point `x` of the objective's space to the map's state (identity for
    /// gradient descent, `x ↦ (x, x)` for heavy-ball).
    fn lift(&self, x: &DVector<f64>) -> DVector<f64> {
        x.clone()
    }
    /// The adapted norm `‖P⁻¹z‖` the map's state is expressed in ([`Adapted`]); `None` for
    /// the Euclidean norm.
    fn adapted_norm(&self) -> Option<AdaptedNorm> {
        None
    }

    /// Dense `B = D_x A(x, u)` (n×n).
    fn d_x(&self, x: Vw) -> DMatrix<f64> {
        let (n, p) = (self.dim_x(), self.dim_u());
        let mut s = self.scratch();
        let (mut e, zero) = (DVector::zeros(n), DVector::zeros(p));
        let mut b = DMatrix::zeros(n, n);
        for j in 0..n {
            e[j] = 1.0;
            self.jvp(x, e.as_view(), zero.as_view(), b.column_mut(j), &mut s);
            e[j] = 0.0;
        }
        b
    }

    /// Dense `C = D_u A(x, u)` (n×p).
    fn d_u(&self, x: Vw) -> DMatrix<f64> {
        let (n, p) = (self.dim_x(), self.dim_u());
        let mut s = self.scratch();
        let (zero, mut e) = (DVector::zeros(n), DVector::zeros(p));
        let mut c = DMatrix::zeros(n, p);
        for j in 0..p {
            e[j] = 1.0;
            self.jvp(x, zero.as_view(), e.as_view(), c.column_mut(j), &mut s);
            e[j] = 0.0;
        }
        c
    }
}

impl<M: FixedPointMap + ?Sized> FixedPointMap for Box<M> {
    fn dim_x(&self) -> usize {
        (**self).dim_x()
    }
    fn dim_u(&self) -> usize {
        (**self).dim_u()
    }
    fn name(&self) -> String {
        (**self).name()
    }
    fn scratch(&self) -> Scratch {
        (**self).scratch()
    }
    fn step(&self, x: Vw, out: VwMut, s: &mut Scratch) {
        (**self).step(x, out, s)
    }
    fn jvp(&self, x: Vw, dx: Vw, du: Vw, out: VwMut, s: &mut Scratch) {
        (**self).jvp(x, dx, du, out, s)
    }
    fn vjp(&self, x: Vw, w: Vw, xbar_out: VwMut, ubar_acc: VwMut, s: &mut Scratch) {
        (**self).vjp(x, w, xbar_out, ubar_acc, s)
    }
    fn fixed_point(&self) -> crate::Result<DVector<f64>> {
        (**self).fixed_point()
    }
    fn constants(&self, ball: &Ball) -> MapConstants {
        (**self).constants(ball)
    }
    fn fixed_point_at(&self, u: &DVector<f64>) -> crate::Result<DVector<f64>> {
        (**self).fixed_point_at(u)
    }
    fn step_parameters(&self) -> (f64, f64) {
        (**self).step_parameters()
    }
    fn param(&self) -> Option<DVector<f64>> {
        (**self).param()
    }
    fn lift(&self, x: &DVector<f64>) -> DVector<f64> {
        (**self).lift(x)
    }
    fn adapted_norm(&self) -> Option<AdaptedNorm> {
        (**self).adapted_norm()
    }
}
