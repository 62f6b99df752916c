//! Trend claims: the curse as a phenomenon (Sections 3, 3.4, 4, 5 and Scieur et al.).
//!
//! Sections 3.4, 4 and 5 of the paper do not state inequalities but tendencies: the curse is
//! milder for faster rates, smaller steps, nearly linear objectives and better initialisation;
//! truncation helps under a fixed budget; warm starts act as an implicit truncation. A trend
//! is checked by a *paired experiment*: the same random instance (same seed, hence the same
//! data and the same initial direction) at two levels of one factor, over many seeds.
//!
//! Per [`measures`] (each claim names the ones it uses, see [`catalogue`]) a trend reports the
//! number of pairs, how many agree with the claim, disagree or tie, a one-sided sign test in
//! each direction, and the median paired effect with a distribution-free confidence interval
//! ([`crate::stats`]). A tie (the two values agree to [`runner::TIE_RELATIVE`]) has effect
//! exactly 0 and counts, in both sign tests, as a pair that does not move that way: the
//! tests are about the *median* effect over all pairs, and the printed interval is the same
//! test inverted, so it excludes 0 exactly when a sign test rejects (proof in
//! [`crate::stats`]).
//!
//! Levels. With `α` the file's family-wise level and `m` its number of tests (one per row of
//! the report), each test is two-sided at `γ = α/m`: each direction is tested at `γ/2` and the
//! intervals are at confidence `1 − γ`. Bonferroni over the `2m` one-sided tests then bounds
//! the probability of any false rejection, in either direction, by `α`.
//!
//! Verdicts of a predicted effect, with `δ` the measure's pre-stated minimum effect
//! ([`measures::default_min_effect`], overridable in the file):
//! - **supported**: the sign test rejects "median effect 0" in the predicted direction
//!   (`p ≤ γ/2`; the interval lies on the predicted side of 0) and `|median effect| ≥ δ`;
//! - **contradicted**: the same in the opposite direction;
//! - **negligible effect**: significant in either direction, but `|median effect| < δ`;
//! - **not supported**: neither direction significant (too few pairs, ties, or no consistent
//!   effect). So "supported" is never printed beside an interval that contains 0.
//!
//! For a claim that predicts *no effect* (truncation with `α = 1/(3L)`) the verdict compares
//! the effect's confidence interval with an equivalence band `±band` stated in the scenario:
//! supported when the interval lies inside, contradicted when it lies outside, not supported
//! otherwise. `sec3.curse_exists` is a proportion: supported when the Clopper–Pearson
//! interval of the fraction of instances showing the curse lies above 1/2, contradicted when
//! it lies below.
//!
//! Experiments are never tuned to the claim: the design is the scenario file
//! (`verify/trends.toml`), fixed before the run, and the report says what the data say.

pub mod appendix_c_trend;
pub mod bilevel_trend;
pub mod file;
pub mod measures;
pub mod paired;
pub mod runner;

use crate::spec::Spec;
use crate::stats::MedianCi;
use serde::Serialize;

/// How the paired effect of a measure is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// `log10(b/a)` (positive measures spanning orders of magnitude).
    LogRatio,
    /// `b − a` (counts of iterations, areas that can be 0).
    Difference,
}

/// Which way a measure moves, from the first level to the second, when the claim holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The measure is smaller at the second level.
    Lower,
    /// The measure is larger at the second level.
    Higher,
    /// The measure is the same at both levels, within the experiment's band.
    Same,
}

/// A measure a trend claim uses.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MeasureUse {
    /// The measure's name (see [`measures`]).
    pub name: &'static str,
    /// How its effect is expressed.
    pub scale: Scale,
    /// The direction the claim predicts.
    pub predicted: Direction,
}

