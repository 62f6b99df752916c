//! The regression gate: instances out, traces in, comparison.
//!
//! Library authors who implement unrolled, truncated or implicit differentiation (JAX,
//! PyTorch, NumPy, Rust) export a set of instances, run their own code on them, write one
//! *trace* per instance, and let `unrollcheck gate check` say whether their derivatives are
//! right — and if not, which quantity went wrong at which row and iteration, with the cause
//! [confirmed by simulation](cause): the reference re-run with each known bug planted.
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
//! | `alpha` | () | step size `α` (Chebyshev: `h = 2/(L + μ)`) |
//! | `beta` | () | momentum `β` of heavy-ball and Nesterov (0 for gradient descent; Chebyshev: `ω_∞ − 1`, Nesterov convex: 1, both the limit, informative only) |
//! | `mu`, `L` | () | Chebyshev only: the interval `[μ, L]` the method is tuned to |
//! | `x0` | (n,) | initial state (`n = N`; the momentum methods: `n = 2N`, `x0 = (x_0, x_0)`) |
//! | `v` | (p,) | tangent (unit) in parameter space |
//! | `w` | (n,) | cotangent (unit) in state space |
//! | `K`, `T`, `T_prime`, `K_prime` | () | horizon, truncation, late-start index, total iterations (float64 holding integers) |
//! | `omega` | () | cost factor `ω` |
//!
//! The objective is `f(x, u) = Σ_i φ(a_iᵀx − b_i) + (λ/2)‖x‖²` with `φ(r) = r²/2` (ridge) or
//! `φ(r) = δ²(√(1 + (r/δ)²) − 1)` (pseudo-Huber); the parameter `u` (`manifest.param`) is
//! the ridge weight `λ` (p = 1), the targets `b` (p = M), or the data `(A, b)` with `A`
//! flattened row by row then `b` (p = MN + M). Step `k` (from `x_k` to `x_{k+1}`, `k ≥ 0`)
//! of each `manifest.method`:
//!
//! - `gd`: `x ← x − α∇_x f(x, u)`;
//! - `heavy_ball` on `z = (x_1, x_2)`: `z ← (x_1 − α∇f(x_1, u) + β(x_1 − x_2), x_1)`;
//! - `chebyshev` (time-varying): `z ← (ω_k(x_1 − h∇f(x_1, u)) + (1 − ω_k)x_2, x_1)` with
//!   `h = 2/(L + μ)`, `ω_0 = 1` and, for `k ≥ 1`, `ω_k = ω_∞(1 + q^k)/(1 + q^{k+1})`, where
//!   `s = (L − μ)/(L + μ)`, `ω_∞ = 2/(1 + √(1 − s²))`, `q = (s/(1 + √(1 − s²)))²`;
//! - `nesterov`: `y = (1 + β)x_1 − βx_2`, `z ← (y − α∇f(y, u), x_1)`;
//! - `nesterov_convex` (time-varying): the same with `β_k = k/(k + 3)`.
//!
//! `gate export` writes gradient descent and heavy-ball (the default set);
//! `gate export --accelerated` appends the other three after them. Implicit
//! differentiation uses the limit map `k → ∞` (`ω_∞`, `β = 1`) at the fixed point.
//!
//! `gate export --layers` appends random contraction layers (`manifest.family = "layer"`,
//! `manifest.method = "picard"`; beyond the paper, no objective): `x ← tanh(Wx + Uv + b)`,
//! the instance file holding `W` (N×N), `U` (N×M), `bias` (N,), `input` (M,) instead of
//! `A`, `b`, `lam`, `delta`, `alpha`, `beta` (`M` is the input length, `N = n` the state);
//! the parameter `u` is the input `v` (`input`, p = M), the bias `b` (`bias`, p = N) or `U`
//! flattened column by column (`weights`, entry `(i, j)` at `i + jN`, p = NM).
//!
//! `gate export --proximal` (beyond the paper) appends proximal gradient and FISTA on the
//! elastic net (`family = elastic_net`, `param = l1` or `targets`; the file adds the scalar
//! `l1`, the weight `λ₁`): with `s = y − α∇f(y)` (ridge's gradient, `y = x`, or FISTA's
//! `y = (1 + β)x_1 − βx_2`), `x ← sign(s)·max(|s| − αλ₁, 0)`; the derivatives are the
//! almost-everywhere ones (`d_i = 1` where `|s_i| > αλ₁`, else 0; `∂/∂λ₁ = −α·sign(s)·d`).
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
//! Optional, for implicit differentiation (each array may be present or not;
//! [`implicit`] defines them and their tolerance):
//!
//! | array | shape | meaning |
//! |---|---|---|
//! | `implicit_jvp` | (n,) | `Dx* v = (I − B)^{-1} C v`, `B`, `C` at the fixed point (6) |
//! | `implicit_vjp` | (p,) | `wᵀDx* = Cᵀ(I − B)^{-ᵀ} w` |
//! | `hypergrad` | (p,) | `∇_u ℓ` of the outer loss `ℓ(u) = ½‖x*(u)‖²`, `x*(u) ∈ R^N` the minimiser of `f(·, u)`: `(Dx*_{1:N})ᵀ x*_{1:N}` |
//!
//! Each is judged against the engine's `Dx*` with the tolerance of a linear solve with
//! `I − B` (estimate 3 of [`crate::tol`], `κ₂(I − B)` at `x*`) plus the effect of the
//! fixed point's own rounding error, at the precision it is stored in; an implicit array of
//! another shape is unreadable input (exit 2), a missing one is not checked. Its row in the
//! report is "`implicit_jvp` (at x*), entry j"; the report lists `κ₂(I − B)` and each
//! tolerance.
//!
//! Index conventions (subtleties 1–2 of the claims catalogue): the late-started output is
//! `Ẋ_{T'}^{(K'−T')}`, not `Ẋ_{T'}^{(K')}`; the initial derivative is 0 (a constant `x_0`),
//! so forward and reverse agree: `wᵀ jvp_final = vjp_final · v`. Untruncated instances have
//! `T = T' = 0` and `K' = K`.
//!
//! Storage: each array is float64 or float32, little- or big-endian (`<f8`, `>f8`, `<f4`,
//! `>f4`), in C or Fortran order (as `np.savez` writes a transposed array), in a plain or
//! compressed archive (`np.savez_compressed`). Each array is judged at the precision it is
//! stored in: a float64 array claims float64 accuracy, whatever the other arrays are; each
//! claim on the submitted sequences uses float32 rounding when one of the arrays it reads is
//! float32 (`thm2.rate`: `x`; `thm8.bound`: `jvp`; forward = reverse: `jvp_final`,
//! `vjp_final`); float32 follows the probabilistic model of [`precision`], and an array whose
//! tolerance is not below half its reference cannot be judged (the instance fails). A final
//! must be the last row of its array. A trace holds no other arrays (an unknown name is exit 2). The manifest's `schema_version` must be 1, and its `K`, `T`, `T_prime`,
//! `K_prime` must agree with the instance files (otherwise exit 2).
//!
//! # Rules and exit codes
//!
//! Exit 0: every selected instance passes (a trace without the optional implicit arrays
//! included). Exit 1: a row of `x`, `jvp`, `vjp`, a final or an implicit array is out of
//! tolerance, `x`, `jvp` or `vjp` has the right columns but the wrong number of rows, or a
//! claim on the submitted sequences is violated or ends in a numerical failure. Exit 2:
//! unreadable input — a missing, corrupt or unknown file; a dtype other than
//! float64/float32; NaN or Inf; wrong dimensions or columns; a final or an implicit array
//! of the wrong shape; bad manifest metadata (`schema_version` ≠ 1, indices disagreeing
//! with the instance file or with `T' = T + ωT`, `K' = K + ωT`, an unknown family, parameter
//! or method, a Chebyshev instance without `mu`, `L`, a duplicate instance id); an unknown
//! `--only` id; with `--allow-missing`, no trace for any selected instance; an unknown trace
//! array; an instance above `--max-memory`; an instance whose iteration does not converge
//! (spectral radius of `B` at `x*` not below 1), whose reference run does not reach `x*`
//! ([`check::reaches_fixed_point`]) or whose reference is not finite — reported
//! after every readable instance is checked. The report and the JUnit file are written on
//! every exit code. The same list, one rule per line, is `docs/gate.md`, "Rules and exit
//! codes".

