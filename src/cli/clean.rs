//! `harness clean`: lists the jobs whose keys (`wc:{JOB}:*`) are in a
//! Redis the user runs and removes them: what a client killed with SIGKILL
//! (before its keys' TTL ran out), `--keep-keys`, or an older harness left.

use std::io::Write;

use anyhow::{Result, bail};
use clap::Args;

use crate::queue::{Endpoint, delete_job, find_jobs};

/// Arguments of `harness clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The Redis to clean (redis://:PASSWORD@HOST:PORT/).
    #[arg(long, value_name = "URL")]
    pub redis_url: String,
    /// Only this job's keys (the id in wc:{JOB}:*).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,
    /// Only list the jobs and their keys; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `harness clean`. A job still running loses its keys too (and
/// fails): stop running jobs first, or name the one to remove with --job.
pub(crate) fn run(args: CleanArgs) -> Result<()> {
    let endpoint = Endpoint::new(&args.redis_url);
    let mut con = endpoint.connect()?;
    let mut jobs = find_jobs(&mut con).map_err(|e| endpoint.error(e, "SCAN for job keys"))?;
    if let Some(job) = &args.job {
        jobs.retain(|found| &found.job == job);
        if jobs.is_empty() {
            bail!(
                "no keys of job {job} in {}: run `harness clean --redis-url URL --dry-run` to list the jobs there",
                endpoint.shown()
            );
        }
    }
    let mut out = std::io::stdout().lock();
    if jobs.is_empty() {
        writeln!(out, "no job keys (wc:{{JOB}}:*) in {}", endpoint.shown())?;
        return Ok(());
    }
    let mut removed = 0;
    for job in &jobs {
        let ttl = if job.without_ttl > 0 {
            format!("{} without a TTL", job.without_ttl)
        } else {
            format!("expiring within {:.0} s", job.max_ttl_ms as f64 / 1000.0)
        };
        let verb = if args.dry_run { "found" } else { "removed" };
        if !args.dry_run {
            removed +=
                delete_job(&mut con, job).map_err(|e| endpoint.error(e, "DEL of a job's keys"))?;
        }
        writeln!(
            out,
            "{verb} job {}: {} keys ({ttl}): {}",
            job.job,
            job.keys.len(),
            job.keys.join(" ")
        )?;
    }
    if args.dry_run {
        writeln!(
            out,
            "{} job(s) listed, nothing removed (leave out --dry-run to remove them)",
            jobs.len()
        )?;
    } else {
        writeln!(
            out,
            "{} job(s), {removed} keys removed from {}",
            jobs.len(),
            endpoint.shown()
        )?;
    }
    Ok(())
}
