#!/usr/bin/env python3
"""A plain-NumPy implementation of unrolled differentiation, checked by `unrollcheck gate`.

    python3 examples/gate_numpy.py INSTANCES_DIR TRACES_DIR [--float32] [--bug NAME]
    python3 examples/gate_numpy.py --selfcheck

For every instance listed in INSTANCES_DIR/manifest.json (written by `unrollcheck gate
export`), this script runs the inner algorithm (4) for K' iterations, the late-started
forward mode (20) and the truncated reverse sweep (12) of "Understanding the Curse of
Unrolling" (Sections 2.1 and 4.1), and writes TRACES_DIR/<id>.npz with the arrays of the
format in src/gate/mod.rs:

    x          (K'+1, n)     iterates x_0, ..., x_K'
    jvp        (K'-T'+1, n)  rows j = 0..K'-T': Xdot_{T'}^{(j)} v, from 0 (Dx_0 = 0)
    vjp        (K'-T'+1, p)  rows i = 0..K'-T': w^T Ubar_{K'}^{(K'-i)}, i.e. k = K', ..., T'
    jvp_final  (n,)          the last row of jvp
    vjp_final  (p,)          the last row of vjp

and the optional implicit arrays (unless --no-implicit), computed without unrolling as
jaxopt's and torchopt's implicit modes do: the fixed point x* by Newton's method on
grad f(x) = 0 from the last iterate, then Dx* = (I - B)^{-1} C at x* (6) by linear solves
with the dense B = D_x A(x*, u), C = D_u A(x*, u) (the state z* = (x*, x*) for heavy-ball):

    implicit_jvp  (n,)       Dx* v                         (a solve with I - B)
    implicit_vjp  (p,)       w^T Dx* = C^T (I - B)^{-T} w  (a solve with (I - B)^T)
    hypergrad     (p,)       the gradient of the outer loss l(u) = 1/2 ||x*(u)||^2
                             (x* in R^N, the first block of z*): C^T (I - B)^{-T} (x*, 0)

--float32 runs the whole computation in float32 and saves float32 arrays.
--bug NAME plants one bug class, to see the gate reject it with that cause confirmed
(the gate's report names it as [NAME]; on instances where a bug changes nothing, e.g.
b_next on ridge, the trace passes):
    sign_c              the sign of C_k is flipped (both modes)
    b_next              B_{k+1} is used where B_k belongs (both modes)
    late_plus_one       the forward mode starts at T'+1 and the reverse sweep stops at T'+1
                        (its last row repeats the row of T'+1)
    late_minus_one      T'-1 used for T' throughout (one row more in jvp and vjp)
    literal_index       jvp_final = Xdot_{T'}^{(K')} v: K' steps from x_{T'} (Section 4.1
                        read literally; the iterates run on past x_{K'})
    freeze              the derivative is not updated at steps where the iterates have
                        converged, ||x_{k+1} - x_k|| < 1e-8 (1 + ||x_k||) (both modes)
    detached            the parameter is not differentiated through in the unrolled sweeps
                        (stop_gradient, .detach(): C_k = 0, every derivative row 0; the
                        implicit arrays stay right; on the warm starts the gate names
                        freeze, which writes the same trace there)
    float32_iterates    every iterate rounded to float32 (derivatives in float64)
    dropped_warm_start  the iteration started from x_0 = 0 instead of x0
    nonzero_start       the forward mode started from Xdot^{(0)} v = 0.1 w instead of 0
    no_transpose        the reverse sweep uses B_k instead of B_k^T (heavy-ball only)
    adjoint_order       Algorithm 1 as printed: Xbar updated before Ubar += Xbar C_k
    stale_momentum      heavy-ball started from z_0 = (x_0, x_0 + 0.3), a state left over
                        from a previous run
    step_size           the step size alpha multiplied by 1.001
    momentum            the heavy-ball momentum beta = 0.45
    implicit_transpose  the implicit system solved with (I - B)^T where I - B belongs, and
                        the other way round (invisible on gradient descent: I - B symmetric)
    implicit_sign       the minus sign of Dx* = -(d_x F)^{-1} d_u F dropped, F = x - A(x, u)
                        (every implicit array negated)
    implicit_at_iterate B, C and the outer loss taken at the last iterate x_K' instead of x*
                        (invisible on the warm starts, where x_K' = x*)
--selfcheck checks this script against finite differences on small in-memory instances
(every family, parameter and method, and the layers), and that the planted bugs are
caught; it needs no files and exits 1 on a failure.

The layer instances of `gate export --layers` (family "layer", method "picard") have no
objective: x <- tanh(W x + U v + b) with the input v, the bias b or the weights U as
parameter (class Layer); their implicit arrays take x* by Newton's method on x - A(x) = 0.

Only NumPy is needed.
"""

import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

BUGS = ("sign_c", "b_next", "late_plus_one", "late_minus_one", "literal_index", "freeze",
        "detached", "float32_iterates", "dropped_warm_start", "nonzero_start", "no_transpose",
        "adjoint_order", "stale_momentum", "step_size", "momentum", "implicit_transpose",
        "implicit_sign", "implicit_at_iterate")
IMPLICIT_BUGS = ("implicit_transpose", "implicit_sign", "implicit_at_iterate")
FAMILIES = ("ridge", "pseudo_huber")
LAYER_PARAMS = ("input", "bias", "weights")
PARAMS = ("weight", "targets", "data")
METHODS = ("gd", "heavy_ball", "chebyshev", "nesterov", "nesterov_convex")
# Momentum methods on the stacked state z = (x_1, x_2), n = 2N.
STACKED = ("heavy_ball", "chebyshev", "nesterov", "nesterov_convex")


# --------------------------------------------------------------------------------------
# The objective f(x, u) = sum_i phi(a_i^T x - b_i) + (lam/2) ||x||^2
# --------------------------------------------------------------------------------------


