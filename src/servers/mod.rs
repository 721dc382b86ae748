//! Redis server processes that the harness starts and owns.
//!
//! This module finds the `redis-server` binary, picks a free loopback port,
//! starts the server in its own temporary directory with a random password,
//! waits until it answers `PING`, and can SIGKILL and restart it on the same
//! port, password and directory (so it reloads `dump.rdb` when snapshots are
//! on). Every child is owned by a guard that kills and reaps it on drop, and on
//! Linux the child also dies if the harness itself is killed, so no test,
//! error or Ctrl-C path leaves a server behind.
//!
//! [`Topology`] is the seam over the server layouts (`single`, `snapshot`,
//! `replicated` with redis-sentinel, `external`); [`start_topology`] is the
//! one place that picks one.
//!
//! The process plumbing (spawning, log capture, kill and reap) lives in the
//! private `process` submodule and is independent of Redis, so further server
//! kinds such as `redis-sentinel` in a replicated topology can reuse it.

mod binary;
mod error;
mod port;
mod process;
mod redis_server;
mod sentinel;
mod topology;

pub use binary::{find_redis_sentinel, find_redis_server, redis_server_version};
pub use error::ServerError;
pub use port::free_loopback_port;
pub use redis_server::{RedisConfig, RedisServer};
#[cfg(test)]
pub(crate) use topology::RAFT_MODULE_ENV;
pub(crate) use topology::{
    DeadNode, NodeView, Placement, Revival, Role, Rules, Settings as TopologySettings, Topology,
    TopologyKind, TopologySpec, check as check_topology, raft_module, rules as topology_rules,
    start as start_topology,
};
