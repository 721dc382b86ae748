//! Redis topologies behind one seam, in two halves:
//!
//! - [`Rules`]: what a topology is before anything starts: its node names
//!   for a given f, which run parameters apply to it and how they must be
//!   set, whether workers `WAIT`, what it needs installed, which losses of
//!   nodes it survives and how a dead node comes back, how `harness chaos`
//!   kills its nodes. Parameter validation, kill-target checks, the chaos
//!   schedules and the lab's requirements ask these rules; [`rules`] is
//!   the one place that picks them from a [`TopologyKind`].
//! - [`Topology`]: a running one: starts its processes, names its nodes
//!   (`primary`, `replica-1`, `sentinel-2`, `node-3`), kills and restarts a
//!   node by name, reports nodes that died on their own, says where
//!   clients connect, and stops everything on drop. [`start`] is the one
//!   place that starts a variant from a [`TopologySpec`].
//!
//! One file per variant, holding both halves:
//! - `single`: one redis-server on a free loopback port with a random
//!   password, no persistence (Labs 2-3);
//! - `snapshot`: the same server snapshotting to `dump.rdb` (Lab 4.1;
//!   restarts reload it);
//! - `replicated`: a primary, 2f replicas and 3 redis-sentinel processes
//!   (Lab 4.2); clients find the primary through Sentinel;
//! - `raft`: 2f + 1 RedisRaft nodes (Lab 4.2);
//! - `external`: a server the user points to with a URL; nothing is
//!   started or killed.
//!
//! Adding a topology is one new file plus one line in [`rules`] (and one
//! in [`start`] when it starts processes of a new shape).

mod external;
mod raft;
mod replicated;
mod single;
mod snapshot;

use std::fmt;
use std::str::FromStr;

pub(crate) use external::External;
#[cfg(test)]
pub(crate) use raft::RAFT_MODULE_ENV;
pub(crate) use raft::{Raft, raft_module};
pub(crate) use replicated::Replicated;
pub(crate) use single::Single;

/// How a reaped process ended, in words (`killed by signal 9 (SIGKILL)`).
pub(crate) fn describe_exit(status: Option<std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Some(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(9)) => "killed by signal 9 (SIGKILL)".to_owned(),
            (None, Some(15)) => "killed by signal 15 (SIGTERM)".to_owned(),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "ended".to_owned(),
        },
        None => "ended (status unknown)".to_owned(),
    }
}

use super::ServerError;

impl TopologySpec {
    /// The same topology, its one server at `place` (topologies of several
    /// servers are left as they are; parameter validation rules them out).
    pub(crate) fn placed(self, place: Placement) -> TopologySpec {
        match self {
            TopologySpec::Single { .. } => TopologySpec::Single { place: Some(place) },
            TopologySpec::Snapshot { interval_s, .. } => TopologySpec::Snapshot {
                interval_s,
                place: Some(place),
            },
            other => other,
        }
    }
}

/// The topologies a run can ask for by name (`external` is chosen by
/// giving a URL instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TopologyKind {
    /// One server.
    #[default]
    Single,
    /// One server with periodic snapshots.
    Snapshot,
    /// A primary, 2f replicas, 3 Sentinels.
    Replicated,
    /// 2f + 1 RedisRaft nodes.
    Raft,
}

impl TopologyKind {
    /// Every kind a run can ask for by name.
    pub(crate) const ALL: [TopologyKind; 4] = [
        TopologyKind::Single,
        TopologyKind::Snapshot,
        TopologyKind::Replicated,
        TopologyKind::Raft,
    ];

    /// The name in flags, TOML and CSV.
    pub(crate) fn name(self) -> &'static str {
        rules(self, 0, false).name()
    }

    /// The rules of this kind with these settings (see [`rules`]).
    pub(crate) fn rules(self, snapshot_s: u32) -> &'static dyn Rules {
        rules(self, snapshot_s, false)
    }
}

