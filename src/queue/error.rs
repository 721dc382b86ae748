//! Typed errors of the work queue and its connection. Callers tell apart
//! "Redis is gone" (retry or reconnect), "auth" (fix the URL) and "bad
//! input"; every message names the server without its password and says
//! what to do. What only a whole run meets (servers, worker processes,
//! deadlines) is `crate::redis_run`'s `RunError`, which wraps this one.

use redis::{ErrorKind, RedisError};

use crate::input::InputError;
use crate::interrupt::Interrupted;

/// Why a queue operation, or a worker, failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The URL cannot be parsed.
    #[error(
        "{url} is not a usable Redis URL ({detail}): write it as redis://:PASSWORD@HOST:PORT/ (or redis://HOST:PORT/ without a password)"
    )]
    BadUrl {
        /// The URL, password removed.
        url: String,
        /// What the client library said.
        detail: String,
    },
    /// No server answers at the URL.
    #[error(
        "cannot reach Redis at {url}: {error}; check that a server is running there and the host and port are right, or leave out --redis-url to let the harness start its own"
    )]
    Unreachable {
        /// The URL, password removed.
        url: String,
        /// The client error (shown in the message, not chained again).
        error: RedisError,
    },
    /// Something answers at the URL, but not in Redis's protocol.
    #[error(
        "the server at {url} is not Redis (its reply is not in Redis's protocol): check the host and port, or leave out --redis-url to let the harness start its own"
    )]
    NotRedis {
        /// The URL, password removed.
        url: String,
    },
    /// The server took the connection but did not answer in time.
    #[error(
        "Redis at {url} accepted the connection but did not answer: timed out after {seconds:.0} s; check that it is a Redis server and that it is not paused or overloaded"
    )]
    TimedOut {
        /// The URL, password removed.
        url: String,
        /// Seconds waited.
        seconds: f64,
    },
    /// The server refused the password (or wants one and none was given).
    #[error(
        "Redis at {url} refused the credentials ({detail}): put the right password in the URL, as redis://:PASSWORD@HOST:PORT/"
    )]
    Auth {
        /// The URL, password removed.
        url: String,
        /// What the server or client said.
        detail: String,
    },
    /// The connection broke (or timed out) while a command was under way.
    #[error(
        "lost Redis at {url} while {during}: {error}; check that the server is still running (was it killed, restarted or overloaded?)"
    )]
    Gone {
        /// The URL, password removed.
        url: String,
        /// What was being done.
        during: String,
        /// The client error (shown in the message, not chained again).
        error: RedisError,
    },
    /// The job's stream or consumer group is missing (`NOGROUP`): the server
    /// came back from a restart without them (no snapshot yet), or someone
    /// deleted the keys. Workers wait for the client to queue the job again.
    #[error(
        "the job's stream or group ({keys}) is missing at {url} during {during}: the server lost its data (restarted without a snapshot?) or someone deleted the keys; the harness re-creates a lost queue after restarting its own server, otherwise rerun the job"
    )]
    JobLost {
        /// The URL, password removed.
        url: String,
        /// The job's keys.
        keys: String,
        /// What was being done.
        during: String,
    },
    /// The server answered a command with an error.
    #[error(
        "Redis at {url} refused {during}: {error}; check that the server is a Redis >= 7 that accepts stream and sorted-set commands"
    )]
    Command {
        /// The URL, password removed.
        url: String,
        /// What was being done.
        during: String,
        /// The client error (shown in the message, not chained again).
        error: RedisError,
    },
    /// A stream message this harness did not write, or a mangled one.
    #[error(
        "message {id} of {stream} is malformed ({detail}): another program wrote to this job's keys; rerun the job"
    )]
    BadMessage {
        /// The message id.
        id: String,
        /// The stream key.
        stream: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A reply of an unexpected shape.
    #[error("unexpected reply from Redis at {url} to {during}: {detail}")]
    BadReply {
        /// The URL, password removed.
        url: String,
        /// What was being done.
        during: String,
        /// What was wrong.
        detail: String,
    },
    /// The options do not fit the job (e.g. `--slow` names a worker that does not run).
    #[error("{0}")]
    BadOptions(String),
    /// An input file cannot be used (bad input: fix the paths, not Redis).
    #[error(transparent)]
    Input(#[from] InputError),
    /// A local operation (temporary directory, event log) failed.
    #[error("{what} failed: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        error: std::io::Error,
    },
    /// Ctrl-C.
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
}

