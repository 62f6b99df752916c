//! The blocked appendix-C sweep: the nine late starts of a run advance together, one
//! matrix–matrix product per step, and the nine truncated reverse sweeps share one adjoint
//! sequence; the engine's one-direction loops ([`crate::unroll::late_start_jvp`],
//! [`crate::unroll::truncated_vjp`] on `GradientDescent<NormalEquations>`) are its oracle
//! (`tests/reproduce.rs`).
//!
//! Gradient descent on the normal equations `f(x; H, g) = ½xᵀHx − gᵀx` is affine in the
//! state with the constant matrix `B = I − αH`:
//!
//! - **forward** (late start (20), tangent `θ̇ = Φv = (Ḣ, ġ)`, `Ẋ^{(0)}v = 0`):
//!   `ẏ_{j+1} = B ẏ_j + c_{T'+j}` with `c_k = −α(Ḣ x_k − ġ)`. The forcing `c_k` depends on
//!   the absolute index `k` only, so it is formed once for all late starts, `C = αġ1ᵀ − αḢX`
//!   (one product `N × N × K_end`), and the late starts `i` with `j < K − T_i` advance
//!   together: `Y_{j+1} = Y_j + C_{[T'_i + j]_i} − α H Y_j`, one `N × N × (≤ 9)` product
//!   per step instead of nine matrix–vector products;
//! - **reverse** (truncated sweep from `K'` to `T'`, cotangent `w`): the adjoints are
//!   `x̄_k = B^{K'−k} w`, the same sequence `W_j = B^j w` for every truncation (`B` is
//!   constant), computed once, and the cotangent of `θ` is a sum of outer products,
//!   `H̄ = −α Σ_{k=T'}^{K'−1} W_{K'−1−k} x_kᵀ`, `ḡ = α Σ_{k=T'}^{K'−1} W_{K'−1−k}`: with `W`
//!   stored in reverse order (`W^r_{J−j} = W_j`) the `W` columns of `k = T', …, K'−1` are
//!   contiguous, and `H̄` is one product `(N × s)(s × N)`, `s = K' − T'` (split at the
//!   sampled offsets of the reverse curves, which need the partial sums).
//!
//! The flops: per step size, iterates `2N²` per step (unchanged), `C` `2N²` per step up to
//! `K_end = K + ωT_max`, the late starts `2N²` per active direction and step, `W` `2N²` per
//! step up to `K`, `H̄` `2N²` per truncated step: about `37KN²` against the loops' `50KN²`
//! (the `Ḣx_k` and `B^j w` the nine loops recompute are formed once), most of it in the
//! register-tiled product [`crate::linalg::kernels::gemm_acc`]. Rounding differs from the
//! loops' (other summation orders); `tests/reproduce.rs` bounds the difference by a
//! rounding model. The iterates and `W` are bitwise those of the loops (same kernel, same
//! order). Buffers are allocated once per call, nothing per step (`tests/alloc.rs`).

use crate::linalg::kernels::{Strided, axpy, gemm_acc, gemv_acc, gemv_acc_multi};
use crate::problem::normal::NormalEquations;
use crate::unroll::Trajectory;
use nalgebra::{DMatrix, DVector};

