//! Redis topologies behind one seam: [`Topology`] starts its processes,
//! names its nodes (`primary`, `replica-1`, `sentinel-2`, ...), kills and
//! restarts a node by name, says where clients connect, and stops
//! everything on drop. [`start`] is the one place that picks a variant from
//! a [`TopologySpec`]; nothing else names a concrete topology.
//!
//! - `single`: one redis-server on a free loopback port with a random
//!   password; with a snapshot interval it is the `snapshot` topology of
//!   Lab 4.1 (restarts reload `dump.rdb`).
//! - `replicated`: a primary, 2f replicas and 3 redis-sentinel processes
//!   (Lab 4.2); clients find the primary through Sentinel.
//! - `external`: a server the user points to with a URL; nothing is
//!   started or killed.

mod external;
mod raft;
mod replicated;
mod single;

use std::fmt;
use std::str::FromStr;

pub use external::External;
pub use raft::{RAFT_MODULE_ENV, Raft, raft_module};
pub use replicated::{MASTER_NAME, Replicated};
pub use single::Single;

use super::ServerError;

impl TopologySpec {
    /// The same topology, its one server at `place` (topologies of several
    /// servers are left as they are; parameter validation rules them out).
    pub fn placed(self, place: Placement) -> TopologySpec {
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
    /// The name in flags, TOML and CSV.
    pub fn name(self) -> &'static str {
        match self {
            TopologyKind::Single => "single",
            TopologyKind::Snapshot => "snapshot",
            TopologyKind::Replicated => "replicated",
            TopologyKind::Raft => "raft",
        }
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
        match text.trim() {
            "single" => Ok(TopologyKind::Single),
            "snapshot" => Ok(TopologyKind::Snapshot),
            "replicated" => Ok(TopologyKind::Replicated),
            "raft" => Ok(TopologyKind::Raft),
            "external" => {
                Err("the external topology is chosen by giving --redis-url, not by name".into())
            }
            other => Err(format!(
                "unknown topology {other:?}: use single, snapshot, replicated or raft"
            )),
        }
    }
}

/// Where a single server runs when not on a free loopback port: an
/// address and port, under a command prefix (e.g. `ip netns exec NS`, an
/// emulated host's network namespace).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placement {
    /// The address it binds.
    pub bind: String,
    /// Its port.
    pub port: u16,
    /// The command it runs under.
    pub exec_prefix: Vec<String>,
}

/// What to start, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopologySpec {
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
pub enum Role {
    /// Takes the writes.
    Primary,
    /// Copies the primary.
    Replica,
    /// Watches the primary (redis-sentinel).
    Sentinel,
}

/// A node that is up, with its role now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// Its name (`primary`, `replica-1`, `sentinel-2`).
    pub name: String,
    /// Its role now.
    pub role: Role,
}

/// A node that died without being killed on purpose.
#[derive(Debug, Clone)]
pub struct DeadNode {
    /// Its name.
    pub name: String,
    /// Its port.
    pub port: u16,
    /// The end of its log.
    pub log_tail: String,
}

/// A running Redis topology. Dropping it stops (kill -9 and reap) every
/// process it started.
pub trait Topology {
    /// `single`, `snapshot`, `replicated` or `external`.
    fn name(&self) -> &'static str;
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
        self.replicas() > 0
    }
    /// Every node's name, up or down, in start order.
    fn node_names(&self) -> Vec<String>;
    /// The nodes that are up, with their roles now.
    fn nodes(&mut self) -> Vec<NodeView>;
    /// The name of the node that is primary now (`None`: unknown, e.g.
    /// during a failover).
    fn primary(&mut self) -> Option<String>;
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
    /// A node that died without being killed, if any.
    fn died(&mut self) -> Option<DeadNode>;
    /// Process ids of the processes that are up.
    fn pids(&self) -> Vec<u32>;
}

/// Starts the topology `spec` asks for: the one place that picks a variant.
pub fn start(spec: &TopologySpec) -> Result<Box<dyn Topology>, ServerError> {
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
