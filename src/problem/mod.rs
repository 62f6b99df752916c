//! Inner objectives `f(x, u)` of (3), with exact derivatives and certified constants.
//!
//! Every family implements [`Objective`]: the value, and *accumulating* products with the
//! gradient `∇_x f`, the Hessian `∇²_xx f` and the mixed derivative `D_u ∇_x f` and its
//! transpose. They write `out += a · (…)` into caller-owned buffers, so the unrolling
//! loops allocate nothing; any scratch space comes from a [`Scratch`] made once per run.
//!
//! Families (see `docs/claims-spec.md`, "Families the suite must generate"):
//! - [`ridge::Ridge`]: `½‖Ax − b‖² + (λ/2)‖x‖²`, parameter the ridge weight, the targets, or
//!   the whole `(A, b)` (appendix C);
//! - [`robust::Robust`]: `Σ φ_δ(a_iᵀx − b_i) + (λ/2)‖x‖²` with the pseudo-Huber loss (A2.2
//!   holds) or the classic Huber loss (its Hessian jumps: A2.2 fails);
//! - [`logistic::Logistic`]: `Σ w_i log(1 + e^{−y_i a_iᵀx}) + (λ/2)‖x‖²` (beyond the paper),
//!   parameter the penalty weight, the sample weights or the data `A`;
//! - [`normal::NormalEquations`]: `½xᵀHx − gᵀx` with parameter `θ = (H, g) = (AᵀA, Aᵀb)`,
//!   the fast path of the appendix-C sweep, and the chain-rule factors `Φ`, `Φᵀ` back to `(A, b)`;
//! - [`draw`]: seeded draws of `(A, b)`: the paper's U(0,1)/N(0,1) and controlled spectra.

pub mod draw;
pub mod logistic;
pub mod normal;
pub mod ridge;
pub mod robust;

use crate::constants::Constant;
use nalgebra::{DMatrix, DVector, DVectorView, DVectorViewMut};

/// Read-only vector view (a column of a trajectory, or a whole vector).
pub type VecView<'a> = DVectorView<'a, f64>;
/// Mutable vector view.
pub type VecViewMut<'a> = DVectorViewMut<'a, f64>;

/// Scratch buffers for one thread's unrolling loop, made once by [`Objective::scratch`].
#[derive(Debug, Clone)]
pub struct Scratch {
    /// The residual `r = Ax − b` of the regression families (length `m`).
    pub residual: DVector<f64>,
    /// The data matrix applied to a direction, `Av` or `Aw` (length `m`).
    pub image: DVector<f64>,
    /// Buffers of a map wrapping another (e.g. the state-space products of
    /// [`crate::map::adapted::Adapted`]); empty for the objectives themselves.
    pub wrapped: Vec<DVector<f64>>,
    /// Buffers of a map that evaluates the gradient away from its state (the extrapolated
    /// point of [`crate::map::nesterov::Nesterov`]); empty otherwise.
    pub extrapolated: Vec<DVector<f64>>,
}

impl Scratch {
    /// Two buffers of length `len`.
    pub fn new(len: usize) -> Self {
        Scratch {
            residual: DVector::zeros(len),
            image: DVector::zeros(len),
            wrapped: Vec::new(),
            extrapolated: Vec::new(),
        }
    }
}

/// `out = |M||x|` (componentwise absolute values; no allocation).
pub fn abs_mul(m: &DMatrix<f64>, x: VecView, out: &mut DVector<f64>) {
    out.fill(0.0);
    for (column, &xj) in m.column_iter().zip(x.iter()) {
        for (o, &a) in out.iter_mut().zip(column.iter()) {
            *o += a.abs() * xj.abs();
        }
    }
}

/// `‖|M|ᵀv + c‖` for `v ≥ 0` and the componentwise bound `c_j = extra(j) ≥ 0` (the
/// norm of a magnitude vector of [`Objective::grad_magnitude`]).
pub fn abs_tr_norm(m: &DMatrix<f64>, v: &DVector<f64>, extra: impl Fn(usize) -> f64) -> f64 {
    m.column_iter()
        .enumerate()
        .map(|(j, column)| {
            let g: f64 = column.iter().zip(v.iter()).map(|(a, vi)| a.abs() * vi).sum::<f64>() + extra(j);
            g * g
        })
        .sum::<f64>()
        .sqrt()
}

