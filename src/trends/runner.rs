//! Running a trend file: every experiment, every pair, in parallel over pairs (rayon), in a
//! fixed order whatever the thread count; then the statistics of every measure.

use super::file::{Experiment, Level, Trends, Truncate};
use super::measures::{BudgetMeasures, CurseMeasures};
use super::{Design, Direction, Scale};
use super::{ExampleCurves, ExperimentResult, MeasureStats, PairResult, TrendResults};
use crate::budget;
use crate::error::{Error, Result};
use crate::linalg::spectral_norm;
use crate::spec::instance_seed;
use crate::spec::{DynInstance, Spec};
use crate::stats;
use crate::unroll::Linearization;
use rayon::prelude::*;

/// Two measures closer than this, relative to the larger, are a tie: the curves are
/// computed to better than `1e-10` relative (the bound stated in [`crate::tol`]), so a
/// smaller difference is not resolved.
pub const TIE_RELATIVE: f64 = super::measures::RESOLVED;

/// The target of the horizon of a curse run: the first `K` with `ρ^K ≤ 1e-8`.
const HORIZON_TARGET: f64 = 1e-8;

/// Runs every experiment of a trend file.
pub fn run_trends(t: &Trends, seed: Option<u64>, pairs: Option<usize>, jobs: Option<usize>) -> Result<TrendResults> {
    crate::budget::check_jobs(jobs, "--jobs")?;
    let seed = seed.unwrap_or(t.file.seed);
    let n_pairs = pairs.unwrap_or(*t.file.pairs.get_ref());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::Numerical(format!("thread pool: {e}")))?;
    let work: Vec<(usize, usize)> = (0..t.experiments.len()).flat_map(|e| (0..n_pairs).map(move |i| (e, i))).collect();
    let k_max = t.k_max();
    let results: Vec<(PairResult, Option<ExampleCurves>)> = pool.install(|| {
        work.par_iter()
            .map(|&(e, i)| run_pair(&t.experiments[e], instance_seed(seed, e, i), k_max, i == 0))
            .collect::<Result<Vec<_>>>()
    })?;
    let mut it = results.into_iter();
    let mut experiments = Vec::new();
    for (index, ex) in t.experiments.iter().enumerate() {
        let chunk: Vec<_> = it.by_ref().take(n_pairs).collect();
        let example = chunk.iter().find_map(|c| c.1.clone());
        let pairs = chunk.into_iter().map(|c| c.0).collect();
        experiments.push(ExperimentResult {
            index,
            label: ex.label.clone(),
            claim: ex.claim.id,
            base: ex.base,
            levels: ex.levels.iter().map(|l| l.1.clone()).collect(),
            pairs,
            stats: Vec::new(),
            example,
        });
    }
    let tests = t.experiments.iter().map(test_count).sum::<usize>().max(1);
    let gamma = t.level() / tests as f64;
    for (res, ex) in experiments.iter_mut().zip(&t.experiments) {
        res.stats = statistics(ex, &res.pairs, gamma);
    }
    Ok(TrendResults { seed, pairs: n_pairs, level: t.level(), tests, experiments })
}

/// How many tests an experiment contributes to the Bonferroni split.
fn test_count(ex: &Experiment) -> usize {
    match ex.claim.design {
        Design::Proportion => ex.claim.measures.len() * ex.levels.len(),
        _ => ex.claim.measures.len(),
    }
}

/// Builds the instance of a level, or says why it does not qualify.
fn build(spec: &Spec) -> Result<std::result::Result<DynInstance, String>> {
    let inst = spec.build()?;
    let c = &inst.constants;
    if !c.contraction() {
        return Ok(Err(format!("A2.1 fails: ρ = {:.6} ≥ 1", c.rho())));
    }
    if inst.constants.dx_star_norm == 0.0 {
        return Ok(Err("Dx* = 0: no relative measures".into()));
    }
    Ok(Ok(inst))
}

fn horizon(rho: f64, k_max: usize) -> usize {
    let k = if rho > 0.0 { (HORIZON_TARGET.ln() / rho.ln()).ceil() as usize } else { 10 };
    k.clamp(10, k_max)
}

fn run_pair(
    ex: &Experiment,
    seed: u64,
    k_max: usize,
    want_example: bool,
) -> Result<(PairResult, Option<ExampleCurves>)> {
    match ex.claim.design {
        Design::Proportion | Design::PairedCurse => curse_pair(ex, seed, k_max, want_example),
        Design::PairedBudget => budget_pair(ex, seed, want_example),
        Design::PairedBilevel => super::bilevel_trend::pair(ex, seed, want_example),
    }
}

fn skipped(ex: &Experiment, seed: u64, why: String) -> PairResult {
    let values = vec![vec![f64::NAN; ex.levels.len()]; ex.claim.measures.len()];
    PairResult { seed, values, skipped: Some(why), censored: 0, notes: Vec::new() }
}

