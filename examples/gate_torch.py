#!/usr/bin/env python3
"""A PyTorch implementation of unrolled and implicit differentiation, checked by `unrollcheck gate`.

    python3 examples/gate_torch.py INSTANCES_DIR TRACES_DIR [--float32] [--bug NAME] [--no-implicit]
    python3 examples/gate_torch.py --selfcheck

Written against the documented format only (docs/gate.md, the module docs of
src/gate/mod.rs), the way a PyTorch user would, in float64 (float32 with --float32): the
objective f(x, u) as a torch function, its gradient by `torch.func.grad`, the step A_k(z, u)
of the method, and every derivative from PyTorch's autodiff of one step along the iterates
(the per-step loop a user writes to see the intermediate rows: `torch.func.jvp` for
B_k Xdot + C_k v, `torch.func.vjp` for Xbar B_k and Xbar C_k). No matrix B_k or C_k is
written by hand.

    x          (K'+1, n)     iterates x_0, ..., x_K'
    jvp        (K'-T'+1, n)  rows j = 0..K'-T': Xdot_{T'}^{(j)} v, from 0 (x_{T'} a constant)
    vjp        (K'-T'+1, p)  rows i = 0..K'-T': w^T Ubar_{K'}^{(K'-i)}, k = K', ..., T'
    jvp_final  (n,)          the last row of jvp
    vjp_final  (p,)          the last row of vjp

and, unless --no-implicit, the optional implicit arrays as torchopt's implicit mode gets
them, without unrolling: x* by Newton's method on grad f = 0 from the last iterate
(`torch.func.hessian`, `torch.linalg.solve`; damped by backtracking far from x*), B and C
of the limit map at z* by `torch.func.jacfwd` (z* = (x*, x*) for the momentum methods),
and linear solves:

    implicit_jvp  (n,)       Dx* v = (I - B)^{-1} C v
    implicit_vjp  (p,)       w^T Dx* = C^T (I - B)^{-T} w
    hypergrad     (p,)       the gradient of l(u) = 1/2 ||x*(u)||^2, C^T (I - B)^{-T} (x*, 0)

Methods: gd, heavy_ball, chebyshev (weights from the instance's mu, L), nesterov (constant
beta), nesterov_convex (beta_k = k/(k + 3)).

--float32 runs the whole computation in float32 and saves float32 arrays, as
gate_numpy.py --float32 does: the data rounded to float32 once, the iterates, derivatives,
Newton's x* and the implicit arrays in float32, every tensor created with an explicit
dtype (the default dtype stays float64); the scalars (alpha, beta, the Chebyshev weights)
are Python floats, which PyTorch rounds to float32 where they meet a tensor, as NumPy
does. A trace array of another dtype is refused (TypeError) before it is written. The
gate judges it with its float32 rounding model (docs/gate.md, "float32 arrays").

--bug NAME plants one bug class, with the ids and effects of examples/gate_numpy.py (the
gate names its cause [NAME]):
    sign_c              the tangent v and the parameter cotangent negated: -C_k, both modes
    b_next              the step linearized at the next iterate and index: B_{k+1} for B_k
    late_plus_one       the forward loop starts at x_{T'+1}, the reverse loop stops at T'+1
                        (its last row repeats)
    late_minus_one      T'-1 used for T' throughout (one row more in jvp and vjp)
    literal_index       jvp_final = Xdot_{T'}^{(K')} v: K' steps from x_{T'}
    freeze              no derivative update where ||x_{k+1} - x_k|| < 1e-8 (1 + ||x_k||)
    detached            the parameter `.detach()`ed in the step whose derivative in u is
                        taken (`torch.func.jvp` / `vjp` in u): C_k = 0, every derivative row
                        0 (same iterates; the implicit arrays stay right); on the truncated
                        instances and the warm starts the gate names freeze, which writes
                        the same trace there
    float32_iterates    every iterate rounded to float32 (derivatives in float64; nothing
                        changes with --float32)
    dropped_warm_start  the iteration started from torch.zeros(n)
    nonzero_start       the forward loop started from 0.1 (1, ..., 1)/sqrt(n)
    no_transpose        `torch.func.jvp` of the step (B_k Xbar) where `vjp` (B_k^T Xbar) belongs
    adjoint_order       Algorithm 1 as printed: Xbar updated before Ubar += Xbar C_k
    stale_momentum      heavy-ball started from z_0 = (x_0, x_0 + 0.3)
    step_size           alpha * 1.001
    momentum            heavy-ball and Nesterov beta = 0.45
    implicit_transpose  `torch.linalg.solve(M.T, ...)` where `solve(M, ...)` belongs, M = I - B,
                        and the other way round
    implicit_sign       -(d_x F)^{-1} d_u F written without its minus sign, F = z - A(z, u)
    implicit_at_iterate B, C and the outer loss at the last iterate (no Newton solve)
--selfcheck compares every array with the NumPy client examples/gate_numpy.py (loaded from
the same directory) on its small in-memory instances: every family, parameter and method,
T' = 0 and T' > 0, and every planted bug against the NumPy client's planting of the same
class; it exits 1 on a relative difference above 1e-9. In float32 (every method on
pseudo-Huber targets, heavy-ball on data) it checks that every array is float32 and within
1e-4 relative of the NumPy client's float64 arrays, the bound of gate_numpy.py's own
float32 check.

Needs PyTorch (CPU is enough) and NumPy (for the .npz files).
"""

