//! Implicit differentiation in a trace: the optional arrays `implicit_jvp`, `implicit_vjp`
//! and `hypergrad`, their reference, their tolerance and the bug classes that explain them.
//!
//! Libraries such as jaxopt and torchopt differentiate a fixed point without unrolling, by
//! the implicit function theorem (6): `Dx* = (I − B)^{-1} C` with `B = D_x A(x*, u)`,
//! `C = D_u A(x*, u)` at the fixed point `x*` (for a time-varying map, the limit map; for a
//! momentum map, the lifted state `z* = (x*, x*)`). A trace may hold, for the instance's
//! unit `v` and `w`:
//!
//! | array | shape | meaning |
//! |---|---|---|
//! | `implicit_jvp` | (n,) | `Dx* v` (a solve with `I − B`) |
//! | `implicit_vjp` | (p,) | `wᵀDx* = Cᵀ(I − B)^{-ᵀ}w` (a solve with `(I − B)ᵀ`) |
//! | `hypergrad` | (p,) | `∇_u ℓ` of the outer loss `ℓ(u) = ½‖x*(u)‖²`, with `x*(u)` the minimiser of `f(·, u)` in `R^N` (the first block of the state for a momentum map): `(Dx*_{1:N})ᵀ x*_{1:N}` |
//!
//! # Tolerance
//!
//! The reference is the engine's `Dx*` ([`crate::unroll::implicit_jacobian`], an LU solve
//! at the engine's `x̂*`). An array `y = Dx*·d` (or `dᵀDx*`) with direction `d` (`v`, `w`,
//! `x*_{1:N}`) computed by a backward-stable solve has, by estimate 3 of [`crate::tol`]
//! ([`ToleranceModel::solve`]), an error of at most `c·ε·(n + p)·κ·S` with `κ = κ₂(I − B)`
//! and `S = ‖(I − B)^{-1}‖·‖C‖·‖d‖ ≥ ‖y‖`: the backward error of the solve gives
//! `(n + p)·ε·κ·‖y‖`, and the rounding of its right-hand side `C d`, `(n + p)·ε·‖C‖‖d‖`
//! amplified by `‖(I − B)^{-1}‖`, is `(n + p)·ε·S`; both are below `(n + p)·ε·κ·S`.
//! Both sides also stand on a *computed* fixed point, and an array moves by about
//! `‖∂Y/∂x*‖·δ` when the fixed point moves by `δ`: the sensitivity `‖∂Y/∂x*‖` is
//! *measured* (as estimate 4 of [`crate::tol`] measures rounding), by central differences of
//! `Y` with `B`, `C` and the outer loss at `x̂* ± h e_i` (Frobenius norm over the basis
//! vectors, which bounds the operator norm); the certified `‖(I − B)^{-1}‖·Γ♯·‖d‖`
//! (`Γ♯ = M_x‖Dx*‖ + M_u`, plus `‖Dx*‖` for the outer loss) is the fallback, far larger on
//! pseudo-Huber (the global Lipschitz constant of its Hessian). `δ` is the engine's bound on
//! the error of its `x̂*` plus that of a fixed point solved to rounding by the client
//! (Newton's last step on `x − A(x) = 0` is a solve with `I − B`: `c·ε·n·κ·‖x*‖`). Each
//! tolerance is twice the sum (two computations, as for the unrolled rows). There is no
//! other factor.
//!
//! An array stored as float32 is judged with the probabilistic float32 model of
//! [`super::precision`] in place of `c·ε·d`: the solve errs by `(λ/2)·√d·ε₃₂·κ·S` with
//! `d = n + M + N + 4` (the LU solve's products of length `n` after the right-hand side's,
//! [`super::precision::step_length`]), the client's fixed point by `(λ/2)·√n·ε₃₂·κ·‖x*‖`
//! more; plus the reference's float64 bound (half the float64 tolerance). Where `κ₂(I − B)`
//! is large (`2·10⁴`, the accelerated methods of the large set) that tolerance is not below
//! half the array's norm, and the array cannot be judged at float32 precision
//! ([`super::precision::judgeable`]).
//!
//! # Bug classes
//!
//! [`BugClass::ImplicitTranspose`] solves with `(I − B)ᵀ` where `I − B` belongs (and the
//! other way round: `Dx* = (I − B)^{-ᵀ}C`; invisible where `I − B` is symmetric, gradient
//! descent); [`BugClass::ImplicitSign`] drops the minus sign of the implicit function
//! theorem written on the optimality condition `F(x, u) = x − A(x, u) = 0`,
//! `Dx* = −(∂_xF)^{-1}∂_uF`, so every implicit array is negated;
//! [`BugClass::ImplicitAtIterate`] evaluates `B`, `C` and the outer loss at the last
//! iterate `x_{K'}` instead of `x*` (invisible where `x_{K'} = x*`: the warm starts).

