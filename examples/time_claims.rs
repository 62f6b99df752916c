//! Times every claim and variant on one instance spec (JSON), to find slow checks:
//! `cargo run --release --example time_claims -- '<spec JSON>'`.

use std::time::Instant;
use unrollcheck::claims::{self, Case, Config};
use unrollcheck::spec::Spec;
fn main() {
    let Some(arg) = std::env::args().nth(1) else {
        eprintln!("usage: time_claims '<spec JSON>'");
        std::process::exit(2);
    };
    let spec: Spec = match serde_json::from_str(&arg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("spec: {e}");
            std::process::exit(2);
        }
    };
    let cfg = Config::default();
    let t = Instant::now();
    let case = match Case::from_spec(&spec, &cfg) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("spec: {e}");
            std::process::exit(2);
        }
    };
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
