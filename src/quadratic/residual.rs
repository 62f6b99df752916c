//! Residual polynomials `P_t` of gradient descent, heavy-ball and the Chebyshev
//! semi-iterative method, with their first and second derivatives, by their three-term
//! recurrences (never through power-basis coefficients, which lose all precision).
//!
//! Every method here is `P_{t+1}(λ) = (c_t − d_t λ) P_t(λ) + b_t P_{t−1}(λ)`, `P_0 = 1`, with
//! `b_0 = 0` (the crate's lift `z_0 = (x_0, x_0)`, so `P_{−1}` never enters):
//!
//! | method | `c_t` | `d_t` | `b_t` (`t ≥ 1`) | `P_t(λ)` |
//! |---|---|---|---|---|
//! | gradient descent, step `h` | 1 | `h` | 0 | `(1 − hλ)^t` |
//! | heavy-ball `α, β` | `1 + β` (`t ≥ 1`), 1 (`t = 0`) | `α` | `−β` | `β^{t/2}(U_t(σ) − √β U_{t−1}(σ))`, `σ = (1+β−αλ)/(2√β)` |
//! | Chebyshev on `[μ, L]` | `ω_{t+1}` (`t ≥ 1`), 1 | `ω_{t+1} h`, `h` | `1 − ω_{t+1}` | `T_t((L+μ−2λ)/(L−μ)) / T_t((L+μ)/(L−μ))` |
//!
//! with `h = 2/(L + μ)` and `ω_{t+1} = 2σ T_t(σ)/T_{t+1}(σ)`, `σ = (L+μ)/(L−μ)`, computed
//! in closed form without overflow as `ω_{t+1} = ω_∞ (1 + q^t)/(1 + q^{t+1})`,
//! `ω_∞ = 2/(1 + √(1 − s²))`, `q = (s/(1 + √(1 − s²)))²`, `s = 1/σ = (L−μ)/(L+μ)`.
//! Differentiating the recurrence in `λ`:
//! `P'_{t+1} = (c_t − d_tλ)P'_t − d_t P_t + b_t P'_{t−1}`,
//! `P''_{t+1} = (c_t − d_tλ)P''_t − 2d_t P'_t + b_t P''_{t−1}`.
//!
//! A [`Fault`] plants a deliberate bug in the recurrence (the negative controls of the
//! `scieur.*` claims).

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

/// A polynomial method on a quadratic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Polynomial {
    /// Gradient descent with step `h`: `P_t = (1 − hλ)^t`.
    GradientDescent {
        /// The step size.
        h: f64,
    },
    /// Heavy-ball with step `α` and momentum `β`, started from `x_{−1} = x_0`.
    HeavyBall {
        /// The step size.
        alpha: f64,
        /// The momentum.
        beta: f64,
    },
    /// The Chebyshev semi-iterative method tuned to the interval `[μ, L]`, `0 < μ ≤ L`.
    Chebyshev {
        /// Lower end of the interval.
        mu: f64,
        /// Upper end of the interval.
        l: f64,
    },
}

/// A deliberate bug in the recurrence, for negative controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The recurrence as it is.
    None,
    /// A coefficient with the wrong sign: `b_t` of `P_{t−1}` for heavy-ball (`+β`) and
    /// Chebyshev (`ω − 1`); gradient descent, which has no such term, gets `1 + hλ`.
    WrongSign,
    /// The coefficient `d_t` of `λ` off by a relative `10⁻⁶`.
    WrongCoefficient,
}

/// The coefficients of one step `P_{t+1} = (c − dλ)P_t + b P_{t−1}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coefficients {
    /// `c_t`.
    pub c: f64,
    /// `d_t`.
    pub d: f64,
    /// `b_t`.
    pub b: f64,
}

/// `P_t(λ)`, `P_t'(λ)` and `P_t''(λ)`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Values {
    /// `P_t(λ)`.
    pub p: f64,
    /// `P_t'(λ)`.
    pub dp: f64,
    /// `P_t''(λ)`.
    pub d2p: f64,
}

impl Values {
    /// `P_t(λ) − λP_t'(λ)`, the factor of `∂x_0 − ∂x*` in `scieur.jacobian`.
    pub fn jacobian_factor(&self, lambda: f64) -> f64 {
        self.p - lambda * self.dp
    }
}

/// Relative perturbation of [`Fault::WrongCoefficient`].
pub const WRONG_COEFFICIENT: f64 = 1e-6;