class Objective:
    """phi(r) = r^2/2 (ridge) or delta^2 (sqrt(1 + (r/delta)^2) - 1) (pseudo-Huber).

    The parameter u is lam (p = 1), b (p = M), or (A, b) with A flattened row by row,
    then b (p = MN + M). Every array and scalar has the dtype of A (float64 or float32).
    """

    def __init__(self, family, param, A, b, lam, delta):
        assert family in FAMILIES and param in PARAMS, (family, param)
        self.family, self.param = family, param
        self.A, self.b = A, b
        self.lam, self.delta = A.dtype.type(lam), A.dtype.type(delta)

    def value(self, x):
        """f(x, u)."""
        r = self.residual(x)
        if self.family == "ridge":
            phi = 0.5 * r**2
        else:
            phi = self.delta**2 * (np.sqrt(1 + (r / self.delta) ** 2) - 1)
        return phi.sum() + 0.5 * self.lam * (x @ x)

    def dphi(self, r):
        """phi'(r)."""
        if self.family == "ridge":
            return r
        return r / np.sqrt(1 + (r / self.delta) ** 2)

    def d2phi(self, r):
        """phi''(r), in (0, 1]."""
        if self.family == "ridge":
            return np.ones_like(r)
        return (1 + (r / self.delta) ** 2) ** -1.5

    def residual(self, x):
        return self.A @ x - self.b

    def grad(self, x):
        """grad_x f = A^T phi'(r) + lam x."""
        return self.A.T @ self.dphi(self.residual(x)) + self.lam * x

    def hvp(self, x, v):
        """Hessian-vector product A^T diag(phi''(r)) A v + lam v (symmetric)."""
        return self.A.T @ (self.d2phi(self.residual(x)) * (self.A @ v)) + self.lam * v

    def mixed_jvp(self, x, du):
        """D_u grad_x f(x, u) du."""
        r = self.residual(x)
        if self.param == "weight":  # d/dlam (A^T phi' + lam x) = x
            return du[0] * x
        if self.param == "targets":  # d/db = -A^T diag(phi'')
            return -self.A.T @ (self.d2phi(r) * du)
        dA, db = self.split(du)  # (A, b): dA^T phi'(r) + A^T diag(phi'') (dA x - db)
        return dA.T @ self.dphi(r) + self.A.T @ (self.d2phi(r) * (dA @ x - db))

    def mixed_vjp(self, x, w):
        """(D_u grad_x f(x, u))^T w, a vector of length p."""
        r = self.residual(x)
        if self.param == "weight":
            return np.array([x @ w], dtype=x.dtype)
        s = self.d2phi(r) * (self.A @ w)  # diag(phi'') A w
        if self.param == "targets":
            return -s
        # <w, dA^T phi' + A^T diag(phi'')(dA x - db)> = <dA, phi' w^T + s x^T> - <db, s>
        gA = np.outer(self.dphi(r), w) + np.outer(s, x)
        return np.concatenate([gA.ravel(), -s])

    def split(self, u):
        """(A, b) from a data parameter vector (A row by row, then b)."""
        M, N = self.A.shape
        return u[: M * N].reshape(M, N), u[M * N :]

    def u(self):
        """The current parameter vector."""
        if self.param == "weight":
            return np.array([self.lam], dtype=self.A.dtype)
        if self.param == "targets":
            return self.b.copy()
        return np.concatenate([self.A.ravel(), self.b])

    def with_u(self, u):
        """The same family at another parameter value (for finite differences)."""
        A, b, lam = self.A, self.b, self.lam
        if self.param == "weight":
            lam = u[0]
        elif self.param == "targets":
            b = u
        else:
            A, b = self.split(u)
        return Objective(self.family, self.param, A, b, lam, self.delta)


# --------------------------------------------------------------------------------------
# The maps A(x, u) (Remark 1(ii)) with B = D_x A (10) and C = D_u A (10)
# --------------------------------------------------------------------------------------


class GradientDescent:
    """A(x, u) = x - alpha grad_x f(x, u); B = I - alpha hess f, C = -alpha D_u grad f.

    Every method takes the iteration index k of the step (None: the limit map k -> oo, the
    map whose fixed point implicit differentiation uses); only time-varying maps use it.
    """

    def __init__(self, f, alpha):
        self.f, self.alpha = f, f.A.dtype.type(alpha)

    def step(self, x, k=None):
        return x - self.alpha * self.f.grad(x)

    def B(self, x, dx, k=None):
        return dx - self.alpha * self.f.hvp(x, dx)

    def C(self, x, du, k=None):
        return -self.alpha * self.f.mixed_jvp(x, du)

    def BT(self, x, w, k=None):  # the Hessian is symmetric
        return w - self.alpha * self.f.hvp(x, w)

    def CT(self, x, w, k=None):
        return -self.alpha * self.f.mixed_vjp(x, w)


class HeavyBall:
    """On z = (x1, x2): A(z, u) = (x1 - alpha grad f(x1) + beta (x1 - x2), x1).

    B = [[(1+beta) I - alpha hess f(x1), -beta I], [I, 0]], C = [[-alpha D_u grad f(x1)], [0]].
    """

    def __init__(self, f, alpha, beta):
        self.f, self.alpha, self.beta = f, f.A.dtype.type(alpha), f.A.dtype.type(beta)

    def halves(self, z):
        n = z.shape[0] // 2
        return z[:n], z[n:]

    def step(self, z, k=None):
        x1, x2 = self.halves(z)
        return np.concatenate([x1 - self.alpha * self.f.grad(x1) + self.beta * (x1 - x2), x1])

    def B(self, z, dz, k=None):
        x1, _ = self.halves(z)
        d1, d2 = self.halves(dz)
        top = (1 + self.beta) * d1 - self.beta * d2 - self.alpha * self.f.hvp(x1, d1)
        return np.concatenate([top, d1])

    def C(self, z, du, k=None):
        x1, _ = self.halves(z)
        top = -self.alpha * self.f.mixed_jvp(x1, du)
        return np.concatenate([top, np.zeros_like(top)])

    def BT(self, z, w, k=None):
        x1, _ = self.halves(z)
        w1, w2 = self.halves(w)
        top = (1 + self.beta) * w1 - self.alpha * self.f.hvp(x1, w1) + w2
        return np.concatenate([top, -self.beta * w1])

    def CT(self, z, w, k=None):
        x1, _ = self.halves(z)
        w1, _ = self.halves(w)
        return -self.alpha * self.f.mixed_vjp(x1, w1)


class Chebyshev(HeavyBall):
    """The Chebyshev semi-iterative method tuned to [mu, L], time-varying, on z = (x1, x2):
    A_k(z, u) = (om_k (x1 - h grad f(x1)) + (1 - om_k) x2, x1), h = 2/(L + mu), om_0 = 1 and
    om_k = om_inf (1 + q^k)/(1 + q^(k+1)) for k >= 1, s = (L - mu)/(L + mu),
    om_inf = 2/(1 + sqrt(1 - s^2)), q = (s/(1 + sqrt(1 - s^2)))^2; the limit map has om_inf.

    B_k = [[om (I - h hess f), (1 - om) I], [I, 0]], C_k = [[-om h D_u grad f], [0]].
    """

    def __init__(self, f, mu, L):
        # h and the weights om_k in the dtype of A, as every other scalar (a float64 om_k
        # would promote a float32 run to float64 part of the way: its implicit arrays were
        # saved as float64 while computed from float32 data).
        self.f, self.mu, self.L = f, float(mu), float(L)
        self.dt = f.A.dtype.type
        self.h = self.dt(2.0 / (self.L + self.mu))

    def omega(self, k):
        s = (self.L - self.mu) / (self.L + self.mu)
        root = math.sqrt(1.0 - s * s)
        omega_inf = 2.0 / (1.0 + root)
        if k is None:
            return self.dt(omega_inf)
        if k == 0:
            return self.dt(1.0)
        q = (s / (1.0 + root)) ** 2
        return self.dt(omega_inf * (1.0 + q ** k) / (1.0 + q ** (k + 1)))

    def step(self, z, k=None):
        x1, x2 = self.halves(z)
        om = self.omega(k)
        return np.concatenate([om * (x1 - self.h * self.f.grad(x1)) + (1 - om) * x2, x1])

    def B(self, z, dz, k=None):
        x1, _ = self.halves(z)
        d1, d2 = self.halves(dz)
        om = self.omega(k)
        return np.concatenate([om * (d1 - self.h * self.f.hvp(x1, d1)) + (1 - om) * d2, d1])

    def C(self, z, du, k=None):
        x1, _ = self.halves(z)
        top = -self.omega(k) * self.h * self.f.mixed_jvp(x1, du)
        return np.concatenate([top, np.zeros_like(top)])

    def BT(self, z, w, k=None):
        x1, _ = self.halves(z)
        w1, w2 = self.halves(w)
        om = self.omega(k)
        return np.concatenate([om * (w1 - self.h * self.f.hvp(x1, w1)) + w2, (1 - om) * w1])

    def CT(self, z, w, k=None):
        x1, _ = self.halves(z)
        w1, _ = self.halves(w)
        return -self.omega(k) * self.h * self.f.mixed_vjp(x1, w1)


