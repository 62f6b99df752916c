//! The dense kernels of the factorised appendix-C map (the normal equations of
//! `problem/normal.rs`): `y += a·M x` (column-major `M`), `M += a·u vᵀ` and `y += a·x`,
//! and the blocked product `C += a·P Q` of the blocked sweep
//! (`crate::reproduce::blocked`), [`gemm_acc`].
//!
//! Each kernel is compiled twice from one generic body: with AVX2 and FMA enabled
//! (selected at run time when the CPU reports both; the release build otherwise targets
//! baseline x86-64, i.e. SSE2 without FMA) and portably. The two builds round differently
//! (a fused multiply-add rounds once), by at most a few units in the last place per entry.
//!
//! The matrix–vector product walks four columns at a time, so that `y` is loaded and
//! stored once per four columns: for `N ≤ 40` the matrix (`≤ 12.8 kB`) and the vectors stay
//! in the L1 cache, and the kernel is limited by loads, not by memory bandwidth.

/// `y += a · M x` for a column-major `M` with `y.len()` rows and `x.len()` columns.
pub fn gemv_acc(y: &mut [f64], a: f64, m: &[f64], x: &[f64]) {
    assert_eq!(m.len(), y.len() * x.len(), "gemv_acc: matrix size");
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        unsafe { gemv_acc_avx2(y, a, m, x) };
        return;
    }
    gemv_body::<false>(y, a, m, x);
}

/// `y_v += a_v · M x_v` for `V` vectors at once (one shared column-major `M`): each `y_v`
/// is **bitwise** what [`gemv_acc`]`(y_v, a_v, M, x_v)` gives (the same operations in the
/// same order per entry), but every entry of `M` is loaded once for the `V` products.
pub fn gemv_acc_multi<const V: usize>(ys: [&mut [f64]; V], a: [f64; V], m: &[f64], xs: [&[f64]; V]) {
    let rows = ys.first().map_or(0, |y| y.len());
    let cols = xs.first().map_or(0, |x| x.len());
    assert!(ys.iter().all(|y| y.len() == rows) && xs.iter().all(|x| x.len() == cols), "gemv_acc_multi: lengths");
    assert_eq!(m.len(), rows * cols, "gemv_acc_multi: matrix size");
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        unsafe { gemv_multi_avx2(ys, a, m, xs) };
        return;
    }
    gemv_multi_body::<false, V>(ys, a, m, xs);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gemv_multi_avx2<const V: usize>(ys: [&mut [f64]; V], a: [f64; V], m: &[f64], xs: [&[f64]; V]) {
    gemv_multi_body::<true, V>(ys, a, m, xs);
}

/// [`gemv_body`] for `V` vectors sharing `M` (same per-entry operations).
#[inline(always)]
fn gemv_multi_body<const FMA: bool, const V: usize>(ys: [&mut [f64]; V], a: [f64; V], m: &[f64], xs: [&[f64]; V]) {
    let rows = ys.first().map_or(0, |y| y.len());
    let cols = xs.first().map_or(0, |x| x.len());
    if rows == 0 {
        return;
    }
    let blocks = cols / 4;
    for b in 0..blocks {
        let c = &m[4 * b * rows..4 * (b + 1) * rows];
        let (c0, rest) = c.split_at(rows);
        let (c1, rest) = rest.split_at(rows);
        let (c2, c3) = rest.split_at(rows);
        let s: [[f64; 4]; V] = std::array::from_fn(|v| std::array::from_fn(|q| a[v] * xs[v][4 * b + q]));
        for i in 0..rows {
            let (p0, p1, p2, p3) = (c0[i], c1[i], c2[i], c3[i]);
            for v in 0..V {
                let t = madd::<FMA>(p3, s[v][3], madd::<FMA>(p2, s[v][2], madd::<FMA>(p1, s[v][1], p0 * s[v][0])));
                ys[v][i] += t;
            }
        }
    }
    for j in 4 * blocks..cols {
        let col = &m[j * rows..(j + 1) * rows];
        for v in 0..V {
            let sv = a[v] * xs[v][j];
            for (yi, &p) in ys[v].iter_mut().zip(col) {
                *yi = madd::<FMA>(p, sv, *yi);
            }
        }
    }
}

