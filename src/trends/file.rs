//! Trend scenario files (`verify/trends.toml`): the experiments as data.
//!
//! ```toml
//! kind = "trends"          # tells `unrollcheck verify` this is a trend file
//! name = "trends"
//! seed = 2026
//! pairs = 40               # random instances per experiment (one seed each)
//! level = 0.01             # family-wise level α, Bonferroni-split over every test, counting
//!                          # both directions (each row: two sides at α/(2·tests))
//! min_effect = { growth = 0.1 }   # optional: minimum effects, overriding the defaults of
//!                          # measures::default_min_effect (effect units of the measure)
//! [base]                   # the instance every experiment starts from
//! family = "ridge_weight"
//! m = 50
//! n = 10
//! lambda = 0.1
//! step = "2/(L+m)"
//! x0 = 1.0                 # x_0 = x* + σ g, or "origin"
//! [[experiment]]
//! claim = "sec34.init"
//! factor = "x0"
//! levels = [10.0, 0.1]     # first level, second level (where the claim predicts a milder curse)
//! set = { family = "pseudo_huber_weight", delta = 0.5 }   # overrides of [base]
//! ```
//!
//! `controlled = true` (factor `lambda` on `ridge_weight` from `x0 = σ`) makes the second
//! level hold the first level's `‖Dx*‖` and `Γe_0` fixed: the same `A` and direction `g`,
//! `b` scaled and `σ` adjusted (the runner's `controlled_level` states the maths), so that
//! only `ρ` changes.
//!
//! Every experiment may state `setting = "paper"` (the setting the paper states the claim
//! for) or `setting = "outside"`; the report combines them ([`super::setting_verdicts`]).
//!
//! Appendix-C experiments (the `appC.*` claims, and `sec4.truncation_helps` with
//! `protocol = "appendix_c"`) run on Appendix C's protocol ([`AppendixC`],
//! [`super::appendix_c_trend`]):
//!
//! ```toml
//! [[experiment]]
//! claim = "appC.trunc_ineffective_small_step"
//! setting = "paper"
//! dims = [2, 5, 10, 20, 30, 40]  # N, one row each, each once (default: the paper's six)
//! runs = 100                     # R draws per N (default 100, the paper's)
//! factor = "truncation"          # only for the claims that compare two T of the grid
//! levels = [0.0, 0.2]            # fractions of K on the grid {0, 0.1, …, 0.8}, or "optimal"
//! band = 0.1
//! set = { step = "1/(3L)" }      # "2/(L+m)" or "1/(3L)"; `m` is M; omega must be an integer
//! ```
//!
//! Factors: `x0`, `step`, `lambda`, `delta` (curse experiments and proportions),
//! `truncation` (budget experiments: a fraction of `K` in `[0, 1)` or `"optimal"`, the
//! minimiser of (22) with the instance's certified constants), `start` (`"cold"`,
//! `"warm"`: bilevel experiments). Every error names the file, the line and the key.

use super::{Design, TrendClaim};
use crate::error::{Error, Result, SHORT_NUMBER_CHARS, short_number};
use crate::scenario::{X0, at, location};
use crate::spec::{Family, Spec, StepRule};
use serde::Deserialize;
use toml::Spanned;

/// A trend file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendsFile {
    /// Must be `"trends"`.
    pub kind: Spanned<String>,
    /// Name (also the report directory).
    pub name: String,
    /// What the file is for.
    #[serde(default)]
    pub description: String,
    /// The seed of every draw.
    pub seed: u64,
    /// Random instances per experiment.
    pub pairs: Spanned<usize>,
    /// Family-wise significance level (default 0.01).
    #[serde(default)]
    pub level: Option<Spanned<f64>>,
    /// Minimum effects per measure, overriding [`super::measures::default_min_effect`].
    #[serde(default)]
    pub min_effect: Option<Spanned<std::collections::BTreeMap<String, f64>>>,
    /// The largest horizon of a curse run (default 6000).
    #[serde(default)]
    pub k_max: Option<Spanned<usize>>,
    /// The base instance.
    #[serde(default)]
    pub base: Setting,
    /// The experiments.
    #[serde(rename = "experiment")]
    pub experiments: Vec<ExperimentFile>,
}

/// Instance settings (all optional: unset keys keep the base's, or the defaults).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// `ridge_weight`, `pseudo_huber_weight`, … (see the scenario grid).
    pub family: Option<Spanned<String>>,
    /// Rows `M`.
    pub m: Option<Spanned<usize>>,
    /// Columns `N`.
    pub n: Option<Spanned<usize>>,
    /// Ridge weight `λ`.
    pub lambda: Option<Spanned<f64>>,
    /// Step rule.
    pub step: Option<Spanned<String>>,
    /// Initial point.
    pub x0: Option<Spanned<X0>>,
    /// Huber scale `δ`.
    pub delta: Option<Spanned<f64>>,
}

