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
//! - `products/forcing_N*` and `products/hbar_N*`: the product kernel alone
//!   (`linalg::kernels::gemm_acc`) at the two shapes of the spectral sweep, the forcing
//!   `C += a·Ĥ̇Z` (`N × N` times `N × 64`) and `Ĥ̄ += a·PZᵀ` (`N × 64` times `64 × N`), one
//!   thread; throughput `2·N·N·64` flops, so `elem/s` is the kernel's flop rate at the
//!   sweep's own shapes (`benches/compare.sh` measures NumPy's `@` at the same shapes).
//!
//! Run with `cargo bench --bench appendix_c` (about a minute). `benches/compare.sh` times
//! the release binary against the NumPy implementation `benches/appendix_c_numpy.py`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use unrollcheck::linalg::kernels::{Strided, gemm_acc};
use unrollcheck::reproduce::appendix_c::{Draw, Engine, Flops, Protocol, run_draw, run_seed, sweep_protocol};
use unrollcheck::reproduce::spectral::CHUNK;

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

/// The product kernel at the sweep's shapes, `N × N × CHUNK` (forcing) and `N × CHUNK × N`
/// (`Ĥ̄`).
fn bench_products(c: &mut Criterion) {
    let mut g = c.benchmark_group("products");
    g.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for n in [5, 10, 20, 40] {
        let k = CHUNK;
        let entries = |len: usize, salt: usize| -> Vec<f64> {
            (0..len).map(|i| ((i * 7 + salt) % 13) as f64 / 13.0 - 0.5).collect()
        };
        let (h, z, p) = (entries(n * n, 1), entries(n * k, 2), entries(n * k, 3));
        g.throughput(Throughput::Elements((2 * n * n * k) as u64));
        let mut out = vec![0.0; n * k];
        g.bench_function(format!("forcing_N{n}"), |b| {
            b.iter(|| gemm_acc(&mut out, -0.1, Strided::col_major(&h, n, n), Strided::col_major(black_box(&z), n, k)))
        });
        let mut hbar = vec![0.0; n * n];
        g.bench_function(format!("hbar_N{n}"), |b| {
            b.iter(|| {
                gemm_acc(
                    &mut hbar,
                    -0.1,
                    Strided::col_major(black_box(&p), n, k),
                    Strided::col_major(&z, n, k).transposed(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_appendix_c, bench_products);
criterion_main!(benches);
