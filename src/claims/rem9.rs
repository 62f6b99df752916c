//! Remark 9(iii): the local version of Theorem 8, (21) with the constants of the ball the
//! late-started run lives in.
//!
//! With A2.1 and A2.2 replaced by their local counterparts, Remark 9(iii) says the
//! late-started derivative iterates `Ẋ_{T'}^{(k)}` still converge, the bounds holding only
//! asymptotically, and that truncation is then "even more relevant, as it avoids the
//! unpredictable behavior of the earlier algorithm iterates". The reading checked here
//! (claim `rem9.local`): the derivative recursion started late at `T'` (from
//! `Ẋ_{T'}^{(0)} = Dx_0`, as in (20)) sees only the iterates `x_{T'}, x_{T'+1}, …`, which lie
//! in the ball `B_{T'}` of radius `r_{T'} = e_{T'} + τ_x(T')` around `x*`
//! ([`super::rem5::entry_ball`]); so for every late start `T'` of the configuration and
//! `k = 0, …, K − T'`:
//! 1. the iterates stay in the ball: `e_{T'+k} ≤ r_{T'}`;
//! 2. (21) with the ball's constants `ρ_{T'}`, `Γ_{T'}`:
//!    `ė_{T'}^{(k)} ≤ ρ_{T'}^k ė_0 + kρ_{T'}^{k−1}Γ_{T'} e_{T'}` ([`rhs_21`] at `T' = 0` on
//!    the late-started run: Theorem 7's proof from `(x_{T'}, Dx_0)`).
//!
//! With the global constants and `e_{T'} ≤ ρ^{T'}e_0` (8) the right-hand side becomes (21)'s
//! `ρ^kė_0 + kρ^{k+T'−1}Γe_0`; the local form keeps the measured `e_{T'}` (the sharper
//! quantity the proof uses) and the constants of the smaller ball, which is how the late
//! start "avoids" the early iterates: their larger `‖D_xA‖` never enters. Assumptions: A2.1
//! and A2.2 on the instance's ball `‖x − x*‖ ≤ e_0`, else *not applicable*.
//!
//! Variants (the controls of `rem5.local`, here on the late-started runs):
//! - `paper`;
//! - `half_ball` (control): the ball of radius `r_{T'}/2`: `x_{T'}` lies outside it;
//! - `gamma_90pc` (control): the ball's `Γ_{T'}` scaled by 0.9, caught where the bound is
//!   tight (the tight data of (19), from `T' = 0`).

use super::rem5::{check_containment, entry_ball, local_gamma};
use super::{Assumption, Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict, scored};
use crate::bounds::rhs_21;
use crate::linalg::spectral_norm;

/// `rem9.local`.
pub const LOCAL: Claim = Claim {
    id: "rem9.local",
    equation: "Rem. 9(iii)",
    statement: "(21) with the constants of the ball ‖x − x*‖ ≤ r_{T'} (r_{T'} = e_{T'} + rounding) that holds x_k for k ≥ T': ė_{T'}^{(k)} ≤ ρ_{T'}^k ė_0 + kρ_{T'}^{k−1}Γ_{T'} e_{T'} for every late start T'",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        VariantInfo {
            name: "half_ball",
            role: Role::Control,
            description: "the ball of radius r_{T'}/2 and its constants (x_{T'} lies outside it: caught by e_k ≤ r)",
        },
        VariantInfo {
            name: "gamma_90pc",
            role: Role::Control,
            description: "with 0.9 Γ_{T'} (the local constants shrunk; caught where the bound is tight)",
        },
    ],
    run: local,
};

fn local(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let e = &case.run().curves.e;
    let edot0 = spectral_norm(&(&inst.dx0 - &inst.dx_star));
    let mut ch = Checker::new(LOCAL.id, variant, case.spec);
    for t in case.t_primes(cfg) {
        let (r, c) = match entry_ball(case, cfg, t, variant) {
            Ok(b) => b,
            Err(cause) => return Verdict::NumericalFailure { cause, at: Point { k: 0, t: Some(t) } },
        };
        check_containment(&mut ch, case, cfg, t, r);
        let (rho, g) = (c.rho(), local_gamma(&c, variant));
        for (k, &lhs) in case.late_start_errors(t, case.k - t).iter().enumerate() {
            let kf = k as f64;
            let rhs = rhs_21(kf, 0.0, rho, edot0, g, e[t]);
            // As `thm8.bound`: the rounding of the late-started run, the bound applied to
            // the errors of its inputs ė_0 and e_{T'}, and the closed form's rounding.
            let inputs = rhs_21(kf, 0.0, rho, case.tol_jacobian(cfg, 0), g, case.tol_iterate(cfg, t));
            let tol = case.tol_jacobian(cfg, k) + inputs + cfg.tol.closed_form(rhs, rho, kf);
            scored(k)(&mut ch, Point { k, t: Some(t) }, lhs, rhs, tol);
        }
    }
    ch.verdict()
}