/// `M += a · u vᵀ` for a column-major `M` with `u.len()` rows and `v.len()` columns.
pub fn ger_acc(m: &mut [f64], a: f64, u: &[f64], v: &[f64]) {
    assert_eq!(m.len(), u.len() * v.len(), "ger_acc: matrix size");
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        unsafe { ger_acc_avx2(m, a, u, v) };
        return;
    }
    ger_body::<false>(m, a, u, v);
}

/// `y += a · x`.
pub fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    assert_eq!(y.len(), x.len(), "axpy: lengths");
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        unsafe { axpy_avx2(y, a, x) };
        return;
    }
    axpy_body::<false>(y, a, x);
}

/// A read-only strided matrix: entry `(i, j)` is `data[i·rs + j·cs]` (`rows × cols`).
/// Column-major storage is `rs = 1, cs = rows`; its transpose is `rs = rows_of_original,
/// cs = 1` ([`Strided::transposed`]).
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a> {
    /// The entries.
    pub data: &'a [f64],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<'a> Strided<'a> {
    /// A column-major `rows × cols` matrix stored in `data` (leading dimension `rows`).
    pub fn col_major(data: &'a [f64], rows: usize, cols: usize) -> Self {
        Strided { data, rows, cols, rs: 1, cs: rows }
    }

    /// The transpose (no copy).
    pub fn transposed(self) -> Self {
        Strided { data: self.data, rows: self.cols, cols: self.rows, rs: self.cs, cs: self.rs }
    }

    /// Panics unless every entry lies inside `data`.
    fn check(&self, what: &str) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(last < self.data.len(), "{what}: strided matrix out of bounds");
        }
    }
}

/// `C += a · P Q` for a column-major `C` with `P.rows` rows and `Q.cols` columns (leading
/// dimension `P.rows`), `P` column-major (`rs = 1`), `Q` with any strides.
///
/// Register-tiled: an `8 × 4` block of `C` is accumulated over the whole inner dimension
/// in eight AVX2 registers (`Σ_l P_il Q_lj` by fused multiply–adds in the order
/// `l = 0, 1, …`), then scaled by `a` and added to `C` (one more fused multiply–add per
/// entry); leftover rows and columns use narrower tiles. Each entry of `C` is thus
/// `c + a·s` with `s` the sequential sum of its `k` products, so its rounding error is at
/// most `γ_{k+1}(|c| + |a| Σ_l |P_il||Q_lj|)`, `γ_n = nu/(1 − nu)`. Nothing is allocated.
pub fn gemm_acc(c: &mut [f64], a: f64, p: Strided, q: Strided) {
    assert_eq!(p.rs, 1, "gemm_acc: P must be column-major");
    assert_eq!(p.cols, q.rows, "gemm_acc: inner dimensions");
    assert_eq!(c.len(), p.rows * q.cols, "gemm_acc: C size");
    p.check("gemm_acc: P");
    q.check("gemm_acc: Q");
    #[cfg(target_arch = "x86_64")]
    if avx512() {
        // SAFETY: the CPU supports AVX-512F, AVX2 and FMA (checked just above); the shapes
        // and bounds of `c`, `p`, `q` were checked above.
        unsafe { gemm_acc_avx512(c, a, p, q) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above); the shapes and
        // bounds of `c`, `p`, `q` were checked above.
        unsafe { gemm_acc_avx2(c, a, p, q) };
        return;
    }
    gemm_portable(c, a, p, q);
}