import argparse
import importlib.util
import json
import os
import sys
import time

import numpy as np
import torch
from torch.func import grad as fgrad
from torch.func import hessian, jacfwd, jvp, vjp

torch.set_default_dtype(torch.float64)

BUGS = ("sign_c", "b_next", "late_plus_one", "late_minus_one", "literal_index", "freeze",
        "detached", "float32_iterates", "dropped_warm_start", "nonzero_start", "no_transpose",
        "adjoint_order", "stale_momentum", "step_size", "momentum", "implicit_transpose",
        "implicit_sign", "implicit_at_iterate")
IMPLICIT_BUGS = ("implicit_transpose", "implicit_sign", "implicit_at_iterate")
FAMILIES = ("ridge", "pseudo_huber")
PARAMS = ("weight", "targets", "data")
METHODS = ("gd", "heavy_ball", "chebyshev", "nesterov", "nesterov_convex")
STACKED = ("heavy_ball", "chebyshev", "nesterov", "nesterov_convex")  # z = (x_1, x_2), n = 2N


def t(a, dtype=torch.float64):
    """A tensor of `dtype` (float64, or float32 with --float32), rounded once from the file's
    float64."""
    return torch.as_tensor(np.asarray(a, dtype=np.float64)).to(dtype)


# --------------------------------------------------------------------------------------
# The problem: f(x, u), the step A_k(z, u), the parameter vector u
# --------------------------------------------------------------------------------------


