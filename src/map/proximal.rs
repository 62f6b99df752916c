//! Proximal gradient and FISTA on the elastic net (beyond the paper; issue #16, item 4).
//!
//! The objective is `f(x) + λ₁‖x‖₁` with the smooth part ridge least squares,
//! `f(x) = ½‖Ax − b‖² + (λ₂/2)‖x‖²` ([`crate::problem::ridge::Ridge`], `λ₂` its ridge weight),
//! and the `ℓ₁` term handled by its proximal operator, the soft threshold
//!
//! ```text
//! prox_{αλ₁‖·‖₁}(z)_i = sign(z_i)·max(|z_i| − αλ₁, 0).
//! ```
//!
//! Two maps, on the state `x` and on `z = (x_1, x_2)` (current and previous iterate):
//!
//! ```text
//! prox_gd:  A(x, u) = prox(x − α∇f(x)),
//! fista:    y = (1 + β)x_1 − βx_2,   A(z, u) = (prox(y − α∇f(y)), x_1),
//! ```
//!
//! FISTA with the constant momentum `β = (1 − √(αμ))/(1 + √(αμ))` of the strongly convex
//! method ([`super::nesterov::strongly_convex_momentum`], the read-out `y = Fz` of
//! [`super::nesterov`]); the map is time-invariant.
//!
//! The parameter `u` ([`ElasticNetParam`]): the `ℓ₁` weight `λ₁` (p = 1), the targets
//! `b` (p = M, `D_u∇f = −Aᵀ`), or the ridge weight `λ₂` (p = 1, `D_u∇f(y) = y`).
//!
//! **Derivative: almost everywhere.** The soft threshold is differentiable except at the
//! kinks `|z_i| = αλ₁`. With the pre-prox point `z = y − α∇f(y)` and the mask
//! `D = diag(d)`, `d_i = 1` when `|z_i| > αλ₁` and `0` otherwise (at the kink exactly: `0`,
//! the convention of JAX's and PyTorch's `relu`-based soft threshold):
//!
//! ```text
//! D_x A = D(I − αH) (prox_gd; times the read-out for FISTA),
//! D_u A = −αD·sign(z)  (u = λ₁),   D_u A = αDAᵀ  (u = b),   D_u A = −αDy  (u = λ₂),
//! ```
//!
//! with `H = AᵀA + λ₂I`. This is what an automatic differentiation library computes when
//! it unrolls the iteration.
//!
//! **Fixed point** ([`solve_elastic_net`]): proximal gradient from `0` to a fixed-point
//! residual at rounding level, then a polish on the identified support `S` with sign
//! pattern `s`: the smooth linear system `H_SS x_S = (Aᵀb)_S − λ₁s_S`, `x_{S^c} = 0` (the
//! optimality condition on the support), kept when its signs are `s` and the
//! complementarity `|(Aᵀb − Hx)_i| ≤ λ₁` holds off `S`, and followed by one step of iterative
//! refinement. Its accuracy is measured, not assumed: the instance bounds the error of
//! the computed `x*` by its fixed-point residual ([`crate::instance::fixed_point_error`]).
//!
//! **Implicit Jacobian.** `Dx* = (I − B)⁻¹C` with the a.e. `B`, `C` at `x*`. On the support
//! it is the derivative of `u ↦ x*(u)` only under *strict complementarity*,
//! `|z*_i| ≠ αλ₁` for every `i` (then `x*(u)` is locally affine in `u`); the margin
//! `δ = min_i ||z*_i| − αλ₁|` is reported ([`Identification::margin`]).
//!
//! **Constants.** The prox is 1-Lipschitz (it is firmly non-expansive) and the a.e.
//! Jacobian `D(I − αH)` has norm `≤ ‖I − αH‖`, so prox-gd contracts in the Euclidean norm
//! with `ρ = max(|1 − αμ|, |1 − αL|)`, `μ`, `L` the extreme eigenvalues of `H`: A2.1 holds
//! *globally*. FISTA is a momentum map: `‖D_zA‖₂ ≥ 1` (the second block row copies `x_1`),
//! A2.1 fails in the Euclidean norm (Remark 1(ii)), as for Nesterov's method. A2.2 fails
//! *globally*: `x ↦ D_xA` jumps where a coordinate of `z` crosses its kink, so `M_x = M_u
//! = +∞` on any ball that contains a kink crossing. On the ball of radius `r` around `x*`
//! with `q‖F‖r < δ` (`q = ‖I − αH‖`, `‖F‖ = √((1 + β)² + β²)` the read-out's norm, 1 for
//! prox-gd) no coordinate can cross: `|z_i(x) − z*_i| ≤ q‖F‖‖x − x*‖ < δ`, so `D` is that of
//! `x*` on the ball, `D_xA` is constant there and `M_x = 0` locally. `D_uA` is constant on
//! the piece for `λ₁` and `b` (`M_u = 0`, `κ = ‖C(x*)‖`); for `λ₂` it is `−αD*Fz`, so
//! `M_u = α‖F‖` and `κ = ‖C(x*)‖ + α‖F‖r` (the piece of ridge's weight parameter, `Γ > 0`).
//! Off that ball `κ` is the global bound `α√n` (`u = λ₁`) or `α‖A‖` (`u = b`), and
//! `α(‖x*‖ + ‖F‖r)` on the ball of radius `r` for `λ₂`.
//!
//! **Support identification** ([`Proximal::identify`]): the first index `k₀` from which
//! the sign pattern of the pre-prox point `z_k` (`sign(z_i)` where `|z_i| > αλ₁`, else
//! `0`) equals that of `z*` and stays so; and the first index `k_a` from which the iterate
//! lies in the affine ball above (certified for prox-gd, which contracts: `e_{k+1} ≤ qe_k`
//! keeps it there; observed over the run for FISTA). From `k_a` on the map is affine along
//! the run, so the claims restarted at `x_{k_a}` with `Ẋ_{k_a}` as initial derivative
//! apply with the local constants ([`crate::spec::Restart::Identified`]).