impl QueueError {
    /// Classifies an error of a command sent on an established connection.
    pub(crate) fn from_command(source: RedisError, url: &str, during: &str) -> QueueError {
        let (url, during) = (url.to_owned(), during.to_owned());
        if is_auth(&source) {
            QueueError::Auth {
                url,
                detail: auth_detail(&source),
            }
        } else if is_transient(&source) {
            QueueError::Gone {
                url,
                during,
                error: source,
            }
        } else {
            QueueError::Command {
                url,
                during,
                error: source,
            }
        }
    }

    /// Classifies an error of opening a connection (or its first `PING`).
    pub(crate) fn from_connect(source: RedisError, url: &str) -> QueueError {
        let url = url.to_owned();
        if is_auth(&source) {
            QueueError::Auth {
                url,
                detail: auth_detail(&source),
            }
        } else if source.kind() == ErrorKind::Parse {
            QueueError::NotRedis { url }
        } else if source.kind() == ErrorKind::InvalidClientConfig {
            QueueError::BadUrl {
                url,
                detail: source.to_string(),
            }
        } else if is_transient(&source) {
            QueueError::Unreachable { url, error: source }
        } else {
            QueueError::Command {
                url,
                during: "connecting".into(),
                error: source,
            }
        }
    }

    /// A connection attempt that began `elapsed` ago failed with `self`:
    /// a timeout says so with the time waited.
    pub(crate) fn timed(self, elapsed: std::time::Duration) -> QueueError {
        match self {
            QueueError::Unreachable { url, error } if error.is_timeout() => QueueError::TimedOut {
                url,
                seconds: elapsed.as_secs_f64(),
            },
            other => other,
        }
    }

    /// True when Redis went away (down, restarting, unreachable, timing
    /// out): the cases where reconnecting may help.
    pub(crate) fn is_redis_gone(&self) -> bool {
        matches!(
            self,
            QueueError::Gone { .. } | QueueError::Unreachable { .. } | QueueError::TimedOut { .. }
        )
    }

    /// True when the job's stream or group is missing (see [`QueueError::JobLost`]).
    pub(crate) fn is_job_lost(&self) -> bool {
        matches!(self, QueueError::JobLost { .. })
    }

    /// True for a credentials problem.
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, QueueError::Auth { .. })
    }

    /// True when the input (files) is the problem, not Redis.
    pub(crate) fn is_bad_input(&self) -> bool {
        matches!(self, QueueError::Input(_))
    }
}

/// Wrong password (`WRONGPASS`), none given (`NOAUTH`), or the client's own
/// authentication failure.
fn is_auth(error: &RedisError) -> bool {
    error.kind() == ErrorKind::AuthenticationFailed
        || matches!(error.code(), Some("NOAUTH" | "WRONGPASS"))
}

fn auth_detail(error: &RedisError) -> String {
    match error.code() {
        Some("NOAUTH") => "the server requires a password and none was given".into(),
        _ => "wrong password".into(),
    }
}

/// Connection-level trouble, including a server still loading its snapshot.
fn is_transient(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
        || matches!(
            error.kind(),
            ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
        )
        || failover_refusal(error)
}

