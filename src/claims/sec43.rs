//! Section 4.3: reallocation of a fixed budget, checked in exact integer arithmetic.
//!
//! With cost factor `ω`, truncating `T` of `K` derivative iterations gives `K' = K + ωT`
//! algorithm iterations, late-start index `T' = T + ωT`, and `K − T` derivative
//! iterations; the cost `(K + ωT) + ω(K − T)` equals the budget `K + ωK`, and
//! `K' − T' = K − T`. Example 10: `K = 500`, 20 %, `ω = 3` ⇒ `T = 100`, `K' = 800`, `T' = 400`.

use super::{Case, Checker, Claim, Config, Kind, PAPER, Point, Role, VariantInfo, Verdict};
use crate::bounds::reallocate;

/// `sec43.budget`.
pub const BUDGET: Claim = Claim {
    id: "sec43.budget",
    equation: "Sec. 4.3, Ex. 10",
    statement: "(K+ωT) + ω(K−T) = K + ωK and K' − T' = K − T; Example 10: K=500, 20 %, ω=3 ⇒ T=100, K'=800, T'=400",
    kind: Kind::ExactArithmetic,
    requires: &[],
    variants: &[
        PAPER,
        VariantInfo {
            name: "t_prime_equals_t",
            role: Role::Control,
            description: "T' = T (the ωT reallocated iterations not run idly)",
        },
    ],
    run: budget_on_case,
};

/// Checks the budget identities for every `T ≤ K` and `ω ∈ omegas`, and Example 10.
pub fn budget(k: u64, omegas: &[u64], variant: &str, spec: Option<crate::spec::Spec>) -> Verdict {
    let mut ch = Checker::new(BUDGET.id, variant, spec);
    let tp = |k: u64, t: u64, omega: u64| {
        let (kp, tp) = reallocate(k, t, omega);
        (kp, if variant == "t_prime_equals_t" { t } else { tp })
    };
    for &omega in omegas {
        for t in 0..=k {
            let (kp, tprime) = tp(k, t, omega);
            let point = Point { k: t as usize, t: Some(omega as usize) };
            ch.exact(point, (kp + omega * (k - t)) as f64, (k + omega * k) as f64);
            ch.exact(point, (kp - tprime) as f64, (k - t) as f64);
        }
    }
    // Example 10: K = 500, derivative iterations reduced by 20 %, ω = 3.
    let t10 = 500 - 500 * 80 / 100;
    let (kp, tprime) = tp(500, t10, 3);
    let point = Point { k: 500, t: Some(3) };
    ch.exact(point, t10 as f64, 100.0);
    ch.exact(point, kp as f64, 800.0);
    ch.exact(point, tprime as f64, 400.0);
    ch.verdict()
}

fn budget_on_case(case: &Case, cfg: &Config, variant: &str) -> Verdict {
    let mut omegas = vec![2, 3, 4];
    if cfg.omega.fract() == 0.0 && cfg.omega > 0.0 {
        // `(K + ωT) + ω(K − T)` in u64: exact for ω within the configuration's bound.
        match crate::bounds::index_of(cfg.omega) {
            Some(w) if cfg.omega <= super::OMEGA_MAX => omegas.push(w as u64),
            _ => {
                return Verdict::NumericalFailure {
                    cause: format!(
                        "ω = {:e} is beyond the configuration's bound of {}: the budget identities would overflow",
                        cfg.omega,
                        super::OMEGA_MAX
                    ),
                    at: Point { k: 0, t: None },
                };
            }
        }
    }
    omegas.dedup();
    budget(case.k as u64, &omegas, variant, case.spec)
}
