//! `harness worker`: start N workers on this host that join a job queued
//! elsewhere (`harness count --mode redis --redis-url URL --workers 0 --wait`),
//! and print what each one did once Redis says the job is complete.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use crate::redis_run::{JoinOptions, join_job};

/// Arguments of `harness worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The job's Redis as this host reaches it (redis://:PASSWORD@HOST:PORT/).
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// The job id the client printed (its keys are wc:{JOB}:*).
    #[arg(long, value_name = "JOB")]
    pub job: String,
    /// Worker processes to start on this host.
    #[arg(long, short = 'w', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub workers: u32,
    /// Where the job's input root (recorded by the client) is mounted on this
    /// host; default: the same path as on the client.
    #[arg(long, value_name = "DIR")]
    pub input_root: Option<PathBuf>,
    /// Seconds to wait for the job to be queued (its settings key to appear).
    #[arg(long, value_name = "S", default_value_t = 30)]
    pub wait_for_job_s: u64,
}

/// Runs `harness worker`.
pub(crate) fn run(args: WorkerArgs) -> Result<()> {
    if let Some(root) = &args.input_root
        && !root.is_dir()
    {
        anyhow::bail!(
            "--input-root {} is not a folder on this host: give the folder where the job's inputs are mounted here",
            root.display()
        );
    }
    crate::interrupt::install();
    let exe =
        std::env::current_exe().context("cannot find the harness executable to start workers")?;
    let options = JoinOptions {
        url: args.redis.clone(),
        job: args.job.clone(),
        workers: args.workers,
        input_root: args.input_root.clone(),
        wait_for_job: Duration::from_secs(args.wait_for_job_s),
    };
    let outcome = join_job(&options, &exe)
        .with_context(|| format!("the workers joining job {} failed", args.job))?;
    for stats in &outcome.finished {
        println!(
            "worker={} pid={} units={} units_stolen={} words={} bytes={} word_updates={} count_s={:.3} merge_s={:.3} wait_s={:.3}",
            stats.worker,
            stats.pid,
            stats.measured.units,
            stats.measured.units_stolen,
            stats.measured.words,
            stats.measured.bytes,
            stats.measured.word_updates,
            stats.measured.count_s,
            stats.measured.merge_s,
            stats.measured.wait_s
        );
    }
    if !outcome.complete {
        anyhow::bail!(
            "every worker of this host ended but job {} is not complete ({} died: {}); start more workers with the same command",
            args.job,
            outcome.died.len(),
            outcome.died.join("; ")
        );
    }
    Ok(())
}
