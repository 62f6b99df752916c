//! The command line: `list` names every claim, `check` exits 0 / 1 / 2, bad input is a
//! clear message with exit code 2 and never a panic.

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unrollcheck")).args(args).output().expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn list_prints_every_claim_id_with_equation_and_families() {
    let o = run(&["list"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    for c in unrollcheck::claims::all() {
        assert!(text.contains(c.id), "`list` lacks {}", c.id);
        assert!(text.contains(c.equation), "`list` lacks the equation of {}", c.id);
    }
    assert!(text.contains("applies to"));
}

#[test]
fn check_default_instance_exits_zero() {
    let o = run(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("thm7.bound"));
}

#[test]
fn check_non_contractive_step_reports_not_applicable() {
    let spec = r#"{"family":{"family":"ridge","param":"weight"},"method":{"method":"gradient_descent"},"m":6,"n":3,
        "data":{"data":"paper"},"lambda":0.1,"step":{"rule":"fraction_of_two_over_l","c":1.1},"x0_sigma":1.0,"seed":3}"#;
    let o = run(&["check", "--spec", spec]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("not applicable: A2.1 fails"));
}

/// With `c = 1.2` the divergent run overflows within `K = 300` steps: the checks that meet
/// an infinity are numerical failures (no verdict), and `check` exits 2 saying so.
#[test]
fn check_of_an_overflowing_run_is_exit_two() {
    let spec = r#"{"family":{"family":"ridge","param":"weight"},"method":{"method":"gradient_descent"},"m":6,"n":3,
        "data":{"data":"paper"},"lambda":0.1,"step":{"rule":"fraction_of_two_over_l","c":1.2},"x0_sigma":1.0,"seed":3}"#;
    let o = run(&["check", "--spec", spec]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stdout(&o).contains("numerical failure at k ="), "{}", stdout(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("numerical failure"));
}

