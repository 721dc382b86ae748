//! Opening connections: one per process (the client, each worker), with
//! timeouts, checked with `PING` so a wrong or missing password shows up at
//! once as [`QueueError::Auth`].
//!
//! An endpoint is a plain server (`redis://:PASSWORD@HOST:PORT/`) or a
//! primary found through Sentinel
//! (`redis+sentinel://:PASSWORD@HOST:PORT,HOST:PORT/MASTER`): every
//! connect asks the Sentinels in turn `SENTINEL get-master-addr-by-name`,
//! connects there and checks with `ROLE` that it is a primary. So after a
//! failover a reconnect reaches the new primary; a node that is not (yet)
//! the primary is reported as [`QueueError::Unreachable`], which callers
//! retry like a server that is down.

use std::time::Duration;

use super::error::{QueueError, redact_url};

/// Connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Read/write timeout of commands (a blocking read waits far less).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A Redis server to connect to: the full URL and its printable form.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    shown: String,
    /// Set for a `redis+sentinel://` URL.
    sentinel: Option<SentinelAddress>,
    /// Set for a `redis+raft://` URL (see [`super::raft_leader`]).
    raft: Option<super::raft_leader::RaftNodes>,
}

/// Where the Sentinels are and which primary to ask them for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SentinelAddress {
    /// `:PASSWORD@` part of the URL (may be empty).
    userinfo: String,
    /// `HOST:PORT` of each Sentinel.
    sentinels: Vec<String>,
    /// The monitored primary's name.
    master: String,
}

/// Prefix of Sentinel URLs.
const SENTINEL_SCHEME: &str = "redis+sentinel://";
/// Connect and read timeout of a question to a Sentinel.
const SENTINEL_TIMEOUT: Duration = Duration::from_millis(500);

impl SentinelAddress {
    fn parse(url: &str) -> Option<SentinelAddress> {
        let rest = url.strip_prefix(SENTINEL_SCHEME)?;
        let (authority, master) = rest.split_once('/')?;
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(at) => (authority[..=at].to_owned(), &authority[at + 1..]),
            None => (String::new(), authority),
        };
        Some(SentinelAddress {
            userinfo,
            sentinels: hosts.split(',').map(str::to_owned).collect(),
            master: master.trim_end_matches('/').to_owned(),
        })
    }

    /// The URL of the primary the first Sentinel that answers names.
    fn primary_url(&self) -> Result<String, redis::RedisError> {
        let mut last = None;
        for sentinel in &self.sentinels {
            let asked = redis::Client::open(format!("redis://{}{sentinel}/", self.userinfo))
                .and_then(|client| client.get_connection_with_timeout(SENTINEL_TIMEOUT))
                .and_then(|mut con| {
                    con.set_read_timeout(Some(SENTINEL_TIMEOUT))?;
                    redis::cmd("SENTINEL")
                        .arg("get-master-addr-by-name")
                        .arg(&self.master)
                        .query::<Option<(String, u16)>>(&mut con)
                });
            match asked {
                Ok(Some((host, port))) => {
                    return Ok(format!("redis://{}{host}:{port}/", self.userinfo));
                }
                Ok(None) => {
                    last = Some(not_primary(&format!(
                        "Sentinel {sentinel} does not know primary {}",
                        self.master
                    )))
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| not_primary("no Sentinel address")))
    }
}

/// An error that callers treat like a server that is down (retry).
fn not_primary(why: &str) -> redis::RedisError {
    std::io::Error::new(std::io::ErrorKind::ConnectionRefused, why.to_owned()).into()
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Endpoint").field(&self.shown).finish()
    }
}

impl Endpoint {
    /// An endpoint for `url` (e.g. `redis://:PASSWORD@127.0.0.1:6379/`).
    pub fn new(url: &str) -> Endpoint {
        Endpoint {
            url: url.to_owned(),
            shown: redact_url(url),
            sentinel: SentinelAddress::parse(url),
            raft: super::raft_leader::RaftNodes::parse(url),
        }
    }

    /// The full URL, password included: pass it on, never print it.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The URL without credentials, for messages.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// True for a primary found through Sentinel.
    #[cfg(test)]
    pub(crate) fn is_sentinel(&self) -> bool {
        self.sentinel.is_some()
    }

    /// Opens a connection and checks it with `PING` (through Sentinel:
    /// to the primary it names now, checked with `ROLE`).
    pub fn connect(&self) -> Result<redis::Connection, QueueError> {
        let started = std::time::Instant::now();
        let connect_error = |e| QueueError::from_connect(e, &self.shown).timed(started.elapsed());
        if let Some(raft) = &self.raft {
            return raft.connect_leader().map_err(connect_error);
        }
        let url = match &self.sentinel {
            None => self.url.clone(),
            Some(sentinel) => sentinel.primary_url().map_err(connect_error)?,
        };
        let client = redis::Client::open(url.as_str()).map_err(connect_error)?;
        let mut con = client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(connect_error)?;
        con.set_read_timeout(Some(COMMAND_TIMEOUT))
            .map_err(connect_error)?;
        con.set_write_timeout(Some(COMMAND_TIMEOUT))
            .map_err(connect_error)?;
        redis::cmd("PING")
            .query::<String>(&mut con)
            .map_err(connect_error)?;
        if self.sentinel.is_some() {
            let role: Vec<redis::Value> =
                redis::cmd("ROLE").query(&mut con).map_err(connect_error)?;
            let is_primary =
                matches!(role.first(), Some(redis::Value::BulkString(b)) if b == b"master");
            if !is_primary {
                return Err(connect_error(not_primary(
                    "the node Sentinel names is not a primary yet (failover under way)",
                )));
            }
        }
        Ok(con)
    }

    /// `WAIT replicas timeout_ms` on `con`: blocks until that many replicas
    /// acknowledged this connection's writes, or the timeout; returns how
    /// many did.
    pub(crate) fn wait_replicas(
        &self,
        con: &mut redis::Connection,
        replicas: u32,
        timeout_ms: u64,
    ) -> Result<u64, QueueError> {
        redis::cmd("WAIT")
            .arg(replicas)
            .arg(timeout_ms)
            .query(con)
            .map_err(|e| self.error(e, "WAIT for the replicas"))
    }

    /// Classifies an error of a command sent while `during`.
    pub(crate) fn error(&self, source: redis::RedisError, during: &str) -> QueueError {
        QueueError::from_command(source, &self.shown, during)
    }

    /// The server's version from `INFO server`, e.g. "7.0.15".
    pub(crate) fn server_version(&self, con: &mut redis::Connection) -> Result<String, QueueError> {
        let during = "INFO server";
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(con)
            .map_err(|e| self.error(e, during))?;
        info.lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_owned())
            .ok_or_else(|| QueueError::BadReply {
                url: self.shown.clone(),
                during: during.into(),
                detail: "no redis_version line".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_urls_name_the_sentinels_and_the_primary() {
        let endpoint = Endpoint::new("redis+sentinel://:pw@127.0.0.1:1,127.0.0.1:2/wc");
        assert!(endpoint.is_sentinel());
        assert_eq!(
            endpoint.shown(),
            "redis+sentinel://127.0.0.1:1,127.0.0.1:2/wc"
        );
        let address = endpoint.sentinel.unwrap();
        assert_eq!(address.sentinels, ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(
            (address.userinfo.as_str(), address.master.as_str()),
            (":pw@", "wc")
        );
        assert!(!Endpoint::new("redis://:pw@127.0.0.1:1/").is_sentinel());
    }
}
