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
//!   backend ([`StreamQueue`]) implements it, a Functions lease backend for
//!   RedisRaft can later.
//! - `commit`: the commit paths ([`CommitPath`]: per unit, per word, and
//!   atomic: one `FCALL wc_commit` of `lua/wordcount.lua` that applies a
//!   unit's counts only if its `XACK` returned 1, staging large units in a
//!   per-(message, consumer) hash first; see [`StagePlan`]).
//! - Faults (Lab 3): workers steal units idle longer than `autoclaim_ms`
//!   (`XAUTOCLAIM`); the client tolerates workers crashing at crash points
//!   and kills a random live one every `kill_every_ms` (never the last), and
//!   fails with a clear message when crashed workers hold units nobody
//!   will steal (autoclaim off).
//! - Redis faults (Lab 4): the managed server can snapshot every
//!   `snapshot_s` seconds and be killed (`redis_kill`) and restarted after
//!   `redis_down_ms`; workers reconnect and wait while the job's keys are
//!   missing, the client re-creates a lost queue and, when a restored
//!   snapshot brought back units the exited workers had done, starts
//!   workers again until every unit is acknowledged.
//! - `keys`, `message`: key names (`wc:{JOB}:...`) and the binary-safe
//!   message encoding of a unit.
//! - `connection`, `error`: connecting with timeouts, and typed errors that
//!   tell "Redis gone" from "auth" from "bad input".
//! - `client`, `pool`, `stats`: the client side of a job ([`run_redis_job`]),
//!   its worker processes, and the measurements workers report.

mod client;
mod commit;
mod connection;
mod error;
mod keys;
mod message;
mod pool;
mod stats;
mod stream;

use redis::Connection;

pub use client::{RedisOutcome, run_redis_job};
pub use commit::{
    COMMIT_FUNCTION, CommitPath, CommitStats, FUNCTION_LIBRARY, StagePlan, for_each_pipeline,
};
pub use connection::{COMMAND_TIMEOUT, CONNECT_TIMEOUT, Endpoint};
pub use error::{QueueError, redact_url};
pub use keys::JobKeys;
pub use message::{Taken, decode_unit, encode_unit, unit_label};
pub use pool::{FaultPolicy, URL_ENV};
pub use stats::{RedisReport, WorkerStats, exit_code};
pub use stream::StreamQueue;

use crate::faults::{CrashPlan, RedisKill, SlowWorker};
use crate::words::WordCounts;

/// Settings of the `redis` mode.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisOptions {
    /// An external server (`redis://:PASSWORD@HOST:PORT/`); `None` starts a
    /// managed one on a free loopback port with a random password.
    pub url: Option<String>,
    /// How workers merge counts.
    pub commit: CommitPath,
    /// Workers limited to a fraction of one CPU.
    pub slow: Vec<SlowWorker>,
    /// Keep the job's keys in an external server after the job.
    pub keep_keys: bool,
    /// Milliseconds a worker's read blocks when no unit is waiting.
    pub block_ms: u64,
    /// Commands per pipeline round trip when committing.
    pub pipeline_commands: usize,
    /// Seconds a worker keeps trying to reconnect after losing Redis.
    pub reconnect_s: u64,
    /// Workers steal units idle longer than this many milliseconds (0: never).
    pub autoclaim_ms: u64,
    /// Crash plans per worker (at most one per worker).
    pub crash: Vec<WorkerCrash>,
    /// SIGKILL a random live worker (never the last) this often; 0: never.
    pub kill_every_ms: u64,
    /// The managed server snapshots to `dump.rdb` this often (seconds, when
    /// anything changed); 0: no persistence (the `single` topology).
    pub snapshot_s: u32,
    /// When to kill -9 the managed server during the job.
    pub redis_kill: RedisKill,
    /// How long the killed server stays down before it is restarted.
    pub redis_down_ms: u64,
}

/// A crash plan for one worker: `WORKER:POINT[:NTH]`, e.g. `0:mid-commit:2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WorkerCrash {
    /// Worker index.
    pub worker: u32,
    /// Where and on which unit it crashes.
    pub plan: CrashPlan,
}

impl std::str::FromStr for WorkerCrash {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (worker, plan) = text.split_once(':').ok_or_else(|| {
            format!(
                "bad crash {text:?}: write WORKER:POINT[:NTH], e.g. 0:mid-commit or 1:after-read:3"
            )
        })?;
        let worker = worker
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("bad worker index {worker:?} in crash {text:?}: write WORKER:POINT[:NTH], e.g. 0:mid-commit"))?;
        Ok(WorkerCrash {
            worker,
            plan: plan.trim().parse()?,
        })
    }
}

impl std::fmt::Display for WorkerCrash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.worker, self.plan)
    }
}

/// Parses a `;`-separated list of crashes (`0:mid-commit;1:after-read:2`).
pub fn parse_crash_list(text: &str) -> Result<Vec<WorkerCrash>, String> {
    text.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// Writes crashes as a `;`-separated list.
pub fn crash_list_text(crashes: &[WorkerCrash]) -> String {
    crashes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            url: None,
            commit: CommitPath::PerUnit,
            slow: Vec::new(),
            keep_keys: false,
            block_ms: 100,
            pipeline_commands: 10_000,
            reconnect_s: 30,
            autoclaim_ms: 0,
            crash: Vec::new(),
            kill_every_ms: 0,
            snapshot_s: 0,
            redis_kill: RedisKill::Never,
            redis_down_ms: 300,
        }
    }
}

