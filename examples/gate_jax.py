#!/usr/bin/env python3
"""A JAX implementation of unrolled differentiation, checked by `unrollcheck gate`.

    python3 examples/gate_jax.py INSTANCES_DIR TRACES_DIR [--float32] [--bug NAME] [--no-implicit]
    python3 examples/gate_jax.py --selfcheck

Written against the documented format only (docs/gate.md, the module docs of
src/gate/mod.rs), the way a JAX user would: float64 (`jax_enable_x64`; float32 with
--float32, below), the inner iteration (4) as a `jax.lax.scan` of the step `A(x, u)` whose
gradient comes from `jax.grad`, and every derivative from JAX's own autodiff through the
unrolled scan, under `jax.jit`:

    x          (K'+1, n)     the scan's iterates x_0, ..., x_K'
    jvp        (K'-T'+1, n)  `jax.jvp` of the scan started at x_{T'} (late start: x_{T'} is
                             a constant, tangent 0), tangent v on u: the tangents of its
                             stacked outputs are the rows Xdot_{T'}^{(j)} v, j = 0..K'-T'
    vjp        (K'-T'+1, p)  `jax.vjp` of the same scan, cotangent w on its final state,
                             with u given to every step as its own copy (a (K'-T', p)
                             array): the cotangent of copy k is Xbar^{(k+1)} C_k, and the
                             rows w^T Ubar_{K'}^{(k)}, k = K', ..., T', are its sums from
                             the end (the first row 0)
    jvp_final  (n,)          the last row of jvp
    vjp_final  (p,)          the last row of vjp

and, unless --no-implicit, the optional implicit arrays the way jaxopt's implicit mode
gets them, without unrolling: x* by Newton's method on grad f = 0 from the last iterate
(`jax.grad`, `jax.hessian`, `jnp.linalg.solve`; damped by backtracking far from x*), then
B = D_z A(z*, u) and C = D_u A(z*, u) by `jax.jacfwd` at z* (z* = (x*, x*) for the
momentum methods) and linear solves:

    implicit_jvp  (n,)       Dx* v = (I - B)^{-1} C v
    implicit_vjp  (p,)       w^T Dx* = C^T (I - B)^{-T} w
    hypergrad     (p,)       the gradient of l(u) = 1/2 ||x*(u)||^2, C^T (I - B)^{-T} (x*, 0)

--float32 runs the whole computation in float32 and saves float32 arrays, as
gate_numpy.py --float32 does: the data rounded to float32 once, and the iterates, the
derivatives, the step index of the time-varying maps, Newton's x* and the implicit arrays
computed in float32, every array created with an explicit jnp.float32 (x64 stays enabled,
so JAX's default would be float64 and would promote the run part of the way); a trace
array of another dtype is refused (TypeError) before it is written. The gate judges it
with its float32 rounding model (docs/gate.md, "float32 arrays").

No matrix B_k or C_k is written by hand. --selfcheck compares these traces with a
hand-written per-step sweep (`jax.jvp` / `jax.vjp` of one step along the iterates, the
loop a JAX user writes to see the intermediate rows) and with the NumPy client
examples/gate_numpy.py (every family, parameter, method, T' = 0 and T' > 0, and every
planted bug), and exits 1 on a difference above 1e-9 relative; in float32 (heavy-ball,
Chebyshev, Nesterov convex) it checks that every array is float32 and within 1e-4 relative
of the NumPy client's float64 arrays, the bound of gate_numpy.py's own float32 check.

--bug NAME plants one bug class, named as the gate names its cause ([NAME] in the report),
each the way a JAX user could get it wrong (the NumPy client's ids, same effect):
    sign_c              the tangent v (and the parameter cotangent) negated: -C_k, both modes
    b_next              the hand-written per-step loop linearizes the state part at the
                        next iterate (`xs[1:]` zipped with `xs[:-1]`): B_{k+1} for B_k
    late_plus_one       `xs[T'+1]` for `xs[T']`: the forward scan starts one step late, the
                        reverse loop stops one step early (its last row repeats)
    late_minus_one      T'-1 used for T' throughout (one row more in jvp and vjp)
    literal_index       jvp_final = Xdot_{T'}^{(K')} v: the scan run K' steps from x_{T'}
                        (Section 4.1 read literally)
    freeze              "stop differentiating once converged": the step returns
                        x + stop_gradient(A(x) - x) when ||A(x) - x|| < 1e-8 (1 + ||x||),
                        so the derivative is carried unchanged (same iterates)
    detached            the parameter passed through `lax.stop_gradient` in the step that is
                        differentiated (the unrolled scan): C_k = 0, every derivative row 0
                        (same iterates; the implicit arrays stay right); on the truncated
                        instances and the warm starts the gate names freeze, which writes
                        the same trace there
    float32_iterates    each iterate cast to float32 and back inside the step (mixed
                        precision); JAX casts the tangents with it (nothing changes with
                        --float32)
    dropped_warm_start  the scan started from jnp.zeros(n) instead of x0
    nonzero_start       jnp.ones_like instead of jnp.zeros_like for the tangent of x_{T'}:
                        Xdot^{(0)} v = 0.1 (1, ..., 1)/sqrt(n)
    no_transpose        the hand-written reverse loop propagates Xbar with `jax.jvp` of the
                        step (B_k Xbar) where `jax.vjp` belongs (B_k^T Xbar)
    adjoint_order       the hand-written reverse loop as Algorithm 1 is printed: Xbar updated
                        first, then Ubar += Xbar C_k with the new Xbar
    stale_momentum      heavy-ball started from z_0 = (x_0, x_0 + 0.3)
    step_size           alpha * 1.001
    momentum            heavy-ball beta = 0.45
    implicit_transpose  `jnp.linalg.solve(M.T, ...)` where `solve(M, ...)` belongs, M = I - B,
                        and the other way round
    implicit_sign       -(d_x F)^{-1} d_u F written without its minus sign, F = z - A(z, u)
    implicit_at_iterate B, C and the outer loss at the last iterate (no Newton solve)
b_next, no_transpose and adjoint_order cannot happen with `jax.vjp` through the scan
(autodiff links each step to its own iterate, transposes and orders the accumulation
itself); they are planted in the hand-written per-step loop, where they do happen. On
instances where a bug changes nothing (b_next on ridge, no_transpose on gradient descent,
the heavy-ball bugs on gradient descent, late_minus_one and literal_index untruncated,
freeze before convergence) the trace passes, as with the NumPy client.

Needs JAX (CPU is enough) and NumPy. Almost all of the time is JIT compilation (about 30 s
for the default set on two busy cores); JAX's persistent cache makes later runs take about
6 s: JAX_COMPILATION_CACHE_DIR=DIR JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0.
"""