/// What kind of experiment a trend claim is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// A proportion of instances showing a phenomenon, per level.
    Proportion,
    /// Curse measures of the same instance at two levels of a factor.
    PairedCurse,
    /// Derivative errors under a fixed budget, untruncated and truncated (Section 4.3).
    PairedBudget,
    /// Hypergradient errors of Algorithm 1 with cold and warm starts (Section 5).
    PairedBilevel,
    /// Final derivative errors over the truncation grid of Appendix C's protocol, `R`
    /// draws per dimension `N` ([`appendix_c_trend`]).
    AppendixC,
}

/// A trend claim of the catalogue.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TrendClaim {
    /// Stable id (`sec34.rate`).
    pub id: &'static str,
    /// Where in the papers.
    pub section: &'static str,
    /// The statement.
    pub statement: &'static str,
    /// What the two levels of a scenario's factor mean for this claim.
    pub levels: &'static str,
    /// The experiment.
    pub design: Design,
    /// The measures and the direction the claim predicts for each.
    pub measures: &'static [MeasureUse],
}

const fn lower(name: &'static str, scale: Scale) -> MeasureUse {
    MeasureUse { name, scale, predicted: Direction::Lower }
}

const fn same(name: &'static str, scale: Scale) -> MeasureUse {
    MeasureUse { name, scale, predicted: Direction::Same }
}

/// The curse measures used by every "milder curse" claim of Section 3.4: relative (`growth`,
/// `excess_area`, in units of `ė_0`), absolute (`peak`, `peak_excess`), the time to the peak
/// (`k_dot`) and the bound's own curse peak (`bound_peak`).
const MILDER: &[MeasureUse] = &[
    lower("growth", Scale::LogRatio),
    lower("peak", Scale::LogRatio),
    lower("peak_excess", Scale::Difference),
    lower("k_dot", Scale::Difference),
    lower("excess_area", Scale::Difference),
    lower("bound_peak", Scale::LogRatio),
];

