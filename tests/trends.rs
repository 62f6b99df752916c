//! Trend claims: the verdicts of `verify/trends.toml` pinned with insta, negative controls of
//! the paired-experiment machinery (reversed levels must be *contradicted*, identical levels
//! must tie and be *not supported*), reproducibility across thread counts, and bad input.

use std::path::Path;
use unrollcheck::Error;
use unrollcheck::report::trends::stable_summary;
use unrollcheck::trends::TrendResults;
use unrollcheck::trends::file::Trends;
use unrollcheck::trends::runner::run_trends;

fn trends_file() -> Trends {
    Trends::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/verify/trends.toml")))
        .expect("verify/trends.toml is valid")
}

fn snapshot(name: &str, value: String) {
    insta::with_settings!({ snapshot_path => "../reports/snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, value);
    });
}

/// A small trend file: `experiments` are appended to a ridge base with `σ = 10`.
fn small(experiments: &str) -> Trends {
    let text = format!(
        "kind = \"trends\"\nname = \"t\"\nseed = 11\npairs = 20\n[base]\nm = 20\nn = 5\nx0 = 10.0\n{experiments}"
    );
    Trends::parse("small.toml", &text).expect("valid")
}

fn verdicts(res: &TrendResults) -> Vec<&'static str> {
    res.experiments.iter().flat_map(|e| e.stats.iter().map(|s| s.verdict)).collect()
}

/// Every verdict of the shipped trend file at its seed: a verdict that flips, a count that
/// moves or a p-value that changes by more than its first digit fails here.
#[test]
fn trend_verdicts_are_pinned() {
    let t = trends_file();
    let res = run_trends(&t, None, None, None).expect("runs");
    snapshot("trends", stable_summary(&res));
}

/// The machinery can say *supported* and *contradicted*: the initialisation experiment, and
/// the same experiment with its levels reversed (a deliberately wrong claim).
#[test]
fn reversed_levels_are_contradicted() {
    let forward = small("[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [10.0, 0.1]\n");
    let reversed = small("[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [0.1, 10.0]\n");
    let f = run_trends(&forward, None, None, None).expect("runs");
    let r = run_trends(&reversed, None, None, None).expect("runs");
    assert!(verdicts(&f).iter().all(|v| *v == "supported"), "{}", stable_summary(&f));
    assert!(verdicts(&r).iter().all(|v| *v == "contradicted"), "{}", stable_summary(&r));
    // The same pairs, the effects mirrored.
    for (a, b) in f.experiments[0].stats.iter().zip(&r.experiments[0].stats) {
        assert_eq!((a.agree, a.disagree), (b.disagree, b.agree));
    }
}

/// The minimum effect is the file's when it states one: the same strong initialisation
/// effect reads *negligible effect* against minima larger than any effect, with the counts
/// and p-values unchanged.
#[test]
fn min_effect_from_the_file_turns_significance_into_negligible_effect() {
    let experiment = "[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [10.0, 0.1]\n";
    let strict = format!(
        "kind = \"trends\"\nname = \"t\"\nseed = 11\npairs = 20\n\
         min_effect = {{ growth = 100.0, k_dot = 1e9, excess_area = 1e12 }}\n\
         [base]\nm = 20\nn = 5\nx0 = 10.0\n{experiment}"
    );
    let strict = Trends::parse("strict.toml", &strict).expect("valid");
    let s = run_trends(&strict, None, None, None).expect("runs");
    let d = run_trends(&small(experiment), None, None, None).expect("runs");
    assert!(verdicts(&d).iter().all(|v| *v == "supported"), "{}", stable_summary(&d));
    assert!(verdicts(&s).iter().all(|v| *v == "negligible effect"), "{}", stable_summary(&s));
    for (a, b) in d.experiments[0].stats.iter().zip(&s.experiments[0].stats) {
        assert_eq!((a.agree, a.disagree, a.p_claim), (b.agree, b.disagree, b.p_claim));
    }
}

/// A null experiment (both levels the same) ties on every pair and supports nothing.
#[test]
fn identical_levels_tie_and_are_not_supported() {
    let t = small("[[experiment]]\nclaim = \"sec34.step\"\nfactor = \"step\"\nlevels = [\"1/L\", \"1/L\"]\n");
    let res = run_trends(&t, None, None, None).expect("runs");
    for s in &res.experiments[0].stats {
        assert_eq!((s.ties, s.agree, s.disagree), (20, 0, 0), "{}", stable_summary(&res));
        assert_eq!(s.verdict, "not supported");
    }
}

