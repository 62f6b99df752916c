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
         min_effect = {{ growth = 100.0, peak = 100.0, peak_excess = 1e12, k_dot = 1e9, excess_area = 1e12, bound_peak = 100.0 }}\n\
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

/// An error curve that overflows (`x0 = 1e300`: `e_0 = ∞`) is no tie read as *not
/// supported* (`k̇ = argmax` of a curve of NaN is still a number): it is bad input at the line
/// and key of the `σ` (`[base].x0` here), naming the experiment, the level and `e_0`. The same
/// for the budget design's Jacobian errors is out of reach of `x0` on ridge (they do not
/// depend on `x`). Control: `x0 = 1e10` runs, its measures finite, and its label prints σ as
/// `10000000000`.
#[test]
fn an_overflowing_error_curve_is_bad_input_not_a_tie() {
    let with = |x0: &str| {
        let text = format!(
            "kind = \"trends\"\nname = \"t\"\nseed = 5\npairs = 4\nk_max = 500\n[base]\nm = 10\nn = 4\nx0 = {x0}\n\
             [[experiment]]\nclaim = \"sec34.rate\"\nfactor = \"lambda\"\nlevels = [0.1, 10.0]\n"
        );
        Trends::parse("huge.toml", &text).expect("valid")
    };
    let t = with("1e300");
    assert!(t.experiments[0].label.contains("σ=1e300;"), "a short σ in the label: {}", t.experiments[0].label);
    match run_trends(&t, None, None, None) {
        Err(Error::Input { location, message }) => {
            assert_eq!(location, "huge.toml: line 9, column 6, key `x0`", "{message}");
            for want in ["`sec34.rate", "level 0.1", "σ = 1e300 is too large", "e_0 = ‖x_0 − x*‖ = inf"] {
                assert!(message.contains(want), "no {want:?} in {message}");
            }
        }
        other => panic!("expected an input error at [base].x0, got {:?}", other.map(|r| stable_summary(&r))),
    }
    let t = with("1e10");
    assert!(t.experiments[0].label.contains("σ=10000000000;"), "{}", t.experiments[0].label);
    let res = run_trends(&t, None, None, None).expect("control: x0 = 1e10 runs");
    for p in &res.experiments[0].pairs {
        assert!(p.skipped.is_none() && p.values.iter().flatten().all(|v| v.is_finite()), "{p:?}");
    }
}