/// What a replicated topology answers around a failover: a demoted primary
/// (`READONLY`), a primary without enough replicas (`NOREPLICAS`), a
/// replica that lost its primary (`MASTERDOWN`); and what any server
/// answers while it cannot serve yet: a script or Function still running
/// (`BUSY`, e.g. a primary paused with SIGSTOP inside a Function call),
/// a snapshot loading (`LOADING`), a cluster without a leader
/// (`CLUSTERDOWN`, `TRYAGAIN`). Reconnecting (through Sentinel) and
/// retrying with a backoff is the cure, as for a server that is down:
/// these replies are waited out, never fatal.
fn failover_refusal(error: &RedisError) -> bool {
    // RedisRaft: a follower (`MOVED 0 leader`), no leader (`CLUSTERDOWN`),
    // an election cutting a write off (`TIMEOUT not committed yet`).
    let refusal = |code: &str| {
        matches!(
            code,
            "READONLY"
                | "NOREPLICAS"
                | "MASTERDOWN"
                | "LOADING"
                | "BUSY"
                | "TRYAGAIN"
                | "MOVED"
                | "CLUSTERDOWN"
                | "TIMEOUT"
        )
    };
    if error.code().is_some_and(refusal) {
        return true;
    }
    // A pipeline's error holds each failed command's error.
    error
        .clone()
        .into_server_errors()
        .is_some_and(|errors| errors.iter().any(|(_, e)| refusal(e.code())))
}

/// Removes the user and password from a URL for messages:
/// `redis://:secret@127.0.0.1:6379/0` becomes `redis://127.0.0.1:6379/0`.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => format!("{}{}", &url[..authority_start], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("redis://:s3cret@127.0.0.1:6379/"),
            "redis://127.0.0.1:6379/"
        );
        assert_eq!(
            redact_url("redis://user:p%40ss@host:1/2"),
            "redis://host:1/2"
        );
        assert_eq!(redact_url("redis://host:1/"), "redis://host:1/");
        assert_eq!(redact_url("redis://a@b@host"), "redis://host");
        assert_eq!(
            redact_url("redis+unix:///tmp/r.sock"),
            "redis+unix:///tmp/r.sock"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }

    #[test]
    fn errors_are_classified() {
        let io: RedisError = std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert!(QueueError::from_connect(io.clone(), "u").is_redis_gone());
        assert!(QueueError::from_command(io, "u", "x").is_redis_gone());
        let auth: RedisError = (
            ErrorKind::AuthenticationFailed,
            "Password authentication failed",
        )
            .into();
        let err = QueueError::from_connect(auth, "redis://h:1/");
        assert!(err.is_auth());
        assert!(
            err.to_string().contains("redis://h:1/") && err.to_string().contains("password"),
            "{err}"
        );
        let parse: RedisError = (ErrorKind::Parse, "Unexpected `72`").into();
        let err = QueueError::from_connect(parse, "redis://h:1/");
        assert!(err.to_string().contains("is not Redis"), "{err}");
        let timeout: RedisError =
            std::io::Error::new(std::io::ErrorKind::WouldBlock, "os error 11").into();
        let err = QueueError::from_connect(timeout, "redis://h:1/")
            .timed(std::time::Duration::from_secs(5));
        assert!(err.is_redis_gone());
        assert!(err.to_string().contains("timed out after 5 s"), "{err}");
        for reply in [
            "BUSY Redis is busy running a script",
            "LOADING Redis is loading the dataset in memory",
            "MASTERDOWN Link with MASTER is down",
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "CLUSTERDOWN The cluster is down",
        ] {
            let (code, detail) = reply.split_once(' ').unwrap();
            let refusal = redis::make_extension_error(code.into(), Some(detail.into()));
            assert!(
                QueueError::from_command(refusal, "u", "XINFO STREAM").is_redis_gone(),
                "{reply} is transient"
            );
        }
        let config: RedisError = (ErrorKind::InvalidClientConfig, "bad port").into();
        assert!(matches!(
            QueueError::from_connect(config, "u"),
            QueueError::BadUrl { .. }
        ));
    }
}
