//! Proptest strategies that generate instance *specs* (never matrices): a spec is a few
//! numbers and a seed, shrinking reduces dimensions, conditioning and distances, and any
//! failure replays from the spec it prints (docs/style.md, habit 2).

use proptest::prelude::*;
use unrollcheck::map::layer::LayerParam;
use unrollcheck::problem::logistic::LogisticParam;
use unrollcheck::problem::ridge::RidgeParam;
use unrollcheck::problem::robust::RobustParam;
use unrollcheck::spec::{Data, Family, Method, Norm, Spec, StepRule};

/// Dimensions: `n ≤ 4` unknowns, `m ≤ n + 5` rows (the `(A, b)` family has `p = mn + m ≤ 45`).
pub const N_MAX: usize = 4;
/// Extra rows beyond `n`.
pub const EXTRA_ROWS_MAX: usize = 5;

/// The ridge families (quadratic objectives).
pub fn ridge() -> impl Strategy<Value = Family> {
    prop_oneof![Just(RidgeParam::Weight), Just(RidgeParam::Targets), Just(RidgeParam::Data)]
        .prop_map(|param| Family::Ridge { param })
}

fn robust_param() -> impl Strategy<Value = RobustParam> {
    prop_oneof![Just(RobustParam::Weight), Just(RobustParam::Targets)]
}

fn pseudo_huber() -> impl Strategy<Value = Family> {
    (robust_param(), 0.1..5.0f64).prop_map(|(param, delta)| Family::PseudoHuber { param, delta })
}

fn huber() -> impl Strategy<Value = Family> {
    (robust_param(), 0.1..5.0f64).prop_map(|(param, delta)| Family::Huber { param, delta })
}

/// Families on which A2.1 and A2.2 hold under gradient descent with a contractive step.
pub fn smooth_family() -> impl Strategy<Value = Family> {
    prop_oneof![ridge(), pseudo_huber()]
}

/// Every family, the classic Huber loss included.
pub fn any_family() -> impl Strategy<Value = Family> {
    prop_oneof![ridge(), pseudo_huber(), huber()]
}

fn data() -> impl Strategy<Value = Data> {
    prop_oneof![
        Just(Data::Paper),
        (0.2..1.0f64, 1.0..10.0f64).prop_map(|(s_min, ratio)| Data::Spectrum { s_min, s_max: s_min * ratio }),
    ]
}

/// Contractive step rules: `2/(L+μ)`, `1/L`, `1/(3L)` and `c·2/L` with `c ∈ (0.02, 0.98)`.
pub fn contractive_step() -> impl Strategy<Value = StepRule> {
    prop_oneof![
        Just(StepRule::Optimal),
        Just(StepRule::InvL),
        Just(StepRule::InvThreeL),
        (0.02..0.98f64).prop_map(|c| StepRule::FractionOfTwoOverL { c }),
    ]
}

/// Non-contractive steps `α = c·2/L`, `c ∈ [1, 1.3]`: A2.1 must be reported failing.
pub fn non_contractive_step() -> impl Strategy<Value = StepRule> {
    (1.0..1.3f64).prop_map(|c| StepRule::FractionOfTwoOverL { c })
}

fn x0_sigma() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![Just(None), Just(Some(0.0)), (0.01..20.0f64).prop_map(Some)]
}

/// A spec from the given family, method and step strategies. `λ` is positive for the
/// weight and robust families (the parameter, and strong convexity), and may be 0 for
/// ridge with `m ≥ n` (then `AᵀA` is nonsingular almost surely).
pub fn spec(
    family: impl Strategy<Value = Family>,
    method: impl Strategy<Value = Method>,
    step: impl Strategy<Value = StepRule>,
) -> impl Strategy<Value = Spec> {
    (family, method, 1..=N_MAX, 0..=EXTRA_ROWS_MAX, data(), 0.01..1.0f64, any::<bool>(), step, x0_sigma(), any::<u64>())
        .prop_map(|(family, method, n, extra, data, lambda, zero_lambda, step, x0_sigma, seed)| {
            let ridge_data = matches!(family, Family::Ridge { param: RidgeParam::Targets | RidgeParam::Data });
            let lambda = if ridge_data && zero_lambda { 0.0 } else { lambda };
            Spec { family, method, m: n + extra, n, data, lambda, step, x0_sigma, seed, norm: Norm::Euclidean }
        })
}

/// Gradient descent.
pub fn gd() -> impl Strategy<Value = Method> {
    Just(Method::GradientDescent)
}

