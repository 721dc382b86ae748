//! The worker processes of one job: this binary re-invoked as
//! `harness redis-worker`, each owned by a guard that kills and reaps it
//! (and lifts its throttle first) on every exit path.
//!
//! The pool only starts, watches, kills and restarts processes and says how
//! each one ended ([`Ended`]); whether the job is done is Redis's to say
//! (see the supervisor in [`super`]).
//!
//! A worker's stdout (its statistics line) goes to a file beside its
//! stderr ([`stats_path`]), read once it has exited: a file never fills,
//! so no report can block a worker (a pipe read only after exit did, once
//! the line outgrew the pipe's 64 KiB).

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::RunError;
use crate::exit_code;
use crate::faults::{CpuCage, Throttle, ThrottleMethod, Throttler};
use crate::queue::{QueueError, WorkerStats};
use crate::worker::WorkerConfig;

/// Environment variable carrying a worker's settings ([`WorkerConfig`] as
/// JSON, Redis URL included: the environment is readable by its owner only,
/// unlike the command line).
pub const WORKER_ENV: &str = "HARNESS_WORKER";
/// How many trailing stderr lines a failure message quotes.
const STDERR_TAIL_LINES: usize = 8;

/// How to start one worker.
#[derive(Debug, Clone)]
pub(crate) struct WorkerLaunch {
    /// Its settings (sent as JSON in [`WORKER_ENV`]).
    pub config: WorkerConfig,
    /// Where its stderr goes (appended to by restarts).
    pub stderr: PathBuf,
    /// A command it runs under (`ip netns exec NS`: an emulated host); empty: none.
    pub exec_prefix: Vec<String>,
    /// Bring your own worker: run this external command instead of
    /// `harness redis-worker` (see `external_worker`); `None`: the built-in one.
    pub external: Option<super::external_worker::ExternalLaunch>,
    /// A straggler: limited to this share of one CPU from its first
    /// instruction, and again after every restart; `None`: full speed.
    pub cpu_fraction: Option<f64>,
}

/// How a worker process ended.
#[derive(Debug, Clone)]
pub(crate) enum Ended {
    /// It found no unit left and exited normally with its measurements.
    Finished(WorkerStats),
    /// It died: at an injected crash point, killed by the harness, or of
    /// anything else.
    Died(Death),
}

/// A worker that died.
#[derive(Debug, Clone)]
pub(crate) struct Death {
    /// Worker index.
    pub worker: u32,
    /// Its process id.
    pub pid: u32,
    /// Why, as far as the harness knows.
    pub cause: DeathCause,
    /// How it ended, in words ("was killed by signal 9").
    pub status: String,
    /// The last lines of its stderr (may be empty).
    pub stderr_tail: String,
}

/// Why a worker died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeathCause {
    /// It reached its injected crash point.
    InjectedCrash,
    /// The harness's own killer (`kill_every_ms`) sent it SIGKILL.
    KilledByHarness,
    /// Anything else: SIGKILL from outside, out of memory, a crash, an
    /// error exit.
    Unexpected,
}

/// Where a worker whose stderr goes to `stderr` writes its stdout: the
/// same name with the extension `stats`.
pub(crate) fn stats_path(stderr: &Path) -> PathBuf {
    stderr.with_extension("stats")
}

/// One running (or exited, not yet reaped) worker process.
struct WorkerProcess {
    child: Child,
    throttle: Option<Throttle>,
    /// Killed by the pool on purpose.
    killed: bool,
    /// Reaped.
    done: bool,
    /// Started with a crash plan.
    crash_planned: bool,
    /// An external worker (its own process group; prints nothing we parse).
    external: bool,
    /// External: CPU seconds it used, read from /proc just before reaping.
    cpu_s: f64,
}

/// The workers of a job, one slot per worker index. Dropping the pool
/// kills and reaps every worker still running.
pub(crate) struct WorkerPool {
    exe: PathBuf,
    launches: Vec<WorkerLaunch>,
    slots: Vec<WorkerProcess>,
    /// External workers: CPU seconds of processes replaced by restarts, by index.
    cpu_before_s: Vec<f64>,
    /// Stragglers' cgroups, by index, made before their processes start
    /// (dropped after the processes: fields drop after `Drop::drop`).
    cages: Vec<Option<CpuCage>>,
    /// How stragglers are throttled where no cage could be made.
    throttler: Throttler,
    /// The throttling method last applied ([`ThrottleMethod::None`]: none).
    throttle_method: ThrottleMethod,
}