/// The late starts `starts[i] = (T'_i, s_i)` (`s_i` steps from `T'_i`, non-increasing in
/// `i`) advanced together along the tangent `θ̇ = (Ḣ, ġ)` (`phi_v`, `n² + n` entries) from
/// `Ẋ^{(0)} = 0`; calls `observe(i, j, ẏ)` with `ẏ = Ẋ_{T'_i}^{(j)} θ̇` for every `i` and
/// `j = 0, …, s_i` (for each `j`, the `i` in increasing order). Equal in exact arithmetic
/// to `late_start_jvp` on `GradientDescent<NormalEquations>` per `i`.
pub fn late_starts(
    normal: &NormalEquations,
    alpha: f64,
    traj: &Trajectory,
    starts: &[(usize, usize)],
    phi_v: &[f64],
    mut observe: impl FnMut(usize, usize, &[f64]),
) {
    let n = normal.g().len();
    assert_eq!(phi_v.len(), n * n + n, "late_starts: tangent (Ḣ, ġ)");
    assert!(starts.windows(2).all(|w| w[0].1 >= w[1].1), "late_starts: steps must not increase");
    let k_c = starts.iter().map(|&(t, s)| t + s).max().unwrap_or(0);
    assert!(k_c <= traj.len() + 1, "late_starts: trajectory too short");
    let (hdot, gdot) = phi_v.split_at(n * n);
    // C = αġ1ᵀ − αḢX over the iterates x_0, …, x_{k_c − 1}.
    let mut c = DMatrix::zeros(n, k_c);
    for col in c.as_mut_slice().chunks_exact_mut(n) {
        axpy(col, alpha, gdot);
    }
    if k_c > 0 {
        let x = &traj.as_matrix().as_slice()[..n * k_c];
        gemm_acc(c.as_mut_slice(), -alpha, Strided::col_major(hdot, n, n), Strided::col_major(x, n, k_c));
    }
    let dirs = starts.len();
    let mut y = vec![0.0; n * dirs];
    let mut next = vec![0.0; n * dirs];
    for i in 0..dirs {
        observe(i, 0, &y[i * n..(i + 1) * n]);
    }
    let steps = starts.first().map_or(0, |s| s.1);
    let h = Strided::col_major(normal.h().as_slice(), n, n);
    let cs = c.as_slice();
    let mut active = dirs;
    for j in 0..steps {
        while active > 0 && starts[active - 1].1 <= j {
            active -= 1;
        }
        let (y_a, next_a) = (&y[..n * active], &mut next[..n * active]);
        for (i, (dst, src)) in next_a.chunks_exact_mut(n).zip(y_a.chunks_exact(n)).enumerate() {
            let k = starts[i].0 + j;
            for ((d, &s), &ck) in dst.iter_mut().zip(src).zip(&cs[k * n..(k + 1) * n]) {
                *d = s + ck;
            }
        }
        gemm_acc(next_a, -alpha, h, Strided::col_major(y_a, n, active));
        std::mem::swap(&mut y, &mut next);
        for i in 0..active {
            observe(i, j + 1, &y[i * n..(i + 1) * n]);
        }
    }
}

/// The adjoint sequence `W_j = B^j w`, `j = 0, …, J`, stored in reverse order (column
/// `J − j` is `W_j`), computed as the engine's reverse loop does (`W_{j+1} = W_j − αHW_j`
/// by [`gemv_acc`]), hence bitwise its `x̄`.
pub fn adjoints(normal: &NormalEquations, alpha: f64, w: &[f64], big_j: usize) -> DMatrix<f64> {
    let n = normal.g().len();
    assert_eq!(w.len(), n, "adjoints: cotangent w");
    let mut wr = DMatrix::zeros(n, big_j + 1);
    let h = normal.h().as_slice();
    let ws = wr.as_mut_slice();
    ws[big_j * n..].copy_from_slice(w);
    for j in 0..big_j {
        let (head, tail) = ws.split_at_mut((big_j - j) * n);
        let (dst, src) = (&mut head[(big_j - j - 1) * n..], &tail[..n]);
        dst.copy_from_slice(src);
        gemv_acc(dst, -alpha, h, src);
    }
    wr
}

/// The iterates (`x_0 = 0`, `k_end` steps) and the reversed adjoints ([`adjoints`], `J`
/// steps) of two step sizes on the same `H`, computed together: the four sequences share
/// each load of `H` ([`gemv_acc_multi`]), and each is bitwise what
/// [`Trajectory::run`] on `GradientDescent<NormalEquations>` and [`adjoints`] give.
pub fn sequences_pair(
    normal: &NormalEquations,
    alphas: [f64; 2],
    k_end: usize,
    w: &[f64],
    big_j: usize,
) -> ([Trajectory; 2], [DMatrix<f64>; 2]) {
    let n = normal.g().len();
    assert_eq!(w.len(), n, "sequences_pair: cotangent w");
    let (h, g) = (normal.h().as_slice(), normal.g().as_slice());
    let mut xs = [DMatrix::zeros(n, k_end + 1), DMatrix::zeros(n, k_end + 1)];
    let mut wr = [DMatrix::zeros(n, big_j + 1), DMatrix::zeros(n, big_j + 1)];
    for m in &mut wr {
        m.as_mut_slice()[big_j * n..].copy_from_slice(w);
    }
    let [x1, x2] = &mut xs;
    let [w1, w2] = &mut wr;
    let (x1, x2, w1, w2) = (x1.as_mut_slice(), x2.as_mut_slice(), w1.as_mut_slice(), w2.as_mut_slice());
    // Step t: x_{t+1} from x_t (columns t, t + 1); W_{t+1} from W_t (columns J − t, J − t − 1).
    fn x_step(x: &mut [f64], n: usize, t: usize) -> (&mut [f64], &[f64]) {
        let (head, tail) = x.split_at_mut((t + 1) * n);
        let (dst, src) = (&mut tail[..n], &head[t * n..]);
        dst.copy_from_slice(src);
        (dst, src)
    }
    fn w_step(wm: &mut [f64], n: usize, big_j: usize, t: usize) -> (&mut [f64], &[f64]) {
        let (head, tail) = wm.split_at_mut((big_j - t) * n);
        let (dst, src) = (&mut head[(big_j - t - 1) * n..], &tail[..n]);
        dst.copy_from_slice(src);
        (dst, src)
    }
    let [a1, a2] = alphas;
    for t in 0..k_end.max(big_j) {
        match (t < k_end, t < big_j) {
            (true, true) => {
                let ((dx1, sx1), (dx2, sx2)) = (x_step(x1, n, t), x_step(x2, n, t));
                let ((dw1, sw1), (dw2, sw2)) = (w_step(w1, n, big_j, t), w_step(w2, n, big_j, t));
                gemv_acc_multi([&mut *dx1, &mut *dx2, dw1, dw2], [-a1, -a2, -a1, -a2], h, [sx1, sx2, sw1, sw2]);
                axpy(dx1, a1, g);
                axpy(dx2, a2, g);
            }
            (true, false) => {
                let ((dx1, sx1), (dx2, sx2)) = (x_step(x1, n, t), x_step(x2, n, t));
                gemv_acc_multi([&mut *dx1, &mut *dx2], [-a1, -a2], h, [sx1, sx2]);
                axpy(dx1, a1, g);
                axpy(dx2, a2, g);
            }
            (false, true) => {
                let ((dw1, sw1), (dw2, sw2)) = (w_step(w1, n, big_j, t), w_step(w2, n, big_j, t));
                gemv_acc_multi([dw1, dw2], [-a1, -a2], h, [sw1, sw2]);
            }
            (false, false) => unreachable!("t < max(k_end, J)"),
        }
    }
    let [x1, x2] = xs;
    ([Trajectory::from_columns(x1), Trajectory::from_columns(x2)], wr)
}

