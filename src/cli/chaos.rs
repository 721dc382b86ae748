//! `harness chaos`: a series of seeded fault schedules against the real
//! system, each checked against the serial oracle (see [`crate::chaos`]).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::chaos::{ChaosCommit, ChaosOptions, NodeKind, Outcome, Victim, run_chaos};

/// Arguments of `harness chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// How many schedules to run.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub schedules: u64,
    /// Seed of the series: the same seed runs the same schedules.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run only the schedule with this seed (as printed for a failure).
    #[arg(long, value_name = "SEED")]
    pub replay: Option<u64>,
    /// Scale of the generated inputs (1 = 16-128 KB files).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// The commit path: atomic (the system under test) or plain (the
    /// control, which must show wrong counts so the checker is seen to bite).
    #[arg(long, value_enum, default_value_t = CommitArg::Atomic)]
    pub commit: CommitArg,
    /// The work-queue backend: stream or lease (every lease commit is
    /// atomic, so `--commit plain` with it is no control).
    #[arg(long, default_value = "stream")]
    pub queue: crate::queue::QueueBackend,
    /// The Redis topology: single or snapshot (Redis kills restart from
    /// snapshots), replicated or raft (kills of the primary/leader, a
    /// replica/follower or both replicas; raft needs --queue lease and the
    /// RedisRaft module from HARNESS_REDISRAFT). Besides the harness's own
    /// kills, this process kills and pauses nodes from outside.
    #[arg(long, default_value = "single")]
    pub topology: crate::servers::TopologyKind,
    /// Seconds each schedule may take before it counts as not finished.
    #[arg(long, default_value_t = 30.0)]
    pub deadline_s: f64,
    /// The CSV with one row per schedule.
    #[arg(long, default_value = "results/chaos.csv")]
    pub csv: PathBuf,
    /// Folder of generated inputs and the oracle cache.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Bring your own worker: run this command (docs/PROTOCOL.md) as the
    /// workers instead of the built-in one; --commit is then its own choice.
    #[arg(long, value_name = "CMD", default_value = "")]
    pub worker_cmd: String,
    /// Bring your own worker: the Function library the harness loads for it.
    #[arg(long, value_name = "LIB.lua", default_value = "")]
    pub worker_functions: String,
}

/// The commit path of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CommitArg {
    /// One atomic Function call per unit (merge + XACK).
    Atomic,
    /// The plain per-unit commit (the control).
    Plain,
}