/// A `σ` of `x_0 = x* + σg` too large for the instance is bad input at the line and key
/// where it is written, as a scenario's `grid.x0`: an `x0` level of `1e308` (`x_0` itself
/// may not be finite, as at the spec's seed 0: the instance cannot be built; it was `invalid
/// x0: NaN` with no file at all) or `1e200` (`e_0 = ‖x_0 − x*‖ = ∞`; it was a numerical
/// failure naming no line), at `experiment.levels`; a `set = { x0 = 1e200 }` of a budget
/// experiment at that `x0`, and one at `[base].x0` (`e_0` is the radius of the ball of `Γ`:
/// every pair was skipped as "A2.2 fails", from the overflow). The binary exits 2 with the
/// location and writes no report. Controls: the level `1e150` runs, and so does the budget
/// experiment on `σ = 1e150`, no pair skipped.
#[test]
fn a_sigma_too_large_for_x0_is_reported_at_its_line_and_key() {
    let file = |base_x0: &str, experiment: &str| {
        format!(
            "kind = \"trends\"\nname = \"t\"\nseed = 5\npairs = 2\n[base]\nm = 10\nn = 4\nx0 = {base_x0}\n[[experiment]]\n{experiment}"
        )
    };
    let curse = |levels: &str| format!("claim = \"sec3.curse_exists\"\nfactor = \"x0\"\nlevels = [{levels}]\n");
    let budget = |levels: &str| {
        format!("claim = \"sec4.truncation_helps\"\nfactor = \"truncation\"\nlevels = [{levels}]\nbudget = 40\n")
    };
    let cases = [
        (file("10.0", &curse("1e308")), "line 12, column 11, key `experiment.levels`", "σ = 1e308"),
        (file("10.0", &curse("1e200")), "line 12, column 11, key `experiment.levels`", "e_0 = ‖x_0 − x*‖ = inf"),
        (
            file("10.0", &format!("{}set = {{ x0 = 1e200 }}\n", budget("0.0, 0.5"))),
            "line 14, column 14, key `x0`",
            "level 0.0",
        ),
        (file("1e200", &budget("0.0, 0.5")), "line 8, column 6, key `x0`", "e_0 = ‖x_0 − x*‖ = inf"),
    ];
    let dir = std::env::temp_dir().join(format!("unrollcheck-x0-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, at, what) in &cases {
        let t = Trends::parse("x0.toml", text).expect("valid");
        match run_trends(&t, None, None, None) {
            Err(Error::Input { location, message }) => {
                assert_eq!(location, format!("x0.toml: {at}"), "{message}\n{text}");
                assert!(message.contains("is too large for x_0 = x* + σg") && message.contains(what), "{message}");
            }
            other => panic!("{text}: expected an input error at {at}, got {:?}", other.map(|r| stable_summary(&r))),
        }
        let path = dir.join("x0.toml");
        std::fs::write(&path, text).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_unrollcheck"))
            .args(["verify", path.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()])
            .output()
            .expect("binary runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(at) && !err.contains("panicked"), "{err}");
        assert!(!dir.join("out").join("t").exists(), "no report is written on bad input");
    }
    std::fs::remove_dir_all(&dir).ok();
    for text in [file("10.0", &curse("1e150")), file("1e150", &budget("0.0, 0.5"))] {
        let t = Trends::parse("x0.toml", &text).expect("valid");
        let res = run_trends(&t, None, None, None).unwrap_or_else(|e| panic!("control runs: {e}\n{text}"));
        let skipped: Vec<_> = res.experiments[0].pairs.iter().filter_map(|p| p.skipped.clone()).collect();
        assert!(skipped.is_empty(), "{skipped:?}\n{text}");
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
            "[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [1.0, 0.1]\ndims = [30]\n",
            "experiment.dims",
            "appendix-C protocol",
        ),
        ("[[experiment]]\nclaim = \"appC.tmax_preferred\"\nset = { step = \"1/L\" }\n", "step", "2/(L+m)"),
        (
            "[[experiment]]\nclaim = \"appC.trunc_ineffective_small_step\"\nfactor = \"truncation\"\nlevels = [0.0, 0.25]\n",
            "experiment.levels",
            "grid",
        ),
        (
            "[[experiment]]\nclaim = \"appC.trunc_ineffective_small_step\"\n",
            "experiment.claim",
            "factor = \"truncation\"",
        ),
        ("[[experiment]]\nclaim = \"appC.tmax_preferred\"\ndims = [30, 60]\n", "experiment.dims", "1..=M"),
        // As `reproduce appendix-c --n 2,2` (it was accepted here).
        (
            "[[experiment]]\nclaim = \"appC.tmax_preferred\"\ndims = [2, 5, 2]\n",
            "experiment.dims",
            "N = 2 is listed twice (position 3",
        ),
        (
            "[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = [1.0, 0.1]\nprotocol = \"appendix_c\"\n",
            "experiment.protocol",
            "truncation claims",
        ),
        ("[[experiment]]\nclaim = \"appC.tmax_preferred\"\nsetting = \"both\"\n", "experiment.setting", "\"outside\""),
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

/// Appendix-C experiments of a small file (`runs` draws per N), their draws and results.
mod appendix_c {
    use unrollcheck::trends::appendix_c_trend::{Draws, compute_draws, evaluate};
    use unrollcheck::trends::file::Trends;
    use unrollcheck::trends::{ExperimentResult, MeasureStats};

    /// The per-test level of the shipped file's order of magnitude.
    const GAMMA: f64 = 1e-4;

    pub fn file(experiment: &str) -> Trends {
        let text = format!("kind = \"trends\"\nname = \"t\"\nseed = 5\npairs = 20\n[base]\nm = 50\n{experiment}");
        Trends::parse("appc.toml", &text).expect("valid")
    }

    pub fn draws(t: &Trends) -> Draws {
        compute_draws(&t.experiments, t.file.seed).expect("runs")
    }

    pub fn run(t: &Trends, d: &Draws) -> ExperimentResult {
        let ex = &t.experiments[0];
        let min_effect: Vec<f64> = ex.claim.measures.iter().map(|m| t.min_effect(m.name)).collect();
        evaluate(ex, 0, d, GAMMA, &min_effect)
    }

    pub fn verdicts(r: &ExperimentResult) -> Vec<&'static str> {
        r.stats.iter().map(|s: &MeasureStats| s.verdict).collect()
    }

    /// Applies `f` to every draw summary of the dimension `n` (both step sizes).
    pub fn plant(d: &mut Draws, n: usize, f: impl Fn(&mut unrollcheck::trends::appendix_c_trend::DrawSummary)) {
        for ((_, dim, _, _), v) in d.iter_mut() {
            if *dim == n {
                v.iter_mut().for_each(&f);
            }
        }
    }
}

/// `appC.tmax_preferred` on the protocol is contradicted (the measured best T is 0.1–0.3K);
/// with `T_max`'s errors planted a decade below every other `T_j` of each draw, the same
/// machinery says *supported*, and with them planted equal to the best it says *not
/// supported* (ties), so the contradiction comes from the data.
#[test]
fn appendix_c_tmax_preferred_and_its_planted_controls() {
    let t = appendix_c::file("[[experiment]]\nclaim = \"appC.tmax_preferred\"\ndims = [30]\nruns = 40\n");
    let mut d = appendix_c::draws(&t);
    let real = appendix_c::run(&t, &d);
    assert!(appendix_c::verdicts(&real).iter().all(|v| *v == "contradicted"), "{}", stable_summary_of(&real));
    let planted = |factor: f64| {
        move |s: &mut unrollcheck::trends::appendix_c_trend::DrawSummary| {
            for e in [&mut s.fwd, &mut s.rev] {
                let best = e[..8].iter().copied().fold(f64::INFINITY, f64::min);
                e[8] = factor * best;
            }
        }
    };
    appendix_c::plant(&mut d, 30, planted(0.1));
    let r = appendix_c::run(&t, &d);
    assert!(appendix_c::verdicts(&r).iter().all(|v| *v == "supported"), "{}", stable_summary_of(&r));
    appendix_c::plant(&mut d, 30, planted(1.0));
    let r = appendix_c::run(&t, &d);
    assert!(r.stats.iter().all(|s| s.ties == 40 && s.verdict == "not supported"), "{}", stable_summary_of(&r));
}

/// `appC.optimal_t_moves`: a planted move (the best T at the reference N forced to
/// `T_max`) is *supported*; planted at the smaller N instead (the claim reversed) it is
/// *contradicted*.
#[test]
fn appendix_c_optimal_t_moves_planted_both_ways() {
    let t = appendix_c::file("[[experiment]]\nclaim = \"appC.optimal_t_moves\"\ndims = [10, 5]\nruns = 40\n");
    let d = appendix_c::draws(&t);
    let force_tmax = |s: &mut unrollcheck::trends::appendix_c_trend::DrawSummary| {
        let best = s.fwd.iter().copied().fold(f64::INFINITY, f64::min);
        s.fwd[8] = 0.01 * best;
    };
    let mut moved = d.clone();
    appendix_c::plant(&mut moved, 10, force_tmax);
    let r = appendix_c::run(&t, &moved);
    assert_eq!(appendix_c::verdicts(&r), ["supported"], "{}", stable_summary_of(&r));
    let mut reversed = d;
    appendix_c::plant(&mut reversed, 5, force_tmax);
    let r = appendix_c::run(&t, &reversed);
    assert_eq!(appendix_c::verdicts(&r), ["contradicted"], "{}", stable_summary_of(&r));
}

/// `appC.eq22_selects_t` is contradicted at N = 10 (the grid minimiser of (22) sits at 0.3K
/// or beyond, the measured best at 0.1K); planting the best error at (22)'s choice in every
/// draw makes it *supported*: the band test can say both.
#[test]
fn appendix_c_eq22_selects_t_and_a_planted_agreement() {
    let t = appendix_c::file("[[experiment]]\nclaim = \"appC.eq22_selects_t\"\ndims = [10]\nruns = 40\n");
    let mut d = appendix_c::draws(&t);
    let r = appendix_c::run(&t, &d);
    assert_eq!(appendix_c::verdicts(&r), ["contradicted"], "{}", stable_summary_of(&r));
    appendix_c::plant(&mut d, 10, |s| {
        let best = s.fwd.iter().copied().fold(f64::INFINITY, f64::min);
        let j = s.eq22_choice();
        s.fwd[j] = best;
    });
    let r = appendix_c::run(&t, &d);
    assert_eq!(appendix_c::verdicts(&r), ["supported"], "{}", stable_summary_of(&r));
}

/// `appC.trunc_ineffective_small_step` at α = 1/(3L), N = 30 is supported (no effect
/// within ±0.1 decades); a planted effect of one decade at `T = 0.2K` is *contradicted*, and
/// the same plant makes `sec4.truncation_helps` on the protocol *supported*.
#[test]
fn appendix_c_truncation_ineffective_and_a_planted_effect() {
    let ineffective = appendix_c::file(
        "[[experiment]]\nclaim = \"appC.trunc_ineffective_small_step\"\nfactor = \"truncation\"\n\
         levels = [0.0, 0.2]\ndims = [30]\nruns = 40\nset = { step = \"1/(3L)\" }\n",
    );
    let mut d = appendix_c::draws(&ineffective);
    let r = appendix_c::run(&ineffective, &d);
    assert!(appendix_c::verdicts(&r).iter().all(|v| *v == "supported"), "{}", stable_summary_of(&r));
    appendix_c::plant(&mut d, 30, |s| {
        s.fwd[2] *= 0.1;
        s.rev[2] *= 0.1;
        s.peak[2] = s.peak[0] * 0.1;
    });
    let r = appendix_c::run(&ineffective, &d);
    assert!(appendix_c::verdicts(&r).iter().all(|v| *v == "contradicted"), "{}", stable_summary_of(&r));
    let helps = appendix_c::file(
        "[[experiment]]\nclaim = \"sec4.truncation_helps\"\nprotocol = \"appendix_c\"\nfactor = \"truncation\"\n\
         levels = [0.0, 0.2]\ndims = [30]\nruns = 40\nset = { step = \"1/(3L)\" }\n",
    );
    let r = appendix_c::run(&helps, &d);
    assert!(appendix_c::verdicts(&r).iter().all(|v| *v == "supported"), "{}", stable_summary_of(&r));
}

/// The appendix-C draws are those of `reproduce appendix-c` at the same seed, and do not
/// depend on the thread count.
#[test]
fn appendix_c_draws_match_the_reproduction_and_ignore_threads() {
    use unrollcheck::reproduce::appendix_c::{Draw, Engine, Protocol, StepSize, run_draw, run_seed};
    let t = appendix_c::file("[[experiment]]\nclaim = \"appC.eq22_selects_t\"\ndims = [5]\nruns = 6\n");
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| appendix_c::draws(&t));
    let many = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(|| appendix_c::draws(&t));
    assert_eq!(one, many);
    let p = Protocol::paper(6, 5);
    let run = run_draw(&Draw::sample(50, 5, run_seed(5, 5, 3)), &p, Engine::Spectral, false).unwrap();
    let s = &one.values().next().unwrap()[3];
    let fwd: Vec<f64> =
        run.steps.iter().find(|s| s.step == StepSize::Optimal).unwrap().finals.iter().map(|f| f.fwd_err).collect();
    assert_eq!(s.fwd, fwd);
}

fn stable_summary_of(r: &unrollcheck::trends::ExperimentResult) -> String {
    r.stats
        .iter()
        .map(|s| {
            format!("{}@{} {}/{}/{} {:?} {}", s.measure, s.level, s.agree, s.disagree, s.ties, s.effect, s.verdict)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The verdict by setting says which setting: the initialisation experiment (supported) and
/// its reversal (contradicted) tagged as the paper's setting or outside it.
#[test]
fn setting_verdicts_say_which_setting() {
    use unrollcheck::trends::file::Scope;
    use unrollcheck::trends::setting_verdicts;
    let run = |levels: &str| {
        let t = small(&format!("[[experiment]]\nclaim = \"sec34.init\"\nfactor = \"x0\"\nlevels = {levels}\n"));
        run_trends(&t, None, None, None).expect("runs").experiments.remove(0)
    };
    let (good, bad) = (run("[10.0, 0.1]"), run("[0.1, 10.0]"));
    let tagged = |e: &unrollcheck::trends::ExperimentResult, s: Scope| {
        let mut e = e.clone();
        e.scope = Some(s);
        e
    };
    let words = |exs: &[unrollcheck::trends::ExperimentResult]| -> Vec<&'static str> {
        setting_verdicts(exs).iter().map(|v| v.verdict).collect()
    };
    let all = |v: Vec<&str>, w: &str| v.len() == 6 && v.iter().all(|x| *x == w);
    assert!(all(words(&[tagged(&good, Scope::Paper), tagged(&good, Scope::Outside)]), "supported"));
    assert!(all(
        words(&[tagged(&good, Scope::Paper), tagged(&bad, Scope::Outside)]),
        "supported in the paper's setting only"
    ));
    assert!(all(words(&[tagged(&bad, Scope::Paper), tagged(&good, Scope::Outside)]), "contradicted"));
    assert!(all(words(&[tagged(&good, Scope::Paper)]), "supported in the paper's setting (not tested outside)"));
    // One contradicted and one supported row in the paper's setting: not supported.
    assert!(all(words(&[tagged(&good, Scope::Paper), tagged(&bad, Scope::Paper)]), "not supported"));
}

/// A claim tested only outside the paper's setting (every experiment `setting = "outside"`)
/// is combined over those rows and said of that setting: every row supported gives
/// *supported outside the paper's setting (not tested in it)*, never *not supported* (the
/// verdict that contradicted its own rows and the report's "By claim" section); the
/// reversed experiment gives *contradicted outside …*. The report's table and its legend say
/// the same. Control: with a row in the paper's setting the words are unchanged.
#[test]
fn a_claim_tested_only_outside_the_papers_setting_is_said_of_that_setting() {
    use unrollcheck::trends::file::Scope;
    use unrollcheck::trends::setting_verdicts;
    const SUPPORTED_OUTSIDE_ONLY: &str = "supported outside the paper's setting (not tested in it)";
    const CONTRADICTED_OUTSIDE_ONLY: &str = "contradicted outside the paper's setting (not tested in it)";
    let run = |levels: &str| {
        let t = small(&format!(
            "[[experiment]]\nclaim = \"sec34.init\"\nsetting = \"outside\"\nfactor = \"x0\"\nlevels = {levels}\n"
        ));
        let res = run_trends(&t, None, None, None).expect("runs");
        (t, res)
    };
    let (t, good) = run("[10.0, 0.1]");
    assert_eq!(good.experiments[0].scope, Some(Scope::Outside));
    assert!(verdicts(&good).iter().all(|v| *v == "supported"), "rows: {:?}", verdicts(&good));
    for s in &good.settings {
        assert!(s.paper.is_empty(), "{s:?}");
        assert_eq!(
            s.verdict, SUPPORTED_OUTSIDE_ONLY,
            "{}: every row supported outside, combined as {:?}",
            s.measure, s.verdict
        );
    }
    let md = unrollcheck::report::trends::markdown(&t, &good, &[]);
    // The rows of "Verdicts by setting": claim, measure, paper's setting (none), outside, verdict.
    let table: Vec<&str> = md.lines().filter(|l| l.starts_with("| `sec34.init` |") && l.contains("| — |")).collect();
    assert_eq!(table.len(), good.settings.len(), "{md}");
    for row in &table {
        assert!(row.ends_with(&format!("| **{SUPPORTED_OUTSIDE_ONLY}** |")), "row: {row}");
    }
    assert!(md.contains("a claim and measure with no row in the paper's setting"), "the legend names the rule:\n{md}");
    let (_, bad) = run("[0.1, 10.0]");
    assert!(bad.settings.iter().all(|s| s.verdict == CONTRADICTED_OUTSIDE_ONLY), "{:?}", bad.settings);
    // Control: the same rows tagged as the paper's setting keep the words of that setting.
    let mut paper = good.experiments[0].clone();
    paper.scope = Some(Scope::Paper);
    assert!(
        setting_verdicts(&[paper]).iter().all(|s| s.verdict == "supported in the paper's setting (not tested outside)")
    );
}

/// The identity the controlled rate experiment rests on: on ridge-weight, the run with `b`
/// scaled by `c` from `x* + σg` is `c` times the run with `b` from `x* + (σ/c)g` (same `A`, `g`,
/// `λ`, `α`), and `Γ` does not depend on `b`. The control: with `σ` instead of `σ/c` the
/// curves differ.
#[test]
fn controlled_rate_rests_on_a_scaling_identity() {
    use nalgebra::DVector;
    use unrollcheck::instance::Instance;
    use unrollcheck::map::GradientDescent;
    use unrollcheck::problem::Objective;
    use unrollcheck::problem::draw;
    use unrollcheck::problem::ridge::{Ridge, RidgeParam};
    use unrollcheck::spec::Spec;
    let spec = Spec::figure2(3);
    let mut rng = draw::rng(3);
    let (a, b) = spec.data.draw(spec.m, spec.n, &mut rng).expect("draws");
    let g = draw::normal_vector(spec.n, 1.0, &mut rng);
    let alpha = 1.0 / ((a.transpose() * &a).trace() + 10.0);
    let run = |bb: DVector<f64>, sigma: f64| {
        let f = Ridge::new(a.clone(), bb, 10.0, RidgeParam::Weight).expect("ridge");
        let x0 = f.minimizer().expect("x*") + sigma * &g;
        let inst = Instance::new(GradientDescent::new(f, alpha).expect("map"), x0).expect("instance");
        (inst.error_curves(200), inst.constants.dx_star_norm, inst.constants.gamma.value)
    };
    let (c, sigma) = (2.5, 4.0);
    let (scaled, d1, g1) = run(c * &b, sigma);
    let (base, d2, g2) = run(b.clone(), sigma / c);
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-10 * x.abs().max(y.abs()).max(1e-300);
    assert!(close(d1, c * d2) && close(g1, g2), "‖Dx*‖ {d1} vs {}, Γ {g1} vs {g2}", c * d2);
    for (k, (x, y)) in scaled.edot.iter().zip(&base.edot).enumerate() {
        assert!(close(*x, c * y), "ė_{k}: {x} vs {}", c * y);
    }
    let (wrong, _, _) = run(b, sigma);
    assert!(scaled.edot.iter().zip(&wrong.edot).skip(1).any(|(x, y)| !close(*x, c * y)));
}

/// A controlled experiment holds `‖Dx*‖` and `Γe_0` of its first level on every pair (the
/// notes of both levels agree to 1e-9), while the plain λ experiment does not (a control that
/// the hold does something); with the levels reversed the verdicts flip.
#[test]
fn controlled_rate_holds_dx_star_and_gamma_e0() {
    let controlled =
        small("[[experiment]]\nclaim = \"sec34.rate\"\nfactor = \"lambda\"\nlevels = [0.1, 10.0]\ncontrolled = true\n");
    let res = run_trends(&controlled, None, None, None).expect("runs");
    let ex = &res.experiments[0];
    for p in &ex.pairs {
        assert!(p.skipped.is_none(), "{:?}", p.skipped);
        let note = |name: &str| p.notes.iter().find(|n| n.0 == name).expect("noted").1;
        for q in ["‖Dx*‖", "Γe_0"] {
            let (x, y) = (note(&format!("{q} at 0.1")), note(&format!("{q} at 10.0")));
            assert!((x - y).abs() <= 1e-9 * x.abs(), "{q}: {x} vs {y}");
        }
        assert!(note("ρ at 10.0") < note("ρ at 0.1"));
    }
    let plain = small("[[experiment]]\nclaim = \"sec34.rate\"\nfactor = \"lambda\"\nlevels = [0.1, 10.0]\n");
    let res_plain = run_trends(&plain, None, None, None).expect("runs");
    let growth = |r: &TrendResults| r.experiments[0].stats[0].clone();
    assert_ne!(growth(&res).effects, growth(&res_plain).effects);
    let reversed =
        small("[[experiment]]\nclaim = \"sec34.rate\"\nfactor = \"lambda\"\nlevels = [10.0, 0.1]\ncontrolled = true\n");
    let rev = run_trends(&reversed, None, None, None).expect("runs");
    for (f, r) in res.experiments[0].stats.iter().zip(&rev.experiments[0].stats) {
        if f.verdict == "supported" {
            assert_eq!(r.verdict, "contradicted", "{}", stable_summary(&rev));
        }
    }
    assert!(verdicts(&res).contains(&"supported"), "{}", stable_summary(&res));
}

/// Levels of a huge or tiny float (`δ: 1e100 → 1e-100`) used to print in the experiment's
/// label (stdout, every report row) as the 100-digit decimals of `toml`'s float display; they
/// print as `1e100 → 1e-100`. Control: the levels of the shipped files keep their form
/// (`10 → 0.1` as written, `10.0 → 0.1`).
#[test]
fn huge_and_tiny_levels_print_short_in_labels() {
    let label = |levels: &str| {
        let t = small(&format!(
            "[[experiment]]\nclaim = \"sec34.smooth\"\nfactor = \"delta\"\nlevels = {levels}\nset = {{ family = \"pseudo_huber_weight\" }}\n"
        ));
        t.experiments[0].label.clone()
    };
    let huge = label("[1e100, 1e-100]");
    assert!(huge.ends_with("δ: 1e100 → 1e-100)"), "{huge}");
    let plain = label("[10.0, 0.1]");
    assert!(plain.ends_with("δ: 10.0 → 0.1)"), "{plain}");
}
