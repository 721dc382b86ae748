//! One Redis-mode job, from start to counts: start (or reach) the server,
//! queue the units, start the worker processes (throttling stragglers),
//! inject the faults of the run's parameters, wait until Redis says every
//! unit is done, read the counts back, clean up.
//!
//! - [`RedisOptions`]: the job's settings: the run parameters
//!   ([`RedisParams`], defined once in [`crate::params`]) plus the
//!   connection tuning that is not a run parameter.
//! - `pool`: the worker processes, each owned by a guard; it says how each
//!   one ended, nothing more.
//! - `supervise`: the wait loop. The job is done when Redis says so (every
//!   unit delivered and acknowledged), not when child processes exit: a
//!   worker may die of anything (an injected crash point, the harness's own
//!   killer, SIGKILL from outside, out of memory) and, while someone can
//!   still finish its units (stealing on, or `restart_dead`), the job goes
//!   on. When nobody can, it fails at once naming the stuck units' holders
//!   and the setting that would have saved them.
//! - `outage`: kill -9 and restart of nodes of the topology (Lab 4), and
//!   failovers seen.
//! - `network`: with `hosts = N`, the emulated hosts (Redis in its own
//!   namespace, workers round-robin over the hosts' namespaces), their
//!   shaping, the RTT measured inside them and the partition schedule.
//! - `report`: [`RedisReport`], the run's measurements (workers' sums
//!   plus what the run saw).
//! - `error`: `RunError`, why a run failed: the queue's errors plus the
//!   run's own (servers, nodes lost, worker processes, a missed deadline).
//! - `join`: `harness worker`: N worker processes on this host joining a job
//!   another client queued and published (`crate::remote`).
//!
//! The servers are a [`crate::servers::Topology`] (single, snapshot,
//! replicated, external) picked from the run parameters by
//! [`crate::servers::start_topology`]; nothing here names a concrete one.
//!
//! `queue` owns the work queue and the commit paths; this module owns the
//! processes and the order of events around them.

mod error;
mod external_worker;
mod join;
mod network;
mod outage;
mod pool;
mod report;
mod supervise;

pub(crate) use error::RunError;
pub(crate) use join::join_job;
pub use join::{JoinOptions, JoinOutcome};
pub use pool::{DeathCause, WORKER_ENV};
pub(crate) use pool::{Ended, WorkerLaunch, WorkerPool};
pub(crate) use report::RedisReport;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::events::{Event, read_events};
use crate::faults::KillWhen;
use crate::input::Unit;
use crate::params::{RedisParams, RunContext};
use crate::queue::{CommitPath, Endpoint, JobKeys, JobQueue, QueueError, ServerLoad};
use crate::servers::start_topology;
use crate::words::{Tally, Tokenizer, WordCounts};
use crate::worker::WorkerConfig;
use outage::RedisOutage;

/// Settings of a `redis`-mode job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RedisOptions {
    /// An external server (`redis://:PASSWORD@HOST:PORT/`); `None` starts a
    /// managed one on a free loopback port with a random password.
    pub url: Option<String>,
    /// The run parameters (commit path, faults, stragglers, ...).
    pub params: RedisParams,
    /// Keep the job's keys in an external server after the job.
    pub keep_keys: bool,
    /// Milliseconds a worker's read blocks when no unit is waiting.
    pub block_ms: u64,
    /// Seconds a worker keeps trying to reconnect after losing Redis.
    pub reconnect_s: u64,
    /// Most pairs an atomic commit sends inline; more are staged first.
    pub inline_pairs: u64,
    /// Seconds an external server keeps the job's keys after the client
    /// stops refreshing them (see [`crate::queue::KeyExpiry`]).
    pub key_ttl_s: u64,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            url: None,
            params: RedisParams::default(),
            keep_keys: false,
            block_ms: 10,
            reconnect_s: 30,
            inline_pairs: crate::queue::INLINE_MAX_PAIRS,
            key_ttl_s: crate::queue::DEFAULT_KEY_TTL_S,
        }
    }
}

