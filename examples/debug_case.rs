use unrollcheck::claims::{Case, Config};
use unrollcheck::linalg::spectral_norm;
use unrollcheck::map::FixedPointMap;
use unrollcheck::spec::Spec;
fn main() {
    let spec: Spec = serde_json::from_str(&std::env::args().nth(1).unwrap()).unwrap();
    let cfg = Config { k_max: 150, ..Config::default() };
    let case = Case::from_spec(&spec, &cfg).unwrap();
    let c = &case.inst.constants;
    println!(
        "rho {:?}\nmu/gamma {:?} {:?} xerr {:e} e0 {:e} K {}",
        c.map.rho,
        c.gamma,
        c.gamma_sharp,
        case.inst.x_star_error,
        case.inst.e0(),
        case.k
    );
    let run = case.run();
    for k in [0, 1, 2, 5, 10, 20, 25, 30] {
        let b = case.inst.map.d_x(run.traj.x(k));
        println!("k {k} e {:e} edot {:e} |B_k| {:.12}", run.curves.e[k], run.curves.edot[k], spectral_norm(&b));
    }
}