impl WorkerPool {
    /// Starts one process per launch, worker `i` from `launches[i]`;
    /// stragglers start inside their cgroup.
    pub(crate) fn spawn(exe: &Path, launches: Vec<WorkerLaunch>) -> Result<WorkerPool, RunError> {
        let throttler = Throttler::detect();
        let cages = launches
            .iter()
            .enumerate()
            .map(|(index, launch)| match launch.cpu_fraction {
                Some(fraction) => throttler.cage(fraction, &format!("w{index}")),
                None => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut pool = WorkerPool {
            exe: exe.to_path_buf(),
            slots: Vec::with_capacity(launches.len()),
            cpu_before_s: vec![0.0; launches.len()],
            launches,
            cages,
            throttler,
            throttle_method: ThrottleMethod::None,
        };
        for index in 0..pool.launches.len() {
            let process = pool.start(index, false)?;
            pool.slots.push(process);
        }
        Ok(pool)
    }

    /// How stragglers are throttled ([`ThrottleMethod::None`]: no straggler).
    pub(crate) fn throttle_method(&self) -> ThrottleMethod {
        self.throttle_method
    }

    /// Starts worker `index` again after it ended (without its crash plan:
    /// a plan crashes a worker once per run).
    pub(crate) fn restart(&mut self, index: u32) -> Result<u32, RunError> {
        let index = index as usize;
        if let Some(old) = self.slots.get_mut(index)
            && !old.done
        {
            old.kill_and_reap();
        }
        let process = self.start(index, true)?;
        let pid = process.child.id();
        self.cpu_before_s[index] += self.slots[index].cpu_s;
        self.slots[index] = process;
        Ok(pid)
    }

    /// Starts worker `index`, throttled from its start when it is a
    /// straggler (inside its cage, or throttled once started where the
    /// cage could not be joined).
    fn start(&mut self, index: usize, again: bool) -> Result<WorkerProcess, RunError> {
        let mut process = self.spawn_process(index, again)?;
        if let Some(fraction) = self.launches[index].cpu_fraction {
            let pid = process.child.id();
            let method = match self.cages[index].as_ref().filter(|cage| cage.holds(pid)) {
                Some(cage) => cage.method(),
                None => {
                    let throttle = self
                        .throttler
                        .throttle(pid, fraction, &format!("w{index}"))?;
                    let method = throttle.method();
                    process.throttle = Some(throttle);
                    method
                }
            };
            if !again {
                eprintln!(
                    "note: worker {index} (pid {pid}) limited to {fraction} of one CPU with {method}"
                );
            }
            self.throttle_method = method;
        }
        Ok(process)
    }

    /// Spawns worker `index`'s process (in its cage, if it has one).
    fn spawn_process(&self, index: usize, again: bool) -> Result<WorkerProcess, RunError> {
        let launch = &self.launches[index];
        let cage = self.cages[index].as_ref();
        let mut config = launch.config.clone();
        if again {
            config.crash = None;
        }
        let settings = serde_json::to_string(&config).map_err(|e| QueueError::Io {
            what: "encoding a worker's settings".into(),
            error: std::io::Error::other(e),
        })?;
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.stderr)
            .and_then(|file| {
                if !again {
                    file.set_len(0)?;
                }
                Ok(file)
            })
            .map_err(|error| QueueError::Io {
                what: format!("creating {}", launch.stderr.display()),
                error,
            })?;
        if let Some(external) = &launch.external {
            return start_external(
                external,
                launch,
                &stderr,
                config.crash.is_some(),
                again,
                cage,
            );
        }
        let stats_file = stats_path(&launch.stderr);
        let stdout = std::fs::File::create(&stats_file).map_err(|error| QueueError::Io {
            what: format!("creating {}", stats_file.display()),
            error,
        })?;
        let mut command = match launch.exec_prefix.split_first() {
            None => Command::new(&self.exe),
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(&self.exe);
                command
            }
        };
        command
            .arg("redis-worker")
            .env(WORKER_ENV, settings)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        worker_process_setup(&mut command);
        if let Some(cage) = cage {
            cage.join_on_start(&mut command);
        }
        let child = command.spawn().map_err(|error| RunError::Spawn {
            exe: self.exe.display().to_string(),
            error,
        })?;
        Ok(WorkerProcess::started(child, config.crash.is_some(), false))
    }

    /// External workers: CPU seconds each worker index used (its processes
    /// that ended; 0 for the built-in worker, which reports its own times).
    pub(crate) fn cpu_s(&self) -> Vec<f64> {
        self.slots
            .iter()
            .zip(&self.cpu_before_s)
            .map(|(slot, before)| before + slot.cpu_s)
            .collect()
    }