/// Every trend claim, in the paper's order.
pub fn catalogue() -> &'static [TrendClaim] {
    const ALL: &[TrendClaim] = &[
        TrendClaim {
            id: "sec3.curse_exists",
            section: "Sec. 3, Fig. 1–2",
            statement: "on ridge least squares with α = 2/(L+m) the forward error first grows (k̇ > 0) and the reverse error first falls (k̄ > 0)",
            levels: "each level is a setting; the proportion of instances with k̇ > 0 and with k̄ > 0 is reported per level",
            design: Design::Proportion,
            measures: &[lower("grows", Scale::Difference), lower("dips", Scale::Difference)],
        },
        TrendClaim {
            id: "sec34.rate",
            section: "Sec. 3.4.1",
            statement: "the curse is milder for faster rates (smaller ρ)",
            levels: "first level: slower rate; second level: faster rate",
            design: Design::PairedCurse,
            measures: MILDER,
        },
        TrendClaim {
            id: "sec34.step",
            section: "Sec. 3.4.2",
            statement: "the curse is milder for smaller step sizes (smaller Lipschitz constant of DA)",
            levels: "first level: larger step; second level: smaller step",
            design: Design::PairedCurse,
            measures: MILDER,
        },
        TrendClaim {
            id: "sec34.smooth",
            section: "Sec. 3.4.2",
            statement: "the curse is milder for nearly linear objectives (Huber with small δ)",
            levels: "first level: larger δ (nearly quadratic); second level: smaller δ (nearly linear)",
            design: Design::PairedCurse,
            measures: MILDER,
        },
        TrendClaim {
            id: "sec34.init",
            section: "Sec. 3.4.3",
            statement: "the curse is milder for better initialisation (smaller e_0)",
            levels: "first level: farther x_0; second level: nearer x_0",
            design: Design::PairedCurse,
            measures: MILDER,
        },
        TrendClaim {
            id: "sec4.truncation_helps",
            section: "Sec. 4, App. C",
            statement: "under a fixed budget K + ωK, truncation lowers the peak forward error; for α = 1/(3L) it is ineffective",
            levels: "first level: no truncation (T = 0); second level: truncation T (a fraction of K, or the minimiser of (22))",
            design: Design::PairedBudget,
            measures: &[lower("peak", Scale::LogRatio), lower("final_error", Scale::LogRatio)],
        },
        TrendClaim {
            id: "appC.tmax_preferred",
            section: "App. C",
            statement: "for α = 2/(L+m) and N = 30, 40 the derivative errors grow with more derivative iterations, making T_max (= 0.8K) the preferred truncation: its final error is the lowest of the grid T_j",
            levels: "per draw, first: the lowest final error over T_0, …, T_7; second: the final error at T_max = T_8; one row per N",
            design: Design::AppendixC,
            measures: &[lower("final_error", Scale::LogRatio), lower("final_rev_error", Scale::LogRatio)],
        },
        TrendClaim {
            id: "appC.optimal_t_moves",
            section: "App. C",
            statement: "as ρ decreases (smaller N) the optimal truncation index shifts away from T_max",
            levels: "first: the best T/K of a draw at the reference N (the first of `dims`, slowest rate); second: the best T/K of the draw with the same index at a smaller N (independent draws); one row per smaller N",
            design: Design::AppendixC,
            measures: &[lower("best_t_fraction", Scale::Difference)],
        },
        TrendClaim {
            id: "appC.eq22_selects_t",
            section: "App. C, (22)",
            statement: "the minimiser of the bound (22), with the run's constants, selects the truncation T: its final forward error is the lowest of the grid",
            levels: "per draw, first: the lowest final forward error over the grid T_j; second: the final forward error at the T_j minimising (22) with the draw's ρ, Γ, ė_0, e_0; predicted the same within the band (the regret of trusting (22)); one row per N",
            design: Design::AppendixC,
            measures: &[same("eq22_regret", Scale::LogRatio)],
        },
        TrendClaim {
            id: "appC.trunc_ineffective_small_step",
            section: "App. C",
            statement: "for the suboptimal step α = 1/(3L) truncation is ineffective: the final derivative error does not change",
            levels: "first: no truncation (T = 0); second: truncation T (a fraction of K on the grid); predicted the same within the band; one row per N",
            design: Design::AppendixC,
            measures: &[same("final_error", Scale::LogRatio), same("final_rev_error", Scale::LogRatio)],
        },
        TrendClaim {
            id: "sec5.warm_start",
            section: "Sec. 5, App. B (Alg. 1)",
            statement: "with warm-started inner solves the hypergradient error is lower than with cold starts at equal inner iterations, and behaves like a truncated one",
            levels: "first level: cold start; second level: warm start (paired at the same outer iterates); truncation_match compares the explicit truncation (first) with the warm start (second)",
            design: Design::PairedBilevel,
            measures: &[
                lower("hypergradient_error", Scale::LogRatio),
                MeasureUse { name: "truncation_match", scale: Scale::LogRatio, predicted: Direction::Same },
            ],
        },
        TrendClaim {
            id: "scieur.burn_in",
            section: "Scieur et al. 2022",
            statement: "large step sizes give fast asymptotic rates but a long burn-in of the Jacobian error; small ones an immediate, slower decrease",
            levels: "first level: large step; second level: small step",
            design: Design::PairedCurse,
            measures: &[
                lower("burn_in", Scale::Difference),
                MeasureUse { name: "asymptotic_rate", scale: Scale::LogRatio, predicted: Direction::Higher },
            ],
        },
    ];
    ALL
}

/// Finds a trend claim by id.
pub fn find(id: &str) -> Option<&'static TrendClaim> {
    catalogue().iter().find(|c| c.id == id)
}

/// What one seed gave at every level.
#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    /// The seed of the instance (the same at every level).
    pub seed: u64,
    /// `values[measure][level]` (`NaN` when not available).
    pub values: Vec<Vec<f64>>,
    /// Why the pair was left out (an assumption failed at some level), if it was.
    pub skipped: Option<String>,
    /// Levels whose curse peak was cut by the horizon.
    pub censored: usize,
    /// Extra numbers for the report (e.g. the truncation index used).
    pub notes: Vec<(String, f64)>,
}

