//! `processes` mode: p worker OS processes (this binary re-invoked with the
//! hidden `local-worker` subcommand). One parent thread per worker hands it
//! units over its stdin, one at a time, from a shared queue; each worker
//! sends back its partial counts at the end, which the parent merges.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::wire;
use super::{LocalOutcome, Partial, join_all, largest_first, merge_partials};
use crate::input::{Unit, count_unit};
use crate::words::{Tally, Tokenizer, WordCounts};

/// Why a `processes` run failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalWorkerError {
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

/// Kills and reaps a worker process when dropped, unless it already exited.
struct WorkerChild(Child);

impl Drop for WorkerChild {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Counts `units` with `workers` processes running `exe local-worker`.
pub fn run_processes(
    exe: &Path,
    units: &[Unit],
    tokenizer: Tokenizer,
    workers: usize,
) -> Result<LocalOutcome, LocalWorkerError> {
    let ordered = largest_first(units);
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let mut children = Vec::with_capacity(workers);
    for _ in 0..workers.max(1) {
        let child = Command::new(exe)
            .args(["local-worker", "--tokenizer", tokenizer.name()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| LocalWorkerError::Spawn {
                exe: exe.display().to_string(),
                source,
            })?;
        children.push(WorkerChild(child));
    }
    let results: Vec<Result<Partial, LocalWorkerError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = children
            .iter_mut()
            .enumerate()
            .map(|(worker, child)| {
                let (ordered, next) = (&ordered, &next);
                scope.spawn(move || drive_worker(worker, &mut child.0, ordered, next))
            })
            .collect();
        join_all(handles)
    });
    let count_s = started.elapsed().as_secs_f64();
    drop(children);
    merge_partials(results, count_s)
}

/// Feeds one worker until the queue is empty, then collects its counts.
fn drive_worker(
    worker: usize,
    child: &mut Child,
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
    let mut done = 0u64;
    loop {
        match ordered.get(next.fetch_add(1, Ordering::Relaxed)) {
            Some(unit) => wire::write_unit(&mut to_worker, unit)
                .map_err(|e| lost(format!("writing to it: {e}")))?,
            None => {
                wire::write_end(&mut to_worker).map_err(|e| lost(format!("writing to it: {e}")))?;
                break;
            }
        }
        match wire::read_byte(&mut from_worker)
            .map_err(|e| lost(format!("reading from it: {e}")))?
        {
            wire::DONE => done += 1,
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
    let counts = WordCounts::read_raw(&mut from_worker)
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
pub fn serve_local_worker(tokenizer: Tokenizer) -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut output = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut counts = WordCounts::new();
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
    counts.write_raw(&mut output)
}
