//! Unrolling: the iterates (4), forward mode (9), reverse mode (12), late start and
//! truncation (20), the implicit Jacobian (6) and the error sequences (8), (11), (13).
//!
//! Two flavours of each mode:
//! - *directional* ([`forward::late_start_jvp`], [`reverse::truncated_vjp`]): Jacobian–vector
//!   and vector–Jacobian products, as the paper's appendix C computes them. These are the
//!   hot loops: two buffers made once, swapped each iteration, no allocation per
//!   iteration; each iterate is handed to an observer closure (argmin's "observer"
//!   idea), so callers compute errors without storing derivative iterates;
//! - *full* ([`forward::late_start_jacobians`], [`reverse::truncated_jacobians`]): dense
//!   `Ẋ_k` and `Ū_K^{(k)}`, for small instances and for spectral-norm errors.
//!
//! Reverse mode stores the iterates ([`Trajectory`]), never the Jacobians.

pub mod errors;
pub mod forward;
pub mod implicit;
pub mod linearization;
pub mod reference;
pub mod refined;
pub mod reverse;

pub use errors::{ErrorCurves, argmax, argmin};
pub use forward::{forward_jacobians, forward_jvp, late_start_jacobians, late_start_jvp};
pub use implicit::implicit_jacobian;
pub use linearization::Linearization;
pub use reverse::{reverse_jacobians, reverse_vjp, truncated_jacobians, truncated_vjp};

use crate::map::FixedPointMap;
use crate::problem::VecView;
use nalgebra::{DMatrix, DVector};

/// The iterates `x_0, …, x_K` of (4), stored as the columns of one `n×(K+1)` matrix.
#[derive(Debug, Clone)]
pub struct Trajectory {
    xs: DMatrix<f64>,
}

impl Trajectory {
    /// Runs `K` iterations of `map` from `x0`.
    ///
    /// ```
    /// use nalgebra::{dmatrix, dvector};
    /// use unrollcheck::map::GradientDescent;
    /// use unrollcheck::problem::ridge::{Ridge, RidgeParam};
    /// use unrollcheck::unroll::Trajectory;
    /// let f = Ridge::new(dmatrix![1.0, 0.0; 0.0, 2.0], dvector![1.0, 1.0], 0.0, RidgeParam::Targets).unwrap();
    /// let gd = GradientDescent::new(f, 0.4).unwrap();
    /// let t = Trajectory::run(&gd, &dvector![0.0, 0.0], 100);
    /// assert!((t.x(100)[0] - 1.0).abs() < 1e-12 && (t.x(100)[1] - 0.5).abs() < 1e-12);
    /// ```
    pub fn run<M: FixedPointMap + ?Sized>(map: &M, x0: &DVector<f64>, k: usize) -> Self {
        let n = map.dim_x();
        let mut xs = DMatrix::zeros(n, k + 1);
        xs.column_mut(0).copy_from(x0);
        let mut s = map.scratch();
        for j in 0..k {
            let (prev, mut next) = xs.columns_range_pair_mut(j, j + 1);
            map.step_at(j, prev.column(0), next.column_mut(0), &mut s);
        }
        Trajectory { xs }
    }

    /// The number of iterations `K` (the trajectory holds `K + 1` iterates).
    pub fn len(&self) -> usize {
        self.xs.ncols() - 1
    }

    /// `true` when only `x_0` is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The iterate `x_k`.
    pub fn x(&self, k: usize) -> VecView<'_> {
        self.xs.column(k)
    }

    /// All iterates as columns.
    pub fn as_matrix(&self) -> &DMatrix<f64> {
        &self.xs
    }

    /// A trajectory from its iterates, the columns of `xs` (e.g. iterates recomputed in
    /// higher precision and rounded, [`refined`]).
    pub fn from_columns(xs: DMatrix<f64>) -> Self {
        Trajectory { xs }
    }

    /// `e_k = ‖x_k − x*‖` for `k = 0..=K` (8).
    pub fn errors(&self, x_star: &DVector<f64>) -> Vec<f64> {
        self.xs.column_iter().map(|x| (x - x_star).norm()).collect()
    }
}
