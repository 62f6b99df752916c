//! Heavy-ball (and Nesterov's method with constant momentum) in an adapted norm `‖P⁻¹z‖`
//! (a result *beyond the paper*).
//!
//! Heavy-ball is never a contraction in the Euclidean norm (`‖D_zA‖₂ ≥ 1`, Remark 1(ii)),
//! so A2.1 fails and the paper's bounds do not apply. Its Jacobian at the fixed point,
//! `D = [[(1+β)I − αH, −βI], [I, 0]]` with `H = ∇²f(x*) = QΛQᵀ`, is block-diagonalised by
//! `Q`: in the coordinates `(Qᵀx_1, Qᵀx_2)` it splits into the 2×2 blocks
//! `T_i = [[1 + β − αλ_i, −β], [1, 0]]`, whose eigenvalues are the roots of
//! `s² − (1 + β − αλ_i)s + β`. Each block is brought to a real normal form `V_i⁻¹T_iV_i`:
//!
//! | roots | form | block norm | `cond(V_i)` |
//! |---|---|---|---|
//! | distinct real `s_1 ≠ s_2` | diagonal `diag(s_1, s_2)` ([`BlockForm::Diagonal`]) | `max |s_j|` | grows like `1/|s_1 − s_2|` |
//! | complex `r e^{±iφ}` | `[[a, b'], [−b'', a]]`, `b'b'' = (r sin φ)²` ([`BlockForm::Rotation`]) | `r` when `b' = b''` | grows like `1/(r sin φ)` |
//! | (nearly) repeated real | triangular `[[s_1, cδ], [0, s_2]]` ([`BlockForm::Triangular`]) | `≤ max |s_j| + ε` | `1/δ ≈ |c|/ε` |
//!
//! Near critical damping (`(1 + β − αλ)² = 4β`) the exact normal forms need an
//! ill-conditioned `V_i`: the triangular (Schur) form scaled by `δ` trades a block norm up
//! to `τ = r + ε` for a condition number `≈ |c|/ε` that stays bounded. For every block the
//! basis with the smaller condition number among those whose block norm is `≤ τ` is used
//! (`r` the spectral radius, `ε = eps·(1 − r)` a stated share `eps` of the spectral gap).
//! `P = blockdiag(Q, Q)·V`, each `V_i` scaled to `‖V_i‖₂ = 1`, so `‖P‖₂ = 1` and
//! `cond(P) = ‖P⁻¹‖₂ = max_i cond(V_i)`.
//!
//! [`Adapted`] is the conjugated map `A'(z', u) = P⁻¹A(Pz', u)` on `z' = P⁻¹z`: the
//! Euclidean norm of `z'` is the adapted norm of `z`, so every claim of the suite applies
//! unchanged to it, with the constants computed in the new norm. With `E_1 = [I; 0]`,
//! `a_1 = ‖P⁻¹E_1‖₂`, `b_1 = ‖E_1ᵀP‖₂`, and the heavy-ball constants `αL_H`, `αL_u`, `ακ_f`
//! of the objective on the ball of radius `b_1 r'` around `x_1*` (the image of the
//! adapted ball of radius `r'`):
//!
//! - `ρ' = ‖P⁻¹D(z*)P‖₂ + αL_H a_1 b_1² r'` (plus the rounding of the product; global
//!   for quadratics, where `L_H = 0` and `D` is constant);
//! - `M_x' = αL_H a_1 b_1²`, `M_u' = αL_u a_1 b_1`, `κ' = ακ_f a_1`;
//! - `Γ'` from (18) as usual.
//!
//! These follow from `D'(z') = P⁻¹D(Pz')P`, `C'(z') = P⁻¹C(Pz')` and the structure
//! `D(z) − D(z̃) = −αE_1(∇²f(x_1) − ∇²f(x̃_1))E_1ᵀ`, `C(z) = −αE_1 D_u∇f(x_1)`. They are
//! certified upper bounds, not exact (for the ridge weight `C'(z') = −αP⁻¹E_1E_1ᵀPz'`, whose
//! exact Lipschitz constant `α‖P⁻¹E_1E_1ᵀP‖` may be below `αa_1b_1`). For gradient descent
//! `D_xA = I − α∇²f` is symmetric, so its Euclidean norm already equals its spectral
//! radius: the adapted norm of gradient descent is the Euclidean one (`P = I`).
//!
//! **Nesterov** ([`super::nesterov`], constant momentum) is handled by the same
//! construction through the trait [`Momentum`]: its blocks are
//! `T_i = [[(1 + β)m_i, −βm_i], [1, 0]]`, `m_i = 1 − αλ_i` (the form `[[t, −c], [1, 0]]` with
//! `c = βm_i` in place of `β`, possibly `0`: a nilpotent block when `αλ_i = 1`, which takes
//! the triangular form), and its gradient is taken at the read-out `y = Fz`,
//! `F = [(1 + β)I, −βI]` in place of `E_1ᵀ`, so that `b_1 = ‖FP‖₂` (heavy-ball: `F = E_1ᵀ`)
//! and `D(z) − D(z̃) = −αE_1(∇²f(Fz) − ∇²f(Fz̃))F`: the constants above hold with this `b_1`.
//!
//! For a non-quadratic objective (pseudo-Huber) the same construction at `x*` gives a
//! certified but *local* modulus `ρ'(r')`, whose term `αL_H a_1 b_1² r'` exceeds the gap
//! `1 − ρ'(0)` unless the start is very close to `x*`: A2.1 is then reported not applicable
//! in the adapted norm too, with `ρ'` as observed. For the classic Huber loss `L_H = ∞`.

