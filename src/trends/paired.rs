//! The statistics of one measure of a paired experiment: the oriented effect of a pair, ties,
//! the sign tests in both directions, the median effect with its interval, and the verdict
//! words. Shared by the instance experiments ([`super::runner`]) and the appendix-C ones
//! ([`super::appendix_c_trend`]).

use super::{Direction, MeasureStats, Scale};
use crate::stats;

/// Two measures closer than this, relative to the larger, are a tie: the curves are
/// computed to better than `1e-10` relative (the bound stated in [`crate::tol`]), so a
/// smaller difference is not resolved.
pub const TIE_RELATIVE: f64 = super::measures::RESOLVED;

/// The oriented effect of a pair: positive when the claim's prediction holds.
fn effect(a: f64, b: f64, scale: Scale) -> f64 {
    match scale {
        Scale::LogRatio => (b / a).log10(),
        Scale::Difference => b - a,
    }
}

/// `Some(true)` when the change from `a` to `b` goes the predicted way, `Some(false)` when the
/// opposite, `None` for a tie (within [`TIE_RELATIVE`]).
pub fn agrees(a: f64, b: f64, predicted: Direction) -> Option<bool> {
    if (b - a).abs() <= TIE_RELATIVE * a.abs().max(b.abs()) {
        return None;
    }
    Some(match predicted {
        Direction::Lower => b < a,
        Direction::Higher => b > a,
        Direction::Same => false,
    })
}

/// The verdict words (see the module docs of [`super`]).
pub mod verdict {
    /// Significant in the predicted direction, with a median effect of at least the minimum.
    pub const SUPPORTED: &str = "supported";
    /// Significant in the opposite direction, with a median effect of at least the minimum.
    pub const CONTRADICTED: &str = "contradicted";
    /// Significant in either direction, with a median effect below the minimum.
    pub const NEGLIGIBLE: &str = "negligible effect";
    /// Not significant in either direction.
    pub const NOT_SUPPORTED: &str = "not supported";
}

/// The statistics of one measure of a paired experiment. Ties (within [`TIE_RELATIVE`]) have
/// effect exactly 0 and count against both directions, so the median's interval at `1 − γ`
/// excludes 0 exactly when one of the one-sided p-values is `≤ γ/2` ([`crate::stats`]).
pub fn paired(
    mu: &super::MeasureUse,
    ab: &[(f64, f64)],
    gamma: f64,
    expect: super::file::Expect,
    band: f64,
    min_effect: f64,
) -> MeasureStats {
    use super::file::Expect;
    let expect = if mu.predicted == Direction::Same { Expect::NoEffect { band } } else { expect };
    let signs: Vec<Option<bool>> = match expect {
        Expect::NoEffect { band } => ab.iter().map(|&(a, b)| Some(effect(a, b, mu.scale).abs() <= band)).collect(),
        Expect::Effect => ab.iter().map(|&(a, b)| agrees(a, b, mu.predicted)).collect(),
    };
    let agree = signs.iter().filter(|s| **s == Some(true)).count();
    let disagree = signs.iter().filter(|s| **s == Some(false)).count();
    let n = ab.len() as u64;
    let (p_claim, p_opposite) = match expect {
        Expect::NoEffect { .. } => (f64::NAN, f64::NAN),
        Expect::Effect => (stats::sign_test_p(agree as u64, n), stats::sign_test_p(disagree as u64, n)),
    };
    let effects: Vec<f64> = match expect {
        Expect::NoEffect { .. } => ab.iter().map(|&(a, b)| effect(a, b, mu.scale)).collect(),
        Expect::Effect => {
            ab.iter().zip(&signs).map(|(&(a, b), s)| if s.is_some() { effect(a, b, mu.scale) } else { 0.0 }).collect()
        }
    };
    let ci = stats::median_ci(&effects, gamma);
    let verdict = match expect {
        Expect::Effect => {
            let (claim, opposite) = (p_claim <= gamma / 2.0, p_opposite <= gamma / 2.0);
            let large = ci.is_some_and(|c| c.median.abs() >= min_effect);
            match (claim, opposite, large) {
                (true, _, true) => verdict::SUPPORTED,
                (_, true, true) => verdict::CONTRADICTED,
                (true, _, false) | (_, true, false) => verdict::NEGLIGIBLE,
                (false, false, _) => verdict::NOT_SUPPORTED,
            }
        }
        Expect::NoEffect { band } => match ci {
            Some(c) if c.lo > -band && c.hi < band => verdict::SUPPORTED,
            Some(c) if c.lo >= band || c.hi <= -band => verdict::CONTRADICTED,
            _ => verdict::NOT_SUPPORTED,
        },
    };
    MeasureStats {
        measure: mu.name,
        scale: mu.scale,
        predicted: mu.predicted,
        level: 1,
        n: ab.len(),
        agree,
        disagree,
        ties: ab.len() - agree - disagree,
        p_claim,
        p_opposite,
        effect: ci,
        proportion: None,
        effects,
        no_effect_band: match expect {
            Expect::NoEffect { band } => Some(band),
            Expect::Effect => None,
        },
        min_effect: match expect {
            Expect::NoEffect { .. } => None,
            Expect::Effect => Some(min_effect),
        },
        verdict,
    }
}