/// Curves for the figure of an experiment (first usable pair).
#[derive(Debug, Clone, Serialize)]
pub struct ExampleCurves {
    /// The seed.
    pub seed: u64,
    /// One curve per level: its label and `ė` (or the budget run's derivative errors,
    /// plotted from their iteration `T'`).
    pub curves: Vec<(String, usize, Vec<f64>)>,
    /// A table for the report (header, rows), when the experiment has one.
    pub table: Option<(Vec<String>, Vec<Vec<String>>)>,
}

/// The statistics of one measure of one experiment.
#[derive(Debug, Clone, Serialize)]
pub struct MeasureStats {
    /// The measure.
    pub measure: &'static str,
    /// How its effect is expressed.
    pub scale: Scale,
    /// The predicted direction (paired designs).
    pub predicted: Direction,
    /// Level index (proportions: one row per level; paired: 1, the second level).
    pub level: usize,
    /// Pairs (or instances) with a value.
    pub n: usize,
    /// Agreeing with the claim (proportion: instances where the phenomenon occurs).
    pub agree: usize,
    /// Disagreeing.
    pub disagree: usize,
    /// Ties.
    pub ties: usize,
    /// One-sided sign-test p-value in the predicted direction (proportions: `NaN`).
    pub p_claim: f64,
    /// One-sided p-value in the opposite direction.
    pub p_opposite: f64,
    /// The median effect with its interval at the corrected level (paired designs).
    pub effect: Option<MedianCi>,
    /// The proportion and its Clopper–Pearson interval (proportions).
    pub proportion: Option<(f64, f64, f64)>,
    /// The effects of every pair (for the figure).
    pub effects: Vec<f64>,
    /// The equivalence band of a no-effect prediction (`None`: an effect is predicted).
    pub no_effect_band: Option<f64>,
    /// The minimum effect below which a significant result is negligible (an effect
    /// predicted; `None` otherwise).
    pub min_effect: Option<f64>,
    /// `supported`, `negligible effect`, `not supported` or `contradicted`
    /// ([`runner::verdict`]).
    pub verdict: &'static str,
}

/// The results of one experiment.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentResult {
    /// Index in the file.
    pub index: usize,
    /// Its label.
    pub label: String,
    /// The claim id.
    pub claim: &'static str,
    /// The base spec (seed 0).
    pub base: Spec,
    /// The levels as written.
    pub levels: Vec<String>,
    /// Every pair.
    pub pairs: Vec<PairResult>,
    /// Statistics per measure (and per level for proportions).
    pub stats: Vec<MeasureStats>,
    /// Curves of the first usable pair.
    pub example: Option<ExampleCurves>,
    /// The paper's setting or another one (`None`: not stated in the file).
    pub scope: Option<file::Scope>,
}

/// The results of a trend file.
#[derive(Debug, Clone, Serialize)]
pub struct TrendResults {
    /// The seed used.
    pub seed: u64,
    /// Pairs per experiment.
    pub pairs: usize,
    /// The family-wise level.
    pub level: f64,
    /// The number of tests it is split over (Bonferroni).
    pub tests: usize,
    /// Per experiment.
    pub experiments: Vec<ExperimentResult>,
    /// Per claim and measure, the verdict over the paper's setting and outside it.
    pub settings: Vec<SettingVerdict>,
}

