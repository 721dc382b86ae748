//! The lease backend (`queue = "lease"`): a work queue built only from
//! commands RedisRaft replicates (no streams, no blocking reads, no WATCH),
//! so the same workers run on `single`, `replicated` and `raft`.
//!
//! - client: pipelined `HSET units ID "START END PATH"` and `RPUSH todo ID`,
//!   then `HSET meta total N` (last: a job without `meta` is not there yet),
//!   and `FUNCTION LOAD REPLACE` of `lua/lease.lua`.
//! - worker: `FCALL wcl_claim` with its consumer name, the time (the client
//!   passes `now_ms`: scripts must be deterministic) and the lease length
//!   (the run's `autoclaim_ms`; 0: leases never expire, nobody steals). It
//!   returns the worker's own unit again (after a reconnect or a restart),
//!   else a unit whose lease expired (a steal), else a new one. Nothing to
//!   take: the worker polls again after a short sleep.
//! - commit: every commit path is atomic, into any merge target
//!   ([`MergeTarget`]): `FCALL wcl_commit` applies the counts only while
//!   every unit of the commit is still leased by this worker with its token
//!   and not done, and marks them done, in one call. The combiner
//!   (`commit_units` K > 1) commits K units in one call; a refused batch
//!   (a unit was stolen meanwhile) applies nothing and the worker commits
//!   its units one by one, as with the streams backend.
//! - big commits are chunked: a unit with more distinct words than
//!   `pipeline_commands` is applied in several calls of at most that many
//!   pairs each (its counts sorted and cut the same way by whoever counts
//!   it), each checking and advancing the unit's applied-chunk counter, so
//!   no Function call runs long. On RedisRaft a call longer than the
//!   election timeout (1 s) triggers an election: measured, one call
//!   applying a 500k-distinct-word unit took 2.1 s and moved the term from
//!   1 to 4; chunks of 10k pairs keep every call to milliseconds, without
//!   raising `raft.election-timeout` (which would slow every real failover).
//!   A thief resumes at the first chunk the dead holder did not apply; a
//!   straggler whose lease was taken over is refused. A batch of K > 1
//!   units is never chunked (a thief steals single units, so batch chunks
//!   could not be resumed): the worker closes a batch before it outgrows
//!   one call ([`WorkQueue::batch_pairs`]), and a batch too big anyway is
//!   refused unapplied and committed unit by unit.
//!
//! Key layout and the Functions' contract are documented in `lua/lease.lua`.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{Commands, Connection, Value};

use super::WorkQueue;
use super::commit::{CommitPath, CommitStats};
use super::connection::Endpoint;
use super::error::QueueError;
use super::keys::JobKeys;
use super::merge::{MergeTarget, counts_blob, function_library};
use super::message::{Taken, batch_first};
use super::stream::StreamQueue;
use crate::input::Unit;
use crate::words::WordCounts;

/// The Redis Function library of the lease backend (`lua/lease.lua`).
pub const LEASE_LIBRARY: &str = include_str!("../../lua/lease.lua");
/// Units (and their ids) per enqueue pipeline round trip.
const ENQUEUE_CHUNK: usize = 10_000;
/// Longest pause between polls when nothing can be claimed.
const MAX_POLL: Duration = Duration::from_millis(50);

/// The key names of one job's lease queue, in the order `lua/lease.lua`
/// expects them as KEYS (the merge target and the parts set follow).
#[derive(Debug, Clone)]
struct LeaseKeys {
    units: String,
    todo: String,
    leases: String,
    holders: String,
    applied: String,
    done: String,
    meta: String,
}

impl LeaseKeys {
    fn new(keys: &JobKeys) -> LeaseKeys {
        let key = |name: &str| format!("wc:{{{}}}:{name}", keys.job());
        LeaseKeys {
            units: key("units"),
            todo: key("todo"),
            leases: key("leases"),
            holders: key("holders"),
            applied: key("applied"),
            done: key("done"),
            meta: key("meta"),
        }
    }

