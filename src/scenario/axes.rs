//! The grid of a scenario file, parsed once into typed axes.
//!
//! [`ScenarioFile`] keeps the file as written (strings with their spans, so that every
//! error names the line and the key); [`Axes::parse`] turns each axis into the values the
//! runner expands, checking each one where it is written. Nothing downstream parses a
//! string again: [`crate::scenario::Scenario::points`] is a plain cross product.

use super::{ScenarioFile, X0, at};
use crate::error::{Error, Result};
use crate::map::layer::LayerParam;
use crate::map::proximal::ElasticNetParam;
use crate::problem::logistic::LogisticParam;
use crate::problem::ridge::RidgeParam;
use crate::problem::robust::RobustParam;
use crate::spec::{Data, Family, Method, Norm, Restart, StepRule, rules};
use toml::Spanned;

/// Default share of the spectral gap given up by the adapted norm.
pub const DEFAULT_EPS: f64 = 0.1;

/// Default `ρ_W = ‖W‖₂` of the layer families.
pub const DEFAULT_RHO_W: f64 = 0.9;

/// The `ℓ₁` weight of the elastic-net families as a fraction of `‖Aᵀb‖_∞` (the smallest
/// weight with `x* = 0`): `λ₁ = 0.3‖Aᵀb‖_∞` (see [`Family::ElasticNet`]).
pub const ELASTIC_NET_L1_FRACTION: f64 = 0.3;

/// A family of the `grid.family` axis, before its Huber scale `δ` is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyName {
    /// `ridge_weight`, `ridge_targets`, `ridge_data`.
    Ridge(RidgeParam),
    /// `pseudo_huber_weight`, `pseudo_huber_targets`.
    PseudoHuber(RobustParam),
    /// `huber_weight`, `huber_targets`.
    Huber(RobustParam),
    /// `logistic_weight`, `logistic_sample_weights`, `logistic_data`.
    Logistic(LogisticParam),
    /// `layer_input`, `layer_bias`, `layer_weights` (no objective; method `picard` only).
    Layer(LayerParam),
    /// `elastic_net_l1`, `elastic_net_targets`, `elastic_net_l2` (the proximal methods only).
    ElasticNet(ElasticNetParam),
}

/// The names of [`FamilyName`], in the order the error messages list them.
const FAMILIES: &[&str] = &[
    "ridge_weight",
    "ridge_targets",
    "ridge_data",
    "pseudo_huber_weight",
    "pseudo_huber_targets",
    "huber_weight",
    "huber_targets",
    "logistic_weight",
    "logistic_sample_weights",
    "logistic_data",
    "layer_input",
    "layer_bias",
    "layer_weights",
    "elastic_net_l1",
    "elastic_net_targets",
    "elastic_net_l2",
];

impl FamilyName {
    /// Parses a family name at its span in `path`.
    pub fn parse(path: &str, text: &str, name: &Spanned<String>) -> Result<Self> {
        let robust = |p: &str| if p == "weight" { RobustParam::Weight } else { RobustParam::Targets };
        Ok(match name.get_ref().as_str() {
            "ridge_weight" => FamilyName::Ridge(RidgeParam::Weight),
            "ridge_targets" => FamilyName::Ridge(RidgeParam::Targets),
            "ridge_data" => FamilyName::Ridge(RidgeParam::Data),
            "logistic_weight" => FamilyName::Logistic(LogisticParam::Weight),
            "logistic_sample_weights" => FamilyName::Logistic(LogisticParam::SampleWeights),
            "logistic_data" => FamilyName::Logistic(LogisticParam::Data),
            "layer_input" => FamilyName::Layer(LayerParam::Input),
            "layer_bias" => FamilyName::Layer(LayerParam::Bias),
            "layer_weights" => FamilyName::Layer(LayerParam::Weights),
            "elastic_net_l1" => FamilyName::ElasticNet(ElasticNetParam::L1),
            "elastic_net_targets" => FamilyName::ElasticNet(ElasticNetParam::Targets),
            "elastic_net_l2" => FamilyName::ElasticNet(ElasticNetParam::L2),
            s if s.starts_with("pseudo_huber_") => FamilyName::PseudoHuber(robust(&s[13..])),
            s if s.starts_with("huber_") => FamilyName::Huber(robust(&s[6..])),
            other => {
                return Err(at(
                    path,
                    text,
                    "grid.family",
                    name,
                    format!("unknown family `{other}` (one of {})", FAMILIES.join(", ")),
                ));
            }
        })
    }

