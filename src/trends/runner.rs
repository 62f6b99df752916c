//! Running a trend file: every experiment, every pair, in parallel over pairs (rayon), in a
//! fixed order whatever the thread count; then the statistics of every measure.

use super::file::{Experiment, Level, Trends, Truncate};
use super::measures::{BudgetMeasures, CurseMeasures};
use super::paired::paired;
pub use super::paired::{TIE_RELATIVE, agrees, verdict};
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
    // Appendix-C experiments run on their own draws (shared between them), the others pair
    // by pair.
    let work: Vec<(usize, usize)> = (0..t.experiments.len())
        .filter(|&e| t.experiments[e].appendix_c.is_none())
        .flat_map(|e| (0..n_pairs).map(move |i| (e, i)))
        .collect();
    let k_max = t.k_max();
    let (results, draws): (Vec<(PairResult, Option<ExampleCurves>)>, _) = pool.install(|| -> Result<_> {
        let results = work
            .par_iter()
            .map(|&(e, i)| {
                run_pair(&t.experiments[e], instance_seed(seed, e, i), k_max, i == 0).map_err(|err| match err {
                    Error::Numerical(m) => Error::Numerical(format!("{}: [[experiment]] {}: {m}", t.path, e + 1)),
                    other => other,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((results, super::appendix_c_trend::compute_draws(&t.experiments, seed)?))
    })?;
    let mut it = results.into_iter();
    let mut experiments = Vec::new();
    for (index, ex) in t.experiments.iter().enumerate() {
        if ex.appendix_c.is_some() {
            experiments.push(None);
            continue;
        }
        let chunk: Vec<_> = it.by_ref().take(n_pairs).collect();
        let example = chunk.iter().find_map(|c| c.1.clone());
        let pairs = chunk.into_iter().map(|c| c.0).collect();
        experiments.push(Some(ExperimentResult {
            index,
            label: ex.label.clone(),
            claim: ex.claim.id,
            base: ex.base,
            levels: ex.levels.iter().map(|l| l.1.clone()).collect(),
            pairs,
            stats: Vec::new(),
            example,
            scope: ex.scope,
        }));
    }
    let tests = t.experiments.iter().map(test_count).sum::<usize>().max(1);
    // Each test is two-sided at γ (each direction at γ/2): the family-wise rate of a false
    // verdict in either direction is at most Σ (γ/2 + γ/2) = α.
    let gamma = t.level() / tests as f64;
    let experiments: Vec<ExperimentResult> = experiments
        .into_iter()
        .zip(&t.experiments)
        .enumerate()
        .map(|(index, (res, ex))| {
            let min_effect: Vec<f64> = ex.claim.measures.iter().map(|m| t.min_effect(m.name)).collect();
            match res {
                None => super::appendix_c_trend::evaluate(ex, index, &draws, gamma, &min_effect),
                Some(mut res) => {
                    res.stats = statistics(ex, &res.pairs, gamma, &min_effect);
                    res
                }
            }
        })
        .collect();
    let settings = super::setting_verdicts(&experiments);
    Ok(TrendResults { seed, pairs: n_pairs, level: t.level(), tests, experiments, settings })
}

/// How many tests an experiment contributes to the Bonferroni split (each two-sided: both
/// directions share its `γ`).
fn test_count(ex: &Experiment) -> usize {
    if ex.appendix_c.is_some() {
        return ex.claim.measures.len() * super::appendix_c_trend::rows(ex).len();
    }
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
        Design::AppendixC => unreachable!("appendix-C experiments run in appendix_c_trend"),
    }
}

fn skipped(ex: &Experiment, seed: u64, why: String) -> PairResult {
    let values = vec![vec![f64::NAN; ex.levels.len()]; ex.claim.measures.len()];
    PairResult { seed, values, skipped: Some(why), censored: 0, notes: Vec::new() }
}

fn curse_pair(ex: &Experiment, seed: u64, k_max: usize, want: bool) -> Result<(PairResult, Option<ExampleCurves>)> {
    let mut values = vec![vec![f64::NAN; ex.levels.len()]; ex.claim.measures.len()];
    let (mut censored, mut curves, mut notes) = (0, Vec::new(), Vec::new());
    // (‖Dx*‖, Γe_0) of the first level, which a controlled experiment holds fixed.
    let mut first: Option<(f64, f64)> = None;
    for (l, (level, text)) in ex.levels.iter().enumerate() {
        let mut spec = Spec { seed, ..level.apply(&ex.base) };
        let mut scale = 1.0;
        if let (true, Some(held)) = (ex.controlled && l > 0, first) {
            match controlled_level(&spec, held).map_err(|e| x0_build_error(ex, l, &spec, e))? {
                Ok((sigma, c)) => (spec.x0_sigma, scale) = (Some(sigma), c),
                Err(why) => return Ok((skipped(ex, seed, format!("level {text}: {why}")), None)),
            }
        }
        let inst = match build(&spec).map_err(|e| x0_build_error(ex, l, &spec, e))? {
            Ok(i) => i,
            Err(why) => return Ok((skipped(ex, seed, format!("level {text}: {why}")), None)),
        };
        x0_finite_e0(ex, l, &spec, &inst)?;
        let rho = inst.constants.rho();
        let mut c = inst.error_curves(horizon(rho, k_max));
        for v in c.e.iter_mut().chain(c.edot.iter_mut()).chain(c.ebar.iter_mut()) {
            *v *= scale;
        }
        let e0 = scale * inst.e0();
        finite_curves(ex, text, seed, &[("e_k", &c.e), ("ė_k", &c.edot), ("ē_k", &c.ebar), ("e_0", &[e0])])?;
        let m = CurseMeasures::of(&c, rho);
        censored += usize::from(m.censored);
        let k = &inst.constants;
        let edot0 = scale * k.dx_star_norm;
        if ex.controlled {
            match first {
                None => first = Some((edot0, k.gamma.value * e0)),
                Some((d, ge)) => {
                    // Both relative changes must be finite and at most 1e-9 (a NaN is not held:
                    // f64::max would hide it, so each is tested on its own).
                    let (od, og) = (((edot0 - d) / d).abs(), ((k.gamma.value * e0 - ge) / ge).abs());
                    let off = od.max(og);
                    if !(od.is_finite() && og.is_finite()) || off > 1e-9 {
                        let why = format!("level {text}: ‖Dx*‖, Γe_0 not held fixed (relative change {off:.1e})");
                        return Ok((skipped(ex, seed, why), None));
                    }
                }
            }
            notes.push((format!("‖Dx*‖ at {text}"), edot0));
            notes.push((format!("Γe_0 at {text}"), k.gamma.value * e0));
            notes.push((format!("ρ at {text}"), rho));
        }
        let bound_peak = (0..c.edot.len())
            .map(|i| crate::bounds::bound_19(rho, i, edot0, k.gamma.value, e0))
            .fold(f64::NEG_INFINITY, f64::max);
        for (j, mu) in ex.claim.measures.iter().enumerate() {
            values[j][l] = if mu.name == "bound_peak" { bound_peak } else { curse_value(&m, mu.name) };
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

/// A `σ` of `x_0 = x* + σg` too large for the instance of level `l` (its `x_0` or `e_0 =
/// ‖x_0 − x*‖` overflows): bad input at the line and key where `σ` is written
/// ([`Experiment::x0_at`]), as the scenario files report their `grid.x0`; a numerical
/// failure where the `σ` of the instance is not one written (a controlled level's).
fn x0_too_large(ex: &Experiment, l: usize, spec: &Spec, why: String) -> Error {
    let sigma = spec.x0_sigma.unwrap_or(f64::NAN);
    let message = format!(
        "`{}`, level {}, pair seed {}: σ = {} is too large for x_0 = x* + σg; {why}",
        ex.label,
        ex.levels[l].1,
        spec.seed,
        crate::error::short_number(sigma)
    );
    match ex.x0_at.get(l).cloned().flatten() {
        Some((written, location)) if written == sigma => Error::Input { location, message },
        _ => Error::Numerical(message),
    }
}

/// An instance that cannot be built because its `x_0` is not finite: [`x0_too_large`];
/// any other error unchanged.
fn x0_build_error(ex: &Experiment, l: usize, spec: &Spec, e: Error) -> Error {
    match e {
        Error::InvalidParameter { field: "x0", .. } => {
            x0_too_large(ex, l, spec, format!("the instance cannot be built: {e}"))
        }
        e => e,
    }
}

/// `e_0 = ‖x_0 − x*‖` of a built instance is finite, else [`x0_too_large`]: `x_0 − x* = σg`,
/// so an infinite `e_0` is `σ‖g‖` beyond the largest `f64`.
fn x0_finite_e0(ex: &Experiment, l: usize, spec: &Spec, inst: &DynInstance) -> Result<()> {
    let e0 = inst.e0();
    if e0.is_finite() {
        return Ok(());
    }
    Err(x0_too_large(ex, l, spec, format!("e_0 = ‖x_0 − x*‖ = {e0}")))
}

/// A non-finite error (an overflow: `x_0` or the data too large) is a numerical failure
/// naming the level, the quantity and the first `k`, never a measure: `k̇ = argmax_k ė_k` of
/// a curve of NaN is still a number, and its pairs would read as ties.
fn finite_curves(ex: &Experiment, level: &str, seed: u64, curves: &[(&str, &[f64])]) -> Result<()> {
    for (name, v) in curves {
        if let Some(k) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::Numerical(format!(
                "`{}`, level {level}, pair seed {seed}: {name} = {} at k = {k} (an overflow: is x0 or the data too large?)",
                ex.label, v[k]
            )));
        }
    }
    Ok(())
}

/// A controlled level (`controlled = true`, ridge-weight): the same data `A` and initial
/// direction `g` with `b` scaled by `c` and `x_0 = x* + σ₂g`, so that `‖Dx*‖` and `Γe_0`
/// equal the first level's `held = (‖Dx*‖₁, Γ₁e_0¹)`. Gradient descent on ridge is affine in
/// `(x, b)` and `x* , Dx*` are linear in `b`, so the run with `(cb, σ₂)` is `c` times the run
/// with `(b, σ₂/c)`: `ė_k`, `e_k`, `ē_k` scale by `c`, and `Γ = M_u` does not depend on `b`.
/// With `D⁰`, `Γ₂`, `e_0⁰` of the level at the base `σ₁`: `c = ‖Dx*‖₁/D⁰`,
/// `σ₂ = σ₁ Γ₁e_0¹/(Γ₂ e_0⁰)`; returns `(σ₂/c, c)`, the `σ` to build and the factor to scale
/// the curves by. The caller checks the held quantities on the scaled run.
fn controlled_level(spec: &Spec, held: (f64, f64)) -> Result<std::result::Result<(f64, f64), String>> {
    let sigma1 = spec.x0_sigma.ok_or_else(|| Error::Numerical("a controlled level needs x0 = σ".into()))?;
    let inst = match build(spec)? {
        Ok(i) => i,
        Err(why) => return Ok(Err(why)),
    };
    let (d0, gamma, e00) = (inst.constants.dx_star_norm, inst.constants.gamma.value, inst.e0());
    if !(gamma > 0.0 && e00 > 0.0 && d0 > 0.0) {
        return Ok(Err("Γ, e_0 or ‖Dx*‖ is 0: nothing to hold fixed".into()));
    }
    let c = held.0 / d0;
    let sigma2 = sigma1 * held.1 / (gamma * e00);
    Ok(Ok((sigma2 / c, c)))
}

fn curse_value(m: &CurseMeasures, name: &str) -> f64 {
    match name {
        "grows" => f64::from(u8::from(m.grows)),
        "dips" => f64::from(u8::from(m.dips)),
        "growth" => m.growth,
        "peak" => m.peak,
        "peak_excess" => m.peak_excess,
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
    let inst = match build(&spec).map_err(|e| x0_build_error(ex, 0, &spec, e))? {
        Ok(i) => i,
        Err(why) => return Ok((skipped(ex, seed, why), None)),
    };
    // e_0 is the radius of the ball of Γ (A2.2 read "fails" on e_0 = ∞) and enters the
    // minimiser of (22) (level "optimal").
    x0_finite_e0(ex, 0, &spec, &inst)?;
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
        finite_curves(ex, &ex.levels[l].1, seed, &[("ė_k of the late start", &errors)])?;
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

fn statistics(ex: &Experiment, pairs: &[PairResult], gamma: f64, min_effect: &[f64]) -> Vec<MeasureStats> {
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
            out.push(paired(mu, &ab, gamma, ex.expect, ex.band, min_effect[j]));
        }
    }
    out
}

fn proportion(name: &'static str, scale: Scale, level: usize, v: &[f64], gamma: f64) -> MeasureStats {
    let s = v.iter().filter(|&&x| x > 0.5).count();
    let n = v.len();
    let (lo, hi) = stats::clopper_pearson(s as u64, n as u64, gamma);
    let verdict = if n > 0 && lo > 0.5 {
        verdict::SUPPORTED
    } else if n > 0 && hi < 0.5 {
        verdict::CONTRADICTED
    } else {
        verdict::NOT_SUPPORTED
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
        min_effect: None,
        verdict,
    }
}

/// Checks a trend-file run (`pairs` per experiment) against `max_gib`: per worker thread
/// one error-curve run and its instance at the longest horizon (`k_max`, or a budget
/// experiment's `K(1 + ω)`; the levels of a pair run one after the other and keep only
/// their curves), plus what is kept per pair.
pub fn check_budget(t: &Trends, pairs: usize, jobs: Option<usize>, max_gib: f64) -> Result<()> {
    let mut per_pair: f64 = 0.0;
    let mut k_max = t.k_max() as f64;
    for ex in &t.experiments {
        let (n, p) = budget::dims(&ex.base);
        let k = (t.k_max() as f64).max(ex.budget as f64 * (1.0 + ex.omega));
        k_max = k_max.max(k);
        let m = ex.base.m as f64;
        per_pair = per_pair.max(budget::curves_bytes(n, p, k) + budget::instance_bytes(n, p, m));
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

/// The statistics against known distributions: planted effects of known size (large, below
/// the minimum, zero, the wrong way), ties, and the level of the test under the null.
#[cfg(test)]
mod stats_controls {
    use super::*;
    use crate::problem::draw::rng;
    use crate::trends::MeasureUse;
    use crate::trends::file::Expect;
    use crate::trends::measures::default_min_effect;
    use rand::RngExt;
    use rand_distr::StandardNormal;

    /// The per-test level of `verify/trends.toml` (α = 0.01 over 47 tests, 2.13e-4, rounded down).
    const GAMMA: f64 = 2.0e-4;
    const GROWTH: MeasureUse = MeasureUse { name: "growth", scale: Scale::LogRatio, predicted: Direction::Lower };
    const AREA: MeasureUse = MeasureUse { name: "excess_area", scale: Scale::Difference, predicted: Direction::Lower };

    /// `n` pairs `(a, a·10^(shift + noise·z))`, `a = 10^z'`, `z, z' ~ N(0, 1)`: a planted
    /// median effect of `shift` decades.
    fn log_pairs(seed: u64, n: usize, shift: f64, noise: f64) -> Vec<(f64, f64)> {
        let mut r = rng(seed);
        (0..n)
            .map(|_| {
                let a = 10f64.powf(r.sample::<f64, _>(StandardNormal));
                let z: f64 = r.sample(StandardNormal);
                (a, a * 10f64.powf(shift + noise * z))
            })
            .collect()
    }

    fn stats_of(mu: &MeasureUse, ab: &[(f64, f64)], gamma: f64) -> MeasureStats {
        paired(mu, ab, gamma, Expect::Effect, 0.1, default_min_effect(mu.name))
    }

    /// The verdict and the printed interval say the same thing, whatever the verdict.
    fn consistent(s: &MeasureStats) {
        let c = s.effect.expect("finite effects");
        let excludes_zero = c.lo > 0.0 || c.hi < 0.0;
        assert_eq!(excludes_zero, s.verdict != verdict::NOT_SUPPORTED, "{s:?}");
    }

    #[test]
    fn planted_effects_of_known_size_get_their_verdicts() {
        let cases = [
            // A tenfold reduction: supported, and the interval covers the planted −1.
            (1, -1.0, 0.3, verdict::SUPPORTED),
            // The wrong way, tenfold: contradicted.
            (2, 1.0, 0.3, verdict::CONTRADICTED),
            // 0.02 decades (5 %), tightly: significant, below the minimum 0.05.
            (3, -0.02, 0.005, verdict::NEGLIGIBLE),
            // The same the wrong way: also negligible.
            (4, 0.02, 0.005, verdict::NEGLIGIBLE),
            // No effect at all: not supported.
            (5, 0.0, 0.3, verdict::NOT_SUPPORTED),
        ];
        for (seed, shift, noise, want) in cases {
            let s = stats_of(&GROWTH, &log_pairs(seed, 40, shift, noise), GAMMA);
            assert_eq!(s.verdict, want, "planted {shift} ± {noise}: {s:?}");
            consistent(&s);
            let c = s.effect.unwrap();
            assert!(c.lo <= shift && shift <= c.hi, "planted {shift} outside {c:?}");
        }
        // A difference measure: a shift of 0.5 (below the minimum 1) and of 50.
        let mut r = rng(6);
        let base: Vec<f64> = (0..40).map(|_| 100.0 + 100.0 * r.random::<f64>()).collect();
        let jitter: Vec<f64> = (0..40).map(|_| 0.01 * r.random::<f64>()).collect();
        let small: Vec<(f64, f64)> = base.iter().zip(&jitter).map(|(a, j)| (*a, a - 0.5 + j)).collect();
        let large: Vec<(f64, f64)> = base.iter().zip(&jitter).map(|(a, j)| (*a, a - 50.0 + j)).collect();
        assert_eq!(stats_of(&AREA, &small, GAMMA).verdict, verdict::NEGLIGIBLE);
        assert_eq!(stats_of(&AREA, &large, GAMMA).verdict, verdict::SUPPORTED);
    }

    /// Ties: 17 pairs tenfold lower and 23 unchanged is *not supported* (the median pair does
    /// not move; the interval contains 0), while 35 tenfold lower and 5 unchanged is supported.
    #[test]
    fn ties_count_against_the_claim_and_the_interval_agrees() {
        let planted = log_pairs(7, 40, -1.0, 0.3);
        let with_ties = |moved: usize| -> Vec<(f64, f64)> {
            planted.iter().enumerate().map(|(i, &(a, b))| if i < moved { (a, b) } else { (a, a) }).collect()
        };
        let s = stats_of(&GROWTH, &with_ties(17), GAMMA);
        assert_eq!((s.agree, s.disagree, s.ties), (17, 0, 23));
        assert_eq!(s.verdict, verdict::NOT_SUPPORTED, "{s:?}");
        assert_eq!(s.effect.unwrap().median, 0.0);
        consistent(&s);
        let s = stats_of(&GROWTH, &with_ties(35), GAMMA);
        assert_eq!(s.verdict, verdict::SUPPORTED, "{s:?}");
        consistent(&s);
        // Ties within the resolution (1e-12 relative) are ties too, with effect exactly 0.
        let near: Vec<(f64, f64)> = planted.iter().map(|&(a, _)| (a, a * (1.0 + 1e-12))).collect();
        let s = stats_of(&GROWTH, &near, GAMMA);
        assert!(s.ties == 40 && s.effects.iter().all(|e| *e == 0.0) && s.verdict == verdict::NOT_SUPPORTED);
    }

    /// Under the null (no effect, with and without ties) the rate of a verdict other than
    /// *not supported*, either direction counted, stays below γ; a planted effect is found
    /// most of the time (a power control, so the level check is not met by a test that never
    /// rejects).
    #[test]
    fn the_level_counts_both_directions() {
        let gamma = 0.05;
        let (runs, mut false_verdicts, mut with_ties, mut found) = (400, 0, 0, 0);
        for seed in 0..runs {
            let null = log_pairs(1000 + seed, 40, 0.0, 0.3);
            false_verdicts += usize::from(stats_of(&GROWTH, &null, gamma).verdict != verdict::NOT_SUPPORTED);
            let tied: Vec<(f64, f64)> =
                null.iter().enumerate().map(|(i, &(a, b))| if i % 2 == 0 { (a, a) } else { (a, b) }).collect();
            with_ties += usize::from(stats_of(&GROWTH, &tied, gamma).verdict != verdict::NOT_SUPPORTED);
            let planted = log_pairs(5000 + seed, 40, -0.3, 0.3);
            found += usize::from(stats_of(&GROWTH, &planted, gamma).verdict == verdict::SUPPORTED);
        }
        // The exact size at n = 40 is 2·P(X ≤ 13) = 0.038; 0.05 leaves three standard errors.
        assert!(false_verdicts as f64 / (runs as f64) < gamma + 0.02, "{false_verdicts}/{runs}");
        assert!(with_ties as f64 / (runs as f64) < gamma, "{with_ties}/{runs}");
        assert!(found as f64 / (runs as f64) > 0.9, "power {found}/{runs}");
    }
}
