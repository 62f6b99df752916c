//! The text of the default run of the binary (`unrollcheck demo`): one instance of the paper's Figure 2 setting, its
//! certified constants, `k̇`, `k̄` and a short table of `e_k`, `ė_k`, `ē_k` with the bounds
//! (8) and (19).
//!
//! The options are checked before anything is drawn, as by the other entry points
//! ([`check`]): `--k`, `--m`, `--n` at least 1, `--lambda` and `--x0-sigma` finite and
//! `≥ 0`, and the estimated peak memory ([`check_budget`]) within `--max-memory`. Nothing is
//! printed from a non-finite number: when `e_0`, a constant, an error curve or a bound is an
//! infinity or a NaN (e.g. `--x0-sigma 1e200`, where `‖x_0 − x*‖` overflows), the demo
//! stops with a numerical failure naming that quantity (exit 2) instead of printing curse
//! indices and bounds computed from it.

use crate::bounds::{bound_8, bound_19};
use crate::budget;
use crate::constants::{Constant, Scope};
use crate::error::{Error, Result, short_number};
use crate::spec::Spec;
use std::fmt::Write;

/// Options of `unrollcheck demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of iterations K.
    #[arg(long, default_value_t = 300)]
    pub k: usize,
    /// Rows M of A.
    #[arg(long, default_value_t = 50)]
    pub m: usize,
    /// Columns N of A.
    #[arg(long, default_value_t = 10)]
    pub n: usize,
    /// Ridge weight u (the parameter).
    #[arg(long, default_value_t = 0.1)]
    pub lambda: f64,
    /// Standard deviation of the entries of x_0 − x*.
    #[arg(long, default_value_t = 10.0)]
    pub x0_sigma: f64,
    /// Memory limit in GiB (a demo whose estimated peak memory, from --m, --n and --k,
    /// exceeds it is refused before it runs).
    #[arg(long, value_name = "GIB", default_value_t = budget::DEFAULT_MAX_MEMORY_GIB)]
    pub max_memory: f64,
}

impl Default for DemoArgs {
    fn default() -> Self {
        DemoArgs {
            seed: 0,
            k: 300,
            m: 50,
            n: 10,
            lambda: 0.1,
            x0_sigma: 10.0,
            max_memory: budget::DEFAULT_MAX_MEMORY_GIB,
        }
    }
}

/// Checks the options before anything is drawn: `--k`, `--m`, `--n` at least 1,
/// `--lambda` and `--x0-sigma` finite and `≥ 0`, `--max-memory` a number of GiB `> 0`, and
/// the estimate of [`check_budget`] within it. An [`Error::Input`] naming the flag.
pub fn check(args: &DemoArgs) -> Result<()> {
    let bad = |flag: &str, message: String| Err(Error::Input { location: flag.to_string(), message });
    for (flag, value) in [("--k", args.k), ("--m", args.m), ("--n", args.n)] {
        if value == 0 {
            return bad(flag, "0: must be at least 1".into());
        }
    }
    for (flag, value) in [("--lambda", args.lambda), ("--x0-sigma", args.x0_sigma)] {
        if !(value.is_finite() && value >= 0.0) {
            return bad(flag, format!("{value}: must be a finite number >= 0"));
        }
    }
    let max_gib = budget::check_limit(args.max_memory, budget::FLAG)?;
    check_budget(args, max_gib)
}

/// Refuses a demo whose estimated peak memory exceeds `max_gib` GiB: the instance
/// ([`budget::instance_bytes`]: the data, `x*`, `Dx*` and the `N × N` matrices of its
/// constants) and its dense error curves over `K` iterations ([`budget::curves_bytes`]),
/// with parameter dimension `p = 1` (the ridge weight). At `M = N = 200`, `K = 20000` that
/// is 6.1 GiB (the run was measured at a peak of 6.3 GB).
pub fn check_budget(args: &DemoArgs, max_gib: f64) -> Result<()> {
    let (m, n, k, p) = (args.m as f64, args.n as f64, args.k as f64, 1.0);
    let bytes = budget::instance_bytes(n, p, m) + budget::curves_bytes(n, p, k);
    let cause = format!("--m {}, --n {}, --k {}", args.m, args.n, args.k);
    budget::check("demo", &cause, bytes, max_gib, budget::FLAG)
}

/// An invalid parameter of the instance named by the flag it comes from: `λ` itself, or the
/// step `α = 2/(L+m)` derived from it (`L`, `m` the extreme eigenvalues of the ridge
/// Hessian `AᵀA + λI`, so a huge `--lambda` makes `α` underflow to 0).
fn build_error(args: &DemoArgs, e: Error) -> Error {
    let location = match &e {
        Error::InvalidParameter { field: "lambda", .. } => format!("--lambda {}", short_number(args.lambda)),
        Error::InvalidParameter { field: "alpha", .. } => format!(
            "--lambda {}: the step α = 2/(L+m) derived from it (L, m the extreme eigenvalues of AᵀA + λI)",
            short_number(args.lambda)
        ),
        Error::InvalidParameter { .. } => format!(
            "--m {}, --n {}, --lambda {}, --x0-sigma {}",
            args.m,
            args.n,
            short_number(args.lambda),
            short_number(args.x0_sigma)
        ),
        _ => return e,
    };
    Error::Input { location, message: e.to_string() }
}

/// A numerical failure naming the first non-finite quantity of `values` (`name`, value).
fn finite<'a>(values: impl IntoIterator<Item = (String, &'a f64)>) -> Result<()> {
    match values.into_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some((name, v)) => Err(Error::Numerical(format!(
            "demo: {name} = {v} is not finite; no curse indices or bounds are printed from it (reduce --x0-sigma, \
             --lambda or the sizes)"
        ))),
    }
}

