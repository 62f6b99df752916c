//! Algorithm 1 (appendix B) warm- and cold-started on the default ridge-weight problem
//! (`BilevelSpec::ridge`: M = 40, N = 10).
//!
//! - `cargo run --release --example bilevel -- table [seed] [R] [K] [tau] [rule]`: one
//!   seed, one line per outer iteration;
//! - `cargo run --release --example bilevel -- summary [seeds] [R] [K] [tau] [rule]`: one
//!   line per seed `1..=seeds`.
//!
//! `rule` is `optimal` (`α = 2/(L+μ)`, default) or `third` (`α = 1/(3L)`).

use unrollcheck::bilevel::{Algorithm1, BilevelSpec, Study, warm_and_cold};
use unrollcheck::spec::StepRule;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.to_string());
    let mode = arg(0, "table");
    let seeds: u64 = arg(1, "1").parse()?;
    let outer: usize = arg(2, "30").parse()?;
    let k: usize = arg(3, "20").parse()?;
    let tau: f64 = arg(4, "0.05").parse()?;
    let step = if arg(5, "optimal") == "third" { StepRule::InvThreeL } else { StepRule::Optimal };
    let study = |seed| -> Result<Study, unrollcheck::Error> {
        let problem = BilevelSpec { step, ..BilevelSpec::ridge(seed) }.build()?;
        warm_and_cold(&problem, &Algorithm1::new(outer, k, tau))
    };
    println!("R = {outer}, K = {k}, tau = {tau}, step {step:?}");
    if mode == "summary" {
        summary_header();
        for seed in 1..=seeds {
            summary_line(seed, &study(seed)?);
        }
    } else {
        table(&study(seeds)?);
    }
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

fn summary_header() {
    println!(
        "{:>4} {:>8} | {:>10} {:>10} {:>8} | {:>9} {:>9} {:>9} | {:>10} {:>10} {:>10} | {:>10} {:>10}",
        "seed",
        "rho(u0)",
        "warm<cold",
        "med w/c",
        "T' med",
        "shift med",
        "shift min",
        "shift max",
        "e0 r=1",
        "e0 r=R-1",
        "err w R-1",
        "err c(own)",
        "cold u_R"
    );
}

/// Over `r ≥ 1` (at `r = 0` warm and cold coincide): how often the warm error is below the
/// cold error at the same `u^{(r)}`, the median of their ratio, `T'`, and the ratio of the
/// warm error to the shifted truncation's error.
fn summary_line(seed: u64, s: &Study) {
    let recs = &s.warm.records[1..];
    let cmps: Vec<_> = recs.iter().map(|r| (r, r.comparison.as_ref().unwrap())).collect();
    let wins = cmps.iter().filter(|(r, c)| r.estimate.error < c.cold.error).count();
    let wc = median(cmps.iter().map(|(r, c)| r.estimate.error / c.cold.error).collect());
    let tp = median(cmps.iter().filter_map(|(_, c)| c.implicit_truncation.t_prime.map(|t| t as f64)).collect());
    let sh: Vec<f64> = cmps.iter().filter_map(|(_, c)| c.implicit_truncation.shifted_ratio).collect();
    let (lo, hi) = sh.iter().fold((f64::INFINITY, 0.0_f64), |(a, b), &v| (a.min(v), b.max(v)));
    let last = recs.last().unwrap();
    println!(
        "{:>4} {:>8.5} | {:>6}/{:<3} {:>10.3e} {:>8} | {:>9.4} {:>9.4} {:>9.4} | {:>10.3e} {:>10.3e} {:>10.3e} | {:>10.3e} {:>10.3e}",
        seed,
        s.warm.records[0].rho,
        wins,
        cmps.len(),
        wc,
        tp,
        median(sh.clone()),
        lo,
        hi,
        recs[0].estimate.e0,
        last.estimate.e0,
        last.estimate.error,
        s.cold.records.last().unwrap().estimate.error,
        s.cold.u_final[0],
    );
}

fn table(study: &Study) {
    println!("rho(u0) = {:.6}", study.warm.records[0].rho);
    println!(
        "{:>3} {:>9} {:>10} {:>10} {:>10} {:>10} {:>6} {:>10} {:>8} {:>10} {:>8} | {:>9} {:>10} {:>10}",
        "r",
        "u",
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
    let opt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3e}"));
    for (w, c) in study.warm.records.iter().zip(&study.cold.records) {
        let cmp = w.comparison.as_ref().unwrap();
        let it = &cmp.implicit_truncation;
        println!(
            "{:>3} {:>9.4} {:>10.3e} {:>10.3e} {:>10.3e} {:>10.3e} {:>6} {:>10} {:>8} {:>10} {:>8} | {:>9.4} {:>10.3e} {:>10.3e}",
            w.r,
            w.u[0],
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
}
