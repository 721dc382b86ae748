//! Ctrl-C handling: the first Ctrl-C (SIGINT/SIGTERM) sets a flag that
//! long-running loops poll, so they return an error, every guard drops, and
//! each child process (workers, redis-server) is killed and reaped on the
//! way out. A second Ctrl-C exits at once, after running the cleanups
//! registered with [`on_forced_exit`] (objects no process death removes,
//! such as network namespaces). The process then exits with the shell's
//! code for the signal ([`exit_code`]): 130 for SIGINT, 143 for SIGTERM.
//!
//! The signal handler only writes the signal's number into a pipe (the
//! one async-signal-safe thing it does); a thread reads the pipe and does
//! the rest.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// The first signal received (0: none yet).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The write end of the self-pipe (-1 until installed).
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

type Cleanup = Box<dyn Fn() + Send>;
static CLEANUPS: Mutex<Vec<(u64, Cleanup)>> = Mutex::new(Vec::new());
static NEXT_CLEANUP: AtomicU64 = AtomicU64::new(0);

/// Keeps a cleanup registered with [`on_forced_exit`]; dropping it
/// unregisters it (the owner cleaned up the normal way).
#[derive(Debug)]
pub(crate) struct CleanupGuard(u64);

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        if let Ok(mut list) = CLEANUPS.lock() {
            list.retain(|(id, _)| *id != self.0);
        }
    }
}

/// Runs `cleanup` if a second Ctrl-C exits the process at once (guards
/// are not dropped then), until the returned guard is dropped.
pub(crate) fn on_forced_exit(cleanup: impl Fn() + Send + 'static) -> CleanupGuard {
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

/// The error returned by loops that stop because of Ctrl-C or SIGTERM.
/// (`harness run` adds that its rows are kept and a rerun resumes.)
#[derive(Debug, thiserror::Error)]
#[error("interrupted (Ctrl-C or SIGTERM): stopped cleanly")]
pub struct Interrupted;

/// The exit code after an interrupt: 128 + the signal's number, as the
/// shell reports a process that a signal ended (130 when none was seen).
pub(crate) fn exit_code() -> i32 {
    crate::exit_code::interrupted(SIGNAL.load(Ordering::SeqCst))
}

extern "C" fn on_signal(signal: libc::c_int) {
    let byte = signal as u8;
    let fd = PIPE_WRITE.load(Ordering::Relaxed);
    // SAFETY: write(2) is async-signal-safe; one byte from a live local.
    unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
}

/// Installs the handler for SIGINT and SIGTERM (once per process; later
/// calls do nothing).
pub(crate) fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into `fds`.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            eprintln!(
                "warning: cannot watch for Ctrl-C: {}",
                std::io::Error::last_os_error()
            );
            return;
        }
        PIPE_WRITE.store(fds[1], Ordering::SeqCst);
        let read_fd = fds[0];
        let spawned = std::thread::Builder::new()
            .name("interrupt".into())
            .spawn(move || {
                loop {
                    let mut byte = 0u8;
                    // SAFETY: reads one byte into a live local.
                    let n = unsafe { libc::read(read_fd, (&raw mut byte).cast(), 1) };
                    if n != 1 {
                        if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                        {
                            continue;
                        }
                        return;
                    }
                    let _ = SIGNAL.compare_exchange(
                        0,
                        i32::from(byte),
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    if REQUESTED.swap(true, Ordering::SeqCst) {
                        eprintln!("second interrupt: exiting now");
                        run_forced_cleanups();
                        std::process::exit(exit_code());
                    }
                    eprintln!("interrupt: stopping cleanly (Ctrl-C again to exit at once)");
                }
            });
        if spawned.is_err() {
            return;
        }
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: an all-zero sigaction is valid; the handler only writes to a pipe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// True once Ctrl-C was pressed.
pub(crate) fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// `Err(Interrupted)` once Ctrl-C was pressed.
pub(crate) fn check() -> Result<(), Interrupted> {
    if requested() {
        Err(Interrupted)
    } else {
        Ok(())
    }
}
