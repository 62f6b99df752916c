//! Bad input names where it is: the file (or flag), the line and the key, with exit 2.
//! Each refusal has a control that the same input with the value fixed is accepted.

use std::path::PathBuf;
use std::process::{Command, Output};
use unrollcheck::scenario::Scenario;
use unrollcheck::spec::Spec;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unrollcheck")).args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("unrollcheck-messages-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Lines 2–10 (line 1 is empty).
const SCENARIO: &str = r#"
name = "msg"
seed = 3
instances = 1
claims = ["thm7.bound"]
[grid]
family = ["ridge_weight"]
m = [6]
n = [2]
step = ["2/(L+m)"]
"#;

fn parse_error(text: &str) -> String {
    match Scenario::parse("s.toml", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// A TOML value of the wrong type (a negative or fractional count, a negative seed) is
/// refused naming the file, the line, the column and the key path down to the list entry,
/// not only a line and a column; an empty axis names its key and line.
#[test]
fn toml_type_errors_and_empty_axes_name_the_key() {
    Scenario::parse("s.toml", SCENARIO).expect("control: the scenario as written parses");
    let cases = [
        (SCENARIO.replace("n = [2]", "n = [-3]"), "s.toml: line 9, column 6, key `grid.n[0]`: ", "-3"),
        (SCENARIO.replace("n = [2]", "n = [2, 3.5]"), "s.toml: line 9, column 9, key `grid.n[1]`: ", "3.5"),
        (SCENARIO.replace("seed = 3", "seed = -1"), "s.toml: line 3, column 8, key `seed`: ", "-1"),
        (SCENARIO.replace("instances = 1", "instances = 1\nk_max = -5"), "line 5, column 9, key `k_max`: ", "-5"),
        (SCENARIO.replace("family = [\"ridge_weight\"]", "family = []"), "line 7, column 10, key `grid.family`: ", ""),
        (SCENARIO.replace("m = [6]", "m = []"), "line 8, column 5, key `grid.m`: ", ""),
        (SCENARIO.replace("step = [\"2/(L+m)\"]", "step = []"), "line 10, column 8, key `grid.step`: ", ""),
        (SCENARIO.replace("step = [\"2/(L+m)\"]\n", ""), "s.toml: [grid], key `grid.step`: missing", ""),
    ];
    for (text, location, value) in &cases {
        let e = parse_error(text);
        assert!(e.contains(location), "want `{location}` in: {e}");
        assert!(e.contains(value), "want the value `{value}` in: {e}");
    }
    // Through the binary: exit 2, the message on stderr, nothing on stdout.
    let dir = temp_dir("toml");
    let file = dir.join("neg.toml");
    std::fs::write(&file, SCENARIO.replace("n = [2]", "n = [-3]")).unwrap();
    let o = run(&["verify", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("neg.toml: line 9, column 6, key `grid.n[0]`"), "{}", stderr(&o));
    assert!(!dir.join("out").exists(), "no report for bad input");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The trend files are read by the same parser: a type error names its key too.
#[test]
fn trend_file_type_errors_name_the_key() {
    let text = "kind = \"trends\"\nname = \"t\"\nseed = 5\npairs = 3\n[base]\nm = -12\n";
    let e = unrollcheck::trends::file::Trends::parse("t.toml", text).expect_err("m = -12").to_string();
    assert!(e.contains("t.toml: line 6, column 5, key `base.m`"), "{e}");
}

fn spec_with(key: &str, value: serde_json::Value) -> String {
    let mut spec = serde_json::to_value(Spec::figure2(0)).unwrap();
    let (outer, inner) = key.split_once('.').map_or((key, None), |(o, i)| (o, Some(i)));
    match inner {
        None => spec[outer] = value,
        Some(i) => spec[outer][i] = value,
    }
    spec.to_string()
}

/// `--spec` (check) and SPEC (replay): a value refused names its JSON key and the value,
/// by the rules of the scenario grid ([`unrollcheck::spec::rules`]); a method that does not
/// run on the family is refused at the key `method`, not as "invalid method: NaN".
#[test]
fn spec_errors_name_the_json_key_and_value() {
    let layer_gd = serde_json::json!({"family": {"family": "layer", "param": "bias", "rho_w": 0.8},
        "method": {"method": "gradient_descent"}, "m": 2, "n": 3, "data": {"data": "paper"}, "lambda": 0.1,
        "step": {"rule": "optimal"}, "x0_sigma": 1.0, "seed": 3})
    .to_string();
    let cases = [
        (spec_with("m", 0.into()), "key `m`: 0 is out of range 1..=200"),
        (spec_with("n", 201.into()), "key `n`: 201 is out of range 1..=200"),
        (spec_with("seed", serde_json::json!(1.5)), "key `seed`: invalid type: floating point `1.5`"),
        (spec_with("x0_sigma", serde_json::json!(-1.0)), "key `x0_sigma`: -1 is not a standard deviation"),
        (spec_with("lambda", serde_json::json!(-0.5)), "key `lambda`: -0.5 must be a finite number >= 0"),
        (spec_with("lambda", serde_json::json!(1e308)), "key `lambda`: 1e308 is too large"),
        (layer_gd.clone(), "key `method`: `gradient_descent` needs an objective"),
    ];
    for (spec, want) in &cases {
        for args in [vec!["check", "--spec", spec], vec!["replay", "thm7.bound", spec]] {
            let o = run(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            let flag = if args[0] == "check" { "--spec: " } else { "SPEC: " };
            assert!(stderr(&o).contains(&format!("{flag}{want}")), "{args:?}: want `{flag}{want}` in {}", stderr(&o));
            assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        }
    }
    // Inside `{"spec": …, "setting": …}` (as reports print it) the key path starts at `spec`.
    let wrapped = format!(r#"{{"spec": {}}}"#, spec_with("seed", serde_json::json!(1.5)));
    let o = run(&["replay", "thm7.bound", &wrapped]);
    assert!(stderr(&o).contains("SPEC: key `spec.seed`: invalid type: floating point `1.5`"), "{}", stderr(&o));
    let wrapped = format!(r#"{{"spec": {}}}"#, spec_with("m", 0.into()));
    let o = run(&["replay", "thm7.bound", &wrapped]);
    assert!(stderr(&o).contains("SPEC: key `spec.m`: 0 is out of range"), "{}", stderr(&o));
    // A σ for which x_0 = x* + σg is not finite (the instance cannot be built) is refused at
    // the key `x0_sigma` (it was `--spec: invalid x0: NaN`, naming no key), as a scenario's
    // grid.x0 is.
    let huge = spec_with("x0_sigma", serde_json::json!(f64::MAX));
    let wrapped = format!(r#"{{"spec": {huge}}}"#);
    for (args, want) in [
        (
            vec!["check", "--spec", &huge],
            "--spec: key `x0_sigma`: σ = 1.7976931348623157e308 is too large for x_0 = x* + σg",
        ),
        (vec!["replay", "thm7.bound", &huge], "SPEC: key `x0_sigma`: σ = 1.7976931348623157e308 is too large"),
        (vec!["replay", "thm7.bound", &wrapped], "SPEC: key `spec.x0_sigma`: σ = 1.7976931348623157e308 is too large"),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: want `{want}` in {}", stderr(&o));
    }
    // Controls: the same specs with the value fixed run (x0_sigma 0 starts at x*).
    for spec in [
        spec_with("x0_sigma", serde_json::json!(0.0)),
        spec_with("m", 12.into()),
        layer_gd.replace("gradient_descent", "picard"),
    ] {
        let o = run(&["replay", "thm7.bound", &spec]);
        assert_eq!(o.status.code(), Some(0), "{spec}: {}", stderr(&o));
    }
}

/// One rule for `x0` and `λ`: the grid refuses `x0 = [-1.0]` as `--spec` refuses
/// `"x0_sigma": -1`, and a `λ` whose curvature overflows (no step size would be left).
#[test]
fn a_negative_x0_is_refused_by_the_grid_as_by_the_spec() {
    let e = parse_error(&SCENARIO.replace("step = [\"2/(L+m)\"]", "step = [\"2/(L+m)\"]\nx0 = [-1.0]"));
    assert!(e.contains("key `grid.x0`"), "{e}");
    let e = parse_error(&SCENARIO.replace("step = [\"2/(L+m)\"]", "step = [\"2/(L+m)\"]\nlambda = [1e308]"));
    assert!(e.contains("line 11, column 11, key `grid.lambda`: 1e308 is too large"), "{e}");
    let json: serde_json::Value = serde_json::from_str(&spec_with("x0_sigma", serde_json::json!(-1.0))).unwrap();
    assert!(Spec::from_json(&json).expect_err("x0_sigma = -1").contains("x0_sigma"));
    Scenario::parse("s.toml", &SCENARIO.replace("step = [\"2/(L+m)\"]", "step = [\"2/(L+m)\"]\nx0 = [1.0]"))
        .expect("control: x0 = [1.0]");
}

/// `list --scenario` on a trend file lists the catalogue and says that a trend file has no
/// custom claims (exit 0); on a bad scenario it prints nothing to stdout (exit 2). Control:
/// a scenario's custom claims are listed.
#[test]
fn list_with_a_trend_file_or_a_bad_scenario() {
    let trends = concat!(env!("CARGO_MANIFEST_DIR"), "/verify/trends.toml");
    let o = run(&["list", "--scenario", trends]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("a trend file has no custom claims") && stdout(&o).contains("sec34."),
        "{}",
        stdout(&o)
    );
    let dir = temp_dir("list");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, SCENARIO.replace("n = [2]", "n = [-3]")).unwrap();
    let o = run(&["list", "--scenario", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "", "nothing on stdout for a bad scenario");
    assert!(stderr(&o).contains("bad.toml: line 9, column 6, key `grid.n[0]`"), "{}", stderr(&o));
    let o = run(&["list", "--scenario", concat!(env!("CARGO_MANIFEST_DIR"), "/verify/paper.toml")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("custom.thm7_bound") && !stdout(&o).contains("trend file"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A custom statement of 2000 terms is refused at once at its line and key, with the limit
/// and the count (it used to run for minutes, take gigabytes and abort with a stack overflow,
/// exit 134). Control: the same claim with 32 operators is listed.
#[test]
fn a_too_long_custom_statement_is_refused_naming_line_key_and_limit() {
    let dir = temp_dir("long");
    let with = |n: usize| {
        format!(
            "{SCENARIO}[[custom]]\nid = \"c\"\nrequires = []\nstatement = \"e[k] <= {}\"\n",
            vec!["rho"; n].join("+")
        )
    };
    let file = dir.join("long.toml");
    std::fs::write(&file, with(2000)).unwrap();
    for cmd in [&["list", "--scenario"][..], &["verify"][..]] {
        let mut args = cmd.to_vec();
        args.push(file.to_str().unwrap());
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {}", stderr(&o));
        let err = stderr(&o);
        for want in ["long.toml: line 14, column 13, key `custom.statement`", "1999 operators", "limit of 32"] {
            assert!(err.contains(want), "{cmd:?}: no {want:?} in {err}");
        }
    }
    std::fs::write(&file, with(33)).unwrap();
    let o = run(&["list", "--scenario", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "control: 32 operators are listed: {}", stderr(&o));
    assert!(stdout(&o).contains("e[k] <= rho+rho"), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `demo --lambda 1e308` names `--lambda` and the step `α = 2/(L+m)` it makes 0 (it said
/// only "invalid alpha: 0"); λ = 1e-320 prints in scientific notation, in the error and in
/// the demo's header, not as a decimal of 300 digits. Control: the default demo's header
/// still prints `u 0.1` (tests/data/demo_default.txt is compared byte for byte elsewhere).
#[test]
fn demo_names_lambda_and_prints_extreme_lambdas_short() {
    let o = run(&["demo", "--lambda", "1e308"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("--lambda 1e308: the step α = 2/(L+m)") && err.contains("invalid alpha: 0"), "{err}");
    let o = run(&["demo", "--lambda", "1e-320", "--m", "3", "--n", "5"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("--lambda 1e-320: invalid lambda: 1e-320 (") && err.len() < 200, "{err}");
    let o = run(&["demo", "--lambda", "1e-320", "--m", "6", "--n", "3", "--k", "20"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("  u 1e-320  "), "{}", stdout(&o));
    let o = run(&["demo", "--k", "20"]);
    assert!(stdout(&o).contains("  u 0.1  "), "{}", stdout(&o));
}

/// Small input defects, each refused at its key (exit 2) with a control that the fixed input
/// is accepted: `grid.x0 = [1e308]` (x_0 = x* + σg overflows: it said "grid point 0 …
/// invalid x0: NaN" without line or key); a claim id listed twice in `claims` (it gave each
/// row twice); a `--spec` JSON object with a key given twice (the last won in silence).
#[test]
fn huge_x0_repeated_claims_and_repeated_json_keys_are_refused_at_their_key() {
    let dir = temp_dir("small");
    let file = dir.join("s.toml");
    let verify = |text: String| {
        std::fs::write(&file, text).unwrap();
        run(&["verify", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()])
    };
    // Line 11 is `x0 = …`, line 5 `claims = …`. At seed 3 with N = 5, some entry of σg
    // overflows to ∞ for the largest σ (a smaller σ gives finite iterates that overflow
    // later: a numerical failure of the checks, also exit 2).
    let huge = |x0: &str| {
        format!("{SCENARIO}x0 = [10.0, {x0}]\n")
            .replace("thm7.bound", "thm2.rate")
            .replace("m = [6]\nn = [2]", "m = [8]\nn = [5]")
    };
    let o = verify(huge("1.7976931348623157e308"));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("s.toml: line 11, column 13, key `grid.x0[1]`") && err.contains("σ = 1.7976931348623157e308"),
        "{err}"
    );
    let o = verify(huge("20.0"));
    assert_eq!(o.status.code(), Some(0), "control: x0 = 10 runs: {}", stderr(&o));
    let o = verify(SCENARIO.replace("[\"thm7.bound\"]", "[\"thm2.rate\", \"thm7.bound\", \"thm2.rate\"]"));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("line 5, column 38, key `claims[2]`: claim id `thm2.rate` is listed twice"), "{err}");
    let o = verify(SCENARIO.replace("[\"thm7.bound\"]", "[\"thm2.rate\", \"thm7.bound\"]"));
    assert_eq!(o.status.code(), Some(0), "control: two different ids run: {}", stderr(&o));
    let spec = serde_json::to_string(&Spec::figure2(1)).unwrap();
    let twice = spec.replacen("\"x0_sigma\":", "\"x0_sigma\":1e9,\"x0_sigma\":", 1);
    for args in [&["check", "--spec", &twice][..], &["replay", "thm2.rate", &twice][..]] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("key `x0_sigma` is given twice"), "{args:?}: {}", stderr(&o));
    }
    let o = run(&["replay", "thm2.rate", &spec]);
    assert_eq!(o.status.code(), Some(0), "control: the spec without the repetition: {}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A memory estimate below 0.1 GiB over a tiny limit prints in MiB or KiB, not `0.0 GiB`.
#[test]
fn a_small_memory_estimate_prints_with_its_digits() {
    let o = run(&["demo", "--k", "20", "--max-memory", "0.000001"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("estimated peak memory ") && err.contains(" KiB exceeds the limit of 0.000001 GiB"), "{err}");
    assert!(!err.contains("0.0 GiB") && !err.contains(" 0.0 KiB"), "{err}");
}

/// `gate export --scenario` takes the scenario's `omega` (docs/gate.md), and the format's
/// indices `T' = T + ωT` are integers: a fractional `omega` is refused at its line and key,
/// not rounded in silence, and nothing is written. Control: an integer `omega` exports, and
/// the manifest carries it, with the scenario's `k_max` as the horizon (and `--size`'s
/// without it).
#[test]
fn gate_export_takes_a_scenarios_omega_and_refuses_a_fractional_one() {
    let dir = temp_dir("omega");
    let file = dir.join("w.toml");
    std::fs::write(&file, SCENARIO.replace("instances = 1", "instances = 1\nomega = 2.5")).unwrap();
    let out = dir.join("inst");
    let export = |extra: &[&str]| {
        let mut args = vec!["gate", "export", "--out", out.to_str().unwrap(), "--scenario", file.to_str().unwrap()];
        args.extend_from_slice(extra);
        run(&args)
    };
    let o = export(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("w.toml: line 5, column 9, key `omega`: omega = 2.5 is not exported"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing exported");
    std::fs::write(&file, SCENARIO.replace("instances = 1", "instances = 1\nomega = 2.0\nk_max = 50")).unwrap();
    let o = export(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let manifest = unrollcheck::gate::check::read_manifest(&out).unwrap();
    assert!(manifest.instances.iter().all(|e| e.omega == 2 && e.k == 50), "the scenario's ω and K");
    std::fs::write(&file, SCENARIO).unwrap();
    let o = export(&["--size", "large"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let manifest = unrollcheck::gate::check::read_manifest(&out).unwrap();
    assert!(manifest.instances.iter().all(|e| e.omega == 3 && e.k == 500), "--size's K, the gate's ω");
    let _ = std::fs::remove_dir_all(&dir);
}
