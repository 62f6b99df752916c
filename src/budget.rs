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
//! trajectory of `K + 0.8Kω` iterates), the caches a case keeps for its life (the truncated
//! reverse sweeps, each with an `n × n` `X̄` in `f64` and double-double; the errors of
//! late-started runs; the quadratic structure), the headers of the matrices held in `Vec`s,
//! per worker thread, plus what is kept per instance and, once per process, `exmex`'s parse
//! of (22)'s `h`: upper bounds from a model of the allocations ([`case_bytes`],
//! [`curves_bytes`]), each term named with its formula, checked against the measured peak
//! by `tests/memory.rs` over every family and method (its looseness, 1.2× to 3.7×, is
//! tabulated in `docs/performance.md`).
//!
//! `--jobs` is bounded too: at most [`max_jobs`] worker threads.

use crate::error::{Error, Result};
use crate::map::layer::LayerParam;
use crate::problem::logistic::LogisticParam;
use crate::problem::ridge::RidgeParam;
use crate::problem::robust::RobustParam;
use crate::spec::{Family, Method, Spec};
use crate::unroll::reference::DdMatrix;

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

/// The sizes of one checked instance that its memory depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseDims {
    /// The state dimension `n` (`2N` for the momentum methods).
    pub n: f64,
    /// The objective's dimension `n_f ≤ n` (`N`; 0 for the layer families, which have no
    /// objective and so no quadratic structure).
    pub n_objective: f64,
    /// The parameter dimension `p`.
    pub p: f64,
    /// The rows of data `M`.
    pub m: f64,
}

/// The [`CaseDims`] of a spec.
pub fn case_dims(spec: &Spec) -> CaseDims {
    let (n, p) = dims(spec);
    let n_objective = if spec.family.is_layer() { 0.0 } else { spec.n as f64 };
    CaseDims { n, n_objective, p, m: spec.m as f64 }
}

/// The bytes a `DMatrix<f64>` adds to the `Vec` that holds it besides its entries (its
/// header: buffer, capacity, length, two dimensions; 40 bytes on a 64-bit target). A
/// `DVector<f64>` header is smaller.
pub const MATRIX_HEADER: f64 = std::mem::size_of::<nalgebra::DMatrix<f64>>() as f64;

/// The same for a double-double matrix ([`DdMatrix`]: two buffers and two dimensions;
/// 64 bytes), the larger of the two headers.
pub const DD_HEADER: f64 = std::mem::size_of::<DdMatrix>() as f64;

/// The bytes of `exmex`'s one parse and symbolic differentiation of (22)'s `h`
/// ([`crate::bounds::symbolic_h_derivatives`]), done once per process and kept in a
/// static: a fixed expression, so a fixed peak, 0.92 MB measured (`tests/memory.rs`
/// checks this bound; a new `exmex` may change it). Counted once per run, not per thread.
pub const SYMBOLIC_BYTES: f64 = 1024.0 * 1024.0;

/// The horizons of `rem3.fwd_rev` at `K = k` (`claims::rem3::horizons`: every `K' ≤ 20`,
/// then `40, 80, …` below `K`, then `K`): their number and `Σ (K' + 1)`, the length of
/// the reverse sweeps it caches (`tests/memory.rs` checks them against the claim's own).
pub fn rem3_sweeps(k: f64) -> (f64, f64) {
    let small = k.clamp(0.0, 20.0).floor();
    let (mut count, mut length) = (small, small * (small + 3.0) / 2.0);
    let mut h = 40.0;
    while h < k {
        (count, length) = (count + 1.0, length + h + 1.0);
        h *= 2.0;
    }
    if k > 20.0 {
        (count, length) = (count + 1.0, length + k + 1.0);
    }
    (count, length)
}

