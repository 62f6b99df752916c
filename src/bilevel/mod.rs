//! Bilevel optimisation with reverse-mode hypergradients (appendix B, Algorithm 1) and
//! warm-starting as implicit truncation (Section 5).
//!
//! The problem (23) is `min_u ℓ(x*(u))` with `x*(u) = A(x*(u), u)`; here `ℓ(x) =
//! ½‖A_val x − b_val‖²` on validation data and `A` is gradient descent (or heavy-ball) on a
//! ridge-regularised inner objective whose parameter `u` is the ridge weight
//! ([`problem`]). At each outer iteration `r`, Algorithm 1 ([`algorithm`]) runs `K_r` inner
//! iterations from `x^{(0)}(u^{(r)})`, computes the hypergradient
//! `d^{(r)} = ū^{(0)} = ∇(ℓ∘x^{(K_r)})(u^{(r)})` by the reverse sweep (12) from
//! `x̄^{(K_r)} = ∇ℓ(x^{(K_r)})`, and steps `u^{(r+1)} = u^{(r)} − τ d^{(r)}` (projected onto
//! `u ≥ u_min`). Warm starts take `x^{(0)}(u^{(r+1)}) = x^{(K_r)}(u^{(r)})`, a constant in `u`
//! (`Dx_0 = 0`, as in Algorithm 1); cold starts restart from `x_0`.
//!
//! With Algorithm 1's stopping rule `‖x_k − x_{k−1}‖ ≤ ε`, [`stopping`] checks the
//! stopping index, the inner error and the hypergradient error the paper's results bound
//! (`alg1.eps_stop`).
//!
//! Every outer iteration is recorded with the exact hypergradient `Dx*(u^{(r)})ᵀ∇ℓ(x*)` from
//! the implicit Jacobian (6), the error of `d^{(r)}` and the inner initial error `e_0`. For
//! the claim `sec5.warm_start` a warm run also records, *at its own `u^{(r)}`*: the
//! cold-start hypergradient with the same `K_r` (paired comparison), and the explicit
//! truncation of the cold run matched to the warm start, at the first index `T'` where the
//! cold iterate error falls to the warm `e_0` ([`ImplicitTruncation`], two readings).
//!
//! # Choices, stated
//!
//! - **Domain of `u`.** Algorithm 1 is plain gradient descent in `u`; the ridge weight must
//!   stay positive, so the step is projected onto `u ≥ u_min` (componentwise). The records
//!   say when the projection was active ([`OuterRecord::projected`]); no reparameterisation
//!   (`u = e^θ`) is used, so the hypergradient is `∂ℓ/∂u` itself.
//! - **Step size.** `α(u)` follows the step rule from the global `[μ, L]` of `f(·, u)`, is
//!   recomputed at every `u^{(r)}`, and is a constant of the map within an outer iteration
//!   (see [`problem`]).
//! - **Order of updates in the sweep.** (12): `ū^{(k)} = ū^{(k+1)} + x̄^{(k+1)}C_k`, then
//!   `x̄^{(k)} = x̄^{(k+1)}B_k`. Algorithm 1 as printed adds `x̄^{(k)}C_k` after updating
//!   `x̄`; that order does not converge to the exact hypergradient (a negative control in
//!   `tests/bilevel.rs`).
//! - **Which truncation the warm start is matched with.** Section 5.2 says warm starting
//!   "bypasses the early iterations"; the warm run's `K` iterations from a point at distance
//!   `e_0` are read as the cold iterations `T', …, T' + K`, where `T'` is the first index
//!   with `e_{T'}^{cold} ≤ e_0`: the cold run to `K' = T' + K` with the sweep stopped at
//!   `T'` (`K` derivative steps, as many as the warm start's). This is
//!   [`ImplicitTruncation::shifted`]. The other reading, Section 4.3's fixed forward budget
//!   (`K' = K`, sweep stopped at `T'`, `K − T'` derivative steps), is
//!   [`ImplicitTruncation::same_forward`], reported when `T' < K`. Neither is assumed to
//!   match the warm error: the records hold the ratios.
//! - **Heavy-ball.** The warm start carries the whole state `z = (x_k, x_{k−1})`; `e_0` and
//!   `T'` are measured on the state; `ℓ` reads `x_k`.
//!
//! ```
//! use unrollcheck::bilevel::{Algorithm1, BilevelSpec, warm_and_cold};
//! let problem = BilevelSpec::ridge(3).build().unwrap();
//! let study = warm_and_cold(&problem, &Algorithm1::new(10, 20, 0.05)).unwrap();
//! let last = &study.warm.records[9];
//! let cmp = last.comparison.as_ref().unwrap();
//! // Same u, same budget: the warm start is the better hypergradient here.
//! assert!(last.estimate.error < cmp.cold.error);
//! assert!(cmp.implicit_truncation.t_prime.unwrap() > 0);
//! ```

pub mod algorithm;
pub mod problem;
pub mod stopping;

pub use algorithm::{
    Algorithm1, Algorithm1Run, Comparison, Estimate, ImplicitTruncation, InnerBudget, OuterRecord, Start, Study,
    estimate, first_below, run, warm_and_cold,
};
pub use problem::{BilevelSpec, ColdStart, HyperProblem, InnerAt, InnerFamily, InnerObjective};
pub use stopping::{EpsStopRecord, EpsStopVariant, eps_stop_records};
