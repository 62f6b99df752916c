//! Remark 5(i): the local version of Theorem 7, (19) with constants valid on a ball.
//!
//! Remark 5(i) says that *local* Lipschitz continuity and bound conditions suffice for the
//! asymptotic convergence of `Dx^{(k)}`; Remark 9(iii) adds that with the local counterparts
//! of A2.1 and A2.2 the linear bounds of Theorems 7 and 8 "hold only asymptotically". The
//! reading checked here (claim `rem5.local`) makes "asymptotically" concrete: the bound
//! holds from every *entry index* `k₀` on, with the constants certified on the ball the
//! iterates occupy from `k₀` on.
//!
//! **The ball of an entry index.** For `k₀` among the late-start indices `T' = ⌊fK⌋` of the
//! configuration, the ball is `B_{k₀} = {x : ‖x − x̂*‖ ≤ r_{k₀}}`,
//! `r_{k₀} = e_{k₀} + τ_x(k₀)` ([`entry_ball`]): the measured distance of `x_{k₀}` from the
//! computed fixed point, widened by the rounding `τ_x(k₀)` of `e_{k₀}`
//! ([`Case::tol_iterate`], which includes twice the error of `x̂*`), so that it holds the
//! exact iterate. The map certifies its constants on that ball
//! ([`crate::map::FixedPointMap::constants`]): `ρ_{k₀} ≥ sup_{B_{k₀}} ‖D_xA‖` and `M_x`,
//! `M_u`, `κ` over `B_{k₀}`, with `Γ_{k₀} = M_xκ/(1 − ρ_{k₀}) + M_u` of (18)
//! ([`crate::constants::Constants::new`]). Where a family's constants do not depend on the
//! ball (ridge: `M_x = 0`, `Γ = M_u` global) they are the instance's; on pseudo-Huber and
//! logistic regression the local `μ` (hence `ρ`) and `κ` improve as the ball shrinks.
//!
//! **The two checks**, for every entry index `k₀` and `j = 0, …, K − k₀`:
//! 1. *the iterates stay in the ball*: `e_{k₀+j} ≤ r_{k₀}` (a contraction on `B_{k₀}` maps
//!    it into itself, so the local constants apply to every later iterate);
//! 2. *(19) restarted at `k₀` with the ball's constants*:
//!    `ė_{k₀+j} ≤ ρ_{k₀}^j ė_{k₀} + jρ_{k₀}^{j−1}Γ_{k₀} e_{k₀}` ([`rhs_21`] at `T' = 0`),
//!    which is the proof of Theorem 7 run from `(x_{k₀}, Ẋ_{k₀})`: every step uses
//!    `‖B_k‖ ≤ ρ_{k₀}` and Lemma 6 on the segment `[x_k, x*] ⊂ B_{k₀}` only.
//!
//! At `k₀ = 0` this is `thm7.bound` on a ball widened by `τ_x(0)`; as `k₀` grows, the
//! constants tend to those at `x*` (the asymptotic regime of the remark). Assumptions:
//! A2.1 and A2.2 on the instance's ball `‖x − x*‖ ≤ e_0` (the largest ball used; a smaller
//! ball's constants are no worse), else *not applicable*.
//!
//! Variants:
//! - `paper`: the two checks above;
//! - `half_ball` (control): the ball of radius `r_{k₀}/2` and its constants: the iterate
//!   `x_{k₀}` lies outside it, caught by check 1;
//! - `gamma_90pc` (control): the ball's `Γ_{k₀}` scaled by 0.9 (the local constants
//!   shrunk), caught where the restarted bound is tight: on the tight data of (19)
//!   (`Data::Tight`, ridge weight from the origin) (19) is an equality, and so is its restart
//!   at every `k₀` (`ρ^jė_{k₀} + jρ^{j−1}Γe_{k₀} = ρ^{k₀+j}ė_0 + (k₀+j)ρ^{k₀+j−1}Γe_0` there).
//!
//! A third false reading was tried and is *not* a control: the constants of the ball of
//! radius 0 (those at `x*`, the limit of the local constants) from every `k₀` without the
//! ball check — the non-asymptotic bound claimed with the asymptotic constants. It was never
//! violated (256 generated cases of the control set; on pseudo-Huber weight from
//! `x0_sigma = 20`, smallest margin 0.69 against 0.74 with the ball's constants): the
//! certified `Γ` (with the global worst case `M_x` of the loss) leaves more room than the
//! local `μ` and `κ` take away.

