//! Theorem 7: the recursion (14) along real runs and the bound (19).
//!
//! - `thm7.recursion`: `ė_{k+1} ≤ ρ ė_k + Γ e_k` (the step of the proof in A.3);
//! - `thm7.bound` (19): `ė_k ≤ ρ^k ė_0 + kρ^{k−1} Γ e_0`, the curse term `kρ^{k−1}Γe_0`
//!   being the source of the initial growth.

use super::{
    Assumption, Case, Checker, Claim, Config, GAMMA_SHARP, Kind, PAPER, Point, Role, VariantInfo, Verdict, scored,
};
use crate::bounds::rhs_21;

/// `thm7.recursion`.
pub const RECURSION: Claim = Claim {
    id: "thm7.recursion",
    equation: "(14) on real runs",
    statement: "ė_{k+1} ≤ ρ ė_k + Γ e_k along every unrolled run",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        GAMMA_SHARP,
        VariantInfo {
            name: "no_gamma_term",
            role: Role::Control,
            description: "ė_{k+1} ≤ ρ ė_k (the Γ e_k term dropped)",
        },
    ],
    run: recursion,
};

fn pick_gamma(case: &Case, variant: &str) -> f64 {
    let c = &case.inst.constants;
    match variant {
        "gamma_sharp" => c.gamma_sharp.value,
        "no_gamma_term" | "no_curse_term" => 0.0,
        _ => c.gamma.value,
    }
}

fn recursion(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let run = case.run();
    let (rho, g) = (case.inst.constants.rho(), pick_gamma(case, variant));
    let (e, ed) = (&run.curves.e, &run.curves.edot);
    let mut ch = Checker::new(RECURSION.id, variant, case.spec);
    for k in 0..case.k {
        let rhs = rho * ed[k] + g * e[k];
        let tol = case.tol_jacobian(cfg, k + 1) + rho * case.tol_jacobian(cfg, k) + g * case.tol_iterate(cfg, k);
        ch.leq(Point { k: k + 1, t: None }, ed[k + 1], rhs, tol);
    }
    ch.verdict()
}

/// `thm7.bound`.
pub const BOUND: Claim = Claim {
    id: "thm7.bound",
    equation: "(19)",
    statement: "ė_k ≤ ρ^k ė_0 + kρ^{k−1} Γ e_0",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        GAMMA_SHARP,
        VariantInfo {
            name: "no_curse_term",
            role: Role::Control,
            description: "ė_k ≤ ρ^k ė_0 (the curse term kρ^{k−1}Γe_0 dropped)",
        },
    ],
    run: bound,
};

fn bound(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let run = case.run();
    let (rho, g) = (case.inst.constants.rho(), pick_gamma(case, variant));
    let (e, ed) = (&run.curves.e, &run.curves.edot);
    let mut ch = Checker::new(BOUND.id, variant, case.spec);
    for (k, &edk) in ed.iter().enumerate() {
        let rhs = rhs_21(k as f64, 0.0, rho, ed[0], g, e[0]);
        let tol = case.tol_jacobian(cfg, k)
            + rhs_21(k as f64, 0.0, rho, case.tol_jacobian(cfg, 0), g, case.tol_iterate(cfg, 0))
            + cfg.tol.closed_form(rhs, rho, k as f64);
        scored(k)(&mut ch, Point { k, t: None }, edk, rhs, tol);
    }
    ch.verdict()
}
