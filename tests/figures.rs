//! Tests of the SVG figures (`report::figures`): each figure is a valid SVG holding its
//! title and legend labels for the paper's Figure 2 instance, degenerate input (empty
//! curves, `K = 0`, `NaN`, zeros, infinities) does not panic, output is byte-identical
//! across calls, and an unwritable path is an error (negative control).

use std::path::{Path, PathBuf};
use unrollcheck::linalg::spectral_norm;
use unrollcheck::report::figures;
use unrollcheck::scenario::runner::LateStartCurve;
use unrollcheck::spec::Spec;
use unrollcheck::unroll::{ErrorCurves, late_start_jacobians};

const K: usize = 100;

/// A path under cargo's per-target temporary directory, in a subdirectory named after the
/// process (created by the figure functions, so parent-directory creation is exercised).
fn out(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("figures-{}", std::process::id())).join("sub").join(name)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("figure written")
}

/// Asserts an SVG document holding each of `texts` (as escaped by the SVG backend).
fn assert_svg(svg: &str, texts: &[&str]) {
    assert!(svg.starts_with("<svg"), "not an SVG: {}", &svg[..svg.len().min(80)]);
    assert!(svg.trim_end().ends_with("</svg>"), "unterminated SVG");
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "non-finite coordinate in SVG");
    for t in texts {
        let escaped = t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&apos;");
        assert!(svg.contains(&escaped), "missing text {t:?}");
    }
}

/// The contents of the SVG `<text>` elements, trimmed.
fn text_elements(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim().to_string()))
        .collect()
}

/// The Figure 2 instance: its error curves and the bounds (8) and (19).
fn figure2() -> (ErrorCurves, Vec<f64>, Vec<f64>) {
    let inst = Spec::figure2(0).build().expect("figure 2 instance");
    let curves = inst.error_curves(K);
    let (rho, gamma, e0) = (inst.constants.rho(), inst.constants.gamma.value, inst.e0());
    let b8 = (0..=K).map(|k| rho.powi(k as i32) * e0).collect();
    let edot0 = curves.edot[0];
    let b19 = (0..=K).map(|k| rho.powi(k as i32) * edot0 + k as f64 * rho.powi(k as i32 - 1) * gamma * e0).collect();
    (curves, b8, b19)
}

/// Late-start forward errors `ė_{T'}^{(j)}` of the Figure 2 instance, `T' + j ≤ K`.
fn late_curves(t_primes: &[usize]) -> (Vec<f64>, Vec<LateStartCurve>) {
    let inst = Spec::figure2(0).build().expect("figure 2 instance");
    let traj = inst.run(K);
    let curves = t_primes
        .iter()
        .map(|&t| {
            let jac = late_start_jacobians(&*inst.map, &traj, t, K - t, &inst.dx0);
            LateStartCurve { t_prime: t, errors: jac.iter().map(|j| spectral_norm(&(j - &inst.dx_star))).collect() }
        })
        .collect();
    (traj.errors(&inst.x_star), curves)
}

/// Margin rows: claim id and one margin per instance.
type Rows = Vec<(String, Vec<f64>)>;

fn margin_rows() -> Rows {
    vec![
        ("thm2".to_string(), (1..40).map(|i| 10f64.powf(-(i as f64) / 3.0)).collect()),
        ("lem4".to_string(), vec![0.5, 0.25, 1.0, 1e-20, 0.0, -3.0, f64::NAN]),
        ("empty-row".to_string(), vec![]),
    ]
}

#[test]
fn error_curves_figure2_svg() {
    let (curves, b8, b19) = figure2();
    let path = out("error_curves.svg");
    figures::error_curves(&path, "Figure 2: ridge, GD", &curves, &b8, &b19).unwrap();
    let svg = read(&path);
    let k_dot = format!("k\u{307} = {}", curves.k_dot());
    let k_bar = format!("k\u{304} = {}", curves.k_bar());
    assert_svg(&svg, &["Figure 2: ridge, GD", "e_k", "ė_k", "ē_k", "bound (8)", "bound (19)", &k_dot, &k_bar]);
    // Axis captions and power-of-ten tick labels (the run spans 1e-1 … 1e2).
    let texts = text_elements(&svg);
    for t in ["k", "error", "1e-1", "1", "10", "1e2", "0", "50", "100"] {
        assert!(texts.contains(&t.to_string()), "no text element {t:?} in {texts:?}");
    }
}

