//! Ridge least squares in normal-equation form, `f(x; H, g) = ½xᵀHx − gᵀx`, the fast path
//! of the appendix-C sweep.
//!
//! Gradient descent on (24), `x_{k+1} = x_k − α(AᵀA x_k − Aᵀb)`, depends on the data
//! `u = (A, b)` only through `θ = Ψ(u) = (H, g) = (AᵀA, Aᵀb)` (the step `α` is a number fixed
//! before unrolling, as in the paper). By the chain rule every derivative of the unrolled
//! iteration factors through `Φ = DΨ(u)`:
//!
//! - forward mode: `Ẋ_k(u) v = Ẋ_k(θ) Φv`, with `Φ(Ȧ, ḃ) = (ȦᵀA + AᵀȦ, Ȧᵀb + Aᵀḃ)`;
//! - reverse mode: `wᵀŪ^{(k)}(u) = Φᵀ(wᵀŪ^{(k)}(θ))`, with
//!   `Φᵀ(H̄, ḡ) = (A(H̄ + H̄ᵀ) + b ḡᵀ, A ḡ)`;
//! - the implicit Jacobian (6) likewise: `Dx*(u) = Dx*(θ) Φ`.
//!
//! This is an exact identity, not an approximation: the engine's loops
//! ([`crate::unroll::late_start_jvp`], [`crate::unroll::truncated_vjp`]) run unchanged on
//! the map `GradientDescent<NormalEquations>`, whose parameter has `n² + n` entries instead
//! of `MN + M`, and whose JVP and VJP steps cost `4N²` flops instead of about `10MN + 2N²`
//! and `8MN + 2N²` for the map on `(A, b)` (which recomputes the residual `Ax_k − b` at every
//! step). `Φv` is formed once per run and `Φᵀ` is applied once per truncated sweep.
//! `tests/reproduce.rs` checks the factorised sweep against the frozen NumPy reference and
//! against the engine's map on `(A, b)`.

use crate::constants::Constant;
use crate::error::{Error, Result};
use crate::linalg::kernels::{Strided, axpy, gemm_acc, gemv_acc, ger_acc, sum_sq_diff};
use crate::linalg::symmetric_extremes;
use crate::problem::{Ball, Curvature, Objective, Scratch, Smoothness, VecView, VecViewMut};
use nalgebra::{DMatrix, DMatrixView, DVector};

/// `f(x; H, g) = ½xᵀHx − gᵀx` with parameter `θ = (H, g)`, `H` flattened column by column,
/// then `g` (`p = n² + n`). `H` must be symmetric positive definite.
#[derive(Debug, Clone)]
pub struct NormalEquations {
    h: DMatrix<f64>,
    g: DVector<f64>,
    eig: (f64, f64),
}

impl NormalEquations {
    /// From `H` (symmetric positive definite) and `g`.
    pub fn new(h: DMatrix<f64>, g: DVector<f64>) -> Result<Self> {
        let n = g.len();
        if h.shape() != (n, n) {
            return Err(Error::Dimension { what: "normal equations H", expected: n, got: h.ncols() });
        }
        if h.iter().chain(g.iter()).any(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter { field: "H, g", value: f64::NAN, reason: "entries must be finite" });
        }
        let (lo, hi) = symmetric_extremes(&h);
        if lo <= 0.0 {
            return Err(Error::InvalidParameter {
                field: "H",
                value: lo,
                reason: "not positive definite (A lacks full column rank)",
            });
        }
        Ok(NormalEquations { h, g, eig: (lo, hi) })
    }

    /// `H = AᵀA`, `g = Aᵀb`.
    pub fn from_data(a: &DMatrix<f64>, b: &DVector<f64>) -> Result<Self> {
        if a.nrows() != b.len() {
            return Err(Error::Dimension { what: "targets b", expected: a.nrows(), got: b.len() });
        }
        Self::new(a.tr_mul(a), a.tr_mul(b))
    }

    /// `H`.
    pub fn h(&self) -> &DMatrix<f64> {
        &self.h
    }

    /// `g`.
    pub fn g(&self) -> &DVector<f64> {
        &self.g
    }

    /// The extreme eigenvalues `(μ, L)` of `H`.
    pub fn extremes(&self) -> (f64, f64) {
        self.eig
    }
}