pub mod cause;
pub mod check;
pub mod export;
pub mod implicit;
pub mod npz;
pub mod precision;

/// The long help of `unrollcheck gate`: the workflow and the instance and trace formats in
/// plain text (the module docs above are the same in Markdown).
pub const HELP: &str = "The regression gate for other implementations of unrolled, truncated or implicit \
differentiation.

  unrollcheck gate export --out DIR          instances: DIR/manifest.json and DIR/<id>.npz
  <your implementation>                      one trace TRACES/<id>.npz per instance
  unrollcheck gate check --instances DIR --traces TRACES [--junit FILE] [--out REPORT]
                         [--only ID,...] [--allow-missing] [--max-memory GIB]

An instance .npz holds (float64, C order): A (M,N), b (M,), lam, delta, alpha, beta, omega,
K, T, T_prime, K_prime (scalars), x0 (n,), v (p,) a unit tangent, w (n,) a unit cotangent;
Chebyshev instances also mu, L. f(x,u) = sum_i phi(a_i.x - b_i) + lam/2 |x|^2, phi = r^2/2
(ridge) or the pseudo-Huber loss; u = lam (param weight, p=1), b (targets, p=M) or (A row by
row, b) (data, p=MN+M). Gradient descent x <- x - alpha grad f; heavy-ball on z=(x1,x2):
(x1 - alpha grad f(x1) + beta (x1 - x2), x1), n = 2N. With --accelerated also chebyshev
(weights om_k from mu, L), nesterov (y = (1+beta) x1 - beta x2, (y - alpha grad f(y), x1))
and nesterov_convex (beta_k = k/(k+3)); the formulas are in docs/gate.md. With --layers
also random contraction layers (family layer, method picard): x <- tanh(W x + U v + b), the
file holding W (N,N), U (N,M), bias (N,), input (M,) in place of A, b, lam, delta, alpha,
beta; u = v (input, p=M), b (bias, p=N) or U column by column (weights, p=NM). With
--proximal also prox_gd and fista on the elastic net (scalar l1; x <- soft(s, alpha l1),
s = y - alpha grad f(y), a.e. derivative of the soft threshold).

