//! Fixed-point maps `A(x, u)` of (2) and (4): a core trait and one capability query.
//!
//! The core trait [`FixedPointMap`] is what every map needs: its dimensions, scratch
//! buffers, the indexed step `x ↦ A_k(x, u)`, its JVP `B_k ẋ + C_k u̇` (the right-hand side
//! of the forward recursion (9)) and VJP `x̄ ↦ (x̄ᵀB_k, x̄ᵀC_k)` (one step of the reverse
//! recursion (12)), its fixed point and its certified constants. The dense Jacobians
//! `B = D_x A` and `C = D_u A` (10) are derived from the products. Products rather than
//! matrices are the required methods because the appendix-C parameter `(A, b)` has
//! `p = MN + M` entries: forming `C_k` (n×p) at each iterate would cost far more than the
//! product.
//!
//! Everything a map *may* offer beyond that is answered by one query,
//! [`FixedPointMap::capabilities`]: whether it depends on the iteration, its step size and
//! momentum, how a point of the objective's space is lifted to its state ([`Lift`]), the
//! objective and residual polynomial of the quadratic theory, the adapted norm, and
//! re-parameterisation ([`Reparameterise`]).
//!
//! A new method is one new file implementing this trait (gradient descent, heavy-ball,
//! Chebyshev and Nesterov's accelerated gradient are); [`layer`] is a map with no
//! objective behind it, a random contraction layer `tanh(Wx + Uv + b)` (beyond the paper);
//! proximal gradient and FISTA on the elastic net, [`proximal`], are piecewise affine with
//! an almost-everywhere derivative (beyond the paper).
//! [`adapted`] re-expresses heavy-ball and constant-momentum Nesterov in a norm in which
//! they contract (beyond the paper).
//!
//! **Time-varying maps.** The Chebyshev semi-iterative method ([`chebyshev`]) and
//! Nesterov's method with the convex schedule ([`nesterov`]) apply a
//! different map `A_k(·, u)` at each iteration `k`, so the required methods take the
//! iteration index `k` of the iterate they act on (`x_{k+1} = A_k(x_k, u)`,
//! `B_k = D_x A_k(x_k, u)`); a time-invariant map ignores it. The unindexed forms
//! ([`FixedPointMap::step`] …) are the limit map `k → ∞` ([`LIMIT`]).

pub mod adapted;
pub mod chebyshev;
pub mod gradient_descent;
pub mod heavy_ball;
pub mod layer;
mod momentum;
pub mod nesterov;
pub mod proximal;

pub use adapted::{Adapted, AdaptedNorm};
pub use chebyshev::Chebyshev;
pub use gradient_descent::GradientDescent;
pub use heavy_ball::HeavyBall;
pub use layer::{Layer, LayerParam};
pub use nesterov::Nesterov;
pub use proximal::Proximal;

use crate::problem::Objective;
use crate::quadratic::Polynomial;

use crate::constants::MapConstants;
use crate::problem::{Ball, Scratch, VecView, VecViewMut};
use nalgebra::{DMatrix, DVector};

/// The iteration index of the limit map `A_∞ = lim_k A_k` (the map itself when it is
/// time-invariant).
pub const LIMIT: usize = usize::MAX / 4;

/// A parameterised fixed-point map `A_k(·, u)` on `R^n`.
pub trait FixedPointMap: Send + Sync {
    /// State dimension `n` (`2·dim` for heavy-ball's `z = (x_1, x_2)`).
    fn dim_x(&self) -> usize;
    /// Parameter dimension `p`.
    fn dim_u(&self) -> usize;
    /// A short name, e.g. `gd(ridge[weight])`.
    fn name(&self) -> String;
    /// Scratch buffers for [`Self::step_at`], [`Self::jvp_at`], [`Self::vjp_at`].
    fn scratch(&self) -> Scratch;
    /// `out = A_k(x, u)`, the map of iteration `k` (`x_{k+1} = A_k(x_k, u)`).
    fn step_at(&self, k: usize, x: VecView, out: VecViewMut, s: &mut Scratch);
    /// The magnitude of what one step `A_k(x, u)` sums (a bound on `‖Σ|terms|‖`, from
    /// [`crate::problem::Objective::grad_magnitude`] for the gradient): one step rounds by
    /// at most `γ_d` times it. This is the scale `S` of the recursion estimate of
    /// [`crate::tol`]: it is at least `‖x‖`, and much larger where the terms of the step
    /// cancel (at the fixed point of a gradient step, `x − α∇f(x) = x` with `∇f(x) = 0`
    /// summed from large terms).
    fn step_magnitude(&self, k: usize, x: VecView, s: &mut Scratch) -> f64;
    /// `out = D_x A_k(x, u) dx + D_u A_k(x, u) du` (overwrites `out`).
    fn jvp_at(&self, k: usize, x: VecView, dx: VecView, du: VecView, out: VecViewMut, s: &mut Scratch);
    /// `xbar_out = D_x A_k(x, u)ᵀ w` (overwrites) and `ubar_acc += D_u A_k(x, u)ᵀ w`.
    fn vjp_at(&self, k: usize, x: VecView, w: VecView, xbar_out: VecViewMut, ubar_acc: VecViewMut, s: &mut Scratch);
    /// The fixed point `x*(u)`.
    fn fixed_point(&self) -> crate::Result<DVector<f64>>;
    /// Certified constants of A2.1/A2.2 on the ball around `x*` of radius `e_0` (an
    /// [`crate::Error::Numerical`] when one cannot be computed, e.g. the spectral radius of
    /// `∂A/∂x` when its eigenvalue iteration does not converge).
    fn constants(&self, ball: &Ball) -> crate::Result<MapConstants>;

