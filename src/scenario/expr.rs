//! Custom claims written as expressions in scenario files, and the symbolic derivatives
//! of the truncation objective (22) used by `lem11.derivatives`.
//!
//! A custom claim is one relation between per-instance quantities, for example (19):
//!
//! ```text
//! edot[k] <= rho^k*edot[0] + k*rho^(k-1)*Gamma*e[0]
//! ```
//!
//! # Syntax
//!
//! - **Relation**: exactly one of `<=` (or `≤`), `>=` (or `≥`), `==`, outside brackets.
//! - **Arithmetic** is parsed by [exmex](https://docs.rs/exmex) with its default float
//!   operators: `+ - * / ^`, parentheses, `sqrt`, `exp`, `ln`, `log`, `sin`, `abs`,
//!   `min(a, b)`, `max(a, b)`, …, the constants `E`, `PI`, and numbers (`2`, `0.5`, `1e-3`).
//! - **Sequences** `e`, `edot`, `ebar` (the errors `e_k`, `ė_k`, `ē_k` of (8), (11), (13)) are
//!   always indexed: `edot[k]`, `edot[k+1]`, `edot[k-2]`, `edot[0]`, `edot[K]`, `edot[K-1]`.
//! - **Scalars**: `rho`, `Gamma`, `Gamma_sharp`, `kappa`, `M_x`, `M_u`, `K`, `omega`,
//!   `dxstar_norm`, `e0`, `affine_radius` (the radius `δ/(q‖F‖)` of the ball around `x*`
//!   on which a proximal map is affine, [`crate::map::proximal`]; NaN for the other maps,
//!   where the scenario runner reports a claim using it *not applicable*)
//!   ([`SCALARS`]); `k` is the iteration index.
//! - **Late starts** (20)–(21): the scalar `Tp` (the late-start index `T'`) and the sequence
//!   `edot_late` (`edot_late[k]` = `ė_{T'}^{(k)} = ‖Ẋ_{T'}^{(k)} − Dx*‖`, defined for
//!   `k = 0, …, K − T'`). A claim that uses either is checked once per late start of the
//!   instance (the `T'` of `thm8.bound`: `⌊f·K⌋` for the configured fractions `f`), and its
//!   witnesses carry `T'`. Theorem 8 reads
//!   `edot_late[k] <= rho^k*edot[0] + k*rho^(k+Tp-1)*Gamma*e[0]`.
//! - Two constructs whose meaning in exmex differs from the usual convention are rejected
//!   rather than silently misread: a unary minus before a power (`-a^2` is `(-a)^2` in
//!   exmex; write `-(a^2)`) and chained powers (`a^b^c` is `(a^b)^c`; add parentheses).
//! - **Size**: at most [`MAX_OPERATORS`] operators and functions and brackets nested at most
//!   [`MAX_DEPTH`] deep, checked before exmex parses the statement: exmex's symbolic
//!   differentiation costs about the fourth power of the number of operators (figures in
//!   `docs/scenarios.md`).
//!
//! Sequence references are translated into plain exmex variables (`edot[k+1]` becomes
//! `{edot__kp1}`), every other name is checked against the vocabulary, and the two sides are
//! parsed by exmex. Every error is an [`Error::Input`] whose location names the file, the
//! claim and the 1-based character position in the statement; an error reported by exmex
//! (which carries no position) is located at the first token where the statement stops
//! being the prefix of any valid expression, found by asking exmex about completed
//! prefixes.
//!
//! # Checking
//!
//! The relation is checked at every `k = 0, …, K` for which every referenced index lies in
//! `0..=K` (once, at `k = K`, when the claim does not use `k`), through the suite's
//! [`Checker`], so that a violation comes with the same [`crate::claims::Witness`] as a
//! built-in claim (claim id = the custom id, variant [`VARIANT`]).
//!
//! # Tolerance
//!
//! With `f = lhs − rhs` and exmex's symbolic partial derivatives,
//!
//! `τ = Σ_{sequence entries v} |∂f/∂v|·tol_v + ToleranceModel::product(n_ops, S)`,
//! `S = |lhs| + |rhs| + Σ_{v ≠ k} |∂f/∂v|·|v|`,
//!
//! the first term propagating the absolute tolerance of every sequence entry (first order),
//! the second the rounding of the expression itself: `n_ops` operations on terms of size `S`
//! (the sum over all inputs of `|∂f/∂v|·|v|` is the size of the terms, which
//! `|lhs| + |rhs|` alone misses under cancellation). Where exmex has no derivative (`abs`,
//! `min`, `floor`, …) or it is not finite at the point, the entry's contribution is the
//! largest change of `f` when the entry moves by `±tol_v`.

