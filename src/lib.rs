//! # unrollcheck
//!
//! Checks, by experiment, the theory of differentiating through iterative algorithms
//! ("algorithm unrolling") of *Understanding the Curse of Unrolling* (Mehmood, Knoll, Ochs,
//! 2026) and of its predecessor (Scieur et al., 2022).
//!
//! The crate is laid out like the paper:
//!
//! | module | paper | what it holds |
//! |---|---|---|
//! | [`problem`] | (3), App. C | inner objectives `f(x, u)`: ridge, pseudo-Huber, Huber, the normal equations of App. C; seeded draws |
//! | [`map`] | (2), (4), Rem. 1(ii) | fixed-point maps `A(x, u)` (a core trait and one capability query): gradient descent, heavy-ball, Chebyshev (time-varying), heavy-ball in an adapted norm `‖P⁻¹z‖` (beyond the paper) |
//! | [`quadratic`] | Scieur et al. 2022 | residual polynomials `P_t`, `P_t'` of the three methods, their maxima over `[μ, L]` |
//! | [`unroll`] | (6), (9), (12), (20) | iterates, forward/reverse mode, late start, implicit Jacobian, errors |
//! | [`constants`] | A2.1, A2.2, (18) | certified `ρ`, `M_x`, `M_u`, `κ`, `Γ`, `Γ♯`, global or local |
//! | [`bounds`] | (8), (19), (21), (22), Sec. 4.3 | the paper's right-hand sides and the truncation objective `h`, each written once |
//! | [`instance`] | — | one problem instance: map, `x_0`, `x*`, `Dx*` and its constants |
//! | [`spec`] | — | instance specs (family, method, data, step rule, seed), the builder and the instance seeds |
//! | [`bilevel`] | Sec. 5, App. B (Alg. 1) | bilevel optimisation with warm/cold starts: hypergradients, exact and unrolled, implicit truncation |
//! | [`claims`] | Rem. 1 – Rem. 12 | every lemma and theorem as a check: verdicts, witnesses, controls, readings |
//! | [`tol`] | — | the tolerance model, in one place |
//! | [`calibration`] | — | the tolerance model against double-double rounding: per-kind tolerance / measured-error ratios |
//! | [`budget`] | — | memory estimates and limits checked before a run allocates (`--max-memory`, `--jobs`) |
//! | [`scenario`] | — | scenario files (`verify/*.toml`), custom claims as expressions, the runner |
//! | [`report`] | Fig. 2 | the only renderer and writer: Markdown, JSON and SVG reports, the demo text |
//! | [`trends`] | Sec. 3.4, 4, 5 | trend claims: paired experiments, curse measures, sign tests, Algorithm 1 |
//! | [`gate`] | — | instances out, traces of other implementations in, comparison |
//! | [`commands`] | — | the binary's commands: run the library, write the text, say how it ended ([`commands::Outcome`]) |
//! | [`reproduce`] | Fig. 1–2, App. C | reproductions of the paper's experiments (compute only; rendered by [`report`]) |
//! | [`stats`] | — | medians, quantiles, sign tests and confidence intervals |
//! | [`linalg`] | — | spectral norms and radii, symmetric eigenvalues; the AVX2/FMA kernels of the appendix-C fast path |
//! | [`error`] | — | the one error type; bad input never panics |
//!
//! Notation: `B_k = D_x A(x_k, u)`, `C_k = D_u A(x_k, u)` (10); `Ẋ_k` forward iterates (9);
//! `Ū_K^{(k)}` reverse iterates (12); `e_k`, `ė_k`, `ē_k` the errors (8), (11), (13).

#![warn(missing_docs)]

pub mod bilevel;
pub mod bounds;
pub mod budget;
pub mod calibration;
pub mod claims;
pub mod commands;
pub mod constants;
pub mod error;
pub mod gate;
mod input;
pub mod instance;
pub mod linalg;
pub mod map;
pub mod problem;
pub mod quadratic;
pub mod report;
pub mod reproduce;
pub mod scenario;
pub mod spec;
pub mod stats;
pub mod tol;
pub mod trends;
pub mod unroll;

pub use error::{Error, Result};
