//! Resource limits: estimate the memory a run needs before allocating any of it.
//!
//! A scenario with `k_max = 1e9`, `instances = 1e9` or `ridge_data` at `M = 200, N = 100`
//! (a parameter of dimension `MN + M = 20100`, so Jacobians of 2 million entries at every
//! iteration) would otherwise allocate until the process aborts, minutes later. Every
//! command that runs experiments first estimates its peak memory from the sizes it was
//! given and refuses, with exit code 2, when the estimate exceeds
//! [`DEFAULT_MAX_MEMORY_GIB`] GiB or the value of `--max-memory`. The estimates count the
//! dense arrays that dominate (iterates, forward and reverse Jacobians, the linearisation
//! `B_k`, `C_k`), per worker thread, plus what is kept per instance; they are upper bounds
//! of the order of magnitude, not exact figures.
//!
//! `--jobs` is bounded too: at most [`max_jobs`] worker threads.

use crate::error::{Error, Result};
use crate::problem::ridge::RidgeParam;
use crate::problem::robust::RobustParam;
use crate::spec::{Family, Method, Spec};

/// The default memory limit, in GiB.
pub const DEFAULT_MAX_MEMORY_GIB: f64 = 4.0;

/// The bytes kept per scenario instance after its run (verdict rows, constants, spec).
pub const RESULT_BYTES_PER_INSTANCE: f64 = 16.0 * 1024.0;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const F64: f64 = 8.0;

/// The largest `--jobs`: 4 × the available parallelism, at least 16 and at most 256.
pub fn max_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (4 * cores).clamp(16, 256)
}

/// Rejects `--jobs 0` or more than [`max_jobs`] threads (`flag` names the option).
pub fn check_jobs(jobs: Option<usize>, flag: &str) -> Result<()> {
    match jobs {
        Some(j) if j == 0 || j > max_jobs() => Err(Error::Input {
            location: flag.to_string(),
            message: format!(
                "{j} worker threads: use 1 to {} (4 × the {} available cores, within 16..=256)",
                max_jobs(),
                std::thread::available_parallelism().map_or(1, |n| n.get())
            ),
        }),
        _ => Ok(()),
    }
}

/// The worker threads a run uses: `jobs`, or rayon's default (the available parallelism).
pub fn threads(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1)
}

/// Checks a `--max-memory` value: a finite number of GiB `> 0`.
pub fn check_limit(max_gib: f64, flag: &str) -> Result<f64> {
    if max_gib.is_finite() && max_gib > 0.0 {
        Ok(max_gib)
    } else {
        Err(Error::Input { location: flag.to_string(), message: format!("{max_gib}: must be a number of GiB > 0") })
    }
}

/// Refuses a run whose estimated peak memory `bytes` exceeds `max_gib` GiB. `what` names
/// the run and `cause` the sizes behind the estimate; the message names `flag`, which
/// raises the limit.
pub fn check(what: &str, cause: &str, bytes: f64, max_gib: f64, flag: &str) -> Result<()> {
    if bytes <= max_gib * GIB {
        return Ok(());
    }
    Err(Error::Input {
        location: what.to_string(),
        message: format!(
            "estimated peak memory {} exceeds the limit of {max_gib} GiB ({cause}); reduce the sizes or raise \
             the limit with {flag} <GiB>",
            show(bytes)
        ),
    })
}

/// `12.3 GiB`, `4.5e3 GiB`.
fn show(bytes: f64) -> String {
    let g = bytes / GIB;
    if g < 1e4 { format!("{g:.1} GiB") } else { format!("{g:.1e} GiB") }
}

/// The dimensions `(n, p)` of the state and the parameter of a spec.
pub fn dims(spec: &Spec) -> (f64, f64) {
    let (m, n) = (spec.m as f64, spec.n as f64);
    let state = match spec.method {
        Method::GradientDescent => n,
        Method::HeavyBall { .. } | Method::Chebyshev => 2.0 * n,
    };
    let p = match spec.family {
        Family::Ridge { param: RidgeParam::Weight }
        | Family::PseudoHuber { param: RobustParam::Weight, .. }
        | Family::Huber { param: RobustParam::Weight, .. } => 1.0,
        Family::Ridge { param: RidgeParam::Targets }
        | Family::PseudoHuber { param: RobustParam::Targets, .. }
        | Family::Huber { param: RobustParam::Targets, .. } => m,
        Family::Ridge { param: RidgeParam::Data } => m * n + m,
    };
    (state, p)
}

/// The bytes of one checked instance (a [`crate::claims::Case`]) with state dimension `n`,
/// parameter dimension `p`, `M` rows of data and horizon `k`: the dense run (`K + 1`
/// iterates, forward and reverse Jacobians `n × p`) and the long run (`2K + 2` iterates, the
/// linearisation `B_k` `n × n` and `C_k` `n × p` for `k ≤ 2K`), plus the data and the
/// implicit Jacobian.
pub fn case_bytes(n: f64, p: f64, m: f64, k: f64) -> f64 {
    let run = (k + 1.0) * (n + 2.0 * n * p);
    let long = (2.0 * k + 2.0) * (n + n * n + n * p);
    let fixed = m * (n + 1.0) + 4.0 * n * p + 4.0 * n * n;
    F64 * (run + long + fixed)
}