import argparse
import functools
import importlib.util
import json
import os
import sys
import time

import numpy as np

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402  (after enabling float64)
from jax import lax  # noqa: E402

BUGS = ("sign_c", "b_next", "late_plus_one", "late_minus_one", "literal_index", "freeze",
        "detached", "float32_iterates", "dropped_warm_start", "nonzero_start", "no_transpose",
        "adjoint_order", "stale_momentum", "step_size", "momentum", "implicit_transpose",
        "implicit_sign", "implicit_at_iterate")
IMPLICIT_BUGS = ("implicit_transpose", "implicit_sign", "implicit_at_iterate")
# The bugs planted in the hand-written per-step loop (autodiff through the scan cannot make them).
HAND_WRITTEN_BUGS = ("b_next", "no_transpose", "adjoint_order")
FAMILIES = ("ridge", "pseudo_huber")
PARAMS = ("weight", "targets", "data")
METHODS = ("gd", "heavy_ball", "chebyshev", "nesterov", "nesterov_convex")
STACKED = ("heavy_ball", "chebyshev", "nesterov", "nesterov_convex")  # z = (x_1, x_2), n = 2N


# --------------------------------------------------------------------------------------
# The problem: f(x, u), the step A(x, u), the parameter vector u
# --------------------------------------------------------------------------------------