use super::cause::{BugClass, Confirmed, Diagnosis, distance};
use super::npz::Array;
use crate::constants::Constants;
use crate::error::{Error, Result};
use crate::map::FixedPointMap;
use crate::tol::ToleranceModel;
use crate::unroll::implicit_jacobian;
use nalgebra::{DMatrix, DVector};

/// The optional implicit arrays of a trace, in the order of the format.
pub const IMPLICIT: [&str; 3] = ["implicit_jvp", "implicit_vjp", "hypergrad"];

/// The implicit arrays as the reference, or a simulated bug, computes them.
#[derive(Debug, Clone)]
pub struct ImplicitRows {
    /// `Dx* v`.
    pub jvp: DVector<f64>,
    /// `wᵀDx*`.
    pub vjp: DVector<f64>,
    /// `(Dx*_{1:N})ᵀ x*_{1:N}`.
    pub hypergrad: DVector<f64>,
}

impl ImplicitRows {
    /// The arrays from a Jacobian `dx` (n×p) and the point `x` of the outer loss, whose
    /// first `half` entries are the minimiser (`half = N`).
    pub fn from_jacobian(dx: &DMatrix<f64>, x: &DVector<f64>, half: usize, v: &DVector<f64>, w: &DVector<f64>) -> Self {
        let x1 = x.rows(0, half);
        ImplicitRows { jvp: dx * v, vjp: dx.tr_mul(w), hypergrad: dx.rows(0, half).tr_mul(&x1) }
    }

    /// The reference: the engine's `Dx*` at its `x̂*`.
    pub fn reference(
        dx_star: &DMatrix<f64>,
        x_star: &DVector<f64>,
        half: usize,
        v: &DVector<f64>,
        w: &DVector<f64>,
    ) -> Self {
        Self::from_jacobian(dx_star, x_star, half, v, w)
    }

    /// The row of `quantity` (one of [`IMPLICIT`]).
    pub fn rows(&self, quantity: &str) -> &[DVector<f64>] {
        match quantity {
            "implicit_jvp" => std::slice::from_ref(&self.jvp),
            "implicit_vjp" => std::slice::from_ref(&self.vjp),
            _ => std::slice::from_ref(&self.hypergrad),
        }
    }
}

/// The tolerances of the implicit arrays (module docs), with the numbers they come from.
#[derive(Debug, Clone, Copy)]
pub struct ImplicitTolerance {
    /// `κ₂(I − B)` at `x̂*`.
    pub cond: f64,
    /// The float64 tolerance of `implicit_jvp`, `implicit_vjp`, `hypergrad`.
    pub tol: [f64; 3],
    /// Their float32 tolerance (module docs).
    pub tol32: [f64; 3],
}

impl ImplicitTolerance {
    /// The tolerance of `quantity`, at the precision it is stored in.
    pub fn of(&self, quantity: &str, float32: bool) -> f64 {
        let i = IMPLICIT.iter().position(|&q| q == quantity).unwrap_or(0);
        if float32 { self.tol32[i] } else { self.tol[i] }
    }
}

/// The singular values of `m`, largest and smallest (`None` when they cannot be computed).
fn extreme_singular_values(m: &DMatrix<f64>) -> Option<(f64, f64)> {
    let n = m.nrows().max(1);
    let svd = nalgebra::linalg::SVD::try_new(m.clone(), false, false, f64::EPSILON, 100 * n.max(10))?;
    let s = &svd.singular_values;
    let hi = s.iter().copied().fold(0.0f64, f64::max);
    let lo = s.iter().copied().fold(f64::INFINITY, f64::min);
    (hi.is_finite() && lo.is_finite()).then_some((hi, lo))
}

