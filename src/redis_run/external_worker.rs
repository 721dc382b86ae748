//! Bring your own worker: how the harness starts an external worker
//! (`worker_cmd`) in place of `harness redis-worker`, following
//! docs/PROTOCOL.md (protocol version 1):
//! - the command runs through `sh -c` in the harness's working folder, in
//!   a process group of its own (a plain command is `exec`ed, so the
//!   worker *is* the process the faults signal);
//! - its environment names the connection and the job's keys
//!   ([`environment`]);
//! - its Function library (`worker_functions`) is loaded at the start and
//!   after every restart or failover ([`FunctionLibrary`]);
//! - what the harness can see of it (it prints nothing we parse): units
//!   per consumer from the stream, commits from `INFO commandstats`, CPU
//!   from `/proc` ([`PendingWatcher`], [`report_external`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use redis::Connection;

use crate::queue::{Endpoint, JobKeys, QueueError};

/// The contract's version, passed as `WC_PROTOCOL`.
pub(crate) const PROTOCOL_VERSION: u32 = 1;

/// How to start one external worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExternalLaunch {
    /// The shell command (`worker_cmd`).
    pub cmd: String,
    /// The environment of the contract, `NAME=value` pairs.
    pub env: Vec<(String, String)>,
}

/// What the contract's environment is made of.
#[derive(Debug, Clone)]
pub(crate) struct JobNames<'a> {
    /// The URL the harness itself connects to (`redis://` or `redis+sentinel://`).
    pub url: &'a str,
    /// The job's keys.
    pub keys: &'a JobKeys,
    /// Worker processes started.
    pub workers: u32,
    /// The stealing timeout the run asks for (`autoclaim_ms`; 0 = off).
    pub autoclaim_ms: u64,
}

/// The environment of worker `worker`: `crash` is its crash point name and
/// the unit it crashes on (`None`: no crash).
pub(crate) fn environment(
    names: &JobNames<'_>,
    worker: u32,
    crash: Option<(&str, u64)>,
) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let mut set = |name: &str, value: String| env.push((name.to_owned(), value));
    match parse_sentinel_url(names.url) {
        Some(sentinel) => {
            let primary = primary_url(&sentinel).unwrap_or_default();
            set("REDIS_URL", primary);
            set("REDIS_SENTINELS", sentinel.hosts.join(","));
            set("REDIS_MASTER_NAME", sentinel.master.clone());
            set("REDIS_PASSWORD", sentinel.password.clone());
        }
        None => {
            set("REDIS_URL", plain_url(names.url));
            set("REDIS_SENTINELS", String::new());
            set("REDIS_MASTER_NAME", String::new());
            set("REDIS_PASSWORD", password_of(names.url));
        }
    }
    set("WC_PROTOCOL", PROTOCOL_VERSION.to_string());
    set("WC_STREAM", names.keys.stream());
    set("WC_GROUP", names.keys.group());
    set("WC_CONSUMER", JobKeys::consumer(worker));
    set("WC_COUNTS", names.keys.counts());
    set("WC_WORKER_INDEX", worker.to_string());
    set("WC_WORKERS", names.workers.to_string());
    set("WC_AUTOCLAIM_MS", names.autoclaim_ms.to_string());
    set(
        "WC_CRASH",
        crash.map_or_else(String::new, |(p, _)| p.to_owned()),
    );
    set(
        "WC_CRASH_NTH",
        crash.map_or_else(|| "1".to_owned(), |(_, n)| n.to_string()),
    );
    env
}

/// The command that runs `launch` (under `exec_prefix`, e.g. `ip netns
/// exec NS`): `sh -c CMD`, with `exec ` in front of a plain command so
/// the shell is replaced by the worker.
pub(crate) fn command(launch: &ExternalLaunch, exec_prefix: &[String]) -> Command {
    let script = if is_plain(&launch.cmd) {
        format!("exec {}", launch.cmd.trim())
    } else {
        launch.cmd.clone()
    };
    let mut command = match exec_prefix.split_first() {
        None => Command::new("sh"),
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest).arg("sh");
            command
        }
    };
    command.arg("-c").arg(script);
    command.envs(launch.env.iter().map(|(k, v)| (k, v)));
    command
}

