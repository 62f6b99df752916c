//! The appendix-C sweep in the eigenbasis of `H = AᵀA`: gradient descent on the normal
//! equations is affine with the constant, symmetric `B = I − αH`, so in the coordinates of
//! `H = VΛVᵀ` every sequence of the sweep is a diagonal recursion, the tangents' forcing
//! and the cotangents' outer products are the only `N²` work, and the norms the protocol
//! asks for are orthogonally invariant. The blocked sweep ([`super::blocked`]) and the
//! engine's one-direction loops are its oracles (`tests/reproduce.rs`).
//!
//! With `d = 1 − αλ` (entrywise), hats for `Vᵀ·` (`ẑ = Vᵀz`, `Ĥ̇ = VᵀḢV`):
//!
//! - **iterates** `z_k = Vᵀx_k`: `z_0 = 0`, `z_{k+1} = d ∘ z_k + αĝ`, `N` multiply–adds a
//!   step; `‖x_k − x*‖ = ‖z_k − ẑ*‖`;
//! - **late starts** (20), tangent `θ̇ = Φv = (Ḣ, ġ)`: `ŷ_{j+1} = d ∘ ŷ_j + ĉ_{T'+j}` with the
//!   forcing `ĉ_k = α(ĝ̇ − Ĥ̇ z_k)`, which depends on `k` only: formed once for all late starts,
//!   `CHUNK` columns at a time (one `N × N × CHUNK` product); then each late start is `N`
//!   multiply–adds a step, and `‖(Ẋ − Dx*)v‖ = ‖ŷ − V ᵀDx*v‖`, `wᵀẊv = ŵᵀŷ`;
//! - **truncated sweeps** from `K'` to `T'` along `w`: the adjoints are `x̄_k = B^{K'−k}w`,
//!   so `Ĥ̄ = VᵀH̄V = −α Σ_{k=T'}^{K'−1} (d^{K'−1−k} ∘ ŵ) z_kᵀ` (one `N × s × N` product, in
//!   pieces of at most `CHUNK` columns split at the sampled offsets of the curves) and
//!   `ĝ̄ = α Σ_k d^{K'−1−k} ∘ ŵ`;
//! - **the pull-back norm** of a cotangent `θ̄ = (H̄, ḡ)` to `u = (A, b)`: `Φᵀθ̄ = (AS + bḡᵀ,
//!   Aḡ)` with `S = H̄ + H̄ᵀ`, and with the thin SVD `AV = UΛ^{1/2}`, `b = Uβ + b⊥`
//!   (`β = Λ^{−1/2}ĝ`, `b⊥ ⟂ range A`),
//!   `‖Φᵀθ̄‖² = Σ_{a,b} (√λ_a Ŝ_ab + β_a ĝ̄_b)² + ‖b⊥‖²‖ĝ̄‖² + Σ_a λ_a ĝ̄_a²`,
//!   a sum of squares (no cancellation) in `O(N²)` flops instead of `N³`
//!   ([`super::normal::PullBackNorm`]) or `2MN²`; `⟨θ̄, Φv⟩ = ⟨Ĥ̄, Ĥ̇⟩ + ⟨ĝ̄, ĝ̇⟩`.
//!
//! Flops per step size and run: `2N²` per step for the forcing up to `K_end = K + ωT_max`,
//! `2N²` per truncated step for `Ĥ̄`, `O(N)` per step and direction otherwise: about
//! `(2K_end + 2Σ_j(K − T_j))N² ≈ 17.6KN²` against the blocked sweep's `37KN²`, and no `N³`
//! per sampled point of the reverse curves; the per-run `O(N³)` setup (the eigen-
//! decomposition of `H`, `Ĥ̇`) is shared by both step sizes.
//!
//! Memory: nothing of size `K·N` is kept. The forward pass stores `z_k` only at the
//! checkpoints `k = 0, CHUNK, 2·CHUNK, …` (`N(K_end/CHUNK + 1)` numbers); each truncated sweep
//! regenerates the `CHUNK` iterates of a window from its checkpoint when it enters it (the
//! recursion is deterministic, so the regenerated `z_k` are bitwise the forward pass's).
//! Working set `O(N² + N·CHUNK + N·K/CHUNK)`, allocated once per call, nothing per step
//! (`tests/alloc.rs`).
//!
//! Rounding: the recursions are entrywise and stable (`|d_a| ≤ ρ < 1`); what the other
//! engines do not have is the error of the eigen-decomposition, a backward error
//! `‖VΛVᵀ − H‖` of a few `ε‖H‖` and `‖VᵀV − I‖` of a few `ε√N`, which the contraction
//! amplifies by at most `min(k, 1/(1 − ρ))` like any perturbation of `H`
//! ([`Spectrum::backward_error`]; `tests/reproduce.rs` bounds the difference to the blocked
//! sweep by it).