    /// Process id of each worker's current process, by index.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.slots.iter().map(|w| w.child.id()).collect()
    }

    /// Indices of the workers still running.
    pub(crate) fn running(&self) -> Vec<u32> {
        (0..self.slots.len() as u32)
            .filter(|&i| !self.slots[i as usize].done)
            .collect()
    }

    /// SIGKILLs worker `worker` on purpose (its death is then
    /// [`DeathCause::KilledByHarness`]); false when it already ended.
    pub(crate) fn kill(&mut self, worker: u32) -> bool {
        match self.slots.get_mut(worker as usize) {
            Some(process) if !process.done => {
                let killed = if process.external {
                    signal_group(process.child.id(), libc::SIGKILL)
                } else {
                    process.child.kill().is_ok()
                };
                process.killed |= killed;
                killed
            }
            _ => false,
        }
    }

    /// Reaps every worker that has exited since the last call, without
    /// waiting for the others. A worker that failed on bad input or
    /// credentials is an error (every other worker would fail the same way);
    /// any other end is returned for the caller to judge.
    pub(crate) fn reap(&mut self) -> Result<Vec<(u32, Ended)>, RunError> {
        let mut ended = Vec::new();
        for (index, process) in self.slots.iter_mut().enumerate() {
            if process.done || !has_exited(process.child.id()) {
                continue;
            }
            // Lift the throttle before reaping, so no signal can reach a recycled pid.
            drop(process.throttle.take());
            process.done = true;
            let stderr = &self.launches[index].stderr;
            let stats = stats_path(stderr);
            ended.push((index as u32, process.finish(index as u32, stderr, &stats)?));
        }
        Ok(ended)
    }

    /// Kills and reaps every worker still running.
    pub(crate) fn stop_all(&mut self) {
        for process in &mut self.slots {
            if !process.done {
                process.kill_and_reap();
            }
        }
    }
}

impl WorkerProcess {
    /// A process just spawned: not throttled, killed or done yet.
    fn started(child: Child, crash_planned: bool, external: bool) -> WorkerProcess {
        WorkerProcess {
            child,
            throttle: None,
            killed: false,
            done: false,
            crash_planned,
            external,
            cpu_s: 0.0,
        }
    }
    fn kill_and_reap(&mut self) {
        if self.external {
            // The contract: SIGTERM to its process group, SIGKILL after a grace.
            signal_group(self.child.id(), libc::SIGTERM);
            let until = std::time::Instant::now() + EXTERNAL_TERM_GRACE;
            while !has_exited(self.child.id()) && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            signal_group(self.child.id(), libc::SIGKILL);
            self.cpu_s = super::external_worker::cpu_s(self.child.id()).unwrap_or(0.0);
        }
        let _ = self.child.kill();
        drop(self.throttle.take());
        let _ = self.child.wait();
        self.done = true;
    }

