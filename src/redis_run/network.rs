//! The emulated network of a run with `hosts = N`: the hosts' namespaces
//! (Redis in its own), the shaping of their links, where each worker runs
//! and connects, the RTT measured from inside each host, and the partition
//! schedule the supervisor runs. Dropping it stops the shaper, then deletes
//! every namespace and link it created.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::events::{Event, EventKind, now_unix_s};
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
/// cut; stopped and joined on drop.
struct PartitionThread {
    stop: Arc<AtomicBool>,
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

/// Runs `actions` (sorted by time after `started`): cut or restore a link.
fn run_schedule(
    started: Instant,
    actions: Vec<(Duration, LinkSwitch, EventKind, String)>,
    stop: &AtomicBool,
    events: &Mutex<Vec<Event>>,
    failed: &Mutex<Option<String>>,
) {
    for (at, switch, kind, detail) in actions {
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let left = (started + at).saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(5)));
        }
        let done = if kind == EventKind::HostCut {
            switch.cut()
        } else {
            switch.restore()
        };
        if let Err(e) = done {
            if let Ok(mut slot) = failed.lock() {
                *slot = Some(e.to_string());
            }
            return;
        }
        if let Ok(mut list) = events.lock() {
            list.push(Event {
                at_unix_s: now_unix_s(),
                worker: -1,
                kind,
                unit: String::new(),
                detail,
            });
        }
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
    pub fn create(params: &RedisParams) -> Result<Network, QueueError> {
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
    pub fn placement(&self) -> Placement {
        Placement {
            bind: self.hosts.redis_addr().to_string(),
            port: REDIS_PORT,
            exec_prefix: self.hosts.exec_prefix(0),
        }
    }

    /// Shapes every host's link (the shaper `params.shaper` asks for).
    pub fn shape(&mut self, params: &RedisParams) -> Result<&'static str, QueueError> {
        let redis = SocketAddr::from((self.hosts.redis_addr(), REDIS_PORT));
        let shaper = Shaper::start(params.shaper, &self.hosts, &params.link_shape(), redis)
            .map_err(hosts_error)?;
        let name = shaper.name();
        self.shaper = Some(shaper);
        Ok(name)
    }

    /// The shaper in use ("" before [`Network::shape`]).
    pub fn shaper_name(&self) -> &'static str {
        self.shaper.as_ref().map_or("", Shaper::name)
    }

    /// The host worker `worker` runs on (round-robin, 1-based).
    pub fn host_of(&self, worker: u32) -> u32 {
        worker % self.hosts.hosts() + 1
    }

    /// The command prefix that runs a program on host `host`.
    pub fn exec_prefix(&self, host: u32) -> Vec<String> {
        self.hosts.exec_prefix(host)
    }

    /// `url` (Redis's) as host `host` reaches it (through its proxy, if any).
    pub fn url_for(&self, url: &str, host: u32) -> String {
        let Some(shaper) = &self.shaper else {
            return url.to_owned();
        };
        let head = url.rsplit_once('@').map_or("redis://", |(head, _)| head);
        let at = if url.contains('@') { "@" } else { "" };
        format!("{head}{at}{}/", shaper.endpoint(host))
    }

    /// The median round trip of a Redis PING from inside each host, ms.
    pub fn measure_rtt_ms(&self, url: &str) -> Vec<f64> {
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
    pub fn start_clock(&mut self) -> Result<(), QueueError> {
        let started = Instant::now();
        let mut actions = Vec::new();
        for p in &self.partitions {
            let detail = format!("host-{} ({p})", p.host);
            let switch = self.hosts.switch(p.host);
            actions.push((p.at, switch.clone(), EventKind::HostCut, detail.clone()));
            actions.push((p.at + p.length, switch, EventKind::HostRestored, detail));
        }
        if actions.is_empty() {
            return Ok(());
        }
        actions.sort_by_key(|a| a.0);
        let stop = Arc::new(AtomicBool::new(false));
        let events: Arc<Mutex<Vec<Event>>> = Arc::default();
        let failed: Arc<Mutex<Option<String>>> = Arc::default();
        let handle = {
            let (stop, events, failed) = (stop.clone(), events.clone(), failed.clone());
            std::thread::Builder::new()
                .name("partitions".into())
                .spawn(move || run_schedule(started, actions, &stop, &events, &failed))
                .map_err(|error| QueueError::Io {
                    what: "starting the partition schedule".into(),
                    error,
                })?
        };
        self.schedule = Some(PartitionThread {
            stop,
            events,
            failed,
            handle: Some(handle),
        });
        Ok(())
    }

    /// Moves the partition events so far into `events`; fails if a cut or
    /// a restore failed.
    pub fn tick(&mut self, events: &mut Vec<Event>) -> Result<(), QueueError> {
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
