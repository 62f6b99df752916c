//! Small dense linear-algebra helpers on top of nalgebra.
//!
//! The errors of the paper are spectral (induced 2-)norms of Jacobians; nalgebra's `norm`
//! is the Frobenius norm, so [`spectral_norm`] computes `σ_max` through the eigenvalues of
//! the smaller Gram matrix. The largest eigenvalue of a symmetric matrix is computed with
//! absolute error `O(ε‖G‖)`, so `σ_max = √λ_max(G)` keeps a relative accuracy of `O(ε)`
//! (only the *small* singular values lose accuracy through a Gram matrix).

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
    let j = DMatrix::from_iterator(r, c, j.iter().cloned());
    let scale = j.amax();
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    let j = j / scale;
    let gram = if r <= c { &j * j.transpose() } else { j.transpose() * &j };
    scale * symmetric_extremes(&gram).1.max(0.0).sqrt()
}

/// The smallest and largest eigenvalues of a symmetric matrix.
pub fn symmetric_extremes(g: &DMatrix<f64>) -> (f64, f64) {
    let ev = g.clone().symmetric_eigenvalues();
    let lo = ev.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = ev.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// Spectral radius of a square (not necessarily symmetric) matrix.
pub fn spectral_radius(a: &DMatrix<f64>) -> f64 {
    a.complex_eigenvalues().iter().map(|z| z.norm()).fold(0.0, f64::max)
}
