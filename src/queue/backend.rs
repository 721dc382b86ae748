//! The work-queue backend seam: [`QueueBackend`] names a backend (the run
//! parameter `queue`), [`JobQueue`] is the one place that turns the name
//! into the backend's queue. Everything outside `queue` holds a
//! [`JobQueue`] and never names [`StreamQueue`] or [`LeaseQueue`].

use std::fmt;
use std::str::FromStr;

use redis::Connection;

use super::WorkQueue;
use super::commit::{CommitPath, CommitStats};
use super::connection::Endpoint;
use super::error::QueueError;
use super::keys::JobKeys;
use super::lease::LeaseQueue;
use super::merge::MergeTarget;
use super::message::Taken;
use super::stream::StreamQueue;
use crate::input::Unit;
use crate::words::WordCounts;

/// Which work-queue backend a job uses.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum QueueBackend {
    /// Redis Streams with a consumer group (`XREADGROUP`, `XAUTOCLAIM`, `XACK`).
    #[default]
    Stream,
    /// Leases in a sorted set and Redis Functions (`FCALL`): the commands
    /// RedisRaft supports; every commit is atomic.
    Lease,
}

impl QueueBackend {
    /// The name in flags, TOML and CSV.
    pub(crate) fn name(self) -> &'static str {
        match self {
            QueueBackend::Stream => "stream",
            QueueBackend::Lease => "lease",
        }
    }
}

impl fmt::Display for QueueBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for QueueBackend {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "stream" | "streams" => Ok(QueueBackend::Stream),
            "lease" => Ok(QueueBackend::Lease),
            other => Err(format!("unknown queue {other:?}: use stream or lease")),
        }
    }
}

/// `each_backend!(self, queue => EXPR)`: EXPR with `queue` bound to the
/// backend's queue, whichever it is; the one place that forwards a call
/// to every backend (a new backend is one arm here and in [`JobQueue`]).
macro_rules! each_backend {
    ($self:expr, $queue:ident => $call:expr) => {
        match $self {
            JobQueue::Stream($queue) => $call,
            JobQueue::Lease($queue) => $call,
        }
    };
}

/// The queue of one job in the backend the run asked for.
#[derive(Debug, Clone)]
pub enum JobQueue {
    /// The streams backend.
    Stream(Box<StreamQueue>),
    /// The lease backend.
    Lease(Box<LeaseQueue>),
}

impl JobQueue {
    /// The queue of job `keys` on `endpoint` in `backend`, as the client sees it.
    pub fn new(backend: QueueBackend, endpoint: Endpoint, keys: JobKeys) -> JobQueue {
        match backend {
            QueueBackend::Stream => JobQueue::Stream(Box::new(StreamQueue::new(endpoint, keys))),
            QueueBackend::Lease => JobQueue::Lease(Box::new(LeaseQueue::new(endpoint, keys))),
        }
    }

    /// The same queue as worker `worker` sees it (see
    /// [`StreamQueue::for_worker`], [`LeaseQueue::for_worker`]); units held
    /// longer than `steal_idle_ms` are stolen (0: never).
    pub(crate) fn for_worker(
        self,
        worker: u32,
        block_ms: u64,
        pipeline_commands: usize,
        commit: CommitPath,
        steal_idle_ms: u64,
    ) -> JobQueue {
        match self {
            JobQueue::Stream(queue) => JobQueue::Stream(Box::new(
                (*queue)
                    .for_worker(worker, block_ms, pipeline_commands, commit)
                    .with_stealing(steal_idle_ms),
            )),
            JobQueue::Lease(queue) => JobQueue::Lease(Box::new((*queue).for_worker(
                worker,
                block_ms,
                pipeline_commands,
                steal_idle_ms,
            ))),
        }
    }

    /// Merges into (and reads the counts back from) `merge`.
    pub(crate) fn with_merge(self, merge: MergeTarget) -> JobQueue {
        match self {
            JobQueue::Stream(queue) => JobQueue::Stream(Box::new((*queue).with_merge(merge))),
            JobQueue::Lease(queue) => JobQueue::Lease(Box::new((*queue).with_merge(merge))),
        }
    }

