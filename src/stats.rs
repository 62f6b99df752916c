//! Statistics, in one place: quantiles, medians and quartiles (NumPy's linear
//! interpolation), index-by-index medians of ragged curves, and the statistics of a paired
//! experiment: a sign test, an exact confidence interval for a proportion (Clopper–Pearson),
//! and a distribution-free confidence interval for a median (order statistics), the last
//! three from `statrs`' binomial and beta distributions; and the least-squares line with
//! the standard error of its slope and Student's t quantile, for fitted rates.
//!
//! Two medians, on purpose: [`median`] (NumPy's, `NaN` sorted in, used by the
//! reproductions) and [`median_skipping_nan`] (`NaN` dropped, midpoint `½(a + b)`, used by the
//! bilevel trend experiment); [`median_ci`] uses the same midpoint and refuses `NaN`.
//!
//! Why the paired-experiment statistics: the pairs of a trend experiment are independent
//! (one seed each), but nothing is known about the distribution of the paired effects (they
//! are skewed and heavy-tailed: a curse can be mild on one draw and severe on the next). The
//! sign test and the median's order-statistic interval need only independence, and they are
//! two readings of one test, *ties included*:
//!
//! - **Ties count as zeros, against every direction.** A pair whose two values agree to the
//!   resolution of the measures is a tie; its effect is set to exactly `0`. With `n` pairs, `s₊`
//!   positive and `s₋` negative effects, the one-sided p-values are
//!   `p₊ = P(X ≥ s₊) = P(X ≤ n − s₊)` and `p₋ = P(X ≤ n − s₋)`, `X ~ Bin(n, ½)`, over *all* `n`
//!   pairs ([`sign_test_p`]): a tie is counted as a pair that does not move the predicted way.
//!   This tests the median of the effect's distribution, atom at 0 included: `p₊` is exact
//!   under `H₀: P(effect > 0) = ½` and conservative under `P(effect > 0) ≤ ½` (Bin(n, π) with
//!   `π ≤ ½` is stochastically smaller). Dropping the ties instead (the textbook sign test)
//!   would test `P(effect > 0 | effect ≠ 0) = ½`, a different question: 17 of 40 pairs moving
//!   the predicted way and 23 not moving at all is significant for it (p = 7.6e-6) while the
//!   median pair does not move.
//! - **The interval is the inverted test.** [`median_ci`] gives `[x_(j), x_(n−j+1)]` with `j`
//!   the largest index such that `P(X ≤ j − 1) ≤ γ/2`. Then `x_(j) > 0` holds exactly when at
//!   most `j − 1` effects are `≤ 0`, i.e. `n − s₊ ≤ j − 1`, i.e. (the binomial CDF increases)
//!   `P(X ≤ n − s₊) ≤ γ/2`, i.e. `p₊ ≤ γ/2`; likewise `x_(n−j+1) < 0` exactly when `p₋ ≤ γ/2`.
//!   So **the interval at confidence `1 − γ` excludes 0 exactly when the two-sided sign test at
//!   level `γ` (each side at `γ/2`) rejects**, with or without ties; both use the same
//!   `statrs` CDF, so the equivalence also holds in floating point (tested on every count
//!   `0 ≤ s₊ + s₋ ≤ n ≤ 60`). The interval covers the population median with probability
//!   `≥ 1 − γ` for any distribution (atoms included: the order-statistic interval is
//!   conservative there).

use serde::Serialize;
use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF, StudentsT};

/// First quartile, median and third quartile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quartiles {
    /// 25th percentile.
    pub q25: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub q75: f64,
}

impl Quartiles {
    /// The quartiles of `values` (linear interpolation between order statistics, NumPy's
    /// default); `NaN` for an empty slice.
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Quartiles { q25: sorted_quantile(&v, 0.25), median: sorted_quantile(&v, 0.5), q75: sorted_quantile(&v, 0.75) }
    }
}

/// The `q`-quantile of `values` (`0 ≤ q ≤ 1`), linear interpolation between order
/// statistics (NumPy's default); `NaN` for an empty slice.
///
/// ```
/// use unrollcheck::stats::quantile;
/// assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.5), 2.5);
/// assert_eq!(quantile(&[4.0, 1.0, 3.0, 2.0], 0.25), 1.75);
/// ```
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    sorted_quantile(&v, q)
}

/// The median of `values` as the `0.5`-quantile of [`quantile`]: for an even count
/// `a + ½(b − a)` of the two middle ones `a ≤ b`; a `NaN` is kept and sorted by
/// [`f64::total_cmp`] (after `+∞`). Compare [`median_skipping_nan`].
pub fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