class Nesterov(HeavyBall):
    """Nesterov's method on z = (x1, x2): y = (1 + b_k) x1 - b_k x2,
    A_k(z, u) = (y - alpha grad f(y), x1), with the constant momentum b_k = beta, or (beta
    None: the convex schedule) b_k = k/(k + 3), whose limit map has b = 1.

    B_k = [[(1 + b)(I - alpha H), -b (I - alpha H)], [I, 0]] with H = hess f(y),
    C_k = [[-alpha D_u grad f(y)], [0]].
    """

    def __init__(self, f, alpha, beta=None):
        self.f, self.alpha = f, f.A.dtype.type(alpha)
        self.beta = None if beta is None else f.A.dtype.type(beta)

    def momentum(self, k):
        if self.beta is not None:
            return self.beta
        return 1.0 if k is None else k / (k + 3.0)

    def extrapolate(self, z, k):
        x1, x2 = self.halves(z)
        b = self.momentum(k)
        return (1 + b) * x1 - b * x2, b

    def step(self, z, k=None):
        y, _ = self.extrapolate(z, k)
        return np.concatenate([y - self.alpha * self.f.grad(y), self.halves(z)[0]])

    def B(self, z, dz, k=None):
        y, b = self.extrapolate(z, k)
        d1, d2 = self.halves(dz)
        dy = (1 + b) * d1 - b * d2
        return np.concatenate([dy - self.alpha * self.f.hvp(y, dy), d1])

    def C(self, z, du, k=None):
        y, _ = self.extrapolate(z, k)
        top = -self.alpha * self.f.mixed_jvp(y, du)
        return np.concatenate([top, np.zeros_like(top)])

    def BT(self, z, w, k=None):
        y, b = self.extrapolate(z, k)
        w1, w2 = self.halves(w)
        g = w1 - self.alpha * self.f.hvp(y, w1)
        return np.concatenate([(1 + b) * g + w2, -b * g])

    def CT(self, z, w, k=None):
        y, _ = self.extrapolate(z, k)
        return -self.alpha * self.f.mixed_vjp(y, self.halves(w)[0])


class Layer:
    """A random contraction layer (no objective; `gate export --layers`):
    A(x, u) = tanh(W x + U v + b), the method `picard` (x <- A(x, u)). The parameter u is
    the input v (p = M), the bias b (p = N) or the weights U flattened column-major
    (entry (i, j) at i + j N, p = NM). With S = diag(1 - tanh(z)^2), z = W x + U v + b:
    B = S W, C = S U (input), S (bias), v^T kron S (weights: C dU = S dU v).
    """

    def __init__(self, param, W, U, bias, inp):
        assert param in LAYER_PARAMS, param
        self.param, self.W, self.U, self.bias, self.inp = param, W, U, bias, inp

    def slope(self, x):
        t = np.tanh(self.W @ x + self.U @ self.inp + self.bias)
        return 1 - t * t

    def step(self, x, k=None):
        return np.tanh(self.W @ x + self.U @ self.inp + self.bias)

    def B(self, x, dx, k=None):
        return self.slope(x) * (self.W @ dx)

    def C(self, x, du, k=None):
        if self.param == "input":
            dz = self.U @ du
        elif self.param == "bias":
            dz = du
        else:  # column-major: du.reshape(M, N)[j] is column j of dU
            dz = du.reshape(self.U.shape[1], self.U.shape[0]).T @ self.inp
        return self.slope(x) * dz

    def BT(self, x, w, k=None):
        return self.W.T @ (self.slope(x) * w)

    def CT(self, x, w, k=None):
        sw = self.slope(x) * w
        if self.param == "input":
            return self.U.T @ sw
        if self.param == "bias":
            return sw
        return np.outer(sw, self.inp).T.ravel()  # column-major, as the parameter

    def u(self):
        """The current parameter vector."""
        if self.param == "input":
            return self.inp.copy()
        if self.param == "bias":
            return self.bias.copy()
        return self.U.T.ravel()

    def with_u(self, u):
        """The same layer at another parameter value (for finite differences)."""
        U, bias, inp = self.U, self.bias, self.inp
        if self.param == "input":
            inp = u
        elif self.param == "bias":
            bias = u
        else:
            U = u.reshape(self.U.shape[1], self.U.shape[0]).T
        return Layer(self.param, self.W, U, bias, inp)

    def fixed_point(self, x_start, iterations=100):
        """x* by Newton's method on F(x) = x - A(x, u) = 0 (D_x F = I - B), from x_start,
        until the step stops shrinking (converged to rounding)."""
        x, last, n = x_start.copy(), np.inf, x_start.shape[0]
        for _ in range(iterations):
            J = np.eye(n, dtype=x.dtype) - dense(self.B, x, n)
            d = np.linalg.solve(J, x - self.step(x))
            x = x - d
            size = np.linalg.norm(d)
            if size == 0 or size >= last:
                break
            last = size
        return x


def param_of(amap):
    """The parameter vector u of a map."""
    return amap.u() if isinstance(amap, Layer) else amap.f.u()