/// `Φv`: the tangent `v = (Ȧ, ḃ)` (`Ȧ` row by row, then `ḃ`; `p = MN + M`) pushed to
/// `(Ḣ, ġ) = (ȦᵀA + AᵀȦ, Ȧᵀb + Aᵀḃ)` (`Ḣ` column by column, then `ġ`).
pub fn push_tangent(a: &DMatrix<f64>, b: &DVector<f64>, v: &DVector<f64>) -> Result<DVector<f64>> {
    let (m, n) = a.shape();
    if v.len() != m * n + m || b.len() != m {
        return Err(Error::Dimension { what: "tangent (A, b)", expected: m * n + m, got: v.len() });
    }
    // Ȧ stored row by row is the column-major n×m matrix Ȧᵀ.
    let adot_t = DMatrixView::from_slice(&v.as_slice()[..m * n], n, m);
    let bdot = v.rows(m * n, m);
    let p = adot_t * a; // ȦᵀA
    let hdot = &p + p.transpose();
    let gdot = adot_t * b + a.tr_mul(&bdot);
    let mut out = DVector::zeros(n * n + n);
    out.rows_mut(0, n * n).copy_from_slice(hdot.as_slice());
    out.rows_mut(n * n, n).copy_from(&gdot);
    Ok(out)
}

/// `Φᵀθ̄`: a cotangent `θ̄ = (H̄, ḡ)` pulled back to `(Ā, b̄) = (A(H̄ + H̄ᵀ) + b ḡᵀ, A ḡ)`
/// (`Ā` row by row, then `b̄`), written into `out` (length `MN + M`).
pub fn pull_cotangent_into(a: &DMatrix<f64>, b: &DVector<f64>, theta_bar: &[f64], out: &mut DVector<f64>) {
    let (m, n) = a.shape();
    assert_eq!(theta_bar.len(), n * n + n, "cotangent (H, g)");
    assert_eq!(out.len(), m * n + m, "cotangent (A, b)");
    let hbar = DMatrixView::from_slice(&theta_bar[..n * n], n, n);
    let gbar = DMatrixView::from_slice(&theta_bar[n * n..], n, 1);
    let s = hbar + hbar.transpose();
    // Ā row by row is the column-major n×m matrix Āᵀ = S Aᵀ + ḡ bᵀ.
    let abar_t = &s * a.transpose() + gbar * b.transpose();
    out.rows_mut(0, m * n).copy_from_slice(abar_t.as_slice());
    out.rows_mut(m * n, m).copy_from(&(a * gbar));
}

/// `Φᵀθ̄` as a new vector (see [`pull_cotangent_into`]).
pub fn pull_cotangent(a: &DMatrix<f64>, b: &DVector<f64>, theta_bar: &[f64]) -> DVector<f64> {
    let mut out = DVector::zeros(a.nrows() * a.ncols() + a.nrows());
    pull_cotangent_into(a, b, theta_bar, &mut out);
    out
}

/// The thin QR factorisation `A = QR` (`A` with `M ≥ N`) and `b = Qc + b⊥`: `(R, c, ‖b⊥‖²)`
/// (`b⊥ ⟂ range A`, so `‖b⊥‖` is the least-squares residual at `λ = 0`).
pub fn thin_qr(a: &DMatrix<f64>, b: &DVector<f64>) -> (DMatrix<f64>, DVector<f64>, f64) {
    let qr = a.clone().qr();
    let q = qr.q();
    let c = q.tr_mul(b);
    let b_perp_sq = (b - &q * &c).norm_squared();
    (qr.r(), c, b_perp_sq)
}

