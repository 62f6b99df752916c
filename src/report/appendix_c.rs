//! The appendix-C report: `OUT/appendix_c/report.md` (protocol, the ρ* table against the
//! paper's captions, the constants and the bound (22), the best truncation measured against
//! (22), one table and one figure per `(N, α)`), its figures, and the texts printed by
//! `unrollcheck reproduce appendix-c` and pinned by the snapshot tests.
//!
//! The numbers come from [`crate::reproduce::appendix_c`]; nothing is computed here beyond
//! formatting.

use super::figures::appendix_c_figure;
use super::{write_file, write_reproduction};
use crate::constants::Scope;
use crate::error::Result;
use crate::reproduce::appendix_c::{
    Engine, PAPER_N, Protocol, REV_POINTS, RhoRow, StepSize, Sweep, T_COUNT, TruncationCell,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The first line of the report (how a later run recognises its own directory).
pub const TITLE: &str = "# Appendix C reproduced: truncation under a fixed budget, u = (A, b)";

/// `x` with 4 significant digits (`1.235e-3`), for snapshot-stable summaries.
pub fn four_digits(x: f64) -> String {
    if x == 0.0 || !x.is_finite() { format!("{x}") } else { format!("{x:.3e}") }
}

/// The numbers of the reproduction rounded to 4 significant digits, one line each (for
/// snapshot tests: rounding noise does not move them); moduli as `1 − ρ`, whose leading
/// digits are the informative ones. (Under `1 − ρ*` the quartiles swap: q25 of `1 − ρ*`
/// is `1 − q75` of `ρ*`.)
pub fn summary(sweep: &Sweep) -> String {
    let p = &sweep.protocol;
    let mut s = String::new();
    let w = &mut s;
    writeln!(w, "appendix C: M = {}, R = {}, seed = {}, omega = {}", p.m, p.runs, p.seed, p.omega).ok();
    for r in &sweep.rho {
        writeln!(
            w,
            "1-rho* N={}: q25 {} median {} q75 {} (paper rho* {}, within IQR: {})",
            r.n,
            four_digits(1.0 - r.q.q75),
            four_digits(1.0 - r.q.median),
            four_digits(1.0 - r.q.q25),
            r.paper,
            r.within_iqr()
        )
        .ok();
    }
    for c in &sweep.cells {
        writeln!(
            w,
            "N={} alpha={}: K {} (range {}..{}), 1-rho {}, Gamma {}, edot0 {}, e0 {}, curse share {}, best T measured {}, by (22) {}",
            c.n,
            c.step.label(),
            c.k,
            c.k_range.0,
            c.k_range.1,
            four_digits(1.0 - c.rho),
            four_digits(c.gamma.value),
            four_digits(c.edot0),
            four_digits(c.e0),
            four_digits(c.curse_share),
            c.ts[c.best_measured()],
            c.ts[c.best_bound()],
        )
        .ok();
        for j in 0..T_COUNT {
            writeln!(
                w,
                "  T={}: fwd {} rev {} iter {} h {}",
                c.ts[j],
                four_digits(c.fwd[j].median),
                four_digits(c.rev[j].median),
                iter_sig(c.iter[j], c.e0),
                four_digits(c.bound[j])
            )
            .ok();
        }
    }
    s
}

/// The text printed by `unrollcheck reproduce appendix-c` (`report`: the report's path).
pub fn printed(sweep: &Sweep, report: &Path) -> String {
    let p = &sweep.protocol;
    let mut s = String::new();
    let w = &mut s;
    writeln!(w, "appendix C: report in {}", report.display()).ok();
    writeln!(w, "\nrho* = (L-m)/(L+m) over {} draws per N (paper's caption value: within the IQR?)", p.runs).ok();
    for r in &sweep.rho {
        let verdict = if !r.paper.is_finite() {
            String::new()
        } else if r.within_iqr() {
            format!("paper {:.6}: within IQR", r.paper)
        } else {
            format!("paper {:.6}: outside IQR by {:+.2e}", r.paper, r.miss())
        };
        writeln!(w, "  N = {:>2}  median {:.6}  IQR [{:.6}, {:.6}]  {verdict}", r.n, r.q.median, r.q.q25, r.q.q75).ok();
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
        "\nsweep: {:.3} s on {} threads, {:.2} Gflop counted ({:.2} Gflop/s), products: {}",
        sweep.seconds,
        rayon::current_num_threads(),
        f / 1e9,
        f / 1e9 / sweep.seconds,
        crate::linalg::kernels::isa()
    )
    .ok();
    s
}

/// The Markdown report (`figures` are the SVG paths relative to the report).
pub fn markdown(sweep: &Sweep, figures: &[(usize, StepSize, String)]) -> String {
    let p = &sweep.protocol;
    let mut s = String::new();
    let w = &mut s;
    header(w, p, sweep.engine);
    protocol_section(w, p, sweep.engine);
    rho_section(w, &sweep.rho);
    constants_section(w, &sweep.cells);
    best_truncation_section(w, &sweep.cells, p.omega);
    cell_sections(w, &sweep.cells, figures, p.omega);
    figure_note(w);
    s
}

/// The title and the command that generated the report.
fn header(w: &mut String, p: &Protocol, engine: Engine) {
    writeln!(w, "{TITLE}\n").ok();
    writeln!(
        w,
        "Generated by `unrollcheck reproduce appendix-c --runs {} --seed {}{}{}{}`.\n",
        p.runs,
        p.seed,
        engine_flag(engine),
        if p.m == 50 { String::new() } else { format!(" --m {}", p.m) },
        // The command as typed: comma-separated without spaces (`join` puts spaces).
        if p.ns == PAPER_N {
            String::new()
        } else {
            format!(" --n {}", p.ns.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","))
        }
    )
    .ok();
}