impl fmt::Display for TopologyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TopologyKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Some(kind) = TopologyKind::ALL.into_iter().find(|k| k.name() == text) {
            return Ok(kind);
        }
        if text == external::RULES.name() {
            return Err(
                "the external topology is chosen by giving --redis-url, not by name".into(),
            );
        }
        let names: Vec<&str> = TopologyKind::ALL.iter().map(|k| k.name()).collect();
        Err(format!(
            "unknown topology {text:?}: use one of {}",
            names.join(", ")
        ))
    }
}

/// The rules of the topology a run asks for: the one place that picks a
/// variant's rules. `single` with a snapshot interval is the `snapshot`
/// topology (as runs recorded before `snapshot` existed asked for it);
/// `external` (a server given by URL) wins over the kind.
pub(crate) fn rules(kind: TopologyKind, snapshot_s: u32, external: bool) -> &'static dyn Rules {
    match kind {
        _ if external => &external::RULES,
        TopologyKind::Single if snapshot_s > 0 => &snapshot::RULES,
        TopologyKind::Single => &single::RULES,
        TopologyKind::Snapshot => &snapshot::RULES,
        TopologyKind::Replicated => &replicated::RULES,
        TopologyKind::Raft => &raft::RULES,
    }
}

/// The run parameters that belong to some topology: set on another one,
/// they are an error naming the topologies they apply to.
pub(crate) const TOPOLOGY_PARAMETERS: &[&str] = &[
    "f",
    "wait_timeout_ms",
    "min_replicas_max_lag_s",
    "snapshot_s",
    "raft_module",
];

/// The run settings a topology's rules read (filled from the run
/// parameters, which own their definitions).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Settings<'a> {
    /// Failures tolerated (`f`).
    pub f: u32,
    /// Snapshot interval, seconds (`snapshot_s`; 0: none).
    pub snapshot_s: u32,
    /// `min_replicas_max_lag_s`.
    pub min_replicas_max_lag_s: u32,
    /// `raft_module` ("" : the environment variable).
    pub raft_module: &'a str,
    /// The job uses the lease queue (not streams).
    pub lease_queue: bool,
    /// The server URL of an external topology.
    pub url: &'a str,
    /// Names of the run parameters set away from their defaults.
    pub changed: &'a [&'static str],
}

/// A setting that does not fit the topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleError {
    /// The run parameter at fault.
    pub key: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl RuleError {
    /// `key`: `message`.
    pub(crate) fn new(key: &'static str, message: impl Into<String>) -> RuleError {
        RuleError {
            key,
            message: message.into(),
        }
    }
}

/// How a dead node of a topology comes back when it is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Revival {
    /// Empty: whatever it held (the queue, the counts) is gone.
    Empty,
    /// From its last snapshot (`dump.rdb`).
    FromDump,
    /// Empty, then resynced from the current primary (Sentinels: from their config).
    Resync,
    /// From its own Raft log, catching up from the leader.
    RaftLog,
    /// Never: the harness does not own it.
    Never,
}

