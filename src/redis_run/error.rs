//! The errors of a Redis-mode run ([`super::run_redis_job`],
//! [`super::join_job`]): the queue's own errors ([`QueueError`]) plus what
//! only a run meets: managed servers, nodes lost, worker processes, stuck
//! units, a missed deadline, throttles. Callers that react (exit codes,
//! rows for a missed deadline) look through [`RunError::Queue`] with the
//! methods below.

use crate::faults::{FaultTally, ThrottleError};
use crate::interrupt::Interrupted;
use crate::queue::QueueError;
use crate::servers::ServerError;

/// Why a Redis-mode run failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// The work queue, the connection or the input failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The managed redis-server could not be started or died.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A node of the managed topology died without the harness doing it,
    /// and the topology cannot go on.
    #[error(
        "{node} {status} during the job, and nobody scheduled it: {why}; rerun with {keeps}. Its last log lines:\n{log_tail}"
    )]
    NodeLost {
        /// The node's name (`primary`, `replica-1`, `node-2`).
        node: String,
        /// How it ended.
        status: String,
        /// Why the job cannot go on.
        why: String,
        /// The setting that would have kept the counts.
        keeps: String,
        /// The end of its log.
        log_tail: String,
    },
    /// A worker process could not be started.
    #[error(
        "cannot start worker process {exe}: {error}; check that the harness binary is still there and executable"
    )]
    Spawn {
        /// The executable.
        exe: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// A worker process failed; its own message is included.
    #[error("worker {worker} (pid {pid}) {status}: {message}")]
    Worker {
        /// Worker index.
        worker: u32,
        /// Its process id.
        pid: u32,
        /// How it ended, e.g. "exited with code 3".
        status: String,
        /// The last lines it wrote to stderr, or what else is known.
        message: String,
    },
    /// Crashed workers left units pending that no live worker will take.
    #[error("{0}")]
    Stuck(String),
    /// The job was not done within its deadline (`deadline_s`): a liveness
    /// result, recorded as a row with `finished = false`.
    #[error("the job did not finish within its deadline of {deadline_s} s: {state}")]
    DeadlineMissed {
        /// The deadline, seconds.
        deadline_s: f64,
        /// What was left, in words.
        state: String,
        /// The scheduled faults that fired before the deadline (the row
        /// records them).
        faults_fired: FaultTally,
    },
    /// A straggler could not be throttled.
    #[error(transparent)]
    Throttle(#[from] ThrottleError),
}

impl From<Interrupted> for RunError {
    fn from(interrupted: Interrupted) -> RunError {
        RunError::Queue(interrupted.into())
    }
}

impl RunError {
    /// True when Redis went away (see [`QueueError::is_redis_gone`]).
    pub(crate) fn is_redis_gone(&self) -> bool {
        matches!(self, RunError::Queue(e) if e.is_redis_gone())
    }

    /// True when Ctrl-C (or SIGTERM) stopped the run.
    pub(crate) fn is_interrupted(&self) -> bool {
        matches!(self, RunError::Queue(QueueError::Interrupted(_)))
    }

    /// The faults that fired when the run missed its deadline; `None` for
    /// any other error.
    pub(crate) fn missed_deadline(&self) -> Option<FaultTally> {
        match self {
            RunError::DeadlineMissed { faults_fired, .. } => Some(*faults_fired),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_seen_through() {
        let gone = QueueError::Unreachable {
            url: "redis://h:1/".into(),
            error: std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into(),
        };
        let message = gone.to_string();
        let run = RunError::from(gone);
        assert!(run.is_redis_gone() && !run.is_interrupted());
        assert_eq!(run.to_string(), message, "the queue's message, unchanged");
        assert!(RunError::from(Interrupted).is_interrupted());
        let missed = RunError::DeadlineMissed {
            deadline_s: 2.0,
            state: "1 unit left".into(),
            faults_fired: FaultTally::default(),
        };
        assert_eq!(missed.missed_deadline(), Some(FaultTally::default()));
        assert_eq!(
            missed.to_string(),
            "the job did not finish within its deadline of 2 s: 1 unit left"
        );
        assert!(RunError::Stuck("x".into()).missed_deadline().is_none());
    }
}