#[test]
fn malformed_spec_is_exit_two_with_the_field_named() {
    let o = run(&["check", "--spec", r#"{"family":{"family":"ridge"}}"#]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--spec") && err.contains("param"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn invalid_numbers_are_exit_two() {
    let spec = r#"{"family":{"family":"pseudo_huber","param":"weight","delta":-1.0},"method":{"method":"gradient_descent"},
        "m":6,"n":3,"data":{"data":"paper"},"lambda":0.1,"step":{"rule":"optimal"},"x0_sigma":1.0,"seed":3}"#;
    let o = run(&["check", "--spec", spec]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("delta"));
}

#[test]
fn demo_prints_constants_and_curse_indices() {
    let o = run(&["demo", "--k", "50"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("Gamma") && text.contains("k_dot"));
    assert!(!text.contains("warning"), "a well-conditioned demo has no warning:\n{text}");
}

/// `m < n` at `λ = 10⁻¹²`: `H = AᵀA + λI` has `cond ≈ 4·10¹²`, and the printed `‖Dx*‖ =
/// 1.97·10⁸` is rounding (the exact value is of order 1–10): the demo says so, with the
/// error bound of the computed `Dx*`, instead of printing it silently.
#[test]
fn demo_warns_when_dx_star_is_not_determined() {
    let o = run(&["demo", "--lambda", "1e-12", "--m", "2", "--n", "5", "--k", "50"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    let warning = text.lines().find(|l| l.contains("warning")).unwrap_or_else(|| panic!("no warning:\n{text}"));
    assert!(warning.contains("|Dx*| is not determined") && warning.contains("error bound"), "{warning}");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("unrollcheck-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const SCENARIO: &str = r#"
name = "cli"
seed = 3
instances = 1
claims = ["thm7.bound", "lem6.gamma"]
[grid]
family = ["ridge_weight"]
m = [6]
n = [2]
step = ["2/(L+m)"]
x0 = [3.0]
"#;

#[test]
fn verify_writes_a_report_and_exits_zero() {
    let dir = temp_dir("ok");
    let file = dir.join("s.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    let o = run(&["verify", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(dir.join("out/cli/report.md")).unwrap();
    assert!(md.contains("thm7.bound") && md.contains("seed: 3"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/cli/results.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["passed"], true);
}

/// `verify --long` adds the long campaign (`verify/long.toml`): one quick shard of it (the
/// first grid point, n = 4) runs here, the whole campaign by hand.
#[test]
fn verify_long_runs_the_long_campaign() {
    let dir = temp_dir("long");
    let out = dir.join("out");
    let o = run(&["verify", "--long", "--quick", "--shard", "1/72", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(out.join("long.shard-1-of-72/shard.cbor").exists(), "{}", stdout(&o));
    // Without --long, only the given scenario runs.
    let file = dir.join("s.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    let o = run(&["verify", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!out.join("long").exists());
}

#[test]
fn verify_exits_one_when_a_claim_is_violated() {
    let dir = temp_dir("violated");
    let file = dir.join("s.toml");
    let text = format!("{SCENARIO}\n[[custom]]\nid = \"false.bound\"\nstatement = \"edot[k] <= rho^k*edot[0]\"\n");
    std::fs::write(&file, text).unwrap();
    let o = run(&["verify", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("false.bound"));
    // The witness replays through the printed command's parts.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/cli/results.json")).unwrap()).unwrap();
    let spec = json["instances"][0]["spec"].to_string();
    let r = run(&["replay", "false.bound", &spec, "--scenario", file.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(1));
    assert!(stdout(&r).contains("violated at k ="), "{}", stdout(&r));
}

#[test]
fn verify_bad_scenario_is_exit_two_naming_file_line_key() {
    let dir = temp_dir("bad");
    let file = dir.join("bad.toml");
    std::fs::write(&file, SCENARIO.replace("m = [6]", "m = [6]\nmm = [2]")).unwrap();
    let o = run(&["verify", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml") && err.contains("line") && err.contains("mm"), "{err}");
    assert!(!dir.join("out/cli").exists(), "no report for bad input");
    let missing = run(&["verify", dir.join("nope.toml").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}

/// The layer families (no objective) take the method `picard` only, and only they take it;
/// the objective families' axes do not apply to them, nor `rho_w` to the others: each
/// combination is refused at parse time with exit 2, naming the file, the line and the key
/// of the offending entry, and no report is written. A `--spec` with a layer family and an
/// objective method is exit 2 too.
#[test]
fn verify_layer_with_a_wrong_method_or_axis_is_exit_two_naming_file_line_key() {
    let layer = "name = \"lay\"\nseed = 3\ninstances = 1\nclaims = [\"thm7.bound\"]\n[grid]\n\
                 family = [\"layer_input\"]\nmethod = [\"picard\"]\nm = [2]\nn = [3]\n";
    let ok = format!("{layer}x0 = [1.0]\nrho_w = [0.8]\n");
    let cases: [(String, &str, &str); 7] = [
        (layer.replace("[\"picard\"]", "[\"picard\", \"gd\"]"), "grid.method", "line 7"),
        (layer.replace("method = [\"picard\"]\n", ""), "grid.family", "line 6"),
        (layer.replace("[\"layer_input\"]", "[\"layer_bias\", \"ridge_weight\"]"), "grid.family", "line 6"),
        (
            SCENARIO.replace("family = [\"ridge_weight\"]", "family = [\"ridge_weight\"]\nmethod = [\"picard\"]"),
            "grid.method",
            "line 8",
        ),
        (SCENARIO.replace("x0 = [3.0]", "x0 = [3.0]\nrho_w = [0.5]"), "grid.rho_w", "line 12"),
        (format!("{layer}step = [\"1/L\"]\n"), "grid.step", "line 10"),
        (format!("{layer}rho_w = [1.0]\n"), "grid.rho_w", "line 10"),
    ];
    let dir = temp_dir("layer");
    for (i, (text, key, line)) in cases.iter().enumerate() {
        let file = dir.join(format!("layer{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let o = run(&["verify", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains(&format!("layer{i}.toml")) && err.contains(line) && err.contains(key), "case {i}: {err}");
        assert!(!err.contains("panicked"), "case {i}: {err}");
        assert!(!dir.join("out/lay").exists() && !dir.join("out/cli").exists(), "case {i}: no report for bad input");
    }
    // Negative control: the same file with a valid grid runs.
    let file = dir.join("ok.toml");
    std::fs::write(&file, ok).unwrap();
    let o = run(&["verify", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let spec = r#"{"family":{"family":"layer","param":"bias","rho_w":0.8},"method":{"method":"gradient_descent"},
        "m":2,"n":3,"data":{"data":"paper"},"lambda":0.1,"step":{"rule":"optimal"},"x0_sigma":1.0,"seed":3}"#;
    let o = run(&["check", "--spec", spec]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("picard"));
    let o = run(&["check", "--spec", &spec.replace("gradient_descent", "picard")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn replay_reprints_both_sides() {
    let spec = serde_json::to_string(&unrollcheck::spec::Spec::figure2(0)).unwrap();
    let o = run(&["replay", "thm7.bound/no_curse_term", &spec]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("lhs =") && stdout(&o).contains("rhs + tol ="));
    let ok = run(&["replay", "thm7.bound", &spec]);
    assert_eq!(ok.status.code(), Some(0));
    let unknown = run(&["replay", "thm9.bound", &spec]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn list_with_scenario_shows_custom_claims() {
    let o = run(&["list", "--scenario", concat!(env!("CARGO_MANIFEST_DIR"), "/verify/paper.toml")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("custom.thm7_bound"));
}

const TRENDS: &str = r#"
kind = "trends"
name = "cli_trends"
seed = 5
pairs = 3
[base]
m = 12
n = 3
x0 = 10.0
[[experiment]]
claim = "sec34.init"
factor = "x0"
levels = [10.0, 0.1]
[[experiment]]
claim = "sec5.warm_start"
factor = "start"
levels = ["cold", "warm"]
budget = 10
outer = 4
"#;

/// `verify` on a trend file writes its report (verdicts are findings: exit 0); a malformed
/// trend file is exit 2 naming the file, the line and the key, and writes nothing.
#[test]
fn verify_trend_file_writes_a_report_and_bad_ones_exit_two() {
    let dir = temp_dir("trends");
    let file = dir.join("t.toml");
    std::fs::write(&file, TRENDS).unwrap();
    let o = run(&["verify", file.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(dir.join("out/cli_trends/report.md")).unwrap();
    assert!(md.contains("sec34.init") && md.contains("Every outer iteration of the warm-started run"), "{md}");
    assert!(dir.join("out/cli_trends/results.json").exists());
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, TRENDS.replace("levels = [10.0, 0.1]", "levels = [10.0, \"far\"]")).unwrap();
    let o = run(&["verify", bad.to_str().unwrap(), "--out", dir.join("out2").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml") && err.contains("line 13") && err.contains("x0"), "{err}");
    assert!(!dir.join("out2/cli_trends").exists(), "no report for bad input");
}

/// The proximal methods run on the elastic net only and the elastic net under them only:
/// a grid that crosses them with anything else is refused at parse, naming the file, the
/// line and the key (exit 2); so is a spec that pairs them otherwise.
#[test]
fn proximal_methods_and_the_elastic_net_are_refused_elsewhere() {
    let dir = std::env::temp_dir().join(format!("unrollcheck-cli-prox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let grid = |family: &str, method: &str| {
        format!(
            "name = \"p\"\nseed = 1\ninstances = 1\nclaims = [\"thm2.rate\"]\n[grid]\nfamily = [{family}]\n{method}m = [6]\nn = [3]\nstep = [\"1/L\"]\n"
        )
    };
    let cases = [
        (grid("\"elastic_net_l1\"", "method = [\"prox_gd\", \"gd\"]\n"), "line 7", "grid.method"),
        (grid("\"ridge_weight\", \"elastic_net_targets\"", "method = [\"fista\"]\n"), "line 7", "grid.method"),
        (grid("\"ridge_weight\", \"elastic_net_l2\"", ""), "line 6", "grid.family"),
    ];
    for (i, (text, line, key)) in cases.iter().enumerate() {
        let path = dir.join(format!("p{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let o = run(&["verify", path.to_str().unwrap(), "--out", dir.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(&format!("p{i}.toml")) && err.contains(line) && err.contains(key), "{text}: {err}");
    }
    let spec = r#"{"family":{"family":"elastic_net","param":"l1","l1":0.3},"method":{"method":"gradient_descent"},
        "m":6,"n":3,"data":{"data":"paper"},"lambda":0.1,"step":{"rule":"inv_l"},"x0_sigma":1.0,"seed":3}"#;
    let o = run(&["check", "--spec", spec]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("elastic net"));
    let spec = r#"{"family":{"family":"elastic_net","param":"l1","l1":0.3},"method":{"method":"prox_gd","restart":"identified"},
        "m":6,"n":3,"data":{"data":"paper"},"lambda":0.1,"step":{"rule":"inv_l"},"x0_sigma":1.0,"seed":3}"#;
    let o = run(&["check", "--spec", spec]);
    assert!(o.status.code() == Some(0) || o.status.code() == Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&dir).ok();
}
