//! The Redis-mode worker process (`harness redis-worker`, started by
//! [`crate::redis_run`]): stateless, one Redis connection, a loop of
//! take -> count -> commit, and reconnection when Redis goes away.
//!
//! The loop per unit, with the crash points of [`crate::faults`]:
//!
//! ```text
//! take (own pending first, then new)   -- wait_s
//!   after-read
//! count_unit                           -- count_s
//!   mid-count, before-commit
//! ZINCRBY pipelines [mid-commit] XACK  -- merge_s
//!   after-commit
//! ```
//!
//! When a read returns nothing and `XPENDING` shows no unit held by anyone,
//! the worker prints its [`WorkerStats`] as one JSON line and exits 0. On a
//! connection-level error it reconnects with backoff for up to
//! `reconnect_s`, prepares the new connection ([`WorkQueue::on_connect`])
//! and carries on with the units it still holds; while the job's stream is
//! missing (a server restarted without a snapshot) it waits for the client
//! to queue the job again, for up to `reconnect_s`. With `steal_idle_ms` > 0 (the run's XAUTOCLAIM timeout)
//! the take first steals (`XAUTOCLAIM`) a unit idle that long (a `steal`
//! event, counted in `units_stolen`); a commit whose acknowledgement found
//! the message already acknowledged is a `refused` event and counted in
//! `duplicate_commits` (with `--atomic` its counts were not applied; on the
//! other paths they were, i.e. counted twice).
//!
//! With replication (`wait_replicas` > 0) every commit is followed by
//! `WAIT f TIMEOUT` on the same connection; the worker records how long it
//! waited and the fewest replicas that acknowledged a commit. A commit the
//! primary refuses (`NOREPLICAS`, `READONLY`) or that a failover cuts off
//! is counted in `commit_retries` and retried after reconnecting through
//! Sentinel: the unit is still pending for this worker, so it is re-read
//! and committed again. With the atomic commit that is never applied
//! twice: replication applies a Function's effects (the XACK and the
//! ZINCRBYs together) in order, so a promoted replica holds a prefix of the
//! primary's history: either the commit is in it (XACK now returns 0, the
//! retry applies nothing) or neither its counts nor its acknowledgement
//! are (the unit is delivered again and counted once).
//!
//! A primary paused (SIGSTOP, a stalled VM) longer than Sentinel's
//! down-after time is replaced while it sleeps; when it resumes it still
//! believes it is the primary until Sentinel demotes it, and a commit a
//! worker had sent it may run there. Exactness still holds for the same
//! reason: the ack and the merge are one Function call, applied or lost
//! together. The resumed node has lost its replicas, so
//! `min-replicas-to-write f` refuses the call (`NOREPLICAS`), or, if it
//! ran, its effects live only on a node whose history Sentinel discards
//! when it makes it a replica of the new primary (a full resync); in both
//! cases the unit is still pending on the new primary, the worker
//! reconnects through Sentinel (`READONLY`, `NOREPLICAS`, a timeout, a
//! `BUSY` reply are all "Redis is away": wait, reconnect, retry) and the
//! unit is committed there once. Transient replies (`BUSY`, `LOADING`,
//! `MASTERDOWN`, `TRYAGAIN`, `CLUSTERDOWN`) are waited out with the
//! reconnect backoff, never fatal.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use redis::Connection;

use crate::events::{EventKind, EventWriter};
use crate::exit_code;
use crate::faults::{CrashPlan, CrashPoint, Crasher};
use crate::input::{Unit, count_unit};
use crate::queue::{
    CommitPath, CommitStats, Endpoint, JobKeys, JobQueue, MergeTarget, QueueBackend, QueueError,
    Taken, WorkQueue, WorkerStats, unit_label,
};
use crate::words::{Tally, Tokenizer, WordCounts};

