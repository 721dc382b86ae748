//! The `replicated` topology (Lab 4.2): one primary, `2f` replicas and 3
//! redis-sentinel processes monitoring it, all on free loopback ports with
//! one random password (`requirepass` and `masterauth` on every data node,
//! `auth-pass` and `sentinel-pass` in every Sentinel).
//!
//! Every data node runs with `min-replicas-to-write f` (so a primary that
//! lost more than f replicas refuses writes with `NOREPLICAS` instead of
//! taking writes no replica holds) and a configurable
//! `min-replicas-max-lag`, without persistence (the replicas hold the data)
//! and with diskless, undelayed resyncs.
//!
//! Nodes are named by how they started: `primary`, `replica-1` ..
//! `replica-2f`, `sentinel-1` .. `sentinel-3`; after a failover the node
//! named `replica-1` may be the primary ([`Topology::primary`] asks
//! Sentinel). A killed data node restarts empty as a replica of the
//! current primary and resyncs; a killed primary restarts only once
//! Sentinel promoted another node (never as an empty primary, which its
//! replicas would copy). Clients connect through Sentinel
//! (`redis+sentinel://` URL, see `queue::Endpoint`).

use std::time::{Duration, Instant};

/// How long a killed primary waits for Sentinel to promote another node
/// before it comes back as the primary itself (Sentinel fails over within
/// about 3 s here: 1 s down-after, the election, a 2 s failover timeout).
const NO_FAILOVER_AFTER: Duration = Duration::from_secs(8);

use rand::RngExt;
use tempfile::TempDir;

use super::{
    DeadNode, NodeView, Revival, Role, RuleError, Rules, Settings, Topology, TopologySpec,
    describe_exit, log_tail,
};
use crate::servers::binary::{executable, find_redis_sentinel};
use crate::servers::port::free_port;
use crate::servers::redis_server::ServerRole;
use crate::servers::sentinel::{Sentinel, SentinelConfig};
use crate::servers::{RedisConfig, RedisServer, ServerError};

/// The name Sentinel monitors the primary under.
pub(crate) const MASTER_NAME: &str = "wc";
/// Sentinels started.
const SENTINELS: u32 = 3;
/// Sentinels that must agree the primary is down.
const QUORUM: u32 = 2;
/// No answer from the primary for this long: Sentinel starts a failover.
const DOWN_AFTER_MS: u64 = 1000;
/// Sentinel's failover timeout (also: no second failover of the same
/// primary within twice this).
const FAILOVER_TIMEOUT_MS: u64 = 2000;
/// How long the start waits for replicas to sync and Sentinels to see them.
const FORM_TIMEOUT: Duration = Duration::from_secs(15);

/// The rules of `replicated`.
pub(super) struct ReplicatedRules;

/// The one instance [`super::rules`] hands out.
pub(super) static RULES: ReplicatedRules = ReplicatedRules;

