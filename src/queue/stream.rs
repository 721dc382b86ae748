//! The streams backend: one stream of unit messages per job, one consumer
//! group of workers, and a sorted set of counts.
//!
//! - client: `XGROUP CREATE stream group 0 MKSTREAM`, pipelined `XADD`s;
//!   at the end `ZRANGE counts a b WITHSCORES` in slices, then `DEL`.
//! - worker: `XREADGROUP GROUP group consumer COUNT 1 STREAMS stream ID`
//!   (polled every `block_ms` while there is nothing: Redis times blocked
//!   reads out only every 1/hz s) with ID `0` (its own pending messages, after a restart or a
//!   reconnect) until that is empty, then (with a steal timeout) first
//!   `XAUTOCLAIM stream group consumer IDLE_MS 0-0 COUNT 1` to steal a
//!   unit idle that long (its holder crashed or is a straggler), then `>`;
//!   a commit (see
//!   [`super::commit`]) ending in `XACK`; `XPENDING stream group` to see
//!   whether any unit is still held by someone.

use redis::streams::{StreamPendingReply, StreamReadOptions, StreamReadReply};
use redis::{Commands, Connection, Value};

use super::WorkQueue;
use super::commit::{
    COMMIT_FUNCTION, CommitPath, CommitStats, FUNCTION_LIBRARY, INLINE_MAX_PAIRS, StagePlan,
    for_each_pipeline,
};
use super::connection::Endpoint;
use super::error::QueueError;
use super::keys::JobKeys;
use super::merge::{MergeTarget, counts_blob, function_library};
use super::message::{Taken, batch_first, decode_unit, encode_unit};
use crate::input::Unit;
use crate::words::WordCounts;

/// Members read per `ZRANGE` round trip.
const READ_SLICE: isize = 50_000;
/// `XADD`s per pipeline round trip.
const ENQUEUE_CHUNK: usize = 10_000;
/// Milliseconds a staging hash of an atomic commit lives (a crashed
/// worker's stage disappears on its own).
const STAGE_TTL_MS: u64 = 3_600_000;

/// The streams work queue of one job, seen from one process.
#[derive(Debug, Clone)]
pub struct StreamQueue {
    endpoint: Endpoint,
    keys: JobKeys,
    consumer: String,
    block_ms: u64,
    pipeline_commands: usize,
    commit: CommitPath,
    /// Where the counts accumulate.
    merge: MergeTarget,
    /// Most pairs an atomic commit sends inline.
    inline_pairs: u64,
    /// Steal units idle longer than this many milliseconds (0: never).
    steal_idle_ms: u64,
    /// False until this consumer's own pending messages were all re-read.
    backlog_done: bool,
}

impl StreamQueue {
    /// The queue of job `keys` on `endpoint`, as the client sees it.
    pub fn new(endpoint: Endpoint, keys: JobKeys) -> StreamQueue {
        StreamQueue {
            endpoint,
            keys,
            consumer: "client".into(),
            block_ms: 100,
            pipeline_commands: 10_000,
            commit: CommitPath::PerUnit,
            merge: MergeTarget::Zset,
            inline_pairs: INLINE_MAX_PAIRS,
            steal_idle_ms: 0,
            backlog_done: false,
        }
    }

    /// The same queue as worker `worker` sees it: reads block up to
    /// `block_ms`, commits use `commit` with `pipeline_commands` per round trip.
    pub(crate) fn for_worker(
        mut self,
        worker: u32,
        block_ms: u64,
        pipeline_commands: usize,
        commit: CommitPath,
    ) -> StreamQueue {
        self.consumer = JobKeys::consumer(worker);
        self.block_ms = block_ms;
        self.pipeline_commands = pipeline_commands.max(1);
        self.commit = commit;
        self
    }

    /// Merges into (and reads the counts back from) `merge`.
    pub(crate) fn with_merge(mut self, merge: MergeTarget) -> StreamQueue {
        self.merge = merge;
        self
    }

    /// Sends at most `pairs` word/count pairs inline in an atomic commit;
    /// more are staged first.
    pub(crate) fn with_inline_pairs(mut self, pairs: u64) -> StreamQueue {
        self.inline_pairs = pairs;
        self
    }

    /// The key commits of a batch whose first message is `first` write into.
    fn target_key(&self, first: &str) -> String {
        self.merge.key(&self.keys, first)
    }