fn curse_pair(ex: &Experiment, seed: u64, k_max: usize, want: bool) -> Result<(PairResult, Option<ExampleCurves>)> {
    let mut values = vec![vec![f64::NAN; ex.levels.len()]; ex.claim.measures.len()];
    let (mut censored, mut curves, mut notes) = (0, Vec::new(), Vec::new());
    for (l, (level, text)) in ex.levels.iter().enumerate() {
        let spec = Spec { seed, ..level.apply(&ex.base) };
        let inst = match build(&spec)? {
            Ok(i) => i,
            Err(why) => return Ok((skipped(ex, seed, format!("level {text}: {why}")), None)),
        };
        let rho = inst.constants.rho();
        let c = inst.error_curves(horizon(rho, k_max));
        let m = CurseMeasures::of(&c, rho);
        censored += usize::from(m.censored);
        for (j, mu) in ex.claim.measures.iter().enumerate() {
            values[j][l] = curse_value(&m, mu.name);
        }
        if ex.claim.design == Design::Proportion {
            notes.push((format!("k̇ at {text}"), m.k_dot as f64));
            notes.push((format!("k̄ at {text}"), m.k_bar as f64));
            notes.push((format!("dip depth ē_k̄/ē_0 at {text}"), m.dip_depth));
        }
        curves.push((text.clone(), 0, c.edot));
    }
    let example = want.then_some(ExampleCurves { seed, curves, table: None });
    Ok((PairResult { seed, values, skipped: None, censored, notes }, example))
}

fn curse_value(m: &CurseMeasures, name: &str) -> f64 {
    match name {
        "grows" => f64::from(u8::from(m.grows)),
        "dips" => f64::from(u8::from(m.dips)),
        "growth" => m.growth,
        "k_dot" => m.k_dot as f64,
        "excess_area" => m.excess_area,
        "burn_in" => m.burn_in as f64,
        "asymptotic_rate" => m.asymptotic_rate,
        "dip_depth" => m.dip_depth,
        other => unreachable!("unknown curse measure {other} in the catalogue"),
    }
}

/// The truncation index `T` of a level for budget `K`.
fn truncation_index(level: &Level, inst: &DynInstance, k: usize, omega: f64) -> usize {
    match level {
        Level::Truncation(Truncate::Fraction(f)) => (f * k as f64).floor() as usize,
        Level::Truncation(Truncate::Optimal) => {
            let c = &inst.constants;
            let h = crate::bounds::Truncation {
                rho: c.rho(),
                edot0: c.dx_star_norm,
                gamma: c.gamma.value,
                e0: inst.e0(),
                k: k as f64,
                omega,
            };
            h.integer_argmin()
        }
        _ => 0,
    }
}

/// Section 4.3: budget `K + ωK`; truncating `T` derivative steps buys `ωT` more iterations,
/// so the derivative starts at `T' = T + ⌊ωT⌋` and runs `K − T` steps.
fn budget_pair(ex: &Experiment, seed: u64, want: bool) -> Result<(PairResult, Option<ExampleCurves>)> {
    let spec = Spec { seed, ..ex.base };
    let inst = match build(&spec)? {
        Ok(i) => i,
        Err(why) => return Ok((skipped(ex, seed, why), None)),
    };
    if !inst.constants.smooth() {
        return Ok((skipped(ex, seed, "A2.2 fails: (22) has no finite Γ".into()), None));
    }
    let k = ex.budget;
    let plan: Vec<(usize, usize)> = ex
        .levels
        .iter()
        .map(|(l, _)| {
            let t = truncation_index(l, &inst, k, ex.omega).min(k - 1);
            (t, t + (ex.omega * t as f64).floor() as usize)
        })
        .collect();
    let k_total = plan.iter().map(|&(t, tp)| tp + k - t).max().unwrap_or(k);
    let traj = inst.run(k_total);
    let lin = Linearization::along(&inst.map, &traj, k_total);
    let mut values = vec![vec![f64::NAN; ex.levels.len()]; ex.claim.measures.len()];
    let (mut curves, mut notes) = (Vec::new(), Vec::new());
    for (l, &(t, tp)) in plan.iter().enumerate() {
        let errors: Vec<f64> = lin
            .late_start_jacobians(tp, k - t, &inst.dx0)
            .iter()
            .map(|j| spectral_norm(&(j - &inst.dx_star)))
            .collect();
        let b = BudgetMeasures::of(&errors);
        for (j, mu) in ex.claim.measures.iter().enumerate() {
            values[j][l] = if mu.name == "peak" { b.peak } else { b.final_error };
        }
        notes.push((format!("T (level {})", ex.levels[l].1), t as f64));
        curves.push((format!("{} (T = {t}, T' = {tp})", ex.levels[l].1), tp, errors));
    }
    let example = want.then_some(ExampleCurves { seed, curves, table: None });
    Ok((PairResult { seed, values, skipped: None, censored: 0, notes }, example))
}

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