fn fmt_const(c: &Constant) -> String {
    match c.scope {
        Scope::Global => format!("{:.6e} (global)", c.value),
        Scope::Local { radius } => format!("{:.6e} (local, ball radius {radius:.3e})", c.value),
    }
}

/// Runs the demo and returns its text.
///
/// The options are checked first ([`check`]); a non-finite `e_0`, constant, error or bound
/// is an [`Error::Numerical`] naming it, and nothing is returned to print.
pub fn run(args: &DemoArgs) -> Result<String> {
    check(args)?;
    let spec =
        Spec { m: args.m, n: args.n, lambda: args.lambda, x0_sigma: Some(args.x0_sigma), ..Spec::figure2(args.seed) };
    let cfg = crate::claims::Config::default();
    let case = crate::claims::Case::new(spec.build().map_err(|e| build_error(args, e))?, Some(spec), &cfg);
    let inst = &case.inst;
    let c = &inst.constants;
    // The error bound of the computed `Dx*` (its solve and the error `δ*` of `x̂*` carried
    // through `(I − B)^{-1}`, `Case::dx_star_error`): not below half of `‖Dx*‖`, the printed
    // value is not determined (an ill-conditioned `H`, e.g. `m < n` with a tiny `λ`).
    let dx_star_error = case.dx_star_error(&cfg, c.dx_star_norm);
    let (rho, gamma, e0) = (c.rho(), c.gamma.value, inst.e0());
    let named = |name: &str, v| (name.to_string(), v);
    finite([
        named("e_0", &e0),
        named("rho", &c.map.rho.value),
        named("M_x", &c.map.m_x.value),
        named("M_u", &c.map.m_u.value),
        named("kappa", &c.map.kappa.value),
        named("Gamma", &c.gamma.value),
        named("Gamma#", &c.gamma_sharp.value),
        named("|Dx*|", &c.dx_star_norm),
    ])?;
    let curves = inst.error_curves(args.k);
    for (name, curve) in [("e_k", &curves.e), ("edot_k", &curves.edot), ("ebar_k", &curves.ebar)] {
        finite(curve.iter().enumerate().map(|(k, v)| (format!("{name} at k = {k}"), v)))?;
    }
    let rows = table_rows(args.k);
    let b8: Vec<f64> = rows.iter().map(|&k| bound_8(rho, k, e0)).collect();
    let b19: Vec<f64> = rows.iter().map(|&k| bound_19(rho, k, curves.edot[0], gamma, e0)).collect();
    finite(rows.iter().zip(&b8).map(|(k, v)| (format!("bound (8) at k = {k}"), v)))?;
    finite(rows.iter().zip(&b19).map(|(k, v)| (format!("bound (19) at k = {k}"), v)))?;
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "unrollcheck demo: gradient descent on ridge least squares, parameter = ridge weight").ok();
    writeln!(
        w,
        "seed {}  M {}  N {}  u {}  alpha = 2/(L+m)  K {}  x0 = x* + N(0, {}^2)",
        args.seed,
        args.m,
        args.n,
        short_number(args.lambda),
        args.k,
        short_number(args.x0_sigma)
    )
    .ok();
    writeln!(w, "\ncertified constants").ok();
    writeln!(w, "  rho      {}", fmt_const(&c.map.rho)).ok();
    writeln!(w, "  M_x      {}", fmt_const(&c.map.m_x)).ok();
    writeln!(w, "  M_u      {}", fmt_const(&c.map.m_u)).ok();
    writeln!(w, "  kappa    {}", fmt_const(&c.map.kappa)).ok();
    writeln!(w, "  Gamma    {}   (18)", fmt_const(&c.gamma)).ok();
    writeln!(w, "  Gamma#   {}", fmt_const(&c.gamma_sharp)).ok();
    writeln!(w, "  |Dx*|    {:.6e}", c.dx_star_norm).ok();
    if dx_star_error.is_nan() || dx_star_error >= 0.5 * c.dx_star_norm {
        writeln!(
            w,
            "  warning: |Dx*| is not determined in f64: its error bound {dx_star_error:.3e} is not below half of it \
             (I − B = αH is ill-conditioned: cond {:.3e}); edot_k, bound (19) and k_dot below are built on it",
            case.implicit_cond()
        )
        .ok();
    }
    writeln!(w, "  e_0      {e0:.6e}").ok();
    writeln!(
        w,
        "\ncurse indices: k_dot = {} (argmax of forward error), k_bar = {} (argmin of reverse error)",
        curves.k_dot(),
        curves.k_bar()
    )
    .ok();
    writeln!(
        w,
        "\n{:>5}  {:>12}  {:>12}  {:>12}  {:>12}  {:>12}",
        "k", "e_k", "bound (8)", "edot_k", "bound (19)", "ebar_k"
    )
    .ok();
    for ((&k, b8), b19) in rows.iter().zip(b8).zip(b19) {
        writeln!(
            w,
            "{k:>5}  {:>12.4e}  {b8:>12.4e}  {:>12.4e}  {b19:>12.4e}  {:>12.4e}",
            curves.e[k], curves.edot[k], curves.ebar[k]
        )
        .ok();
    }
    Ok(out)
}

/// About a dozen indices from 0 to K, denser at the start.
fn table_rows(k: usize) -> Vec<usize> {
    let mut rows: Vec<usize> =
        [0, 1, 2, 5, 10, 20, 50, 100, 150, 200, 300, 500, 1000].into_iter().filter(|&r| r <= k).collect();
    if rows.last() != Some(&k) {
        rows.push(k);
    }
    rows
}
