//! Custom claims written as expressions (`unrollcheck::scenario::expr`): parsing and its
//! located errors, the verdicts on real instances against the built-in claims, and the
//! symbolic derivatives of (22) used by `lem11.derivatives`.

use unrollcheck::Error;
use unrollcheck::bounds::Truncation;
use unrollcheck::bounds::symbolic_h_derivatives;
use unrollcheck::claims::{self, Case, Config, Verdict};
use unrollcheck::problem::ridge::RidgeParam;
use unrollcheck::problem::robust::RobustParam;
use unrollcheck::scenario::expr::{CustomClaim, Quantities, Relation, VARIANT};
use unrollcheck::spec::{Data, Family, Method, Norm, Spec, StepRule};

/// (19) as a custom claim.
const BOUND_19: &str = "edot[k] <= rho^k*edot[0] + k*rho^(k-1)*Gamma*e[0]";
/// (19) without its curse term: the control `thm7.bound/no_curse_term`.
const NO_CURSE: &str = "edot[k] <= rho^k*edot[0]";
const FILE: &str = "verify/custom.toml";

/// A case with its per-entry tolerances.
struct Fixture {
    case: Case,
    cfg: Config,
    tol_iterate: Vec<f64>,
    tol_jacobian: Vec<f64>,
}

impl Fixture {
    fn new(spec: &Spec) -> Self {
        let cfg = Config::default();
        let case = Case::from_spec(spec, &cfg).expect("spec builds");
        let tol_iterate = (0..=case.k).map(|k| case.tol_iterate(&cfg, k)).collect();
        let tol_jacobian = (0..=case.k).map(|k| case.tol_jacobian(&cfg, k)).collect();
        Fixture { case, cfg, tol_iterate, tol_jacobian }
    }

    fn quantities(&self) -> Quantities<'_> {
        unrollcheck::scenario::runner::quantities(
            &self.case,
            &self.cfg,
            &self.case.run().curves,
            &self.tol_iterate,
            &self.tol_jacobian,
        )
    }

    fn check(&self, statement: &str) -> Verdict {
        let claim = CustomClaim::parse(FILE, "custom.test", statement).expect("parses");
        claim.check(&self.quantities(), &self.cfg.tol, self.case.spec)
    }
}

fn checked(v: &Verdict) -> usize {
    match v {
        Verdict::Holds { checked, .. } => *checked,
        other => panic!("expected holds, got {other}"),
    }
}

#[test]
fn example_19_holds_on_figure2() {
    let f = Fixture::new(&Spec::figure2(0));
    let claim = CustomClaim::parse(FILE, "my.bound19", BOUND_19).unwrap();
    assert_eq!(claim.id(), "my.bound19");
    assert_eq!(claim.statement(), BOUND_19);
    assert_eq!(claim.relation(), Relation::Leq);
    assert_eq!(claim.variables(), ["Gamma", "e", "edot", "rho"]);
    let v = claim.check(&f.quantities(), &f.cfg.tol, f.case.spec);
    assert!(v.holds(), "{v}");
    assert_eq!(checked(&v), f.case.k + 1, "one comparison per k = 0..=K");
}

#[test]
fn no_curse_term_control_is_violated_with_a_witness() {
    let f = Fixture::new(&Spec::figure2(0));
    let claim = CustomClaim::parse(FILE, "my.no_curse", NO_CURSE).unwrap();
    let v = claim.check(&f.quantities(), &f.cfg.tol, f.case.spec);
    let w = v.witness().unwrap_or_else(|| panic!("expected a violation, got {v}"));
    assert!(w.point.k >= 1, "{w}");
    assert_eq!(w.claim, "my.no_curse");
    assert_eq!(w.variant, VARIANT);
    assert_eq!(w.spec, Some(Spec::figure2(0)));
    assert!(w.lhs > w.rhs + w.tol, "{w}");
}

#[test]
fn the_same_bound_written_with_geq_gives_the_same_verdicts() {
    let f = Fixture::new(&Spec::figure2(0));
    assert!(f.check("rho^k*edot[0] + k*rho^(k-1)*Gamma*e[0] >= edot[k]").holds());
    assert!(f.check("rho^k*edot[0] ≥ edot[k]").violated());
    assert!(f.check("edot[k] ≤ rho^k*edot[0] + k*rho^(k-1)*Gamma*e[0]").holds());
}

