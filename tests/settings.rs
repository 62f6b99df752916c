//! One validation of a claim setting (`claims::Config::validate`), shared by scenario files,
//! `replay` and `check`: `omega` finite, `≥ 0` and at most `claims::OMEGA_MAX`,
//! `t_fractions ⊂ [0, 1]`, `tolerance_safety` finite and `> 0`, `target ∈ (0, 1)`, `K`
//! within `[10, max(k_max, 10)]`. Each bad value is exit 2 naming the key (and, in a
//! scenario, the file and the line), never a panic, an abort on allocation or a verdict.
//! Controls: the values at the bounds are accepted, and a valid replay prints the same
//! bytes as before the validation existed.

use std::process::{Command, Output};
use unrollcheck::claims::{self, Case, Config, Verdict};
use unrollcheck::spec::Spec;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unrollcheck")).args(args).output().expect("binary runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The scenario of the adversarial report, with `omega = {omega}` on line 6.
fn scenario(omega: &str) -> String {
    format!(
        "name = \"b\"\nseed = 7\ninstances = 1\nclaims = [\"all\"]\nk_max = 60\nomega = {omega}\n[grid]\n\
         family = [\"ridge_weight\"]\nmethod = [\"gd\"]\nm = [6]\nn = [3]\ndata = [\"paper\"]\nlambda = [0.1]\n\
         step = [\"2/(L+m)\"]\nx0 = [10.0]\n"
    )
}

