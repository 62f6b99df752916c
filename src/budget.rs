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
use crate::map::layer::LayerParam;
use crate::problem::logistic::LogisticParam;
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
        Method::GradientDescent | Method::Picard | Method::ProxGd { .. } => n,
        Method::Fista { .. }
        | Method::HeavyBall { .. }
        | Method::Chebyshev
        | Method::Nesterov
        | Method::NesterovConvex => 2.0 * n,
    };
    let p = match spec.family {
        Family::Ridge { param: RidgeParam::Weight }
        | Family::PseudoHuber { param: RobustParam::Weight, .. }
        | Family::Huber { param: RobustParam::Weight, .. } => 1.0,
        Family::Ridge { param: RidgeParam::Targets }
        | Family::PseudoHuber { param: RobustParam::Targets, .. }
        | Family::Huber { param: RobustParam::Targets, .. } => m,
        Family::Ridge { param: RidgeParam::Data } => m * n + m,
        Family::Logistic { param: LogisticParam::Weight } => 1.0,
        Family::Logistic { param: LogisticParam::SampleWeights } => m,
        Family::Logistic { param: LogisticParam::Data } => m * n,
        Family::Layer { param: LayerParam::Input, .. } => m,
        Family::Layer { param: LayerParam::Bias, .. } => n,
        Family::Layer { param: LayerParam::Weights, .. } => m * n,
        Family::ElasticNet {
            param: crate::map::proximal::ElasticNetParam::L1 | crate::map::proximal::ElasticNetParam::L2,
            ..
        } => 1.0,
        Family::ElasticNet { param: crate::map::proximal::ElasticNetParam::Targets, .. } => m,
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

/// Checks one instance spec checked up to the horizon `k` (`check`, `replay`) against
/// `max_gib`, before its data are drawn.
pub fn check_spec(spec: &Spec, k: usize, max_gib: f64) -> Result<()> {
    let (n, p) = dims(spec);
    let bytes = case_bytes(n, p, spec.m as f64, k as f64);
    let cause = format!("M = {}, N = {}: state dimension {n}, parameter dimension {p}, K up to {k}", spec.m, spec.n);
    check("--spec", &cause, bytes, max_gib, FLAG)
}