class Problem:
    """One instance: f(x, u) = sum_i phi(a_i^T x - b_i) + (lam/2)||x||^2 and its step.

    `kind` = (family, param, method) is static (it selects the code); `data` = (A, b, lam,
    delta, alpha, beta, mu, L) are traced arrays, so one compilation serves every instance of
    a kind and shape (mu, L: the Chebyshev method's interval, 0 for the other methods).
    """

    def __init__(self, family, param, method, A, b, lam, delta, alpha, beta, mu=0.0, L=0.0,
                 dtype=jnp.float64):
        assert family in FAMILIES and param in PARAMS and method in METHODS
        self.kind = (family, param, method)
        # Every datum in the run's dtype (--float32: float32, rounded here once); the code
        # takes its dtype from these arrays and never from JAX's default (float64 here).
        self.data = tuple(jnp.asarray(a, dtype=dtype)
                          for a in (A, b, lam, delta, alpha, beta, mu, L))

    def u(self):
        """The parameter vector: lam (p = 1), b (p = M), or (A row by row, b)."""
        A, b, lam = self.data[:3]
        param = self.kind[1]
        if param == "weight":
            return jnp.reshape(lam, (1,))
        if param == "targets":
            return b
        return jnp.concatenate([A.ravel(), b])


def objective_fn(kind, data):
    """f(x, u) = sum_i phi(a_i^T x - b_i) + (lam/2)||x||^2, u as the parameter vector."""
    family, param, _ = kind
    A0, b0, lam0, delta = data[:4]
    M, N = A0.shape

    def f(x, u):
        if param == "weight":
            A, b, lam = A0, b0, u[0]
        elif param == "targets":
            A, b, lam = A0, u, lam0
        else:
            A, b, lam = u[: M * N].reshape(M, N), u[M * N:], lam0
        r = A @ x - b
        if family == "ridge":
            phi = 0.5 * r**2
        else:
            phi = delta**2 * (jnp.sqrt(1 + (r / delta) ** 2) - 1)
        return jnp.sum(phi) + 0.5 * lam * jnp.dot(x, x)

    return f


def step_fn(kind, data, freeze=False, float32=False, detached=False):
    """The map A_k(z, u) of step k (a traced number; None: the limit map k -> oo, whose
    fixed point implicit differentiation uses), its gradient by `jax.grad`:
    gd, heavy-ball, Chebyshev (weights om_k from [mu, L]), Nesterov (constant beta, or the
    convex schedule b_k = k/(k + 3))."""
    method = kind[2]
    alpha, beta, mu, L = data[4], data[5], data[6], data[7]
    N = data[0].shape[1]
    f = objective_fn(kind, data)
    grad = jax.grad(f)

    def chebyshev_weight(k):
        s = (L - mu) / (L + mu)
        # sqrt(1 - s^2); in float32 as 2 sqrt(L mu)/(L + mu), the same number without the
        # cancellation of 1 - s^2, which is 4 mu/L for a large L/mu (5e-4 on the large set's
        # Chebyshev instances: om_inf off by 55 float32 ulps, and their jvp rows 11 times out
        # of the float32 tolerance); float64 keeps the reference's formula.
        if L.dtype == jnp.float64:
            root = jnp.sqrt(1.0 - s * s)
        else:
            root = 2.0 * jnp.sqrt(L * mu) / (L + mu)
        omega_inf = 2.0 / (1.0 + root)
        if k is None:
            return omega_inf
        q = (s / (1.0 + root)) ** 2
        return jnp.where(k == 0, 1.0, omega_inf * (1.0 + q**k) / (1.0 + q ** (k + 1)))

    def plain(z, u, k):
        if method == "gd":
            return z - alpha * grad(z, u)
        x1, x2 = z[:N], z[N:]
        if method == "heavy_ball":
            return jnp.concatenate([x1 - alpha * grad(x1, u) + beta * (x1 - x2), x1])
        if method == "chebyshev":
            om, h = chebyshev_weight(k), 2.0 / (L + mu)
            return jnp.concatenate([om * (x1 - h * grad(x1, u)) + (1 - om) * x2, x1])
        b = beta if method == "nesterov" else (1.0 if k is None else k / (k + 3.0))
        y = (1 + b) * x1 - b * x2
        return jnp.concatenate([y - alpha * grad(y, u), x1])

    def step(z, u, k=None):
        if detached:  # planted: the parameter not differentiated through (C_k = 0)
            u = lax.stop_gradient(u)
        y = plain(z, u, k)
        if float32:  # planted: mixed precision, the iterate stored in float32
            y = y.astype(jnp.float32).astype(z.dtype)  # (a no-op in a float32 run)
        if freeze:  # planted: no derivative through a converged step (same value)
            conv = jnp.linalg.norm(y - z) < 1e-8 * (1 + jnp.linalg.norm(z))
            y = jnp.where(conv, z + lax.stop_gradient(y - z), y)
        return y

    return step


