use std::time::Instant;
use unrollcheck::claims::{self, Case, Config};
use unrollcheck::spec::Spec;
fn main() {
    let spec: Spec = serde_json::from_str(&std::env::args().nth(1).unwrap()).unwrap();
    let cfg = Config::default();
    let t = Instant::now();
    let case = Case::from_spec(&spec, &cfg).unwrap();
    println!("build {:?} K={}", t.elapsed(), case.k);
    let t = Instant::now();
    case.run();
    println!("run {:?}", t.elapsed());
    for c in claims::all() {
        for v in c.variants {
            let t = Instant::now();
            let _ = claims::check(c.id, v.name, &case, &cfg);
            println!("{:<22} {:<20} {:?}", c.id, v.name, t.elapsed());
        }
    }
}