/// Heavy-ball with `β ∈ [0.05, 0.9]`.
pub fn heavy_ball() -> impl Strategy<Value = Method> {
    (0.05..0.9f64).prop_map(|beta| Method::HeavyBall { beta })
}

/// The Chebyshev semi-iterative method (time-varying).
pub fn chebyshev() -> impl Strategy<Value = Method> {
    Just(Method::Chebyshev)
}

/// The polynomial methods of the quadratic theory.
pub fn polynomial_method() -> impl Strategy<Value = Method> {
    prop_oneof![gd(), heavy_ball(), chebyshev()]
}

/// Ridge with a parameter whose Hessian derivative commutes with `H` (weight: `∂H = I`;
/// targets: `∂H = 0`).
fn commuting_ridge() -> impl Strategy<Value = Family> {
    prop_oneof![Just(RidgeParam::Weight), Just(RidgeParam::Targets)].prop_map(|param| Family::Ridge { param })
}

/// Where the quadratic theory applies: the three methods on ridge weight and targets.
pub fn quadratic_commuting() -> impl Strategy<Value = Spec> {
    spec(commuting_ridge(), polynomial_method(), contractive_step())
}

/// Where `scieur.residual` applies: the three methods on every ridge family.
pub fn quadratic() -> impl Strategy<Value = Spec> {
    spec(ridge(), polynomial_method(), contractive_step())
}

/// Where `f` is not quadratic: pseudo-Huber and Huber.
pub fn not_quadratic() -> impl Strategy<Value = Spec> {
    spec(prop_oneof![pseudo_huber(), huber()], polynomial_method(), contractive_step())
}

/// Where `H(θ)` and `∂_θH` do not commute: ridge with the data `(A, b)` as parameter
/// (`n ≥ 2`; with `n = 1` every matrix commutes).
pub fn not_commuting() -> impl Strategy<Value = Spec> {
    spec(Just(Family::Ridge { param: RidgeParam::Data }), polynomial_method(), contractive_step())
        .prop_filter("n >= 2", |s| s.n >= 2)
}

/// Where the controls of the quadratic theory have counterexamples: heavy-ball and
/// Chebyshev (interior maxima of `|P_t − λP_t'|`), ridge weight started at a distance, and
/// every commuting quadratic instance.
pub fn quadratic_tight() -> impl Strategy<Value = Spec> {
    let hb_weight = (2..=N_MAX, 0.05..0.9f64, 1.0..20.0f64, any::<u64>()).prop_map(|(n, beta, sigma, seed)| Spec {
        method: Method::HeavyBall { beta },
        m: 3 * n,
        n,
        x0_sigma: Some(sigma),
        ..Spec::figure2(seed)
    });
    prop_oneof![hb_weight, quadratic_commuting()]
}

/// Where every assumption holds: gradient descent, contractive step, smooth family.
pub fn assumptions_hold() -> impl Strategy<Value = Spec> {
    spec(smooth_family(), gd(), contractive_step())
}

/// Everything, for claims without assumptions: every method (the time-varying Chebyshev
/// included), every family, contractive or not.
pub fn anything() -> impl Strategy<Value = Spec> {
    let step = prop_oneof![4 => contractive_step(), 1 => non_contractive_step()];
    spec(any_family(), prop_oneof![gd(), heavy_ball(), chebyshev()], step)
}

/// Where A2.1 fails: heavy-ball (Euclidean norm ≥ 1), Chebyshev (time-varying), or gradient
/// descent with `α ≥ 2/L`.
pub fn contraction_fails() -> impl Strategy<Value = Spec> {
    prop_oneof![
        spec(any_family(), prop_oneof![heavy_ball(), chebyshev()], contractive_step()),
        spec(any_family(), gd(), non_contractive_step()),
    ]
}

/// Heavy-ball on the quadratic (ridge) families with a contractive step, in the Euclidean
/// norm; [`adapted`] gives the same spec in the adapted norm `‖P⁻¹z‖` (same draws).
pub fn heavy_ball_ridge() -> impl Strategy<Value = Spec> {
    spec(ridge(), heavy_ball(), contractive_step())
}

/// The same spec in the adapted norm giving up the share `eps` of the spectral gap.
pub fn adapted(spec: &Spec, eps: f64) -> Spec {
    Spec { norm: Norm::Adapted { eps }, ..*spec }
}

/// Where A2.2 fails but A2.1 holds: gradient descent on the classic Huber loss.
pub fn smoothness_fails() -> impl Strategy<Value = Spec> {
    spec(huber(), gd(), contractive_step())
}