use super::nesterov::Schedule;
use super::{Capabilities, FixedPointMap, HeavyBall, Lift, Nesterov, Reparameterise};
use crate::constants::{Constant, MapConstants, Scope};
use crate::error::{Error, Result};
use crate::linalg::spectral_norm;
use crate::problem::{Ball, Objective, Scratch, VecView, VecViewMut};
use crate::tol::EPS;
use nalgebra::{DMatrix, DVector, Matrix2};
use serde::Serialize;

/// The largest `cond(P)` accepted: beyond `1/√ε` a product with `P⁻¹` loses half the digits.
pub const MAX_COND: f64 = 6.7e7;

/// The real normal form chosen for one 2×2 block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockForm {
    /// Distinct real roots: eigenvector basis, `V⁻¹TV = diag(s_1, s_2)`.
    Diagonal,
    /// Complex roots: equal-diagonal real Schur form, scaled towards `[[a, b], [−b, a]]`.
    Rotation,
    /// Real roots: triangular Schur form with its corner scaled by `δ` (Jordan-type, `ε > 0`).
    Triangular,
}

/// What the adapted norm is, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct AdaptedNorm {
    /// The share `eps` of the spectral gap given up.
    pub eps: f64,
    /// The absolute slack `ε = eps·(1 − r)` (`eps·r` when `r ≥ 1`): every block norm is `≤ r + ε`.
    pub eps_abs: f64,
    /// The spectral radius `r` of `D_zA(z*)`.
    pub spectral_radius: f64,
    /// The largest block norm `max_i ‖V_i⁻¹T_iV_i‖₂` (in exact arithmetic `‖P⁻¹D(z*)P‖₂`).
    pub block_norm: f64,
    /// `cond(P) = ‖P‖₂‖P⁻¹‖₂`.
    pub cond_p: f64,
    /// How many blocks use the triangular (ε-scaled Jordan-type) form.
    pub triangular_blocks: usize,
    /// `‖D_zA(z*)‖₂` in the Euclidean norm (`≥ 1`).
    pub euclidean_norm: f64,
}

