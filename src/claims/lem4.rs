//! Lemma 4: the unrolled inequality (15) and its geometric form (16), as pure lemmas on
//! arbitrary non-negative sequences, and on the real sequences `(e_k, ė_k)` of a run.
//!
//! - `lem4.unrolled`: if `ė_{k+1} ≤ ρ ė_k + Γ e_k` (14) for all `k`, then
//!   `ė_k ≤ ρ^k ė_0 + Γ Σ_{i<k} ρ^{k−i−1} e_i` (15).
//! - `lem4.geometric`: if moreover `e_{k+1} ≤ ρ e_k`, then `ė_k ≤ ρ^k ė_0 + kρ^{k−1}Γe_0` (16).
//!
//! When a premise fails the verdict is *not applicable* (naming the premise). The right-hand
//! side of (15) is summed directly (not by the recursion it unrolls), so the check is not
//! the induction it verifies; its rounding is `≤ (k+1)·ε·rhs` per the tolerance model.

use super::{Assumption, Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict, scored};
use crate::tol::ToleranceModel;

/// `lem4.unrolled`.
pub const UNROLLED: Claim = Claim {
    id: "lem4.unrolled",
    equation: "(14) ⇒ (15)",
    statement: "non-negative sequences obeying ė_{k+1} ≤ ρė_k + Γe_k obey ė_k ≤ ρ^k ė_0 + Γ Σ_{i<k} ρ^{k−i−1} e_i",
    kind: Kind::PureLemma,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        VariantInfo {
            name: "no_gamma_sum",
            role: Role::Control,
            description: "ė_k ≤ ρ^k ė_0 (the accumulated Γ-sum dropped)",
        },
    ],
    run: |case, cfg, v| on_run(case, cfg, v, unrolled),
};

/// `lem4.geometric`.
pub const GEOMETRIC: Claim = Claim {
    id: "lem4.geometric",
    equation: "(16)",
    statement: "if also e_{k+1} ≤ ρe_k, then ė_k ≤ ρ^k ė_0 + kρ^{k−1}Γe_0",
    kind: Kind::PureLemma,
    requires: &[Assumption::Contraction, Assumption::Smoothness],
    variants: &[
        PAPER,
        VariantInfo {
            name: "no_k_factor",
            role: Role::Control,
            description: "ė_k ≤ ρ^k ė_0 + ρ^{k−1}Γe_0 (the factor k dropped)",
        },
    ],
    run: |case, cfg, v| on_run(case, cfg, v, geometric),
};

/// The input of the pure lemma.
#[derive(Debug, Clone)]
pub struct Sequences<'a> {
    /// `ė_0, ė_1, …`.
    pub edot: &'a [f64],
    /// `e_0, e_1, …` (at least as long as `edot`).
    pub e: &'a [f64],
    /// `ρ ∈ [0, 1)`.
    pub rho: f64,
    /// `Γ ≥ 0`.
    pub gamma: f64,
    /// Absolute rounding level of the sequences: 0 for exact inputs; for the sequences of
    /// a real run, the tolerance model's bound on the error of the computed `ė_k` and of
    /// `Γ Σ ρ^{k−i−1} e_i`.
    pub noise: f64,
    /// Absolute rounding level of the `e_k` (0 for exact inputs).
    pub noise_e: f64,
}

type PureCheck = fn(&Sequences, &ToleranceModel, &str, Option<crate::spec::Spec>) -> Verdict;

fn on_run(case: &Case, cfg: &Config, variant: &str, f: PureCheck) -> Verdict {
    let run = case.run();
    let c = &case.inst.constants;
    let (rho, gamma) = (c.rho(), c.gamma.value);
    let noise = case.tol_jacobian(cfg, case.k) + gamma * case.tol_iterate(cfg, case.k) / (1.0 - rho);
    let seq = Sequences {
        edot: &run.curves.edot,
        e: &run.curves.e,
        rho,
        gamma,
        noise,
        noise_e: case.tol_iterate(cfg, case.k),
    };
    f(&seq, &cfg.tol, variant, case.spec)
}

/// `ρ^p` with `0^0 = 1` and `ρ^{-1}` only ever multiplied by `k = 0`.
fn pw(rho: f64, p: i64) -> f64 {
    if p < 0 { 0.0 } else { rho.powi(p as i32) }
}

/// The premise (14) on the first `len` terms; `Some(reason)` when it fails.
fn premise_14(s: &Sequences, tol: &ToleranceModel) -> Option<String> {
    (0..s.edot.len().saturating_sub(1)).find_map(|k| {
        let rhs = s.rho * s.edot[k] + s.gamma * s.e[k];
        (s.edot[k + 1] > rhs + tol.product(2, rhs) + 2.0 * s.noise)
            .then(|| format!("(14) fails at k = {k}: ė_(k+1) = {:e} > {rhs:e}", s.edot[k + 1]))
    })
}

/// Checks (15) on sequences obeying (14).
pub fn unrolled(s: &Sequences, tol: &ToleranceModel, variant: &str, spec: Option<crate::spec::Spec>) -> Verdict {
    if let Some(reason) = premise_14(s, tol) {
        return Verdict::NotApplicable { assumption: "(14)", reason, observed: None };
    }
    let mut ch = Checker::new(UNROLLED.id, variant, spec);
    for k in 0..s.edot.len() {
        let sum: f64 = (0..k).map(|i| pw(s.rho, (k - i - 1) as i64) * s.e[i]).sum();
        let head = pw(s.rho, k as i64) * s.edot[0];
        let rhs = if variant == "no_gamma_sum" { head } else { head + s.gamma * sum };
        scored(k)(&mut ch, Point { k, t: None }, s.edot[k], rhs, tol.product(k + 2, rhs) + 2.0 * s.noise);
    }
    ch.verdict()
}

/// Checks (16) on sequences obeying (14) and `e_{k+1} ≤ ρ e_k`.
pub fn geometric(s: &Sequences, tol: &ToleranceModel, variant: &str, spec: Option<crate::spec::Spec>) -> Verdict {
    if let Some(reason) = premise_14(s, tol) {
        return Verdict::NotApplicable { assumption: "(14)", reason, observed: None };
    }
    if let Some(k) = (0..s.e.len().saturating_sub(1))
        .find(|&k| s.e[k + 1] > s.rho * s.e[k] + tol.product(1, s.e[k]) + 2.0 * s.noise_e)
    {
        let reason = format!("e_(k+1) ≤ ρ e_k fails at k = {k}: {:e} > {:e}", s.e[k + 1], s.rho * s.e[k]);
        return Verdict::NotApplicable { assumption: "e_(k+1) ≤ ρ e_k", reason, observed: None };
    }
    let mut ch = Checker::new(GEOMETRIC.id, variant, spec);
    for k in 0..s.edot.len() {
        let factor = if variant == "no_k_factor" { f64::from(u8::from(k > 0)) } else { k as f64 };
        let rhs = pw(s.rho, k as i64) * s.edot[0] + factor * pw(s.rho, k as i64 - 1) * s.gamma * s.e[0];
        scored(k)(&mut ch, Point { k, t: None }, s.edot[k], rhs, tol.product(k + 2, rhs) + 2.0 * s.noise);
    }
    ch.verdict()
}
