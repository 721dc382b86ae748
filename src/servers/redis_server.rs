use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::ServerError;
use super::binary::{executable, find_redis_server};
use super::port::free_port;
use super::process::ServerProcess;

/// How long a starting server may take to answer `PING` (including loading a snapshot).
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between readiness probes.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Connect and read timeout of one readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(250);
/// Connect and read timeout of commands such as `INFO`.
#[cfg(test)]
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How many times a picked port that another process grabbed is replaced by a new one.
const PICKED_PORT_RETRIES: usize = 3;
/// How long a restart keeps retrying while its port is still bound.
const RESTART_BIND_WINDOW: Duration = Duration::from_secs(3);
/// Pause between restart attempts while the port is still bound.
const RESTART_RETRY_DELAY: Duration = Duration::from_millis(50);
/// What redis-server logs when its port is taken.
const ADDR_IN_USE: &str = "Address already in use";
const LOG_FILE: &str = "redis.log";
const SNAPSHOT_FILE: &str = "dump.rdb";

/// How to start a [`RedisServer`].
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// Address to listen on; default "127.0.0.1".
    pub bind: String,
    /// Port to listen on; `None` picks a free one.
    pub port: Option<u16>,
    /// Password clients must `AUTH` with; `None` generates 32 random hex characters.
    pub password: Option<String>,
    /// `None`: no persistence at all. `Some(n)`: snapshot to `dump.rdb` in the
    /// server's directory when at least one key changed in the last `n` seconds.
    pub snapshot_interval_s: Option<u32>,
    /// The redis-server binary; `None` searches `PATH`, /usr/bin, /usr/sbin and /usr/local/bin.
    pub binary: Option<PathBuf>,
    /// Start as a replica of the primary on this loopback port (`--replicaof`).
    pub replica_of: Option<u16>,
    /// Further `--name value` settings (e.g. `min-replicas-to-write`).
    pub settings: Vec<(String, String)>,
    /// A command the server runs under, e.g. `ip netns exec NS` (it must
    /// exec the server, so the pid stays the server's); empty: none.
    pub exec_prefix: Vec<String>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1".to_owned(),
            port: None,
            password: None,
            snapshot_interval_s: None,
            binary: None,
            replica_of: None,
            settings: Vec::new(),
            exec_prefix: Vec::new(),
        }
    }
}

/// What a running redis-server says it is (`ROLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerRole {
    /// A primary (`master`).
    Primary,
    /// A replica of the primary on `primary_port`; `in_sync` once its link
    /// is up and the first sync done (`connected`).
    Replica {
        /// The port of the primary it replicates.
        primary_port: u16,
        /// Its link to the primary is up and synced.
        in_sync: bool,
    },
}

/// A redis-server process owned by the harness, with its port, password and
/// temporary directory (log and snapshot).
///
/// Dropping it kills and reaps the process, then removes the directory.
///
/// On Linux the process is also killed when the *thread* that started or last
/// restarted it exits (`PR_SET_PDEATHSIG`), so start servers from a thread
/// that outlives them, e.g. the main thread.
#[derive(Debug)]
pub struct RedisServer {
    /// `None` while the server is down.
    process: Option<ServerProcess>,
    /// How the process last ended on its own (seen by `is_running`).
    last_exit: Option<std::process::ExitStatus>,
    binary: PathBuf,
    bind: String,
    port: u16,
    password: String,
    snapshot_interval_s: Option<u32>,
    replica_of: Option<u16>,
    settings: Vec<(String, String)>,
    exec_prefix: Vec<String>,
    dir: TempDir,
}

/// Why one attempt to launch the server failed.
enum LaunchError {
    /// Another process holds the port; a retry may succeed.
    AddrInUse,
    Failed(ServerError),
}

impl LaunchError {
    fn into_server_error(self, port: u16) -> ServerError {
        match self {
            Self::AddrInUse => ServerError::PortInUse { port },
            Self::Failed(err) => err,
        }
    }
}

