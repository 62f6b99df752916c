//! Scenario files, the runner and the reports: snapshot tests of the verdicts (insta,
//! stored under `reports/snapshots/`), reproducibility across thread counts, and bad input.

use std::path::Path;
use unrollcheck::Error;
use unrollcheck::report::{self, stable_summary, summarize};
use unrollcheck::scenario::Scenario;
use unrollcheck::scenario::runner::{Options, run_scenario};

fn paper() -> Scenario {
    Scenario::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/verify/paper.toml")))
        .expect("verify/paper.toml is valid")
}

fn snapshot(name: &str, value: String) {
    insta::with_settings!({ snapshot_path => "../reports/snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, value);
    });
}

/// Every verdict of the default scenario (quick mode), pinned: a flipped verdict, a new or
/// lost claim, or a margin that moves by a decade fails here; review with `cargo insta review`.
#[test]
fn paper_scenario_verdicts_are_pinned() {
    let sc = paper();
    let res = run_scenario(&sc, &Options { quick: true, ..Options::default() }).expect("runs");
    let rows = summarize(&sc, &res);
    assert!(!rows.iter().any(|r| r.fails()), "a claim of the paper is violated:\n{}", stable_summary(&rows));
    snapshot("paper_quick", stable_summary(&rows));
}

/// The default scenario covers every implemented claim id.
#[test]
fn paper_scenario_covers_every_claim() {
    let sc = paper();
    for c in unrollcheck::claims::all() {
        assert!(sc.claims.contains(&c.id), "verify/paper.toml does not check {}", c.id);
    }
}

/// Same seed, same results, whatever the number of threads.
#[test]
fn results_do_not_depend_on_thread_count() {
    let sc = paper();
    let one = run_scenario(&sc, &Options { quick: true, jobs: Some(1), ..Options::default() }).unwrap();
    let two = run_scenario(&sc, &Options { quick: true, jobs: Some(2), ..Options::default() }).unwrap();
    let j1 = report::json(&sc, &one, &summarize(&sc, &one));
    let j2 = report::json(&sc, &two, &summarize(&sc, &two));
    assert_eq!(j1, j2);
    // Negative control: another seed changes the results.
    let other = run_scenario(&sc, &Options { quick: true, seed: Some(7), ..Options::default() }).unwrap();
    assert_ne!(j1, report::json(&sc, &other, &summarize(&sc, &other)));
}

const MINIMAL: &str = r#"
name = "t"
seed = 1
instances = 1
claims = ["thm7.bound"]
[grid]
family = ["ridge_weight"]
m = [6]
n = [2]
step = ["2/(L+m)"]
x0 = [3.0]
"#;

fn input_error(text: &str) -> (String, String) {
    match Scenario::parse("bad.toml", text) {
        Err(Error::Input { location, message }) => (location, message),
        other => panic!("expected an input error, got {other:?}"),
    }
}

#[test]
fn minimal_scenario_parses_and_holds() {
    let sc = Scenario::parse("t.toml", MINIMAL).unwrap();
    let res = run_scenario(&sc, &Options::default()).unwrap();
    assert!(summarize(&sc, &res).iter().all(|r| !r.fails()));
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let (loc, msg) = input_error(&MINIMAL.replace("seed = 1", "seed = 1\nsede = 2"));
    assert!(loc.contains("bad.toml") && loc.contains("line 4"), "{loc}");
    assert!(msg.contains("sede"), "{msg}");
}

#[test]
fn unknown_claim_id_names_line_and_key() {
    let (loc, msg) = input_error(&MINIMAL.replace("\"thm7.bound\"", "\"thm7.bond\""));
    assert!(loc.contains("line 5") && loc.contains("`claims`"), "{loc}");
    assert!(msg.contains("thm7.bond"), "{msg}");
}

#[test]
fn bad_ranges_are_rejected_with_their_key() {
    for (from, to, key) in [
        ("m = [6]", "m = [0]", "grid.m"),
        ("x0 = [3.0]", "x0 = [-1.0]", "grid.x0"),
        ("step = [\"2/(L+m)\"]", "step = [\"2/L\"]", "grid.step"),
        ("instances = 1", "instances = 0", "instances"),
        ("family = [\"ridge_weight\"]", "family = [\"lasso\"]", "grid.family"),
        ("x0 = [3.0]", "x0 = [3.0]\nnorm = [\"energy\"]", "grid.norm"),
        ("x0 = [3.0]", "x0 = [3.0]\neps = [1.0]", "grid.eps"),
    ] {
        let (loc, _) = input_error(&MINIMAL.replace(from, to));
        assert!(loc.contains(&format!("`{key}`")), "{from} -> {to}: {loc}");
    }
    let (loc, _) = input_error("name = \"t\"\nseed = \"x\"");
    assert!(loc.contains("line 2"), "{loc}");
}

/// `t_fractions` sets the late starts of the run (and of its witnesses' settings); a value
/// outside `[0, 1]` or an empty list is refused at its key.
#[test]
fn late_start_fractions_are_configurable_and_checked() {
    let text = MINIMAL.replace("instances = 1", "instances = 1\nt_fractions = [0.0, 0.4, 0.8]");
    let sc = Scenario::parse("t.toml", &text).unwrap();
    assert_eq!(sc.config(false).t_fractions, vec![0.0, 0.4, 0.8]);
    let res = run_scenario(&sc, &Options::default()).unwrap();
    assert_eq!(res.config.t_fractions, vec![0.0, 0.4, 0.8]);
    // Default: the late starts of `Config::default`.
    assert_eq!(Scenario::parse("t.toml", MINIMAL).unwrap().config(false).t_fractions, vec![0.0, 0.1, 0.25, 0.5]);
    for bad in ["[0.0, 1.5]", "[-0.1]", "[]", "[nan]"] {
        let (loc, msg) = input_error(&MINIMAL.replace("instances = 1", &format!("instances = 1\nt_fractions = {bad}")));
        assert!(loc.contains("`t_fractions`") && loc.contains("line 5"), "{bad}: {loc}: {msg}");
    }
}

