//! One CSV row: a run's parameters, measurements and correctness, each
//! column declared once in `run_row!` below. The measured columns carry
//! how they are read from a finished job (a [`Measured`]) and whether
//! `harness count`'s summary shows them; the CSV header, the docs page
//! (docs/csv-columns.md), the report's known columns and that summary all
//! come from the same list.

use std::fmt::Display;

use serde::{Deserialize, Serialize};

use crate::faults::FaultTally;
use crate::job::JobOutcome;
use crate::redis_run::RedisReport;

/// The CSV columns an experiment sets (in `[fixed]` or `[matrix]`), in
/// the order the report shows them: the experiment schema's run
/// parameters (`harness::experiment::RUN_PARAMETERS`; tests/report.rs keeps
/// the two in step, since results depend on nothing of ours) and the scale.
pub const PARAMETER_COLUMNS: &[&str] = &[
    "mode",
    "workers",
    "input",
    "tokenizer",
    "unit_bytes",
    "per_word",
    "slow",
    "atomic",
    "merge",
    "commit_units",
    "autoclaim_ms",
    "crash",
    "kill_every_ms",
    "worker_kill",
    "snapshot_s",
    "redis_kill",
    "redis_down_ms",
    "restart_dead",
    "restart_nodes",
    "deadline_s",
    "topology",
    "f",
    "wait_timeout_ms",
    "min_replicas_max_lag_s",
    "queue",
    "raft_module",
    "pipeline",
    "hosts",
    "rtt_ms",
    "jitter_ms",
    "loss_pct",
    "rate_mbit",
    "partition",
    "shaper",
    "worker_cmd",
    "worker_functions",
    "scale",
];

/// One column of [`RunRow`]: its name, Rust type and doc comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The CSV column name.
    pub name: &'static str,
    /// The field's Rust type (`u64`, `f64`, `bool`, `String`, ...).
    pub type_name: &'static str,
    /// Its doc comment, one line per doc line.
    pub doc: &'static str,
}