impl From<ServerError> for LaunchError {
    fn from(err: ServerError) -> Self {
        Self::Failed(err)
    }
}

impl RedisServer {
    /// Starts redis-server in a new temporary directory and waits until it answers `PING`.
    ///
    /// A picked port that another process grabs before redis-server binds it is
    /// replaced by a new one; a port given in `config` that is taken yields
    /// [`ServerError::PortInUse`].
    pub fn start(config: RedisConfig) -> Result<Self, ServerError> {
        let binary = match config.binary {
            Some(binary) => executable(binary)?,
            None => find_redis_server()?,
        };
        // Named after this process, so a later run removes it if this one
        // is killed with SIGKILL.
        let dir =
            crate::fsutil::owned_temp_dir("harness-redis").map_err(|source| ServerError::Io {
                what: "creating a temporary directory for redis-server".to_owned(),
                source,
            })?;
        let mut server = Self {
            process: None,
            last_exit: None,
            binary,
            bind: config.bind,
            port: config.port.unwrap_or(0),
            password: config.password.unwrap_or_else(random_password),
            snapshot_interval_s: config.snapshot_interval_s,
            replica_of: config.replica_of,
            settings: config.settings,
            exec_prefix: config.exec_prefix,
            dir,
        };
        match config.port {
            Some(port) => server.launch().map_err(|err| err.into_server_error(port))?,
            None => server.launch_on_free_port()?,
        }
        Ok(server)
    }

    /// The URL clients connect with, e.g. "redis://:PASSWORD@127.0.0.1:PORT/".
    pub fn url(&self) -> String {
        format!(
            "redis://:{}@{}:{}/",
            percent_encode(&self.password),
            self.bind,
            self.port
        )
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The password clients must `AUTH` with.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The process id, or `None` while the server is known to be down.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }

    /// The server's working directory, holding `redis.log` and `dump.rdb`.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The version the running server reports in `INFO server`, e.g. "7.0.15".
    #[cfg(test)]
    pub(crate) fn version(&self) -> Result<String, ServerError> {
        let what = format!("INFO server on port {}", self.port);
        let info: String = self
            .connect(COMMAND_TIMEOUT)
            .and_then(|mut con| redis::cmd("INFO").arg("server").query(&mut con))
            .map_err(|source| ServerError::Command { what, source })?;
        info.lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map(|version| version.trim().to_owned())
            .ok_or_else(|| ServerError::UnexpectedOutput {
                what: "redis_version in INFO server".to_owned(),
                output: info,
            })
    }

    /// Which primary a later [`RedisServer::restart`] replicates (`None`: it
    /// starts as a primary).
    pub(crate) fn set_replica_of(&mut self, port: Option<u16>) {
        self.replica_of = port;
    }

    /// Kills the server with SIGKILL and reaps it; it is down afterwards.
    pub(crate) fn kill9(&mut self) -> Result<(), ServerError> {
        match self.process.take() {
            Some(mut process) => process.kill9(),
            None => Ok(()),
        }
    }

    /// Starts the server again on the same port, password and directory, so it
    /// reloads `dump.rdb` when snapshots are on, and waits until it is ready.
    ///
    /// A running server is killed first. While the port is still bound the
    /// start is retried for a few seconds before giving up with
    /// [`ServerError::PortInUse`].
    pub(crate) fn restart(&mut self) -> Result<(), ServerError> {
        self.kill9()?;
        let started = Instant::now();
        loop {
            match self.launch() {
                Err(LaunchError::AddrInUse) if started.elapsed() < RESTART_BIND_WINDOW => {
                    thread::sleep(RESTART_RETRY_DELAY);
                }
                result => return result.map_err(|err| err.into_server_error(self.port)),
            }
        }
    }