    /// KEYS 1-7 of every Function call.
    fn all(&self) -> [&str; 7] {
        [
            &self.units,
            &self.todo,
            &self.leases,
            &self.holders,
            &self.applied,
            &self.done,
            &self.meta,
        ]
    }
}

/// The lease work queue of one job, seen from one process.
#[derive(Debug, Clone)]
pub struct LeaseQueue {
    endpoint: Endpoint,
    keys: JobKeys,
    lease_keys: LeaseKeys,
    consumer: String,
    poll: Duration,
    /// Most word/count pairs one commit call applies (the chunk size).
    pipeline_commands: usize,
    /// Lease length in ms; also the steal timeout (0: never expires).
    lease_ms: u64,
    /// Where the counts accumulate.
    merge: MergeTarget,
    /// The lease tokens of the units this worker holds (unit id -> token).
    tokens: HashMap<String, String>,
    /// While re-reading this worker's own units after a (re)connect: the
    /// last one re-read (-1: none yet); `None` once they all were.
    own_after: Option<i64>,
}

impl LeaseQueue {
    /// The queue of job `keys` on `endpoint`, as the client sees it.
    pub(crate) fn new(endpoint: Endpoint, keys: JobKeys) -> LeaseQueue {
        LeaseQueue {
            endpoint,
            lease_keys: LeaseKeys::new(&keys),
            keys,
            consumer: "client".into(),
            poll: MAX_POLL,
            pipeline_commands: 10_000,
            lease_ms: 0,
            merge: MergeTarget::Zset,
            tokens: HashMap::new(),
            own_after: Some(-1),
        }
    }

    /// Merges into (and reads the counts back from) `merge`.
    pub(crate) fn with_merge(mut self, merge: MergeTarget) -> LeaseQueue {
        self.merge = merge;
        self
    }

    /// The same queue as worker `worker` sees it: polls every `block_ms`
    /// (at most 50 ms) when nothing can be claimed, applies at most
    /// `pipeline_commands` word/count pairs per commit call (more are
    /// chunked), and leases units for `lease_ms` (the steal timeout; 0:
    /// leases never expire).
    pub(crate) fn for_worker(
        mut self,
        worker: u32,
        block_ms: u64,
        pipeline_commands: usize,
        lease_ms: u64,
    ) -> LeaseQueue {
        self.consumer = JobKeys::consumer(worker);
        self.poll = Duration::from_millis(block_ms.max(1)).min(MAX_POLL);
        self.pipeline_commands = pipeline_commands.max(1);
        self.lease_ms = lease_ms;
        self
    }

    /// The job's keys.
    pub(crate) fn keys(&self) -> &JobKeys {
        &self.keys
    }

    fn error(&self, source: redis::RedisError, during: &str) -> QueueError {
        let lost = source.code() == Some("NOJOB")
            || source
                .detail()
                .is_some_and(|d| d.contains("Function not found"))
            || source.to_string().contains("Function not found");
        if lost {
            return QueueError::JobLost {
                url: self.endpoint.shown().into(),
                keys: self.keys.to_string(),
                during: during.into(),
            };
        }
        self.endpoint.error(source, during)
    }

    fn bad_reply(&self, during: &str, detail: String) -> QueueError {
        QueueError::BadReply {
            url: self.endpoint.shown().into(),
            during: during.into(),
            detail,
        }
    }

    /// A Function call with every key of the job; the merge target of a
    /// commit whose first unit is `first` is KEYS 8.
    fn fcall(&self, function: &str, first: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(function).arg(9);
        for key in self.lease_keys.all() {
            cmd.arg(key);
        }
        cmd.arg(self.merge.key(&self.keys, first))
            .arg(self.keys.parts());
        cmd
    }