class Problem:
    """f(x, u) = sum_i phi(a_i^T x - b_i) + (lam/2)||x||^2 and the step of the method."""

    def __init__(self, family, param, method, A, b, lam, delta, alpha, beta, mu=0.0, L=0.0,
                 dtype=torch.float64):
        assert family in FAMILIES and param in PARAMS and method in METHODS
        self.family, self.param, self.method = family, param, method
        # Every tensor in `dtype`, given explicitly (not by torch's default dtype). The scalars
        # stay Python floats, which PyTorch rounds to the tensor's dtype where they meet one.
        self.dtype = dtype
        self.A, self.b = t(A, dtype), t(b, dtype)
        self.lam, self.delta = float(lam), float(delta)
        self.alpha, self.beta = float(alpha), float(beta)
        self.mu, self.L = float(mu), float(L)
        self.N = self.A.shape[1]
        self.grad = fgrad(self.f)  # with respect to x

    def u(self):
        """The parameter vector: lam (p = 1), b (p = M), or (A row by row, b)."""
        if self.param == "weight":
            return torch.tensor([self.lam], dtype=self.dtype)
        if self.param == "targets":
            return self.b.clone()
        return torch.cat([self.A.reshape(-1), self.b])

    def f(self, x, u):
        M, N = self.A.shape
        A, b, lam = self.A, self.b, self.lam
        if self.param == "weight":
            lam = u[0]
        elif self.param == "targets":
            b = u
        else:
            A, b = u[: M * N].reshape(M, N), u[M * N:]
        r = A @ x - b
        if self.family == "ridge":
            phi = 0.5 * r**2
        else:
            phi = self.delta**2 * (torch.sqrt(1 + (r / self.delta) ** 2) - 1)
        return phi.sum() + 0.5 * lam * (x @ x)

    def chebyshev_weight(self, k):
        """om_0 = 1, om_k = om_inf (1 + q^k)/(1 + q^(k+1)); the limit map (k None) has om_inf."""
        s = (self.L - self.mu) / (self.L + self.mu)
        root = (1.0 - s * s) ** 0.5
        omega_inf = 2.0 / (1.0 + root)
        if k is None:
            return omega_inf
        if k == 0:
            return 1.0
        q = (s / (1.0 + root)) ** 2
        return omega_inf * (1.0 + q**k) / (1.0 + q ** (k + 1))

    def step(self, z, u, k=None):
        """A_k(z, u); k None: the limit map k -> oo (whose fixed point is differentiated)."""
        if self.method == "gd":
            return z - self.alpha * self.grad(z, u)
        N = self.N
        x1, x2 = z[:N], z[N:]
        if self.method == "heavy_ball":
            return torch.cat([x1 - self.alpha * self.grad(x1, u) + self.beta * (x1 - x2), x1])
        if self.method == "chebyshev":
            om, h = self.chebyshev_weight(k), 2.0 / (self.L + self.mu)
            return torch.cat([om * (x1 - h * self.grad(x1, u)) + (1 - om) * x2, x1])
        if self.method == "nesterov":
            b = self.beta
        else:
            b = 1.0 if k is None else k / (k + 3.0)
        y = (1 + b) * x1 - b * x2
        return torch.cat([y - self.alpha * self.grad(y, u), x1])


# --------------------------------------------------------------------------------------
# Unrolling: iterates (4), late-started forward mode (20), truncated reverse sweep (12)
# --------------------------------------------------------------------------------------


def iterate(prob, u, x0, steps, bug=None):
    """x_{k+1} = A_k(x_k, u) (4); the rows x_0, ..., x_steps."""
    xs = [x0]
    for k in range(steps):
        nxt = prob.step(xs[k], u, k)
        if bug == "float32_iterates":  # planted: single-precision iterates
            nxt = nxt.to(torch.float32).to(x0.dtype)  # (a no-op in a float32 run)
        xs.append(nxt)
    return torch.stack(xs)


def converged(xs, k):
    """The test of the `freeze` bug: ||x_{k+1} - x_k|| < 1e-8 (1 + ||x_k||)."""
    return bool(torch.linalg.norm(xs[k + 1] - xs[k]) < 1e-8 * (1 + torch.linalg.norm(xs[k])))


def param(uu, bug):
    """The parameter as the step sees it: `.detach()`ed with the planted bug `detached`."""
    return uu.detach() if bug == "detached" else uu


def forward_rows(prob, xs, u, v, t_prime, k_prime, bug=None):
    """(20) by `torch.func.jvp` of one step: B_k Xdot + C_k v, from Xdot^{(0)} v = 0."""
    steps = k_prime - t_prime
    start = t_prime + 1 if bug == "late_plus_one" else t_prime  # planted: x_{T'+1}
    sign = -1.0 if bug == "sign_c" else 1.0  # planted: the tangent negated
    n = xs.shape[1]
    dz = torch.zeros(n, dtype=xs.dtype)
    if bug == "nonzero_start":  # planted: a non-zero initial derivative
        dz = 0.1 * torch.ones(n, dtype=xs.dtype) / n**0.5
    rows = [dz]
    for j in range(steps):
        k = start + j
        if bug == "freeze" and converged(xs, k):  # planted: stop once x has converged
            rows.append(rows[-1])
            continue
        kb = k + 1 if bug == "b_next" else k  # planted: B_{k+1} for B_k
        b_part = jvp(lambda z: prob.step(z, u, kb), (xs[kb],), (rows[-1],))[1]
        c_part = jvp(lambda uu: prob.step(xs[k], param(uu, bug), k), (u,), (sign * v,))[1]
        rows.append(b_part + c_part)
    return torch.stack(rows)


