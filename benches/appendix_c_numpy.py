#!/usr/bin/env python3
"""Plain NumPy implementation of the appendix-C workload (the baseline of benches/compare.sh).

Same protocol as `unrollcheck reproduce appendix-c` (see src/reproduce/appendix_c.rs):
M = 50, N in {2, 5, 10, 20, 30, 40}, A ~ U(0,1), b ~ N(0,1), u = (A, b) (A row by row,
then b), lambda = 0, alpha in {2/(L+m), 1/(3L)}, K = min(ceil(log(1e-3)/log rho*), 1000),
rho* = (L-m)/(L+m), T_j = floor(0.1 j K + 0.5) for j = 0..8, omega = 3, K' = K + 3T,
T' = T + 3T, random unit v in R^(MN+M) and w in R^N, x_0 = 0, Xdot_0 v = 0, R runs per N,
medians over runs. Its own RNG (numpy's PCG64), so the draws differ from the Rust ones.

Same algorithm as the Rust default, so that the timing ratio compares implementations:
per run and step size the iterates are computed once (up to K + omega T_max) and shared by
the nine late starts / truncated sweeps; each late start records the forward error at every
step (for the median curves) and each sweep its final reverse error. Two modes:

  --mode factored (default)  the loops in (H, g) = (A^T A, A^T b) coordinates, with the
                             tangent Phi v and the cotangent pulled back by Phi^T once per
                             sweep (the chain rule; exactly what the Rust default does);
  --mode direct              the loops in (A, b) coordinates, recomputing the residual
                             A x_k - b at every step (like the frozen reference).

--check compares fwd_err and rev_err with tests/data/appendix_c_subset.json (the frozen
NumPy reference) for its six instances and exits 1 beyond 2e-11 relative.

Usage: python3 benches/appendix_c_numpy.py [--runs R] [--seed S] [--n 2,5,...] [--mode M] [--check]
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


def run_instance(A, b, v, w, mode, curves=True):
    """One draw at both step sizes. Returns rho*, K, Ts and per alpha (finals, e, fwd curves)."""
    m_rows, n = A.shape
    H = A.T @ A
    g = A.T @ b
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
    longest = max(len(c) for c in curves)
    res = []
    for i in range(longest):
        col = [c[i] for c in curves if len(c) > i]
        if 2 * len(col) < len(curves):
            break
        res.append(np.median(col))
    return np.array(res)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", default=",".join(map(str, PAPER_N)))
    ap.add_argument("--mode", choices=("factored", "direct"), default="factored")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
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
