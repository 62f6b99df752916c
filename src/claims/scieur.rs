//! The quadratic theory of Scieur et al. (2022), for gradient descent, heavy-ball and the
//! Chebyshev semi-iterative method through their residual polynomials
//! ([`crate::quadratic`]):
//!
//! - `scieur.residual`: `x_t − x* = P_t(H)(x_0 − x*)`;
//! - `scieur.jacobian`: `∂x_t − ∂x* = (P_t(H) − P_t'(H)H)(∂x_0 − ∂x*) + P_t'(H)∂_θ∇f(x_0, θ)`
//!   when `H(θ)` commutes with `∂_θH`;
//! - `scieur.rate_bound`: `‖∂x_t − ∂x*‖ ≤ max_{[μ,L]}|P_t − λP_t'| ‖∂x_0 − ∂x*‖ +
//!   max_{[μ,L]}|P_t'| ‖∂_θ∇f(x_0, θ)‖`, with the maxima of [`crate::quadratic::maxima`].
//!
//! Both sides come from independent routes: the left from the unrolled method (iterates,
//! forward mode (9)), the right from the scalar polynomials at the eigenvalues of `H`
//! (`P_t(H) = Q diag(P_t(λ_i)) Qᵀ`), and `∂x* = −H⁻¹ D_u∇f(x*)` by a Cholesky solve. On the
//! ridge-data family `H` and `∂H` do not commute: `scieur.jacobian` is *not applicable*,
//! and the observed verdict with its witness says by how much the identity fails.
//!
//! **Subtlety 5** (`docs/claims-spec.md`): with a warm start `x_0(θ)`, `∂x_0 = G ≠ 0`
//! ([`Case::warm_start_derivative`], its first block), the identity holds with the total
//! derivative `∂_θ∇f(x_0, θ) + HG` (`warm_start_total`) and fails with the partial one
//! (`warm_start_partial`, off by `P_t'(H)HG`).
//!
//! **Tolerances** (from [`crate::tol`]'s model). Every method is the recurrence
//! `x_{j+1} − x* = (c_j − d_jH)(x_j − x*) + b_j(x_{j−1} − x*)`; a rounding error `δ_j` made in
//! step `j` (size `d·ε·(1 + |c_j| + |b_j| + 2|d_j|L)·S`, [`crate::tol::ToleranceModel::product`]
//! with `S` the magnitude of the iterates, the gradient bounded by `L(‖x‖ + ‖x*‖)`) reaches
//! step `t` through the same recurrence started from `(0, 1)`, i.e. multiplied by
//! `max_i |S_t^{(j)}(λ_i)|` in the eigenbasis of `H`. The rounding of the run is therefore
//! `Σ_{j<t} max_i |S_t^{(j)}(λ_i)| δ_j` (computed exactly, `O(nK²)`, instead of the factor
//! `k + 1` of a non-contraction, which a transient of heavy-ball can exceed). The right-hand
//! side is `P_t(Ĥ)` for the matrix `Ĥ = H + E` the eigendecomposition reproduces
//! (`‖E‖ ≤ d·ε·L`), and `E` acts on the recurrence as an error in `H` at every step: the same
//! propagated sum bounds it (first order). The forward iterates `∂x_t` and the right-hand
//! side of `scieur.jacobian` (which obeys `R_{t+1} = (c_t − d_tH)R_t + b_tR_{t−1} +
//! d_tP_t(H)(H(∂x_0 − ∂x*) − ∂_θ∇f(x_0))`) get the same treatment with their own
//! magnitudes. The error `δ*` of `x̂*` (`≤ ‖∇f(x̂*)‖/μ`) enters as `(1 + max_i|P_t(λ_i)|)δ*`, that
//! of `∂x*` (a solve, `cond(H)·d·ε‖∂x*‖ + ‖H⁻¹‖‖∂H‖δ*`) as `(1 + max_i|P_t − λ_iP_t'|)η`.

use super::{Assumption, Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict, scored};
use crate::linalg::spectral_norm;
use crate::quadratic::{Fault, Polynomial, QuadraticView, Values, Which, maxima};
use nalgebra::{DMatrix, DVector};

/// The planted wrong sign of the `P_{t−1}` coefficient (shared by the identities).
const WRONG_SIGN: VariantInfo = VariantInfo {
    name: "wrong_sign",
    role: Role::Control,
    description: "P_t by a recurrence with a wrong sign: heavy-ball +βP_{t−1}, Chebyshev (ω − 1)P_{t−1}, gradient descent (1 + hλ)P_t",
};

