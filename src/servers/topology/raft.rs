//! The `raft` topology (Lab 4.2): `2f + 1` redis-servers that load the
//! RedisRaft module and replicate every write through Raft before
//! answering. Nodes `node-1` .. `node-N` listen on free loopback ports with
//! one password; they authenticate to each other with the same password
//! (`raft.cluster-user default`, `raft.cluster-password`), because RedisRaft
//! sends its messages over the ordinary client port. `node-1` runs
//! `RAFT.CLUSTER INIT`, the others `RAFT.CLUSTER JOIN` it. A killed node
//! restarts with the same command line, port and directory (its Raft log,
//! `raftlog.db`) and rejoins as a follower by itself.
//!
//! Roles: the leader is the [`Role::Primary`], followers are replicas, so
//! the kill targets of the replicated topology (primary, replica,
//! replicas=N, any) mean leader, follower, N followers, any node. Clients
//! connect through a `redis+raft://` URL listing every node (see
//! `queue::Endpoint`), which finds the leader; workers commit with the
//! lease queue (RedisRaft rejects stream commands).
//!
//! RedisRaft is not packaged anywhere: the user builds it and names the
//! module with `raft_module` or `HARNESS_REDISRAFT` (see the README).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{
    DeadNode, NodeView, Revival, Role, RuleError, Rules, Settings, Topology, TopologySpec,
    describe_exit, log_tail,
};
use crate::servers::{RedisConfig, RedisServer, ServerError, free_loopback_port};

/// The environment variable naming the module when `raft_module` is unset.
pub(crate) const RAFT_MODULE_ENV: &str = "HARNESS_REDISRAFT";
/// How long the cluster may take to form (every node up, one leader).
const FORM_TIMEOUT: Duration = Duration::from_secs(20);
/// Raft log file name inside each node's directory.
const RAFT_LOG: &str = "raftlog.db";

/// The module to load: `configured` (the `raft_module` parameter) if set,
/// else `HARNESS_REDISRAFT`; an error saying how to get one otherwise.
pub(crate) fn raft_module(configured: &str) -> Result<PathBuf, ServerError> {
    let path = if configured.is_empty() {
        std::env::var_os(RAFT_MODULE_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    } else {
        Some(PathBuf::from(configured))
    };
    match path {
        Some(path) if path.is_file() => Ok(path),
        Some(path) => Err(ServerError::ModuleMissing {
            detail: format!(
                "the RedisRaft module {} (set by raft_module or {RAFT_MODULE_ENV}) does not exist: {MODULE_HELP}",
                path.display()
            ),
        }),
        None => Err(ServerError::ModuleMissing {
            detail: format!(
                "topology raft needs the RedisRaft module, which is not configured: {MODULE_HELP}"
            ),
        }),
    }
}

/// Where the module comes from and how to name it: no build steps (the
/// RedisRaft project documents its own build).
const MODULE_HELP: &str = "RedisRaft (github.com/RedisLabs/redisraft) is in no package registry and the harness does not build it; commit 5945c02 is the one tested here, with Debian's redis-server 7.0.15, and the RedisRaft project's README documents how to build it. Point the harness at the built redisraft.so with the run parameter raft_module (raft_module = \"/path/redisraft.so\" in an experiment file) or the HARNESS_REDISRAFT environment variable, which every command reads";

/// The rules of `raft`.
pub(super) struct RaftRules;

/// The one instance [`super::rules`] hands out.
pub(super) static RULES: RaftRules = RaftRules;

impl Rules for RaftRules {
    fn name(&self) -> &'static str {
        "raft"
    }

    fn parameters(&self) -> &'static [&'static str] {
        &["f", "raft_module"]
    }

    fn check(&self, settings: &Settings<'_>) -> Result<(), RuleError> {
        if !settings.lease_queue {
            return Err(RuleError::new(
                "topology",
                "raft needs queue = \"lease\" (--queue lease): RedisRaft rejects the stream commands of the stream queue",
            ));
        }
        if settings.f == 0 {
            return Err(RuleError::new(
                "f",
                "must be at least 1 with topology raft (2f + 1 nodes): use f = 1",
            ));
        }
        Ok(())
    }

    fn node_names(&self, f: u32) -> Vec<String> {
        (0..(2 * f.max(1) + 1) as usize)
            .map(Raft::name_of)
            .collect()
    }

    fn replicas(&self, f: u32) -> u32 {
        2 * f.max(1)
    }

    fn missing(&self, settings: &Settings<'_>) -> Option<String> {
        raft_module(settings.raft_module)
            .err()
            .map(|e| e.to_string())
    }

    /// Any minority: a majority still elects a leader and commits.
    fn survives(&self, f: u32, down: &[String]) -> bool {
        down.len() as u32 <= f.max(1)
    }

    fn revival(&self, _name: &str) -> Revival {
        Revival::RaftLog
    }

    fn spec(&self, settings: &Settings<'_>) -> TopologySpec {
        TopologySpec::Raft {
            f: settings.f,
            module: settings.raft_module.to_owned(),
        }
    }

    fn chaos_kill(&self, rng: &mut rand::rngs::StdRng) -> (String, u32) {
        (super::replicated::replica_chaos_kill(rng), 0)
    }
}