/// The AVX-512 [`gemm_acc`]: `16 × 8` tiles of `C` (sixteen 8-wide registers), the last
/// rows of a column of tiles in a masked tile (no scalar rows), leftover columns in
/// `× 4` and `× 1` tiles. Each entry is the same chain of fused multiply–adds as in the
/// AVX2 version, so the two are bitwise equal (`tests` below); only the vector width
/// differs.
///
/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA; `c`, `p`, `q` must have passed the checks
/// of [`gemm_acc`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn gemm_acc_avx512(c: &mut [f64], a: f64, p: Strided, q: Strided) {
    let (m, n) = (p.rows, q.cols);
    let mut j = 0;
    while j < n {
        let nr = if j + 8 <= n {
            8
        } else if j + 4 <= n {
            4
        } else {
            1
        };
        let mut i = 0;
        while i < m {
            let rows = (m - i).min(16);
            let mask = |r: usize| -> u8 { if r >= 8 { 0xff } else { (1u8 << r) - 1 } };
            // SAFETY: rows i..i + rows <= m (the lanes beyond are masked off) and columns
            // j..j + nr <= n are in bounds.
            unsafe {
                match (rows > 8, nr) {
                    (true, 8) => tile_avx512::<2, 8>(c, a, p, q, i, j, [0xff, mask(rows - 8)]),
                    (true, 4) => tile_avx512::<2, 4>(c, a, p, q, i, j, [0xff, mask(rows - 8)]),
                    (true, _) => tile_avx512::<2, 1>(c, a, p, q, i, j, [0xff, mask(rows - 8)]),
                    (false, 8) => tile_avx512::<1, 8>(c, a, p, q, i, j, [mask(rows)]),
                    (false, 4) => tile_avx512::<1, 4>(c, a, p, q, i, j, [mask(rows)]),
                    (false, _) => tile_avx512::<1, 1>(c, a, p, q, i, j, [mask(rows)]),
                }
            }
            i += rows;
        }
        j += nr;
    }
}

/// One `8·MR × NR` tile of [`gemm_acc`] at rows `i..`, columns `j..`; lane `l` of register
/// `r` (row `i + 8r + l`) is computed and stored only when bit `l` of `masks[r]` is set.
///
/// # Safety
/// AVX-512F and FMA; the rows of the set mask bits and columns `j..j + NR` inside `C`
/// (checked shapes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn tile_avx512<const MR: usize, const NR: usize>(
    c: &mut [f64],
    a: f64,
    p: Strided,
    q: Strided,
    i: usize,
    j: usize,
    masks: [u8; MR],
) {
    use std::arch::x86_64::*;
    let m = p.rows;
    let mut acc = [[_mm512_setzero_pd(); MR]; NR];
    let (pp, qp) = (p.data.as_ptr(), q.data.as_ptr());
    for l in 0..p.cols {
        // SAFETY: the masked rows of column l of P; entries (l, j..j+NR) of Q.
        unsafe {
            let col = pp.add(l * p.cs + i);
            let mut pv = [_mm512_setzero_pd(); MR];
            for (r, v) in pv.iter_mut().enumerate() {
                *v = _mm512_maskz_loadu_pd(masks[r], col.add(8 * r));
            }
            let qrow = qp.add(l * q.rs + j * q.cs);
            for (jj, accj) in acc.iter_mut().enumerate() {
                let b = _mm512_set1_pd(*qrow.add(jj * q.cs));
                for (r, v) in accj.iter_mut().enumerate() {
                    *v = _mm512_fmadd_pd(pv[r], b, *v);
                }
            }
        }
    }
    let av = _mm512_set1_pd(a);
    for (jj, accj) in acc.iter().enumerate() {
        for (r, v) in accj.iter().enumerate() {
            // SAFETY: the masked rows i + 8r + l < m of column j + jj < n of C.
            unsafe {
                let dst = c.as_mut_ptr().add((j + jj) * m + i + 8 * r);
                let old = _mm512_maskz_loadu_pd(masks[r], dst);
                _mm512_mask_storeu_pd(dst, masks[r], _mm512_fmadd_pd(av, *v, old));
            }
        }
    }
}

/// The portable [`gemm_acc`]: per entry, the same sequential sum (without fused
/// multiply–adds).
fn gemm_portable(c: &mut [f64], a: f64, p: Strided, q: Strided) {
    let m = p.rows;
    for j in 0..q.cols {
        for i in 0..m {
            let mut s = 0.0;
            for l in 0..p.cols {
                s += p.data[i + l * p.cs] * q.data[l * q.rs + j * q.cs];
            }
            c[i + j * m] += a * s;
        }
    }
}

