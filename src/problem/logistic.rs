//! Weighted logistic regression with an ℓ2 penalty (beyond the paper; issue #16):
//!
//! ```text
//! f(x, u) = Σ_i w_i ℓ(t_i) + (λ/2)‖x‖²,   t_i = y_i a_iᵀx,   ℓ(t) = log(1 + e^{−t}),
//! ```
//!
//! with labels `y_i ∈ {−1, +1}`, per-sample weights `w_i > 0` and rows `a_i` of `A` (M×N).
//! The parameter `u` ([`LogisticParam`]) is the penalty weight `λ` (p = 1), the sample
//! weights `w` (p = M), or the data `A` row by row (p = MN).
//!
//! With `σ(t) = 1/(1 + e^{−t})`: `ℓ'(t) = −σ(−t) ∈ (−1, 0)`, `ℓ''(t) = σ(t)σ(−t) ∈ (0, ¼]`
//! (even, decreasing in `|t|`), `ℓ'''(t) = ℓ''(t)(1 − 2σ(t))`, `|ℓ'''| ≤ c₃ = √3/18`
//! (attained where `σ(t) = ½ ± 1/(2√3)`). Exact derivatives (`y_i² = 1`):
//!
//! - `∇_x f = Aᵀ(w ⊙ y ⊙ ℓ'(t)) + λx`, `∇²_xx f = Aᵀ diag(w ⊙ ℓ''(t)) A + λI`;
//! - `D_λ∇f = x`; `D_w∇f = Aᵀ diag(y ⊙ ℓ'(t))`;
//!   `D_A∇f · Ȧ = Ȧᵀ(w ⊙ y ⊙ ℓ'(t)) + Aᵀ(w ⊙ ℓ''(t) ⊙ Ȧx)`.
//!
//! Certified constants (`w_max = max w_i`, `r_a = max_i ‖a_i‖`, on the ball
//! `‖x − x*‖ ≤ R`, `x_max = ‖x*‖ + R`), as for pseudo-Huber ([`super::robust`]):
//! - `L = λ + ¼λ_max(Aᵀ diag(w) A)`, global;
//! - `μ = λ + λ_min(Aᵀ diag(w ⊙ ℓ''(|t_i(x*)| + ‖a_i‖R)) A)`, local (`λ` globally): on the ball
//!   `|t_i| ≤ |t_i(x*)| + ‖a_i‖R`;
//! - `Lip(∇²f) ≤ ‖A‖² w_max c₃ r_a`, global (`|t_i − t̃_i| ≤ ‖a_i‖‖x − x̃‖`);
//! - weight: `Lip(D_λ∇f) = 1`, `‖D_λ∇f‖ ≤ x_max` (local);
//! - sample weights: `Lip(D_w∇f) ≤ ¼‖A‖r_a`, `‖D_w∇f‖ ≤ ‖A‖` (`|ℓ'| < 1`), global;
//! - data (operator norms for the Frobenius norm of `Ȧ`): `‖D_A∇f‖ ≤ ‖w‖₂ + ¼w_max‖A‖x_max`
//!   and `Lip(D_A∇f) ≤ ‖A‖w_max(½ + c₃ r_a x_max)`, both local.
//!
//! The minimiser has no closed form: damped Newton ([`super::newton_minimize`]).

use super::{Ball, Curvature, Objective, Scratch, Smoothness, VecView, VecViewMut};
use crate::constants::Constant;
use crate::error::{Error, Result, check_open};
use crate::linalg::{spectral_norm, symmetric_extremes};
use nalgebra::{DMatrix, DMatrixViewMut, DVector};

/// `max_t |ℓ'''(t)| = √3/18` for the logistic loss.
pub const LOGISTIC_C3: f64 = 0.096_225_044_864_937_63;

/// `ℓ(t) = log(1 + e^{−t})`, without overflow.
pub fn loss(t: f64) -> f64 {
    if t > 0.0 { (-t).exp().ln_1p() } else { -t + t.exp().ln_1p() }
}

/// `ℓ'(t) = −σ(−t) = −1/(1 + e^t)`, without overflow.
pub fn loss_d1(t: f64) -> f64 {
    if t >= 0.0 {
        let e = (-t).exp();
        -e / (1.0 + e)
    } else {
        -1.0 / (1.0 + t.exp())
    }
}

/// `ℓ''(t) = σ(t)σ(−t) = e^{−|t|}/(1 + e^{−|t|})²`.
pub fn loss_d2(t: f64) -> f64 {
    let e = (-t.abs()).exp();
    e / ((1.0 + e) * (1.0 + e))
}