    /// What the map offers beyond the core methods (none by default).
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities::default()
    }

    /// `out = A_∞(x, u)`, the limit map.
    fn step(&self, x: VecView, out: VecViewMut, s: &mut Scratch) {
        self.step_at(LIMIT, x, out, s)
    }
    /// `out = D_x A_∞(x, u) dx + D_u A_∞(x, u) du`.
    fn jvp(&self, x: VecView, dx: VecView, du: VecView, out: VecViewMut, s: &mut Scratch) {
        self.jvp_at(LIMIT, x, dx, du, out, s)
    }
    /// `xbar_out = D_x A_∞(x, u)ᵀ w`, `ubar_acc += D_u A_∞(x, u)ᵀ w`.
    fn vjp(&self, x: VecView, w: VecView, xbar_out: VecViewMut, ubar_acc: VecViewMut, s: &mut Scratch) {
        self.vjp_at(LIMIT, x, w, xbar_out, ubar_acc, s)
    }

    /// Dense `B = D_x A_∞(x, u)` (n×n).
    fn d_x(&self, x: VecView) -> DMatrix<f64> {
        self.d_x_at(LIMIT, x)
    }

    /// Dense `C = D_u A_∞(x, u)` (n×p).
    fn d_u(&self, x: VecView) -> DMatrix<f64> {
        self.d_u_at(LIMIT, x)
    }

    /// Dense `B_k = D_x A_k(x, u)`.
    fn d_x_at(&self, k: usize, x: VecView) -> DMatrix<f64> {
        dense_d_x(self, k, x)
    }

    /// Dense `C_k = D_u A_k(x, u)`.
    fn d_u_at(&self, k: usize, x: VecView) -> DMatrix<f64> {
        dense_d_u(self, k, x)
    }
}

/// What a map offers beyond [`FixedPointMap`]'s core methods, answered in one place.
#[derive(Clone, Copy)]
pub struct Capabilities<'a> {
    /// `true` when the map depends on the iteration index (then the unindexed methods are
    /// its limit map).
    pub time_varying: bool,
    /// The step size `α` and momentum `β` (`(NaN, 0)` when unknown), for exporting instances.
    pub step_parameters: (f64, f64),
    /// How a point `x` of the objective's space becomes the map's state.
    pub lift: Lift<'a>,
    /// The objective `f` the method runs on, when it exposes it (for the quadratic theory).
    pub objective: Option<&'a dyn Objective>,
    /// The method's residual polynomials on quadratics (Scieur et al. 2022), when it is a
    /// polynomial method: `x_t − x* = P_t(H)(x_0 − x*)` for the first block of the state.
    pub polynomial: Option<Polynomial>,
    /// The adapted norm `‖P⁻¹z‖` the map's state is expressed in ([`Adapted`]); `None` for
    /// the Euclidean norm.
    pub adapted_norm: Option<AdaptedNorm>,
    /// The map's parameter and its fixed point at other parameter values, when the map can
    /// be re-parameterised.
    pub reparameterise: Option<&'a dyn Reparameterise>,
    /// Where a run of a proximal map identified the support of `x*` ([`proximal`]), when
    /// the map records it.
    pub support: Option<proximal::Identification>,
}

