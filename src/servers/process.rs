//! A child server process with its log, killed and reaped when dropped.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use super::ServerError;

/// How many trailing log lines error messages include.
const LOG_TAIL_LINES: usize = 20;

/// A running child process whose stderr goes to the same log file the server
/// writes, so startup errors printed before the log is opened are kept too.
///
/// Dropping it sends SIGKILL and reaps the child.
#[derive(Debug)]
pub(super) struct ServerProcess {
    child: Child,
    log: PathBuf,
    /// Length of the log when this process started: its own lines follow.
    log_start: u64,
}

impl ServerProcess {
    /// Starts `binary` with `args`, stdin and stdout null, stderr appended to `log`.
    ///
    /// On Linux the child gets SIGKILL when the thread that spawned it exits
    /// (`PR_SET_PDEATHSIG`), which covers the harness being killed.
    pub(super) fn spawn(binary: &Path, args: &[OsString], log: &Path) -> Result<Self, ServerError> {
        let io_error = |what: String| move |source| ServerError::Io { what, source };
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io_error(format!("opening log file {}", log.display())))?;
        let log_start = stderr
            .metadata()
            .map_err(io_error(format!("reading the size of {}", log.display())))?
            .len();
        let mut command = Command::new(binary);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        #[cfg(target_os = "linux")]
        die_with_parent(&mut command);
        let child = command
            .spawn()
            .map_err(io_error(format!("starting {}", binary.display())))?;
        Ok(Self {
            child,
            log: log.to_path_buf(),
            log_start,
        })
    }

    /// The child's process id.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` if the child has exited (reaping it), `None` while it runs.
    pub(super) fn exit_status(&mut self) -> Result<Option<ExitStatus>, ServerError> {
        self.child.try_wait().map_err(|source| ServerError::Io {
            what: format!("checking on process {}", self.pid()),
            source,
        })
    }

    /// Sends SIGKILL (a no-op if the child already exited) and reaps the child.
    pub(super) fn kill9(&mut self) -> Result<(), ServerError> {
        self.child
            .kill()
            .and_then(|()| self.child.wait())
            .map(|_status| ())
            .map_err(|source| ServerError::Io {
                what: format!("killing process {}", self.child.id()),
                source,
            })
    }

    /// The last lines this process wrote to its log, or why they could not be read.
    pub(super) fn log_tail(&self) -> String {
        match self.read_own_log() {
            Ok(text) if text.trim().is_empty() => "(nothing was logged)".to_owned(),
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
            }
            Err(err) => format!("(could not read {}: {err})", self.log.display()),
        }
    }

    fn read_own_log(&self) -> io::Result<String> {
        let mut file = fs::File::open(&self.log)?;
        file.seek(SeekFrom::Start(self.log_start))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Nothing more can be done about a failed kill while dropping.
        let _ = self.kill9();
    }
}

/// Makes the child receive SIGKILL when its parent dies, so a SIGKILLed
/// harness does not leave servers behind.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;

    let parent = std::process::id();
    // SAFETY: the hook runs between fork and exec and only makes
    // async-signal-safe system calls (prctl, getppid); it does not allocate.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before the signal was armed.
            if u32::try_from(libc::getppid()) != Ok(parent) {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}