use crate::bounds::on_big_stack;
use crate::claims::{Checker, Point, Verdict};
use crate::error::{Error, Result};
use crate::spec::Spec;
use crate::tol::ToleranceModel;
use exmex::prelude::*;
use exmex::{FloatOpsFactory, MakeOperators};
use std::collections::{BTreeMap, BTreeSet};

/// The scalar names a custom claim may use (besides the iteration index `k`).
pub const SCALARS: &[&str] = &[
    "rho",
    "Gamma",
    "Gamma_sharp",
    "kappa",
    "M_x",
    "M_u",
    "K",
    "omega",
    "dxstar_norm",
    "e0",
    "affine_radius",
    LATE_INDEX,
];

/// The sequence names a custom claim may index.
pub const SEQUENCES: &[&str] = &["e", "edot", "ebar", LATE_SEQUENCE];

/// The scalar `T'` of a late start: a claim using it is checked once per late start.
pub const LATE_INDEX: &str = "Tp";

/// The sequence `ė_{T'}^{(k)}` of a late start: a claim using it is checked once per late
/// start.
pub const LATE_SEQUENCE: &str = "edot_late";

/// One late start of an instance: `T'`, the errors `ė_{T'}^{(k)}` for `k = 0, …, K − T'`
/// and their absolute tolerances.
#[derive(Debug, Clone, PartialEq)]
pub struct LateStart {
    /// `T'`.
    pub t_prime: usize,
    /// `ė_{T'}^{(k)}`, `k = 0, …, K − T'`.
    pub edot: Vec<f64>,
    /// The absolute tolerance of each entry of `edot`.
    pub tol: Vec<f64>,
}

/// The variant name of every custom claim's verdict.
pub const VARIANT: &str = "custom";

/// Named per-instance quantities a custom claim may use.
#[derive(Debug, Clone, Default)]
pub struct Quantities<'a> {
    /// Scalars: rho, Gamma, Gamma_sharp, kappa, M_x, M_u, K, omega, dxstar_norm, e0,
    /// affine_radius (names
    /// exactly these; more may be added).
    pub scalars: Vec<(&'static str, f64)>,
    /// Sequences indexed by k = 0..=K: e, edot, ebar (names exactly these), each with the
    /// absolute tolerance of its entries (same length).
    pub sequences: Vec<(&'static str, &'a [f64], &'a [f64])>,
    /// The late starts over which a claim using `Tp` or `edot_late` is checked (empty when
    /// no claim needs them).
    pub late_starts: Vec<LateStart>,
}

impl Quantities<'_> {
    /// The scalar `name`, if present.
    pub fn scalar(&self, name: &str) -> Option<f64> {
        self.scalars.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
    }

    /// The sequence `name` and its tolerances, if present.
    pub fn sequence(&self, name: &str) -> Option<(&[f64], &[f64])> {
        self.sequences.iter().find(|(n, _, _)| *n == name).map(|&(_, v, t)| (v, t))
    }

    /// `K`: the scalar `K` if present, else the last index of the longest sequence.
    fn horizon(&self) -> usize {
        match self.scalar("K") {
            Some(k) if k.is_finite() && k >= 0.0 => k as usize,
            _ => self.sequences.iter().map(|(_, v, _)| v.len().saturating_sub(1)).max().unwrap_or(0),
        }
    }
}

/// The relation of a custom claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `lhs <= rhs`.
    Leq,
    /// `lhs >= rhs`.
    Geq,
    /// `lhs == rhs` (to the tolerance).
    Eq,
}

/// An index into a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    /// `k + offset`.
    FromK(i64),
    /// `K + offset`.
    FromHorizon(i64),
    /// A constant.
    Const(i64),
}

impl Index {
    fn resolve(self, k: usize, horizon: usize) -> i64 {
        match self {
            Index::FromK(o) => k as i64 + o,
            Index::FromHorizon(o) => horizon as i64 + o,
            Index::Const(c) => c,
        }
    }

    /// The suffix of the exmex variable: `k`, `kp1`, `km2`, `K`, `Km1`, `0`.
    fn suffix(self) -> String {
        let off = |base: &str, o: i64| match o {
            0 => base.to_string(),
            o if o > 0 => format!("{base}p{o}"),
            o => format!("{base}m{}", -o),
        };
        match self {
            Index::FromK(o) => off("k", o),
            Index::FromHorizon(o) => off("K", o),
            Index::Const(c) => c.to_string(),
        }
    }
}

/// A variable of the translated expression.
#[derive(Debug, Clone, PartialEq)]
enum Var {
    /// The iteration index `k`.
    IterK,
    /// A named scalar.
    Scalar(String),
    /// An entry of a sequence.
    Entry { seq: String, index: Index },
}

