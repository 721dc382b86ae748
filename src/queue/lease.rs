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
//! - commit: every commit path is the one atomic `FCALL wcl_commit` (counts
//!   applied only if the unit is not done yet, and the unit marked done, in
//!   one call); a unit with more distinct words than `pipeline_commands` is
//!   staged first with pipelined `HSET`s into `wc:{JOB}:stage:ID:CONSUMER`,
//!   so no single call carries a huge argument list.
//!
//! Key layout and the Functions' contract are documented in `lua/lease.lua`.

use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{Commands, Connection, Value};

use super::WorkQueue;
use super::commit::{CommitPath, CommitStats, StagePlan};
use super::connection::Endpoint;
use super::error::QueueError;
use super::keys::JobKeys;
use super::message::Taken;
use super::stream::StreamQueue;
use crate::input::Unit;
use crate::words::WordCounts;

/// The Redis Function library of the lease backend (`lua/lease.lua`).
pub const LEASE_LIBRARY: &str = include_str!("../../lua/lease.lua");
/// Units (and their ids) per enqueue pipeline round trip.
const ENQUEUE_CHUNK: usize = 10_000;
/// Milliseconds a staging hash lives (a crashed worker's stage expires).
const STAGE_TTL_MS: u64 = 3_600_000;
/// Longest pause between polls when nothing can be claimed.
const MAX_POLL: Duration = Duration::from_millis(50);

/// The key names of one job's lease queue, in the order `lua/lease.lua`
/// expects them as KEYS.
#[derive(Debug, Clone)]
struct LeaseKeys {
    units: String,
    todo: String,
    leases: String,
    holders: String,
    held: String,
    done: String,
    meta: String,
    counts: String,
}

impl LeaseKeys {
    fn new(keys: &JobKeys) -> LeaseKeys {
        let key = |name: &str| format!("wc:{{{}}}:{name}", keys.job());
        LeaseKeys {
            units: key("units"),
            todo: key("todo"),
            leases: key("leases"),
            holders: key("holders"),
            held: key("held"),
            done: key("done"),
            meta: key("meta"),
            counts: keys.counts(),
        }
    }