    /// Loads the Function library (`FUNCTION LOAD REPLACE`).
    pub(crate) fn load_functions(&self, con: &mut Connection) -> Result<(), QueueError> {
        redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(function_library(LEASE_LIBRARY))
            .query::<String>(con)
            .map(|_| ())
            .map_err(|e| self.error(e, "FUNCTION LOAD REPLACE of lua/lease.lua"))
    }

    /// Queues the units (ids `0..n` in the given order), records the total
    /// last, and loads the Functions.
    pub(crate) fn create(&self, con: &mut Connection, units: &[Unit]) -> Result<(), QueueError> {
        let k = &self.lease_keys;
        for (chunk_index, chunk) in units.chunks(ENQUEUE_CHUNK).enumerate() {
            let first = chunk_index * ENQUEUE_CHUNK;
            let mut pipe = redis::pipe();
            let hset = pipe.cmd("HSET").arg(&k.units);
            for (i, unit) in chunk.iter().enumerate() {
                hset.arg(first + i).arg(encode_unit(unit));
            }
            hset.ignore();
            let rpush = pipe.cmd("RPUSH").arg(&k.todo);
            for i in 0..chunk.len() {
                rpush.arg(first + i);
            }
            rpush.ignore();
            pipe.query::<()>(con)
                .map_err(|e| self.error(e, "HSET/RPUSH of the units"))?;
        }
        redis::cmd("HSET")
            .arg(&k.meta)
            .arg("total")
            .arg(units.len())
            .arg("token")
            .arg(0)
            .query::<()>(con)
            .map_err(|e| self.error(e, "HSET of the job's total"))?;
        self.load_functions(con)
    }

    /// After the server came back from a restart: queues the job again if
    /// it is gone (no snapshot had it; its counts went with it, so the job
    /// starts over: leftovers of a half-written job are deleted first), and
    /// loads the Functions again. Returns whether the units were queued again.
    pub(crate) fn restore(&self, con: &mut Connection, units: &[Unit]) -> Result<bool, QueueError> {
        let exists: bool = con
            .exists(&self.lease_keys.meta)
            .map_err(|e| self.error(e, "EXISTS of the job's meta hash"))?;
        if exists {
            self.load_functions(con)?;
            return Ok(false);
        }
        self.delete(con)?;
        self.create(con, units)?;
        Ok(true)
    }

    /// True when the job exists and every unit is done.
    pub(crate) fn is_complete(&self, con: &mut Connection) -> Result<bool, QueueError> {
        let done: u64 = self
            .fcall("wcl_is_complete", "0")
            .query(con)
            .map_err(|e| self.error(e, "FCALL wcl_is_complete"))?;
        Ok(done == 1)
    }

    /// Units acknowledged so far: the members of the done set.
    pub(crate) fn acked(&self, con: &mut Connection) -> Result<u64, QueueError> {
        con.scard(&self.lease_keys.done)
            .map_err(|e| self.error(e, "SCARD of the done units"))
    }

    /// Units held per consumer.
    pub(crate) fn pending_by_consumer(
        &self,
        con: &mut Connection,
    ) -> Result<Vec<(String, u64)>, QueueError> {
        let holders: Vec<(String, String)> = con
            .hgetall(&self.lease_keys.holders)
            .map_err(|e| self.error(e, "HGETALL of the lease holders"))?;
        let mut held: Vec<(String, u64)> = Vec::new();
        for (_, holder) in holders {
            let who = holder
                .split_once(' ')
                .map_or(holder.as_str(), |(_, who)| who);
            match held.iter_mut().find(|(name, _)| name == who) {
                Some((_, n)) => *n += 1,
                None => held.push((who.to_owned(), 1)),
            }
        }
        Ok(held)
    }

    /// Reads the job's counts back from its merge target (words are raw bytes).
    pub(crate) fn read_counts(&self, con: &mut Connection) -> Result<WordCounts, QueueError> {
        // The merge targets are the streams backend's: one reader.
        StreamQueue::new(self.endpoint.clone(), self.keys.clone())
            .with_merge(self.merge)
            .read_counts(con)
    }