/// `‖Φᵀθ̄‖` without forming `Φᵀθ̄` and without allocation, for loops: with the thin QR
/// factorisation `A = QR` and `b = Qc + b⊥`, `Φᵀθ̄ = (A S + b ḡᵀ, A ḡ)` (`S = H̄ + H̄ᵀ`) has
/// `‖Φᵀθ̄‖² = ‖R S + c ḡᵀ‖_F² + ‖b⊥‖² ‖ḡ‖² + ‖R ḡ‖²` (`Q` is an isometry and `b⊥ ⟂ Q`):
/// a sum of non-negative terms, `N³ + O(N²)` flops with `R` triangular instead of the
/// `2MN²` of [`pull_cotangent_into`].
#[derive(Debug, Clone)]
pub struct PullBackNorm {
    /// `Rᵀ` (column `r` is row `r` of `R`).
    r_t: DMatrix<f64>,
    c: DVector<f64>,
    b_perp_sq: f64,
    /// `R` (column-major, for `Rḡ`).
    r: DMatrix<f64>,
    s: DMatrix<f64>,
    m: DMatrix<f64>,
    col: DVector<f64>,
}

/// Columns per block of [`PullBackNorm::norm`]'s product (the zeros of `Rᵀ` above the
/// diagonal inside a block are multiplied: `PULL_BLOCK/(2N)` extra flops).
pub const PULL_BLOCK: usize = 8;

impl PullBackNorm {
    /// The factorisation of `(A, b)` (`A` with `M ≥ N`).
    pub fn new(a: &DMatrix<f64>, b: &DVector<f64>) -> Self {
        let n = a.ncols();
        let (r, c, b_perp_sq) = thin_qr(a, b);
        PullBackNorm {
            r_t: r.transpose(),
            r,
            c,
            b_perp_sq,
            s: DMatrix::zeros(n, n),
            m: DMatrix::zeros(n, n),
            col: DVector::zeros(n),
        }
    }

    /// `‖Φᵀθ̄‖` (equal to `pull_cotangent(a, b, θ̄).norm()` up to rounding).
    ///
    /// `(R S + c ḡᵀ)ᵀ = S Rᵀ + ḡ cᵀ` is formed by the register-tiled [`gemm_acc`] in blocks
    /// of [`PULL_BLOCK`] columns, each over the rows of `Rᵀ` from the block's first column
    /// on (`Rᵀ` is lower triangular): about `N³` flops.
    pub fn norm(&mut self, theta_bar: &[f64]) -> f64 {
        let n = self.c.len();
        assert_eq!(theta_bar.len(), n * n + n, "cotangent (H, g)");
        let (hbar, gbar) = theta_bar.split_at(n * n);
        for (j, col) in self.s.as_mut_slice().chunks_exact_mut(n).enumerate() {
            for (i, v) in col.iter_mut().enumerate() {
                *v = hbar[i + j * n] + hbar[j + i * n];
            }
        }
        let (s, r_t, m) = (self.s.as_slice(), self.r_t.as_slice(), self.m.as_mut_slice());
        // M = ḡ cᵀ, then M += S Rᵀ block by block (rows l ≥ j0 of Rᵀ's columns j0..j1).
        for (col, &cr) in m.chunks_exact_mut(n).zip(self.c.iter()) {
            col.fill(0.0);
            axpy(col, cr, gbar);
        }
        for j0 in (0..n).step_by(PULL_BLOCK) {
            let j1 = (j0 + PULL_BLOCK).min(n);
            let p = Strided::col_major(&s[j0 * n..], n, n - j0);
            let q = Strided { data: &r_t[j0 * n + j0..], rows: n - j0, cols: j1 - j0, rs: 1, cs: n };
            gemm_acc(&mut m[j0 * n..j1 * n], 1.0, p, q);
        }
        let total = sum_sq_diff(m, &[]);
        let rg_vec = self.col.as_mut_slice();
        rg_vec.fill(0.0);
        gemv_acc(rg_vec, 1.0, self.r.as_slice(), gbar);
        let rg = sum_sq_diff(rg_vec, &[]);
        let g_sq = sum_sq_diff(gbar, &[]);
        (total + self.b_perp_sq * g_sq + rg).sqrt()
    }
}