    /// Makes the worker steal (`XAUTOCLAIM`) units idle longer than
    /// `steal_idle_ms` before reading new ones (0: never).
    pub(crate) fn with_stealing(mut self, steal_idle_ms: u64) -> StreamQueue {
        self.steal_idle_ms = steal_idle_ms;
        self
    }

    /// Loads the Function library (`FUNCTION LOAD REPLACE`).
    pub(crate) fn load_functions(&self, con: &mut Connection) -> Result<(), QueueError> {
        redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(function_library(FUNCTION_LIBRARY))
            .query::<String>(con)
            .map(|_| ())
            .map_err(|e| self.error(e, "FUNCTION LOAD REPLACE of lua/wordcount.lua"))
    }

    /// Units pending per consumer (`XPENDING stream group` summary).
    pub(crate) fn pending_by_consumer(
        &self,
        con: &mut Connection,
    ) -> Result<Vec<(String, u64)>, QueueError> {
        let reply: StreamPendingReply = con
            .xpending(self.keys.stream(), self.keys.group())
            .map_err(|e| self.error(e, "XPENDING"))?;
        Ok(match reply {
            StreamPendingReply::Data(data) => data
                .consumers
                .into_iter()
                .map(|c| (c.name, c.pending as u64))
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Steals one unit idle longer than `steal_idle_ms`, if any.
    fn steal(&self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        let stream = self.keys.stream();
        let reply: redis::streams::StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&stream)
            .arg(self.keys.group())
            .arg(&self.consumer)
            .arg(self.steal_idle_ms)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query(con)
            .map_err(|e| self.error(e, "XAUTOCLAIM"))?;
        let Some(entry) = reply.claimed.into_iter().next() else {
            return Ok(None);
        };
        let unit = decode_unit(&entry.map).map_err(|detail| QueueError::BadMessage {
            id: entry.id.clone(),
            stream,
            detail,
        })?;
        Ok(Some(Taken {
            id: entry.id,
            unit,
            stolen: true,
        }))
    }

    /// The atomic commit of `batch`: stage if large, then one `FCALL wc_commit`.
    fn commit_atomic(
        &self,
        con: &mut Connection,
        batch: &[Taken],
        counts: &WordCounts,
        before_fcall: &mut dyn FnMut(),
    ) -> Result<CommitStats, QueueError> {
        let first = batch_first(batch)?;
        let plan = if self.merge.sends_words() {
            StagePlan::new(
                counts.distinct() as u64,
                self.inline_pairs,
                self.pipeline_commands,
            )
        } else {
            StagePlan::Inline
        };
        let stage = self.keys.stage(first, &self.consumer);
        let mut fcall = redis::cmd("FCALL");
        fcall
            .arg(COMMIT_FUNCTION)
            .arg(4)
            .arg(self.keys.stream())
            .arg(self.target_key(first))
            .arg(&stage)
            .arg(self.keys.parts())
            .arg(self.keys.group())
            .arg(self.merge.name())
            .arg(&self.consumer)
            .arg(batch.len());
        for taken in batch {
            fcall.arg(&taken.id);
        }
        match plan {
            StagePlan::Inline if !self.merge.sends_words() => {
                fcall.arg(counts_blob(counts)?);
            }
            StagePlan::Inline => {
                for (word, count) in counts.iter() {
                    fcall.arg(word).arg(count);
                }
            }
            StagePlan::Staged { .. } => {
                let mut pipe = redis::pipe();
                let mut in_pipe = 0usize;
                let mut chunks = counts.iter().peekable();
                while let Some((word, count)) = chunks.next() {
                    if in_pipe == 0 {
                        pipe.cmd("HSET").arg(&stage);
                    }
                    // Arguments of the open HSET: appended pairs.
                    pipe.arg(word).arg(count);
                    in_pipe += 1;
                    if in_pipe == self.pipeline_commands || chunks.peek().is_none() {
                        pipe.ignore();
                        pipe.cmd("PEXPIRE").arg(&stage).arg(STAGE_TTL_MS).ignore();
                        pipe.query::<()>(con)
                            .map_err(|e| self.error(e, "HSET staging of an atomic commit"))?;
                        pipe.clear();
                        in_pipe = 0;
                    }
                }
            }
        }
        before_fcall();
        let applied: u64 = fcall
            .query(con)
            .map_err(|e| self.error(e, "FCALL wc_commit"))?;
        Ok(CommitStats {
            updates: counts.distinct() as u64,
            round_trips: plan.round_trips(),
            acked: applied == 1,
            acked_units: if applied == 1 { batch.len() as u64 } else { 0 },
        })
    }

    /// The plain `parts` commit: `SET` the blob, `SADD` it to the parts,
    /// `XACK` (in the same round trip unless `ack_separately`).
    fn commit_part(
        &self,
        con: &mut Connection,
        batch: &[Taken],
        counts: &WordCounts,
        ack_separately: bool,
    ) -> Result<CommitStats, QueueError> {
        let part = self.target_key(batch_first(batch)?);
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(&part)
            .arg(counts_blob(counts)?)
            .ignore();
        pipe.cmd("SADD").arg(self.keys.parts()).arg(&part).ignore();
        let mut stats = CommitStats {
            updates: counts.distinct() as u64,
            round_trips: 1,
            ..CommitStats::default()
        };
        if ack_separately {
            pipe.query::<()>(con)
                .map_err(|e| self.error(e, "SET of a part"))?;
        } else {
            self.push_ack(&mut pipe, batch);
            let (acked,): (u64,) = pipe
                .query(con)
                .map_err(|e| self.error(e, "SET of a part + XACK"))?;
            stats.acked_units = acked;
        }
        Ok(stats)
    }

    /// Appends `XACK stream group ID...` of every unit of `batch`.
    fn push_ack(&self, pipe: &mut redis::Pipeline, batch: &[Taken]) {
        let ack = pipe
            .cmd("XACK")
            .arg(self.keys.stream())
            .arg(self.keys.group());
        for taken in batch {
            ack.arg(&taken.id);
        }
    }

    /// The job's keys.
    pub(crate) fn keys(&self) -> &JobKeys {
        &self.keys
    }

    fn error(&self, source: redis::RedisError, during: &str) -> QueueError {
        if source.code() == Some("NOGROUP") {
            return QueueError::JobLost {
                url: self.endpoint.shown().into(),
                keys: self.keys.to_string(),
                during: during.into(),
            };
        }
        self.endpoint.error(source, during)
    }

    /// Creates the group and adds one message per unit, in the given order.
    pub fn create(&self, con: &mut Connection, units: &[Unit]) -> Result<(), QueueError> {
        let (stream, group) = (self.keys.stream(), self.keys.group());
        let created: redis::RedisResult<()> = con.xgroup_create_mkstream(&stream, &group, "0");
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(self.error(e, "XGROUP CREATE"));
        }
        for chunk in units.chunks(ENQUEUE_CHUNK) {
            let mut pipe = redis::pipe();
            for unit in chunk {
                let cmd = pipe.cmd("XADD").arg(&stream).arg("*");
                for (field, value) in encode_unit(unit) {
                    cmd.arg(field).arg(value);
                }
                cmd.ignore();
            }
            pipe.query::<()>(con)
                .map_err(|e| self.error(e, "XADD of the units"))?;
        }
        Ok(())
    }

    /// After the server came back from a restart: queues the job again if
    /// its stream is gone (no snapshot had it yet; the counts went with it,
    /// so the job simply starts over), makes sure the group exists, and
    /// (for atomic commits) loads the Function again. Returns whether the
    /// units were queued again.
    pub(crate) fn restore(
        &self,
        con: &mut Connection,
        units: &[Unit],
        atomic: bool,
    ) -> Result<bool, QueueError> {
        let stream_exists: bool = con
            .exists(self.keys.stream())
            .map_err(|e| self.error(e, "EXISTS of the job's stream"))?;
        if !stream_exists {
            self.create(con, units)?;
        } else {
            let created: redis::RedisResult<()> =
                con.xgroup_create(self.keys.stream(), self.keys.group(), "0");
            if let Err(e) = created
                && e.code() != Some("BUSYGROUP")
            {
                return Err(self.error(e, "XGROUP CREATE"));
            }
        }
        if atomic {
            self.load_functions(con)?;
        }
        Ok(!stream_exists)
    }

    /// True when every unit of the stream was delivered and acknowledged:
    /// the group's last delivered id is the stream's last id and nothing is
    /// pending. (After a restore from an older snapshot it may not be, even
    /// though every worker exited.)
    pub(crate) fn is_complete(&self, con: &mut Connection) -> Result<bool, QueueError> {
        let stream: redis::streams::StreamInfoStreamReply = con
            .xinfo_stream(self.keys.stream())
            .map_err(|e| self.error(e, "XINFO STREAM"))?;
        let groups: redis::streams::StreamInfoGroupsReply = con
            .xinfo_groups(self.keys.stream())
            .map_err(|e| self.error(e, "XINFO GROUPS"))?;
        let group = self.keys.group();
        Ok(groups.groups.iter().any(|g| {
            g.name == group && g.pending == 0 && g.last_delivered_id == stream.last_generated_id
        }))
    }

    /// Units acknowledged so far: the entries delivered to the group
    /// (`XINFO GROUPS` entries-read) minus those still pending.
    pub(crate) fn acked(&self, con: &mut Connection) -> Result<u64, QueueError> {
        let groups: redis::streams::StreamInfoGroupsReply = con
            .xinfo_groups(self.keys.stream())
            .map_err(|e| self.error(e, "XINFO GROUPS"))?;
        let group = self.keys.group();
        Ok(groups
            .groups
            .iter()
            .find(|g| g.name == group)
            .map_or(0, |g| {
                g.entries_read.unwrap_or(0).saturating_sub(g.pending) as u64
            }))
    }

    /// Reads the job's counts back from its merge target (words are raw
    /// bytes): the sorted set, the hash, or every part merged here.
    pub fn read_counts(&self, con: &mut Connection) -> Result<WordCounts, QueueError> {
        match self.merge {
            MergeTarget::Zset => self.read_zset(con),
            MergeTarget::Hash => self.read_hash(con),
            MergeTarget::Parts => self.read_parts(con),
        }
    }

    /// Reads the hash of counts with `HSCAN` and orders nothing: the
    /// output order is built by whoever prints it.
    fn read_hash(&self, con: &mut Connection) -> Result<WordCounts, QueueError> {
        let key = self.keys.hash_counts();
        let during = "HSCAN of the counts";
        let mut counts = WordCounts::new();
        let mut cursor = 0u64;
        loop {
            let (next, fields): (u64, Vec<(Vec<u8>, u64)>) = redis::cmd("HSCAN")
                .arg(&key)
                .arg(cursor)
                .arg("COUNT")
                .arg(READ_SLICE)
                .query(con)
                .map_err(|e| self.error(e, during))?;
            for (word, count) in fields {
                counts.add(&word, count);
            }
            if next == 0 {
                return Ok(counts);
            }
            cursor = next;
        }
    }

    /// Reads every part (`SMEMBERS` of the parts, `MGET` in slices) and
    /// merges them.
    fn read_parts(&self, con: &mut Connection) -> Result<WordCounts, QueueError> {
        let parts: Vec<String> = con
            .smembers(self.keys.parts())
            .map_err(|e| self.error(e, "SMEMBERS of the parts"))?;
        let mut counts = WordCounts::new();
        for slice in parts.chunks(64) {
            let blobs: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(slice)
                .query(con)
                .map_err(|e| self.error(e, "MGET of the parts"))?;
            for (name, blob) in slice.iter().zip(blobs) {
                let bad = |detail: String| QueueError::BadReply {
                    url: self.endpoint.shown().into(),
                    during: format!("reading part {name}"),
                    detail,
                };
                let blob = blob.ok_or_else(|| bad("the part is listed but missing".into()))?;
                counts
                    .read_binary(blob.as_slice())
                    .map_err(|e| bad(format!("not a whole count map: {e}")))?;
            }
        }
        Ok(counts)
    }

    /// Reads the whole sorted set of counts.
    fn read_zset(&self, con: &mut Connection) -> Result<WordCounts, QueueError> {
        let key = self.keys.counts();
        let during = "ZRANGE of the counts";
        let members: usize = con
            .zcard(&key)
            .map_err(|e| self.error(e, "ZCARD of the counts"))?;
        let mut counts = WordCounts::new();
        let mut start = 0isize;
        while (start as usize) < members {
            let reply: Value = redis::cmd("ZRANGE")
                .arg(&key)
                .arg(start)
                .arg(start + READ_SLICE - 1)
                .arg("WITHSCORES")
                .query(con)
                .map_err(|e| self.error(e, during))?;
            let read =
                add_scored_members(reply, &mut counts).map_err(|detail| QueueError::BadReply {
                    url: self.endpoint.shown().into(),
                    during: during.into(),
                    detail,
                })?;
            if read == 0 {
                break;
            }
            start += read as isize;
        }
        Ok(counts)
    }

    /// Deletes the job's keys (the group goes with the stream), its parts,
    /// and any staging hash a crashed worker left behind
    /// (`wc:{JOB}:stage:*`, `wc:{JOB}:part:*`).
    pub(crate) fn delete(&self, con: &mut Connection) -> Result<(), QueueError> {
        let mut keys = self.keys.all();
        for kind in ["stage", "part"] {
            let pattern = format!("wc:{{{}}}:{kind}:*", self.keys.job());
            let found: Vec<String> = con
                .scan_match::<_, String>(&pattern)
                .map_err(|e| self.error(e, "SCAN of the job's staging keys and parts"))?
                .filter_map(Result::ok)
                .collect();
            keys.extend(found);
        }
        con.del::<_, ()>(keys)
            .map_err(|e| self.error(e, "DEL of the job's keys"))
    }

    /// Sends the `XACK` of every unit of `batch` alone; returns how many
    /// it acknowledged.
    fn ack(&self, con: &mut Connection, batch: &[Taken]) -> Result<u64, QueueError> {
        let mut pipe = redis::pipe();
        self.push_ack(&mut pipe, batch);
        let (acked,): (u64,) = pipe.query(con).map_err(|e| self.error(e, "XACK"))?;
        Ok(acked)
    }
}

impl WorkQueue for StreamQueue {
    fn on_connect(&mut self, con: &mut Connection) -> Result<(), QueueError> {
        // Whatever this consumer held before the connection broke is still
        // pending for it: read that again first.
        self.backlog_done = false;
        if self.commit == CommitPath::Atomic {
            self.load_functions(con)?;
        }
        Ok(())
    }

