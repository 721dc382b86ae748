//! The emulated network of a run with `hosts = N`: the hosts' namespaces
//! (Redis in its own), the shaping of their links, where each worker runs
//! and connects, the RTT measured from inside each host, and the partition
//! schedule the supervisor runs (cuts at a time, or at a share of the units
//! acknowledged). Dropping it stops the shaper, then deletes
//! every namespace and link it created.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::events::{Event, EventKind, now_unix_s};
use crate::faults::{FaultClock, JobProgress};
use crate::hosts::{EmulatedHosts, HostsError, LinkSwitch, Partition, Shaper, in_namespace};
use crate::params::RedisParams;
use crate::queue::QueueError;
use crate::servers::Placement;

/// The port Redis listens on inside its own (fresh, empty) namespace.
const REDIS_PORT: u16 = 6379;
/// PINGs per host when measuring the RTT.
const PINGS: usize = 20;

/// The emulated hosts of one run and their shaping.
pub(super) struct Network {
    // Declared first: dropped before the hosts it runs on.
    shaper: Option<Shaper>,
    hosts: EmulatedHosts,
    partitions: Vec<Partition>,
    schedule: Option<PartitionThread>,
    /// Deletes the namespaces and links if a second Ctrl-C exits at once.
    _forced_exit: crate::interrupt::CleanupGuard,
}

/// The partition schedule, run on its own thread so a busy Redis (the
/// supervisor's queries wait behind the workers' commits) cannot delay a
/// cut; stopped and joined on drop. A cut due at a share of the units
/// (`at:50%`) waits for the job's progress, which the supervisor reads
/// from Redis and hands over ([`Network::set_progress`]).
struct PartitionThread {
    stop: Arc<AtomicBool>,
    /// The job's progress as the supervisor last read it.
    progress: Arc<Mutex<Option<JobProgress>>>,
    /// True while a cut waits on the job's progress.
    wants_progress: Arc<AtomicBool>,
    events: Arc<Mutex<Vec<Event>>>,
    failed: Arc<Mutex<Option<String>>>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for PartitionThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// One partition on the schedule: cut when its clock says, restored
/// `length` after the cut.
struct PlannedCut {
    clock: FaultClock,
    length: Duration,
    switch: LinkSwitch,
    detail: String,
    /// When the host was cut, once it was.
    cut_at: Option<Instant>,
    restored: bool,
}

/// What the schedule thread shares with the supervisor.
struct Shared<'a> {
    stop: &'a AtomicBool,
    progress: &'a Mutex<Option<JobProgress>>,
    wants_progress: &'a AtomicBool,
    events: &'a Mutex<Vec<Event>>,
    failed: &'a Mutex<Option<String>>,
}

