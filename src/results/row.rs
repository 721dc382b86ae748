//! One CSV row: a run's parameters, measurements and correctness.

use serde::{Deserialize, Serialize};

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

/// One run of an experiment, as one flat CSV row. Units are in the names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Experiment name.
    pub experiment: String,
    /// Unique id of this run: `<params key>-r<repetition>`.
    pub run_id: String,
    /// Identifies the parameter set (same parameters + scale = same key).
    pub params_key: String,
    /// Repetition number, from 1.
    pub rep: u32,
    /// When the run finished (RFC 3339, UTC).
    pub timestamp: String,
    /// Git commit of the harness that ran it.
    pub git_commit: String,
    /// Scale applied to generated inputs.
    pub scale: f64,
    /// Mode: serial, threads, processes, redis.
    pub mode: String,
    /// Workers (1 for serial).
    pub workers: u32,
    /// Tokenizer.
    pub tokenizer: String,
    /// Largest unit of work, bytes.
    pub unit_bytes: u64,
    /// Input label (path, or generator preset and parameters).
    pub input: String,
    /// Size of the largest input file, bytes (the x of size ladders).
    pub max_file_bytes: u64,
    /// Redis: one ZINCRBY per word occurrence instead of per distinct word.
    pub per_word: bool,
    /// Stragglers, e.g. `0:0.5` (worker:fraction of a CPU), `;`-separated.
    pub slow: String,
    /// CPU fraction of the slowest worker (1 = no straggler).
    pub slowest_cpu: f64,
    /// How stragglers were throttled: cgroup-v1, cgroup-v2, sigstop, none.
    pub throttle: String,
    /// Redis: atomic commit through a Redis Function.
    pub atomic: bool,
    /// Redis: where counts accumulated: zset, hash or parts.
    pub merge: String,
    /// Redis: units merged by a worker per commit (the combiner).
    pub commit_units: u32,
    /// Redis: XAUTOCLAIM idle timeout in ms (0 = no stealing).
    pub autoclaim_ms: u64,
    /// Injected crash points, e.g. `1:mid-count:2`, `;`-separated.
    pub crash: String,
    /// Kill a random worker every this many ms (0 = never).
    pub kill_every_ms: u64,
    /// When the harness killed a worker: none, at:MS, every:MS, at:P%, every:P%.
    pub worker_kill: String,
    /// Redis snapshot interval of the managed server, seconds (0 = none).
    pub snapshot_s: u32,
    /// When the managed Redis was killed: none, after-enqueue, at:MS, every:MS, before-read.
    pub redis_kill: String,
    /// Downtime after each Redis kill, ms.
    pub redis_down_ms: u64,
    /// Redis: a new worker was started in place of each dead one.
    pub restart_dead: bool,
    /// Redis: a node of the managed topology that died unexpectedly was brought back.
    pub restart_nodes: bool,
    /// The run's deadline, seconds (0 = none).
    pub deadline_s: f64,
    /// Redis topology: single, snapshot, replicated, external ("" for local modes).
    pub topology: String,
    /// Replicated: failures tolerated (2f replicas, WAIT f).
    pub f: u32,
    /// Replicated: WAIT timeout after each commit, ms.
    pub wait_timeout_ms: u64,
    /// Replicated: min-replicas-max-lag, seconds.
    pub min_replicas_max_lag_s: u32,
    /// Redis work-queue backend: stream or lease ("" for local modes).
    pub queue: String,
    /// Raft: the RedisRaft module path ("" when not set).
    pub raft_module: String,
    /// Redis: commands (or staging pairs) per pipelined round trip of a commit.
    pub pipeline: u64,
    /// Emulated hosts (0: none, everything on loopback).
    pub hosts: u32,
    /// Emulated hosts: RTT added on each host's link, ms.
    pub rtt_ms: f64,
    /// Emulated hosts: jitter of the round trip, ms.
    pub jitter_ms: f64,
    /// Emulated hosts: loss on each host's link, percent.
    pub loss_pct: f64,
    /// Emulated hosts: rate limit of each host's link, Mbit/s (0: none).
    pub rate_mbit: f64,
    /// Emulated hosts: partitions, `host-N:at:MS:for:MS`, `;`-separated.
    pub partition: String,
    /// Emulated hosts: the shaper asked for (auto, netem, proxy).
    pub shaper: String,
    /// Emulated hosts: seconds hosts were cut off in all (the partitions'
    /// lengths summed; the x of partition plots).
    pub partition_s: f64,
    /// Bring your own worker: the external worker's command ("": the built-in worker).
    #[serde(default)]
    pub worker_cmd: String,
    /// Bring your own worker: the Function library the harness loaded for it.
    #[serde(default)]
    pub worker_functions: String,
    /// Wall time of the job, seconds.
    pub wall_s: f64,
    /// Walking inputs and cutting units, seconds.
    pub plan_s: f64,
    /// Counting phase, seconds (workers' sum for Redis runs).
    pub count_s: f64,
    /// Merging partial counts, seconds (Redis: commit round trips, workers' sum).
    pub merge_s: f64,
    /// Redis: workers waiting for work, seconds (sum).
    pub wait_s: f64,
    /// Bytes read.
    pub bytes: u64,
    /// Words counted.
    pub words: u64,
    /// Distinct words.
    pub distinct: u64,
    /// Input files.
    pub files: u64,
    /// Units of work.
    pub units: u64,
    /// Units committed by each worker, `;`-separated, by worker index.
    pub units_per_worker: String,
    /// Redis: word updates sent (ZINCRBY or equivalent).
    pub word_updates: u64,
    /// Redis: word updates the server applied per second of the job
    /// (workers' start to done): the server's sustained rate.
    pub server_updates_per_s: f64,
    /// Redis: the server's CPU seconds over the job (INFO cpu).
    pub server_cpu_s: f64,
    /// Redis: server microseconds per call of the merge command (ZINCRBY,
    /// HINCRBY, or SET of a part; INFO commandstats).
    pub server_us_per_merge_call: f64,
    /// Redis: word updates per second of merge time summed over workers (a
    /// per-worker rate, about 1/p of the server's with p workers).
    pub worker_updates_per_merge_s: f64,
    /// Redis: units taken over from another worker.
    pub units_stolen: u64,
    /// Worker crashes injected or kills from outside.
    pub crashes: u64,
    /// Redis restarts during the run.
    pub redis_restarts: u64,
    /// Redis: workers that died of something the harness did not inject
    /// (SIGKILL from outside, out of memory, a crash, an error exit).
    pub unexpected_deaths: u64,
    /// Redis: workers started again in place of dead ones.
    pub worker_restarts: u64,
    /// Redis: commits refused because the unit was already committed.
    pub duplicate_commits: u64,
    /// Replicated: replicas of the primary (0 otherwise).
    pub replicas: u32,
    /// Replicated: failovers (Sentinel promoted another node).
    pub failovers: u64,
    /// Replicated: data nodes restarted as replicas after a kill.
    pub replica_restarts: u64,
    /// Replicated: commits refused or cut off by a failover, retried.
    pub commit_retries: u64,
    /// Replicated: median WAIT after a commit, ms (0 without WAIT).
    pub wait_ms_median: f64,
    /// Replicated: 99th percentile WAIT after a commit, ms.
    pub wait_ms_p99: f64,
    /// Redis: median commit duration, ms (staging + commit call + ack).
    pub commit_ms_median: f64,
    /// Redis: 99th percentile commit duration, ms.
    pub commit_ms_p99: f64,
    /// Redis: commits longer than 1 s (held up by an election, a failover,
    /// a lost majority or an outage).
    pub commit_stalls: u64,
    /// Replicated: fewest replicas that acknowledged a commit (empty without WAIT).
    pub min_replicas_acked: Option<u64>,
    /// Replicated, raft: longest time from the death or pause of the
    /// primary (leader), scheduled or not, to the next applied commit, s.
    pub failover_s: f64,
    /// Redis: nodes of the managed topology that died (or were killed from
    /// outside) without the harness doing it.
    pub unexpected_node_deaths: u64,
    /// Redis: seconds to start the managed servers (Sentinel start-up
    /// included) before the job; not part of `count_s`.
    pub servers_start_s: f64,
    /// Emulated hosts: the shaper used (netem or proxy; "" without hosts).
    pub shaper_used: String,
    /// Emulated hosts: median Redis PING round trip measured from inside
    /// the hosts through their shaping, ms (median over hosts; 0 without hosts).
    pub host_rtt_ms: f64,
    /// Emulated hosts: the host each worker ran on, `;`-separated by worker.
    pub worker_hosts: String,
    /// Scheduled faults the parameters plan, at least, as `KIND:N` pairs,
    /// `;`-separated (kinds redis_kill, worker_kill, crash, partition; a
    /// periodic kill plans 1; empty: none), e.g. `redis_kill:1`.
    pub faults_planned: String,
    /// Scheduled faults that fired, in the same form, e.g. `redis_kill:3`.
    pub faults_fired: String,
    /// Some planned fault fired fewer times than planned (a kill due after
    /// the job had ended): the run does not show the fault's effect, and
    /// plots and verdicts leave it out.
    pub faults_unfired: bool,
    /// Counts equal to the serial oracle.
    pub correct: bool,
    /// Words whose count differs from the oracle (0 when correct).
    pub diff_words: u64,
    /// The experiment expects this run to be exact (false for runs meant to
    /// show a failure, whose wrong counts are then not an error).
    pub expect_exact: bool,
    /// The job finished (false: it missed its deadline; counts not checked).
    pub finished: bool,
    /// Why the job did not finish (empty when it did).
    pub not_finished: String,
}