/// The planted wrong coefficient of `λ` (relative `10⁻⁶`).
const WRONG_COEFFICIENT: VariantInfo = VariantInfo {
    name: "wrong_coefficient",
    role: Role::Control,
    description: "P_t by a recurrence whose λ-coefficient is off by a relative 1e-6",
};

/// `scieur.residual`.
pub const RESIDUAL: Claim = Claim {
    id: "scieur.residual",
    equation: "Scieur (2022)",
    statement: "x_t − x* = P_t(H)(x_0 − x*) for the method's residual polynomial P_t",
    kind: Kind::Identity,
    requires: &[Assumption::Quadratic],
    variants: &[PAPER, WRONG_SIGN, WRONG_COEFFICIENT],
    run: residual,
};

/// `scieur.jacobian`.
pub const JACOBIAN: Claim = Claim {
    id: "scieur.jacobian",
    equation: "Scieur (2022)",
    statement: "∂x_t − ∂x* = (P_t(H) − P_t'(H)H)(∂x_0 − ∂x*) + P_t'(H)∂_θ∇f(x_0, θ) (H(θ) commuting with ∂H)",
    kind: Kind::Identity,
    requires: &[Assumption::Quadratic, Assumption::Commuting],
    variants: &[
        PAPER,
        VariantInfo {
            name: "warm_start_total",
            role: Role::Reading { expect_holds: true },
            description: "∂x_0 = G ≠ 0 (warm start), ∂_θ∇f(x_0, θ) read as the total derivative ∂_θ∇f + HG",
        },
        VariantInfo {
            name: "warm_start_partial",
            role: Role::Reading { expect_holds: false },
            description: "∂x_0 = G ≠ 0 (warm start), ∂_θ∇f(x_0, θ) read as the partial derivative (off by P_t'(H)HG)",
        },
        WRONG_SIGN,
        WRONG_COEFFICIENT,
    ],
    run: jacobian,
};

/// `scieur.rate_bound`.
pub const RATE_BOUND: Claim = Claim {
    id: "scieur.rate_bound",
    equation: "Scieur (2022)",
    statement: "‖∂x_t − ∂x*‖ ≤ max_[μ,L]|P_t − λP_t'| ‖∂x_0 − ∂x*‖ + max_[μ,L]|P_t'| ‖∂_θ∇f(x_0, θ)‖",
    kind: Kind::Inequality,
    requires: &[Assumption::Quadratic, Assumption::Commuting],
    variants: &[
        PAPER,
        VariantInfo {
            name: "endpoints_max",
            role: Role::Control,
            description: "the maxima over [μ, L] taken at λ ∈ {μ, L} only (unsafe where an interior maximum dominates)",
        },
        VariantInfo {
            name: "coarse_grid",
            role: Role::Control,
            description: "the maxima over [μ, L] on a uniform grid of 5 points (unsafe between the points)",
        },
    ],
    run: rate_bound,
};

/// What every check of a case needs: the quadratic view, the objective-space quantities and
/// the derivatives of the solution.
struct QuadraticCase<'a> {
    q: &'a QuadraticView,
    n: usize,
    x_star: DVector<f64>,
    /// `∂x* = −H⁻¹ D_u∇f(x*)`.
    dx_star: DMatrix<f64>,
    /// Bound on `‖x̂* − x*‖`.
    delta_star: f64,
    /// Bound on the error of `∂x*`.
    eta: f64,
    /// `√Σ_j ‖∂_jH‖²_F`, the Lipschitz constant of `x ↦ D_u∇f(x)`.
    mixed_lip: f64,
}

impl<'a> QuadraticCase<'a> {
    fn new(case: &'a Case, cfg: &Config) -> Option<Self> {
        let q = case.quadratic()?;
        let f = case.inst.map.capabilities().objective?;
        let n = q.h.nrows();
        let x_star = case.inst.x_star.rows(0, n).into_owned();
        let chol = q.h.clone().cholesky()?;
        let d_star = f.mixed(x_star.as_view());
        let dx_star = -chol.solve(&d_star);
        let l = q.l.abs();
        let residual = f.gradient(x_star.as_view()).norm() + cfg.tol.product(n, 2.0 * l * x_star.norm());
        let mu = q.mu.max(f64::MIN_POSITIVE);
        let delta_star = residual / mu;
        let mixed_lip = q.dh.iter().map(|d| d.norm_squared()).sum::<f64>().sqrt();
        let eta = cfg.tol.solve(n, l / mu, spectral_norm(&dx_star)) + mixed_lip * delta_star / mu;
        Some(QuadraticCase { q, n, x_star, dx_star, delta_star, eta, mixed_lip })
    }

