//! Scenario files (`verify/*.toml`): the suite as data.
//!
//! A scenario names the families and methods to generate, a parameter grid (expanded as a
//! cross product), the claims to check, the number of random instances per grid point and
//! a seed. [`Scenario::load`] parses and validates a file; every error names the file, the
//! line and the key, and is reported with exit code 2 by the command line.
//!
//! ```toml
//! name = "example"
//! seed = 7
//! instances = 2                 # random instances per grid point
//! claims = ["thm7.bound", "lem6.gamma"]   # or ["all"]
//! [grid]
//! family = ["ridge_weight", "pseudo_huber_targets"]
//! method = ["gd"]
//! m = [12]
//! n = [4]
//! step = ["2/(L+m)", "1/(3L)"]
//! x0 = [10.0, "origin"]         # x0 = x* + N(0, σ²) entries, or x0 = 0
//! norm = ["euclidean", "adapted"]   # heavy-ball in ‖P⁻¹z‖ too (beyond the paper)
//! eps = [0.1]                   # adapted norm: share of the spectral gap given up
//! ```

pub mod axes;
pub mod expr;
pub mod runner;
pub mod shard;

pub use axes::{Axes, DEFAULT_EPS, FamilyName, MethodName, step_rule};

use crate::claims::{self, Config};
use crate::error::{Error, Result};
use crate::spec::instance_seed;
use crate::spec::{Family, Spec};
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// A scenario file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Name (also the report directory).
    pub name: String,
    /// What the scenario is for.
    #[serde(default)]
    pub description: String,
    /// The seed of every draw.
    pub seed: u64,
    /// Random instances per grid point.
    pub instances: Spanned<usize>,
    /// Claim ids, or `["all"]`.
    pub claims: Vec<Spanned<String>>,
    /// Also run the deliberately false control variants (shows that each check can fail).
    #[serde(default)]
    pub controls: bool,
    /// The largest horizon `K` (default 300).
    #[serde(default)]
    pub k_max: Option<Spanned<usize>>,
    /// Cost factor `ω` of Section 4.3 (default 3).
    #[serde(default)]
    pub omega: Option<Spanned<f64>>,
    /// Late-start indices `T' = ⌊fK⌋` as fractions `f ∈ [0, 1]` of `K` (default
    /// `[0, 0.1, 0.25, 0.5]`): the starts of `thm8.bound`, `sec41.*`, `rem5.local`,
    /// `rem9.local`. E.g. `T' = T + ωT` for the truncations `T` of the budgets of (22).
    #[serde(default)]
    pub t_fractions: Option<Spanned<Vec<f64>>>,
    /// The parameter grid.
    pub grid: Grid,
    /// Custom claims written as expressions.
    #[serde(default)]
    pub custom: Vec<CustomSpec>,
    /// Report a numerical failure (a NaN or an infinity in a check: no verdict) without
    /// failing the run; by default it is treated as bad input (exit 2).
    #[serde(default)]
    pub allow_numerical_failure: bool,
}

/// A custom claim: an id and a relation between per-instance quantities.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSpec {
    /// Its id in reports.
    pub id: String,
    /// The relation, e.g. `edot[k] <= rho^k*edot[0] + k*rho^(k-1)*Gamma*e[0]`.
    pub statement: Spanned<String>,
    /// Assumptions it relies on (`A2.1`, `A2.2`).
    #[serde(default)]
    pub requires: Vec<Spanned<String>>,
    /// What the claim is expected to do where it applies (default: hold, the role of the
    /// paper's statements). `false` makes it a reading expected to fail, reported
    /// "violated (as it should)": a false statement kept as a finding with its witness.
    #[serde(default)]
    pub expect_holds: Option<bool>,
}

/// The initial point of a grid entry: `"origin"` (`x_0 = 0`) or `σ` (`x_0 = x* + σ g`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum X0 {
    /// `σ ≥ 0`.
    Sigma(f64),
    /// `"origin"`.
    Named(String),
}