/// A custom claim: an id, its statement and the two parsed sides of its relation.
#[derive(Debug, Clone)]
pub struct CustomClaim {
    id: &'static str,
    statement: String,
    relation: Relation,
    lhs: FlatEx<f64>,
    rhs: FlatEx<f64>,
    /// `lhs − rhs`, whose variables (in exmex's order) are the table.
    diff: FlatEx<f64>,
    table: Vec<Var>,
    lhs_slots: Vec<usize>,
    rhs_slots: Vec<usize>,
    /// `∂(lhs − rhs)/∂v` per table entry; `None` for `k` or where exmex has no derivative.
    partials: Vec<Option<FlatEx<f64>>>,
    n_ops: usize,
}

impl CustomClaim {
    /// Parses `lhs <= rhs`, `lhs >= rhs` or `lhs == rhs` over the default vocabulary
    /// ([`SCALARS`], [`SEQUENCES`], `k`). Sequence references are `name[k]`, `name[0]`,
    /// `name[k+1]`, `name[k-1]`, `name[K]` (an integer offset from `k` or `K`, or a constant
    /// index). Errors: [`Error::Input`] with location
    /// ``{file}: custom claim `{id}`, position {col}``, `col` the 1-based character position
    /// of the problem in `statement` (unknown variable, unbalanced bracket, bad relation, an
    /// exmex parse error mapped back to the statement).
    pub fn parse(file: &str, id: &str, statement: &str) -> Result<Self> {
        Self::parse_with(file, id, statement, SCALARS, SEQUENCES)
    }

    /// [`Self::parse`] over an explicit vocabulary of scalar and sequence names.
    pub fn parse_with(file: &str, id: &str, statement: &str, scalars: &[&str], sequences: &[&str]) -> Result<Self> {
        on_big_stack(|| Self::parse_here(file, id, statement, scalars, sequences))?
    }

    fn parse_here(file: &str, id: &str, statement: &str, scalars: &[&str], sequences: &[&str]) -> Result<Self> {
        let err = |col: usize, message: String| Error::Input {
            location: format!("{file}: custom claim `{id}`, position {col}"),
            message,
        };
        let toks = lex(statement).map_err(|(c, m)| err(c, m))?;
        check_brackets(&toks).map_err(|(c, m)| err(c, m))?;
        let vocab = Vocabulary::new(scalars, sequences);
        check_size(&toks, &vocab).map_err(|(c, m)| err(c, m))?;
        let (rel_at, relation) = find_relation(&toks).map_err(|(c, m)| err(c, m))?;
        let (lhs_toks, rhs_toks) = (&toks[..rel_at], &toks[rel_at + 1..]);
        if lhs_toks.is_empty() {
            return Err(err(1, "the left-hand side is empty".into()));
        }
        if rhs_toks.is_empty() {
            return Err(err(toks[rel_at].end, "the right-hand side is empty".into()));
        }
        let mut vars = BTreeMap::new();
        let lhs_em = translate(lhs_toks, &vocab, &mut vars).map_err(|(c, m)| err(c, m))?;
        let rhs_em = translate(rhs_toks, &vocab, &mut vars).map_err(|(c, m)| err(c, m))?;
        let lhs = parse_side(&lhs_em).map_err(|(c, m)| err(c, m))?;
        let rhs = parse_side(&rhs_em).map_err(|(c, m)| err(c, m))?;
        let diff = lhs
            .clone()
            .operate_binary(rhs.clone(), "-")
            .map_err(|e| err(1, format!("cannot form lhs − rhs: {}", e.msg())))?;
        let names = diff.var_names().to_vec();
        let table = names
            .iter()
            .map(|n| vars.get(n).cloned().ok_or_else(|| err(1, format!("exmex reports an unknown variable `{n}`"))))
            .collect::<Result<Vec<Var>>>()?;
        let slots = |side: &FlatEx<f64>| -> Vec<usize> {
            side.var_names().iter().map(|n| names.iter().position(|m| m == n).expect("union of sides")).collect()
        };
        let (lhs_slots, rhs_slots) = (slots(&lhs), slots(&rhs));
        let partials = table
            .iter()
            .enumerate()
            .map(|(i, v)| if *v == Var::IterK { None } else { diff.clone().partial(i).ok() })
            .collect();
        let n_ops = 1 + lhs_em.iter().chain(&rhs_em).filter(|e| e.kind.is_operator()).count();
        Ok(CustomClaim {
            id: Box::leak(id.to_string().into_boxed_str()),
            statement: statement.to_string(),
            relation,
            lhs,
            rhs,
            diff,
            table,
            lhs_slots,
            rhs_slots,
            partials,
            n_ops,
        })
    }

    /// Its id.
    pub fn id(&self) -> &str {
        self.id
    }

    /// Its statement, as written.
    pub fn statement(&self) -> &str {
        &self.statement
    }

    /// Its relation.
    pub fn relation(&self) -> Relation {
        self.relation
    }

