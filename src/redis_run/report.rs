//! The run's report: the Redis-specific measurements of one job, summed
//! over its workers' [`WorkerStats`] and completed with what the run itself
//! saw (topology, failovers, kills, throttling, the server's load).

use serde::{Deserialize, Serialize};

use crate::faults::ThrottleMethod;
use crate::queue::STALL_MS;
use crate::queue::{
    CommitPath, MergeTarget, QueueBackend, ServerLoad, WorkerMeasures, WorkerStats, quantile,
};

/// The Redis-specific measurements of one job, summed over its workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RedisReport {
    /// The job id in the key names (`wc:{JOB}:*`).
    pub job_id: String,
    /// The server, as a URL without credentials.
    pub server: String,
    /// Whether the harness started (and stopped) the server itself.
    pub managed: bool,
    /// The server's version, e.g. "7.0.15".
    pub redis_version: String,
    /// The managed server's process id.
    pub redis_pid: Option<u32>,
    /// Process ids of every server the topology started (data nodes, then Sentinels).
    #[serde(default)]
    pub redis_pids: Vec<u32>,
    /// The worker processes' ids, by worker index.
    pub worker_pids: Vec<u32>,
    /// How workers merged.
    pub commit: CommitPath,
    /// How stragglers were slowed down (`none` without `--slow`).
    pub throttle: ThrottleMethod,
    /// What the workers measured, combined over the workers that exited
    /// normally ([`WorkerMeasures::add`]: sums, the fewest replicas
    /// acknowledged, the largest peak memory, merged latencies).
    pub workers: WorkerMeasures,
    /// Workers that crashed at an injected crash point.
    pub crashes: u64,
    /// Workers killed by the harness's own killer (`--kill-every-ms`).
    pub kills: u64,
    /// Workers that died of anything else (SIGKILL from outside, out of
    /// memory, a crash, an error exit).
    #[serde(default)]
    pub unexpected_deaths: u64,
    /// Workers started again in place of dead ones (`restart_dead`).
    #[serde(default)]
    pub worker_restarts: u64,
    /// Times the managed server was restarted (after a `redis_kill`).
    pub redis_restarts: u64,
    /// Times the workers were started again because a restored snapshot
    /// brought back units they had done.
    pub relaunches: usize,
    /// Units committed per worker.
    pub units_per_worker: Vec<u64>,
    /// Seconds starting (or connecting to) the server.
    pub server_s: f64,
    /// Seconds creating the group and adding the units to the stream.
    pub enqueue_s: f64,
    /// Seconds reading the final counts back.
    pub read_s: f64,
    /// The topology: single, snapshot, replicated, external.
    pub topology: String,
    /// Replicas of the primary (0 without replication).
    pub replicas: u32,
    /// Failovers seen (Sentinel named another primary).
    pub failovers: u64,
    /// Nodes of the managed topology that died without the harness doing it.
    pub unexpected_node_deaths: u64,
    /// Replicas (and demoted primaries) restarted after a kill.
    pub replica_restarts: u64,
    /// Longest time from a kill of the primary to the next applied commit,
    /// seconds (0 without such a kill).
    pub failover_s: f64,
    /// Where the counts accumulated.
    #[serde(default)]
    pub merge: MergeTarget,
    /// The work-queue backend.
    #[serde(default)]
    pub queue: QueueBackend,
    /// Units a worker merged per commit (the combiner).
    #[serde(default)]
    pub commit_units: u32,
    /// The server's CPU seconds over the job (`INFO cpu`; 0 when unknown).
    #[serde(default)]
    pub server_cpu_s: f64,
    /// Calls of the merge target's update command over the job (`INFO
    /// commandstats`, calls inside Functions included).
    #[serde(default)]
    pub merge_calls: u64,
    /// Microseconds the server spent in those calls.
    #[serde(default)]
    pub merge_usec: u64,
    /// Seconds from starting the workers until Redis said the job was done.
    #[serde(default)]
    pub job_s: f64,
    /// Emulated hosts: how the links were shaped (netem or proxy; "" without hosts).
    #[serde(default)]
    pub shaper_used: String,
    /// Emulated hosts: the median Redis PING round trip from inside each
    /// host, through its shaping, ms (by host).
    #[serde(default)]
    pub host_rtt_ms: Vec<f64>,
    /// Emulated hosts: the host each worker ran on (by worker; empty without hosts).
    #[serde(default)]
    pub worker_hosts: Vec<u32>,
    /// The longest statistics line a worker sent, bytes.
    #[serde(default)]
    pub worker_stats_bytes: u64,
    /// The scheduled faults that fired, by kind (Redis kills, worker
    /// kills, crashes, partition cuts).
    #[serde(default)]
    pub faults_fired: crate::faults::FaultTally,
}

