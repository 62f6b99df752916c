//! Reverse mode (12) and the truncated sweep (Section 4.1).
//!
//! From `X̄^{(K')} = I` (or `wᵀ`), `Ū^{(K')} = 0`, for `k = K'−1, …, T'`:
//! `Ū^{(k)} = Ū^{(k+1)} + X̄^{(k+1)} C_k`, `X̄^{(k)} = X̄^{(k+1)} B_k`. The full sweep is
//! `T' = 0`. Recursion (12) has no term for `Dx_0(u)` (subtlety 1): adding
//! `X̄^{(0)} Dx_0` is the caller's choice, which is why the final `X̄` is returned too.

use super::{Linearization, Trajectory};
use crate::map::FixedPointMap;
use crate::problem::VecView;
use nalgebra::{DMatrix, DVector};

/// Truncated reverse sweep of VJPs from `K' = k_end` down to `T' = stop`; calls
/// `observe(k, wᵀŪ^{(k)}, wᵀX̄^{(k)})` for `k = K', K'−1, …, T'`. Two pairs of
/// buffers, allocated once.
pub fn truncated_vjp<M: FixedPointMap + ?Sized>(
    map: &M,
    traj: &Trajectory,
    k_end: usize,
    stop: usize,
    w: VecView,
    mut observe: impl FnMut(usize, &DVector<f64>, &DVector<f64>),
) {
    assert!(stop <= k_end && k_end <= traj.len(), "truncated sweep needs T' <= K' <= K");
    let mut s = map.scratch();
    let mut xbar = w.clone_owned();
    let mut next = DVector::zeros(map.dim_x());
    let mut ubar = DVector::zeros(map.dim_u());
    observe(k_end, &ubar, &xbar);
    for k in (stop..k_end).rev() {
        map.vjp_at(k, traj.x(k), xbar.as_view(), next.as_view_mut(), ubar.as_view_mut(), &mut s);
        std::mem::swap(&mut xbar, &mut next);
        observe(k, &ubar, &xbar);
    }
}

/// Full reverse sweep of VJPs over the whole trajectory (12).
pub fn reverse_vjp<M: FixedPointMap + ?Sized>(
    map: &M,
    traj: &Trajectory,
    w: VecView,
    observe: impl FnMut(usize, &DVector<f64>, &DVector<f64>),
) {
    truncated_vjp(map, traj, traj.len(), 0, w, observe)
}

/// Dense truncated sweep: returns `Ū_{K'}^{(k)}` for `k = T'..=K'` (index `k − T'`) and
/// the final `X̄_{K'}^{(T')}`.
pub fn truncated_jacobians<M: FixedPointMap + ?Sized>(
    map: &M,
    traj: &Trajectory,
    k_end: usize,
    stop: usize,
) -> (Vec<DMatrix<f64>>, DMatrix<f64>) {
    assert!(stop <= k_end && k_end <= traj.len(), "truncated sweep needs T' <= K' <= K");
    Linearization::along(map, traj, k_end).truncated_jacobians(k_end, stop)
}

/// Dense full sweep: `Ū_K^{(k)}` for `k = 0..=K` and `X̄_K^{(0)}`.
pub fn reverse_jacobians<M: FixedPointMap + ?Sized>(map: &M, traj: &Trajectory) -> (Vec<DMatrix<f64>>, DMatrix<f64>) {
    truncated_jacobians(map, traj, traj.len(), 0)
}