def reverse_rows(prob, xs, u, w, t_prime, k_prime, bug=None):
    """(12) by `torch.func.vjp` of one step, from Xbar = w, Ubar = 0, for k = K'-1 .. T'."""
    stop = t_prime + 1 if bug == "late_plus_one" else t_prime  # planted: stops one early
    sign = -1.0 if bug == "sign_c" else 1.0  # planted: the cotangent of u negated
    xbar, ubar = w.clone(), torch.zeros_like(u)
    rows = [ubar]

    def back(k, xbar):
        kb = k + 1 if bug == "b_next" else k
        if bug == "no_transpose":  # planted: jvp (B_k Xbar) where vjp (B_k^T Xbar) belongs
            return jvp(lambda z: prob.step(z, u, kb), (xs[kb],), (xbar,))[1]
        return vjp(lambda z: prob.step(z, u, kb), xs[kb])[1](xbar)[0]

    def c_t(k, xbar):
        return sign * vjp(lambda uu: prob.step(xs[k], param(uu, bug), k), u)[1](xbar)[0]

    for k in range(k_prime - 1, t_prime - 1, -1):
        frozen = bug == "freeze" and converged(xs, k)
        if k >= stop and not frozen:
            if bug == "adjoint_order":  # planted: Algorithm 1 as printed, Xbar updated first
                xbar = back(k, xbar)
                ubar = ubar + c_t(k, xbar)
            else:
                ubar = ubar + c_t(k, xbar)  # Xbar^{(k+1)} C_k: before the update
                xbar = back(k, xbar)
        rows.append(ubar)
    return torch.stack(rows)


def implicit(prob, u, z_last, v, w, bug=None):
    """The implicit arrays at the fixed point (Newton from the last iterate) or, with the
    planted bug implicit_at_iterate, at the last iterate itself."""
    n, N, dtype = z_last.shape[0], prob.N, z_last.dtype
    # Backtracking while the decrement g.d is above about sqrt(eps) of f (1e-8 in float64;
    # float32: sqrt(2^-23)): below it Armijo's test compares values equal to rounding.
    floor = 1e-8 if dtype == torch.float64 else float(np.sqrt(np.finfo(np.float32).eps))
    if bug == "implicit_at_iterate":  # planted: no solve for x*
        z = z_last
    else:
        x, last = z_last[:N].clone(), float("inf")
        hess = hessian(prob.f)
        for _ in range(200):
            g = prob.grad(x, u)
            d = torch.linalg.solve(hess(x, u), g)
            fx, gd, t = float(prob.f(x, u)), float(g @ d), 1.0
            # damped (Armijo backtracking) while the Newton decrement g.d is above the
            # rounding of f; near x*, full steps until the step stops shrinking
            if gd > floor * (1 + abs(fx)):
                while t > 1e-10 and float(prob.f(x - t * d, u)) > fx - 1e-4 * t * gd:
                    t /= 2
            x = x - t * d
            size = float(torch.linalg.norm(d))
            if t == 1.0:
                if size == 0 or size >= last:  # converged to rounding
                    break
                last = size
        z = torch.cat([x, x]) if n == 2 * N else x
    B = jacfwd(lambda zz: prob.step(zz, u))(z)  # the limit map at the fixed point
    C = jacfwd(lambda uu: prob.step(z, uu))(u)
    M = torch.eye(n, dtype=dtype) - B
    if bug == "implicit_transpose":  # planted: M.T where M belongs (and the other way round)
        M = M.T
    outer = torch.cat([z[:N], torch.zeros(n - N, dtype=dtype)])  # the gradient of 1/2 ||x_1||^2
    sign = -1.0 if bug == "implicit_sign" else 1.0  # planted: the minus sign dropped
    jvp_ = torch.linalg.solve(M, C @ v)
    vjp_ = C.T @ torch.linalg.solve(M.T, w)
    hyper = C.T @ torch.linalg.solve(M.T, outer)
    return {"implicit_jvp": sign * jvp_, "implicit_vjp": sign * vjp_, "hypergrad": sign * hyper}