#[test]
fn error_curves_without_bounds_omits_them() {
    let (curves, _, _) = figure2();
    let path = out("error_curves_nobounds.svg");
    figures::error_curves(&path, "no bounds", &curves, &[], &[]).unwrap();
    let svg = read(&path);
    assert_svg(&svg, &["no bounds", "e_k", "ė_k", "ē_k"]);
    assert!(!svg.contains("bound (8)") && !svg.contains("bound (19)"));
}

#[test]
fn error_curves_degenerate_inputs_do_not_panic() {
    let empty = ErrorCurves { e: vec![], edot: vec![], ebar: vec![] };
    let k0 = ErrorCurves { e: vec![1.0], edot: vec![0.0], ebar: vec![2.0] };
    let nan = ErrorCurves { e: vec![f64::NAN; 5], edot: vec![f64::NAN; 5], ebar: vec![f64::NAN; 5] };
    let wild = ErrorCurves {
        e: vec![1.0, 0.0, -1.0, f64::NEG_INFINITY, 1e-300],
        edot: vec![f64::INFINITY, 1e300, f64::NAN, 1.0, 1.0],
        ebar: vec![5.0; 5],
    };
    let flat = ErrorCurves { e: vec![3.0; 4], edot: vec![3.0; 4], ebar: vec![3.0; 4] };
    for (name, c, b) in [("empty", empty, vec![]), ("k0", k0, vec![1.0]), ("nan", nan, vec![f64::NAN; 5])]
        .into_iter()
        .chain([("wild", wild, vec![f64::INFINITY; 5]), ("flat", flat, vec![3.0; 4])])
    {
        let path = out(&format!("degenerate_{name}.svg"));
        figures::error_curves(&path, name, &c, &b, &b).unwrap();
        assert_svg(&read(&path), &[name, "e_k"]);
    }
}

