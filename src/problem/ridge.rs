//! Ridge least squares `f(x, u) = ½‖Ax − b‖² + (λ/2)‖x‖²` (the paper's Figures 1–2 and
//! appendix C (24)), with three choices of parameter:
//!
//! | [`RidgeParam`] | `u` | `D_u ∇_x f(x)` | `M_x` | `M_u` (of `f`) | `κ` (of `f`) |
//! |---|---|---|---|---|---|
//! | `Weight` | `λ` (p = 1) | `x` | 0 | 1 | `‖x‖`: local only |
//! | `Targets` | `b` (p = M) | `−Aᵀ` | 0 | 0 | `‖A‖` |
//! | `Data` | `(A, b)` row-major (p = MN + M) | `(Ȧ, ḃ) ↦ Ȧᵀr + AᵀȦx − Aᵀḃ` | 0 | `2‖A‖` | local |
//!
//! With `Targets` both Lipschitz constants vanish, so `Γ = 0` and (19) predicts no curse;
//! with `Weight`, `D_u A = −αx` is exactly `α`-Lipschitz and Lemma 6 holds with equality.

use super::{Ball, Curvature, Objective, Scratch, Smoothness, VecView, VecViewMut};
use crate::constants::Constant;
use crate::error::{Error, Result};
use crate::linalg::{spectral_norm, symmetric_extremes};
use nalgebra::{DMatrix, DMatrixView, DMatrixViewMut, DVector};

/// Which part of the data is the parameter `u`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RidgeParam {
    /// The ridge weight `λ` (p = 1).
    Weight,
    /// The targets `b` (p = M).
    Targets,
    /// The whole data `(A, b)`, `A` flattened row by row, then `b` (p = MN + M).
    Data,
}

/// Ridge least squares with precomputed `AᵀA`, `Aᵀb` and spectrum.
#[derive(Debug, Clone)]
pub struct Ridge {
    a: DMatrix<f64>,
    b: DVector<f64>,
    lambda: f64,
    param: RidgeParam,
    ata: DMatrix<f64>,
    atb: DVector<f64>,
    eig: (f64, f64),
    norm_a: f64,
}

impl Ridge {
    /// Builds the objective; `λ ≥ 0` must be finite and `AᵀA + λI` positive definite.
    pub fn new(a: DMatrix<f64>, b: DVector<f64>, lambda: f64, param: RidgeParam) -> Result<Self> {
        if a.nrows() != b.len() {
            return Err(Error::Dimension { what: "ridge targets b", expected: a.nrows(), got: b.len() });
        }
        if !lambda.is_finite() || lambda < 0.0 {
            return Err(Error::InvalidParameter { field: "lambda", value: lambda, reason: "must be finite and >= 0" });
        }
        if a.iter().chain(b.iter()).any(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter { field: "A, b", value: f64::NAN, reason: "entries must be finite" });
        }
        let ata = a.transpose() * &a;
        let atb = a.transpose() * &b;
        let (lo, hi) = symmetric_extremes(&ata);
        if lo + lambda <= 0.0 {
            return Err(Error::InvalidParameter {
                field: "lambda",
                value: lambda,
                reason: "AᵀA + λI is singular: no strong convexity",
            });
        }
        let norm_a = spectral_norm(&a);
        Ok(Ridge { a, b, lambda, param, ata, atb, eig: (lo.max(0.0), hi), norm_a })
    }

    /// The data matrix `A`.
    pub fn a(&self) -> &DMatrix<f64> {
        &self.a
    }
    /// The targets `b`.
    pub fn b(&self) -> &DVector<f64> {
        &self.b
    }
    /// The ridge weight `λ`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
    /// Which parameter is `u`.
    pub fn param_kind(&self) -> RidgeParam {
        self.param
    }

    /// The same family at another parameter value `u` (used for finite differences of
    /// `u ↦ x*(u)`).
    pub fn with_param(&self, u: &DVector<f64>) -> Result<Self> {
        let (m, n) = self.a.shape();
        let expect = self.dim_u();
        if u.len() != expect {
            return Err(Error::Dimension { what: "ridge parameter u", expected: expect, got: u.len() });
        }
        match self.param {
            RidgeParam::Weight => Ridge::new(self.a.clone(), self.b.clone(), u[0], self.param),
            RidgeParam::Targets => Ridge::new(self.a.clone(), u.clone(), self.lambda, self.param),
            RidgeParam::Data => {
                let a = DMatrix::from_row_slice(m, n, &u.as_slice()[..m * n]);
                let b = DVector::from_column_slice(&u.as_slice()[m * n..]);
                Ridge::new(a, b, self.lambda, self.param)
            }
        }
    }

    /// `r = Ax − b` into `out`.
    fn residual(&self, x: VecView, out: &mut DVector<f64>) {
        out.copy_from(&self.b);
        out.gemv(1.0, &self.a, &x, -1.0);
    }
}