/// `‖|S||x| + c‖` for a symmetric `S` and the componentwise bound `c_j = extra(j) ≥ 0`.
pub fn abs_sym_norm(sym: &DMatrix<f64>, x: VecView, extra: impl Fn(usize) -> f64) -> f64 {
    sym.column_iter()
        .enumerate()
        .map(|(j, column)| {
            let g: f64 = column.iter().zip(x.iter()).map(|(a, xi)| a.abs() * xi.abs()).sum::<f64>() + extra(j);
            g * g
        })
        .sum::<f64>()
        .sqrt()
}

/// A closed ball `‖x − center‖ ≤ radius`: where local constants are certified.
///
/// For a contraction started at `x_0`, every iterate lies in the ball around `x*` of
/// radius `e_0 = ‖x_0 − x*‖` (by (8)), so constants certified on it bound every `B_k`, `C_k`.
#[derive(Debug, Clone)]
pub struct Ball {
    /// The centre (the fixed point `x*`).
    pub center: DVector<f64>,
    /// The radius (`e_0`).
    pub radius: f64,
}

/// Certified bounds on the Hessian spectrum `[μ, L]` of `f(·, u)`.
#[derive(Debug, Clone, Copy)]
pub struct Curvature {
    /// Lower bound `μ` on the eigenvalues of `∇²_xx f`.
    pub mu: Constant,
    /// Upper bound `L` on the eigenvalues of `∇²_xx f`.
    pub l: Constant,
}

/// Certified smoothness constants of `f`, from which the map's A2.2 constants follow.
#[derive(Debug, Clone, Copy)]
pub struct Smoothness {
    /// Lipschitz constant of `x ↦ ∇²_xx f(x, u)` (spectral norm).
    pub hessian_lipschitz: Constant,
    /// Lipschitz constant of `x ↦ D_u ∇_x f(x, u)`.
    pub mixed_lipschitz: Constant,
    /// Bound on `‖D_u ∇_x f(x, u)‖`.
    pub mixed_bound: Constant,
}

/// An inner objective `f(x, u)` with exact first and second derivatives.
///
/// Required are the accumulating products; dense matrices are derived from them.
pub trait Objective: Send + Sync {
    /// Dimension `n` of `x`.
    fn dim_x(&self) -> usize;
    /// Dimension `p` of `u`.
    fn dim_u(&self) -> usize;
    /// Human-readable family name, e.g. `ridge[weight]`.
    fn name(&self) -> String;
    /// Length of the scratch buffers the products need.
    fn scratch_len(&self) -> usize;
    /// `f(x, u)`.
    fn value(&self, x: VecView) -> f64;
    /// `out += a ∇_x f(x, u)`.
    fn grad_acc(&self, x: VecView, a: f64, out: VecViewMut, s: &mut Scratch);
    /// The magnitude of what [`Self::grad_acc`] sums: `‖g‖` for a componentwise bound
    /// `g ≥ Σ|terms|` of `∇_x f(x, u)` (Higham's `|A||x|`, *Accuracy and Stability*, §3.5),
    /// so that one evaluation of the gradient rounds by at most `γ_d‖g‖`. Where a residual
    /// or margin `t = Ax − b` is formed first, its own rounding `≤ γ_n(|A||x| + |b|)`
    /// passes through the loss derivative (Lipschitz `ℓ''_max`), so
    /// `g = |A|ᵀ(|ℓ'(t)| + ℓ''_max(|A||x| + |b|)) + λ|x|`. At a fixed point the terms cancel
    /// (`∇f(x*) = 0`) while `g` does not: this, not `‖x‖`, is the scale of the iterates'
    /// rounding floor (issue #12, the logistic false violation).
    fn grad_magnitude(&self, x: VecView, s: &mut Scratch) -> f64;
    /// `out += a ∇²_xx f(x, u) v`.
    fn hvp_acc(&self, x: VecView, v: VecView, a: f64, out: VecViewMut, s: &mut Scratch);
    /// `out += a (D_u ∇_x f(x, u)) du` (`du ∈ R^p`, `out ∈ R^n`).
    fn mixed_jvp_acc(&self, x: VecView, du: VecView, a: f64, out: VecViewMut, s: &mut Scratch);
    /// `out += a (D_u ∇_x f(x, u))ᵀ w` (`w ∈ R^n`, `out ∈ R^p`).
    fn mixed_vjp_acc(&self, x: VecView, w: VecView, a: f64, out: VecViewMut, s: &mut Scratch);
    /// The current parameter `u`, flattened.
    fn param(&self) -> DVector<f64>;
    /// Certified `[μ, L]`: global, or local on `ball` where that is sharper.
    fn curvature(&self, ball: &Ball) -> Curvature;
    /// Certified smoothness constants on `ball` (global where they exist).
    fn smoothness(&self, ball: &Ball) -> Smoothness;