    /// The quantity names it uses (scalars and sequences, sorted, without `k`), for
    /// validation against the available [`Quantities`].
    pub fn variables(&self) -> Vec<String> {
        let names: BTreeSet<&str> = self
            .table
            .iter()
            .filter_map(|v| match v {
                Var::IterK => None,
                Var::Scalar(s) | Var::Entry { seq: s, .. } => Some(s.as_str()),
            })
            .collect();
        names.into_iter().map(str::to_string).collect()
    }

    fn uses_k(&self) -> bool {
        self.table.iter().any(|v| matches!(v, Var::IterK | Var::Entry { index: Index::FromK(_), .. }))
    }

    /// Checks the relation at every `k` for which all referenced indices lie in `0..=K`
    /// (once, at `k = K`, if it does not use `k`) with the tolerance of the module docs.
    /// A quantity missing from `q` evaluates to NaN, which the checker reports as a numerical
    /// failure (no verdict);
    /// when no `k` has every index in range the verdict is *not applicable*.
    pub fn check(&self, q: &Quantities, tol: &ToleranceModel, spec: Option<Spec>) -> Verdict {
        let horizon = q.horizon();
        let mut ch = Checker::new(self.id, VARIANT, spec);
        if !self.uses_k() {
            ch = ch.k_free();
        }
        let checked = if self.uses_late_start() {
            let mut checked = 0;
            for ls in &q.late_starts {
                let mut late =
                    Quantities { scalars: q.scalars.clone(), sequences: q.sequences.clone(), late_starts: Vec::new() };
                late.scalars.push((LATE_INDEX, ls.t_prime as f64));
                late.sequences.push((LATE_SEQUENCE, &ls.edot, &ls.tol));
                checked += self.check_over_k(&late, tol, horizon, Some(ls.t_prime), &mut ch);
            }
            checked
        } else {
            self.check_over_k(q, tol, horizon, None, &mut ch)
        };
        if checked == 0 {
            let reason = if self.uses_late_start() && q.late_starts.is_empty() {
                format!("`{}` uses a late start, and the instance has none", self.statement)
            } else {
                format!("no k in 0..={horizon} has every index of `{}` in range", self.statement)
            };
            return Verdict::NotApplicable { assumption: "index range", reason, observed: None };
        }
        ch.verdict()
    }

    /// `true` when the claim uses `Tp` or `edot_late`, and is checked once per late start.
    pub fn uses_late_start(&self) -> bool {
        self.table.iter().any(|v| match v {
            Var::Scalar(s) => s == LATE_INDEX,
            Var::Entry { seq, .. } => seq == LATE_SEQUENCE,
            Var::IterK => false,
        })
    }

    /// The comparisons at every `k` with all indices in range (at `k = K` only when the claim
    /// does not use `k`), at the late start `t` if any; returns how many were made.
    fn check_over_k(
        &self,
        q: &Quantities,
        tol: &ToleranceModel,
        horizon: usize,
        t: Option<usize>,
        ch: &mut Checker,
    ) -> usize {
        let ks = if self.uses_k() { 0..=horizon } else { horizon..=horizon };
        let mut checked = 0;
        for k in ks {
            let Some((vals, tols)) = self.values(q, k, horizon) else { continue };
            let l = eval(&self.lhs, &self.lhs_slots, &vals);
            let r = eval(&self.rhs, &self.rhs_slots, &vals);
            let tau = self.tolerance(&vals, &tols, l, r, tol);
            let point = Point { k, t };
            match self.relation {
                Relation::Leq => ch.leq(point, l, r, tau),
                Relation::Geq => ch.geq(point, l, r, tau),
                Relation::Eq => ch.equal(point, l - r, tau),
            }
            checked += 1;
        }
        checked
    }

    /// The value and absolute tolerance of every table entry at `k`; `None` when an index
    /// is out of range.
    fn values(&self, q: &Quantities, k: usize, horizon: usize) -> Option<(Vec<f64>, Vec<f64>)> {
        let mut vals = Vec::with_capacity(self.table.len());
        let mut tols = Vec::with_capacity(self.table.len());
        for v in &self.table {
            let (x, t) = match v {
                Var::IterK => (k as f64, 0.0),
                Var::Scalar(s) => (q.scalar(s).unwrap_or(f64::NAN), 0.0),
                Var::Entry { seq, index } => {
                    let i = index.resolve(k, horizon);
                    if i < 0 || i as usize > horizon {
                        return None;
                    }
                    match q.sequence(seq) {
                        Some((xs, ts)) => {
                            let x = *xs.get(i as usize)?;
                            (x, ts.get(i as usize).copied().unwrap_or(f64::NAN))
                        }
                        None => (f64::NAN, 0.0),
                    }
                }
            };
            vals.push(x);
            tols.push(t);
        }
        Some((vals, tols))
    }

