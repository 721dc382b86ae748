//! A `redis-sentinel` process owned by the harness: its config file (which
//! Sentinel rewrites as it learns the topology), its log, and a guard that
//! kills and reaps it on drop.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::ServerError;
use super::process::ServerProcess;

/// How long a starting Sentinel may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connect and read timeout of commands to a Sentinel.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// How a [`Sentinel`] watches its primary.
#[derive(Debug, Clone)]
pub(crate) struct SentinelConfig {
    /// The name of the monitored primary (`SENTINEL get-master-addr-by-name NAME`).
    pub master: String,
    /// The primary's loopback port at start.
    pub primary_port: u16,
    /// Password of the data nodes and of the Sentinels themselves.
    pub password: String,
    /// Sentinels that must agree the primary is down.
    pub quorum: u32,
    /// `down-after-milliseconds`: no answer for this long means down.
    pub down_after_ms: u64,
    /// `failover-timeout`, milliseconds.
    pub failover_timeout_ms: u64,
}

/// One redis-sentinel process; dropping it kills and reaps it.
#[derive(Debug)]
pub(crate) struct Sentinel {
    process: Option<ServerProcess>,
    /// How the process last ended on its own (seen by `is_running`).
    last_exit: Option<std::process::ExitStatus>,
    binary: PathBuf,
    port: u16,
    password: String,
    conf: PathBuf,
    log: PathBuf,
}

impl Sentinel {
    /// Writes `dir/sentinel-PORT.conf` and starts `binary` on `port`;
    /// waits until it answers `PING`.
    pub(crate) fn start(
        binary: &Path,
        dir: &Path,
        port: u16,
        config: &SentinelConfig,
    ) -> Result<Sentinel, ServerError> {
        let conf = dir.join(format!("sentinel-{port}.conf"));
        let log = dir.join(format!("sentinel-{port}.log"));
        let SentinelConfig {
            master,
            primary_port,
            password,
            quorum,
            down_after_ms,
            failover_timeout_ms,
        } = config;
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndaemonize no\nprotected-mode no\ndir {dir}\nlogfile {log}\n\
             requirepass {password}\nsentinel sentinel-pass {password}\n\
             sentinel monitor {master} 127.0.0.1 {primary_port} {quorum}\n\
             sentinel auth-pass {master} {password}\n\
             sentinel down-after-milliseconds {master} {down_after_ms}\n\
             sentinel failover-timeout {master} {failover_timeout_ms}\n\
             sentinel parallel-syncs {master} 4\n",
            dir = dir.display(),
            log = log.display(),
        );
        std::fs::write(&conf, text).map_err(|source| ServerError::Io {
            what: format!("writing {}", conf.display()),
            source,
        })?;
        let mut sentinel = Sentinel {
            process: None,
            last_exit: None,
            binary: binary.to_path_buf(),
            port,
            password: password.clone(),
            conf,
            log,
        };
        sentinel.launch()?;
        Ok(sentinel)
    }

    /// Its port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Its process id while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }

    /// Its log file.
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// kill -9 and reap.
    pub(crate) fn kill9(&mut self) -> Result<(), ServerError> {
        match self.process.take() {
            Some(mut process) => process.kill9(),
            None => Ok(()),
        }
    }

    /// Starts it again from its (rewritten) config file.
    pub(crate) fn restart(&mut self) -> Result<(), ServerError> {
        self.kill9()?;
        self.launch()
    }

    /// Whether the process still runs (reaping it if it exited).
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

    /// The port of the primary this Sentinel names now.
    pub(crate) fn primary_port(&self, master: &str) -> Option<u16> {
        let mut con = self.connect().ok()?;
        let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(master)
            .query(&mut con)
            .ok()?;
        addr.map(|(_, port)| port)
    }

    /// True when this Sentinel sees the primary `master` at rest: up, and
    /// no failover of it under way (its `flags` are just `master`);
    /// `None` when the Sentinel does not answer.
    pub(crate) fn at_rest(&self, master: &str) -> Option<bool> {
        let mut con = self.connect().ok()?;
        let fields: Vec<String> = redis::cmd("SENTINEL")
            .arg("master")
            .arg(master)
            .query(&mut con)
            .ok()?;
        let flags = fields
            .chunks(2)
            .find(|pair| pair[0] == "flags")
            .and_then(|pair| pair.get(1))?;
        Some(flags == "master")
    }

    /// How many replicas and other Sentinels it knows of.
    pub(crate) fn known(&self, master: &str) -> Option<(usize, usize)> {
        let mut con = self.connect().ok()?;
        let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
            .arg("replicas")
            .arg(master)
            .query(&mut con)
            .ok()?;
        let sentinels: Vec<redis::Value> = redis::cmd("SENTINEL")
            .arg("sentinels")
            .arg(master)
            .query(&mut con)
            .ok()?;
        Some((replicas.len(), sentinels.len()))
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let url = format!("redis://:{}@127.0.0.1:{}/", self.password, self.port);
        let con = redis::Client::open(url)?.get_connection_with_timeout(COMMAND_TIMEOUT)?;
        con.set_read_timeout(Some(COMMAND_TIMEOUT))?;
        con.set_write_timeout(Some(COMMAND_TIMEOUT))?;
        Ok(con)
    }

    fn launch(&mut self) -> Result<(), ServerError> {
        let args: Vec<OsString> = vec![self.conf.clone().into()];
        let mut process = ServerProcess::spawn(&self.binary, &args, &self.log)?;
        let started = Instant::now();
        loop {
            if let Some(status) = process.exit_status()? {
                return Err(ServerError::StartFailed {
                    reason: format!("redis-sentinel {status}"),
                    log_tail: process.log_tail(),
                });
            }
            let pinged = self
                .connect()
                .and_then(|mut con| redis::cmd("PING").query::<String>(&mut con));
            if pinged.is_ok() {
                self.process = Some(process);
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(ServerError::NotReady {
                    port: self.port,
                    waited_ms: started.elapsed().as_millis() as u64,
                    log_tail: process.log_tail(),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}