    /// Whether the server process is still alive (reaping it if it has exited).
    pub(crate) fn is_running(&mut self) -> bool {
        let status = self.process.as_mut().map(|process| process.exit_status());
        let running = matches!(status, Some(Ok(None)));
        if let Some(Ok(Some(exit))) = status {
            self.last_exit = Some(exit);
        }
        if !running {
            self.process = None;
        }
        running
    }

    /// How the process ended the last time [`Self::is_running`] found it
    /// gone on its own (`None`: it never did, or the status was lost).
    pub(crate) fn last_exit(&self) -> Option<std::process::ExitStatus> {
        self.last_exit
    }

    /// Kills the server with SIGKILL and reaps it, ignoring errors; does nothing if it is down.
    pub(crate) fn stop(&mut self) {
        self.process = None;
    }

    /// Starts on freshly picked ports until one is not grabbed by someone else first.
    fn launch_on_free_port(&mut self) -> Result<(), ServerError> {
        let mut retries = 0;
        loop {
            self.port = free_port(&self.bind)?;
            match self.launch() {
                Err(LaunchError::AddrInUse) if retries < PICKED_PORT_RETRIES => retries += 1,
                result => return result.map_err(|err| err.into_server_error(self.port)),
            }
        }
    }

    /// Spawns the process and keeps it once it answers `PING`; on failure it is killed.
    fn launch(&mut self) -> Result<(), LaunchError> {
        let mut process = match self.exec_prefix.split_first() {
            None => ServerProcess::spawn(&self.binary, &self.args(), &self.log_path())?,
            Some((program, rest)) => {
                let mut args: Vec<OsString> = rest.iter().map(OsString::from).collect();
                args.push(self.binary.clone().into());
                args.extend(self.args());
                ServerProcess::spawn(Path::new(program), &args, &self.log_path())?
            }
        };
        self.wait_ready(&mut process)?;
        self.process = Some(process);
        Ok(())
    }

