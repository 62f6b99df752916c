//! The memory estimates of `gate check` (`gate::check::reference_bytes`,
//! `gate::check::simulation_bytes`) bound the bytes it allocates judging one instance.
//!
//! A peak-tracking global allocator (`tests/support/peak_alloc.rs`) measures the largest
//! number of bytes live at once while `gate check` judges one instance of a long horizon
//! (`K = 2000`, truncated: `K' = 3200`) with a trace that fails every array (every cause
//! simulated, the fits of `α` and `β` included): `reference_bytes + simulation_bytes` must
//! bound the peak. Control: the peak is above `reference_bytes` alone, so the simulations'
//! share is measured, not vacuous.

#[path = "support/peak_alloc.rs"]
mod peak_alloc;
use peak_alloc::measure;
use std::path::Path;
use unrollcheck::gate::check::{Selection, reference_bytes, run, simulation_bytes};
use unrollcheck::gate::export::{Entry, default_set, export_with_horizon};
use unrollcheck::gate::npz::{self, Npz};

/// Writes a trace of `e` with every derivative 0 and the iterates constant at `x_0` (every
/// array but the first row of `x` fails).
fn zero_trace(inst: &Path, traces: &Path, e: &Entry) {
    let x0 = Npz::read(&inst.join(&e.file)).unwrap().raw("x0").unwrap().data.clone();
    let rows = e.k_prime - e.t_prime + 1;
    let x: Vec<f64> = (0..=e.k_prime).flat_map(|_| x0.iter().copied()).collect();
    let arrays = vec![
        ("x", vec![e.k_prime + 1, e.n], x),
        ("jvp", vec![rows, e.n], vec![0.0; rows * e.n]),
        ("vjp", vec![rows, e.p], vec![0.0; rows * e.p]),
        ("jvp_final", vec![e.n], vec![0.0; e.n]),
        ("vjp_final", vec![e.p], vec![0.0; e.p]),
    ];
    npz::write(&traces.join(&e.trace.file), &arrays).unwrap();
}

#[test]
fn the_estimates_bound_the_peak_of_gate_check() {
    let d = std::env::temp_dir().join(format!("unrollcheck-gate-memory-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let (inst, traces) = (d.join("instances"), d.join("traces"));
    std::fs::create_dir_all(&traces).unwrap();
    let m = export_with_horizon(&default_set(2026), &inst, 2000).unwrap();
    // Gradient descent with p = 1, and heavy-ball on ridge data (n = 6, p = 24), truncated.
    for id in
        ["01_gd_ridge_weight_truncated", "07_heavy_ball_ridge_targets_truncated", "11_heavy_ball_ridge_data_truncated"]
    {
        let e = m.instances.iter().find(|e| e.id == id).unwrap_or_else(|| panic!("{id}"));
        zero_trace(&inst, &traces, e);
        let sel = Selection { only: Some(vec![id.to_string()]), ..Selection::default() };
        let (peak, report) = measure(|| run(&inst, &traces, &sel));
        let o = &report.outcomes[0];
        assert!(o.failed() && o.error.is_none(), "{id}: {}", o.first_failure());
        assert!(o.cause_not_simulated.is_none(), "{id}: the causes are simulated");
        let (base, sims) = (reference_bytes(e), simulation_bytes(e));
        let peak = peak as f64;
        println!("{id}: peak {peak:.0} bytes, estimate {base:.0} + {sims:.0} ({:.2}×)", (base + sims) / peak);
        assert!(
            peak <= base + sims,
            "{id}: the measured peak {peak:.0} bytes is above the estimate {:.0}: the model of reference_bytes + \
             simulation_bytes misses an allocation",
            base + sims
        );
        assert!(peak > base, "control, {id}: the simulations' share is measured ({peak:.0} > {base:.0})");
        std::fs::remove_file(traces.join(&e.trace.file)).unwrap();
    }
    let _ = std::fs::remove_dir_all(&d);
}