use super::normal::NormalEquations;
use crate::error::{Error, Result};
use crate::linalg::kernels::{Strided, gemm_acc};
use nalgebra::{DMatrix, DVector};

/// Columns per piece of the forcing and of `Ĥ̄`, and the spacing of the iterate checkpoints.
pub const CHUNK: usize = 64;

/// One draw in the eigenbasis of `H = AᵀA`: `Λ`, `V`, and the data and tangent rotated.
#[derive(Debug, Clone)]
pub struct Spectrum {
    lambda: Vec<f64>,
    v: DMatrix<f64>,
    g_hat: Vec<f64>,
    hdot_hat: DMatrix<f64>,
    gdot_hat: Vec<f64>,
}

impl Spectrum {
    /// The eigen-decomposition of `H` (capped iteration, [`crate::linalg::symmetric_eigen`])
    /// and the tangent `Φv = (Ḣ, ġ)` (`phi_v`, `N² + N` entries) rotated into it. An error
    /// when the iteration does not converge or `H` has an eigenvalue `≤ 0`.
    pub fn new(normal: &NormalEquations, phi_v: &[f64]) -> Result<Self> {
        let h = normal.h();
        let n = h.nrows();
        assert_eq!(phi_v.len(), n * n + n, "Spectrum: tangent (Ḣ, ġ)");
        let eig = crate::linalg::symmetric_eigen(h)?;
        let lambda: Vec<f64> = eig.eigenvalues.iter().copied().collect();
        if let Some(l) = lambda.iter().find(|&&l| l.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)) {
            return Err(Error::Numerical(format!("AᵀA has the eigenvalue {l:e} ≤ 0 (rank-deficient A)")));
        }
        let v = eig.eigenvectors;
        let hdot = DMatrix::from_column_slice(n, n, &phi_v[..n * n]);
        let hdot_hat = v.tr_mul(&(&hdot * &v));
        let rot = |x: &[f64]| -> Vec<f64> { v.tr_mul(&DVector::from_column_slice(x)).as_slice().to_vec() };
        let g_hat = rot(normal.g().as_slice());
        let gdot_hat = rot(&phi_v[n * n..]);
        Ok(Spectrum { lambda, v, g_hat, hdot_hat, gdot_hat })
    }

    /// `N`.
    pub fn dim(&self) -> usize {
        self.lambda.len()
    }

    /// `Vᵀx`.
    pub fn rotate(&self, x: &[f64]) -> Vec<f64> {
        self.v.tr_mul(&DVector::from_column_slice(x)).as_slice().to_vec()
    }

    /// `Vŷ`: a vector of the eigenbasis back in the coordinates of `x`.
    pub fn unrotate(&self, y: &[f64]) -> DVector<f64> {
        &self.v * DVector::from_column_slice(y)
    }

    /// `VᵀMV` for an `N × N` `M` (into the eigenbasis).
    pub fn rotate_matrix(&self, m: &DMatrix<f64>) -> DMatrix<f64> {
        self.v.tr_mul(&(m * &self.v))
    }

    /// `VM̂Vᵀ` for a column-major `N × N` `M̂` of the eigenbasis.
    pub fn unrotate_matrix(&self, m: &[f64]) -> DMatrix<f64> {
        let n = self.dim();
        &self.v * DMatrix::from_column_slice(n, n, m) * self.v.transpose()
    }

    /// The measured backward error of the decomposition of `h`,
    /// `‖VΛVᵀ − H‖_F/‖H‖_F + ‖VᵀV − I‖_F` (a few `ε√N` when it converged): the relative
    /// perturbation of `H` the spectral sweep computes with (`4N³` flops; for tests).
    pub fn backward_error(&self, h: &DMatrix<f64>) -> f64 {
        let n = self.dim();
        let v = &self.v;
        let recon = v * DMatrix::from_diagonal(&DVector::from_column_slice(&self.lambda)) * v.transpose();
        (&recon - h).norm() / h.norm() + (v.tr_mul(v) - DMatrix::identity(n, n)).norm()
    }
}

