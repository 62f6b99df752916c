//! One JVP + VJP unroll on the paper's appendix-C family (24): ridge least squares
//! `½‖Ax − b‖²` with the whole data `u = (A, b)` as parameter (`p = MN + M`), gradient
//! descent with `α = 2/(L + m)` (`m`, `L` the extreme eigenvalues of `AᵀA`), `x_0 = 0`,
//! `M = 50`, `N = 40`, `K = 1000`.
//!
//! Four timings, each reported per unroll and, through `Throughput::Elements(K)`, in
//! iterations per second:
//! - `trajectory`: `Trajectory::run` (the iterates (4));
//! - `forward_jvp`: the forward recursion (9) along a unit `v ∈ R^{MN+M}`;
//! - `reverse_vjp`: the reverse recursion (12) along a unit `w ∈ R^N`;
//! - `all`: the three in sequence (what one directional error evaluation costs).
//!
//! The observers only accumulate squared norms into a captured `f64` (no allocation);
//! the reverse observer reads the `p`-vector `wᵀŪ^{(k)}` once, at `k = 0`, so that its cost
//! does not swamp the sweep's.
//!
//! Run with `cargo bench --bench unroll`; the settings below keep it to about a minute.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nalgebra::DVector;
use std::hint::black_box;
use std::time::Duration;
use unrollcheck::linalg::symmetric_extremes;
use unrollcheck::map::GradientDescent;
use unrollcheck::problem::draw;
use unrollcheck::problem::ridge::{Ridge, RidgeParam};
use unrollcheck::unroll::{Trajectory, forward_jvp, reverse_vjp};

const M: usize = 50;
const N: usize = 40;
const K: usize = 1000;
const SEED: u64 = 2026;

/// The appendix-C instance: the map, `x_0 = 0`, a unit tangent `v` and a unit cotangent `w`.
struct Setup {
    map: GradientDescent<Ridge>,
    x0: DVector<f64>,
    v: DVector<f64>,
    w: DVector<f64>,
}

fn setup() -> Setup {
    let mut rng = draw::rng(SEED);
    let a = draw::uniform_matrix(M, N, &mut rng);
    let b = draw::normal_vector(M, 1.0, &mut rng);
    let (m, l) = symmetric_extremes(&(a.transpose() * &a));
    let alpha = 2.0 / (l + m);
    let f = Ridge::new(a, b, 0.0, RidgeParam::Data).expect("A has full column rank");
    let map = GradientDescent::new(f, alpha).expect("alpha > 0");
    let v = draw::unit_vector(M * N + M, &mut rng);
    let w = draw::unit_vector(N, &mut rng);
    Setup { map, x0: DVector::zeros(N), v, w }
}

fn forward(s: &Setup, traj: &Trajectory, zero: &DVector<f64>) -> f64 {
    let mut acc = 0.0;
    forward_jvp(&s.map, traj, s.v.as_view(), zero.as_view(), |_, xv| acc += xv.norm_squared());
    acc
}

fn reverse(s: &Setup, traj: &Trajectory) -> f64 {
    let mut acc = 0.0;
    reverse_vjp(&s.map, traj, s.w.as_view(), |k, ub, xb| {
        acc += xb.norm_squared();
        if k == 0 {
            acc += ub.norm_squared();
        }
    });
    acc
}

fn bench_unroll(c: &mut Criterion) {
    let s = setup();
    let traj = Trajectory::run(&s.map, &s.x0, K);
    let zero = DVector::zeros(N);

    let mut g = c.benchmark_group(format!("unroll_M{M}_N{N}_K{K}"));
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(K as u64));

    g.bench_function("trajectory", |bch| bch.iter(|| Trajectory::run(&s.map, black_box(&s.x0), black_box(K))));
    g.bench_function("forward_jvp", |bch| bch.iter(|| forward(&s, black_box(&traj), &zero)));
    g.bench_function("reverse_vjp", |bch| bch.iter(|| reverse(&s, black_box(&traj))));
    g.bench_function("all", |bch| {
        bch.iter(|| {
            let t = Trajectory::run(&s.map, black_box(&s.x0), black_box(K));
            forward(&s, &t, &zero) + reverse(&s, &t)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_unroll);
criterion_main!(benches);
