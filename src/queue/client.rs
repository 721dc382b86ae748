//! The client side of a Redis-mode job: start (or reach) the server, queue
//! the units, start the workers (throttling stragglers), wait for them, read
//! the counts back, clean up.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use super::connection::Endpoint;
use super::error::QueueError;
use super::keys::JobKeys;
use super::pool::{FaultPolicy, WorkerLaunch, WorkerPool};
use super::stats::RedisReport;
use super::stream::StreamQueue;
use super::{CommitPath, RedisOptions};
use crate::events::{Event, EventKind, now_unix_s, read_events};
use crate::faults::{KillSchedule, RedisAction, RedisKill, ThrottleMethod, Throttler};
use crate::input::Unit;
use crate::interrupt;
use crate::servers::{RedisConfig, RedisServer};
use crate::words::{Tally, Tokenizer, WordCounts};

/// What a Redis-mode job produced.
#[derive(Debug, Clone)]
pub struct RedisOutcome {
    /// The counts read back from the sorted set.
    pub counts: WordCounts,
    /// Bytes and words the workers counted.
    pub tally: Tally,
    /// Seconds from starting the workers until the last one exited.
    pub count_s: f64,
    /// Seconds reading the counts back from Redis.
    pub merge_s: f64,
    /// Units committed per worker.
    pub units_per_worker: Vec<u64>,
    /// The Redis measurements.
    pub report: RedisReport,
    /// Every worker's events, sorted by time.
    pub events: Vec<Event>,
}

