//! A random contraction layer (deep-equilibrium style; beyond the paper, issue #16):
//!
//! ```text
//! A(x, u) = σ(Wx + Uv + b),    σ = tanh (componentwise),
//! ```
//!
//! with state `x ∈ R^n`, input `v ∈ R^m`, `W` (n×n) drawn with controlled singular values
//! and `‖W‖₂ = ρ_W < 1`, `U` (n×m), `b ∈ R^n`. There is no objective behind it: it is the
//! literal "randomised contraction map" of the paper's setting, and only A2.1/A2.2 are
//! available to the claims (the quadratic theory of Scieur et al. and the certification
//! by an affine double-double run are not applicable: the map is not a polynomial method
//! on an exposed objective, and not affine in the state).
//!
//! The parameter `u` ([`LayerParam`]) is the input `v` (`p = m`), the bias `b` (`p = n`)
//! or the weights `U` flattened column-major (`p = nm`, entry `(i, j)` at `i + jn`).
//!
//! **Derivatives.** With the pre-activation `z = Wx + Uv + b` and `S(x) = diag(σ'(z))`:
//!
//! ```text
//! D_x A = S(x) W,    D_u A = S(x) U (input),   S(x) (bias),   vᵀ ⊗ S(x) (weights),
//! ```
//!
//! the last because `∂z_i/∂U_{ij} = v_j` (so `(D_u A) vec(U̇) = S(x) U̇ v`).
//!
//! **Certified constants** (all *global*: they hold for every `x`). For tanh,
//! `σ' = 1 − tanh² ∈ (0, 1]` and `σ'' = −2 tanh·(1 − tanh²)`, whose extremes are at
//! `tanh² = 1/3`: `max |σ''| = 4/(3√3) =: c₂`. Write `w_∞ = max_i ‖W_{i,:}‖₂` (the largest
//! row norm, `‖W‖_{2→∞} ≤ ‖W‖₂`).
//! - **A2.1**: `‖D_x A‖ ≤ ‖S‖‖W‖ ≤ max σ'·‖W‖₂`, so `ρ = ‖W‖₂` (computed by the SVD).
//! - **A2.2**, the Lipschitz constants in `x` (the paper's definition: of `x ↦ D_x A` and
//!   `x ↦ D_u A`). `S(x) − S(y)` is diagonal with entries
//!   `σ'(z_i(x)) − σ'(z_i(y))`, each at most `c₂ |W_{i,:}(x − y)| ≤ c₂ w_∞ ‖x − y‖`
//!   (mean value theorem, then Cauchy–Schwarz), so `‖S(x) − S(y)‖₂ ≤ c₂ w_∞ ‖x − y‖` and
//!   - `M_x = c₂ w_∞ ‖W‖₂`;
//!   - `M_u = c₂ w_∞ ‖U‖₂` (input), `c₂ w_∞` (bias), `c₂ w_∞ ‖v‖` (weights:
//!     `‖vᵀ ⊗ D‖₂ = ‖v‖‖D‖₂`);
//!   - `κ = ‖U‖₂`, `1`, `‖v‖` respectively (`‖S‖ ≤ 1`).
//!
//! **The fixed point** `x* = σ(Wx* + Uv + b)`: Picard iteration `x ← A(x, u)` from 0 until
//! a step moves `x` by at most `4ε‖x‖` (it contracts with rate `ρ`), then two Newton steps
//! `x ← x − (I − S W)^{-1}(x − A(x))`, which make the residual `‖A(x̂) − x̂‖` a few
//! roundings of `‖x*‖`; its error `‖x̂ − x*‖ ≤ ‖A(x̂) − x̂‖/(1 − ρ)` is what
//! [`crate::instance::Instance`] measures and carries into the tolerances.
//!
//! **Rounding of one step** ([`FixedPointMap::step_magnitude`]): the step sums the terms
//! `W_{ij}x_j`, `U_{ij}v_j`, `b_i` of each `z_i`; the computed `z_i` is off by at most
//! `γ_d` times `Σ|terms| = (|W||x| + |U||v| + |b|)_i`, tanh is 1-Lipschitz so that error
//! passes through undamped, and tanh's own rounding is a few ulps of `|tanh z_i| ≤ |z_i|`,
//! again at most `Σ|terms|`. So the bound is `‖|W||x| + |U||v| + |b|‖`.