    /// `x_t` (first block of the state).
    fn x(&self, case: &Case, t: usize) -> DVector<f64> {
        case.run().traj.x(t).rows(0, self.n).into_owned()
    }

    /// `Q diag(φ_i) Qᵀ M`.
    fn apply(
        &self,
        phi: impl Fn(&Values, f64) -> f64,
        vals: &[Vec<Values>],
        t: usize,
        m: &DMatrix<f64>,
    ) -> DMatrix<f64> {
        let ev = &self.q.spectral.eigenvalues;
        let coeffs: Vec<f64> = (0..ev.len()).map(|i| phi(&vals[i][t], ev[i])).collect();
        self.q.spectral.apply(&coeffs, m)
    }
}

/// `max_i |φ(λ_i)|` at step `t`.
fn max_at(vals: &[Vec<Values>], eigs: &DVector<f64>, t: usize, which: Which) -> f64 {
    vals.iter().zip(eigs.iter()).map(|(v, &l)| which.of(&v[t], l).abs()).fold(0.0, f64::max)
}

/// Rounding made at step `j` with weight `w[j]`, propagated to every `t = 0..=K` by the
/// method's recurrence started from `(S_j, S_{j+1}) = (0, 1)`:
/// `Σ_{j<t} max_i |S_t^{(j)}(λ_i)| w_j` (module docs).
pub fn propagated(poly: &Polynomial, fault: Fault, eigs: &[f64], w: &[f64]) -> Vec<f64> {
    let k = w.len();
    let coeffs: Vec<_> = (0..k).map(|t| poly.faulty_coefficients(t, fault)).collect();
    let mut out = vec![0.0; k + 1];
    let mut peak = vec![0.0f64; k + 1];
    for j in 0..k {
        peak[j + 1..].iter_mut().for_each(|p| *p = 0.0);
        for &lambda in eigs {
            let (mut prev, mut cur) = (0.0f64, 1.0f64);
            peak[j + 1] = peak[j + 1].max(1.0);
            for (t, c) in coeffs.iter().enumerate().skip(j + 1) {
                let next = (c.c - c.d * lambda) * cur + c.b * prev;
                (prev, cur) = (cur, next);
                peak[t + 1] = peak[t + 1].max(cur.abs());
            }
        }
        for t in j + 1..=k {
            out[t] += peak[t] * w[j];
        }
    }
    out
}

/// The size of step `j` of the recurrence on quantities of magnitude `scale`.
fn step_weight(poly: &Polynomial, fault: Fault, j: usize, l: f64) -> f64 {
    let c = poly.faulty_coefficients(j, fault);
    1.0 + c.c.abs() + c.b.abs() + 2.0 * c.d.abs() * l
}

fn fault_of(variant: &str) -> Fault {
    match variant {
        "wrong_sign" => Fault::WrongSign,
        "wrong_coefficient" => Fault::WrongCoefficient,
        _ => Fault::None,
    }
}

fn eigs(q: &QuadraticView) -> Vec<f64> {
    q.spectral.eigenvalues.iter().copied().collect()
}

fn unavailable(claim: &'static str, case: &Case, variant: &str) -> Verdict {
    let mut ch = Checker::new(claim, variant, case.spec);
    ch.equal(Point { k: 0, t: None }, f64::NAN, 0.0);
    ch.verdict()
}

