//! Curse measures: what "the curse is milder" means, defined once.
//!
//! Section 3 calls the curse an initial increase of the forward error `ė_k` before it decays;
//! its size has no single definition in the paper, so the suite measures it several ways
//! and every trend is reported for each (a trend that holds for one measure and not for
//! another is reported as such):
//!
//! | measure | definition | milder curse |
//! |---|---|---|
//! | `grows` | `k̇ > 0`, with `k̇ = argmax_k ė_k` (Sec. 3.1), and `ė_k̇ > (1 + 10⁻⁹) ė_0` | false |
//! | `growth` | `max_k ė_k / ė_0` (`≥ 1`), relative | smaller |
//! | `peak` | `max_k ė_k`, absolute | smaller |
//! | `peak_excess` | `max_k ė_k − ė_0` (`≥ 0`), absolute | smaller |
//! | `bound_peak` | `max_k (ρ^k ė_0 + kρ^{k−1}Γe_0)`, the peak of the bound (19) itself ([`crate::bounds::bound_19`]) over the run | smaller |
//! | `k_dot` | the time to the peak, `k̇` | smaller |
//! | `excess_area` | `Σ_k (ė_k − ρ^k ė_0)₊ / ė_0`: the area between `ė_k` and the curse-free decay `ρ^k ė_0` that (19) gives with `Γ = 0`, in units of `ė_0` × iterations | smaller |
//! | `dips` | `k̄ > 0`, with `k̄ = argmin_k ē_k` (Sec. 3.2), and `ē_k̄ < (1 − 10⁻⁹) ē_0` | — |
//! | `dip_depth` | `ē_{k̄} / ē_0` (`≤ 1`) | — |
//! | `burn_in` | the first `k` after which `ė_j ≤ ė_0` for every `j ≥ k` (0 when the error never exceeds `ė_0`) | smaller |
//! | `asymptotic_rate` | `(ė_K / ė_{⌈K/2⌉})^{1/(K − ⌈K/2⌉)}`, the empirical rate over the second half of the run | smaller is faster |
//!
//! The relative measures divide by `ė_0`; a factor that shrinks `ė_0 = ‖Dx*‖` (a larger ridge
//! weight) inflates them mechanically, so every curse experiment also reports the absolute
//! `peak`, `peak_excess` and the bound's own `bound_peak` (issue #14).
//!
//! `ė_0 = ‖Dx_0 − Dx*‖ = ‖Dx*‖` for a constant `x_0`; an instance with `ė_0 = 0` has no
//! relative measures (they are `NaN` and the pair is dropped, with a count in the report).

use crate::unroll::{ErrorCurves, argmax, argmin};
use serde::Serialize;

/// The smallest relative change the measures resolve (see the module docs).
pub const RESOLVED: f64 = 1e-9;

/// The minimum effect of a measure, in its effect units (`log10` of the ratio for ratio
/// measures, the difference for counts and areas): a significant result whose median effect
/// is smaller in magnitude reads **negligible effect**, not supported or contradicted. Stated
/// before any run, per measure; a trend file overrides it with `[min_effect]`.
///
/// | measures | minimum | why |
/// |---|---|---|
/// | ratio measures (`growth`, `peak`, `final_error`, `final_rev_error`, `hypergradient_error`) | 0.05 decades (a factor 1.12) | a change of 12 % in an error or a growth factor that spans orders of magnitude across instances is not a change in the phenomenon |
/// | `asymptotic_rate` | 0.002 decades (0.46 % of `ρ̂`) | `ρ̂` lies near 1, where what matters is the iterations per decade `−1/log10 ρ̂`: 0.002 decades changes them by 4 % at `ρ̂ = 0.9` and by 46 % at `ρ̂ = 0.99` |
/// | `k_dot`, `burn_in` | 1 iteration | a median shift below one iteration is below the resolution of an iteration count |
/// | `excess_area` | 1 (`ė_0` × iterations) | the area of one iteration at the initial error |
/// | `peak_excess` | 0.01 (absolute, in the units of `ė`) | 1 % of a unit derivative error; the Figure-2 instances have `ė_0` between 0.1 and 10 |
/// | `best_t_fraction` | 0.1 (one step of the appendix-C grid `T/K ∈ {0, 0.1, …, 0.8}`) | a median shift below one grid step is below the grid's resolution |
pub fn default_min_effect(name: &str) -> f64 {
    match name {
        "asymptotic_rate" => 0.002,
        "k_dot" | "burn_in" | "excess_area" => 1.0,
        "best_t_fraction" => 0.1,
        "peak_excess" => 0.01,
        _ => 0.05,
    }
}

/// The curse measures of one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurseMeasures {
    /// `k̇ > 0`.
    pub grows: bool,
    /// `max_k ė_k / ė_0`.
    pub growth: f64,
    /// `max_k ė_k`.
    pub peak: f64,
    /// `max_k ė_k − ė_0`.
    pub peak_excess: f64,
    /// `k̇ = argmax_k ė_k`.
    pub k_dot: usize,
    /// `Σ_k (ė_k − ρ^k ė_0)₊ / ė_0`.
    pub excess_area: f64,
    /// `k̄ > 0`.
    pub dips: bool,
    /// `k̄ = argmin_k ē_k`.
    pub k_bar: usize,
    /// `ē_{k̄} / ē_0`.
    pub dip_depth: f64,
    /// The first `k` after which `ė_j ≤ ė_0` for every `j ≥ k`.
    pub burn_in: usize,
    /// The empirical rate of `ė_k` over the second half of the run.
    pub asymptotic_rate: f64,
    /// `true` when the peak is at the last iterate: the horizon cut the curse short and
    /// `k_dot`, `growth` are lower bounds.
    pub censored: bool,
}