    /// Deletes the job's keys, its counts in every target and its parts.
    pub(crate) fn delete(&self, con: &mut Connection) -> Result<(), QueueError> {
        // The counts and parts are laid out as the streams backend's.
        StreamQueue::new(self.endpoint.clone(), self.keys.clone()).delete(con)?;
        con.del::<_, ()>(self.lease_keys.all().to_vec())
            .map_err(|e| self.error(e, "DEL of the job's keys"))
    }

    /// One `FCALL wcl_commit` of `batch` (chunk `chunk` of `chunks`) with
    /// `payload`; replies 1 (applied), 3 (chunk applied before) or 0 (refused).
    fn commit_call(
        &self,
        con: &mut Connection,
        batch: &[Taken],
        (chunk, chunks): (usize, usize),
        payload: impl FnOnce(&mut redis::Cmd) -> Result<(), QueueError>,
    ) -> Result<u64, QueueError> {
        let first = batch_first(batch)?;
        let mut fcall = self.fcall("wcl_commit", first);
        fcall
            .arg(self.merge.name())
            .arg(&self.consumer)
            .arg(now_ms())
            .arg(self.lease_ms)
            .arg(chunk)
            .arg(chunks)
            .arg(batch.len());
        for taken in batch {
            // A unit this worker holds no token for is refused by the Function.
            let token = self.tokens.get(&taken.id).map_or("0", String::as_str);
            fcall.arg(&taken.id).arg(token);
        }
        payload(&mut fcall)?;
        fcall
            .query(con)
            .map_err(|e| self.error(e, "FCALL wcl_commit"))
    }
}

/// The hash value of a unit: `START END PATH` (the path's raw bytes last,
/// so any byte may occur in it).
fn encode_unit(unit: &Unit) -> Vec<u8> {
    let mut value = format!("{} {} ", unit.start, unit.end).into_bytes();
    value.extend_from_slice(unit.path.as_os_str().as_bytes());
    value
}

/// The unit of a hash value written by [`encode_unit`].
fn decode_unit(value: &[u8]) -> Result<Unit, String> {
    let mut parts = value.splitn(3, |&b| b == b' ');
    let mut number = |what: &str| {
        parts
            .next()
            .and_then(|p| std::str::from_utf8(p).ok())
            .and_then(|p| p.parse::<u64>().ok())
            .ok_or_else(|| format!("no {what} offset"))
    };
    let (start, end) = (number("start")?, number("end")?);
    let path = parts.next().filter(|p| !p.is_empty()).ok_or("no path")?;
    super::message::unit_of(path, start, end)
}

/// The bytes of a string reply.
fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