impl Polynomial {
    /// The Chebyshev momentum `ω_{t+1}` of step `t ≥ 1` (`ω_1 = 1` is the first, plain
    /// gradient step).
    pub fn chebyshev_omega(mu: f64, l: f64, t: usize) -> f64 {
        if t == 0 {
            return 1.0;
        }
        let s = (l - mu) / (l + mu);
        let root = (1.0 - s * s).sqrt();
        let omega_inf = 2.0 / (1.0 + root);
        let q = (s / (1.0 + root)).powi(2);
        omega_inf * (1.0 + q.powi(t as i32)) / (1.0 + q.powi(t as i32 + 1))
    }

    /// The coefficients of the step from `P_t` to `P_{t+1}`.
    pub fn coefficients(&self, t: usize) -> Coefficients {
        match *self {
            Polynomial::GradientDescent { h } => Coefficients { c: 1.0, d: h, b: 0.0 },
            Polynomial::HeavyBall { alpha, beta } => {
                if t == 0 {
                    Coefficients { c: 1.0, d: alpha, b: 0.0 }
                } else {
                    Coefficients { c: 1.0 + beta, d: alpha, b: -beta }
                }
            }
            Polynomial::Chebyshev { mu, l } => {
                let h = 2.0 / (l + mu);
                let w = Self::chebyshev_omega(mu, l, t);
                Coefficients { c: w, d: w * h, b: 1.0 - w }
            }
        }
    }

    /// The coefficients with a planted bug.
    pub fn faulty_coefficients(&self, t: usize, fault: Fault) -> Coefficients {
        let k = self.coefficients(t);
        match fault {
            Fault::None => k,
            Fault::WrongSign if matches!(self, Polynomial::GradientDescent { .. }) => Coefficients { d: -k.d, ..k },
            Fault::WrongSign => Coefficients { b: -k.b, ..k },
            Fault::WrongCoefficient => Coefficients { d: k.d * (1.0 + WRONG_COEFFICIENT), ..k },
        }
    }

    /// `P_t`, `P_t'`, `P_t''` at `λ` for `t = 0..=t_max` (index `t`).
    ///
    /// ```
    /// use unrollcheck::quadratic::Polynomial;
    /// let gd = Polynomial::GradientDescent { h: 0.1 };
    /// let v = gd.sequence(3.0, 5);
    /// assert!((v[5].p - 0.7f64.powi(5)).abs() < 1e-15);
    /// assert!((v[5].dp + 5.0 * 0.1 * 0.7f64.powi(4)).abs() < 1e-15);
    /// ```
    pub fn sequence(&self, lambda: f64, t_max: usize) -> Vec<Values> {
        self.sequence_with(lambda, t_max, Fault::None)
    }

    /// [`Self::sequence`] with a planted bug.
    pub fn sequence_with(&self, lambda: f64, t_max: usize, fault: Fault) -> Vec<Values> {
        let ks: Vec<Coefficients> = (0..t_max).map(|t| self.faulty_coefficients(t, fault)).collect();
        let mut out = Vec::with_capacity(t_max + 1);
        values_along(&ks, lambda, |_, v| out.push(*v));
        out
    }

    /// The coefficients of the first `t` steps, `P_0 → P_1`, …, `P_{t−1} → P_t`: computed
    /// once for [`values_along`] at many `λ`.
    pub fn coefficients_upto(&self, t: usize) -> Vec<Coefficients> {
        (0..t).map(|s| self.coefficients(s)).collect()
    }

    /// `P_t(λ)`, `P_t'(λ)`, `P_t''(λ)` for one `t`.
    pub fn eval(&self, t: usize, lambda: f64) -> Values {
        let (mut prev, mut cur) = (Values::default(), Values { p: 1.0, dp: 0.0, d2p: 0.0 });
        for s in 0..t {
            (prev, cur) = (cur, advance(self.coefficients(s), lambda, &prev, &cur));
        }
        cur
    }

    /// `(P_t(H), P_t'(H))` at a symmetric matrix `H` by the matrix recurrence (`t` products
    /// of `n×n` matrices; an oracle for [`Spectral::apply`]).
    pub fn at_matrix(&self, t: usize, h: &DMatrix<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
        let n = h.nrows();
        let id = DMatrix::<f64>::identity(n, n);
        let (mut p_prev, mut p) = (DMatrix::zeros(n, n), id.clone());
        let (mut d_prev, mut d) = (DMatrix::zeros(n, n), DMatrix::zeros(n, n));
        for s in 0..t {
            let k = self.coefficients(s);
            let a = &id * k.c - h * k.d;
            let p_next = &a * &p + &p_prev * k.b;
            let d_next = &a * &d - &p * k.d + &d_prev * k.b;
            (p_prev, p) = (p, p_next);
            (d_prev, d) = (d, d_next);
        }
        (p, d)
    }
}

