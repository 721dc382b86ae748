//! Run parameters: one typed definition each.
//!
//! The `redis`-mode parameters are declared once, in
//! [`redis_parameter_list!`]: name, type, default, doc and command-line flag.
//! From that one list come
//! - [`RedisParams`], the typed values (a `clap::Args` group that
//!   `harness count` flattens into its flags),
//! - the `[fixed]` / `[matrix]` keys of experiment files (`experiment`
//!   expands the same list into its TOML tables),
//! - the text of each value for CSV cells, run descriptions and
//!   `[[inexact]]` matches ([`RedisParams::text_of`]),
//! - the run key (values at their defaults are left out, so adding a
//!   parameter keeps the keys of runs recorded before it existed),
//! - one [`RedisParams::validate`] that `harness count` and `harness run`
//!   both call.
//!
//! Adding a parameter is: one entry in the list, the code that uses it, its
//! CSV column in `results::RunRow` (a test checks every parameter has one)
//! and a test.

mod external;
mod value;

pub(crate) use value::{ParamValue, Toml, YesNo};

use crate::faults::{RedisKill, SlowWorker, WorkerCrash};
use crate::queue::MergeTarget;
use crate::queue::QueueBackend;
use crate::servers::{
    Rules, TopologyKind, TopologySettings, TopologySpec, check_topology, topology_rules,
};