/// ` --engine NAME` unless the engine is the default.
fn engine_flag(engine: Engine) -> String {
    use clap::ValueEnum;
    match engine {
        Engine::Spectral => String::new(),
        e => format!(" --engine {}", e.to_possible_value().map_or(String::new(), |v| v.get_name().to_string())),
    }
}

/// The protocol of appendix C as run.
fn protocol_section(w: &mut String, p: &Protocol, engine: Engine) {
    writeln!(w, "## Protocol\n").ok();
    writeln!(
        w,
        "Least squares (24) `f(x, u) = ½‖Ax − b‖²`, `u = (A, b)` (A row by row, then b; `p = MN + M`), \
         gradient descent from `x_0 = 0` with `Ẋ_0 v = 0`. M = {}, N ∈ {{{}}}, A with U(0,1) entries, b with \
         N(0,1) entries, λ = 0. `L`, `m`: extreme eigenvalues of `AᵀA`; α ∈ {{2/(L+m), 1/(3L)}}. \
         `K = min(⌈log(10⁻³)/log ρ*⌉, {})` with `ρ* = (L−m)/(L+m)` (for both step sizes, as in the paper); \
         `T_j = ⌊0.1·j·K + 0.5⌋`, j = 0…8; ω = {}; `K' = K + ωT`, `T' = T + ωT`. A random unit tangent \
         `v ∈ R^(MN+M)` and unit cotangent `w ∈ R^N` per run. Forward: late-started JVP (20) from `T'` for \
         `K − T` steps; reverse: VJP sweep from `K'` stopped at `T'`. {} runs per N (every quantity redrawn \
         per run, seed {}); medians over runs.\n",
        p.m,
        join(&p.ns),
        p.k_cap,
        p.omega,
        p.runs,
        p.seed
    )
    .ok();
    writeln!(
        w,
        "The iterates of a run are computed once (up to `K + ω·T_max`) and shared by the nine late starts and \
         truncated sweeps, which run on the normal equations: gradient descent on (24) depends on `(A, b)` \
         only through `(AᵀA, Aᵀb)`, so by the chain rule `Ẋ(u)v = Ẋ(θ)Φv` and `wᵀŪ(u) = Φᵀ(wᵀŪ(θ))` with \
         `Φ = D(AᵀA, Aᵀb)`, applied once per run and once per sweep, and as a norm at the sampled k of the \
         reverse curves (exact). `B = I − αAᵀA` is constant and symmetric, so the sweep runs in the eigenbasis \
         of `AᵀA` (`reproduce::spectral`): the iterates, the nine late starts and the adjoints `Bʲw` are \
         diagonal recursions, the late starts' forcing and the truncated sweeps' `H̄` are blocked \
         matrix–matrix products, the norms are taken in the eigenbasis (orthogonally invariant; the pull-back \
         norm in `O(N²)`), and the iterates are kept only at checkpoints. The engine's one-direction loops \
         `late_start_jvp` and `truncated_vjp` on `GradientDescent<NormalEquations>` are its oracle \
         (`tests/reproduce.rs` checks the numbers against them within a rounding bound that includes the \
         eigen-decomposition's measured backward error, against the blocked sweep, against the frozen NumPy \
         reference and against the engine's map on `(A, b)`).\n"
    )
    .ok();
    let other = match engine {
        Engine::Spectral => None,
        Engine::Blocked => Some(
            "the nine late starts advanced together in the original coordinates (one matrix–matrix product per \
             step) and one adjoint sequence `Bʲw` for the nine truncated sweeps (`reproduce::blocked`)",
        ),
        Engine::Factored => Some("the engine's one-direction loops on `GradientDescent<NormalEquations>`, the oracle"),
        Engine::Direct => {
            Some("the engine's one-direction loops on the map on `(A, b)` itself (`GradientDescent<Ridge>`)")
        }
    };
    if let Some(what) = other {
        writeln!(
            w,
            "**This run used `{}`**: {what} instead of the spectral sweep (the same numbers up to rounding).\n",
            engine_flag(engine).trim()
        )
        .ok();
    }
}