    fn take(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        let taken = self.take_now(con)?;
        if taken.is_none() {
            // Redis checks blocked reads' timeouts only every 1/hz s
            // (100 ms at the default hz 10), so a `BLOCK 10` read would
            // hold an idle worker ~100 ms; poll from here instead.
            std::thread::sleep(std::time::Duration::from_millis(self.block_ms));
        }
        Ok(taken)
    }

    fn take_now(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError> {
        let stream = self.keys.stream();
        if self.backlog_done
            && self.steal_idle_ms > 0
            && let Some(stolen) = self.steal(con)?
        {
            return Ok(Some(stolen));
        }
        loop {
            // Own pending messages first (after a restart or a reconnect),
            // then new ones.
            let id = if self.backlog_done { ">" } else { "0" };
            let options = StreamReadOptions::default()
                .group(self.keys.group(), &self.consumer)
                .count(1);
            let reply: Option<StreamReadReply> = con
                .xread_options(&[&stream], &[id], &options)
                .map_err(|e| self.error(e, "XREADGROUP"))?;
            let entry = reply
                .and_then(|r| r.keys.into_iter().next())
                .and_then(|k| k.ids.into_iter().next());
            match entry {
                Some(entry) => {
                    let unit =
                        decode_unit(&entry.map).map_err(|detail| QueueError::BadMessage {
                            id: entry.id.clone(),
                            stream: stream.clone(),
                            detail,
                        })?;
                    return Ok(Some(Taken {
                        id: entry.id,
                        unit,
                        stolen: false,
                    }));
                }
                None if !self.backlog_done => self.backlog_done = true,
                None => return Ok(None),
            }
        }
    }

    fn atomic_batches(&self) -> bool {
        self.commit == CommitPath::Atomic
    }

    fn pending(&mut self, con: &mut Connection) -> Result<u64, QueueError> {
        let reply: StreamPendingReply = con
            .xpending(self.keys.stream(), self.keys.group())
            .map_err(|e| self.error(e, "XPENDING"))?;
        Ok(reply.count() as u64)
    }

    fn commit_batch(
        &mut self,
        con: &mut Connection,
        batch: &[Taken],
        counts: &WordCounts,
        ack_separately: bool,
        before_ack: &mut dyn FnMut(),
    ) -> Result<CommitStats, QueueError> {
        if self.commit == CommitPath::Atomic {
            return self.commit_atomic(con, batch, counts, before_ack);
        }
        let mut stats = if self.merge.sends_words() {
            self.commit_updates(con, batch, counts, ack_separately)?
        } else {
            self.commit_part(con, batch, counts, ack_separately)?
        };
        if ack_separately {
            before_ack();
            stats.acked_units = self.ack(con, batch)?;
            stats.round_trips += 1;
        }
        stats.acked = stats.acked_units == batch.len() as u64;
        Ok(stats)
    }
}

impl StreamQueue {
    /// The plain zset/hash commit: pipelines of updates, the last one
    /// ending in the `XACK` of the batch unless `ack_separately`.
    fn commit_updates(
        &self,
        con: &mut Connection,
        batch: &[Taken],
        counts: &WordCounts,
        ack_separately: bool,
    ) -> Result<CommitStats, QueueError> {
        let mut stats = CommitStats {
            updates: self.commit.updates(counts),
            ..CommitStats::default()
        };
        let key = self.target_key(batch_first(batch)?);
        for_each_pipeline(
            self.commit,
            self.merge,
            &key,
            counts,
            self.pipeline_commands,
            |pipe, last| {
                if last && !ack_separately {
                    self.push_ack(pipe, batch);
                    let (acked,): (u64,) = pipe
                        .query(con)
                        .map_err(|e| self.error(e, "word updates + XACK"))?;
                    stats.acked_units = acked;
                } else if !pipe.is_empty() {
                    pipe.query::<()>(con)
                        .map_err(|e| self.error(e, "word updates"))?;
                } else {
                    return Ok(());
                }
                stats.round_trips += 1;
                Ok::<(), QueueError>(())
            },
        )?;
        Ok(stats)
    }
}

/// Adds the members of a `ZRANGE ... WITHSCORES` reply (RESP2: a flat
/// member/score array; RESP3: member/score pairs) and returns how many.
fn add_scored_members(reply: Value, counts: &mut WordCounts) -> Result<usize, String> {
    let Value::Array(items) = reply else {
        return Err(format!("expected an array, got {reply:?}"));
    };
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Array(pair) => flat.extend(pair),
            other => flat.push(other),
        }
    }
    if flat.len() % 2 != 0 {
        return Err("odd number of member/score items".into());
    }
    let mut read = 0;
    let mut items = flat.into_iter();
    while let (Some(member), Some(score)) = (items.next(), items.next()) {
        let Value::BulkString(word) = member else {
            return Err(format!("member is not a string: {member:?}"));
        };
        counts.add(&word, parse_count(&score)?);
        read += 1;
    }
    Ok(read)
}

