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
        "data":{"data":"paper"},"lambda":0.1,"step":{"rule":"fraction_of_two_over_l","c":1.2},"x0_sigma":1.0,"seed":3}"#;
    let o = run(&["check", "--spec", spec]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("not applicable: A2.1 fails"));
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
}