    fn wait_ready(&self, process: &mut ServerProcess) -> Result<(), LaunchError> {
        let started = Instant::now();
        loop {
            if let Some(status) = process.exit_status()? {
                let log_tail = process.log_tail();
                if log_tail.contains(ADDR_IN_USE) {
                    return Err(LaunchError::AddrInUse);
                }
                return Err(ServerError::StartFailed {
                    reason: status.to_string(),
                    log_tail,
                }
                .into());
            }
            // Any error, including LOADING while a snapshot is read, means "not yet".
            if self.ping().is_ok() {
                return Ok(());
            }
            let waited = started.elapsed();
            if waited >= READY_TIMEOUT {
                return Err(ServerError::NotReady {
                    port: self.port,
                    waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                    log_tail: process.log_tail(),
                }
                .into());
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    fn ping(&self) -> redis::RedisResult<()> {
        let mut con = self.connect(PROBE_TIMEOUT)?;
        redis::cmd("PING").query::<String>(&mut con).map(|_pong| ())
    }

    /// What the server says it is now (`ROLE`), asked with a short
    /// timeout; `None` when it does not answer (down, paused, loading).
    pub(crate) fn role(&self) -> Option<ServerRole> {
        let mut con = self.connect(PROBE_TIMEOUT).ok()?;
        let reply: Vec<redis::Value> = redis::cmd("ROLE").query(&mut con).ok()?;
        let text = |i: usize| match reply.get(i) {
            Some(redis::Value::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Some(redis::Value::SimpleString(s)) => Some(s.clone()),
            _ => None,
        };
        match text(0)?.as_str() {
            "master" => Some(ServerRole::Primary),
            "slave" => Some(ServerRole::Replica {
                primary_port: match reply.get(2)? {
                    redis::Value::Int(port) => u16::try_from(*port).ok()?,
                    _ => text(2)?.parse().ok()?,
                },
                in_sync: text(3)? == "connected",
            }),
            _ => None,
        }
    }

    /// Connects and authenticates with `timeout` for connecting, reading and writing.
    fn connect(&self, timeout: Duration) -> redis::RedisResult<redis::Connection> {
        let con = redis::Client::open(self.url())?.get_connection_with_timeout(timeout)?;
        con.set_read_timeout(Some(timeout))?;
        con.set_write_timeout(Some(timeout))?;
        Ok(con)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(LOG_FILE)
    }

    fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--bind".into(),
            self.bind.clone().into(),
            "--port".into(),
            self.port.to_string().into(),
            "--requirepass".into(),
            self.password.clone().into(),
            "--dir".into(),
            self.dir.path().into(),
            "--logfile".into(),
            self.log_path().into(),
            "--dbfilename".into(),
            SNAPSHOT_FILE.into(),
            "--daemonize".into(),
            "no".into(),
            "--protected-mode".into(),
            "yes".into(),
            "--appendonly".into(),
            "no".into(),
            "--save".into(),
        ];
        match self.snapshot_interval_s {
            None => args.push("".into()),
            Some(seconds) => args.extend([seconds.to_string().into(), "1".into()]),
        }
        if let Some(port) = self.replica_of {
            args.extend([
                "--replicaof".into(),
                self.bind.clone().into(),
                port.to_string().into(),
            ]);
        }
        for (name, value) in &self.settings {
            args.extend([format!("--{name}").into(), value.into()]);
        }
        args
    }
}

impl Drop for RedisServer {
    /// Kills the process before the temporary directory is removed.
    fn drop(&mut self) {
        self.stop();
    }
}

/// 32 random hex characters.
fn random_password() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Encodes everything but RFC 3986 unreserved characters, for the userinfo part of a URL.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use redis::Commands;

    use super::*;

    fn start_default() -> RedisServer {
        RedisServer::start(RedisConfig::default()).unwrap()
    }

    fn connection(server: &RedisServer) -> redis::Connection {
        redis::Client::open(server.url())
            .unwrap()
            .get_connection_with_timeout(COMMAND_TIMEOUT)
            .unwrap()
    }

    /// True once no process with this id exists (it was killed and reaped).
    fn pid_gone(pid: u32) -> bool {
        let pid = libc::pid_t::try_from(pid).unwrap();
        // SAFETY: signal 0 only checks whether the process exists.
        let result = unsafe { libc::kill(pid, 0) };
        result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    }

    #[test]
    fn starts_and_answers_ping_with_password() {
        let server = start_default();
        assert_eq!(server.password().len(), 32);
        assert!(server.password().bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(server.dir().is_dir());
        let pong: String = redis::cmd("PING").query(&mut connection(&server)).unwrap();
        assert_eq!(pong, "PONG");
        let binary = find_redis_server().unwrap();
        assert_eq!(
            server.version().unwrap(),
            super::super::redis_server_version(&binary).unwrap()
        );
    }

    #[test]
    fn wrong_or_missing_password_is_rejected() {
        let server = start_default();
        let port = server.port();
        let wrong = redis::Client::open(format!("redis://:wrong@127.0.0.1:{port}/"))
            .unwrap()
            .get_connection_with_timeout(COMMAND_TIMEOUT);
        assert!(wrong.is_err(), "a wrong password was accepted");
        let mut anonymous = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection_with_timeout(COMMAND_TIMEOUT)
            .unwrap();
        let ping: redis::RedisResult<String> = redis::cmd("PING").query(&mut anonymous);
        assert_eq!(ping.unwrap_err().code(), Some("NOAUTH"));
    }

    #[test]
    fn url_with_special_password_works_with_client() {
        let password = "p@ss:w/rd?#% x";
        let server = RedisServer::start(RedisConfig {
            password: Some(password.to_owned()),
            ..RedisConfig::default()
        })
        .unwrap();
        assert_eq!(server.password(), password);
        let mut con = connection(&server);
        let () = con.set("greeting", "hello").unwrap();
        let value: String = con.get("greeting").unwrap();
        assert_eq!(value, "hello");
    }

    #[test]
    fn two_servers_run_at_once() {
        let first = start_default();
        let second = start_default();
        assert_ne!(first.port(), second.port());
        assert_ne!(first.dir(), second.dir());
        let () = connection(&first).set("only-in-first", 1).unwrap();
        let in_second: Option<i64> = connection(&second).get("only-in-first").unwrap();
        assert_eq!(in_second, None);
    }

    #[test]
    fn kill9_takes_the_server_down() {
        let mut server = start_default();
        let pid = server.pid().unwrap();
        assert!(server.is_running());
        server.kill9().unwrap();
        assert!(!server.is_running());
        assert_eq!(server.pid(), None);
        assert!(pid_gone(pid), "process {pid} still exists");
        assert!(server.version().is_err());
        server.kill9().unwrap();
    }

    #[test]
    fn restart_with_snapshots_keeps_data() {
        let mut server = RedisServer::start(RedisConfig {
            snapshot_interval_s: Some(1),
            ..RedisConfig::default()
        })
        .unwrap();
        let (port, password) = (server.port(), server.password().to_owned());
        let mut con = connection(&server);
        let () = con.set("survivor", "yes").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let info: String = redis::cmd("INFO")
                .arg("persistence")
                .query(&mut con)
                .unwrap();
            if info
                .lines()
                .any(|line| line.trim() == "rdb_changes_since_last_save:0")
            {
                break;
            }
            assert!(Instant::now() < deadline, "no snapshot within 5 s:\n{info}");
            thread::sleep(Duration::from_millis(50));
        }
        assert!(server.dir().join(SNAPSHOT_FILE).is_file());
        let old_pid = server.pid().unwrap();
        server.kill9().unwrap();
        server.restart().unwrap();
        assert_ne!(server.pid(), Some(old_pid));
        assert_eq!(
            (server.port(), server.password()),
            (port, password.as_str())
        );
        let value: Option<String> = connection(&server).get("survivor").unwrap();
        assert_eq!(value.as_deref(), Some("yes"));
    }

    #[test]
    fn restart_without_persistence_loses_data() {
        let mut server = start_default();
        let () = connection(&server).set("ephemeral", "yes").unwrap();
        server.kill9().unwrap();
        server.restart().unwrap();
        let value: Option<String> = connection(&server).get("ephemeral").unwrap();
        assert_eq!(value, None);
        assert!(!server.dir().join(SNAPSHOT_FILE).exists());
    }

    #[test]
    fn missing_binary_is_not_installed() {
        let result = RedisServer::start(RedisConfig {
            binary: Some(PathBuf::from("/nonexistent/redis-server")),
            ..RedisConfig::default()
        });
        assert!(matches!(
            result,
            Err(ServerError::NotInstalled { binary }) if binary == "/nonexistent/redis-server"
        ));
    }

    #[test]
    fn taken_fixed_port_is_port_in_use() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let result = RedisServer::start(RedisConfig {
            port: Some(port),
            ..RedisConfig::default()
        });
        assert!(
            matches!(result, Err(ServerError::PortInUse { port: p }) if p == port),
            "{result:?}"
        );
    }

    #[test]
    fn drop_kills_the_process() {
        let server = start_default();
        let pid = server.pid().unwrap();
        let dir = server.dir().to_path_buf();
        drop(server);
        assert!(pid_gone(pid), "process {pid} still exists");
        assert!(!dir.exists());
    }

    #[test]
    fn stop_is_idempotent() {
        let mut server = start_default();
        let pid = server.pid().unwrap();
        server.stop();
        server.stop();
        assert!(pid_gone(pid));
        assert!(!server.is_running());
    }

    #[test]
    fn percent_encode_keeps_unreserved_and_escapes_the_rest() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(percent_encode("p@ss:/ %"), "p%40ss%3A%2F%20%25");
    }
}