/// A momentum map on `z = (x_1, x_2)` whose Jacobian at `z* = (x*, x*)` splits, in the
/// eigenbasis of `H = ∇²f(x*)`, into the 2×2 blocks `[[t_i, −c_i], [1, 0]]`, and whose
/// gradient is evaluated at the read-out `y = g_1x_1 + g_2x_2` (see the module docs).
pub trait Momentum: FixedPointMap + Reparameterise + Sized {
    /// The objective.
    type Objective: Objective;
    /// The objective the map runs on.
    fn momentum_objective(&self) -> &Self::Objective;
    /// The block `(t, c)` of the Hessian eigenvalue `λ`.
    fn block(&self, lambda: f64) -> (f64, f64);
    /// The spectral radius of the block `(t, c)`: the largest root modulus of `s² − ts + c`.
    fn block_modulus(&self, t: f64, c: f64) -> f64;
    /// The read-out coefficients `(g_1, g_2)`.
    fn readout(&self) -> (f64, f64);
    /// The map's constants with the objective's scaled by `α` only (`αL_H`, `αL_u`, `ακ_f`) on
    /// the objective's ball of radius `ball.radius` around the first block of `ball.center`,
    /// and the spectral radius of `D_zA` at the centre.
    fn unit_constants(&self, ball: &Ball) -> Result<MapConstants>;
    /// `Err` when the map has no adapted norm (e.g. it changes with the iteration).
    fn check_adaptable(&self) -> Result<()> {
        Ok(())
    }
}

impl<O: Objective> Momentum for HeavyBall<O> {
    type Objective = O;
    fn momentum_objective(&self) -> &O {
        self.objective()
    }
    fn block(&self, lambda: f64) -> (f64, f64) {
        (1.0 + self.beta() - self.alpha() * lambda, self.beta())
    }
    fn block_modulus(&self, t: f64, _c: f64) -> f64 {
        let (alpha, beta) = (self.alpha(), self.beta());
        super::heavy_ball::hb_root_modulus(alpha, beta, (1.0 + beta - t) / alpha)
    }
    fn readout(&self) -> (f64, f64) {
        (1.0, 0.0)
    }
    fn unit_constants(&self, ball: &Ball) -> Result<MapConstants> {
        self.constants(ball)
    }
}

impl<O: Objective> Momentum for Nesterov<O> {
    type Objective = O;
    fn momentum_objective(&self) -> &O {
        self.objective()
    }
    fn block(&self, lambda: f64) -> (f64, f64) {
        let (beta, m) = (self.beta(super::LIMIT), 1.0 - self.alpha() * lambda);
        ((1.0 + beta) * m, beta * m)
    }
    fn block_modulus(&self, t: f64, c: f64) -> f64 {
        super::heavy_ball::root_modulus(t, c)
    }
    fn readout(&self) -> (f64, f64) {
        self.readout(super::LIMIT)
    }
    fn unit_constants(&self, ball: &Ball) -> Result<MapConstants> {
        Nesterov::unit_constants(self, ball)
    }
    fn check_adaptable(&self) -> Result<()> {
        match self.schedule() {
            Schedule::StronglyConvex { .. } => Ok(()),
            Schedule::Convex => Err(Error::InvalidParameter {
                field: "norm",
                value: f64::NAN,
                reason: "the convex schedule changes with the iteration: no single adapted norm",
            }),
        }
    }
}

/// `‖FP‖₂` for the read-out `F = [g_1 I, g_2 I]` (`‖E_1ᵀP‖₂` for heavy-ball).
fn readout_norm(p: &DMatrix<f64>, n: usize, (g1, g2): (f64, f64)) -> f64 {
    if (g1, g2) == (1.0, 0.0) {
        spectral_norm(&p.rows(0, n))
    } else {
        spectral_norm(&(p.rows(0, n) * g1 + p.rows(n, n) * g2))
    }
}

/// A momentum map conjugated by `P`: `A'(z', u) = P⁻¹A(Pz', u)` (see the module docs).
#[derive(Debug, Clone)]
pub struct Adapted<M> {
    hb: M,
    p: DMatrix<f64>,
    p_inv: DMatrix<f64>,
    a1: f64,
    b1: f64,
    info: AdaptedNorm,
}