/// A no-effect prediction: supported for a factor that changes nothing, contradicted for one
/// that changes a lot (the reversed initialisation, with a narrow band).
#[test]
fn no_effect_predictions_use_the_band() {
    let null = small(
        "[[experiment]]\nclaim = \"sec4.truncation_helps\"\nfactor = \"truncation\"\nlevels = [0.0, 0.0]\nexpect = \"no_effect\"\nbudget = 100\n",
    );
    let res = run_trends(&null, None, None, None).expect("runs");
    assert!(verdicts(&res).iter().all(|v| *v == "supported"), "{}", stable_summary(&res));
    let strong = small(
        "[[experiment]]\nclaim = \"sec4.truncation_helps\"\nfactor = \"truncation\"\nlevels = [0.0, 0.5]\nexpect = \"no_effect\"\nband = 0.001\nbudget = 100\n",
    );
    let res = run_trends(&strong, None, None, None).expect("runs");
    assert!(verdicts(&res).contains(&"contradicted"), "{}", stable_summary(&res));
}

/// Proportions: the curse is always there far from the solution and never at it.
#[test]
fn proportions_at_the_extremes() {
    let t = small("[[experiment]]\nclaim = \"sec3.curse_exists\"\nfactor = \"x0\"\nlevels = [0.0, 10.0]\n");
    let res = run_trends(&t, None, None, None).expect("runs");
    let grows: Vec<_> = res.experiments[0].stats.iter().filter(|s| s.measure == "grows").collect();
    // x_0 = x*: e_0 = 0, so Ẋ_k = Σ B…C only approaches Dx* monotonically? It must not grow.
    assert_eq!((grows[0].agree, grows[0].verdict), (0, "contradicted"), "{}", stable_summary(&res));
    assert_eq!(grows[1].verdict, "supported", "{}", stable_summary(&res));
}

/// The same seed gives the same results with one thread and with several.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let t = small("[[experiment]]\nclaim = \"sec34.rate\"\nfactor = \"lambda\"\nlevels = [0.1, 10.0]\n");
    let one = serde_json::to_string(&run_trends(&t, None, None, Some(1)).expect("runs")).expect("json");
    let many = serde_json::to_string(&run_trends(&t, None, None, Some(3)).expect("runs")).expect("json");
    assert_eq!(one, many);
    let other_seed = serde_json::to_string(&run_trends(&t, Some(12), None, Some(1)).expect("runs")).expect("json");
    assert_ne!(one, other_seed);
}

/// Malformed trend files are errors naming the file, the line and the key.
#[test]
fn bad_trend_files_name_file_line_and_key() {
    let base = "kind = \"trends\"\nname = \"t\"\nseed = 1\npairs = 5\n";
    let cases = [
        ("[[experiment]]\nclaim = \"sec34.nope\"\n", "experiment.claim", "unknown trend claim"),
        (
            "[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"truncation\"\nlevels = [0.0, 0.2]\n",
            "experiment.factor",
            "does not fit",
        ),
        (
            "[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [1.0, 2.0, 3.0]\n",
            "experiment.factor",
            "exactly two levels",
        ),
        ("[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [-1.0, 2.0]\n", "x0", "standard deviation"),
        (
            "[[experiment]]\nclaim = \"sec34.smooth\"\nfactor = \"delta\"\nlevels = [1.0, 0.1]\n",
            "experiment.levels",
            "pseudo_huber",
        ),
        (
            "[[experiment]]\nclaim = \"sec34.step\"\nfactor = \"step\"\nlevels = [\"2/L\", \"1/L\"]\n",
            "grid.step",
            "unknown step rule",
        ),
        (
            "[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [1.0, 0.1]\nset = { family = \"ridge_targets\" }\n",
            "family",
            "_weight",
        ),
        (
            "min_effect = { nope = 0.1 }\n[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [1.0, 0.1]\n",
            "min_effect",
            "not a measure with a predicted direction",
        ),
        (
            "min_effect = { growth = -0.1 }\n[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [1.0, 0.1]\n",
            "min_effect",
            "finite number ≥ 0",
        ),
    ];
    for (body, key, msg) in cases {
        match Trends::parse("bad.toml", &format!("{base}{body}")) {
            Err(Error::Input { location, message }) => {
                assert!(location.starts_with("bad.toml: line "), "{location}");
                assert!(location.contains(key), "{location} should name {key}");
                assert!(message.contains(msg), "{message} should say {msg}");
            }
            other => panic!("{body}: expected an input error, got {other:?}"),
        }
    }
    let no_kind = Trends::parse(
        "bad.toml",
        "kind = \"scenario\"\nname = \"t\"\nseed = 1\npairs = 5\n[[experiment]]\nclaim = \"sec34.init\"\n",
    );
    assert!(matches!(no_kind, Err(Error::Input { .. })));
    let unknown_key = Trends::parse("bad.toml", &format!("{base}colour = 3\n[[experiment]]\nclaim = \"sec34.init\"\n"));
    assert!(matches!(unknown_key, Err(Error::Input { location, .. }) if location.contains("line 5")));
}
