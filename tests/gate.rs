//! Self-test of the gate: correct traces pass; each planted bug class is rejected with the
//! right quantity, iteration and cause; bad input is a clear error (exit code 2 in the CLI).

use nalgebra::DVector;
use std::path::{Path, PathBuf};
use unrollcheck::Error;
use unrollcheck::gate::check::{GateReport, check, read_manifest};
use unrollcheck::gate::export::{Entry, default_set, export, rebuild};
use unrollcheck::gate::npz::{self, Npz};
use unrollcheck::unroll::{Linearization, Trajectory};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("unrollcheck-gate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A planted bug, applied by an independent dense implementation of (9), (12), (20).
#[derive(Clone, Copy, PartialEq)]
enum Bug {
    None,
    SignC,
    BNext,
    LateStartPlusOne,
    Freeze,
    Float32,
    /// A correct computation in single precision, saved as float32.
    Float32Dtype,
}

/// Writes the trace of `entry` as the outside implementation would, with `bug` planted.
fn write_trace(instances: &Path, traces: &Path, e: &Entry, bug: Bug) {
    let file = Npz::read(&instances.join(&e.file)).unwrap();
    let (inst, v, w) = rebuild(e, &file).unwrap();
    let traj = Trajectory::run(&inst.map, &inst.x0, e.k_prime);
    let lin = Linearization::along(&inst.map, &traj, e.k_prime + 1);
    let (start, shift, sign) = match bug {
        Bug::SignC => (e.t_prime, 0, -1.0),
        Bug::BNext => (e.t_prime, 1, 1.0),
        Bug::LateStartPlusOne => (e.t_prime + 1, 0, 1.0),
        _ => (e.t_prime, 0, 1.0),
    };
    let mut jvp = vec![DVector::zeros(e.n)];
    let mut frozen = false;
    for k in start..e.k_prime {
        let next = lin.b(k + shift) * jvp.last().unwrap() + lin.c(k) * &v * sign;
        // Once the iterate has (loosely) converged, the buggy derivative stops updating.
        frozen |= bug == Bug::Freeze && (traj.x(k + 1) - traj.x(k)).norm() < 1e-2 * (1.0 + traj.x(k).norm());
        jvp.push(if frozen { jvp.last().unwrap().clone() } else { next });
    }
    let (mut xb, mut ub) = (w.clone(), DVector::zeros(e.p));
    let mut vjp = vec![ub.clone()];
    for k in (start..e.k_prime).rev() {
        ub += lin.c(k).tr_mul(&xb) * sign;
        xb = lin.b(k + shift).tr_mul(&xb);
        vjp.push(ub.clone());
    }
    let round = |x: f64| if matches!(bug, Bug::Float32 | Bug::Float32Dtype) { f64::from(x as f32) } else { x };
    let flat = |rows: &[DVector<f64>]| {
        rows.iter().flat_map(|r| r.iter().map(|x| round(*x)).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    let xs: Vec<DVector<f64>> = (0..=e.k_prime).map(|k| traj.x(k).into_owned()).collect();
    let (jl, vl) = (jvp.last().unwrap().clone(), vjp.last().unwrap().clone());
    let arrays = vec![
        ("x", vec![xs.len(), e.n], flat(&xs)),
        ("jvp", vec![jvp.len(), e.n], flat(&jvp)),
        ("vjp", vec![vjp.len(), e.p], flat(&vjp)),
        ("jvp_final", vec![e.n], flat(&[jl])),
        ("vjp_final", vec![e.p], flat(&[vl])),
    ];
    npz::write_as(&traces.join(&e.trace.file), &arrays, bug == Bug::Float32Dtype).unwrap();
}

/// Exports the default set and writes traces with `bug` planted in every instance.
fn run_with(name: &str, bug: Bug) -> (PathBuf, PathBuf, GateReport) {
    let d = dir(name);
    let (inst, traces) = (d.join("instances"), d.join("traces"));
    std::fs::create_dir_all(&traces).unwrap();
    export(&default_set(2026), &inst).unwrap();
    for e in &read_manifest(&inst).unwrap().instances {
        write_trace(&inst, &traces, e, bug);
    }
    let report = check(&inst, &traces).unwrap();
    (inst, traces, report)
}

#[test]
fn correct_traces_pass_every_check() {
    let (_, _, report) = run_with("ok", Bug::None);
    assert_eq!(report.outcomes.len(), 22);
    for o in &report.outcomes {
        assert!(o.passed(), "{}: {:?}", o.id, o.findings);
        assert!(o.claims.iter().any(|(id, v)| id == "sec41.trunc_fwd_rev" && v.holds()));
    }
}

fn assert_caught(bug: Bug, name: &str, quantity: &str, cause: &str) {
    let (_, _, report) = run_with(name, bug);
    for o in &report.outcomes {
        assert!(!o.passed(), "{name}: {} passed with a planted bug", o.id);
        let f = o
            .findings
            .iter()
            .find(|f| f.quantity == quantity)
            .unwrap_or_else(|| panic!("{name}: {} has no `{quantity}` finding: {:?}", o.id, o.findings));
        assert!(f.cause.as_deref().unwrap_or("").contains(cause), "{name}: {}: cause {:?}", o.id, f.cause);
    }
}

#[test]
fn sign_error_in_c_is_caught_with_its_cause() {
    assert_caught(Bug::SignC, "sign", "jvp", "sign error in C_k");
}

#[test]
fn b_next_is_caught_with_its_cause() {
    // On ridge, B_k does not depend on x: B_{k+1} = B_k, and the bug is harmless there.
    let (_, _, report) = run_with("bnext", Bug::BNext);
    // Warm-started instances never move, so B_{k+1} = B_k there too.
    let robust: Vec<_> =
        report.outcomes.iter().filter(|o| o.id.contains("pseudo_huber") && !o.id.ends_with("_warm")).collect();
    assert!(!robust.is_empty());
    for o in robust {
        let f = o.findings.iter().find(|f| f.quantity == "jvp").expect("jvp finding");
        assert!(f.cause.as_deref().unwrap_or("").contains("B_{k+1}"), "{}: {:?}", o.id, f.cause);
        assert!(f.iteration >= 1, "the first step already uses the wrong Jacobian only after k = T'");
    }
}

#[test]
fn off_by_one_truncation_is_caught() {
    assert_caught(Bug::LateStartPlusOne, "late", "jvp", "off-by-one truncation index");
}

#[test]
fn freezing_derivative_is_caught() {
    let (_, _, report) = run_with("freeze", Bug::Freeze);
    let frozen: Vec<_> = report.outcomes.iter().filter(|o| !o.passed()).collect();
    assert!(!frozen.is_empty(), "no instance converged within its horizon");
    for o in frozen {
        let f = o.findings.iter().find(|f| f.quantity == "jvp").unwrap();
        assert!(f.cause.as_deref().unwrap_or("").contains("freezes"), "{}: {:?}", o.id, f.cause);
    }
}

#[test]
fn float32_rounding_in_a_float64_trace_is_recognised() {
    let (_, _, report) = run_with("f32", Bug::Float32);
    let failed: Vec<_> = report.outcomes.iter().filter(|o| !o.passed()).collect();
    assert!(!failed.is_empty());
    for o in failed {
        let cause = o.findings.iter().find_map(|f| f.cause.clone()).unwrap_or_default();
        assert!(cause.contains("float32"), "{}: {cause}", o.id);
    }
}

fn expect_input_error(result: Result<GateReport, Error>, needle: &str) {
    match result {
        Err(Error::Input { location, message }) => {
            assert!(format!("{location} {message}").contains(needle), "{location}: {message}")
        }
        Err(Error::Io { path, message }) => assert!(format!("{path} {message}").contains(needle), "{path}: {message}"),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("bad input accepted"),
    }
}

#[test]
fn bad_input_is_a_clear_error_naming_file_and_array() {
    let (inst, traces, _) = run_with("bad", Bug::None);
    let m = read_manifest(&inst).unwrap();
    let e = &m.instances[0];
    let path = traces.join(&e.trace.file);
    let good = std::fs::read(&path).unwrap();
    // Truncated file.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    expect_input_error(check(&inst, &traces), &e.trace.file);
    // Wrong shape.
    npz::write(&path, &[("x", vec![2, 2], vec![0.0; 4])]).unwrap();
    expect_input_error(check(&inst, &traces), "shape");
    // NaN.
    std::fs::write(&path, &good).unwrap();
    let mut arrays = Vec::new();
    let npzf = Npz::read(&path).unwrap();
    for name in ["x", "jvp", "vjp", "jvp_final", "vjp_final"] {
        let a = npzf.raw(name).unwrap();
        let mut data = a.data.clone();
        if name == "vjp" {
            data[3] = f64::NAN;
        }
        arrays.push((name, a.shape.clone(), data));
    }
    npz::write(&path, &arrays).unwrap();
    expect_input_error(check(&inst, &traces), "vjp");
    // Missing trace.
    std::fs::remove_file(&path).unwrap();
    expect_input_error(check(&inst, &traces), &e.trace.file);
    // A trace for an unknown instance.
    std::fs::write(&path, &good).unwrap();
    std::fs::write(traces.join("zz_unknown.npz"), &good).unwrap();
    expect_input_error(check(&inst, &traces), "unknown instance");
}

#[test]
fn a_float32_trace_gets_a_float32_tolerance_and_is_said_to_be_float32() {
    let (_, _, report) = run_with("f32dtype", Bug::Float32Dtype);
    for o in &report.outcomes {
        assert!(o.float32, "{} not recognised as float32", o.id);
        assert!(o.passed(), "{}: a correct float32 trace must pass: {:?}", o.id, o.findings);
    }
    assert!(unrollcheck::gate::check::markdown(&report).contains("float32"));
    // Negative control: the same float32 trace with a planted sign error still fails.
    let (_, _, bad) = run_with("f32sign", Bug::SignC);
    assert!(bad.outcomes.iter().all(|o| !o.passed()));
}

#[test]
fn a_wrong_dtype_is_named() {
    let (inst, traces, _) = run_with("dtype", Bug::None);
    let e = &read_manifest(&inst).unwrap().instances[0];
    let path = traces.join(&e.trace.file);
    let mut npzw = npyz::npz::NpzWriter::create(&path).unwrap();
    use npyz::WriterBuilder;
    let mut w = npzw.array::<i64>("x", Default::default()).unwrap().default_dtype().shape(&[2]).begin_nd().unwrap();
    w.extend([1i64, 2]).unwrap();
    w.finish().unwrap();
    drop(npzw);
    expect_input_error(check(&inst, &traces), "dtype");
}

/// `gate check --out DIR` never overwrites a foreign `DIR/report.md` (exit 2, the file left
/// as it was); into a fresh directory, or over its own report, it writes (the control).
#[test]
fn check_out_never_overwrites_a_foreign_report() {
    let (inst, traces, _) = run_with("cli_out", Bug::None);
    let out = inst.parent().unwrap().join("report");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("report.md"), "mine").unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_unrollcheck"))
            .args(["gate", "check", "--instances"])
            .arg(&inst)
            .arg("--traces")
            .arg(&traces)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("runs")
    };
    let o = run();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(out.join("report.md")).unwrap(), "mine");
    std::fs::remove_file(out.join("report.md")).unwrap();
    for _ in 0..2 {
        let o = run();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(std::fs::read_to_string(out.join("report.md")).unwrap().starts_with("# unrollcheck gate report"));
    }
}