/// The implicit arrays with `B`, `C` and the outer loss taken at the point `x` (the
/// directional form of (6): `(I − B)` dense from [`FixedPointMap::d_x`], `C v` and `Cᵀλ`
/// from the map's own products), or `None` when `I − B` is singular there.
fn implicit_at(
    map: &dyn FixedPointMap,
    x: &DVector<f64>,
    half: usize,
    v: &DVector<f64>,
    w: &DVector<f64>,
) -> Option<ImplicitRows> {
    let (n, p) = (map.dim_x(), map.dim_u());
    let m = DMatrix::identity(n, n) - map.d_x(x.as_view());
    let lu_t = m.transpose().lu();
    let lu = m.lu();
    let mut s = map.scratch();
    let mut cv = DVector::zeros(n);
    map.jvp(x.as_view(), DVector::zeros(n).as_view(), v.as_view(), cv.as_view_mut(), &mut s);
    let jvp = lu.solve(&cv)?;
    let outer = DVector::from_fn(n, |i, _| if i < half { x[i] } else { 0.0 });
    let mut ct = |rhs: &DVector<f64>| -> Option<DVector<f64>> {
        let lambda = lu_t.solve(rhs)?;
        let (mut xbar, mut ubar) = (DVector::zeros(n), DVector::zeros(p));
        map.vjp(x.as_view(), lambda.as_view(), xbar.as_view_mut(), ubar.as_view_mut(), &mut s);
        Some(ubar)
    };
    Some(ImplicitRows { jvp, vjp: ct(w)?, hypergrad: ct(&outer)? })
}

/// `‖∂Y/∂x‖_F` at `x̂*` of each implicit array `Y(x)` ([`implicit_at`]), by central
/// differences along the basis vectors with the step `h = ε^{1/3}(1 + ‖x̂*‖)` that balances
/// their truncation and rounding errors. The Frobenius norm bounds the operator norm, so
/// `‖∂Y/∂x‖_F·δ` is the first-order change of `Y` when the fixed point moves by `δ`.
fn sensitivity(
    map: &dyn FixedPointMap,
    x_star: &DVector<f64>,
    half: usize,
    v: &DVector<f64>,
    w: &DVector<f64>,
) -> Option<[f64; 3]> {
    let h = f64::EPSILON.cbrt() * (1.0 + x_star.norm());
    let mut sq = [0.0f64; 3];
    for i in 0..x_star.len() {
        let mut plus = x_star.clone();
        plus[i] += h;
        let mut minus = x_star.clone();
        minus[i] -= h;
        let (a, b) = (implicit_at(map, &plus, half, v, w)?, implicit_at(map, &minus, half, v, w)?);
        for (k, q) in IMPLICIT.iter().enumerate() {
            sq[k] += ((&a.rows(q)[0] - &b.rows(q)[0]) / (2.0 * h)).norm_squared();
        }
    }
    let out = sq.map(f64::sqrt);
    out.iter().all(|s| s.is_finite()).then_some(out)
}

/// The tolerances of the module docs for the instance `map` at its computed fixed point
/// `x_star` (error bound `x_star_error`), with the map's certified constants `constants`
/// (used when the measured sensitivity is not available), unit directions `v`, `w`,
/// `half = N`, and `d_step` the length of the products of one step
/// ([`super::precision::step_length`], for the float32 tolerance).
pub fn tolerance(
    map: &dyn FixedPointMap,
    x_star: &DVector<f64>,
    x_star_error: f64,
    constants: &Constants,
    (half, d_step): (usize, usize),
    vw: (&DVector<f64>, &DVector<f64>),
) -> Result<ImplicitTolerance> {
    let (n, p) = (map.dim_x(), map.dim_u());
    let i_minus_b = DMatrix::identity(n, n) - map.d_x(x_star.as_view());
    let c_norm = crate::linalg::spectral_norm(&map.d_u(x_star.as_view()));
    let (hi, lo) = extreme_singular_values(&i_minus_b)
        .filter(|&(_, lo)| lo > 0.0)
        .ok_or_else(|| Error::Numerical("I − B is singular at x*: no implicit derivative".into()))?;
    let (cond, inv_norm) = (hi / lo, 1.0 / lo);
    let model = ToleranceModel::default();
    let x1 = x_star.rows(0, half).norm();
    // The error of the fixed point under both computations: the engine's bound, and a
    // client's fixed point solved to rounding.
    let delta = x_star_error + model.solve(n, cond, x_star.norm());
    // How far that moves each array: measured (first order), or from the certified
    // constants, ‖(I − B)^{-1}‖Γ♯‖d‖ (+ ‖Dx*‖ for the outer loss), when it cannot be.
    let bound = |dir: f64, outer: f64| inv_norm * constants.gamma_sharp.value * dir + outer;
    let sens = sensitivity(map, x_star, half, vw.0, vw.1).unwrap_or([
        bound(1.0, 0.0),
        bound(1.0, 0.0),
        bound(x1, constants.dx_star_norm),
    ]);
    let moved = |k: usize| if delta.is_finite() && sens[k].is_finite() { sens[k] * delta } else { 0.0 };
    let one = |k: usize, dir: f64| 2.0 * (model.solve(n + p, cond, inv_norm * c_norm * dir) + moved(k));
    // float32: the client's solve and fixed point in the float32 model, and the reference's
    // float64 bound (half the float64 tolerance).
    let d32 = n + d_step;
    let delta32 = x_star_error + super::precision::float32_product(n, x_star.norm()) * cond.max(1.0);
    let moved32 = |k: usize| if delta32.is_finite() && sens[k].is_finite() { sens[k] * delta32 } else { 0.0 };
    let one32 = |k: usize, dir: f64| {
        super::precision::float32_product(d32, inv_norm * c_norm * dir) * cond.max(1.0) + moved32(k) + one(k, dir) / 2.0
    };
    Ok(ImplicitTolerance {
        cond,
        tol: [one(0, 1.0), one(1, 1.0), one(2, x1)],
        tol32: [one32(0, 1.0), one32(1, 1.0), one32(2, x1)],
    })
}

