//! Figures 1–2 of the paper: gradient descent on ridge least squares
//! `f(x, u) = ½‖Ax − b‖² + (u/2)‖x‖²` with the ridge weight `u` as parameter; the errors
//! `e_k` (8), `ė_k` (11), `ē_k` (13) with the bounds (8) and (19), and the curse indices
//! `k̇ = argmax ė_k`, `k̄ = argmin ē_k`.
//!
//! The instance is [`Spec::figure2`]: `M = 50`, `N = 10`, U(0,1)/N(0,1) data, `u = 0.1`,
//! `α = 2/(L + μ)`, Jacobians `Ẋ_k ∈ R^{N×1}` in full (spectral norms = Euclidean norms, since
//! `p = 1`). **The paper does not state its initial point.** `Spec::figure2` uses
//! `x_0 = x* + σg` with `g` standard normal and `σ = 10`; since `x_0` is then a constant
//! (`Dx_0 = 0`), `ė_0 = ‖Dx*‖`. Because `D_uA(x) = −αx` and `e_k` scale with the distance
//! `‖x_0 − x*‖`, the curse term of (19) does too: [`X0_SETTINGS`] repeats the run for
//! `σ ∈ {0.1, 1, 10, 100}` and for `x_0 = 0`, and counts over [`SEEDS`] seeds how often the
//! curse shows (`k̇ > 0`): the seeds `seed, seed + 1, …` modulo `2⁶⁴` ([`seeds`]), so that
//! every `u64` seed is accepted, as by `verify`, `gate export` and `appendix-c`.

use crate::bounds::{bound_8, bound_19};
use crate::budget;
use crate::constants::Constants;
use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::unroll::ErrorCurves;

/// The initial points compared: `x_0 = x* + σg` for four `σ`, and `x_0 = 0`.
pub const X0_SETTINGS: [(&str, Option<f64>); 5] = [
    ("x* + N(0, 0.1²)", Some(0.1)),
    ("x* + N(0, 1²)", Some(1.0)),
    ("x* + N(0, 10²) (default)", Some(10.0)),
    ("x* + N(0, 100²)", Some(100.0)),
    ("0", None),
];

/// Seeds per initial point for the share of instances showing the curse.
pub const SEEDS: u64 = 20;

/// One initial point: the run at the chosen seed, and the curse over [`SEEDS`] seeds.
#[derive(Debug, Clone)]
pub struct X0Row {
    /// How `x_0` is chosen.
    pub label: &'static str,
    /// `σ`, or `None` for `x_0 = 0`.
    pub sigma: Option<f64>,
    /// `e_0`.
    pub e0: f64,
    /// `ė_0 = ‖Dx*‖`.
    pub edot0: f64,
    /// `k̇`.
    pub k_dot: usize,
    /// `k̄`.
    pub k_bar: usize,
    /// `max_k ė_k / ė_0` (`> 1` when the forward error first grows).
    pub peak: f64,
    /// Fraction of the seeds `seed, …, seed + SEEDS − 1` with `k̇ > 0` (modulo `2⁶⁴`: the
    /// seeds after `u64::MAX` are `0, 1, …`, so every seed is accepted).
    pub share: f64,
    /// Median `k̇` over those seeds.
    pub k_dot_median: f64,
    /// `true` when that median is a lower bound: at least half of the seeds (the upper
    /// middle one of the sorted `k̇`) peak at the horizon, `k̇ = K` ([`Fig2::censored`]).
    pub k_dot_median_censored: bool,
    /// The curves at the chosen seed.
    pub curves: ErrorCurves,
}

/// The reproduction of Figure 2.
#[derive(Debug, Clone)]
pub struct Fig2 {
    /// The instance.
    pub spec: Spec,
    /// `K`.
    pub k: usize,
    /// Certified constants.
    pub constants: Constants,
    /// `e_0`.
    pub e0: f64,
    /// `e_k`, `ė_k`, `ē_k` for `k = 0, …, K`.
    pub curves: ErrorCurves,
    /// (8): `ρ^k e_0`.
    pub bound8: Vec<f64>,
    /// (19): `ρ^k ė_0 + kρ^{k−1}Γe_0`.
    pub bound19: Vec<f64>,
    /// One row per entry of [`X0_SETTINGS`].
    pub rows: Vec<X0Row>,
}