/// The median of the values that are not `NaN` (`NaN` when none is): for an even count
/// `½(a + b)` of the two middle ones.
///
/// It differs from [`median`] in two ways, kept because each caller's outputs depend on
/// them: `NaN` values are dropped instead of sorted in, and the midpoint is `½(a + b)`
/// instead of `a + ½(b − a)` (the two can differ in the last bit).
///
/// ```
/// use unrollcheck::stats::median_skipping_nan;
/// assert_eq!(median_skipping_nan(vec![3.0, f64::NAN, 1.0, 2.0]), 2.0);
/// assert!(median_skipping_nan(vec![f64::NAN]).is_nan());
/// ```
pub fn median_skipping_nan(mut values: Vec<f64>) -> f64 {
    values.retain(|x| !x.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    sorted_midpoint_median(&values)
}

/// The median `½(a + b)` (even count) of a sorted, non-empty slice.
fn sorted_midpoint_median(x: &[f64]) -> f64 {
    let n = x.len();
    if n % 2 == 1 { x[n / 2] } else { 0.5 * (x[n / 2 - 1] + x[n / 2]) }
}

fn sorted_quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
    if lo + 1 < v.len() { v[lo] + frac * (v[lo + 1] - v[lo]) } else { v[lo] }
}

/// Index-by-index median of curves of different lengths: entry `i` is the median over the
/// curves longer than `i`, for as long as at least half of the curves are.
///
/// ```
/// use unrollcheck::stats::ragged_median;
/// let m = ragged_median(&[&[1.0, 2.0, 3.0], &[3.0, 4.0], &[5.0]]);
/// assert_eq!(m, vec![3.0, 3.0]);
/// ```
pub fn ragged_median(curves: &[&[f64]]) -> Vec<f64> {
    let longest = curves.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(longest);
    let mut column = Vec::with_capacity(curves.len());
    for i in 0..longest {
        column.clear();
        column.extend(curves.iter().filter_map(|c| c.get(i).copied()));
        if 2 * column.len() < curves.len() {
            break;
        }
        out.push(selected_median(&mut column));
    }
    out
}

/// The median of [`median`] (`a + ½(b − a)` of the two middle ones), found by selection
/// instead of a sort (the same value, bitwise); reorders `v`.
fn selected_median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let (lo, frac) = ((v.len() - 1) / 2, if v.len().is_multiple_of(2) { 0.5 } else { 0.0 });
    let (_, &mut a, rest) = v.select_nth_unstable_by(lo, f64::total_cmp);
    // As `sorted_quantile`: `a + frac·(b − a)` whenever a next value `b` exists.
    match rest.iter().copied().min_by(f64::total_cmp) {
        Some(b) => a + frac * (b - a),
        None => a,
    }
}

/// `P(X ≥ s)` for `X ~ Binomial(n, 1/2)`: the one-sided p-value of the sign test with `s`
/// pairs moving the tested way out of `n` (ties included in `n`, see the module docs); 1 when
/// `s = 0` or `n = 0`. Computed as `P(X ≤ n − s)` (symmetry) with the CDF [`median_ci`] uses,
/// so that `sign_test_p(s, n) ≤ γ/2` holds exactly when the interval excludes 0.
pub fn sign_test_p(s: u64, n: u64) -> f64 {
    if s == 0 || n == 0 {
        return 1.0;
    }
    let b = Binomial::new(0.5, n).expect("p = 1/2 is valid");
    b.cdf(n - s.min(n)).clamp(0.0, 1.0)
}

/// The exact (Clopper–Pearson) two-sided interval for a proportion with `s` successes in `n`
/// trials, at confidence `1 − gamma`. `(0, 1)` when `n = 0`.
pub fn clopper_pearson(s: u64, n: u64, gamma: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (sf, nf) = (s as f64, n as f64);
    let lo = if s == 0 { 0.0 } else { Beta::new(sf, nf - sf + 1.0).expect("positive shapes").inverse_cdf(gamma / 2.0) };
    let hi = if s == n {
        1.0
    } else {
        Beta::new(sf + 1.0, nf - sf).expect("positive shapes").inverse_cdf(1.0 - gamma / 2.0)
    };
    (lo, hi)
}

/// A median with its distribution-free two-sided interval at confidence at least `1 − gamma`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MedianCi {
    /// The sample median.
    pub median: f64,
    /// Lower end (`−∞` when the sample is too small for the confidence asked).
    pub lo: f64,
    /// Upper end (`+∞` likewise).
    pub hi: f64,
}