    /// `τ` of the module docs.
    fn tolerance(&self, vals: &[f64], tols: &[f64], l: f64, r: f64, tol: &ToleranceModel) -> f64 {
        let mut propagated = 0.0;
        let mut scale = l.abs() + r.abs();
        for (i, var) in self.table.iter().enumerate() {
            if *var == Var::IterK {
                continue;
            }
            let d = self.partials[i].as_ref().map_or(f64::NAN, |p| p.eval(vals).unwrap_or(f64::NAN));
            if matches!(var, Var::Entry { .. }) {
                propagated += if d.is_finite() { d.abs() * tols[i] } else { self.perturbation(vals, i, tols[i]) };
            }
            let term = d.abs() * vals[i].abs();
            if term.is_finite() {
                scale += term;
            }
        }
        propagated + tol.product(self.n_ops, scale)
    }

    /// The largest change of `lhs − rhs` when entry `i` moves by `±h` (finite results only).
    fn perturbation(&self, vals: &[f64], i: usize, h: f64) -> f64 {
        let f0 = self.diff.eval(vals).unwrap_or(f64::NAN);
        let mut moved = vals.to_vec();
        [h, -h]
            .iter()
            .map(|&s| {
                moved[i] = vals[i] + s;
                (self.diff.eval(&moved).unwrap_or(f64::NAN) - f0).abs()
            })
            .filter(|c| c.is_finite())
            .fold(0.0, f64::max)
    }
}

fn eval(e: &FlatEx<f64>, slots: &[usize], vals: &[f64]) -> f64 {
    let v: Vec<f64> = slots.iter().map(|&s| vals[s]).collect();
    e.eval(&v).unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------------------------------
// Lexing, brackets, relation

/// A token of the statement.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// A number, as text exmex reads (exponent notation expanded).
    Num(String),
    /// `+ - * / ^ ,`
    Op(char),
    Open(char),
    Close(char),
    /// A relation as written (`<=`, `<`, `=`, …), normalised for `≤`, `≥`.
    Rel(String),
}

/// A token with its 1-based character span `[pos, end)`.
#[derive(Debug, Clone)]
struct Lexed {
    tok: Tok,
    pos: usize,
    end: usize,
}

type Located<T> = std::result::Result<T, (usize, String)>;

fn lex(s: &str) -> Located<Vec<Lexed>> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        let start = i;
        let digit_at = |j: usize| cs.get(j).is_some_and(|c| c.is_ascii_digit());
        let tok = if c.is_whitespace() {
            i += 1;
            continue;
        } else if c.is_alphabetic() || c == '_' {
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            Tok::Ident(cs[start..i].iter().collect())
        } else if c.is_ascii_digit() || (c == '.' && digit_at(i + 1)) {
            while digit_at(i) {
                i += 1;
            }
            if cs.get(i) == Some(&'.') {
                i += 1;
                while digit_at(i) {
                    i += 1;
                }
            }
            let mantissa_end = i;
            if matches!(cs.get(i), Some('e' | 'E'))
                && (digit_at(i + 1) || (matches!(cs.get(i + 1), Some('+' | '-')) && digit_at(i + 2)))
            {
                i += 2;
                while digit_at(i) {
                    i += 1;
                }
            }
            let text: String = cs[start..i].iter().collect();
            if i == mantissa_end {
                Tok::Num(text)
            } else {
                // exmex has no exponent notation: Display of f64 never uses it and round-trips.
                match text.parse::<f64>() {
                    Ok(v) if v.is_finite() => Tok::Num(format!("{v}")),
                    _ => return Err((start + 1, format!("number `{text}` out of range"))),
                }
            }
        } else if matches!(c, '<' | '>' | '=' | '!') {
            i += 1;
            if matches!(cs.get(i), Some('<' | '>' | '=')) {
                i += 1;
            }
            Tok::Rel(cs[start..i].iter().collect())
        } else {
            i += 1;
            match c {
                '≤' => Tok::Rel("<=".into()),
                '≥' => Tok::Rel(">=".into()),
                '+' | '-' | '*' | '/' | '^' | ',' => Tok::Op(c),
                '(' | '[' => Tok::Open(c),
                ')' | ']' => Tok::Close(c),
                _ => return Err((start + 1, format!("unexpected character `{c}`"))),
            }
        };
        out.push(Lexed { tok, pos: start + 1, end: i + 1 });
    }
    Ok(out)
}

fn check_brackets(toks: &[Lexed]) -> Located<()> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    for t in toks {
        match t.tok {
            Tok::Open(c) => stack.push((c, t.pos)),
            Tok::Close(c) => {
                let want = if c == ')' { '(' } else { '[' };
                match stack.pop() {
                    Some((o, _)) if o == want => {}
                    Some((o, p)) => {
                        return Err((t.pos, format!("unbalanced bracket: `{c}` closes `{o}` opened at position {p}")));
                    }
                    None => return Err((t.pos, format!("unbalanced bracket: `{c}` has no opening bracket"))),
                }
            }
            _ => {}
        }
    }
    match stack.pop() {
        Some((o, p)) => Err((p, format!("unbalanced bracket: `{o}` is never closed"))),
        None => Ok(()),
    }
}