/// The bytes of one error-curve run ([`crate::instance::Instance::error_curves`]) over `k`
/// iterations: the iterates and the forward and reverse Jacobians.
pub fn curves_bytes(n: f64, p: f64, k: f64) -> f64 {
    F64 * (k + 1.0) * (n + 2.0 * n * p + 3.0)
}

/// The flag that raises the memory limit.
pub const FLAG: &str = "--max-memory";

/// Checks a scenario run (`quick` as in `verify --quick`, `jobs` worker threads) against
/// `max_gib` before anything is allocated: per worker thread the largest instance of the
/// grid at the horizon cap `k_max`, plus what is kept per instance.
pub fn check_scenario(sc: &crate::scenario::Scenario, quick: bool, jobs: Option<usize>, max_gib: f64) -> Result<()> {
    let g = &sc.file.grid;
    let instances = sc.instance_count(quick);
    let k = sc.k_max(quick) as f64;
    let m = g.m.iter().map(|v| *v.get_ref()).max().unwrap_or(1) as f64;
    let n = g.n.iter().map(|v| *v.get_ref()).max().unwrap_or(1) as f64;
    let doubled = g.method.iter().any(|x| x.get_ref() != "gd");
    let state = if doubled { 2.0 * n } else { n };
    let p = g
        .family
        .iter()
        .map(|f| match f.get_ref().as_str() {
            "ridge_data" => m * n + m,
            s if s.ends_with("_targets") => m,
            _ => 1.0,
        })
        .fold(1.0, f64::max);
    let threads = threads(jobs).min(instances.max(1)) as f64;
    let bytes = threads * case_bytes(state, p, m, k) + instances as f64 * RESULT_BYTES_PER_INSTANCE;
    let cause = format!(
        "{instances} instances (key `instances` × grid points), horizon up to K = {k} (key `k_max`), state dimension \
         {state}, parameter dimension {p} (keys `grid.m`, `grid.n`, `grid.family`), {threads} threads (--jobs)"
    );
    check(&format!("{}: scenario `{}`", sc.path, sc.file.name), &cause, bytes, max_gib, FLAG)
}

/// Checks a trend-file run (`pairs` per experiment) against `max_gib`: per worker thread the
/// error curves of both levels of a pair at the longest horizon (`k_max`, or a budget
/// experiment's `K(1 + ω)`), plus what is kept per pair.
pub fn check_trends(t: &crate::trends::file::Trends, pairs: usize, jobs: Option<usize>, max_gib: f64) -> Result<()> {
    let mut per_pair: f64 = 0.0;
    let mut k_max = t.k_max() as f64;
    for ex in &t.experiments {
        let (n, p) = dims(&ex.base);
        let k = (t.k_max() as f64).max(ex.budget as f64 * (1.0 + ex.omega));
        k_max = k_max.max(k);
        per_pair = per_pair.max(2.0 * curves_bytes(n, p, k));
    }
    let count = pairs.saturating_mul(t.experiments.len());
    let threads = threads(jobs).min(count.max(1)) as f64;
    let bytes = threads * per_pair + count as f64 * 1024.0;
    let cause = format!(
        "{count} pairs (key `pairs` × experiments), horizon up to {k_max} (keys `k_max`, `budget`, `omega`), \
         {threads} threads (--jobs)"
    );
    check(&format!("{}: trend file `{}`", t.path, t.file.name), &cause, bytes, max_gib, FLAG)
}

/// Checks `reproduce fig2 --k K` against `max_gib`: the error curves of one instance at a
/// time (iterates, forward and reverse Jacobians) and the curves kept for the figures.
pub fn check_fig2(k: usize, max_gib: f64) -> Result<()> {
    let (n, p) = dims(&Spec::figure2(0));
    let k = k as f64;
    let kept = F64 * (k + 1.0) * (3.0 * (1.0 + crate::reproduce::fig2::X0_SETTINGS.len() as f64) + 2.0);
    let bytes = curves_bytes(n, p, k) + kept;
    check("reproduce fig2", &format!("K = {k} iterations (--k)"), bytes, max_gib, FLAG)
}

/// Checks `reproduce appendix-c` against `max_gib`: the curves kept per run (both step
/// sizes, every truncation, `K` up to the protocol's cap), for the runs of one `N`.
pub fn check_appendix_c(p: &crate::reproduce::appendix_c::Protocol, max_gib: f64) -> Result<()> {
    use crate::reproduce::appendix_c::{REV_POINTS, StepSize, T_COUNT};
    let k = p.k_cap as f64;
    let t = T_COUNT as f64;
    let per_step = (1.0 + 0.8 * p.omega as f64) * k + 1.0 + t * (k + 1.0) + t * REV_POINTS as f64 * 2.0;
    let per_run = F64 * StepSize::ALL.len() as f64 * per_step;
    let bytes = p.runs as f64 * per_run;
    let cause = format!("{} runs per N (--runs), K up to {}", p.runs, p.k_cap);
    check("reproduce appendix-c", &cause, bytes, max_gib, FLAG)
}

/// Checks one instance spec checked up to the horizon `k` (`check`, `replay`) against
/// `max_gib`, before its data are drawn.
pub fn check_spec(spec: &Spec, k: usize, max_gib: f64) -> Result<()> {
    let (n, p) = dims(spec);
    let bytes = case_bytes(n, p, spec.m as f64, k as f64);
    let cause = format!("M = {}, N = {}: state dimension {n}, parameter dimension {p}, K up to {k}", spec.m, spec.n);
    check("--spec", &cause, bytes, max_gib, FLAG)
}
