//! The regression gate: instances out, traces in, comparison.
//!
//! Library authors who implement unrolled, truncated or implicit differentiation (JAX,
//! PyTorch, NumPy, Rust) export a set of instances, run their own code on them, write one
//! *trace* per instance, and let `unrollcheck gate check` say whether their derivatives are
//! right — and if not, which quantity went wrong at which iteration, with a likely cause.
//!
//! # Instances (`unrollcheck gate export --out DIR`)
//!
//! `DIR/manifest.json` lists the instances; each has `DIR/<id>.npz` (NumPy `.npz`, float64
//! arrays, C order):
//!
//! | array | shape | meaning |
//! |---|---|---|
//! | `A` | (M, N) | data matrix |
//! | `b` | (M,) | targets |
//! | `lam` | () | ridge weight `λ` |
//! | `delta` | () | pseudo-Huber scale `δ` (0 for ridge) |
//! | `alpha` | () | step size `α` |
//! | `beta` | () | heavy-ball momentum `β` (0 for gradient descent) |
//! | `x0` | (n,) | initial state (`n = N`; heavy-ball: `n = 2N`, `x0 = (x_0, x_0)`) |
//! | `v` | (p,) | tangent (unit) in parameter space |
//! | `w` | (n,) | cotangent (unit) in state space |
//! | `K`, `T`, `T_prime`, `K_prime` | () | horizon, truncation, late-start index, total iterations (float64 holding integers) |
//! | `omega` | () | cost factor `ω` |
//!
//! The objective is `f(x, u) = Σ_i φ(a_iᵀx − b_i) + (λ/2)‖x‖²` with `φ(r) = r²/2` (ridge) or
//! `φ(r) = δ²(√(1 + (r/δ)²) − 1)` (pseudo-Huber); the parameter `u` (`manifest.param`) is
//! the ridge weight `λ` (p = 1), the targets `b` (p = M), or the data `(A, b)` with `A`
//! flattened row by row then `b` (p = MN + M). Gradient descent: `x ← x − α∇_x f(x, u)`;
//! heavy-ball on `z = (x_1, x_2)`: `z ← (x_1 − α∇f(x_1, u) + β(x_1 − x_2), x_1)`.
//!
//! # Traces (`TRACES/<id>.npz`)
//!
//! | array | shape | meaning |
//! |---|---|---|
//! | `x` | (K'+1, n) | iterates `x_0, …, x_{K'}` |
//! | `jvp` | (K'−T'+1, n) | late-started forward JVPs `Ẋ_{T'}^{(j)} v`, `j = 0..K'−T'`, with `Ẋ_{T'}^{(0)} v = 0` and `Ẋ_{T'}^{(j+1)} v = B_{T'+j} Ẋ_{T'}^{(j)} v + C_{T'+j} v` (20) |
//! | `vjp` | (K'−T'+1, p) | the truncated reverse sweep, row `i` = `wᵀŪ_{K'}^{(K'−i)}`, from `wᵀŪ^{(K')} = 0` down to `wᵀŪ^{(T')}` (12) |
//! | `jvp_final` | (n,) | `Ẋ_{T'}^{(K'−T')} v` (the last row of `jvp`) |
//! | `vjp_final` | (p,) | `wᵀŪ_{K'}^{(T')}` (the last row of `vjp`) |
//!
//! Index conventions (subtleties 1–2 of the claims catalogue): the late-started output is
//! `Ẋ_{T'}^{(K'−T')}`, not `Ẋ_{T'}^{(K')}`; the initial derivative is 0 (a constant `x_0`),
//! so forward and reverse agree: `wᵀ jvp_final = vjp_final · v`. Untruncated instances have
//! `T = T' = 0` and `K' = K`. float32 traces are accepted and judged with a float32 tolerance.

pub mod check;
pub mod export;
pub mod npz;