# --------------------------------------------------------------------------------------
# The unrolled scan and its derivatives by autodiff
# --------------------------------------------------------------------------------------


def unroll(step, z_start, us, k0=0):
    """lax.scan of z <- A_k(z, u_k), k = k0, k0 + 1, ..., one parameter copy u_k per step;
    (final, stacked iterates)."""
    def body(z, pair):
        u_k, k = pair
        z = step(z, u_k, k)
        return z, z
    ks = k0 + jnp.arange(us.shape[0], dtype=z_start.dtype)  # float64 would promote a float32 run
    return lax.scan(body, z_start, (us, ks))


@functools.partial(jax.jit, static_argnames=("kind", "steps", "bug"))
def iterates(kind, data, x0, u, steps, bug=None):
    """x_0, ..., x_steps (4)."""
    step = step_fn(kind, data, bug == "freeze", bug == "float32_iterates")
    _, xs = unroll(step, x0, jnp.broadcast_to(u, (steps,) + u.shape))
    return jnp.concatenate([x0[None], xs])


@functools.partial(jax.jit, static_argnames=("kind", "steps", "bug"))
def forward_rows(kind, data, z_start, u, v, steps, k0, bug=None):
    """(20) by `jax.jvp` through the scan from a constant z_start = x_k0: rows j = 0..steps."""
    step = step_fn(kind, data, bug == "freeze", bug == "float32_iterates", bug == "detached")
    us = jnp.broadcast_to(u, (steps,) + u.shape)
    sign = -1.0 if bug == "sign_c" else 1.0  # planted: the tangent negated
    dz0 = jnp.zeros_like(z_start)
    if bug == "nonzero_start":  # planted: ones_like for the tangent of the start
        dz0 = 0.1 * jnp.ones_like(z_start) / jnp.sqrt(jnp.asarray(z_start.shape[0], z_start.dtype))
    dus = jnp.broadcast_to(sign * v, us.shape)
    _, (_, dzs) = jax.jvp(lambda z, us: unroll(step, z, us, k0), (z_start, us), (dz0, dus))
    return jnp.concatenate([dz0[None], dzs])


@functools.partial(jax.jit, static_argnames=("kind", "steps", "bug"))
def reverse_steps(kind, data, z_start, u, w, steps, k0, bug=None):
    """(12) by `jax.vjp` through the scan: the cotangent of each step's copy of u,
    Xbar^{(k+1)} C_k for k = start, ..., start + steps - 1."""
    step = step_fn(kind, data, bug == "freeze", bug == "float32_iterates", bug == "detached")
    us = jnp.broadcast_to(u, (steps,) + u.shape)
    _, pullback = jax.vjp(lambda us: unroll(step, z_start, us, k0)[0], us)
    (ubars,) = pullback(w)
    if bug == "sign_c":  # planted: the parameter cotangent negated
        ubars = -ubars
    if bug == "late_plus_one":  # planted: the sweep stops at T'+1 (no contribution of k = T')
        ubars = ubars.at[0].set(0.0)
    return ubars


def rows_from_the_end(ubars):
    """Rows w^T Ubar^{(k)}, k = K', ..., T': 0, then the running sums from the last step back."""
    ubars = np.asarray(ubars)
    rows = np.zeros((ubars.shape[0] + 1, ubars.shape[1]), dtype=ubars.dtype)
    for i in range(1, rows.shape[0]):  # in order, as the sweep accumulates
        rows[i] = rows[i - 1] + ubars[-i]
    return rows


# --------------------------------------------------------------------------------------
# The hand-written per-step loop (jax.jvp / jax.vjp of one step along the iterates)
# --------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("kind",))
def hand_forward(kind, data, xs_lin, xs_c, ks_lin, ks_c, u, v):
    """Xdot <- B_k Xdot + C_k v with B_k linearized at xs_lin[j] (step ks_lin[j]), C_k at
    xs_c[j] (step ks_c[j])."""
    step = step_fn(kind, data)

    def body(dz, pair):
        z_b, z_c, k_b, k_c = pair
        b_part = jax.jvp(lambda z: step(z, u, k_b), (z_b,), (dz,))[1]
        c_part = jax.jvp(lambda u: step(z_c, u, k_c), (u,), (v,))[1]
        dz = b_part + c_part
        return dz, dz

    dz0 = jnp.zeros_like(xs_c[0])
    _, dzs = lax.scan(body, dz0, (xs_lin, xs_c, ks_lin, ks_c))
    return jnp.concatenate([dz0[None], dzs])


