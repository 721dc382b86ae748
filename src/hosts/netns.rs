//! Running code inside a network namespace without a new process: a
//! thread that enters the namespace (`setns`) runs the closure; sockets it
//! creates belong to that namespace.

use std::fs::File;
use std::os::fd::AsRawFd;

use super::HostsError;

/// Runs `work` on a new thread inside network namespace `ns` (a name from
/// `ip netns list`) and returns its result.
pub(crate) fn in_namespace<T: Send + 'static>(
    ns: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, HostsError> {
    let path = format!("/run/netns/{ns}");
    let file = File::open(&path).map_err(|e| HostsError::Failed {
        command: format!("open {path}"),
        stderr: e.to_string(),
    })?;
    let ns = ns.to_owned();
    std::thread::spawn(move || {
        // SAFETY: setns on a valid namespace fd changes only this thread's
        // network namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(HostsError::Failed {
                command: format!("setns into {ns}"),
                stderr: std::io::Error::last_os_error().to_string(),
            });
        }
        Ok(work())
    })
    .join()
    .map_err(|_| HostsError::BadOptions("a thread inside a namespace panicked".into()))?
}
