//! Forward mode (9) and its late start (20).
//!
//! `Ẋ_{T'}^{(j+1)} = B_{j+T'} Ẋ_{T'}^{(j)} + C_{j+T'}`, `Ẋ_{T'}^{(0)} = Dx_0(u)`; the plain
//! forward mode is `T' = 0`. With `K'` iterations in total the late-started output is
//! `Ẋ_{T'}^{(K'−T')}` (subtlety 2 of `docs/claims-spec.md`).

use super::{Linearization, Trajectory};
use crate::map::FixedPointMap;
use crate::problem::VecView;
use nalgebra::{DMatrix, DVector};

/// Late-started forward JVPs `Ẋ_{T'}^{(j)} v` for `j = 0..=steps`, each passed to
/// `observe(j, ·)`; needs `traj` to hold `x_{T'+steps−1}`. Allocates two buffers, once.
pub fn late_start_jvp<M: FixedPointMap + ?Sized>(
    map: &M,
    traj: &Trajectory,
    t_prime: usize,
    steps: usize,
    v: VecView,
    xdot0_v: VecView,
    mut observe: impl FnMut(usize, &DVector<f64>),
) {
    assert!(t_prime + steps <= traj.len() + 1 || steps == 0, "trajectory too short for late start");
    let mut s = map.scratch();
    let mut cur = xdot0_v.clone_owned();
    let mut next = DVector::zeros(map.dim_x());
    observe(0, &cur);
    for j in 0..steps {
        map.jvp_at(t_prime + j, traj.x(t_prime + j), cur.as_view(), v, next.as_view_mut(), &mut s);
        std::mem::swap(&mut cur, &mut next);
        observe(j + 1, &cur);
    }
}

/// Forward JVPs `Ẋ_k v`, `k = 0..=K` (9), from `Ẋ_0 v = xdot0_v`.
pub fn forward_jvp<M: FixedPointMap + ?Sized>(
    map: &M,
    traj: &Trajectory,
    v: VecView,
    xdot0_v: VecView,
    observe: impl FnMut(usize, &DVector<f64>),
) {
    late_start_jvp(map, traj, 0, traj.len(), v, xdot0_v, observe)
}

/// Dense late-started forward iterates `Ẋ_{T'}^{(j)}`, `j = 0..=steps`, from `Ẋ^{(0)} = dx0`.
pub fn late_start_jacobians<M: FixedPointMap + ?Sized>(
    map: &M,
    traj: &Trajectory,
    t_prime: usize,
    steps: usize,
    dx0: &DMatrix<f64>,
) -> Vec<DMatrix<f64>> {
    Linearization::along(map, traj, t_prime + steps).late_start_jacobians(t_prime, steps, dx0)
}

/// Dense forward iterates `Ẋ_k`, `k = 0..=K` (9).
pub fn forward_jacobians<M: FixedPointMap + ?Sized>(
    map: &M,
    traj: &Trajectory,
    dx0: &DMatrix<f64>,
) -> Vec<DMatrix<f64>> {
    late_start_jacobians(map, traj, 0, traj.len(), dx0)
}
