//! Algorithm 1 (appendix B) warm- and cold-started on the default ridge-weight problem,
//! printed per outer iteration: `cargo run --release --example bilevel -- [seed] [R] [K] [tau] [rule]`
//! with `rule` one of `optimal` (`2/(L+μ)`, default) or `third` (`1/(3L)`).

use unrollcheck::bilevel::{Algorithm1, BilevelSpec, warm_and_cold};
use unrollcheck::spec::StepRule;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let seed: u64 = arg(0, "1").parse()?;
    let outer: usize = arg(1, "30").parse()?;
    let k: usize = arg(2, "20").parse()?;
    let tau: f64 = arg(3, "0.05").parse()?;
    let step = match arg(4, "optimal").as_str() {
        "third" => StepRule::InvThreeL,
        _ => StepRule::Optimal,
    };
    let problem = BilevelSpec { step, ..BilevelSpec::ridge(seed) }.build()?;
    let study = warm_and_cold(&problem, &Algorithm1::new(outer, k, tau))?;
    let r0 = &study.warm.records[0];
    println!("seed {seed}, R = {outer}, K = {k}, tau = {tau}, step {step:?}, rho(u0) = {:.6}", r0.rho);
    println!(
        "{:>3} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>6} {:>10} {:>8} {:>10} {:>8} | {:>9} {:>10} {:>10}",
        "r",
        "u",
        "alpha",
        "exact",
        "e0 warm",
        "err warm",
        "err cold@u",
        "T'",
        "err shift",
        "ratio",
        "err samefw",
        "ratio",
        "u cold",
        "e0 cold",
        "err cold"
    );
    for (w, c) in study.warm.records.iter().zip(&study.cold.records) {
        let cmp = w.comparison.as_ref().unwrap();
        let it = &cmp.implicit_truncation;
        let opt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3e}"));
        println!(
            "{:>3} {:>9.4} {:>9.3e} {:>10.3e} {:>10.3e} {:>10.3e} {:>10.3e} {:>6} {:>10} {:>8} {:>10} {:>8} | {:>9.4} {:>10.3e} {:>10.3e}",
            w.r,
            w.u[0],
            w.alpha,
            w.exact[0],
            w.estimate.e0,
            w.estimate.error,
            cmp.cold.error,
            it.t_prime.map_or("-".into(), |t| t.to_string()),
            opt(it.shifted.as_ref().map(|e| e.error)),
            opt(it.shifted_ratio),
            opt(it.same_forward.as_ref().map(|e| e.error)),
            opt(it.same_forward_ratio),
            c.u[0],
            c.estimate.e0,
            c.estimate.error,
        );
    }
    Ok(())
}