/// The distribution of `ρ*` per `N` against the paper's captions (`appC.rho_table`).
fn rho_section(w: &mut String, rho: &[RhoRow]) {
    writeln!(w, "## ρ* against the captions of Figures 3–14 (`appC.rho_table`)\n").ok();
    writeln!(
        w,
        "| N | paper | measured median | IQR [q25, q75] | min … max | paper's percentile | paper within IQR? |"
    )
    .ok();
    writeln!(w, "|---|---|---|---|---|---|---|").ok();
    for r in rho {
        let verdict = if !r.paper.is_finite() {
            "—".to_string()
        } else if r.within_iqr() {
            "yes".to_string()
        } else {
            format!("no: {} by {:.2e}", if r.miss() > 0.0 { "above q75" } else { "below q25" }, r.miss().abs())
        };
        writeln!(
            w,
            "| {} | {} | {:.6} | [{:.6}, {:.6}] | {:.6} … {:.6} | {:.0} % | {} |",
            r.n,
            if r.paper.is_finite() { format!("{:.6}", r.paper) } else { "—".into() },
            r.q.median,
            r.q.q25,
            r.q.q75,
            r.range.0,
            r.range.1,
            100.0 * r.rank,
            verdict
        )
        .ok();
    }
    writeln!(
        w,
        "\nThe captions print one ρ per N, which suggests a single draw of `A` per N, while the text repeats \
         the experiment 100 times; here every run redraws `A` (and `b`, `v`, `w`), so the table compares the \
         caption with the distribution of ρ* over draws. **Subtlety 3:** the captions give the same ρ for \
         both step sizes; that is `ρ* = (L−m)/(L+m)`, the modulus of `α = 2/(L+m)` only. The contraction \
         modulus of `α = 1/(3L)` is `1 − m/(3L)`, closer to 1; the bound (22) below uses the modulus of the \
         step in use (column ρ of the next table).\n"
    )
    .ok();
}