impl Objective for NormalEquations {
    fn dim_x(&self) -> usize {
        self.g.len()
    }
    fn dim_u(&self) -> usize {
        let n = self.g.len();
        n * n + n
    }
    fn name(&self) -> String {
        "normal[H,g]".to_string()
    }
    fn scratch_len(&self) -> usize {
        0
    }
    fn value(&self, x: VecView) -> f64 {
        0.5 * x.dot(&(&self.h * x)) - self.g.dot(&x)
    }
    fn grad_acc(&self, x: VecView, a: f64, mut out: VecViewMut, _s: &mut Scratch) {
        let out = out.as_mut_slice();
        gemv_acc(out, a, self.h.as_slice(), x.as_slice());
        axpy(out, -a, self.g.as_slice());
    }
    fn grad_magnitude(&self, x: VecView, _s: &mut Scratch) -> f64 {
        // g = |H||x| + |g| (H is symmetric: its columns are its rows).
        super::abs_sym_norm(&self.h, x, |j| self.g[j].abs())
    }
    fn hvp_acc(&self, _x: VecView, v: VecView, a: f64, mut out: VecViewMut, _s: &mut Scratch) {
        gemv_acc(out.as_mut_slice(), a, self.h.as_slice(), v.as_slice());
    }
    fn mixed_jvp_acc(&self, x: VecView, du: VecView, a: f64, mut out: VecViewMut, _s: &mut Scratch) {
        // D_θ∇f(x)·(Ḣ, ġ) = Ḣx − ġ.
        let n = self.g.len();
        let (hdot, gdot) = du.as_slice().split_at(n * n);
        let out = out.as_mut_slice();
        gemv_acc(out, a, hdot, x.as_slice());
        axpy(out, -a, gdot);
    }
    fn mixed_vjp_acc(&self, x: VecView, w: VecView, a: f64, mut out: VecViewMut, _s: &mut Scratch) {
        // ⟨w, Ḣx − ġ⟩ = ⟨w xᵀ, Ḣ⟩ − ⟨w, ġ⟩.
        let n = self.g.len();
        let (hbar, gbar) = out.as_mut_slice().split_at_mut(n * n);
        ger_acc(hbar, a, w.as_slice(), x.as_slice());
        axpy(gbar, -a, w.as_slice());
    }
    fn param(&self) -> DVector<f64> {
        let n = self.g.len();
        let mut u = DVector::zeros(n * n + n);
        u.rows_mut(0, n * n).copy_from_slice(self.h.as_slice());
        u.rows_mut(n * n, n).copy_from(&self.g);
        u
    }
    fn curvature(&self, _ball: &Ball) -> Curvature {
        Curvature { mu: Constant::global(self.eig.0), l: Constant::global(self.eig.1) }
    }
    fn smoothness(&self, ball: &Ball) -> Smoothness {
        // ‖(Ḣ, ġ) ↦ Ḣ(x − y)‖ ≤ ‖x − y‖ and ‖(Ḣ, ġ) ↦ Ḣx − ġ‖ ≤ √(‖x‖² + 1) (Frobenius ≥ spectral).
        let xmax = ball.center.norm() + ball.radius;
        Smoothness {
            hessian_lipschitz: Constant::global(0.0),
            mixed_lipschitz: Constant::global(1.0),
            mixed_bound: Constant::local((xmax * xmax + 1.0).sqrt(), ball.radius),
        }
    }
    fn minimizer_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        let n = self.g.len();
        if u.len() != n * n + n {
            return Err(Error::Dimension { what: "parameter (H, g)", expected: n * n + n, got: u.len() });
        }
        let h = DMatrix::from_column_slice(n, n, &u.as_slice()[..n * n]);
        let g = DVector::from_column_slice(&u.as_slice()[n * n..]);
        NormalEquations::new(h, g)?.minimizer()
    }
    fn minimizer(&self) -> Result<DVector<f64>> {
        let chol = self.h.clone().cholesky().ok_or_else(|| Error::Numerical("H not positive definite".into()))?;
        let mut x = chol.solve(&self.g);
        // One step of iterative refinement, as for `Ridge`.
        let r = &self.g - &self.h * &x;
        x += chol.solve(&r);
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::draw;
    use crate::problem::ridge::{Ridge, RidgeParam};

    fn data(seed: u64) -> (DMatrix<f64>, DVector<f64>, DVector<f64>, DVector<f64>) {
        let mut rng = draw::rng(seed);
        let a = draw::uniform_matrix(9, 4, &mut rng);
        let b = draw::normal_vector(9, 1.0, &mut rng);
        let v = draw::normal_vector(9 * 4 + 9, 1.0, &mut rng);
        let x = draw::normal_vector(4, 1.0, &mut rng);
        (a, b, v, x)
    }

    /// [`PullBackNorm::norm`] is the norm of [`pull_cotangent`].
    #[test]
    fn pull_back_norm_matches_pull_cotangent() {
        let (a, b, _, _) = data(8);
        let mut pb = PullBackNorm::new(&a, &b);
        for seed in [3, 4] {
            let theta_bar = draw::normal_vector(4 * 4 + 4, 1.0, &mut draw::rng(seed));
            let (got, want) = (pb.norm(theta_bar.as_slice()), pull_cotangent(&a, &b, theta_bar.as_slice()).norm());
            assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
        }
    }

    /// `⟨Φv, θ̄⟩ = ⟨v, Φᵀθ̄⟩` for random `v`, `θ̄`.
    #[test]
    fn pull_is_the_adjoint_of_push() {
        let (a, b, v, _) = data(3);
        let mut rng = draw::rng(4);
        let tb = draw::normal_vector(4 * 4 + 4, 1.0, &mut rng);
        let lhs = push_tangent(&a, &b, &v).unwrap().dot(&tb);
        let rhs = v.dot(&pull_cotangent(&a, &b, tb.as_slice()));
        assert!((lhs - rhs).abs() <= 1e-12 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
    }

    /// The chain rule: the objective on `(A, b)` and the objective on `(H, g)` composed with
    /// `Φ`, `Φᵀ` give the same gradient, Hessian and mixed products at an arbitrary point
    /// (so gradient descent on either gives the same step, JVP and VJP).
    #[test]
    fn factorised_objective_matches_the_objective_on_data() {
        let (a, b, v, x) = data(5);
        let direct = Ridge::new(a.clone(), b.clone(), 0.0, RidgeParam::Data).unwrap();
        let normal = NormalEquations::from_data(&a, &b).unwrap();
        let (mut s1, mut s2) = (direct.scratch(), normal.scratch());
        let phi_v = push_tangent(&a, &b, &v).unwrap();
        let dx = DVector::from_fn(4, |i, _| i as f64 - 1.5);
        let (mut y1, mut y2) = (DVector::zeros(4), DVector::zeros(4));
        direct.hvp_acc(x.as_view(), dx.as_view(), -0.05, y1.as_view_mut(), &mut s1);
        direct.mixed_jvp_acc(x.as_view(), v.as_view(), -0.05, y1.as_view_mut(), &mut s1);
        normal.hvp_acc(x.as_view(), dx.as_view(), -0.05, y2.as_view_mut(), &mut s2);
        normal.mixed_jvp_acc(x.as_view(), phi_v.as_view(), -0.05, y2.as_view_mut(), &mut s2);
        assert!((&y1 - &y2).amax() <= 1e-12 * y1.amax(), "{y1} vs {y2}");
        let mut ub1 = DVector::zeros(9 * 4 + 9);
        let mut ub2 = DVector::zeros(4 * 4 + 4);
        direct.mixed_vjp_acc(x.as_view(), dx.as_view(), -0.05, ub1.as_view_mut(), &mut s1);
        normal.mixed_vjp_acc(x.as_view(), dx.as_view(), -0.05, ub2.as_view_mut(), &mut s2);
        let pulled = pull_cotangent(&a, &b, ub2.as_slice());
        assert!((&ub1 - &pulled).amax() <= 1e-12 * ub1.amax(), "{ub1} vs {pulled}");
        let (mut g1, mut g2) = (x.clone(), x.clone());
        direct.grad_acc(x.as_view(), -0.05, g1.as_view_mut(), &mut s1);
        normal.grad_acc(x.as_view(), -0.05, g2.as_view_mut(), &mut s2);
        assert!((&g1 - &g2).amax() <= 1e-12 * g1.amax());
    }
}