use super::{Capabilities, FixedPointMap, Reparameterise};
use crate::constants::{Constant, MapConstants};
use crate::error::{Error, Result};
use crate::linalg::{spectral_norm, spectral_radius};
use crate::problem::{Ball, Scratch, VecView, VecViewMut, draw};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// `max |σ''|` for `σ = tanh`: `4/(3√3) = 0.76980035891950101…`, attained at `tanh² = 1/3`
/// (the `f64` nearest to it, `0.76980035891950105…`, lies above it: a bound).
pub const TANH_SECOND_DERIVATIVE_BOUND: f64 = 0.769_800_358_919_501;

/// Which quantity of the layer is the parameter `u`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerParam {
    /// The input vector `v` (`p = m`).
    Input,
    /// The bias `b` (`p = n`).
    Bias,
    /// The input weights `U`, column-major (`p = nm`).
    Weights,
}

impl LayerParam {
    /// The parameter's name, as in the map's name and the scenario families.
    pub fn name(self) -> &'static str {
        match self {
            LayerParam::Input => "input",
            LayerParam::Bias => "bias",
            LayerParam::Weights => "weights",
        }
    }
}

/// `A(x, u) = tanh(Wx + Uv + b)` with the parameter `u` one of `v`, `b`, `U`.
#[derive(Debug, Clone)]
pub struct Layer {
    /// `W` (n×n).
    pub w: DMatrix<f64>,
    /// `U` (n×m).
    pub u_mat: DMatrix<f64>,
    /// `b` (length n).
    pub bias: DVector<f64>,
    /// `v` (length m).
    pub input: DVector<f64>,
    /// Which of them is `u`.
    pub param: LayerParam,
}

impl Layer {
    /// Checks the shapes and that every entry is finite.
    pub fn new(
        w: DMatrix<f64>,
        u_mat: DMatrix<f64>,
        bias: DVector<f64>,
        input: DVector<f64>,
        param: LayerParam,
    ) -> Result<Self> {
        let n = w.nrows();
        if n == 0 || w.ncols() != n {
            return Err(Error::Dimension { what: "layer W columns", expected: n, got: w.ncols() });
        }
        if u_mat.nrows() != n {
            return Err(Error::Dimension { what: "layer U rows", expected: n, got: u_mat.nrows() });
        }
        if bias.len() != n {
            return Err(Error::Dimension { what: "layer bias", expected: n, got: bias.len() });
        }
        if input.len() != u_mat.ncols() {
            return Err(Error::Dimension { what: "layer input", expected: u_mat.ncols(), got: input.len() });
        }
        if w.iter().chain(u_mat.iter()).chain(bias.iter()).chain(input.iter()).any(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter { field: "layer", value: f64::NAN, reason: "entries must be finite" });
        }
        Ok(Layer { w, u_mat, bias, input, param })
    }

    /// The seeded draw of the layer families: `W` (n×n) with singular values geometrically
    /// spaced in `[ρ_W/2, ρ_W]` and random orthogonal factors, then `U` (n×m) with
    /// N(0, 1/m) entries, `b` with N(0, 1/4) entries and `v` with N(0, 1) entries, in this
    /// order from `rng`.
    pub fn draw(n: usize, m: usize, rho_w: f64, param: LayerParam, rng: &mut draw::ChaCha8Rng) -> Result<Self> {
        if !(rho_w > 0.0 && rho_w < 1.0) {
            return Err(Error::InvalidParameter { field: "rho_w", value: rho_w, reason: "must lie in (0, 1)" });
        }
        let w = draw::controlled_spectrum(n, n, rho_w / 2.0, rho_w, rng);
        let u_entries = draw::normal_vector(n * m, 1.0 / (m as f64).sqrt(), rng);
        let u_mat = DMatrix::from_column_slice(n, m, u_entries.as_slice());
        let bias = draw::normal_vector(n, 0.5, rng);
        let input = draw::normal_vector(m, 1.0, rng);
        Layer::new(w, u_mat, bias, input, param)
    }

    fn n(&self) -> usize {
        self.w.nrows()
    }

    fn m(&self) -> usize {
        self.u_mat.ncols()
    }

    /// The pre-activation `z = Wx + Uv + b` into `z`.
    fn pre_activation(&self, x: VecView, z: &mut DVector<f64>) {
        z.copy_from(&self.bias);
        z.gemv(1.0, &self.u_mat, &self.input, 1.0);
        z.gemv(1.0, &self.w, &x, 1.0);
    }

    /// `S = diag(σ'(z))` at `x`, into `d`.
    fn activation_slope(&self, x: VecView, d: &mut DVector<f64>) {
        self.pre_activation(x, d);
        d.apply(|z| {
            let t = z.tanh();
            *z = 1.0 - t * t;
        });
    }

    /// The largest row norm `w_∞ = ‖W‖_{2→∞}`.
    pub fn max_row_norm(&self) -> f64 {
        self.w.row_iter().map(|r| r.norm()).fold(0.0, f64::max)
    }

    /// The same layer with the parameter replaced by `u`.
    pub fn with_param(&self, u: &DVector<f64>) -> Result<Self> {
        let mut out = self.clone();
        match self.param {
            LayerParam::Input => out.input = u.clone(),
            LayerParam::Bias => out.bias = u.clone(),
            LayerParam::Weights => {
                if u.len() != self.n() * self.m() {
                    return Err(Error::Dimension {
                        what: "layer weights",
                        expected: self.n() * self.m(),
                        got: u.len(),
                    });
                }
                out.u_mat = DMatrix::from_column_slice(self.n(), self.m(), u.as_slice());
            }
        }
        Layer::new(out.w, out.u_mat, out.bias, out.input, out.param)
    }

    /// The fixed point by Picard iteration and two Newton steps (module docs).
    pub fn solve(&self) -> Result<DVector<f64>> {
        let n = self.n();
        let mut s = self.scratch();
        let (mut x, mut next) = (DVector::zeros(n), DVector::zeros(n));
        let rho = spectral_norm(&self.w);
        let cap = if rho < 1.0 { (10.0 + 60.0 / (1.0 - rho)).ceil() as usize } else { 10_000 };
        for _ in 0..cap.min(100_000) {
            self.step_at(0, x.as_view(), next.as_view_mut(), &mut s);
            let moved = (&next - &x).norm();
            std::mem::swap(&mut x, &mut next);
            if moved <= 4.0 * f64::EPSILON * x.norm() {
                break;
            }
        }
        for _ in 0..2 {
            self.step_at(0, x.as_view(), next.as_view_mut(), &mut s);
            let residual = &x - &next;
            let jac = DMatrix::identity(n, n) - self.d_x(x.as_view());
            let Some(dx) = jac.lu().solve(&residual) else {
                return Err(Error::Numerical("I − D_x A is singular at the layer's fixed point".into()));
            };
            x -= dx;
        }
        if x.iter().all(|v| v.is_finite()) {
            Ok(x)
        } else {
            Err(Error::Numerical("the layer's fixed point is not finite".into()))
        }
    }
}