/// What a Redis-mode job produced.
#[derive(Debug, Clone)]
pub(crate) struct RedisOutcome {
    /// The counts read back from the sorted set.
    pub counts: WordCounts,
    /// Bytes and words the workers that exited normally counted.
    pub tally: Tally,
    /// Seconds from starting the workers until Redis said the job was done.
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
/// (`exe redis-worker`). The managed servers (if any), the workers and
/// their throttles are stopped on every path out, errors and Ctrl-C
/// included; call it from the thread that owns the run (see `servers`).
pub(crate) fn run_redis_job(
    units: &[Unit],
    tokenizer: Tokenizer,
    workers: u32,
    options: &RedisOptions,
    exe: &Path,
) -> Result<RedisOutcome, RunError> {
    let params = &options.params;
    params
        .validate(RunContext {
            mode: "redis",
            workers,
            external_server: options.url.is_some(),
        })
        .map_err(|e| QueueError::BadOptions(format!("{}: {}", e.flag(), e.message)))?;
    if workers == 0 && options.url.is_none() {
        return Err(QueueError::BadOptions(
            "0 local workers need an external Redis that workers on other hosts can reach: add --redis-url redis://:PASSWORD@HOST:PORT/".into(),
        )
        .into());
    }
    if options.block_ms == 0 {
        return Err(QueueError::BadOptions("block_ms must be at least 1".into()).into());
    }
    for note in params.external_worker_notes() {
        eprintln!("note: {note}");
    }
    // Read before anything starts: a missing library fails at once.
    let functions = (!params.worker_functions.is_empty())
        .then(|| external_worker::FunctionLibrary::read(Path::new(&params.worker_functions)))
        .transpose()?;
    let started = Instant::now();
    let deadline = params.deadline().map(|d| started + d);
    let commit = params.commit();
    // Declared before the topology and the workers: torn down after them.
    let mut network = if params.hosts > 0 {
        Some(network::Network::create(params)?)
    } else {
        None
    };
    let mut spec = params.topology_spec(options.url.as_deref());
    if let Some(network) = &network {
        spec = spec.placed(network.placement());
    }
    let mut topology = start_topology(&spec)?;
    let topology = topology.as_mut();
    let endpoint = Endpoint::new(&topology.url());
    let mut con = endpoint.connect()?;
    let version = endpoint.server_version(&mut con)?;
    let managed = topology.managed();
    let mut report = RedisReport::new("", endpoint.shown(), managed, &version, commit);
    report.redis_pid = topology.pids().first().copied();
    report.redis_pids = topology.pids();
    report.topology = topology.name().to_owned();
    report.replicas = topology.replicas();
    report.server_s = started.elapsed().as_secs_f64();
    // The replicated topology: every commit waits for f replicas.
    let wait_replicas = if topology.waits_for_replicas() {
        params.f
    } else {
        0
    };

    let phase = Instant::now();
    let keys = JobKeys::random();
    report.job_id = keys.job().to_owned();
    let queue =
        JobQueue::new(params.queue, endpoint.clone(), keys.clone()).with_merge(params.merge);
    report.merge = params.merge;
    report.commit_units = params.commit_units;
    report.queue = params.queue;
    let _cleanup = KeyCleanup {
        queue: &queue,
        endpoint: &endpoint,
        armed: !managed && !options.keep_keys,
    };
    // Dropped before `_cleanup`: the refreshing stops, then the keys go.
    // A client killed with SIGKILL leaves keys that expire on their own.
    let _expiry = (!managed && !options.keep_keys).then(|| {
        crate::queue::KeyExpiry::start(
            endpoint.clone(),
            keys.job(),
            Duration::from_secs(options.key_ttl_s.max(crate::queue::MIN_KEY_TTL_S)),
        )
    });
    let mut ordered = units.to_vec();
    ordered.sort_by_key(|u| std::cmp::Reverse(u.bytes()));
    queue.create(&mut con, &ordered)?;
    let atomic = commit == CommitPath::Atomic;
    queue.prepare(&mut con, commit)?;
    if let Some(functions) = &functions {
        functions.load(&mut con)?;
    }
    if wait_replicas > 0 {
        // The queue is on f replicas before any worker starts.
        endpoint.wait_replicas(&mut con, wait_replicas, 5_000)?;
    }
    drop(con);
    report.enqueue_s = phase.elapsed().as_secs_f64();
    let mut outage = RedisOutage::new(&queue, &endpoint, &ordered, atomic);
    outage.functions = functions.clone();
    outage.watch_primary(topology);
    if params.redis_kill.when == KillWhen::AfterEnqueue && managed {
        outage.kill_and_restart(
            topology,
            &params.redis_kill.target,
            "after the enqueue",
            Duration::from_millis(params.redis_down_ms),
        )?;
    }

    let job_dir =
        crate::fsutil::owned_temp_dir("harness-redis-job").map_err(|error| QueueError::Io {
            what: "creating a temporary directory for the workers' logs".into(),
            error,
        })?;
    let template = WorkerConfig {
        url: endpoint.url().to_owned(),
        job: keys.job().to_owned(),
        worker: 0,
        tokenizer,
        commit,
        events: None,
        crash: None,
        block_ms: options.block_ms,
        pipeline_commands: usize::try_from(params.pipeline).unwrap_or(usize::MAX),
        inline_pairs: options.inline_pairs,
        reconnect_s: options.reconnect_s,
        steal_idle_ms: params.autoclaim_ms,
        wait_replicas,
        wait_timeout_ms: params.wait_timeout_ms,
        queue: params.queue,
        merge: params.merge,
        commit_units: params.commit_units,
        input_map: None,
        host: 0,
    };
    if let Some(network) = &mut network {
        report.shaper_used = network.shape(params)?.to_owned();
        report.host_rtt_ms = network.measure_rtt_ms(endpoint.url());
        let rtts: Vec<String> = report
            .host_rtt_ms
            .iter()
            .enumerate()
            .map(|(i, ms)| format!("host-{} {ms:.3} ms", i + 1))
            .collect();
        eprintln!(
            "note: links shaped with {} (rtt_ms {}); Redis PING median from inside: {}",
            network.shaper_name(),
            params.rtt_ms,
            rtts.join(", ")
        );
    }
    crate::remote::publish_job(&endpoint, &template, &ordered, workers)?;
    if workers == 0 {
        crate::remote::print_join_command(&endpoint, keys.job());
    }
    let launches: Vec<WorkerLaunch> = (0..workers)
        .map(|worker| {
            let host = network.as_ref().map_or(0, |n| n.host_of(worker));
            let crash = params
                .crash
                .iter()
                .find(|c| c.worker == worker)
                .map(|c| c.plan);
            let url = network
                .as_ref()
                .map_or_else(|| template.url.clone(), |n| n.url_for(&template.url, host));
            WorkerLaunch {
                config: WorkerConfig {
                    worker,
                    events: Some(job_dir.path().join(format!("worker-{worker}.events"))),
                    crash,
                    host,
                    url: url.clone(),
                    ..template.clone()
                },
                stderr: job_dir.path().join(format!("worker-{worker}.stderr")),
                exec_prefix: network
                    .as_ref()
                    .map_or_else(Vec::new, |n| n.exec_prefix(host)),
                external: params
                    .external_worker()
                    .then(|| external_worker::ExternalLaunch {
                        cmd: params.worker_cmd.clone(),
                        env: external_worker::environment(
                            &external_worker::JobNames {
                                url: &url,
                                keys: &keys,
                                workers,
                                autoclaim_ms: params.autoclaim_ms,
                            },
                            worker,
                            crash.map(|plan| (plan.point.name(), plan.on_unit)),
                        ),
                    }),
                cpu_fraction: params
                    .slow
                    .iter()
                    .find(|s| s.worker == worker)
                    .map(|s| s.cpu_fraction),
            }
        })
        .collect();
    let event_files: Vec<_> = launches
        .iter()
        .filter_map(|l| l.config.events.clone())
        .collect();
    let load_before = endpoint
        .connect()
        .ok()
        .and_then(|mut con| ServerLoad::read(&mut con));
    let commands_before = params
        .external_worker()
        .then(|| external_worker::commandstats(&endpoint))
        .flatten();
    let watcher = params
        .external_worker()
        .then(|| external_worker::PendingWatcher::start(&endpoint, &keys, workers));
    let phase = Instant::now();
    let mut pool = WorkerPool::spawn(exe, launches)?;
    if let Some(network) = &mut network {
        network.start_clock()?;
    }
    report.throttle = pool.throttle_method();
    let supervised = supervise::Supervisor {
        pool: &mut pool,
        queue: &queue,
        endpoint: &endpoint,
        params,
        topology,
        outage: &mut outage,
        deadline,
        remote_only: workers == 0,
        network: network.as_mut(),
    }
    .run()?;
    // Until Redis said the job was done (not until the last worker left:
    // one cut off by a partition notices the end only after it).
    let count_s = supervised
        .done_at
        .map_or_else(|| phase.elapsed(), |done| done.duration_since(phase))
        .as_secs_f64();
    report.job_s = count_s;
    let watched = watcher.map(external_worker::PendingWatcher::finish);
    let mut supervised = supervised;
    if let Some(watched) = &watched {
        external_worker::report_external(
            &mut supervised.stats,
            watched,
            commands_before.as_deref(),
            &endpoint,
            &pool.cpu_s(),
        );
    }
    // The server's own figures; lost (left at 0) across a restart, where
    // the counters start again.
    let load_after = endpoint
        .connect()
        .ok()
        .and_then(|mut con| ServerLoad::read(&mut con));
    if let (Some(before), Some(after)) = (&load_before, &load_after)
        && outage.restarts == 0
        && outage.failovers == 0
    {
        report.add_server_load(&after.since(before));
    }
    report.redis_restarts = outage.restarts;
    report.replica_restarts = outage.replica_restarts;
    report.failovers = outage.failovers;
    report.unexpected_node_deaths = outage.unexpected_node_deaths;
    report.relaunches = supervised.relaunches;
    report.crashes = supervised.crashes;
    report.kills = supervised.kills;
    report.unexpected_deaths = supervised.unexpected_deaths;
    report.worker_restarts = supervised.worker_restarts;
    report.faults_fired = supervised.faults_fired(outage.kills);
    let mut tally = Tally::default();
    for worker in &supervised.stats {
        report.add_worker(worker);
        tally.add(Tally {
            bytes: worker.measured.bytes,
            words: worker.measured.words,
        });
    }

    let phase = Instant::now();
    let counts = read_counts_through_failovers(
        &queue,
        &endpoint,
        options.reconnect_s,
        topology,
        &mut outage,
    )?;
    report.unexpected_node_deaths = outage.unexpected_node_deaths;
    report.redis_restarts = outage.restarts;
    let merge_s = phase.elapsed().as_secs_f64();
    report.read_s = merge_s;
    if options.url.is_some() {
        // Workers joined from other hosts notice the end within one read;
        // let them go before the job's keys are deleted under them.
        let left =
            crate::remote::wait_for_joined_to_leave(&endpoint, keys.job(), supervise::GRACE)?;
        if left > 0 {
            eprintln!(
                "note: {left} joined worker(s) had not left {} s after the job was complete",
                supervise::GRACE.as_secs()
            );
        }
    }

    let mut events = Vec::new();
    for path in &event_files {
        if path.exists() {
            let worker_events = read_events(path).map_err(|error| QueueError::Io {
                what: format!("reading {}", path.display()),
                error,
            })?;
            events.extend(worker_events);
        }
    }
    events.extend(outage.events);
    if let Some(watched) = watched {
        events.extend(watched.events);
    }
    events.extend(supervised.events);
    events.sort_by(|a, b| a.at_unix_s.total_cmp(&b.at_unix_s));
    report.failover_s = outage::failover_s(&outage.primary_kills, &outage.failover_times, &events);
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

/// Reads the counts, retrying for up to `patience_s` while Redis is
/// unreachable (a node killed just before the read may still be failing
/// over; one that died meanwhile is handled by `outage`, as during the job).
fn read_counts_through_failovers(
    queue: &JobQueue,
    endpoint: &Endpoint,
    patience_s: u64,
    topology: &mut dyn crate::servers::Topology,
    outage: &mut RedisOutage<'_>,
) -> Result<WordCounts, RunError> {
    let give_up = Instant::now() + Duration::from_secs(patience_s);
    let restarts_before = outage.restarts;
    loop {
        let attempt = endpoint.connect().map_err(RunError::from).and_then(|mut con| {
            let counts = queue.read_counts(&mut con)?;
            // A node brought back during the read may have come back from
            // a snapshot older than the end of the job: never hand out
            // counts of a job Redis no longer calls complete.
            if outage.restarts > restarts_before && !queue.is_complete(&mut con)? {
                return Err(RunError::Stuck(
                    "a Redis node died after the job was done and came back from an older snapshot, so work acknowledged after that snapshot is undone and the counts rolled back: rerun the job (a replicated topology keeps such work)".into(),
                ));
            }
            Ok(counts)
        });
        match attempt {
            Err(e) if e.is_redis_gone() && Instant::now() < give_up => {
                crate::interrupt::check()?;
                if topology.managed() {
                    if let Some(dead) = topology.died() {
                        let restart = outage.restart_nodes;
                        outage.unexpected_death(topology, dead, restart)?;
                    }
                    outage.revive(topology)?;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            other => return other,
        }
    }
}

/// Deletes the job's keys from an external server when the job ends, on
/// success and on failure alike (a managed server is simply stopped).
struct KeyCleanup<'a> {
    queue: &'a JobQueue,
    endpoint: &'a Endpoint,
    armed: bool,
}

impl Drop for KeyCleanup<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let deleted = self.endpoint.connect().and_then(|mut con| {
            self.queue.delete(&mut con)?;
            crate::remote::delete_job_keys(self.endpoint, &mut con, self.queue.keys().job())
        });
        if let Err(e) = deleted {
            eprintln!(
                "warning: could not delete the job's keys {} from {}: {e}",
                self.queue.keys(),
                self.endpoint.shown()
            );
        }
    }
}