/// Runs one Redis-mode job over `units` with `workers` worker processes
/// (`exe redis-worker ...`). The managed server (if any), the workers and
/// their throttles are stopped on every path out, errors and Ctrl-C
/// included; call it from the thread that owns the run (see `servers`).
pub fn run_redis_job(
    units: &[Unit],
    tokenizer: Tokenizer,
    workers: u32,
    options: &RedisOptions,
    exe: &Path,
) -> Result<RedisOutcome, QueueError> {
    options.validate(workers)?;
    let started = Instant::now();
    let (mut managed, endpoint) = match &options.url {
        Some(url) => (None, Endpoint::new(url)),
        None => {
            let server = RedisServer::start(RedisConfig {
                snapshot_interval_s: (options.snapshot_s > 0).then_some(options.snapshot_s),
                ..RedisConfig::default()
            })?;
            let endpoint = Endpoint::new(&server.url());
            (Some(server), endpoint)
        }
    };
    let mut con = endpoint.connect()?;
    let version = endpoint.server_version(&mut con)?;
    let mut report = RedisReport::new(
        "",
        endpoint.shown(),
        managed.is_some(),
        &version,
        options.commit,
    );
    report.redis_pid = managed.as_ref().and_then(RedisServer::pid);
    report.server_s = started.elapsed().as_secs_f64();

    let phase = Instant::now();
    let keys = JobKeys::random();
    report.job_id = keys.job().to_owned();
    let queue = StreamQueue::new(endpoint.clone(), keys.clone());
    let _cleanup = KeyCleanup {
        queue: &queue,
        endpoint: &endpoint,
        armed: managed.is_none() && !options.keep_keys,
    };
    let mut ordered = units.to_vec();
    ordered.sort_by_key(|u| std::cmp::Reverse(u.bytes()));
    queue.create(&mut con, &ordered)?;
    let atomic = options.commit == CommitPath::Atomic;
    if atomic {
        queue.load_functions(&mut con)?;
    }
    drop(con);
    report.enqueue_s = phase.elapsed().as_secs_f64();
    let mut harness_events = Vec::new();
    let mut outage = RedisOutage {
        queue: &queue,
        endpoint: &endpoint,
        units: &ordered,
        atomic,
        events: &mut harness_events,
        restarts: 0,
    };
    if options.redis_kill == RedisKill::AfterEnqueue
        && let Some(server) = managed.as_mut()
    {
        outage.kill(server, "after the enqueue")?;
        std::thread::sleep(Duration::from_millis(options.redis_down_ms));
        outage.restart(server)?;
    }

    let job_dir = tempfile::Builder::new()
        .prefix("harness-redis-job-")
        .tempdir()
        .map_err(|error| QueueError::Io {
            what: "creating a temporary directory for the workers' logs".into(),
            error,
        })?;
    let launches: Vec<WorkerLaunch> = (0..workers)
        .map(|worker| {
            let events = job_dir.path().join(format!("worker-{worker}.events"));
            WorkerLaunch {
                args: worker_args(&keys, worker, tokenizer, options, &events),
                url: endpoint.url().to_owned(),
                stderr: job_dir.path().join(format!("worker-{worker}.stderr")),
                events,
            }
        })
        .collect();
    let phase = Instant::now();
    let mut pool = WorkerPool::spawn(exe, &launches)?;
    report.throttle = throttle_stragglers(&mut pool, options)?;
    let policy = FaultPolicy {
        crashes_expected: !options.crash.is_empty() || options.kill_every_ms > 0,
        kill_every: (options.kill_every_ms > 0)
            .then(|| Duration::from_millis(options.kill_every_ms)),
    };
    let mut stuck_checked = 0usize;
    let mut watch_con = None;
    let mut schedule = KillSchedule::new(
        options.redis_kill,
        Duration::from_millis(options.redis_down_ms),
    );
    let mut outcome = pool.wait(&policy, |crashed| {
        interrupt::check()?;
        if let Some(server) = managed.as_mut() {
            match schedule.due(Instant::now()) {
                RedisAction::Kill => {
                    outage.kill(server, &format!("{}", options.redis_kill))?;
                    schedule.killed(Instant::now());
                }
                RedisAction::Restart => {
                    outage.restart(server)?;
                    schedule.restarted();
                    watch_con = None;
                }
                RedisAction::Wait => {}
            }
            if schedule.is_down() {
                return Ok(());
            }
        }
        // Without stealing, a unit held by a dead worker is never done and
        // the live workers would wait for it forever: fail instead.
        if options.autoclaim_ms == 0 && crashed.len() > stuck_checked {
            stuck_checked = crashed.len();
            if watch_con.is_none() {
                watch_con = Some(endpoint.connect()?);
            }
            let con = watch_con.as_mut().expect("connected above");
            let pending = queue.pending_by_consumer(con)?;
            for &worker in crashed {
                let consumer = JobKeys::consumer(worker);
                if let Some((_, held)) = pending.iter().find(|(name, held)| *name == consumer && *held > 0) {
                    return Err(QueueError::Stuck(format!(
                        "worker {worker} crashed (or was killed) holding {held} unit(s) that are still pending, and no worker steals pending units: rerun with --autoclaim-ms T (experiment parameter autoclaim_ms, e.g. 1000) so live workers XAUTOCLAIM units idle longer than T ms"
                    )));
                }
            }
        }
        if let Some(server) = managed.as_mut()
            && !server.is_running()
        {
            return Err(QueueError::ServerDied { port: server.port(), log_tail: log_tail(&server.dir().join("redis.log")) });
        }
        Ok(())
    })?;
    if let Some(server) = managed.as_mut() {
        if schedule.is_down() {
            // The workers finished while the server was down.
            outage.restart(server)?;
        }
        if options.redis_kill == RedisKill::BeforeRead {
            outage.kill(server, "before the counts are read")?;
            std::thread::sleep(Duration::from_millis(options.redis_down_ms));
            outage.restart(server)?;
        }
    }
    // A restored snapshot can bring back units the exited workers had
    // already done: start workers again until every unit is acknowledged.
    let mut relaunches = 0;
    while !queue.is_complete(&mut endpoint.connect()?)? {
        if relaunches == MAX_RELAUNCHES {
            return Err(QueueError::Stuck(format!(
                "units are still not acknowledged after starting the workers {MAX_RELAUNCHES} more times; look at the workers' errors above"
            )));
        }
        relaunches += 1;
        outage.note(
            EventKind::Start,
            &format!("units came back unacknowledged: starting the workers again ({relaunches})"),
        );
        drop(pool);
        pool = WorkerPool::spawn(exe, &launches)?;
        let again = pool.wait(&policy, |_| Ok(interrupt::check()?))?;
        outcome.absorb(again);
    }
    report.redis_restarts = outage.restarts;
    report.relaunches = relaunches;
    let count_s = phase.elapsed().as_secs_f64();
    report.crashes = outcome.crashes;
    report.kills = outcome.kills;
    let mut tally = Tally::default();
    for worker in &outcome.stats {
        report.add_worker(worker);
        tally.add(Tally {
            bytes: worker.bytes,
            words: worker.words,
        });
    }

    let phase = Instant::now();
    let mut con = endpoint.connect()?;
    let counts = queue.read_counts(&mut con)?;
    let merge_s = phase.elapsed().as_secs_f64();
    report.read_s = merge_s;

    let mut events = Vec::new();
    for launch in &launches {
        if launch.events.exists() {
            let worker_events = read_events(&launch.events).map_err(|error| QueueError::Io {
                what: format!("reading {}", launch.events.display()),
                error,
            })?;
            events.extend(worker_events);
        }
    }
    events.extend(harness_events);
    events.sort_by(|a, b| a.at_unix_s.total_cmp(&b.at_unix_s));
    Ok(RedisOutcome {
        counts,
        tally,
        count_s,
        merge_s,
        units_per_worker: report.units_per_worker.clone(),
        report,
        events,
    })
}