impl FixedPointMap for Layer {
    fn dim_x(&self) -> usize {
        self.n()
    }
    fn dim_u(&self) -> usize {
        match self.param {
            LayerParam::Input => self.m(),
            LayerParam::Bias => self.n(),
            LayerParam::Weights => self.n() * self.m(),
        }
    }
    fn name(&self) -> String {
        format!("layer[{}]", self.param.name())
    }
    fn scratch(&self) -> Scratch {
        Scratch::new(self.n())
    }
    fn step_at(&self, _k: usize, x: VecView, mut out: VecViewMut, s: &mut Scratch) {
        self.pre_activation(x, &mut s.residual);
        for (o, z) in out.iter_mut().zip(s.residual.iter()) {
            *o = z.tanh();
        }
    }
    fn step_magnitude(&self, _k: usize, x: VecView, s: &mut Scratch) -> f64 {
        crate::problem::abs_mul(&self.w, x, &mut s.residual);
        crate::problem::abs_mul(&self.u_mat, self.input.as_view(), &mut s.image);
        s.residual
            .iter()
            .zip(s.image.iter())
            .zip(self.bias.iter())
            .map(|((a, c), b)| (a + c + b.abs()).powi(2))
            .sum::<f64>()
            .sqrt()
    }
    fn jvp_at(&self, _k: usize, x: VecView, dx: VecView, du: VecView, mut out: VecViewMut, s: &mut Scratch) {
        self.activation_slope(x, &mut s.residual);
        // ż = W ẋ + (∂z/∂u) u̇, then out = S ż.
        out.gemv(1.0, &self.w, &dx, 0.0);
        match self.param {
            LayerParam::Input => out.gemv(1.0, &self.u_mat, &du, 1.0),
            LayerParam::Bias => out += du,
            LayerParam::Weights => {
                // (D_u z) vec(U̇) = U̇ v, with U̇ column-major in `du`.
                let n = self.n();
                for (j, &vj) in self.input.iter().enumerate() {
                    for i in 0..n {
                        out[i] += du[i + j * n] * vj;
                    }
                }
            }
        }
        out.component_mul_assign(&s.residual);
    }
    fn vjp_at(
        &self,
        _k: usize,
        x: VecView,
        w: VecView,
        mut xbar_out: VecViewMut,
        mut ubar_acc: VecViewMut,
        s: &mut Scratch,
    ) {
        self.activation_slope(x, &mut s.residual);
        // z̄ = S w; x̄ = Wᵀ z̄; ū += (∂z/∂u)ᵀ z̄.
        s.image.copy_from(&w);
        s.image.component_mul_assign(&s.residual);
        xbar_out.gemv_tr(1.0, &self.w, &s.image, 0.0);
        match self.param {
            LayerParam::Input => ubar_acc.gemv_tr(1.0, &self.u_mat, &s.image, 1.0),
            LayerParam::Bias => ubar_acc += &s.image,
            LayerParam::Weights => {
                let n = self.n();
                for (j, &vj) in self.input.iter().enumerate() {
                    for i in 0..n {
                        ubar_acc[i + j * n] += s.image[i] * vj;
                    }
                }
            }
        }
    }
    fn fixed_point(&self) -> Result<DVector<f64>> {
        self.solve()
    }
    fn constants(&self, ball: &Ball) -> Result<MapConstants> {
        let norm_w = spectral_norm(&self.w);
        let slope = TANH_SECOND_DERIVATIVE_BOUND * self.max_row_norm();
        let (m_u, kappa) = match self.param {
            LayerParam::Input => {
                let norm_u = spectral_norm(&self.u_mat);
                (slope * norm_u, norm_u)
            }
            LayerParam::Bias => (slope, 1.0),
            LayerParam::Weights => (slope * self.input.norm(), self.input.norm()),
        };
        let b_star = self.d_x(ball.center.as_view());
        Ok(MapConstants {
            rho: Constant::global(norm_w),
            m_x: Constant::global(slope * norm_w),
            m_u: Constant::global(m_u),
            kappa: Constant::global(kappa),
            spectral_radius: spectral_radius(&b_star)?,
            jacobian_norm_at_fixed_point: spectral_norm(&b_star),
        })
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities { reparameterise: Some(self), ..Capabilities::default() }
    }
}

