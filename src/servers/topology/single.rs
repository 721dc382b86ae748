//! The `single` topology: one redis-server (Labs 2-3), and with a snapshot
//! interval the `snapshot` topology (Lab 4.1): restarts reload its
//! `dump.rdb`. Its one node is `primary`.

use super::{DeadNode, NodeView, Placement, Role, Topology, log_tail};
use crate::servers::{RedisConfig, RedisServer, ServerError};

const NODE: &str = "primary";

/// One managed redis-server.
#[derive(Debug)]
pub struct Single {
    server: RedisServer,
    snapshot: bool,
    killed: bool,
}

impl Single {
    /// Starts the server (at `place`, or a free loopback port); with
    /// `snapshot_s`, snapshotting every that many seconds.
    pub fn start(snapshot_s: Option<u32>, place: Option<Placement>) -> Result<Single, ServerError> {
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
    fn name(&self) -> &'static str {
        if self.snapshot { "snapshot" } else { "single" }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn managed(&self) -> bool {
        true
    }

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
        (!self.killed && !self.server.is_running()).then(|| DeadNode {
            name: NODE.to_owned(),
            port: self.server.port(),
            log_tail: log_tail(&self.server.dir().join("redis.log")),
        })
    }

    fn pids(&self) -> Vec<u32> {
        self.server.pid().into_iter().collect()
    }
}