@functools.partial(jax.jit, static_argnames=("kind", "bug"))
def hand_reverse(kind, data, xs_lin, xs_c, ks_lin, ks_c, u, w, bug=None):
    """From k = K'-1 down (xs_*, ks_* given in that order): Ubar += Xbar C_k, Xbar <- Xbar B_k."""
    step = step_fn(kind, data)

    def back(z, k, xbar):
        if bug == "no_transpose":  # planted: jvp (B_k Xbar) where vjp (B_k^T Xbar) belongs
            return jax.jvp(lambda z: step(z, u, k), (z,), (xbar,))[1]
        return jax.vjp(lambda z: step(z, u, k), z)[1](xbar)[0]

    def body(carry, pair):
        xbar, ubar = carry
        z_b, z_c, k_b, k_c = pair
        if bug == "adjoint_order":  # planted: Algorithm 1 as printed, Xbar first
            xbar = back(z_b, k_b, xbar)
            ubar = ubar + jax.vjp(lambda u: step(z_c, u, k_c), u)[1](xbar)[0]
        else:
            ubar = ubar + jax.vjp(lambda u: step(z_c, u, k_c), u)[1](xbar)[0]
            xbar = back(z_b, k_b, xbar)
        return (xbar, ubar), ubar

    ubar0 = jnp.zeros_like(u)
    _, ubars = lax.scan(body, (w, ubar0), (xs_lin, xs_c, ks_lin, ks_c))
    return jnp.concatenate([ubar0[None], ubars])


def hand_rows(prob, xs, u, v, w, t_prime, k_prime, bug=None):
    """jvp and vjp rows by the per-step loop; `b_next` zips the iterates off by one."""
    shift = 1 if bug == "b_next" else 0  # planted: B_{k+1} for B_k
    ks = np.arange(t_prime, k_prime)
    kf = ks.astype(xs.dtype)  # the step index, for the time-varying maps
    jvp = hand_forward(prob.kind, prob.data, xs[ks + shift], xs[ks], kf + shift, kf, u, v)
    rk = ks[::-1]
    rf = rk.astype(xs.dtype)
    vjp = hand_reverse(prob.kind, prob.data, xs[rk + shift], xs[rk], rf + shift, rf, u, w, bug=bug)
    return np.asarray(jvp), np.asarray(vjp)


# --------------------------------------------------------------------------------------
# Implicit differentiation (6), as jaxopt's implicit mode: no unrolling
# --------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("kind", "bug"))
def implicit_arrays(kind, data, z_last, u, v, w, bug=None):
    """implicit_jvp, implicit_vjp, hypergrad at z* (Newton on grad f = 0 from z_last)."""
    step = step_fn(kind, data)
    f = objective_fn(kind, data)
    n, N = z_last.shape[0], data[0].shape[1]
    dtype = z_last.dtype  # the run's (float64, or float32 with --float32)
    if bug == "implicit_at_iterate":  # planted: no solve for x*, the last iterate used
        z = z_last
    else:
        grad, hess = jax.grad(f), jax.hessian(f)
        ts = 0.5 ** jnp.arange(34, dtype=dtype)
        # Backtracking while the decrement g.d is above about sqrt(eps) of f (1e-8 in
        # float64; float32: sqrt(2^-23)): below it, in the quadratic region, Armijo's test
        # compares values equal to rounding and would stall the steps that remain.
        floor = 1e-8 if dtype == jnp.float64 else float(np.sqrt(np.finfo(np.float32).eps))

        def newton(_, x):  # damped (Armijo backtracking) while the decrement g.d is large
            g = grad(x, u)
            d = jnp.linalg.solve(hess(x, u), g)
            fx, gd = f(x, u), g @ d
            ok = jax.vmap(lambda t: f(x - t * d, u))(ts) <= fx - 1e-4 * ts * gd
            t_back = jnp.where(ok.any(), ts[jnp.argmax(ok)], ts[-1])
            t = jnp.where(gd > floor * (1 + jnp.abs(fx)), t_back, 1.0)
            return x - t * d

        x = lax.fori_loop(0, 60, newton, z_last[:N])
        z = jnp.concatenate([x, x]) if n == 2 * N else x
    B = jax.jacfwd(lambda z: step(z, u))(z)  # the limit map (k -> oo) at the fixed point
    C = jax.jacfwd(lambda u: step(z, u))(u)
    M = jnp.eye(n, dtype=dtype) - B
    if bug == "implicit_transpose":  # planted: M.T where M belongs (and the other way round)
        M = M.T
    outer = jnp.concatenate([z[:N], jnp.zeros(n - N, dtype=dtype)])  # the gradient of 1/2 ||x_1||^2
    sign = -1.0 if bug == "implicit_sign" else 1.0  # planted: the minus sign dropped
    jvp = jnp.linalg.solve(M, C @ v)
    vjp = C.T @ jnp.linalg.solve(M.T, w)
    hypergrad = C.T @ jnp.linalg.solve(M.T, outer)
    return sign * jvp, sign * vjp, sign * hypergrad


