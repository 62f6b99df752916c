//! Resource limits: estimate the memory a run needs before allocating any of it.
//!
//! A scenario with `k_max = 1e9`, `instances = 1e9` or `ridge_data` at `M = 200, N = 100`
//! (a parameter of dimension `MN + M = 20100`, so Jacobians of 2 million entries at every
//! iteration) would otherwise allocate until the process aborts, minutes later. Every
//! command that runs experiments first estimates its peak memory from the sizes it was
//! given and refuses, with exit code 2, when the estimate exceeds
//! [`DEFAULT_MAX_MEMORY_GIB`] GiB or the value of `--max-memory`. The estimates count the
//! dense arrays (iterates, forward and reverse Jacobians, the linearisation `B_k`, `C_k`,
//! the working sets of the claims and of a certification in double-double, `thm8.budget`'s
//! trajectory of `K + 0.8Kω` iterates), per worker thread, plus what is kept per instance:
//! upper bounds from a model of the allocations ([`case_bytes`], [`curves_bytes`]), checked
//! against the measured peak by `tests/memory.rs`.
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

/// The worker threads a run without `--jobs` uses when the memory estimate grows with the
/// thread count: the largest `t ≤ default` with `fits(t)`; `None` when `default` itself
/// fits (nothing to lower) or when not even one thread fits (then the estimate's own
/// refusal, at `default` threads, is the error to report). Fewer threads change the time
/// only: every output is the same bytes whatever the thread count.
pub fn fitting_threads(default: usize, fits: impl Fn(usize) -> bool) -> Option<usize> {
    if fits(default) {
        return None;
    }
    (1..default).rev().find(|&t| fits(t))
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

/// `12.3 GiB`, `4.5e3 GiB`; below 0.1 GiB in MiB or KiB (`51.2 MiB`, `3.0 KiB`), so that a
/// small estimate over a small limit does not read `0.0 GiB`.
fn show(bytes: f64) -> String {
    let g = bytes / GIB;
    let (mib, kib) = (bytes / (1024.0 * 1024.0), bytes / 1024.0);
    if g >= 1e4 {
        format!("{g:.1e} GiB")
    } else if g >= 0.1 {
        format!("{g:.1} GiB")
    } else if mib >= 0.1 {
        format!("{mib:.1} MiB")
    } else {
        format!("{kib:.1} KiB")
    }
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

/// The bytes of one checked instance (a `Case` (`claims::case`) and every claim run on it)
/// with state dimension `n`, parameter dimension `p`, `M` rows of data, horizon `K = k`
/// and cost factor `ω = omega`: an upper bound from the allocations the code makes, in
/// `f64` entries (8 bytes; a double-double entry is two), with `L = 2K + 1` the length of
/// the long run:
///
/// - **kept by the case**: the dense run (`K + 1` iterates, forward and reverse Jacobians
///   `n × p`), the long run (`L + 1` iterates, the linearisation `B_k` `n × n` and `C_k`
///   `n × p` for `k < L`), the data and the implicit Jacobian:
///   `(K+1)(n + 2np) + (L+1)n + L(n² + np) + M(n+1) + 4np + 4n²`;
/// - **the working set of one claim** on top of it: a truncated reverse sweep over up to
///   `L + 1` steps, kept in double-double (`2(L+1)np`; the `f64` sweep before it is cut
///   to its ends), plus one late-started or warm-started sequence of up to `L + 1`
///   Jacobians: `3(L+1)np`; and `thm8.budget`'s trajectory of [`omega_horizon`] `+ 1`
///   iterates ([`omega_bytes`]);
/// - **a certification** (`claims::certify`, one at a time per thread) rebuilds
///   the case in double-double (`Case::refined`): its iterates in
///   double-double and rounded (`4(L+1)n`), `B_k` and its copy in the linearisation
///   (`2Ln²`), `C_k` in double-double and rounded (`3Lnp`), the forward and reverse
///   Jacobians in double-double and rounded (`6(K+1)np`) and the short trajectory
///   (`(K+1)n`); and the claim's working set again, on that case.
///
/// `tests/memory.rs` measures the peak with a counting allocator and checks that this
/// bounds it.
pub fn case_bytes(n: f64, p: f64, m: f64, k: f64, omega: f64) -> f64 {
    let l = 2.0 * k + 1.0;
    let kept = (k + 1.0) * (n + 2.0 * n * p) + (l + 1.0) * n + l * (n * n + n * p);
    let fixed = m * (n + 1.0) + 4.0 * n * p + 4.0 * n * n;
    let working = 3.0 * (l + 1.0) * n * p;
    let refined = 4.0 * (l + 1.0) * n + l * (2.0 * n * n + 3.0 * n * p) + (k + 1.0) * (6.0 * n * p + n);
    F64 * (kept + fixed + 2.0 * working + refined) + omega_bytes(n, k, omega)
}

/// The horizon of `thm8.budget`'s trajectory at horizon `K = k` and cost factor `ω`: the
/// largest `K' = K + T'  − T` over its truncations `T = ⌊fK⌋` (`f ≤ 0.8`) and late starts
/// `T' = ⌊T(1 + ω)⌋`, at most `K + 0.8Kω` (a float: it is an estimate before any cast).
pub fn omega_horizon(k: f64, omega: f64) -> f64 {
    k + 0.8 * k * omega
}

/// The bytes of `thm8.budget`'s trajectory: [`omega_horizon`] `+ 1` iterates of dimension
/// `n` (the derivative run along it streams `B_k`, `C_k` and keeps `K + 1` Jacobians, as
/// the dense run does).
pub fn omega_bytes(n: f64, k: f64, omega: f64) -> f64 {
    F64 * (omega_horizon(k, omega) + 1.0) * n
}

/// The bytes of one error-curve run ([`crate::instance::Instance::error_curves`]) over `k`
/// iterations: the iterates, the linearisation along them (`B_k` `n × n`, `C_k` `n × p`,
/// built by the forward and again by the reverse sweep, one at a time) and the forward or
/// reverse Jacobians `n × p`, plus the three error curves and the `Vec` headers of the
/// `3K + 1` matrices held at once ([`MATRIX_IN_VEC`]). The same bound covers a budget
/// pair of a trend file (a trajectory of `k` iterates, its linearisation and one
/// late-started sequence).
pub fn curves_bytes(n: f64, p: f64, k: f64) -> f64 {
    F64 * ((k + 1.0) * (n + n * p + 3.0) + k * (n * n + n * p)) + (3.0 * k + 1.0) * MATRIX_IN_VEC
}

/// The bytes a matrix adds to the `Vec` that holds it besides its entries: its 40-byte
/// header (buffer, capacity, length, two dimensions), three times (a `Vec` grown by doubling
/// holds the old buffer and the new one, of twice the capacity, at once).
pub const MATRIX_IN_VEC: f64 = 3.0 * 40.0;

/// The bytes of an instance besides its runs: the data (`M × (N + 1)`), `x*`, `Dx*` and
/// the `n × n`, `n × p` matrices its constants are computed from.
pub fn instance_bytes(n: f64, p: f64, m: f64) -> f64 {
    F64 * (m * (n + 1.0) + 4.0 * n * p + 4.0 * n * n)
}

/// The flag that raises the memory limit.
pub const FLAG: &str = "--max-memory";

/// Checks one instance spec checked up to the horizon `k_max` with cost factor `omega`
/// (`check`, `replay`: the claim setting's) against `max_gib`, before its data are drawn.
/// `what` names the argument (`--spec`, `SPEC`).
pub fn check_spec(spec: &Spec, (k_max, omega): (usize, f64), max_gib: f64, what: &str) -> Result<()> {
    let (n, p) = dims(spec);
    let k = k_max.max(10);
    let bytes = case_bytes(n, p, spec.m as f64, k as f64, omega);
    let cause = format!(
        "M = {}, N = {}: state dimension {n}, parameter dimension {p}, K up to {k}, omega = {omega}",
        spec.m, spec.n
    );
    check(what, &cause, bytes, max_gib, FLAG)
}

#[cfg(test)]
mod tests {
    use super::{check_limit, fitting_threads};

    #[test]
    fn a_memory_limit_is_a_finite_number_of_gib_above_zero() {
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            let e = check_limit(bad, "--max-memory").expect_err(&format!("{bad} GiB accepted as a limit"));
            assert!(e.to_string().contains("must be a number of GiB > 0"), "{bad}: {e}");
        }
        // Control: a positive finite limit is taken as it is.
        assert_eq!(check_limit(0.5, "--max-memory").unwrap(), 0.5);
    }

    #[test]
    fn fitting_threads_lowers_to_the_largest_count_that_fits() {
        // A run of 1 GiB per thread under a 2.5 GiB limit: 2 threads fit, 8 do not.
        let fits = |t: usize| t as f64 * 1.0 <= 2.5;
        assert_eq!(fitting_threads(8, fits), Some(2), "8 threads need 8 GiB: lower to the 2 that fit");
        // Controls: the default fits (nothing to lower), and nothing fits (the refusal stands).
        assert_eq!(fitting_threads(2, fits), None, "the default of 2 fits: keep it");
        assert_eq!(fitting_threads(8, |_| false), None, "not even one thread fits: refuse at the default");
        assert_eq!(fitting_threads(1, |_| false), None, "one core and it does not fit: refuse");
    }
}