impl RedisOptions {
    /// Checks the options against the number of workers.
    pub fn validate(&self, workers: u32) -> Result<(), QueueError> {
        let bad = QueueError::BadOptions;
        let mut seen = Vec::new();
        for slow in &self.slow {
            if slow.worker >= workers {
                return Err(bad(format!(
                    "--slow {slow} names worker {} but only {workers} workers run (indices 0..{}): use a smaller index or more --workers",
                    slow.worker,
                    workers.saturating_sub(1)
                )));
            }
            if !(slow.cpu_fraction > 0.0 && slow.cpu_fraction < 1.0) {
                return Err(bad(format!(
                    "--slow {slow}: the CPU fraction must be between 0 and 1 (exclusive)"
                )));
            }
            if seen.contains(&slow.worker) {
                return Err(bad(format!(
                    "--slow names worker {} twice: give each worker at most once",
                    slow.worker
                )));
            }
            seen.push(slow.worker);
        }
        let mut crashed = Vec::new();
        for crash in &self.crash {
            if crash.worker >= workers {
                return Err(bad(format!(
                    "--crash {crash} names worker {} but only {workers} workers run (indices 0..{}): use a smaller index or more --workers",
                    crash.worker,
                    workers.saturating_sub(1)
                )));
            }
            if crashed.contains(&crash.worker) {
                return Err(bad(format!(
                    "--crash names worker {} twice: give each worker at most one crash point",
                    crash.worker
                )));
            }
            crashed.push(crash.worker);
        }
        if self.kill_every_ms > 0 && workers < 2 {
            return Err(bad(
                "--kill-every-ms needs at least 2 workers (the last live worker is never killed)"
                    .into(),
            ));
        }
        if self.url.is_some() && (self.redis_kill != RedisKill::Never || self.snapshot_s > 0) {
            return Err(bad(
                "--redis-kill and --snapshot-s act on the server the harness starts: drop --redis-url (an external server is never killed or reconfigured)".into(),
            ));
        }
        if self.redis_down_ms > 60_000 {
            return Err(bad(format!(
                "--redis-down-ms {} is over a minute: workers give up reconnecting after {} s; use a shorter downtime",
                self.redis_down_ms, self.reconnect_s
            )));
        }
        if self.block_ms == 0 || self.pipeline_commands == 0 {
            return Err(bad(
                "block_ms and pipeline_commands must be at least 1".into()
            ));
        }
        Ok(())
    }
}

/// What the worker loop needs from a work-queue backend. Every call gets
/// the worker's one connection, which the loop replaces after Redis comes
/// back (then [`WorkQueue::on_connect`] runs again).
pub trait WorkQueue {
    /// Prepares a new connection (e.g. loads Functions; re-reads this
    /// worker's own pending units first).
    fn on_connect(&mut self, con: &mut Connection) -> Result<(), QueueError>;
    /// The next unit for this worker, or `None` after waiting briefly.
    fn take(&mut self, con: &mut Connection) -> Result<Option<Taken>, QueueError>;
    /// Units handed out but not yet acknowledged, over all workers.
    fn pending(&mut self, con: &mut Connection) -> Result<u64, QueueError>;
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
    ) -> Result<CommitStats, QueueError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_against_the_worker_count() {
        let slow = |worker, cpu_fraction| SlowWorker {
            worker,
            cpu_fraction,
        };
        let ok = RedisOptions {
            slow: vec![slow(0, 0.5), slow(1, 0.25)],
            ..RedisOptions::default()
        };
        assert!(ok.validate(2).is_ok());
        let err = ok.validate(1).unwrap_err().to_string();
        assert!(err.contains("only 1 workers"), "{err}");
        let twice = RedisOptions {
            slow: vec![slow(0, 0.5), slow(0, 0.25)],
            ..RedisOptions::default()
        };
        assert!(twice.validate(2).unwrap_err().to_string().contains("twice"));
        let whole = RedisOptions {
            slow: vec![slow(0, 1.0)],
            ..RedisOptions::default()
        };
        assert!(whole.validate(2).is_err());
    }

    #[test]
    fn crashes_parse_and_are_checked() {
        let crashes = parse_crash_list("0:mid-commit; 1:after-read:3;").unwrap();
        assert_eq!(crashes.len(), 2);
        assert_eq!(crashes[1].plan.on_unit, 3);
        assert_eq!(crash_list_text(&crashes), "0:mid-commit:1;1:after-read:3");
        assert!(parse_crash_list("mid-commit").is_err());
        assert!(parse_crash_list("x:mid-commit").is_err());
        assert!(parse_crash_list("0:lunch").is_err());
        assert_eq!(parse_crash_list("").unwrap(), vec![]);
        let options = RedisOptions {
            crash: crashes,
            ..RedisOptions::default()
        };
        assert!(options.validate(2).is_ok());
        assert!(
            options
                .validate(1)
                .unwrap_err()
                .to_string()
                .contains("only 1 workers")
        );
        let twice = RedisOptions {
            crash: parse_crash_list("0:after-read;0:mid-count").unwrap(),
            ..RedisOptions::default()
        };
        assert!(twice.validate(2).unwrap_err().to_string().contains("twice"));
        let kill = RedisOptions {
            kill_every_ms: 100,
            ..RedisOptions::default()
        };
        assert!(kill.validate(1).is_err());
        assert!(kill.validate(2).is_ok());
    }
}