    /// Fresh scratch buffers.
    fn scratch(&self) -> Scratch {
        Scratch::new(self.scratch_len())
    }

    /// `∇_x f(x, u)` as a new vector.
    fn gradient(&self, x: VecView) -> DVector<f64> {
        let mut g = DVector::zeros(self.dim_x());
        self.grad_acc(x, 1.0, g.as_view_mut(), &mut self.scratch());
        g
    }

    /// The dense Hessian `∇²_xx f(x, u)` (column by column from [`Self::hvp_acc`]).
    fn hessian(&self, x: VecView) -> DMatrix<f64> {
        let n = self.dim_x();
        let mut s = self.scratch();
        let mut h = DMatrix::zeros(n, n);
        let mut e = DVector::zeros(n);
        for j in 0..n {
            e[j] = 1.0;
            self.hvp_acc(x, e.as_view(), 1.0, h.column_mut(j), &mut s);
            e[j] = 0.0;
        }
        h
    }

    /// The dense mixed derivative `D_u ∇_x f(x, u)` (n×p).
    fn mixed(&self, x: VecView) -> DMatrix<f64> {
        let (n, p) = (self.dim_x(), self.dim_u());
        let mut s = self.scratch();
        let mut m = DMatrix::zeros(n, p);
        let mut e = DVector::zeros(p);
        for j in 0..p {
            e[j] = 1.0;
            self.mixed_jvp_acc(x, e.as_view(), 1.0, m.column_mut(j), &mut s);
            e[j] = 0.0;
        }
        m
    }

    /// The minimiser `x*(u')` at another parameter value `u'` (for finite differences of
    /// the solution map `u ↦ x*(u)`); families that can be re-parameterised override it.
    fn minimizer_at(&self, u: &DVector<f64>) -> crate::Result<DVector<f64>> {
        let _ = u;
        Err(crate::Error::Numerical(format!("{} cannot be re-parameterised", self.name())))
    }

    /// The minimiser `x*(u)`, by Newton's method with backtracking from `0`, polished
    /// until the gradient is at rounding level. Families with a closed form override it.
    fn minimizer(&self) -> crate::Result<DVector<f64>> {
        newton_minimize(self)
    }
}

/// Damped Newton's method on a strongly convex objective (the default [`Objective::minimizer`]).
///
/// Phase 1 damps the step by backtracking on `f` until the Newton decrement `−∇fᵀd` is at
/// rounding level relative to `|f|`; phase 2 polishes with full steps while `‖∇f‖`
/// decreases. The instance then measures what is left of the error through the
/// fixed-point residual ([`crate::instance::fixed_point_error`]).
pub fn newton_minimize<O: Objective + ?Sized>(f: &O) -> crate::Result<DVector<f64>> {
    let mut x = DVector::zeros(f.dim_x());
    let direction = |x: &DVector<f64>, g: &DVector<f64>| -> crate::Result<DVector<f64>> {
        let h = f.hessian(x.as_view());
        let chol = h.cholesky().ok_or_else(|| crate::Error::Numerical("Hessian not positive definite".into()))?;
        Ok(chol.solve(&(-g)))
    };
    for _ in 0..1000 {
        let g = f.gradient(x.as_view());
        if !g.norm().is_finite() {
            return Err(crate::Error::Numerical("non-finite gradient in Newton's method".into()));
        }
        let dir = direction(&x, &g)?;
        let f0 = f.value(x.as_view());
        let decrement = -g.dot(&dir);
        if decrement <= 1e-24 * (1.0 + f0.abs()) {
            break;
        }
        let mut t = 1.0;
        while f.value((&x + t * &dir).as_view()) > f0 - 1e-4 * t * decrement && t > 1e-12 {
            t *= 0.5;
        }
        x += t * &dir;
    }
    let mut best = f.gradient(x.as_view()).norm();
    for _ in 0..10 {
        let g = f.gradient(x.as_view());
        let trial = &x + direction(&x, &g)?;
        let gn = f.gradient(trial.as_view()).norm();
        if gn >= best {
            break;
        }
        best = gn;
        x = trial;
    }
    Ok(x)
}
