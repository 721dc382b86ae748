//! The worker processes of one job: this binary re-invoked as
//! `harness redis-worker`, each owned by a guard that kills and reaps it
//! (and lifts its throttle first) on every exit path.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::error::QueueError;
use super::stats::{WorkerStats, exit_code};
use crate::faults::Throttle;

/// Environment variable carrying the Redis URL to workers (kept off the
/// command line, where other users could read the password).
pub const URL_ENV: &str = "HARNESS_REDIS_URL";
/// How often the client looks at its workers.
const POLL: Duration = Duration::from_millis(10);
/// How many trailing stderr lines a failure message quotes.
const STDERR_TAIL_LINES: usize = 8;

/// How to start one worker.
#[derive(Debug, Clone)]
pub struct WorkerLaunch {
    /// Arguments after the executable (`redis-worker ...`).
    pub args: Vec<std::ffi::OsString>,
    /// The Redis URL, passed in [`URL_ENV`].
    pub url: String,
    /// Where the worker's event log goes.
    pub events: PathBuf,
    /// Where its stderr goes.
    pub stderr: PathBuf,
}

/// One running worker process.
struct WorkerProcess {
    worker: u32,
    child: Child,
    stderr: PathBuf,
    throttle: Option<Throttle>,
    stats: Option<WorkerStats>,
    /// Reaped (stats read, or crashed/killed).
    done: bool,
    /// Killed by the pool on purpose.
    killed: bool,
    /// Its event log.
    events: PathBuf,
}

/// The workers of a job. Dropping the pool kills and reaps every worker
/// still running.
pub struct WorkerPool {
    workers: Vec<WorkerProcess>,
}

impl WorkerPool {
    /// Starts one process per launch, worker `i` from `launches[i]`.
    pub fn spawn(exe: &Path, launches: &[WorkerLaunch]) -> Result<WorkerPool, QueueError> {
        let mut pool = WorkerPool {
            workers: Vec::with_capacity(launches.len()),
        };
        for (worker, launch) in launches.iter().enumerate() {
            let stderr = File::create(&launch.stderr).map_err(|error| QueueError::Io {
                what: format!("creating {}", launch.stderr.display()),
                error,
            })?;
            let mut command = Command::new(exe);
            command
                .args(&launch.args)
                .env(URL_ENV, &launch.url)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(stderr);
            worker_process_setup(&mut command);
            let child = command.spawn().map_err(|error| QueueError::Spawn {
                exe: exe.display().to_string(),
                error,
            })?;
            pool.workers.push(WorkerProcess {
                worker: worker as u32,
                child,
                stderr: launch.stderr.clone(),
                throttle: None,
                stats: None,
                done: false,
                killed: false,
                events: launch.events.clone(),
            });
        }
        Ok(pool)
    }

    /// Process id of each worker, by index.
    pub fn pids(&self) -> Vec<u32> {
        self.workers.iter().map(|w| w.child.id()).collect()
    }

    /// Keeps `throttle` (of worker `worker`) until that worker exits.
    pub fn attach_throttle(&mut self, worker: u32, throttle: Throttle) {
        if let Some(process) = self.workers.get_mut(worker as usize) {
            process.throttle = Some(throttle);
        }
    }

    /// Waits until every worker has exited, calling `check` between polls
    /// with the indices of the workers that crashed so far (it returns an
    /// error to abort: Ctrl-C, a dead server, units stuck with a crashed
    /// worker). Without expected faults the first worker that fails ends the
    /// wait with its error; with them (`policy.crashes_expected`), workers
    /// that crashed at a crash point or were killed by the pool
    /// (`policy.kill_every`, a random live worker, never the last) are
    /// counted and the job goes on, but if none exits normally the job
    /// fails. The rest are killed when the pool drops.
    pub fn wait(
        &mut self,
        policy: &FaultPolicy,
        mut check: impl FnMut(&[u32]) -> Result<(), QueueError>,
    ) -> Result<PoolOutcome, QueueError> {
        use rand::RngExt;
        let mut outcome = PoolOutcome::default();
        let mut crashed: Vec<u32> = Vec::new();
        let mut rng = rand::rng();
        let mut last_kill = std::time::Instant::now();
        let mut normal_exits = 0usize;
        loop {
            check(&crashed)?;
            let mut running = Vec::new();
            for (index, process) in self.workers.iter_mut().enumerate() {
                if process.done {
                    continue;
                }
                if !has_exited(process.child.id()) {
                    running.push(index);
                    continue;
                }
                // Lift the throttle before reaping, so no signal can reach a recycled pid.
                drop(process.throttle.take());
                process.done = true;
                let finished = process.finish(policy.crashes_expected)?;
                // A dead worker printed no stats: it counts with zeros.
                let zeros = WorkerStats {
                    worker: process.worker,
                    pid: process.child.id(),
                    ..WorkerStats::default()
                };
                match finished {
                    Finished::Stats(stats) => {
                        process.stats = Some(stats);
                        normal_exits += 1;
                    }
                    Finished::Crashed => {
                        outcome.crashes += 1;
                        crashed.push(process.worker);
                        process.stats = Some(zeros);
                    }
                    Finished::Killed => {
                        outcome.kills += 1;
                        crashed.push(process.worker);
                        process.stats = Some(zeros);
                    }
                }
            }
            if running.is_empty() {
                break;
            }
            if let Some(every) = policy.kill_every
                && last_kill.elapsed() >= every
            {
                last_kill = std::time::Instant::now();
                if running.len() >= 2 {
                    let victim = running[rng.random_range(0..running.len())];
                    let process = &mut self.workers[victim];
                    if process.child.kill().is_ok() {
                        process.killed = true;
                        if let Ok(mut writer) = crate::events::EventWriter::append(
                            &process.events,
                            i64::from(process.worker),
                        ) {
                            let _ = writer.record(
                                crate::events::EventKind::Crash,
                                "",
                                "killed from outside",
                            );
                        }
                    }
                }
            }
            std::thread::sleep(POLL);
        }
        if normal_exits == 0 {
            return Err(QueueError::Stuck(format!(
                "all {} workers crashed or were killed before the job finished ({} crashes, {} kills): nobody is left to count the remaining units; inject fewer faults or use more workers",
                self.workers.len(),
                outcome.crashes,
                outcome.kills
            )));
        }
        outcome.stats = self
            .workers
            .iter()
            .filter_map(|p| p.stats.clone())
            .collect();
        outcome.crashed = crashed;
        Ok(outcome)
    }
}