/// Milliseconds since the Unix epoch, this host's clock (all workers of a
/// job share one clock on one machine; across hosts, keep clocks in sync
/// well within the lease length).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl LeaseQueue {
    /// One `FCALL wcl_claim`: the unit taken, or `None` and how many
    /// leases are held (by anyone).
    fn claim(&mut self, con: &mut Connection) -> Result<(Option<Taken>, i64), QueueError> {
        let during = "FCALL wcl_claim";
        let own_after = self
            .own_after
            .map_or_else(|| "-".to_owned(), |id| id.to_string());
        let reply: Vec<Value> = self
            .fcall("wcl_claim", "0")
            .arg(&self.consumer)
            .arg(now_ms())
            .arg(self.lease_ms)
            .arg(own_after)
            .query(con)
            .map_err(|e| self.error(e, during))?;
        let kind = reply.first().and_then(bytes).unwrap_or_default();
        if kind != b"own" {
            // Every unit this worker still held was re-read.
            self.own_after = None;
        }
        if kind == b"none" {
            return match reply.get(1) {
                Some(Value::Int(held)) => Ok((None, *held)),
                other => Err(self.bad_reply(during, format!("bad count {other:?}"))),
            };
        }
        let text = |i: usize| {
            reply
                .get(i)
                .and_then(bytes)
                .ok_or_else(|| self.bad_reply(during, format!("item {i} of {reply:?}")))
        };
        let id = String::from_utf8_lossy(text(1)?).into_owned();
        let token = String::from_utf8_lossy(text(2)?).into_owned();
        let unit = decode_unit(text(3)?).map_err(|detail| QueueError::BadMessage {
            id: id.clone(),
            stream: self.lease_keys.units.clone(),
            detail,
        })?;
        let stolen = match kind {
            b"stolen" => true,
            b"new" => false,
            b"own" => {
                let number = id.parse::<i64>().map_err(|_| {
                    self.bad_reply(during, format!("unit id {id:?} is not a number"))
                })?;
                self.own_after = Some(number);
                false
            }
            other => {
                return Err(self.bad_reply(
                    during,
                    format!("unknown kind {:?}", String::from_utf8_lossy(other)),
                ));
            }
        };
        self.tokens.insert(id.clone(), token);
        Ok((Some(Taken { id, unit, stolen }), 0))
    }

    /// Applies `counts` of the one unit `taken` in `chunks` calls: its
    /// pairs in output order (a total order, so whoever counts the unit
    /// cuts the same chunks), at most `pipeline_commands` per call.
    /// `before_fcall` runs after the first chunk (the `mid-commit` crash
    /// point: the unit half applied). Returns the calls made and whether
    /// the unit was applied (false: refused, the rest left to its holder).
    fn commit_chunked(
        &self,
        con: &mut Connection,
        taken: &Taken,
        counts: &WordCounts,
        chunks: usize,
        before_fcall: &mut dyn FnMut(),
    ) -> Result<(u64, bool), QueueError> {
        let sorted = counts.sorted();
        let batch = std::slice::from_ref(taken);
        let mut calls = 0;
        for (index, pairs) in sorted.chunks(self.pipeline_commands).enumerate() {
            if index == 1 {
                before_fcall();
            }
            let reply = self.commit_call(con, batch, (index + 1, chunks), |fcall| {
                for (word, count) in pairs {
                    fcall.arg(*word).arg(*count);
                }
                Ok(())
            })?;
            calls += 1;
            if reply == 0 {
                return Ok((calls, false));
            }
        }
        Ok((calls, true))
    }
}

impl WorkQueue for LeaseQueue {
    fn on_connect(&mut self, con: &mut Connection) -> Result<(), QueueError> {
        // Re-read the units this worker still holds first.
        self.own_after = Some(-1);
        self.load_functions(con)
    }

    fn take(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        let (taken, held) = self.claim(con)?;
        if taken.is_none() && held > 0 {
            // Someone holds a unit that may still come back (a crash, a
            // straggler): poll again shortly.
            std::thread::sleep(self.poll);
        }
        Ok(taken)
    }

    fn take_now(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        Ok(self.claim(con)?.0)
    }

    fn pending(&mut self, con: &mut Connection) -> Result<u64, QueueError> {
        con.zcard(&self.lease_keys.leases)
            .map_err(|e| self.error(e, "ZCARD of the leases"))
    }

    fn atomic_batches(&self) -> bool {
        true
    }

    /// A batch is one call: at most one chunk of pairs (parts: no limit).
    fn batch_pairs(&self) -> Option<usize> {
        self.merge.sends_words().then_some(self.pipeline_commands)
    }

