//! Theorem 7: the recursion (14) along real runs and the bound (19).
//!
//! - `thm7.recursion`: `ė_{k+1} ≤ ρ ė_k + Γ e_k` (the step of the proof in A.3);
//! - `thm7.bound` (19): `ė_k ≤ ρ^k ė_0 + kρ^{k−1} Γ e_0`, the curse term `kρ^{k−1}Γe_0`
//!   being the source of the initial growth;
//! - `thm7.linear`: the derivative iterates converge linearly, at rate `ρ`, read as the root
//!   test of the claims catalogue, `(ė_k)^{1/k} → ≤ ρ`, at the last informative iterate
//!   `k_end` (the last `k` before `ė_k` first falls to twice its rounding tolerance, at least
//!   [`MIN_TAIL`]): `(ė_k)^{1/k} ≤ β_k^{1/k} = ρ·((ρė_0 + kΓe_0)/ρ)^{1/k}`, `β_k` the
//!   right-hand side of (19), whose factor `(…)^{1/k} → 1` is all the theory allows above
//!   `ρ`. The tolerance is that of (19) at `k_end` (`τ`) carried through the root,
//!   `(β + τ)^{1/k} − β^{1/k}`, so the verdict is that of (19) at `k_end` read as a rate; the
//!   control `rho_squared` (`ρ²` in place of `ρ`) is caught where the run decays at about `ρ`.
//!   A least-squares rate of `ln ė_k` over the tail was tried first and gave false violations
//!   (`PROPTEST_CASES=10000`): where the two terms of `Ẋ_k − Dx*` cancel inside the window,
//!   `ln ė_k` dips and rebounds, and the fitted slope exceeds `ln ρ` by far more than its
//!   interval. A run too short for [`MIN_TAIL`] informative iterates is *not informative*.

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
        "gamma_90pc" => 0.9 * c.gamma.value,
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
        VariantInfo {
            name: "rho_exponent_k",
            role: Role::Control,
            description: "ė_k ≤ ρ^k ė_0 + kρ^k Γ e_0 (the exponent of ρ in the curse term one too high; caught where (19) is tight)",
        },
        VariantInfo {
            name: "gamma_90pc",
            role: Role::Control,
            description: "ė_k ≤ ρ^k ė_0 + 0.9 kρ^{k−1} Γ e_0 (Γ scaled by 0.9; caught where (19) is tight)",
        },
    ],
    run: bound,
};

fn bound(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let run = case.run();
    let (rho, g) = (case.inst.constants.rho(), pick_gamma(case, variant));
    let (e, ed) = (&run.curves.e, &run.curves.edot);
    // The control `rho_exponent_k` is (21) with T' = 1 in the curse term only.
    let t_curse = if variant == "rho_exponent_k" { 1.0 } else { 0.0 };
    let mut ch = Checker::new(BOUND.id, variant, case.spec);
    for (k, &edk) in ed.iter().enumerate() {
        let rhs = rhs_21(k as f64, t_curse, rho, ed[0], g, e[0]);
        let tol = case.tol_jacobian(cfg, k)
            + rhs_21(k as f64, 0.0, rho, case.tol_jacobian(cfg, 0), g, case.tol_iterate(cfg, 0))
            + cfg.tol.closed_form(rhs, rho, k as f64);
        scored(k)(&mut ch, Point { k, t: None }, edk, rhs, tol);
    }
    ch.verdict()
}

/// `thm7.linear`.
pub const LINEAR: Claim = Claim {
    id: "thm7.linear",
    equation: "Thm 7",
    statement: "ė_k → 0 linearly at rate ρ: (ė_k)^{1/k} ≤ ρ·((ρė_0 + kΓe_0)/ρ)^{1/k} at the last informative k (the root test; the factor → 1)",
    kind: Kind::Asymptotic,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        VariantInfo {
            name: "rho_squared",
            role: Role::Control,
            description: "(ė_k)^{1/k} ≤ ρ²·((ρ²ė_0 + kΓe_0)/ρ²)^{1/k} (a rate twice as fast as ρ on the log scale)",
        },
    ],
    run: linear,
};

/// The fewest tail points [`LINEAR`] fits a rate to.
pub const MIN_TAIL: usize = 10;

/// The tail `k₁..=k_end` of [`LINEAR`]: `k_end` the last `k` before `ė_k` first falls to
/// twice its tolerance, `k₁ = ⌈k_end/2⌉`; `None` when it has fewer than [`MIN_TAIL`] points.
pub fn linear_tail(edot: &[f64], tol: impl Fn(usize) -> f64) -> Option<std::ops::RangeInclusive<usize>> {
    let informative = edot.iter().enumerate().take_while(|&(k, &v)| v > 2.0 * tol(k)).count();
    let k_end = informative.checked_sub(1)?;
    let k1 = k_end.div_ceil(2).max(1);
    (k_end + 1 >= k1 + MIN_TAIL).then_some(k1..=k_end)
}

fn linear(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let run = case.run();
    let rho = case.inst.constants.rho();
    let rate = if variant == "rho_squared" { rho * rho } else { rho };
    let g = case.inst.constants.gamma.value;
    let (e, ed) = (&run.curves.e, &run.curves.edot);
    let mut ch = Checker::new(LINEAR.id, variant, case.spec);
    // `Γ = ∞` where A2.1 or A2.2 fails (the claim is then not applicable): the bound is
    // infinite and says nothing, as a run with no informative tail.
    if g == f64::INFINITY {
        return ch.verdict();
    }
    let Some(tail) = linear_tail(ed, |k| case.tol_jacobian(cfg, k)) else {
        return ch.verdict(); // no comparison: not informative
    };
    let k = *tail.end();
    let kf = k as f64;
    let bound = rhs_21(kf, 0.0, rate, ed[0], g, e[0]);
    // The tolerance of (19) at k (as in `bound`), carried through x ↦ x^{1/k}.
    let tau = case.tol_jacobian(cfg, k)
        + rhs_21(kf, 0.0, rate, case.tol_jacobian(cfg, 0), g, case.tol_iterate(cfg, 0))
        + cfg.tol.closed_form(bound, rate, kf);
    let root = |x: f64| x.powf(1.0 / kf);
    ch.leq(Point { k, t: None }, root(ed[k]), root(bound), root(bound + tau) - root(bound));
    ch.verdict()
}