# --------------------------------------------------------------------------------------
# One trace
# --------------------------------------------------------------------------------------


def trace(prob, x0, v, w, t_prime, k_prime, bug=None, hand_written=False, with_implicit=False):
    """The arrays of one trace file (src/gate/mod.rs, "Traces"), as NumPy arrays in the
    problem's dtype (float64, or float32 with --float32)."""
    if bug == "late_minus_one" and t_prime > 0:  # planted: T'-1 used for T' throughout
        t_prime -= 1
    dtype = prob.data[0].dtype
    x0, v, w = (jnp.asarray(a, dtype=dtype) for a in (x0, v, w))
    if bug == "dropped_warm_start":  # planted: x0 ignored
        x0 = jnp.zeros_like(x0)
    if bug == "stale_momentum" and prob.kind[2] == "heavy_ball":  # planted: old x_{-1}
        N = x0.shape[0] // 2
        x0 = jnp.concatenate([x0[:N], x0[:N] + 0.3])
    u = prob.u()
    # x_{K'+1} for the late start at T'+1; the literal index runs on to x_{T'+K'}
    extra = t_prime + 1 if bug == "literal_index" else 1
    step_bug = bug if bug in ("freeze", "float32_iterates") else None  # one compilation
    xs = iterates(prob.kind, prob.data, x0, u, k_prime + extra, bug=step_bug)
    steps = k_prime - t_prime
    if hand_written or bug in HAND_WRITTEN_BUGS:
        jvp, vjp = hand_rows(prob, xs, u, v, w, t_prime, k_prime, bug)
    else:
        start = t_prime + 1 if bug == "late_plus_one" else t_prime  # planted: xs[T'+1]
        jvp = np.asarray(forward_rows(prob.kind, prob.data, xs[start], u, v, steps, start, bug=bug))
        vjp = rows_from_the_end(reverse_steps(prob.kind, prob.data, xs[t_prime], u, w, steps,
                                              t_prime, bug=bug))
    jvp_final = jvp[-1]
    if bug == "literal_index":  # planted: Xdot_{T'}^{(K')}, K' steps from x_{T'}
        jvp_final = np.asarray(forward_rows(prob.kind, prob.data, xs[t_prime], u, v, k_prime,
                                            t_prime))[-1]
    out = {"x": np.asarray(xs[: k_prime + 1]), "jvp": jvp, "vjp": vjp,
           "jvp_final": jvp_final, "vjp_final": vjp[-1]}
    if with_implicit:
        implicit_bug = bug if bug in IMPLICIT_BUGS else None
        arrays = implicit_arrays(prob.kind, prob.data, jnp.asarray(xs[k_prime]), u, v, w,
                                 bug=implicit_bug)
        for key, a in zip(("implicit_jvp", "implicit_vjp", "hypergrad"), arrays):
            out[key] = np.asarray(a)
    return out


# --------------------------------------------------------------------------------------
# Instances in, traces out
# --------------------------------------------------------------------------------------