impl Rules for ReplicatedRules {
    fn name(&self) -> &'static str {
        "replicated"
    }

    fn parameters(&self) -> &'static [&'static str] {
        &["f", "wait_timeout_ms", "min_replicas_max_lag_s"]
    }

    fn check(&self, settings: &Settings<'_>) -> Result<(), RuleError> {
        if settings.f == 0 {
            return Err(RuleError::new(
                "f",
                "must be at least 1 with topology replicated (2f replicas, WAIT f): use f = 1 or topology single",
            ));
        }
        Ok(())
    }

    fn node_names(&self, f: u32) -> Vec<String> {
        std::iter::once("primary".to_owned())
            .chain((1..=2 * f).map(|i| format!("replica-{i}")))
            .chain((1..=SENTINELS).map(|i| format!("sentinel-{i}")))
            .collect()
    }

    fn replicas(&self, f: u32) -> u32 {
        2 * f
    }

    fn workers_wait(&self) -> bool {
        true
    }

    fn missing(&self, _settings: &Settings<'_>) -> Option<String> {
        find_redis_sentinel().err().map(|e| e.to_string())
    }

    /// Up to f data nodes (`min-replicas-to-write f` still finds f
    /// replicas among the 2f + 1 - f left) and any minority of the
    /// Sentinels (a majority still agrees on a failover).
    fn survives(&self, f: u32, down: &[String]) -> bool {
        let sentinels = down.iter().filter(|n| n.starts_with("sentinel-")).count() as u32;
        let data = down.len() as u32 - sentinels;
        data <= f && sentinels < SENTINELS.div_ceil(2)
    }

    fn revival(&self, _name: &str) -> Revival {
        Revival::Resync
    }

    /// Data nodes restart empty and resync: one must be left to resync from.
    fn recoverable(&self, f: u32, down: &[String]) -> bool {
        let data = down.iter().filter(|n| !n.starts_with("sentinel-")).count() as u32;
        data < 2 * f + 1
    }

    fn spec(&self, settings: &Settings<'_>) -> TopologySpec {
        TopologySpec::Replicated {
            f: settings.f,
            min_replicas_max_lag_s: settings.min_replicas_max_lag_s,
        }
    }

    fn chaos_kill(&self, rng: &mut rand::rngs::StdRng) -> (String, u32) {
        (replica_chaos_kill(rng), 0)
    }
}

/// A chaos kill of topologies with copies: a killed primary (leader) is
/// replaced by a failover (election), a killed replica (follower) catches
/// up; both replicas (with f = 1) down stall writes until one is back.
/// Early: a small job is over in a few hundred ms.
pub(super) fn replica_chaos_kill(rng: &mut rand::rngs::StdRng) -> String {
    let at = rng.random_range(20..=150u64);
    match rng.random_range(0..10u32) {
        0 => format!("primary:at:{at}"),
        9 => "primary:after-enqueue".to_owned(),
        1 | 2 => format!("replica:at:{at}"),
        3 => "random-replica:every:150".to_owned(),
        4 => format!("replicas=2:at:{at}"),
        _ => "none".to_owned(),
    }
}

/// A primary, its replicas and the Sentinels, owned by the harness.
#[derive(Debug)]
pub(crate) struct Replicated {
    f: u32,
    /// Data nodes: (name, server), primary first.
    data: Vec<(String, RedisServer)>,
    /// Sentinels: (name, process).
    sentinels: Vec<(String, Sentinel)>,
    /// Nodes down on purpose.
    killed: Vec<String>,
    /// When each killed node went down.
    killed_at: Vec<(String, Instant)>,
    /// The `redis+sentinel://` URL.
    url: String,
    /// Holds the Sentinels' config files and logs (dropped last).
    dir: TempDir,
}