/// The bytes of one checked instance (a `Case` (`claims::case`) and every claim run on it)
/// with the dimensions `d` (`n`, `n_f`, `p`, `M`), horizon `K = k`, cost factor
/// `ω = omega` and `t = late_starts` late-start fractions: an upper bound from the
/// allocations the code makes. Entries are `f64` (8 bytes; a double-double entry is two);
/// every matrix held in a `Vec` adds its header, at most [`DD_HEADER`] bytes
/// ([`MATRIX_HEADER`] for an `f64` one). `L = 2K + 1` is the length of the long run and
/// `T = min(t, K + 1)` the number of distinct late starts `T' = ⌊fK⌋`. The terms, each a
/// function below:
///
/// - **kept by the case** ([`case_kept_bytes`]): the dense run (`K + 1` iterates, forward
///   and reverse Jacobians `n × p`, three error curves), the long run (`L + 1` iterates,
///   the linearisation `B_k` `n × n` and `C_k` `n × p` for `k < L`), the data and the
///   implicit Jacobian: `8[(K+1)(n + 2np + 3) + (L+1)n + L(n² + np) + M(n+1) + 4np + 4n²]
///   + (2(K+1) + 2L)·40`;
/// - **the case's caches** ([`caches_bytes`]): the truncated reverse sweeps, the errors of
///   late-started runs, the norms `‖B_k‖`, `‖C_k‖` and the quadratic structure, kept for
///   the case's life (see there);
/// - **the working set of one claim** on top of it ([`working_bytes`]): up to `3(L+1)`
///   Jacobians `n × p` with their headers (a reverse sweep in `f64` and in
///   double-double, or a late-started sequence beside its double-double reference), the
///   temporaries of one step, and `thm8.budget`'s trajectory of [`omega_horizon`] `+ 1`
///   iterates ([`omega_bytes`]);
/// - **a certification** (`claims::certify`, one at a time per thread;
///   [`certify_bytes`]) rebuilds the case in double-double (`Case::refined`) and runs one
///   claim on it: that case's arrays, its own caches and the claim's working set again.
///
/// `tests/memory.rs` measures the peak with a counting allocator over a table of families,
/// methods, sizes and `ω`, and checks that this bounds it (and reports by how much).
/// [`SYMBOLIC_BYTES`], once per process, is not included: [`check_spec`] adds it.
pub fn case_bytes(d: CaseDims, k: f64, omega: f64, late_starts: f64) -> f64 {
    case_kept_bytes(d, k)
        + caches_bytes(d, k, late_starts)
        + working_bytes(d, k, omega)
        + certify_bytes(d, k, omega, late_starts)
}

/// What a case keeps once its runs are made (see [`case_bytes`]):
/// `8[(K+1)(n + 2np + 3) + (L+1)n + L(n² + np) + M(n+1) + 4np + 4n²] + (2(K+1) + 2L)·40`.
pub fn case_kept_bytes(d: CaseDims, k: f64) -> f64 {
    let CaseDims { n, p, m, .. } = d;
    let l = 2.0 * k + 1.0;
    let run = (k + 1.0) * (n + 2.0 * n * p + 3.0) + (l + 1.0) * n + l * (n * n + n * p);
    let fixed = m * (n + 1.0) + 4.0 * n * p + 4.0 * n * n;
    F64 * (run + fixed) + (2.0 * (k + 1.0) + 2.0 * l) * MATRIX_HEADER
}

/// The caches of a case (`claims::case`), kept for its life, at `T = min(t, K + 1)` late
/// starts and `R` horizons of `rem3.fwd_rev` whose sweeps have `Σ(K'+1) = S` steps
/// ([`rem3_sweeps`]):
///
/// - the truncated reverse sweeps `(K', T')` (`rem3.fwd_rev` at its `R` horizons from
///   `T' = 0`, `sec41.trunc_fwd_rev` at the `T` late starts to `K' = K`): each keeps `X̄`
///   `n × n` and two `Ū` `n × p` in `f64` and in double-double (`3n² + 6np` entries), and
///   the `Vec`s the sweep was cut from keep their capacity, `K' − T' + 1` headers of each
///   kind plus as many norms `‖X̄^{(k)}‖`:
///   `(R + T)(8(3n² + 6np) + e) + (S + T(K+1))(8 + 40 + 64)`, with `e` the bytes of one
///   entry of the map (its `Arc`, key and slot, doubled for the map's growth);
/// - the errors of late-started runs (`thm8.bound`, `rem9.local` at the `T` late starts;
///   `thm8.budget` at 6 truncations, from `T'` and from `T`): `(T + 12)(8(K+1) + e)`;
/// - `‖B_k‖`, `‖C_k‖` for `k < L`, in two `Vec`s grown by doubling (the old buffer and
///   the new one of twice the length live at once while it grows): `2·3L·8`;
/// - the quadratic structure (`H`, its eigenvectors and eigenvalues, `∂_jH` for the `p`
///   coordinates, from the `n_f` columns `D_u∇f(x* + e_i) − D_u∇f(x*)` of `n_f × p`, all
///   alive while it is built): `8[(2p + 4)n_f² + (n_f + 2)p + 2n_f] + (n_f + p)·40`.
pub fn caches_bytes(d: CaseDims, k: f64, late_starts: f64) -> f64 {
    let CaseDims { n, n_objective: nf, p, .. } = d;
    let l = 2.0 * k + 1.0;
    let t = late_starts.min(k + 1.0);
    let (r, s) = rem3_sweeps(k);
    let step = F64 + MATRIX_HEADER + DD_HEADER;
    let truncated = (r + t) * (F64 * (3.0 * n * n + 6.0 * n * p) + CACHE_ENTRY) + (s + t * (k + 1.0)) * step;
    let late = (t + 12.0) * (F64 * (k + 1.0) + CACHE_ENTRY);
    let norms = 2.0 * 3.0 * l * F64;
    let quadratic = F64 * ((2.0 * p + 4.0) * nf * nf + (nf + 2.0) * p + 2.0 * nf) + (nf + p) * MATRIX_HEADER;
    truncated + late + norms + quadratic
}