/// The most operators and functions a statement may have (`+ - * / ^`, `exp`, `min`, …;
/// quantities, numbers and constants do not count), checked before exmex parses it.
pub const MAX_OPERATORS: usize = 32;

/// The deepest nesting of brackets a statement may have, checked before exmex parses it.
pub const MAX_DEPTH: usize = 16;

/// Refuses a statement with more than [`MAX_OPERATORS`] operators or brackets nested deeper
/// than [`MAX_DEPTH`], before exmex parses or differentiates it. Operators are `+ - * / ^`
/// and every name that is neither a quantity, `k`, a sequence nor a constant such as `PI`
/// (functions such as `exp`, `min`; an unknown name is refused later anyway). exmex's symbolic differentiation, one partial derivative
/// per variable, costs about the fourth power of the number of operators when every operand
/// is a different variable (`e[0]/e[1]/…/e[32]`, the worst found at the limit: 2.1 s and
/// 29 MB to load; a sum or product of 64 distinct entries: 10–17 s; measured on a loaded
/// 2-core machine); without a limit, a statement of 2000 terms ran for minutes, took
/// gigabytes and overflowed the stack.
fn check_size(toks: &[Lexed], vocab: &Vocabulary) -> Located<()> {
    let (mut depth, mut deepest) = (0usize, None);
    let mut operators = Vec::new();
    for t in toks {
        match &t.tok {
            Tok::Open(_) => {
                depth += 1;
                if depth > MAX_DEPTH && deepest.is_none() {
                    deepest = Some(t.pos);
                }
            }
            Tok::Close(_) => depth = depth.saturating_sub(1),
            Tok::Op(c) if *c != ',' => operators.push(t.pos),
            Tok::Ident(name)
                if name != "k"
                    && !vocab.scalars.contains(&name.as_str())
                    && !vocab.sequences.contains(&name.as_str())
                    && !vocab.ops.iter().any(|o| o.0 == name && o.3) =>
            {
                operators.push(t.pos)
            }
            _ => {}
        }
    }
    if operators.len() > MAX_OPERATORS {
        return Err((
            operators[MAX_OPERATORS],
            format!(
                "the statement has {} operators and functions, more than the limit of {MAX_OPERATORS} \
                 (symbolic differentiation of a longer statement takes too long; split it into several claims)",
                operators.len()
            ),
        ));
    }
    if let Some(pos) = deepest {
        let found = toks
            .iter()
            .scan(0usize, |d, t| {
                match t.tok {
                    Tok::Open(_) => *d += 1,
                    Tok::Close(_) => *d = d.saturating_sub(1),
                    _ => {}
                }
                Some(*d)
            })
            .max()
            .unwrap_or(0);
        return Err((pos, format!("brackets nested {found} deep, more than the limit of {MAX_DEPTH}")));
    }
    Ok(())
}

/// The index of the one relation token and the relation.
fn find_relation(toks: &[Lexed]) -> Located<(usize, Relation)> {
    let mut depth = 0usize;
    let mut found: Option<(usize, Relation)> = None;
    for (i, t) in toks.iter().enumerate() {
        match &t.tok {
            Tok::Open(_) => depth += 1,
            Tok::Close(_) => depth -= 1,
            Tok::Rel(r) => {
                let rel = match r.as_str() {
                    "<=" => Relation::Leq,
                    ">=" => Relation::Geq,
                    "==" => Relation::Eq,
                    _ => return Err((t.pos, format!("bad relation `{r}`: expected `<=`, `>=` or `==`"))),
                };
                if depth > 0 {
                    return Err((t.pos, format!("relation `{r}` inside brackets")));
                }
                if found.is_some() {
                    return Err((t.pos, format!("a second relation `{r}`: a claim is one relation")));
                }
                found = Some((i, rel));
            }
            _ => {}
        }
    }
    found.ok_or_else(|| (1, "no relation: expected `lhs <= rhs`, `lhs >= rhs` or `lhs == rhs`".to_string()))
}

// ---------------------------------------------------------------------------------------
// Translation to exmex

/// What a name means.
struct Vocabulary<'v> {
    scalars: &'v [&'v str],
    sequences: &'v [&'v str],
    /// exmex's operators: representation, unary, binary, constant.
    ops: Vec<(&'static str, bool, bool, bool)>,
}

