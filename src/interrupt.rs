//! Ctrl-C handling: the first Ctrl-C (SIGINT/SIGTERM) sets a flag that
//! long-running loops poll, so they return an error, every guard drops, and
//! each child process (workers, redis-server) is killed and reaped on the
//! way out. A second Ctrl-C exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// The error returned by loops that stop because of Ctrl-C.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted (Ctrl-C or SIGTERM): stopped cleanly; rows already written are kept, rerun to resume"
)]
pub struct Interrupted;

/// Installs the handler (once per process; later calls do nothing).
pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                eprintln!("second interrupt: exiting now");
                std::process::exit(130);
            }
            eprintln!("interrupt: stopping cleanly (Ctrl-C again to exit at once)");
        });
    });
}

/// True once Ctrl-C was pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// `Err(Interrupted)` once Ctrl-C was pressed.
pub fn check() -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}