fn sandbox(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("unrollcheck-settings-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `omega = 1e19` panicked (index usize::MAX), `1e8` aborted allocating 115 GB, `1e6` ran
/// with 1.1 GB the estimate did not count, `-1` ran: each is now exit 2 at line 6, key
/// `omega`, with the work it would take; and nothing is written.
#[test]
fn a_scenario_omega_beyond_its_bound_is_refused_at_its_line() {
    let dir = sandbox("omega");
    for (omega, estimate) in [
        ("1e19", true),
        ("1e300", true),
        ("1e8", true),
        ("1e6", true),
        ("100.5", true),
        ("-1.0", false),
        ("nan", false),
    ] {
        let path = dir.join("B.toml");
        std::fs::write(&path, scenario(omega)).unwrap();
        let out = dir.join("out");
        let o = run(&["verify", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quick"]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "omega = {omega}: expected exit 2, got {:?}: {t}", o.status.code());
        assert!(t.contains("B.toml: line 6, column 9, key `omega`"), "omega = {omega}: no file, line and key: {t}");
        assert!(t.contains("[0, 100]"), "omega = {omega}: the bound is not named: {t}");
        assert_eq!(t.contains("iterations at K = k_max = 60"), estimate, "omega = {omega}: the estimate: {t}");
        assert!(!t.contains("panicked"), "omega = {omega}: {t}");
        assert!(!out.join("b").exists(), "omega = {omega}: a report was written");
    }
}

/// Control: `omega` at its bound runs (exit 0), with `thm8.budget` run at `T'` up to
/// `K + 80K`.
#[test]
fn control_a_scenario_omega_at_its_bound_runs() {
    let dir = sandbox("omega-ok");
    let path = dir.join("B.toml");
    std::fs::write(&path, scenario("100.0")).unwrap();
    let out = dir.join("out");
    let o = run(&["verify", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quick"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

const SPEC: &str = r#"{"family":{"family":"ridge","param":"weight"},"method":{"method":"gradient_descent"},"m":6,"n":3,"data":{"data":"paper"},"lambda":0.1,"step":{"rule":"optimal"},"x0_sigma":10.0,"seed":0}"#;

fn replay(claim: &str, setting: &str) -> Output {
    run(&["replay", claim, &format!(r#"{{"spec":{SPEC},"setting":{{{setting}}}}}"#)])
}

const VALID: &str =
    r#""K":300,"k_max":300,"omega":3.0,"t_fractions":[0.0,0.1,0.25,0.5],"target":1e-08,"tolerance_safety":16.0"#;

/// Each bad setting value of a replay is exit 2 naming `SPEC: setting.<key>`: before, the
/// first two panicked (capacity overflow, index out of bounds) and the third printed a
/// made-up *violated* with a negative tolerance (exit 1).
#[test]
fn a_replay_setting_out_of_range_is_refused_naming_its_key() {
    let cases = [
        ("thm8.bound", VALID.replace("[0.0,0.1,0.25,0.5]", "[2.0,-1.0]"), "setting.t_fractions"),
        ("thm8.bound", VALID.replace("[0.0,0.1,0.25,0.5]", "[]"), "setting.t_fractions"),
        ("thm8.budget", VALID.replace("\"omega\":3.0", "\"omega\":1e300"), "setting.omega"),
        ("thm8.budget", VALID.replace("\"omega\":3.0", "\"omega\":-3.0"), "setting.omega"),
        ("thm8.budget", VALID.replace("\"omega\":3.0", "\"omega\":1e8"), "setting.omega"),
        ("thm7.bound", VALID.replace("16.0", "-16.0"), "setting.tolerance_safety"),
        ("thm7.bound", VALID.replace("16.0", "0.0"), "setting.tolerance_safety"),
        ("thm7.bound", VALID.replace("1e-08", "2.0"), "setting.target"),
        ("thm7.bound", VALID.replace("1e-08", "0.0"), "setting.target"),
        ("thm7.bound", VALID.replace("\"k_max\":300", "\"k_max\":0"), "setting.k_max"),
        ("thm7.bound", VALID.replace("\"K\":300", "\"K\":5000"), "setting.K"),
    ];
    for (claim, setting, key) in cases {
        let o = replay(claim, &setting);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{claim} {setting}: expected exit 2, got {:?}: {t}", o.status.code());
        assert!(t.contains(&format!("SPEC: {key}:")), "{claim} {setting}: the key {key} is not named: {t}");
        assert!(!t.contains("panicked") && !t.contains("violated"), "{claim} {setting}: {t}");
    }
}

/// Control: a valid setting replays with the bytes the binary printed before the
/// validation existed (captured from the code at dd1ef9c).
#[test]
fn control_a_valid_replay_prints_the_same_bytes() {
    let o = replay("thm7.bound", VALID);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let expected = format!(
        "thm7.bound [paper] on {SPEC} (K = 300): holds (301 comparisons, smallest margin 1.136e-2 at k = 300)\n"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), expected);
}

/// `thm8.budget` called from the library with an `ω` no validation saw: the late starts
/// `⌊T(1 + ω)⌋` are not representable, and the verdict is a numerical failure (no verdict),
/// not a panic on index `usize::MAX` nor an allocation abort. Control: `ω = 3` holds.
#[test]
fn thm8_budget_with_an_unrepresentable_omega_has_no_verdict() {
    let spec = Spec::from_json(&serde_json::from_str(SPEC).unwrap()).unwrap();
    let cfg = Config { k_max: 60, ..Config::default() };
    let case = Case::from_spec(&spec, &cfg).unwrap();
    for omega in [1e19, 1e300, f64::INFINITY] {
        let v = claims::check("thm8.budget", "paper", &case, &Config { omega, ..cfg.clone() }).unwrap();
        assert!(matches!(v, Verdict::NumericalFailure { .. }), "ω = {omega}: {v}");
    }
    let v = claims::check("thm8.budget", "paper", &case, &cfg).unwrap();
    assert!(v.holds(), "control ω = 3: {v}");
}

/// The float-to-index conversion: a huge, infinite, negative or NaN value is `None`, never
/// `usize::MAX` or 0.
#[test]
fn index_of_refuses_what_is_not_an_index() {
    use unrollcheck::bounds::index_of;
    assert_eq!(index_of(3.7), Some(3));
    assert_eq!(index_of(0.0), Some(0));
    for x in [1e19, 1e300, f64::INFINITY, -1.0, f64::NAN] {
        assert_eq!(index_of(x), None, "{x}");
    }
}
