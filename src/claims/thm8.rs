//! Theorem 8: the bound (21) with truncation (late start at `T'`):
//! `ė_{T'}^{(k)} ≤ ρ^k ė_0 + kρ^{k+T'−1} Γ e_0` for every `T'` and `k`, where
//! `ė_{T'}^{(k)} = ‖Ẋ_{T'}^{(k)} − Dx*‖` and `Ẋ_{T'}^{(0)} = Dx_0`.

use super::{
    Assumption, Case, Checker, Claim, Config, GAMMA_SHARP, Kind, PAPER, Point, Role, VariantInfo, Verdict, scored,
};
use crate::bounds::rhs_21;
use crate::linalg::spectral_norm;

/// `thm8.bound`.
pub const BOUND: Claim = Claim {
    id: "thm8.bound",
    equation: "(21)",
    statement: "ė_{T'}^{(k)} ≤ ρ^k ė_0 + kρ^{k+T'−1} Γ e_0 for every late-start index T'",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        GAMMA_SHARP,
        VariantInfo {
            name: "no_curse_term",
            role: Role::Control,
            description: "ė_{T'}^{(k)} ≤ ρ^k ė_0 (the curse term dropped)",
        },
    ],
    run: bound,
};

fn bound(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let run = case.run();
    let c = &inst.constants;
    let rho = c.rho();
    let g = match variant {
        "gamma_sharp" => c.gamma_sharp.value,
        "no_curse_term" => 0.0,
        _ => c.gamma.value,
    };
    let e0 = run.curves.e[0];
    let edot0 = spectral_norm(&(&inst.dx0 - &inst.dx_star));
    let mut ch = Checker::new(BOUND.id, variant, case.spec);
    for t in case.t_primes(cfg) {
        let steps = case.k - t;
        let fwd = case.late_start_jacobians(t, steps, &inst.dx0);
        for (k, j) in fwd.iter().enumerate() {
            let lhs = spectral_norm(&(j - &inst.dx_star));
            let rhs = rhs_21(k as f64, t as f64, rho, edot0, g, e0);
            // The rounding of the two sides, plus the bound (21) applied to the errors of
            // its own inputs ė_0 and e_0.
            let inputs = rhs_21(k as f64, t as f64, rho, case.tol_jacobian(cfg, 0), g, case.tol_iterate(cfg, 0));
            let tol = case.tol_jacobian(cfg, k) + inputs + cfg.tol.closed_form(rhs, rho, (k + t) as f64);
            scored(k)(&mut ch, Point { k, t: Some(t) }, lhs, rhs, tol);
        }
    }
    ch.verdict()
}
