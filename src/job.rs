//! A job: one execution of one mode over one set of inputs, from paths to
//! merged counts plus the measurements a CSV row needs. Both `harness count`
//! and the experiment runner go through [`run_job`].

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::input::{collect_files, plan_units, shrink_tail};
use crate::local::{LocalOutcome, LocalWorkers, run_serial, run_threads};
use crate::redis_run::RedisReport;
use crate::redis_run::{RedisOptions, run_redis_job};
use crate::words::{Tally, Tokenizer, WordCounts};

/// How a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One process, one thread: the reference.
    Serial,
    /// Worker threads in one process.
    Threads,
    /// Worker OS processes fed over pipes.
    Processes,
    /// Worker OS processes coordinated through a Redis stream and sorted set.
    Redis,
}

impl Mode {
    /// The name used on the command line and in CSV files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Serial => "serial",
            Mode::Threads => "threads",
            Mode::Processes => "processes",
            Mode::Redis => "redis",
        }
    }
}

/// Everything a job needs to run.
#[derive(Debug, Clone)]
pub(crate) struct JobSpec {
    /// Files and folders to count.
    pub paths: Vec<PathBuf>,
    /// How to run.
    pub mode: Mode,
    /// Workers (threads or processes); 1 for serial.
    pub workers: u32,
    /// What counts as a word.
    pub tokenizer: Tokenizer,
    /// Largest unit of work; `None` picks one from the input size.
    pub unit_bytes: Option<u64>,
    /// Settings of the `redis` mode (ignored by the others).
    pub redis: RedisOptions,
}

/// What a job produced and how long its phases took.
#[derive(Debug, Clone)]
pub(crate) struct JobOutcome {
    /// The merged counts.
    pub counts: WordCounts,
    /// Input files.
    pub files: usize,
    /// Size of the largest input file, bytes.
    pub max_file_bytes: u64,
    /// Units of work the files were cut into.
    pub units: usize,
    /// Unit size used.
    pub unit_bytes: u64,
    /// Bytes and words seen.
    pub tally: Tally,
    /// Seconds from start to merged counts (excludes writing output).
    pub wall_s: f64,
    /// Seconds walking the inputs and cutting units.
    pub plan_s: f64,
    /// Seconds of the parallel counting phase.
    pub count_s: f64,
    /// Seconds merging partial counts.
    pub merge_s: f64,
    /// Units counted per worker.
    pub units_per_worker: Vec<u64>,
    /// The Redis measurements (`redis` mode only).
    pub redis: Option<RedisReport>,
    /// What the workers did when (`redis` mode; empty for the local modes).
    pub events: Vec<crate::events::Event>,
}

/// The automatic unit size for `mode`: a slice of each worker's share of
/// the bytes, between 1 MiB and 64 MiB. Local modes hand out units almost
/// for free, so they use small slices (a 32nd) to keep the tail short;
/// the Redis mode pays a commit per unit, so it uses an eighth.
pub(crate) fn auto_unit_bytes(total_bytes: u64, workers: u32, mode: Mode) -> u64 {
    let slices = if mode == Mode::Redis { 8 } else { 32 };
    (total_bytes / (u64::from(workers.max(1)) * slices)).clamp(1 << 20, 64 << 20)
}

impl JobSpec {
    /// Workers that actually run here: 1 for serial, at least 1 for the
    /// local modes; the `redis` mode may run 0 (workers join from other
    /// hosts, see [`crate::remote`]).
    pub(crate) fn effective_workers(&self) -> u32 {
        if self.mode == Mode::Serial {
            1
        } else if self.mode == Mode::Redis {
            self.workers
        } else {
            self.workers.max(1)
        }
    }
}

/// Runs a job. `exe` is the harness binary, re-invoked for worker processes.
pub(crate) fn run_job(spec: &JobSpec, exe: &Path) -> Result<JobOutcome> {
    let started = Instant::now();
    let workers = spec.effective_workers();
    // Worker processes start first and load while the inputs are planned.
    let local_workers = match spec.mode {
        Mode::Processes => Some(
            LocalWorkers::spawn(exe, spec.tokenizer, workers as usize)
                .context("cannot start the processes-mode workers")?,
        ),
        _ => None,
    };
    let files = collect_files(&spec.paths, |path, kind| {
        eprintln!(
            "note: skipping {} ({kind}, not a regular file)",
            path.display()
        );
    })?;
    let total_bytes: u64 = files.iter().map(|f| f.bytes).sum();
    let unit_bytes = spec
        .unit_bytes
        .unwrap_or_else(|| auto_unit_bytes(total_bytes, workers, spec.mode));
    let mut units = plan_units(&files, unit_bytes)?;
    if spec.unit_bytes.is_none() && matches!(spec.mode, Mode::Threads | Mode::Processes) {
        // Automatic units: also cut the last ones small so the workers
        // finish together (an explicit --unit-bytes is taken as it is).
        units = shrink_tail(units, workers as usize)?;
    }
    let plan_s = started.elapsed().as_secs_f64();
    let (outcome, redis, events): (LocalOutcome, _, _) = match spec.mode {
        Mode::Serial => (run_serial(&units, spec.tokenizer)?, None, Vec::new()),
        Mode::Threads => (
            run_threads(&units, spec.tokenizer, workers as usize)?,
            None,
            Vec::new(),
        ),
        Mode::Processes => (
            local_workers
                .context("processes-mode workers were not started")?
                .count(&units)
                .with_context(|| format!("the processes-mode run with {workers} workers failed"))?,
            None,
            Vec::new(),
        ),
        Mode::Redis => {
            let run = run_redis_job(&units, spec.tokenizer, workers, &spec.redis, exe)
                .with_context(|| format!("the redis-mode run with {workers} workers failed"))?;
            let local = LocalOutcome {
                counts: run.counts,
                tally: run.tally,
                count_s: run.count_s,
                merge_s: run.merge_s,
                units_per_worker: run.units_per_worker,
            };
            (local, Some(run.report), run.events)
        }
    };
    Ok(JobOutcome {
        counts: outcome.counts,
        files: files.len(),
        max_file_bytes: files.iter().map(|f| f.bytes).max().unwrap_or(0),
        units: units.len(),
        unit_bytes,
        tally: outcome.tally,
        wall_s: started.elapsed().as_secs_f64(),
        plan_s,
        count_s: outcome.count_s,
        merge_s: outcome.merge_s,
        units_per_worker: outcome.units_per_worker,
        redis,
        events,
    })
}