/// A managed RedisRaft cluster.
#[derive(Debug)]
pub(crate) struct Raft {
    nodes: Vec<RedisServer>,
    password: String,
    killed: Vec<bool>,
}

impl Raft {
    /// Starts `2f + 1` nodes loading `module` and forms the cluster.
    pub(crate) fn start(f: u32, module: &Path) -> Result<Raft, ServerError> {
        let count = 2 * f.max(1) + 1;
        let password = format!("{:032x}", rand::random::<u128>());
        let mut nodes = Vec::new();
        for _ in 0..count {
            let port = free_loopback_port()?;
            let settings = vec![
                ("loadmodule".into(), module.display().to_string()),
                ("raft.log-filename".into(), RAFT_LOG.into()),
                ("raft.addr".into(), format!("127.0.0.1:{port}")),
                ("raft.cluster-user".into(), "default".into()),
                ("raft.cluster-password".into(), password.clone()),
            ];
            nodes.push(RedisServer::start(RedisConfig {
                port: Some(port),
                password: Some(password.clone()),
                settings,
                ..RedisConfig::default()
            })?);
        }
        let raft = Raft {
            killed: vec![false; nodes.len()],
            nodes,
            password,
        };
        raft.form()?;
        Ok(raft)
    }

    /// `RAFT.CLUSTER INIT` on node-1, `JOIN` on the others, then waits
    /// until node-1 leads all of them.
    fn form(&self) -> Result<(), ServerError> {
        let first = self.nodes[0].port();
        let command = |node: &RedisServer, args: &[String]| {
            let what = format!("RAFT.CLUSTER {} on port {}", args.join(" "), node.port());
            redis::Client::open(node.url())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
                .and_then(|mut con| {
                    let mut cmd = redis::cmd("RAFT.CLUSTER");
                    for arg in args {
                        cmd.arg(arg);
                    }
                    cmd.query::<String>(&mut con)
                })
                .map_err(|source| ServerError::Command { what, source })
        };
        command(&self.nodes[0], &["INIT".into()])?;
        let started = Instant::now();
        for node in &self.nodes[1..] {
            // A join right after INIT can find no leader yet: retry.
            loop {
                match command(node, &["JOIN".into(), format!("127.0.0.1:{first}")]) {
                    Ok(_) => break,
                    Err(_) if started.elapsed() < FORM_TIMEOUT => {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        while started.elapsed() < FORM_TIMEOUT {
            let up = self.nodes.iter().all(|n| {
                info_raft(n).is_some_and(|info| {
                    info.contains("raft_state:up")
                        && info.contains(&format!("raft_num_nodes:{}", self.nodes.len()))
                })
            });
            if up && self.leader().is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(ServerError::NotFormed {
            what: format!("a RedisRaft cluster of {} nodes", self.nodes.len()),
            waited_ms: FORM_TIMEOUT.as_millis() as u64,
            logs: self
                .nodes
                .iter()
                .map(|n| n.dir().display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    fn name_of(index: usize) -> String {
        format!("node-{}", index + 1)
    }

    fn index_of(&self, name: &str) -> Result<usize, ServerError> {
        name.strip_prefix("node-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=self.nodes.len()).contains(n))
            .map(|n| n - 1)
            .ok_or_else(|| ServerError::UnexpectedOutput {
                what: format!(
                    "node {name} (this raft topology has node-1..node-{})",
                    self.nodes.len()
                ),
                output: String::new(),
            })
    }

    /// The index of the node that is leader now, if one says so.
    fn leader(&self) -> Option<usize> {
        self.leader_and_term().map(|(index, _)| index)
    }

    /// The node that is leader now and the term it was elected in.
    fn leader_and_term(&self) -> Option<(usize, Option<u64>)> {
        (0..self.nodes.len()).find_map(|i| {
            if self.killed[i] {
                return None;
            }
            let info = info_raft(&self.nodes[i])?;
            info.contains("raft_role:leader").then(|| {
                let term = info
                    .lines()
                    .find_map(|line| line.trim().strip_prefix("raft_current_term:"))
                    .and_then(|term| term.parse().ok());
                (i, term)
            })
        })
    }
}

/// `INFO raft` of a node (`None`: it does not answer).
fn info_raft(node: &RedisServer) -> Option<String> {
    let timeout = Duration::from_millis(300);
    let mut con = redis::Client::open(node.url())
        .ok()?
        .get_connection_with_timeout(timeout)
        .ok()?;
    con.set_read_timeout(Some(timeout)).ok()?;
    redis::cmd("INFO")
        .arg("raft")
        .query::<String>(&mut con)
        .ok()
}

impl Topology for Raft {
    fn rules(&self) -> &'static dyn Rules {
        &RULES
    }

    fn f(&self) -> u32 {
        (self.nodes.len() as u32 - 1) / 2
    }

    fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        format!("redis+raft://:{}@{}/", self.password, hosts.join(","))
    }

    fn managed(&self) -> bool {
        true
    }

    fn replicas(&self) -> u32 {
        self.nodes.len() as u32 - 1
    }

    #[cfg(test)]

    fn node_names(&self) -> Vec<String> {
        (0..self.nodes.len()).map(Raft::name_of).collect()
    }

    fn nodes(&mut self) -> Vec<NodeView> {
        let leader = self.leader();
        (0..self.nodes.len())
            .filter(|&i| !self.killed[i])
            .map(|i| NodeView {
                name: Raft::name_of(i),
                role: if Some(i) == leader {
                    Role::Primary
                } else {
                    Role::Replica
                },
            })
            .collect()
    }

    fn primary(&mut self) -> Option<String> {
        self.leader().map(Raft::name_of)
    }

    fn primary_and_term(&mut self) -> Option<(String, Option<u64>)> {
        self.leader_and_term()
            .map(|(index, term)| (Raft::name_of(index), term))
    }

    fn kill(&mut self, name: &str) -> Result<(), ServerError> {
        let index = self.index_of(name)?;
        self.nodes[index].kill9()?;
        self.killed[index] = true;
        Ok(())
    }

    fn restart(&mut self, name: &str) -> Result<(), ServerError> {
        let index = self.index_of(name)?;
        self.nodes[index].restart()?;
        self.killed[index] = false;
        Ok(())
    }

    fn died(&mut self) -> Option<DeadNode> {
        let index =
            (0..self.nodes.len()).find(|&i| !self.killed[i] && !self.nodes[i].is_running())?;
        self.killed[index] = true;
        let node = &self.nodes[index];
        Some(DeadNode {
            name: Raft::name_of(index),
            status: describe_exit(node.last_exit()),
            log_tail: log_tail(&node.dir().join("redis.log")),
        })
    }

    fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(RedisServer::pid).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_module_says_how_to_get_one() {
        let err = raft_module("/nonexistent/redisraft.so").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("5945c02")
                && text.contains("raft_module")
                && text.contains("documents how to build it"),
            "{text}"
        );
    }
}