#[test]
fn error_curves_deterministic() {
    let (curves, b8, b19) = figure2();
    let (p1, p2) = (out("det_a.svg"), out("det_b.svg"));
    figures::error_curves(&p1, "det", &curves, &b8, &b19).unwrap();
    figures::error_curves(&p2, "det", &curves, &b8, &b19).unwrap();
    assert_eq!(std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
}

#[test]
fn late_start_figure2_svg() {
    let (e, curves) = late_curves(&[0, 10, 25, 50]);
    let path = out("late_start.svg");
    figures::late_start(&path, "Late start, forward mode", &e, &curves).unwrap();
    assert_svg(&read(&path), &["Late start, forward mode", "e_k", "T' = 0", "T' = 10", "T' = 25", "T' = 50"]);
}

#[test]
fn late_start_degenerate_inputs_do_not_panic() {
    let cases: Vec<(&str, Vec<f64>, Vec<LateStartCurve>)> = vec![
        ("nothing", vec![], vec![]),
        ("no-curves", vec![1.0, 0.5], vec![]),
        ("empty-curve", vec![], vec![LateStartCurve { t_prime: 7, errors: vec![] }]),
        ("nan", vec![f64::NAN; 3], vec![LateStartCurve { t_prime: 1, errors: vec![f64::NAN, 0.0, -1.0] }]),
        (
            "many",
            vec![1.0; 3],
            (0..12).map(|t| LateStartCurve { t_prime: t, errors: vec![1.0 / (t + 1) as f64; 2] }).collect(),
        ),
    ];
    for (name, e, curves) in cases {
        let path = out(&format!("late_{name}.svg"));
        figures::late_start(&path, name, &e, &curves).unwrap();
        assert_svg(&read(&path), &[name, "e_k"]);
    }
}

#[test]
fn late_start_deterministic() {
    let (e, curves) = late_curves(&[0, 20]);
    let (p1, p2) = (out("late_det_a.svg"), out("late_det_b.svg"));
    figures::late_start(&p1, "det", &e, &curves).unwrap();
    figures::late_start(&p2, "det", &e, &curves).unwrap();
    assert_eq!(std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
}

#[test]
fn margins_svg_marks_violations() {
    let path = out("margins.svg");
    figures::margins(&path, "Margins per claim", &margin_rows()).unwrap();
    let svg = read(&path);
    assert_svg(
        &svg,
        &["Margins per claim", "thm2", "lem4", "empty-row", "margin > 0", "margin ≤ 0 (violation)", "1e-16"],
    );
    // lem4 has three non-positive margins (0, −3, NaN): three red crosses = six red lines
    // beside the legend's cross (two lines).
    let red = svg.matches(r##"stroke="#D62728""##).count();
    assert_eq!(red, 8, "expected 3 violation crosses and the legend's, found {red} red strokes");
}

#[test]
fn margins_without_violations_has_no_crosses_in_plot() {
    let rows = vec![("ok".to_string(), vec![1e-3, 0.5, 1.0])];
    let path = out("margins_ok.svg");
    figures::margins(&path, "ok", &rows).unwrap();
    // Only the legend's cross: two red line strokes.
    assert_eq!(read(&path).matches(r##"stroke="#D62728""##).count(), 2);
}

#[test]
fn margins_degenerate_inputs_do_not_panic() {
    let cases: Vec<(&str, Rows)> = vec![
        ("no-rows", vec![]),
        ("empty-rows", vec![("a".to_string(), vec![]), ("b".to_string(), vec![])]),
        ("wild", vec![("w".to_string(), vec![f64::INFINITY, f64::NEG_INFINITY, 1e300, f64::MIN_POSITIVE])]),
    ];
    for (name, rows) in cases {
        let path = out(&format!("margins_{name}.svg"));
        figures::margins(&path, name, &rows).unwrap();
        assert_svg(&read(&path), &[name, "margin > 0"]);
    }
}

#[test]
fn margins_deterministic() {
    let (p1, p2) = (out("margins_det_a.svg"), out("margins_det_b.svg"));
    figures::margins(&p1, "det", &margin_rows()).unwrap();
    figures::margins(&p2, "det", &margin_rows()).unwrap();
    assert_eq!(std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
}

#[test]
fn negative_unwritable_path_is_io_error() {
    let bad = Path::new("/proc/x/y.svg");
    let curves = ErrorCurves { e: vec![1.0, 0.5], edot: vec![0.1, 0.2], ebar: vec![0.3, 0.1] };
    let results = [
        figures::error_curves(bad, "t", &curves, &[], &[]),
        figures::late_start(bad, "t", &curves.e, &[]),
        figures::margins(bad, "t", &margin_rows()),
    ];
    for r in results {
        match r {
            Err(unrollcheck::Error::Io { path, .. }) => assert_eq!(path, "/proc/x/y.svg"),
            other => panic!("expected Error::Io, got {other:?}"),
        }
    }
}

#[test]
fn negative_path_is_a_directory() {
    let dir = out("a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    let r = figures::margins(&dir, "t", &[]);
    assert!(matches!(r, Err(unrollcheck::Error::Io { .. })), "{r:?}");
}

/// Renders the three figures of the Figure 2 instance to `/tmp/fig_*.svg` for inspection
/// (`cargo test --test figures -- --ignored render_to_tmp`).
#[test]
#[ignore = "writes to /tmp; for looking at the figures"]
fn render_to_tmp() {
    let (curves, b8, b19) = figure2();
    figures::error_curves(
        Path::new("/tmp/fig_error_curves.svg"),
        "Figure 2: ridge (M=50, N=10), gradient descent",
        &curves,
        &b8,
        &b19,
    )
    .unwrap();
    let (e, late) = late_curves(&[0, 10, 20, 40, 60]);
    figures::late_start(
        Path::new("/tmp/fig_late_start.svg"),
        "Late start, forward mode (Figure 2 instance)",
        &e,
        &late,
    )
    .unwrap();
    figures::margins(Path::new("/tmp/fig_margins.svg"), "Margins per claim", &margin_rows()).unwrap();
}