/// The iterates `z_k` (`k = 0, …, k_end`) and the late starts `starts[i] = (T'_i, s_i)`
/// (`T'_i + s_i ≤ k_end`) along the tangent of `spec`, step size `alpha`: calls
/// `iterate(k, ‖z_k − x̂*‖)` for every `k` in increasing order and
/// `observe(i, j, ‖ŷ − ŷ*‖, ŷ)` with `ŷ = VᵀẊ_{T'_i}^{(j)}Φv` for every `i`, `j = 0, …, s_i`
/// (for each `i`, `j` increasing), the targets `(x̂*, ŷ*) = (Vᵀx*, VᵀDx*v)`; returns the
/// checkpoints of the iterates for [`truncated_sweeps`].
pub fn forward(
    spec: &Spectrum,
    alpha: f64,
    k_end: usize,
    starts: &[(usize, usize)],
    (x_hat, y_hat): (&[f64], &[f64]),
    mut iterate: impl FnMut(usize, f64),
    mut observe: impl FnMut(usize, usize, f64, &[f64]),
) -> Checkpoints {
    let n = spec.dim();
    assert!(starts.iter().all(|&(t, s)| t + s <= k_end), "forward: late start beyond k_end");
    assert!(x_hat.len() == n && y_hat.len() == n, "forward: targets x̂*, V ᵀDx*v");
    let d: Vec<f64> = spec.lambda.iter().map(|l| 1.0 - alpha * l).collect();
    let ag: Vec<f64> = spec.g_hat.iter().map(|g| alpha * g).collect();
    let agd: Vec<f64> = spec.gdot_hat.iter().map(|g| alpha * g).collect();
    let mut ckpt = Checkpoints { n, k_end, alpha, d, ag, z: vec![0.0; n * (k_end / CHUNK + 1)] };
    let mut z = vec![0.0; n];
    let mut zbuf = vec![0.0; n * CHUNK];
    let mut cbuf = vec![0.0; n * CHUNK];
    let mut y = vec![0.0; n * starts.len()];
    let y0_err = dist_sq(&y[..n.min(y.len())], y_hat).sqrt();
    for (i, yi) in y.chunks_exact(n.max(1)).enumerate().take(starts.len()) {
        observe(i, 0, y0_err, yi);
    }
    let hdot = Strided::col_major(spec.hdot_hat.as_slice(), n, n);
    for k0 in (0..k_end).step_by(CHUNK) {
        let len = CHUNK.min(k_end - k0);
        for (l, col) in zbuf.chunks_exact_mut(n).take(len).enumerate() {
            iterate(k0 + l, ckpt.step_dist(&mut z, col, x_hat).sqrt());
        }
        if (k0 + len).is_multiple_of(CHUNK) {
            ckpt.z[(k0 + len) / CHUNK * n..][..n].copy_from_slice(&z);
        }
        // ĉ_k = αĝ̇ − αĤ̇z_k for k = k0, …, k0 + len − 1.
        for col in cbuf.chunks_exact_mut(n).take(len) {
            col.copy_from_slice(&agd);
        }
        gemm_acc(&mut cbuf[..n * len], -alpha, hdot, Strided::col_major(&zbuf[..n * len], n, len));
        for (i, &(tp, s)) in starts.iter().enumerate() {
            let (lo, hi) = (tp.max(k0), (tp + s).min(k0 + len));
            let yi = &mut y[i * n..(i + 1) * n];
            for k in lo..hi {
                let err = affine_step_dist(yi, &ckpt.d, &cbuf[(k - k0) * n..(k - k0 + 1) * n], y_hat).sqrt();
                observe(i, k - tp + 1, err, yi);
            }
        }
    }
    iterate(k_end, dist_sq(&z, x_hat).sqrt());
    ckpt
}

