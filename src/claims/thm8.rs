//! Theorem 8: the bound (21) with truncation (late start at `T'`):
//! `ė_{T'}^{(k)} ≤ ρ^k ė_0 + kρ^{k+T'−1} Γ e_0` for every `T'` and `k`, where
//! `ė_{T'}^{(k)} = ‖Ẋ_{T'}^{(k)} − Dx*‖` and `Ẋ_{T'}^{(0)} = Dx_0`: `thm8.bound` at the
//! configured late starts within the horizon, `thm8.budget` ([`BUDGET`]) at the late starts
//! `T' = T + ωT` of the budgets of (22), up to `3.2K`.

use super::{
    Assumption, Case, Checker, Claim, Config, GAMMA_SHARP, Kind, LateStart, PAPER, Point, Role, VariantInfo, Verdict,
    scored,
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
        for (k, &lhs) in case.late_start_errors(t, steps).iter().enumerate() {
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

/// The truncations `T = ⌊fK⌋` of [`BUDGET`], as fractions `f` of `K`: at `ω = 3` the late
/// starts `T' = T + ωT` reach `3.2K`, Appendix C's largest.
pub const BUDGET_FRACTIONS: [f64; 6] = [0.0, 0.1, 0.2, 0.4, 0.6, 0.8];

/// `thm8.budget`: (21) at the late starts of the budgets of (22).
///
/// Section 4.3 reallocates `ωT` of the `K` derivative steps to idle iterations: the
/// derivative recursion starts at `T' = T + ωT` (of `K' = K + ωT` iterations) and runs
/// `K − T` steps, and (22) is (21) at `k = K − T` with that `T'`, `h(T) = ρ^{K−T}ė_0 +
/// (K−T)ρ^{K+ωT−1}Γe_0`. `thm8.bound` runs its late starts within the horizon (`T' ≤ K`);
/// this claim runs them where the budgets put them, up to `T' = 3.2K` ([`BUDGET_FRACTIONS`],
/// `ω` of the configuration rounded down to an integer `T'`): for every `T` and
/// `k = 0, …, K − T`, `ė_{T'}^{(k)} ≤ ρ^kė_0 + kρ^{k+T'−1}Γe_0` ([`rhs_21`]; at `k = K − T`
/// the right-hand side is `h(T)` when `ωT` is an integer). The iterates beyond `2K` are run
/// here (one trajectory to `K + ωT_max`) and the derivative recursion streams over them
/// (`B_k`, `C_k` formed one at a time); on a double-double case (certification) only the
/// late starts within its `2K + 1` iterates are compared. Variants: `paper`; the controls
/// `no_curse_term` (caught where the curse shows) and `t_prime_equals_t` (the run started at
/// `T` while the bound credits `T' = T + ωT`: the idle iterations skipped; caught where the
/// curse term dominates).
pub const BUDGET: Claim = Claim {
    id: "thm8.budget",
    equation: "(21) at (22)",
    statement: "ė_{T'}^{(k)} ≤ ρ^k ė_0 + kρ^{k+T'−1} Γ e_0 at the late starts T' = T + ωT of the budgets of (22), T = ⌊fK⌋, f ∈ {0, 0.1, 0.2, 0.4, 0.6, 0.8} (T' up to 3.2K), k ≤ K − T (at k = K − T: h(T))",
    kind: Kind::Inequality,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        VariantInfo {
            name: "no_curse_term",
            role: Role::Control,
            description: "ė_{T'}^{(k)} ≤ ρ^k ė_0 (the curse term dropped)",
        },
        VariantInfo {
            name: "t_prime_equals_t",
            role: Role::Control,
            description: "the derivative run started at T while the bound credits T' = T + ωT (the ωT idle iterations skipped)",
        },
    ],
    run: budget,
};

fn budget(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let inst = &case.inst;
    let c = &inst.constants;
    let (rho, g) = (c.rho(), if variant == "no_curse_term" { 0.0 } else { c.gamma.value });
    let e0 = case.run().curves.e[0];
    let edot0 = spectral_norm(&(&inst.dx0 - &inst.dx_star));
    let omega = cfg.omega.max(0.0);
    let Some(budgets) = budgets(case.k, omega) else {
        return Verdict::NumericalFailure {
            cause: format!(
                "the late starts T' = ⌊T(1 + ω)⌋ at ω = {omega:e} (K = {}) are not representable indices: \
                 ω is beyond the configuration's bound of {}",
                case.k,
                super::OMEGA_MAX
            ),
            at: Point { k: 0, t: None },
        };
    };
    // One trajectory long enough for every budget (its first K + 1 iterates are the run's).
    let k_long = budgets.iter().map(|&(_, _, end)| end).max().unwrap_or(case.k);
    let traj = (!case.is_refined()).then(|| inst.run(k_long));
    let mut ch = Checker::new(BUDGET.id, variant, case.spec);
    for (t, t_prime, _) in budgets {
        let steps = case.k - t;
        let start = if variant == "t_prime_equals_t" { t } else { t_prime };
        let errors = match &traj {
            Some(traj) => case.late_start_errors_with((LateStart::Streamed, start, steps), || {
                streamed_late_start(inst.map.as_ref(), traj, start, steps, &inst.dx0)
            }),
            None if start.checked_add(steps).is_some_and(|end| end <= 2 * case.k) => {
                case.late_start_errors(start, steps)
            }
            None => continue, // beyond the double-double run: no comparison
        };
        for (k, &lhs) in errors.iter().enumerate() {
            let rhs = rhs_21(k as f64, t_prime as f64, rho, edot0, g, e0);
            let inputs = rhs_21(k as f64, t_prime as f64, rho, case.tol_jacobian(cfg, 0), g, case.tol_iterate(cfg, 0));
            let tol = case.tol_jacobian(cfg, k) + inputs + cfg.tol.closed_form(rhs, rho, (k + t_prime) as f64);
            scored(k)(&mut ch, Point { k, t: Some(t_prime) }, lhs, rhs, tol);
        }
    }
    ch.verdict()
}

/// The budgets of [`BUDGET`] at horizon `k`: `(T, T', K + T' − T)` with `T = ⌊fK⌋` and
/// `T' = ⌊T(1 + ω)⌋`, in checked arithmetic (`None` when an index is not representable:
/// a huge `ω` must not become `usize::MAX` and wrap the sums that follow).
fn budgets(k: usize, omega: f64) -> Option<Vec<(usize, usize, usize)>> {
    BUDGET_FRACTIONS
        .iter()
        .map(|f| {
            let t = crate::bounds::index_of(f * k as f64)?.min(k);
            let t_prime = crate::bounds::index_of(t as f64 * (1.0 + omega))?;
            Some((t, t_prime, t_prime.checked_add(k - t)?))
        })
        .collect()
}

/// The late-started forward iterates (20) `Ẋ_{T'}^{(0)} = dx0`, `Ẋ^{(k+1)} = B_{T'+k}Ẋ^{(k)} +
/// C_{T'+k}`, `k < steps`, with `B`, `C` formed one iterate at a time (no linearization of
/// the whole trajectory is kept).
fn streamed_late_start(
    map: &dyn crate::map::FixedPointMap,
    traj: &crate::unroll::Trajectory,
    t_prime: usize,
    steps: usize,
    dx0: &nalgebra::DMatrix<f64>,
) -> Vec<nalgebra::DMatrix<f64>> {
    let mut out = Vec::with_capacity(steps + 1);
    out.push(dx0.clone());
    for k in 0..steps {
        let x = traj.x(t_prime + k);
        let next = map.d_x_at(t_prime + k, x) * &out[k] + map.d_u_at(t_prime + k, x);
        out.push(next);
    }
    out
}
