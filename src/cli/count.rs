//! `harness count`: one run of one mode over some paths; prints the top
//! words and a summary line, optionally writes every count to a file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use super::TokenizerArg;
use crate::job::{JobSpec, Mode, run_job};
use crate::params::{RedisParams, RunContext};
use crate::redis_run::RedisOptions;

/// Arguments of `harness count`.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// Files and/or folders to count (folders are walked recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How to run the count.
    #[arg(long, value_enum, default_value_t = ModeArg::Serial)]
    pub mode: ModeArg,
    /// Worker threads or processes (ignored by `serial`); 0 with `--mode redis
    /// --redis-url URL --wait`: only queue the job, for `harness worker` on other hosts.
    #[arg(long, short = 'w', default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub workers: u32,
    /// With `--workers 0`: wait (no deadline unless --deadline-s) until workers
    /// started elsewhere with `harness worker` complete the job, then read the counts.
    #[arg(long)]
    pub wait: bool,
    /// How many top words to print.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Write ALL counts here, `word<TAB>count` per line, count descending then word ascending.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What counts as a word.
    #[arg(long, value_enum, default_value_t = TokenizerArg::Whitespace)]
    pub tokenizer: TokenizerArg,
    /// Largest unit of work; bigger files are split into byte ranges cut at whitespace
    /// (e.g. 4MiB). Default: about an eighth of each worker's share, 1 MiB to 64 MiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub unit_bytes: Option<u64>,
    /// `redis` mode: use this Redis (redis://:PASSWORD@HOST:PORT/) instead of starting one; nothing is killed.
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// The `redis`-mode run parameters (see `crate::params`).
    #[command(flatten)]
    pub redis: RedisParams,
    /// `redis` mode: most word/count pairs an atomic commit sends inline in its FCALL; more are staged first (tests use a tiny value to exercise staging).
    #[arg(long, hide = true, value_name = "N", default_value_t = crate::queue::INLINE_MAX_PAIRS)]
    pub inline_pairs: u64,
    /// `redis` mode: leave the job's keys (wc:{JOB}:*) in an external Redis after the run.
    #[arg(long)]
    pub keep_keys: bool,
}

/// The modes `harness count` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One process, one thread: the reference.
    Serial,
    /// Worker threads in one process.
    Threads,
    /// Worker OS processes fed over pipes.
    Processes,
    /// Worker OS processes coordinated through Redis (a managed server unless --redis-url).
    Redis,
}

impl From<ModeArg> for Mode {
    fn from(arg: ModeArg) -> Mode {
        match arg {
            ModeArg::Serial => Mode::Serial,
            ModeArg::Threads => Mode::Threads,
            ModeArg::Processes => Mode::Processes,
            ModeArg::Redis => Mode::Redis,
        }
    }
}

/// Parses a size with units for clap.
pub fn parse_size_arg(text: &str) -> Result<u64, String> {
    data_gen::parse_size(text).map_err(|e| e.to_string())
}