/// Runs `harness chaos`.
pub(crate) fn run(args: ChaosArgs) -> Result<()> {
    crate::interrupt::install();
    if !(args.scale.is_finite() && args.scale > 0.0) {
        bail!("--scale must be a positive number, not {}", args.scale);
    }
    if !(args.deadline_s.is_finite() && args.deadline_s > 0.0) {
        bail!("--deadline-s must be a positive number of seconds");
    }
    {
        // The topology's own rules say whether it runs with this queue.
        let changed = if args.queue == crate::queue::QueueBackend::Stream {
            Vec::new()
        } else {
            vec!["queue"]
        };
        let params = crate::params::RedisParams {
            topology: args.topology,
            queue: args.queue,
            ..crate::params::RedisParams::default()
        };
        let rules = params.rules(false);
        let mut settings = params.topology_settings(&changed, "");
        settings.snapshot_s = settings.snapshot_s.max(1);
        if let Err(e) = crate::servers::check_topology(rules, &settings) {
            bail!("--topology {}: {}", args.topology, e.message);
        }
        if let Some(missing) = rules.missing(&settings) {
            bail!("--topology {}: {missing}", args.topology);
        }
    }
    let commit = match args.commit {
        CommitArg::Atomic => ChaosCommit::Atomic,
        CommitArg::Plain => ChaosCommit::Plain,
    };
    let options = ChaosOptions {
        schedules: args.schedules,
        seed: args.seed,
        replay: args.replay,
        scale: args.scale,
        commit,
        queue: args.queue,
        topology: args.topology,
        deadline_s: args.deadline_s,
        exe: std::env::current_exe().context("cannot find the harness executable")?,
        data_dir: args.data.clone(),
        csv: args.csv.clone(),
        worker_cmd: args.worker_cmd.clone(),
        worker_functions: args.worker_functions.clone(),
    };
    let total = args.replay.map_or(args.schedules, |_| 1);
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} schedules, {elapsed} elapsed, ETA {eta} | {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut exact = 0usize;
    let summary = run_chaos(&options, |row, done, all| {
        if row.outcome == Outcome::Exact {
            exact += 1;
        }
        bar.set_message(format!("{exact} exact of {done}"));
        if row.outcome != Outcome::Exact {
            let line = format!(
                "seed {}: {:?} in {:.2}s: {} -- {}",
                row.seed, row.outcome, row.wall_s, row.schedule, row.detail
            );
            if bar.is_hidden() {
                eprintln!("[{done}/{all}] {line}");
            } else {
                bar.println(line);
            }
        }
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    let n = summary.rows.len();
    let walls: Vec<f64> = summary.rows.iter().map(|r| r.wall_s).collect();
    let mean = walls.iter().sum::<f64>() / n.max(1) as f64;
    let max = walls.iter().copied().fold(0.0, f64::max);
    let (left_processes, left_dirs) = summary.leftovers();
    let series = match args.replay {
        Some(seed) => format!("replay of schedule {seed}"),
        None => format!("seed {}", args.seed),
    };
    println!(
        "chaos ({}, {series}): {n} schedules in {:.1}s: {} exact, {} wrong, {} not finished, {} failed; wall per schedule mean {mean:.2}s, max {max:.2}s; leftovers: {left_processes} processes, {left_dirs} temp dirs; rows in {}",
        match commit {
            _ if !args.worker_cmd.is_empty() => format!("external worker `{}`", args.worker_cmd),
            ChaosCommit::Atomic => "atomic commit".to_owned(),
            ChaosCommit::Plain => "plain commit".to_owned(),
        },
        summary.wall_s,
        summary.count(Outcome::Exact),
        summary.count(Outcome::Wrong),
        summary.count(Outcome::NotFinished),
        summary.count(Outcome::Failed),
        args.csv.display()
    );
    let summed = |key: &str| {
        summary
            .rows
            .iter()
            .map(|r| {
                r.detail
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix(key))
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            })
            .sum::<u64>()
    };
    let server = Victim::Node(NodeKind::Data);
    let sentinel = Victim::Node(NodeKind::Sentinel);
    println!(
        "outside node faults thrown: {} kill -9 of a redis-server, {} of a redis-sentinel, {} SIGSTOP of a redis-server, {} of a redis-sentinel; the harness saw {} unexpected node deaths, {} failovers",
        summary.thrown(server, true),
        summary.thrown(sentinel, true),
        summary.thrown(server, false),
        summary.thrown(sentinel, false),
        summed("unexpected_node_deaths="),
        summed("failovers="),
    );
    let (planned, thrown) = summary.planned_and_thrown();
    println!(
        "outside worker faults thrown: {} kill -9, {} SIGSTOP; outside faults planned {planned}, thrown {thrown}, not thrown {} (the workers had ended before their time; listed in the CSV's not_thrown)",
        summary.thrown(Victim::Worker, true),
        summary.thrown(Victim::Worker, false),
        planned - thrown.min(planned),
    );
    let mut replay_flags = String::new();
    if commit == ChaosCommit::Plain {
        replay_flags.push_str(" --commit plain");
    }
    if args.queue != crate::queue::QueueBackend::Stream {
        replay_flags.push_str(&format!(" --queue {}", args.queue));
    }
    if args.topology != crate::servers::TopologyKind::default() {
        replay_flags.push_str(&format!(" --topology {}", args.topology));
    }
    for (flag, value) in [
        ("--worker-cmd", &args.worker_cmd),
        ("--worker-functions", &args.worker_functions),
    ] {
        if !value.is_empty() {
            replay_flags.push_str(&format!(" {flag} '{}'", value.replace('\'', "'\\''")));
        }
    }
    for row in summary.rows.iter().filter(|r| r.outcome != Outcome::Exact) {
        println!(
            "  {:?}: replay with `harness chaos --replay {}{replay_flags}`: {}",
            row.outcome, row.seed, row.detail
        );
    }
    if left_processes > 0 || left_dirs > 0 {
        bail!(
            "schedules left {left_processes} processes and {left_dirs} temporary directories behind (listed above)"
        );
    }
    match commit {
        ChaosCommit::Atomic if summary.count(Outcome::Wrong) > 0 => bail!(
            "{} schedule(s) gave wrong counts with the atomic commit: replay them with the seeds above",
            summary.count(Outcome::Wrong)
        ),
        ChaosCommit::Plain => {
            println!(
                "plain-commit control: {} of {n} schedules wrong ({:.1}%){}",
                summary.count(Outcome::Wrong),
                100.0 * summary.count(Outcome::Wrong) as f64 / n.max(1) as f64,
                if summary.count(Outcome::Wrong) > 0 {
                    ": the checker bites"
                } else {
                    ": no wrong count seen; run more schedules"
                }
            );
            Ok(())
        }
        ChaosCommit::Atomic => Ok(()),
    }
}
