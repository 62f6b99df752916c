//! The machine's measured peak of `f64` fused multiply–adds: twelve independent chains of
//! the widest vector FMA the CPU has (AVX-512: 8 lanes, AVX2: 4, else scalar), on 1 thread
//! and on every core at once, in Gflop/s (2 flops per lane and FMA). `benches/compare.sh`
//! divides the sweep's flop rate by it; a peak computed from a nominal clock and an assumed
//! vector width can be off by a factor of four (a 2.6 GHz nominal clock, AVX2 assumed, on a
//! core that runs AVX-512 at 4.2 GHz).
//!
//! `cargo run --release --example fma_peak` prints `fma peak: <isa> <threads> threads <Gflop/s>`
//! lines, the best of three runs of about 0.2 s each.

use std::hint::black_box;
use std::time::Instant;

const CHAINS: usize = 12;

/// `iters` rounds of `CHAINS` FMAs on `lanes`-wide vectors; returns the sum (kept live).
fn chains(iters: u64) -> (f64, usize, &'static str) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: AVX-512F is present (checked just above).
            return (unsafe { chains_avx512(iters) }, 8, "avx512");
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: AVX2 and FMA are present (checked just above).
            return (unsafe { chains_avx2(iters) }, 4, "avx2");
        }
    }
    let mut acc = [1.0f64; CHAINS];
    let (x, y) = (black_box(0.999_999_9), black_box(1e-9));
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = a.mul_add(x, y);
        }
    }
    (acc.iter().sum(), 1, "scalar")
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn chains_avx512(iters: u64) -> f64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_set1_pd(1.0); CHAINS];
    let (x, y) = (_mm512_set1_pd(black_box(0.999_999_9)), _mm512_set1_pd(black_box(1e-9)));
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_pd(*a, x, y);
        }
    }
    acc.iter().map(|&a| _mm512_reduce_add_pd(a)).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chains_avx2(iters: u64) -> f64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_set1_pd(1.0); CHAINS];
    let (x, y) = (_mm256_set1_pd(black_box(0.999_999_9)), _mm256_set1_pd(black_box(1e-9)));
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_pd(*a, x, y);
        }
    }
    let mut out = [0.0; 4];
    acc.iter()
        .map(|&a| {
            // SAFETY: `out` holds four f64.
            unsafe { _mm256_storeu_pd(out.as_mut_ptr(), a) };
            out.iter().sum::<f64>()
        })
        .sum()
}

/// Gflop/s of `threads` threads running the chains at once (best of three).
fn peak(threads: usize, iters: u64) -> (f64, &'static str) {
    let mut best = 0.0f64;
    let mut isa = "";
    for _ in 0..3 {
        let t0 = Instant::now();
        let results: Vec<(f64, usize, &'static str)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..threads).map(|_| s.spawn(move || chains(black_box(iters)))).collect();
            hs.into_iter().map(|h| h.join().expect("fma thread")).collect()
        });
        let dt = t0.elapsed().as_secs_f64();
        let lanes = results[0].1;
        isa = results[0].2;
        black_box(results.iter().map(|r| r.0).sum::<f64>());
        let flops = threads as f64 * iters as f64 * (CHAINS * lanes * 2) as f64;
        best = best.max(flops / dt / 1e9);
    }
    (best, isa)
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // About 0.2 s a run at 4 GHz and 2 FMA a cycle.
    let iters = 60_000_000;
    for threads in [1, cores] {
        let (gflops, isa) = peak(threads, iters);
        println!("fma peak: {isa} {threads} threads {gflops:.1} Gflop/s");
        if cores == 1 {
            break;
        }
    }
}
