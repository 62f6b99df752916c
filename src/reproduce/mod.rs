//! Reproductions of the paper's experiments: Figures 1–2 ([`fig2`]) and appendix C
//! ([`appendix_c`]), with their reports and figures (`unrollcheck reproduce …`).
//!
//! | module | paper | what it does |
//! |---|---|---|
//! | [`fig2`] | Fig. 1–2, (8), (19) | `e_k`, `ė_k`, `ē_k` of one ridge-weight instance with both bounds, `k̇`, `k̄`; how they depend on `x_0` |
//! | [`appendix_c`] | App. C, Fig. 3–14, (22) | the late-start / truncation protocol on `u = (A, b)`, medians over runs, the ρ* table |
//! | [`normal`] | — | the map on `(AᵀA, Aᵀb)` and the chain-rule factors `Φ`, `Φᵀ` (the sweep's fast path) |
//! | [`kernels`] | — | the three dense kernels of that map (AVX2+FMA when the CPU has them) |
//!
//! The library does the work; `src/main.rs` only prints [`run`]'s text and maps errors to
//! exit code 2.

pub mod appendix_c;
pub mod fig2;
pub use crate::linalg::kernels;
pub use crate::problem::normal;
mod plot;

use crate::error::Result;
use appendix_c::{Engine, Protocol};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Options of `unrollcheck reproduce`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReproduceArgs {
    /// Which experiment.
    #[command(subcommand)]
    pub target: Target,
    /// Memory limit in GiB: a reproduction whose estimated peak memory (from --k, --runs)
    /// exceeds it is refused before it runs (exit 2).
    #[arg(long, global = true, value_name = "GIB", default_value_t = crate::budget::DEFAULT_MAX_MEMORY_GIB)]
    pub max_memory: f64,
}

/// The experiments `unrollcheck reproduce` knows.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Target {
    /// Figures 1–2: ridge least squares with the ridge weight as parameter; e_k, ė_k, ē_k
    /// with the bounds (8) and (19), k̇, k̄, and their dependence on the initial point.
    Fig2 {
        /// Seed of the instance (`Spec::figure2(seed)`).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Number of iterations K.
        #[arg(long, default_value_t = 300)]
        k: usize,
        /// Output directory (the files go to OUT/fig2/).
        #[arg(long, default_value = "reports/reproduction")]
        out: PathBuf,
    },
    /// Appendix C: late start / truncation under a fixed budget on u = (A, b), medians over
    /// runs, the table of ρ* against the paper's captions, the bound (22).
    AppendixC {
        /// Runs R per dimension N (the paper: 100).
        #[arg(long, default_value_t = 100)]
        runs: usize,
        /// Seed of every draw.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Dimensions N (comma-separated; default the paper's 2,5,10,20,30,40).
        #[arg(long, value_delimiter = ',', default_values_t = appendix_c::PAPER_N)]
        n: Vec<usize>,
        /// Output directory (the files go to OUT/appendix_c/).
        #[arg(long, default_value = "reports/reproduction")]
        out: PathBuf,
    },
}