/// Which parameter is `u`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogisticParam {
    /// The penalty weight `λ` (p = 1).
    Weight,
    /// The per-sample weights `w` (p = M).
    SampleWeights,
    /// The data `A`, row by row (p = MN).
    Data,
}

/// Weighted logistic regression with an ℓ2 penalty.
#[derive(Debug, Clone)]
pub struct Logistic {
    a: DMatrix<f64>,
    y: DVector<f64>,
    w: DVector<f64>,
    lambda: f64,
    param: LogisticParam,
    norm_a: f64,
    row_norm_max: f64,
    wata_max: f64,
}

impl Logistic {
    /// Builds the objective; requires labels `±1`, weights `w_i > 0` finite, `λ > 0`.
    pub fn new(a: DMatrix<f64>, y: DVector<f64>, w: DVector<f64>, lambda: f64, param: LogisticParam) -> Result<Self> {
        if a.nrows() != y.len() {
            return Err(Error::Dimension { what: "logistic labels y", expected: a.nrows(), got: y.len() });
        }
        if a.nrows() != w.len() {
            return Err(Error::Dimension { what: "logistic sample weights w", expected: a.nrows(), got: w.len() });
        }
        check_open("lambda", lambda, 0.0, f64::INFINITY)?;
        if let Some(&v) = y.iter().find(|v| v.abs() != 1.0) {
            return Err(Error::InvalidParameter { field: "y", value: v, reason: "labels must be -1 or +1" });
        }
        if let Some(&v) = w.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(Error::InvalidParameter {
                field: "w",
                value: v,
                reason: "sample weights must be finite and > 0",
            });
        }
        if a.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter { field: "A", value: f64::NAN, reason: "entries must be finite" });
        }
        let norm_a = spectral_norm(&a);
        let row_norm_max = a.row_iter().map(|r| r.norm()).fold(0.0, f64::max);
        let wata_max = symmetric_extremes(&(a.transpose() * DMatrix::from_diagonal(&w) * &a)).1;
        Ok(Logistic { a, y, w, lambda, param, norm_a, row_norm_max, wata_max })
    }

    /// Labels `y_i = sign(b_i)` (`+1` for `b_i ≥ 0`) of a real vector `b`.
    pub fn labels(b: &DVector<f64>) -> DVector<f64> {
        b.map(|v| if v >= 0.0 { 1.0 } else { -1.0 })
    }

    /// The data matrix `A`.
    pub fn a(&self) -> &DMatrix<f64> {
        &self.a
    }
    /// The labels `y`.
    pub fn y(&self) -> &DVector<f64> {
        &self.y
    }
    /// The sample weights `w`.
    pub fn w(&self) -> &DVector<f64> {
        &self.w
    }
    /// The penalty weight `λ`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The same family at another parameter value.
    pub fn with_param(&self, u: &DVector<f64>) -> Result<Self> {
        if u.len() != self.dim_u() {
            return Err(Error::Dimension { what: "logistic parameter u", expected: self.dim_u(), got: u.len() });
        }
        let (m, n) = self.a.shape();
        let (a, w, lambda) = match self.param {
            LogisticParam::Weight => (self.a.clone(), self.w.clone(), u[0]),
            LogisticParam::SampleWeights => (self.a.clone(), u.clone(), self.lambda),
            LogisticParam::Data => (DMatrix::from_row_slice(m, n, u.as_slice()), self.w.clone(), self.lambda),
        };
        Logistic::new(a, self.y.clone(), w, lambda, self.param)
    }

    /// The margins `t = y ⊙ Ax` into `out`.
    fn margins(&self, x: VecView, out: &mut DVector<f64>) {
        out.gemv(1.0, &self.a, &x, 0.0);
        out.component_mul_assign(&self.y);
    }

    /// `t ↦ w ⊙ y ⊙ ℓ'(t)` in place.
    fn weighted_d1(&self, t: &mut DVector<f64>) {
        for ((ti, &wi), &yi) in t.iter_mut().zip(self.w.iter()).zip(self.y.iter()) {
            *ti = wi * yi * loss_d1(*ti);
        }
    }
}