impl RedisReport {
    /// A report with no worker added yet.
    pub(crate) fn new(
        job_id: &str,
        server: &str,
        managed: bool,
        redis_version: &str,
        commit: CommitPath,
    ) -> RedisReport {
        RedisReport {
            job_id: job_id.to_owned(),
            server: server.to_owned(),
            managed,
            redis_version: redis_version.to_owned(),
            redis_pid: None,
            redis_pids: Vec::new(),
            worker_pids: Vec::new(),
            commit,
            throttle: ThrottleMethod::None,
            workers: WorkerMeasures::default(),
            crashes: 0,
            kills: 0,
            unexpected_deaths: 0,
            worker_restarts: 0,
            redis_restarts: 0,
            relaunches: 0,
            units_per_worker: Vec::new(),
            server_s: 0.0,
            enqueue_s: 0.0,
            read_s: 0.0,
            topology: String::new(),
            replicas: 0,
            failovers: 0,
            unexpected_node_deaths: 0,
            replica_restarts: 0,
            failover_s: 0.0,
            merge: MergeTarget::Zset,
            commit_units: 1,
            queue: QueueBackend::Stream,
            server_cpu_s: 0.0,
            merge_calls: 0,
            merge_usec: 0,
            job_s: 0.0,
            shaper_used: String::new(),
            host_rtt_ms: Vec::new(),
            worker_hosts: Vec::new(),
            worker_stats_bytes: 0,
            faults_fired: crate::faults::FaultTally::default(),
        }
    }

    /// Adds one worker's stats (call in worker order).
    pub(crate) fn add_worker(&mut self, stats: &WorkerStats) {
        self.worker_pids.push(stats.pid);
        self.worker_stats_bytes = self.worker_stats_bytes.max(stats.stats_bytes);
        if stats.host > 0 {
            self.worker_hosts.push(stats.host);
        }
        self.units_per_worker.push(stats.measured.units);
        self.workers.add(&stats.measured);
    }

    /// Median over the emulated hosts of their measured PING round trip,
    /// ms (0 without hosts).
    pub(crate) fn host_rtt_median_ms(&self) -> f64 {
        let measured: Vec<f64> = self
            .host_rtt_ms
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        quantile(&measured, 0.5)
    }

    /// Median `WAIT` after a commit, milliseconds (0 without WAIT).
    pub(crate) fn wait_ms_median(&self) -> f64 {
        self.workers.wait_ms.quantile(0.5)
    }

    /// Median commit duration, milliseconds (0 without commits).
    pub(crate) fn commit_ms_median(&self) -> f64 {
        self.workers.commit_ms.quantile(0.5)
    }

    /// 99th percentile commit duration, milliseconds.
    pub(crate) fn commit_ms_p99(&self) -> f64 {
        self.workers.commit_ms.quantile(0.99)
    }

    /// Commits that took longer than [`STALL_MS`]: writes held up by an
    /// election, a failover, a lost majority or an outage.
    pub(crate) fn commit_stalls(&self) -> u64 {
        self.workers.commit_ms.count_at_least(STALL_MS)
    }

    /// 99th percentile `WAIT` after a commit, milliseconds (0 without WAIT).
    pub(crate) fn wait_ms_p99(&self) -> f64 {
        self.workers.wait_ms.quantile(0.99)
    }