impl Objective for Ridge {
    fn dim_x(&self) -> usize {
        self.a.ncols()
    }
    fn dim_u(&self) -> usize {
        let (m, n) = self.a.shape();
        match self.param {
            RidgeParam::Weight => 1,
            RidgeParam::Targets => m,
            RidgeParam::Data => m * n + m,
        }
    }
    fn name(&self) -> String {
        let p = match self.param {
            RidgeParam::Weight => "weight",
            RidgeParam::Targets => "targets",
            RidgeParam::Data => "data",
        };
        format!("ridge[{p}]")
    }
    fn scratch_len(&self) -> usize {
        self.a.nrows()
    }
    fn value(&self, x: VecView) -> f64 {
        let r = &self.a * x - &self.b;
        0.5 * r.norm_squared() + 0.5 * self.lambda * x.norm_squared()
    }
    fn grad_acc(&self, x: VecView, a: f64, mut out: VecViewMut, _s: &mut Scratch) {
        out.gemv(a, &self.ata, &x, 1.0);
        out.axpy(-a, &self.atb, 1.0);
        out.axpy(a * self.lambda, &x, 1.0);
    }
    fn grad_magnitude(&self, x: VecView, _s: &mut Scratch) -> f64 {
        // g = |AᵀA||x| + |Aᵀb| + λ|x| (AᵀA is symmetric: its columns are its rows).
        super::abs_sym_norm(&self.ata, x, |j| self.atb[j].abs() + self.lambda * x[j].abs())
    }
    fn hvp_acc(&self, _x: VecView, v: VecView, a: f64, mut out: VecViewMut, _s: &mut Scratch) {
        out.gemv(a, &self.ata, &v, 1.0);
        out.axpy(a * self.lambda, &v, 1.0);
    }
    fn mixed_jvp_acc(&self, x: VecView, du: VecView, a: f64, mut out: VecViewMut, s: &mut Scratch) {
        let (m, n) = self.a.shape();
        match self.param {
            RidgeParam::Weight => out.axpy(a * du[0], &x, 1.0),
            RidgeParam::Targets => out.gemv_tr(-a, &self.a, &du, 1.0),
            RidgeParam::Data => {
                // Ȧ is stored row by row, i.e. as the column-major n×m matrix Ȧᵀ.
                let adot_t = DMatrixView::from_slice(&du.as_slice()[..m * n], n, m);
                let bdot = du.rows(m * n, m);
                self.residual(x, &mut s.residual);
                out.gemv(a, &adot_t, &s.residual, 1.0); // Ȧᵀ r
                s.image.gemv_tr(1.0, &adot_t, &x, 0.0); // Ȧ x
                out.gemv_tr(a, &self.a, &s.image, 1.0); // Aᵀ Ȧ x
                out.gemv_tr(-a, &self.a, &bdot, 1.0); // −Aᵀ ḃ
            }
        }
    }
    fn mixed_vjp_acc(&self, x: VecView, w: VecView, a: f64, mut out: VecViewMut, s: &mut Scratch) {
        let (m, n) = self.a.shape();
        match self.param {
            RidgeParam::Weight => out[0] += a * x.dot(&w),
            RidgeParam::Targets => out.gemv(-a, &self.a, &w, 1.0),
            RidgeParam::Data => {
                // ⟨w, Ȧᵀr + AᵀȦx − Aᵀḃ⟩ = ⟨Ȧ, r wᵀ + (Aw) xᵀ⟩ − ⟨ḃ, Aw⟩.
                self.residual(x, &mut s.residual);
                s.image.gemv(1.0, &self.a, &w, 0.0); // A w
                let (ga, mut gb) = out.rows_range_pair_mut(0..m * n, m * n..m * n + m);
                let mut g_t = DMatrixViewMut::from_slice(ga.data.into_slice_mut(), n, m);
                g_t.ger(a, &w, &s.residual, 1.0);
                g_t.ger(a, &x, &s.image, 1.0);
                gb.axpy(-a, &s.image, 1.0);
            }
        }
    }
    fn minimizer_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        self.with_param(u)?.minimizer()
    }
    fn param(&self) -> DVector<f64> {
        match self.param {
            RidgeParam::Weight => DVector::from_element(1, self.lambda),
            RidgeParam::Targets => self.b.clone(),
            RidgeParam::Data => {
                let (m, n) = self.a.shape();
                let mut u = DVector::zeros(m * n + m);
                for i in 0..m {
                    for j in 0..n {
                        u[i * n + j] = self.a[(i, j)];
                    }
                }
                u.rows_mut(m * n, m).copy_from(&self.b);
                u
            }
        }
    }
    fn curvature(&self, _ball: &Ball) -> Curvature {
        Curvature { mu: Constant::global(self.eig.0 + self.lambda), l: Constant::global(self.eig.1 + self.lambda) }
    }
    fn smoothness(&self, ball: &Ball) -> Smoothness {
        let na = self.norm_a;
        let xmax = ball.center.norm() + ball.radius;
        let (mixed_lipschitz, mixed_bound) = match self.param {
            RidgeParam::Weight => (Constant::global(1.0), Constant::local(xmax, ball.radius)),
            RidgeParam::Targets => (Constant::global(0.0), Constant::global(na)),
            RidgeParam::Data => {
                let mut r = DVector::zeros(self.a.nrows());
                self.residual(ball.center.as_view(), &mut r);
                let rmax = r.norm() + na * ball.radius;
                let bound = ((rmax + na * xmax).powi(2) + na * na).sqrt();
                (Constant::global(2.0 * na), Constant::local(bound, ball.radius))
            }
        };
        Smoothness { hessian_lipschitz: Constant::global(0.0), mixed_lipschitz, mixed_bound }
    }
    fn minimizer(&self) -> Result<DVector<f64>> {
        let h = &self.ata + DMatrix::identity(self.dim_x(), self.dim_x()) * self.lambda;
        let chol = h.clone().cholesky().ok_or_else(|| Error::Numerical("AᵀA + λI not positive definite".into()))?;
        let mut x = chol.solve(&self.atb);
        // One step of iterative refinement against the residual of the normal equations.
        let r = &self.atb - &h * &x;
        x += chol.solve(&r);
        Ok(x)
    }
}