/// `σ_max` of a 2×2 matrix (closed form).
fn norm2(m: &Matrix2<f64>) -> f64 {
    let f = m.norm_squared();
    let det = m.determinant();
    ((f + (f * f - 4.0 * det * det).max(0.0).sqrt()) / 2.0).sqrt()
}

/// `cond₂` of a 2×2 matrix.
fn cond2(m: &Matrix2<f64>) -> f64 {
    let s = norm2(m);
    let smin = m.determinant().abs() / s;
    if smin > 0.0 { s / smin } else { f64::INFINITY }
}

/// A basis `V` (with `‖V‖₂ = 1`) of one block `T = [[t, −β], [1, 0]]` (`β` the product of
/// the roots: heavy-ball's momentum, `βm_i` for Nesterov) in which `‖V⁻¹TV‖₂ ≤ τ`
/// (when `τ` allows it) with the smallest condition number among the normal forms.
pub fn block_basis(t: f64, beta: f64, tau: f64) -> (Matrix2<f64>, BlockForm) {
    let tm = Matrix2::new(t, -beta, 1.0, 0.0);
    let disc = t * t - 4.0 * beta;
    let (v, form) = if disc >= 0.0 { real_basis(&tm, t, beta, disc, tau) } else { complex_basis(&tm, tau) };
    // A complex pair whose imaginary part is at rounding level (a critically damped block
    // up to rounding: Nesterov's strongly convex momentum damps its μ-block critically by
    // design) can leave every rotation form above τ; its roots are then a repeated real root
    // to working precision, and the triangular form of that root is used when it does
    // better (the bisection of `complex_basis` ends on `τ` itself, hence the relative slack).
    let conj_norm = |v: &Matrix2<f64>| norm2(&(inv2(v) * tm * v));
    let (v, form) = match form {
        BlockForm::Rotation if conj_norm(&v) > tau * (1.0 + 1e-9) => {
            let (w, tri) = real_basis(&tm, t, beta, 0.0, tau);
            if conj_norm(&w) < conj_norm(&v) { (w, tri) } else { (v, form) }
        }
        _ => (v, form),
    };
    (v / norm2(&v), form)
}

/// Real roots: the eigenvector basis or the δ-scaled triangular Schur basis, whichever is
/// better conditioned (the triangular one's corner `cδ` is the largest with norm `≤ τ`).
fn real_basis(tm: &Matrix2<f64>, t: f64, beta: f64, disc: f64, tau: f64) -> (Matrix2<f64>, BlockForm) {
    let s1 = (t + t.signum() * disc.sqrt()) / 2.0;
    let s2 = if s1 != 0.0 { beta / s1 } else { 0.0 };
    let (n1, n2) = ((s1 * s1 + 1.0).sqrt(), (s2 * s2 + 1.0).sqrt());
    let diag = Matrix2::new(s1 / n1, s2 / n2, 1.0 / n1, 1.0 / n2);
    let u = Matrix2::new(s1 / n1, -1.0 / n1, 1.0 / n1, s1 / n1);
    let s = u.transpose() * tm * u;
    let (p, q, c) = (s[(0, 0)], s[(1, 1)], s[(0, 1)]);
    let room = (tau * tau - p * p).max(0.0) * (tau * tau - q * q).max(0.0);
    let delta = if c == 0.0 { 1.0 } else { (room.sqrt() / (tau * c.abs())).min(1.0) };
    let tri = u * Matrix2::new(1.0, 0.0, 0.0, delta);
    if cond2(&diag) <= cond2(&tri) { (diag, BlockForm::Diagonal) } else { (tri, BlockForm::Triangular) }
}