/// `y ← d ∘ y + c`, returning `‖y − t‖²` of the new `y` (one pass, four partial sums).
fn affine_step_dist(y: &mut [f64], d: &[f64], c: &[f64], t: &[f64]) -> f64 {
    const L: usize = 4;
    let mut acc = [0.0; L];
    let n = y.len();
    let split = n - n % L;
    let (yh, yt) = y.split_at_mut(split);
    for (((yc, dc), cc), tc) in
        yh.chunks_exact_mut(L).zip(d.chunks_exact(L)).zip(c.chunks_exact(L)).zip(t.chunks_exact(L))
    {
        for l in 0..L {
            yc[l] = dc[l] * yc[l] + cc[l];
            let e = yc[l] - tc[l];
            acc[l] += e * e;
        }
    }
    for (((ya, &da), &ca), &ta) in yt.iter_mut().zip(&d[split..]).zip(&c[split..]).zip(&t[split..]) {
        *ya = da * *ya + ca;
        let e = *ya - ta;
        acc[0] += e * e;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// `‖x − t‖²` (four partial sums).
fn dist_sq(x: &[f64], t: &[f64]) -> f64 {
    crate::linalg::kernels::sum_sq_diff(x, t)
}

/// One entry of one step of the iterates, `d_a z_a + αĝ_a`: the only place it is written,
/// so the iterates a window regenerates are bitwise the forward pass's.
#[inline(always)]
fn next(z: f64, d: f64, ag: f64) -> f64 {
    d * z + ag
}

/// The iterates of one step size at every `CHUNK`-th step, and what regenerates the others.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    n: usize,
    k_end: usize,
    alpha: f64,
    d: Vec<f64>,
    ag: Vec<f64>,
    /// `z_{q·CHUNK}`, `q = 0, 1, …`, column by column.
    z: Vec<f64>,
}

impl Checkpoints {
    /// Copies `z` into `keep`, returns `‖z − t‖²` (four partial sums) and steps `z` as
    /// [`Checkpoints::step`] does (the same operation per entry), in one pass.
    fn step_dist(&self, z: &mut [f64], keep: &mut [f64], t: &[f64]) -> f64 {
        const L: usize = 4;
        let mut acc = [0.0; L];
        let split = z.len() - z.len() % L;
        let lanes = z[..split]
            .chunks_exact_mut(L)
            .zip(keep[..split].chunks_exact_mut(L))
            .zip(t[..split].chunks_exact(L))
            .zip(self.d[..split].chunks_exact(L))
            .zip(self.ag[..split].chunks_exact(L));
        for ((((zc, kc), tc), dc), gc) in lanes {
            for l in 0..L {
                kc[l] = zc[l];
                let e = zc[l] - tc[l];
                acc[l] += e * e;
                zc[l] = next(zc[l], dc[l], gc[l]);
            }
        }
        for i in split..z.len() {
            keep[i] = z[i];
            let e = z[i] - t[i];
            acc[0] += e * e;
            z[i] = next(z[i], self.d[i], self.ag[i]);
        }
        (acc[0] + acc[1]) + (acc[2] + acc[3])
    }

    /// Fills `win` with `z_{q·CHUNK + l}`, `l = 0, …, win.len()/N − 1`.
    fn window(&self, q: usize, win: &mut [f64]) {
        let n = self.n;
        win[..n].copy_from_slice(&self.z[q * n..(q + 1) * n]);
        for l in 1..win.len() / n.max(1) {
            let (head, tail) = win.split_at_mut(l * n);
            for (((za, &zp), &da), &ga) in tail[..n].iter_mut().zip(&head[(l - 1) * n..]).zip(&self.d).zip(&self.ag) {
                *za = next(zp, da, ga);
            }
        }
    }
}

/// The truncated reverse sweeps `sweeps[i] = (K'_i, T'_i)` along the cotangent `ŵ = Vᵀw`
/// (`w_hat`) from the checkpoints of [`forward`] (`K'_i ≤ k_end`): for each `i` calls
/// `observe(i, o, Ĥ̄, ĝ̄)` with `(Ĥ̄, ĝ̄) = Vᵀ(wᵀŪ_{K'_i}^{(K'_i − o)})V` (in the eigenbasis;
/// `Ĥ̄` column-major `N × N`) at the offsets `o` of `offsets(i)` (increasing, each at most
/// `K'_i − T'_i`) and at the final offset `o = K'_i − T'_i` (once, even when listed).
pub fn truncated_sweeps<'o>(
    ckpt: &Checkpoints,
    w_hat: &[f64],
    sweeps: &[(usize, usize)],
    mut offsets: impl FnMut(usize) -> &'o [usize],
    mut observe: impl FnMut(usize, usize, &[f64], &[f64]),
) {
    let n = ckpt.n;
    assert_eq!(w_hat.len(), n, "truncated_sweeps: cotangent ŵ");
    assert!(sweeps.iter().all(|&(k, t)| t <= k && k <= ckpt.k_end), "truncated sweep needs T' <= K' <= k_end");
    let alpha = ckpt.alpha;
    let mut hbar = vec![0.0; n * n];
    let (mut gsum, mut gbar) = (vec![0.0; n], vec![0.0; n]);
    let mut pw = vec![0.0; n];
    let mut pbuf = vec![0.0; n * CHUNK];
    let mut win = vec![0.0; n * CHUNK];
    for (i, &(k_prime, t_prime)) in sweeps.iter().enumerate() {
        hbar.fill(0.0);
        gsum.fill(0.0);
        pw.copy_from_slice(w_hat);
        let s = k_prime - t_prime;
        let list = offsets(i);
        assert!(list.windows(2).all(|p| p[0] < p[1]) && list.last().is_none_or(|&o| o <= s), "offsets");
        let mut done = 0; // offsets accumulated: k = K' − done, …, K' − 1
        let mut loaded = usize::MAX; // the window in `win`
        for o in list.iter().copied().chain((list.last() != Some(&s)).then_some(s)) {
            while done < o {
                let k_b = k_prime - done;
                let q = (k_b - 1) / CHUNK;
                if q != loaded {
                    ckpt.window(q, &mut win);
                    loaded = q;
                }
                let k_a = (q * CHUNK).max(k_prime - o);
                let len = k_b - k_a;
                // Column l of P is d^j ∘ ŵ with j = K' − 1 − (k_a + l), i.e. j = done + len − 1 − l.
                for col in pbuf[..n * len].chunks_exact_mut(n).rev() {
                    for (((c, g), p), &da) in col.iter_mut().zip(gsum.iter_mut()).zip(pw.iter_mut()).zip(&ckpt.d) {
                        *c = *p;
                        *g += *p;
                        *p *= da;
                    }
                }
                let zs = &win[(k_a - q * CHUNK) * n..(k_b - q * CHUNK) * n];
                gemm_acc(
                    &mut hbar,
                    -alpha,
                    Strided::col_major(&pbuf[..n * len], n, len),
                    Strided::col_major(zs, n, len).transposed(),
                );
                done += len;
            }
            for (g, &s) in gbar.iter_mut().zip(&gsum) {
                *g = alpha * s;
            }
            observe(i, o, &hbar, &gbar);
        }
    }
}