/// True for one simple command (words, quotes, no shell operators and no
/// leading `NAME=value`): `exec` may replace the shell by it.
fn is_plain(cmd: &str) -> bool {
    let cmd = cmd.trim();
    let first = cmd.split_whitespace().next().unwrap_or("");
    !cmd.is_empty()
        && !first.contains('=')
        && !matches!(first, "exec" | "cd" | "export" | "set" | "." | "source")
        && !cmd.contains(['\n', ';', '&', '|', '<', '>', '(', ')', '`', '$', '{', '}'])
}

/// A plain server URL in the contract's form, `redis://:PASSWORD@HOST:PORT`.
fn plain_url(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// The password of a `redis://:PASSWORD@HOST:PORT` URL ("" without one).
fn password_of(url: &str) -> String {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return String::new();
    };
    match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            userinfo
                .split_once(':')
                .map_or(userinfo, |(_, p)| p)
                .to_owned()
        }
        None => String::new(),
    }
}

/// The parts of a `redis+sentinel://:PASSWORD@HOST:PORT,.../MASTER` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SentinelUrl {
    userinfo: String,
    password: String,
    hosts: Vec<String>,
    master: String,
}

fn parse_sentinel_url(url: &str) -> Option<SentinelUrl> {
    let rest = url.strip_prefix("redis+sentinel://")?;
    let (authority, master) = rest.split_once('/')?;
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (authority[..=at].to_owned(), &authority[at + 1..]),
        None => (String::new(), authority),
    };
    Some(SentinelUrl {
        password: password_of(&format!("redis://{userinfo}x")),
        userinfo,
        hosts: hosts.split(',').map(str::to_owned).collect(),
        master: master.trim_end_matches('/').to_owned(),
    })
}

/// The primary the first Sentinel that answers names, as a plain URL.
fn primary_url(sentinel: &SentinelUrl) -> Option<String> {
    sentinel.hosts.iter().find_map(|host| {
        let client = redis::Client::open(format!("redis://{}{host}/", sentinel.userinfo)).ok()?;
        let mut con = client
            .get_connection_with_timeout(std::time::Duration::from_millis(500))
            .ok()?;
        let (ip, port): (String, u16) = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(&sentinel.master)
            .query::<Option<(String, u16)>>(&mut con)
            .ok()??;
        Some(format!("redis://{}{ip}:{port}", sentinel.userinfo))
    })
}

/// The external worker's Redis Function library (`worker_functions`),
/// read once at the start.
#[derive(Debug, Clone)]
pub(crate) struct FunctionLibrary {
    path: PathBuf,
    code: String,
}

impl FunctionLibrary {
    /// Reads the library at `path`; the error says what to do.
    pub(crate) fn read(path: &Path) -> Result<FunctionLibrary, QueueError> {
        let code = std::fs::read_to_string(path).map_err(|error| {
            QueueError::BadOptions(format!(
                "--worker-functions {}: cannot read it ({error}): give the path of a Lua Function library (#!lua name=...), relative to the folder the harness runs in",
                path.display()
            ))
        })?;
        Ok(FunctionLibrary {
            path: path.to_path_buf(),
            code,
        })
    }

    /// `FUNCTION LOAD REPLACE` of the library.
    pub(crate) fn load(&self, con: &mut Connection) -> Result<(), QueueError> {
        redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(&self.code)
            .query::<String>(con)
            .map(|_| ())
            .map_err(|e| {
                if e.kind() == redis::ErrorKind::Io || e.is_connection_dropped() {
                    QueueError::from_connect(e, "the server")
                } else {
                    QueueError::BadOptions(format!(
                        "--worker-functions {}: Redis refused the library: {e}; fix the Lua (it needs a first line like #!lua name=mylib)",
                        self.path.display()
                    ))
                }
            })
    }