/// Runs `harness count`.
pub fn run(args: CountArgs) -> Result<()> {
    let mode: Mode = args.mode.into();
    if mode != Mode::Redis && (args.redis_url.is_some() || args.keep_keys) {
        anyhow::bail!(
            "--redis-url and --keep-keys only apply to --mode redis: add --mode redis or leave them out"
        );
    }
    if args.workers == 0 && !(mode == Mode::Redis && args.redis_url.is_some() && args.wait) {
        anyhow::bail!(
            "--workers 0 queues a job for workers on other hosts: it needs --mode redis --redis-url URL (a Redis they can reach) --wait; otherwise use --workers 1 or more"
        );
    }
    if args.wait && args.workers != 0 {
        anyhow::bail!(
            "--wait only applies with --workers 0 (with local workers count always waits): leave it out or add --workers 0"
        );
    }
    let workers = if mode == Mode::Serial {
        1
    } else {
        args.workers
    };
    args.redis
        .validate(RunContext {
            mode: mode.name(),
            workers,
            external_server: args.redis_url.is_some(),
        })
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: {}",
                e.flag(),
                e.message.replace("mode redis", "--mode redis")
            )
        })?;
    let spec = JobSpec {
        paths: args.paths.clone(),
        mode,
        workers: args.workers,
        tokenizer: args.tokenizer.into(),
        unit_bytes: args.unit_bytes,
        redis: RedisOptions {
            url: args.redis_url.clone(),
            params: args.redis.clone(),
            inline_pairs: args.inline_pairs,
            keep_keys: args.keep_keys,
            ..RedisOptions::default()
        },
    };
    if mode == Mode::Redis {
        // Ctrl-C stops the workers and the managed redis-server through their guards.
        crate::interrupt::install();
    }
    let exe =
        std::env::current_exe().context("cannot find the harness executable to start workers")?;
    let outcome = run_job(&spec, &exe)?;
    if let Some(output) = &args.output {
        crate::fsutil::write_atomically(output, |w| outcome.counts.write_tsv(w))?;
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (word, count) in outcome.counts.top(args.top) {
        writeln!(out, "{count:>12}  {}", String::from_utf8_lossy(word))?;
    }
    let workers = spec.effective_workers();
    write!(
        out,
        "mode={} workers={} files={} units={} bytes={} words={} distinct={} wall_s={:.3} plan_s={:.3} count_s={:.3} merge_s={:.3}",
        mode.name(),
        workers,
        outcome.files,
        outcome.units,
        outcome.tally.bytes,
        outcome.tally.words,
        outcome.counts.distinct(),
        outcome.wall_s,
        outcome.plan_s,
        outcome.count_s,
        outcome.merge_s,
    )?;
    if let Some(redis) = &outcome.redis {
        write!(
            out,
            " commit={} units_stolen={} crashes={} kills={} unexpected_deaths={} worker_restarts={} redis_restarts={} relaunches={} duplicate_commits={} word_updates={} worker_count_s={:.3} worker_merge_s={:.3} worker_wait_s={:.3} worker_updates_per_merge_s={:.0} server_updates_per_s={:.0} server_cpu_s={:.3} server_us_per_merge_call={:.2} merge={} commit_units={} redis_version={} throttle={} server={} redis_pid={} worker_pids={} topology={} replicas={} failovers={} replica_restarts={} commit_retries={} wait_ms_median={:.3} wait_ms_p99={:.3} commit_ms_median={:.3} commit_ms_p99={:.3} commit_stalls={} queue={} min_replicas_acked={} failover_s={:.3} redis_pids={}",
            redis.commit,
            redis.units_stolen,
            redis.crashes,
            redis.kills,
            redis.unexpected_deaths,
            redis.worker_restarts,
            redis.redis_restarts,
            redis.relaunches,
            redis.duplicate_commits,
            redis.word_updates,
            redis.count_s,
            redis.merge_s,
            redis.wait_s,
            redis.worker_updates_per_merge_s(),
            redis.server_updates_per_s(),
            redis.server_cpu_s,
            redis.server_us_per_merge_call(),
            redis.merge,
            redis.commit_units,
            redis.redis_version,
            redis.throttle,
            redis.server,
            redis
                .redis_pid
                .map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
            redis
                .worker_pids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            redis.topology,
            redis.replicas,
            redis.failovers,
            redis.replica_restarts,
            redis.commit_retries,
            redis.wait_ms_median(),
            redis.wait_ms_p99(),
            redis.commit_ms_median(),
            redis.commit_ms_p99(),
            redis.commit_stalls(),
            redis.queue,
            redis
                .min_replicas_acked
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            redis.failover_s,
            redis
                .redis_pids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
        )?;
        write!(
            out,
            " unexpected_node_deaths={} servers_start_s={:.3}",
            redis.unexpected_node_deaths, redis.server_s
        )?;
        if !redis.shaper_used.is_empty() {
            let join = |v: Vec<String>| v.join(",");
            write!(
                out,
                " shaper={} host_rtt_ms={} worker_hosts={}",
                redis.shaper_used,
                join(
                    redis
                        .host_rtt_ms
                        .iter()
                        .map(|v| format!("{v:.3}"))
                        .collect()
                ),
                join(redis.worker_hosts.iter().map(u32::to_string).collect()),
            )?;
        }
    }
    writeln!(out)?;
    out.flush()?;
    Ok(())
}