    /// KEYS 1-8 of every Function call.
    fn all(&self) -> [&str; 8] {
        [
            &self.units,
            &self.todo,
            &self.leases,
            &self.holders,
            &self.held,
            &self.done,
            &self.meta,
            &self.counts,
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
    pipeline_commands: usize,
    /// Lease length in ms; also the steal timeout (0: never expires).
    lease_ms: u64,
    /// The token of the lease this worker holds now (one unit at a time).
    token: Option<(String, String)>,
}

impl LeaseQueue {
    /// The queue of job `keys` on `endpoint`, as the client sees it.
    pub fn new(endpoint: Endpoint, keys: JobKeys) -> LeaseQueue {
        LeaseQueue {
            endpoint,
            lease_keys: LeaseKeys::new(&keys),
            keys,
            consumer: "client".into(),
            poll: MAX_POLL,
            pipeline_commands: 10_000,
            lease_ms: 0,
            token: None,
        }
    }

    /// The same queue as worker `worker` sees it: polls every `block_ms`
    /// (at most 50 ms) when nothing can be claimed, stages units with more
    /// than `pipeline_commands` distinct words, and leases units for
    /// `lease_ms` (the steal timeout; 0: leases never expire).
    pub fn for_worker(
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
    pub fn keys(&self) -> &JobKeys {
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

    /// A Function call with every key of the job (plus `stage` as KEYS 9).
    fn fcall(&self, function: &str, stage: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(function).arg(9);
        for key in self.lease_keys.all() {
            cmd.arg(key);
        }
        cmd.arg(stage);
        cmd
    }

    /// Loads the Function library (`FUNCTION LOAD REPLACE`).
    pub fn load_functions(&self, con: &mut Connection) -> Result<(), QueueError> {
        redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(LEASE_LIBRARY)
            .query::<String>(con)
            .map(|_| ())
            .map_err(|e| self.error(e, "FUNCTION LOAD REPLACE of lua/lease.lua"))
    }

    /// Queues the units (ids `0..n` in the given order), records the total
    /// last, and loads the Functions.
    pub fn create(&self, con: &mut Connection, units: &[Unit]) -> Result<(), QueueError> {
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
    pub fn restore(&self, con: &mut Connection, units: &[Unit]) -> Result<bool, QueueError> {
        let exists: bool = con
            .exists(&self.lease_keys.meta)
            .map_err(|e| self.error(e, "EXISTS of the job's meta hash"))?;
        if exists {
            self.load_functions(con)?;
            return Ok(false);
        }
        con.del::<_, ()>(self.lease_keys.all().to_vec())
            .map_err(|e| self.error(e, "DEL of a half-restored job"))?;
        self.create(con, units)?;
        Ok(true)
    }

    /// True when the job exists and every unit is done.
    pub fn is_complete(&self, con: &mut Connection) -> Result<bool, QueueError> {
        let done: u64 = self
            .fcall("wcl_is_complete", &self.stage_key("none"))
            .query(con)
            .map_err(|e| self.error(e, "FCALL wcl_is_complete"))?;
        Ok(done == 1)
    }

    /// Units held per consumer (each worker holds at most one).
    pub fn pending_by_consumer(
        &self,
        con: &mut Connection,
    ) -> Result<Vec<(String, u64)>, QueueError> {
        let held: Vec<(String, String)> = con
            .hgetall(&self.lease_keys.held)
            .map_err(|e| self.error(e, "HGETALL of the held units"))?;
        Ok(held.into_iter().map(|(who, _)| (who, 1)).collect())
    }

    /// Reads the whole sorted set of counts (words are raw bytes).
    pub fn read_counts(&self, con: &mut Connection) -> Result<WordCounts, QueueError> {
        // The counts are the same sorted set as the streams backend's.
        StreamQueue::new(self.endpoint.clone(), self.keys.clone()).read_counts(con)
    }

    /// Deletes the job's keys and any staging hash left behind.
    pub fn delete(&self, con: &mut Connection) -> Result<(), QueueError> {
        let pattern = format!("wc:{{{}}}:stage:*", self.keys.job());
        let stages: Vec<String> = con
            .scan_match::<_, String>(&pattern)
            .map_err(|e| self.error(e, "SCAN of the job's staging keys"))?
            .filter_map(Result::ok)
            .collect();
        let mut keys: Vec<String> = self
            .lease_keys
            .all()
            .iter()
            .map(|k| k.to_string())
            .collect();
        keys.extend(stages);
        con.del::<_, ()>(keys)
            .map_err(|e| self.error(e, "DEL of the job's keys"))
    }

    fn stage_key(&self, id: &str) -> String {
        self.keys.stage(id, &self.consumer)
    }

    /// Stages `counts` into `stage` with pipelined `HSET`s of at most
    /// `pipeline_commands` pairs each; returns the round trips.
    fn stage(
        &self,
        con: &mut Connection,
        stage: &str,
        counts: &WordCounts,
    ) -> Result<(), QueueError> {
        let mut pairs = counts.iter().peekable();
        while pairs.peek().is_some() {
            let mut pipe = redis::pipe();
            let hset = pipe.cmd("HSET").arg(stage);
            for (word, count) in pairs.by_ref().take(self.pipeline_commands) {
                hset.arg(word).arg(count);
            }
            hset.ignore();
            pipe.cmd("PEXPIRE").arg(stage).arg(STAGE_TTL_MS).ignore();
            pipe.query::<()>(con)
                .map_err(|e| self.error(e, "HSET staging of a lease commit"))?;
        }
        Ok(())
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

impl WorkQueue for LeaseQueue {
    fn on_connect(&mut self, con: &mut Connection) -> Result<(), QueueError> {
        self.load_functions(con)
    }

    fn take(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        let during = "FCALL wcl_claim";
        let reply: Vec<Value> = self
            .fcall("wcl_claim", &self.stage_key("none"))
            .arg(&self.consumer)
            .arg(now_ms())
            .arg(self.lease_ms)
            .query(con)
            .map_err(|e| self.error(e, during))?;
        let kind = reply.first().and_then(bytes).unwrap_or_default();
        if kind == b"none" {
            let held = match reply.get(1) {
                Some(Value::Int(n)) => *n,
                other => return Err(self.bad_reply(during, format!("bad count {other:?}"))),
            };
            if held > 0 {
                // Someone holds a unit that may still come back (a crash, a
                // straggler): poll again shortly.
                std::thread::sleep(self.poll);
            }
            return Ok(None);
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
            b"own" | b"new" => false,
            other => {
                return Err(self.bad_reply(
                    during,
                    format!("unknown kind {:?}", String::from_utf8_lossy(other)),
                ));
            }
        };
        self.token = Some((id.clone(), token));
        Ok(Some(Taken { id, unit, stolen }))
    }

    fn pending(&mut self, con: &mut Connection) -> Result<u64, QueueError> {
        con.zcard(&self.lease_keys.leases)
            .map_err(|e| self.error(e, "ZCARD of the leases"))
    }

    fn commit(
        &mut self,
        con: &mut Connection,
        taken: &Taken,
        counts: &WordCounts,
        _ack_separately: bool,
        before_fcall: &mut dyn FnMut(),
    ) -> Result<CommitStats, QueueError> {
        let token = match &self.token {
            Some((id, token)) if *id == taken.id => token.clone(),
            _ => String::from("0"),
        };
        // Inline up to one pipeline's worth of pairs: each Function call
        // stays short (RedisRaft holds the log while it runs).
        let plan = StagePlan::new(
            counts.distinct() as u64,
            self.pipeline_commands as u64,
            self.pipeline_commands,
        );
        let stage = self.stage_key(&taken.id);
        let mut fcall = self.fcall("wcl_commit", &stage);
        fcall.arg(&taken.id).arg(&self.consumer).arg(&token);
        match plan {
            StagePlan::Inline => {
                for (word, count) in counts.iter() {
                    fcall.arg(word).arg(count);
                }
            }
            StagePlan::Staged { .. } => self.stage(con, &stage, counts)?,
        }
        // The mid-commit crash point: staged, not yet committed.
        before_fcall();
        let applied: u64 = fcall
            .query(con)
            .map_err(|e| self.error(e, "FCALL wcl_commit"))?;
        self.token = None;
        Ok(CommitStats {
            updates: CommitPath::Atomic.updates(counts),
            round_trips: plan.round_trips(),
            acked: applied >= 1,
            acked_units: u64::from(applied >= 1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::{RedisConfig, RedisServer};
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
    fn a_worker_gets_its_own_unit_back_and_staged_commits_apply_once() {
        let dir = tempfile::tempdir().unwrap();
        let (_server, client, mut con) = job(dir.path(), 2);
        // Leases never expire (no stealing); 2 pairs per staging round trip.
        let mut worker = client.clone().for_worker(0, 5, 2, 0);
        let first = worker.take(&mut con).unwrap().expect("a unit");
        // Reconnected (or restarted under the same name): the same unit again.
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
        let stage = client.keys().stage(&first.id, "worker-0");
        assert!(!con.exists::<_, bool>(stage).unwrap(), "stage left behind");
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
    fn the_library_declares_its_functions() {
        assert!(LEASE_LIBRARY.starts_with("#!lua name=wclease"));
        for name in ["wcl_claim", "wcl_commit", "wcl_is_complete"] {
            assert!(LEASE_LIBRARY.contains(&format!("register_function('{name}'")));
        }
        assert!(!LEASE_LIBRARY.contains("'TIME'"));
    }
}