    /// Every commit is atomic (`ack_separately` changes nothing):
    /// `before_fcall` runs before the first call that could apply anything
    /// (after the first chunk of a chunked unit).
    fn commit_batch(
        &mut self,
        con: &mut Connection,
        batch: &[Taken],
        counts: &WordCounts,
        _ack_separately: bool,
        before_fcall: &mut dyn FnMut(),
    ) -> Result<CommitStats, QueueError> {
        let words = self.merge.sends_words();
        let chunks = if words {
            counts.distinct().div_ceil(self.pipeline_commands).max(1)
        } else {
            1
        };
        let mut stats = CommitStats {
            updates: CommitPath::Atomic.updates(counts),
            ..CommitStats::default()
        };
        let applied = if chunks > 1 && batch.len() > 1 {
            // Too big for one call, and batch chunks could not be resumed
            // by a thief of one unit: refused unapplied, so the worker
            // commits the units one by one (each chunked on its own).
            before_fcall();
            stats.updates = 0;
            false
        } else if chunks > 1 {
            let (calls, applied) =
                self.commit_chunked(con, &batch[0], counts, chunks, before_fcall)?;
            stats.round_trips = calls;
            applied
        } else {
            before_fcall();
            let reply = self.commit_call(con, batch, (1, 1), |fcall| {
                if words {
                    for (word, count) in counts.iter() {
                        fcall.arg(word).arg(count);
                    }
                } else {
                    fcall.arg(counts_blob(counts)?);
                }
                Ok(())
            })?;
            stats.round_trips = 1;
            reply == 1
        };
        if applied || batch.len() == 1 {
            // (A refused batch keeps its tokens: its units are committed
            // one by one next.)
            for taken in batch {
                self.tokens.remove(&taken.id);
            }
        }
        stats.acked = applied;
        stats.acked_units = if applied { batch.len() as u64 } else { 0 };
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{RedisConfig, RedisServer};
    use std::ffi::OsStr;
    use std::path::PathBuf;

    #[test]
    fn units_round_trip_through_their_hash_value() {
        let unit = Unit {
            path: PathBuf::from(OsStr::from_bytes(b"/a b/\xff c.txt")),
            start: 10,
            end: 99,
        };
        assert_eq!(decode_unit(&encode_unit(&unit)), Ok(unit));
        assert!(decode_unit(b"5 3 /x").is_err());
        assert!(decode_unit(b"1 2 ").is_err());
        assert!(decode_unit(b"x 2 /p").is_err());
    }

    /// A started server, a queue of `n` one-word units of `dir` and the
    /// client's connection.
    fn job(dir: &std::path::Path, n: usize) -> (RedisServer, LeaseQueue, Connection) {
        let units: Vec<Unit> = (0..n)
            .map(|i| {
                let path = dir.join(format!("u{i}.txt"));
                std::fs::write(&path, format!("w{i} common\n")).unwrap();
                Unit {
                    path,
                    start: 0,
                    end: 100,
                }
            })
            .collect();
        let server = RedisServer::start(RedisConfig::default()).unwrap();
        let endpoint = Endpoint::new(&server.url());
        let queue = LeaseQueue::new(endpoint.clone(), JobKeys::random());
        let mut con = endpoint.connect().unwrap();
        queue.create(&mut con, &units).unwrap();
        (server, queue, con)
    }

    fn counts_of(words: &[(&str, u64)]) -> WordCounts {
        let mut counts = WordCounts::new();
        for (word, n) in words {
            counts.add(word.as_bytes(), *n);
        }
        counts
    }

    #[test]
    fn an_expired_lease_is_stolen_and_the_stragglers_late_commit_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (_server, client, mut con) = job(dir.path(), 1);
        let mut straggler = client.clone().for_worker(0, 5, 100, 30);
        let mut thief = client.clone().for_worker(1, 5, 100, 30);
        let taken = straggler.take(&mut con).unwrap().expect("a unit");
        assert!(!taken.stolen);
        assert_eq!(thief.take(&mut con).unwrap(), None, "the lease is fresh");
        std::thread::sleep(Duration::from_millis(60));
        let stolen = thief.take(&mut con).unwrap().expect("the expired unit");
        assert!(stolen.stolen && stolen.id == taken.id);
        assert_eq!(client.pending_by_consumer(&mut con).unwrap().len(), 1);
        let counts = counts_of(&[("w0", 1), ("common", 1)]);
        let first = thief
            .commit(&mut con, &stolen, &counts, false, &mut || {})
            .unwrap();
        assert!(first.acked);
        assert!(client.is_complete(&mut con).unwrap());
        let late = straggler
            .commit(&mut con, &taken, &counts, false, &mut || {})
            .unwrap();
        assert!(!late.acked, "the unit was already done");
        assert!(client.read_counts(&mut con).unwrap() == counts);
        assert_eq!(straggler.pending(&mut con).unwrap(), 0);
        assert_eq!(straggler.take(&mut con).unwrap(), None);
    }

