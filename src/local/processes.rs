//! `processes` mode: p worker OS processes (this binary re-invoked with the
//! hidden `local-worker` subcommand). One parent thread per worker hands it
//! units over its stdin, one at a time, from a shared queue; each worker
//! sends back its partial counts at the end, which the parent merges.
//! Every worker's table hashes with seeds the parent hands out, so the
//! merge walks memory in order.

use std::io::{BufReader, BufWriter, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::wire;
use super::{LocalOutcome, Partial, join_all, largest_first, merge_partials};
use crate::input::{Unit, count_unit};
use crate::words::{SharedFile, TableSeeds, Tally, Tokenizer, WordCounts};

/// Why a `processes` run failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LocalWorkerError {
    /// The worker process could not be started.
    #[error(
        "cannot start worker process {exe}: {source}; check that the harness binary is still there and executable"
    )]
    Spawn {
        /// The executable.
        exe: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A worker reported an error (e.g. a file became unreadable).
    #[error("worker {worker} failed: {message}")]
    Reported {
        /// Worker index.
        worker: usize,
        /// Its message.
        message: String,
    },
    /// A worker died or broke the protocol.
    #[error(
        "worker {worker} (pid {pid}) stopped unexpectedly ({detail}); rerun, and check `dmesg` for an out-of-memory kill"
    )]
    Lost {
        /// Worker index.
        worker: usize,
        /// Its process id.
        pid: u32,
        /// What was seen.
        detail: String,
    },
}

/// A worker process, and the shared-memory file its word table grows in
/// (`None` where memfds are not available: the table then comes through
/// the pipe). Kills and reaps the process when dropped, unless it already
/// exited.
struct WorkerChild {
    child: Child,
    table_file: Option<OwnedFd>,
}

impl Drop for WorkerChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Units handed to a worker ahead of its replies: two, so the next unit is
/// always waiting when it finishes one (with the small last units of an
/// automatic plan, a unit queued behind a busy worker costs little).
const UNITS_IN_FLIGHT: usize = 2;

/// The descriptor number a worker finds its table file at.
const TABLE_FD: i32 = 3;