/// First pause between reconnect attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest pause between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Everything one worker needs; the client sends it to the worker process
/// as JSON (see `redis_run`), so both sides share this one definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerConfig {
    /// The Redis URL (with password).
    pub url: String,
    /// The job id (`wc:{JOB}:*`).
    pub job: String,
    /// This worker's index (its consumer name is `worker-INDEX`).
    pub worker: u32,
    /// What counts as a word.
    pub tokenizer: Tokenizer,
    /// How counts are merged.
    pub commit: CommitPath,
    /// Where counts accumulate.
    #[serde(default)]
    pub merge: MergeTarget,
    /// Units merged locally per commit (the combiner; 1: each on its own).
    #[serde(default = "one_unit")]
    pub commit_units: u32,
    /// Where to append events; `None` records none.
    pub events: Option<PathBuf>,
    /// Where to crash on purpose, if anywhere.
    pub crash: Option<CrashPlan>,
    /// Milliseconds a read blocks when no unit is waiting.
    pub block_ms: u64,
    /// Commands per pipeline round trip.
    pub pipeline_commands: usize,
    /// Most pairs an atomic commit sends inline; more are staged first.
    #[serde(default = "inline_max_pairs")]
    pub inline_pairs: u64,
    /// Seconds to keep trying to reconnect.
    pub reconnect_s: u64,
    /// Steal units idle longer than this many milliseconds (0: never).
    pub steal_idle_ms: u64,
    /// After each commit, `WAIT` for this many replicas (0: no WAIT; the
    /// replicated topology's f).
    #[serde(default)]
    pub wait_replicas: u32,
    /// How long that `WAIT` may block, milliseconds.
    #[serde(default)]
    pub wait_timeout_ms: u64,
    /// The work-queue backend.
    #[serde(default)]
    pub queue: QueueBackend,
    /// Where the units' files are on this host (a worker joined from
    /// another host, see [`crate::remote`]); `None`: as queued.
    #[serde(default)]
    pub input_map: Option<crate::input::InputMap>,
    /// The emulated host this worker runs on (1-based; 0: not emulated).
    #[serde(default)]
    pub host: u32,
}

fn one_unit() -> u32 {
    1
}

fn inline_max_pairs() -> u64 {
    crate::queue::INLINE_MAX_PAIRS
}

/// Runs the worker loop until no unit is left; returns its measurements.
pub(crate) fn run_worker(config: &WorkerConfig) -> Result<WorkerStats, QueueError> {
    let endpoint = Endpoint::new(&config.url);
    let keys = JobKeys::new(&config.job).map_err(QueueError::BadOptions)?;
    let mut queue = JobQueue::new(config.queue, endpoint.clone(), keys)
        .for_worker(
            config.worker,
            config.block_ms,
            config.pipeline_commands,
            config.commit,
            config.steal_idle_ms,
        )
        .with_merge(config.merge)
        .with_inline_pairs(config.inline_pairs);
    let mut worker = Worker {
        config,
        endpoint,
        events: EventLog::open(config.events.as_deref(), config.worker),
        crash: Crasher::new(config.crash),
        stats: WorkerStats {
            worker: config.worker,
            pid: std::process::id(),
            host: config.host,
            ..WorkerStats::default()
        },
        counts: WordCounts::new(),
        spare: WordCounts::new(),
        carried: None,
        first_attempt: std::collections::HashMap::new(),
    };
    worker.events.record(
        EventKind::Start,
        "",
        &format!(
            "pid={} commit={} host={}",
            std::process::id(),
            config.commit,
            config.host
        ),
    );
    let mut con = worker.connect(&mut queue, false)?;
    let mut job_lost_since: Option<Instant> = None;
    loop {
        match worker.step(&mut queue, &mut con) {
            Ok(Step::Finished) => break,
            Ok(Step::Worked | Step::Waited) => job_lost_since = None,
            Err(e) if e.is_job_lost() => {
                // The server came back without the job (no snapshot yet):
                // the client queues it again; wait for that, re-reading this
                // worker's own pending units first once it is there.
                let since = *job_lost_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(config.reconnect_s) {
                    return Err(e);
                }
                std::thread::sleep(FIRST_BACKOFF);
                match queue.on_connect(&mut con) {
                    Err(e) if !e.is_job_lost() && !e.is_redis_gone() => return Err(e),
                    _ => {}
                }
            }
            Err(e) if e.is_redis_gone() => {
                worker
                    .events
                    .record(EventKind::RedisDown, "", &e.to_string());
                con = worker.connect(&mut queue, true)?;
                worker.stats.measured.reconnects += 1;
                worker.events.record(EventKind::RedisUp, "", "");
            }
            Err(e) => return Err(e),
        }
    }
    worker.events.record(
        EventKind::Exit,
        "",
        &format!("units={}", worker.stats.measured.units),
    );
    worker.stats.note_peak_rss();
    Ok(worker.stats)
}