use super::nesterov::extrapolate;
use super::{Capabilities, FixedPointMap, Lift, Reparameterise};
use crate::constants::{Constant, MapConstants};
use crate::error::{Error, Result, check_open};
use crate::linalg::{spectral_norm, spectral_radius};
use crate::map::gradient_descent::gd_rate;
use crate::problem::ridge::Ridge;
use crate::problem::{Ball, Objective, Scratch, VecView, VecViewMut};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Which part of the elastic net is the parameter `u`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ElasticNetParam {
    /// The `ℓ₁` weight `λ₁` (p = 1).
    L1,
    /// The targets `b` (p = M).
    Targets,
    /// The ridge weight `λ₂` of the smooth part (p = 1, `D_u∇f(y) = y`).
    L2,
}

/// Where a run of a proximal map identifies the support of `x*` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Identification {
    /// The first `k₀` from which the sign pattern of `z_k` is that of `z*` (over the run).
    pub k0: Option<usize>,
    /// The first `k_a` from which the iterates lie in the ball `q‖F‖e_k < δ` where the map
    /// is affine (certified for prox-gd; observed over the run for FISTA).
    pub k_affine: Option<usize>,
    /// The steps run to find them.
    pub steps: usize,
    /// `|S|`, the size of the support of `x*`.
    pub support: usize,
    /// `n`.
    pub n: usize,
    /// The strict-complementarity margin `δ = min_i ||z*_i| − αλ₁|`.
    pub margin: f64,
    /// The radius `δ/(q‖F‖)` of the ball around `x*` on which the map is affine.
    pub affine_radius: f64,
    /// The index the instance was restarted at ([`crate::spec::Restart::Identified`]), if any.
    pub restarted_at: Option<usize>,
}