/// The median constants per `(N, α)` that enter the bound (22).
fn constants_section(w: &mut String, cells: &[TruncationCell]) {
    writeln!(w, "## Constants and the bound (22)\n").ok();
    writeln!(
        w,
        "`h(T) = ρ^(K−T) ė_0 + (K−T) ρ^(K+ωT−1) Γ e_0` (`claims::eq22::Truncation`) with the median over runs of \
         each constant and the median K:\n\n\
         - ρ: the certified modulus of the step in use, `max(|1 − αm|, |1 − αL|)` (ρ* for 2/(L+m), \
           `1 − m/(3L)` for 1/(3L));\n\
         - Γ of (18), `Γ = M_x κ/(1−ρ) + M_u`, from the engine's certified constants of the map on `(A, b)` \
           (`GradientDescent<Ridge>` with `RidgeParam::Data`, `src/constants.rs`): the Hessian `AᵀA` does not \
           depend on x, so `M_x = 0` and `Γ = M_u = 2α‖A‖₂` — **global** (the Lipschitz constant of \
           `x ↦ D_uA(x) = −α(Ȧᵀ(Ax − b) + AᵀȦx − Aᵀḃ)` with `‖Ȧ‖ ≤ ‖Ȧ‖_F`). κ is local (on the ball \
           `‖x − x*‖ ≤ e_0`) but does not enter Γ because `M_x = 0`;\n\
         - `ė_0 = ‖(Ẋ_0 − Dx*)v‖ = ‖Dx* v‖`: with a unit v the proof of Theorem 8 applies verbatim to \
           `(Ẋ − Dx*)v`, so (21) holds for the directional error with this ė_0 (≤ ‖Dx*‖₂);\n\
         - `e_0 = ‖x_0 − x*‖ = ‖x*‖`.\n"
    )
    .ok();
    writeln!(w, "| N | α | K (median; range) | ρ (step in use) | Γ | ė_0 | e_0 | runs with k̇ > 0 (T = 0) | max rel. gap wᵀẊv vs wᵀŪv |").ok();
    writeln!(w, "|---|---|---|---|---|---|---|---|---|").ok();
    for c in cells {
        writeln!(
            w,
            "| {} | {} | {} ({}–{}) | {:.6} | {} ({}) | {} | {} | {:.0} % | {:.1e} |",
            c.n,
            c.step.label(),
            c.k,
            c.k_range.0,
            c.k_range.1,
            c.rho,
            four_digits(c.gamma.value),
            scope_word(&c.gamma.scope),
            four_digits(c.edot0),
            four_digits(c.e0),
            100.0 * c.curse_share,
            c.fwd_rev_gap
        )
        .ok();
    }
}

/// The best truncation per `(N, α)`: measured against the minimiser of (22).
fn best_truncation_section(w: &mut String, cells: &[TruncationCell], omega: usize) {
    writeln!(w, "\n## Best truncation per (N, α): measured against (22)\n").ok();
    writeln!(
        w,
        "Measured: the `T_j` with the smallest median final forward error `‖Ẋ_{{T'}}^{{(K−T)}}v − Dx*v‖`. \
         Predicted: the `T_j` minimising `h(T_j)`; also the integer minimiser of (22) over all `T ∈ {{0, …, K}}` \
         (Remark 12). T is given for the median K.\n"
    )
    .ok();
    writeln!(w, "| N | α | best T measured | median fwd error there | best T by (22) on the grid | argmin of (22) over 0..K | agree? |").ok();
    writeln!(w, "|---|---|---|---|---|---|---|").ok();
    for c in cells {
        let (bm, bb) = (c.best_measured(), c.best_bound());
        writeln!(
            w,
            "| {} | {} | {} (j = {}) | {} | {} (j = {}) | {} | {} |",
            c.n,
            c.step.label(),
            c.ts[bm],
            bm,
            four_digits(c.fwd[bm].median),
            c.ts[bb],
            bb,
            c.truncation(omega).integer_argmin(),
            if bm == bb { "yes" } else { "no" }
        )
        .ok();
    }
    writeln!(
        w,
        "\nThe paper (appendix C): for α = 2/(L+m) and N = 30, 40 the derivative errors grow with more \
         derivative iterations, making `T_max` the preferred choice; as ρ decreases the best T moves away \
         from `T_max`; for α = 1/(3L) truncation is ineffective. Compare with the measured column.\n"
    )
    .ok();
}

