//! Double-double references for the dense derivative recursions (crate `twofloat`).
//!
//! Forward mode (9)/(20) and reverse mode (12) both consume the *same* computed Jacobians
//! `B_k`, `C_k` ([`Linearization`]). Taking those `f64` matrices as exact data, the two
//! recursions are recomputed here in double-double arithmetic (unit roundoff
//! `u_dd ≈ 2⁻¹⁰⁴`, [`EPS_DD`]): every product `b·x` of an `f64` datum by a double-double is
//! formed with an error-free `two_prod` and accumulated in double-double, so the reference
//! differs from the exact recursion on the same data by `≈ 2⁻⁵²` times the rounding of the
//! `f64` sweep (the same first-order analysis with `u` replaced by `u_dd`). Against it:
//!
//! - the *rounding of each `f64` side* is measured: `‖Ẋ − Ẋ_dd‖`, `‖Ū − Ū_dd‖`;
//! - the *true difference* of two readings on the same data is `‖Ẋ_dd − Ū_dd‖`, up to the
//!   double-double rounding.
//!
//! So `|‖Ẋ − Ū‖ − ‖Ẋ_dd − Ū_dd‖| ≤ ‖Ẋ − Ẋ_dd‖ + ‖Ū − Ū_dd‖` (triangle inequality), which is
//! what the equality checks of forward and reverse mode (`rem3`, `sec41`) use as their
//! tolerance ([`crate::tol::ToleranceModel::fwd_rev_measured`]).
//!
//! Differences are formed in double-double before rounding to `f64`, so a measured error is
//! not itself lost to cancellation. Norms are spectral (of the rounded difference).

use super::Linearization;
use crate::linalg::dd::{self, Col, ColMut, Dd};
use crate::linalg::spectral_norm;
use nalgebra::DMatrix;
use twofloat::TwoFloat;

/// The unit roundoff assumed for double-double arithmetic (`2⁻¹⁰⁰`: `twofloat`'s `+` and `×`
/// are accurate to a few units of `2⁻¹⁰⁶`; 64 of them are allowed).
pub const EPS_DD: f64 = 7.888_609_052_210_118e-31;

/// `e^t` in double-double, accurate to `≈ 10⁻²⁹` relative for `|t| ≤ 700` (twofloat's own
/// `exp` is accurate to only `≈ 10⁻¹¹`, measured, too coarse for a reference): reduce
/// `t = k ln 2 + r` with `ln 2` in double-double and `|r| ≤ ln 2/2`, sum the Taylor series
/// of `e^{r/256}` (14 terms: the remainder is below `10⁻⁴⁵`), square eight times (which
/// multiplies the relative error by 256), scale by `2^k`.
pub fn exp_dd(t: TwoFloat) -> TwoFloat {
    let ln2 = TwoFloat::new_add(std::f64::consts::LN_2, 2.319_046_813_846_299_6e-17);
    let k = (f64::from(t) / std::f64::consts::LN_2).round();
    let y = (t - ln2 * k) / 256.0;
    let (mut term, mut sum) = (TwoFloat::from(1.0), TwoFloat::from(1.0));
    for i in 1..=14 {
        term = term * y / f64::from(i);
        sum += term;
    }
    for _ in 0..8 {
        sum = sum * sum;
    }
    sum * 2f64.powi(k as i32)
}

/// `tanh t` in double-double, accurate to `≈ 10⁻²⁸` relative: `(1 − e^{−2|t|})/(1 + e^{−2|t|})`
/// with [`exp_dd`] and the sign of `t`, and for `|t| < 10⁻³` (where `1 − e^{−2|t|}` would
/// cancel) the odd Taylor series to `t⁹` (the remainder is below `10⁻³³|t|`).
pub fn tanh_dd(t: TwoFloat) -> TwoFloat {
    let s = if f64::from(t) < 0.0 { -t } else { t };
    let value = if f64::from(s) < 1e-3 {
        let s2 = s * s;
        // t − t³/3 + 2t⁵/15 − 17t⁷/315 + 62t⁹/2835, by Horner in t², the coefficients as
        // double-double quotients.
        let one = TwoFloat::from(1.0);
        let c = [one * 62.0 / 2835.0, -(one * 17.0 / 315.0), one * 2.0 / 15.0, -(one / 3.0)];
        let mut p = c[0];
        for &ci in &c[1..] {
            p = p * s2 + ci;
        }
        s + s * s2 * p
    } else {
        let e = exp_dd(s * -2.0);
        div_dd(TwoFloat::from(1.0) - e, TwoFloat::from(1.0) + e)
    };
    if f64::from(t) < 0.0 { -value } else { value }
}

