//! The statistics of a paired experiment: a sign test, an exact confidence interval for a
//! proportion (Clopper–Pearson), and a distribution-free confidence interval for a median
//! (order statistics), all from `statrs`' binomial and beta distributions.
//!
//! Why these: the pairs of a trend experiment are independent (one seed each), but nothing
//! is known about the distribution of the paired effects (they are skewed and heavy-tailed:
//! a curse can be mild on one draw and severe on the next). The sign test and the median's
//! order-statistic interval need only independence and continuity, and they agree with each
//! other: the median's interval excludes 0 exactly when the two-sided sign test rejects.

use serde::Serialize;
use statrs::distribution::{Beta, Binomial, ContinuousCDF, DiscreteCDF};

/// `P(X ≥ s)` for `X ~ Binomial(n, 1/2)`: the one-sided p-value of the sign test with `s`
/// agreeing pairs out of `n` non-tied ones (1 when `n = 0`).
pub fn sign_test_p(s: u64, n: u64) -> f64 {
    if s == 0 || n == 0 {
        return 1.0;
    }
    let b = Binomial::new(0.5, n).expect("p = 1/2 is valid");
    // sf(x) = P(X > x), so P(X ≥ s) = sf(s − 1).
    b.sf(s - 1).clamp(0.0, 1.0)
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
/// `1 − gamma` for any continuous distribution. `None` for an empty sample or one with NaN.
pub fn median_ci(values: &[f64], gamma: f64) -> Option<MedianCi> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut x = values.to_vec();
    x.sort_by(f64::total_cmp);
    let n = x.len();
    let median = if n % 2 == 1 { x[n / 2] } else { 0.5 * (x[n / 2 - 1] + x[n / 2]) };
    let b = Binomial::new(0.5, n as u64).expect("p = 1/2 is valid");
    // j counts from 1; j = 0 means no order statistic gives the coverage asked.
    let j = (1..=n / 2).take_while(|&j| b.cdf(j as u64 - 1) <= gamma / 2.0).last().unwrap_or(0);
    Some(if j == 0 {
        MedianCi { median, lo: f64::NEG_INFINITY, hi: f64::INFINITY }
    } else {
        MedianCi { median, lo: x[j - 1], hi: x[n - j] }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_test_matches_hand_computed_binomial_tails() {
        // P(X ≥ 9 | n = 10) = (10 + 1)/1024.
        assert!((sign_test_p(9, 10) - 11.0 / 1024.0).abs() < 1e-15);
        assert!((sign_test_p(10, 10) - 1.0 / 1024.0).abs() < 1e-15);
        assert_eq!(sign_test_p(0, 10), 1.0);
        // Symmetry: P(X ≥ 5 | n = 10) = 1/2 + P(X = 5)/2.
        assert!((sign_test_p(5, 10) - (0.5 + 252.0 / 2048.0)).abs() < 1e-14);
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