/// How the pool treats dying workers.
#[derive(Debug, Clone, Default)]
pub struct FaultPolicy {
    /// Crashes at crash points (and kills by the pool) are part of the run.
    pub crashes_expected: bool,
    /// SIGKILL a random live worker this often (never the last one).
    pub kill_every: Option<Duration>,
}

/// What the workers of a job did.
#[derive(Debug, Clone, Default)]
pub struct PoolOutcome {
    /// Stats of the workers that exited normally, by index.
    pub stats: Vec<WorkerStats>,
    /// Workers that crashed at a crash point.
    pub crashes: u64,
    /// Workers the pool killed.
    pub kills: u64,
    /// Indices of the crashed and killed workers, in the order seen.
    pub crashed: Vec<u32>,
}

impl PoolOutcome {
    /// Adds what a later pool of the same job's workers did: each worker's
    /// numbers are summed by index.
    pub fn absorb(&mut self, later: PoolOutcome) {
        for stats in later.stats {
            match self.stats.iter_mut().find(|s| s.worker == stats.worker) {
                Some(mine) => mine.absorb(&stats),
                None => self.stats.push(stats),
            }
        }
        self.stats.sort_by_key(|s| s.worker);
        self.crashes += later.crashes;
        self.kills += later.kills;
        self.crashed.extend(later.crashed);
    }
}

/// How a worker ended.
enum Finished {
    Stats(WorkerStats),
    Crashed,
    Killed,
}

impl WorkerProcess {
    /// Reaps the exited process and reads its stats, or says why it failed.
    fn finish(&mut self, crashes_expected: bool) -> Result<Finished, QueueError> {
        let pid = self.child.id();
        let status = self.child.wait().map_err(|error| QueueError::Io {
            what: format!("waiting for worker process {pid}"),
            error,
        })?;
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        let stderr = std::fs::read(&self.stderr)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let failed = |status: String, message: String| QueueError::Worker {
            worker: self.worker,
            pid,
            status,
            message,
        };
        if !status.success() {
            use std::os::unix::process::ExitStatusExt;
            if crashes_expected && status.code() == Some(exit_code::CRASHED) {
                return Ok(Finished::Crashed);
            }
            if self.killed && status.signal() == Some(libc::SIGKILL) {
                return Ok(Finished::Killed);
            }
            let how = match (status.code(), status.signal()) {
                (Some(exit_code::CRASHED), _) => {
                    "crashed on purpose (an injected crash point)".to_owned()
                }
                (Some(code), _) => format!("exited with code {code}"),
                (None, Some(signal)) => format!("was killed by signal {signal}"),
                (None, None) => "ended abnormally".to_owned(),
            };
            let tail = stderr_tail(&stderr);
            let message = if tail.is_empty() {
                "it printed nothing on stderr; check `dmesg` for an out-of-memory kill".into()
            } else {
                tail
            };
            return Err(failed(how, message));
        }
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            eprintln!("worker {}: {line}", self.worker);
        }
        WorkerStats::from_output(&stdout)
            .map(Finished::Stats)
            .map_err(|message| failed("exited normally but".into(), message))
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        for process in &mut self.workers {
            if !process.done {
                let _ = process.child.kill();
                drop(process.throttle.take());
                let _ = process.child.wait();
            }
        }
    }
}

/// The last lines of a worker's stderr.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n")
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
/// exits, as for redis-server) and ignore Ctrl-C: the harness sees the
/// interrupt and stops them itself, so an interrupted job reports
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
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !has_exited(pid) {
            assert!(std::time::Instant::now() < deadline, "child never exited");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Still reapable: WNOWAIT did not consume the status.
        assert!(child.wait().unwrap().success());
    }
}
