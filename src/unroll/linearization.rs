//! The dense Jacobians `B_k = D_x A(x_k, u)`, `C_k = D_u A(x_k, u)` (10) along a trajectory,
//! computed once and shared by every dense forward and reverse sweep over it.

use super::Trajectory;
use crate::map::FixedPointMap;
use nalgebra::DMatrix;

/// `B_k`, `C_k` for `k = 0..len`.
#[derive(Debug, Clone)]
pub struct Linearization {
    b: Vec<DMatrix<f64>>,
    c: Vec<DMatrix<f64>>,
    dims: (usize, usize),
}

impl Linearization {
    /// The Jacobians at the iterates `x_0, …, x_{count−1}` of `traj`.
    pub fn along<M: FixedPointMap + ?Sized>(map: &M, traj: &Trajectory, count: usize) -> Self {
        assert!(count <= traj.len() + 1, "linearization beyond the trajectory");
        let (b, c) = (0..count).map(|k| (map.d_x_at(k, traj.x(k)), map.d_u_at(k, traj.x(k)))).unzip();
        Linearization { b, c, dims: (map.dim_x(), map.dim_u()) }
    }

    /// From given Jacobians `B_k`, `C_k` (e.g. recomputed in higher precision and rounded).
    pub fn from_parts(b: Vec<DMatrix<f64>>, c: Vec<DMatrix<f64>>) -> Self {
        assert!(b.len() == c.len() && !b.is_empty(), "one C_k per B_k, at least one");
        let dims = (b[0].nrows(), c[0].ncols());
        Linearization { b, c, dims }
    }

    /// How many iterates are linearised.
    pub fn len(&self) -> usize {
        self.b.len()
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    /// `B_k`.
    pub fn b(&self, k: usize) -> &DMatrix<f64> {
        &self.b[k]
    }

    /// `C_k`.
    pub fn c(&self, k: usize) -> &DMatrix<f64> {
        &self.c[k]
    }

    /// Late-started forward iterates (20): `Ẋ^{(j+1)} = B_{j+T'} Ẋ^{(j)} + C_{j+T'}`,
    /// `j = 0..steps`, from `Ẋ^{(0)} = dx0`.
    pub fn late_start_jacobians(&self, t_prime: usize, steps: usize, dx0: &DMatrix<f64>) -> Vec<DMatrix<f64>> {
        let mut out = Vec::with_capacity(steps + 1);
        out.push(dx0.clone());
        for j in 0..steps {
            let next = &self.b[t_prime + j] * &out[j] + &self.c[t_prime + j];
            out.push(next);
        }
        out
    }

    /// Truncated reverse sweep (12) from `K' = k_end` down to `T' = stop`: `Ū_{K'}^{(k)}` for
    /// `k = T'..=K'` (index `k − T'`) and the final `X̄_{K'}^{(T')}`.
    pub fn truncated_jacobians(&self, k_end: usize, stop: usize) -> (Vec<DMatrix<f64>>, DMatrix<f64>) {
        assert!(stop <= k_end && k_end <= self.len(), "truncated sweep needs T' <= K' <= len");
        let (n, p) = self.dims;
        let mut xbar = DMatrix::identity(n, n);
        let mut ubars = vec![DMatrix::zeros(n, p); k_end - stop + 1];
        for k in (stop..k_end).rev() {
            let next = &ubars[k + 1 - stop] + &xbar * &self.c[k];
            xbar = &xbar * &self.b[k];
            ubars[k - stop] = next;
        }
        (ubars, xbar)
    }
}
