//! Seeded draws of the data `(A, b)`.
//!
//! Every random draw of the suite comes from a [`ChaCha8Rng`] seeded with a `u64` that
//! the reports print, so an instance replays from its seed on any machine and thread count.

use nalgebra::{DMatrix, DVector};
use rand::{RngExt, SeedableRng};
pub use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The generator used for every draw.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `m×n` matrix with i.i.d. U(0,1) entries (the paper's appendix C), drawn row by row.
pub fn uniform_matrix(m: usize, n: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let rows: Vec<f64> = (0..m * n).map(|_| rng.random::<f64>()).collect();
    DMatrix::from_row_slice(m, n, &rows)
}

/// Vector with i.i.d. N(0, σ²) entries.
pub fn normal_vector(m: usize, sigma: f64, rng: &mut ChaCha8Rng) -> DVector<f64> {
    DVector::from_fn(m, |_, _| sigma * rng.sample::<f64, _>(StandardNormal))
}

/// Per-sample weights: i.i.d. U(0.5, 1.5) (the logistic family's `w`).
pub fn sample_weights(m: usize, rng: &mut ChaCha8Rng) -> DVector<f64> {
    DVector::from_fn(m, |_, _| 0.5 + rng.random::<f64>())
}

/// Random unit vector (uniform on the sphere).
pub fn unit_vector(m: usize, rng: &mut ChaCha8Rng) -> DVector<f64> {
    let v = normal_vector(m, 1.0, rng);
    let n = v.norm();
    v / n
}

/// `m×n` matrix (`m ≥ n`) with singular values geometrically spaced in `[s_min, s_max]`
/// and random orthogonal factors (QR of Gaussian matrices): a controlled spectrum.
pub fn controlled_spectrum(m: usize, n: usize, s_min: f64, s_max: f64, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let g1 = DMatrix::from_fn(m, n, |_, _| rng.sample::<f64, _>(StandardNormal));
    let g2 = DMatrix::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
    let u = g1.qr().q();
    let v = g2.qr().q();
    let sv = DVector::from_fn(
        n,
        |i, _| {
            if n == 1 { s_max } else { s_min * (s_max / s_min).powf(i as f64 / (n - 1) as f64) }
        },
    );
    u * DMatrix::from_diagonal(&sv) * v.transpose()
}
