//! Lemma 6: `‖Dx*‖ ≤ κ/(1 − ρ)` (its proof) and the bound (17) with the constant `Γ` of (18).
//!
//! - `lem6.dxstar_bound`: `‖Dx*‖ ≤ κ/(1 − ρ)`.
//! - `lem6.gamma`: `‖(B_k − B)Dx* + C_k − C‖ ≤ Γ e_k` at every iterate, with
//!   `Γ = M_x κ/(1−ρ) + M_u`; the reading `gamma_sharp` uses `Γ♯ = M_x‖Dx*‖ + M_u`, which
//!   the same proof gives. On the ridge-weight family `B_k = B` and `C_k − C = −α(x_k − x*)`,
//!   so (17) holds with *equality*: a test of the tolerance model (both sides agree to
//!   rounding; the control `gamma_98pc` must still be caught).

use super::{Assumption, Case, Checker, Claim, Config, GAMMA_SHARP, Kind, PAPER, Point, Role, VariantInfo, Verdict};
use crate::linalg::spectral_norm;
use crate::map::FixedPointMap;

/// `lem6.dxstar_bound`.
pub const DXSTAR_BOUND: Claim = Claim {
    id: "lem6.dxstar_bound",
    equation: "proof of Lemma 6",
    statement: "‖Dx*‖ ≤ κ/(1 − ρ)",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[PAPER, VariantInfo { name: "half", role: Role::Control, description: "‖Dx*‖ ≤ κ/(2(1 − ρ))" }],
    run: dxstar_bound,
};

fn dxstar_bound(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let c = &case.inst.constants;
    let rhs = c.map.kappa.value / (1.0 - c.rho()) * if variant == "half" { 0.5 } else { 1.0 };
    let mut ch = Checker::new(DXSTAR_BOUND.id, variant, case.spec).k_free();
    let tol = case.dx_star_error(cfg, c.dx_star_norm) + cfg.tol.product(2, rhs);
    ch.leq(Point { k: 0, t: None }, c.dx_star_norm, rhs, tol);
    ch.verdict()
}

/// `lem6.gamma`.
pub const GAMMA: Claim = Claim {
    id: "lem6.gamma",
    equation: "(17)–(18)",
    statement: "‖(B_k − B)Dx* + C_k − C‖ ≤ Γ e_k, Γ = M_x κ/(1−ρ) + M_u",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        GAMMA_SHARP,
        VariantInfo { name: "half_gamma", role: Role::Control, description: "with Γ/2 in place of Γ" },
        VariantInfo {
            name: "gamma_98pc",
            role: Role::Control,
            description: "with 0.98 Γ (a 2 % violation on the ridge-weight family, where (17) is an equality)",
        },
    ],
    run: gamma,
};

fn gamma(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let run = case.run();
    let c = &inst.constants;
    let g = match variant {
        "gamma_sharp" => c.gamma_sharp.value,
        "half_gamma" => 0.5 * c.gamma.value,
        "gamma_98pc" => 0.98 * c.gamma.value,
        _ => c.gamma.value,
    };
    let xs = inst.x_star.as_view();
    let (b, cc) = (inst.map.d_x(xs), inst.map.d_u(xs));
    let (nb, nc, nd) = (spectral_norm(&b), spectral_norm(&cc), c.dx_star_norm);
    let mut ch = Checker::new(GAMMA.id, variant, case.spec);
    for k in 0..=case.k {
        let (bk, ck) = (case.lin().b(k), case.lin().c(k));
        let lhs = spectral_norm(&((bk - &b) * &inst.dx_star + ck - &cc));
        let operands = (spectral_norm(bk) + nb) * nd + spectral_norm(ck) + nc;
        let rhs = g * run.curves.e[k];
        let tol = cfg.tol.product(case.dim(), operands) + g * case.tol_iterate(cfg, k);
        ch.leq(Point { k, t: None }, lhs, rhs, tol);
    }
    ch.verdict()
}