/// The AVX2 + FMA [`gemm_acc`].
///
/// # Safety
/// The CPU must support AVX2 and FMA; `c`, `p`, `q` must have passed the checks of
/// [`gemm_acc`] (every index formed below is then in bounds).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_acc_avx2(c: &mut [f64], a: f64, p: Strided, q: Strided) {
    let (m, n) = (p.rows, q.cols);
    let mut j = 0;
    while j + 4 <= n {
        let mut i = 0;
        while i + 8 <= m {
            // SAFETY: rows i..i+8 < m and columns j..j+4 <= n are in bounds.
            unsafe { tile_avx2::<2, 4>(c, a, p, q, i, j) };
            i += 8;
        }
        if i + 4 <= m {
            // SAFETY: as above, rows i..i+4.
            unsafe { tile_avx2::<1, 4>(c, a, p, q, i, j) };
            i += 4;
        }
        tail_rows(c, a, p, q, i, j, 4);
        j += 4;
    }
    while j < n {
        let mut i = 0;
        while i + 8 <= m {
            // SAFETY: rows i..i+8 < m and column j < n are in bounds.
            unsafe { tile_avx2::<2, 1>(c, a, p, q, i, j) };
            i += 8;
        }
        if i + 4 <= m {
            // SAFETY: as above, rows i..i+4.
            unsafe { tile_avx2::<1, 1>(c, a, p, q, i, j) };
            i += 4;
        }
        tail_rows(c, a, p, q, i, j, 1);
        j += 1;
    }
}

/// Rows `i0..m` of columns `j0..j0 + cols` of [`gemm_acc`], one entry at a time (fused
/// multiply–adds, the same order as the tiles).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn tail_rows(c: &mut [f64], a: f64, p: Strided, q: Strided, i0: usize, j0: usize, cols: usize) {
    let m = p.rows;
    for j in j0..j0 + cols {
        for i in i0..m {
            let mut s = 0.0;
            for l in 0..p.cols {
                s = p.data[i + l * p.cs].mul_add(q.data[l * q.rs + j * q.cs], s);
            }
            c[i + j * m] = a.mul_add(s, c[i + j * m]);
        }
    }
}

/// One `4·MR × NR` tile of [`gemm_acc`] at rows `i..`, columns `j..`.
///
/// # Safety
/// AVX2 and FMA; rows `i..i + 4·MR` and columns `j..j + NR` inside `C` (checked shapes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_avx2<const MR: usize, const NR: usize>(
    c: &mut [f64],
    a: f64,
    p: Strided,
    q: Strided,
    i: usize,
    j: usize,
) {
    use std::arch::x86_64::*;
    let m = p.rows;
    let mut acc = [[_mm256_setzero_pd(); MR]; NR];
    let (pp, qp) = (p.data.as_ptr(), q.data.as_ptr());
    for l in 0..p.cols {
        // SAFETY: i + 4·MR <= m rows of column l of P; entries (l, j..j+NR) of Q.
        unsafe {
            let col = pp.add(l * p.cs + i);
            let mut pv = [_mm256_setzero_pd(); MR];
            for (r, v) in pv.iter_mut().enumerate() {
                *v = _mm256_loadu_pd(col.add(4 * r));
            }
            let qrow = qp.add(l * q.rs + j * q.cs);
            for (jj, accj) in acc.iter_mut().enumerate() {
                let b = _mm256_broadcast_sd(&*qrow.add(jj * q.cs));
                for (r, v) in accj.iter_mut().enumerate() {
                    *v = _mm256_fmadd_pd(pv[r], b, *v);
                }
            }
        }
    }
    let av = _mm256_set1_pd(a);
    for (jj, accj) in acc.iter().enumerate() {
        for (r, v) in accj.iter().enumerate() {
            // SAFETY: rows i + 4r .. i + 4r + 4 <= m of column j + jj < n of C.
            unsafe {
                let dst = c.as_mut_ptr().add((j + jj) * m + i + 4 * r);
                _mm256_storeu_pd(dst, _mm256_fmadd_pd(av, *v, _mm256_loadu_pd(dst)));
            }
        }
    }
}