    #[test]
    fn a_worker_gets_its_own_unit_back_and_chunked_commits_apply_once() {
        let dir = tempfile::tempdir().unwrap();
        let (_server, client, mut con) = job(dir.path(), 2);
        // Leases never expire (no stealing); 2 pairs per staging round trip.
        let mut worker = client.clone().for_worker(0, 5, 2, 0);
        let first = worker.take(&mut con).unwrap().expect("a unit");
        // Reconnected (or restarted under the same name): the same unit again.
        worker.on_connect(&mut con).unwrap();
        let again = worker.take(&mut con).unwrap().expect("its own unit");
        assert_eq!(
            (again.id.as_str(), again.stolen),
            (first.id.as_str(), false)
        );
        let mut other = client.clone().for_worker(1, 5, 2, 0);
        let second = other.take(&mut con).unwrap().expect("the second unit");
        assert_ne!(second.id, first.id);
        assert_eq!(worker.pending(&mut con).unwrap(), 2);
        assert!(!client.is_complete(&mut con).unwrap());
        let big = counts_of(&[("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]);
        for _ in 0..2 {
            worker
                .commit(&mut con, &first, &big, true, &mut || {})
                .unwrap();
        }
        other
            .commit(
                &mut con,
                &second,
                &counts_of(&[("a", 10)]),
                false,
                &mut || {},
            )
            .unwrap();
        assert!(client.is_complete(&mut con).unwrap());
        let expected = counts_of(&[("a", 11), ("b", 2), ("c", 3), ("d", 4), ("e", 5)]);
        assert!(client.read_counts(&mut con).unwrap() == expected);
        let applied = &client.lease_keys.applied;
        assert!(
            !con.exists::<_, bool>(applied).unwrap(),
            "chunk counters left"
        );
        client.delete(&mut con).unwrap();
        assert!(!client.is_complete(&mut con).unwrap());
        // The job is gone: a worker's claim says so (it waits for a restore).
        assert!(worker.take(&mut con).unwrap_err().is_job_lost());
        assert!(client.restore(&mut con, &[]).unwrap());
        assert!(
            client.is_complete(&mut con).unwrap(),
            "an empty job is done"
        );
    }

    #[test]
    fn a_batch_with_a_stolen_unit_applies_nothing_and_each_unit_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        for merge in MergeTarget::ALL {
            let (_server, client, mut con) = job(dir.path(), 2);
            let client = client.with_merge(merge);
            let worker = |index| client.clone().for_worker(index, 5, 100, 30);
            let (mut slow, mut thief) = (worker(0), worker(1));
            let first = slow.take_now(&mut con).unwrap().expect("unit 0");
            let second = slow.take_now(&mut con).unwrap().expect("unit 1");
            std::thread::sleep(Duration::from_millis(60));
            let stolen = thief.take_now(&mut con).unwrap().expect("an expired unit");
            assert!(stolen.stolen && stolen.id == first.id, "{stolen:?}");
            let one = |i: usize| counts_of(&[(["w0", "w1"][i], 1), ("common", 1)]);
            let mut both = one(0);
            both.merge(one(1));

            let batch = [first.clone(), second.clone()];
            let refused = slow
                .commit_batch(&mut con, &batch, &both, false, &mut || {})
                .unwrap();
            assert!(!refused.acked && refused.acked_units == 0, "{merge}");
            assert!(client.read_counts(&mut con).unwrap().is_empty(), "{merge}");
            assert_eq!(slow.pending(&mut con).unwrap(), 2, "{merge}: nothing done");

            let by_thief = thief
                .commit(&mut con, &stolen, &one(0), false, &mut || {})
                .unwrap();
            assert!(by_thief.acked, "{merge}");
            let late = slow
                .commit(&mut con, &first, &one(0), false, &mut || {})
                .unwrap();
            assert!(!late.acked, "{merge}: the straggler's copy is refused");
            let own = slow
                .commit(&mut con, &second, &one(1), false, &mut || {})
                .unwrap();
            assert!(own.acked, "{merge}");
            assert!(client.is_complete(&mut con).unwrap());
            assert!(client.read_counts(&mut con).unwrap() == both, "{merge}");
        }
    }

    #[test]
    fn a_thief_resumes_a_chunked_commit_where_its_holder_stopped() {
        let dir = tempfile::tempdir().unwrap();
        for merge in [MergeTarget::Zset, MergeTarget::Hash] {
            let (_server, client, mut con) = job(dir.path(), 1);
            let client = client.with_merge(merge);
            // Chunks of 2 pairs: 7 distinct words are 4 calls.
            let worker = |index| client.clone().for_worker(index, 5, 2, 30);
            let (mut holder, mut thief) = (worker(0), worker(1));
            let taken = holder.take(&mut con).unwrap().expect("the unit");
            let words: Vec<String> = (0..7).map(|i| format!("x{i}")).collect();
            let pairs: Vec<(&str, u64)> = words
                .iter()
                .enumerate()
                .map(|(i, w)| (w.as_str(), i as u64 + 1))
                .collect();
            let counts = counts_of(&pairs);
            // The holder applies chunk 1 of 4, then "dies" (its lease runs out).
            let chunk_1 = holder
                .commit_call(&mut con, std::slice::from_ref(&taken), (1, 4), |fcall| {
                    for (word, count) in &counts.sorted()[..2] {
                        fcall.arg(*word).arg(*count);
                    }
                    Ok(())
                })
                .unwrap();
            assert_eq!(chunk_1, 1);
            assert_eq!(client.read_counts(&mut con).unwrap().distinct(), 2);
            std::thread::sleep(Duration::from_millis(60));
            let stolen = thief.take(&mut con).unwrap().expect("the expired unit");
            assert!(stolen.stolen);
            // The straggler's next chunk is refused: its lease was taken over.
            let late = holder
                .commit_call(&mut con, std::slice::from_ref(&taken), (2, 4), |fcall| {
                    fcall.arg("x9").arg(1000);
                    Ok(())
                })
                .unwrap();
            assert_eq!(late, 0, "{merge}: a straggler's chunk is refused");
            // The thief sends every chunk: the first one is skipped (3).
            let mut cut = Vec::new();
            let applied = thief
                .commit_chunked(&mut con, &stolen, &counts, 4, &mut || cut.push(()))
                .unwrap();
            assert_eq!(applied, (4, true), "{merge}");
            assert_eq!(cut.len(), 1, "the mid-commit point is between chunks");
            assert!(client.is_complete(&mut con).unwrap());
            assert!(client.read_counts(&mut con).unwrap() == counts, "{merge}");
            // A retry of the whole commit (an unknown outcome) applies nothing.
            let again = thief
                .commit(&mut con, &stolen, &counts, false, &mut || {})
                .unwrap();
            assert!(!again.acked);
            assert!(client.read_counts(&mut con).unwrap() == counts, "{merge}");
        }
    }

    #[test]
    fn the_library_declares_its_functions() {
        assert!(LEASE_LIBRARY.starts_with("#!lua name=wclease"));
        for name in ["wcl_claim", "wcl_commit", "wcl_is_complete"] {
            assert!(LEASE_LIBRARY.contains(&format!("register_function('{name}'")));
        }
        assert!(!LEASE_LIBRARY.contains("'TIME'"));
    }
}