/// What the implicit simulations need.
pub struct ImplicitSetup<'a> {
    /// The reference map.
    pub map: &'a dyn FixedPointMap,
    /// The engine's fixed point.
    pub x_star: &'a DVector<f64>,
    /// The last iterate `x_{K'}` of the reference.
    pub x_last: &'a DVector<f64>,
    /// `N`.
    pub half: usize,
    /// Tangent.
    pub v: &'a DVector<f64>,
    /// Cotangent.
    pub w: &'a DVector<f64>,
    /// The tolerances.
    pub tol: &'a ImplicitTolerance,
}

/// Each implicit bug class simulated (module docs).
fn candidates(s: &ImplicitSetup, reference: &ImplicitRows) -> Vec<(BugClass, ImplicitRows)> {
    let mut out = Vec::new();
    let n = s.map.dim_x();
    let b = s.map.d_x(s.x_star.as_view());
    let c = s.map.d_u(s.x_star.as_view());
    let transposed = (DMatrix::identity(n, n) - b.transpose()).lu().solve(&c);
    if let Some(dx) = transposed {
        out.push((BugClass::ImplicitTranspose, ImplicitRows::from_jacobian(&dx, s.x_star, s.half, s.v, s.w)));
    }
    let negated = ImplicitRows { jvp: -&reference.jvp, vjp: -&reference.vjp, hypergrad: -&reference.hypergrad };
    out.push((BugClass::ImplicitSign, negated));
    if s.x_last.iter().all(|v| v.is_finite())
        && let Ok(dx) = implicit_jacobian(s.map, s.x_last)
    {
        out.push((BugClass::ImplicitAtIterate, ImplicitRows::from_jacobian(&dx, s.x_last, s.half, s.v, s.w)));
    }
    out
}

/// Names the cause of the failing implicit arrays `failing` of `submitted` (in the order
/// of [`IMPLICIT`]) by simulating each implicit bug class: the closest class that
/// reproduces every failing array within its tolerance and every present array that passed,
/// else "cause unknown" for them.
pub fn diagnose(
    s: &ImplicitSetup,
    reference: &ImplicitRows,
    submitted: &[(&str, &Array)],
    failing: &[&str],
) -> Diagnosis {
    let get = |q: &str| submitted.iter().find(|(n, _)| *n == q).map(|(_, a)| *a);
    let mut best: Option<(BugClass, f64)> = None;
    for (class, rows) in candidates(s, reference) {
        let mut worst = 0.0f64;
        let all = failing.iter().all(|&q| {
            let Some(a) = get(q) else { return false };
            let tol = s.tol.of(q, a.float32);
            match distance(a, rows.rows(q), |_| tol) {
                Some((d, true)) => {
                    worst = worst.max(d);
                    true
                }
                _ => false,
            }
        });
        // A class that changes a present implicit array that passed is ruled out (the
        // unrolled rule of `super::cause`, module docs there).
        let passing = submitted.iter().filter(|(q, _)| !failing.contains(q)).all(|&(q, a)| {
            let tol = s.tol.of(q, a.float32);
            matches!(distance(a, rows.rows(q), |_| tol), Some((_, true)))
        });
        if all && passing && best.is_none_or(|(_, d)| worst < d) {
            best = Some((class, worst));
        }
    }
    match best {
        Some((class, d)) => Diagnosis {
            confirmed: vec![Confirmed {
                class,
                fitted: None,
                value: None,
                quantities: failing.iter().map(|q| q.to_string()).collect(),
                distance: d,
            }],
            unexplained: Vec::new(),
            first_unexplained: false,
            ruled_out: Vec::new(),
        },
        None => Diagnosis {
            confirmed: Vec::new(),
            unexplained: failing.iter().map(|q| q.to_string()).collect(),
            first_unexplained: true,
            ruled_out: Vec::new(),
        },
    }
}