/// Asserts that `statement` fails with `Error::Input` at `col`, the message containing `what`.
fn assert_input_error(statement: &str, col: usize, what: &str) {
    match CustomClaim::parse(FILE, "bad", statement) {
        Err(Error::Input { location, message }) => {
            assert_eq!(location, format!("{FILE}: custom claim `bad`, position {col}"), "{statement:?}: {message}");
            assert!(message.contains(what), "{statement:?}: message {message:?} lacks {what:?}");
        }
        Err(other) => panic!("{statement:?}: wrong error {other}"),
        Ok(_) => panic!("{statement:?} parsed"),
    }
}

#[test]
fn malformed_statements_are_located() {
    // The four cases of the brief.
    assert_input_error("edot[k] <= ", 11, "right-hand side is empty");
    assert_input_error("foo[k] <= 1", 1, "unknown variable `foo`");
    assert_input_error("edot[k <= 1", 5, "unbalanced bracket");
    assert_input_error("edot[k] < rho", 9, "bad relation `<`");
    // Relations.
    assert_input_error("edot[k] + rho", 1, "no relation");
    assert_input_error("edot[k] <= rho <= 1", 16, "second relation");
    assert_input_error("edot[k] = rho", 9, "bad relation `=`");
    assert_input_error(" <= rho", 1, "left-hand side is empty");
    // Names and indices.
    assert_input_error("edot <= 1", 1, "needs an index");
    assert_input_error("edot[k] <= rho[k]", 12, "scalar and takes no index");
    assert_input_error("edot[k] <= Gama*e[0]", 12, "unknown variable `Gama`");
    assert_input_error("edot[k+] <= 1", 6, "bad index");
    assert_input_error("edot[] <= 1", 6, "bad index");
    assert_input_error("edot[k] <= (rho)[k]", 17, "must follow a sequence");
    // Brackets.
    assert_input_error("edot[k] <= (rho", 12, "never closed");
    assert_input_error("edot[k] <= rho)", 15, "no opening bracket");
    assert_input_error("edot[k] <= (rho]", 16, "closes `(`");
    // exmex's own errors, mapped back to the statement.
    assert_input_error("edot[k] <= rho edot[0]", 16, "cannot parse");
    assert_input_error("edot[k] <= rho*", 15, "cannot parse");
    assert_input_error("edot[k] <= sin(*rho)", 16, "cannot parse");
    assert_input_error("edot[k] <= 2(rho)", 13, "cannot parse");
    assert_input_error("edot[k] <= rho $ 1", 16, "unexpected character `$`");
    assert_input_error("edot[k] <= 1e999", 12, "out of range");
    assert_input_error("edot[k] <= {rho}", 12, "unexpected character `{`");
    // Conventions exmex does not share.
    assert_input_error("edot[k] <= -rho^k", 12, "unary minus before a power");
    assert_input_error("edot[k] <= 2*-sin(rho)^2", 14, "unary minus before a power");
    assert_input_error("edot[k] <= rho^k^2", 17, "chained powers");
    // Positions count characters, not bytes (`≤` is three bytes).
    assert_input_error("edot[k] ≤ rho edot[0]", 15, "cannot parse");
    assert_input_error("edot[k] ≤ ė[k]", 11, "unknown variable `ė`");
}

/// `e[k] <= rho <op> rho <op> … <op> rho` with `n` operators.
fn chain(op: &str, n: usize) -> String {
    format!("e[k] <= {}", vec!["rho"; n + 1].join(op))
}