    /// The family at Huber scale `delta` (ignored by ridge and logistic; a layer family gets
    /// the default `ρ_W`, see [`Axes::family_values`] for the grid's).
    pub fn with_delta(self, delta: f64) -> Family {
        match self {
            FamilyName::Layer(param) => Family::Layer { param, rho_w: DEFAULT_RHO_W },
            FamilyName::Ridge(param) => Family::Ridge { param },
            FamilyName::PseudoHuber(param) => Family::PseudoHuber { param, delta },
            FamilyName::Huber(param) => Family::Huber { param, delta },
            FamilyName::Logistic(param) => Family::Logistic { param },
            FamilyName::ElasticNet(param) => Family::ElasticNet { param, l1: ELASTIC_NET_L1_FRACTION },
        }
    }

    /// `true` for the (pseudo-)Huber families, which take the `δ` axis.
    pub fn is_robust(self) -> bool {
        matches!(self, FamilyName::PseudoHuber(_) | FamilyName::Huber(_))
    }

    /// `true` for the layer families (no objective; `grid.m` is the input length).
    pub fn is_layer(self) -> bool {
        matches!(self, FamilyName::Layer(_))
    }

    /// The dimension of the parameter `u` on `m × n` data.
    pub fn parameter_dim(self, m: f64, n: f64) -> f64 {
        match self {
            FamilyName::Layer(LayerParam::Input) => m,
            FamilyName::Layer(LayerParam::Bias) => n,
            FamilyName::Layer(LayerParam::Weights) => m * n,
            FamilyName::Ridge(RidgeParam::Data) => m * n + m,
            FamilyName::Logistic(LogisticParam::Data) => m * n,
            FamilyName::Logistic(LogisticParam::SampleWeights) => m,
            FamilyName::ElasticNet(ElasticNetParam::Targets) => m,
            FamilyName::Ridge(RidgeParam::Targets)
            | FamilyName::PseudoHuber(RobustParam::Targets)
            | FamilyName::Huber(RobustParam::Targets) => m,
            _ => 1.0,
        }
    }
}

/// A method of the `grid.method` axis, before its momentum `β` is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodName {
    /// `gd`.
    GradientDescent,
    /// `heavy_ball` (takes the `β` axis).
    HeavyBall,
    /// `chebyshev`.
    Chebyshev,
    /// `nesterov` (constant momentum of the strongly convex method).
    Nesterov,
    /// `nesterov_convex` (the convex schedule, time-varying).
    NesterovConvex,
    /// `picard` (the plain iteration of a map given as such: the layer families only).
    Picard,
    /// `prox_gd` (from `x_0`) and `prox_gd_identified` (restarted at support
    /// identification): the elastic net only.
    ProxGd(Restart),
    /// `fista`, `fista_identified`: the elastic net only.
    Fista(Restart),
}

impl MethodName {
    fn parse(path: &str, text: &str, name: &Spanned<String>) -> Result<Self> {
        Ok(match name.get_ref().as_str() {
            "gd" => MethodName::GradientDescent,
            "heavy_ball" => MethodName::HeavyBall,
            "chebyshev" => MethodName::Chebyshev,
            "nesterov" => MethodName::Nesterov,
            "nesterov_convex" => MethodName::NesterovConvex,
            "picard" => MethodName::Picard,
            "prox_gd" => MethodName::ProxGd(Restart::X0),
            "prox_gd_identified" => MethodName::ProxGd(Restart::Identified),
            "fista" => MethodName::Fista(Restart::X0),
            "fista_identified" => MethodName::Fista(Restart::Identified),
            other => {
                return Err(at(
                    path,
                    text,
                    "grid.method",
                    name,
                    format!(
                        "unknown method `{other}` (gd, heavy_ball, chebyshev, nesterov, nesterov_convex, picard, prox_gd, prox_gd_identified, fista or fista_identified)"
                    ),
                ));
            }
        })
    }