/// One table (and figure) per `(N, α)`: the final errors per `T_j` and the bound (22).
fn cell_sections(w: &mut String, cells: &[TruncationCell], figures: &[(usize, StepSize, String)], omega: usize) {
    for c in cells {
        writeln!(w, "### N = {}, α = {}\n", c.n, c.step.label()).ok();
        if let Some((_, _, f)) = figures.iter().find(|f| f.0 == c.n && f.1 == c.step) {
            writeln!(w, "![N = {}, α = {}]({f})\n", c.n, c.step.label()).ok();
        }
        writeln!(
            w,
            "| T | T' | K' | fwd error: median [q25, q75] | rev error: median [q25, q75] | ‖x_K' − x*‖ | bound (22) h(T) |"
        )
        .ok();
        writeln!(w, "|---|---|---|---|---|---|---|").ok();
        for j in 0..T_COUNT {
            let (kp, tp) = c.budget(j, omega);
            writeln!(
                w,
                "| {} | {} | {} | {} [{}, {}] | {} [{}, {}] | {} | {} |",
                c.ts[j],
                tp,
                kp,
                four_digits(c.fwd[j].median),
                four_digits(c.fwd[j].q25),
                four_digits(c.fwd[j].q75),
                four_digits(c.rev[j].median),
                four_digits(c.rev[j].q25),
                four_digits(c.rev[j].q75),
                four_digits(c.iter[j]),
                four_digits(c.bound[j])
            )
            .ok();
        }
        writeln!(w).ok();
    }
}

/// What the figures show.
fn figure_note(w: &mut String) {
    writeln!(
        w,
        "Figures: left, forward mode — median `e_k` (dashed blue), the median late-started forward error for \
         each T over `k = T', …, K'` (solid), the median final forward errors at `k = K'` (black dashed, \
         circles) and the bound (22) at `k = K'` (gray dashed, crosses); right, reverse mode — median `e_k`, \
         the median reverse error `‖wᵀŪ_{{K'}}^{{(k)}} − wᵀDx*‖` of the truncated sweep for each T over \
         `k = K', …, T'` (solid) and the median final reverse errors at `k = T'` (black dashed, circles). \
         The reverse curves are sampled at {REV_POINTS} evenly spread k per curve (every k when `K − T < {REV_POINTS}`; always \
         `k = K'` and `k = T'`): the sweep runs in the factorised coordinates, and only at the sampled k is \
         the cotangent pulled back to `u = (A, b)` (its norm via the thin QR of A, `N³` flops, instead of \
         `Φᵀ` itself, `2MN²`). When the runs' K differ (N ≤ 10), curves are medians index by index over the \
         runs that reach the index (drawn while at least half do), placed on the grid of the median K; a \
         reverse curve sampled on another grid than the median run's is interpolated linearly in log error \
         between its samples."
    )
    .ok();
}

/// [`sig`], except that an iterate error at rounding level (below `10⁻⁸ e_0`, where two
/// correct implementations differ in the leading digits) prints as `< 1e-8 e0`.
fn iter_sig(x: f64, e0: f64) -> String {
    if x < 1e-8 * e0 { "< 1e-8 e0".to_string() } else { four_digits(x) }
}

fn scope_word(s: &Scope) -> String {
    match s {
        Scope::Global => "global".into(),
        Scope::Local { radius } => format!("local, radius {}", four_digits(*radius)),
    }
}

fn join(ns: &[usize]) -> String {
    ns.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ")
}

/// Writes `OUT/appendix_c/report.md` and one SVG per `(N, α)` under
/// `OUT/appendix_c/figures/`, atomically (`report::write_reproduction`); returns the report's path.
pub fn write(sweep: &Sweep, out: &Path) -> Result<PathBuf> {
    let dir = write_reproduction(out, "appendix_c", TITLE, |tmp| {
        let mut figures = Vec::new();
        for c in &sweep.cells {
            let rel = format!("figures/N{}_{}.svg", c.n, c.step.slug());
            appendix_c_figure(&tmp.join(&rel), c, sweep.protocol.omega)?;
            figures.push((c.n, c.step, rel));
        }
        write_file(&tmp.join("report.md"), &markdown(sweep, &figures))
    })?;
    Ok(dir.join("report.md"))
}