def trace(prob, x0, v, w, t_prime, k_prime, bug=None, with_implicit=False):
    """The arrays of one trace file (src/gate/mod.rs, "Traces"), as NumPy arrays in the
    problem's dtype (float64, or float32 with --float32)."""
    if bug == "late_minus_one" and t_prime > 0:  # planted: T'-1 used for T' throughout
        t_prime -= 1
    x0, v, w = t(x0, prob.dtype), t(v, prob.dtype), t(w, prob.dtype)
    if bug == "dropped_warm_start":  # planted: x0 ignored
        x0 = torch.zeros_like(x0)
    if bug == "stale_momentum" and prob.method == "heavy_ball":  # planted: old x_{-1}
        N = prob.N
        x0 = torch.cat([x0[:N], x0[:N] + 0.3])
    u = prob.u()
    extra = t_prime + 1 if bug == "literal_index" else 1  # x_{K'+1}; the literal index more
    xs = iterate(prob, u, x0, k_prime + extra, bug)
    jvp_rows = forward_rows(prob, xs, u, v, t_prime, k_prime, bug)
    vjp_rows = reverse_rows(prob, xs, u, w, t_prime, k_prime, bug)
    jvp_final = jvp_rows[-1]
    if bug == "literal_index":  # planted: Xdot_{T'}^{(K')}, K' steps from x_{T'}
        jvp_final = forward_rows(prob, xs, u, v, t_prime, k_prime + t_prime)[-1]
    out = {"x": xs[: k_prime + 1], "jvp": jvp_rows, "vjp": vjp_rows, "jvp_final": jvp_final,
           "vjp_final": vjp_rows[-1]}
    if with_implicit:
        out.update(implicit(prob, u, xs[k_prime], v, w, bug if bug in IMPLICIT_BUGS else None))
    return {key: a.detach().numpy() for key, a in out.items()}


# --------------------------------------------------------------------------------------
# Instances in, traces out
# --------------------------------------------------------------------------------------


def load_instance(path, entry, bug=None, dtype=torch.float64):
    """Reads one instance .npz; returns (problem, x0, v, w, T', K'), the problem in `dtype`
    (x0, v, w are cast by `trace`)."""
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