    /// The method at momentum `beta` (ignored except by heavy-ball).
    pub fn with_beta(self, beta: f64) -> Method {
        match self {
            MethodName::GradientDescent => Method::GradientDescent,
            MethodName::HeavyBall => Method::HeavyBall { beta },
            MethodName::Chebyshev => Method::Chebyshev,
            MethodName::Nesterov => Method::Nesterov,
            MethodName::NesterovConvex => Method::NesterovConvex,
            MethodName::Picard => Method::Picard,
            MethodName::ProxGd(restart) => Method::ProxGd { restart },
            MethodName::Fista(restart) => Method::Fista { restart },
        }
    }

    /// `true` for the proximal methods (the elastic net only).
    pub fn is_proximal(self) -> bool {
        matches!(self, MethodName::ProxGd(_) | MethodName::Fista(_))
    }
}

/// Refuses a grid that crosses the elastic net with a method other than the proximal
/// ones, or a proximal method with another family: at the first offending method entry
/// (or at the elastic-net family entry when `grid.method` is left at its default `gd`).
fn check_proximal(
    path: &str,
    text: &str,
    g: &super::Grid,
    families: &[FamilyName],
    methods: &[MethodName],
) -> Result<()> {
    let elastic = families.iter().any(|f| matches!(f, FamilyName::ElasticNet(_)));
    let other = families.iter().any(|f| !matches!(f, FamilyName::ElasticNet(_)));
    for (m, span) in methods.iter().zip(&g.method) {
        if m.is_proximal() && other {
            return Err(at(
                path,
                text,
                "grid.method",
                span,
                format!(
                    "`{}` runs on the elastic net only (elastic_net_l1, elastic_net_targets, elastic_net_l2): grid.family lists another family",
                    span.get_ref()
                ),
            ));
        }
        if !m.is_proximal() && elastic {
            return Err(at(
                path,
                text,
                "grid.method",
                span,
                format!(
                    "the elastic net runs under the proximal methods only (prox_gd, prox_gd_identified, fista, fista_identified), not `{}`",
                    span.get_ref()
                ),
            ));
        }
    }
    if g.method.is_empty()
        && let Some((_, span)) = families.iter().zip(&g.family).find(|(f, _)| matches!(f, FamilyName::ElasticNet(_)))
    {
        return Err(at(
            path,
            text,
            "grid.family",
            span,
            "the elastic net runs under the proximal methods only: give grid.method = [\"prox_gd\", ...] (the default is gd)",
        ));
    }
    Ok(())
}

/// Parses a step rule (`2/(L+m)`, `1/L`, `1/(3L)`, `c=<positive number>`) at its span.
pub fn step_rule(path: &str, text: &str, s: &Spanned<String>) -> Result<StepRule> {
    Ok(match s.get_ref().as_str() {
        "2/(L+m)" => StepRule::Optimal,
        "1/L" => StepRule::InvL,
        "1/(3L)" => StepRule::InvThreeL,
        other => match other.strip_prefix("c=").map(str::parse::<f64>) {
            Some(Ok(c)) if rules::positive(c).is_ok() => StepRule::FractionOfTwoOverL { c },
            _ => {
                return Err(at(
                    path,
                    text,
                    "grid.step",
                    s,
                    format!("unknown step rule `{other}` (one of 2/(L+m), 1/L, 1/(3L), c=<positive number>)"),
                ));
            }
        },
    })
}

/// The axes of the grid, typed, defaults filled in; the cross product of
/// [`crate::scenario::Scenario::points`] runs over them in this field order (`δ` inside the
/// family, `β` inside the method, the norm innermost).
#[derive(Debug, Clone, PartialEq)]
pub struct Axes {
    /// `grid.family`.
    pub families: Vec<FamilyName>,
    /// `grid.delta` (default `[0.5]`), for the robust families.
    pub deltas: Vec<f64>,
    /// `grid.method` (default `[gd]`).
    pub methods: Vec<MethodName>,
    /// `grid.beta` (default `[0.5]`), for heavy-ball.
    pub betas: Vec<f64>,
    /// `grid.m`.
    pub m: Vec<usize>,
    /// `grid.n`.
    pub n: Vec<usize>,
    /// `grid.data` (default `[paper]`), `spectrum` expanded once per `grid.spectrum` pair.
    pub data: Vec<Data>,
    /// `grid.lambda` (default `[0.1]`).
    pub lambdas: Vec<f64>,
    /// `grid.step`.
    pub steps: Vec<StepRule>,
    /// `grid.x0` (default `["origin"]`): `Some(σ)`, or `None` for `x_0 = 0`.
    pub x0_sigmas: Vec<Option<f64>>,
    /// `grid.norm` (default `[euclidean]`), `adapted` expanded once per `grid.eps`.
    pub norms: Vec<Norm>,
    /// `grid.rho_w` (default `[0.9]`), for the layer families.
    pub rho_ws: Vec<f64>,
}

