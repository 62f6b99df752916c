//! The text of the default run of the binary (`unrollcheck demo`): one instance of the paper's Figure 2 setting, its
//! certified constants, `k̇`, `k̄` and a short table of `e_k`, `ė_k`, `ē_k` with the bounds
//! (8) and (19).

use crate::bounds::{bound_8, bound_19};
use crate::constants::{Constant, Scope};
use crate::error::Result;
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
}

impl Default for DemoArgs {
    fn default() -> Self {
        DemoArgs { seed: 0, k: 300, m: 50, n: 10, lambda: 0.1, x0_sigma: 10.0 }
    }
}

fn fmt_const(c: &Constant) -> String {
    match c.scope {
        Scope::Global => format!("{:.6e} (global)", c.value),
        Scope::Local { radius } => format!("{:.6e} (local, ball radius {radius:.3e})", c.value),
    }
}

/// Runs the demo and returns its text.
pub fn run(args: &DemoArgs) -> Result<String> {
    let spec =
        Spec { m: args.m, n: args.n, lambda: args.lambda, x0_sigma: Some(args.x0_sigma), ..Spec::figure2(args.seed) };
    let inst = spec.build()?;
    let curves = inst.error_curves(args.k);
    let c = &inst.constants;
    let (rho, gamma, e0) = (c.rho(), c.gamma.value, inst.e0());
    let mut out = String::new();
    let w = &mut out;
    writeln!(w, "unrollcheck demo: gradient descent on ridge least squares, parameter = ridge weight").ok();
    writeln!(
        w,
        "seed {}  M {}  N {}  u {}  alpha = 2/(L+m)  K {}  x0 = x* + N(0, {}^2)",
        args.seed, args.m, args.n, args.lambda, args.k, args.x0_sigma
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
    for k in table_rows(args.k) {
        let b8 = bound_8(rho, k, e0);
        let b19 = bound_19(rho, k, curves.edot[0], gamma, e0);
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
