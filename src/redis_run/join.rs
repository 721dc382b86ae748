//! `harness worker`: N worker processes on this host join a queued job.
//! They read the job's settings from Redis ([`crate::remote::settings`]), take
//! unique consumer indices, count with the job's commit path, and exit when
//! Redis says nothing is left to take and nothing is pending. Every process
//! is owned by the same guarded pool as the client's own workers, so
//! Ctrl-C and errors kill and reap them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Ended, RunError, WorkerLaunch, WorkerPool};
use crate::queue::{Endpoint, JobKeys, QueueError, StreamQueue, WorkerStats};
use crate::remote::{JobSettings, settings_key};

/// How often the pool is looked at, and the settings key polled.
const POLL: Duration = Duration::from_millis(50);

/// What to join and how.
#[derive(Debug, Clone)]
pub struct JoinOptions {
    /// The job's Redis (`redis://:PASSWORD@HOST:PORT/`), as this host reaches it.
    pub url: String,
    /// The job id (`wc:{JOB}:*`).
    pub job: String,
    /// Worker processes to start here.
    pub workers: u32,
    /// Where the job's input root is mounted on this host (`None`: at the same path).
    pub input_root: Option<PathBuf>,
    /// How long to wait for the job's settings to appear.
    pub wait_for_job: Duration,
}

/// How the joined workers ended.
#[derive(Debug, Clone, Default)]
pub struct JoinOutcome {
    /// Consumer indices the workers used.
    pub indices: Vec<u32>,
    /// The measurements of the workers that exited normally.
    pub finished: Vec<WorkerStats>,
    /// The workers that died, in words.
    pub died: Vec<String>,
    /// Redis said the job was complete once every worker had ended.
    pub complete: bool,
}

/// Starts `options.workers` workers (`exe redis-worker`) for the job and
/// waits until all of them have ended.
pub(crate) fn join_job(options: &JoinOptions, exe: &Path) -> Result<JoinOutcome, RunError> {
    let keys = JobKeys::new(&options.job).map_err(QueueError::BadOptions)?;
    if options.workers == 0 {
        return Err(QueueError::BadOptions("--workers must be at least 1".into()).into());
    }
    let endpoint = Endpoint::new(&options.url);
    let mut con = endpoint.connect()?;
    let give_up = Instant::now() + options.wait_for_job;
    let settings = loop {
        crate::interrupt::check()?;
        if let Some(settings) = JobSettings::fetch(&endpoint, &mut con, keys.job())? {
            break settings;
        }
        if Instant::now() >= give_up {
            return Err(QueueError::BadOptions(format!(
                "job {} has no settings at {} on {} after {:.0} s: check the job id printed by `harness count --workers 0 --wait` and that it is still running against this Redis",
                keys.job(),
                settings_key(keys.job()),
                endpoint.shown(),
                options.wait_for_job.as_secs_f64()
            ))
            .into());
        }
        std::thread::sleep(POLL);
    };
    let indices = settings.claim_indices(&endpoint, &mut con, keys.job(), options.workers)?;
    // Off the live count on every way out (the client waits for it to reach 0
    // before deleting the job's keys).
    let mut leave = Leave {
        endpoint: &endpoint,
        job: keys.job().to_owned(),
        count: options.workers,
    };
    let job_dir = crate::fsutil::owned_temp_dir("harness-joined-workers").map_err(|error| {
        QueueError::Io {
            what: "creating a temporary directory for the workers' logs".into(),
            error,
        }
    })?;
    let input_map = crate::input::InputMap {
        to_root: options.input_root.clone(),
        ..settings.input.clone()
    };
    let launches: Vec<WorkerLaunch> = indices
        .clone()
        .map(|worker| {
            let mut config = settings.worker.clone();
            config.url = options.url.clone();
            config.job = keys.job().to_owned();
            config.worker = worker;
            config.events = None;
            config.crash = None;
            config.input_map = Some(input_map.clone());
            WorkerLaunch {
                config,
                stderr: job_dir.path().join(format!("worker-{worker}.stderr")),
                exec_prefix: Vec::new(),
                external: None,
                cpu_fraction: None,
            }
        })
        .collect();
    let mut pool = WorkerPool::spawn(exe, launches)?;
    let mut outcome = JoinOutcome {
        indices: indices.collect(),
        ..JoinOutcome::default()
    };
    while !pool.running().is_empty() {
        crate::interrupt::check()?;
        for (index, ended) in pool.reap()? {
            match ended {
                Ended::Finished(stats) => outcome.finished.push(stats),
                Ended::Died(death) => {
                    let worker = outcome
                        .indices
                        .get(index as usize)
                        .copied()
                        .unwrap_or(index);
                    let line = format!(
                        "worker {worker} (pid {}) {}: {}",
                        death.pid,
                        death.status,
                        death.stderr_tail.replace('\n', " | ")
                    );
                    eprintln!("note: {line}");
                    outcome.died.push(line);
                }
            }
        }
        std::thread::sleep(POLL);
    }
    let queue = StreamQueue::new(endpoint.clone(), keys);
    outcome.complete = endpoint
        .connect()
        .and_then(|mut con| queue.is_complete(&mut con))
        .unwrap_or(false);
    leave.now();
    Ok(outcome)
}

/// Takes this host's workers off the job's live count once, when dropped
/// or by [`Leave::now`].
struct Leave<'a> {
    endpoint: &'a Endpoint,
    job: String,
    count: u32,
}

impl Leave<'_> {
    fn now(&mut self) {
        if self.count == 0 {
            return;
        }
        let left = self.endpoint.connect().and_then(|mut con| {
            crate::remote::settings::leave(self.endpoint, &mut con, &self.job, self.count)
        });
        if let Err(e) = left {
            eprintln!("warning: could not tell the client this host's workers left: {e}");
        }
        self.count = 0;
    }
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.now();
    }
}
