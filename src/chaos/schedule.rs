//! One chaos schedule, drawn from a seed: the job (workers, input, unit
//! size, commit path) and the faults thrown at it (crash points, outside
//! SIGKILLs and SIGSTOP pauses of workers at random shares of the job, a
//! straggler, the harness's own killer, Redis kills: of the server with
//! restarts from snapshots on `single`, of the primary (leader), a replica
//! (follower) or both replicas on `replicated` and `raft`), and node
//! faults thrown from outside the harness by the chaos process itself
//! (`kill -9` or `SIGSTOP`/`SIGCONT` of a data node or a Sentinel, which
//! the harness did not schedule and must survive as its topology allows).
//! Outside faults
//! are timed in percent of the job's expected length after the workers
//! start (the series learns the length, see `JobPace`), so they land inside
//! the job at any scale and topology. The same seed and topology always
//! give the same schedule (`harness chaos --replay SEED`).

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::faults::{CrashPlan, CrashPoint, SlowWorker, WorkerCrash};
use crate::params::RedisParams;
use crate::servers::{Revival, TopologyKind};

/// How the schedule's workers commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChaosCommit {
    /// The atomic Function commit (the system under test).
    Atomic,
    /// The plain per-unit commit: the control that must show wrong counts.
    Plain,
}

/// Something done to a worker process from outside the harness, at a
/// share of the job's expected length after the workers start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutsideFault {
    /// `kill -9` of a random worker.
    Kill {
        /// Percent of the job's expected length after the workers start.
        at_pct: u32,
    },
    /// `SIGSTOP` of a random worker, `SIGCONT` after `for_ms`.
    Pause {
        /// Percent of the job's expected length after the workers start.
        at_pct: u32,
        /// How long it stays stopped.
        for_ms: u64,
    },
}

impl OutsideFault {
    /// When it is thrown, in percent of the job's expected length after
    /// the workers start.
    pub(crate) fn at_pct(&self) -> u32 {
        match self {
            OutsideFault::Kill { at_pct } | OutsideFault::Pause { at_pct, .. } => *at_pct,
        }
    }

    /// What it does, in words (`kill -9 of a worker at 40% of the job`).
    pub(crate) fn describe(&self) -> String {
        match self {
            OutsideFault::Kill { at_pct } => format!("kill -9 of a worker at {at_pct}% of the job"),
            OutsideFault::Pause { at_pct, for_ms } => {
                format!("SIGSTOP of a worker at {at_pct}% of the job, for {for_ms} ms")
            }
        }
    }
}

/// Which kind of node an outside node fault hits (a random one of its
/// kind, found among the harness's children by process title).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    /// A redis-server (single server, primary, replica, raft node).
    Data,
    /// A redis-sentinel.
    Sentinel,
}

impl NodeKind {
    /// The process title that marks it.
    pub(crate) fn process(self) -> &'static str {
        match self {
            NodeKind::Data => "redis-server",
            NodeKind::Sentinel => "redis-sentinel",
        }
    }
}

/// Something done to a node of the topology from outside the harness, at
/// a share of the job's expected length after the workers start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeFault {
    /// `kill -9` of a random node of `kind`.
    Kill {
        /// Percent of the job's expected length after the workers start.
        at_pct: u32,
        /// Which kind of node.
        kind: NodeKind,
    },
    /// `SIGSTOP` of a random node of `kind`, `SIGCONT` after `for_ms`.
    Pause {
        /// Percent of the job's expected length after the workers start.
        at_pct: u32,
        /// How long it stays stopped.
        for_ms: u64,
        /// Which kind of node.
        kind: NodeKind,
    },
}

impl NodeFault {
    /// When it is thrown, in percent of the job's expected length after
    /// the workers start.
    pub(crate) fn at_pct(&self) -> u32 {
        match self {
            NodeFault::Kill { at_pct, .. } | NodeFault::Pause { at_pct, .. } => *at_pct,
        }
    }

    /// The kind of node it hits.
    pub(crate) fn kind(&self) -> NodeKind {
        match self {
            NodeFault::Kill { kind, .. } | NodeFault::Pause { kind, .. } => *kind,
        }
    }

    /// What it does, in words (`SIGSTOP of a redis-server at 20% of the
    /// job, for 900 ms`).
    pub(crate) fn describe(&self) -> String {
        match self {
            NodeFault::Kill { at_pct, kind } => {
                format!("kill -9 of a {} at {at_pct}% of the job", kind.process())
            }
            NodeFault::Pause {
                at_pct,
                for_ms,
                kind,
            } => format!(
                "SIGSTOP of a {} at {at_pct}% of the job, for {for_ms} ms",
                kind.process()
            ),
        }
    }
}

