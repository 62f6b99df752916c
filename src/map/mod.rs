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
//!
//! **Time-varying maps.** The Chebyshev semi-iterative method ([`chebyshev`]) applies a
//! different map `A_k(·, u)` at each iteration `k`. The unrolling loops therefore call the
//! indexed forms [`FixedPointMap::step_at`], [`FixedPointMap::jvp_at`] and
//! [`FixedPointMap::vjp_at`] with the iteration index `k` of the iterate they act on
//! (`x_{k+1} = A_k(x_k, u)`, `B_k = D_x A_k(x_k, u)`); their default implementations call
//! the time-invariant methods, so a time-invariant map implements only those.

pub mod adapted;
pub mod chebyshev;
pub mod gradient_descent;
pub mod heavy_ball;

pub use adapted::{Adapted, AdaptedNorm};
pub use chebyshev::Chebyshev;
pub use gradient_descent::GradientDescent;
pub use heavy_ball::HeavyBall;

use crate::problem::Objective;
use crate::quadratic::Polynomial;

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
    /// Certified constants of A2.1/A2.2 on the ball around `x*` of radius `e_0` (an
    /// [`crate::Error::Numerical`] when one cannot be computed, e.g. the spectral radius of
    /// `∂A/∂x` when its eigenvalue iteration does not converge).
    fn constants(&self, ball: &Ball) -> crate::Result<MapConstants>;
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

    /// `true` when the map depends on the iteration index (then [`Self::step`], [`Self::jvp`]
    /// and [`Self::vjp`] are its limit map, and the unrolling uses the indexed forms).
    fn time_varying(&self) -> bool {
        false
    }
    /// `out = A_k(x, u)`, the map of iteration `k` (`x_{k+1} = A_k(x_k, u)`).
    fn step_at(&self, k: usize, x: Vw, out: VwMut, s: &mut Scratch) {
        let _ = k;
        self.step(x, out, s)
    }
    /// `out = D_x A_k(x, u) dx + D_u A_k(x, u) du`.
    fn jvp_at(&self, k: usize, x: Vw, dx: Vw, du: Vw, out: VwMut, s: &mut Scratch) {
        let _ = k;
        self.jvp(x, dx, du, out, s)
    }
    /// `xbar_out = D_x A_k(x, u)ᵀ w`, `ubar_acc += D_u A_k(x, u)ᵀ w`.
    fn vjp_at(&self, k: usize, x: Vw, w: Vw, xbar_out: VwMut, ubar_acc: VwMut, s: &mut Scratch) {
        let _ = k;
        self.vjp(x, w, xbar_out, ubar_acc, s)
    }
    /// The objective `f` the method runs on, when it exposes it (for the quadratic theory).
    fn objective(&self) -> Option<&dyn Objective> {
        None
    }
    /// The method's residual polynomials on quadratics (Scieur et al. 2022), when it is a
    /// polynomial method: `x_t − x* = P_t(H)(x_0 − x*)` for the first block of the state.
    fn polynomial(&self) -> Option<Polynomial> {
        None
    }

    /// Dense `B = D_x A(x, u)` (n×n).
    fn d_x(&self, x: Vw) -> DMatrix<f64> {
        dense_d_x(self, None, x)
    }

    /// Dense `C = D_u A(x, u)` (n×p).
    fn d_u(&self, x: Vw) -> DMatrix<f64> {
        dense_d_u(self, None, x)
    }

    /// Dense `B_k = D_x A_k(x, u)`.
    fn d_x_at(&self, k: usize, x: Vw) -> DMatrix<f64> {
        if self.time_varying() { dense_d_x(self, Some(k), x) } else { self.d_x(x) }
    }

    /// Dense `C_k = D_u A_k(x, u)`.
    fn d_u_at(&self, k: usize, x: Vw) -> DMatrix<f64> {
        if self.time_varying() { dense_d_u(self, Some(k), x) } else { self.d_u(x) }
    }
}

/// One JVP of the map of iteration `k` (`None`: the time-invariant map).
fn jvp_maybe_at<M: FixedPointMap + ?Sized>(
    map: &M,
    k: Option<usize>,
    x: Vw,
    dx: Vw,
    du: Vw,
    out: VwMut,
    s: &mut Scratch,
) {
    match k {
        Some(k) => map.jvp_at(k, x, dx, du, out, s),
        None => map.jvp(x, dx, du, out, s),
    }
}

fn dense_d_x<M: FixedPointMap + ?Sized>(map: &M, k: Option<usize>, x: Vw) -> DMatrix<f64> {
    let (n, p) = (map.dim_x(), map.dim_u());
    let mut s = map.scratch();
    let (mut e, zero) = (DVector::zeros(n), DVector::zeros(p));
    let mut b = DMatrix::zeros(n, n);
    for j in 0..n {
        e[j] = 1.0;
        jvp_maybe_at(map, k, x, e.as_view(), zero.as_view(), b.column_mut(j), &mut s);
        e[j] = 0.0;
    }
    b
}

fn dense_d_u<M: FixedPointMap + ?Sized>(map: &M, k: Option<usize>, x: Vw) -> DMatrix<f64> {
    let (n, p) = (map.dim_x(), map.dim_u());
    let mut s = map.scratch();
    let (zero, mut e) = (DVector::zeros(n), DVector::zeros(p));
    let mut c = DMatrix::zeros(n, p);
    for j in 0..p {
        e[j] = 1.0;
        jvp_maybe_at(map, k, x, zero.as_view(), e.as_view(), c.column_mut(j), &mut s);
        e[j] = 0.0;
    }
    c
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
    fn constants(&self, ball: &Ball) -> crate::Result<MapConstants> {
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
    fn time_varying(&self) -> bool {
        (**self).time_varying()
    }
    fn step_at(&self, k: usize, x: Vw, out: VwMut, s: &mut Scratch) {
        (**self).step_at(k, x, out, s)
    }
    fn jvp_at(&self, k: usize, x: Vw, dx: Vw, du: Vw, out: VwMut, s: &mut Scratch) {
        (**self).jvp_at(k, x, dx, du, out, s)
    }
    fn vjp_at(&self, k: usize, x: Vw, w: Vw, xbar_out: VwMut, ubar_acc: VwMut, s: &mut Scratch) {
        (**self).vjp_at(k, x, w, xbar_out, ubar_acc, s)
    }
    fn objective(&self) -> Option<&dyn Objective> {
        (**self).objective()
    }
    fn polynomial(&self) -> Option<Polynomial> {
        (**self).polynomial()
    }
    fn d_x(&self, x: Vw) -> DMatrix<f64> {
        (**self).d_x(x)
    }
    fn d_u(&self, x: Vw) -> DMatrix<f64> {
        (**self).d_u(x)
    }
    fn d_x_at(&self, k: usize, x: Vw) -> DMatrix<f64> {
        (**self).d_x_at(k, x)
    }
    fn d_u_at(&self, k: usize, x: Vw) -> DMatrix<f64> {
        (**self).d_u_at(k, x)
    }
}