class Proximal:
    """Proximal gradient (beta None) and FISTA with constant momentum on the elastic net
    1/2 ||Ax - b||^2 + (lam/2) ||x||^2 + l1 ||x||_1 (beyond the paper): with the read-out
    y = x (prox-gd) or y = (1 + beta) x1 - beta x2 (FISTA, on z = (x1, x2)) and the pre-prox
    point s = y - alpha grad f(y), A(z, u) = soft(s, alpha l1) (and x1 for FISTA).

    The almost-everywhere derivative of the soft threshold (JAX/PyTorch): d_i = 1 where
    |s_i| > alpha l1, else 0 (the kink included). u is l1 (p = 1), b (p = M) or lam (p = 1):
    C = d * (-alpha sign(s)), d * (alpha A^T du), d * (-alpha y).
    """

    def __init__(self, f, alpha, l1, param, beta=None):
        self.f, self.param = f, param  # f: ridge with the targets as its own parameter
        dt = f.A.dtype.type
        self.alpha, self.l1 = dt(alpha), dt(l1)
        self.beta = None if beta is None else dt(beta)
        self.N = f.A.shape[1]

    def read(self, z):
        if self.beta is None:
            return z
        return (1 + self.beta) * z[: self.N] - self.beta * z[self.N :]

    def pre(self, z):
        y = self.read(z)
        s = y - self.alpha * self.f.grad(y)
        return y, s, (np.abs(s) > self.alpha * self.l1).astype(z.dtype)

    def stack(self, top, z):
        return top if self.beta is None else np.concatenate([top, z[: self.N]])

    def step(self, z, k=None):
        _, s, _ = self.pre(z)
        return self.stack(np.sign(s) * np.maximum(np.abs(s) - self.alpha * self.l1, 0), z)

    def B(self, z, dz, k=None):
        y, _, d = self.pre(z)
        dy = self.read(dz)
        return self.stack(d * (dy - self.alpha * self.f.hvp(y, dy)), dz)

    def C(self, z, du, k=None):
        y, s, d = self.pre(z)
        if self.param == "l1":
            top = -self.alpha * np.sign(s) * du[0]
        elif self.param == "targets":
            top = -self.alpha * self.f.mixed_jvp(y, du)
        else:
            top = -self.alpha * y * du[0]
        top = d * top
        return top if self.beta is None else np.concatenate([top, np.zeros_like(top)])

    def BT(self, z, w, k=None):
        y, _, d = self.pre(z)
        g = d * w[: self.N]
        h = g - self.alpha * self.f.hvp(y, g)
        if self.beta is None:
            return h
        return np.concatenate([(1 + self.beta) * h + w[self.N :], -self.beta * h])

    def CT(self, z, w, k=None):
        y, s, d = self.pre(z)
        g = d * w[: self.N]
        if self.param == "l1":
            return np.array([-self.alpha * (np.sign(s) @ g)], dtype=z.dtype)
        if self.param == "targets":
            return -self.alpha * self.f.mixed_vjp(y, g)
        return np.array([-self.alpha * (y @ g)], dtype=z.dtype)

    def solve(self, x_start):
        """x*: proximal gradient from x_start until the step stops changing, then the
        smooth system on the support with its signs, H_SS x_S = (A^T b)_S - l1 sign(x_S)."""
        gd = Proximal(self.f, self.alpha, self.l1, self.param)
        x = x_start.copy()
        for _ in range(100000):
            nxt = gd.step(x)
            done = np.array_equal(nxt, x)
            x = nxt
            if done:
                break
        S = np.flatnonzero(x)
        if S.size:
            A = self.f.A
            H = A[:, S].T @ A[:, S] + self.f.lam * np.eye(S.size, dtype=x.dtype)
            x = np.zeros_like(x)
            x[S] = np.linalg.solve(H, A[:, S].T @ self.f.b - self.l1 * np.sign(nxt[S]))
        return x


def make_map(method, f, alpha, beta, mu=None, L=None):
    if method == "gd":
        return GradientDescent(f, alpha)
    if method == "heavy_ball":
        return HeavyBall(f, alpha, beta)
    if method == "chebyshev":
        return Chebyshev(f, mu, L)
    if method == "nesterov":
        return Nesterov(f, alpha, beta)
    if method == "nesterov_convex":
        return Nesterov(f, alpha)
    raise ValueError(f"unknown method {method!r}")


# --------------------------------------------------------------------------------------
# Unrolling: iterates (4), late-started forward mode (20), truncated reverse sweep (12)
# --------------------------------------------------------------------------------------


def iterate(amap, x0, steps, bug=None, start=0):
    """x_{k+1} = A_k(x_k, u) (4); returns the rows x_0, ..., x_steps (with start > 0, the
    rows x_start, ... of an iteration continued from x_start)."""
    xs = np.empty((steps + 1, x0.shape[0]), dtype=x0.dtype)
    xs[0] = x0
    for k in range(steps):
        xs[k + 1] = amap.step(xs[k], start + k)
        if bug == "float32_iterates":  # planted: single-precision iterates
            xs[k + 1] = xs[k + 1].astype(np.float32)
    return xs


def converged(xs, k):
    """The test of the `freeze` bug: ||x_{k+1} - x_k|| < 1e-8 (1 + ||x_k||)."""
    return np.linalg.norm(xs[k + 1] - xs[k]) < 1e-8 * (1 + np.linalg.norm(xs[k]))


def late_start_jvp(amap, xs, t_prime, k_prime, v, bug=None):
    """(20): Xdot^{(j+1)} v = B_{T'+j} Xdot^{(j)} v + C_{T'+j} v, Xdot^{(0)} v = 0 (x_0 fixed).

    Returns the K'-T'+1 rows j = 0..K'-T'; the last one is Xdot_{T'}^{(K'-T')} v, the output
    of the late start (not Xdot_{T'}^{(K')} v). Needs the iterates x_{T'}, ..., x_{K'-1}.
    """
    steps = k_prime - t_prime
    start = t_prime + 1 if bug == "late_plus_one" else t_prime  # planted: off by one
    sign = -1 if bug == "sign_c" else 1  # planted: C_k with the wrong sign
    if bug == "detached":  # planted: u not differentiated through, C_k = 0
        sign = 0
    out = np.zeros((steps + 1, xs.shape[1]), dtype=xs.dtype)
    if bug == "nonzero_start":  # planted: a non-zero initial derivative
        out[0] = 0.1 * w_nonzero(xs.shape[1], xs.dtype)
    for j in range(steps):
        k = start + j
        if bug == "freeze" and converged(xs, k):  # planted: stop once x has converged
            out[j + 1] = out[j]
            continue
        kb = k + 1 if bug == "b_next" else k  # planted: B_{k+1} instead of B_k
        out[j + 1] = amap.B(xs[kb], out[j], kb) + sign * amap.C(xs[k], v, k)
    return out


def truncated_vjp(amap, xs, t_prime, k_prime, w, p, bug=None):
    """(12) from Xbar^{(K')} = w^T, Ubar^{(K')} = 0, for k = K'-1, ..., T':
    Ubar^{(k)} = Ubar^{(k+1)} + Xbar^{(k+1)} C_k,  Xbar^{(k)} = Xbar^{(k+1)} B_k.

    Returns the K'-T'+1 rows w^T Ubar_{K'}^{(k)} for k = K', K'-1, ..., T' (Table 2); the
    last one is the truncated output w^T Ubar_{K'}^{(T')}.
    """
    stop = t_prime + 1 if bug == "late_plus_one" else t_prime  # planted: stops one early
    sign = -1 if bug == "sign_c" else 1
    if bug == "detached":  # planted: u not differentiated through, C_k = 0
        sign = 0
    rows = np.zeros((k_prime - t_prime + 1, p), dtype=xs.dtype)
    xbar, ubar = w.copy(), np.zeros(p, dtype=xs.dtype)
    for i, k in enumerate(range(k_prime - 1, t_prime - 1, -1), start=1):
        frozen = bug == "freeze" and converged(xs, k)
        if k >= stop and not frozen:
            kb = k + 1 if bug == "b_next" else k
            # planted: no transpose (B_k instead of B_k^T)
            back = amap.B if bug == "no_transpose" else amap.BT
            if bug == "adjoint_order":  # planted: Algorithm 1 as printed, Xbar updated first
                xbar = back(xs[kb], xbar, kb)
                ubar = ubar + sign * amap.CT(xs[k], xbar, k)
            else:
                ubar = ubar + sign * amap.CT(xs[k], xbar, k)  # uses Xbar^{(k+1)}: before the update
                xbar = back(xs[kb], xbar, kb)
        rows[i] = ubar
    return rows