/// One experiment as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// The trend claim's id.
    pub claim: Spanned<String>,
    /// A label for the report (default: the claim id and the overrides).
    #[serde(default)]
    pub label: Option<String>,
    /// The factor that changes between levels.
    #[serde(default)]
    pub factor: Option<Spanned<String>>,
    /// Its levels.
    #[serde(default)]
    pub levels: Vec<Spanned<toml::Value>>,
    /// `"effect"` (default) or `"no_effect"`.
    #[serde(default)]
    pub expect: Option<Spanned<String>>,
    /// Equivalence band for `no_effect`, in the measure's effect units (default 0.1).
    #[serde(default)]
    pub band: Option<Spanned<f64>>,
    /// The budget `K` of a truncation experiment (default 500, as in Example 10).
    #[serde(default)]
    pub budget: Option<Spanned<usize>>,
    /// The cost factor `ω` (default 3).
    #[serde(default)]
    pub omega: Option<Spanned<f64>>,
    /// Outer iterations `R` of a bilevel experiment (default 20).
    #[serde(default)]
    pub outer: Option<Spanned<usize>>,
    /// Outer step `τ` of a bilevel experiment (default 0.05).
    #[serde(default)]
    pub tau: Option<Spanned<f64>>,
    /// `"appendix_c"`: run on the appendix-C protocol ([`AppendixC`]); implied by the
    /// `appC.*` claims, allowed for `sec4.truncation_helps`.
    #[serde(default)]
    pub protocol: Option<Spanned<String>>,
    /// The dimensions `N` of an appendix-C experiment (default the paper's 2, 5, 10, 20, 30,
    /// 40), one row each.
    #[serde(default)]
    pub dims: Option<Spanned<Vec<usize>>>,
    /// The draws `R` per `N` of an appendix-C experiment (default 100, the paper's).
    #[serde(default)]
    pub runs: Option<Spanned<usize>>,
    /// `true` (factor `lambda`, ridge-weight, `x0 = σ`): the second level holds the first
    /// level's `‖Dx*‖` and `Γe_0` fixed (`b` scaled, `σ` adjusted; see the runner).
    #[serde(default)]
    pub controlled: Option<Spanned<bool>>,
    /// `"paper"`: the setting the paper states the claim for; `"outside"`: another one (the
    /// claim's verdict combines both, [`Scope`]).
    #[serde(default)]
    pub setting: Option<Spanned<String>>,
    /// Overrides of `[base]`.
    #[serde(default)]
    pub set: Setting,
}

/// Where an experiment stands relative to the setting the paper states its claim for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The paper's setting (e.g. Appendix C's protocol for its sentences, Figure 2's
    /// instance for Section 3).
    Paper,
    /// Another setting: does the claim generalise?
    Outside,
}

/// The appendix-C protocol of an experiment ([`crate::reproduce::appendix_c`]): `M` (the
/// base's `m`), the dimensions `N` (one row of the report each), `R` draws per `N`, the
/// step size and `ω`. Draw `r` at dimension `N` is
/// `Draw::sample(M, N, run_seed(seed, N, r))`, the draw of
/// `unrollcheck reproduce appendix-c --seed SEED` (same `M`).
#[derive(Debug, Clone, PartialEq)]
pub struct AppendixC {
    /// The dimensions `N`.
    pub dims: Vec<usize>,
    /// Draws per `N`.
    pub runs: usize,
    /// The step size.
    pub step: crate::reproduce::appendix_c::StepSize,
    /// `ω` (an integer, so that `K'` and `T'` are).
    pub omega: usize,
}

/// The factor of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// The initial point.
    X0,
    /// The step rule.
    Step,
    /// The ridge weight.
    Lambda,
    /// The Huber scale.
    Delta,
    /// The truncation index.
    Truncation,
    /// Cold or warm inner starts.
    Start,
}

/// How a truncation level picks `T`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Truncate {
    /// `T = ⌊f·K⌋`.
    Fraction(f64),
    /// The integer minimiser of (22).
    Optimal,
}

/// One level of a factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    /// The base setting (proportions without a factor).
    Base,
    /// `x_0 = x* + σg` (`Some(σ)`) or the origin.
    X0(Option<f64>),
    /// A step rule.
    Step(StepRule),
    /// A ridge weight.
    Lambda(f64),
    /// A Huber scale.
    Delta(f64),
    /// A truncation.
    Truncation(Truncate),
    /// `true` for warm starts.
    Warm(bool),
}