/// The long campaign (`verify/long.toml`, issue #14): parses, reaches n = 50, K = 2000 and
/// the late starts `T' = T + ωT` of (22) for `T = 0.1K, 0.2K` at its `ω`. (It is run by
/// hand, `unrollcheck verify verify/long.toml`, not here: about 3 minutes on 2 cores.)
#[test]
fn long_campaign_is_the_one_described() {
    let sc = Scenario::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/verify/long.toml"))).unwrap();
    let cfg = sc.config(false);
    assert_eq!(cfg.k_max, 2000);
    for t in [0.1, 0.2] {
        let t_prime = t + sc.omega() * t;
        assert!(cfg.t_fractions.iter().any(|&f| (f - t_prime).abs() < 1e-12), "T' = {t_prime}K missing");
    }
    let specs = sc.specs(None, false);
    assert_eq!(specs.iter().map(|(_, s)| s.n).max(), Some(50));
    assert!(sc.claims.contains(&"rem5.local") && sc.claims.contains(&"rem9.local"));
}

#[test]
fn custom_claims_are_checked_like_built_in_ones() {
    let text = format!(
        "{MINIMAL}\n[[custom]]\nid = \"my.bound\"\nstatement = \"edot[k] <= rho^k*edot[0] + k*rho^(k-1)*Gamma*e[0]\"\nrequires = [\"A2.1\", \"A2.2\"]\n[[custom]]\nid = \"my.false\"\nstatement = \"edot[k] <= rho^k*edot[0]\"\n"
    );
    let sc = Scenario::parse("t.toml", &text).unwrap();
    let rows = summarize(&sc, &run_scenario(&sc, &Options::default()).unwrap());
    let row = |id: &str| rows.iter().find(|r| r.claim == id).unwrap().clone();
    assert_eq!(row("my.bound").holds, 1);
    assert_eq!(row("my.false").violated, 1, "the bound without its curse term must be violated");
}

#[test]
fn a_failed_report_leaves_nothing_half_written() {
    let sc = Scenario::parse("t.toml", MINIMAL).unwrap();
    let res = run_scenario(&sc, &Options::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("unrollcheck-report-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let written = report::write(&sc, &res, &dir).unwrap();
    for f in ["report.md", "results.json", "figures/margins.svg"] {
        assert!(written.dir.join(f).exists(), "{f} missing");
    }
    // An output path under a regular file cannot be created: an error, and no directory.
    let blocker = dir.join("file");
    std::fs::write(&blocker, "x").unwrap();
    assert!(matches!(report::write(&sc, &res, &blocker.join("out")), Err(Error::Io { .. })));
    assert!(!blocker.join("out").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn adapted() -> Scenario {
    Scenario::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/verify/adapted.toml")))
        .expect("verify/adapted.toml is valid")
}

/// Issue #8, item 4, as a test: on every heavy-ball instance of `verify/adapted.toml`
/// (quick mode) (8), (19) and (21) are not applicable (A2.1) in the Euclidean norm and hold
/// in the adapted norm, on the same draws (the twin has the same seed); the controls
/// without the curse term are violated in the adapted norm too. Verdicts pinned by a snapshot.
#[test]
fn adapted_scenario_heavy_ball_not_applicable_then_holds() {
    use unrollcheck::claims::Verdict;
    use unrollcheck::spec::{Method, Norm};
    let sc = adapted();
    let res = run_scenario(&sc, &Options { quick: true, ..Options::default() }).expect("runs");
    let rows = summarize(&sc, &res);
    assert!(!rows.iter().any(|r| r.fails()), "{}", stable_summary(&rows));
    let verdict = |i: &unrollcheck::scenario::runner::InstanceResult, claim: &str, variant: &str| {
        i.rows.iter().find(|r| r.claim == claim && r.variant == variant).unwrap().verdict.clone()
    };
    let mut pairs = 0;
    for (e, a) in res.instances.iter().zip(res.instances.iter().skip(1)) {
        if !matches!(e.spec.method, Method::HeavyBall { .. }) || e.spec.norm != Norm::Euclidean {
            continue;
        }
        assert!(matches!(a.spec.norm, Norm::Adapted { .. }) && a.spec.seed == e.spec.seed, "twins share the draws");
        assert!(a.adapted.is_some_and(|n| n.cond_p >= 1.0 && a.constants.rho() < 1.0));
        for claim in ["thm2.rate", "thm7.bound", "thm8.bound"] {
            let ve = verdict(e, claim, "paper");
            assert!(matches!(ve, Verdict::NotApplicable { assumption: "A2.1", .. }), "{claim} Euclidean: {ve}");
            let va = verdict(a, claim, "paper");
            assert!(va.holds(), "{claim} adapted: {va}");
        }
        let control = verdict(a, "thm7.bound", "no_curse_term");
        let gamma = a.constants.gamma.value;
        assert!(gamma == 0.0 || matches!(control, Verdict::Violated(_)), "no_curse_term: {control}");
        pairs += 1;
    }
    assert_eq!(pairs, 30, "3 families × 2 steps × 5 momenta");
    snapshot("adapted_quick", stable_summary(&rows));
    let md = report::markdown(&sc, &res, &rows, &[]);
    assert!(md.contains("beyond the paper") && md.contains("cond(P)"));
}