/// The `redis-worker` command: runs the loop, prints the stats line on
/// stdout, or the error on stderr; returns the process exit code
/// ([`exit_code`]).
pub(crate) fn serve(config: &WorkerConfig) -> i32 {
    match run_worker(config) {
        Ok(stats) => {
            println!("{}", stats.to_line());
            exit_code::OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            if e.is_bad_input() {
                exit_code::BAD_INPUT
            } else if e.is_redis_gone() {
                exit_code::REDIS_GONE
            } else if e.is_auth() {
                exit_code::AUTH
            } else {
                exit_code::FAILED
            }
        }
    }
}

/// What one pass of the loop did.
enum Step {
    /// A unit was counted and committed.
    Worked,
    /// Nothing to take, but units are still pending somewhere.
    Waited,
    /// Nothing to take and nothing pending: done.
    Finished,
}

struct Worker<'a> {
    config: &'a WorkerConfig,
    endpoint: Endpoint,
    events: EventLog,
    crash: Crasher,
    stats: WorkerStats,
    /// The current unit's counts; cleared, not reallocated, per unit.
    counts: WordCounts,
    /// The counts of a unit counted on its own before it joins a batch
    /// (or, when it did not fit, of [`Worker::carried`]).
    spare: WordCounts,
    /// A unit taken and counted that did not fit the last batch (the
    /// backend's [`WorkQueue::batch_pairs`]): it starts the next one.
    carried: Option<(Taken, Tally)>,
    /// When the commit of a unit cut off by a failover was first tried.
    first_attempt: std::collections::HashMap<String, Instant>,
}