impl Level {
    /// The spec at this level (truncation and start levels leave it unchanged).
    pub fn apply(&self, base: &Spec) -> Spec {
        let mut s = *base;
        match *self {
            Level::X0(sigma) => s.x0_sigma = sigma,
            Level::Step(rule) => s.step = rule,
            Level::Lambda(l) => s.lambda = l,
            Level::Delta(d) => match &mut s.family {
                Family::PseudoHuber { delta, .. } | Family::Huber { delta, .. } => *delta = d,
                Family::Ridge { .. } | Family::Logistic { .. } | Family::Layer { .. } | Family::ElasticNet { .. } => {}
            },
            Level::Base | Level::Truncation(_) | Level::Warm(_) => {}
        }
        s
    }
}

/// What the claim predicts for this experiment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    /// A change in the claim's direction.
    Effect,
    /// No change beyond `±band` (effect units).
    NoEffect {
        /// The equivalence band.
        band: f64,
    },
}

/// A validated experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The claim.
    pub claim: &'static TrendClaim,
    /// Its label in reports.
    pub label: String,
    /// The base spec (seed 0).
    pub base: Spec,
    /// The factor (`None`: a proportion at the base setting).
    pub factor: Option<Factor>,
    /// The levels, with their text as written.
    pub levels: Vec<(Level, String)>,
    /// The prediction.
    pub expect: Expect,
    /// Budget `K` (truncation experiments).
    pub budget: usize,
    /// `ω`.
    pub omega: f64,
    /// Outer iterations (bilevel experiments).
    pub outer: usize,
    /// Outer step `τ` (bilevel experiments).
    pub tau: f64,
    /// The equivalence band of no-effect predictions and of measures predicted the same.
    pub band: f64,
    /// The appendix-C protocol, when the experiment runs on it.
    pub appendix_c: Option<AppendixC>,
    /// The paper's setting or another one (`None`: not stated).
    pub scope: Option<Scope>,
    /// The second level holds the first level's `‖Dx*‖` and `Γe_0` fixed.
    pub controlled: bool,
    /// Per level, the `σ` of `x_0 = x* + σg` as written and where (`file: line L, column C,
    /// key `k``): the level itself for the factor `x0`, else `x0` of `set` or of `[base]`;
    /// `None` where no `σ` is written (the origin, the default). For an error at run time
    /// about a `σ` too large for the instance ([`super::runner`]).
    pub x0_at: Vec<Option<(f64, String)>>,
}

/// A validated trend file.
#[derive(Debug, Clone)]
pub struct Trends {
    /// Where it came from.
    pub path: String,
    /// The file as written.
    pub file: TrendsFile,
    /// The experiments.
    pub experiments: Vec<Experiment>,
}

/// `true` when the TOML text declares `kind = "trends"` (how `verify` tells the files apart).
pub fn is_trends(text: &str) -> bool {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("kind").and_then(|k| k.as_str().map(|k| k == "trends")))
        .unwrap_or(false)
}

impl Trends {
    /// Reads and validates a trend file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::Io { path: shown.clone(), message: e.to_string() })?;
        Self::parse(&shown, &text)
    }

    /// Parses and validates trend-file text (`path` is only used in messages).
    pub fn parse(path: &str, text: &str) -> Result<Self> {
        let file: TrendsFile = crate::input::toml_from_str(path, text)?;
        crate::scenario::check_name(path, text, &file.name)?;
        let p = Parser { path, text, base_step: file.base.step.clone(), base_x0: file.base.x0.clone() };
        p.header(&file)?;
        let base = p.setting(&default_spec(), &file.base)?;
        let experiments = file.experiments.iter().map(|e| p.experiment(&base, e)).collect::<Result<Vec<_>>>()?;
        if experiments.is_empty() {
            return Err(Error::Input { location: path.to_string(), message: "no [[experiment]] entries".into() });
        }
        Ok(Trends { path: path.to_string(), file, experiments })
    }

    /// The family-wise level `α`.
    pub fn level(&self) -> f64 {
        self.file.level.as_ref().map_or(0.01, |l| *l.get_ref())
    }

    /// The minimum effect of a measure: the file's `min_effect` entry, else
    /// [`super::measures::default_min_effect`].
    pub fn min_effect(&self, measure: &str) -> f64 {
        self.file
            .min_effect
            .as_ref()
            .and_then(|m| m.get_ref().get(measure).copied())
            .unwrap_or_else(|| super::measures::default_min_effect(measure))
    }

    /// The horizon cap of curse runs.
    pub fn k_max(&self) -> usize {
        self.file.k_max.as_ref().map_or(6000, |k| *k.get_ref())
    }
}