impl Axes {
    /// Parses and checks every value the grid takes (and the scalar key `instances`), with the line of the offending entry. The checks run in a fixed
    /// order, so a file with several errors always reports the same one first.
    pub fn parse(path: &str, text: &str, f: &ScenarioFile) -> Result<Self> {
        check_scalars(path, text, f)?;
        let g = &f.grid;
        for (key, empty) in [("family", g.family.is_empty()), ("m", g.m.is_empty()), ("n", g.n.is_empty())] {
            if empty {
                return Err(empty_axis(path, text, key));
            }
        }
        let families = g.family.iter().map(|s| FamilyName::parse(path, text, s)).collect::<Result<Vec<_>>>()?;
        let methods = g.method.iter().map(|s| MethodName::parse(path, text, s)).collect::<Result<Vec<_>>>()?;
        let layer = check_layer_grid(path, text, g, &families, &methods)?;
        if g.step.is_empty() && !layer {
            return Err(empty_axis(path, text, "step"));
        }
        check_proximal(path, text, g, &families, &methods)?;
        let m = dimension(path, text, "grid.m", &g.m)?;
        let n = dimension(path, text, "grid.n", &g.n)?;
        let data = data(path, text, &g.data, &g.spectrum)?;
        let lambdas = checked(path, text, "grid.lambda", &g.lambda, rules::lambda)?;
        // The robust losses are not strongly convex: their ridge term λ > 0 is what makes
        // the inner problem strongly convex (ridge least squares with λ = 0 is, when M ≥ N).
        if families.iter().any(|f| f.is_robust())
            && let Some(v) = g.lambda.iter().find(|v| *v.get_ref() == 0.0)
        {
            return Err(at(
                path,
                text,
                "grid.lambda",
                v,
                "λ = 0 leaves the (pseudo-)Huber families without strong convexity: use λ > 0 with them",
            ));
        }
        // Logistic regression is not strongly convex either without its penalty.
        if families.iter().any(|f| matches!(f, FamilyName::Logistic(_)))
            && let Some(v) = g.lambda.iter().find(|v| *v.get_ref() == 0.0)
        {
            return Err(at(
                path,
                text,
                "grid.lambda",
                v,
                "λ = 0 leaves the logistic families without strong convexity: use λ > 0 with them",
            ));
        }
        let deltas = checked(path, text, "grid.delta", &g.delta, rules::positive)?;
        let betas = checked(path, text, "grid.beta", &g.beta, rules::unit_interval)?;
        let eps = checked(path, text, "grid.eps", &g.eps, rules::unit_interval)?;
        let norms = norms(path, text, &g.norm, &eps)?;
        let steps = g.step.iter().map(|s| step_rule(path, text, s)).collect::<Result<Vec<_>>>()?;
        let x0_sigmas = x0(path, text, &g.x0)?;
        let rho_ws = checked(path, text, "grid.rho_w", &g.rho_w, rules::open_unit_interval)?;
        Ok(Axes {
            families,
            deltas: or_default(deltas, 0.5),
            methods: or_default(methods, MethodName::GradientDescent),
            betas: or_default(betas, 0.5),
            m,
            n,
            data,
            lambdas: or_default(lambdas, 0.1),
            // The layer ignores the step rule: one placeholder value, so that the grid's
            // cross product is not empty.
            steps: or_default(steps, StepRule::Optimal),
            x0_sigmas: or_default(x0_sigmas, None),
            norms,
            rho_ws: or_default(rho_ws, DEFAULT_RHO_W),
        })
    }