/// The parameter grid; every list is one axis of the cross product.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// `ridge_weight`, `ridge_targets`, `ridge_data`, `pseudo_huber_weight`,
    /// `pseudo_huber_targets`, `huber_weight`, `huber_targets`, `logistic_*`, and the layer
    /// families `layer_input`, `layer_bias`, `layer_weights` (no objective; with them, `m`
    /// is the input length and `n` the state dimension).
    pub family: Vec<Spanned<String>>,
    /// `gd`, `heavy_ball`, `chebyshev`, `nesterov`, `nesterov_convex` (default `["gd"]`), or
    /// `picard` for the layer families.
    #[serde(default)]
    pub method: Vec<Spanned<String>>,
    /// Rows `M`.
    pub m: Vec<Spanned<usize>>,
    /// Columns `N`.
    pub n: Vec<Spanned<usize>>,
    /// `paper` (U(0,1)/N(0,1)) or `spectrum` (default `["paper"]`).
    #[serde(default)]
    pub data: Vec<Spanned<String>>,
    /// Singular value range for `spectrum` data: `[s_min, s_max]` pairs.
    #[serde(default)]
    pub spectrum: Vec<Spanned<Vec<f64>>>,
    /// Ridge weight `λ` (default `[0.1]`).
    #[serde(default)]
    pub lambda: Vec<Spanned<f64>>,
    /// Step rules: `2/(L+m)`, `1/L`, `1/(3L)`, or `c=0.5` for `α = c·2/L` (required except
    /// for the layer families, which take none).
    #[serde(default)]
    pub step: Vec<Spanned<String>>,
    /// Initial points (default `["origin"]`).
    #[serde(default)]
    pub x0: Vec<Spanned<X0>>,
    /// Huber scales `δ` (default `[0.5]`; robust families only).
    #[serde(default)]
    pub delta: Vec<Spanned<f64>>,
    /// Heavy-ball momenta `β` (default `[0.5]`; heavy-ball only).
    #[serde(default)]
    pub beta: Vec<Spanned<f64>>,
    /// Norms: `euclidean` (the paper's) or `adapted` (`‖P⁻¹z‖`, beyond the paper; default
    /// `["euclidean"]`). The innermost axis: the instances of every norm share their draws.
    #[serde(default)]
    pub norm: Vec<Spanned<String>>,
    /// Shares `eps ∈ [0, 1)` of the spectral gap given up by the adapted norm (default
    /// `[0.1]`; adapted norm only).
    #[serde(default)]
    pub eps: Vec<Spanned<f64>>,
    /// `ρ_W = ‖W‖₂ ∈ (0, 1)` of the layer families (default `[0.9]`; layer families only).
    #[serde(default)]
    pub rho_w: Vec<Spanned<f64>>,
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it came from.
    pub path: String,
    /// Its text (spans point into it).
    pub text: String,
    /// The file as written.
    pub file: ScenarioFile,
    /// Its grid, parsed.
    pub axes: Axes,
    /// The claim ids to run (catalogue order).
    pub claims: Vec<&'static str>,
    /// The parsed custom claims.
    pub custom: Vec<crate::scenario::runner::Custom>,
}

/// The scenario shipped with the binary: every implemented claim on every family.
pub const PAPER_TOML: &str = include_str!("../../verify/paper.toml");

/// The long campaign of issue #14 (`verify/long.toml`), built in for `verify --long`.
pub const LONG_TOML: &str = include_str!("../../verify/long.toml");

pub(crate) use crate::input::line_col;

/// An input error at the span of `key` in `path`.
pub(crate) fn at<T>(path: &str, text: &str, key: &str, spanned: &Spanned<T>, message: impl Into<String>) -> Error {
    Error::Input { location: location(path, text, key, spanned), message: message.into() }
}

/// The location of [`at`]: `path: line L, column C, key `key``.
pub(crate) fn location<T>(path: &str, text: &str, key: &str, spanned: &Spanned<T>) -> String {
    format!("{path}: {}, key `{key}`", line_col(text, spanned.span().start))
}

/// The spans of keys whose values are validated beyond their type (a second, lenient pass
/// over the text: the typed structs keep plain values so that reports print them as before).
#[derive(Debug, Deserialize)]
pub(crate) struct KeySpans {
    /// `name`.
    pub name: Option<Spanned<toml::Value>>,
    /// `claims`.
    pub claims: Option<Spanned<toml::Value>>,
    /// `[[custom]]`, in order.
    #[serde(default)]
    pub custom: Vec<CustomSpans>,
    /// `[grid]`.
    pub grid: Option<GridSpans>,
}

/// The spans of the `[grid]` axes that must not be empty.
#[derive(Debug, Deserialize)]
pub(crate) struct GridSpans {
    /// `grid.family`.
    pub family: Option<Spanned<toml::Value>>,
    /// `grid.m`.
    pub m: Option<Spanned<toml::Value>>,
    /// `grid.n`.
    pub n: Option<Spanned<toml::Value>>,
    /// `grid.step`.
    pub step: Option<Spanned<toml::Value>>,
}