impl<'v> Vocabulary<'v> {
    fn new(scalars: &'v [&'v str], sequences: &'v [&'v str]) -> Self {
        let ops = FloatOpsFactory::<f64>::make()
            .iter()
            .map(|o| (o.repr(), o.has_unary(), o.has_bin(), o.constant().is_some()))
            .collect();
        Vocabulary { scalars, sequences, ops }
    }
}

/// The role of an emitted token, for the checks exmex does not make and for locating its
/// errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Operand,
    /// `+` or `-` (binary or unary).
    Sign,
    /// `* / ^`.
    Binary,
    /// A named binary operator used as `min(a, b)`.
    NamedBinary,
    /// A unary function (`exp`, `sqrt`, …).
    Unary,
    Open,
    Close,
    Comma,
}

impl Kind {
    fn is_operator(self) -> bool {
        matches!(self, Kind::Sign | Kind::Binary | Kind::NamedBinary | Kind::Unary)
    }
    /// An operand must follow.
    fn wants_operand(self) -> bool {
        matches!(self, Kind::Sign | Kind::Binary | Kind::Unary | Kind::Open | Kind::Comma)
    }
}

/// A token of the exmex text with the position of its origin in the statement.
#[derive(Debug, Clone)]
struct Emit {
    text: String,
    pos: usize,
    kind: Kind,
}

fn translate(toks: &[Lexed], vocab: &Vocabulary, vars: &mut BTreeMap<String, Var>) -> Located<Vec<Emit>> {
    let mut em = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let push = |em: &mut Vec<Emit>, text: String, kind: Kind| em.push(Emit { text, pos: t.pos, kind });
        match &t.tok {
            Tok::Ident(name) => {
                let indexed = matches!(toks.get(i + 1), Some(Lexed { tok: Tok::Open('['), .. }));
                let is_seq = vocab.sequences.contains(&name.as_str());
                if indexed {
                    if !is_seq {
                        let what = if vocab.scalars.contains(&name.as_str()) || name == "k" {
                            format!("`{name}` is a scalar and takes no index")
                        } else {
                            unknown(name, vocab)
                        };
                        return Err((t.pos, what));
                    }
                    let close = i + 1 + toks[i + 1..].iter().position(|t| t.tok == Tok::Close(']')).expect("balanced");
                    let index = parse_index(&toks[i + 1..=close])?;
                    let var = format!("{name}__{}", index.suffix());
                    vars.insert(var.clone(), Var::Entry { seq: name.clone(), index });
                    push(&mut em, format!("{{{var}}}"), Kind::Operand);
                    i = close + 1;
                    continue;
                }
                if is_seq {
                    return Err((
                        t.pos,
                        format!("sequence `{name}` needs an index: {name}[k], {name}[k+1], {name}[0], {name}[K]"),
                    ));
                } else if name == "k" {
                    vars.insert("k".into(), Var::IterK);
                    push(&mut em, "{k}".into(), Kind::Operand);
                } else if vocab.scalars.contains(&name.as_str()) {
                    vars.insert(name.clone(), Var::Scalar(name.clone()));
                    push(&mut em, format!("{{{name}}}"), Kind::Operand);
                } else if let Some(&(_, unary, binary, constant)) = vocab.ops.iter().find(|o| o.0 == name) {
                    let kind = match (constant, unary, binary) {
                        (true, _, _) => Kind::Operand,
                        (false, true, _) => Kind::Unary,
                        _ => Kind::NamedBinary,
                    };
                    push(&mut em, name.clone(), kind);
                } else {
                    return Err((t.pos, unknown(name, vocab)));
                }
            }
            Tok::Num(s) => push(&mut em, s.clone(), Kind::Operand),
            Tok::Op(c) => {
                let kind = match c {
                    '+' | '-' => Kind::Sign,
                    ',' => Kind::Comma,
                    _ => Kind::Binary,
                };
                push(&mut em, c.to_string(), kind);
            }
            Tok::Open('(') => push(&mut em, "(".into(), Kind::Open),
            Tok::Close(')') => push(&mut em, ")".into(), Kind::Close),
            Tok::Open(_) | Tok::Close(_) => {
                return Err((t.pos, "`[` must follow a sequence name (e, edot, ebar)".into()));
            }
            Tok::Rel(r) => return Err((t.pos, format!("unexpected relation `{r}`"))),
        }
        i += 1;
    }
    check_conventions(&em)?;
    Ok(em)
}

fn unknown(name: &str, vocab: &Vocabulary) -> String {
    format!(
        "unknown variable `{name}` (scalars: {}, k; sequences: {})",
        vocab.scalars.join(", "),
        vocab.sequences.join(", ")
    )
}