use super::{Assumption, Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict, scored};
use crate::bounds::rhs_21;
use crate::constants::Constants;
use crate::problem::Ball;

/// `rem5.local`.
pub const LOCAL: Claim = Claim {
    id: "rem5.local",
    equation: "Rem. 5(i)",
    statement: "(19) restarted at every entry index k₀ with the constants of the ball ‖x − x*‖ ≤ r_{k₀} (r_{k₀} = e_{k₀} + rounding) that holds x_k for k ≥ k₀: ė_{k₀+j} ≤ ρ_{k₀}^j ė_{k₀} + jρ_{k₀}^{j−1}Γ_{k₀} e_{k₀}",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        VariantInfo {
            name: "half_ball",
            role: Role::Control,
            description: "the ball of radius r_{k₀}/2 and its constants (x_{k₀} lies outside it: caught by e_k ≤ r)",
        },
        VariantInfo {
            name: "gamma_90pc",
            role: Role::Control,
            description: "with 0.9 Γ_{k₀} (the local constants shrunk; caught where the restarted (19) is tight)",
        },
    ],
    run: local,
};

/// The ball of entry index `k0` under a variant and the constants certified on it:
/// `(r, constants)`, `r = e_{k₀} + τ_x(k₀)` (halved by the control `half_ball`). `Err`
/// carries the reason the map could not certify them.
pub fn entry_ball(case: &Case, cfg: &Config, k0: usize, variant: &str) -> Result<(f64, Constants), String> {
    let e = case.run().curves.e[k0];
    let full = e + case.tol_iterate(cfg, k0);
    let radius = match variant {
        "half_ball" => 0.5 * full,
        _ => full,
    };
    let inst = &case.inst;
    let ball = Ball { center: inst.x_star.clone(), radius };
    let map = inst.map.constants(&ball).map_err(|e| format!("the constants on the ball of radius {radius:e}: {e}"))?;
    Ok((radius, Constants::new(map, inst.constants.dx_star_norm)))
}

/// `Γ` of the ball's constants, scaled by 0.9 for the control `gamma_90pc`.
pub(crate) fn local_gamma(c: &Constants, variant: &str) -> f64 {
    if variant == "gamma_90pc" { 0.9 * c.gamma.value } else { c.gamma.value }
}

/// The ball check (1. of the module docs) from `k0` on, with the radius `r`.
pub(crate) fn check_containment(ch: &mut Checker, case: &Case, cfg: &Config, k0: usize, r: f64) {
    let e = &case.run().curves.e;
    for (k, &ek) in e.iter().enumerate().skip(k0) {
        ch.leq_unscored(Point { k, t: Some(k0) }, ek, r, case.tol_iterate(cfg, k));
    }
}

fn local(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let run = case.run();
    let (e, ed) = (&run.curves.e, &run.curves.edot);
    let mut ch = Checker::new(LOCAL.id, variant, case.spec);
    for k0 in case.t_primes(cfg) {
        let (r, c) = match entry_ball(case, cfg, k0, variant) {
            Ok(b) => b,
            Err(cause) => return Verdict::NumericalFailure { cause, at: Point { k: k0, t: Some(k0) } },
        };
        check_containment(&mut ch, case, cfg, k0, r);
        let (rho, g) = (c.rho(), local_gamma(&c, variant));
        for j in 0..=case.k - k0 {
            let k = k0 + j;
            let jf = j as f64;
            let rhs = rhs_21(jf, 0.0, rho, ed[k0], g, e[k0]);
            // As `thm7.bound`: the rounding of ė_k, (19) applied to the errors of its
            // inputs ė_{k₀} and e_{k₀}, and the closed form's own rounding.
            let tol = case.tol_jacobian(cfg, k)
                + rhs_21(jf, 0.0, rho, case.tol_jacobian(cfg, k0), g, case.tol_iterate(cfg, k0))
                + cfg.tol.closed_form(rhs, rho, jf);
            scored(j)(&mut ch, Point { k, t: Some(k0) }, ed[k], rhs, tol);
        }
    }
    ch.verdict()
}