impl Reparameterise for Layer {
    fn param(&self) -> DVector<f64> {
        match self.param {
            LayerParam::Input => self.input.clone(),
            LayerParam::Bias => self.bias.clone(),
            LayerParam::Weights => DVector::from_column_slice(self.u_mat.as_slice()),
        }
    }
    fn fixed_point_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        self.with_param(u)?.solve()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tanh_curvature_bound_is_four_over_three_root_three() {
        assert!((TANH_SECOND_DERIVATIVE_BOUND - 4.0 / (3.0 * 3f64.sqrt())).abs() <= 2.0 * f64::EPSILON);
        // σ'' = −2t(1 − t²) on a fine grid never exceeds it, and comes within 1e-8 of it.
        let peak = (0..=200_000)
            .map(|i| {
                let t = (-10.0 + i as f64 * 1e-4).tanh();
                (2.0 * t * (1.0 - t * t)).abs()
            })
            .fold(0.0, f64::max);
        assert!(peak <= TANH_SECOND_DERIVATIVE_BOUND && peak > TANH_SECOND_DERIVATIVE_BOUND - 1e-8);
    }

    #[test]
    fn the_fixed_point_solves_the_layer_equation() {
        for param in [LayerParam::Input, LayerParam::Bias, LayerParam::Weights] {
            let layer = Layer::draw(6, 4, 0.95, param, &mut draw::rng(3)).expect("draws");
            assert!((spectral_norm(&layer.w) - 0.95).abs() < 1e-12, "‖W‖₂ = ρ_W");
            let x = layer.solve().expect("solves");
            let mut s = layer.scratch();
            let mut next = DVector::zeros(6);
            layer.step(x.as_view(), next.as_view_mut(), &mut s);
            assert!((next - &x).norm() <= 8.0 * f64::EPSILON * x.norm().max(1.0));
        }
    }
}