impl Replicated {
    /// Starts a primary, `2f` replicas in sync with it and 3 Sentinels that
    /// see all of them; `sentinel_binary` overrides the search for
    /// `redis-sentinel` (tests).
    pub(crate) fn start(
        f: u32,
        min_replicas_max_lag_s: u32,
        sentinel_binary: Option<std::path::PathBuf>,
    ) -> Result<Replicated, ServerError> {
        let sentinel_binary = match sentinel_binary {
            Some(binary) => executable(binary)?,
            None => find_redis_sentinel()?,
        };
        let dir = crate::fsutil::owned_temp_dir("harness-sentinel").map_err(|source| {
            ServerError::Io {
                what: "creating a temporary directory for redis-sentinel".to_owned(),
                source,
            }
        })?;
        let password: String = rand::random::<[u8; 16]>()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let settings = vec![
            ("masterauth".to_owned(), password.clone()),
            ("min-replicas-to-write".to_owned(), f.to_string()),
            (
                "min-replicas-max-lag".to_owned(),
                min_replicas_max_lag_s.to_string(),
            ),
            ("repl-diskless-sync".to_owned(), "yes".to_owned()),
            ("repl-diskless-sync-delay".to_owned(), "0".to_owned()),
            ("repl-diskless-load".to_owned(), "on-empty-db".to_owned()),
        ];
        let config = |replica_of| RedisConfig {
            password: Some(password.clone()),
            replica_of,
            settings: settings.clone(),
            ..RedisConfig::default()
        };
        let primary = RedisServer::start(config(None))?;
        let primary_port = primary.port();
        let mut data = vec![("primary".to_owned(), primary)];
        for index in 1..=2 * f {
            data.push((
                format!("replica-{index}"),
                RedisServer::start(config(Some(primary_port)))?,
            ));
        }
        let mut topology = Replicated {
            f,
            data,
            sentinels: Vec::new(),
            killed: Vec::new(),
            killed_at: Vec::new(),
            url: String::new(),
            dir,
        };
        topology.wait_for("the replicas to sync with the primary", |t| {
            t.synced_replicas() == 2 * f as usize
        })?;
        let sentinel_config = SentinelConfig {
            master: MASTER_NAME.to_owned(),
            primary_port,
            password: password.clone(),
            quorum: QUORUM,
            down_after_ms: DOWN_AFTER_MS,
            failover_timeout_ms: FAILOVER_TIMEOUT_MS,
        };
        for index in 1..=SENTINELS {
            let port = free_port("127.0.0.1")?;
            let sentinel = Sentinel::start(
                &sentinel_binary,
                topology.dir.path(),
                port,
                &sentinel_config,
            )?;
            topology
                .sentinels
                .push((format!("sentinel-{index}"), sentinel));
        }
        let others = SENTINELS as usize - 1;
        topology.wait_for("the Sentinels to see every replica and each other", |t| {
            t.sentinels.iter().all(|(_, s)| {
                s.known(MASTER_NAME).is_some_and(|(replicas, sentinels)| {
                    replicas == 2 * f as usize && sentinels == others
                })
            })
        })?;
        let addresses: Vec<String> = topology
            .sentinels
            .iter()
            .map(|(_, s)| format!("127.0.0.1:{}", s.port()))
            .collect();
        topology.url = format!(
            "redis+sentinel://:{password}@{}/{MASTER_NAME}",
            addresses.join(",")
        );
        Ok(topology)
    }

