//! Every witness replays: for every row of a scenario report (each claim and variant), the
//! command printed for its worst instance (its first violation, or its smallest margin) is
//! parsed back and re-run, and must give the same verdict with the same numbers — on
//! `verify/paper.toml` in quick and full mode, and on a scenario with `k_max = 50` (where a
//! replay at the default `k_max` would choose another horizon).
//!
//! Negative control: the same commands without their setting replay at another `K` for
//! some rows of the `k_max = 50` scenario, so the test would catch a report that dropped it.

use std::path::Path;
use unrollcheck::claims::{self, Case, Config, Setting, Verdict};
use unrollcheck::report;
use unrollcheck::scenario::runner::ScenarioResults;
use unrollcheck::scenario::{Scenario, runner};
use unrollcheck::spec::Spec;

fn paper_text() -> String {
    std::fs::read_to_string(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/verify/paper.toml"))).expect("paper.toml")
}

/// The scenario `paper.toml` with `k_max = 50` and its controls, under another name.
fn k50() -> Scenario {
    let text = paper_text().replacen("name = \"paper\"", "name = \"paper_k50\"\nk_max = 50\ncontrols = true", 1);
    Scenario::parse("paper_k50.toml", &text).expect("valid")
}

/// The `k_max = 50` scenario and its results, run once for every test of this file.
fn k50_run() -> &'static (Scenario, ScenarioResults) {
    static RUN: std::sync::OnceLock<(Scenario, ScenarioResults)> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let sc = k50();
        let res = runner::run_scenario(&sc, &runner::Options::default()).expect("runs");
        (sc, res)
    })
}

/// The JSON argument of a replay command (between the single quotes).
fn replay_json(command: &str) -> (Spec, Option<Setting>) {
    let json = command.split('\'').nth(1).expect("quoted JSON");
    #[derive(serde::Deserialize)]
    struct Input {
        spec: Spec,
        setting: Option<Setting>,
    }
    let i: Input = serde_json::from_str(json).expect("replay JSON parses");
    (i.spec, i.setting)
}

fn replay(sc: &Scenario, claim: &str, variant: &str, spec: &Spec, cfg: &Config) -> (usize, Verdict) {
    let case = Case::from_spec(spec, cfg).expect("builds");
    let v = match claims::find(claim) {
        Some(_) => claims::check(claim, variant, &case, cfg).expect("known"),
        None => {
            let c = sc.custom.iter().find(|c| c.claim.id() == claim).expect("custom claim");
            runner::check_custom(c, &case, cfg)
        }
    };
    (case.k, v)
}

/// Replays every row's worst instance; returns how many rows were replayed and how many
/// of them were violations.
fn replays_everything(sc: &Scenario, res: &ScenarioResults) -> (usize, usize) {
    let rows = report::summarize(sc, res);
    let md = report::markdown(sc, res, &rows, &[]);
    let (mut replayed, mut violations) = (0, 0);
    for (i, r) in rows.iter().enumerate() {
        let Some(worst) = &r.worst else { continue };
        let command = md
            .lines()
            .skip_while(|l| !l.starts_with(&format!("- `{}` [{}], instance {}:", r.claim, r.variant, worst.index)))
            .nth(1)
            .unwrap_or_else(|| panic!("no replay command for {}[{}]", r.claim, r.variant))
            .to_string();
        let (spec, setting) = replay_json(&command);
        let setting = setting.expect("the command carries the setting");
        assert_eq!(spec, worst.spec);
        let stored = &res.instances[worst.index].rows[i].verdict;
        let (k, v) = replay(sc, &r.claim, &r.variant, &spec, &Config::from_setting(&setting));
        assert_eq!(k, setting.k, "{}[{}]: the replay chose another K", r.claim, r.variant);
        assert_eq!(&v, stored, "{}[{}] does not replay: `{command}`", r.claim, r.variant);
        replayed += 1;
        violations += usize::from(v.violated());
    }
    (replayed, violations)
}

#[test]
fn every_worst_instance_of_paper_quick_replays() {
    let sc = Scenario::parse("verify/paper.toml", &paper_text()).expect("valid");
    let res = runner::run_scenario(&sc, &runner::Options { quick: true, ..Default::default() }).expect("runs");
    let (n, v) = replays_everything(&sc, &res);
    assert!(n >= 30 && v > 0, "replayed {n} rows, {v} violations");
}