/// `P_t`, `P_t'`, `P_t''` at `λ` for `t = 0, …, ks.len()` from the steps' coefficients `ks`
/// ([`Polynomial::coefficients_upto`]), passed to `f(t, values)` in increasing `t`: the
/// values of [`Polynomial::sequence`], the same operations, without allocating.
pub fn values_along(ks: &[Coefficients], lambda: f64, mut f: impl FnMut(usize, &Values)) {
    let (mut prev, mut cur) = (Values::default(), Values { p: 1.0, dp: 0.0, d2p: 0.0 });
    f(0, &cur);
    for (t, &k) in ks.iter().enumerate() {
        (prev, cur) = (cur, advance(k, lambda, &prev, &cur));
        f(t + 1, &cur);
    }
}

/// `P_t`, `P_t'`, `P_t''` at `λ` for `t = ks.len()` ([`values_along`]'s last values; those of
/// [`Polynomial::eval`]).
pub fn value_at(ks: &[Coefficients], lambda: f64) -> Values {
    let mut last = Values::default();
    values_along(ks, lambda, |_, v| last = *v);
    last
}

/// One step of the recurrence and of its first two derivatives in `λ`.
fn advance(k: Coefficients, lambda: f64, prev: &Values, cur: &Values) -> Values {
    let a = k.c - k.d * lambda;
    Values {
        p: a * cur.p + k.b * prev.p,
        dp: a * cur.dp - k.d * cur.p + k.b * prev.dp,
        d2p: a * cur.d2p - 2.0 * k.d * cur.dp + k.b * prev.d2p,
    }
}

/// A symmetric matrix `H = Q diag(λ) Qᵀ` by its eigendecomposition, for evaluating
/// functions of `H` such as `P_t(H)`.
#[derive(Debug, Clone)]
pub struct Spectral {
    /// The eigenvalues `λ_i`.
    pub eigenvalues: DVector<f64>,
    /// The orthonormal eigenvectors (columns of `Q`).
    pub q: DMatrix<f64>,
}

impl Spectral {
    /// Decomposes a symmetric matrix (its symmetric part is used); `None` when the capped
    /// eigenvalue iteration ([`crate::linalg::symmetric_eigen`]) fails.
    pub fn new(h: &DMatrix<f64>) -> Option<Self> {
        let e = crate::linalg::symmetric_eigen(h).ok()?;
        Some(Spectral { eigenvalues: e.eigenvalues, q: e.eigenvectors })
    }

    /// `Q diag(φ_i) Qᵀ M` for the values `φ_i = φ(λ_i)` given per eigenvalue.
    ///
    /// ```
    /// use nalgebra::{dmatrix, DMatrix};
    /// use unrollcheck::quadratic::{Polynomial, Spectral};
    /// let h = dmatrix![2.0, 1.0; 1.0, 3.0];
    /// let hb = Polynomial::HeavyBall { alpha: 0.2, beta: 0.5 };
    /// let sp = Spectral::new(&h).unwrap();
    /// let phi: Vec<f64> = sp.eigenvalues.iter().map(|&l| hb.eval(7, l).p).collect();
    /// let by_eigen = sp.apply(&phi, &DMatrix::identity(2, 2));
    /// let (by_recurrence, _) = hb.at_matrix(7, &h);
    /// assert!((by_eigen - by_recurrence).amax() < 1e-14);
    /// ```
    pub fn apply(&self, phi: &[f64], m: &DMatrix<f64>) -> DMatrix<f64> {
        let mut coords = self.q.tr_mul(m);
        for (i, mut row) in coords.row_iter_mut().enumerate() {
            row *= phi[i];
        }
        &self.q * coords
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `values_along` and `value_at` from precomputed coefficients are bitwise
    /// `Polynomial::sequence` and `Polynomial::eval` for the three methods (Chebyshev's
    /// coefficients vary with `t`); a control: one step fewer is not.
    #[test]
    fn precomputed_coefficients_give_the_same_values() {
        let polys = [
            Polynomial::GradientDescent { h: 0.1 },
            Polynomial::HeavyBall { alpha: 0.2, beta: 0.5 },
            Polynomial::Chebyshev { mu: 0.5, l: 4.0 },
        ];
        for poly in polys {
            let ks = poly.coefficients_upto(30);
            for lambda in [0.5, 1.3, 4.0] {
                let mut along = Vec::new();
                values_along(&ks, lambda, |t, v| along.push((t, *v)));
                let want: Vec<(usize, Values)> = poly.sequence(lambda, 30).into_iter().enumerate().collect();
                assert_eq!(along, want, "{poly:?} at {lambda}");
                for t in [0, 1, 7, 30] {
                    assert_eq!(value_at(&ks[..t], lambda), poly.eval(t, lambda), "{poly:?}, t = {t}");
                }
                assert_ne!(value_at(&ks[..29], lambda), poly.eval(30, lambda), "control: one step fewer");
            }
        }
    }
}