/// What a topology is, before anything starts: one implementation per
/// variant file, picked by [`rules`].
pub(crate) trait Rules: Sync {
    /// Its name in flags, TOML and CSV.
    fn name(&self) -> &'static str;
    /// Which of [`TOPOLOGY_PARAMETERS`] apply to it.
    fn parameters(&self) -> &'static [&'static str];
    /// Checks the settings beyond which parameters apply (e.g. `f >= 1`).
    fn check(&self, _settings: &Settings<'_>) -> Result<(), RuleError> {
        Ok(())
    }
    /// Every node's name with `f` failures tolerated, in start order.
    fn node_names(&self, f: u32) -> Vec<String>;
    /// Data nodes that copy the primary (replicas, followers).
    fn replicas(&self, _f: u32) -> u32 {
        0
    }
    /// Whether workers `WAIT` for f replicas after each commit.
    fn workers_wait(&self) -> bool {
        false
    }
    /// What it needs installed that is missing (`None`: nothing).
    fn missing(&self, _settings: &Settings<'_>) -> Option<String> {
        None
    }
    /// Whether the job can go on while the nodes `down` are down, before
    /// any of them comes back.
    fn survives(&self, f: u32, down: &[String]) -> bool;
    /// How a dead node comes back when restarted.
    fn revival(&self, name: &str) -> Revival;
    /// Whether restarting the nodes `down` brings the job back (something
    /// that holds it is left: a snapshot, a live replica, a Raft log).
    fn recoverable(&self, _f: u32, _down: &[String]) -> bool {
        true
    }
    /// The setting that keeps a job's counts when a node of this topology
    /// dies and the job cannot go on (for the message that says so).
    fn keeps_counts(&self) -> &'static str {
        "restart_nodes = true (--restart-nodes true), so a dead node is brought back"
    }
    /// Whether emulated hosts (`hosts = N`) can run it (one server in its
    /// own namespace).
    fn emulated_hosts(&self) -> bool {
        false
    }
    /// What to start.
    fn spec(&self, settings: &Settings<'_>) -> TopologySpec;
    /// A Redis kill for a `harness chaos` schedule (`[TARGET:]WHEN` text)
    /// and the snapshot interval it needs.
    fn chaos_kill(&self, rng: &mut rand::rngs::StdRng) -> (String, u32);
}

/// Checks `settings` against `rules`: parameters of other topologies,
/// then the variant's own checks. The one topology check that parameter
/// validation calls.
pub(crate) fn check(rules: &dyn Rules, settings: &Settings<'_>) -> Result<(), RuleError> {
    for &key in TOPOLOGY_PARAMETERS {
        if settings.changed.contains(&key) && !rules.parameters().contains(&key) {
            let owners: Vec<&str> = TopologyKind::ALL
                .iter()
                .map(|k| k.rules(0))
                .filter(|r| r.parameters().contains(&key))
                .map(|r| r.name())
                .collect();
            return Err(RuleError::new(
                key,
                format!(
                    "only applies to topology {} (not {}): drop it or set topology = \"{}\"",
                    owners.join(" or "),
                    rules.name(),
                    owners.first().copied().unwrap_or("single")
                ),
            ));
        }
    }
    rules.check(settings)
}

/// Where a single server runs when not on a free loopback port: an
/// address and port, under a command prefix (e.g. `ip netns exec NS`, an
/// emulated host's network namespace).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Placement {
    /// The address it binds.
    pub bind: String,
    /// Its port.
    pub port: u16,
    /// The command it runs under.
    pub exec_prefix: Vec<String>,
}

/// What to start, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TopologySpec {
    /// One server, no persistence.
    Single {
        /// Where (`None`: a free loopback port).
        place: Option<Placement>,
    },
    /// One server snapshotting every `interval_s` seconds.
    Snapshot {
        /// Snapshot interval, seconds.
        interval_s: u32,
        /// Where (`None`: a free loopback port).
        place: Option<Placement>,
    },
    /// A primary, `2f` replicas, 3 Sentinels.
    Replicated {
        /// Failures tolerated.
        f: u32,
        /// `min-replicas-max-lag`, seconds.
        min_replicas_max_lag_s: u32,
    },
    /// 2f + 1 RedisRaft nodes loading `module` (empty: `HARNESS_REDISRAFT`).
    Raft {
        /// Failures tolerated.
        f: u32,
        /// The `raft_module` parameter.
        module: String,
    },
    /// A server the harness does not own.
    External {
        /// Its URL.
        url: String,
    },
}

/// What a node does now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Takes the writes.
    Primary,
    /// Copies the primary.
    Replica,
    /// Watches the primary (redis-sentinel).
    Sentinel,
}

/// A node that is up, with its role now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeView {
    /// Its name (`primary`, `replica-1`, `sentinel-2`).
    pub name: String,
    /// Its role now.
    pub role: Role,
}

/// A node that died without being killed on purpose.
#[derive(Debug, Clone)]
pub(crate) struct DeadNode {
    /// Its name.
    pub name: String,
    /// How it ended (`killed by signal 9`, `exited with code 1`).
    pub status: String,
    /// The end of its log.
    pub log_tail: String,
}

