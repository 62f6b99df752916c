//! The error sequences `e_k` (8), `ė_k` (11), `ē_k` (13) and the curse indices
//! `k̇ = argmax_k ė_k`, `k̄ = argmin_k ē_k` (Sections 3.1–3.2).

use super::{Trajectory, forward, reverse};
use crate::linalg::spectral_norm;
use crate::map::FixedPointMap;
use nalgebra::{DMatrix, DVector};
use serde::Serialize;

/// The three error curves of one run of `K` iterations (each of length `K + 1`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ErrorCurves {
    /// `e_k = ‖x_k − x*‖`.
    pub e: Vec<f64>,
    /// `ė_k = ‖Ẋ_k − Dx*‖` (spectral) or `‖Ẋ_k v − Dx* v‖` (directional).
    pub edot: Vec<f64>,
    /// `ē_k = ‖Ū_K^{(k)} − Dx*‖` (spectral) or `‖wᵀŪ_K^{(k)} − wᵀDx*‖` (directional).
    pub ebar: Vec<f64>,
}

/// Index of the first maximum (NaN-free input assumed; NaN compares as smaller).
pub fn argmax(v: &[f64]) -> usize {
    v.iter().enumerate().fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) }).0
}

/// Index of the first minimum.
pub fn argmin(v: &[f64]) -> usize {
    v.iter().enumerate().fold((0, f64::INFINITY), |(bi, bv), (i, &x)| if x < bv { (i, x) } else { (bi, bv) }).0
}

impl ErrorCurves {
    /// Dense Jacobians and spectral norms. `dx0` is `Ẋ_0 = Dx_0(u)`; reverse mode
    /// follows (12) literally (no `Dx_0` term).
    pub fn full<M: FixedPointMap + ?Sized>(
        map: &M,
        traj: &Trajectory,
        x_star: &DVector<f64>,
        dx_star: &DMatrix<f64>,
        dx0: &DMatrix<f64>,
    ) -> Self {
        let e = traj.errors(x_star);
        let edot = forward::forward_jacobians(map, traj, dx0).iter().map(|j| spectral_norm(&(j - dx_star))).collect();
        let (ubars, _) = reverse::reverse_jacobians(map, traj);
        let ebar = ubars.iter().map(|j| spectral_norm(&(j - dx_star))).collect();
        ErrorCurves { e, edot, ebar }
    }

    /// Directional errors along a tangent `v ∈ R^p` and a cotangent `w ∈ R^n`, with
    /// `Ẋ_0 v = 0` (a constant `x_0`).
    pub fn directional<M: FixedPointMap + ?Sized>(
        map: &M,
        traj: &Trajectory,
        x_star: &DVector<f64>,
        dx_star: &DMatrix<f64>,
        v: &DVector<f64>,
        w: &DVector<f64>,
    ) -> Self {
        let e = traj.errors(x_star);
        let target_v = dx_star * v;
        let target_w = dx_star.tr_mul(w);
        let zero = DVector::zeros(map.dim_x());
        let mut edot = Vec::with_capacity(traj.len() + 1);
        forward::forward_jvp(map, traj, v.as_view(), zero.as_view(), |_, xv| edot.push(xv.metric_distance(&target_v)));
        let mut ebar = vec![0.0; traj.len() + 1];
        reverse::reverse_vjp(map, traj, w.as_view(), |k, ub, _| ebar[k] = ub.metric_distance(&target_w));
        ErrorCurves { e, edot, ebar }
    }

    /// `k̇ = argmax_k ė_k`: `> 0` when the forward error first grows (the curse).
    pub fn k_dot(&self) -> usize {
        argmax(&self.edot)
    }

    /// `k̄ = argmin_k ē_k`: `> 0` when the reverse error first falls.
    pub fn k_bar(&self) -> usize {
        argmin(&self.ebar)
    }
}