/// The defaults of `[base]`: the Figure-2 instance with `x_0 = x* + g`.
fn default_spec() -> Spec {
    Spec { x0_sigma: Some(1.0), ..Spec::figure2(0) }
}

struct Parser<'a> {
    path: &'a str,
    text: &'a str,
    /// `[base].step` as written (for messages about an experiment that inherits it).
    base_step: Option<Spanned<String>>,
    /// `[base].x0` as written (for messages about a `σ` an experiment inherits).
    base_x0: Option<Spanned<X0>>,
}

impl Parser<'_> {
    fn err<T>(&self, key: &str, s: &Spanned<T>, msg: impl Into<String>) -> Error {
        at(self.path, self.text, key, s, msg)
    }

    fn header(&self, f: &TrendsFile) -> Result<()> {
        if f.kind.get_ref() != "trends" {
            return Err(self.err("kind", &f.kind, "a trend file has kind = \"trends\""));
        }
        if *f.pairs.get_ref() < 1 || *f.pairs.get_ref() > 10_000 {
            return Err(self.err("pairs", &f.pairs, "must lie in 1..=10000"));
        }
        if let Some(l) = &f.level
            && !(*l.get_ref() > 0.0 && *l.get_ref() < 0.5)
        {
            return Err(self.err("level", l, "must lie in (0, 0.5)"));
        }
        if let Some(m) = &f.min_effect {
            for (name, v) in m.get_ref() {
                let known = super::catalogue()
                    .iter()
                    .filter(|c| c.design != Design::Proportion)
                    .flat_map(|c| c.measures)
                    .any(|u| u.name == name && u.predicted != super::Direction::Same);
                if !known {
                    return Err(self.err(
                        "min_effect",
                        m,
                        format!("`{name}` is not a measure with a predicted direction"),
                    ));
                }
                if !(v.is_finite() && *v >= 0.0) {
                    return Err(self.err("min_effect", m, format!("`{name}`: must be a finite number ≥ 0")));
                }
            }
        }
        if let Some(k) = &f.k_max
            && !(10..=100_000).contains(k.get_ref())
        {
            return Err(self.err("k_max", k, "must lie in 10..=100000"));
        }
        Ok(())
    }

    fn setting(&self, base: &Spec, s: &Setting) -> Result<Spec> {
        let mut out = *base;
        let delta = s.delta.as_ref().map(|d| *d.get_ref());
        if let Some(d) = &s.delta
            && crate::spec::rules::positive(*d.get_ref()).is_err()
        {
            return Err(self.err("delta", d, "must be a finite number > 0"));
        }
        if let Some(f) = &s.family {
            let current = match base.family {
                Family::PseudoHuber { delta, .. } | Family::Huber { delta, .. } => delta,
                Family::Ridge { .. } | Family::Logistic { .. } | Family::Layer { .. } | Family::ElasticNet { .. } => {
                    0.5
                }
            };
            out.family = crate::scenario::family(self.path, self.text, f, delta.unwrap_or(current))?;
            if f.get_ref().starts_with("layer_") {
                return Err(self.err("family", f, "the layer families are not part of the trend experiments"));
            }
            if f.get_ref().starts_with("logistic_") {
                return Err(self.err("family", f, "the logistic families are not part of the trend experiments"));
            }
            if !f.get_ref().ends_with("_weight") {
                return Err(self.err(
                    "family",
                    f,
                    "trend experiments use a one-dimensional parameter: a *_weight family",
                ));
            }
        } else if let Some(d) = delta {
            out = Level::Delta(d).apply(&out);
        }
        for (key, v) in [("m", &s.m), ("n", &s.n)] {
            if let Some(v) = v {
                if crate::spec::rules::dimension(*v.get_ref()).is_err() {
                    return Err(self.err(key, v, "must lie in 1..=200"));
                }
                if key == "m" { out.m = *v.get_ref() } else { out.n = *v.get_ref() }
            }
        }
        if let Some(l) = &s.lambda {
            out.lambda = self.lambda(l, *l.get_ref())?;
        }
        if let Some(st) = &s.step {
            out.step = crate::scenario::step_rule(self.path, self.text, st)?;
        }
        if let Some(x) = &s.x0 {
            out.x0_sigma = self.x0(x, x.get_ref())?;
        }
        Ok(out)
    }

    fn lambda<T>(&self, s: &Spanned<T>, l: f64) -> Result<f64> {
        if crate::spec::rules::lambda(l).is_ok() {
            Ok(l)
        } else {
            Err(self.err("lambda", s, format!("{l} must be finite and >= 0")))
        }
    }

    fn x0<T>(&self, s: &Spanned<T>, x: &X0) -> Result<Option<f64>> {
        match x {
            X0::Sigma(v) if crate::spec::rules::x0_sigma(*v).is_ok() => Ok(Some(*v)),
            X0::Named(n) if n == "origin" => Ok(None),
            _ => Err(self.err("x0", s, "\"origin\" or a standard deviation >= 0")),
        }
    }

    fn experiment(&self, base: &Spec, e: &ExperimentFile) -> Result<Experiment> {
        let claim = super::find(e.claim.get_ref()).ok_or_else(|| {
            let ids: Vec<&str> = super::catalogue().iter().map(|c| c.id).collect();
            self.err("experiment.claim", &e.claim, format!("unknown trend claim (one of {})", ids.join(", ")))
        })?;
        let spec = self.setting(base, &e.set)?;
        let factor = e.factor.as_ref().map(|f| self.factor(f, claim.design)).transpose()?;
        let levels = self.levels(e, factor, &spec, claim.design)?;
        let band = e.band.as_ref().map_or(Ok(0.1), |b| {
            if *b.get_ref() > 0.0 && b.get_ref().is_finite() {
                Ok(*b.get_ref())
            } else {
                Err(self.err("experiment.band", b, "must be a finite number > 0"))
            }
        })?;
        let expect = match e.expect.as_ref().map(|x| (x, x.get_ref().as_str())) {
            None | Some((_, "effect")) => Expect::Effect,
            Some((_, "no_effect")) => Expect::NoEffect { band },
            Some((x, other)) => {
                return Err(self.err("experiment.expect", x, format!("`{other}`: \"effect\" or \"no_effect\"")));
            }
        };
        let budget = e.budget.as_ref().map_or(Ok(500), |b| {
            if (2..=100_000).contains(b.get_ref()) {
                Ok(*b.get_ref())
            } else {
                Err(self.err("experiment.budget", b, "must lie in 2..=100000"))
            }
        })?;
        let omega = e.omega.as_ref().map_or(Ok(3.0), |w| {
            if *w.get_ref() >= 0.0 && *w.get_ref() <= 100.0 {
                Ok(*w.get_ref())
            } else {
                Err(self.err("experiment.omega", w, "must lie in [0, 100]"))
            }
        })?;
        let outer = e.outer.as_ref().map_or(Ok(20), |r| {
            if (2..=10_000).contains(r.get_ref()) {
                Ok(*r.get_ref())
            } else {
                Err(self.err("experiment.outer", r, "must lie in 2..=10000"))
            }
        })?;
        let tau = e.tau.as_ref().map_or(Ok(0.05), |w| {
            if *w.get_ref() > 0.0 && w.get_ref().is_finite() {
                Ok(*w.get_ref())
            } else {
                Err(self.err("experiment.tau", w, "must be a finite number > 0"))
            }
        })?;
        let appendix_c = self.appendix_c(e, claim, &spec, &levels)?;
        let scope = match e.setting.as_ref().map(|s| (s, s.get_ref().as_str())) {
            None => None,
            Some((_, "paper")) => Some(Scope::Paper),
            Some((_, "outside")) => Some(Scope::Outside),
            Some((s, other)) => {
                return Err(self.err("experiment.setting", s, format!("`{other}`: \"paper\" or \"outside\"")));
            }
        };
        let label = e.label.clone().unwrap_or_else(|| match &appendix_c {
            Some(a) => appendix_c_label(claim.id, a, &levels),
            None => default_label(claim.id, &spec, factor, &levels),
        });
        let controlled = match &e.controlled {
            Some(c) if *c.get_ref() => {
                let ridge = matches!(spec.family, Family::Ridge { param: crate::problem::ridge::RidgeParam::Weight });
                if factor != Some(Factor::Lambda) || !ridge || spec.x0_sigma.is_none() {
                    return Err(self.err(
                        "experiment.controlled",
                        c,
                        "a controlled experiment varies `lambda` on ridge_weight from x0 = σ (not the origin)",
                    ));
                }
                true
            }
            _ => false,
        };
        let label = if controlled { format!("{label} [‖Dx*‖, Γe_0 held fixed]") } else { label };
        let setting_x0 = e.set.x0.as_ref().or(self.base_x0.as_ref()).and_then(|x| match x.get_ref() {
            X0::Sigma(sigma) => Some((*sigma, location(self.path, self.text, "x0", x))),
            X0::Named(_) => None,
        });
        let x0_at = levels
            .iter()
            .zip(&e.levels)
            .map(|((level, _), written)| match level {
                Level::X0(Some(sigma)) => Some((*sigma, location(self.path, self.text, "experiment.levels", written))),
                Level::X0(None) => None,
                _ => setting_x0.clone(),
            })
            .collect::<Vec<_>>();
        // A level without a factor (a proportion, an appendix-C experiment) is the setting's.
        let x0_at = if x0_at.len() == levels.len() { x0_at } else { vec![setting_x0; levels.len()] };
        Ok(Experiment {
            claim,
            label,
            base: spec,
            factor,
            levels,
            expect,
            budget,
            omega,
            outer,
            tau,
            band,
            appendix_c,
            scope,
            controlled,
            x0_at,
        })
    }

    /// The appendix-C protocol of an experiment: for the `appC.*` claims and for
    /// `sec4.truncation_helps` with `protocol = "appendix_c"`; its keys are refused elsewhere.
    fn appendix_c(
        &self,
        e: &ExperimentFile,
        claim: &TrendClaim,
        spec: &Spec,
        levels: &[(Level, String)],
    ) -> Result<Option<AppendixC>> {
        use crate::reproduce::appendix_c::{PAPER_N, StepSize};
        let wanted = match e.protocol.as_ref().map(|p| (p, p.get_ref().as_str())) {
            None => claim.design == Design::AppendixC,
            Some((p, "appendix_c")) => {
                if !matches!(claim.design, Design::AppendixC | Design::PairedBudget) {
                    return Err(self.err(
                        "experiment.protocol",
                        p,
                        "only truncation claims run on the appendix-C protocol",
                    ));
                }
                true
            }
            Some((p, other)) => {
                return Err(self.err(
                    "experiment.protocol",
                    p,
                    format!("`{other}`: the only protocol is \"appendix_c\""),
                ));
            }
        };
        if !wanted {
            for (key, given) in [
                ("experiment.dims", e.dims.as_ref().map(|d| d.span())),
                ("experiment.runs", e.runs.as_ref().map(|r| r.span())),
            ] {
                if let Some(span) = given {
                    let s = Spanned::new(span, ());
                    return Err(self.err(
                        key,
                        &s,
                        "only for experiments on the appendix-C protocol (protocol = \"appendix_c\")",
                    ));
                }
            }
            return Ok(None);
        }
        let dims = match &e.dims {
            None => PAPER_N.to_vec(),
            Some(d) => {
                let v = d.get_ref().clone();
                if v.is_empty() || v.iter().any(|&n| n == 0 || n > spec.m) {
                    return Err(self.err("experiment.dims", d, format!("dimensions N in 1..=M (M = {})", spec.m)));
                }
                // As `reproduce appendix-c --n`: a repeated N would repeat its row and its tests.
                if let Some((i, n)) = v.iter().enumerate().find(|&(i, n)| v[..i].contains(n)) {
                    return Err(self.err(
                        "experiment.dims",
                        d,
                        format!("N = {n} is listed twice (position {} of the list)", i + 1),
                    ));
                }
                v
            }
        };
        let truncated = levels.iter().any(|l| matches!(l.0, Level::Truncation(_)));
        if truncated != compares_truncations(claim.id) {
            let msg = if truncated {
                "this claim compares every T_j of the grid: no `factor`"
            } else {
                "this claim needs factor = \"truncation\" and two levels (fractions of K)"
            };
            return Err(self.err("experiment.claim", &e.claim, msg));
        }
        if claim.id == "appC.optimal_t_moves" && dims.len() < 2 {
            let s = e.dims.as_ref().expect("the default has six");
            return Err(self.err("experiment.dims", s, "needs the reference N and at least one N to compare it with"));
        }
        let runs = e.runs.as_ref().map_or(Ok(100), |r| {
            if (1..=10_000).contains(r.get_ref()) {
                Ok(*r.get_ref())
            } else {
                Err(self.err("experiment.runs", r, "must lie in 1..=10000"))
            }
        })?;
        let step = match spec.step {
            StepRule::Optimal => StepSize::Optimal,
            StepRule::InvThreeL => StepSize::OneThirdL,
            _ => {
                let at = e.set.step.as_ref().or(self.base_step.as_ref());
                let msg = "the appendix-C protocol has the steps \"2/(L+m)\" and \"1/(3L)\"";
                return Err(match at {
                    Some(s) => self.err("step", s, msg),
                    None => Error::Input { location: self.path.to_string(), message: msg.into() },
                });
            }
        };
        let omega = match &e.omega {
            Some(w) if w.get_ref().fract() != 0.0 => {
                return Err(self.err(
                    "experiment.omega",
                    w,
                    "an integer on the appendix-C protocol (K' and T' are iteration counts)",
                ));
            }
            Some(w) => *w.get_ref() as usize,
            None => 3,
        };
        for (l, text) in levels {
            if let Level::Truncation(Truncate::Fraction(f)) = l
                && !((10.0 * f).fract() == 0.0 && *f <= 0.8)
            {
                let s = e.factor.as_ref().expect("truncation levels have a factor");
                return Err(self.err(
                    "experiment.levels",
                    s,
                    format!("`{text}`: the appendix-C grid is T/K ∈ {{0, 0.1, …, 0.8}}"),
                ));
            }
        }
        Ok(Some(AppendixC { dims, runs, step, omega }))
    }

    fn factor(&self, f: &Spanned<String>, design: Design) -> Result<Factor> {
        let factor = match f.get_ref().as_str() {
            "x0" => Factor::X0,
            "step" => Factor::Step,
            "lambda" => Factor::Lambda,
            "delta" => Factor::Delta,
            "truncation" => Factor::Truncation,
            "start" => Factor::Start,
            other => return Err(self.err("experiment.factor", f, format!("unknown factor `{other}`"))),
        };
        let allowed = match design {
            Design::Proportion | Design::PairedCurse => {
                matches!(factor, Factor::X0 | Factor::Step | Factor::Lambda | Factor::Delta)
            }
            Design::PairedBudget => factor == Factor::Truncation,
            Design::PairedBilevel => factor == Factor::Start,
            Design::AppendixC => factor == Factor::Truncation,
        };
        if allowed {
            Ok(factor)
        } else {
            Err(self.err(
                "experiment.factor",
                f,
                format!("factor `{}` does not fit this claim's experiment", f.get_ref()),
            ))
        }
    }

    fn levels(
        &self,
        e: &ExperimentFile,
        factor: Option<Factor>,
        spec: &Spec,
        design: Design,
    ) -> Result<Vec<(Level, String)>> {
        let Some(factor) = factor else {
            if design == Design::AppendixC {
                return Ok(vec![(Level::Base, "base".into())]);
            }
            if design != Design::Proportion {
                return Err(self.err(
                    "experiment.claim",
                    &e.claim,
                    "this claim's experiment needs `factor` and two `levels`",
                ));
            }
            return Ok(vec![(Level::Base, "base".into())]);
        };
        if design != Design::Proportion && e.levels.len() != 2 {
            return Err(self.err(
                "experiment.factor",
                e.factor.as_ref().expect("factor given"),
                "a paired experiment has exactly two levels",
            ));
        }
        if e.levels.is_empty() {
            return Err(self.err(
                "experiment.factor",
                e.factor.as_ref().expect("factor given"),
                "needs at least one level",
            ));
        }
        e.levels.iter().map(|v| Ok((self.level(v, factor, spec)?, show(v.get_ref())))).collect()
    }

    fn level(&self, v: &Spanned<toml::Value>, factor: Factor, spec: &Spec) -> Result<Level> {
        let key = "experiment.levels";
        let num = v.get_ref().as_float().or_else(|| v.get_ref().as_integer().map(|i| i as f64));
        let s = v.get_ref().as_str();
        match factor {
            Factor::X0 => match (num, s) {
                (Some(x), _) => Ok(Level::X0(self.x0(v, &X0::Sigma(x))?)),
                (_, Some(n)) => Ok(Level::X0(self.x0(v, &X0::Named(n.to_string()))?)),
                _ => Err(self.err(key, v, "x0 levels are numbers or \"origin\"")),
            },
            Factor::Step => match s {
                Some(text) => {
                    let spanned = Spanned::new(v.span(), text.to_string());
                    Ok(Level::Step(crate::scenario::step_rule(self.path, self.text, &spanned)?))
                }
                None => Err(self.err(key, v, "step levels are rules such as \"2/(L+m)\", \"1/(3L)\", \"c=0.1\"")),
            },
            Factor::Lambda => match num {
                Some(l) => Ok(Level::Lambda(self.lambda(v, l)?)),
                None => Err(self.err(key, v, "lambda levels are numbers")),
            },
            Factor::Delta => match (num, spec.family) {
                (_, Family::Ridge { .. } | Family::Logistic { .. } | Family::Layer { .. }) => {
                    Err(self.err(key, v, "delta needs a pseudo_huber or huber family"))
                }
                (Some(d), _) if d > 0.0 && d.is_finite() => Ok(Level::Delta(d)),
                _ => Err(self.err(key, v, "delta levels are numbers > 0")),
            },
            Factor::Truncation => match (num, s) {
                (Some(f), _) if (0.0..1.0).contains(&f) => Ok(Level::Truncation(Truncate::Fraction(f))),
                (_, Some("optimal")) => Ok(Level::Truncation(Truncate::Optimal)),
                _ => Err(self.err(key, v, "truncation levels are fractions of K in [0, 1) or \"optimal\"")),
            },
            Factor::Start => match s {
                Some("cold") => Ok(Level::Warm(false)),
                Some("warm") => Ok(Level::Warm(true)),
                _ => Err(self.err(key, v, "start levels are \"cold\" or \"warm\"")),
            },
        }
    }
}

