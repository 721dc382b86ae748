//! The Redis work queue: the `redis` mode of Lab 2 (and the base of Labs 3-4).
//!
//! A client puts one message per unit of work on a stream; worker processes
//! (see [`crate::worker`]) read them through a consumer group one at a time,
//! count the unit, merge its counts into a sorted set with `ZINCRBY` and
//! acknowledge the message; the client reads the sorted set back.
//!
//! # Layout
//!
//! - [`WorkQueue`]: what the worker loop needs from a backend; the streams
//!   backend ([`StreamQueue`]) and the lease backend ([`LeaseQueue`]:
//!   units leased through Redis Functions, the commands RedisRaft
//!   supports) implement it; [`QueueBackend`] (the run parameter `queue`)
//!   and [`JobQueue`] choose between them in one place (`backend`).
//! - `commit`: the commit paths ([`CommitPath`]: per unit, per word, and
//!   atomic: one `FCALL wc_commit` of `lua/wordcount.lua` that applies a
//!   unit's counts only if its `XACK` returned 1, staging large units in a
//!   per-(message, consumer) hash first; see [`StagePlan`]).
//! - Stealing (Lab 3): a worker's take first claims (`XAUTOCLAIM`) a unit
//!   idle longer than its steal timeout; [`StreamQueue::is_complete`] and
//!   [`StreamQueue::pending_by_consumer`] say whether the job is done and
//!   who holds what, so completion is decided by Redis.
//! - Redis restarts (Lab 4): [`StreamQueue::restore`] puts back a queue a
//!   server restarted without a snapshot lost.
//! - `keys`, `message`: key names (`wc:{JOB}:...`) and the binary-safe
//!   message encoding of a unit.
//! - `connection`, `error`: connecting with timeouts, and typed errors that
//!   tell "Redis gone" from "auth" from "bad input".
//! - `merge`: the merge targets ([`MergeTarget`]: sorted set, hash, or one
//!   blob per commit merged at the read).
//! - `stats`, `server_load`: the measurements workers report, and what the
//!   server itself reports (`INFO cpu`, `INFO commandstats`).
//!
//! Running a whole job (server, enqueue, worker processes, faults, waiting
//! until Redis says every unit is done) is [`crate::redis_run`]'s.

mod backend;
mod commit;
mod connection;
mod error;
mod expiry;
mod keys;
mod lease;
mod merge;
mod message;
mod raft_leader;
mod server_load;
mod stats;
#[cfg(test)]
pub(crate) use stats::tests as stats_tests;
mod stream;

use redis::Connection;

pub use backend::{JobQueue, QueueBackend};
pub use commit::{
    COMMIT_FUNCTION, CommitPath, CommitStats, FUNCTION_LIBRARY, INLINE_MAX_PAIRS, StagePlan,
    for_each_pipeline,
};
pub use connection::{COMMAND_TIMEOUT, CONNECT_TIMEOUT, Endpoint};
pub use error::{QueueError, redact_url};
pub use expiry::{DEFAULT_KEY_TTL_S, FoundJob, KeyExpiry, MIN_KEY_TTL_S, delete_job, find_jobs};
pub use keys::JobKeys;
pub use lease::{LEASE_LIBRARY, LeaseQueue};
pub use merge::MergeTarget;
pub use message::{Taken, decode_unit, encode_unit, unit_label};
pub use server_load::ServerLoad;
pub use stats::{LatencyHistogram, WorkerMeasures, WorkerStats};
pub(crate) use stats::{STALL_MS, quantile};
pub use stream::StreamQueue;

use crate::words::WordCounts;

/// What the worker loop needs from a work-queue backend. Every call gets
/// the worker's one connection, which the loop replaces after Redis comes
/// back (then [`WorkQueue::on_connect`] runs again).
pub trait WorkQueue {
    /// Prepares a new connection (e.g. loads Functions; re-reads this
    /// worker's own pending units first).
    fn on_connect(&mut self, con: &mut Connection) -> Result<(), QueueError>;
    /// The next unit for this worker, or `None` after waiting briefly.
    fn take(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError>;
    /// The next unit if one is there now, without waiting (filling a
    /// combined commit); by default the same as [`WorkQueue::take`].
    fn take_now(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        self.take(con)
    }
    /// Units handed out but not yet acknowledged, over all workers.
    fn pending(&mut self, con: &mut Connection) -> Result<u64, QueueError>;
    /// Whether Redis says every unit of the job is done (nothing held by
    /// anyone, every unit delivered and acknowledged); by default, whether
    /// nothing is pending.
    fn is_done(&mut self, con: &mut Connection) -> Result<bool, QueueError> {
        Ok(self.pending(con)? == 0)
    }
    /// Whether a batch commit ([`WorkQueue::commit_batch`]) applies all of
    /// its units or none: a refused batch is then committed unit by unit.
    fn atomic_batches(&self) -> bool {
        false
    }
    /// The most distinct words one batch commit takes (`None`: no limit):
    /// the worker starts a new batch rather than exceed it.
    fn batch_pairs(&self) -> Option<usize> {
        None
    }
    /// Merges `counts` of `taken` and acknowledges it. With `ack_separately`
    /// the acknowledgement is its own round trip and `before_ack` runs just
    /// before it (the `mid-commit` crash point).
    fn commit(
        &mut self,
        con: &mut Connection,
        taken: &Taken,
        counts: &WordCounts,
        ack_separately: bool,
        before_ack: &mut dyn FnMut(),
    ) -> Result<CommitStats, QueueError> {
        self.commit_batch(
            con,
            std::slice::from_ref(taken),
            counts,
            ack_separately,
            before_ack,
        )
    }
    /// Merges `counts`, the merged counts of every unit of `batch` (the
    /// combiner, `commit_units` > 1), and acknowledges them all, as one
    /// commit. An atomic backend applies them only if every unit is still
    /// this worker's; `acked` false then means nothing was applied and the
    /// worker commits the units one by one. A backend that cannot commit
    /// batches commits a batch of one and refuses larger ones.
    fn commit_batch(
        &mut self,
        con: &mut Connection,
        batch: &[Taken],
        counts: &WordCounts,
        ack_separately: bool,
        before_ack: &mut dyn FnMut(),
    ) -> Result<CommitStats, QueueError> {
        match batch {
            [taken] => self.commit(con, taken, counts, ack_separately, before_ack),
            _ => Err(QueueError::BadOptions(
                "this queue backend commits one unit at a time: use commit_units = 1".into(),
            )),
        }
    }
}