    /// The families of one `grid.family` entry: over the `δ` axis for the robust ones, the
    /// `ρ_W` axis for the layer ones, one otherwise.
    pub fn family_values(&self, family: FamilyName) -> Vec<Family> {
        match family {
            FamilyName::Layer(param) => self.rho_ws.iter().map(|&rho_w| Family::Layer { param, rho_w }).collect(),
            _ => self.deltas_of(family).into_iter().map(|d| family.with_delta(d)).collect(),
        }
    }

    /// The `δ` values of a family: the axis for the robust ones, the unused default otherwise.
    pub fn deltas_of(&self, family: FamilyName) -> Vec<f64> {
        if family.is_robust() { self.deltas.clone() } else { vec![0.5] }
    }

    /// The `β` values of a method: the axis for heavy-ball, the unused `0` otherwise.
    pub fn betas_of(&self, method: MethodName) -> Vec<f64> {
        if method == MethodName::HeavyBall { self.betas.clone() } else { vec![0.0] }
    }
}

/// The layer families (no objective) take the method `picard` and nothing else, and only
/// they take it; the axes of the objective families (`step`, `data`, `spectrum`, `lambda`,
/// `delta`, `beta`, `norm`, `eps`) do not apply to them, nor `rho_w` to the others. Every
/// refusal names the key and the line of the offending entry. Returns `true` for a grid
/// of layer families.
fn check_layer_grid(
    path: &str,
    text: &str,
    g: &super::Grid,
    families: &[FamilyName],
    methods: &[MethodName],
) -> Result<bool> {
    let layer = families.iter().position(|f| f.is_layer());
    let objective = families.iter().position(|f| !f.is_layer());
    match (layer, objective) {
        (Some(i), _) => {
            if let Some(j) = methods.iter().position(|&m| m != MethodName::Picard) {
                return Err(at(
                    path,
                    text,
                    "grid.method",
                    &g.method[j],
                    format!(
                        "`{}` needs an objective, which the layer family `{}` has none of: the layer families take method = [\"picard\"] only",
                        g.method[j].get_ref(),
                        g.family[i].get_ref()
                    ),
                ));
            }
            if methods.is_empty() {
                return Err(at(
                    path,
                    text,
                    "grid.family",
                    &g.family[i],
                    format!(
                        "the layer family `{}` has no objective for the default method gd: give method = [\"picard\"]",
                        g.family[i].get_ref()
                    ),
                ));
            }
            if let Some(j) = objective {
                return Err(at(
                    path,
                    text,
                    "grid.family",
                    &g.family[j],
                    format!(
                        "`{}` is an objective, which method `picard` does not take (it iterates the layer families only)",
                        g.family[j].get_ref()
                    ),
                ));
            }
            let unused = |key: &str, span: Option<std::ops::Range<usize>>| -> Result<()> {
                match span {
                    Some(span) => Err(Error::Input {
                        location: format!("{path}: {}, key `{key}`", super::line_col(text, span.start)),
                        message: format!(
                            "`{key}` does not apply to the layer families (they draw no data and take no step)"
                        ),
                    }),
                    None => Ok(()),
                }
            };
            unused("grid.step", g.step.first().map(|s| s.span()))?;
            unused("grid.data", g.data.first().map(|s| s.span()))?;
            unused("grid.spectrum", g.spectrum.first().map(|s| s.span()))?;
            unused("grid.lambda", g.lambda.first().map(|s| s.span()))?;
            unused("grid.delta", g.delta.first().map(|s| s.span()))?;
            unused("grid.beta", g.beta.first().map(|s| s.span()))?;
            unused("grid.norm", g.norm.first().map(|s| s.span()))?;
            unused("grid.eps", g.eps.first().map(|s| s.span()))?;
            Ok(true)
        }
        (None, _) => {
            if let Some(j) = methods.iter().position(|&m| m == MethodName::Picard) {
                return Err(at(
                    path,
                    text,
                    "grid.method",
                    &g.method[j],
                    format!(
                        "`picard` iterates the layer families only (layer_input, layer_bias, layer_weights), not the objective family `{}`",
                        g.family[0].get_ref()
                    ),
                ));
            }
            if let Some(v) = g.rho_w.first() {
                return Err(at(path, text, "grid.rho_w", v, "`rho_w` applies to the layer families only"));
            }
            Ok(false)
        }
    }
}