/// Times the workers are started again when a restored snapshot brought
/// back units they had done, before the job fails.
const MAX_RELAUNCHES: usize = 3;

/// Kills and restarts of the managed server, the harness's events about
/// them, and putting the job back after a restart.
struct RedisOutage<'a> {
    queue: &'a StreamQueue,
    endpoint: &'a Endpoint,
    units: &'a [Unit],
    atomic: bool,
    events: &'a mut Vec<Event>,
    restarts: u64,
}

impl RedisOutage<'_> {
    /// Records a harness event (worker -1) now.
    fn note(&mut self, kind: EventKind, detail: &str) {
        self.events.push(Event {
            at_unix_s: now_unix_s(),
            worker: -1,
            kind,
            unit: String::new(),
            detail: detail.to_owned(),
        });
    }

    /// kill -9 of the server.
    fn kill(&mut self, server: &mut RedisServer, when: &str) -> Result<(), QueueError> {
        server.kill9()?;
        self.note(EventKind::RedisDown, &format!("kill -9 ({when})"));
        Ok(())
    }

    /// Starts the server again (it loads its last snapshot, if any) and puts
    /// back what it lost: the queue when no snapshot had it, the Function.
    fn restart(&mut self, server: &mut RedisServer) -> Result<(), QueueError> {
        server.restart()?;
        self.restarts += 1;
        let mut con = self.endpoint.connect()?;
        let requeued = self.queue.restore(&mut con, self.units, self.atomic)?;
        let detail = if requeued {
            "restarted empty (no snapshot yet): job queued again"
        } else {
            "restarted from its snapshot"
        };
        self.note(EventKind::RedisUp, detail);
        Ok(())
    }
}

/// The `redis-worker` arguments of worker `worker`.
fn worker_args(
    keys: &JobKeys,
    worker: u32,
    tokenizer: Tokenizer,
    options: &RedisOptions,
    events: &Path,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "redis-worker",
        "--job",
        keys.job(),
        "--worker",
        &worker.to_string(),
        "--tokenizer",
        tokenizer.name(),
        "--block-ms",
        &options.block_ms.to_string(),
        "--pipeline",
        &options.pipeline_commands.to_string(),
        "--reconnect-s",
        &options.reconnect_s.to_string(),
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    args.extend([OsString::from("--events"), events.as_os_str().to_owned()]);
    match options.commit {
        CommitPath::PerWord => args.push("--per-word".into()),
        CommitPath::Atomic => args.push("--atomic".into()),
        CommitPath::PerUnit => {}
    }
    if options.autoclaim_ms > 0 {
        args.extend([
            "--autoclaim-ms".into(),
            options.autoclaim_ms.to_string().into(),
        ]);
    }
    if let Some(crash) = options.crash.iter().find(|c| c.worker == worker) {
        args.extend(["--crash".into(), crash.plan.to_string().into()]);
    }
    args
}

/// Applies `--slow` to the started workers; returns the method used.
fn throttle_stragglers(
    pool: &mut WorkerPool,
    options: &RedisOptions,
) -> Result<ThrottleMethod, QueueError> {
    if options.slow.is_empty() {
        return Ok(ThrottleMethod::None);
    }
    let throttler = Throttler::detect();
    let pids = pool.pids();
    let mut method = ThrottleMethod::None;
    for slow in &options.slow {
        let Some(&pid) = pids.get(slow.worker as usize) else {
            continue;
        };
        let throttle = throttler.throttle(pid, slow.cpu_fraction, &format!("w{}", slow.worker))?;
        method = throttle.method();
        eprintln!(
            "note: worker {} (pid {pid}) limited to {} of one CPU with {method}",
            slow.worker, slow.cpu_fraction
        );
        pool.attach_throttle(slow.worker, throttle);
    }
    Ok(method)
}

/// Deletes the job's keys from an external server when the job ends, on
/// success and on failure alike (a managed server is simply stopped).
struct KeyCleanup<'a> {
    queue: &'a StreamQueue,
    endpoint: &'a Endpoint,
    armed: bool,
}

impl Drop for KeyCleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let deleted = self
            .endpoint
            .connect()
            .and_then(|mut con| self.queue.delete(&mut con));
        if let Err(e) = deleted {
            eprintln!(
                "warning: could not delete the job's keys {} from {}: {e}",
                self.queue.keys(),
                self.endpoint.shown()
            );
        }
    }
}

/// The last lines of a log file, for messages.
fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}