/// Proximal gradient (`momentum = None`) or FISTA with constant momentum `β` on the
/// elastic net.
#[derive(Debug, Clone)]
pub struct Proximal {
    f: Ridge,
    l1: f64,
    alpha: f64,
    param: ElasticNetParam,
    momentum: Option<f64>,
    x_star: DVector<f64>,
    identification: Option<Identification>,
}

/// `sign(z)·max(|z| − t, 0)`.
pub fn soft_threshold(z: f64, t: f64) -> f64 {
    if z > t {
        z - t
    } else if z < -t {
        z + t
    } else {
        0.0
    }
}

/// The a.e. derivative of the soft threshold: 1 where `|z| > t`, 0 otherwise (the kink
/// `|z| = t` included).
pub fn prox_mask(z: f64, t: f64) -> f64 {
    if z.abs() > t { 1.0 } else { 0.0 }
}

/// The sign pattern of the prox: `sign(z)` where `|z| > t`, else 0.
fn pattern(z: f64, t: f64) -> i8 {
    if z > t {
        1
    } else if z < -t {
        -1
    } else {
        0
    }
}

/// The elastic-net solution `argmin ½‖Ax − b‖² + (λ₂/2)‖x‖² + λ₁‖x‖₁` of the smooth part
/// `f`: proximal gradient with step `α` to rounding level, then the polish on the support
/// (module docs).
pub fn solve_elastic_net(f: &Ridge, l1: f64, alpha: f64) -> Result<DVector<f64>> {
    let n = f.dim_x();
    let mut s = f.scratch();
    let t = alpha * l1;
    let (mut x, mut z) = (DVector::zeros(n), DVector::zeros(n));
    for _ in 0..200_000 {
        z.copy_from(&x);
        f.grad_acc(x.as_view(), -alpha, z.as_view_mut(), &mut s);
        let next = z.map(|zi| soft_threshold(zi, t));
        let step = (&next - &x).norm();
        x = next;
        if !step.is_finite() {
            return Err(Error::Numerical("non-finite iterate in proximal gradient".into()));
        }
        if step <= 4.0 * f64::EPSILON * (1.0 + x.norm()) {
            break;
        }
    }
    let support: Vec<usize> = (0..n).filter(|&i| x[i] != 0.0).collect();
    if support.is_empty() {
        return Ok(x);
    }
    let h = f.hessian(x.as_view());
    let atb = f.a().transpose() * f.b();
    let hs = DMatrix::from_fn(support.len(), support.len(), |i, j| h[(support[i], support[j])]);
    let rhs = DVector::from_fn(support.len(), |i, _| atb[support[i]] - l1 * x[support[i]].signum());
    let Some(chol) = hs.cholesky() else { return Ok(x) };
    let mut xs = chol.solve(&rhs);
    let r = &rhs - &DMatrix::from_fn(support.len(), support.len(), |i, j| h[(support[i], support[j])]) * &xs;
    xs += chol.solve(&r);
    let mut polished = DVector::zeros(n);
    for (i, &j) in support.iter().enumerate() {
        polished[j] = xs[i];
    }
    let signs_agree = support.iter().all(|&j| polished[j].signum() == x[j].signum() && polished[j] != 0.0);
    let g = &atb - &h * &polished;
    let complementary = (0..n).filter(|i| !support.contains(i)).all(|i| g[i].abs() <= l1);
    Ok(if signs_agree && complementary { polished } else { x })
}