fn residual(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let Some(s) = QuadraticCase::new(case, cfg) else { return unavailable(RESIDUAL.id, case, variant) };
    let (k, fault, q) = (case.k, fault_of(variant), s.q);
    let vals = q.at_eigenvalues(k, fault);
    let v = DMatrix::from_column_slice(s.n, 1, (s.x(case, 0) - &s.x_star).as_slice());
    // The run's magnitudes are those of the iterates; the right side's, of P_j(H)(x_0 − x*).
    let lhs_w: Vec<f64> = (0..k)
        .map(|j| cfg.tol.product(case.dim(), step_weight(&q.poly, Fault::None, j, q.l) * case.x_scale()))
        .collect();
    let rhs_w: Vec<f64> = (0..k)
        .map(|j| {
            let y = max_at(&vals, &q.spectral.eigenvalues, j, Which::Residual) * v.norm() + s.x_star.norm();
            cfg.tol.product(case.dim(), step_weight(&q.poly, fault, j, q.l) * y)
        })
        .collect();
    let lhs_round = propagated(&q.poly, Fault::None, &eigs(q), &lhs_w);
    let rhs_round = propagated(&q.poly, fault, &eigs(q), &rhs_w);
    let mut ch = Checker::new(RESIDUAL.id, variant, case.spec);
    for t in 0..=k {
        let rhs = s.apply(|v, _| v.p, &vals, t, &v);
        let lhs = s.x(case, t) - &s.x_star;
        let pmax = max_at(&vals, &q.spectral.eigenvalues, t, Which::Residual);
        let tol =
            lhs_round[t] + rhs_round[t] + (1.0 + pmax) * s.delta_star + 2.0 * cfg.tol.product(s.n, pmax * v.norm());
        ch.equal(Point { k: t, t: None }, (lhs - rhs.column(0)).norm(), tol);
    }
    ch.verdict()
}

/// The Jacobian sides of one case: `∂x_t − ∂x*` (forward mode) and the right-hand side of
/// `scieur.jacobian`, with the tolerance of their difference, for `t = 0..=K`.
pub struct JacobianSides {
    /// `∂x_t − ∂x*`.
    pub lhs: Vec<DMatrix<f64>>,
    /// `(P_t(H) − P_t'(H)H)(∂x_0 − ∂x*) + P_t'(H)D`.
    pub rhs: Vec<DMatrix<f64>>,
    /// The tolerance on `‖lhs − rhs‖`.
    pub tol: Vec<f64>,
}

/// The two sides of `scieur.jacobian` in a variant (`paper`, `warm_start_total`,
/// `warm_start_partial`, or a control); `None` when the map has no quadratic view.
pub fn jacobian_sides(case: &Case, cfg: &Config, variant: &str) -> Option<JacobianSides> {
    let s = QuadraticCase::new(case, cfg)?;
    let (k, fault, q, n) = (case.k, fault_of(variant), s.q, s.n);
    let f = case.inst.map.capabilities().objective?;
    let warm = variant.starts_with("warm_start");
    let p = case.inst.map.dim_u();
    let g = if warm { case.warm_start_derivative().rows(0, n).into_owned() } else { DMatrix::zeros(n, p) };
    let fwd_warm;
    let fwd: &[DMatrix<f64>] = if warm {
        let state = case.inst.map.dim_x();
        let lifted = DMatrix::from_fn(state, p, |r, c| g[(r % n, c)]);
        fwd_warm = case.late_start_jacobians(0, k, &lifted);
        &fwd_warm
    } else {
        &case.run().fwd
    };
    let x0 = s.x(case, 0);
    let partial = f.mixed(x0.as_view());
    let d = if variant == "warm_start_partial" { partial.clone() } else { &partial + &q.h * &g };
    let w = &g - &s.dx_star;
    let vals = q.at_eigenvalues(k, fault);
    let ev = &q.spectral.eigenvalues;
    let rhs: Vec<DMatrix<f64>> = (0..=k)
        .map(|t| s.apply(|v, l| v.jacobian_factor(l), &vals, t, &w) + s.apply(|v, _| v.dp, &vals, t, &d))
        .collect();
    let lhs: Vec<DMatrix<f64>> = fwd.iter().map(|j| j.rows(0, n) - &s.dx_star).collect();
    // Magnitudes: the forward iterates, the mixed derivative along the run, the right side.
    let e_max = (0..=k).map(|t| (s.x(case, t) - &s.x_star).norm()).fold(0.0, f64::max);
    let d_max = spectral_norm(&f.mixed(s.x_star.as_view())) + s.mixed_lip * e_max + spectral_norm(&(&q.h * &g));
    let j_scale = fwd.iter().map(|j| j.amax() * (j.nrows().min(j.ncols()) as f64).sqrt()).fold(0.0, f64::max);
    let dxs_norm = spectral_norm(&s.dx_star);
    let (w_norm, d_norm) = (spectral_norm(&w), spectral_norm(&d));
    let dim = case.dim();
    let lhs_w: Vec<f64> = (0..k)
        .map(|j| {
            let c = q.poly.coefficients(j);
            cfg.tol.product(dim, step_weight(&q.poly, Fault::None, j, q.l) * j_scale + c.d.abs() * d_max)
        })
        .collect();
    let rhs_w: Vec<f64> = (0..k)
        .map(|j| {
            let c = q.poly.faulty_coefficients(j, fault);
            let pmax = max_at(&vals, ev, j, Which::Residual);
            let inject = c.d.abs() * pmax * (q.l.abs() * w_norm + d_norm);
            let r_scale = spectral_norm(&rhs[j]) + dxs_norm;
            cfg.tol.product(dim, step_weight(&q.poly, fault, j, q.l) * r_scale + inject)
        })
        .collect();
    let lhs_round = propagated(&q.poly, Fault::None, &eigs(q), &lhs_w);
    let rhs_round = propagated(&q.poly, fault, &eigs(q), &rhs_w);
    let tol = (0..=k)
        .map(|t| {
            let fmax = max_at(&vals, ev, t, Which::JacobianFactor);
            let dpmax = max_at(&vals, ev, t, Which::Derivative);
            lhs_round[t]
                + rhs_round[t]
                + (1.0 + fmax) * s.eta
                + 2.0 * cfg.tol.product(n, fmax * w_norm + dpmax * d_norm)
        })
        .collect();
    Some(JacobianSides { lhs, rhs, tol })
}