/// The bytes of one entry of a case's cache besides the arrays it holds: the `Arc`'s two
/// counts and a value of at most 5 headers (256 bytes with the counts), and its slot in a
/// `HashMap` (a key of three `usize`, the `Arc` pointer and a control byte: 33 bytes) in
/// a table at most 8/7 × 2 × full, twice while it grows (`< 5` slots per entry):
/// `256 + 5 × 33 = 421`, rounded up to 512.
pub const CACHE_ENTRY: f64 = 512.0;

/// The working set of one claim on top of what the case keeps (see [`case_bytes`]):
/// `3(L+1)(8np + 64)` for the Jacobians of its sweeps, `8(5n² + 6np + 4n)` for the
/// temporaries of one step (a double-double `X̄` and its successor, its rounding, `Ū`,
/// its copy and the product added to it) and [`omega_bytes`].
pub fn working_bytes(d: CaseDims, k: f64, omega: f64) -> f64 {
    let CaseDims { n, p, .. } = d;
    let l = 2.0 * k + 1.0;
    3.0 * (l + 1.0) * (F64 * n * p + DD_HEADER) + F64 * (5.0 * n * n + 6.0 * n * p + 4.0 * n) + omega_bytes(n, k, omega)
}

/// A certification (`claims::certify`) on top of the case and its caches: the map's
/// affine data, twice while the limit map's is formed (`B`, `a`, `C(0)` and the `n`
/// matrices `G_i` `n × p`: `2·8(n² + n + 2np + n²p) + 2n·40`); the double-double
/// unrolling `AffineDd` (`L + 1` iterates and `L` `C_k` in double-double, `L` `B_k`:
/// `8(2(L+1)n + Ln² + 2Lnp) + (2L+1)·64`); the case rebuilt from it (`Case::refined`: the
/// iterates as columns and as a matrix, `B_k` copied, `C_k` rounded, the forward and
/// reverse Jacobians in double-double and rounded, the short trajectory:
/// `8(2(L+1)n + Ln² + Lnp + 6(K+1)np + (K+1)n + 2n²) + (3L + 1 + 4(K+1))·64`); and that
/// case's own caches and one claim's working set ([`caches_bytes`], [`working_bytes`]).
pub fn certify_bytes(d: CaseDims, k: f64, omega: f64, late_starts: f64) -> f64 {
    let CaseDims { n, p, .. } = d;
    let l = 2.0 * k + 1.0;
    let affine = 2.0 * F64 * (n * n + n + 2.0 * n * p + n * n * p) + 2.0 * n * MATRIX_HEADER;
    let dd = F64 * (2.0 * (l + 1.0) * n + l * n * n + 2.0 * l * n * p) + (2.0 * l + 1.0) * DD_HEADER;
    let refined = F64 * (2.0 * (l + 1.0) * n + l * (n * n + n * p) + (k + 1.0) * (6.0 * n * p + n) + 2.0 * n * n)
        + (3.0 * l + 1.0 + 4.0 * (k + 1.0)) * DD_HEADER;
    affine + dd + refined + caches_bytes(d, k, late_starts) + working_bytes(d, k, omega)
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
/// and `late_starts` late-start fractions (`check`, `replay`: the claim setting's) against
/// `max_gib`, before its data are drawn: [`case_bytes`] plus [`SYMBOLIC_BYTES`]. `what`
/// names the argument (`--spec`, `SPEC`).
pub fn check_spec(
    spec: &Spec,
    (k_max, omega, late_starts): (usize, f64, usize),
    max_gib: f64,
    what: &str,
) -> Result<()> {
    let d = case_dims(spec);
    let k = k_max.max(10);
    let bytes = case_bytes(d, k as f64, omega, late_starts as f64) + SYMBOLIC_BYTES;
    let cause = format!(
        "M = {}, N = {}: state dimension {}, parameter dimension {}, K up to {k}, omega = {omega}",
        spec.m, spec.n, d.n, d.p
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