impl Proximal {
    /// Proximal gradient with step `α > 0` and `ℓ₁` weight `λ₁ ≥ 0` on the smooth part `f`
    /// (whose own parameter is ignored: `u` is `param`); `momentum = Some(β)`, `β ∈ [0, 1)`,
    /// makes it FISTA. Solves for `x*` ([`solve_elastic_net`]).
    pub fn new(f: Ridge, l1: f64, alpha: f64, param: ElasticNetParam, momentum: Option<f64>) -> Result<Self> {
        check_open("alpha", alpha, 0.0, f64::INFINITY)?;
        if !(l1.is_finite() && l1 >= 0.0) {
            return Err(Error::InvalidParameter { field: "l1", value: l1, reason: "must be finite and >= 0" });
        }
        if let Some(beta) = momentum
            && !(0.0..1.0).contains(&beta)
        {
            return Err(Error::InvalidParameter { field: "beta", value: beta, reason: "must lie in [0, 1)" });
        }
        let x_star = solve_elastic_net(&f, l1, alpha)?;
        Ok(Proximal { f, l1, alpha, param, momentum, x_star, identification: None })
    }
    /// The step size `α`.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// The `ℓ₁` weight `λ₁`.
    pub fn l1(&self) -> f64 {
        self.l1
    }
    /// FISTA's momentum `β` (`None` for proximal gradient).
    pub fn momentum(&self) -> Option<f64> {
        self.momentum
    }
    /// The parameter.
    pub fn param_kind(&self) -> ElasticNetParam {
        self.param
    }
    /// The smooth part `f`.
    pub fn objective(&self) -> &Ridge {
        &self.f
    }
    /// The elastic-net solution `x*` in the objective's space.
    pub fn solution(&self) -> &DVector<f64> {
        &self.x_star
    }
    /// The support identification recorded for this instance ([`Self::with_identification`]).
    pub fn identification(&self) -> Option<Identification> {
        self.identification
    }
    /// The map with its support identification recorded (reported per run).
    pub fn with_identification(mut self, id: Identification) -> Self {
        self.identification = Some(id);
        self
    }
    fn n(&self) -> usize {
        self.f.dim_x()
    }
    fn beta(&self) -> f64 {
        self.momentum.unwrap_or(0.0)
    }
    fn threshold(&self) -> f64 {
        self.alpha * self.l1
    }
    /// `‖F‖ = √((1 + β)² + β²)`, the norm of FISTA's read-out (1 for proximal gradient).
    pub fn readout_norm(&self) -> f64 {
        let b = self.beta();
        if self.momentum.is_some() { ((1.0 + b) * (1.0 + b) + b * b).sqrt() } else { 1.0 }
    }
    /// `q = ‖I − αH‖ = max(|1 − αμ|, |1 − αL|)`.
    pub fn gradient_step_norm(&self) -> f64 {
        let ball = Ball { center: self.x_star.clone(), radius: f64::INFINITY };
        let c = self.f.curvature(&ball);
        gd_rate(self.alpha, c.mu.value, c.l.value)
    }
    /// `z* = x* − α∇f(x*)`, the pre-prox point at the solution.
    pub fn z_star(&self) -> DVector<f64> {
        let mut z = self.x_star.clone();
        self.f.grad_acc(self.x_star.as_view(), -self.alpha, z.as_view_mut(), &mut self.f.scratch());
        z
    }
    /// `δ = min_i ||z*_i| − αλ₁|` (strict complementarity when `> 0`).
    pub fn margin(&self) -> f64 {
        let t = self.threshold();
        self.z_star().iter().map(|z| (z.abs() - t).abs()).fold(f64::INFINITY, f64::min)
    }
    /// `δ/(q‖F‖)`: the radius of the ball around `x*` (state space) where the map is affine.
    pub fn affine_radius(&self) -> f64 {
        let q = self.gradient_step_norm() * self.readout_norm();
        if q > 0.0 { self.margin() / q } else { f64::INFINITY }
    }

