//! Finding the leader of a RedisRaft cluster: a `redis+raft://:PASSWORD@
//! HOST:PORT,HOST:PORT,.../` endpoint lists every node; a connect asks them
//! in turn (`INFO raft`) and keeps the one whose `raft_role` is `leader`.
//! A follower would answer writes with `MOVED 0 leader`, a cluster without
//! a leader with `CLUSTERDOWN`, and a write cut off by an election with
//! `TIMEOUT`: `queue::error` treats those like a server that is down, so
//! callers reconnect (with their backoff) and land on the leader. Only the
//! lease queue runs there, and its claims and commits are safe to retry
//! (a claim hands a worker its own unit back; a commit applies once).

use std::time::Duration;

use super::connection::{COMMAND_TIMEOUT, CONNECT_TIMEOUT};

/// Prefix of RedisRaft URLs.
const RAFT_SCHEME: &str = "redis+raft://";
/// Connect and read timeout of the leader question to one node.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The nodes of a RedisRaft cluster and how to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RaftNodes {
    /// `:PASSWORD@` part of the URL (may be empty).
    userinfo: String,
    /// `HOST:PORT` of each node.
    nodes: Vec<String>,
}

impl RaftNodes {
    /// The nodes of a `redis+raft://` URL; `None` for any other URL.
    pub(crate) fn parse(url: &str) -> Option<RaftNodes> {
        let rest = url.strip_prefix(RAFT_SCHEME)?;
        let authority = rest.split('/').next().unwrap_or_default();
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => (authority[..=at].to_owned(), &authority[at + 1..]),
            None => (String::new(), authority),
        };
        Some(RaftNodes {
            userinfo,
            nodes: hosts
                .split(',')
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// A connection to the node that is leader now (with the command
    /// timeouts set); an error callers retry when none is.
    pub(crate) fn connect_leader(&self) -> Result<redis::Connection, redis::RedisError> {
        let mut last = None;
        for node in &self.nodes {
            let url = format!("redis://{}{node}/", self.userinfo);
            let probe = redis::Client::open(url.as_str())
                .and_then(|client| {
                    client.get_connection_with_timeout(PROBE_TIMEOUT.max(CONNECT_TIMEOUT / 10))
                })
                .and_then(|mut con| {
                    con.set_read_timeout(Some(PROBE_TIMEOUT))?;
                    let info: String = redis::cmd("INFO").arg("raft").query(&mut con)?;
                    Ok((con, info))
                });
            match probe {
                Ok((con, info)) if info.contains("raft_role:leader") => {
                    con.set_read_timeout(Some(COMMAND_TIMEOUT))?;
                    con.set_write_timeout(Some(COMMAND_TIMEOUT))?;
                    return Ok(con);
                }
                Ok(_) => {}
                Err(e)
                    if e.kind() == redis::ErrorKind::AuthenticationFailed
                        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS")) =>
                {
                    return Err(e);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "no RedisRaft node is leader now (election under way?)",
            )
            .into()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raft_urls_list_the_nodes() {
        let nodes = RaftNodes::parse("redis+raft://:pw@127.0.0.1:1,127.0.0.1:2/").unwrap();
        assert_eq!(nodes.userinfo, ":pw@");
        assert_eq!(nodes.nodes, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert!(RaftNodes::parse("redis://:pw@127.0.0.1:1/").is_none());
    }
}