/// A statement with more than `MAX_OPERATORS` operators or brackets nested deeper than
/// `MAX_DEPTH` is refused before exmex sees it, at the first operator (bracket) beyond the
/// limit, with the count found; without the limit, 2000 terms ran for minutes, took
/// gigabytes and overflowed the stack (exit 134). Controls: a statement at the limits parses.
#[test]
fn statements_beyond_the_size_limits_are_refused_before_exmex() {
    use unrollcheck::scenario::expr::{MAX_DEPTH, MAX_OPERATORS};
    assert_eq!((MAX_OPERATORS, MAX_DEPTH), (32, 16), "the limits are documented in docs/scenarios.md");
    for op in ["+", "*", "/"] {
        CustomClaim::parse(FILE, "id", &chain(op, MAX_OPERATORS)).expect("control: 32 operators parse");
        // `e[k] <= ` is 8 characters, then `rho` and an operator every 4.
        let col = 9 + 3 + 4 * MAX_OPERATORS;
        assert_input_error(&chain(op, MAX_OPERATORS + 1), col, "33 operators and functions, more than the limit of 32");
    }
    assert_input_error(&chain("+", 1999), 9 + 3 + 4 * MAX_OPERATORS, "1999 operators and functions");
    // Functions count: 33 nested `exp` (depth 33 would also be refused; the count comes first).
    let exps = format!("e[k] <= {}rho{}", "exp(".repeat(33), ")".repeat(33));
    assert_input_error(&exps, 9 + 4 * 32, "33 operators and functions");
    // Depth: 16 nested parentheses parse, 17 do not (named at the 17th).
    let nested = |d: usize| format!("e[k] <= {}rho{}", "(".repeat(d), ")".repeat(d));
    CustomClaim::parse(FILE, "id", &nested(MAX_DEPTH)).expect("control: depth 16 parses");
    assert_input_error(&nested(MAX_DEPTH + 1), 9 + MAX_DEPTH, "brackets nested 17 deep, more than the limit of 16");
    assert_input_error(&nested(5000), 9 + MAX_DEPTH, "brackets nested 5000 deep");
    // Commas are not operators (a function counts once): 16 `min(rho, rho)` joined by 15 `+`
    // are 31, and parse; counting the 16 commas too would make 47 (cargo-mutants: missed).
    CustomClaim::parse(FILE, "id", &format!("e[k] <= {}", vec!["min(rho, rho)"; 16].join("+")))
        .expect("control: commas are not operators");
    // Constants are not operators: 33 `PI`s joined by 32 `+` parse.
    CustomClaim::parse(FILE, "id", &format!("e[k] <= {}", vec!["PI"; 33].join("+")))
        .expect("control: constants are not operators");
}

#[test]
fn equality_holds_on_an_identity_and_fails_on_a_falsehood() {
    let f = Fixture::new(&Spec::figure2(0));
    let v = f.check("e[k] == e[k]");
    assert_eq!(checked(&v), f.case.k + 1);
    // Rounding of the expression itself is within the tolerance.
    assert!(f.check("(e[k]*3)/3 == e[k]").holds());
    assert!(f.check("exp(ln(edot[k] + 1)) == edot[k] + 1").holds());
    assert!(f.check("edot[k] == e[k]").violated());
    assert_eq!(CustomClaim::parse(FILE, "id", "e[k] == e[k]").unwrap().relation(), Relation::Eq);
}

#[test]
fn indices_restrict_the_range_of_k() {
    let f = Fixture::new(&Spec::figure2(0));
    let k = f.case.k;
    // thm7.recursion: k = 0..K-1.
    assert_eq!(checked(&f.check("edot[k+1] <= rho*edot[k] + Gamma*e[k]")), k);
    assert_eq!(checked(&f.check("edot[k] <= rho*edot[k-1] + Gamma*e[k-1]")), k);
    // Without k: one comparison, at K.
    let v = f.check("edot[K] <= rho^K*edot[0] + K*rho^(K-1)*Gamma*e[0]");
    assert_eq!(checked(&v), 1);
    assert!(matches!(v, Verdict::Holds { at, .. } if at.k == k));
    assert_eq!(checked(&f.check("e[K-1] <= rho^(K-1)*e[0]")), 1);
    // Out of range everywhere: not applicable.
    assert!(f.check("e[K+1] <= 1").not_applicable());
    assert!(f.check("e[100000] <= 1").not_applicable());
}

#[test]
fn functions_without_derivatives_and_scientific_numbers_work() {
    let f = Fixture::new(&Spec::figure2(0));
    // abs and max have no exmex derivative: the tolerance falls back to perturbation.
    assert!(f.check("abs(edot[k]) <= max(edot[k], 0)").holds());
    assert!(f.check("e[k] <= e[k] - 1e-3*e[0]").violated());
    assert!(f.check("e[k] >= 0.5e-300*E*PI").holds());
    // The other scalars are available.
    assert!(f.check("Gamma_sharp <= Gamma").holds());
    assert!(f.check("e0 == e[0]").holds());
    assert!(f.check("Gamma == M_x*kappa/(1 - rho) + M_u").holds());
    assert!(f.check("Gamma_sharp == M_x*dxstar_norm + M_u").holds());
    assert!(f.check("omega == 3").holds());
}

#[test]
fn a_missing_quantity_is_a_numerical_failure_not_a_verdict() {
    let f = Fixture::new(&Spec::figure2(0));
    let claim = CustomClaim::parse(FILE, "id", "edot[k] <= rho^k*edot[0]").unwrap();
    let q = Quantities { sequences: vec![], ..f.quantities() };
    let v = claim.check(&q, &f.cfg.tol, None);
    assert!(v.numerical_failure() && !v.violated() && !v.holds(), "{v}");
}

