//! The unrolling of an affine map recomputed in double-double: the recomputation behind
//! *certified* violations ([`crate::claims::certify`]).
//!
//! Every map on a quadratic objective (gradient descent, heavy-ball, Chebyshev; Euclidean or
//! adapted norm) is affine in the state, `A_k(x, u) = B_k x + a_k`, and its parameter
//! Jacobian is affine in the state too, `C_k(x) = C_k(0) + Σ_i x_i G_{k,i}` (for
//! `∇f = H(u)x − g(u)`, `∂_u∇f = (∂_uH)x − ∂_u g`). Such a map is defined exactly by its
//! `f64` data as the map itself computes them: `B_k = D_xA_k`, `a_k = A_k(0)`,
//! `C_k(0)` and `G_{k,i} = C_k(e_i) − C_k(0)`. On that data, in double-double (unit
//! roundoff [`super::reference::EPS_DD`]):
//!
//! - the iterates (4), `x_{k+1} = B_k x_k + a_k` from `x_0`;
//! - the fixed point and its derivative (6) of the limit map, `(I − B_∞)x* = a_∞` and
//!   `(I − B_∞)Dx* = C_∞(x*)`, by Gaussian elimination;
//! - `C_k(x_k)` at the double-double iterates, and from them forward mode (9)/(20) and
//!   reverse mode (12) ([`AffineDd::late_start`], [`AffineDd::truncated`]).
//!
//! What stays in `f64` is the data (and whatever a claim computes from it itself); what is
//! recomputed is everything the unrolling accumulates over the iterations.

use super::reference::{DdMatrix, solve_i_minus};
use crate::map::FixedPointMap;
use nalgebra::{DMatrix, DVector};

/// The double-double unrolling of an affine map.
#[derive(Debug, Clone)]
pub struct AffineDd {
    /// `x_0, …, x_count` (`n×1` each).
    pub xs: Vec<DdMatrix>,
    /// `B_k`, `k < count`.
    pub b: Vec<DMatrix<f64>>,
    /// `C_k(x_k)`, `k < count`.
    pub c: Vec<DdMatrix>,
    /// `x*`.
    pub x_star: DdMatrix,
    /// `Dx*`.
    pub dx_star: DdMatrix,
}

/// The affine data of one step: `(B, a, C(0), [G_i])`.
type StepData = (DMatrix<f64>, DMatrix<f64>, DMatrix<f64>, Vec<DMatrix<f64>>);

fn step_data<M: FixedPointMap + ?Sized>(map: &M, k: Option<usize>) -> StepData {
    let n = map.dim_x();
    let zero = DVector::<f64>::zeros(n);
    let mut s = map.scratch();
    let mut a = DVector::zeros(n);
    let (b, c0) = match k {
        Some(k) => {
            map.step_at(k, zero.as_view(), a.as_view_mut(), &mut s);
            (map.d_x_at(k, zero.as_view()), map.d_u_at(k, zero.as_view()))
        }
        None => {
            map.step(zero.as_view(), a.as_view_mut(), &mut s);
            (map.d_x(zero.as_view()), map.d_u(zero.as_view()))
        }
    };
    let g = (0..n)
        .map(|i| {
            let mut e = DVector::zeros(n);
            e[i] = 1.0;
            let ci = match k {
                Some(k) => map.d_u_at(k, e.as_view()),
                None => map.d_u(e.as_view()),
            };
            ci - &c0
        })
        .collect();
    (b, DMatrix::from_column_slice(n, 1, a.as_slice()), c0, g)
}

/// `C(x) = C(0) + Σ_i x_i G_i` in double-double.
fn c_at(c0: &DMatrix<f64>, g: &[DMatrix<f64>], x: &DdMatrix) -> DdMatrix {
    g.iter().enumerate().fold(DdMatrix::from_f64(c0), |acc, (i, gi)| acc.add_scaled_f64(x.get(i, 0), gi))
}

impl AffineDd {
    /// Unrolls `count` steps of the affine `map` from `x0` in double-double; `None` when
    /// `I − B_∞` is singular in double-double.
    pub fn unroll<M: FixedPointMap + ?Sized>(map: &M, x0: &DVector<f64>, count: usize) -> Option<Self> {
        let n = map.dim_x();
        let stationary = (!map.capabilities().time_varying).then(|| step_data(map, Some(0)));
        let mut xs = Vec::with_capacity(count + 1);
        xs.push(DdMatrix::from_f64(&DMatrix::from_column_slice(n, 1, x0.as_slice())));
        let (mut b, mut c) = (Vec::with_capacity(count), Vec::with_capacity(count));
        for k in 0..count {
            let owned;
            let (bk, ak, c0, g) = match &stationary {
                Some(d) => d,
                None => {
                    owned = step_data(map, Some(k));
                    &owned
                }
            };
            c.push(c_at(c0, g, &xs[k]));
            xs.push(DdMatrix::left_mul(bk, &xs[k]).add_f64(ak));
            b.push(bk.clone());
        }
        let (b_inf, a_inf, c0_inf, g_inf) = step_data(map, None);
        let x_star = solve_i_minus(&b_inf, &DdMatrix::from_f64(&a_inf))?;
        let dx_star = solve_i_minus(&b_inf, &c_at(&c0_inf, &g_inf, &x_star))?;
        Some(AffineDd { xs, b, c, x_star, dx_star })
    }

    /// Late-started forward iterates (20): `Ẋ^{(j+1)} = B_{j+T'} Ẋ^{(j)} + C_{j+T'}` from
    /// `Ẋ^{(0)} = dx0`, `j = 0..steps`.
    pub fn late_start(&self, t_prime: usize, steps: usize, dx0: &DMatrix<f64>) -> Vec<DdMatrix> {
        let mut out = Vec::with_capacity(steps + 1);
        out.push(DdMatrix::from_f64(dx0));
        for j in 0..steps {
            let next = DdMatrix::left_mul(&self.b[t_prime + j], &out[j]).plus(&self.c[t_prime + j]);
            out.push(next);
        }
        out
    }

    /// The truncated reverse sweep (12) from `K' = k_end` down to `T' = stop`: `Ū_{K'}^{(k)}`,
    /// `k = T'..=K'` (index `k − T'`), and `X̄_{K'}^{(T')}`.
    pub fn truncated(&self, k_end: usize, stop: usize) -> (Vec<DdMatrix>, DdMatrix) {
        assert!(stop <= k_end && k_end <= self.b.len(), "truncated sweep needs T' <= K' <= len");
        let (n, p) = self.c[0].shape();
        let mut xbar = DdMatrix::identity(n);
        let mut ubars = vec![DdMatrix::zeros(n, p); k_end - stop + 1];
        for k in (stop..k_end).rev() {
            let next = ubars[k + 1 - stop].clone().plus(&DdMatrix::mul(&xbar, &self.c[k]));
            xbar = DdMatrix::right_mul(&xbar, &self.b[k]);
            ubars[k - stop] = next;
        }
        (ubars, xbar)
    }
}