/// The verdict of a claim, for one measure, over the settings it was tested in: the rows of
/// its experiments in the paper's setting and outside it ([`file::Scope`]; an experiment whose
/// file states no setting counts as the paper's).
///
/// - **supported**: every row is supported, in the paper's setting and outside it;
/// - **supported in the paper's setting only**: every row in the paper's setting is
///   supported, some row outside it is not;
/// - **supported in the paper's setting (not tested outside)**: every row is in the paper's
///   setting and supported;
/// - **contradicted**: more rows in the paper's setting are contradicted than supported;
/// - **not supported**: otherwise (rows in the paper's setting not significant, negligible,
///   or split);
/// - with no row in the paper's setting (every experiment `setting = "outside"`), the same
///   rule over the rows outside it, said of that setting: **supported outside the paper's
///   setting (not tested in it)**, **contradicted outside …**, **not supported outside …**.
#[derive(Debug, Clone, Serialize)]
pub struct SettingVerdict {
    /// The claim.
    pub claim: &'static str,
    /// The measure.
    pub measure: &'static str,
    /// `true` for the rows that predict no effect.
    pub no_effect: bool,
    /// The verdicts of its rows in the paper's setting.
    pub paper: Vec<&'static str>,
    /// The verdicts of its rows outside it.
    pub outside: Vec<&'static str>,
    /// The combined verdict.
    pub verdict: &'static str,
}

/// The combined verdict of [`SettingVerdict`] when every row is outside the paper's setting
/// and supported.
pub const SUPPORTED_OUTSIDE_ONLY: &str = "supported outside the paper's setting (not tested in it)";
/// … when every row is outside the paper's setting, more of them contradicted than supported.
pub const CONTRADICTED_OUTSIDE_ONLY: &str = "contradicted outside the paper's setting (not tested in it)";
/// … when every row is outside the paper's setting, otherwise.
pub const NOT_SUPPORTED_OUTSIDE_ONLY: &str = "not supported outside the paper's setting (not tested in it)";

/// The combined verdicts of every claim and measure of `experiments` ([`SettingVerdict`]),
/// in the catalogue's order.
pub fn setting_verdicts(experiments: &[ExperimentResult]) -> Vec<SettingVerdict> {
    use runner::verdict::{CONTRADICTED, SUPPORTED};
    let mut out = Vec::new();
    for claim in catalogue() {
        let exs: Vec<&ExperimentResult> = experiments.iter().filter(|e| e.claim == claim.id).collect();
        // A measure predicted to change and the same measure predicted not to (the two
        // sentences of `sec4.truncation_helps`) are combined separately.
        let mut measures: Vec<(&'static str, bool)> = Vec::new();
        for s in exs.iter().flat_map(|e| &e.stats) {
            let key = (s.measure, s.no_effect_band.is_some());
            if !measures.contains(&key) {
                measures.push(key);
            }
        }
        for (measure, no_effect) in measures {
            let rows = |outside: bool| -> Vec<&'static str> {
                exs.iter()
                    .filter(|e| (e.scope == Some(file::Scope::Outside)) == outside)
                    .flat_map(|e| {
                        e.stats
                            .iter()
                            .filter(|s| s.measure == measure && s.no_effect_band.is_some() == no_effect)
                            .map(|s| s.verdict)
                    })
                    .collect()
            };
            let (paper, outside) = (rows(false), rows(true));
            let count = |v: &[&str], w: &str| v.iter().filter(|x| **x == w).count();
            let all_supported = |v: &[&str]| !v.is_empty() && v.iter().all(|x| *x == SUPPORTED);
            let verdict = if paper.is_empty() {
                // Nothing in the paper's setting: say what the rows outside it say, and where.
                if all_supported(&outside) {
                    SUPPORTED_OUTSIDE_ONLY
                } else if count(&outside, CONTRADICTED) > count(&outside, SUPPORTED) {
                    CONTRADICTED_OUTSIDE_ONLY
                } else {
                    NOT_SUPPORTED_OUTSIDE_ONLY
                }
            } else if all_supported(&paper) && outside.is_empty() {
                "supported in the paper's setting (not tested outside)"
            } else if all_supported(&paper) && all_supported(&outside) {
                SUPPORTED
            } else if all_supported(&paper) {
                "supported in the paper's setting only"
            } else if count(&paper, CONTRADICTED) > count(&paper, SUPPORTED) {
                CONTRADICTED
            } else {
                runner::verdict::NOT_SUPPORTED
            };
            out.push(SettingVerdict { claim: claim.id, measure, no_effect, paper, outside, verdict });
        }
    }
    out
}
