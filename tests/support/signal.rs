//! Interrupting a spawned `unrollcheck` at a chosen moment (the interrupt tests of
//! `tests/safety.rs` and `tests/gate.rs`).

use std::process::{Child, Command, ExitStatus};

/// Gives `cmd`'s process the default disposition of SIGINT, SIGTERM and SIGHUP. A test run
/// started in the background by a non-interactive shell (`cargo test &`, `nohup … &`)
/// inherits SIGINT ignored, and the tool rightly leaves a signal its caller ignores ignored
/// (`tests/safety.rs`, `a_signal_the_caller_ignores_stays_ignored`): the interrupt tests
/// would then see the run finish with 0.
pub fn default_signals(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec only `signal(2)`, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                if libc::signal(s, libc::SIG_DFL) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        })
    }
}

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
