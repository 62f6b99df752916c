//! `sec5.warm_start`: one pair = one seeded bilevel problem, Algorithm 1 warm-started, and at
//! each of its outer iterates `u^{(r)}` the cold-started hypergradient with the same inner
//! budget (so the two are compared at identical `u`), plus the explicit truncation of the cold
//! run matched to the warm start's `e_0` ([`crate::bilevel::ImplicitTruncation::shifted`]).
//!
//! Per pair, over the outer iterations `r ≥ 1` (at `r = 0` both start from `x_0`):
//! - `hypergradient_error`: the median over `r` of the cold error (first level) and of the
//!   warm error (second level);
//! - `truncation_match`: the median over `r` of the truncated error (first level) and of the
//!   warm error (second level); predicted *the same* within the experiment's band.
//!
//! The example of the first pair is a table per outer iteration and a figure of the errors
//! against `r`, including a cold-started run of Algorithm 1 on its own outer trajectory.

use super::file::{Experiment, Level};
use super::{ExampleCurves, PairResult};
use crate::bilevel::{Algorithm1, BilevelSpec, ColdStart, InnerFamily, OuterRecord, Study, warm_and_cold};
use crate::error::Result;
use crate::spec::Family;
use crate::stats::median_skipping_nan;

/// The bilevel problem of an experiment's base spec: its family (ridge or pseudo-Huber
/// weight), step rule, `M`, `N`, `u^{(0)} = λ`, and cold start (`x0`).
pub fn problem_spec(ex: &Experiment, seed: u64) -> BilevelSpec {
    let b = &ex.base;
    let family = match b.family {
        Family::PseudoHuber { delta, .. } | Family::Huber { delta, .. } => InnerFamily::PseudoHuberWeight { delta },
        Family::Ridge { .. } => InnerFamily::RidgeWeight,
        Family::Logistic { .. } | Family::Layer { .. } => {
            unreachable!("the trend file parser refuses the logistic and layer families")
        }
        Family::ElasticNet { .. } => unreachable!("the trend file parser refuses the elastic-net families"),
    };
    let x0 = b.x0_sigma.map_or(ColdStart::Origin, |sigma| ColdStart::Normal { sigma });
    BilevelSpec {
        family,
        step: b.step,
        m: b.m,
        m_val: b.m,
        n: b.n,
        u0: b.lambda.max(1e-6),
        x0,
        seed,
        ..BilevelSpec::ridge(seed)
    }
}

/// One pair of the bilevel experiment.
pub fn pair(ex: &Experiment, seed: u64, want: bool) -> Result<(PairResult, Option<ExampleCurves>)> {
    let problem = problem_spec(ex, seed).build()?;
    let config = Algorithm1 { tau: ex.tau, ..Algorithm1::new(ex.outer, ex.budget, ex.tau) };
    let study = warm_and_cold(&problem, &config)?;
    let later: Vec<&OuterRecord> = study.warm.records.iter().skip(1).collect();
    let warm = median_skipping_nan(later.iter().map(|r| r.estimate.error).collect());
    let cold = median_skipping_nan(later.iter().filter_map(|r| r.comparison.as_ref().map(|c| c.cold.error)).collect());
    let truncated = median_skipping_nan(
        later
            .iter()
            .filter_map(|r| r.comparison.as_ref().and_then(|c| c.implicit_truncation.shifted.as_ref().map(|s| s.error)))
            .collect(),
    );
    let warm_first = ex.levels.first().is_some_and(|l| l.0 == Level::Warm(true));
    let level_pair = |first: f64, warm: f64| if warm_first { vec![warm, first] } else { vec![first, warm] };
    let values = ex
        .claim
        .measures
        .iter()
        .map(|m| match m.name {
            "hypergradient_error" => level_pair(cold, warm),
            _ => vec![truncated, warm],
        })
        .collect();
    let unmatched =
        later.iter().filter(|r| r.comparison.as_ref().is_some_and(|c| c.implicit_truncation.t_prime.is_none())).count();
    let t_primes = median_skipping_nan(
        later
            .iter()
            .filter_map(|r| r.comparison.as_ref().and_then(|c| c.implicit_truncation.t_prime.map(|t| t as f64)))
            .collect(),
    );
    let notes = vec![
        ("median T' (cold index matched to the warm e_0)".to_string(), t_primes),
        ("outer iterations without a match".to_string(), unmatched as f64),
        ("warm e_0 at the last outer iteration".to_string(), later.last().map_or(f64::NAN, |r| r.estimate.e0)),
    ];
    let example = want.then(|| example(&study, seed));
    Ok((PairResult { seed, values, skipped: None, censored: 0, notes }, example))
}

fn example(study: &Study, seed: u64) -> ExampleCurves {
    let warm = &study.warm.records;
    let cmp = |f: &dyn Fn(&crate::bilevel::Comparison) -> Option<f64>| -> Vec<f64> {
        warm.iter().map(|r| r.comparison.as_ref().and_then(f).unwrap_or(f64::NAN)).collect()
    };
    let curves = vec![
        (
            "explicit truncation at T' (cold, shifted)".to_string(),
            0,
            cmp(&|c| c.implicit_truncation.shifted.as_ref().map(|s| s.error)),
        ),
        ("warm start: ‖d_r − exact‖ (drawn over the truncation)".to_string(), 0, study.warm.errors()),
        ("cold start at the warm u_r".to_string(), 0, cmp(&|c| Some(c.cold.error))),
        ("cold-started Algorithm 1 (own u_r)".to_string(), 0, study.cold.errors()),
        ("warm start's inner e_0".to_string(), 0, study.warm.e0s()),
    ];
    let header = [
        "r",
        "u_r",
        "exact",
        "unrolled (warm)",
        "error (warm)",
        "e_0 (warm)",
        "error (cold, same u_r)",
        "T'",
        "error (truncated)",
        "warm / truncated",
    ];
    let rows = warm
        .iter()
        .map(|r| {
            let c = r.comparison.as_ref();
            let t = c.map(|c| &c.implicit_truncation);
            vec![
                r.r.to_string(),
                format!("{:.6}", r.u[0]),
                format!("{:.6e}", r.exact[0]),
                format!("{:.6e}", r.estimate.hypergradient[0]),
                format!("{:.3e}", r.estimate.error),
                format!("{:.3e}", r.estimate.e0),
                c.map_or("—".into(), |c| format!("{:.3e}", c.cold.error)),
                t.and_then(|t| t.t_prime).map_or("—".into(), |v| v.to_string()),
                t.and_then(|t| t.shifted.as_ref()).map_or("—".into(), |s| format!("{:.3e}", s.error)),
                t.and_then(|t| t.shifted_ratio).map_or("—".into(), |v| format!("{v:.3}")),
            ]
        })
        .collect();
    ExampleCurves { seed, curves, table: Some((header.iter().map(|s| s.to_string()).collect(), rows)) }
}