/// `Σ_i (x_i − y_i)²` (`y` empty: `Σ x_i²`) with eight interleaved partial sums, so that
/// the additions pipeline instead of waiting on one another (a single running sum is
/// bound by the latency of one addition per entry); rounding error at most
/// `γ_{n/8 + 4}` times the sum (a pairwise-like bound).
pub fn sum_sq_diff(x: &[f64], y: &[f64]) -> f64 {
    assert!(y.is_empty() || y.len() == x.len(), "sum_sq_diff: lengths");
    let mut acc = [0.0; 8];
    if y.is_empty() {
        let mut chunks = x.chunks_exact(8);
        for c in &mut chunks {
            for (a, v) in acc.iter_mut().zip(c) {
                *a += v * v;
            }
        }
        for (a, v) in acc.iter_mut().zip(chunks.remainder()) {
            *a += v * v;
        }
    } else {
        let (mut cx, mut cy) = (x.chunks_exact(8), y.chunks_exact(8));
        for (c, d) in (&mut cx).zip(&mut cy) {
            for ((a, u), v) in acc.iter_mut().zip(c).zip(d) {
                *a += (u - v) * (u - v);
            }
        }
        for ((a, u), v) in acc.iter_mut().zip(cx.remainder()).zip(cy.remainder()) {
            *a += (u - v) * (u - v);
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `true` when the running CPU has AVX2 and FMA (the detection is cached by `std`).
#[cfg(target_arch = "x86_64")]
pub fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// The instruction set the kernels of this module run with on this CPU: `"avx512"` (the
/// products of [`gemm_acc`]; the other kernels use AVX2), `"avx2"` (AVX2 and FMA) or
/// `"portable"`. Printed with the timings of `reproduce appendix-c`, so that a flop rate is
/// read against the right vector width.
pub fn isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if avx512() {
        return "avx512";
    }
    if avx2_fma() { "avx2" } else { "portable" }
}

/// `true` when the running CPU has AVX-512F, AVX2 and FMA (the detection is cached by `std`).
#[cfg(target_arch = "x86_64")]
pub fn avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && avx2_fma()
}

/// `true` when the running CPU has AVX2 and FMA (never, off x86-64).
#[cfg(not(target_arch = "x86_64"))]
pub fn avx2_fma() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gemv_acc_avx2(y: &mut [f64], a: f64, m: &[f64], x: &[f64]) {
    gemv_body::<true>(y, a, m, x);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn ger_acc_avx2(m: &mut [f64], a: f64, u: &[f64], v: &[f64]) {
    ger_body::<true>(m, a, u, v);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn axpy_avx2(y: &mut [f64], a: f64, x: &[f64]) {
    axpy_body::<true>(y, a, x);
}

/// `a·b + c`, fused when `FMA` (then compiled only inside an FMA-enabled function).
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

#[inline(always)]
fn gemv_body<const FMA: bool>(y: &mut [f64], a: f64, m: &[f64], x: &[f64]) {
    let rows = y.len();
    if rows == 0 {
        return;
    }
    let mut cols = m.chunks_exact(rows).zip(x);
    let blocks = x.len() / 4;
    for _ in 0..blocks {
        let (Some((c0, &x0)), Some((c1, &x1)), Some((c2, &x2)), Some((c3, &x3))) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        else {
            unreachable!("four columns per block");
        };
        let (s0, s1, s2, s3) = (a * x0, a * x1, a * x2, a * x3);
        for ((((yi, &p0), &p1), &p2), &p3) in y.iter_mut().zip(c0).zip(c1).zip(c2).zip(c3) {
            let t = madd::<FMA>(p3, s3, madd::<FMA>(p2, s2, madd::<FMA>(p1, s1, p0 * s0)));
            *yi += t;
        }
    }
    for (c, &xj) in cols {
        let s = a * xj;
        for (yi, &p) in y.iter_mut().zip(c) {
            *yi = madd::<FMA>(p, s, *yi);
        }
    }
}

#[inline(always)]
fn ger_body<const FMA: bool>(m: &mut [f64], a: f64, u: &[f64], v: &[f64]) {
    let rows = u.len();
    if rows == 0 {
        return;
    }
    for (c, &vj) in m.chunks_exact_mut(rows).zip(v) {
        let s = a * vj;
        for (ci, &ui) in c.iter_mut().zip(u) {
            *ci = madd::<FMA>(ui, s, *ci);
        }
    }
}

#[inline(always)]
fn axpy_body<const FMA: bool>(y: &mut [f64], a: f64, x: &[f64]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = madd::<FMA>(xi, a, *yi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_gemv(y: &[f64], a: f64, m: &[f64], x: &[f64]) -> Vec<f64> {
        let rows = y.len();
        (0..rows).map(|i| y[i] + a * (0..x.len()).map(|j| m[j * rows + i] * x[j]).sum::<f64>()).collect()
    }

    #[test]
    fn kernels_match_naive_loops_in_both_builds() {
        for (rows, cols) in [(1, 1), (3, 5), (7, 4), (40, 40), (13, 9)] {
            let m: Vec<f64> = (0..rows * cols).map(|k| ((k * 37 % 11) as f64 - 5.0) / 3.0).collect();
            let x: Vec<f64> = (0..cols).map(|k| (k as f64 - 2.5) / 7.0).collect();
            let y0: Vec<f64> = (0..rows).map(|k| k as f64 / 5.0).collect();
            let want = naive_gemv(&y0, -0.3, &m, &x);
            let mut y = y0.clone();
            gemv_acc(&mut y, -0.3, &m, &x);
            let mut z = y0.clone();
            gemv_body::<false>(&mut z, -0.3, &m, &x);
            for i in 0..rows {
                assert!((y[i] - want[i]).abs() <= 1e-13 * (1.0 + want[i].abs()));
                assert!((z[i] - want[i]).abs() <= 1e-13 * (1.0 + want[i].abs()));
            }
            let mut g = m.clone();
            ger_acc(&mut g, 0.7, &y0, &x);
            for j in 0..cols {
                for i in 0..rows {
                    let want = m[j * rows + i] + 0.7 * y0[i] * x[j];
                    assert!((g[j * rows + i] - want).abs() <= 1e-14 * (1.0 + want.abs()));
                }
            }
            let mut s = y0.clone();
            axpy(&mut s, 2.0, &y0);
            assert!(s.iter().zip(&y0).all(|(s, y)| (s - 3.0 * y).abs() <= 1e-15 * (1.0 + y.abs())));
        }
    }

    /// [`gemm_acc`] against the naive triple loop, for shapes with every tile and tail
    /// (rows 1..=13 cover 8-, 4-row tiles and scalar rows; columns 1..=9 the 4-column
    /// tiles and single columns), `Q` column-major and transposed, in both builds; the
    /// tolerance is the rounding bound `γ_{k+1}(|c| + |a| Σ|P||Q|)` of its documentation
    /// (times two: the naive loop rounds too).
    #[test]
    fn gemm_matches_naive_loops_in_both_builds() {
        let u = f64::EPSILON / 2.0;
        for (m, k, n) in [(1, 1, 1), (3, 5, 2), (8, 4, 4), (13, 7, 9), (40, 40, 9), (12, 3, 5), (5, 40, 1)] {
            let pm: Vec<f64> = (0..m * k).map(|x| ((x * 37 % 11) as f64 - 5.0) / 3.0).collect();
            let qm: Vec<f64> = (0..k * n).map(|x| ((x * 13 % 7) as f64 - 2.5) / 7.0).collect();
            let qt: Vec<f64> = (0..n * k).map(|x| qm[(x % n) * k + x / n]).collect(); // Qᵀ column-major
            let c0: Vec<f64> = (0..m * n).map(|x| x as f64 / 5.0).collect();
            let p = Strided::col_major(&pm, m, k);
            for q in [Strided::col_major(&qm, k, n), Strided::col_major(&qt, n, k).transposed()] {
                let mut fast = c0.clone();
                gemm_acc(&mut fast, -0.3, p, q);
                let mut slow = c0.clone();
                gemm_portable(&mut slow, -0.3, p, q);
                let gamma = (k as f64 + 1.0) * u / (1.0 - (k as f64 + 1.0) * u);
                for j in 0..n {
                    for i in 0..m {
                        let (mut exact, mut mag) = (0.0, 0.0);
                        for l in 0..k {
                            exact += pm[i + l * m] * qm[l + j * k];
                            mag += (pm[i + l * m] * qm[l + j * k]).abs();
                        }
                        let want = c0[i + j * m] - 0.3 * exact;
                        let tol = 2.0 * gamma * (c0[i + j * m].abs() + 0.3 * mag);
                        for got in [fast[i + j * m], slow[i + j * m]] {
                            assert!((got - want).abs() <= tol, "({m}, {k}, {n}) entry ({i}, {j}): {got} vs {want}");
                        }
                    }
                }
            }
        }
    }

    /// The vector kernels of [`gemm_acc`] (AVX-512 when the CPU has it, AVX2) are bitwise
    /// the scalar chain of fused multiply–adds they document (`tail_rows` over the whole
    /// matrix), for every row count 1..=41 (full and masked 16-, 8-row tiles, 4-row tiles,
    /// scalar rows), inner dimensions 0..=70 and column counts 1..=19 (8-, 4-, 1-column
    /// tiles), `Q` column-major and transposed. A negative control: the same product in
    /// another order of the inner sum is not bitwise equal.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn gemm_vector_kernels_are_bitwise_the_scalar_fma_chain() {
        let mut shapes = 0;
        let mut reordered_differs = false;
        for m in (1..=41).step_by(1) {
            for (k, n) in [(0, 3), (1, 1), (7, 19), (40, 9), (64, 12), (70, 5), (33, 8)] {
                let pm: Vec<f64> = (0..m * k).map(|x| ((x * 37 % 101) as f64 - 50.0) / 7.0).collect();
                let qm: Vec<f64> = (0..k * n).map(|x| ((x * 13 % 97) as f64 - 48.5) / 11.0).collect();
                let qt: Vec<f64> = (0..n * k).map(|x| qm[(x % n) * k + x / n]).collect();
                let c0: Vec<f64> = (0..m * n).map(|x| (x as f64).sin()).collect();
                let p = Strided::col_major(&pm, m, k);
                for q in [Strided::col_major(&qm, k, n), Strided::col_major(&qt, n, k).transposed()] {
                    let mut reference = c0.clone();
                    tail_rows(&mut reference, -0.3, p, q, 0, 0, n);
                    let mut got = c0.clone();
                    gemm_acc(&mut got, -0.3, p, q);
                    assert!(
                        got.iter().zip(&reference).all(|(x, y)| x.to_bits() == y.to_bits()),
                        "dispatched, ({m}, {k}, {n})"
                    );
                    if avx2_fma() {
                        let mut v2 = c0.clone();
                        // SAFETY: AVX2 and FMA are present; the shapes are consistent.
                        unsafe { gemm_acc_avx2(&mut v2, -0.3, p, q) };
                        assert!(
                            v2.iter().zip(&reference).all(|(x, y)| x.to_bits() == y.to_bits()),
                            "avx2, ({m}, {k}, {n})"
                        );
                    }
                    if avx512() {
                        let mut v5 = c0.clone();
                        // SAFETY: AVX-512F, AVX2 and FMA are present; the shapes are consistent.
                        unsafe { gemm_acc_avx512(&mut v5, -0.3, p, q) };
                        assert!(
                            v5.iter().zip(&reference).all(|(x, y)| x.to_bits() == y.to_bits()),
                            "avx512, ({m}, {k}, {n})"
                        );
                    }
                    // Control: the inner sum backwards rounds differently somewhere.
                    if k >= 7 {
                        let mut rev = c0.clone();
                        for jj in 0..n {
                            for ii in 0..m {
                                let mut s = 0.0;
                                for l in (0..k).rev() {
                                    s = pm[ii + l * m].mul_add(q.data[l * q.rs + jj * q.cs], s);
                                }
                                rev[ii + jj * m] = (-0.3f64).mul_add(s, rev[ii + jj * m]);
                            }
                        }
                        reordered_differs |= rev.iter().zip(&reference).any(|(x, y)| x.to_bits() != y.to_bits());
                    }
                    shapes += 1;
                }
            }
        }
        assert_eq!(shapes, 41 * 7 * 2);
        assert!(reordered_differs, "control: a reordered sum should differ in some bit");
        eprintln!("gemm kernels: AVX-512 {}, AVX2 {} (checked against the scalar chain)", avx512(), avx2_fma());
    }

    /// The dispatch follows the CPU: on Linux the flags of `/proc/cpuinfo` (read
    /// independently of `std`'s detection) name the kernel [`isa`] must report.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn dispatch_follows_the_cpu_flags() {
        let info = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
        let flags: Vec<&str> = info
            .lines()
            .find(|l| l.starts_with("flags"))
            .and_then(|l| l.split(':').nth(1))
            .expect("a flags line")
            .split_whitespace()
            .collect();
        let has = |f: &str| flags.contains(&f);
        let want = if has("avx512f") && has("avx2") && has("fma") {
            "avx512"
        } else if has("avx2") && has("fma") {
            "avx2"
        } else {
            "portable"
        };
        assert_eq!(isa(), want, "flags: {flags:?}");
    }

    /// [`gemv_acc_multi`] is bitwise [`gemv_acc`] per vector (all tails: 1..=13 rows and
    /// columns), in both builds.
    #[test]
    fn gemv_multi_is_bitwise_gemv() {
        for (rows, cols) in [(1, 1), (3, 5), (7, 4), (40, 40), (13, 9), (10, 10)] {
            let m: Vec<f64> = (0..rows * cols).map(|k| ((k * 37 % 11) as f64 - 5.0) / 3.0).collect();
            let xs: Vec<Vec<f64>> =
                (0..3).map(|v| (0..cols).map(|k| (k as f64 - 2.5 + v as f64) / 7.0).collect()).collect();
            let y0: Vec<Vec<f64>> = (0..3).map(|v| (0..rows).map(|k| (k + v) as f64 / 5.0).collect()).collect();
            let a = [-0.3, 0.7, 1.1];
            let (mut y1, mut y2, mut y3) = (y0[0].clone(), y0[1].clone(), y0[2].clone());
            gemv_acc_multi([&mut y1, &mut y2, &mut y3], a, &m, [&xs[0], &xs[1], &xs[2]]);
            let (mut z1, mut z2, mut z3) = (y0[0].clone(), y0[1].clone(), y0[2].clone());
            gemv_multi_body::<false, 3>([&mut z1, &mut z2, &mut z3], a, &m, [&xs[0], &xs[1], &xs[2]]);
            for (v, (got, port)) in [(&y1, &z1), (&y2, &z2), (&y3, &z3)].into_iter().enumerate() {
                let mut want = y0[v].clone();
                gemv_acc(&mut want, a[v], &m, &xs[v]);
                assert_eq!(got, &want, "({rows}, {cols}) vector {v}");
                let mut want = y0[v].clone();
                gemv_body::<false>(&mut want, a[v], &m, &xs[v]);
                assert_eq!(port, &want, "({rows}, {cols}) vector {v}, portable");
            }
        }
    }

    /// [`sum_sq_diff`] against the naive sum (every remainder length), within its bound.
    #[test]
    fn sum_sq_diff_matches_naive_sum() {
        for len in [0, 1, 7, 8, 9, 17, 40, 1601] {
            let x: Vec<f64> = (0..len).map(|k| ((k * 37 % 11) as f64 - 5.0) / 3.0).collect();
            let y: Vec<f64> = (0..len).map(|k| (k as f64 - 2.5) / 7.0).collect();
            let want: f64 = x.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
            let want0: f64 = x.iter().map(|a| a * a).sum();
            let tol = 2.0 * (len as f64 / 8.0 + 4.0) * f64::EPSILON;
            assert!((sum_sq_diff(&x, &y) - want).abs() <= tol * want, "{len}");
            assert!((sum_sq_diff(&x, &[]) - want0).abs() <= tol * want0, "{len}");
        }
    }
}