    /// Sends at most `pairs` pairs inline in an atomic commit (streams;
    /// the lease backend applies at most `pipeline_commands` pairs per call).
    pub(crate) fn with_inline_pairs(self, pairs: u64) -> JobQueue {
        match self {
            JobQueue::Stream(queue) => {
                JobQueue::Stream(Box::new((*queue).with_inline_pairs(pairs)))
            }
            lease => lease,
        }
    }

    /// Queues the units, in the given order.
    pub fn create(&self, con: &mut Connection, units: &[Unit]) -> Result<(), QueueError> {
        each_backend!(self, queue => queue.create(con, units))
    }

    /// Loads the backend's Functions where the commit path needs them
    /// (streams: only for atomic commits; lease: always).
    pub(crate) fn prepare(
        &self,
        con: &mut Connection,
        commit: CommitPath,
    ) -> Result<(), QueueError> {
        match self {
            JobQueue::Stream(queue) if commit == CommitPath::Atomic => queue.load_functions(con),
            JobQueue::Stream(_) => Ok(()),
            JobQueue::Lease(queue) => queue.load_functions(con),
        }
    }

    /// Puts back a queue a restarted server lost; true when it was queued again.
    pub(crate) fn restore(
        &self,
        con: &mut Connection,
        units: &[Unit],
        atomic: bool,
    ) -> Result<bool, QueueError> {
        match self {
            JobQueue::Stream(queue) => queue.restore(con, units, atomic),
            JobQueue::Lease(queue) => queue.restore(con, units),
        }
    }

    /// True when Redis says every unit is done.
    pub fn is_complete(&self, con: &mut Connection) -> Result<bool, QueueError> {
        each_backend!(self, queue => queue.is_complete(con))
    }

    /// Units acknowledged (done) so far: how far the job is, for faults
    /// due at a share of the units (`at:50%`). One cheap read.
    pub(crate) fn acked(&self, con: &mut Connection) -> Result<u64, QueueError> {
        each_backend!(self, queue => queue.acked(con))
    }

    /// Units held per consumer.
    pub(crate) fn pending_by_consumer(
        &self,
        con: &mut Connection,
    ) -> Result<Vec<(String, u64)>, QueueError> {
        each_backend!(self, queue => queue.pending_by_consumer(con))
    }

    /// Reads the job's counts back from its merge target.
    pub fn read_counts(&self, con: &mut Connection) -> Result<WordCounts, QueueError> {
        each_backend!(self, queue => queue.read_counts(con))
    }

    /// Deletes the job's keys.
    pub(crate) fn delete(&self, con: &mut Connection) -> Result<(), QueueError> {
        each_backend!(self, queue => queue.delete(con))
    }

    /// The job's keys.
    pub(crate) fn keys(&self) -> &JobKeys {
        each_backend!(self, queue => queue.keys())
    }
}

impl WorkQueue for JobQueue {
    fn on_connect(&mut self, con: &mut Connection) -> Result<(), QueueError> {
        each_backend!(self, queue => queue.on_connect(con))
    }

    fn take(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        each_backend!(self, queue => queue.take(con))
    }

    fn take_now(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        each_backend!(self, queue => queue.take_now(con))
    }

    fn is_done(&mut self, con: &mut Connection) -> Result<bool, QueueError> {
        self.is_complete(con)
    }

    fn pending(&mut self, con: &mut Connection) -> Result<u64, QueueError> {
        each_backend!(self, queue => queue.pending(con))
    }

    fn batch_pairs(&self) -> Option<usize> {
        each_backend!(self, queue => queue.batch_pairs())
    }

    fn atomic_batches(&self) -> bool {
        each_backend!(self, queue => queue.atomic_batches())
    }

    fn commit_batch(
        &mut self,
        con: &mut Connection,
        batch: &[Taken],
        counts: &WordCounts,
        ack_separately: bool,
        before_ack: &mut dyn FnMut(),
    ) -> Result<CommitStats, QueueError> {
        each_backend!(self, queue => queue.commit_batch(con, batch, counts, ack_separately, before_ack))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_parse_back() {
        for backend in [QueueBackend::Stream, QueueBackend::Lease] {
            assert_eq!(backend.name().parse(), Ok(backend));
        }
        assert!("raft".parse::<QueueBackend>().is_err());
    }
}