def w_nonzero(n, dtype):
    """The direction of the planted non-zero initial derivative: (1, ..., 1)/sqrt(n)."""
    return np.ones(n, dtype=dtype) / np.sqrt(n)


def trace(amap, x0, v, w, t_prime, k_prime, bug=None):
    """The arrays of one trace file (src/gate/mod.rs, "Traces")."""
    if bug == "late_minus_one" and t_prime > 0:  # planted: T'-1 used for T' throughout
        t_prime -= 1
    if bug == "dropped_warm_start":  # planted: x0 ignored
        x0 = np.zeros_like(x0)
    if bug == "stale_momentum" and type(amap) is HeavyBall:  # planted: old x_{-1}
        x1, _ = amap.halves(x0)
        x0 = np.concatenate([x1, x1 + 0.3])
    # the literal index needs the iterates up to x_{T'+K'-1}
    extra = t_prime + 1 if bug == "literal_index" else 1
    xs = iterate(amap, x0, k_prime + extra, bug)
    jvp = late_start_jvp(amap, xs, t_prime, k_prime, v, bug)
    vjp = truncated_vjp(amap, xs, t_prime, k_prime, w, v.shape[0], bug)
    jvp_final = jvp[-1]
    if bug == "literal_index":  # planted: Xdot_{T'}^{(K')}, K' steps from x_{T'}
        jvp_final = late_start_jvp(amap, xs, t_prime, k_prime + t_prime, v)[-1]
    return {"x": xs[: k_prime + 1], "jvp": jvp, "vjp": vjp, "jvp_final": jvp_final,
            "vjp_final": vjp[-1]}


# --------------------------------------------------------------------------------------
# Implicit differentiation (6): x* by Newton, then linear solves with I - B at x*
# --------------------------------------------------------------------------------------


def dense(op, x, size):
    """The matrix of the linear map d -> op(x, d) on R^size (its columns op(x, e_i))."""
    return np.stack([op(x, e) for e in np.eye(size, dtype=x.dtype)], axis=1)


def minimizer(f, x_start, iterations=200):
    """x* by Newton's method on grad f = 0 from x_start, stopped on a gradient at rounding
    (gradient_at_rounding); RuntimeError if it cannot reach one.

    First as before: damped by backtracking (Armijo) while the Newton decrement g.d is above
    the rounding of f, full steps until the step stops shrinking. On a flat objective (e.g.
    pseudo-Huber with a small lam on verify/long.toml) g.d can be below 1e-8 (1 + |f|) far
    from x*, so that phase can stop where |grad f| is still 6.8: then Newton steps continue,
    damped by backtracking on |grad f| (a descent direction for it: (H g).d = |g|^2), until
    the gradient is at rounding. Where the first phase ends at rounding (every exported
    default set), x is unchanged: the same traces byte for byte."""
    x, last = x_start.copy(), np.inf
    for _ in range(iterations):
        g = f.grad(x)
        d = np.linalg.solve(dense(f.hvp, x, x.shape[0]), g)
        fx, t = f.value(x), 1.0
        # Backtracking while the Newton decrement g.d is above the rounding of f (below
        # it a decrease cannot be measured, and x is in the region of full steps).
        if g @ d > 1e-8 * (1 + abs(fx)):
            while t > 1e-10 and f.value(x - t * d) > fx - 1e-4 * t * (g @ d):
                t /= 2
        x = x - t * d
        size = np.linalg.norm(d)
        if t == 1.0:
            if size == 0 or size >= last:  # the step stopped shrinking
                break
            last = size
    for _ in range(iterations):
        H = dense(f.hvp, x, x.shape[0])
        if gradient_at_rounding(f, x, H):
            return x
        g = f.grad(x)
        d, gnorm, t = np.linalg.solve(H, g), np.linalg.norm(g), 1.0
        while t > 1e-10 and np.linalg.norm(f.grad(x - t * d)) > (1 - 1e-4 * t) * gnorm:
            t /= 2
        if t <= 1e-10:
            break
        x = x - t * d
    raise RuntimeError(
        f"Newton's method did not reach x*: |grad f| = {np.linalg.norm(f.grad(x)):.3e} "
        f"is above the rounding of the gradient (gradient_at_rounding) after {iterations} steps"
    )


def gradient_at_rounding(f, x, H):
    """Whether |grad f(x)| is at the rounding of its computation: at most 16 eps (M + N)
    times the gradient's scale, |(|A|^T |phi'(r)|)| + lam |x| + |H|_2 |x| (the products
    A^T phi'(r), lam x, and the change H dx of the gradient when x is rounded, |dx| <= eps
    |x|), in the precision of x; 16 is the safety factor of the rounding model of src/tol.rs."""
    eps = np.finfo(x.dtype).eps
    M, N = f.A.shape
    r = f.residual(x)
    scale = (np.linalg.norm(np.abs(f.A).T @ np.abs(f.dphi(r))) + abs(f.lam) * np.linalg.norm(x)
             + np.linalg.norm(H, 2) * np.linalg.norm(x))
    return np.linalg.norm(f.grad(x)) <= 16 * eps * (M + N) * scale


def implicit(amap, xs, v, w, bug=None):
    """The implicit arrays of the format at the fixed point (or, with the planted bug
    implicit_at_iterate, at the last iterate xs[-1])."""
    n, p = xs.shape[1], v.shape[0]
    N = n if isinstance(amap, Layer) else amap.f.A.shape[1]
    if bug == "implicit_at_iterate":  # planted: B, C and the outer loss at x_K'
        z = xs[-1]
    elif isinstance(amap, Layer):  # no objective: Newton on x - A(x, u) = 0
        z = amap.fixed_point(xs[-1])
    else:
        x_star = amap.solve(xs[-1][:N]) if isinstance(amap, Proximal) else minimizer(amap.f, xs[-1][:N])
        z = np.concatenate([x_star, x_star]) if n == 2 * N else x_star
    B, C = dense(amap.B, z, n), dense(amap.C, z, p)
    M = np.eye(n, dtype=z.dtype) - B
    if bug == "implicit_transpose":  # planted: (I - B)^T for I - B (and the other way round)
        M = M.T
    outer = np.concatenate([z[:N], np.zeros(n - N, dtype=z.dtype)])  # grad of 1/2 ||x_1||^2
    jvp = np.linalg.solve(M, C @ v)
    vjp = C.T @ np.linalg.solve(M.T, w)
    hypergrad = C.T @ np.linalg.solve(M.T, outer)
    sign = -1 if bug == "implicit_sign" else 1  # planted: the minus sign dropped
    return {"implicit_jvp": sign * jvp, "implicit_vjp": sign * vjp, "hypergrad": sign * hypergrad}