/// `[k]`, `[k±n]`, `[K]`, `[K±n]`, `[n]` (tokens including the brackets).
fn parse_index(toks: &[Lexed]) -> Located<Index> {
    let inner = &toks[1..toks.len() - 1];
    let at = inner.first().map_or(toks[0].pos + 1, |t| t.pos);
    let bad = || (at, "bad index: expected k, k+n, k-n, K, K-n or an integer n".to_string());
    let int = |t: &Lexed| match &t.tok {
        Tok::Num(s) if s.chars().all(|c| c.is_ascii_digit()) => s.parse::<i64>().ok(),
        _ => None,
    };
    let base = |t: &Lexed| match &t.tok {
        Tok::Ident(s) if s == "k" => Some(Index::FromK as fn(i64) -> Index),
        Tok::Ident(s) if s == "K" => Some(Index::FromHorizon as fn(i64) -> Index),
        _ => None,
    };
    match inner {
        [n] if int(n).is_some() => Ok(Index::Const(int(n).unwrap_or_default())),
        [b] => base(b).map(|f| f(0)).ok_or_else(bad),
        [b, s, n] => {
            let f = base(b).ok_or_else(bad)?;
            let n = int(n).ok_or_else(bad)?;
            match s.tok {
                Tok::Op('+') => Ok(f(n)),
                Tok::Op('-') => Ok(f(-n)),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// The end (exclusive) of the operand starting at `i`: signs and unary functions, then a
/// number, a variable, a parenthesised group or `min(…)`.
fn operand_end(em: &[Emit], mut i: usize) -> Option<usize> {
    while em.get(i).is_some_and(|e| matches!(e.kind, Kind::Sign | Kind::Unary)) {
        i += 1;
    }
    let close = |open: usize| {
        let mut depth = 0;
        (open..em.len()).find(|&j| {
            depth += match em[j].kind {
                Kind::Open => 1,
                Kind::Close => -1,
                _ => 0,
            };
            depth == 0
        })
    };
    match em.get(i)?.kind {
        Kind::Operand => Some(i + 1),
        Kind::Open => close(i).map(|j| j + 1),
        Kind::NamedBinary if em.get(i + 1)?.kind == Kind::Open => close(i + 1).map(|j| j + 1),
        _ => None,
    }
}

/// Rejects `-a^b` (exmex: `(-a)^b`) and `a^b^c` (exmex: `(a^b)^c`).
fn check_conventions(em: &[Emit]) -> Located<()> {
    for (i, e) in em.iter().enumerate() {
        let unary_minus = e.text == "-" && (i == 0 || em[i - 1].kind.wants_operand());
        let is_pow = |j: Option<usize>| j.and_then(|j| em.get(j)).is_some_and(|e| e.text == "^");
        if unary_minus && is_pow(operand_end(em, i + 1)) {
            return Err((
                e.pos,
                "a unary minus before a power: exmex reads `-a^b` as `(-a)^b`; write `-(a^b)` or `(-a)^b`".into(),
            ));
        }
        if e.text == "^"
            && let Some(j) = operand_end(em, i + 1).filter(|&j| is_pow(Some(j)))
        {
            return Err((em[j].pos, "chained powers: exmex reads `a^b^c` as `(a^b)^c`; add parentheses".into()));
        }
    }
    Ok(())
}

fn join(em: &[Emit]) -> String {
    em.iter().map(|e| e.text.as_str()).collect::<Vec<_>>().join(" ")
}

/// Parses one side; an exmex error is located at the first token after which no
/// completion of the prefix parses.
fn parse_side(em: &[Emit]) -> Located<FlatEx<f64>> {
    let text = join(em);
    FlatEx::<f64>::parse(&text).map_err(|e| {
        let first_bad = (1..=em.len()).find(|&n| FlatEx::<f64>::parse(&completed(&em[..n])).is_err());
        let at = em[first_bad.unwrap_or(em.len()) - 1].pos;
        (at, format!("cannot parse the expression: {}", e.msg()))
    })
}

/// A prefix made whole: a missing operand is `1`, open calls of `min(a, b)` get `, 1`, open
/// parentheses are closed.
fn completed(prefix: &[Emit]) -> String {
    let mut s = join(prefix);
    match prefix.last().map(|e| e.kind) {
        Some(k) if k.wants_operand() => s.push_str(" 1"),
        Some(Kind::NamedBinary) => s.push_str(" ( 1 , 1 )"),
        _ => {}
    }
    // (is a `min(` call, has seen its comma)
    let mut open: Vec<(bool, bool)> = Vec::new();
    for (i, e) in prefix.iter().enumerate() {
        match e.kind {
            Kind::Open => open.push((i > 0 && prefix[i - 1].kind == Kind::NamedBinary, false)),
            Kind::Comma => {
                if let Some(top) = open.last_mut() {
                    top.1 = true;
                }
            }
            Kind::Close => {
                open.pop();
            }
            _ => {}
        }
    }
    for &(call, comma) in open.iter().rev() {
        if call && !comma {
            s.push_str(" , 1");
        }
        s.push_str(" )");
    }
    s
}