/// The truncated reverse sweeps `sweeps[i] = (K'_i, T'_i)` along the cotangent `w`, all
/// from the one adjoint sequence `W_j = B^j w` (`wr`, from [`adjoints`] with
/// `J ≥ max_i (K'_i − T'_i)`); for each `i` calls `observe(i, o, ū)` with
/// `ū = wᵀŪ_{K'_i}^{(K'_i − o)}` (in `θ = (H, g)` coordinates, `n² + n` entries) at the
/// offsets `o` of `offsets(i)` (increasing, each at most `K'_i − T'_i`) and at the final
/// offset `o = K'_i − T'_i` (once, even when listed). Equal in exact arithmetic to
/// `truncated_vjp` on `GradientDescent<NormalEquations>` per `i`.
pub fn truncated_sweeps<'o>(
    normal: &NormalEquations,
    alpha: f64,
    traj: &Trajectory,
    sweeps: &[(usize, usize)],
    wr: &DMatrix<f64>,
    mut offsets: impl FnMut(usize) -> &'o [usize],
    mut observe: impl FnMut(usize, usize, &DVector<f64>),
) {
    let n = normal.g().len();
    assert!(sweeps.iter().all(|&(k, t)| t <= k && k <= traj.len()), "truncated sweep needs T' <= K' <= K");
    let big_j = wr.ncols() - 1;
    assert!(wr.nrows() == n && sweeps.iter().all(|&(k, t)| k - t <= big_j), "truncated_sweeps: adjoints too short");
    let (ws, xs) = (wr.as_slice(), traj.as_matrix().as_slice());
    let mut ub = DVector::zeros(n * n + n);
    for (i, &(k_prime, t_prime)) in sweeps.iter().enumerate() {
        ub.fill(0.0);
        let s = k_prime - t_prime;
        let mut done = 0; // offsets accumulated: k = K' − done, …, K' − 1
        let list = offsets(i);
        assert!(list.windows(2).all(|p| p[0] < p[1]) && list.last().is_none_or(|&o| o <= s), "offsets");
        for o in list.iter().copied().chain((list.last() != Some(&s)).then_some(s)) {
            if o > done {
                // k = K' − o, …, K' − done − 1: W columns J − o + 1 … J − done (W_{K'−1−k}).
                let (k0, len) = (k_prime - o, o - done);
                let wcols = &ws[(big_j + 1 - o) * n..(big_j + 1 - done) * n];
                let xcols = &xs[k0 * n..(k0 + len) * n];
                let (hbar, gbar) = ub.as_mut_slice().split_at_mut(n * n);
                gemm_acc(
                    hbar,
                    -alpha,
                    Strided::col_major(wcols, n, len),
                    Strided::col_major(xcols, n, len).transposed(),
                );
                // ḡ += αW_j in the loop's order (k decreasing, i.e. W columns from the end).
                for col in wcols.chunks_exact(n).rev() {
                    axpy(gbar, alpha, col);
                }
                done = o;
            }
            observe(i, o, &ub);
        }
    }
}
