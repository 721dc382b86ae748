//! Opening connections: one per process (the client, each worker), with
//! timeouts, checked with `PING` so a wrong or missing password shows up at
//! once as [`QueueError::Auth`].

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
        }
    }

    /// The full URL, password included: pass it on, never print it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL without credentials, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Opens a connection and checks it with `PING`.
    pub fn connect(&self) -> Result<redis::Connection, QueueError> {
        let connect_error = |e| QueueError::from_connect(e, &self.shown);
        let client = redis::Client::open(self.url.as_str()).map_err(connect_error)?;
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
        Ok(con)
    }

    /// Classifies an error of a command sent while `during`.
    pub fn error(&self, source: redis::RedisError, during: &str) -> QueueError {
        QueueError::from_command(source, &self.shown, during)
    }

    /// The server's version from `INFO server`, e.g. "7.0.15".
    pub fn server_version(&self, con: &mut redis::Connection) -> Result<String, QueueError> {
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