/// The spans of one `[[custom]]` entry.
#[derive(Debug, Deserialize)]
pub(crate) struct CustomSpans {
    /// `custom.id`.
    pub id: Option<Spanned<toml::Value>>,
}

impl KeySpans {
    /// Parses the spans of a text that already parsed as a typed file.
    pub(crate) fn of(text: &str) -> Self {
        toml::from_str(text).unwrap_or(KeySpans { name: None, claims: None, custom: Vec::new(), grid: None })
    }
}

/// The longest report name (the temporary directories add a suffix to it).
pub const MAX_NAME_LEN: usize = 100;

/// `true` when `name` is one plain path component: letters, digits, `-`, `_` and `.`, not
/// starting with `.`, at most [`MAX_NAME_LEN`] bytes. Only such names become directories
/// under `--out`.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Rejects a `name` (scenario or trend file) that is not a plain directory name, at the
/// line of the `name` key.
pub(crate) fn check_name(path: &str, text: &str, name: &str) -> Result<()> {
    if is_plain_name(name) {
        return Ok(());
    }
    let message = format!(
        "`{name}` is not a plain directory name (the report goes to OUT/<name>/): use 1 to {MAX_NAME_LEN} \
         letters, digits, `-`, `_` and `.`, not starting with `.`"
    );
    Err(match KeySpans::of(text).name {
        Some(span) => at(path, text, "name", &span, message),
        None => Error::Input { location: format!("{path}: key `name`"), message },
    })
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::Io { path: shown.clone(), message: e.to_string() })?;
        Self::parse(&shown, &text)
    }

    /// Parses and validates scenario text (`path` is only used in messages).
    pub fn parse(path: &str, text: &str) -> Result<Self> {
        let file: ScenarioFile = crate::input::toml_from_str(path, text)?;
        check_name(path, text, &file.name)?;
        check_config(path, text, &file)?;
        let axes = Axes::parse(path, text, &file)?;
        let claims = select_claims(path, text, &file)?;
        let custom = runner::parse_custom(path, text, &file)?;
        Ok(Scenario { path: path.to_string(), text: text.to_string(), file, axes, claims, custom })
    }

    /// Expands the grid into instance specs, `instances` per grid point, each with its own
    /// seed derived from the scenario seed (`seed` overrides it). The order is fixed:
    /// grid points in the order of the axes, then instances. The norm axis does not enter
    /// the seed: grid points that differ only in the norm draw the same data, so a report
    /// compares the norms on the same instances.
    pub fn specs(&self, seed: Option<u64>, quick: bool) -> Vec<(usize, Spec)> {
        let seed = seed.unwrap_or(self.file.seed);
        let per_point = if quick { (*self.file.instances.get_ref()).min(1) } else { *self.file.instances.get_ref() };
        let points = self.points();
        let norms = self.axes.norms.len();
        let mut out = Vec::with_capacity(points.len() * per_point);
        for (p, base) in points.into_iter().enumerate() {
            for i in 0..per_point {
                out.push((p, Spec { seed: instance_seed(seed, p / norms, i), ..base }));
            }
        }
        out
    }

    /// The grid points (specs with seed 0): the cross product of the [`Axes`] in their
    /// field order.
    pub fn points(&self) -> Vec<Spec> {
        let a = &self.axes;
        let mut points = Vec::with_capacity(self.point_count());
        for &name in &a.families {
            for family in a.family_values(name) {
                for &method_name in &a.methods {
                    for beta in a.betas_of(method_name) {
                        let method = method_name.with_beta(beta);
                        for (&m, &n) in a.m.iter().flat_map(|m| a.n.iter().map(move |n| (m, n))) {
                            for &data in &a.data {
                                for &lambda in &a.lambdas {
                                    for &step in &a.steps {
                                        for &x0_sigma in &a.x0_sigmas {
                                            for &norm in &a.norms {
                                                let seed = 0;
                                                points.push(Spec {
                                                    family,
                                                    method,
                                                    m,
                                                    n,
                                                    data,
                                                    lambda,
                                                    step,
                                                    x0_sigma,
                                                    seed,
                                                    norm,
                                                });
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        points
    }

    /// The number of grid points, without expanding the grid (saturating: a grid too large
    /// to count is `usize::MAX`).
    pub fn point_count(&self) -> usize {
        let a = &self.axes;
        let families = a.families.iter().map(|&f| a.family_values(f).len()).fold(0usize, usize::saturating_add);
        let methods = a.methods.iter().map(|&m| a.betas_of(m).len()).fold(0usize, usize::saturating_add);
        [
            families,
            methods,
            a.m.len(),
            a.n.len(),
            a.data.len(),
            a.lambdas.len(),
            a.steps.len(),
            a.x0_sigmas.len(),
            a.norms.len(),
        ]
        .into_iter()
        .fold(1usize, usize::saturating_mul)
    }

    /// The instances a run checks: grid points × instances per point (one with `quick`).
    pub fn instance_count(&self, quick: bool) -> usize {
        let per_point = if quick { (*self.file.instances.get_ref()).min(1) } else { *self.file.instances.get_ref() };
        self.point_count().saturating_mul(per_point)
    }

    /// The horizon cap.
    pub fn k_max(&self, quick: bool) -> usize {
        config_of(&self.file, quick).k_max
    }

    /// The cost factor `ω`.
    pub fn omega(&self) -> f64 {
        config_of(&self.file, false).omega
    }

    /// The late-start fractions (the file's, or those of [`Config::default`]).
    pub fn t_fractions(&self) -> Vec<f64> {
        config_of(&self.file, false).t_fractions
    }

    /// The configuration the claims run with: horizon cap, `ω`, late starts.
    pub fn config(&self, quick: bool) -> Config {
        config_of(&self.file, quick)
    }
}

/// The configuration of a scenario file: its `k_max` (default 300; at most 120 with
/// `quick`), `omega` (default 3) and `t_fractions` (default those of [`Config::default`]).
fn config_of(f: &ScenarioFile, quick: bool) -> Config {
    let k = f.k_max.as_ref().map_or(300, |k| *k.get_ref());
    Config {
        k_max: if quick { k.min(120) } else { k },
        omega: f.omega.as_ref().map_or(3.0, |w| *w.get_ref()),
        t_fractions: f.t_fractions.as_ref().map_or_else(|| Config::default().t_fractions, |t| t.get_ref().clone()),
        ..Config::default()
    }
}

/// The configuration keys (`k_max`, `omega`, `t_fractions`) checked by the one validation
/// of a claim setting ([`Config::validate`]), each error at the line of its key.
fn check_config(path: &str, text: &str, f: &ScenarioFile) -> Result<()> {
    let Err(e) = config_of(f, false).validate() else { return Ok(()) };
    let span = match e.key {
        "k_max" => f.k_max.as_ref().map(|k| k.span()),
        "omega" => f.omega.as_ref().map(|w| w.span()),
        "t_fractions" => f.t_fractions.as_ref().map(|t| t.span()),
        _ => None,
    };
    Err(match span {
        Some(span) => Error::Input {
            location: format!("{path}: {}, key `{}`", line_col(text, span.start), e.key),
            message: e.message,
        },
        None => Error::Input { location: format!("{path}: key `{}`", e.key), message: e.message },
    })
}

/// Parses a family name at its span and gives it the Huber scale `delta` (ignored by ridge).
pub(crate) fn family(path: &str, text: &str, name: &Spanned<String>, delta: f64) -> Result<Family> {
    Ok(FamilyName::parse(path, text, name)?.with_delta(delta))
}

fn select_claims(path: &str, text: &str, f: &ScenarioFile) -> Result<Vec<&'static str>> {
    if f.claims.is_empty() && f.custom.is_empty() {
        let message = "no claims to check: list claim ids, [\"all\"], or add [[custom]] claims";
        return Err(match KeySpans::of(text).claims {
            Some(span) => at(path, text, "claims", &span, message),
            None => Error::Input { location: format!("{path}: key `claims`"), message: message.into() },
        });
    }
    if f.claims.iter().any(|c| c.get_ref() == "all") {
        return Ok(claims::all().iter().map(|c| c.id).collect());
    }
    let mut out: Vec<&'static str> = Vec::new();
    for (i, c) in f.claims.iter().enumerate() {
        match claims::find(c.get_ref()) {
            Some(claim) if out.contains(&claim.id) => {
                // Each row of the report once: a repeated id would repeat every one of its rows.
                return Err(at(
                    path,
                    text,
                    &format!("claims[{i}]"),
                    c,
                    format!("claim id `{}` is listed twice", claim.id),
                ));
            }
            Some(claim) => out.push(claim.id),
            None => {
                return Err(at(
                    path,
                    text,
                    "claims",
                    c,
                    format!("unknown claim id `{}` (see `unrollcheck list`)", c.get_ref()),
                ));
            }
        }
    }
    Ok(out)
}