/// A level as the file wrote it (`10.0`, `"optimal"`), a float that would print as a decimal
/// of more than [`SHORT_NUMBER_CHARS`] characters (`1e100`: 100 digits) in scientific
/// notation instead.
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Float(x) => {
            let s = v.to_string();
            if s.chars().count() > SHORT_NUMBER_CHARS { format!("{x:e}") } else { s }
        }
        other => other.to_string(),
    }
}

/// `claim (family, step, x_0; levels)`, leaving out the setting the factor changes.
fn default_label(id: &str, spec: &Spec, factor: Option<Factor>, levels: &[(Level, String)]) -> String {
    let family = match (spec.family, factor) {
        (Family::Ridge { .. }, _) => "ridge".to_string(),
        (Family::Logistic { .. }, _) => "logistic".to_string(),
        (Family::Layer { param, .. }, _) => format!("layer[{}]", param.name()),
        (Family::ElasticNet { .. }, _) => "elastic net".to_string(),
        (Family::PseudoHuber { .. }, Some(Factor::Delta)) => "pseudo-Huber".to_string(),
        (Family::PseudoHuber { delta, .. }, _) => format!("pseudo-Huber δ={}", short_number(delta)),
        (Family::Huber { delta, .. }, _) => format!("Huber δ={}", short_number(delta)),
    };
    let step = match spec.step {
        StepRule::Optimal => "2/(L+m)".to_string(),
        StepRule::InvL => "1/L".to_string(),
        StepRule::InvThreeL => "1/(3L)".to_string(),
        StepRule::FractionOfTwoOverL { c } => format!("{c}·2/L"),
    };
    let x0 = spec.x0_sigma.map_or("origin".to_string(), |s| format!("σ={}", short_number(s)));
    let mut parts = vec![family];
    if factor != Some(Factor::Step) {
        parts.push(format!("α={step}"));
    }
    if factor != Some(Factor::X0) {
        parts.push(format!("x0 {x0}"));
    }
    let name = match factor {
        None => "setting",
        Some(Factor::X0) => "x0 σ",
        Some(Factor::Step) => "α",
        Some(Factor::Lambda) => "λ",
        Some(Factor::Delta) => "δ",
        Some(Factor::Truncation) => "T/K",
        Some(Factor::Start) => "start",
    };
    let lv: Vec<&str> = levels.iter().map(|l| l.1.as_str()).collect();
    format!("{id} ({}; {name}: {})", parts.join(", "), lv.join(" → "))
}

/// `claim (App. C, α[, ω], R; T/K: levels; N: dims)`.
fn appendix_c_label(id: &str, a: &AppendixC, levels: &[(Level, String)]) -> String {
    let dims: Vec<String> = a.dims.iter().map(|n| n.to_string()).collect();
    let truncation = if levels.iter().any(|l| matches!(l.0, Level::Truncation(_))) {
        let lv: Vec<&str> = levels.iter().map(|l| l.1.as_str()).collect();
        format!("; T/K: {}", lv.join(" → "))
    } else {
        String::new()
    };
    // Appendix C's budget is ω = 3; another one is named (an experiment outside its setting).
    let omega = if a.omega == 3 { String::new() } else { format!(", ω={}", a.omega) };
    format!("{id} (App. C, α={}{omega}, R={}{truncation}; N: {})", a.step.label(), a.runs, dims.join(", "))
}

/// `true` for the claims whose two levels are truncations `T` of the grid.
pub fn compares_truncations(id: &str) -> bool {
    matches!(id, "appC.trunc_ineffective_small_step" | "sec4.truncation_helps")
}