/// `a/b` in double-double by long division: three `f64` quotient digits, each of the
/// remainder left by the previous ones (twofloat's `TwoFloat / TwoFloat` is accurate to only
/// `≈ 10⁻¹⁷` relative, measured by `tanh_dd`'s identity test; division by an `f64` is exact
/// to double-double).
pub fn div_dd(a: TwoFloat, b: TwoFloat) -> TwoFloat {
    let d = f64::from(b);
    let q1 = f64::from(a) / d;
    let r = a - b * q1;
    let q2 = f64::from(r) / d;
    let r = r - b * q2;
    let q3 = f64::from(r) / d;
    TwoFloat::from(q1) + q2 + q3
}

/// A dense double-double matrix (column-major), stored as its two `f64` planes `hi`, `lo`;
/// its products and sums are `twofloat`'s operations, bitwise, run a column at a time by
/// the kernels of [`crate::linalg::dd`].
#[derive(Debug, Clone, PartialEq)]
pub struct DdMatrix {
    rows: usize,
    cols: usize,
    hi: Vec<f64>,
    lo: Vec<f64>,
}

impl DdMatrix {
    /// The zero matrix.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        DdMatrix { rows, cols, hi: vec![0.0; rows * cols], lo: vec![0.0; rows * cols] }
    }

    /// The identity.
    pub fn identity(n: usize) -> Self {
        let mut m = DdMatrix::zeros(n, n);
        for i in 0..n {
            m.hi[i + i * n] = 1.0;
        }
        m
    }

    /// An exact copy of an `f64` matrix.
    pub fn from_f64(m: &DMatrix<f64>) -> Self {
        DdMatrix { rows: m.nrows(), cols: m.ncols(), hi: m.as_slice().to_vec(), lo: vec![0.0; m.len()] }
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Entry `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> TwoFloat {
        to_twofloat(self.pair(i, j))
    }

    /// Entry `(i, j)` as `(hi, lo)`.
    fn pair(&self, i: usize, j: usize) -> Dd {
        let k = i + j * self.rows;
        (self.hi[k], self.lo[k])
    }

    /// Sets entry `(i, j)`.
    fn set(&mut self, i: usize, j: usize, v: TwoFloat) {
        let k = i + j * self.rows;
        (self.hi[k], self.lo[k]) = (v.hi(), v.lo());
    }

    /// Column `j`.
    fn col(&self, j: usize) -> Col<'_> {
        let r = j * self.rows..(j + 1) * self.rows;
        Col { hi: &self.hi[r.clone()], lo: &self.lo[r] }
    }

    /// Column `j`, mutable.
    fn col_mut(&mut self, j: usize) -> ColMut<'_> {
        let r = j * self.rows..(j + 1) * self.rows;
        ColMut { hi: &mut self.hi[r.clone()], lo: &mut self.lo[r] }
    }

    /// The entries as pairs `(hi, lo)`, column by column.
    fn pairs(&self) -> impl Iterator<Item = Dd> + '_ {
        self.hi.iter().copied().zip(self.lo.iter().copied())
    }

    /// Rounded to `f64` (the high parts: `hi = fl(hi + lo)`, as `f64::from(TwoFloat)`).
    pub fn to_f64(&self) -> DMatrix<f64> {
        DMatrix::from_column_slice(self.rows, self.cols, &self.hi)
    }

    /// `a·self` with `a` an `f64` matrix taken as exact (products by `two_prod`).
    pub fn left_mul(a: &DMatrix<f64>, x: &DdMatrix) -> DdMatrix {
        assert_eq!(a.ncols(), x.rows, "dimension mismatch");
        let mut out = DdMatrix::zeros(a.nrows(), x.cols);
        for j in 0..x.cols {
            for l in 0..a.ncols() {
                let xl = x.pair(l, j);
                if xl == (0.0, 0.0) {
                    continue;
                }
                dd::scale_acc(out.col_mut(j), xl, a.column(l).as_slice());
            }
        }
        out
    }

    /// `self·a` with `a` an `f64` matrix taken as exact.
    pub fn right_mul(x: &DdMatrix, a: &DMatrix<f64>) -> DdMatrix {
        assert_eq!(x.cols, a.nrows(), "dimension mismatch");
        let mut out = DdMatrix::zeros(x.rows, a.ncols());
        for j in 0..a.ncols() {
            for l in 0..x.cols {
                let v = a[(l, j)];
                if v == 0.0 {
                    continue;
                }
                dd::axpy(out.col_mut(j), x.col(l), v);
            }
        }
        out
    }

    /// `x·y`, both double-double.
    pub fn mul(x: &DdMatrix, y: &DdMatrix) -> DdMatrix {
        assert_eq!(x.cols, y.rows, "dimension mismatch");
        let mut out = DdMatrix::zeros(x.rows, y.cols);
        for j in 0..y.cols {
            for l in 0..x.cols {
                let v = y.pair(l, j);
                if v == (0.0, 0.0) {
                    continue;
                }
                dd::axpy_dd(out.col_mut(j), x.col(l), v);
            }
        }
        out
    }

    /// `self + t·a`, `t` a double-double scalar and `a` exact.
    pub fn add_scaled_f64(mut self, t: TwoFloat, a: &DMatrix<f64>) -> DdMatrix {
        assert_eq!((self.rows, self.cols), (a.nrows(), a.ncols()), "dimension mismatch");
        if t == 0.0 {
            return self;
        }
        let all = ColMut { hi: &mut self.hi, lo: &mut self.lo };
        dd::scale_acc(all, (t.hi(), t.lo()), a.as_slice());
        self
    }

    /// `self + a`, `a` exact.
    pub fn add_f64(mut self, a: &DMatrix<f64>) -> DdMatrix {
        assert_eq!((self.rows, self.cols), (a.nrows(), a.ncols()), "dimension mismatch");
        for ((h, l), &v) in self.hi.iter_mut().zip(self.lo.iter_mut()).zip(a.iter()) {
            (*h, *l) = dd::add_f64((*h, *l), v);
        }
        self
    }

    /// `self + other`.
    pub fn plus(mut self, other: &DdMatrix) -> DdMatrix {
        assert_eq!(self.shape(), other.shape(), "dimension mismatch");
        for ((h, l), v) in self.hi.iter_mut().zip(self.lo.iter_mut()).zip(other.pairs()) {
            (*h, *l) = dd::add((*h, *l), v);
        }
        self
    }

    /// `self − other`, rounded to `f64` after the subtraction.
    pub fn sub_to_f64(&self, other: &DdMatrix) -> DMatrix<f64> {
        assert_eq!(self.shape(), other.shape(), "dimension mismatch");
        let diff = self.pairs().zip(other.pairs()).map(|(a, b)| dd::sub(a, b).0);
        DMatrix::from_iterator(self.rows, self.cols, diff)
    }

    /// `‖self − a‖₂` (the difference formed in double-double, then rounded): the rounding
    /// error of a computed `a` whose exact value is `self`.
    pub fn distance(&self, a: &DMatrix<f64>) -> f64 {
        assert_eq!((self.rows, self.cols), (a.nrows(), a.ncols()), "dimension mismatch");
        let diff = self.pairs().zip(a.iter()).map(|(s, &v)| dd::sub_f64(s, v).0);
        spectral_norm(&DMatrix::from_iterator(self.rows, self.cols, diff))
    }

    /// `‖self − other‖₂`.
    pub fn distance_dd(&self, other: &DdMatrix) -> f64 {
        spectral_norm(&self.sub_to_f64(other))
    }

    /// `‖self‖₂` (of the rounded matrix).
    pub fn norm(&self) -> f64 {
        spectral_norm(&self.to_f64())
    }
}

/// The `TwoFloat` of a pair `(hi, lo)` this module computed. `twofloat` builds one from
/// parts only after checking that they do not overlap; a pair that fails the check (never
/// for the results of its own algorithms on finite data) is renormalised by an exact sum.
fn to_twofloat(p: Dd) -> TwoFloat {
    TwoFloat::try_from(p).unwrap_or_else(|_| TwoFloat::new_add(p.0, p.1))
}

/// `a / b` to double-double accuracy. `twofloat` 0.8.4's own `TwoFloat / TwoFloat` is only
/// `f64`-accurate (`1/3` comes back with a zero low part, `(1/3)·3 − 1 = −5.6e-17`), so the
/// quotient is corrected twice by its residual, each correction formed with exact products.
pub fn div(a: TwoFloat, b: TwoFloat) -> TwoFloat {
    let q0 = a.hi() / b.hi();
    let r = a - b * q0;
    let q1 = r.hi() / b.hi();
    let r = r - b * q1;
    let q2 = r.hi() / b.hi();
    TwoFloat::from(q0) + q1 + q2
}

/// Solves `(I − B) X = R` by Gaussian elimination with partial pivoting in double-double
/// (`B` exact, `R` double-double); `None` when a pivot is exactly zero.
pub fn solve_i_minus(b: &DMatrix<f64>, rhs: &DdMatrix) -> Option<DdMatrix> {
    let n = b.nrows();
    assert_eq!((b.ncols(), rhs.rows), (n, n), "dimension mismatch");
    let p = rhs.cols;
    let one = TwoFloat::from(1.0);
    let mut a: Vec<Vec<TwoFloat>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| if i == j { one - b[(i, j)] } else { TwoFloat::from(-b[(i, j)]) })
                .chain((0..p).map(|j| rhs.get(i, j)))
                .collect()
        })
        .collect();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| f64::from(a[i][col].abs()).total_cmp(&f64::from(a[j][col].abs())))?;
        if a[piv][col] == 0.0 {
            return None;
        }
        a.swap(col, piv);
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot = &top[col];
        for row in rest.iter_mut() {
            let f = div(row[col], pivot[col]);
            for (x, &v) in row.iter_mut().zip(pivot.iter()).skip(col) {
                *x -= f * v;
            }
        }
    }
    let mut x = DdMatrix::zeros(n, p);
    for i in (0..n).rev() {
        for j in 0..p {
            let s = (i + 1..n).fold(a[i][n + j], |s, l| s - a[i][l] * x.get(l, j));
            x.set(i, j, div(s, a[i][i]));
        }
    }
    Some(x)
}

/// Late-started forward iterates (20) in double-double on the computed `B_k`, `C_k`:
/// `Ẋ^{(j+1)} = B_{j+T'} Ẋ^{(j)} + C_{j+T'}` from `Ẋ^{(0)} = dx0`, `j = 0..steps`.
pub fn late_start_jacobians_dd(lin: &Linearization, t_prime: usize, steps: usize, dx0: &DMatrix<f64>) -> Vec<DdMatrix> {
    let mut out = Vec::with_capacity(steps + 1);
    out.push(DdMatrix::from_f64(dx0));
    for j in 0..steps {
        let next = DdMatrix::left_mul(lin.b(t_prime + j), &out[j]).add_f64(lin.c(t_prime + j));
        out.push(next);
    }
    out
}

/// The truncated reverse sweep (12) in double-double, from `K' = k_end` down to `T' = stop`.
#[derive(Debug, Clone)]
pub struct ReverseDd {
    /// `Ū_{K'}^{(k)}`, `k = T'..=K'` (index `k − T'`).
    pub ubars: Vec<DdMatrix>,
    /// `X̄_{K'}^{(T')}`.
    pub xbar: DdMatrix,
    /// `‖X̄_{K'}^{(k)}‖_F ≥ ‖X̄_{K'}^{(k)}‖₂`, `k = T'..=K'` (index `k − T'`): the norms the
    /// running error bound of reverse mode needs.
    pub xbar_norms: Vec<f64>,
}

