#!/usr/bin/env python3
"""Plain NumPy implementation of the appendix-C workload (the baseline of benches/compare.sh).

Same protocol as `unrollcheck reproduce appendix-c` (see src/reproduce/appendix_c.rs):
M = 50, N in {2, 5, 10, 20, 30, 40}, A ~ U(0,1), b ~ N(0,1), u = (A, b) (A row by row,
then b), lambda = 0, alpha in {2/(L+m), 1/(3L)}, K = min(ceil(log(1e-3)/log rho*), 1000),
rho* = (L-m)/(L+m), T_j = floor(0.1 j K + 0.5) for j = 0..8, omega = 3, K' = K + 3T,
T' = T + 3T, random unit v in R^(MN+M) and w in R^N, x_0 = 0, Xdot_0 v = 0, R runs per N,
medians over runs. Its own RNG (numpy's PCG64), so the draws differ from the Rust ones.

Per run and step size the iterates are computed once (up to K + omega T_max) and shared by
the nine late starts / truncated sweeps; each late start records the forward error at every
step (for the median curves) and each sweep its final reverse error. Three modes, the same
numbers up to rounding, matching the engines of `unrollcheck reproduce appendix-c --engine`:

  --mode spectral (default)  the Rust default, `--engine spectral` (src/reproduce/spectral.rs),
                             so that the timing ratio compares implementations of one
                             algorithm. Gradient descent on the normal equations
                             (H, g) = (A^T A, A^T b) has the constant, symmetric B = I - alpha H,
                             diagonal, d = 1 - alpha lam, in the eigenbasis H = V diag(lam) V^T
                             (np.linalg.eigh, once per run): the iterates z_k = V^T x_k are
                             (1 - d^k) alpha V^T g / (1 - d), all k at once (the closed form of
                             the recursion z <- d z + alpha V^T g the Rust engine runs); the
                             tangent forcing alpha (V^T gd - V^T Hd V z_k) of all k is one
                             N x N by N x k_end product; the nine late starts y <- d y + forcing
                             advance together, one N x 9 array per step (the only Python loop);
                             each truncated sweep's cotangent is one N x s by s x N product,
                             rotated back by V and pulled back by Phi^T (the Rust engine takes
                             that norm in the eigenbasis instead); the other norms are taken in
                             the eigenbasis;
  --mode factored            the loops in (H, g) coordinates, one direction at a time, with the
                             tangent Phi v and the cotangent pulled back by Phi^T once per sweep
                             (the chain rule): `--engine loops`. `--engine blocked` is this
                             algorithm with the nine late starts advanced together (one matrix
                             product per step) and one adjoint sequence B^j w for the nine
                             sweeps;
  --mode direct              the loops in (A, b) coordinates, recomputing the residual
                             A x_k - b at every step (like the frozen reference): `--engine direct`.

--check compares fwd_err and rev_err with tests/data/appendix_c_subset.json (the frozen
NumPy reference) for its six instances and exits 1 beyond 2e-11 relative.

--products times NumPy's `@` (its BLAS DGEMM) alone at the two product shapes of the spectral
sweep, N x N by N x 64 (the forcing) and N x 64 by 64 x N (the cotangent), for N in
{5, 10, 20, 40}, and prints the flop rates (the counterpart of `cargo bench --bench
appendix_c -- products`). Run it with OPENBLAS_NUM_THREADS=1 for one core.

Usage: python3 benches/appendix_c_numpy.py [--runs R] [--seed S] [--n 2,5,...] [--mode M] [--check]
       OPENBLAS_NUM_THREADS=1 python3 benches/appendix_c_numpy.py --products
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

try:
    import numpy as np
except ImportError:  # the script installs its one dependency
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "numpy"])
    import numpy as np

M = 50
OMEGA = 3
K_CAP = 1000
TOL = 1e-3
PAPER_N = [2, 5, 10, 20, 30, 40]
PAPER_RHO = [0.763526, 0.921979, 0.974362, 0.993876, 0.998509, 0.999722]


def horizon(rho):
    k = math.ceil(math.log(TOL) / math.log(rho))
    return max(1, min(k, K_CAP))


def truncations(k):
    return [int(math.floor(0.1 * j * k + 0.5)) for j in range(9)]


def pull_back(A, b, Hbar, gbar):
    """Phi^T (Hbar, gbar) = (A (Hbar + Hbar^T) + b gbar^T, A gbar)."""
    return A @ (Hbar + Hbar.T) + np.outer(b, gbar), A @ gbar


def spectral_step_size(A, b, Hd, gd, Hbar_star, gbar_star, lam, V, hats, alpha, K, Ts, curves):
    """One step size of --mode spectral: B = I - alpha H is diag(d) in the eigenbasis of H.

    hats = V^T (g, Hd V, gd, x*, Dx* v, w). Returns (finals, e, fwd curves) like the loops."""
    g_hat, Hd_hat, gd_hat, xs_hat, tv_hat, w_hat = hats
    n = lam.size
    d = 1.0 - alpha * lam
    k_end = K + OMEGA * Ts[-1]
    # rows k = 0..k_end: the powers D[k] = d^k and the iterates Z[k] = z_k = V^T x_k, the
    # recursion z_{k+1} = d z_k + alpha g_hat from z_0 = 0 in closed form (1 - d^k) z_inf
    D = np.empty((k_end + 1, n))
    D[0] = 1.0
    D[1:] = d
    np.cumprod(D, axis=0, out=D)
    Z = (1.0 - D) * (alpha * g_hat / (1.0 - d))
    e = np.linalg.norm(Z - xs_hat, axis=1) if curves else None
    # the tangent forcing c_k = alpha (gd_hat - Hd_hat z_k) of every k < k_end, one product
    # (rows C[k] = c_k, i.e. the transpose of Hd_hat @ [z_0 ... z_{k_end-1}])
    C = alpha * (gd_hat - Z[:k_end] @ Hd_hat.T)
    # late-started forward mode (20), y_{j+1} = d y_j + c_{T'+j} from y_0 = 0: the nine late
    # starts advance together, Y[j] is the N x 9 array of their y_j (stored as Yt[j], 9 x N;
    # a late start that has done its K - T steps runs on, its forcing index clipped to
    # k_end - 1, and its extra rows are never read)
    tps = np.array([T + OMEGA * T for T in Ts])
    Yt = np.empty((K + 1, len(Ts), n))
    Yt[0] = 0.0
    np.take(C, tps + np.arange(K)[:, None], axis=0, out=Yt[1:], mode="clip")
    Y = Yt.transpose(0, 2, 1)
    dcol = d[:, None]
    for j in range(2, K + 1):
        Y[j] += dcol * Y[j - 1]
    steps = [K - T for T in Ts]
    y_end = Yt[steps, np.arange(len(Ts))]  # the final y of each late start (a copy)
    Yt -= tv_hat
    dist = np.sqrt(np.einsum("kin,kin->ki", Yt, Yt))  # ||y_j - V^T Dx* v||, (K + 1) x 9
    # truncated reverse sweeps K' -> T' along w: the adjoint of step k is B^(K'-1-k) w, so with
    # the rows Pw[l] = d^l w_hat and P = Pw[s-1], ..., Pw[0] (s = K - T steps, k = T'..K'-1)
    # Hbar_hat = -alpha P^T Z[T':K'] and gbar_hat = alpha P^T 1, rotated back by V
    Pw = D[:K] * w_hat
    finals, fwd = [], []
    for i, T in enumerate(Ts):
        tp, kp, s = T + OMEGA * T, K + OMEGA * T, steps[i]
        P = Pw[:s][::-1]
        Hb = V @ (-alpha * (P.T @ Z[tp:kp])) @ V.T
        gb = V @ (alpha * P.sum(axis=0))
        GA, Gb = pull_back(A, b, Hb - Hbar_star, gb - gbar_star)
        finals.append(dict(T=T, fwd_err=dist[s, i], rev_err=math.sqrt(np.sum(GA * GA) + Gb @ Gb),
                           iter_err=np.linalg.norm(Z[kp] - xs_hat), wjv_fwd=w_hat @ y_end[i],
                           wjv_rev=np.sum(Hb * Hd) + gb @ gd))
        if curves:
            fwd.append(dist[: s + 1, i])
    return finals, e, fwd


def run_instance(A, b, v, w, mode, curves=True):
    """One draw at both step sizes. Returns rho*, K, Ts and per alpha (finals, e, fwd curves)."""
    m_rows, n = A.shape
    H = A.T @ A
    g = A.T @ b
    if mode == "spectral":
        ev, V = np.linalg.eigh(H)
    else:
        ev = np.linalg.eigvalsh(H)
    mu, L = ev[0], ev[-1]
    rho_star = (L - mu) / (L + mu)
    K = horizon(rho_star)
    Ts = truncations(K)
    VA = v[: m_rows * n].reshape(m_rows, n)
    vb = v[m_rows * n:]
    x_star = np.linalg.solve(H, g)
    x_star += np.linalg.solve(H, g - H @ x_star)  # one refinement step
    Hd = VA.T @ A + A.T @ VA
    gd = VA.T @ b + A.T @ vb
    target_v = -np.linalg.solve(H, Hd @ x_star - gd)
    z = np.linalg.solve(H, w)
    Hbar_star, gbar_star = -np.outer(z, x_star), z
    TA, Tb = pull_back(A, b, Hbar_star, gbar_star)
    Atvb = A.T @ vb
    out = []
    if mode == "spectral":
        hats = (V.T @ g, V.T @ Hd @ V, V.T @ gd, V.T @ x_star, V.T @ target_v, V.T @ w)
        for alpha in (2.0 / (L + mu), 1.0 / (3.0 * L)):
            finals, e, fwd = spectral_step_size(A, b, Hd, gd, Hbar_star, gbar_star, ev, V, hats, alpha, K, Ts, curves)
            out.append(dict(finals=finals, e=e, fwd=fwd))
        return rho_star, K, Ts, out
    for alpha in (2.0 / (L + mu), 1.0 / (3.0 * L)):
        k_end = K + OMEGA * Ts[-1]
        X = np.empty((k_end + 1, n))
        X[0] = 0.0
        for k in range(k_end):
            X[k + 1] = X[k] - alpha * (H @ X[k] - g)
        e = np.linalg.norm(X - x_star, axis=1) if curves else None
        finals, fwd = [], []
        for T in Ts:
            tp, kp, steps = T + OMEGA * T, K + OMEGA * T, K - T
            # late-started forward mode (20)
            xd = np.zeros(n)
            curve = np.empty(steps + 1)
            curve[0] = np.linalg.norm(xd - target_v)
            for j in range(steps):
                x = X[tp + j]
                if mode == "factored":
                    xd = xd - alpha * (H @ xd) - alpha * (Hd @ x - gd)
                else:
                    xd = xd - alpha * (H @ xd) - alpha * (VA.T @ (A @ x - b) + A.T @ (VA @ x) - Atvb)
                curve[j + 1] = np.linalg.norm(xd - target_v)
            # truncated reverse sweep K' -> T'
            xb = w.copy()
            if mode == "factored":
                Hb = np.zeros((n, n))
                gb = np.zeros(n)
                for k in range(kp - 1, tp - 1, -1):
                    Hb -= alpha * np.outer(xb, X[k])
                    gb += alpha * xb
                    xb = xb - alpha * (H @ xb)
                GA, Gb = pull_back(A, b, Hb - Hbar_star, gb - gbar_star)
                rev_err = math.sqrt(np.sum(GA * GA) + Gb @ Gb)
                wjv_rev = np.sum(Hb * Hd) + gb @ gd
            else:
                GA = np.zeros((m_rows, n))
                Gb = np.zeros(m_rows)
                for k in range(kp - 1, tp - 1, -1):
                    x = X[k]
                    r = A @ x - b
                    Aw = A @ xb
                    GA -= alpha * (np.outer(r, xb) + np.outer(Aw, x))
                    Gb += alpha * Aw
                    xb = xb - alpha * (H @ xb)
                rev_err = math.sqrt(np.sum((GA - TA) ** 2) + np.sum((Gb - Tb) ** 2))
                wjv_rev = np.sum(GA * VA) + Gb @ vb
            finals.append(dict(T=T, fwd_err=curve[steps], rev_err=rev_err,
                               iter_err=np.linalg.norm(X[kp] - x_star), wjv_fwd=w @ xd, wjv_rev=wjv_rev))
            if curves:
                fwd.append(curve)
        out.append(dict(finals=finals, e=e, fwd=fwd))
    return rho_star, K, Ts, out


def ragged_median(curves):
    """Per step, the median over the curves that reach it, while at least half of them do
    (the Rust `stats::ragged_median`); the curves NaN-padded to one array, one nanmedian."""
    lengths = np.array([len(c) for c in curves])
    longest = int(lengths.max())
    padded = np.full((len(curves), longest), np.nan)
    for r, c in enumerate(curves):
        padded[r, : len(c)] = c
    short = 2 * (lengths[:, None] > np.arange(longest)).sum(axis=0) < len(curves)
    keep = int(np.argmax(short)) if short.any() else longest
    return np.nanmedian(padded[:, :keep], axis=0)


def sweep(runs, seed, ns, mode):
    lines = []
    for n in ns:
        results = []
        for r in range(runs):
            rng = np.random.default_rng([seed, n, r])
            A = rng.random((M, n))
            b = rng.standard_normal(M)
            v = rng.standard_normal(M * n + M)
            v /= np.linalg.norm(v)
            w = rng.standard_normal(n)
            w /= np.linalg.norm(w)
            results.append(run_instance(A, b, v, w, mode))
        rhos = np.array([res[0] for res in results])
        q25, q50, q75 = np.percentile(rhos, [25, 50, 75])
        paper = PAPER_RHO[PAPER_N.index(n)] if n in PAPER_N else float("nan")
        lines.append(f"N = {n:2d}  rho* median {q50:.6f}  IQR [{q25:.6f}, {q75:.6f}]  paper {paper:.6f}")
        for i, label in enumerate(("2/(L+m)", "1/(3L)")):
            fwd = np.median([[f["fwd_err"] for f in res[3][i]["finals"]] for res in results], axis=0)
            rev = np.median([[f["rev_err"] for f in res[3][i]["finals"]] for res in results], axis=0)
            ragged_median([res[3][i]["e"] for res in results])
            for j in range(9):
                ragged_median([res[3][i]["fwd"][j] for res in results])
            lines.append(f"  alpha {label:8s} median final fwd " + " ".join(f"{x:.3e}" for x in fwd))
            lines.append(f"  alpha {label:8s} median final rev " + " ".join(f"{x:.3e}" for x in rev))
    return lines


def check(mode):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "appendix_c_subset.json")
    with open(path) as fh:
        ref = json.load(fh)
    worst = 0.0
    for inst in ref["instances"]:
        A = np.array(inst["A"])
        v = np.concatenate([np.array(inst["vA"]).reshape(-1), np.array(inst["vb"])])
        _, K, Ts, out = run_instance(A, np.array(inst["b"]), v, np.array(inst["w"]), mode, curves=False)
        assert K == inst["K"] and Ts == inst["Ts"], (K, inst["K"], Ts, inst["Ts"])
        for i, label in enumerate(("2/(L+m)", "1/(3L)")):
            for ours, theirs in zip(out[i]["finals"], inst["results"][label]):
                for q in ("fwd_err", "rev_err"):
                    worst = max(worst, abs(ours[q] - theirs[q]) / abs(theirs[q]))
    print(f"check ({mode}): largest relative deviation of fwd_err/rev_err from the frozen reference: {worst:.2e}")
    return worst <= 2e-11


def products(chunk=64, seconds=1.0):
    """Gflop/s of `@` at the sweep's product shapes (best of 5 batches of about `seconds`/5)."""
    rng = np.random.default_rng(0)
    for n in (5, 10, 20, 40):
        h, z, p = rng.random((n, n)), rng.random((n, chunk)), rng.random((n, chunk))
        flops = 2 * n * n * chunk
        for name, f in (("forcing", lambda: h @ z), ("hbar", lambda: p @ z.T)):
            reps = 1
            while True:  # calibrate a batch to about seconds/5
                t0 = time.perf_counter()
                for _ in range(reps):
                    f()
                if time.perf_counter() - t0 > seconds / 5 or reps > 1 << 24:
                    break
                reps *= 2
            best = min(batch(f, reps) for _ in range(5))
            print(f"numpy @ {name}_N{n}: {flops / best / 1e9:.2f} Gflop/s ({best * 1e9:.0f} ns per product)")


def batch(f, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t0) / reps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", default=",".join(map(str, PAPER_N)))
    ap.add_argument("--mode", choices=("spectral", "factored", "direct"), default="spectral")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--products", action="store_true")
    args = ap.parse_args()
    if args.products:
        products()
        return
    if args.check:
        sys.exit(0 if check(args.mode) else 1)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    ns = [int(s) for s in args.n.split(",")]
    t0 = time.perf_counter()
    lines = sweep(args.runs, args.seed, ns, args.mode)
    dt = time.perf_counter() - t0
    print("\n".join(lines))
    print(f"numpy ({args.mode}) sweep: {dt:.3f} s for R = {args.runs} (numpy {np.__version__})")


if __name__ == "__main__":
    main()
