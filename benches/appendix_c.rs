//! The appendix-C workload (`unrollcheck reproduce appendix-c`): `R` runs per
//! `N ∈ {2, 5, 10, 20, 30, 40}`, both step sizes, nine truncations each (see
//! `src/reproduce/appendix_c.rs`).
//!
//! - `sweep_R100`: the whole sweep at the paper's `R = 100` with the default (spectral)
//!   engine (parallel over runs, rayon's default pool), aggregation included, report
//!   writing excluded. Its throughput is the analytic flop count (`Flops::total`), so
//!   criterion's `elem/s` reads as flop/s;
//! - `run_N40_spectral` / `run_N40_blocked`: one run at `N = 40` (both step sizes, all `T`,
//!   no curves) with the spectral and the blocked engine, single-threaded (throughput:
//!   `Flops::of_spectral_run`, `Flops::of_blocked_run`);
//! - `run_N40_factored` / `run_N40_direct`: one run at `N = 40` (both step sizes, all `T`,
//!   no curves) on the `(AᵀA, Aᵀb)` map (the default) and on the engine's map on `(A, b)`,
//!   single-threaded: the gain of the chain-rule factorisation alone (the second in its own
//!   group, without a throughput: it does more flops for the same numbers).
//!
//! Run with `cargo bench --bench appendix_c` (about a minute). `benches/compare.sh` times
//! the release binary against the NumPy implementation `benches/appendix_c_numpy.py`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use unrollcheck::reproduce::appendix_c::{Draw, Engine, Flops, Protocol, run_draw, run_seed, sweep_protocol};

fn bench_appendix_c(c: &mut Criterion) {
    let p = Protocol::paper(100, 0);
    let flops = sweep_protocol(&p, Engine::Spectral).expect("the sweep runs").flops.total();
    let mut g = c.benchmark_group("appendix_c");
    g.sample_size(10).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(16));
    g.throughput(Throughput::Elements(flops as u64));
    g.bench_function("sweep_R100", |b| b.iter(|| sweep_protocol(black_box(&p), Engine::Spectral).unwrap()));
    g.finish();

    let one = Protocol::paper(1, 0);
    let d = Draw::sample(one.m, 40, run_seed(one.seed, 40, 0));
    let run = run_draw(&d, &one, Engine::Factored, false).unwrap();
    let mut g = c.benchmark_group("appendix_c_one_run_spectral");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(6));
    g.throughput(Throughput::Elements(Flops::of_spectral_run(one.m, 40, run.k, &run.ts, one.omega).total() as u64));
    g.bench_function("run_N40_spectral", |b| {
        b.iter(|| run_draw(black_box(&d), &one, Engine::Spectral, false).unwrap())
    });
    g.finish();
    let mut g = c.benchmark_group("appendix_c_one_run_blocked");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(6));
    g.throughput(Throughput::Elements(Flops::of_blocked_run(one.m, 40, run.k, &run.ts, one.omega).total() as u64));
    g.bench_function("run_N40_blocked", |b| b.iter(|| run_draw(black_box(&d), &one, Engine::Blocked, false).unwrap()));
    g.finish();
    let mut g = c.benchmark_group("appendix_c_one_run");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(6));
    g.throughput(Throughput::Elements(Flops::of_run(one.m, 40, run.k, &run.ts, one.omega).total() as u64));
    g.bench_function("run_N40_factored", |b| {
        b.iter(|| run_draw(black_box(&d), &one, Engine::Factored, false).unwrap())
    });
    g.finish();
    // No throughput here: the map on (A, b) does more flops for the same numbers.
    let mut g = c.benchmark_group("appendix_c_one_run_direct");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(6));
    g.bench_function("run_N40_direct", |b| b.iter(|| run_draw(black_box(&d), &one, Engine::Direct, false).unwrap()));
    g.finish();
}

criterion_group!(benches, bench_appendix_c);
criterion_main!(benches);