impl Fig2 {
    /// `true` when `k̇ = K > 0`: the argmax of `ė_k` is the last iterate, so the horizon
    /// cut the curse short and `k̇` (and `max ė_k`) is a lower bound, as the trend measures'
    /// `censored` flag says ([`crate::trends::measures`]).
    pub fn censored(&self, k_dot: usize) -> bool {
        k_dot == self.k && self.k > 0
    }
}

/// The [`SEEDS`] seeds of the comparison of initial points: `seed, seed + 1, …, seed +
/// SEEDS − 1`, wrapping modulo `2⁶⁴` (after `u64::MAX` come `0, 1, …`).
pub fn seeds(seed: u64) -> impl Iterator<Item = u64> {
    (0..SEEDS).map(move |i| seed.wrapping_add(i))
}

/// The bounds (8) and (19) for `k = 0, …, K`.
pub fn bounds(rho: f64, gamma: f64, e0: f64, edot0: f64, k: usize) -> (Vec<f64>, Vec<f64>) {
    let b8 = (0..=k).map(|i| bound_8(rho, i, e0)).collect();
    let b19 = (0..=k).map(|i| bound_19(rho, i, edot0, gamma, e0)).collect();
    (b8, b19)
}

/// Runs the Figure 2 instance for `K` iterations, and the initial-point comparison.
pub fn figure2(seed: u64, k: usize) -> Result<Fig2> {
    if k == 0 {
        return Err(Error::InvalidParameter { field: "k", value: 0.0, reason: "must be at least 1" });
    }
    let spec = Spec::figure2(seed);
    let inst = spec.build()?;
    let curves = inst.error_curves(k);
    let c = inst.constants;
    let e0 = inst.e0();
    let (bound8, bound19) = bounds(c.rho(), c.gamma.value, e0, curves.edot[0], k);
    let mut rows = Vec::new();
    for (label, sigma) in X0_SETTINGS {
        let mut k_dots = Vec::new();
        let mut main = None;
        for s in seeds(seed) {
            let inst = Spec { x0_sigma: sigma, ..Spec::figure2(s) }.build()?;
            let curves = inst.error_curves(k);
            k_dots.push(curves.k_dot() as f64);
            if s == seed {
                main = Some((inst.e0(), curves));
            }
        }
        let (e0, curves) = main.expect("the chosen seed is the first one");
        let edot0 = curves.edot[0];
        let peak = curves.edot.iter().copied().fold(0.0, f64::max) / edot0;
        rows.push(X0Row {
            label,
            sigma,
            e0,
            edot0,
            k_dot: curves.k_dot(),
            k_bar: curves.k_bar(),
            peak,
            share: k_dots.iter().filter(|&&kd| kd > 0.0).count() as f64 / k_dots.len() as f64,
            k_dot_median: crate::stats::median(&k_dots),
            k_dot_median_censored: k > 0
                && k_dots.iter().filter(|&&kd| kd == k as f64).count() >= k_dots.len() - k_dots.len() / 2,
            curves,
        });
    }
    Ok(Fig2 { spec, k, constants: c, e0, curves, bound8, bound19, rows })
}

/// Checks `reproduce fig2 --k K` against `max_gib`: the error curves of one instance at a
/// time (iterates, forward and reverse Jacobians) and the curves kept for the figures.
pub fn check_budget(k: usize, max_gib: f64) -> Result<()> {
    let (n, p) = budget::dims(&Spec::figure2(0));
    let k = k as f64;
    let kept = 8.0 * (k + 1.0) * (3.0 * (1.0 + X0_SETTINGS.len() as f64) + 2.0);
    let bytes = budget::curves_bytes(n, p, k) + kept;
    budget::check("reproduce fig2", &format!("K = {k} iterations (--k)"), bytes, max_gib, budget::FLAG)
}