/// An axis that must list at least one value is empty (`family = []`) or, for `step`,
/// absent: at the line of the key where it is written.
fn empty_axis(path: &str, text: &str, key: &str) -> Error {
    let grid = super::KeySpans::of(text).grid;
    let span = grid.and_then(|g| match key {
        "family" => g.family,
        "m" => g.m,
        "n" => g.n,
        _ => g.step,
    });
    let message =
        "must list at least one value (so must each of family, m, n and, except for the layer families, step)";
    match span {
        Some(span) => at(path, text, &format!("grid.{key}"), &span, message),
        None => Error::Input {
            location: format!("{path}: [grid], key `grid.{key}`"),
            message: format!("missing: {message}"),
        },
    }
}

fn or_default<T>(axis: Vec<T>, default: T) -> Vec<T> {
    if axis.is_empty() { vec![default] } else { axis }
}

/// `instances ≥ 1` (the claim setting's keys `k_max`, `omega`, `t_fractions` are checked by
/// [`crate::claims::Config::validate`], shared with `replay`).
fn check_scalars(path: &str, text: &str, f: &ScenarioFile) -> Result<()> {
    if *f.instances.get_ref() == 0 {
        return Err(at(path, text, "instances", &f.instances, "must be at least 1"));
    }
    Ok(())
}

/// `grid.m` or `grid.n`: each a [`rules::dimension`].
fn dimension(path: &str, text: &str, key: &str, axis: &[Spanned<usize>]) -> Result<Vec<usize>> {
    axis.iter()
        .map(|v| {
            let d = *v.get_ref();
            rules::dimension(d).map(|()| d).map_err(|m| at(path, text, key, v, m))
        })
        .collect()
}

/// `grid.data`, with `spectrum` expanded over the `grid.spectrum` pairs (each checked).
fn data(path: &str, text: &str, names: &[Spanned<String>], spectra: &[Spanned<Vec<f64>>]) -> Result<Vec<Data>> {
    for d in names {
        match d.get_ref().as_str() {
            "paper" | "tight" => {}
            "spectrum" if !spectra.is_empty() => {}
            "spectrum" => {
                return Err(at(
                    path,
                    text,
                    "grid.data",
                    d,
                    "`spectrum` data needs grid.spectrum = [[s_min, s_max], ...]",
                ));
            }
            other => {
                return Err(at(
                    path,
                    text,
                    "grid.data",
                    d,
                    format!("unknown data `{other}` (paper, spectrum or tight)"),
                ));
            }
        }
    }
    let mut pairs = Vec::with_capacity(spectra.len());
    for s in spectra {
        let &[lo, hi] = s.get_ref().as_slice() else {
            return Err(at(path, text, "grid.spectrum", s, format!("{:?} must be a pair [s_min, s_max]", s.get_ref())));
        };
        rules::spectrum(lo, hi).map_err(|m| at(path, text, "grid.spectrum", s, m))?;
        pairs.push(Data::Spectrum { s_min: lo, s_max: hi });
    }
    if names.is_empty() {
        return Ok(vec![Data::Paper]);
    }
    Ok(names
        .iter()
        .flat_map(|d| match d.get_ref().as_str() {
            "spectrum" => pairs.clone(),
            "tight" => vec![Data::Tight],
            _ => vec![Data::Paper],
        })
        .collect())
}

/// A numeric axis, each value checked by `rule` (one of [`rules`]) at its span.
fn checked(
    path: &str,
    text: &str,
    key: &str,
    axis: &[Spanned<f64>],
    rule: fn(f64) -> std::result::Result<(), String>,
) -> Result<Vec<f64>> {
    axis.iter()
        .map(|v| {
            let x = *v.get_ref();
            rule(x).map(|()| x).map_err(|m| at(path, text, key, v, m))
        })
        .collect()
}