/// Complex roots: rotate to equal diagonal `[[a, p], [q, a]]` (`pq < 0`), then scale by
/// `diag(1, δ)` with `δ` as close to 1 as the bound `τ` allows (`δ* = √|q/p|` gives the
/// normal form of norm `r`).
fn complex_basis(tm: &Matrix2<f64>, tau: f64) -> (Matrix2<f64>, BlockForm) {
    let theta = 0.5 * (-(tm[(0, 0)] - tm[(1, 1)])).atan2(tm[(0, 1)] + tm[(1, 0)]);
    let (c, s) = (theta.cos(), theta.sin());
    let u = Matrix2::new(c, -s, s, c);
    let sm = u.transpose() * tm * u;
    let scaled = |ld: f64| {
        let d = ld.exp();
        norm2(&Matrix2::new(sm[(0, 0)], sm[(0, 1)] * d, sm[(1, 0)] / d, sm[(1, 1)]))
    };
    let star = 0.5 * (sm[(1, 0)] / sm[(0, 1)]).abs().ln();
    let ld = if scaled(0.0) <= tau || !star.is_finite() {
        0.0
    } else {
        // The norm grows as log δ moves away from log δ*: bisect towards 0.
        let (mut inside, mut outside) = (star, 0.0);
        for _ in 0..100 {
            let mid = 0.5 * (inside + outside);
            if scaled(mid) <= tau { inside = mid } else { outside = mid }
        }
        inside
    };
    (u * Matrix2::new(1.0, 0.0, 0.0, ld.exp()), BlockForm::Rotation)
}

/// `M⁻¹` of a 2×2 matrix (closed form).
fn inv2(m: &Matrix2<f64>) -> Matrix2<f64> {
    let det = m.determinant();
    Matrix2::new(m[(1, 1)], -m[(0, 1)], -m[(1, 0)], m[(0, 0)]) / det
}

impl<M: Momentum> Adapted<M> {
    /// Builds the adapted norm of the momentum map (heavy-ball, constant-momentum Nesterov)
    /// at the objective's minimiser, giving up the
    /// share `eps ∈ [0, 1)` of the spectral gap. Refuses (an error) when `cond(P)` exceeds
    /// [`MAX_COND`] (e.g. `eps = 0` at a critically damped block, a Jordan block).
    ///
    /// ```
    /// use unrollcheck::map::{Adapted, FixedPointMap, HeavyBall};
    /// use unrollcheck::spec::{Norm, Spec, Method};
    /// let spec = Spec { method: Method::HeavyBall { beta: 0.5 }, norm: Norm::Adapted { eps: 0.1 }, ..Spec::figure2(1) };
    /// let inst = spec.build().unwrap();
    /// let norm = inst.map.capabilities().adapted_norm.unwrap();
    /// assert!(inst.constants.rho() < 1.0);                   // A2.1 holds in ‖P⁻¹z‖
    /// assert!(inst.constants.map.jacobian_norm_at_fixed_point <= norm.spectral_radius + norm.eps_abs + 1e-9);
    /// assert!(norm.euclidean_norm >= 1.0);                  // and fails in the Euclidean norm
    /// ```
    pub fn new(hb: M, eps: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&eps) {
            return Err(Error::InvalidParameter { field: "eps", value: eps, reason: "must lie in [0, 1)" });
        }
        hb.check_adaptable()?;
        let f = hb.momentum_objective();
        let n = f.dim_x();
        let x_star = f.minimizer()?;
        let eig = crate::linalg::symmetric_eigen(&f.hessian(x_star.as_view()))?;
        let blocks: Vec<(f64, f64)> = eig.eigenvalues.iter().map(|&l| hb.block(l)).collect();
        let radius = blocks.iter().map(|&(t, c)| hb.block_modulus(t, c)).fold(0.0, f64::max);
        let eps_abs = eps * if radius < 1.0 { 1.0 - radius } else { radius };
        let tau = radius + eps_abs;
        let (mut p, mut p_inv) = (DMatrix::zeros(2 * n, 2 * n), DMatrix::zeros(2 * n, 2 * n));
        let (mut block_norm, mut triangular_blocks) = (0.0f64, 0);
        for (i, &(t, c)) in blocks.iter().enumerate() {
            let (v, form) = block_basis(t, c, tau);
            let vi = inv2(&v);
            block_norm = block_norm.max(norm2(&(vi * Matrix2::new(t, -c, 1.0, 0.0) * v)));
            triangular_blocks += usize::from(form == BlockForm::Triangular);
            let q = eig.eigenvectors.column(i);
            for (r, c) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                // P[(r-block), (c-col of block i)] = Q[:, i]·V[r, c]; P⁻¹ rows = V⁻¹[r, c]·Q[:, i]ᵀ.
                p.view_mut((r * n, c * n + i), (n, 1)).copy_from(&(q * v[(r, c)]));
                p_inv.view_mut((r * n + i, c * n), (1, n)).copy_from(&(q.transpose() * vi[(r, c)]));
            }
        }
        let cond_p = spectral_norm(&p) * spectral_norm(&p_inv);
        if cond_p.is_nan() || cond_p > MAX_COND {
            return Err(Error::Numerical(format!(
                "adapted norm refused: cond(P) = {cond_p:.3e} > {MAX_COND:.1e} (eps = {eps}: a critically damped block needs eps > 0)"
            )));
        }
        let a1 = spectral_norm(&p_inv.columns(0, n));
        let b1 = readout_norm(&p, n, hb.readout());
        let euclidean_norm = spectral_norm(&hb.d_x(Lift::Stacked.apply(&x_star).as_view()));
        let info = AdaptedNorm {
            eps,
            eps_abs,
            spectral_radius: radius,
            block_norm,
            cond_p,
            triangular_blocks,
            euclidean_norm,
        };
        Ok(Adapted { hb, p, p_inv, a1, b1, info })
    }

    /// `P` (columns: the adapted basis).
    pub fn p(&self) -> &DMatrix<f64> {
        &self.p
    }
    /// `P⁻¹`.
    pub fn p_inv(&self) -> &DMatrix<f64> {
        &self.p_inv
    }
    /// The momentum map in the original coordinates.
    pub fn inner(&self) -> &M {
        &self.hb
    }
    /// The same momentum map expressed with another basis `P` (and its claimed inverse):
    /// a hook for negative controls (a basis that does not adapt to `D_zA` gives `ρ' ≥ 1`,
    /// i.e. no certificate). The reported [`AdaptedNorm`] keeps the original blocks' data
    /// except `cond(P)`.
    pub fn with_basis(mut self, p: DMatrix<f64>, p_inv: DMatrix<f64>) -> Self {
        let n = self.hb.momentum_objective().dim_x();
        self.a1 = spectral_norm(&p_inv.columns(0, n));
        self.b1 = readout_norm(&p, n, self.hb.readout());
        self.info.cond_p = spectral_norm(&p) * spectral_norm(&p_inv);
        (self.p, self.p_inv) = (p, p_inv);
        self
    }
}