/// Runs one reproduction, writes its files and returns the text to print.
pub fn run(args: &ReproduceArgs) -> Result<String> {
    match &args.target {
        Target::Fig2 { seed, k, out } => {
            fig2::check_budget(*k, crate::budget::check_limit(args.max_memory, crate::budget::FLAG)?)?;
            let f = fig2::figure2(*seed, *k)?;
            let written = fig2::write(&f, out)?;
            Ok(f.summary(&written))
        }
        Target::AppendixC { runs, seed, n, out } => {
            let p = Protocol { ns: n.clone(), ..Protocol::paper(*runs, *seed) };
            p.validate()?;
            appendix_c::check_budget(&p, crate::budget::check_limit(args.max_memory, crate::budget::FLAG)?)?;
            let sweep = appendix_c::sweep_protocol(&p, Engine::Factored)?;
            let report = appendix_c::write(&sweep, out)?;
            let mut s = String::new();
            let w = &mut s;
            writeln!(w, "appendix C: report in {}", report.display()).ok();
            writeln!(w, "\nrho* = (L-m)/(L+m) over {} draws per N (paper's caption value: within the IQR?)", p.runs)
                .ok();
            for r in &sweep.rho {
                let verdict = if !r.paper.is_finite() {
                    String::new()
                } else if r.within_iqr() {
                    format!("paper {:.6}: within IQR", r.paper)
                } else {
                    format!("paper {:.6}: outside IQR by {:+.2e}", r.paper, r.miss())
                };
                writeln!(
                    w,
                    "  N = {:>2}  median {:.6}  IQR [{:.6}, {:.6}]  {verdict}",
                    r.n, r.q.median, r.q.q25, r.q.q75
                )
                .ok();
            }
            writeln!(w, "\nbest T (median final forward error) vs argmin of (22) on the grid").ok();
            for c in &sweep.cells {
                writeln!(
                    w,
                    "  N = {:>2}  alpha = {:<8} K = {:>4}  measured T = {:>4}  by (22) T = {:>4}",
                    c.n,
                    c.step.label(),
                    c.k,
                    c.ts[c.best_measured()],
                    c.ts[c.best_bound()]
                )
                .ok();
            }
            let f = sweep.flops.total();
            writeln!(
                w,
                "\nsweep: {:.3} s on {} threads, {:.2} Gflop counted ({:.2} Gflop/s)",
                sweep.seconds,
                rayon::current_num_threads(),
                f / 1e9,
                f / 1e9 / sweep.seconds
            )
            .ok();
            Ok(s)
        }
    }
}

/// First quartile, median and third quartile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quartiles {
    /// 25th percentile.
    pub q25: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub q75: f64,
}

impl Quartiles {
    /// The quartiles of `values` (linear interpolation between order statistics, NumPy's
    /// default); `NaN` for an empty slice.
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Quartiles { q25: sorted_quantile(&v, 0.25), median: sorted_quantile(&v, 0.5), q75: sorted_quantile(&v, 0.75) }
    }
}

/// The `q`-quantile of `values` (`0 ≤ q ≤ 1`), linear interpolation between order
/// statistics (NumPy's default); `NaN` for an empty slice.
///
/// ```
/// use unrollcheck::reproduce::quantile;
/// assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
/// assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.25), 1.75);
/// ```
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    sorted_quantile(&v, q)
}

/// The median of `values` (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

fn sorted_quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
    if lo + 1 < v.len() { v[lo] + frac * (v[lo + 1] - v[lo]) } else { v[lo] }
}

/// Index-by-index median of curves of different lengths: entry `i` is the median over the
/// curves longer than `i`, for as long as at least half of the curves are.
///
/// ```
/// use unrollcheck::reproduce::ragged_median;
/// let m = ragged_median(&[&[1.0, 2.0, 3.0], &[3.0, 4.0], &[5.0]]);
/// assert_eq!(m, vec![3.0, 3.0]);
/// ```
pub fn ragged_median(curves: &[&[f64]]) -> Vec<f64> {
    let longest = curves.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(longest);
    let mut column = Vec::with_capacity(curves.len());
    for i in 0..longest {
        column.clear();
        column.extend(curves.iter().filter_map(|c| c.get(i).copied()));
        if 2 * column.len() < curves.len() {
            break;
        }
        column.sort_by(f64::total_cmp);
        out.push(sorted_quantile(&column, 0.5));
    }
    out
}

/// `x` with 4 significant digits (`1.235e-3`), for snapshot-stable summaries.
pub fn sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() { format!("{x}") } else { format!("{x:.3e}") }
}

/// `x` with 4 significant digits for reports.
fn fmt_g(x: f64) -> String {
    sig(x)
}
