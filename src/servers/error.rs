use std::io;

/// Typed errors a caller must tell apart. Every message says what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The server binary does not exist or is not executable.
    #[error(
        "{binary} not found{}: install it (Debian/Ubuntu: sudo apt-get install -y {}) \
         or pass --redis-url to use an existing server",
        if .binary.contains('/') { "" } else { " on PATH" },
        if .binary.ends_with("redis-sentinel") { "redis-sentinel" } else { "redis-server" }
    )]
    NotInstalled {
        /// The binary's name when it was searched for, or the path that was given.
        binary: String,
    },

    /// The RedisRaft module is not configured or not there.
    #[error("{detail}")]
    ModuleMissing {
        /// What is missing and how to get it.
        detail: String,
    },

    /// A port the caller asked for is already taken by another process.
    #[error(
        "port {port} is already in use by another process: choose a different port, \
         or leave the port unset so a free one is picked"
    )]
    PortInUse {
        /// The port that could not be bound.
        port: u16,
    },

    /// The server process exited while starting up.
    #[error(
        "redis-server exited during startup ({reason}): fix the cause shown in its log \
         and try again; last log lines:\n{log_tail}"
    )]
    StartFailed {
        /// How the process ended.
        reason: String,
        /// The last lines the process wrote to its log.
        log_tail: String,
    },

    /// The server process kept running but never answered `PING`.
    #[error(
        "redis-server on port {port} did not answer PING within {waited_ms} ms: the machine may \
         be overloaded or the server stuck, see its log; last log lines:\n{log_tail}"
    )]
    NotReady {
        /// The port the server was started on.
        port: u16,
        /// How long readiness was polled.
        waited_ms: u64,
        /// The last lines the process wrote to its log.
        log_tail: String,
    },

    /// An operating-system call failed.
    #[error("{what} failed: {source}")]
    Io {
        /// What was being done, e.g. "creating a temporary directory for redis-server".
        what: String,
        /// The underlying error.
        source: io::Error,
    },

    /// A command sent to a running server failed.
    #[error("{what} failed: {source}; check that the server is running (restart it after kill9)")]
    Command {
        /// What was being done, e.g. "INFO server on port 6379".
        what: String,
        /// The underlying client error.
        source: redis::RedisError,
    },

    /// A replicated topology did not come together (replicas not in sync,
    /// Sentinels not seeing the primary) in time.
    #[error(
        "{what} did not happen within {waited_ms} ms: the machine may be overloaded; see the logs in {logs}"
    )]
    NotFormed {
        /// What was waited for.
        what: String,
        /// How long.
        waited_ms: u64,
        /// Where the logs are.
        logs: String,
    },

    /// A binary or server answered with something that could not be parsed.
    #[error("could not find {what} in {output:?}: check that this is a real redis-server")]
    UnexpectedOutput {
        /// What was being looked for.
        what: String,
        /// The output that was received.
        output: String,
    },
}