def load_instance(path, entry, bug=None, dtype=jnp.float64):
    """Reads one instance .npz; returns (problem, x0, v, w, T', K'), the problem's data in
    `dtype` (x0, v, w are cast by `trace`)."""
    d = np.load(path)
    alpha, beta = float(d["alpha"]), float(d["beta"])
    if bug == "step_size":  # planted: a wrong step size
        alpha *= 1.001
    if bug == "momentum" and entry["method"] in ("heavy_ball", "nesterov"):  # planted
        beta = 0.45
    # Chebyshev: tuned to [mu, L] (its alpha is h = 2/(L + mu); step_size does not apply)
    mu, L = (float(d["mu"]), float(d["L"])) if entry["method"] == "chebyshev" else (0.0, 0.0)
    prob = Problem(entry["family"], entry["param"], entry["method"], d["A"], d["b"],
                   float(d["lam"]), float(d["delta"]), alpha, beta, mu, L, dtype=dtype)
    t_prime, k_prime = int(round(float(d["T_prime"]))), int(round(float(d["K_prime"])))
    return prob, d["x0"], d["v"], d["w"], t_prime, k_prime


def run_gate(instances_dir, traces_dir, bug, with_implicit=True, dtype=jnp.float64):
    with open(os.path.join(instances_dir, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    if manifest.get("schema_version") != 1:
        raise ValueError(f"unsupported manifest schema_version {manifest.get('schema_version')!r}")
    os.makedirs(traces_dir, exist_ok=True)
    start = time.perf_counter()
    for entry in manifest["instances"]:
        prob, x0, v, w, t_prime, k_prime = load_instance(
            os.path.join(instances_dir, entry["file"]), entry, bug, dtype)
        arrays = trace(prob, x0, v, w, t_prime, k_prime, bug, with_implicit=with_implicit)
        # Every array in the dtype of the run (--float32: float32 throughout): an array
        # promoted to float64 on the way would claim float64 accuracy for float32 work.
        promoted = {key: str(a.dtype) for key, a in arrays.items() if a.dtype != dtype}
        if promoted:
            raise TypeError(f"{entry['id']}: arrays {promoted} are not {np.dtype(dtype)} (a dtype promotion)")
        out_name = entry.get("trace", {}).get("file", entry["id"] + ".npz")
        np.savez(os.path.join(traces_dir, out_name), **arrays)  # the run's dtype, C order
    print(f"wrote {len(manifest['instances'])} traces to {traces_dir}"
          + (" (float32)" if dtype == jnp.float32 else "")
          + (f" with the planted bug {bug}" if bug else "")
          + f" in {time.perf_counter() - start:.1f} s (JAX {jax.__version__}, {jax.default_backend()})")


# --------------------------------------------------------------------------------------
# --selfcheck: against the hand-written loop and the NumPy client
# --------------------------------------------------------------------------------------


def load_numpy_client():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gate_numpy.py")
    spec = importlib.util.spec_from_file_location("gate_numpy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rel_diff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return np.inf
    return np.linalg.norm(a - b) / max(1.0, np.linalg.norm(a), np.linalg.norm(b))


def from_numpy_map(amap, method, dtype=jnp.float64):
    f = amap.f
    beta = float(amap.beta) if method in ("heavy_ball", "nesterov") else 0.0
    if method == "chebyshev":
        return Problem(f.family, f.param, method, f.A, f.b, float(f.lam), float(f.delta),
                       amap.h, 0.0, amap.mu, amap.L, dtype=dtype)
    return Problem(f.family, f.param, method, f.A, f.b, float(f.lam), float(f.delta),
                   float(amap.alpha), beta, dtype=dtype)


def compare(name, ours, theirs, fails, rtol=1e-9):
    worst = max(rel_diff(ours[k], theirs[k]) for k in theirs)
    ok = worst <= rtol
    print(f"  {'ok  ' if ok else 'FAIL'} {name}: largest relative difference {worst:.1e}")
    if not ok:
        fails.append(f"{name}: {worst:.1e} > {rtol:.0e}")


def selfcheck():
    gn = load_numpy_client()
    fails, k_prime = [], 24
    for family in FAMILIES:
        for param in PARAMS:
            for method in METHODS:
                # the accelerated methods on two kinds only (each kind compiles anew)
                if method not in ("gd", "heavy_ball") and (family, param) not in (
                        ("pseudo_huber", "targets"), ("ridge", "data")):
                    continue
                amap, x0, v, w = gn.tiny_case(family, param, method)
                prob = from_numpy_map(amap, method)
                for t_prime in (0, 7):
                    name = f"{family}/{param}/{method} T'={t_prime}"
                    ref = gn.trace(amap, x0, v, w, t_prime, k_prime)
                    ref.update(gn.implicit(amap, ref["x"], v, w))
                    compare(name + " vs NumPy",
                            trace(prob, x0, v, w, t_prime, k_prime, with_implicit=True), ref, fails)
                    ref = {k: a for k, a in ref.items() if not k.startswith(("implicit", "hyper"))}
                    compare(name + " hand-written loop vs NumPy",
                            trace(prob, x0, v, w, t_prime, k_prime, hand_written=True), ref, fails)
    # every planted bug against the NumPy client's planting of the same class
    for bug in BUGS:
        for param, method in (("targets", "heavy_ball"), ("data", "gd")):
            scale = 1e-12 if bug == "freeze" else 3.0
            amap, x0, v, w = gn.tiny_case("pseudo_huber", param, method, seed=1, x0_scale=scale)
            if bug == "freeze":
                x0 = gn.iterate(amap, x0, 2000)[-1]  # x_0 = x*, to rounding
            alpha = float(amap.alpha) * (1.001 if bug == "step_size" else 1.0)
            beta = float(amap.beta) if method == "heavy_ball" else 0.0
            if bug == "momentum" and method == "heavy_ball":
                beta = 0.45
            f = amap.f
            prob = Problem(f.family, f.param, method, f.A, f.b, float(f.lam), float(f.delta),
                           alpha, beta)
            bug_map = gn.make_map(method, f, alpha, beta)
            ref = gn.trace(bug_map, x0, v, w, 4, 20, bug)
            implicit = bug in IMPLICIT_BUGS
            if implicit:
                ref.update(gn.implicit(bug_map, ref["x"], v, w, bug))
            ours = trace(prob, x0, v, w, 4, 20, bug, with_implicit=implicit)
            # float32 iterates: JAX rounds the tangents to float32 too (the cast's JVP)
            rtol = 1e-5 if bug == "float32_iterates" else 1e-9
            compare(f"bug {bug} pseudo_huber/{param}/{method} vs NumPy", ours, ref, fails, rtol)
    selfcheck_float32(gn, fails)
    print(f"selfcheck: {len(fails)} failure(s)")
    for m in fails:
        print("  " + m)
    return 1 if fails else 0


def selfcheck_float32(gn, fails):
    """--float32: every array float32 (nothing promoted to float64 on the way), and within
    1e-4 relative of the NumPy client's float64 arrays (the bound of gate_numpy.py's own
    float32 check), the implicit arrays included; on a constant-momentum map and on the two
    time-varying ones (whose step index must stay float32 too), and on Chebyshev tuned to
    L/mu = 1e4, whose weights computed from 1 - s^2 in float32 were 7.6e-4 off here."""
    cases = (("data", "heavy_ball", None), ("targets", "chebyshev", None),
             ("targets", "chebyshev", 1e4), ("targets", "nesterov_convex", None))
    def run_ours(amap, method, x0, v, w):
        prob = from_numpy_map(amap, method, jnp.float32)
        return trace(prob, x0, v, w, 5, 30, with_implicit=True)

    gn.selfcheck_float32_client(cases, run_ours, compare, fails)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instances", nargs="?", help="directory with manifest.json (gate export --out)")
    ap.add_argument("traces", nargs="?", help="directory to write <id>.npz traces into")
    ap.add_argument("--float32", action="store_true", help="compute and save in float32")
    ap.add_argument("--bug", choices=BUGS, help="plant one bug class (demonstration)")
    ap.add_argument("--no-implicit", action="store_true",
                    help="write no implicit arrays (they are optional in the format)")
    ap.add_argument("--selfcheck", action="store_true",
                    help="compare with the hand-written loop and the NumPy client")
    args = ap.parse_args(argv)
    if args.selfcheck:
        return selfcheck()
    if not args.instances or not args.traces:
        ap.error("INSTANCES_DIR and TRACES_DIR are required (or --selfcheck)")
    try:
        run_gate(args.instances, args.traces, args.bug, not args.no_implicit,
                 jnp.float32 if args.float32 else jnp.float64)
    except (OSError, KeyError, ValueError, AssertionError) as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
