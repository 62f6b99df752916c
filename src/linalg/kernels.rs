//! The three dense kernels of the factorised appendix-C map (the normal equations of
//! `problem/normal.rs`):
//! `y += a·M x` (column-major `M`), `M += a·u vᵀ` and `y += a·x`.
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

/// `true` when the running CPU has AVX2 and FMA (the detection is cached by `std`).
#[cfg(target_arch = "x86_64")]
pub fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
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
}