/// Scope of a constant certified on the image ball (radius `b_1 r'`), stated on the adapted
/// ball of radius `r'`.
fn rescope(c: Constant, radius: f64) -> Constant {
    match c.scope {
        Scope::Global => c,
        Scope::Local { .. } => Constant::local(c.value, radius),
    }
}

impl<M: Momentum> FixedPointMap for Adapted<M> {
    fn dim_x(&self) -> usize {
        self.hb.dim_x()
    }
    fn dim_u(&self) -> usize {
        self.hb.dim_u()
    }
    fn name(&self) -> String {
        format!("{} in ‖P⁻¹z‖", self.hb.name())
    }
    fn scratch(&self) -> Scratch {
        let mut s = self.hb.scratch();
        s.wrapped = vec![DVector::zeros(self.dim_x()); 3];
        s
    }
    fn step_at(&self, k: usize, z: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let mut wrapped = std::mem::take(&mut s.wrapped);
        let [pz, res, _] = &mut wrapped[..] else { unreachable!("three buffers from scratch()") };
        pz.gemv(1.0, &self.p, &z, 0.0);
        self.hb.step_at(k, pz.as_view(), res.as_view_mut(), s);
        out.gemv(1.0, &self.p_inv, &*res, 0.0);
        s.wrapped = wrapped;
    }
    fn step_magnitude(&self, k: usize, z: VecView, s: &mut Scratch) -> f64 {
        // P⁻¹A(Pz): the magnitude of A's step at Pz (‖P‖ = 1); the amplification by P⁻¹ is
        // the factor cond(P) of `Case::dim`.
        let mut wrapped = std::mem::take(&mut s.wrapped);
        let [pz, _, _] = &mut wrapped[..] else { unreachable!("three buffers from scratch()") };
        pz.gemv(1.0, &self.p, &z, 0.0);
        let magnitude = self.hb.step_magnitude(k, pz.as_view(), s);
        s.wrapped = wrapped;
        magnitude.max(z.norm())
    }
    fn jvp_at(&self, k: usize, z: VecView, dz: VecView, du: VecView, mut out: VecViewMut, s: &mut Scratch) {
        let mut wrapped = std::mem::take(&mut s.wrapped);
        let [pz, pdz, res] = &mut wrapped[..] else { unreachable!("three buffers from scratch()") };
        pz.gemv(1.0, &self.p, &z, 0.0);
        pdz.gemv(1.0, &self.p, &dz, 0.0);
        self.hb.jvp_at(k, pz.as_view(), pdz.as_view(), du, res.as_view_mut(), s);
        out.gemv(1.0, &self.p_inv, &*res, 0.0);
        s.wrapped = wrapped;
    }
    fn vjp_at(
        &self,
        k: usize,
        z: VecView,
        w: VecView,
        mut xbar_out: VecViewMut,
        ubar_acc: VecViewMut,
        s: &mut Scratch,
    ) {
        let mut wrapped = std::mem::take(&mut s.wrapped);
        let [pz, pw, res] = &mut wrapped[..] else { unreachable!("three buffers from scratch()") };
        pz.gemv(1.0, &self.p, &z, 0.0);
        pw.gemv_tr(1.0, &self.p_inv, &w, 0.0);
        self.hb.vjp_at(k, pz.as_view(), pw.as_view(), res.as_view_mut(), ubar_acc, s);
        xbar_out.gemv_tr(1.0, &self.p, &*res, 0.0);
        s.wrapped = wrapped;
    }
    fn fixed_point(&self) -> Result<DVector<f64>> {
        Ok(&self.p_inv * self.hb.fixed_point()?)
    }
    fn constants(&self, ball: &Ball) -> Result<MapConstants> {
        let (a1, b1, r) = (self.a1, self.b1, ball.radius);
        let center = &self.p * &ball.center;
        let inner = self.hb.unit_constants(&Ball { center: center.clone(), radius: b1 * r })?;
        let d = self.hb.d_x(center.as_view());
        let conj = &self.p_inv * &d * &self.p;
        let at_center = spectral_norm(&conj);
        // Rounding of the product P⁻¹DP: d·ε·‖P⁻¹‖‖D‖‖P‖ with the safety factor of `tol`.
        let n = self.dim_x() as f64;
        let rounding = 16.0 * EPS * n * spectral_norm(&self.p_inv) * spectral_norm(&d) * spectral_norm(&self.p);
        let rho = if inner.m_x.value == 0.0 {
            Constant::global(at_center + rounding)
        } else {
            Constant::local(at_center + rounding + inner.m_x.value * a1 * b1 * b1 * r, r)
        };
        Ok(MapConstants {
            rho,
            m_x: rescope(inner.m_x.scale(a1 * b1 * b1), r),
            m_u: rescope(inner.m_u.scale(a1 * b1), r),
            kappa: rescope(inner.kappa.scale(a1), r),
            spectral_radius: inner.spectral_radius,
            jacobian_norm_at_fixed_point: at_center,
        })
    }
    fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            step_parameters: self.hb.capabilities().step_parameters,
            lift: Lift::Adapted(&self.p_inv),
            adapted_norm: Some(self.info),
            reparameterise: Some(self),
            ..Capabilities::default()
        }
    }
}

impl<M: Momentum> Reparameterise for Adapted<M> {
    fn param(&self) -> DVector<f64> {
        self.hb.param()
    }
    fn fixed_point_at(&self, u: &DVector<f64>) -> Result<DVector<f64>> {
        Ok(&self.p_inv * self.hb.fixed_point_at(u)?)
    }
}