/// `grid.norm`, `adapted` expanded over the `eps` values (default [`DEFAULT_EPS`]).
fn norms(path: &str, text: &str, names: &[Spanned<String>], eps: &[f64]) -> Result<Vec<Norm>> {
    let eps = if eps.is_empty() { vec![DEFAULT_EPS] } else { eps.to_vec() };
    let mut out = Vec::new();
    for n in names {
        match n.get_ref().as_str() {
            "euclidean" => out.push(Norm::Euclidean),
            "adapted" => out.extend(eps.iter().map(|&eps| Norm::Adapted { eps })),
            other => {
                return Err(at(path, text, "grid.norm", n, format!("unknown norm `{other}` (euclidean or adapted)")));
            }
        }
    }
    Ok(or_default(out, Norm::Euclidean))
}

/// `grid.x0`: `"origin"` (`None`) or a standard deviation `σ ≥ 0` (`Some(σ)`).
fn x0(path: &str, text: &str, axis: &[Spanned<X0>]) -> Result<Vec<Option<f64>>> {
    axis.iter()
        .map(|x| match x.get_ref() {
            X0::Sigma(s) if rules::x0_sigma(*s).is_ok() => Ok(Some(*s)),
            X0::Named(n) if n == "origin" => Ok(None),
            _ => Err(at(path, text, "grid.x0", x, "each entry is \"origin\" or a standard deviation >= 0")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    const TEXT: &str = r#"
name = "axes"
seed = 1
instances = 2
claims = ["thm7.bound"]
[grid]
family = ["ridge_weight", "huber_targets"]
method = ["gd", "heavy_ball"]
m = [6, 8]
n = [3]
data = ["spectrum", "paper"]
spectrum = [[0.5, 2.0], [1.0, 3.0]]
step = ["1/L", "c=0.5"]
x0 = ["origin", 10.0]
delta = [0.5, 1.0]
beta = [0.3, 0.6, 0.9]
norm = ["adapted", "euclidean"]
eps = [0.1, 0.2]
"#;

    #[test]
    fn every_axis_is_typed_and_expanded_in_file_order() {
        let sc = Scenario::parse("axes.toml", TEXT).expect("parses");
        let a = &sc.axes;
        assert_eq!(a.families, [FamilyName::Ridge(RidgeParam::Weight), FamilyName::Huber(RobustParam::Targets)]);
        assert_eq!(a.methods, [MethodName::GradientDescent, MethodName::HeavyBall]);
        assert_eq!(
            a.data,
            [Data::Spectrum { s_min: 0.5, s_max: 2.0 }, Data::Spectrum { s_min: 1.0, s_max: 3.0 }, Data::Paper]
        );
        assert_eq!(a.steps, [StepRule::InvL, StepRule::FractionOfTwoOverL { c: 0.5 }]);
        assert_eq!(a.x0_sigmas, [None, Some(10.0)]);
        assert_eq!(a.norms, [Norm::Adapted { eps: 0.1 }, Norm::Adapted { eps: 0.2 }, Norm::Euclidean]);
        assert_eq!(a.lambdas, [0.1], "the default λ");
        assert_eq!(a.deltas_of(a.families[0]), [0.5], "ridge takes no δ axis");
        assert_eq!(a.betas_of(MethodName::GradientDescent), [0.0], "gd takes no β axis");
        // (1 + 2 δ) families × (1 + 3 β) methods × 2 m × 3 data × 2 steps × 2 x0 × 3 norms.
        assert_eq!(sc.point_count(), 3 * 4 * 2 * 3 * 2 * 2 * 3);
        assert_eq!(sc.points().len(), sc.point_count());
        assert_eq!(sc.specs(None, false).len(), 2 * sc.point_count());
    }

    #[test]
    fn defaults_fill_the_optional_axes() {
        let text = "name = \"d\"\nseed = 1\ninstances = 1\nclaims = [\"thm7.bound\"]\n[grid]\n\
                    family = [\"ridge_weight\"]\nm = [6]\nn = [3]\nstep = [\"1/L\"]\n";
        let a = Scenario::parse("d.toml", text).expect("parses").axes;
        assert_eq!(a.methods, [MethodName::GradientDescent]);
        assert_eq!(a.data, [Data::Paper]);
        assert_eq!(a.x0_sigmas, [None]);
        assert_eq!(a.norms, [Norm::Euclidean]);
        assert_eq!(
            (a.deltas.as_slice(), a.betas.as_slice(), a.lambdas.as_slice()),
            (&[0.5][..], &[0.5][..], &[0.1][..])
        );
    }
}