    /// Loads the library through `endpoint` (after a restart or
    /// failover), retrying while the server is coming back.
    pub(crate) fn load_at(&self, endpoint: &Endpoint) -> Result<(), QueueError> {
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match endpoint.connect().and_then(|mut con| self.load(&mut con)) {
                Err(e) if e.is_redis_gone() && std::time::Instant::now() < give_up => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }
}

/// Calls of command `name` in an `INFO commandstats` reply.
pub(crate) fn command_calls(info: &str, name: &str) -> u64 {
    let prefix = format!("cmdstat_{name}:calls=");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// `INFO commandstats` of the server (`None`: not reachable).
pub(crate) fn commandstats(endpoint: &Endpoint) -> Option<String> {
    let mut con = endpoint.connect().ok()?;
    redis::cmd("INFO")
        .arg("commandstats")
        .query::<String>(&mut con)
        .ok()
}

/// CPU seconds process `pid` used, itself and its reaped children
/// (`/proc/PID/stat` utime + stime + cutime + cstime); readable until it
/// is reaped.
pub(crate) fn cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3; utime..cstime are fields 14..17.
    let ticks: u64 = fields
        .get(11..15)?
        .iter()
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    // SAFETY: sysconf has no preconditions.
    let per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_s > 0).then(|| ticks as f64 / per_s as f64)
}

/// How often the watcher samples the stream's pending entries.
const SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// Watches the job's pending entries from a thread of its own while an
/// external worker runs (`XPENDING stream group - + 1000`, every 20 ms):
/// which consumer held which unit from when to when. It is sampled, so a
/// unit taken and acknowledged within one sample may be missed.
pub(crate) struct PendingWatcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Watched>>,
}

/// What the watcher saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Watched {
    /// Distinct units seen pending at each consumer, by worker index.
    pub units_per_worker: Vec<u64>,
    /// Take (first seen), steal (seen at another consumer) and commit
    /// (gone from the pending list) events, as the harness saw them.
    pub events: Vec<crate::events::Event>,
}