fn jacobian(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let Some(sides) = jacobian_sides(case, cfg, variant) else { return unavailable(JACOBIAN.id, case, variant) };
    let mut ch = Checker::new(JACOBIAN.id, variant, case.spec);
    for t in 0..sides.lhs.len() {
        ch.equal(Point { k: t, t: None }, spectral_norm(&(&sides.lhs[t] - &sides.rhs[t])), sides.tol[t]);
    }
    ch.verdict()
}

/// `max_{[μ,L]} |P_t − λP_t'|` and `max_{[μ,L]} |P_t'|` for `t = 0..=K` as the variant
/// computes them (reliably, or with the unsafe endpoint and coarse-grid controls).
pub fn rate_maxima(q: &QuadraticView, k: usize, variant: &str) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = (q.mu, q.l);
    let per_t = |which: Which| -> Vec<f64> {
        match variant {
            "endpoints_max" => (0..=k).map(|t| maxima::endpoints(&q.poly, which, a, b, t)).collect(),
            _ => (0..=k).map(|t| maxima::coarse(&q.poly, which, a, b, t)).collect(),
        }
    };
    if variant == "endpoints_max" || variant == "coarse_grid" {
        return (per_t(Which::JacobianFactor), per_t(Which::Derivative));
    }
    let both = maxima::max_abs_all_of(&q.poly, &[Which::JacobianFactor, Which::Derivative], a, b, k);
    let values = |w: &[maxima::Maximum]| w.iter().map(|m| m.value).collect();
    (values(&both[0]), values(&both[1]))
}

fn rate_bound(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let Some(s) = QuadraticCase::new(case, cfg) else { return unavailable(RATE_BOUND.id, case, variant) };
    let Some(f) = case.inst.map.capabilities().objective else { return unavailable(RATE_BOUND.id, case, variant) };
    let (k, q, n) = (case.k, s.q, s.n);
    let (fmax, dpmax) = rate_maxima(q, k, variant);
    let w_norm = spectral_norm(&s.dx_star);
    let d_norm = spectral_norm(&f.mixed(s.x(case, 0).as_view()));
    let j_scale = case.j_scale();
    let e_max = (0..=k).map(|t| (s.x(case, t) - &s.x_star).norm()).fold(0.0, f64::max);
    let d_max = d_norm + s.mixed_lip * e_max;
    let weights: Vec<f64> = (0..k)
        .map(|j| {
            let c = q.poly.coefficients(j);
            cfg.tol.product(case.dim(), step_weight(&q.poly, Fault::None, j, q.l) * j_scale + c.d.abs() * d_max)
        })
        .collect();
    let round = propagated(&q.poly, Fault::None, &eigs(q), &weights);
    let mut ch = Checker::new(RATE_BOUND.id, variant, case.spec);
    for t in 0..=k {
        let lhs = spectral_norm(&(case.run().fwd[t].rows(0, n) - &s.dx_star));
        let rhs = fmax[t] * w_norm + dpmax[t] * d_norm;
        let tol = round[t] + (1.0 + fmax[t]) * s.eta + cfg.tol.product(n, rhs);
        scored(t)(&mut ch, Point { k: t, t: None }, lhs, rhs, tol);
    }
    ch.verdict()
}