/// A running Redis topology. Dropping it stops (kill -9 and reap) every
/// process it started.
pub(crate) trait Topology {
    /// Its name (as its [`Rules`] say).
    fn name(&self) -> &'static str {
        self.rules().name()
    }
    /// Its rules.
    fn rules(&self) -> &'static dyn Rules;
    /// Failures tolerated (0 for one server).
    fn f(&self) -> u32 {
        0
    }
    /// Where clients connect: `redis://:PASSWORD@HOST:PORT/`, or
    /// `redis+sentinel://:PASSWORD@HOST:PORT,HOST:PORT,.../MASTER` (see
    /// `queue::Endpoint`). Contains the password: never print it.
    fn url(&self) -> String;
    /// True when the harness started (and may kill) the processes.
    fn managed(&self) -> bool;
    /// Replicas (0 without replication).
    fn replicas(&self) -> u32 {
        0
    }
    /// Whether workers `WAIT` for f replicas after each commit (the
    /// replicated topology; Raft replicates before it answers).
    fn waits_for_replicas(&self) -> bool {
        self.rules().workers_wait()
    }
    /// Every node's name, up or down, in start order.
    #[cfg(test)]
    fn node_names(&self) -> Vec<String>;
    /// The nodes that are up, with their roles now.
    fn nodes(&mut self) -> Vec<NodeView>;
    /// The name of the node that is primary now (`None`: unknown, e.g.
    /// during a failover).
    fn primary(&mut self) -> Option<String>;
    /// The primary now and the election term that made it primary, where
    /// the topology has terms (RedisRaft): a later term with the same
    /// primary is a failover too (the leader died or hung, and won the
    /// next election once back).
    fn primary_and_term(&mut self) -> Option<(String, Option<u64>)> {
        self.primary().map(|primary| (primary, None))
    }
    /// kill -9 of node `name`.
    fn kill(&mut self, name: &str) -> Result<(), ServerError>;
    /// Whether node `name` may be restarted now (a killed primary waits
    /// until Sentinel has promoted another node, so it comes back as a
    /// replica instead of an empty primary).
    fn ready_to_restart(&mut self, _name: &str) -> bool {
        true
    }
    /// Starts killed node `name` again on its port and password.
    fn restart(&mut self, name: &str) -> Result<(), ServerError>;
    /// True when the topology is at rest, so a scheduled kill now meets
    /// the topology its rules describe: no failover or resync under way
    /// (Sentinel ends a failover only once every replica follows the new
    /// primary; killing that primary before, Sentinel may keep naming the
    /// old one, which by then replicates from the dead node, and nobody
    /// accepts writes again). A due kill waits until then.
    fn settled(&mut self) -> bool {
        true
    }
    /// A node that died without being killed, if any. It counts as killed
    /// from then on (not reported again; [`Topology::restart`] brings it back).
    fn died(&mut self) -> Option<DeadNode>;
    /// Process ids of the processes that are up.
    fn pids(&self) -> Vec<u32>;
}

/// Starts the topology `spec` asks for: the one place that picks a variant.
pub(crate) fn start(spec: &TopologySpec) -> Result<Box<dyn Topology>, ServerError> {
    Ok(match spec {
        TopologySpec::Single { place } => Box::new(Single::start(None, place.clone())?),
        TopologySpec::Snapshot { interval_s, place } => {
            Box::new(Single::start(Some(*interval_s), place.clone())?)
        }
        TopologySpec::Replicated {
            f,
            min_replicas_max_lag_s,
        } => Box::new(Replicated::start(*f, *min_replicas_max_lag_s, None)?),
        TopologySpec::Raft { f, module } => Box::new(Raft::start(*f, &raft_module(module)?)?),
        TopologySpec::External { url } => Box::new(External::new(url)),
    })
}

/// The last lines of a log file, for messages.
pub(crate) fn log_tail(path: &std::path::Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}