impl Objective for Logistic {
    fn dim_x(&self) -> usize {
        self.a.ncols()
    }
    fn dim_u(&self) -> usize {
        let (m, n) = self.a.shape();
        match self.param {
            LogisticParam::Weight => 1,
            LogisticParam::SampleWeights => m,
            LogisticParam::Data => m * n,
        }
    }
    fn name(&self) -> String {
        let p = match self.param {
            LogisticParam::Weight => "weight",
            LogisticParam::SampleWeights => "sample_weights",
            LogisticParam::Data => "data",
        };
        format!("logistic[{p}]")
    }
    fn scratch_len(&self) -> usize {
        self.a.nrows()
    }
    fn value(&self, x: VecView) -> f64 {
        let mut t = DVector::zeros(self.a.nrows());
        self.margins(x, &mut t);
        t.iter().zip(self.w.iter()).map(|(&ti, &wi)| wi * loss(ti)).sum::<f64>() + 0.5 * self.lambda * x.norm_squared()
    }
    fn grad_acc(&self, x: VecView, a: f64, mut out: VecViewMut, s: &mut Scratch) {
        self.margins(x, &mut s.residual);
        self.weighted_d1(&mut s.residual);
        out.gemv_tr(a, &self.a, &s.residual, 1.0);
        out.axpy(a * self.lambda, &x, 1.0);
    }
    fn grad_magnitude(&self, x: VecView, s: &mut Scratch) -> f64 {
        // g = |A|ᵀ(w ⊙ (|ℓ'(t)| + ℓ''_max |A||x|)) + λ|x|, with ℓ''_max = 1/4 and |y_i| = 1.
        self.margins(x, &mut s.residual);
        super::abs_mul(&self.a, x, &mut s.image);
        for ((t, &ax), &wi) in s.residual.iter_mut().zip(s.image.iter()).zip(self.w.iter()) {
            *t = wi.abs() * (loss_d1(*t).abs() + 0.25 * ax);
        }
        super::abs_tr_norm(&self.a, &s.residual, |j| self.lambda * x[j].abs())
    }
    fn hvp_acc(&self, x: VecView, v: VecView, a: f64, mut out: VecViewMut, s: &mut Scratch) {
        self.margins(x, &mut s.residual);
        s.image.gemv(1.0, &self.a, &v, 0.0);
        for ((av, &t), &wi) in s.image.iter_mut().zip(s.residual.iter()).zip(self.w.iter()) {
            *av *= wi * loss_d2(t);
        }
        out.gemv_tr(a, &self.a, &s.image, 1.0);
        out.axpy(a * self.lambda, &v, 1.0);
    }
    fn mixed_jvp_acc(&self, x: VecView, du: VecView, a: f64, mut out: VecViewMut, s: &mut Scratch) {
        let (m, n) = self.a.shape();
        match self.param {
            LogisticParam::Weight => out.axpy(a * du[0], &x, 1.0),
            LogisticParam::SampleWeights => {
                // D_w∇f ẇ = Aᵀ(ẇ ⊙ y ⊙ ℓ'(t)).
                self.margins(x, &mut s.residual);
                for ((t, &d), &yi) in s.residual.iter_mut().zip(du.iter()).zip(self.y.iter()) {
                    *t = d * yi * loss_d1(*t);
                }
                out.gemv_tr(a, &self.a, &s.residual, 1.0);
            }
            LogisticParam::Data => {
                // Ȧ row by row is the column-major n×m matrix Ȧᵀ.
                let adot_t = nalgebra::DMatrixView::from_slice(du.as_slice(), n, m);
                self.margins(x, &mut s.residual);
                s.image.gemv_tr(1.0, &adot_t, &x, 0.0); // Ȧx
                for ((ax, &t), &wi) in s.image.iter_mut().zip(s.residual.iter()).zip(self.w.iter()) {
                    *ax *= wi * loss_d2(t);
                }
                out.gemv_tr(a, &self.a, &s.image, 1.0); // Aᵀ(w ⊙ ℓ'' ⊙ Ȧx)
                self.weighted_d1(&mut s.residual);
                out.gemv(a, &adot_t, &s.residual, 1.0); // Ȧᵀ(w ⊙ y ⊙ ℓ')
            }
        }
    }
    fn mixed_vjp_acc(&self, x: VecView, q: VecView, a: f64, mut out: VecViewMut, s: &mut Scratch) {
        let (m, n) = self.a.shape();
        match self.param {
            LogisticParam::Weight => out[0] += a * x.dot(&q),
            LogisticParam::SampleWeights => {
                // ū_i = y_i ℓ'(t_i) a_iᵀq.
                self.margins(x, &mut s.residual);
                s.image.gemv(1.0, &self.a, &q, 0.0);
                for ((aq, &t), &yi) in s.image.iter_mut().zip(s.residual.iter()).zip(self.y.iter()) {
                    *aq *= yi * loss_d1(t);
                }
                out.axpy(a, &s.image, 1.0);
            }
            LogisticParam::Data => {
                // Ā_i = w_i y_i ℓ'(t_i) q + w_i ℓ''(t_i)(a_iᵀq) x, stored row by row.
                self.margins(x, &mut s.residual);
                s.image.gemv(1.0, &self.a, &q, 0.0);
                for ((aq, &t), &wi) in s.image.iter_mut().zip(s.residual.iter()).zip(self.w.iter()) {
                    *aq *= wi * loss_d2(t);
                }
                self.weighted_d1(&mut s.residual);
                let mut g_t = DMatrixViewMut::from_slice(out.as_mut_slice(), n, m);
                g_t.ger(a, &q, &s.residual, 1.0);
                g_t.ger(a, &x, &s.image, 1.0);
            }
        }
    }
    fn minimizer_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        self.with_param(u)?.minimizer()
    }
    fn param(&self) -> DVector<f64> {
        match self.param {
            LogisticParam::Weight => DVector::from_element(1, self.lambda),
            LogisticParam::SampleWeights => self.w.clone(),
            LogisticParam::Data => {
                let (m, n) = self.a.shape();
                DVector::from_fn(m * n, |k, _| self.a[(k / n, k % n)])
            }
        }
    }
    fn curvature(&self, ball: &Ball) -> Curvature {
        let l = Constant::global(self.lambda + 0.25 * self.wata_max);
        let mut t = DVector::zeros(self.a.nrows());
        self.margins(ball.center.as_view(), &mut t);
        let d = DVector::from_fn(self.a.nrows(), |i, _| {
            self.w[i] * loss_d2(t[i].abs() + self.a.row(i).norm() * ball.radius)
        });
        let weighted = self.a.transpose() * DMatrix::from_diagonal(&d) * &self.a;
        let mu_local = self.lambda + symmetric_extremes(&weighted).0.max(0.0);
        let mu =
            if mu_local > self.lambda { Constant::local(mu_local, ball.radius) } else { Constant::global(self.lambda) };
        Curvature { mu, l }
    }
    fn smoothness(&self, ball: &Ball) -> Smoothness {
        let (na, ra) = (self.norm_a, self.row_norm_max);
        let w_max = self.w.max();
        let hessian_lipschitz = Constant::global(na * na * w_max * LOGISTIC_C3 * ra);
        let xmax = ball.center.norm() + ball.radius;
        let (mixed_lipschitz, mixed_bound) = match self.param {
            LogisticParam::Weight => (Constant::global(1.0), Constant::local(xmax, ball.radius)),
            LogisticParam::SampleWeights => (Constant::global(0.25 * na * ra), Constant::global(na)),
            LogisticParam::Data => (
                Constant::local(na * w_max * (0.5 + LOGISTIC_C3 * ra * xmax), ball.radius),
                Constant::local(self.w.norm() + 0.25 * w_max * na * xmax, ball.radius),
            ),
        };
        Smoothness { hessian_lipschitz, mixed_lipschitz, mixed_bound }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `c₃ = max|ℓ'''| = √3/18`, and no larger value on a fine grid; the closed forms of
    /// `ℓ'`, `ℓ''` against central differences of `ℓ`, `ℓ'` in both branches.
    #[test]
    fn logistic_derivative_bounds() {
        assert!((LOGISTIC_C3 - 3f64.sqrt() / 18.0).abs() <= 2.0 * f64::EPSILON);
        let third = |t: f64| {
            let s = 1.0 / (1.0 + (-t).exp());
            (s * (1.0 - s) * (1.0 - 2.0 * s)).abs()
        };
        let grid_max = (0..=400_000).map(|i| third(-20.0 + i as f64 * 1e-4)).fold(0.0, f64::max);
        assert!(grid_max <= LOGISTIC_C3 * (1.0 + 4.0 * f64::EPSILON));
        assert!(grid_max >= LOGISTIC_C3 * (1.0 - 1e-8), "the bound is attained");
        for t in [-30.0, -3.0, -0.5, 0.0, 0.7, 4.0, 30.0] {
            let h = 1e-5;
            let d1 = (loss(t + h) - loss(t - h)) / (2.0 * h);
            let d2 = (loss_d1(t + h) - loss_d1(t - h)) / (2.0 * h);
            assert!((d1 - loss_d1(t)).abs() <= 1e-9, "ℓ'({t})");
            assert!((d2 - loss_d2(t)).abs() <= 1e-9, "ℓ''({t})");
        }
        assert!(loss_d2(0.0) == 0.25 && loss_d1(0.0) == -0.5);
    }
}