fn statistics(ex: &Experiment, pairs: &[PairResult], gamma: f64) -> Vec<MeasureStats> {
    let mut out = Vec::new();
    for (j, mu) in ex.claim.measures.iter().enumerate() {
        if ex.claim.design == Design::Proportion {
            for l in 0..ex.levels.len() {
                let v: Vec<f64> = pairs.iter().map(|p| p.values[j][l]).filter(|v| !v.is_nan()).collect();
                out.push(proportion(mu.name, mu.scale, l, &v, gamma));
            }
        } else {
            let ab: Vec<(f64, f64)> = pairs
                .iter()
                .map(|p| (p.values[j][0], p.values[j][1]))
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .collect();
            out.push(paired(mu, &ab, gamma, ex.expect, ex.band));
        }
    }
    out
}

fn proportion(name: &'static str, scale: Scale, level: usize, v: &[f64], gamma: f64) -> MeasureStats {
    let s = v.iter().filter(|&&x| x > 0.5).count();
    let n = v.len();
    let (lo, hi) = stats::clopper_pearson(s as u64, n as u64, gamma);
    let verdict = if n > 0 && lo > 0.5 {
        "supported"
    } else if n > 0 && hi < 0.5 {
        "contradicted"
    } else {
        "not supported"
    };
    MeasureStats {
        measure: name,
        scale,
        predicted: Direction::Higher,
        level,
        n,
        agree: s,
        disagree: n - s,
        ties: 0,
        p_claim: f64::NAN,
        p_opposite: f64::NAN,
        effect: None,
        proportion: Some((if n > 0 { s as f64 / n as f64 } else { f64::NAN }, lo, hi)),
        effects: Vec::new(),
        no_effect_band: None,
        verdict,
    }
}

fn paired(
    mu: &super::MeasureUse,
    ab: &[(f64, f64)],
    gamma: f64,
    expect: super::file::Expect,
    band: f64,
) -> MeasureStats {
    let expect = if mu.predicted == Direction::Same { super::file::Expect::NoEffect { band } } else { expect };
    let signs: Vec<Option<bool>> = match expect {
        super::file::Expect::NoEffect { band } => {
            ab.iter().map(|&(a, b)| Some(effect(a, b, mu.scale).abs() <= band)).collect()
        }
        super::file::Expect::Effect => ab.iter().map(|&(a, b)| agrees(a, b, mu.predicted)).collect(),
    };
    let agree = signs.iter().filter(|s| **s == Some(true)).count();
    let disagree = signs.iter().filter(|s| **s == Some(false)).count();
    let n_sign = (agree + disagree) as u64;
    let (p_claim, p_opposite) = match expect {
        super::file::Expect::NoEffect { .. } => (f64::NAN, f64::NAN),
        super::file::Expect::Effect => {
            (stats::sign_test_p(agree as u64, n_sign), stats::sign_test_p(disagree as u64, n_sign))
        }
    };
    let effects: Vec<f64> = ab.iter().map(|&(a, b)| effect(a, b, mu.scale)).collect();
    let ci = stats::median_ci(&effects, gamma);
    let verdict = match expect {
        super::file::Expect::Effect if p_claim < gamma => "supported",
        super::file::Expect::Effect if p_opposite < gamma => "contradicted",
        super::file::Expect::Effect => "not supported",
        super::file::Expect::NoEffect { band } => match ci {
            Some(c) if c.lo > -band && c.hi < band => "supported",
            Some(c) if c.lo >= band || c.hi <= -band => "contradicted",
            _ => "not supported",
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
            super::file::Expect::NoEffect { band } => Some(band),
            super::file::Expect::Effect => None,
        },
        verdict,
    }
}

/// Checks a trend-file run (`pairs` per experiment) against `max_gib`: per worker thread the
/// error curves of both levels of a pair at the longest horizon (`k_max`, or a budget
/// experiment's `K(1 + ω)`), plus what is kept per pair.
pub fn check_budget(t: &Trends, pairs: usize, jobs: Option<usize>, max_gib: f64) -> Result<()> {
    let mut per_pair: f64 = 0.0;
    let mut k_max = t.k_max() as f64;
    for ex in &t.experiments {
        let (n, p) = budget::dims(&ex.base);
        let k = (t.k_max() as f64).max(ex.budget as f64 * (1.0 + ex.omega));
        k_max = k_max.max(k);
        per_pair = per_pair.max(2.0 * budget::curves_bytes(n, p, k));
    }
    let count = pairs.saturating_mul(t.experiments.len());
    let threads = budget::threads(jobs).min(count.max(1)) as f64;
    let bytes = threads * per_pair + count as f64 * 1024.0;
    let cause = format!(
        "{count} pairs (key `pairs` × experiments), horizon up to {k_max} (keys `k_max`, `budget`, `omega`), \
         {threads} threads (--jobs)"
    );
    budget::check(&format!("{}: trend file `{}`", t.path, t.file.name), &cause, bytes, max_gib, budget::FLAG)
}
