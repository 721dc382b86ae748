//! Ctrl-C handling: the first Ctrl-C (SIGINT/SIGTERM) sets a flag that
//! long-running loops poll, so they return an error, every guard drops, and
//! each child process (workers, redis-server) is killed and reaped on the
//! way out. A second Ctrl-C exits at once, after running the cleanups
//! registered with [`on_forced_exit`] (objects no process death removes,
//! such as network namespaces).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

type Cleanup = Box<dyn Fn() + Send>;
static CLEANUPS: Mutex<Vec<(u64, Cleanup)>> = Mutex::new(Vec::new());
static NEXT_CLEANUP: AtomicU64 = AtomicU64::new(0);

/// Keeps a cleanup registered with [`on_forced_exit`]; dropping it
/// unregisters it (the owner cleaned up the normal way).
#[derive(Debug)]
pub struct CleanupGuard(u64);

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        if let Ok(mut list) = CLEANUPS.lock() {
            list.retain(|(id, _)| *id != self.0);
        }
    }
}

/// Runs `cleanup` if a second Ctrl-C exits the process at once (guards
/// are not dropped then), until the returned guard is dropped.
pub fn on_forced_exit(cleanup: impl Fn() + Send + 'static) -> CleanupGuard {
    let id = NEXT_CLEANUP.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut list) = CLEANUPS.lock() {
        list.push((id, Box::new(cleanup)));
    }
    CleanupGuard(id)
}

fn run_forced_cleanups() {
    if let Ok(list) = CLEANUPS.try_lock() {
        for (_, cleanup) in list.iter() {
            cleanup();
        }
    }
}

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
                run_forced_cleanups();
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