impl CurseMeasures {
    /// The measures of a run with contraction modulus `rho` (for `excess_area`).
    pub fn of(curves: &ErrorCurves, rho: f64) -> Self {
        let edot = &curves.edot;
        let (k_dot, k_bar) = (argmax(edot), argmin(&curves.ebar));
        let e0 = edot[0];
        let excess: f64 = edot.iter().enumerate().map(|(k, &v)| (v - rho.powi(k as i32) * e0).max(0.0)).sum();
        let last = edot.len() - 1;
        let burn_in = edot.iter().rposition(|&v| v > e0).map_or(0, |k| k + 1);
        let half = last.div_ceil(2);
        let asymptotic_rate =
            if last > half { (edot[last] / edot[half]).powf(1.0 / (last - half) as f64) } else { f64::NAN };
        let growth = edot[k_dot] / e0;
        let dip_depth = curves.ebar[k_bar] / curves.ebar[0];
        CurseMeasures {
            grows: k_dot > 0 && growth > 1.0 + RESOLVED,
            growth,
            peak: edot[k_dot],
            peak_excess: edot[k_dot] - e0,
            k_dot,
            excess_area: excess / e0,
            dips: k_bar > 0 && dip_depth < 1.0 - RESOLVED,
            k_bar,
            dip_depth,
            burn_in,
            asymptotic_rate,
            censored: k_dot == last && last > 0,
        }
    }
}

/// The measures of a derivative computation under a budget (Section 4.3): its largest error
/// and its final error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BudgetMeasures {
    /// `max_j ė_{T'}^{(j)}` over the derivative iterations.
    pub peak: f64,
    /// The error of the output, `ė_{T'}^{(K−T)}`.
    pub final_error: f64,
}

impl BudgetMeasures {
    /// From the errors of the derivative iterations, first to last.
    pub fn of(errors: &[f64]) -> Self {
        BudgetMeasures { peak: errors[argmax(errors)], final_error: *errors.last().expect("at least one iterate") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curves(edot: Vec<f64>, ebar: Vec<f64>) -> ErrorCurves {
        ErrorCurves { e: vec![0.0; edot.len()], edot, ebar }
    }

    #[test]
    fn measures_of_a_hand_made_curse() {
        // ė: 1, 2, 4, 3, 1, 0.5, 0.25 with ρ = 1/2: excess (0 + 1.5 + 3.75 + 2.875 + 0.9375 + 0.46875 + 0.234375).
        let c = curves(vec![1.0, 2.0, 4.0, 3.0, 1.0, 0.5, 0.25], vec![1.0, 0.5, 0.7, 0.8, 0.9, 1.0, 1.0]);
        let m = CurseMeasures::of(&c, 0.5);
        assert!(m.grows && m.k_dot == 2 && m.growth == 4.0);
        assert!((m.excess_area - 9.765625).abs() < 1e-12);
        assert!(m.dips && m.k_bar == 1 && m.dip_depth == 0.5);
        // ė_3 = 3 > 1 is the last excess; ė_4 = 1 is not above ė_0.
        assert_eq!(m.burn_in, 4);
        // Second half: k = 3..6, rate (0.25/3)^{1/3}.
        assert!((m.asymptotic_rate - (0.25f64 / 3.0).powf(1.0 / 3.0)).abs() < 1e-15);
        assert!(!m.censored);
    }

    #[test]
    fn a_monotone_decrease_has_no_curse() {
        let c = curves(vec![1.0, 0.5, 0.25, 0.125], vec![1.0, 0.9, 0.8, 0.7]);
        let m = CurseMeasures::of(&c, 0.5);
        assert!(!m.grows && m.growth == 1.0 && m.k_dot == 0 && m.excess_area == 0.0 && m.burn_in == 0);
        // A control: the same curve measured against a faster reference decay has excess area.
        assert!(CurseMeasures::of(&c, 0.25).excess_area > 0.0);
    }

    #[test]
    fn rounding_level_growth_and_dips_do_not_count() {
        let c = curves(vec![1.0, 1.0 + 1e-12, 0.5], vec![1.0, 1.0 - 1e-12, 2.0]);
        let m = CurseMeasures::of(&c, 0.5);
        assert!(m.k_dot == 1 && !m.grows && m.k_bar == 1 && !m.dips);
        let c = curves(vec![1.0, 1.0 + 1e-6, 0.5], vec![1.0, 1.0 - 1e-6, 2.0]);
        let m = CurseMeasures::of(&c, 0.5);
        assert!(m.grows && m.dips);
    }

    #[test]
    fn budget_measures() {
        let b = BudgetMeasures::of(&[1.0, 3.0, 2.0, 0.5]);
        assert_eq!((b.peak, b.final_error), (3.0, 0.5));
    }
}