/// A score that must be a whole, non-negative count.
fn parse_count(score: &Value) -> Result<u64, String> {
    let float = match score {
        Value::BulkString(bytes) => {
            let text = std::str::from_utf8(bytes).map_err(|_| "score is not text".to_string())?;
            if let Ok(whole) = text.parse::<u64>() {
                return Ok(whole);
            }
            text.parse::<f64>()
                .map_err(|_| format!("score {text:?} is not a number"))?
        }
        Value::Double(value) => *value,
        Value::Int(value) => *value as f64,
        other => return Err(format!("score is not a number: {other:?}")),
    };
    if float >= 0.0 && float.fract() == 0.0 && float < 9.007_199_254_740_992e15 {
        Ok(float as u64)
    } else {
        Err(format!("score {float} is not a whole count"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{InputFile, count_unit, plan_units};
    use crate::test_support::{RedisConfig, RedisServer};
    use crate::words::Tokenizer;

    /// Two one-file units ("a b" and "b c") queued on a fresh server.
    fn two_units(dir: &std::path::Path) -> Vec<Unit> {
        let files: Vec<InputFile> = [("u1.txt", "a b\n"), ("u2.txt", "b c\n")]
            .iter()
            .map(|(name, text)| {
                let path = dir.join(name);
                std::fs::write(&path, text).unwrap();
                InputFile {
                    path,
                    bytes: text.len() as u64,
                }
            })
            .collect();
        plan_units(&files, 1 << 20).unwrap()
    }

    fn counted(units: &[&Unit]) -> WordCounts {
        let mut counts = WordCounts::new();
        for unit in units {
            count_unit(unit, Tokenizer::Whitespace, &mut counts).unwrap();
        }
        counts
    }

    #[test]
    fn a_batch_with_a_stolen_unit_applies_nothing_and_each_unit_counts_once() {
        let dir = tempfile::tempdir().unwrap();
        let units = two_units(dir.path());
        let server = RedisServer::start(RedisConfig::default()).unwrap();
        let endpoint = Endpoint::new(&server.url());
        let keys = JobKeys::random();
        for merge in MergeTarget::ALL {
            let keys = JobKeys::new(&format!("{}-{merge}", keys.job())).unwrap();
            let client = StreamQueue::new(endpoint.clone(), keys.clone()).with_merge(merge);
            let mut con = endpoint.connect().unwrap();
            client.create(&mut con, &units).unwrap();
            let worker = |index| {
                StreamQueue::new(endpoint.clone(), keys.clone())
                    .for_worker(index, 5, 100, CommitPath::Atomic)
                    .with_merge(merge)
            };
            let (mut slow, mut thief) = (worker(0), worker(1).with_stealing(1));
            slow.on_connect(&mut con).unwrap();
            let first = slow.take_now(&mut con).unwrap().unwrap();
            let second = slow.take_now(&mut con).unwrap().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
            thief.on_connect(&mut con).unwrap();
            assert!(
                thief.take_now(&mut con).unwrap().is_none(),
                "backlog read first"
            );
            let stolen = thief.take_now(&mut con).unwrap().unwrap();
            assert!(stolen.stolen && stolen.id == first.id, "{stolen:?}");

            let batch = [first.clone(), second.clone()];
            let both = counted(&[&first.unit, &second.unit]);
            let refused = slow
                .commit_batch(&mut con, &batch, &both, false, &mut || {})
                .unwrap();
            assert!(
                !refused.acked && refused.acked_units == 0,
                "{merge}: {refused:?}"
            );
            assert!(client.read_counts(&mut con).unwrap().is_empty(), "{merge}");
            assert_eq!(
                slow.pending(&mut con).unwrap(),
                2,
                "nothing was acknowledged"
            );

            let by_thief = thief
                .commit(
                    &mut con,
                    &stolen,
                    &counted(&[&stolen.unit]),
                    false,
                    &mut || {},
                )
                .unwrap();
            assert!(by_thief.acked, "{merge}");
            let late = slow
                .commit(
                    &mut con,
                    &first,
                    &counted(&[&first.unit]),
                    false,
                    &mut || {},
                )
                .unwrap();
            assert!(!late.acked, "{merge}: the straggler's copy is refused");
            let own = slow
                .commit(
                    &mut con,
                    &second,
                    &counted(&[&second.unit]),
                    false,
                    &mut || {},
                )
                .unwrap();
            assert!(own.acked, "{merge}");
            assert!(client.is_complete(&mut con).unwrap());
            assert!(client.read_counts(&mut con).unwrap() == both, "{merge}");
        }
    }

    fn bulk(bytes: &[u8]) -> Value {
        Value::BulkString(bytes.to_vec())
    }

    #[test]
    fn scored_members_parse_flat_and_paired_replies() {
        let mut counts = WordCounts::new();
        let flat = Value::Array(vec![
            bulk(b"the"),
            bulk(b"12"),
            bulk(b"\xff\x00x"),
            bulk(b"3"),
        ]);
        assert_eq!(add_scored_members(flat, &mut counts), Ok(2));
        let paired = Value::Array(vec![Value::Array(vec![bulk(b"a"), Value::Double(5.0)])]);
        assert_eq!(add_scored_members(paired, &mut counts), Ok(1));
        assert_eq!(
            (
                counts.get(b"the"),
                counts.get(b"\xff\x00x"),
                counts.get(b"a")
            ),
            (12, 3, 5)
        );
    }

    #[test]
    fn bad_scores_are_errors() {
        let mut counts = WordCounts::new();
        for score in [bulk(b"1.5"), bulk(b"-1"), bulk(b"abc"), Value::Nil] {
            let reply = Value::Array(vec![bulk(b"w"), score.clone()]);
            assert!(add_scored_members(reply, &mut counts).is_err(), "{score:?}");
        }
        assert!(add_scored_members(Value::Array(vec![bulk(b"w")]), &mut counts).is_err());
        assert_eq!(parse_count(&bulk(b"1e3")), Ok(1000));
    }
}