/// Declares the row once, in column order, in three groups: `head` (which
/// run: identity and parameters; each with a template value), `measures`
/// (what the run measured; each with whether the summary shows it and how
/// it is read from a [`Measured`] job `m`) and `verdict` (correctness).
/// From it come [`RunRow`] (flat, for the CSV), the per-group structs the
/// runner fills ([`RunHead`], [`RunMeasures`], [`RunVerdict`]),
/// [`RunRow::COLUMNS`] and the template behind the header.
macro_rules! run_row {
    (
        head {
            $( $(#[doc = $hdoc:literal])* $(#[serde $hserde:tt])*
               $hfield:ident : $hty:ty = $hexample:expr, )*
        }
        measures($m:ident) {
            $( $(#[doc = $mdoc:literal])*
               $mfield:ident : $mty:ty, $shown:ident => $read:expr, )*
        }
        verdict {
            $( $(#[doc = $vdoc:literal])* $vfield:ident : $vty:ty = $vexample:expr, )*
        }
    ) => {
        /// One run of an experiment, as one flat CSV row. Units are in the names.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct RunRow {
            $( $(#[doc = $hdoc])* $(#[serde $hserde])* pub $hfield: $hty, )*
            $( $(#[doc = $mdoc])* pub $mfield: $mty, )*
            $( $(#[doc = $vdoc])* pub $vfield: $vty, )*
        }

        /// Which run a row is: its identity and parameters.
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) struct RunHead {
            $( $(#[doc = $hdoc])* pub(crate) $hfield: $hty, )*
        }

        /// What a run measured (all zero or empty for a job that did not finish).
        #[derive(Debug, Clone, Default, PartialEq)]
        pub(crate) struct RunMeasures {
            $( $(#[doc = $mdoc])* pub(crate) $mfield: $mty, )*
        }

        /// Whether a run's counts were right, and whether it finished.
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) struct RunVerdict {
            $( $(#[doc = $vdoc])* pub(crate) $vfield: $vty, )*
        }

        impl RunMeasures {
            /// Reads every measured column from the job.
            pub(crate) fn of($m: &Measured<'_>) -> RunMeasures {
                RunMeasures { $( $mfield: $read, )* }
            }

            /// The measured columns `harness count` shows, as `name`,
            /// value text (seconds to the millisecond; `-` for no value):
            /// those marked `in_every_summary`, and for a Redis job also
            /// those marked `in_redis_summary`.
            pub(crate) fn summary(&self, redis: bool) -> Vec<(&'static str, String)> {
                let mut fields = Vec::new();
                $(
                    if $shown(redis) {
                        fields.push((stringify!($mfield), SummaryText::text(&self.$mfield)));
                    }
                )*
                fields
            }
        }

        impl RunRow {
            /// Every column, in CSV order, with its type and doc.
            pub const COLUMNS: &'static [Column] = &[
                $( Column { name: stringify!($hfield), type_name: stringify!($hty), doc: concat!($($hdoc, "\n",)*) }, )*
                $( Column { name: stringify!($mfield), type_name: stringify!($mty), doc: concat!($($mdoc, "\n",)*) }, )*
                $( Column { name: stringify!($vfield), type_name: stringify!($vty), doc: concat!($($vdoc, "\n",)*) }, )*
            ];

            /// The row of one run, from its three parts.
            pub(crate) fn from_parts(head: RunHead, measures: RunMeasures, verdict: RunVerdict) -> RunRow {
                RunRow {
                    $( $hfield: head.$hfield, )*
                    $( $mfield: measures.$mfield, )*
                    $( $vfield: verdict.$vfield, )*
                }
            }

            /// A row with every field set, for the header and the known
            /// columns. Private on purpose: a run's row is built from its
            /// parts (`experiment::runner`), so none silently takes a
            /// value from here.
            fn template() -> RunRow {
                RunRow {
                    $( $hfield: $hexample, )*
                    $( $mfield: Default::default(), )*
                    $( $vfield: $vexample, )*
                }
            }
        }
    };
}

/// Shown in every `harness count` summary.
fn in_every_summary(_redis: bool) -> bool {
    true
}

/// Shown in the summary of a Redis job.
fn in_redis_summary(redis: bool) -> bool {
    redis
}

/// A CSV column only (the summary shows a richer form of it, or nothing).
fn not_in_summary(_redis: bool) -> bool {
    false
}

/// A finished job (or none: a run that missed its deadline) and the faults
/// its parameters planned: what the measured columns are read from.
pub(crate) struct Measured<'a> {
    /// The job's outcome (`None`: it did not finish).
    pub(crate) outcome: Option<&'a JobOutcome>,
    /// The scheduled faults the run's parameters plan.
    pub(crate) planned: FaultTally,
}

impl Measured<'_> {
    /// `read` of the outcome, or the zero value without one.
    fn job<T: Default>(&self, read: impl FnOnce(&JobOutcome) -> T) -> T {
        self.outcome.map(read).unwrap_or_default()
    }

    /// `read` of the Redis report, or the zero value outside the redis mode.
    fn redis<T: Default>(&self, read: impl FnOnce(&RedisReport) -> T) -> T {
        self.outcome
            .and_then(|o| o.redis.as_ref())
            .map(read)
            .unwrap_or_default()
    }

    /// The scheduled faults that fired.
    fn fired(&self) -> FaultTally {
        self.redis(|r| r.faults_fired)
    }
}

/// `values` as one cell, `;`-separated.
fn joined<T: Display>(values: &[T]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

/// How a measured value reads in `harness count`'s summary.
trait SummaryText {
    fn text(&self) -> String;
}

impl SummaryText for u32 {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl SummaryText for u64 {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl SummaryText for f64 {
    fn text(&self) -> String {
        format!("{self:.3}")
    }
}

impl SummaryText for bool {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl SummaryText for String {
    fn text(&self) -> String {
        self.clone()
    }
}

impl SummaryText for Option<u64> {
    fn text(&self) -> String {
        self.map_or_else(|| "-".to_owned(), |n| n.to_string())
    }
}

run_row! {
    head {
        /// Experiment name.
        experiment: String = "example".into(),
        /// Unique id of this run: `<params key>-r<repetition>`.
        run_id: String = "k-r1".into(),
        /// Identifies the parameter set (same parameters + scale = same key).
        params_key: String = "k".into(),
        /// Repetition number, from 1.
        rep: u32 = 1,
        /// When the run finished (RFC 3339, UTC).
        timestamp: String = "2026-01-01T00:00:00Z".into(),
        /// Git commit of the harness that ran it.
        git_commit: String = "unknown".into(),
        /// Scale applied to generated inputs.
        scale: f64 = 1.0,
        /// Mode: serial, threads, processes, redis.
        mode: String = "serial".into(),
        /// Workers (1 for serial).
        workers: u32 = 1,
        /// Tokenizer.
        tokenizer: String = "whitespace".into(),
        /// Largest unit of work, bytes.
        unit_bytes: u64 = 1,
        /// Input label (path, or generator preset and parameters).
        input: String = "x".into(),
        /// Size of the largest input file, bytes (the x of size ladders).
        max_file_bytes: u64 = 0,
        /// Redis: one ZINCRBY per word occurrence instead of per distinct word.
        per_word: bool = false,
        /// Stragglers, e.g. `0:0.5` (worker:fraction of a CPU), `;`-separated.
        slow: String = String::new(),
        /// CPU fraction of the slowest worker (1 = no straggler).
        slowest_cpu: f64 = 1.0,
        /// How stragglers were throttled: cgroup-v1, cgroup-v2, sigstop, none.
        throttle: String = "none".into(),
        /// Redis: atomic commit through a Redis Function.
        atomic: bool = false,
        /// Redis: where counts accumulated: zset, hash or parts.
        merge: String = "zset".into(),
        /// Redis: units merged by a worker per commit (the combiner).
        commit_units: u32 = 1,
        /// Redis: XAUTOCLAIM idle timeout in ms (0 = no stealing).
        autoclaim_ms: u64 = 0,
        /// Injected crash points, e.g. `1:mid-count:2`, `;`-separated.
        crash: String = String::new(),
        /// Kill a random worker every this many ms (0 = never).
        kill_every_ms: u64 = 0,
        /// When the harness killed a worker: none, at:MS, every:MS, at:P%, every:P%.
        worker_kill: String = "none".into(),
        /// Redis snapshot interval of the managed server, seconds (0 = none).
        snapshot_s: u32 = 0,
        /// When the managed Redis was killed: none, after-enqueue, at:MS, every:MS, before-read.
        redis_kill: String = "none".into(),
        /// Downtime after each Redis kill, ms.
        redis_down_ms: u64 = 300,
        /// Redis: a new worker was started in place of each dead one.
        restart_dead: bool = false,
        /// Redis: a node of the managed topology that died unexpectedly was brought back.
        restart_nodes: bool = true,
        /// The run's deadline, seconds (0 = none).
        deadline_s: f64 = 0.0,
        /// Redis topology: single, snapshot, replicated, external ("" for local modes).
        topology: String = String::new(),
        /// Replicated: failures tolerated (2f replicas, WAIT f).
        f: u32 = 1,
        /// Replicated: WAIT timeout after each commit, ms.
        wait_timeout_ms: u64 = 1000,
        /// Replicated: min-replicas-max-lag, seconds.
        min_replicas_max_lag_s: u32 = 10,
        /// Redis work-queue backend: stream or lease ("" for local modes).
        queue: String = String::new(),
        /// Raft: the RedisRaft module path ("" when not set).
        raft_module: String = String::new(),
        /// Redis: commands (or staging pairs) per pipelined round trip of a commit.
        pipeline: u64 = 10_000,
        /// Emulated hosts (0: none, everything on loopback).
        hosts: u32 = 0,
        /// Emulated hosts: RTT added on each host's link, ms.
        rtt_ms: f64 = 0.0,
        /// Emulated hosts: jitter of the round trip, ms.
        jitter_ms: f64 = 0.0,
        /// Emulated hosts: loss on each host's link, percent.
        loss_pct: f64 = 0.0,
        /// Emulated hosts: rate limit of each host's link, Mbit/s (0: none).
        rate_mbit: f64 = 0.0,
        /// Emulated hosts: partitions, `host-N:at:MS:for:MS`, `;`-separated.
        partition: String = String::new(),
        /// Emulated hosts: the shaper asked for (auto, netem, proxy).
        shaper: String = "auto".into(),
        /// Emulated hosts: seconds hosts were cut off in all (the partitions'
        /// lengths summed; the x of partition plots).
        partition_s: f64 = 0.0,
        /// Bring your own worker: the external worker's command ("": the built-in worker).
        #[serde(default)]
        worker_cmd: String = String::new(),
        /// Bring your own worker: the Function library the harness loaded for it.
        #[serde(default)]
        worker_functions: String = String::new(),
    }
    measures(m) {
        /// Wall time of the job, seconds.
        wall_s: f64, in_every_summary => m.job(|o| o.wall_s),
        /// Walking inputs and cutting units, seconds.
        plan_s: f64, in_every_summary => m.job(|o| o.plan_s),
        /// Counting phase, seconds: the parallel count (local modes); Redis:
        /// from starting the workers until Redis said every unit was done
        /// (not waiting for the workers to exit, so a straggler still busy
        /// with a unit stolen from it does not count).
        count_s: f64, in_every_summary => m.job(|o| o.count_s),
        /// Merging partial counts, seconds (Redis: reading the final counts
        /// back; the commits happen during `count_s`).
        merge_s: f64, in_every_summary => m.job(|o| o.merge_s),
        /// Redis: workers waiting for work, seconds (sum).
        wait_s: f64, in_redis_summary => m.redis(|r| r.workers.wait_s),
        /// Bytes read.
        bytes: u64, in_every_summary => m.job(|o| o.tally.bytes),
        /// Words counted.
        words: u64, in_every_summary => m.job(|o| o.tally.words),
        /// Distinct words.
        distinct: u64, in_every_summary => m.job(|o| o.counts.distinct() as u64),
        /// Input files.
        files: u64, in_every_summary => m.job(|o| o.files as u64),
        /// Units of work.
        units: u64, in_every_summary => m.job(|o| o.units as u64),
        /// Units committed by each worker, `;`-separated, by worker index.
        units_per_worker: String, in_every_summary => m.job(|o| joined(&o.units_per_worker)),
        /// Redis: word updates sent (ZINCRBY or equivalent).
        word_updates: u64, in_redis_summary => m.redis(|r| r.workers.word_updates),
        /// Redis: word updates the server applied per second of the job
        /// (workers' start to done): the server's sustained rate.
        server_updates_per_s: f64, in_redis_summary => m.redis(|r| r.server_updates_per_s()),
        /// Redis: the server's CPU seconds over the job (INFO cpu).
        server_cpu_s: f64, in_redis_summary => m.redis(|r| r.server_cpu_s),
        /// Redis: server microseconds per call of the merge command (ZINCRBY,
        /// HINCRBY, or SET of a part; INFO commandstats).
        server_us_per_merge_call: f64, in_redis_summary => m.redis(|r| r.server_us_per_merge_call()),
        /// Redis: word updates per second of merge time summed over workers (a
        /// per-worker rate, about 1/p of the server's with p workers).
        worker_updates_per_merge_s: f64, in_redis_summary => m.redis(|r| r.worker_updates_per_merge_s()),
        /// Redis: units taken over from another worker.
        units_stolen: u64, in_redis_summary => m.redis(|r| r.workers.units_stolen),
        /// Worker crashes injected or kills from outside.
        crashes: u64, in_redis_summary => m.redis(|r| r.crashes + r.kills),
        /// Redis restarts during the run.
        redis_restarts: u64, in_redis_summary => m.redis(|r| r.redis_restarts),
        /// Redis: workers that died of something the harness did not inject
        /// (SIGKILL from outside, out of memory, a crash, an error exit).
        unexpected_deaths: u64, in_redis_summary => m.redis(|r| r.unexpected_deaths),
        /// Redis: workers started again in place of dead ones.
        worker_restarts: u64, in_redis_summary => m.redis(|r| r.worker_restarts),
        /// Redis: commits refused because the unit was already committed.
        duplicate_commits: u64, in_redis_summary => m.redis(|r| r.workers.duplicate_commits),
        /// Replicated: replicas of the primary (0 otherwise).
        replicas: u32, in_redis_summary => m.redis(|r| r.replicas),
        /// Replicated: failovers (Sentinel promoted another node).
        failovers: u64, in_redis_summary => m.redis(|r| r.failovers),
        /// Replicated: data nodes restarted as replicas after a kill.
        replica_restarts: u64, in_redis_summary => m.redis(|r| r.replica_restarts),
        /// Replicated: commits refused or cut off by a failover, retried.
        commit_retries: u64, in_redis_summary => m.redis(|r| r.workers.commit_retries),
        /// Replicated: median WAIT after a commit, ms (0 without WAIT).
        wait_ms_median: f64, in_redis_summary => m.redis(RedisReport::wait_ms_median),
        /// Replicated: 99th percentile WAIT after a commit, ms.
        wait_ms_p99: f64, in_redis_summary => m.redis(RedisReport::wait_ms_p99),
        /// Redis: median commit duration, ms (staging + commit call + ack).
        commit_ms_median: f64, in_redis_summary => m.redis(RedisReport::commit_ms_median),
        /// Redis: 99th percentile commit duration, ms.
        commit_ms_p99: f64, in_redis_summary => m.redis(RedisReport::commit_ms_p99),
        /// Redis: commits longer than 1 s (held up by an election, a failover,
        /// a lost majority or an outage).
        commit_stalls: u64, in_redis_summary => m.redis(RedisReport::commit_stalls),
        /// Replicated: fewest replicas that acknowledged a commit (empty without WAIT).
        min_replicas_acked: Option<u64>, in_redis_summary => m.redis(|r| r.workers.min_replicas_acked),
        /// Replicated, raft: longest time from the death or pause of the
        /// primary (leader), scheduled or not, to the next applied commit, s.
        failover_s: f64, in_redis_summary => m.redis(|r| r.failover_s),
        /// Redis: nodes of the managed topology that died (or were killed from
        /// outside) without the harness doing it.
        unexpected_node_deaths: u64, in_redis_summary => m.redis(|r| r.unexpected_node_deaths),
        /// Redis: seconds to start the managed servers (Sentinel start-up
        /// included) before the job; not part of `count_s`.
        servers_start_s: f64, in_redis_summary => m.redis(|r| r.server_s),
        /// Emulated hosts: the shaper used (netem or proxy; "" without hosts).
        shaper_used: String, not_in_summary => m.redis(|r| r.shaper_used.clone()),
        /// Emulated hosts: median Redis PING round trip measured from inside
        /// the hosts through their shaping, ms (median over hosts; 0 without hosts).
        host_rtt_ms: f64, not_in_summary => m.redis(RedisReport::host_rtt_median_ms),
        /// Emulated hosts: the host each worker ran on, `;`-separated by worker.
        worker_hosts: String, not_in_summary => m.redis(|r| joined(&r.worker_hosts)),
        /// Scheduled faults the parameters plan, at least, as `KIND:N` pairs,
        /// `;`-separated (kinds redis_kill, worker_kill, crash, partition; a
        /// periodic kill plans 1; empty: none), e.g. `redis_kill:1`.
        faults_planned: String, in_redis_summary => m.planned.to_string(),
        /// Scheduled faults that fired, in the same form, e.g. `redis_kill:3`.
        faults_fired: String, in_redis_summary => m.redis(|r| r.faults_fired.to_string()),
        /// Some planned fault fired fewer times than planned (a kill due after
        /// the job had ended): the run does not show the fault's effect, and
        /// plots and verdicts leave it out.
        faults_unfired: bool, in_redis_summary => m.job(|_| !m.planned.unfired(&m.fired()).is_empty()),
    }
    verdict {
        /// Counts equal to the serial oracle.
        correct: bool = true,
        /// Words whose count differs from the oracle (0 when correct).
        diff_words: u64 = 0,
        /// The experiment expects this run to be exact (false for runs meant to
        /// show a failure, whose wrong counts are then not an error).
        expect_exact: bool = true,
        /// The job finished (false: it missed its deadline; counts not checked).
        finished: bool = true,
        /// Why the job did not finish (empty when it did).
        not_finished: String = String::new(),
    }
}

impl RunRow {
    /// The CSV header, in column order.
    pub(crate) fn header() -> Vec<String> {
        RunRow::COLUMNS.iter().map(|c| c.name.to_string()).collect()
    }

    /// Every column with its value as JSON (keys: the CSV columns; values:
    /// a template's, which say only each column's type).
    pub(crate) fn known_columns() -> super::Columns {
        super::columns(&RunRow::template())
    }

    /// A row for tests, every field set.
    #[cfg(test)]
    pub(crate) fn example() -> RunRow {
        RunRow::template()
    }
}

#[cfg(test)]
impl RunRow {
    /// A test row: `mode` with `workers`, repetition `rep`, `wall_s`; its
    /// params_key and run_id name the mode and the workers.
    pub(crate) fn sample(mode: &str, workers: u32, rep: u32, wall_s: f64) -> RunRow {
        RunRow {
            mode: mode.into(),
            workers,
            rep,
            wall_s,
            params_key: format!("{mode}-{workers}w"),
            run_id: format!("{mode}-{workers}w-r{rep}"),
            ..RunRow::example()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_every_field_in_order() {
        // The header the CSV writer makes from the struct is the column list.
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(RunRow::example()).unwrap();
        let bytes = writer.into_inner().unwrap();
        let written = String::from_utf8(bytes).unwrap();
        assert_eq!(
            written
                .lines()
                .next()
                .unwrap()
                .split(',')
                .collect::<Vec<_>>(),
            RunRow::header()
        );
        let header = RunRow::header();
        assert_eq!(header.first().map(String::as_str), Some("experiment"));
        assert!(header.contains(&"wall_s".to_string()));
        assert!(header.contains(&"correct".to_string()));
        assert_eq!(header.last().map(String::as_str), Some("not_finished"));
    }
}