/// The sample median and the interval `[x_(j), x_(n−j+1)]` of the order statistics, with `j`
/// the largest index such that `P(Bin(n, 1/2) ≤ j − 1) ≤ gamma/2`; its coverage is at least
/// `1 − gamma` for any distribution (for one with atoms, such as effects with ties at 0, the
/// coverage is still at least `1 − gamma`). It excludes 0 exactly when [`sign_test_p`] in one
/// direction is `≤ gamma/2` (module docs). `None` for an empty sample or one with NaN.
pub fn median_ci(values: &[f64], gamma: f64) -> Option<MedianCi> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut x = values.to_vec();
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let median = sorted_midpoint_median(&x);
    let b = Binomial::new(0.5, n as u64).expect("p = 1/2 is valid");
    // j counts from 1; j = 0 means no order statistic gives the coverage asked.
    let j = (1..=n / 2).take_while(|&j| b.cdf(j as u64 - 1) <= gamma / 2.0).last().unwrap_or(0);
    Some(if j == 0 {
        MedianCi { median, lo: f64::NEG_INFINITY, hi: f64::INFINITY }
    } else {
        MedianCi { median, lo: x[j - 1], hi: x[n - j] }
    })
}

/// The least-squares line `y ≈ a + b·x` through points `(x_i, y_i)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFit {
    /// `a`.
    pub intercept: f64,
    /// `b = Σ (x_i − x̄) y_i / Σ (x_i − x̄)²`.
    pub slope: f64,
    /// The standard error of `b`: `√(Σ r_i² / (m − 2) / Σ (x_i − x̄)²)`, `r_i` the residuals.
    pub slope_se: f64,
    /// `∂b/∂y_i = (x_i − x̄) / Σ (x_i − x̄)²`: how an error in `y_i` moves the slope.
    pub weights: Vec<f64>,
}

