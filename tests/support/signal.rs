//! Interrupting a spawned `unrollcheck` at a chosen moment (the interrupt tests of
//! `tests/safety.rs` and `tests/gate.rs`).

use std::process::{Child, Command, ExitStatus};

/// Waits for `child` to end (at most 60 s), sending it `kill -<signal>` (`INT`, `TERM`)
/// once, as soon as `ready()` holds (polled every 0.2 ms); returns how it ended and whether
/// the signal was sent.
pub fn signal_when(child: &mut Child, signal: &str, mut ready: impl FnMut() -> bool) -> (ExitStatus, bool) {
    let started = std::time::Instant::now();
    let mut sent = false;
    while child.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 60 {
        if !sent && ready() {
            let kill = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
            assert!(kill.success(), "kill -{signal} failed");
            sent = true;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    (child.wait().unwrap(), sent)
}