/// The truncated reverse sweep (12) in double-double on the computed `B_k`, `C_k`.
pub fn truncated_jacobians_dd(lin: &Linearization, k_end: usize, stop: usize) -> ReverseDd {
    assert!(stop <= k_end && k_end <= lin.len(), "truncated sweep needs T' <= K' <= len");
    let (n, p) = (lin.b(0).nrows(), lin.c(0).ncols());
    let mut xbar = DdMatrix::identity(n);
    let mut ubars = vec![DdMatrix::zeros(n, p); k_end - stop + 1];
    let mut xbar_norms = vec![0.0; k_end - stop + 1];
    xbar_norms[k_end - stop] = (n as f64).sqrt();
    for k in (stop..k_end).rev() {
        let next = ubars[k + 1 - stop].clone().plus(&DdMatrix::right_mul(&xbar, lin.c(k)));
        xbar = DdMatrix::right_mul(&xbar, lin.b(k));
        xbar_norms[k - stop] = xbar.to_f64().norm();
        ubars[k - stop] = next;
    }
    ReverseDd { ubars, xbar, xbar_norms }
}

/// The largest norm of a product of consecutive Jacobians over the window `range`:
/// `max_{i ≤ j} ‖B_{j−1} ⋯ B_i‖_F` (1 for the empty product), an upper bound on how much
/// any recursion driven by these `B_k` can amplify an error made inside the window. Unlike
/// `Π‖B_j‖`, it stays bounded for heavy-ball and Chebyshev, whose `‖B_j‖ ≥ 1` but whose
/// products contract. The Frobenius norm bounds the spectral one.
///
/// Two exact shortcuts keep the cost near `O(K n³)` instead of `O(K² n³)`:
/// - a window is cut once its product `P` has `‖P‖_F < 1`: a longer product from the same
///   start is `Q·P` with `Q` a window of its own, so `‖Q·P‖ ≤ ‖Q‖·‖P‖ < ‖Q‖ ≤ M`
///   (submultiplicativity of the Frobenius norm) and the maximum `M ≥ 1` is unchanged;
/// - when every `B_k` of the window is the same matrix (gradient descent and heavy-ball on
///   a quadratic), the products from a later start repeat those from the first, so only
///   the first start is walked.
///
/// Two `n × n` buffers, no allocation per step.
pub fn window_growth(lin: &Linearization, range: std::ops::Range<usize>) -> f64 {
    let mut growth: f64 = 1.0;
    if range.is_empty() {
        return growth;
    }
    let first = lin.b(range.start);
    let starts = if range.clone().all(|k| lin.b(k) == first) { range.start..range.start + 1 } else { range.clone() };
    let mut p = first.clone();
    let mut next = first.clone();
    for i in starts {
        p.copy_from(lin.b(i));
        let mut j = i + 1;
        loop {
            let norm = p.norm();
            growth = growth.max(norm);
            if norm < 1.0 || j >= range.end || !norm.is_finite() {
                break;
            }
            next.gemm(1.0, lin.b(j), &p, 0.0);
            std::mem::swap(&mut p, &mut next);
            j += 1;
        }
    }
    growth
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operations of `DdMatrix` as they were written with `twofloat` one entry at a time
    /// (the oracle of the planes and the column kernels).
    mod oracle {
        use nalgebra::DMatrix;
        use twofloat::TwoFloat;

        pub type M = Vec<Vec<TwoFloat>>; // [i][j]

        pub fn left_mul(a: &DMatrix<f64>, x: &M) -> M {
            let (r, c) = (a.nrows(), x[0].len());
            let mut out = vec![vec![TwoFloat::from(0.0); c]; r];
            for j in 0..c {
                for (l, xrow) in x.iter().enumerate() {
                    if xrow[j] == 0.0 {
                        continue;
                    }
                    for (i, row) in out.iter_mut().enumerate() {
                        if a[(i, l)] != 0.0 {
                            row[j] += xrow[j] * a[(i, l)];
                        }
                    }
                }
            }
            out
        }

        pub fn right_mul(x: &M, a: &DMatrix<f64>, order: &[usize]) -> M {
            let mut out = vec![vec![TwoFloat::from(0.0); a.ncols()]; x.len()];
            for j in 0..a.ncols() {
                for &l in order {
                    if a[(l, j)] == 0.0 {
                        continue;
                    }
                    for (row, xrow) in out.iter_mut().zip(x) {
                        row[j] += xrow[l] * a[(l, j)];
                    }
                }
            }
            out
        }

        pub fn mul(x: &M, y: &M) -> M {
            let mut out = vec![vec![TwoFloat::from(0.0); y[0].len()]; x.len()];
            for j in 0..y[0].len() {
                for (l, yrow) in y.iter().enumerate() {
                    if yrow[j] == 0.0 {
                        continue;
                    }
                    for (row, xrow) in out.iter_mut().zip(x) {
                        row[j] += xrow[l] * yrow[j];
                    }
                }
            }
            out
        }
    }

    /// A double-double matrix with non-zero low parts, entries of varied magnitude, zeros.
    fn sample(rows: usize, cols: usize, seed: u64) -> (DdMatrix, oracle::M) {
        let mut rng = crate::problem::draw::rng(seed);
        let v = crate::problem::draw::normal_vector(2 * rows * cols, 1.0, &mut rng);
        let entry = |i: usize, j: usize| {
            let k = 2 * (i + j * rows);
            if (i + 3 * j) % 5 == 2 {
                return TwoFloat::from(0.0);
            }
            TwoFloat::from(v[k] * 2f64.powi((4.0 * v[k + 1]) as i32)) / 7.0
        };
        let m: oracle::M = (0..rows).map(|i| (0..cols).map(|j| entry(i, j)).collect()).collect();
        let mut d = DdMatrix::zeros(rows, cols);
        for (i, row) in m.iter().enumerate() {
            for (j, &e) in row.iter().enumerate() {
                d.set(i, j, e);
            }
        }
        (d, m)
    }

    fn f64_sample(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
        let (_, m) = sample(rows, cols, seed);
        DMatrix::from_fn(rows, cols, |i, j| m[i][j].hi())
    }

    fn same(d: &DdMatrix, m: &oracle::M) -> bool {
        m.iter().enumerate().all(|(i, row)| {
            row.iter().enumerate().all(|(j, &e)| {
                let k = i + j * d.rows;
                (d.hi[k].to_bits(), d.lo[k].to_bits()) == (e.hi().to_bits(), e.lo().to_bits())
            })
        })
    }

    /// `left_mul`, `right_mul`, `mul`, `plus`, `add_f64`, `add_scaled_f64`, `distance` and
    /// `sub_to_f64` give bitwise what `twofloat` gives entry by entry (shapes with and without
    /// a vector tail, zeros skipped as before); a control: the same products summed in the
    /// reverse order are not bitwise equal.
    #[test]
    fn dd_matrix_operations_are_twofloats() {
        let mut reordered_differs = false;
        for (r, n, c) in [(1, 1, 1), (3, 4, 2), (8, 8, 8), (13, 9, 17), (20, 20, 40)] {
            let seed = (r * 100 + n * 10 + c) as u64;
            let (x, xm) = sample(n, c, seed);
            let a = f64_sample(r, n, seed + 1);
            assert!(same(&DdMatrix::left_mul(&a, &x), &oracle::left_mul(&a, &xm)), "left_mul {r}×{n}×{c}");
            let (z, zm) = sample(r, n, seed + 2);
            let b = f64_sample(n, c, seed + 3);
            let forward: Vec<usize> = (0..n).collect();
            let got = DdMatrix::right_mul(&z, &b);
            assert!(same(&got, &oracle::right_mul(&zm, &b, &forward)), "right_mul {r}×{n}×{c}");
            let backward: Vec<usize> = (0..n).rev().collect();
            reordered_differs |= !same(&got, &oracle::right_mul(&zm, &b, &backward));
            assert!(same(&DdMatrix::mul(&z, &x), &oracle::mul(&zm, &xm)), "mul {r}×{n}×{c}");
            let (w, wm) = sample(n, c, seed + 4);
            let sum: oracle::M =
                xm.iter().zip(&wm).map(|(p, q)| p.iter().zip(q).map(|(&u, &v)| u + v).collect()).collect();
            assert!(same(&x.clone().plus(&w), &sum), "plus");
            let e = f64_sample(n, c, seed + 5);
            let with_f64: oracle::M = xm
                .iter()
                .enumerate()
                .map(|(i, p)| p.iter().enumerate().map(|(j, &u)| u + e[(i, j)]).collect())
                .collect();
            assert!(same(&x.clone().add_f64(&e), &with_f64), "add_f64");
            let t = xm[0][0] + 0.3;
            let scaled: oracle::M = xm
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    p.iter().enumerate().map(|(j, &u)| if e[(i, j)] != 0.0 { u + t * e[(i, j)] } else { u }).collect()
                })
                .collect();
            assert!(same(&x.clone().add_scaled_f64(t, &e), &scaled), "add_scaled_f64");
            let diff = DMatrix::from_fn(n, c, |i, j| f64::from(xm[i][j] - wm[i][j]));
            assert_eq!(x.sub_to_f64(&w), diff, "sub_to_f64");
            let off = DMatrix::from_fn(n, c, |i, j| f64::from(xm[i][j] - e[(i, j)]));
            assert_eq!(x.distance(&e).to_bits(), spectral_norm(&off).to_bits(), "distance");
        }
        assert!(reordered_differs, "control: summing in another order must change some bits");
    }
}