def run_gate(instances_dir, traces_dir, bug, with_implicit=True, dtype=torch.float64):
    with open(os.path.join(instances_dir, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    if manifest.get("schema_version") != 1:
        raise ValueError(f"unsupported manifest schema_version {manifest.get('schema_version')!r}")
    os.makedirs(traces_dir, exist_ok=True)
    start = time.perf_counter()
    for entry in manifest["instances"]:
        prob, x0, v, w, t_prime, k_prime = load_instance(
            os.path.join(instances_dir, entry["file"]), entry, bug, dtype)
        arrays = trace(prob, x0, v, w, t_prime, k_prime, bug, with_implicit)
        # Every array in the dtype of the run (--float32: float32 throughout): an array
        # promoted to float64 on the way would claim float64 accuracy for float32 work.
        want = np.float32 if dtype == torch.float32 else np.float64
        promoted = {key: str(a.dtype) for key, a in arrays.items() if a.dtype != want}
        if promoted:
            raise TypeError(f"{entry['id']}: arrays {promoted} are not {np.dtype(want)} (a dtype promotion)")
        out_name = entry.get("trace", {}).get("file", entry["id"] + ".npz")
        np.savez(os.path.join(traces_dir, out_name), **arrays)  # the run's dtype, C order
    print(f"wrote {len(manifest['instances'])} traces to {traces_dir}"
          + (" (float32)" if dtype == torch.float32 else "")
          + (f" with the planted bug {bug}" if bug else "")
          + f" in {time.perf_counter() - start:.1f} s (PyTorch {torch.__version__})")


# --------------------------------------------------------------------------------------
# --selfcheck: against the NumPy client
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


def from_numpy_map(amap, method, alpha=None, beta=None, dtype=torch.float64):
    f = amap.f
    if method == "chebyshev":
        return Problem(f.family, f.param, method, f.A, f.b, f.lam, f.delta, amap.h, 0.0,
                       amap.mu, amap.L, dtype=dtype)
    alpha = float(amap.alpha) if alpha is None else alpha
    if beta is None:
        beta = float(amap.beta) if method in ("heavy_ball", "nesterov") else 0.0
    return Problem(f.family, f.param, method, f.A, f.b, f.lam, f.delta, alpha, beta, dtype=dtype)


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
                amap, x0, v, w = gn.tiny_case(family, param, method)
                prob = from_numpy_map(amap, method)
                for t_prime in (0, 7):
                    ref = gn.trace(amap, x0, v, w, t_prime, k_prime)
                    ref.update(gn.implicit(amap, ref["x"], v, w))
                    ours = trace(prob, x0, v, w, t_prime, k_prime, with_implicit=True)
                    compare(f"{family}/{param}/{method} T'={t_prime} vs NumPy", ours, ref, fails)
    # every planted bug against the NumPy client's planting of the same class
    for bug in BUGS:
        for param, method in (("targets", "heavy_ball"), ("data", "gd"), ("targets", "chebyshev"),
                              ("weight", "nesterov")):
            scale = 1e-12 if bug == "freeze" else 3.0
            amap, x0, v, w = gn.tiny_case("pseudo_huber", param, method, seed=1, x0_scale=scale)
            if bug == "freeze":
                x0 = gn.iterate(amap, x0, 2000)[-1]  # x_0 = x*, to rounding
            if method == "chebyshev":
                bug_map, prob = amap, from_numpy_map(amap, method)
            else:
                alpha = float(amap.alpha) * (1.001 if bug == "step_size" else 1.0)
                beta = float(amap.beta) if method in ("heavy_ball", "nesterov") else 0.0
                if bug == "momentum" and method in ("heavy_ball", "nesterov"):
                    beta = 0.45
                bug_map = gn.make_map(method, amap.f, alpha, beta)
                prob = from_numpy_map(amap, method, alpha, beta)
            implicit_bug = bug in IMPLICIT_BUGS
            ref = gn.trace(bug_map, x0, v, w, 4, 20, bug)
            if implicit_bug:
                ref.update(gn.implicit(bug_map, ref["x"], v, w, bug))
            ours = trace(prob, x0, v, w, 4, 20, bug, with_implicit=implicit_bug)
            compare(f"bug {bug} pseudo_huber/{param}/{method} vs NumPy", ours, ref, fails)
    selfcheck_float32(gn, fails)
    print(f"selfcheck: {len(fails)} failure(s)")
    for m in fails:
        print("  " + m)
    return 1 if fails else 0


def selfcheck_float32(gn, fails):
    """--float32: every array float32 (nothing promoted to float64 on the way), and within
    1e-4 relative of the NumPy client's float64 arrays (the bound of gate_numpy.py's own
    float32 check), the implicit arrays included; every method on pseudo-Huber targets,
    heavy-ball on pseudo-Huber data, and Chebyshev tuned to L/mu = 1e4 (whose weights, from
    1 - s^2, would lose digits if computed in float32)."""
    cases = [("targets", method, None) for method in METHODS] + [("data", "heavy_ball", None),
                                                                 ("targets", "chebyshev", 1e4)]

    def run_ours(amap, method, x0, v, w):
        prob = from_numpy_map(amap, method, dtype=torch.float32)
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
    ap.add_argument("--selfcheck", action="store_true", help="compare with the NumPy client")
    args = ap.parse_args(argv)
    if args.selfcheck:
        return selfcheck()
    if not args.instances or not args.traces:
        ap.error("INSTANCES_DIR and TRACES_DIR are required (or --selfcheck)")
    try:
        run_gate(args.instances, args.traces, args.bug, not args.no_implicit,
                 torch.float32 if args.float32 else torch.float64)
    except (OSError, KeyError, ValueError, AssertionError) as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