#[test]
fn every_worst_instance_of_paper_full_replays() {
    let sc = Scenario::parse("verify/paper.toml", &paper_text()).expect("valid");
    let res = runner::run_scenario(&sc, &runner::Options::default()).expect("runs");
    let (n, v) = replays_everything(&sc, &res);
    assert!(n >= 30 && v > 0, "replayed {n} rows, {v} violations");
}

#[test]
fn every_witness_of_a_k_max_50_scenario_replays() {
    let (sc, res) = k50_run();
    let (n, v) = replays_everything(sc, res);
    assert!(n > 40 && v > 10, "replayed {n} rows, {v} violations");
}

/// Negative control: without the setting (the replay command of the previous release), some
/// witness of the `k_max = 50` scenario replays at another `K` or with another verdict.
#[test]
fn control_a_replay_without_setting_differs() {
    let (sc, res) = k50_run();
    let rows = report::summarize(sc, res);
    let differs = rows.iter().enumerate().filter(|(i, r)| {
        r.worst.as_ref().is_some_and(|w| {
            let stored = &res.instances[w.index].rows[*i].verdict;
            let cfg = Config { omega: sc.omega(), ..Config::default() };
            replay(sc, &r.claim, &r.variant, &w.spec, &cfg).1 != *stored
        })
    });
    assert!(differs.count() > 0, "every row replays without its setting: the control cannot fail");
}

/// A replay whose setting names another horizon than the spec gives is refused (exit 2).
#[test]
fn a_replay_with_a_wrong_horizon_is_refused() {
    let spec = serde_json::to_string(&Spec::figure2(0)).unwrap();
    let arg = format!(
        r#"{{"spec": {spec}, "setting": {{"K": 3, "k_max": 300, "target": 1e-8, "omega": 3.0, "t_fractions": [0.0], "tolerance_safety": 16.0}}}}"#
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_unrollcheck"))
        .args(["replay", "thm2.rate", &arg])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stderr).contains("horizon K = 3"));
}

/// The command line replays a witness of the `k_max = 50` scenario with exit code 1 and the
/// same numbers as the report.
#[test]
fn the_command_line_replays_a_witness_exactly() {
    let (sc, res) = k50_run();
    let rows = report::summarize(sc, res);
    let md = report::markdown(sc, res, &rows, &[]);
    let r = rows.iter().find(|r| r.witness.is_some() && r.claim == "thm7.bound").expect("a control of (19) is caught");
    let w = r.witness.as_ref().unwrap();
    let command = md
        .lines()
        .skip_while(|l| !l.starts_with(&format!("- `{}` [{}]", r.claim, r.variant)))
        .nth(1)
        .expect("command")
        .trim()
        .trim_matches('`')
        .to_string();
    let json = command.split('\'').nth(1).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_unrollcheck"))
        .args(["replay", &format!("{}/{}", r.claim, r.variant), json])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{:.17e}", w.lhs)) && stdout.contains(&format!("{:.17e}", w.rhs)),
        "{stdout}\n{w}"
    );
}

/// Every witness of `verify/layer.toml` (the random contraction layer, no objective; issue
/// #16) replays from the spec it prints: the layer's draw (`W`, `U`, `b`, `v`, then `x_0`)
/// comes from the spec's seed and `rho_w` alone.
#[test]
fn every_worst_instance_of_the_layer_scenario_replays() {
    let text = std::fs::read_to_string(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/verify/layer.toml")))
        .expect("layer.toml");
    let sc = Scenario::parse("verify/layer.toml", &text).expect("valid");
    let res = runner::run_scenario(&sc, &runner::Options::default()).expect("runs");
    let (n, v) = replays_everything(&sc, &res);
    assert!(n >= 40 && v > 10, "replayed {n} rows, {v} violations");
}

/// The proximal maps (issue #16, item 4): every row's worst instance of
/// `verify/proximal.toml` (quick: one instance per grid point) replays, the violations of
/// the controls and of the finding `prox.no_curse_from_x0` included.
#[test]
fn every_worst_instance_of_proximal_quick_replays() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/verify/proximal.toml");
    let sc = Scenario::load(std::path::Path::new(path)).expect("valid");
    let res = runner::run_scenario(&sc, &runner::Options { quick: true, ..Default::default() }).expect("runs");
    let (n, v) = replays_everything(&sc, &res);
    assert!(n >= 40 && v > 10, "replayed {n} rows, {v} violations");
    let rows = report::summarize(&sc, &res);
    let finding = rows.iter().find(|r| r.claim == "prox.no_curse_from_x0").expect("the finding is checked");
    assert!(finding.violated > 0, "the a.e. derivative before identification follows ρ^k ė_0 on every quick instance");
}