    /// Runs the map from `x0` (state) for up to `max_steps` steps and finds `k₀` and `k_a`
    /// (module docs). Proximal gradient stops at the first `k_a` (certified); FISTA runs
    /// until the error is below `10⁻⁶` of the affine radius (or `max_steps`) and reports
    /// what it observed.
    pub fn identify(&self, x0: &DVector<f64>, max_steps: usize) -> Identification {
        let (n, t) = (self.n(), self.threshold());
        let x_star = self.fixed_point_state();
        let z_star = self.z_star();
        let star: Vec<i8> = z_star.iter().map(|&z| pattern(z, t)).collect();
        let r_aff = self.affine_radius();
        let mut s = self.scratch();
        let (mut x, mut next) = (x0.clone(), x0.clone());
        let (mut y, mut z) = (DVector::zeros(n), DVector::zeros(n));
        let (mut k0, mut k_affine, mut steps) = (None, None, 0);
        for k in 0..=max_steps {
            let e = (&x - &x_star).norm();
            let inside = e < 0.5 * r_aff;
            match (inside, k_affine) {
                (true, None) => k_affine = Some(k),
                (false, Some(_)) => k_affine = None,
                _ => {}
            }
            self.pre_prox(x.as_view(), &mut y, &mut z, &mut s);
            let same = z.iter().zip(&star).all(|(&zi, &p)| pattern(zi, t) == p);
            match (same, k0) {
                (true, None) => k0 = Some(k),
                (false, Some(_)) => k0 = None,
                _ => {}
            }
            steps = k;
            let done = match self.momentum {
                None => k_affine.is_some(),
                Some(_) => e < 1e-6 * r_aff,
            };
            if done || k == max_steps {
                break;
            }
            self.step(x.as_view(), next.as_view_mut(), &mut s);
            std::mem::swap(&mut x, &mut next);
        }
        Identification {
            k0,
            k_affine,
            steps,
            support: self.x_star.iter().filter(|v| **v != 0.0).count(),
            n,
            margin: self.margin(),
            affine_radius: r_aff,
            restarted_at: None,
        }
    }

    fn fixed_point_state(&self) -> DVector<f64> {
        match self.momentum {
            None => self.x_star.clone(),
            Some(_) => Lift::Stacked.apply(&self.x_star),
        }
    }

    /// `y` (the read-out of the state) and `z = y − α∇f(y)`.
    fn pre_prox(&self, state: VecView, y: &mut DVector<f64>, z: &mut DVector<f64>, s: &mut Scratch) {
        let n = self.n();
        match self.momentum {
            None => y.copy_from(&state),
            Some(beta) => extrapolate(beta, state.rows(0, n), state.rows(n, n), y),
        }
        z.copy_from(&*y);
        self.f.grad_acc(y.as_view(), -self.alpha, z.as_view_mut(), s);
    }
}

