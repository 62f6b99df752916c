//! Reproductions of the paper's experiments: Figures 1–2 ([`fig2`]) and appendix C
//! ([`appendix_c`]), compute only: their reports and figures are rendered and written by
//! [`crate::report::fig2`] and [`crate::report::appendix_c`] (`unrollcheck reproduce …`).
//!
//! | module | paper | what it does |
//! |---|---|---|
//! | [`fig2`] | Fig. 1–2, (8), (19) | `e_k`, `ė_k`, `ē_k` of one ridge-weight instance with both bounds, `k̇`, `k̄`; how they depend on `x_0` |
//! | [`appendix_c`] | App. C, Fig. 3–14, (22) | the late-start / truncation protocol on `u = (A, b)`, medians over runs, the ρ* table |
//! | [`spectral`] | App. C | the sweep in the eigenbasis of `AᵀA` (the default): diagonal recursions, blocked forcing and `H̄`, `O(N²)` pull-back norms, memory free of `K·N` |
//! | [`blocked`] | App. C | the sweep's nine late starts advanced together (one matrix–matrix product per step) and one adjoint sequence for the nine truncated sweeps |
//! | [`normal`] | — | the map on `(AᵀA, Aᵀb)` and the chain-rule factors `Φ`, `Φᵀ` (the sweep's fast path) |
//! | [`kernels`] | — | the dense kernels of that map and the blocked product (AVX2+FMA when the CPU has them) |
//!
//! `src/main.rs` only prints the text of [`crate::report::reproduce`] and maps errors to
//! exit code 2.

pub mod appendix_c;
pub mod blocked;
pub mod fig2;
pub mod spectral;
pub use crate::linalg::kernels;
pub use crate::problem::normal;

use std::path::PathBuf;

/// Options of `unrollcheck reproduce`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReproduceArgs {
    /// Which experiment.
    #[command(subcommand)]
    pub target: Target,
    /// Memory limit in GiB: a reproduction whose estimated peak memory (fig2: from --k;
    /// appendix-c: from --m, --n, --runs, --engine and the threads) exceeds it is refused
    /// before it runs (exit 2).
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
        /// Rows M of A (the paper: 50); every N must lie in 1..=M.
        #[arg(long, default_value_t = 50)]
        m: usize,
        /// Dimensions N (comma-separated; default the paper's 2,5,10,20,30,40).
        #[arg(long, value_delimiter = ',', default_values_t = appendix_c::PAPER_N)]
        n: Vec<usize>,
        /// Output directory (the files go to OUT/appendix_c/).
        #[arg(long, default_value = "reports/reproduction")]
        out: PathBuf,
        /// How the sweep is computed: `spectral` (the eigenbasis of AᵀA, the fastest),
        /// `blocked`, `loops` (the engine's one-direction loops, the oracle) or `direct` (the
        /// loops on the map on (A, b) itself); the same numbers up to rounding.
        #[arg(long, value_enum, default_value_t = appendix_c::Engine::Spectral)]
        engine: appendix_c::Engine,
    },
}