impl Default for Capabilities<'_> {
    fn default() -> Self {
        Capabilities {
            time_varying: false,
            step_parameters: (f64::NAN, 0.0),
            lift: Lift::Identity,
            objective: None,
            polynomial: None,
            adapted_norm: None,
            reparameterise: None,
            support: None,
        }
    }
}

/// How a point `x` of the objective's space is lifted to a map's state.
#[derive(Debug, Clone, Copy)]
pub enum Lift<'a> {
    /// The state is `x` (gradient descent).
    Identity,
    /// The state is `(x, x)` (heavy-ball, Chebyshev: current and previous iterate).
    Stacked,
    /// The state is `P⁻¹(x, x)` (heavy-ball in the adapted norm), with `P⁻¹` given.
    Adapted(&'a DMatrix<f64>),
}

impl Lift<'_> {
    /// The lifted state of `x`.
    pub fn apply(&self, x: &DVector<f64>) -> DVector<f64> {
        let stacked = |x: &DVector<f64>| {
            let n = x.len();
            DVector::from_fn(2 * n, |i, _| x[i % n])
        };
        match self {
            Lift::Identity => x.clone(),
            Lift::Stacked => stacked(x),
            Lift::Adapted(p_inv) => *p_inv * stacked(x),
        }
    }
}

/// A map that can be re-parameterised (finite differences of `u ↦ x*(u)`).
pub trait Reparameterise {
    /// The current parameter `u`.
    fn param(&self) -> DVector<f64>;
    /// The fixed point at another parameter value `u'`.
    fn fixed_point_at(&self, u: &DVector<f64>) -> crate::Result<DVector<f64>>;
    /// The fixed point at `u'` and the *piece* of the solution map it lies on, for a map
    /// whose solution map `u ↦ x*(u)` is only piecewise smooth: two parameter values with
    /// the same piece are joined by a smooth branch (a proximal map: the sign pattern of
    /// the pre-prox point `z*`, [`proximal`]). `None` (the default) for a smooth map, where
    /// every `u'` is on the same piece. Finite differences of `u ↦ x*(u)` must not straddle
    /// two pieces: their limit would be neither one-sided derivative.
    fn fixed_point_and_piece_at(&self, u: &DVector<f64>) -> crate::Result<(DVector<f64>, Option<Vec<i8>>)> {
        Ok((self.fixed_point_at(u)?, None))
    }
}

fn dense_d_x<M: FixedPointMap + ?Sized>(map: &M, k: usize, x: VecView) -> DMatrix<f64> {
    let (n, p) = (map.dim_x(), map.dim_u());
    let mut s = map.scratch();
    let (mut e, zero) = (DVector::zeros(n), DVector::zeros(p));
    let mut b = DMatrix::zeros(n, n);
    for j in 0..n {
        e[j] = 1.0;
        map.jvp_at(k, x, e.as_view(), zero.as_view(), b.column_mut(j), &mut s);
        e[j] = 0.0;
    }
    b
}

fn dense_d_u<M: FixedPointMap + ?Sized>(map: &M, k: usize, x: VecView) -> DMatrix<f64> {
    let (n, p) = (map.dim_x(), map.dim_u());
    let mut s = map.scratch();
    let (zero, mut e) = (DVector::zeros(n), DVector::zeros(p));
    let mut c = DMatrix::zeros(n, p);
    for j in 0..p {
        e[j] = 1.0;
        map.jvp_at(k, x, zero.as_view(), e.as_view(), c.column_mut(j), &mut s);
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
    fn step_at(&self, k: usize, x: VecView, out: VecViewMut, s: &mut Scratch) {
        (**self).step_at(k, x, out, s)
    }
    fn step_magnitude(&self, k: usize, x: VecView, s: &mut Scratch) -> f64 {
        (**self).step_magnitude(k, x, s)
    }
    fn jvp_at(&self, k: usize, x: VecView, dx: VecView, du: VecView, out: VecViewMut, s: &mut Scratch) {
        (**self).jvp_at(k, x, dx, du, out, s)
    }
    fn vjp_at(&self, k: usize, x: VecView, w: VecView, xbar_out: VecViewMut, ubar_acc: VecViewMut, s: &mut Scratch) {
        (**self).vjp_at(k, x, w, xbar_out, ubar_acc, s)
    }
    fn fixed_point(&self) -> crate::Result<DVector<f64>> {
        (**self).fixed_point()
    }
    fn constants(&self, ball: &Ball) -> crate::Result<MapConstants> {
        (**self).constants(ball)
    }
    fn capabilities(&self) -> Capabilities<'_> {
        (**self).capabilities()
    }
}