    /// Reaps the exited process and reads its stats, or says how it died.
    fn finish(
        &mut self,
        worker: u32,
        stderr_path: &Path,
        stats_path: &Path,
    ) -> Result<Ended, RunError> {
        use std::os::unix::process::ExitStatusExt;
        let pid = self.child.id();
        if self.external {
            self.cpu_s = super::external_worker::cpu_s(pid).unwrap_or(0.0);
        }
        let status = self.child.wait().map_err(|error| QueueError::Io {
            what: format!("waiting for worker process {pid}"),
            error,
        })?;
        let stdout = std::fs::read(stats_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let stderr = std::fs::read(stderr_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let failed = |status: String, message: String| RunError::Worker {
            worker,
            pid,
            status,
            message,
        };
        if self.external && status.success() {
            // An external worker prints nothing we parse: Redis has its work.
            return Ok(Ended::Finished(WorkerStats {
                worker,
                pid,
                ..WorkerStats::default()
            }));
        }
        if status.success() {
            for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
                eprintln!("worker {worker}: {line}");
            }
            return WorkerStats::from_output(&stdout)
                .map(Ended::Finished)
                .map_err(|message| failed("exited normally but".into(), message));
        }
        let tail = stderr_tail(&stderr);
        let code = status.code();
        if !self.external && matches!(code, Some(exit_code::BAD_INPUT | exit_code::AUTH)) {
            // Deterministic: any worker would fail the same way.
            return Err(failed(
                format!("exited with code {}", code.unwrap_or(-1)),
                if tail.is_empty() {
                    "it printed nothing on stderr".into()
                } else {
                    tail
                },
            ));
        }
        let cause = if self.crash_planned && code == Some(exit_code::CRASHED) {
            DeathCause::InjectedCrash
        } else if self.killed && status.signal() == Some(libc::SIGKILL) {
            DeathCause::KilledByHarness
        } else {
            DeathCause::Unexpected
        };
        let how = match (code, status.signal()) {
            (Some(exit_code::CRASHED), _) => {
                "crashed on purpose (an injected crash point)".to_owned()
            }
            (Some(code), _) if self.external => format!("exited with code {code}"),
            (Some(exit_code::REDIS_GONE), _) => {
                format!(
                    "gave up after losing Redis (exit code {})",
                    exit_code::REDIS_GONE
                )
            }
            (Some(code), _) => format!("exited with code {code}"),
            (None, Some(libc::SIGKILL)) => {
                "was killed by signal 9 (SIGKILL: killed from outside, or out of memory; see dmesg)"
                    .to_owned()
            }
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => "ended abnormally".to_owned(),
        };
        Ok(Ended::Died(Death {
            worker,
            pid,
            cause,
            status: how,
            stderr_tail: tail,
        }))
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// The last lines of a worker's stderr.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n")
}

/// How long an external worker has between SIGTERM and SIGKILL.
const EXTERNAL_TERM_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts an external worker (`worker_cmd`): `sh -c` in its own process
/// group, stdout and stderr into its log; a restart runs without its crash
/// point (a plan crashes a worker once per run).
fn start_external(
    external: &super::external_worker::ExternalLaunch,
    launch: &WorkerLaunch,
    log: &std::fs::File,
    crash_planned: bool,
    again: bool,
    cage: Option<&CpuCage>,
) -> Result<WorkerProcess, RunError> {
    let mut external = external.clone();
    if again {
        for (name, value) in &mut external.env {
            if name == "WC_CRASH" {
                value.clear();
            }
        }
    }
    let stdout = log.try_clone().map_err(|error| QueueError::Io {
        what: format!("opening {}", launch.stderr.display()),
        error,
    })?;
    let stderr = log.try_clone().map_err(|error| QueueError::Io {
        what: format!("opening {}", launch.stderr.display()),
        error,
    })?;
    let mut command = super::external_worker::command(&external, &launch.exec_prefix);
    command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    external_process_setup(&mut command);
    if let Some(cage) = cage {
        cage.join_on_start(&mut command);
    }
    let child = command.spawn().map_err(|error| RunError::Spawn {
        exe: format!("sh -c {:?}", external.cmd),
        error,
    })?;
    Ok(WorkerProcess::started(child, crash_planned && !again, true))
}

/// Sends `signal` to the process group led by `pid`; false when none is left.
fn signal_group(pid: u32, signal: i32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signalling the process group of a child we started as its leader.
    unsafe { libc::kill(-pid, signal) == 0 }
}

/// An external worker gets a process group of its own (so a kill reaches
/// its children, and Ctrl-C on the terminal does not: the harness stops
/// it) and dies with the harness; it keeps SIGTERM (the harness's polite stop).
fn external_process_setup(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: the hook runs between fork and exec and only makes
    // async-signal-safe calls (setpgid, prctl, getppid); it does not allocate.
    unsafe {
        command.pre_exec(move || {
            if libc::setpgid(0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if u32::try_from(libc::getppid()) != Ok(parent) {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// True once the process has exited, without reaping it (so its pid cannot
/// be reused while a throttle may still signal it).
fn has_exited(pid: u32) -> bool {
    let id: libc::id_t = pid;
    // SAFETY: an all-zero siginfo_t is a valid out-parameter for waitid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: waitid only writes into `info`; WNOWAIT leaves the child reapable.
    let result = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: si_pid is set by waitid (0 while the child runs).
    result == -1 || unsafe { info.si_pid() } != 0
}

/// Worker processes die with the harness (SIGKILL when the spawning thread
/// exits, as for redis-server) and ignore Ctrl-C and SIGTERM: the harness
/// sees the interrupt and stops them itself, so an interrupted job reports
/// "interrupted" rather than a worker failure.
fn worker_process_setup(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: the hook runs between fork and exec and only makes
    // async-signal-safe calls (prctl, getppid, signal); it does not allocate.
    unsafe {
        command.pre_exec(move || {
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if u32::try_from(libc::getppid()) != Ok(parent) {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_tail_keeps_the_last_non_empty_lines() {
        let text: String = (0..20).map(|i| format!("line {i}\n\n")).collect();
        let tail = stderr_tail(&text);
        assert_eq!(tail.lines().count(), STDERR_TAIL_LINES);
        assert!(tail.ends_with("line 19"));
    }

    #[test]
    fn exited_children_are_seen_before_reaping() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !has_exited(pid) {
            assert!(std::time::Instant::now() < deadline, "child never exited");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // Still reapable: WNOWAIT did not consume the status.
        assert!(child.wait().unwrap().success());
    }
}
