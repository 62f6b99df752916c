//! Interruption (SIGINT, SIGTERM, SIGHUP) without half-written output.
//!
//! Every writer builds its output in a temporary directory `OUT/.<name>.tmp-<pid>-…` and
//! renames it into place (`report::write_dir`). This module keeps the registry of the
//! temporary directories this process created and has not yet renamed, behind one lock:
//!
//! - a writer creates and registers a temporary directory under the lock, and runs the
//!   rename section (the old report renamed aside, the new one into place, the old one
//!   removed) under the lock from start to end; a figure creates its directory under the
//!   lock too, so that a directory the handler removed is never made anew;
//! - the signal handler ([`install`]) takes the same lock, so it waits for a rename section
//!   to finish (leaving either the old report or the new one, complete, never neither),
//!   removes the registered directories (those only: never anything this process did not
//!   create) and ends the process with exit code 128 + the signal's number (130 for
//!   SIGINT, 143 for SIGTERM, 129 for SIGHUP) while still holding the lock, so that no
//!   writer renames anything after the clean-up.
//!
//! A process killed by SIGKILL (or a power cut) cannot clean up: its `.<name>.tmp-…` (and,
//! killed inside the rename section, `.<name>.old-…`) stay. A later run does not remove
//! them, since nothing proves them abandoned: `--out` may be shared between machines (a
//! Slurm array on a network file system, where the pid is another host's), pids are
//! reused, and another run writing into the same `--out` has its own temporary directory
//! in flight. It names them on stderr instead (`leftovers`).
//!
//! The JUnit file of `gate check --junit` is written the same way, as one temporary file
//! `.<file name>.tmp-<pid>-…` beside it, registered here and renamed under the lock.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Set by the handler when a signal arrived, before it waits for the lock.
static PENDING: AtomicBool = AtomicBool::new(false);

/// The temporary directories (and the one temporary file of `gate check --junit`) this
/// process created and has not renamed or removed yet.
static OWNED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The registry, locked: held by a writer while it creates a temporary directory and
/// through its rename section, and by the signal handler until the process ends.
pub(crate) fn lock() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the lock was held leaves the list as consistent as ever (pushes and
    // removals of whole paths): keep using it.
    OWNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes `path` from the registry (it was renamed into place or removed).
pub(crate) fn forget(owned: &mut Vec<PathBuf>, path: &Path) {
    owned.retain(|p| p != path);
}

/// Called by a writer after its rename section, with the lock released: when a signal
/// arrived meanwhile, waits for the handler to end the process (instead of going on, and
/// perhaps ending with another exit code first).
pub(crate) fn stop_if_interrupted() {
    if PENDING.load(Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
}

/// Installs the handler of SIGINT, SIGTERM and SIGHUP (once; the binary calls it first
/// thing): on a signal, the temporary directories of this process are removed and the
/// process ends with exit code 128 + the signal's number. A signal the caller set to be
/// ignored (`nohup` ignores SIGHUP, a shell ignores SIGINT for a job started with `&`)
/// stays ignored. Without it (a library user that does not call it) a signal ends the
/// process as it would anyway, and an interrupted writer leaves its `.<name>.tmp-…` behind.
#[cfg(unix)]
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let handled: Vec<i32> = [SIGINT, SIGTERM, SIGHUP].into_iter().filter(|&s| !ignored(s)).collect();
    let mut signals = signal_hook::iterator::Signals::new(handled)?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            clean_up_and_exit(signal)
        }
    })?;
    Ok(())
}

/// `true` when `signal` is set to be ignored (inherited from the caller).
#[cfg(unix)]
fn ignored(signal: i32) -> bool {
    let mut current = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: with a null new action, `sigaction` only writes the current action of
    // `signal` into `current`, which is valid, zeroed memory of its type.
    let read = unsafe { libc::sigaction(signal, std::ptr::null(), current.as_mut_ptr()) };
    // SAFETY: `sigaction` succeeded, so it filled `current` (and zeroed memory is a valid
    // `sigaction` anyway).
    read == 0 && unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN
}

/// Not on this platform: a signal ends the process as it would anyway.
#[cfg(not(unix))]
pub fn install() -> std::io::Result<()> {
    Ok(())
}

/// Waits for a rename section to end, removes this process's temporary directories and
/// exits with 128 + `signal`, holding the lock to the end.
#[cfg(unix)]
fn clean_up_and_exit(signal: i32) -> ! {
    PENDING.store(true, Ordering::SeqCst);
    let owned = lock();
    for path in owned.iter() {
        // A writer may be adding a file to it meanwhile (then the last `rmdir` fails); once
        // it is gone nothing makes it anew (files are not created in a missing directory,
        // and figures create directories under the lock held here), so this ends.
        for _ in 0..1000 {
            let removed = match std::fs::symlink_metadata(path) {
                Err(_) => true,
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).is_ok(),
                Ok(_) => std::fs::remove_file(path).is_ok(), // a temporary file (`gate check --junit`)
            };
            if removed {
                break;
            }
        }
    }
    eprintln!("unrollcheck: interrupted (signal {signal}); no report was left half-written");
    std::process::exit(128 + signal)
}

/// The entries of `out` that an earlier writer of `out/<name>` left when it was killed
/// before it could clean up (`.<name>.tmp-…`, `.<name>.old-…`), or that another run
/// writing there now has in flight, except this process's own; sorted.
pub(crate) fn leftovers(out: &Path, name: &str) -> Vec<PathBuf> {
    let own = std::process::id().to_string();
    let mut found: Vec<PathBuf> = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let file = e.file_name();
            let Some(file) = file.to_str() else { return false };
            ["tmp", "old"].iter().any(|what| {
                file.strip_prefix(&format!(".{name}.{what}-"))
                    .is_some_and(|rest| rest.split('-').next() != Some(own.as_str()))
            })
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}