A trace .npz holds arrays of float64 or float32 (<f8 >f8 <f4 >f4, C or Fortran order, plain
or compressed); each array is judged at the precision it is stored in:
  x          (K'+1, n)      iterates x_0 .. x_K'
  jvp        (K'-T'+1, n)   late-started forward JVPs Xdot_T'^(j) v, j = 0..K'-T', from 0
  vjp        (K'-T'+1, p)   truncated reverse sweep: row i = w^T Ubar_K'^(K'-i), i.e. from
                            k = K' (zeros) down to k = T'
  jvp_final  (n,)           Xdot_T'^(K'-T') v   (not Xdot_T'^(K') v: see Section 4.1)
  vjp_final  (p,)           w^T Ubar_K'^(T')
with a constant x_0 (Dx_0 = 0), so w . jvp_final = vjp_final . v. Untruncated: T = T' = 0.
Optional (implicit differentiation at the fixed point x*, B, C of the limit map there):
  implicit_jvp  (n,)        Dx* v = (I - B)^-1 C v
  implicit_vjp  (p,)        w^T Dx*
  hypergrad     (p,)        gradient of the outer loss 1/2 |x*(u)|^2 (x* in R^N)
judged with a tolerance from the condition number of I - B; a wrong shape is exit 2.

check compares every row with the reference under the tolerance model, runs (8), (21) and
forward = reverse on the submitted sequences, and names the cause of a failure that it
confirms by re-running its reference with each known bug planted (sign of C_k, B_k+1 for
B_k, late start at T'+-1, the literal index Xdot_T'^(K'), a frozen derivative, float32
iterates, a dropped warm start, Xdot_0 != 0, no transpose, Algorithm 1's adjoint order, a
stale heavy-ball state, a fitted step size or momentum; for the implicit arrays (I - B)^T
for I - B, a dropped minus sign, the last iterate for x*), or says \"cause unknown\".
Exit 0: all pass; 1: a check fails (a row out of tolerance, a wrong number of rows, a
violated claim); 2: unreadable input, reported after checking all the others. The report
(and JUnit) is written on every exit code; with --out a summary is printed. --only checks
a subset; --allow-missing skips instances without a trace (exit 2 when none has one: nothing
checked). Rules: docs/gate.md.";