/// The least-squares line through `(x_i, y_i)`; `None` with fewer than three points, a
/// length mismatch, or all `x_i` equal.
pub fn line_fit(x: &[f64], y: &[f64]) -> Option<LineFit> {
    let m = x.len();
    if m < 3 || y.len() != m {
        return None;
    }
    let (xbar, ybar) = (x.iter().sum::<f64>() / m as f64, y.iter().sum::<f64>() / m as f64);
    let sxx: f64 = x.iter().map(|xi| (xi - xbar).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let weights: Vec<f64> = x.iter().map(|xi| (xi - xbar) / sxx).collect();
    let slope: f64 = weights.iter().zip(y).map(|(w, yi)| w * yi).sum();
    let intercept = ybar - slope * xbar;
    let ssr: f64 = x.iter().zip(y).map(|(xi, yi)| (yi - intercept - slope * xi).powi(2)).sum();
    Some(LineFit { intercept, slope, slope_se: (ssr / (m - 2) as f64 / sxx).sqrt(), weights })
}

/// The `p`-quantile of Student's t distribution with `dof` degrees of freedom (`dof ≥ 1`).
pub fn student_t_quantile(p: f64, dof: usize) -> f64 {
    StudentsT::new(0.0, 1.0, dof as f64).expect("dof ≥ 1").inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_fit_recovers_a_line_and_its_residual_scale() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|xi| 2.0 - 0.5 * xi).collect();
        let f = line_fit(&x, &y).expect("ten points");
        assert!((f.slope + 0.5).abs() < 1e-15 && (f.intercept - 2.0).abs() < 1e-14 && f.slope_se < 1e-15);
        // The weights are ∂b/∂y: moving one y_i by h moves the slope by w_i·h.
        let mut moved = y.clone();
        moved[7] += 1e-3;
        let g = line_fit(&x, &moved).unwrap();
        assert!((g.slope - f.slope - f.weights[7] * 1e-3).abs() < 1e-15);
        // Alternating residuals ±1 around the line: SSR = m, Sxx = 82.5.
        let wiggle: Vec<f64> = y.iter().enumerate().map(|(i, yi)| yi + if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
        let w = line_fit(&x, &wiggle).unwrap();
        let ssr: f64 = x.iter().zip(&wiggle).map(|(xi, yi)| (yi - w.intercept - w.slope * xi).powi(2)).sum();
        assert!((w.slope_se - (ssr / 8.0 / 82.5).sqrt()).abs() < 1e-15);
        assert!(line_fit(&x[..2], &y[..2]).is_none() && line_fit(&[1.0; 4], &[0.0, 1.0, 2.0, 3.0]).is_none());
    }

    #[test]
    fn student_t_quantiles_match_tables() {
        // t_{0.975, 10} = 2.228, t_{0.995, 30} = 2.750 (standard tables), symmetric.
        assert!((student_t_quantile(0.975, 10) - 2.228).abs() < 1e-3);
        assert!((student_t_quantile(0.995, 30) - 2.750).abs() < 1e-3);
        assert!((student_t_quantile(0.025, 10) + student_t_quantile(0.975, 10)).abs() < 1e-12);
    }

    #[test]
    fn sign_test_matches_hand_computed_binomial_tails() {
        // P(X ≥ 9 | n = 10) = (10 + 1)/1024.
        assert!((sign_test_p(9, 10) - 11.0 / 1024.0).abs() < 1e-15);
        assert!((sign_test_p(10, 10) - 1.0 / 1024.0).abs() < 1e-15);
        assert_eq!(sign_test_p(0, 10), 1.0);
        // Symmetry: P(X ≥ 5 | n = 10) = 1/2 + P(X = 5)/2.
        assert!((sign_test_p(5, 10) - (0.5 + 252.0 / 2048.0)).abs() < 1e-14);
    }

    /// The module docs' equivalence, on every count: `n` pairs, `pos` positive, `neg`
    /// negative, the rest ties at exactly 0; the interval at `1 − γ` excludes 0 on the positive
    /// (negative) side exactly when `p₊ ≤ γ/2` (`p₋ ≤ γ/2`), for several `γ`.
    #[test]
    fn median_interval_excludes_zero_exactly_when_the_sign_test_rejects_ties_included() {
        for gamma in [0.05, 0.01, 2.0e-4] {
            for n in 1..=60usize {
                for pos in 0..=n {
                    for neg in 0..=n - pos {
                        let mut x = vec![0.0; n - pos - neg];
                        x.extend((0..pos).map(|i| 1.0 + i as f64));
                        x.extend((0..neg).map(|i| -1.0 - i as f64));
                        let ci = median_ci(&x, gamma).unwrap();
                        let (pp, pn) = (sign_test_p(pos as u64, n as u64), sign_test_p(neg as u64, n as u64));
                        assert_eq!(ci.lo > 0.0, pp <= gamma / 2.0, "n = {n}, +{pos} −{neg}, γ = {gamma}");
                        assert_eq!(ci.hi < 0.0, pn <= gamma / 2.0, "n = {n}, +{pos} −{neg}, γ = {gamma}");
                    }
                }
            }
        }
    }

    /// The case that motivated counting ties (issue #14): 17 pairs move the predicted way, none
    /// the other, 23 tie. Dropping ties, `P(X ≥ 17 | 17) = 2^-17 = 7.6e-6`; counting them,
    /// `P(X ≥ 17 | 40) ≈ 0.866`, and the median (0) with its interval agrees.
    #[test]
    fn ties_count_against_the_direction_tested() {
        assert!((sign_test_p(17, 17) - 0.5f64.powi(17)).abs() < 1e-18);
        let p = sign_test_p(17, 40);
        assert!((0.86..0.87).contains(&p), "{p}");
        let mut x = vec![0.0; 23];
        x.extend((1..=17).map(|i| -0.01 * f64::from(i)));
        let ci = median_ci(&x, 0.01).unwrap();
        assert!(ci.median == 0.0 && ci.lo < 0.0 && ci.hi >= 0.0, "{ci:?}");
    }

    #[test]
    fn clopper_pearson_brackets_the_estimate_and_matches_closed_forms() {
        // s = n: lower end solves p^n = gamma/2.
        let (lo, hi) = clopper_pearson(10, 10, 0.05);
        assert!((lo - 0.025f64.powf(0.1)).abs() < 1e-10 && hi == 1.0);
        let (lo, hi) = clopper_pearson(0, 10, 0.05);
        assert!(lo == 0.0 && (hi - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-10);
        let (lo, hi) = clopper_pearson(30, 60, 0.05);
        assert!(lo < 0.5 && hi > 0.5 && lo > 0.3 && hi < 0.7);
    }

    #[test]
    fn median_interval_uses_the_right_order_statistics() {
        // n = 10, gamma = 0.05: P(X ≤ 1) = 11/1024 ≤ 0.025 < P(X ≤ 2) = 56/1024, so j = 2.
        let x: Vec<f64> = (1..=10).map(f64::from).collect();
        let m = median_ci(&x, 0.05).unwrap();
        assert_eq!((m.median, m.lo, m.hi), (5.5, 2.0, 9.0));
        // n = 5 cannot reach 95 %: P(X ≤ 0) = 1/32 > 0.025.
        let m = median_ci(&x[..5], 0.05).unwrap();
        assert!(m.lo.is_infinite() && m.hi.is_infinite());
        assert!(median_ci(&[1.0, f64::NAN], 0.05).is_none());
    }
}