/// `Σ_{a,b} (√λ_a(H_ab + H_ba) + T_ab + β_a e_b)²` for column-major `n × n` `H` and `T`:
/// the body of [`PullBack::error`]. The rows and columns below `n − n mod 4` go in `4 × 4`
/// blocks (columns of blocks outer, then rows of blocks, then the block's four columns),
/// four partial sums, one per row in the block; the rest one entry at a time, column by
/// column, in a fifth sum. The AVX2 version (the `4 × 4` block of `Hᵀ` transposed in
/// registers) and the portable one do the same operations in the same order, without fused
/// multiply–adds, so the result does not depend on the CPU (`tests` below).
fn pull_back_sum(h: &[f64], t: &[f64], sl: &[f64], beta: &[f64], e: &[f64]) -> f64 {
    let n = e.len();
    assert!(h.len() == n * n && t.len() == n * n && sl.len() == n && beta.len() == n, "pull_back_sum: shapes");
    let split = n - n % 4;
    #[cfg(target_arch = "x86_64")]
    let blocks = if crate::linalg::kernels::avx2_fma() {
        // SAFETY: the CPU supports AVX2 (checked just above); the shapes were checked.
        unsafe { blocks_avx2(h, t, sl, beta, e, split) }
    } else {
        blocks_portable(h, t, sl, beta, e, split)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let blocks = blocks_portable(h, t, sl, beta, e, split);
    let mut rest = 0.0;
    for b in 0..n {
        let rows = if b < split { split..n } else { 0..n };
        for a in rows {
            let v = sl[a] * (h[a + b * n] + h[b + a * n]) + t[a + b * n] + beta[a] * e[b];
            rest += v * v;
        }
    }
    blocks + rest
}

fn blocks_portable(h: &[f64], t: &[f64], sl: &[f64], beta: &[f64], e: &[f64], split: usize) -> f64 {
    let n = e.len();
    let mut acc = [0.0; 4];
    for b0 in (0..split).step_by(4) {
        for a0 in (0..split).step_by(4) {
            for j in 0..4 {
                let b = b0 + j;
                for (l, acc_l) in acc.iter_mut().enumerate() {
                    let a = a0 + l;
                    let v = sl[a] * (h[a + b * n] + h[b + a * n]) + t[a + b * n] + beta[a] * e[b];
                    *acc_l += v * v;
                }
            }
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// # Safety
/// AVX2; `h`, `t` of `n² ` entries, `sl`, `beta`, `e` of `n`, `split ≤ n` a multiple of 4.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn blocks_avx2(h: &[f64], t: &[f64], sl: &[f64], beta: &[f64], e: &[f64], split: usize) -> f64 {
    use std::arch::x86_64::*;
    let n = e.len();
    let (hp, tp) = (h.as_ptr(), t.as_ptr());
    let mut acc = _mm256_setzero_pd();
    for b0 in (0..split).step_by(4) {
        for a0 in (0..split).step_by(4) {
            // SAFETY (all loads): rows a0..a0+4 and b0..b0+4 are below split ≤ n, columns too.
            unsafe {
                let slv = _mm256_loadu_pd(sl.as_ptr().add(a0));
                let bev = _mm256_loadu_pd(beta.as_ptr().add(a0));
                // r_i = H[b0..b0+4, a0+i]; transposed: q_j = H[b0+j, a0..a0+4].
                let r0 = _mm256_loadu_pd(hp.add(b0 + a0 * n));
                let r1 = _mm256_loadu_pd(hp.add(b0 + (a0 + 1) * n));
                let r2 = _mm256_loadu_pd(hp.add(b0 + (a0 + 2) * n));
                let r3 = _mm256_loadu_pd(hp.add(b0 + (a0 + 3) * n));
                let (u0, u1) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
                let (u2, u3) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
                let q = [
                    _mm256_permute2f128_pd::<0x20>(u0, u2),
                    _mm256_permute2f128_pd::<0x20>(u1, u3),
                    _mm256_permute2f128_pd::<0x31>(u0, u2),
                    _mm256_permute2f128_pd::<0x31>(u1, u3),
                ];
                for (j, qj) in q.into_iter().enumerate() {
                    let b = b0 + j;
                    let col = _mm256_loadu_pd(hp.add(a0 + b * n));
                    let tv = _mm256_loadu_pd(tp.add(a0 + b * n));
                    let eb = _mm256_set1_pd(*e.get_unchecked(b));
                    let v = _mm256_add_pd(
                        _mm256_add_pd(_mm256_mul_pd(slv, _mm256_add_pd(col, qj)), tv),
                        _mm256_mul_pd(bev, eb),
                    );
                    acc = _mm256_add_pd(acc, _mm256_mul_pd(v, v));
                }
            }
        }
    }
    let mut out = [0.0; 4];
    // SAFETY: four f64 into a four-entry array.
    unsafe { _mm256_storeu_pd(out.as_mut_ptr(), acc) };
    (out[0] + out[1]) + (out[2] + out[3])
}

/// The norms of cotangents pulled back to `u = (A, b)`, in the eigenbasis (see the module
/// docs), measured from a target `θ̄* = (H̄*, ḡ*) = (−z x*ᵀ, z)` (`Hz = w`), and the
/// pairing with the tangent: `O(N²)` each, no allocation.
#[derive(Debug, Clone)]
pub struct PullBack {
    sqrt_lambda: Vec<f64>,
    lambda: Vec<f64>,
    beta: Vec<f64>,
    b_perp_sq: f64,
    /// `ẑ = Vᵀz`: the target is `Ĥ̄* = −ẑ x̂*ᵀ` (`x̂* = Vᵀx*`, in `target`), `ĝ̄* = ẑ`.
    z_hat: Vec<f64>,
    hdot_hat: Vec<f64>,
    gdot_hat: Vec<f64>,
    /// `√λ_a(ẑ_a x̂*_b + ẑ_b x̂*_a)`, column-major: the target's part of each term.
    target: Vec<f64>,
    e: Vec<f64>,
}

impl PullBack {
    /// From the spectrum, `‖b⊥‖²` (the squared residual of `b` off the range of `A`), `z`
    /// with `Hz = w` and `x*`.
    pub fn new(spec: &Spectrum, b_perp_sq: f64, z: &[f64], x_star: &[f64]) -> Self {
        let n = spec.dim();
        let sqrt_lambda: Vec<f64> = spec.lambda.iter().map(|l| l.sqrt()).collect();
        let beta = spec.g_hat.iter().zip(&sqrt_lambda).map(|(g, s)| g / s).collect();
        let (z_hat, x_hat) = (spec.rotate(z), spec.rotate(x_star));
        let target = (0..n * n)
            .map(|i| {
                let (a, b) = (i % n, i / n);
                sqrt_lambda[a] * (z_hat[a] * x_hat[b] + z_hat[b] * x_hat[a])
            })
            .collect();
        PullBack {
            sqrt_lambda,
            lambda: spec.lambda.clone(),
            beta,
            b_perp_sq,
            z_hat,
            hdot_hat: spec.hdot_hat.as_slice().to_vec(),
            gdot_hat: spec.gdot_hat.clone(),
            target,
            e: vec![0.0; n],
        }
    }

    /// `‖Φᵀ(θ̄ − θ̄*)‖` for `θ̄` given in the eigenbasis (`Ĥ̄` column-major): with
    /// `Ŝ − Ŝ* = Ĥ̄ + Ĥ̄ᵀ + ẑx̂*ᵀ + x̂*ẑᵀ` and `e = ĝ̄ − ẑ`, the sum of squares of
    /// `√λ_a(Ŝ − Ŝ*)_ab + β_a e_b` (in `4 × 4` blocks, AVX2 when available), plus `‖b⊥‖²‖e‖² + Σ_a λ_a e_a²`.
    pub fn error(&mut self, hbar: &[f64], gbar: &[f64]) -> f64 {
        let n = self.lambda.len();
        assert!(hbar.len() == n * n && gbar.len() == n, "PullBack::error: cotangent (Ĥ̄, ĝ̄)");
        for ((e, g), z) in self.e.iter_mut().zip(gbar).zip(&self.z_hat) {
            *e = g - z;
        }
        let total = pull_back_sum(hbar, &self.target, &self.sqrt_lambda, &self.beta, &self.e);
        let (mut e_sq, mut he) = (0.0, 0.0);
        for (&ea, &la) in self.e.iter().zip(&self.lambda) {
            e_sq += ea * ea;
            he += la * ea * ea;
        }
        (total + self.b_perp_sq * e_sq + he).sqrt()
    }

    /// `⟨θ̄, Φv⟩ = ⟨Ĥ̄, Ĥ̇⟩ + ⟨ĝ̄, ĝ̇⟩` (`wᵀŪv`, Section 4.1).
    pub fn pairing(&self, hbar: &[f64], gbar: &[f64]) -> f64 {
        let h: f64 = hbar.iter().zip(&self.hdot_hat).map(|(a, b)| a * b).sum();
        h + gbar.iter().zip(&self.gdot_hat).map(|(a, b)| a * b).sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::draw;
    use crate::problem::normal::{pull_cotangent, push_tangent, thin_qr};

    /// `PullBack::error` is `‖Φᵀ(θ̄ − θ̄*)‖` formed in `u = (A, b)` coordinates, and
    /// `PullBack::pairing` is `⟨θ̄, Φv⟩`, for random (non-symmetric) `θ̄` and dimensions
    /// with and without a `4 × 4` block tail; a target of the wrong sign is told apart.
    #[test]
    fn pull_back_error_is_the_norm_of_the_pull_back() {
        for (n, seed) in [(1, 1), (3, 2), (4, 3), (9, 4), (12, 5)] {
            let m = n + 3;
            let mut rng = draw::rng(seed);
            let a = draw::uniform_matrix(m, n, &mut rng);
            let b = draw::normal_vector(m, 1.0, &mut rng);
            let v = draw::unit_vector(m * n + m, &mut rng);
            let theta = draw::normal_vector(n * n + n, 1.0, &mut rng);
            let (z, x) = (draw::normal_vector(n, 1.0, &mut rng), draw::normal_vector(n, 1.0, &mut rng));
            let normal = NormalEquations::from_data(&a, &b).unwrap();
            let phi_v = push_tangent(&a, &b, &v).unwrap();
            let spec = Spectrum::new(&normal, phi_v.as_slice()).unwrap();
            let mut pull = PullBack::new(&spec, thin_qr(&a, &b).2, z.as_slice(), x.as_slice());
            let mut diff = theta.clone();
            for j in 0..n {
                for i in 0..n {
                    diff[i + j * n] += z[i] * x[j];
                }
                diff[n * n + j] -= z[j];
            }
            let want = pull_cotangent(&a, &b, diff.as_slice()).norm();
            let hbar = spec.rotate_matrix(&DMatrix::from_column_slice(n, n, &theta.as_slice()[..n * n]));
            let gbar = spec.rotate(&theta.as_slice()[n * n..]);
            let got = pull.error(hbar.as_slice(), &gbar);
            assert!((got - want).abs() <= 1e-12 * want, "N = {n}: {got} vs {want}");
            let pair = pull.pairing(hbar.as_slice(), &gbar);
            let want_pair = theta.dot(&phi_v);
            assert!((pair - want_pair).abs() <= 1e-12 * want_pair.abs().max(1.0), "N = {n}: {pair} vs {want_pair}");
            // Negative control: the target of the opposite sign.
            let neg: Vec<f64> = z.iter().map(|v| -v).collect();
            let other = PullBack::new(&spec, thin_qr(&a, &b).2, &neg, x.as_slice()).error(hbar.as_slice(), &gbar);
            assert!((other - want).abs() > 1e-6 * want, "N = {n}: the sign of the target must matter");
        }
    }

    /// The `4 × 4` blocks of `pull_back_sum` give bitwise the same sum with AVX2 as without,
    /// and the sum is the naive one to rounding.
    #[test]
    fn pull_back_sum_does_not_depend_on_the_cpu() {
        for n in [4, 8, 13, 40] {
            let mut rng = draw::rng(n as u64);
            let h = draw::normal_vector(n * n, 1.0, &mut rng);
            let t = draw::normal_vector(n * n, 1.0, &mut rng);
            let (sl, beta, e) = (
                draw::normal_vector(n, 1.0, &mut rng),
                draw::normal_vector(n, 1.0, &mut rng),
                draw::normal_vector(n, 1.0, &mut rng),
            );
            let (h, t, sl, beta, e) = (h.as_slice(), t.as_slice(), sl.as_slice(), beta.as_slice(), e.as_slice());
            let split = n - n % 4;
            let portable = blocks_portable(h, t, sl, beta, e, split);
            #[cfg(target_arch = "x86_64")]
            if crate::linalg::kernels::avx2_fma() {
                // SAFETY: AVX2 checked; shapes as pull_back_sum's.
                let simd = unsafe { blocks_avx2(h, t, sl, beta, e, split) };
                assert_eq!(simd.to_bits(), portable.to_bits(), "N = {n}: AVX2 and portable blocks");
            }
            let mut naive = 0.0;
            for b in 0..n {
                for a in 0..n {
                    let v = sl[a] * (h[a + b * n] + h[b + a * n]) + t[a + b * n] + beta[a] * e[b];
                    naive += v * v;
                }
            }
            let got = pull_back_sum(h, t, sl, beta, e);
            assert!((got - naive).abs() <= 1e-13 * naive, "N = {n}: {got} vs {naive}");
        }
    }
}
