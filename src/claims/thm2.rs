//! Theorem 2: the linear rate (8) of the iterates and the implicit Jacobian (6).
//!
//! - `thm2.rate` (8): `e_k ≤ ρ^k e_0` for every `k ≤ K`.
//! - `thm2.implicit` (6): `Dx* = (I − B)^{-1} C` equals the derivative of the solution map,
//!   against central finite differences of `u ↦ x*(u)` with a Richardson error estimate:
//!   with `D_h` and `D_{h/2}` the differences at steps `h` and `h/2`, the truncation error of
//!   `D_{h/2}` is about `‖D_h − D_{h/2}‖/3`, and its rounding error is `≤ c·ε·cond·‖x*‖/h`
//!   per column. The tolerance is `‖D_h − D_{h/2}‖ + 2·a·c·ε·d·cond·‖x*‖/h`, with `a = 1`
//!   for central differences and `a = 4` for the one-sided ones used at the boundary of the
//!   parameter's domain (a ridge weight `λ < h`): the steps never leave the domain; plus
//!   the error of the computed `Dx*` itself ([`Case::dx_star_error`]: its solve with the
//!   computed `cond(I − B)`, and the error `δ*` of `x̂*` carried through `(I − B)^{-1}`).

use super::{Assumption, Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict, scored};
use crate::bounds::bound_8;
use crate::linalg::spectral_norm;
use crate::map::FixedPointMap;
use crate::tol::EPS;
use nalgebra::{DMatrix, DVector};

/// `thm2.rate`.
pub const RATE: Claim = Claim {
    id: "thm2.rate",
    equation: "(8)",
    statement: "e_k ≤ ρ^k e_0",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction],
    variants: &[
        PAPER,
        VariantInfo {
            name: "rho_k_plus_1",
            role: Role::Control,
            description: "e_k ≤ ρ^{k+1} e_0 (one factor ρ too many)",
        },
    ],
    run: rate,
};

fn rate(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let run = case.run();
    let rho = case.inst.constants.rho();
    let e = &run.curves.e;
    let shift = usize::from(variant == "rho_k_plus_1");
    let mut ch = Checker::new(RATE.id, variant, case.spec);
    for (k, &ek) in e.iter().enumerate() {
        let rhs = bound_8(rho, k + shift, e[0]);
        scored(k)(
            &mut ch,
            Point { k, t: None },
            ek,
            rhs,
            case.tol_iterate(cfg, k) + cfg.tol.closed_form(rhs, rho, k as f64),
        );
    }
    ch.verdict()
}

/// `thm2.implicit`.
pub const IMPLICIT: Claim = Claim {
    id: "thm2.implicit",
    equation: "(6)",
    statement: "Dx* = (I − B)^{-1} C equals the derivative of u ↦ x*(u) (central finite differences)",
    kind: Kind::Equality,
    requires: &[Assumption::Contraction],
    variants: &[
        PAPER,
        VariantInfo {
            name: "forget_inverse",
            role: Role::Control,
            description: "Dx* = C (the factor (I − B)^{-1} forgotten)",
        },
    ],
    run: implicit,
};

/// Finite differences of `u ↦ x*(u)` with steps `h_j = scale·max(1, |u_j|)`: central,
/// `(x*(u + h) − x*(u − h))/(2h)`, where both points lie in the parameter's domain; at a
/// boundary of the domain (e.g. a ridge weight `λ < h`, where `x*(λ − h)` does not exist
/// or is not finite) the one-sided second-order formula `(−3x*(u) + 4x*(u ± h) −
/// x*(u ± 2h))/(±2h)`, which stays inside the domain and has the same `O(h²)` truncation
/// error. Returns the differences, the smallest step and the rounding amplification: the
/// sum of the absolute weights times `h` (1 central, 4 one-sided).
pub fn fd_solution_map<M: FixedPointMap + ?Sized>(map: &M, scale: f64) -> crate::Result<(DMatrix<f64>, f64, f64)> {
    let re = map
        .capabilities()
        .reparameterise
        .ok_or_else(|| crate::Error::Numerical(format!("{} has no parameter to perturb", map.name())))?;
    let u = re.param();
    let at = |j: usize, shift: f64| -> crate::Result<DVector<f64>> {
        let mut v: DVector<f64> = u.clone();
        v[j] += shift;
        let x = re.fixed_point_at(&v)?;
        if x.iter().all(|e| e.is_finite()) {
            Ok(x)
        } else {
            Err(crate::Error::Numerical(format!("x*(u) is not finite at u[{j}] = {}", v[j])))
        }
    };
    let mut d = DMatrix::zeros(map.dim_x(), u.len());
    let (mut hmin, mut amplification) = (f64::INFINITY, 1.0f64);
    for j in 0..u.len() {
        let h = scale * u[j].abs().max(1.0);
        hmin = hmin.min(h);
        let col = match (at(j, h), at(j, -h)) {
            (Ok(up), Ok(dn)) => (up - dn) / (2.0 * h),
            (up, dn) => {
                // One-sided, towards the side that exists.
                let (sign, near) = if up.is_ok() { (1.0, up?) } else { (-1.0, dn?) };
                let far = at(j, 2.0 * sign * h)?;
                let centre = at(j, 0.0)?;
                amplification = amplification.max(4.0);
                (near * 4.0 - far - centre * 3.0) / (2.0 * sign * h)
            }
        };
        d.set_column(j, &col);
    }
    Ok((d, hmin, amplification))
}

fn implicit(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let mut ch = Checker::new(IMPLICIT.id, variant, case.spec).k_free();
    let h = EPS.cbrt();
    let (d_h, hmin, amplification, d_h2) = match (fd_solution_map(&inst.map, h), fd_solution_map(&inst.map, h / 2.0)) {
        (Ok((d_h, hmin, a)), Ok((d_h2, _, a2))) => (d_h, hmin, a.max(a2), d_h2),
        (Err(e), _) | (_, Err(e)) => {
            return Verdict::NumericalFailure {
                cause: format!("the finite differences of u ↦ x*(u) failed: {e}"),
                at: Point { k: 0, t: None },
            };
        }
    };
    let claimed = if variant == "forget_inverse" { inst.map.d_u(inst.x_star.as_view()) } else { inst.dx_star.clone() };
    let richardson = spectral_norm(&(&d_h - &d_h2));
    let rounding =
        2.0 * amplification * cfg.tol.solve(case.dim(), case.solve_cond(), inst.x_star.norm().max(1.0)) / (hmin / 2.0);
    // The claimed side's own error: the computed `Dx*` (solve and `δ*`, `Case::dx_star_error`).
    let claimed_error =
        if variant == "forget_inverse" { 0.0 } else { case.dx_star_error(cfg, case.inst.constants.dx_star_norm) };
    ch.equal(Point { k: 0, t: None }, spectral_norm(&(claimed - d_h2)), richardson + rounding + claimed_error);
    ch.verdict()
}