# --------------------------------------------------------------------------------------
# Instances in, traces out
# --------------------------------------------------------------------------------------


def load_instance(path, entry, dtype, bug=None):
    """Reads one instance .npz; returns (map, x0, v, w, T', K')."""
    d = np.load(path)
    t_prime, k_prime = int(round(float(d["T_prime"]))), int(round(float(d["K_prime"])))
    x0, v, w = (d[key].astype(dtype) for key in ("x0", "v", "w"))
    if entry["family"] == "layer":  # tanh(W x + U v + b); no step size or momentum
        W, U, bias, inp = (d[key].astype(dtype) for key in ("W", "U", "bias", "input"))
        return Layer(entry["param"], W, U, bias, inp), x0, v, w, t_prime, k_prime
    A, b = d["A"].astype(dtype), d["b"].astype(dtype)
    lam, delta = float(d["lam"]), float(d["delta"])
    alpha, beta = float(d["alpha"]), float(d["beta"])
    if bug == "step_size":  # planted: a wrong step size
        alpha *= 1.001
    if bug == "momentum" and entry["method"] in ("heavy_ball", "nesterov"):  # planted
        beta = 0.45
    if entry["family"] == "elastic_net":  # the proximal maps (`gate export --proximal`)
        f = Objective("ridge", "targets", A, b, lam, 0.0)
        amap = Proximal(f, alpha, float(d["l1"]), entry["param"], beta if entry["method"] == "fista" else None)
        t_prime, k_prime = int(round(float(d["T_prime"]))), int(round(float(d["K_prime"])))
        x0, v, w = (d[key].astype(dtype) for key in ("x0", "v", "w"))
        return amap, x0, v, w, t_prime, k_prime
    f = Objective(entry["family"], entry["param"], A, b, lam, delta)
    # Chebyshev: tuned to [mu, L] (its alpha is h = 2/(L + mu); step_size does not apply)
    mu, L = (float(d["mu"]), float(d["L"])) if entry["method"] == "chebyshev" else (None, None)
    amap = make_map(entry["method"], f, alpha, beta, mu, L)
    return amap, x0, v, w, t_prime, k_prime


def run_gate(instances_dir, traces_dir, dtype, bug, with_implicit=True):
    with open(os.path.join(instances_dir, "manifest.json"), encoding="utf-8") as fh:
        manifest = json.load(fh)
    if manifest.get("schema_version") != 1:
        raise ValueError(f"unsupported manifest schema_version {manifest.get('schema_version')!r}")
    os.makedirs(traces_dir, exist_ok=True)
    for entry in manifest["instances"]:
        amap, x0, v, w, t_prime, k_prime = load_instance(
            os.path.join(instances_dir, entry["file"]), entry, dtype, bug
        )
        arrays = trace(amap, x0, v, w, t_prime, k_prime, bug)
        if with_implicit:
            arrays.update(implicit(amap, arrays["x"], v, w, bug))
        # Every array in the dtype of the run (--float32: float32 throughout): an array
        # promoted to float64 on the way would claim float64 accuracy for float32 work.
        promoted = {key: str(a.dtype) for key, a in arrays.items() if a.dtype != dtype}
        if promoted:
            raise TypeError(f"{entry['id']}: arrays {promoted} are not {np.dtype(dtype)} (a dtype promotion)")
        out_name = entry.get("trace", {}).get("file", entry["id"] + ".npz")
        np.savez(os.path.join(traces_dir, out_name), **arrays)  # uncompressed, C order
    print(f"wrote {len(manifest['instances'])} traces to {traces_dir}"
          + (" (float32)" if dtype == np.float32 else "")
          + (f" with the planted bug {bug}" if bug else ""))


# --------------------------------------------------------------------------------------
# --selfcheck: finite differences on small in-memory instances
# --------------------------------------------------------------------------------------


def unit(rng, size):
    z = rng.standard_normal(size)
    return z / np.linalg.norm(z)


def tiny_case(family, param, method, seed=0, M=6, N=3, x0_scale=3.0):
    """A small instance like the ones `gate export` writes: (map, x0, v, w)."""
    rng = np.random.default_rng(seed)
    A, b = rng.standard_normal((M, N)), rng.standard_normal(M)
    f = Objective(family, param, A, b, lam=0.1, delta=0.0 if family == "ridge" else 0.5)
    L = np.linalg.norm(A, 2) ** 2 + f.lam  # phi'' in (0, 1]: the curvature is in [lam, L]
    amap = make_map(method, f, 1.0 / L, 0.5, f.lam, L)
    x = x0_scale * rng.standard_normal(N)
    x0 = np.concatenate([x, x]) if method in STACKED else x
    return amap, x0, unit(rng, f.u().shape[0]), unit(rng, x0.shape[0])