/// Starts one worker: `exe local-worker`, stdin and stdout piped, and a new
/// memfd passed as descriptor 3 for its table.
fn spawn_worker(exe: &Path, tokenizer: Tokenizer) -> Result<WorkerChild, LocalWorkerError> {
    let table_file = SharedFile::create().ok();
    let mut command = Command::new(exe);
    command
        .args(["local-worker", "--tokenizer", tokenizer.name()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(file) = &table_file {
        let raw = file.as_raw_fd();
        command.args(["--table-fd", &TABLE_FD.to_string()]);
        // SAFETY: runs in the forked child before exec and only calls the
        // async-signal-safe dup2/fcntl. The memfd is close-on-exec; its
        // copy at descriptor 3 is not, so the worker (and no other child)
        // inherits it.
        unsafe {
            command.pre_exec(move || {
                let result = if raw == TABLE_FD {
                    libc::fcntl(TABLE_FD, libc::F_SETFD, 0)
                } else {
                    libc::dup2(raw, TABLE_FD)
                };
                if result == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let child = command.spawn().map_err(|source| LocalWorkerError::Spawn {
        exe: exe.display().to_string(),
        source,
    })?;
    Ok(WorkerChild { child, table_file })
}

/// Started worker processes, waiting for their units. Starting them before
/// the inputs are planned lets them load meanwhile. Dropping them unused
/// kills them.
pub(crate) struct LocalWorkers {
    children: Vec<WorkerChild>,
}

impl LocalWorkers {
    /// Starts `workers` (at least 1) processes running `exe local-worker`.
    pub(crate) fn spawn(
        exe: &Path,
        tokenizer: Tokenizer,
        workers: usize,
    ) -> Result<LocalWorkers, LocalWorkerError> {
        let children = (0..workers.max(1))
            .map(|_| spawn_worker(exe, tokenizer))
            .collect::<Result<_, _>>()?;
        Ok(LocalWorkers { children })
    }

    /// Hands out `units` (largest first, two in flight per worker) and
    /// merges what the workers counted.
    pub(crate) fn count(mut self, units: &[Unit]) -> Result<LocalOutcome, LocalWorkerError> {
        let ordered = largest_first(units);
        let next = AtomicUsize::new(0);
        let seeds = TableSeeds::random();
        let started = Instant::now();
        let results: Vec<Result<Partial, LocalWorkerError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .children
                .iter_mut()
                .enumerate()
                .map(|(worker, WorkerChild { child, table_file })| {
                    let (ordered, next) = (&ordered, &next);
                    let table_file = table_file.as_ref().map(|fd| fd.as_fd());
                    scope.spawn(move || {
                        drive_worker(worker, child, table_file, seeds, ordered, next)
                    })
                })
                .collect();
            join_all(handles)
        });
        let count_s = started.elapsed().as_secs_f64();
        // Merge first: the workers have sent everything and exit meanwhile.
        let outcome = merge_partials(results, count_s);
        drop(self);
        outcome
    }
}

/// Feeds one worker until the queue is empty, then collects its counts.
fn drive_worker(
    worker: usize,
    child: &mut Child,
    table_file: Option<BorrowedFd<'_>>,
    seeds: TableSeeds,
    ordered: &[Unit],
    next: &AtomicUsize,
) -> Result<Partial, LocalWorkerError> {
    let pid = child.id();
    let lost = |detail: String| LocalWorkerError::Lost {
        worker,
        pid,
        detail,
    };
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(lost("its pipes were not set up".into()));
    };
    let mut to_worker: BufWriter<ChildStdin> = BufWriter::new(stdin);
    let mut from_worker: BufReader<ChildStdout> = BufReader::with_capacity(1 << 20, stdout);
    wire::write_seeds(&mut to_worker, seeds).map_err(|e| lost(format!("writing to it: {e}")))?;
    let mut done = 0u64;
    let mut in_flight = 0usize;
    let mut ended = false;
    loop {
        // Keep UNITS_IN_FLIGHT units queued in the worker's stdin, so it
        // starts the next one without waiting a round trip for it.
        while !ended && in_flight < UNITS_IN_FLIGHT {
            let sent = match ordered.get(next.fetch_add(1, Ordering::Relaxed)) {
                Some(unit) => {
                    in_flight += 1;
                    wire::write_unit(&mut to_worker, unit)
                }
                None => {
                    ended = true;
                    wire::write_end(&mut to_worker)
                }
            };
            sent.map_err(|e| lost(format!("writing to it: {e}")))?;
        }
        if in_flight == 0 {
            break;
        }
        match wire::read_byte(&mut from_worker)
            .map_err(|e| lost(format!("reading from it: {e}")))?
        {
            wire::DONE => {
                done += 1;
                in_flight -= 1;
            }
            wire::FAILED => return Err(reported(worker, &mut from_worker)),
            other => return Err(lost(format!("unexpected reply byte {other}"))),
        }
    }
    match wire::read_byte(&mut from_worker).map_err(|e| lost(format!("reading its result: {e}")))? {
        wire::RESULT => {}
        wire::FAILED => return Err(reported(worker, &mut from_worker)),
        other => return Err(lost(format!("unexpected reply byte {other}"))),
    }
    let tally =
        wire::read_tally(&mut from_worker).map_err(|e| lost(format!("reading its tally: {e}")))?;
    let counts = WordCounts::read_handoff(&mut from_worker, table_file)
        .map_err(|e| lost(format!("reading its counts: {e}")))?;
    Ok((counts, tally, done))
}

fn reported(worker: usize, from_worker: &mut impl std::io::Read) -> LocalWorkerError {
    let message =
        wire::read_message(from_worker).unwrap_or_else(|e| format!("(its message was lost: {e})"));
    LocalWorkerError::Reported { worker, message }
}

/// The worker side: reads units from stdin until the end marker, counting
/// each, and writes the protocol replies to stdout. Returns an error only
/// when the pipes themselves fail (the parent went away).
///
/// `table_fd` is the descriptor of the shared-memory file the parent
/// passed for the word table; without it the table is sent through stdout.
pub(crate) fn serve_local_worker(
    tokenizer: Tokenizer,
    table_fd: Option<i32>,
) -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut output = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut counts = WordCounts::with_seeds(wire::read_seeds(&mut input)?);
    if let Some(fd) = table_fd {
        // SAFETY: F_GETFD only inspects the descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            return Err(std::io::Error::other(format!(
                "--table-fd {fd} is not an open descriptor"
            )));
        }
        // SAFETY: the descriptor is open (checked above) and was handed to
        // this process for this table alone; nothing else owns it.
        let file = unsafe { OwnedFd::from_raw_fd(fd) };
        counts.share_through(SharedFile::new(file));
    }
    let mut tally = Tally::default();
    while let Some(unit) = wire::read_unit(&mut input)? {
        match count_unit(&unit, tokenizer, &mut counts) {
            Ok(unit_tally) => tally.add(unit_tally),
            Err(e) => {
                output.write_all(&[wire::FAILED])?;
                return wire::write_message(&mut output, &e.to_string());
            }
        }
        output.write_all(&[wire::DONE])?;
        output.flush()?;
    }
    output.write_all(&[wire::RESULT])?;
    wire::write_tally(&mut output, tally)?;
    counts.write_handoff(&mut output)
}