impl Worker<'_> {
    /// Connects (retrying while Redis is unreachable, for up to
    /// `reconnect_s`) and prepares the connection.
    fn connect(
        &mut self,
        queue: &mut impl WorkQueue,
        again: bool,
    ) -> Result<Connection, QueueError> {
        let deadline = Instant::now() + Duration::from_secs(self.config.reconnect_s);
        let mut backoff = FIRST_BACKOFF;
        let mut noted = again;
        loop {
            let attempt = self
                .endpoint
                .connect()
                .and_then(|mut con| queue.on_connect(&mut con).map(|()| con));
            match attempt {
                Ok(con) => return Ok(con),
                Err(e) if e.is_redis_gone() && Instant::now() + backoff < deadline => {
                    if !noted {
                        eprintln!(
                            "note: Redis not reachable yet ({e}); retrying for up to {} s",
                            self.config.reconnect_s
                        );
                        noted = true;
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes, counts and commits one unit (or, with `commit_units` K > 1,
    /// up to K units merged into one commit), or finds there is none.
    fn step(
        &mut self,
        queue: &mut impl WorkQueue,
        con: &mut Connection,
    ) -> Result<Step, QueueError> {
        self.counts.clear();
        let mut tally = Tally::default();
        let mut batch = Vec::new();
        if let Some((taken, counted)) = self.carried.take() {
            // Counted last time but too big to join that batch: its counts
            // are in `spare`.
            std::mem::swap(&mut self.counts, &mut self.spare);
            tally.add(counted);
            batch.push(taken);
        } else {
            let waiting = Instant::now();
            let Some(first) = queue.take(con)? else {
                // Done only when Redis says the whole job is (nothing held by
                // anyone, every unit delivered and acknowledged), not merely
                // when nothing is held at this instant.
                let done = queue.is_done(con)?;
                self.stats.measured.wait_s += waiting.elapsed().as_secs_f64();
                return Ok(if done { Step::Finished } else { Step::Waited });
            };
            self.stats.measured.wait_s += waiting.elapsed().as_secs_f64();
            tally.add(self.count_taken(&first, false)?);
            batch.push(first);
        }
        let most_pairs = queue.batch_pairs();
        loop {
            // A commit-phase crash point planned for this unit closes the
            // batch here, so the crash happens where the plan says.
            let crash_at_commit = [
                CrashPoint::BeforeCommit,
                CrashPoint::MidCommit,
                CrashPoint::AfterCommit,
            ]
            .iter()
            .any(|&point| self.crash.armed(point));
            if batch.len() >= self.config.commit_units.max(1) as usize || crash_at_commit {
                break;
            }
            let waiting = Instant::now();
            let next = queue.take_now(con)?;
            self.stats.measured.wait_s += waiting.elapsed().as_secs_f64();
            let Some(next) = next else { break };
            // A unit of this very batch, idle past the steal timeout
            // while its siblings were counted, comes back through the
            // steal: it is already counted here, so the batch ends.
            if batch.iter().any(|held| held.id == next.id) {
                break;
            }
            let Some(most) = most_pairs else {
                tally.add(self.count_taken(&next, false)?);
                batch.push(next);
                continue;
            };
            // The backend commits at most `most` pairs per batch: a unit
            // whose words might not fit waits for the next batch.
            self.spare.clear();
            let counted = self.count_taken(&next, true)?;
            if self.counts.distinct() + self.spare.distinct() > most {
                self.carried = Some((next, counted));
                break;
            }
            for (word, count) in self.spare.iter() {
                self.counts.add(word, count);
            }
            tally.add(counted);
            batch.push(next);
        }
        let label = unit_label(&batch[batch.len() - 1].unit);
        self.crash_point(CrashPoint::BeforeCommit, &label);

        let merging = Instant::now();
        let ack_separately = self.crash.armed(CrashPoint::MidCommit);
        let (crash, events, counts) = (&self.crash, &mut self.events, &self.counts);
        let commit = queue
            .commit_batch(con, &batch, counts, ack_separately, &mut || {
                crash.reach(CrashPoint::MidCommit, || {
                    events.record(EventKind::Crash, &label, CrashPoint::MidCommit.name())
                })
            })
            .inspect_err(|e| self.note_commit_error(e, &batch, merging))?;
        self.stats.measured.merge_s += merging.elapsed().as_secs_f64();
        self.note_commit(&commit, &batch, merging);
        if batch.len() > 1 && queue.atomic_batches() && !commit.acked {
            // Some unit of the batch was stolen meanwhile: nothing was
            // applied. Commit the units one by one (recounting each): the
            // ones still this worker's are applied once, the stolen ones
            // are refused if their thief committed first.
            self.events.record(
                EventKind::Refused,
                &label,
                &format!("batch of {} units; committing them one by one", batch.len()),
            );
            for taken in &batch {
                self.commit_alone(queue, con, taken)?;
            }
        } else {
            self.stats.measured.duplicate_commits += batch.len() as u64 - commit.acked_units;
            for taken in &batch {
                self.record_commit(taken, &commit, &format!(" batch={}", batch.len()));
            }
        }
        self.stats.measured.units += batch.len() as u64;
        self.stats.measured.bytes += tally.bytes;
        self.stats.measured.words += tally.words;
        if self.config.wait_replicas > 0 {
            let waiting = Instant::now();
            let acked = self.endpoint.wait_replicas(
                con,
                self.config.wait_replicas,
                self.config.wait_timeout_ms,
            )?;
            self.stats
                .measured
                .wait_ms
                .record(waiting.elapsed().as_secs_f64() * 1000.0);
            self.stats.measured.min_replicas_acked = Some(
                self.stats
                    .measured
                    .min_replicas_acked
                    .map_or(acked, |least| least.min(acked)),
            );
        }
        self.crash_point(CrashPoint::AfterCommit, &label);
        Ok(Step::Worked)
    }

    /// Records the take of one unit and counts it into `self.counts`
    /// (adding to the units of the batch before it; into `self.spare`
    /// with `spare`), with the crash points of reading and counting.
    fn count_taken(&mut self, taken: &Taken, spare: bool) -> Result<Tally, QueueError> {
        self.crash.unit_taken();
        let label = unit_label(&taken.unit);
        if taken.stolen {
            self.stats.measured.units_stolen += 1;
            self.events.record(EventKind::Steal, &label, &taken.id);
        }
        self.events.record(EventKind::Take, &label, &taken.id);
        self.crash_point(CrashPoint::AfterRead, &label);

        let counting = Instant::now();
        let unit = self.local_unit(&taken.unit).into_owned();
        let into = if spare {
            &mut self.spare
        } else {
            &mut self.counts
        };
        let before = into.distinct();
        let tally = count_unit(&unit, self.config.tokenizer, into)?;
        let distinct = into.distinct() - before;
        self.crash_point(CrashPoint::MidCount, &label);
        self.stats.measured.count_s += counting.elapsed().as_secs_f64();
        self.events.record(
            EventKind::Counted,
            &label,
            &format!("words={} distinct={distinct}", tally.words),
        );
        Ok(tally)
    }

    /// Recounts `taken` alone and commits it on its own (after a refused
    /// batch).
    fn commit_alone(
        &mut self,
        queue: &mut impl WorkQueue,
        con: &mut Connection,
        taken: &Taken,
    ) -> Result<(), QueueError> {
        let counting = Instant::now();
        self.counts.clear();
        count_unit(
            &self.local_unit(&taken.unit),
            self.config.tokenizer,
            &mut self.counts,
        )?;
        self.stats.measured.count_s += counting.elapsed().as_secs_f64();
        let merging = Instant::now();
        let commit = queue
            .commit(con, taken, &self.counts, false, &mut || {})
            .inspect_err(|e| self.note_commit_error(e, std::slice::from_ref(taken), merging))?;
        self.stats.measured.merge_s += merging.elapsed().as_secs_f64();
        self.note_commit(&commit, std::slice::from_ref(taken), merging);
        if !commit.acked {
            self.stats.measured.duplicate_commits += 1;
        }
        self.record_commit(taken, &commit, "");
        Ok(())
    }

    /// Records a `committed` (or, when nothing was applied, `refused`)
    /// event for `taken`; `extra` is appended to the detail.
    fn record_commit(&mut self, taken: &Taken, commit: &CommitStats, extra: &str) {
        let kind = if commit.acked {
            EventKind::Committed
        } else {
            EventKind::Refused
        };
        self.events.record(
            kind,
            &unit_label(&taken.unit),
            &format!(
                "updates={} round_trips={}{extra}",
                commit.updates, commit.round_trips
            ),
        );
    }

    /// `unit` with its path as this host sees it (a worker joined from
    /// another host maps the queued path, see [`crate::remote`]).
    fn local_unit<'u>(&self, unit: &'u Unit) -> std::borrow::Cow<'u, Unit> {
        match &self.config.input_map {
            Some(map) => std::borrow::Cow::Owned(map.unit(unit)),
            None => std::borrow::Cow::Borrowed(unit),
        }
    }

    /// Adds what a commit of `batch`, started at `started`, sent to the
    /// stats, and how long it took: from the first attempt at committing
    /// any of its units (a commit cut off by a failover is retried after
    /// reconnecting; the wait in between is the stall).
    fn note_commit(&mut self, commit: &CommitStats, batch: &[Taken], started: Instant) {
        self.stats.measured.word_updates += commit.updates;
        self.stats.measured.round_trips += commit.round_trips;
        let first = batch
            .iter()
            .filter_map(|taken| self.first_attempt.remove(&taken.id))
            .fold(started, Instant::min);
        self.stats
            .measured
            .commit_ms
            .record(first.elapsed().as_secs_f64() * 1000.0);
    }

    /// A commit of `batch` started at `started` failed: counts a retry
    /// when Redis went away, and remembers when the units' commit began.
    fn note_commit_error(&mut self, e: &QueueError, batch: &[Taken], started: Instant) {
        if e.is_redis_gone() {
            for taken in batch {
                self.first_attempt
                    .entry(taken.id.clone())
                    .or_insert(started);
            }
            // Refused (NOREPLICAS, READONLY) or cut off by a failover: the
            // units are still this worker's pending units, re-read and
            // committed again after reconnecting (an atomic commit applies
            // at most once).
            self.stats.measured.commit_retries += 1;
        }
    }

    /// Crashes here if the plan says so, recording a `crash` event first.
    fn crash_point(&mut self, point: CrashPoint, label: &str) {
        let events = &mut self.events;
        self.crash.reach(point, || {
            events.record(EventKind::Crash, label, point.name())
        });
    }
}

/// The worker's event log; a failure to write it is reported once and
/// otherwise ignored (events are for timelines, not correctness).
struct EventLog {
    writer: Option<EventWriter>,
    warned: bool,
}

impl EventLog {
    fn open(path: Option<&std::path::Path>, worker: u32) -> EventLog {
        let writer = path.and_then(|path| match EventWriter::append(path, i64::from(worker)) {
            Ok(writer) => Some(writer),
            Err(e) => {
                eprintln!(
                    "warning: cannot write events to {}: {e}; continuing without them",
                    path.display()
                );
                None
            }
        });
        EventLog {
            writer,
            warned: false,
        }
    }

    fn record(&mut self, kind: EventKind, unit: &str, detail: &str) {
        if let Some(writer) = &mut self.writer
            && let Err(e) = writer.record(kind, unit, detail)
            && !self.warned
        {
            eprintln!("warning: writing an event failed: {e}; later failures are not reported");
            self.warned = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{InputFile, Unit, plan_units};
    use crate::servers::{RedisConfig, RedisServer};

    /// `files` small files of a few words each, as units.
    fn small_units(dir: &std::path::Path, files: usize) -> Vec<Unit> {
        let inputs: Vec<InputFile> = (0..files)
            .map(|i| {
                let path = dir.join(format!("f{i:05}.txt"));
                let text = format!("w{} w{} common Common\n", i % 17, i % 5);
                std::fs::write(&path, &text).unwrap();
                InputFile {
                    path,
                    bytes: text.len() as u64,
                }
            })
            .collect();
        plan_units(&inputs, 1 << 20).unwrap()
    }

    fn config(server: &RedisServer, job: &str) -> WorkerConfig {
        WorkerConfig {
            url: server.url(),
            job: job.to_owned(),
            worker: 0,
            tokenizer: Tokenizer::Whitespace,
            commit: CommitPath::PerWord,
            merge: MergeTarget::Zset,
            commit_units: 1,
            events: None,
            crash: None,
            block_ms: 20,
            pipeline_commands: 1000,
            inline_pairs: 1000,
            reconnect_s: 20,
            steal_idle_ms: 0,
            wait_replicas: 0,
            wait_timeout_ms: 0,
            queue: QueueBackend::Stream,
            input_map: None,
            host: 0,
        }
    }

    #[test]
    fn a_worker_reconnects_after_redis_restarts_and_counts_stay_exact() {
        let dir = tempfile::tempdir().unwrap();
        let units = small_units(dir.path(), 3000);
        let mut expected = WordCounts::new();
        for unit in &units {
            count_unit(unit, Tokenizer::Whitespace, &mut expected).unwrap();
        }
        let mut server = RedisServer::start(RedisConfig {
            snapshot_interval_s: Some(3600),
            ..RedisConfig::default()
        })
        .unwrap();
        let endpoint = Endpoint::new(&server.url());
        let keys = JobKeys::random();
        let queue = JobQueue::new(QueueBackend::Stream, endpoint.clone(), keys.clone());
        let mut con = endpoint.connect().unwrap();
        queue.create(&mut con, &units).unwrap();
        // The server restarts from this snapshot: every unit queued, no count yet.
        let () = redis::cmd("SAVE").query(&mut con).unwrap();
        let config = config(&server, keys.job());
        let stats = std::thread::scope(|scope| {
            let worker = scope.spawn(|| run_worker(&config));
            std::thread::sleep(Duration::from_millis(150));
            assert!(
                !worker.is_finished(),
                "the worker finished before Redis was killed; give it more units"
            );
            server.kill9().unwrap();
            std::thread::sleep(Duration::from_millis(200));
            server.restart().unwrap();
            worker.join().unwrap()
        })
        .unwrap();
        assert!(stats.measured.reconnects >= 1, "{stats:?}");
        let counts = queue.read_counts(&mut endpoint.connect().unwrap()).unwrap();
        assert!(counts == expected, "counts differ after the restart");
    }

    #[test]
    fn a_worker_gives_up_with_redis_gone_when_redis_stays_down() {
        let mut server = RedisServer::start(RedisConfig::default()).unwrap();
        let config = WorkerConfig {
            reconnect_s: 1,
            ..config(&server, "nojob")
        };
        server.kill9().unwrap();
        let started = Instant::now();
        let err = run_worker(&config).unwrap_err();
        assert!(err.is_redis_gone(), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(serve(&config), exit_code::REDIS_GONE);
    }
}