impl PendingWatcher {
    /// Starts watching the job of `keys` at `endpoint`.
    pub(crate) fn start(endpoint: &Endpoint, keys: &JobKeys, workers: u32) -> PendingWatcher {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (endpoint, keys, flag) = (endpoint.clone(), keys.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("pending-watcher".into())
            .spawn(move || watch(&endpoint, &keys, workers, &flag))
            .ok();
        PendingWatcher { stop, thread }
    }

    /// Stops watching; returns what was seen.
    pub(crate) fn finish(mut self) -> Watched {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for PendingWatcher {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn watch(
    endpoint: &Endpoint,
    keys: &JobKeys,
    workers: u32,
    stop: &std::sync::atomic::AtomicBool,
) -> Watched {
    use crate::events::{Event, EventKind, now_unix_s};
    use std::collections::{HashMap, HashSet};
    let mut out = Watched {
        units_per_worker: vec![0; workers as usize],
        events: Vec::new(),
    };
    let mut seen: HashSet<(String, i64)> = HashSet::new();
    // Message id -> the consumer holding it at the last sample.
    let mut holder: HashMap<String, i64> = HashMap::new();
    // Message id -> its unit as `path:start-end` (looked up once).
    let mut labels: HashMap<String, String> = HashMap::new();
    let mut con: Option<Connection> = None;
    let worker_of = |consumer: &str| {
        consumer
            .strip_prefix("worker-")
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        if con.is_none() {
            con = endpoint.connect().ok();
        }
        let reply = con.as_mut().map(|c| {
            redis::cmd("XPENDING")
                .arg(keys.stream())
                .arg(keys.group())
                .arg("-")
                .arg("+")
                .arg(1000)
                .query::<Vec<(String, String, u64, u64)>>(c)
        });
        match reply {
            Some(Ok(entries)) => {
                let at = now_unix_s();
                let now: HashMap<String, i64> = entries
                    .into_iter()
                    .map(|(id, consumer, _, _)| (id, worker_of(&consumer)))
                    .collect();
                for id in now.keys() {
                    if !labels.contains_key(id)
                        && let Some(c) = con.as_mut()
                    {
                        labels.insert(id.clone(), unit_of_message(c, keys, id));
                    }
                }
                let label = |id: &String| labels.get(id).cloned().unwrap_or_else(|| id.clone());
                for (id, worker) in &now {
                    let event = |kind, detail: String| Event {
                        at_unix_s: at,
                        worker: *worker,
                        kind,
                        unit: label(id),
                        detail,
                    };
                    match holder.get(id) {
                        Some(before) if before == worker => continue,
                        Some(before) => out.events.push(event(
                            EventKind::Steal,
                            format!("from worker {before} (seen by the harness)"),
                        )),
                        None => out
                            .events
                            .push(event(EventKind::Take, "seen pending by the harness".into())),
                    }
                    if seen.insert((id.clone(), *worker))
                        && let Some(n) = usize::try_from(*worker)
                            .ok()
                            .and_then(|w| out.units_per_worker.get_mut(w))
                    {
                        *n += 1;
                    }
                }
                for (id, worker) in &holder {
                    if !now.contains_key(id) {
                        out.events.push(Event {
                            at_unix_s: at,
                            worker: *worker,
                            kind: EventKind::Committed,
                            unit: label(id),
                            detail: "acknowledged (seen by the harness)".into(),
                        });
                    }
                }
                holder = now;
            }
            Some(Err(_)) | None => con = None,
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
    out
}

/// Fills in what the harness saw of external workers: units per worker
/// (from the watcher) into their stats, and prints one line with the
/// server's command counts during the job and each worker's CPU time.
pub(crate) fn report_external(
    stats: &mut Vec<crate::queue::WorkerStats>,
    watched: &Watched,
    commands_before: Option<&str>,
    endpoint: &Endpoint,
    cpu_s: &[f64],
) {
    for (worker, units) in watched.units_per_worker.iter().enumerate() {
        let worker = worker as u32;
        match stats.iter_mut().find(|s| s.worker == worker) {
            Some(mine) => mine.measured.units = *units,
            None => stats.push(crate::queue::WorkerStats {
                worker,
                measured: crate::queue::WorkerMeasures {
                    units: *units,
                    ..Default::default()
                },
                ..crate::queue::WorkerStats::default()
            }),
        }
    }
    stats.sort_by_key(|s| s.worker);
    let calls = commands_before
        .zip(commandstats(endpoint))
        .map(|(before, after)| {
            ["fcall", "xack", "zincrby", "xautoclaim", "xreadgroup"]
                .iter()
                .map(|name| {
                    let n = command_calls(&after, name).saturating_sub(command_calls(before, name));
                    format!("{} {n}", name.to_uppercase())
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
    let units: Vec<String> = watched
        .units_per_worker
        .iter()
        .enumerate()
        .map(|(w, n)| format!("worker-{w} {n}"))
        .collect();
    let cpu: Vec<String> = cpu_s
        .iter()
        .enumerate()
        .map(|(w, s)| format!("worker-{w} {s:.2}"))
        .collect();
    eprintln!(
        "external workers: units seen taken (sampled): {}; CPU s: {}; server calls during the job: {}",
        units.join(", "),
        cpu.join(", "),
        calls.unwrap_or_else(|| "unknown (a restart reset the counters)".into())
    );
}

/// The unit of message `id` as `path:start-end` (the id itself when the
/// message cannot be read).
fn unit_of_message(con: &mut Connection, keys: &JobKeys, id: &str) -> String {
    let reply: redis::RedisResult<redis::streams::StreamRangeReply> = redis::cmd("XRANGE")
        .arg(keys.stream())
        .arg(id)
        .arg(id)
        .query(con);
    reply
        .ok()
        .and_then(|r| r.ids.into_iter().next())
        .and_then(|entry| crate::queue::decode_unit(&entry.map).ok())
        .map_or_else(|| id.to_owned(), |unit| crate::queue::unit_label(&unit))
}

/// What is left of a job in Redis, in one line: units never delivered,
/// and the first pending ones with their holder, idle time and deliveries.
pub(crate) fn pending_evidence(endpoint: &Endpoint, keys: &JobKeys) -> String {
    let Ok(mut con) = endpoint.connect() else {
        return "Redis is unreachable: pending units unknown".into();
    };
    let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
        .arg(keys.stream())
        .arg(keys.group())
        .arg("-")
        .arg("+")
        .arg(5)
        .query(&mut con)
        .unwrap_or_default();
    let lag = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(keys.stream())
        .query::<Vec<std::collections::HashMap<String, redis::Value>>>(&mut con)
        .ok()
        .and_then(|groups| {
            groups.into_iter().find_map(|g| match g.get("lag") {
                Some(redis::Value::Int(n)) => Some(n.to_string()),
                _ => None,
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let held: Vec<String> = pending
        .iter()
        .map(|(id, consumer, idle_ms, deliveries)| {
            format!("{id} held by {consumer} for {idle_ms} ms ({deliveries} deliveries)")
        })
        .collect();
    format!(
        "Units never delivered: {lag}; pending: {}",
        if held.is_empty() {
            "none".to_owned()
        } else {
            held.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_names_every_variable_of_the_contract() {
        let keys = JobKeys::new("abc").unwrap();
        let names = JobNames {
            url: "redis://:pw@127.0.0.1:7000/",
            keys: &keys,
            workers: 3,
            autoclaim_ms: 250,
        };
        let env = environment(&names, 2, Some(("mid-commit", 2)));
        let get = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(get("REDIS_URL"), "redis://:pw@127.0.0.1:7000");
        assert_eq!(get("REDIS_PASSWORD"), "pw");
        assert_eq!(get("REDIS_SENTINELS"), "");
        assert_eq!(get("WC_STREAM"), "wc:{abc}:stream");
        assert_eq!(get("WC_GROUP"), "wc:{abc}:workers");
        assert_eq!(get("WC_CONSUMER"), "worker-2");
        assert_eq!(get("WC_COUNTS"), "wc:{abc}:counts");
        assert_eq!(get("WC_WORKER_INDEX"), "2");
        assert_eq!(get("WC_WORKERS"), "3");
        assert_eq!(get("WC_AUTOCLAIM_MS"), "250");
        assert_eq!(get("WC_CRASH"), "mid-commit");
        assert_eq!(get("WC_CRASH_NTH"), "2");
        assert_eq!(get("WC_PROTOCOL"), "1");
        let calm = environment(&names, 0, None);
        assert!(calm.contains(&("WC_CRASH".to_owned(), String::new())));
    }

    #[test]
    fn sentinel_urls_give_the_sentinels_and_the_master_name() {
        let parsed =
            parse_sentinel_url("redis+sentinel://:s3@127.0.0.1:1,127.0.0.1:2/wc/").unwrap();
        assert_eq!(parsed.hosts, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(parsed.master, "wc");
        assert_eq!(parsed.password, "s3");
        assert_eq!(parse_sentinel_url("redis://:a@h:1/"), None);
    }

    #[test]
    fn plain_commands_are_execed_and_others_run_as_written() {
        assert!(is_plain("python3 examples/python-worker/atomic.py"));
        assert!(is_plain("  ./worker --flag 'a b'"));
        assert!(!is_plain("cd x && ./worker"));
        assert!(!is_plain("A=1 ./worker"));
        assert!(!is_plain("env > $OUT"));
        assert!(!is_plain(""));
    }

    #[test]
    fn commandstats_calls_are_read_by_name() {
        let info = "# Commandstats\r\ncmdstat_fcall:calls=12,usec=40,usec_per_call=3.3\r\ncmdstat_xack:calls=3,usec=1\r\n";
        assert_eq!(command_calls(info, "fcall"), 12);
        assert_eq!(command_calls(info, "xack"), 3);
        assert_eq!(command_calls(info, "zincrby"), 0);
    }

    #[test]
    fn cpu_time_of_this_process_is_read_from_proc() {
        assert!(cpu_s(std::process::id()).is_some());
    }
}