    /// Replicas the primary reports `online`.
    fn synced_replicas(&self) -> usize {
        let Some((_, primary)) = self.data.first() else {
            return 0;
        };
        let info: redis::RedisResult<String> = redis::Client::open(primary.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
            .and_then(|mut con| redis::cmd("INFO").arg("replication").query(&mut con));
        info.map(|info| {
            info.lines()
                .filter(|l| l.starts_with("slave") && l.contains("state=online"))
                .count()
        })
        .unwrap_or(0)
    }

    fn wait_for(&self, what: &str, done: impl Fn(&Replicated) -> bool) -> Result<(), ServerError> {
        let started = Instant::now();
        while !done(self) {
            if started.elapsed() > FORM_TIMEOUT {
                return Err(ServerError::NotFormed {
                    what: what.to_owned(),
                    waited_ms: started.elapsed().as_millis() as u64,
                    logs: self.dir.path().display().to_string(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The nodes of `nodes` (data nodes or Sentinels) not killed now.
    fn live<'a, T>(&'a self, nodes: &'a [(String, T)]) -> impl Iterator<Item = &'a (String, T)> {
        nodes.iter().filter(|(name, _)| !self.killed.contains(name))
    }

    /// The port of the primary the Sentinels that answer name (the first answer).
    fn primary_port(&self) -> Option<u16> {
        self.live(&self.sentinels)
            .find_map(|(_, s)| s.primary_port(MASTER_NAME))
    }

    fn unknown(name: &str) -> ServerError {
        ServerError::UnexpectedOutput {
            what: format!("node {name} in the replicated topology"),
            output: String::new(),
        }
    }
}

impl Topology for Replicated {
    fn rules(&self) -> &'static dyn Rules {
        &RULES
    }

    fn f(&self) -> u32 {
        self.f
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn managed(&self) -> bool {
        true
    }

    fn replicas(&self) -> u32 {
        2 * self.f
    }

    #[cfg(test)]

    fn node_names(&self) -> Vec<String> {
        self.data
            .iter()
            .map(|(n, _)| n.clone())
            .chain(self.sentinels.iter().map(|(n, _)| n.clone()))
            .collect()
    }

    fn nodes(&mut self) -> Vec<NodeView> {
        let primary = self.primary();
        let data = self.live(&self.data).map(|(name, _)| NodeView {
            name: name.clone(),
            role: if primary.as_deref() == Some(name) {
                Role::Primary
            } else {
                Role::Replica
            },
        });
        let sentinels = self.live(&self.sentinels).map(|(name, _)| NodeView {
            name: name.clone(),
            role: Role::Sentinel,
        });
        data.chain(sentinels).collect()
    }

    fn primary(&mut self) -> Option<String> {
        let port = self.primary_port()?;
        self.data
            .iter()
            .find(|(_, server)| server.port() == port)
            .map(|(name, _)| name.clone())
    }

    fn kill(&mut self, name: &str) -> Result<(), ServerError> {
        if let Some((_, server)) = self.data.iter_mut().find(|(n, _)| n == name) {
            server.kill9()?;
        } else if let Some((_, sentinel)) = self.sentinels.iter_mut().find(|(n, _)| n == name) {
            sentinel.kill9()?;
        } else {
            return Err(Self::unknown(name));
        }
        if !self.killed.iter().any(|n| n == name) {
            self.killed.push(name.to_owned());
            self.killed_at.push((name.to_owned(), Instant::now()));
        }
        Ok(())
    }

    fn settled(&mut self) -> bool {
        // Every live Sentinel sees its primary up with no failover under
        // way and names the same one, which says it is the primary, and
        // every other live data node replicates it, in sync.
        let live_sentinels = || self.live(&self.sentinels);
        if !live_sentinels().all(|(_, sentinel)| sentinel.at_rest(MASTER_NAME) == Some(true)) {
            return false;
        }
        let mut named = live_sentinels().map(|(_, sentinel)| sentinel.primary_port(MASTER_NAME));
        let Some(Some(primary)) = named.next() else {
            return false;
        };
        if named.any(|port| port != Some(primary)) {
            return false;
        }
        self.live(&self.data)
            .all(|(_, server)| match server.role() {
                Some(ServerRole::Primary) => server.port() == primary,
                Some(ServerRole::Replica {
                    primary_port,
                    in_sync,
                }) => primary_port == primary && in_sync,
                None => false,
            })
    }

    fn ready_to_restart(&mut self, name: &str) -> bool {
        if self.sentinels.iter().any(|(n, _)| n == name) {
            return true;
        }
        // A data node comes back as a replica of a live primary that is
        // not itself (a killed primary waits for the failover). When
        // Sentinel has not failed over long after the kill (e.g. kills came
        // faster than its failover timeout allows another failover), the
        // killed primary comes back as the primary: Sentinel still names
        // it, so no other node accepts writes and nothing diverges.
        let waited = self
            .killed_at
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Duration::ZERO, |(_, at)| at.elapsed());
        match self.primary() {
            Some(primary) if primary == name => waited >= NO_FAILOVER_AFTER,
            Some(primary) => !self.killed.contains(&primary),
            None => false,
        }
    }

    fn restart(&mut self, name: &str) -> Result<(), ServerError> {
        if self.sentinels.iter().any(|(n, _)| n == name) {
            let (_, sentinel) = self
                .sentinels
                .iter_mut()
                .find(|(n, _)| n == name)
                .ok_or_else(|| Self::unknown(name))?;
            sentinel.restart()?;
        } else {
            let primary_port = self.primary_port();
            let (_, server) = self
                .data
                .iter_mut()
                .find(|(n, _)| n == name)
                .ok_or_else(|| Self::unknown(name))?;
            let replica_of = primary_port.filter(|port| *port != server.port());
            server.set_replica_of(replica_of);
            server.restart()?;
        }
        self.killed.retain(|n| n != name);
        self.killed_at.retain(|(n, _)| n != name);
        Ok(())
    }

    fn died(&mut self) -> Option<DeadNode> {
        let mut dead = None;
        for (name, server) in &mut self.data {
            if !self.killed.contains(name) && !server.is_running() {
                dead = Some(DeadNode {
                    name: name.clone(),
                    status: describe_exit(server.last_exit()),
                    log_tail: log_tail(&server.dir().join("redis.log")),
                });
                break;
            }
        }
        if dead.is_none() {
            for (name, sentinel) in &mut self.sentinels {
                if !self.killed.contains(name) && !sentinel.is_running() {
                    dead = Some(DeadNode {
                        name: name.clone(),
                        status: describe_exit(sentinel.last_exit()),
                        log_tail: log_tail(sentinel.log()),
                    });
                    break;
                }
            }
        }
        if let Some(node) = &dead {
            self.killed.push(node.name.clone());
            self.killed_at.push((node.name.clone(), Instant::now()));
        }
        dead
    }

    fn pids(&self) -> Vec<u32> {
        self.data
            .iter()
            .filter_map(|(_, s)| s.pid())
            .chain(self.sentinels.iter().filter_map(|(_, s)| s.pid()))
            .collect()
    }
}

impl Drop for Replicated {
    /// Sentinels first (so none reconfigures a dying node), then the data nodes.
    fn drop(&mut self) {
        for (_, sentinel) in &mut self.sentinels {
            let _ = sentinel.kill9();
        }
        for (_, server) in &mut self.data {
            server.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid_gone(pid: u32) -> bool {
        // SAFETY: signal 0 only checks whether the process exists.
        let result = unsafe { libc::kill(pid as libc::pid_t, 0) };
        result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }

    #[test]
    fn a_replicated_topology_fails_over_and_leaves_no_process() {
        let mut topology = Replicated::start(1, 10, None).unwrap();
        assert_eq!(
            topology.node_names(),
            [
                "primary",
                "replica-1",
                "replica-2",
                "sentinel-1",
                "sentinel-2",
                "sentinel-3"
            ]
        );
        assert_eq!(topology.primary().as_deref(), Some("primary"));
        let pids = topology.pids();
        assert_eq!(pids.len(), 6);
        topology.kill("primary").unwrap();
        assert!(!topology.ready_to_restart("primary"));
        let started = Instant::now();
        while !topology.ready_to_restart("primary") {
            assert!(started.elapsed() < Duration::from_secs(20), "no failover");
            std::thread::sleep(Duration::from_millis(50));
        }
        let promoted = topology.primary().unwrap();
        assert!(promoted.starts_with("replica-"), "{promoted}");
        topology.restart("primary").unwrap();
        assert!(topology.died().is_none());
        let mut all = pids;
        all.extend(topology.pids());
        drop(topology);
        for pid in all {
            assert!(pid_gone(pid), "process {pid} outlived its topology");
        }
    }

    #[test]
    fn the_rules_survive_f_data_nodes_and_a_minority_of_sentinels() {
        let down = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert!(RULES.survives(1, &down(&["primary", "sentinel-2"])));
        assert!(!RULES.survives(1, &down(&["primary", "replica-1"])));
        assert!(!RULES.survives(1, &down(&["sentinel-1", "sentinel-2"])));
        assert!(RULES.survives(2, &down(&["replica-1", "replica-4"])));
        assert!(RULES.recoverable(1, &down(&["primary", "replica-1"])));
        assert!(!RULES.recoverable(1, &down(&["primary", "replica-1", "replica-2"])));
        assert_eq!(RULES.node_names(1).len(), 6);
    }

    #[test]
    fn a_missing_sentinel_binary_says_which_package_to_install() {
        let err = Replicated::start(1, 10, Some("/nonexistent/redis-sentinel".into())).unwrap_err();
        assert!(
            err.to_string()
                .contains("apt-get install -y redis-sentinel"),
            "{err}"
        );
    }
}