/// Calls `$callback! { PREFIX... ENTRIES... }` with every `redis`-mode run
/// parameter as `/// doc [clap attributes] name: Type = default,`.
macro_rules! redis_parameter_list {
    ($callback:ident ! { $($prefix:tt)* }) => {
        $callback! {
            $($prefix)*
            /// One ZINCRBY per word occurrence instead of one per distinct word of a unit.
            [long]
            per_word: bool = false,
            /// Stragglers: worker W limited to fraction F of one CPU (cgroup, or SIGSTOP/SIGCONT
            /// where cgroups are not writable), `W:F`, `;`-separated in experiment files (e.g. "0:0.5").
            [long, value_name = "W:F"]
            slow: Vec<SlowWorker> = Vec::new(),
            /// Merge and acknowledge each unit in ONE atomic Redis Function call
            /// (FCALL wc_commit: counts applied only if XACK returned 1).
            [long, conflicts_with = "per_word"]
            atomic: bool = false,
            /// Where the counts accumulate in Redis: zset (ZINCRBY into one sorted set, the lab's),
            /// hash (HINCRBY into one hash, ordered once at the end) or parts (one binary blob of
            /// counts per commit, merged when the client reads them).
            [long, value_name = "TARGET", default_value = "zset"]
            merge: MergeTarget = MergeTarget::Zset,
            /// The combiner: a worker merges this many units' counts locally and commits them in
            /// one commit (atomic: applied only if every unit is still this worker's).
            [long, value_name = "K", default_value_t = 1]
            commit_units: u32 = 1,
            /// Idle workers steal (XAUTOCLAIM) units pending longer than this many milliseconds; 0 = off.
            [long, value_name = "T", default_value_t = 0]
            autoclaim_ms: u64 = 0,
            /// Worker W exits abruptly at crash point POINT (after-read, mid-count, before-commit,
            /// mid-commit, after-commit) on its NTH unit (default 1), `W:POINT[:NTH]`.
            [long, value_name = "W:POINT[:NTH]"]
            crash: Vec<WorkerCrash> = Vec::new(),
            /// SIGKILL a random live worker every this many milliseconds (never the last one); 0 = off.
            /// The older form of worker_kill = "every:T" (set one of the two).
            [long, value_name = "T", default_value_t = 0]
            kill_every_ms: u64 = 0,
            /// SIGKILL a random live worker (never the last one), `WHEN`: none, at:MS or every:MS
            /// (after the workers start), at:P% or every:P% (when P% of the units are
            /// acknowledged, so the kill lands at any scale).
            [long, value_name = "WHEN", default_value = "none"]
            worker_kill: $crate::faults::WorkerKill = $crate::faults::WorkerKill::NEVER,
            /// The managed server snapshots to dump.rdb every this many seconds (when anything
            /// changed) and restarts from it; 0 = no persistence.
            [long, value_name = "S", default_value_t = 0]
            snapshot_s: u32 = 0,
            /// kill -9 a node of the managed topology, `[TARGET:]WHEN`: WHEN none, after-enqueue,
            /// at:MS or every:MS (after the workers start), at:P% or every:P% (when P% of the
            /// units are acknowledged, so the kill lands at any scale), or before-read; TARGET primary (the
            /// server or raft leader; the default), replica, random-replica, replicas=N, any, or a
            /// node name (replicated: replica-2, sentinel-1; raft: node-1 .. node-2f+1). It
            /// restarts after redis_down_ms.
            [long, value_name = "[TARGET:]WHEN", default_value = "none"]
            redis_kill: RedisKill = RedisKill::NEVER,
            /// How long a killed server stays down, milliseconds.
            [long, value_name = "MS", default_value_t = 300]
            redis_down_ms: u64 = 300,
            /// The Redis topology the harness starts: single (one server; with snapshot_s > 0 it
            /// is the snapshot topology), snapshot, replicated (a primary, 2f replicas and 3
            /// Sentinels; workers WAIT for f replicas after each commit) or raft (2f + 1
            /// RedisRaft nodes; needs queue lease and raft_module).
            [long, value_name = "NAME", default_value = "single"]
            topology: TopologyKind = TopologyKind::default(),
            /// Replicated: failures tolerated; 2f replicas, min-replicas-to-write f, WAIT f.
            [long, value_name = "F", default_value_t = 1]
            f: u32 = 1,
            /// Replicated: how long a worker's WAIT after a commit may block, milliseconds.
            [long, value_name = "MS", default_value_t = 1000]
            wait_timeout_ms: u64 = 1000,
            /// Replicated: min-replicas-max-lag, seconds: a replica counts for
            /// min-replicas-to-write while it acknowledged within this many seconds.
            [long, value_name = "S", default_value_t = 10]
            min_replicas_max_lag_s: u32 = 10,
            /// Start a new worker in place of each one that died unexpectedly (killed from
            /// outside, out of memory, crashed).
            [long]
            restart_dead: bool = false,
            /// Bring a node of the managed topology back when it dies of something the harness did
            /// not do (killed from outside, out of memory), as a service manager would; false: the
            /// job goes on degraded while the topology survives the loss, and fails otherwise.
            [long, value_name = "BOOL", default_value = "true"]
            restart_nodes: $crate::params::YesNo = $crate::params::YesNo(true),
            /// Give up on the job after this many seconds and record it as not finished
            /// (finished = false) instead of failing; 0 = no deadline.
            [long, value_name = "S", default_value_t = 0.0]
            deadline_s: f64 = 0.0,
            /// The work-queue backend: stream (Redis Streams, consumer group) or lease (leases in a
            /// sorted set and Redis Functions, the commands RedisRaft supports; every commit atomic).
            [long, value_name = "NAME", default_value = "stream"]
            queue: $crate::queue::QueueBackend = $crate::queue::QueueBackend::Stream,
            /// Raft: the RedisRaft module (redisraft.so) the nodes load; empty: the
            /// HARNESS_REDISRAFT environment variable (the README says which module and where its build is documented).
            [long, value_name = "PATH", default_value = ""]
            raft_module: String = String::new(),
            /// Commands (or atomic-commit staging pairs) per pipelined round trip of a commit.
            [long, value_name = "N", default_value_t = 10_000]
            pipeline: u64 = 10_000,
            /// Emulated hosts: 0 = none (everything on loopback); N >= 1 runs Redis in its own
            /// network namespace and the workers round-robin over N host namespaces, each host's
            /// link shaped by rtt_ms, jitter_ms, loss_pct, rate_mbit (needs root and iproute2).
            [long, value_name = "N", default_value_t = 0]
            hosts: u32 = 0,
            /// Emulated hosts: round-trip time added on each host's link to Redis, milliseconds.
            [long, value_name = "MS", default_value_t = 0.0]
            rtt_ms: f64 = 0.0,
            /// Emulated hosts: jitter of the round trip, milliseconds.
            [long, value_name = "MS", default_value_t = 0.0]
            jitter_ms: f64 = 0.0,
            /// Emulated hosts: loss on each host's link, percent (netem: packets; proxy: a
            /// retransmission delay per lost segment).
            [long, value_name = "PCT", default_value_t = 0.0]
            loss_pct: f64 = 0.0,
            /// Emulated hosts: rate limit of each host's link, Mbit/s (0: none).
            [long, value_name = "MBIT", default_value_t = 0.0]
            rate_mbit: f64 = 0.0,
            /// Emulated hosts: cut host N off Redis MS ms after the workers start (or when P% of
            /// the units are acknowledged: at:P%), for MS ms, `host-N:at:MS:for:MS` or
            /// `host-N:at:P%:for:MS` (repeat the flag, or `;`-separate in experiment files).
            [long, value_name = "host-N:at:MS|P%:for:MS"]
            partition: Vec<$crate::hosts::Partition> = Vec::new(),
            /// Emulated hosts: how links are shaped: auto (tc netem when the kernel has it,
            /// else the userspace delay proxy), netem, or proxy.
            [long, value_name = "NAME", default_value = "auto"]
            shaper: $crate::hosts::ShaperKind = $crate::hosts::ShaperKind::Auto,
            /// Bring your own worker: a shell command (run with `sh -c` in the harness's working
            /// folder) started once per worker instead of the built-in worker; it follows
            /// docs/PROTOCOL.md (environment REDIS_URL, WC_STREAM, ...). Empty: the built-in worker.
            [long, value_name = "CMD", default_value = ""]
            worker_cmd: String = String::new(),
            /// Bring your own worker: a Redis Function library (Lua file) the harness loads
            /// (FUNCTION LOAD REPLACE) at the start and again after every Redis restart or
            /// failover. Empty: none.
            [long, value_name = "LIB.lua", default_value = ""]
            worker_functions: String = String::new(),
        }
    };
}