/// An instance whose trace claim ends in a numerical failure (no verdict) does not pass;
/// control: the same instance with the claim holding passes.
#[test]
fn a_numerical_failure_of_a_trace_claim_fails_the_instance() {
    use unrollcheck::claims::{Point, Verdict};
    use unrollcheck::gate::check::Outcome;
    let outcome = |v: Verdict| Outcome {
        id: "x".into(),
        float32: false,
        findings: vec![],
        claims: vec![("sec41.trunc_fwd_rev".into(), v)],
    };
    let nf = Verdict::NumericalFailure { cause: "tol is inf".into(), at: Point { k: 3, t: None } };
    assert!(!outcome(nf).passed());
    let holds = Verdict::Holds { checked: 1, margin: 0.5, at: Point { k: 3, t: None }, informative: true };
    assert!(outcome(holds).passed());
}

/// Rewrites the trace `path` array by array: `how(name)` gives the dtype (`<f8`, `>f8`,
/// `<f4`, `>f4`) and whether to store it in Fortran order; `lie` writes Fortran data under
/// a C-order header (the negative control: the layout must be read from the header).
fn rewrite(path: &Path, how: impl Fn(&str) -> (&'static str, bool), lie: bool) {
    use npyz::WriterBuilder;
    let old = Npz::read(path).unwrap();
    let mut npzw = npyz::npz::NpzWriter::create(path).unwrap();
    for name in ["x", "jvp", "vjp", "jvp_final", "vjp_final"] {
        let a = old.raw(name).unwrap();
        let (dtype, fortran) = how(name);
        let data: Vec<f64> = if fortran && a.shape.len() == 2 {
            let (r, c) = (a.shape[0], a.shape[1]);
            (0..r * c).map(|f| a.data[(f % r) * c + f / r]).collect()
        } else {
            a.data.clone()
        };
        let shape: Vec<u64> = a.shape.iter().map(|&d| d as u64).collect();
        let order = if fortran && !lie { npyz::Order::Fortran } else { npyz::Order::C };
        let dt = npyz::DType::Plain(dtype.parse().unwrap());
        if dtype.ends_with('4') {
            let w = npzw.array::<f32>(name, Default::default()).unwrap().dtype(dt).order(order).shape(&shape);
            let mut w = w.begin_nd().unwrap();
            w.extend(data.iter().map(|&x| x as f32)).unwrap();
            w.finish().unwrap();
        } else {
            let w = npzw.array::<f64>(name, Default::default()).unwrap().dtype(dt).order(order).shape(&shape);
            let mut w = w.begin_nd().unwrap();
            w.extend(data.iter().copied()).unwrap();
            w.finish().unwrap();
        }
    }
}

/// Issue #13, defect 1: a correct trace saved in Fortran order (`np.savez(x=X.T)` after a
/// transpose) or big-endian is read as written, and passes.
#[test]
fn fortran_order_and_big_endian_traces_are_read_as_written() {
    let (inst, traces, _) = run_with("layout", Bug::None);
    for e in &read_manifest(&inst).unwrap().instances {
        rewrite(&traces.join(&e.trace.file), |name| if name == "x" { (">f8", true) } else { ("<f8", true) }, false);
    }
    let report = check(&inst, &traces).unwrap();
    for o in &report.outcomes {
        assert!(o.passed(), "{}: a correct Fortran-order / big-endian trace must pass: {:?}", o.id, o.findings);
    }
    // Negative control: the same bytes under a C-order header are a different array.
    for e in &read_manifest(&inst).unwrap().instances {
        rewrite(&traces.join(&e.trace.file), |_| ("<f8", true), true);
    }
    let report = check(&inst, &traces).unwrap();
    assert!(report.outcomes.iter().any(|o| !o.passed()), "transposed data must not pass");
}

/// Issue #13, defect 2: each array is judged at the precision it is stored in. A float64
/// trace with float32-level errors fails; casting only `vjp_final` to float32 does not
/// loosen the other arrays (it passed before: one float32 array switched the whole instance
/// to float32 tolerance). A correct trace stored wholly as big-endian float32 passes.
#[test]
fn one_float32_array_does_not_loosen_the_others() {
    let (inst, traces, report) = run_with("loophole", Bug::Float32);
    assert!(report.outcomes.iter().any(|o| !o.passed()), "float32 errors in float64 arrays must fail");
    let failing: Vec<String> = report.outcomes.iter().filter(|o| !o.passed()).map(|o| o.id.clone()).collect();
    for e in &read_manifest(&inst).unwrap().instances {
        rewrite(
            &traces.join(&e.trace.file),
            |name| if name == "vjp_final" { ("<f4", false) } else { ("<f8", false) },
            false,
        );
    }
    let after = check(&inst, &traces).unwrap();
    for o in after.outcomes.iter().filter(|o| failing.contains(&o.id)) {
        assert!(!o.passed(), "{}: casting vjp_final to float32 must not make the float64 arrays pass", o.id);
        assert!(o.float32, "{}: the trace holds a float32 array", o.id);
    }
    let (inst, traces, _) = run_with("f32be", Bug::Float32Dtype);
    for e in &read_manifest(&inst).unwrap().instances {
        rewrite(&traces.join(&e.trace.file), |_| (">f4", false), false);
    }
    for o in &check(&inst, &traces).unwrap().outcomes {
        assert!(o.passed() && o.float32, "{}: a correct big-endian float32 trace must pass: {:?}", o.id, o.findings);
    }
}

/// Issue #13, defect 3: a manifest of another schema version, or whose indices disagree
/// with its instance files, is bad input (exit 2), not a list of meaningless mismatches.
#[test]
fn manifest_version_and_indices_are_checked() {
    let (inst, traces, _) = run_with("manifest", Bug::None);
    let path = inst.join("manifest.json");
    let good = std::fs::read_to_string(&path).unwrap();
    for version in ["0", "2"] {
        std::fs::write(&path, good.replacen("\"schema_version\": 1", &format!("\"schema_version\": {version}"), 1))
            .unwrap();
        expect_input_error(check(&inst, &traces), "schema_version");
    }
    let mut m: serde_json::Value = serde_json::from_str(&good).unwrap();
    let kp = m["instances"][0]["K_prime"].as_u64().unwrap();
    m["instances"][0]["K_prime"] = serde_json::json!(kp + 1);
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    expect_input_error(check(&inst, &traces), "K_prime");
    std::fs::write(&path, &good).unwrap();
    assert!(check(&inst, &traces).unwrap().outcomes.iter().all(|o| o.passed()), "the control passes");
}

/// Rewrites array `name` of every trace with `f(row index, row)`.
fn edit_rows(inst: &Path, traces: &Path, name: &str, f: impl Fn(usize, &mut [f64])) {
    for e in &read_manifest(inst).unwrap().instances {
        let path = traces.join(&e.trace.file);
        let old = Npz::read(&path).unwrap();
        let arrays: Vec<(&str, Vec<usize>, Vec<f64>)> = ["x", "jvp", "vjp", "jvp_final", "vjp_final"]
            .into_iter()
            .map(|n| {
                let a = old.raw(n).unwrap();
                let mut data = a.data.clone();
                if n == name {
                    let cols = a.shape.get(1).copied().unwrap_or(data.len());
                    for (i, row) in data.chunks_mut(cols).enumerate() {
                        f(i, row);
                    }
                }
                (n, a.shape.clone(), data)
            })
            .collect();
        npz::write(&path, &arrays).unwrap();
    }
}

/// Issue #13, defect 4: the named cause must be the failure's. A float64 trace whose
/// derivative is off by a relative 1e-6 is not "float32 rounding" (its values are not
/// float32 numbers), and a derivative started from a wrong `Ẋ_0` that converges with the
/// reference is not "freezing". The controls: the real float32 and freeze bugs keep their names.
#[test]
fn causes_are_not_guessed_from_the_size_of_the_error() {
    let (inst, traces, _) = run_with("cause_scale", Bug::None);
    edit_rows(&inst, &traces, "jvp", |_, row| row.iter_mut().for_each(|x| *x *= 1.0 + 1e-6));
    edit_rows(&inst, &traces, "jvp_final", |_, row| row.iter_mut().for_each(|x| *x *= 1.0 + 1e-6));
    let report = check(&inst, &traces).unwrap();
    assert!(report.outcomes.iter().any(|o| !o.passed()), "a 1e-6 error must fail");
    for o in &report.outcomes {
        for f in &o.findings {
            assert!(!f.cause.as_deref().unwrap_or("").contains("float32"), "{}: {:?}", o.id, f.cause);
        }
    }
    let (inst, traces, _) = run_with("cause_start", Bug::None);
    edit_rows(&inst, &traces, "jvp", |i, row| {
        if i == 0 {
            row.iter_mut().for_each(|x| *x += 0.5);
        }
    });
    let report = check(&inst, &traces).unwrap();
    assert!(report.outcomes.iter().all(|o| !o.passed()), "a wrong first row must fail");
    for o in &report.outcomes {
        for f in &o.findings {
            assert!(!f.cause.as_deref().unwrap_or("").contains("freez"), "{}: {:?}", o.id, f.cause);
        }
    }
    let (_, _, f32report) = run_with("cause_f32", Bug::Float32);
    assert!(
        f32report.outcomes.iter().flat_map(|o| &o.findings).any(|f| f
            .cause
            .as_deref()
            .unwrap_or("")
            .contains("float32"))
    );
}
