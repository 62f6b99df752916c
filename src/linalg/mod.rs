//! Small dense linear-algebra helpers on top of nalgebra.
//!
//! The errors of the paper are spectral (induced 2-)norms of Jacobians; nalgebra's `norm`
//! is the Frobenius norm, so [`spectral_norm`] computes `σ_max` through the eigenvalues of
//! the smaller Gram matrix. The largest eigenvalue of a symmetric matrix is computed with
//! absolute error `O(ε‖G‖)`, so `σ_max = √λ_max(G)` keeps a relative accuracy of `O(ε)`
//! (only the *small* singular values lose accuracy through a Gram matrix).
//!
//! [`kernels`]: the AVX2/FMA dense kernels of the appendix-C fast path (the normal
//! equations of `problem/normal.rs`). [`dd`]: double-double arithmetic a column at a time,
//! bitwise `twofloat`'s, for the references of `unroll/reference.rs`.

pub mod dd;
pub mod kernels;

use crate::error::{Error, Result};
use nalgebra::{DMatrix, Dim, Matrix, RawStorage};

/// Spectral norm `‖J‖₂ = σ_max(J)` of a dense matrix (Euclidean norm for vectors).
///
/// ```
/// use nalgebra::dmatrix;
/// let j = dmatrix![3.0, 0.0; 0.0, -4.0; 0.0, 0.0];
/// assert!((unrollcheck::linalg::spectral_norm(&j) - 4.0).abs() < 1e-14);
/// ```
pub fn spectral_norm<R: Dim, C: Dim, S: RawStorage<f64, R, C>>(j: &Matrix<f64, R, C, S>) -> f64 {
    let (r, c) = j.shape();
    if r == 0 || c == 0 {
        return 0.0;
    }
    if r == 1 || c == 1 {
        return j.iter().map(|v| v * v).sum::<f64>().sqrt();
    }
    if j.iter().any(|v| !v.is_finite()) {
        // NaN or ∞ propagate (and never reach the eigenvalue iteration, which would not end).
        return j.iter().map(|v| v.abs()).fold(0.0, |a, b| if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) });
    }
    let j = DMatrix::from_iterator(r, c, j.iter().cloned());
    let scale = j.amax();
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    let j = j / scale;
    let gram = if r <= c { &j * j.transpose() } else { j.transpose() * &j };
    scale * symmetric_extremes(&gram).1.max(0.0).sqrt()
}

/// The smallest and largest eigenvalues of a symmetric matrix (`NaN` when an entry is not
/// finite: the symmetric QR iteration converges on every finite matrix but would not end on
/// a non-finite one).
pub fn symmetric_extremes(g: &DMatrix<f64>) -> (f64, f64) {
    if g.iter().any(|v| !v.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let ev = g.clone().symmetric_eigenvalues();
    let lo = ev.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = ev.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// The iteration cap of the eigenvalue solvers for an `n × n` matrix: `100·max(10, n)` QR
/// sweeps in total. A converging solve needs a few per eigenvalue (LAPACK allows 30), but
/// nalgebra's Francis iteration has no exceptional shifts and converges only linearly when
/// many eigenvalues share a modulus (the Chebyshev and heavy-ball Jacobians), needing a few
/// hundred sweeps on 6 × 6 examples.
pub fn eigen_iteration_cap(n: usize) -> usize {
    100 * n.max(10)
}

/// The eigen-decomposition of the symmetric part of `m`, by nalgebra's symmetric QR
/// iteration capped at [`eigen_iteration_cap`] sweeps: an error, never a hang, when it does
/// not converge or `m` has a non-finite entry.
pub fn symmetric_eigen(m: &DMatrix<f64>) -> Result<nalgebra::SymmetricEigen<f64, nalgebra::Dyn>> {
    let n = m.nrows();
    if m.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical(format!("eigenvalues of a {n}×{n} matrix with non-finite entries")));
    }
    let sym = (m + m.transpose()) * 0.5;
    let cap = eigen_iteration_cap(n);
    nalgebra::SymmetricEigen::try_new(sym, f64::EPSILON, cap).ok_or_else(|| {
        Error::Numerical(format!(
            "the symmetric eigenvalue iteration on a {n}×{n} matrix did not converge in {cap} sweeps"
        ))
    })
}

/// Spectral radius of a square (not necessarily symmetric) matrix.
///
/// A matrix symmetric to rounding goes through the symmetric QR algorithm (on its symmetric
/// part), any other through the real Schur form; both are capped at
/// [`eigen_iteration_cap`] iterations (nalgebra's own entry points iterate without bound
/// and can loop forever, e.g. on the heavy-ball Jacobian whose eigenvalues share a
/// modulus). When the Schur iteration does not converge on `A` it is tried on `Aᵀ` and on
/// `QAQᵀ` for two fixed random orthogonal `Q` (same spectrum, another Hessenberg form);
/// when none converges, or an entry is not finite, the result is an [`Error::Numerical`]
/// naming what failed.
///
/// ```
/// use nalgebra::dmatrix;
/// let a = dmatrix![0.0, -0.5; 0.5, 0.0];
/// assert!((unrollcheck::linalg::spectral_radius(&a).unwrap() - 0.5).abs() < 1e-15);
/// assert!(unrollcheck::linalg::spectral_radius(&dmatrix![f64::NAN]).is_err());
/// ```
pub fn spectral_radius(a: &DMatrix<f64>) -> Result<f64> {
    let n = a.nrows();
    if n != a.ncols() {
        return Err(Error::Dimension { what: "spectral radius of a non-square matrix", expected: n, got: a.ncols() });
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical(format!("spectral radius of a {n}×{n} matrix with non-finite entries")));
    }
    if n == 0 {
        return Ok(0.0);
    }
    let cap = eigen_iteration_cap(n);
    let scale = a.amax();
    let asym = (a - a.transpose()).amax();
    if asym <= 4.0 * f64::EPSILON * scale {
        let sym = (a + a.transpose()) * 0.5;
        if let Some(e) = nalgebra::SymmetricEigen::try_new(sym, f64::EPSILON, cap) {
            return Ok(e.eigenvalues.iter().map(|v| v.abs()).fold(0.0, f64::max));
        }
    }
    let radius = |m: DMatrix<f64>| {
        nalgebra::Schur::try_new(m, f64::EPSILON, cap)
            .map(|schur| schur.complex_eigenvalues().iter().map(|z| z.norm()).fold(0.0, f64::max))
    };
    if let Some(r) = radius(a.clone()).or_else(|| radius(a.transpose())) {
        return Ok(r);
    }
    for seed in [1, 2] {
        let q = seeded_uniform(n, seed).qr().q();
        if let Some(r) = radius(&q * a * q.transpose()) {
            return Ok(r);
        }
    }
    Err(Error::Numerical(format!(
        "spectral radius: the Schur iteration on a {n}×{n} matrix did not converge in {cap} iterations \
         (on A, Aᵀ and two random orthogonal similarity transforms)"
    )))
}

/// An `n×n` matrix of i.i.d. U(0,1) entries drawn row by row from `ChaCha8Rng` seeded with
/// `seed` (the draw of `uniform_matrix` in `problem/draw.rs`, which lies above this module).
fn seeded_uniform(n: usize, seed: u64) -> DMatrix<f64> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let rows: Vec<f64> = (0..n * n).map(|_| rng.random::<f64>()).collect();
    DMatrix::from_row_slice(n, n, &rows)
}