impl FixedPointMap for Proximal {
    fn dim_x(&self) -> usize {
        if self.momentum.is_some() { 2 * self.n() } else { self.n() }
    }
    fn dim_u(&self) -> usize {
        match self.param {
            ElasticNetParam::L1 | ElasticNetParam::L2 => 1,
            ElasticNetParam::Targets => self.f.a().nrows(),
        }
    }
    fn name(&self) -> String {
        let p = match self.param {
            ElasticNetParam::L1 => "l1",
            ElasticNetParam::Targets => "targets",
            ElasticNetParam::L2 => "l2",
        };
        let m = if self.momentum.is_some() { "fista" } else { "prox_gd" };
        format!("{m}(elastic_net[{p}])")
    }
    fn scratch(&self) -> Scratch {
        let mut s = self.f.scratch();
        s.extrapolated = vec![DVector::zeros(self.n()); 4];
        s
    }
    fn step_at(&self, _k: usize, x: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let (n, t) = (self.n(), self.threshold());
        let mut b = std::mem::take(&mut s.extrapolated);
        let [y, z, ..] = &mut b[..] else { unreachable!("four buffers from scratch()") };
        self.pre_prox(x, y, z, s);
        for i in 0..n {
            out[i] = soft_threshold(z[i], t);
        }
        if self.momentum.is_some() {
            out.rows_mut(n, n).copy_from(&x.rows(0, n));
        }
        s.extrapolated = b;
    }
    fn step_magnitude(&self, _k: usize, x: VecView, s: &mut Scratch) -> f64 {
        // The gradient step's magnitude (the read-out's terms for FISTA, as Nesterov's),
        // plus the threshold αλ₁ subtracted from each coordinate; the second block of
        // FISTA copies x_1 exactly.
        let (n, beta) = (self.n(), self.beta());
        let mut b = std::mem::take(&mut s.extrapolated);
        let [y, ..] = &mut b[..] else { unreachable!("four buffers from scratch()") };
        let lead = match self.momentum {
            None => {
                y.copy_from(&x);
                x.norm()
            }
            Some(_) => {
                extrapolate(beta, x.rows(0, n), x.rows(n, n), y);
                (1.0 + beta) * x.rows(0, n).norm() + beta * x.rows(n, n).norm()
            }
        };
        let g = self.f.grad_magnitude(y.as_view(), s);
        s.extrapolated = b;
        lead + self.alpha * g + self.threshold() * (n as f64).sqrt()
    }
    fn jvp_at(&self, _k: usize, x: VecView, dx: VecView, du: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let (n, t) = (self.n(), self.threshold());
        let mut b = std::mem::take(&mut s.extrapolated);
        let [y, z, dy, ..] = &mut b[..] else { unreachable!("four buffers from scratch()") };
        self.pre_prox(x, y, z, s);
        match self.momentum {
            None => dy.copy_from(&dx),
            Some(beta) => extrapolate(beta, dx.rows(0, n), dx.rows(n, n), dy),
        }
        // ż = (I − αH)ẏ − α D_u∇f u̇ (targets: −Aᵀḃ; λ₂: yλ̇₂); then the mask, and
        // −α sign(z) λ̇₁ (λ₁).
        let mut o1 = out.rows_mut(0, n);
        o1.copy_from(&*dy);
        self.f.hvp_acc(y.as_view(), dy.as_view(), -self.alpha, o1.as_view_mut(), s);
        match self.param {
            ElasticNetParam::Targets => self.f.mixed_jvp_acc(y.as_view(), du, -self.alpha, o1.as_view_mut(), s),
            ElasticNetParam::L2 => o1.axpy(-self.alpha * du[0], &*y, 1.0),
            ElasticNetParam::L1 => {}
        }
        for i in 0..n {
            let d = prox_mask(z[i], t);
            let dl1 = if self.param == ElasticNetParam::L1 { -self.alpha * z[i].signum() * du[0] } else { 0.0 };
            o1[i] = d * (o1[i] + dl1);
        }
        if self.momentum.is_some() {
            out.rows_mut(n, n).copy_from(&dx.rows(0, n));
        }
        s.extrapolated = b;
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
        let (n, t) = (self.n(), self.threshold());
        let mut b = std::mem::take(&mut s.extrapolated);
        let [y, z, g, h] = &mut b[..] else { unreachable!("four buffers from scratch()") };
        self.pre_prox(x, y, z, s);
        // g = D w_1 (the mask is diagonal); h = (I − αH) g (H symmetric).
        for i in 0..n {
            g[i] = prox_mask(z[i], t) * w[i];
        }
        match self.param {
            ElasticNetParam::L1 => {
                let dot: f64 = (0..n).map(|i| z[i].signum() * g[i]).sum();
                ubar_acc[0] += -self.alpha * dot;
            }
            ElasticNetParam::Targets => self.f.mixed_vjp_acc(y.as_view(), g.as_view(), -self.alpha, ubar_acc, s),
            ElasticNetParam::L2 => ubar_acc[0] += -self.alpha * y.dot(&*g),
        }
        h.copy_from(&*g);
        self.f.hvp_acc(y.as_view(), g.as_view(), -self.alpha, h.as_view_mut(), s);
        match self.momentum {
            None => xbar_out.copy_from(&*h),
            Some(beta) => {
                // (D_zA)ᵀ w = ((1 + β)h + w_2, −βh).
                let (mut o1, mut o2) = xbar_out.rows_range_pair_mut(0..n, n..2 * n);
                o1.copy_from(&w.rows(n, n));
                o1.axpy(1.0 + beta, &*h, 1.0);
                o2.copy_from(&*h);
                o2.scale_mut(-beta);
            }
        }
        s.extrapolated = b;
    }
    fn fixed_point(&self) -> Result<DVector<f64>> {
        Ok(self.fixed_point_state())
    }
    fn constants(&self, ball: &Ball) -> Result<MapConstants> {
        let q = self.gradient_step_norm();
        let b_star = self.d_x(ball.center.as_view());
        let norm = spectral_norm(&b_star);
        let rho = match self.momentum {
            // prox is 1-Lipschitz and ‖D(I − αH)‖ ≤ ‖I − αH‖: global.
            None => Constant::global(q),
            // ‖D_zA‖₂ ≥ 1 everywhere (the copy of x_1): A2.1 fails (Remark 1(ii)).
            Some(_) => Constant::global(norm.max(1.0)),
        };
        let r = ball.radius;
        let (m_x, m_u, kappa) = if r < self.affine_radius() {
            // D_xA constant on the ball; D_uA constant too, or −αD*Fz for λ₂ (module docs).
            let c_star = spectral_norm(&self.d_u(ball.center.as_view()));
            let m_u = if self.param == ElasticNetParam::L2 { self.alpha * self.readout_norm() } else { 0.0 };
            (Constant::local(0.0, r), Constant::local(m_u, r), Constant::local(c_star + m_u * r, r))
        } else {
            let kappa = match self.param {
                ElasticNetParam::L1 => Constant::global(self.alpha * (self.n() as f64).sqrt()),
                ElasticNetParam::Targets => Constant::global(self.alpha * spectral_norm(self.f.a())),
                ElasticNetParam::L2 if r.is_finite() => {
                    Constant::local(self.alpha * (self.x_star.norm() + self.readout_norm() * r), r)
                }
                ElasticNetParam::L2 => Constant::infinite(),
            };
            (Constant::infinite(), Constant::infinite(), kappa)
        };
        Ok(MapConstants {
            rho,
            m_x,
            m_u,
            kappa,
            spectral_radius: spectral_radius(&b_star)?,
            jacobian_norm_at_fixed_point: norm,
        })
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            step_parameters: (self.alpha, self.beta()),
            lift: if self.momentum.is_some() { Lift::Stacked } else { Lift::Identity },
            reparameterise: Some(self),
            support: self.identification,
            ..Capabilities::default()
        }
    }
}

