//! The `single` topology: one redis-server without persistence (Labs
//! 2-3). Its one node is `primary`. When it dies, the queue and the counts
//! die with it: a restarted server is empty, so the job cannot be trusted
//! to go on (a scheduled kill restarts it and queues the whole job again;
//! a death nobody scheduled ends the job with a message naming the
//! `snapshot` topology). The running server ([`Single`]) also serves the
//! `snapshot` topology, whose rules live in `snapshot.rs`.

use rand::RngExt;

use super::{
    DeadNode, NodeView, Placement, Revival, Role, Rules, Settings, Topology, TopologySpec,
    describe_exit, log_tail,
};
use crate::servers::{RedisConfig, RedisServer, ServerError};

pub(super) const NODE: &str = "primary";

/// The rules of `single`.
pub(super) struct SingleRules;

/// The one instance [`super::rules`] hands out.
pub(super) static RULES: SingleRules = SingleRules;

impl Rules for SingleRules {
    fn name(&self) -> &'static str {
        "single"
    }

    fn parameters(&self) -> &'static [&'static str] {
        &[]
    }

    fn node_names(&self, _f: u32) -> Vec<String> {
        vec![NODE.to_owned()]
    }

    fn survives(&self, _f: u32, down: &[String]) -> bool {
        down.is_empty()
    }

    fn revival(&self, _name: &str) -> Revival {
        Revival::Empty
    }

    fn keeps_counts(&self) -> &'static str {
        "the snapshot topology (--topology snapshot --snapshot-s 1; topology = \"snapshot\", snapshot_s = 1), whose server restarts from its dump, or topology replicated"
    }

    fn emulated_hosts(&self) -> bool {
        true
    }

    fn spec(&self, _settings: &Settings<'_>) -> TopologySpec {
        TopologySpec::Single { place: None }
    }

    fn chaos_kill(&self, rng: &mut rand::rngs::StdRng) -> (String, u32) {
        server_chaos_kill(rng)
    }
}

/// A chaos kill of the one server: it snapshots so that a restart keeps
/// the job (`single` schedules that kill are snapshot schedules).
pub(super) fn server_chaos_kill(rng: &mut rand::rngs::StdRng) -> (String, u32) {
    match rng.random_range(0..10u32) {
        0 => ("after-enqueue".to_owned(), 1),
        1 => (format!("at:{}", rng.random_range(50..=400u64)), 1),
        2 => ("every:1200".to_owned(), 1),
        3 => ("before-read".to_owned(), 1),
        _ => ("none".to_owned(), 0),
    }
}

/// One managed redis-server.
#[derive(Debug)]
pub(crate) struct Single {
    server: RedisServer,
    snapshot: bool,
    killed: bool,
}

impl Single {
    /// Starts the server (at `place`, or a free loopback port); with
    /// `snapshot_s`, snapshotting every that many seconds.
    pub(crate) fn start(
        snapshot_s: Option<u32>,
        place: Option<Placement>,
    ) -> Result<Single, ServerError> {
        let mut config = RedisConfig {
            snapshot_interval_s: snapshot_s,
            ..RedisConfig::default()
        };
        if let Some(place) = place {
            config.bind = place.bind;
            config.port = Some(place.port);
            config.exec_prefix = place.exec_prefix;
        }
        let server = RedisServer::start(config)?;
        Ok(Single {
            server,
            snapshot: snapshot_s.is_some(),
            killed: false,
        })
    }

    fn check(name: &str) -> Result<(), ServerError> {
        if name == NODE {
            Ok(())
        } else {
            Err(ServerError::UnexpectedOutput {
                what: format!("node {name} (this topology has one node, {NODE})"),
                output: String::new(),
            })
        }
    }
}

impl Topology for Single {
    fn rules(&self) -> &'static dyn Rules {
        if self.snapshot {
            &super::snapshot::RULES
        } else {
            &RULES
        }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn managed(&self) -> bool {
        true
    }

    #[cfg(test)]

    fn node_names(&self) -> Vec<String> {
        vec![NODE.to_owned()]
    }

    fn nodes(&mut self) -> Vec<NodeView> {
        if self.killed {
            return Vec::new();
        }
        vec![NodeView {
            name: NODE.to_owned(),
            role: Role::Primary,
        }]
    }

    fn primary(&mut self) -> Option<String> {
        (!self.killed).then(|| NODE.to_owned())
    }

    fn kill(&mut self, name: &str) -> Result<(), ServerError> {
        Self::check(name)?;
        self.server.kill9()?;
        self.killed = true;
        Ok(())
    }

    fn restart(&mut self, name: &str) -> Result<(), ServerError> {
        Self::check(name)?;
        self.server.restart()?;
        self.killed = false;
        Ok(())
    }

    fn died(&mut self) -> Option<DeadNode> {
        if self.killed || self.server.is_running() {
            return None;
        }
        self.killed = true;
        Some(DeadNode {
            name: NODE.to_owned(),
            status: describe_exit(self.server.last_exit()),
            log_tail: log_tail(&self.server.dir().join("redis.log")),
        })
    }

    fn pids(&self) -> Vec<u32> {
        self.server.pid().into_iter().collect()
    }
}