/// A few specs where (19) applies: the Figure 2 setting, a suboptimal step, targets as the
/// parameter, a nearly flat spectrum (the bound nearly tight), pseudo-Huber.
fn specs() -> Vec<Spec> {
    vec![
        Spec::figure2(0),
        Spec::figure2(7),
        Spec { step: StepRule::InvThreeL, ..Spec::figure2(3) },
        Spec { family: Family::Ridge { param: RidgeParam::Targets }, m: 12, n: 4, ..Spec::figure2(11) },
        Spec {
            family: Family::Ridge { param: RidgeParam::Data },
            method: Method::GradientDescent,
            m: 5,
            n: 3,
            data: Data::Spectrum { s_min: 0.5, s_max: 0.6 },
            lambda: 0.0,
            step: StepRule::Optimal,
            x0_sigma: Some(1.0),
            seed: 5,
            norm: Norm::Euclidean,
        },
        Spec {
            family: Family::PseudoHuber { param: RobustParam::Targets, delta: 1.0 },
            m: 15,
            n: 5,
            ..Spec::figure2(2)
        },
    ]
}

#[test]
fn custom_claims_agree_with_thm7_bound() {
    let variants = [
        ("paper", BOUND_19),
        ("gamma_sharp", "edot[k] <= rho^k*edot[0] + k*rho^(k-1)*Gamma_sharp*e[0]"),
        ("no_curse_term", NO_CURSE),
    ];
    for spec in specs() {
        let f = Fixture::new(&spec);
        for (variant, statement) in variants {
            let builtin = claims::check("thm7.bound", variant, &f.case, &f.cfg).unwrap();
            let custom = f.check(statement);
            assert!(!builtin.not_applicable(), "{spec:?}: {builtin}");
            assert_eq!(custom.word(), builtin.word(), "{spec:?} {variant}: custom {custom} vs built-in {builtin}");
            if let (Some(a), Some(b)) = (custom.witness(), builtin.witness()) {
                assert_eq!(a.point.k, b.point.k, "{spec:?} {variant}: first violation at the same k");
            }
        }
        // The recursion (14) too.
        let builtin = claims::check("thm7.recursion", "paper", &f.case, &f.cfg).unwrap();
        assert_eq!(f.check("edot[k+1] <= rho*edot[k] + Gamma*e[k]").word(), builtin.word(), "{spec:?}");
    }
    // The Figure 2 setting shows the curse: the control must fail there.
    assert!(Fixture::new(&Spec::figure2(0)).check(NO_CURSE).violated());
}

fn truncation() -> Truncation {
    Truncation { rho: 0.9, edot0: 0.3, gamma: 2.0, e0: 5.0, k: 60.0, omega: 3.0 }
}

#[test]
fn symbolic_derivatives_of_h_match_the_printed_ones() {
    let h = truncation();
    let s = symbolic_h_derivatives(&h).unwrap();
    let tol = Config::default().tol;
    let mut flip_caught = false;
    for i in 0..=120 {
        let t = i as f64 * h.k / 120.0;
        let tau = h.tol(&tol, t);
        assert!((s.h(t) - h.relaxed(t)).abs() <= tau, "h at {t}");
        assert!((s.d1(t) - h.d1_printed(t)).abs() <= tau, "h' at {t}: {} vs {}", s.d1(t), h.d1_printed(t));
        assert!((s.d2(t) - h.d2_printed(t)).abs() <= tau, "h'' at {t}: {} vs {}", s.d2(t), h.d2_printed(t));
        // The sign_flip control of lem11.derivatives: (1 − ωδ(K−T)) in place of (−1 − ωδ(K−T)).
        let flipped = h.d1_printed(t) + 2.0 * h.b() * (-h.omega * h.delta() * t).exp();
        flip_caught |= (flipped - s.d1(t)).abs() > tau;
    }
    assert!(flip_caught, "the symbolic comparison alone catches sign_flip");
}

#[test]
fn lem11_derivatives_with_the_symbolic_check() {
    let cfg = Config::default();
    for spec in specs() {
        let case = Case::from_spec(&spec, &cfg).unwrap();
        let paper = claims::check("lem11.derivatives", "paper", &case, &cfg).unwrap();
        assert!(paper.holds(), "{spec:?}: {paper}");
        // The flip adds 2Be^{−ωδT}: invisible where B = ρ^{K−1}Γe_0 = 0 (Γ = 0 on ridge
        // with the targets as parameter, where D_x A and D_u A are constant).
        let flip = claims::check("lem11.derivatives", "sign_flip", &case, &cfg).unwrap();
        assert_eq!(flip.violated(), case.inst.constants.gamma.value > 0.0, "{spec:?}: {flip}");
    }
}