def tiny_layer(param, seed=0, M=4, N=3, x0_scale=3.0):
    """A small layer like the ones `gate export --layers` writes: (map, x0, v, w), with
    ||W||_2 = 0.9."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((N, N))
    W = 0.9 * G / np.linalg.norm(G, 2)
    U, bias, inp = rng.standard_normal((N, M)) / np.sqrt(M), 0.5 * rng.standard_normal(N), rng.standard_normal(M)
    amap = Layer(param, W, U, bias, inp)
    x0 = x0_scale * rng.standard_normal(N)
    return amap, x0, unit(rng, amap.u().shape[0]), unit(rng, N)


def rebuild(amap, u):
    """The same map at parameter u."""
    if isinstance(amap, Layer):
        return amap.with_u(u)
    f = amap.f.with_u(u)
    if isinstance(amap, Chebyshev):
        return Chebyshev(f, amap.mu, amap.L)
    if isinstance(amap, Nesterov):
        return Nesterov(f, amap.alpha, amap.beta)
    if isinstance(amap, HeavyBall):
        return HeavyBall(f, amap.alpha, amap.beta)
    return GradientDescent(f, amap.alpha)


def fd_states(amap, x_start, u, du, steps, h, start=0):
    """Central differences of the iterates run `steps` steps from a FIXED x_start = x_start
    (the steps numbered from `start`, for the time-varying maps)."""
    plus = iterate(rebuild(amap, u + h * du), x_start, steps, start=start)
    minus = iterate(rebuild(amap, u - h * du), x_start, steps, start=start)
    return (plus - minus) / (2 * h)


def close(a, b, rtol):
    return np.linalg.norm(a - b) <= rtol * max(1.0, np.linalg.norm(a), np.linalg.norm(b))


def fd_failures(amap, x0, v, w, t_prime, k_prime, tr, h=1e-6, rtol=1e-6):
    """What of the trace `tr` disagrees with finite differences (a list of messages)."""
    u, xs, fails = param_of(amap), tr["x"], []
    # jvp row j = D_u x_{T'+j} with x_{T'} held fixed (late start, (20))
    fd = fd_states(amap, xs[t_prime], u, v, k_prime - t_prime, h, t_prime)
    bad = [j for j in range(k_prime - t_prime + 1) if not close(tr["jvp"][j], fd[j], rtol)]
    if bad:
        fails.append(f"jvp rows {bad[:5]}... differ from finite differences")
    # vjp row i (k = K'-i), dotted with v = d/du (w . x_K') with x_k held fixed ((12))
    bad = []
    for i in range(k_prime - t_prime + 1):
        k = k_prime - i
        fd_k = w @ fd_states(amap, xs[k], u, v, i, h, k)[-1]
        if not close(np.atleast_1d(tr["vjp"][i] @ v), np.atleast_1d(fd_k), rtol):
            bad.append(i)
    if bad:
        fails.append(f"vjp rows {bad[:5]}... (dotted with v) differ from finite differences")
    # vjp_final against the full gradient of u -> w . x_K'(u) from x_T' fixed
    grad = np.array([w @ fd_states(amap, xs[t_prime], u, e, k_prime - t_prime, h, t_prime)[-1]
                     for e in np.eye(u.shape[0])])
    if not close(tr["vjp_final"], grad, rtol):
        fails.append("vjp_final differs from the finite-difference gradient")
    # forward = reverse: w . jvp_final == vjp_final . v (Section 4.1)
    lhs, rhs = w @ tr["jvp_final"], tr["vjp_final"] @ v
    scale = np.linalg.norm(tr["jvp_final"]) + np.linalg.norm(tr["vjp_final"])
    if abs(lhs - rhs) > 1e-12 * max(1.0, scale):
        fails.append(f"w.jvp_final = {lhs:.17e} but vjp_final.v = {rhs:.17e}")
    return fails


def check_shapes(tr, n, p, t_prime, k_prime, dtype):
    want = {"x": (k_prime + 1, n), "jvp": (k_prime - t_prime + 1, n),
            "vjp": (k_prime - t_prime + 1, p), "jvp_final": (n,), "vjp_final": (p,)}
    return [f"{k}: shape {tr[k].shape} dtype {tr[k].dtype}, want {s} {np.dtype(dtype)}"
            for k, s in want.items() if tr[k].shape != s or tr[k].dtype != dtype]


def selfcheck():
    failures, count = [], 0
    k_prime = 24
    for family in FAMILIES:
        for param in PARAMS:
            for method in METHODS:
                amap, x0, v, w = tiny_case(family, param, method)
                for t_prime in (0, 7):
                    name = f"{family}/{param}/{method} T'={t_prime} K'={k_prime}"
                    tr = trace(amap, x0, v, w, t_prime, k_prime)
                    fails = check_shapes(tr, x0.shape[0], v.shape[0], t_prime, k_prime, np.float64)
                    fails += fd_failures(amap, x0, v, w, t_prime, k_prime, tr)
                    count += 1
                    print(f"  {'ok  ' if not fails else 'FAIL'} {name}")
                    failures += [f"{name}: {m}" for m in fails]
    for param in LAYER_PARAMS:
        amap, x0, v, w = tiny_layer(param)
        for t_prime in (0, 7):
            name = f"layer/{param}/picard T'={t_prime} K'={k_prime}"
            tr = trace(amap, x0, v, w, t_prime, k_prime)
            fails = check_shapes(tr, x0.shape[0], v.shape[0], t_prime, k_prime, np.float64)
            fails += fd_failures(amap, x0, v, w, t_prime, k_prime, tr)
            count += 1
            print(f"  {'ok  ' if not fails else 'FAIL'} {name}")
            failures += [f"{name}: {m}" for m in fails]
        xs = iterate(amap, x0, 24)
        bad = implicit_fd_failures(amap, xs, v, w, implicit(amap, xs, v, w))
        # negative controls: I - B = I - SW is not symmetric, so every implicit bug shows
        for bug in IMPLICIT_BUGS:
            if not implicit_fd_failures(amap, xs, v, w, implicit(amap, xs, v, w, bug)):
                bad.append(f"the planted bug {bug} was not caught")
        for bug in ("sign_c", "b_next", "late_plus_one", "adjoint_order"):
            if not fd_failures(amap, x0, v, w, 4, 20, trace(amap, x0, v, w, 4, 20, bug)):
                bad.append(f"the planted bug {bug} was not caught")
        print(f"  {'ok  ' if not bad else 'FAIL'} layer/{param}: implicit arrays, planted bugs caught")
        failures += [f"layer/{param}: {m}" for m in bad]
    failures += selfcheck_implicit()
    failures += selfcheck_float32_and_files()
    failures += selfcheck_bugs()
    failures += selfcheck_minimizer()
    print(f"selfcheck: {count} instances, {len(failures)} failure(s)")
    for m in failures:
        print("  " + m)
    return 1 if failures else 0


def selfcheck_minimizer():
    """minimizer reaches a gradient at rounding on flat pseudo-Huber objectives (lam = 1e-3)
    started far from x*, where the Newton loop used to stop with |grad f| up to 2 (the
    adversarial pass on verify/long.toml: 6.8, and wrong implicit arrays); a gradient kept
    above rounding is reported (the control: gradient_at_rounding refuses x* + 1e-3)."""
    failures = []
    for M, N, scale, seed in [(6, 3, 30.0, 158), (12, 4, 30.0, 154), (6, 3, 100.0, 35), (12, 4, 100.0, 29)]:
        rng = np.random.default_rng(seed)
        A, b = rng.normal(size=(M, N)), rng.normal(size=M)
        f = Objective("pseudo_huber", "weight", A, b, 1e-3, 0.5)
        x = minimizer(f, scale * rng.normal(size=N))
        name = f"minimizer M={M} N={N} seed={seed}"
        if not gradient_at_rounding(f, x, dense(f.hvp, x, N)):
            failures.append(f"{name}: |grad f| = {np.linalg.norm(f.grad(x)):.3e} above rounding")
        off = x + 1e-3
        if gradient_at_rounding(f, off, dense(f.hvp, off, N)):
            failures.append(f"{name}: the control x* + 1e-3 passes the gradient test")
    return failures


def implicit_fd_failures(amap, xs, v, w, arrays, h=1e-6, rtol=1e-6):
    """The implicit arrays against central differences of x*(u) (Newton at u +- h v)."""
    u, n = param_of(amap), xs.shape[1]
    N = n if isinstance(amap, Layer) else amap.f.A.shape[1]

    def lifted_star(u_):
        if isinstance(amap, Layer):
            return amap.with_u(u_).fixed_point(xs[-1])
        x = minimizer(amap.f.with_u(u_), xs[-1][:N])
        return np.concatenate([x, x]) if n == 2 * N else x

    plus, minus = lifted_star(u + h * v), lifted_star(u - h * v)
    fd_jvp = (plus - minus) / (2 * h)
    fd_loss = (0.5 * plus[:N] @ plus[:N] - 0.5 * minus[:N] @ minus[:N]) / (2 * h)
    fails = []
    if not close(arrays["implicit_jvp"], fd_jvp, rtol):
        fails.append("implicit_jvp differs from finite differences of x*")
    if not close(np.atleast_1d(arrays["implicit_vjp"] @ v), np.atleast_1d(w @ fd_jvp), rtol):
        fails.append("implicit_vjp . v differs from w . (finite differences of x*)")
    if not close(np.atleast_1d(arrays["hypergrad"] @ v), np.atleast_1d(fd_loss), rtol):
        fails.append("hypergrad . v differs from finite differences of 1/2 ||x*||^2")
    return fails


def selfcheck_implicit():
    """The implicit arrays against finite differences of the fixed point, every family,
    parameter and method; negative controls: each implicit bug is caught (the transposed
    system on heavy-ball, where I - B is not symmetric)."""
    fails = []
    for family in FAMILIES:
        for param in PARAMS:
            for method in METHODS:
                amap, x0, v, w = tiny_case(family, param, method)
                xs = iterate(amap, x0, 24)
                name = f"implicit {family}/{param}/{method}"
                bad = implicit_fd_failures(amap, xs, v, w, implicit(amap, xs, v, w))
                fails += [f"{name}: {m}" for m in bad]
                if method in STACKED:  # I - B not symmetric
                    for bug in IMPLICIT_BUGS:
                        if not implicit_fd_failures(amap, xs, v, w, implicit(amap, xs, v, w, bug)):
                            fails.append(f"{name}: the planted bug {bug} was not caught")
    print(f"  {'ok  ' if not fails else 'FAIL'} implicit arrays vs finite differences of x*"
          " (and the implicit bugs caught)")
    return fails


def selfcheck_float32_and_files():
    """float32 runs stay float32 and near float64; a trace survives savez/load."""
    fails = []
    amap, x0, v, w = tiny_case("pseudo_huber", "data", "heavy_ball")
    tr64 = trace(amap, x0, v, w, 5, 30)
    f = amap.f
    A32, b32 = f.A.astype(np.float32), f.b.astype(np.float32)
    f32 = Objective(f.family, f.param, A32, b32, f.lam, f.delta)
    amap32 = HeavyBall(f32, amap.alpha, amap.beta)
    x0, v, w = (a.astype(np.float32) for a in (x0, v, w))
    tr32 = trace(amap32, x0, v, w, 5, 30)
    fails += check_shapes(tr32, x0.shape[0], v.shape[0], 5, 30, np.float32)
    for key in tr64:
        if not close(tr32[key].astype(np.float64), tr64[key], 1e-4):
            fails.append(f"float32 {key} is far from float64")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.npz")
        np.savez(path, **tr64)
        back = np.load(path)
        if any(not np.array_equal(back[k], tr64[k]) for k in tr64):
            fails.append("a trace does not survive np.savez / np.load")
    print(f"  {'ok  ' if not fails else 'FAIL'} float32 run and .npz round trip")
    return fails


def selfcheck_float32_client(cases, run_ours, compare, fails):
    """The float32 self-check of another client (gate_jax.py, gate_torch.py --selfcheck):
    for each (param, method, kappa) of `cases` on pseudo-Huber (kappa: Chebyshev tuned to
    [L/kappa, L]), `run_ours(amap, method, x0, v, w)` returns the client's float32 arrays
    (T' = 5, K' = 30, implicit arrays included); every one must be float32 (nothing promoted
    to float64 on the way) and within 1e-4 relative of this client's float64 arrays (the
    bound of selfcheck_float32_and_files), compared with the client's own `compare`."""
    for param, method, kappa in cases:
        amap, x0, v, w = tiny_case("pseudo_huber", param, method)
        if kappa:  # Chebyshev tuned to [L/kappa, L]: 1 - s^2 = 4e-4, cancelling in float32
            amap = make_map(method, amap.f, None, None, amap.L / kappa, amap.L)
        ref = trace(amap, x0, v, w, 5, 30)
        ref.update(implicit(amap, ref["x"], v, w))
        ours = run_ours(amap, method, x0, v, w)
        name = f"float32 pseudo_huber/{param}/{method}{f' L/mu={kappa:g}' if kappa else ''} T'=5"
        promoted = sorted(key for key, a in ours.items() if a.dtype != np.float32)
        if promoted:
            print(f"  FAIL {name}: not float32: {promoted}")
            fails.append(f"{name}: arrays {promoted} are not float32")
        compare(name + " vs NumPy float64", ours, ref, fails, 1e-4)