/// Where the paper's bounds are tight or the curse is strong, so that false variants have
/// counterexamples: the Figure 2 setting (ridge weight, far start), ridge with a nearly
/// flat spectrum (Lemma 6 nearly an equality), the tight data of (19) (`Data::Tight`, ridge
/// weight from the origin: (14), (17), (19) and (21) hold with equality), plus everything
/// where the assumptions hold.
pub fn tight() -> impl Strategy<Value = Spec> {
    let equality = (1..=N_MAX, 0..=EXTRA_ROWS_MAX, 0.01..1.0f64, contractive_step(), any::<u64>()).prop_map(
        |(n, extra, lambda, step, seed)| Spec {
            m: n + extra,
            n,
            data: Data::Tight,
            lambda,
            step,
            x0_sigma: None,
            ..Spec::figure2(seed)
        },
    );
    let figure2 = (2..=N_MAX, 1.0..20.0f64, any::<u64>()).prop_map(|(n, sigma, seed)| Spec {
        m: 3 * n,
        n,
        x0_sigma: Some(sigma),
        ..Spec::figure2(seed)
    });
    let flat = (
        1..=N_MAX,
        0.3..1.0f64,
        1.0..1.5f64,
        any::<u64>(),
        prop_oneof![Just(RidgeParam::Targets), Just(RidgeParam::Data)],
    )
        .prop_map(|(n, s_min, ratio, seed, param)| Spec {
            family: Family::Ridge { param },
            method: Method::GradientDescent,
            m: n + 2,
            n,
            data: Data::Spectrum { s_min, s_max: s_min * ratio },
            lambda: 0.0,
            step: StepRule::Optimal,
            x0_sigma: Some(1.0),
            seed,
            norm: Norm::Euclidean,
        });
    prop_oneof![figure2, flat, equality, assumptions_hold()]
}

// ---------------------------------------------------------------------------------------
// The maps beyond the paper of issue #16: Nesterov and logistic regression
// ---------------------------------------------------------------------------------------

/// Weighted logistic regression with an ℓ2 penalty (λ ∈ [0.01, 1): strongly convex).
pub fn logistic() -> impl Strategy<Value = Family> {
    prop_oneof![Just(LogisticParam::Weight), Just(LogisticParam::SampleWeights), Just(LogisticParam::Data)]
        .prop_map(|param| Family::Logistic { param })
}

/// Nesterov's method, both schedules.
pub fn nesterov() -> impl Strategy<Value = Method> {
    prop_oneof![Just(Method::Nesterov), Just(Method::NesterovConvex)]
}

/// Steps at most `1/L` (Nesterov's method is tuned to `α ≤ 1/L`; beyond it a block
/// `1 − αλ < 0` can make it diverge).
pub fn short_step() -> impl Strategy<Value = StepRule> {
    prop_oneof![
        Just(StepRule::InvL),
        Just(StepRule::InvThreeL),
        (0.02..0.5f64).prop_map(|c| StepRule::FractionOfTwoOverL { c }),
    ]
}

/// Where A2.1 fails for Nesterov: either schedule in the Euclidean norm (`‖D_zA‖ ≥ 1`, or
/// time-varying), on every family, logistic included.
pub fn nesterov_contraction_fails() -> impl Strategy<Value = Spec> {
    spec(prop_oneof![any_family(), logistic()], nesterov(), short_step())
}

/// Where every assumption holds on logistic regression: gradient descent, contractive step.
pub fn logistic_assumptions_hold() -> impl Strategy<Value = Spec> {
    spec(logistic(), gd(), contractive_step())
}

/// Nesterov with constant momentum on the quadratic (ridge) families, in the Euclidean
/// norm; [`adapted`] gives the same spec in the adapted norm.
pub fn nesterov_ridge() -> impl Strategy<Value = Spec> {
    spec(ridge(), Just(Method::Nesterov), short_step())
}

/// The random contraction layer `tanh(Wx + Uv + b)` (issue #16; no objective, method
/// `picard`): each parameter, `ρ_W = ‖W‖₂ ∈ [0.05, 0.99)`, state `n ≤ 5`, input `m ≤ 4`,
/// the initial points of [`spec`]. The objective's axes (`data`, `λ`, `step`) do not enter
/// the layer's draw and stay at fixed placeholders.
pub fn layer() -> impl Strategy<Value = Spec> {
    let param = prop_oneof![Just(LayerParam::Input), Just(LayerParam::Bias), Just(LayerParam::Weights)];
    (param, 0.05..0.99f64, 1..=5usize, 1..=4usize, x0_sigma(), any::<u64>()).prop_map(
        |(param, rho_w, n, m, x0_sigma, seed)| Spec {
            family: Family::Layer { param, rho_w },
            method: Method::Picard,
            m,
            n,
            data: Data::Paper,
            lambda: 0.1,
            step: StepRule::Optimal,
            x0_sigma,
            seed,
            norm: Norm::Euclidean,
        },
    )
}