/// Expands the list into [`RedisParams`] and its methods.
macro_rules! define_redis_params {
    ($($(#[doc = $doc:literal])* [$($arg:tt)*] $name:ident : $ty:ty = $default:expr,)*) => {
        /// The `redis`-mode run parameters, typed and (after
        /// [`RedisParams::validate`]) checked. Every field is a TOML key of
        /// experiment files, a `harness count` flag and a CSV column.
        #[derive(Debug, Clone, PartialEq, clap::Args)]
        pub struct RedisParams {
            $($(#[doc = $doc])* #[arg($($arg)*)] pub $name: $ty,)*
        }

        impl Default for RedisParams {
            fn default() -> Self {
                RedisParams { $($name: $default,)* }
            }
        }

        impl RedisParams {
            /// Every parameter's name, in declaration order.
            pub(crate) const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// The value of parameter `name` as text (`None`: no such parameter).
            pub(crate) fn text_of(&self, name: &str) -> Option<String> {
                match name {
                    $(stringify!($name) => Some(ParamValue::text(&self.$name)),)*
                    _ => None,
                }
            }

            /// `text` as parameter `name` writes it (`0:mid-commit` ->
            /// `0:mid-commit:1`); text that does not parse is kept as it is.
            pub(crate) fn normalize(name: &str, text: &str) -> Option<String> {
                match name {
                    $(stringify!($name) => Some(
                        <$ty as ParamValue>::parse_text(text)
                            .map(|value| ParamValue::text(&value))
                            .unwrap_or_else(|_| text.to_owned()),
                    ),)*
                    _ => None,
                }
            }

            /// The `harness count` arguments that set every parameter not
            /// at its default (the flags clap derives from the same list).
            pub(crate) fn command_line(&self) -> Vec<String> {
                let defaults = RedisParams::default();
                let mut args = Vec::new();
                $(if self.$name != defaults.$name {
                    args.extend(ParamValue::command_line(&self.$name, &flag_of(stringify!($name))));
                })*
                args
            }

            /// Names of the parameters not at their defaults.
            pub(crate) fn changed(&self) -> Vec<&'static str> {
                let defaults = RedisParams::default();
                let mut names = Vec::new();
                $(if self.$name != defaults.$name { names.push(stringify!($name)); })*
                names
            }
        }

        impl serde::Serialize for RedisParams {
            /// The run-key form: parameters at their defaults are left out
            /// (except the two that were always written), so the keys of
            /// runs recorded before a parameter existed do not change.
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let defaults = RedisParams::default();
                let mut map = serializer.serialize_map(None)?;
                $(if ALWAYS_IN_KEY.contains(&stringify!($name)) || self.$name != defaults.$name {
                    map.serialize_entry(stringify!($name), &self.$name)?;
                })*
                map.end()
            }
        }
    };
}

redis_parameter_list!(define_redis_params! {});
/// The list, for the experiment schema's parameter table.
pub(crate) use redis_parameter_list;

/// Parameters written into run keys even at their defaults (they were from
/// the start; keeping them keeps old keys valid).
const ALWAYS_IN_KEY: &[&str] = &["per_word", "slow"];

/// The most units one combined commit may hold (the Function acknowledges
/// them in one `XACK`).
pub(crate) const MAX_COMMIT_UNITS: u32 = 1000;

/// The command-line flag of parameter `name` (`autoclaim_ms` -> `--autoclaim-ms`),
/// as clap derives it.
pub(crate) fn flag_of(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

/// A parameter value that cannot run; `key` names the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {message}")]
pub(crate) struct ParamError {
    /// The parameter (TOML key; the flag is `--` + key with `-` for `_`).
    pub key: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl ParamError {
    fn new(key: &'static str, message: impl Into<String>) -> ParamError {
        ParamError {
            key,
            message: message.into(),
        }
    }

    /// The parameter as a command-line flag (`--autoclaim-ms`).
    pub(crate) fn flag(&self) -> String {
        flag_of(self.key)
    }
}

/// Where the parameters will run, for [`RedisParams::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunContext<'a> {
    /// The mode's name; the parameters apply to `redis` only.
    pub mode: &'a str,
    /// Worker processes.
    pub workers: u32,
    /// The job uses a server the harness did not start (nothing is killed).
    pub external_server: bool,
}

/// Workers name their own index in per-worker settings.
trait ForWorker: std::fmt::Display {
    fn worker(&self) -> u32;
}

impl ForWorker for SlowWorker {
    fn worker(&self) -> u32 {
        self.worker
    }
}

impl ForWorker for WorkerCrash {
    fn worker(&self) -> u32 {
        self.worker
    }
}

/// Each item names a worker that runs, and no worker twice.
fn check_workers<T: ForWorker>(
    key: &'static str,
    items: &[T],
    workers: u32,
    what: &str,
) -> Result<(), ParamError> {
    let mut seen = Vec::new();
    for item in items {
        let worker = item.worker();
        if worker >= workers {
            return Err(ParamError::new(
                key,
                format!(
                    "{item} names worker {worker} but only {workers} workers run (indices 0..{}): use a smaller index or more workers",
                    workers.saturating_sub(1)
                ),
            ));
        }
        if seen.contains(&worker) {
            return Err(ParamError::new(
                key,
                format!("names worker {worker} twice: give each worker at most {what}"),
            ));
        }
        seen.push(worker);
    }
    Ok(())
}

impl RedisParams {
    /// The commit path the `atomic` and `per_word` settings ask for.
    pub(crate) fn commit(&self) -> crate::queue::CommitPath {
        crate::queue::CommitPath::from_flags(self.atomic, self.per_word)
    }

    /// The `deadline_s` as a duration (`None`: no deadline).
    pub(crate) fn deadline(&self) -> Option<std::time::Duration> {
        (self.deadline_s > 0.0).then(|| std::time::Duration::from_secs_f64(self.deadline_s))
    }

    /// The rules of the topology these parameters ask for (`external`:
    /// a server given by URL).
    pub(crate) fn rules(&self, external: bool) -> &'static dyn Rules {
        topology_rules(self.topology, self.snapshot_s, external)
    }

    /// The topology settings, as the topology's rules read them.
    pub(crate) fn topology_settings<'a>(
        &'a self,
        changed: &'a [&'static str],
        url: &'a str,
    ) -> TopologySettings<'a> {
        TopologySettings {
            f: self.f,
            snapshot_s: self.snapshot_s,
            min_replicas_max_lag_s: self.min_replicas_max_lag_s,
            raft_module: &self.raft_module,
            lease_queue: self.queue == QueueBackend::Lease,
            url,
            changed,
        }
    }

    /// The topology to start (`url`: an external server, nothing started).
    pub(crate) fn topology_spec(&self, url: Option<&str>) -> TopologySpec {
        let changed = self.changed();
        self.rules(url.is_some())
            .spec(&self.topology_settings(&changed, url.unwrap_or("")))
    }

    /// The topology's name as runs record it (`snapshot` when a single
    /// server snapshots).
    pub(crate) fn topology_name(&self) -> &'static str {
        self.rules(false).name()
    }

    /// When the harness kills a worker: `worker_kill`, or the older
    /// `kill_every_ms` (every that many ms); `None`: never.
    pub(crate) fn worker_kill(&self) -> Option<crate::faults::FaultTime> {
        self.worker_kill
            .0
            .or(crate::faults::WorkerKill::every_ms(self.kill_every_ms).0)
    }

    /// The link shape of the emulated hosts.
    pub(crate) fn link_shape(&self) -> crate::hosts::LinkShape {
        crate::hosts::LinkShape {
            rtt_ms: self.rtt_ms,
            jitter_ms: self.jitter_ms,
            loss_pct: self.loss_pct,
            rate_mbit: self.rate_mbit,
        }
    }

    /// The emulated-host settings fit together.
    fn validate_hosts(&self, run: RunContext<'_>) -> Result<(), ParamError> {
        let changed = self.changed();
        if self.hosts == 0 {
            for key in [
                "rtt_ms",
                "jitter_ms",
                "loss_pct",
                "rate_mbit",
                "partition",
                "shaper",
            ] {
                if changed.contains(&key) {
                    return Err(ParamError::new(
                        key,
                        "only applies to emulated hosts: set hosts = N (--hosts N, N >= 1) or drop it",
                    ));
                }
            }
            return Ok(());
        }
        if self.hosts > 200 {
            return Err(ParamError::new("hosts", "use 1 to 200 emulated hosts"));
        }
        if run.external_server {
            return Err(ParamError::new(
                "hosts",
                "emulated hosts run the harness's own Redis in a namespace: drop --redis-url",
            ));
        }
        if run.workers == 0 {
            return Err(ParamError::new(
                "hosts",
                "emulated hosts run local workers: use --workers 1 or more",
            ));
        }
        if !self.rules(false).emulated_hosts() {
            let able: Vec<&str> = TopologyKind::ALL
                .iter()
                .map(|k| k.rules(0))
                .filter(|r| r.emulated_hosts())
                .map(|r| r.name())
                .collect();
            return Err(ParamError::new(
                "hosts",
                format!(
                    "emulated hosts run one server in its own namespace, which topology {} is not: use topology {}",
                    self.topology_name(),
                    able.join(" or ")
                ),
            ));
        }
        let limits = [
            ("rtt_ms", self.rtt_ms, 10_000.0),
            ("jitter_ms", self.jitter_ms, 10_000.0),
            ("loss_pct", self.loss_pct, 100.0),
            ("rate_mbit", self.rate_mbit, 100_000.0),
        ];
        for (key, value, max) in limits {
            if !(value.is_finite() && (0.0..=max).contains(&value)) {
                return Err(ParamError::new(
                    key,
                    format!("must be a number from 0 to {max}"),
                ));
            }
        }
        for p in &self.partition {
            if p.host > self.hosts {
                return Err(ParamError::new(
                    "partition",
                    format!(
                        "{p} names host {} but only {} hosts are emulated (host-1..host-{}): use a smaller host or more hosts",
                        p.host, self.hosts, self.hosts
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The topology settings and kill targets fit together: asks the
    /// topology's rules (see [`crate::servers::Rules`]).
    fn validate_topology(&self, run: RunContext<'_>) -> Result<(), ParamError> {
        let rules = self.rules(run.external_server);
        let changed = self.changed();
        check_topology(rules, &self.topology_settings(&changed, ""))
            .map_err(|e| ParamError::new(e.key, e.message))?;
        self.redis_kill
            .target
            .fits(rules, self.f)
            .map_err(|message| ParamError::new("redis_kill", message))
    }

    /// Checks the parameters against where they run: the one validation
    /// that `harness count` and `harness run` share.
    pub(crate) fn validate(&self, run: RunContext<'_>) -> Result<(), ParamError> {
        if run.mode != "redis"
            && let Some(key) = self.changed().first()
        {
            return Err(ParamError::new(
                key,
                format!(
                    "is set, but the redis-mode parameters only apply to mode redis, not {}: drop it or use mode redis",
                    run.mode
                ),
            ));
        }
        if self.atomic && self.per_word {
            return Err(ParamError::new(
                "atomic",
                "atomic commits merge per distinct word of a unit: drop per_word (or atomic)",
            ));
        }
        if self.merge == MergeTarget::Parts && self.per_word {
            return Err(ParamError::new(
                "merge",
                "parts stores each commit's counts as one blob, so there is no per-word update: drop per_word or use merge = \"zset\" or \"hash\"",
            ));
        }
        if !(1..=MAX_COMMIT_UNITS).contains(&self.commit_units) {
            return Err(ParamError::new(
                "commit_units",
                format!(
                    "must be 1 to {MAX_COMMIT_UNITS} units per commit (1: commit every unit on its own)"
                ),
            ));
        }
        if self.queue == QueueBackend::Lease && self.per_word {
            return Err(ParamError::new(
                "per_word",
                "queue lease commits each unit in one atomic Function call per distinct word: drop per_word (or use queue = \"stream\")",
            ));
        }
        check_workers("slow", &self.slow, run.workers, "one CPU limit")?;
        check_workers("crash", &self.crash, run.workers, "one crash point")?;
        if self.kill_every_ms > 0 && !self.worker_kill.is_never() {
            return Err(ParamError::new(
                "worker_kill",
                format!(
                    "cannot be set with kill_every_ms too (kill_every_ms = {0} is worker_kill = \"every:{0}\"): keep one of the two",
                    self.kill_every_ms
                ),
            ));
        }
        if self.worker_kill().is_some() && run.workers < 2 {
            let key = if self.kill_every_ms > 0 {
                "kill_every_ms"
            } else {
                "worker_kill"
            };
            return Err(ParamError::new(
                key,
                "needs at least 2 workers (the last live worker is never killed)",
            ));
        }
        if run.external_server {
            let managed_only = [
                ("redis_kill", !self.redis_kill.is_never()),
                ("snapshot_s", self.snapshot_s > 0),
                ("topology", self.topology != TopologyKind::default()),
            ];
            if let Some((key, _)) = managed_only.iter().find(|(_, set)| *set) {
                return Err(ParamError::new(
                    key,
                    "acts on the server the harness starts: drop --redis-url (an external server is never killed or reconfigured)",
                ));
            }
        }
        self.validate_external_worker()?;
        self.validate_topology(run)?;
        self.validate_hosts(run)?;
        if self.pipeline == 0 {
            return Err(ParamError::new(
                "pipeline",
                "must be at least 1 command per round trip",
            ));
        }
        if self.redis_down_ms > 60_000 {
            return Err(ParamError::new(
                "redis_down_ms",
                "is over a minute: workers stop reconnecting after 30 s; use a shorter downtime",
            ));
        }
        if !(self.deadline_s.is_finite() && self.deadline_s >= 0.0) {
            return Err(ParamError::new(
                "deadline_s",
                "must be a number of seconds >= 0 (0: no deadline)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn redis(workers: u32) -> RunContext<'static> {
        RunContext {
            mode: "redis",
            workers,
            external_server: false,
        }
    }

    #[test]
    fn the_flags_default_to_the_list_defaults() {
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            params: RedisParams,
        }
        let parsed = Flags::try_parse_from(["x"]).unwrap();
        assert_eq!(parsed.params, RedisParams::default());
        let parsed = Flags::try_parse_from([
            "x",
            "--atomic",
            "--autoclaim-ms",
            "50",
            "--crash",
            "0:mid-commit",
            "--crash",
            "1:after-read:2",
            "--redis-kill",
            "every:500",
        ])
        .unwrap()
        .params;
        assert_eq!(
            parsed.changed(),
            ["atomic", "autoclaim_ms", "crash", "redis_kill"]
        );
        assert_eq!(
            parsed.text_of("crash").unwrap(),
            "0:mid-commit:1;1:after-read:2"
        );
    }

    #[test]
    fn the_command_line_of_a_parameter_set_parses_back_to_it() {
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            params: RedisParams,
        }
        let set = RedisParams {
            atomic: true,
            autoclaim_ms: 250,
            crash: Vec::<WorkerCrash>::parse_text("0:mid-commit;2:after-read:3").unwrap(),
            slow: Vec::<SlowWorker>::parse_text("1:0.5").unwrap(),
            restart_dead: true,
            deadline_s: 2.5,
            redis_kill: "every:500".parse().unwrap(),
            ..RedisParams::default()
        };
        let args = set.command_line();
        assert!(args.contains(&"--restart-dead".to_owned()), "{args:?}");
        let parsed = Flags::try_parse_from(std::iter::once("x".to_owned()).chain(args))
            .unwrap()
            .params;
        assert_eq!(parsed, set);
        assert!(RedisParams::default().command_line().is_empty());
    }

    #[test]
    fn run_keys_leave_out_defaults_but_the_first_two() {
        let json = serde_json::to_string(&RedisParams::default()).unwrap();
        assert_eq!(json, r#"{"per_word":false,"slow":[]}"#);
        let set = RedisParams {
            kill_every_ms: 5,
            redis_kill: "at:10".parse().unwrap(),
            ..RedisParams::default()
        };
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"{"per_word":false,"slow":[],"kill_every_ms":5,"redis_kill":{"At":10}}"#
        );
    }

    #[test]
    fn validation_checks_workers_modes_and_combinations() {
        let slow = |text: &str| RedisParams {
            slow: Vec::<SlowWorker>::parse_text(text).unwrap(),
            ..RedisParams::default()
        };
        assert!(slow("0:0.5;1:0.25").validate(redis(2)).is_ok());
        let err = slow("0:0.5;1:0.25").validate(redis(1)).unwrap_err();
        assert!(
            err.message.contains("only 1 workers") && err.key == "slow",
            "{err}"
        );
        assert!(
            slow("0:0.5;0:0.25")
                .validate(redis(2))
                .unwrap_err()
                .message
                .contains("twice")
        );
        let crash = RedisParams {
            crash: Vec::<WorkerCrash>::parse_text("0:after-read;0:mid-count").unwrap(),
            ..RedisParams::default()
        };
        assert!(
            crash
                .validate(redis(2))
                .unwrap_err()
                .message
                .contains("twice")
        );
        let kill = RedisParams {
            kill_every_ms: 100,
            ..RedisParams::default()
        };
        assert_eq!(kill.validate(redis(1)).unwrap_err().key, "kill_every_ms");
        assert!(kill.validate(redis(2)).is_ok());
        assert_eq!(kill.worker_kill(), "every:100".parse().ok());
        let half = RedisParams {
            worker_kill: "at:50%".parse().unwrap(),
            ..RedisParams::default()
        };
        assert_eq!(half.worker_kill(), "at:50%".parse().ok());
        assert_eq!(half.validate(redis(1)).unwrap_err().key, "worker_kill");
        assert!(half.validate(redis(2)).is_ok());
        assert_eq!(half.text_of("worker_kill").as_deref(), Some("at:50%"));
        assert!(
            serde_json::to_string(&half)
                .unwrap()
                .contains(r#""worker_kill":"at:50%""#)
        );
        let both = RedisParams {
            kill_every_ms: 100,
            ..half.clone()
        };
        let err = both.validate(redis(2)).unwrap_err();
        assert!(
            err.key == "worker_kill" && err.message.contains("every:100"),
            "{}",
            err.message
        );
        assert_eq!(RedisParams::default().worker_kill(), None);
        let local = RunContext {
            mode: "threads",
            ..redis(2)
        };
        let err = kill.validate(local).unwrap_err();
        assert!(
            err.message.contains("only apply to mode redis") && err.flag() == "--kill-every-ms",
            "{err}"
        );
        assert!(RedisParams::default().validate(local).is_ok());
        let snapshot = RedisParams {
            snapshot_s: 1,
            ..RedisParams::default()
        };
        let external = RunContext {
            external_server: true,
            ..redis(2)
        };
        assert_eq!(snapshot.validate(external).unwrap_err().key, "snapshot_s");
        let both = RedisParams {
            atomic: true,
            per_word: true,
            ..RedisParams::default()
        };
        assert_eq!(both.validate(redis(2)).unwrap_err().key, "atomic");
        assert_eq!(
            RedisParams::normalize("crash", "0:mid-commit").unwrap(),
            "0:mid-commit:1"
        );
        assert_eq!(RedisParams::normalize("colour", "red"), None);
    }

    #[test]
    fn topology_settings_are_checked_naming_the_key() {
        let with = |text: &str| {
            let mut params = RedisParams::default();
            for pair in text.split_whitespace() {
                let (key, value) = pair.split_once('=').unwrap();
                match key {
                    "topology" => params.topology = value.parse().unwrap(),
                    "f" => params.f = value.parse().unwrap(),
                    "kill" => params.redis_kill = value.parse().unwrap(),
                    "snapshot" => params.snapshot_s = value.parse().unwrap(),
                    _ => unreachable!(),
                }
            }
            params.validate(redis(2)).map_err(|e| e.key)
        };
        assert_eq!(with("topology=replicated f=0"), Err("f"));
        assert_eq!(with("f=2"), Err("f"));
        assert_eq!(with("kill=replica:at:5"), Err("redis_kill"));
        assert_eq!(
            with("topology=replicated kill=replicas=3:at:5"),
            Err("redis_kill")
        );
        assert_eq!(
            with("topology=replicated kill=replica-3:at:5"),
            Err("redis_kill")
        );
        assert_eq!(
            with("topology=replicated kill=sentinel-4:at:5"),
            Err("redis_kill")
        );
        assert_eq!(with("topology=replicated snapshot=1"), Err("snapshot_s"));
        assert_eq!(with("topology=snapshot"), Err("topology"));
        assert_eq!(with("topology=replicated kill=replicas=2:at:5"), Ok(()));
        assert_eq!(
            with("topology=replicated f=2 kill=replica-4:every:500"),
            Ok(())
        );
        assert_eq!(with("kill=any:every:500"), Ok(()));
        // Node names are the topology's: raft has node-N, replicated does not.
        let raft = |kill: &str| {
            RedisParams {
                topology: "raft".parse().unwrap(),
                queue: QueueBackend::Lease,
                redis_kill: kill.parse().unwrap(),
                ..RedisParams::default()
            }
            .validate(redis(2))
            .map_err(|e| e.key)
        };
        assert_eq!(raft("node-3:at:5"), Ok(()));
        assert_eq!(raft("node-4:at:5"), Err("redis_kill"));
        assert_eq!(raft("sentinel-1:at:5"), Err("redis_kill"));
        assert_eq!(
            with("topology=replicated kill=node-1:at:5"),
            Err("redis_kill")
        );
        let err = RedisParams {
            topology: "replicated".parse().unwrap(),
            redis_kill: "replica-3:at:5".parse().unwrap(),
            ..RedisParams::default()
        }
        .validate(redis(2))
        .unwrap_err();
        assert!(
            err.to_string().contains("redis_kill: names node replica-3"),
            "{err}"
        );
    }

    #[test]
    fn emulated_host_settings_are_checked_naming_the_key() {
        let hosts = |n: u32| RedisParams {
            hosts: n,
            ..RedisParams::default()
        };
        assert!(hosts(2).validate(redis(2)).is_ok());
        let shaped = RedisParams {
            rtt_ms: 5.0,
            ..RedisParams::default()
        };
        let err = shaped.validate(redis(2)).unwrap_err();
        assert!(
            err.key == "rtt_ms" && err.message.contains("hosts = N"),
            "{err}"
        );
        let far = RedisParams {
            partition: Vec::<crate::hosts::Partition>::parse_text("host-3:at:0:for:10").unwrap(),
            ..hosts(2)
        };
        assert_eq!(far.validate(redis(2)).unwrap_err().key, "partition");
        let lossy = RedisParams {
            loss_pct: 150.0,
            ..hosts(2)
        };
        assert_eq!(lossy.validate(redis(2)).unwrap_err().key, "loss_pct");
        let external = RunContext {
            external_server: true,
            ..redis(2)
        };
        assert_eq!(hosts(2).validate(external).unwrap_err().key, "hosts");
        let replicated = RedisParams {
            topology: "replicated".parse().unwrap(),
            ..hosts(2)
        };
        assert_eq!(replicated.validate(redis(2)).unwrap_err().key, "hosts");
        assert_eq!(
            RedisParams::normalize("shaper", "proxy").as_deref(),
            Some("proxy")
        );
        let serial = RunContext {
            mode: "serial",
            ..redis(1)
        };
        assert_eq!(hosts(2).validate(serial).unwrap_err().key, "hosts");
    }
}