/// The custom claim (21) of `verify/paper.toml`, written with the late-start quantities
/// `Tp` and `edot_late`, gives `thm8.bound`'s verdict on every instance of that scenario
/// (holds, violated or not applicable alike, first violation at the same `(k, T')`), and
/// its curse-free control gives `thm8.bound/no_curse_term`'s.
#[test]
fn custom_claims_with_late_starts_agree_with_thm8_bound_on_the_paper_scenario() {
    use unrollcheck::scenario::Scenario;
    use unrollcheck::scenario::runner::check_custom;
    let sc = Scenario::load(std::path::Path::new("verify/paper.toml")).expect("loads");
    let bound = sc.custom.iter().find(|c| c.claim.id() == "custom.thm8_bound").expect("in verify/paper.toml");
    assert!(bound.claim.uses_late_start() && !sc.custom[0].claim.uses_late_start());
    let mut control = bound.clone();
    control.claim = CustomClaim::parse(FILE, "custom.no_curse", "edot_late[k] <= rho^k*edot[0]").unwrap();
    let cfg = Config { k_max: sc.k_max(false), omega: sc.omega(), ..Config::default() };
    let mut words = std::collections::BTreeMap::new();
    for (_, spec) in sc.specs(None, false) {
        let case = Case::from_spec(&spec, &cfg).expect("builds");
        for (custom, variant) in [(bound, "paper"), (&control, "no_curse_term")] {
            let builtin = claims::check("thm8.bound", variant, &case, &cfg).unwrap();
            let mine = check_custom(custom, &case, &cfg);
            assert_eq!(mine.word(), builtin.word(), "{spec:?} {variant}: custom {mine} vs built-in {builtin}");
            if let (Some(a), Some(b)) = (mine.witness(), builtin.witness()) {
                assert_eq!((a.point.k, a.point.t), (b.point.k, b.point.t), "{spec:?} {variant}: first violation");
            }
            *words.entry((variant, builtin.word())).or_insert(0) += 1;
        }
    }
    // Both outcomes occur, so the agreement is not that of two constant answers.
    assert!(words.get(&("paper", "holds")).is_some_and(|&n| n > 0), "{words:?}");
    assert!(words.get(&("no_curse_term", "violated")).is_some_and(|&n| n > 0), "{words:?}");
    assert!(words.keys().any(|(_, w)| *w == "not applicable"), "{words:?}");
}

/// A custom claim using `affine_radius` (defined for the proximal maps only) is *not
/// applicable* on a ridge instance, naming the assumption "proximal map", not a numerical
/// failure (exit 2) from its NaN. Control: on the proximal scenario it gets a verdict
/// (holds or violated) on at least one instance.
#[test]
fn affine_radius_on_a_non_proximal_map_is_not_applicable() {
    use unrollcheck::scenario::Scenario;
    use unrollcheck::scenario::runner::check_custom;
    let prox = Scenario::load(std::path::Path::new("verify/proximal.toml")).expect("loads");
    let custom = prox.custom.iter().find(|c| c.claim.statement().contains("affine_radius")).expect("in the file");
    let ridge = Scenario::parse(
        "ridge.toml",
        "name = \"r\"\nseed = 1\ninstances = 1\nclaims = [\"thm2.rate\"]\n[grid]\nfamily = [\"ridge_weight\"]\n\
         m = [6]\nn = [3]\nstep = [\"2/(L+m)\"]\nx0 = [10.0]\n",
    )
    .expect("parses");
    let cfg = Config::default();
    for (_, spec) in ridge.specs(None, false) {
        let case = Case::from_spec(&spec, &cfg).expect("builds");
        let v = check_custom(custom, &case, &cfg);
        assert!(v.not_applicable() && !v.numerical_failure(), "{v}");
        assert!(v.to_string().contains("proximal map"), "{v}");
    }
    let cfg = Config { k_max: prox.k_max(false), omega: prox.omega(), ..Config::default() };
    let verdicts: Vec<Verdict> = prox
        .specs(None, false)
        .into_iter()
        .take(4)
        .map(|(_, spec)| check_custom(custom, &Case::from_spec(&spec, &cfg).expect("builds"), &cfg))
        .collect();
    assert!(verdicts.iter().any(|v| v.holds() || v.violated()), "control: {verdicts:?}");
}