// ---------------------------------------------------------------------------------------
// The long runs of issue #14 (`<id>::paper::long`, with PROPTEST_CASES set)
// ---------------------------------------------------------------------------------------

/// The largest `n` of [`long`].
pub const N_MAX_LONG: usize = 50;

/// Gradient descent on ridge (weight, targets) and pseudo-Huber (weight) beyond the sizes
/// of [`assumptions_hold`]: `n` up to [`N_MAX_LONG`] (`m = n + 10`), controlled spectra
/// with singular values in `[s_min, 100·s_min]` at most (condition numbers of `AᵀA` up to
/// 1e4), `λ ∈ [10⁻³, 1)`, every contractive step, the initial points of [`spec`]. (The data
/// parameter `(A, b)` is left out: `p = mn + m` makes its dense Jacobians too large here.)
pub fn long() -> impl Strategy<Value = Spec> {
    let family = prop_oneof![
        Just(Family::Ridge { param: RidgeParam::Weight }),
        Just(Family::Ridge { param: RidgeParam::Targets }),
        (0.1..5.0f64).prop_map(|delta| Family::PseudoHuber { param: RobustParam::Weight, delta }),
    ];
    (family, 1..=N_MAX_LONG, 0.1..1.0f64, 1.0..100.0f64, 1e-3..1.0f64, contractive_step(), x0_sigma(), any::<u64>())
        .prop_map(|(family, n, s_min, ratio, lambda, step, x0_sigma, seed)| Spec {
            family,
            method: Method::GradientDescent,
            m: n + 10,
            n,
            data: Data::Spectrum { s_min, s_max: s_min * ratio },
            lambda,
            step,
            x0_sigma,
            seed,
            norm: Norm::Euclidean,
        })
}

// ---------------------------------------------------------------------------------------
// Proximal gradient on the elastic net (issue #16, item 4)
// ---------------------------------------------------------------------------------------

/// The elastic net with `λ₁ = 0.3‖Aᵀb‖_∞`, every parameter (`λ₁`, `b`, `λ₂`).
pub fn elastic_net() -> impl Strategy<Value = Family> {
    use unrollcheck::map::proximal::ElasticNetParam;
    prop_oneof![Just(ElasticNetParam::L1), Just(ElasticNetParam::Targets), Just(ElasticNetParam::L2)]
        .prop_map(|param| Family::ElasticNet { param, l1: 0.3 })
}

/// Proximal gradient restarted at support identification (`Restart::Identified`), with a
/// contractive step from `x_0 = x* + σg`, `σ ∈ [0.1, 20]`: A2.1 holds globally and A2.2 on
/// the restarted instance's ball (the map is affine there). Draws whose strict
/// complementarity margin is so small that the run does not reach the affine ball within
/// the steps searched (the spec does not build) are filtered out, as are those whose
/// instance ball (widened by rounding) reaches the kink.
pub fn proximal_identified() -> impl Strategy<Value = Spec> {
    use unrollcheck::spec::Restart;
    let method = Just(Method::ProxGd { restart: Restart::Identified });
    (spec(elastic_net(), method, contractive_step()), 0.1..20.0f64)
        .prop_map(|(spec, sigma)| Spec { x0_sigma: Some(sigma), lambda: spec.lambda.max(0.01), ..spec })
        .prop_filter("the run reaches the affine ball and A2.2 holds there", |s| {
            s.build().is_ok_and(|i| i.constants.contraction() && i.constants.smooth())
        })
}

/// Proximal gradient from a far start (`σ ∈ [10, 20]`, `n ≥ 2`): its ball crosses the
/// kinks, where `D_xA` jumps, so A2.2 fails (the rare draw whose ball stays on one affine
/// piece is filtered out).
pub fn proximal_far() -> impl Strategy<Value = Spec> {
    let method = Just(Method::ProxGd { restart: unrollcheck::spec::Restart::X0 });
    (spec(elastic_net(), method, contractive_step()), 10.0..20.0f64, 2..=N_MAX)
        .prop_map(|(spec, sigma, n)| Spec {
            x0_sigma: Some(sigma),
            n,
            m: spec.m.max(n),
            lambda: spec.lambda.max(0.01),
            ..spec
        })
        .prop_filter("the ball crosses a kink", |s| s.build().is_ok_and(|i| !i.constants.smooth()))
}