/// One drawn schedule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Schedule {
    /// The seed it was drawn from.
    pub seed: u64,
    /// Worker processes.
    pub workers: u32,
    /// Input files (synthetic text).
    pub files: u32,
    /// Bytes per input file.
    pub file_bytes: u64,
    /// Largest unit of work (`None`: automatic).
    pub unit_bytes: Option<u64>,
    /// The run parameters: commit path, stealing, crash points, straggler,
    /// the harness's own killer, Redis kills, restarts of dead workers.
    pub params: RedisParams,
    /// Faults from outside the harness.
    pub outside: Vec<OutsideFault>,
    /// Node faults from outside the harness, in time order.
    pub nodes: Vec<NodeFault>,
}

impl Schedule {
    /// The schedule of `seed` for `commit` on `topology`, inputs sized by
    /// `scale`.
    pub(crate) fn draw(
        seed: u64,
        scale: f64,
        commit: ChaosCommit,
        topology: TopologyKind,
    ) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed);
        let workers = rng.random_range(2..=5u32);
        let files = rng.random_range(4..=24u32);
        let file_bytes = ((rng.random_range(16_000..=128_000u64) as f64 * scale) as u64).max(200);
        let unit_bytes = match rng.random_range(0..3u32) {
            0 => None,
            1 => Some(4_096),
            _ => Some(16_384),
        };
        let mut params = RedisParams {
            atomic: commit == ChaosCommit::Atomic,
            autoclaim_ms: [100, 200, 400][rng.random_range(0..3usize)],
            ..RedisParams::default()
        };
        for worker in 0..workers {
            if rng.random_bool(0.3) {
                let point = CrashPoint::ALL[rng.random_range(0..CrashPoint::ALL.len())];
                let on_unit = u64::from(rng.random_range(1..=3u32));
                params.crash.push(WorkerCrash {
                    worker,
                    plan: CrashPlan { point, on_unit },
                });
            }
        }
        if rng.random_bool(0.2) {
            params.slow.push(SlowWorker {
                worker: rng.random_range(0..workers),
                cpu_fraction: 0.3,
            });
        }
        params.kill_every_ms = if rng.random_bool(0.15) { 400 } else { 0 };
        let (redis_kill, snapshot_s) = topology.rules(0).chaos_kill(&mut rng);
        params.topology = topology;
        params.redis_kill = redis_kill.parse().unwrap_or_default();
        params.snapshot_s = snapshot_s;
        let down_ms = rng.random_range(50..=300u64);
        if redis_kill != "none" {
            params.redis_down_ms = down_ms;
        }
        let mut outside = Vec::new();
        for _ in 0..rng.random_range(0..=3u32) {
            let at_pct = rng.random_range(5..=85u32);
            if rng.random_bool(0.6) {
                outside.push(OutsideFault::Kill { at_pct });
            } else {
                outside.push(OutsideFault::Pause {
                    at_pct,
                    for_ms: rng.random_range(50..=800u64),
                });
            }
        }
        outside.sort_by_key(OutsideFault::at_pct);
        // Deaths that could leave nobody alive (the harness's own killer
        // spares the last live worker, but not from the other deaths): let
        // the harness replace them.
        let deaths = params.crash.len()
            + outside
                .iter()
                .filter(|f| matches!(f, OutsideFault::Kill { .. }))
                .count();
        params.restart_dead = deaths as u32 >= workers
            || (params.kill_every_ms > 0 && deaths > 0)
            || rng.random_bool(0.2);
        // Node faults from outside: as many as the topology has kinds of
        // node for, each a kill or a pause, in the first 70% of the job.
        let rules = topology.rules(params.snapshot_s);
        let (sentinels, data_nodes): (Vec<String>, Vec<String>) = rules
            .node_names(params.f)
            .into_iter()
            .partition(|n| n.starts_with("sentinel-"));
        let has_sentinels = !sentinels.is_empty();
        // Data nodes down at once must stay within what the topology comes
        // back from. Where every data node returns from its own disk (a
        // snapshot, a Raft log), any number may go; elsewhere (Sentinel
        // replicas resync from a live copy) the harness's own kill takes
        // its victims out of f and outside faults get the rest: a paused
        // data node counts as down too (a primary paused beyond
        // down-after is failed over, onto whichever replica is left).
        let mut data_faults_left = if rules.recoverable(params.f, &data_nodes) {
            u32::MAX
        } else {
            let scheduled = match params.redis_kill.target {
                _ if params.redis_kill.is_never() => 0,
                crate::faults::KillTarget::Replicas(n) => n,
                _ => 1,
            };
            params.f.saturating_sub(scheduled)
        };
        let mut nodes = Vec::new();
        for _ in 0..rng.random_range(0..=2u32) {
            let kind = if has_sentinels && rng.random_bool(0.3) {
                NodeKind::Sentinel
            } else {
                NodeKind::Data
            };
            let at_pct = rng.random_range(0..=70u32);
            let kill = rng.random_bool(0.6);
            if kind == NodeKind::Data {
                if data_faults_left == 0 {
                    continue;
                }
                data_faults_left -= 1;
            }
            nodes.push(if kill {
                NodeFault::Kill { at_pct, kind }
            } else {
                NodeFault::Pause {
                    at_pct,
                    for_ms: rng.random_range(100..=2500u64),
                    kind,
                }
            });
        }
        nodes.sort_by_key(NodeFault::at_pct);
        // A killed server that would come back empty loses the job: such
        // schedules snapshot, so the restart reloads the dump.
        let kills_data = nodes.iter().any(|n| {
            matches!(
                n,
                NodeFault::Kill {
                    kind: NodeKind::Data,
                    ..
                }
            )
        });
        if kills_data && rules.revival("primary") == Revival::Empty {
            params.snapshot_s = 1;
        }
        Schedule {
            seed,
            workers,
            files,
            file_bytes,
            unit_bytes,
            params,
            outside,
            nodes,
        }
    }

    /// The `harness count` arguments of this schedule (after the input).
    pub(crate) fn count_args(&self, deadline_s: f64) -> Vec<String> {
        let params = RedisParams {
            deadline_s,
            ..self.params.clone()
        };
        let mut args: Vec<String> = ["--mode", "redis", "--top", "0", "--verbose", "--workers"]
            .iter()
            .map(ToString::to_string)
            .collect();
        args.push(self.workers.to_string());
        if let Some(unit) = self.unit_bytes {
            args.extend(["--unit-bytes".into(), unit.to_string()]);
        }
        args.extend(params.command_line());
        args
    }

    /// The schedule in words, for the CSV and the summary.
    pub(crate) fn describe(&self) -> String {
        let mut text = format!(
            "{} workers, {} files x {} B, unit {}, {} commit",
            self.workers,
            self.files,
            self.file_bytes,
            self.unit_bytes
                .map_or_else(|| "auto".to_owned(), |u| format!("{u} B")),
            self.params.commit(),
        );
        for name in self.params.changed() {
            if name == "atomic" {
                continue;
            }
            let value = self.params.text_of(name).unwrap_or_default();
            let _ = write!(text, "; {name} {value}");
        }
        for fault in &self.outside {
            let _ = write!(text, "; outside {}", fault.describe());
        }
        for fault in &self.nodes {
            let _ = write!(text, "; outside {}", fault.describe());
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_draws_the_same_schedule_and_seeds_differ() {
        let single: TopologyKind = "single".parse().unwrap();
        let draw = |seed| Schedule::draw(seed, 1.0, ChaosCommit::Atomic, single);
        let a = draw(7);
        assert_eq!(a, draw(7));
        let all: Vec<Schedule> = (0..200).map(draw).collect();
        assert!(all.iter().any(|s| !s.params.crash.is_empty()));
        assert!(all.iter().any(|s| !s.outside.is_empty()));
        assert!(
            all.iter()
                .any(|s| s.params.changed().contains(&"redis_kill"))
        );
        assert!(all.iter().all(|s| (2..=5).contains(&s.workers)));
        // Every drawn schedule is a valid command line.
        for schedule in &all {
            let args = schedule.count_args(30.0);
            assert!(args.contains(&"--atomic".to_owned()));
            let deaths = schedule.params.crash.len()
                + schedule
                    .outside
                    .iter()
                    .filter(|f| matches!(f, OutsideFault::Kill { .. }))
                    .count();
            assert!(deaths < schedule.workers as usize || schedule.params.restart_dead);
        }
        assert!(a.describe().contains("workers"));
        // Outside node faults are drawn; a kill of the one server makes the
        // schedule snapshot (it comes back from its dump).
        assert!(all.iter().any(|s| !s.nodes.is_empty()));
        for schedule in &all {
            let kills_server = schedule
                .nodes
                .iter()
                .any(|n| matches!(n, NodeFault::Kill { .. }));
            assert!(!kills_server || schedule.params.snapshot_s > 0);
            assert!(schedule.nodes.iter().all(|n| matches!(
                n,
                NodeFault::Kill {
                    kind: NodeKind::Data,
                    ..
                } | NodeFault::Pause {
                    kind: NodeKind::Data,
                    ..
                }
            )));
        }
    }

    #[test]
    fn replicated_schedules_kill_nodes_and_validate() {
        use crate::params::RunContext;
        let all: Vec<Schedule> = (0..200)
            .map(|s| Schedule::draw(s, 1.0, ChaosCommit::Atomic, "replicated".parse().unwrap()))
            .collect();
        for kill in [
            "primary:at:",
            "primary:after-enqueue",
            "replica:",
            "random-replica:",
            "replicas=2:",
        ] {
            assert!(
                all.iter()
                    .any(|s| s.params.redis_kill.to_string().starts_with(kill)),
                "{kill}"
            );
        }
        for schedule in &all {
            assert_eq!(schedule.params.snapshot_s, 0);
            let context = RunContext {
                mode: "redis",
                workers: schedule.workers,
                external_server: false,
            };
            let mut params = schedule.params.clone();
            params.queue = crate::queue::QueueBackend::Lease;
            params.validate(context).unwrap();
            assert!(schedule.count_args(30.0).contains(&"replicated".to_owned()));
        }
        assert!(all.iter().any(|s| s.nodes.iter().any(|n| matches!(
            n,
            NodeFault::Kill {
                kind: NodeKind::Sentinel,
                ..
            }
        ))));
    }
}