    /// Records the server's own figures for the job: `load` is what
    /// happened on the server between the workers' start and the job's end.
    pub(crate) fn add_server_load(&mut self, load: &ServerLoad) {
        let (calls, usec) = load.of(self.merge.update_command());
        self.server_cpu_s = load.cpu_s;
        self.merge_calls = calls;
        self.merge_usec = usec;
    }

    /// Word updates applied per second of the job (from the workers'
    /// start until Redis said it was done): the rate the server sustained,
    /// the one to compare between runs (0 when unknown).
    pub(crate) fn server_updates_per_s(&self) -> f64 {
        if self.job_s > 0.0 {
            self.workers.word_updates as f64 / self.job_s
        } else {
            0.0
        }
    }

    /// Server microseconds per call of the merge command (`ZINCRBY`,
    /// `HINCRBY`, or `SET` of a part), from `INFO commandstats`.
    pub(crate) fn server_us_per_merge_call(&self) -> f64 {
        if self.merge_calls > 0 {
            self.merge_usec as f64 / self.merge_calls as f64
        } else {
            0.0
        }
    }

    /// Word updates per second of merge time, the merge time summed over
    /// workers: a per-worker rate (with p workers waiting on one server it
    /// is about 1/p of what the server sustained, see
    /// [`RedisReport::server_updates_per_s`]); 0 when nothing was merged.
    pub(crate) fn worker_updates_per_merge_s(&self) -> f64 {
        if self.workers.merge_s > 0.0 {
            self.workers.word_updates as f64 / self.workers.merge_s
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::stats_tests::{assert_close, histogram, stats};

    #[test]
    fn reports_sum_workers() {
        let mut report = RedisReport::new("j", "redis://h:1/", true, "7.0.15", CommitPath::PerUnit);
        assert_eq!(report.worker_updates_per_merge_s(), 0.0);
        report.add_worker(&stats(0, 2, 100, 0.5));
        report.add_worker(&stats(1, 3, 300, 1.5));
        assert_eq!(report.workers.units, 5);
        assert_eq!(report.units_per_worker, vec![2, 3]);
        assert_eq!(report.worker_pids, vec![100, 101]);
        let totals = &report.workers;
        assert_eq!(totals.word_updates, 400);
        assert_eq!(totals.round_trips, 5);
        assert_eq!(
            (totals.count_s, totals.merge_s, totals.wait_s),
            (2.0, 2.0, 1.0)
        );
        assert_eq!(totals.reconnects, 1);
        assert_eq!(report.worker_updates_per_merge_s(), 200.0);
        assert_eq!(report.workers.min_replicas_acked, None);
    }

    #[test]
    fn waits_give_quantiles_and_the_fewest_acks() {
        let mut report = RedisReport::new("j", "s", true, "7", CommitPath::Atomic);
        let waited = |ms: Vec<f64>, acked| WorkerStats {
            measured: WorkerMeasures {
                wait_ms: histogram(&ms),
                min_replicas_acked: Some(acked),
                ..Default::default()
            },
            ..WorkerStats::default()
        };
        report.add_worker(&waited((1..=99).map(f64::from).collect(), 2));
        report.add_worker(&waited(vec![1000.0], 1));
        assert_close(report.wait_ms_median(), 50.0);
        assert_close(report.wait_ms_p99(), 99.0);
        assert_eq!(report.workers.min_replicas_acked, Some(1));
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn commits_give_quantiles_and_stalls_over_a_second() {
        let mut report = RedisReport::new("j", "s", true, "7", CommitPath::Atomic);
        let committed = |ms: Vec<f64>| WorkerStats {
            measured: WorkerMeasures {
                commit_ms: histogram(&ms),
                ..Default::default()
            },
            ..WorkerStats::default()
        };
        report.add_worker(&committed((1..=98).map(f64::from).collect()));
        report.add_worker(&committed(vec![1500.0, 2600.0]));
        assert_close(report.commit_ms_median(), 50.0);
        assert_eq!(report.commit_stalls(), 2);
        assert!(report.commit_ms_p99() >= 98.0);
        let line = committed(vec![3.5]).to_line();
        assert!(line.contains("commit_ms"), "{line}");
    }
}