impl RunRow {
    /// The CSV header, in column order.
    pub(crate) fn header() -> Vec<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        // Serializing a default row writes the header as a side effect.
        let _ = writer.serialize(RunRow::template());
        let bytes = writer.into_inner().unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        text.lines()
            .next()
            .unwrap_or_default()
            .split(',')
            .map(str::to_string)
            .collect()
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

    /// A row with every field set, for the header and the known columns.
    /// Private on purpose: a run's row names every column itself
    /// (`experiment::runner`), so none silently takes a value from here.
    fn template() -> RunRow {
        RunRow {
            experiment: "example".into(),
            run_id: "k-r1".into(),
            params_key: "k".into(),
            rep: 1,
            timestamp: "2026-01-01T00:00:00Z".into(),
            git_commit: "unknown".into(),
            scale: 1.0,
            mode: "serial".into(),
            workers: 1,
            tokenizer: "whitespace".into(),
            unit_bytes: 1,
            input: "x".into(),
            max_file_bytes: 0,
            per_word: false,
            slow: String::new(),
            slowest_cpu: 1.0,
            throttle: "none".into(),
            atomic: false,
            merge: "zset".into(),
            commit_units: 1,
            autoclaim_ms: 0,
            crash: String::new(),
            kill_every_ms: 0,
            worker_kill: "none".into(),
            snapshot_s: 0,
            redis_kill: "none".into(),
            redis_down_ms: 300,
            restart_dead: false,
            restart_nodes: true,
            deadline_s: 0.0,
            topology: String::new(),
            f: 1,
            wait_timeout_ms: 1000,
            min_replicas_max_lag_s: 10,
            queue: String::new(),
            raft_module: String::new(),
            pipeline: 10_000,
            hosts: 0,
            rtt_ms: 0.0,
            jitter_ms: 0.0,
            loss_pct: 0.0,
            rate_mbit: 0.0,
            partition: String::new(),
            shaper: "auto".into(),
            partition_s: 0.0,
            worker_cmd: String::new(),
            worker_functions: String::new(),
            wall_s: 0.0,
            plan_s: 0.0,
            count_s: 0.0,
            merge_s: 0.0,
            wait_s: 0.0,
            bytes: 0,
            words: 0,
            distinct: 0,
            files: 0,
            units: 0,
            units_per_worker: String::new(),
            word_updates: 0,
            server_updates_per_s: 0.0,
            server_cpu_s: 0.0,
            server_us_per_merge_call: 0.0,
            worker_updates_per_merge_s: 0.0,
            units_stolen: 0,
            crashes: 0,
            redis_restarts: 0,
            unexpected_deaths: 0,
            worker_restarts: 0,
            duplicate_commits: 0,
            replicas: 0,
            failovers: 0,
            replica_restarts: 0,
            commit_retries: 0,
            wait_ms_median: 0.0,
            wait_ms_p99: 0.0,
            commit_ms_median: 0.0,
            commit_ms_p99: 0.0,
            commit_stalls: 0,
            min_replicas_acked: None,
            failover_s: 0.0,
            unexpected_node_deaths: 0,
            servers_start_s: 0.0,
            shaper_used: String::new(),
            host_rtt_ms: 0.0,
            worker_hosts: String::new(),
            faults_planned: String::new(),
            faults_fired: String::new(),
            faults_unfired: false,
            correct: true,
            diff_words: 0,
            expect_exact: true,
            finished: true,
            not_finished: String::new(),
        }
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
        let header = RunRow::header();
        assert_eq!(header.first().map(String::as_str), Some("experiment"));
        assert!(header.contains(&"wall_s".to_string()));
        assert!(header.contains(&"correct".to_string()));
        assert_eq!(header.last().map(String::as_str), Some("not_finished"));
    }
}
