//! Theorem 2: the linear rate (8) of the iterates and the implicit Jacobian (6).
//!
//! - `thm2.rate` (8): `e_k ≤ ρ^k e_0` for every `k ≤ K`.
//! - `thm2.implicit` (6): `Dx* = (I − B)^{-1} C` equals the derivative of the solution map,
//!   against central finite differences of `u ↦ x*(u)` with a Richardson error estimate:
//!   with `D_h` and `D_{h/2}` the differences at steps `h` and `h/2`, the truncation error of
//!   `D_{h/2}` is about `‖D_h − D_{h/2}‖/3`, and its rounding error is `≤ c·ε·cond·‖x*‖/h`
//!   per column. The tolerance is `‖D_h − D_{h/2}‖ + 2·c·ε·d·cond·‖x*‖/h`.

use super::{Assumption, Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict, scored};
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
    let shift = i32::from(variant == "rho_k_plus_1");
    let mut ch = Checker::new(RATE.id, variant, case.spec);
    for (k, &ek) in e.iter().enumerate() {
        let rhs = rho.powi(k as i32 + shift) * e[0];
        scored(k)(&mut ch, Point { k, t: None }, ek, rhs, case.tol_e(cfg, k) + cfg.tol.closed_form(rhs, rho, k as f64));
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

/// Central differences of `u ↦ x*(u)` with steps `h_j = scale·max(1, |u_j|)`.
pub fn fd_solution_map<M: FixedPointMap + ?Sized>(map: &M, scale: f64) -> crate::Result<(DMatrix<f64>, f64)> {
    let u =
        map.param().ok_or_else(|| crate::Error::Numerical(format!("{} has no parameter to perturb", map.name())))?;
    let mut d = DMatrix::zeros(map.dim_x(), u.len());
    let mut hmin = f64::INFINITY;
    for j in 0..u.len() {
        let h = scale * u[j].abs().max(1.0);
        hmin = hmin.min(h);
        let mut up: DVector<f64> = u.clone();
        up[j] += h;
        let mut dn = u.clone();
        dn[j] -= h;
        let col = (map.fixed_point_at(&up)? - map.fixed_point_at(&dn)?) / (2.0 * h);
        d.set_column(j, &col);
    }
    Ok((d, hmin))
}

fn implicit(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let mut ch = Checker::new(IMPLICIT.id, variant, case.spec);
    let h = EPS.cbrt();
    let (Ok((d_h, hmin)), Ok((d_h2, _))) = (fd_solution_map(&inst.map, h), fd_solution_map(&inst.map, h / 2.0)) else {
        ch.equal(Point { k: 0, t: None }, f64::NAN, 0.0);
        return ch.verdict();
    };
    let claimed = if variant == "forget_inverse" { inst.map.d_u(inst.x_star.as_view()) } else { inst.dx_star.clone() };
    let richardson = spectral_norm(&(&d_h - &d_h2));
    let rounding = 2.0 * cfg.tol.solve(case.dim(), case.solve_cond(), inst.x_star.norm().max(1.0)) / (hmin / 2.0);
    ch.equal(Point { k: 0, t: None }, spectral_norm(&(claimed - d_h2)), richardson + rounding);
    ch.verdict()
}