/// Runs the cuts and restores of `cuts` until all are done or `stop`.
fn run_schedule(mut cuts: Vec<PlannedCut>, shared: Shared<'_>) {
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let now = Instant::now();
        let progress = shared.progress.lock().ok().and_then(|p| *p);
        for cut in cuts.iter_mut().filter(|c| !c.restored) {
            let kind = match cut.cut_at {
                None if cut.clock.due(now, progress) => EventKind::HostCut,
                Some(at) if now >= at + cut.length => EventKind::HostRestored,
                _ => continue,
            };
            let done = if kind == EventKind::HostCut {
                cut.switch.cut()
            } else {
                cut.switch.restore()
            };
            if let Err(e) = done {
                if let Ok(mut slot) = shared.failed.lock() {
                    *slot = Some(e.to_string());
                }
                return;
            }
            if kind == EventKind::HostCut {
                cut.clock.fired();
                cut.cut_at = Some(now);
            } else {
                cut.restored = true;
            }
            if let Ok(mut list) = shared.events.lock() {
                list.push(Event {
                    at_unix_s: now_unix_s(),
                    worker: -1,
                    kind,
                    unit: String::new(),
                    detail: cut.detail.clone(),
                });
            }
        }
        let waiting = cuts
            .iter()
            .any(|c| c.cut_at.is_none() && c.clock.wants_progress());
        shared.wants_progress.store(waiting, Ordering::SeqCst);
        if cuts.iter().all(|c| c.restored) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn hosts_error(e: HostsError) -> QueueError {
    match e {
        HostsError::Failed { .. } | HostsError::BadOptions(_) => {
            QueueError::BadOptions(format!("emulated hosts: {e}"))
        }
        // These name what is missing and what to do already.
        other => QueueError::BadOptions(other.to_string()),
    }
}

impl Network {
    /// Creates `params.hosts` hosts and Redis's namespace (links not yet shaped).
    pub(crate) fn create(params: &RedisParams) -> Result<Network, QueueError> {
        let hosts = EmulatedHosts::create(params.hosts).map_err(hosts_error)?;
        eprintln!(
            "note: emulated {} host(s) in network namespaces {}-h1.. (Redis in {}), prefix {}",
            params.hosts,
            hosts.prefix(),
            hosts.redis_namespace(),
            hosts.prefix()
        );
        let commands = hosts.teardown_commands();
        let forced_exit = crate::interrupt::on_forced_exit(move || {
            for args in &commands {
                let _ = std::process::Command::new("ip").args(args).output();
            }
        });
        Ok(Network {
            shaper: None,
            _forced_exit: forced_exit,
            hosts,
            partitions: params.partition.clone(),
            schedule: None,
        })
    }

    /// Where the Redis server runs: inside its namespace.
    pub(crate) fn placement(&self) -> Placement {
        Placement {
            bind: self.hosts.redis_addr().to_string(),
            port: REDIS_PORT,
            exec_prefix: self.hosts.exec_prefix(0),
        }
    }

    /// Shapes every host's link (the shaper `params.shaper` asks for).
    pub(crate) fn shape(&mut self, params: &RedisParams) -> Result<&'static str, QueueError> {
        let redis = SocketAddr::from((self.hosts.redis_addr(), REDIS_PORT));
        let shaper = Shaper::start(params.shaper, &self.hosts, &params.link_shape(), redis)
            .map_err(hosts_error)?;
        let name = shaper.name();
        self.shaper = Some(shaper);
        Ok(name)
    }

    /// The shaper in use ("" before [`Network::shape`]).
    pub(crate) fn shaper_name(&self) -> &'static str {
        self.shaper.as_ref().map_or("", Shaper::name)
    }

    /// The host worker `worker` runs on (round-robin, 1-based).
    pub(crate) fn host_of(&self, worker: u32) -> u32 {
        worker % self.hosts.hosts() + 1
    }

    /// The command prefix that runs a program on host `host`.
    pub(crate) fn exec_prefix(&self, host: u32) -> Vec<String> {
        self.hosts.exec_prefix(host)
    }

    /// `url` (Redis's) as host `host` reaches it (through its proxy, if any).
    pub(crate) fn url_for(&self, url: &str, host: u32) -> String {
        let Some(shaper) = &self.shaper else {
            return url.to_owned();
        };
        let head = url.rsplit_once('@').map_or("redis://", |(head, _)| head);
        let at = if url.contains('@') { "@" } else { "" };
        format!("{head}{at}{}/", shaper.endpoint(host))
    }

    /// The median round trip of a Redis PING from inside each host, ms.
    pub(crate) fn measure_rtt_ms(&self, url: &str) -> Vec<f64> {
        (1..=self.hosts.hosts())
            .map(|host| {
                let url = self.url_for(url, host);
                in_namespace(&self.hosts.namespace(host), move || ping_median_ms(&url))
                    .ok()
                    .flatten()
                    .unwrap_or(f64::NAN)
            })
            .collect()
    }

    /// Starts the partition schedule (when the workers start).
    pub(crate) fn start_clock(&mut self) -> Result<(), QueueError> {
        let started = Instant::now();
        let cuts: Vec<PlannedCut> = self
            .partitions
            .iter()
            .map(|p| PlannedCut {
                clock: FaultClock::starting_at(p.at, started),
                length: p.length,
                switch: self.hosts.switch(p.host),
                detail: format!("host-{} ({p})", p.host),
                cut_at: None,
                restored: false,
            })
            .collect();
        if cuts.is_empty() {
            return Ok(());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let progress: Arc<Mutex<Option<JobProgress>>> = Arc::default();
        let wants_progress = Arc::new(AtomicBool::new(
            cuts.iter().any(|c| c.clock.wants_progress()),
        ));
        let events: Arc<Mutex<Vec<Event>>> = Arc::default();
        let failed: Arc<Mutex<Option<String>>> = Arc::default();
        let handle = {
            let (stop, progress, wants, events, failed) = (
                stop.clone(),
                progress.clone(),
                wants_progress.clone(),
                events.clone(),
                failed.clone(),
            );
            std::thread::Builder::new()
                .name("partitions".into())
                .spawn(move || {
                    run_schedule(
                        cuts,
                        Shared {
                            stop: &stop,
                            progress: &progress,
                            wants_progress: &wants,
                            events: &events,
                            failed: &failed,
                        },
                    )
                })
                .map_err(|error| QueueError::Io {
                    what: "starting the partition schedule".into(),
                    error,
                })?
        };
        self.schedule = Some(PartitionThread {
            stop,
            progress,
            wants_progress,
            events,
            failed,
            handle: Some(handle),
        });
        Ok(())
    }

    /// True while a cut waits on the job's progress: read it from Redis
    /// and pass it to [`Network::set_progress`].
    pub(crate) fn wants_progress(&self) -> bool {
        self.schedule
            .as_ref()
            .is_some_and(|s| s.wants_progress.load(Ordering::SeqCst))
    }

    /// Hands the job's progress to the partition schedule.
    pub(crate) fn set_progress(&self, progress: JobProgress) {
        if let Some(schedule) = &self.schedule
            && let Ok(mut slot) = schedule.progress.lock()
        {
            *slot = Some(progress);
        }
    }

    /// Moves the partition events so far into `events`; fails if a cut or
    /// a restore failed.
    pub(crate) fn tick(&mut self, events: &mut Vec<Event>) -> Result<(), QueueError> {
        let Some(schedule) = &self.schedule else {
            return Ok(());
        };
        if let Ok(mut list) = schedule.events.lock() {
            events.append(&mut list);
        }
        let failed = schedule.failed.lock().ok().and_then(|mut f| f.take());
        match failed {
            Some(message) => Err(QueueError::BadOptions(format!(
                "emulated hosts: the partition schedule failed: {message}"
            ))),
            None => Ok(()),
        }
    }
}

/// Median of [`PINGS`] PINGs on one connection, ms (`None`: unreachable).
fn ping_median_ms(url: &str) -> Option<f64> {
    let client = redis::Client::open(url).ok()?;
    let mut con = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .ok()?;
    con.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let _: String = redis::cmd("PING").query(&mut con).ok()?;
    let mut times: Vec<f64> = (0..PINGS)
        .filter_map(|_| {
            let t = Instant::now();
            let pong: Result<String, _> = redis::cmd("PING").query(&mut con);
            pong.ok().map(|_| t.elapsed().as_secs_f64() * 1000.0)
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied()
}