# The planted bugs in the derivatives, which finite differences along the trace's own
# iterates can see; the others change the iterates (float32_iterates, dropped_warm_start,
# stale_momentum, step_size, momentum), the shapes (late_minus_one) or nothing on gradient
# descent (no_transpose), and are checked by the gate itself (tests/gate.rs).
FD_VISIBLE_BUGS = ("sign_c", "b_next", "late_plus_one", "literal_index", "freeze", "detached",
                   "nonzero_start", "adjoint_order")


def selfcheck_bugs():
    """Negative controls: every planted bug in FD_VISIBLE_BUGS must disagree with finite
    differences.

    The controls are pseudo-Huber: on ridge the Hessian is constant, B_k = B_{k+1}, and
    `b_next` changes nothing.
    """
    fails = []
    for bug in FD_VISIBLE_BUGS:
        caught = 0
        for param, method in (("weight", "gd"), ("targets", "heavy_ball"), ("data", "heavy_ball")):
            # `freeze` needs converged iterates: start at (nearly) the solution.
            scale = 1e-12 if bug == "freeze" else 3.0
            amap, x0, v, w = tiny_case("pseudo_huber", param, method, seed=1, x0_scale=scale)
            if bug == "freeze":
                x0 = iterate(amap, x0, 2000)[-1]  # x_0 = x*, to rounding
            tr = trace(amap, x0, v, w, 4, 20, bug)
            caught += bool(fd_failures(amap, x0, v, w, 4, 20, tr))
        print(f"  {'ok  ' if caught == 3 else 'FAIL'} planted bug {bug} caught on {caught}/3")
        if caught < 3:
            fails.append(f"planted bug {bug} was not caught on {3 - caught} of 3 instances")
    return fails


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instances", nargs="?", help="directory with manifest.json (gate export --out)")
    ap.add_argument("traces", nargs="?", help="directory to write <id>.npz traces into")
    ap.add_argument("--float32", action="store_true", help="compute and save in float32")
    ap.add_argument("--bug", choices=BUGS, help="plant one bug class (demonstration)")
    ap.add_argument("--no-implicit", action="store_true",
                    help="write no implicit arrays (they are optional in the format)")
    ap.add_argument("--selfcheck", action="store_true", help="finite-difference self-check")
    args = ap.parse_args(argv)
    if args.selfcheck:
        return selfcheck()
    if not args.instances or not args.traces:
        ap.error("INSTANCES_DIR and TRACES_DIR are required (or --selfcheck)")
    try:
        run_gate(args.instances, args.traces, np.float32 if args.float32 else np.float64, args.bug,
                 not args.no_implicit)
    except (OSError, KeyError, ValueError, AssertionError) as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