impl Reparameterise for Proximal {
    fn param(&self) -> DVector<f64> {
        match self.param {
            ElasticNetParam::L1 => DVector::from_element(1, self.l1),
            ElasticNetParam::Targets => self.f.b().clone(),
            ElasticNetParam::L2 => DVector::from_element(1, self.f.lambda()),
        }
    }
    fn fixed_point_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        Ok(self.fixed_point_and_piece_at(u)?.0)
    }
    /// The piece is the sign pattern of `z*(u') = x*(u') − α∇f_{u'}(x*(u'))` against the
    /// threshold `αλ₁(u')` (`±1` where `|z*_i| > αλ₁`, else 0): on one pattern `x*(u')` is
    /// the solution of the same linear system on the support (module docs), affine in
    /// `λ₁` and `b`, smooth in `λ₂`.
    fn fixed_point_and_piece_at(&self, u: &DVector<f64>) -> Result<(DVector<f64>, Option<Vec<i8>>)> {
        let (f, l1) = match self.param {
            ElasticNetParam::L1 => (self.f.clone(), u[0]),
            ElasticNetParam::Targets => (self.f.with_param(u)?, self.l1),
            ElasticNetParam::L2 => {
                (Ridge::new(self.f.a().clone(), self.f.b().clone(), u[0], self.f.param_kind())?, self.l1)
            }
        };
        let x = solve_elastic_net(&f, l1, self.alpha)?;
        let mut z = x.clone();
        f.grad_acc(x.as_view(), -self.alpha, z.as_view_mut(), &mut f.scratch());
        let t = self.alpha * l1;
        let piece = z.iter().map(|&zi| pattern(zi, t)).collect();
        Ok((if self.momentum.is_some() { Lift::Stacked.apply(&x) } else { x }, Some(piece)))
    }
}
