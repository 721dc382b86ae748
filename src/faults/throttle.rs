//! Stragglers: limiting a process to a fraction of one CPU.
//!
//! The preferred method is a cgroup with only the `cpu` controller: v1
//! (`cpu.cfs_quota_us` / `cpu.cfs_period_us`) or v2 (`cpu.max`), created
//! under a unique name at the root of the hierarchy, the process added, and
//! the cgroup deleted when the [`Throttle`] guard drops (cgroups-rs has no
//! Drop of its own). Where cgroups are not writable (not root, no `cpu`
//! controller, a read-only mount) a thread sends SIGSTOP/SIGCONT to the
//! process on a duty cycle instead. Either way the method is reported.
//!
//! A worker is limited from its first instruction: its cgroup (a
//! [`CpuCage`]) is made before the process starts, and the child writes
//! itself into it between fork and exec. Where that fails, the started
//! process is throttled as above, a few milliseconds late.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use cgroups_rs::CgroupPid;
use cgroups_rs::fs::cpu::CpuController;
use cgroups_rs::fs::hierarchies::{self, V1};
use cgroups_rs::fs::{Cgroup, Controllers};

/// CFS period, and duty-cycle period, in microseconds. Short, so a throttled
/// worker cannot burst through a whole unit on one period's quota.
const PERIOD_US: u64 = 20_000;
/// The root of cgroup v2 (and of the v1 controller mounts).
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// One worker to slow down: `worker` gets `cpu_fraction` of one CPU.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SlowWorker {
    /// Worker index (0-based).
    pub worker: u32,
    /// Fraction of one CPU, strictly between 0 and 1.
    pub cpu_fraction: f64,
}

impl FromStr for SlowWorker {
    type Err = String;

    /// Parses `WORKER:FRACTION`, e.g. `0:0.5`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = "use WORKER:FRACTION with a worker index and a CPU fraction between 0 and 1, e.g. 0:0.5";
        let (worker, fraction) = text
            .split_once(':')
            .ok_or_else(|| format!("bad slow-worker spec {text:?}: {usage}"))?;
        let worker = worker
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("bad worker index {worker:?} in {text:?}: {usage}"))?;
        let cpu_fraction = fraction
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| *f > 0.0 && *f < 1.0)
            .ok_or_else(|| format!("bad CPU fraction {fraction:?} in {text:?}: {usage}"))?;
        Ok(SlowWorker {
            worker,
            cpu_fraction,
        })
    }
}

impl fmt::Display for SlowWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.worker, self.cpu_fraction)
    }
}

/// How a process was (or would be) slowed down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum ThrottleMethod {
    /// A cgroup v1 `cpu` controller (CFS quota).
    #[serde(rename = "cgroup-v1")]
    CgroupV1,
    /// A cgroup v2 `cpu.max`.
    #[serde(rename = "cgroup-v2")]
    CgroupV2,
    /// A SIGSTOP/SIGCONT duty cycle from a thread of the harness.
    #[serde(rename = "sigstop")]
    Sigstop,
    /// Nothing was throttled.
    #[serde(rename = "none")]
    None,
}

impl ThrottleMethod {
    /// The name printed and written to CSV files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ThrottleMethod::CgroupV1 => "cgroup-v1",
            ThrottleMethod::CgroupV2 => "cgroup-v2",
            ThrottleMethod::Sigstop => "sigstop",
            ThrottleMethod::None => "none",
        }
    }
}

impl fmt::Display for ThrottleMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a process could not be throttled at all (not even by the fallback).
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// The fraction is outside (0, 1).
    #[error("CPU fraction {0} is not between 0 and 1 (exclusive): pass e.g. 0.5 for half a CPU")]
    BadFraction(f64),
    /// The duty-cycle thread could not be started.
    #[error("cannot start the SIGSTOP/SIGCONT thread for process {pid}: {source}")]
    Thread {
        /// The process to throttle.
        pid: u32,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Picks the throttling method once and applies it to processes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Throttler {
    preferred: ThrottleMethod,
}

impl Throttler {
    /// The best method this machine allows: a writable cgroup `cpu`
    /// controller (v2 unified or v1), else SIGSTOP/SIGCONT.
    pub(crate) fn detect() -> Throttler {
        Throttler {
            preferred: detect_cgroup().unwrap_or(ThrottleMethod::Sigstop),
        }
    }

    /// A throttler that always uses the SIGSTOP/SIGCONT duty cycle.
    #[cfg(test)]
    pub(crate) fn sigstop_only() -> Throttler {
        Throttler {
            preferred: ThrottleMethod::Sigstop,
        }
    }

    /// The method [`Throttler::throttle`] tries first.
    #[cfg(test)]
    pub(crate) fn preferred(&self) -> ThrottleMethod {
        self.preferred
    }

    /// Limits process `pid` to `cpu_fraction` of one CPU until the returned
    /// guard drops. `label` goes into the cgroup's name. When the cgroup
    /// cannot be set up the duty cycle is used instead; a note says why.
    pub(crate) fn throttle(
        &self,
        pid: u32,
        cpu_fraction: f64,
        label: &str,
    ) -> Result<Throttle, ThrottleError> {
        if !(cpu_fraction > 0.0 && cpu_fraction < 1.0) {
            return Err(ThrottleError::BadFraction(cpu_fraction));
        }
        if matches!(
            self.preferred,
            ThrottleMethod::CgroupV1 | ThrottleMethod::CgroupV2
        ) {
            match CgroupGuard::create(cpu_fraction, label).and_then(|g| g.add(pid).map(|()| g)) {
                Ok(guard) => {
                    return Ok(Throttle {
                        method: self.preferred,
                        _cgroup: Some(guard),
                        _cycle: None,
                    });
                }
                Err(why) => eprintln!(
                    "note: cgroup throttling of process {pid} failed ({why}); using SIGSTOP/SIGCONT instead"
                ),
            }
        }
        let cycle = DutyCycle::start(pid, cpu_fraction)?;
        Ok(Throttle {
            method: ThrottleMethod::Sigstop,
            _cgroup: None,
            _cycle: Some(cycle),
        })
    }
}

/// A cgroup made before its process starts, so a straggler is limited from
/// its first instruction: the child joins it between fork and exec
/// ([`CpuCage::join_on_start`]); restarted processes of the same worker join
/// it too. Deleted on drop (after its processes have exited).
#[derive(Debug)]
pub(crate) struct CpuCage {
    guard: CgroupGuard,
    method: ThrottleMethod,
    /// The absolute path of its `cgroup.procs`, ready for the child.
    procs: std::ffi::CString,
}

impl Throttler {
    /// A cage limited to `cpu_fraction` of one CPU, where this machine has
    /// writable cgroups; `None` elsewhere or when it cannot be made (a note
    /// says why): then throttle the started process with
    /// [`Throttler::throttle`].
    pub(crate) fn cage(
        &self,
        cpu_fraction: f64,
        label: &str,
    ) -> Result<Option<CpuCage>, ThrottleError> {
        use std::os::unix::ffi::OsStrExt;
        if !(cpu_fraction > 0.0 && cpu_fraction < 1.0) {
            return Err(ThrottleError::BadFraction(cpu_fraction));
        }
        if !matches!(
            self.preferred,
            ThrottleMethod::CgroupV1 | ThrottleMethod::CgroupV2
        ) {
            return Ok(None);
        }
        let made = CgroupGuard::create(cpu_fraction, label).and_then(|guard| {
            let procs = cgroups_rs::fs::Controller::path(guard.cpu()?).join("cgroup.procs");
            let procs = std::ffi::CString::new(procs.as_os_str().as_bytes())
                .map_err(|_| format!("{} has a NUL byte", procs.display()))?;
            Ok(CpuCage {
                guard,
                method: self.preferred,
                procs,
            })
        });
        match made {
            Ok(cage) => Ok(Some(cage)),
            Err(why) => {
                eprintln!("note: no cgroup for a straggler ({why}); it is throttled once started");
                Ok(None)
            }
        }
    }
}

impl CpuCage {
    /// Makes the process `command` starts join the cage before it runs its
    /// first instruction (it writes `0`, itself, into `cgroup.procs`
    /// between fork and exec). A failed write is not an error here: check
    /// [`CpuCage::holds`] after the spawn.
    pub(crate) fn join_on_start(&self, command: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let procs = self.procs.clone();
        // SAFETY: the hook runs between fork and exec and only makes
        // async-signal-safe calls (open, write, close) on memory allocated
        // before the fork; it does not allocate.
        unsafe {
            command.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd >= 0 {
                    libc::write(fd, b"0".as_ptr().cast(), 1);
                    libc::close(fd);
                }
                Ok(())
            });
        }
    }

    /// True when process `pid` is in the cage.
    pub(crate) fn holds(&self, pid: u32) -> bool {
        self.guard.holds(pid)
    }

    /// The cgroup version in use.
    pub(crate) fn method(&self) -> ThrottleMethod {
        self.method
    }
}

/// A process being throttled; dropping it lifts the limit (deleting the
/// cgroup, or stopping the duty cycle and sending a final SIGCONT).
///
/// Drop it before the process is reaped: a duty cycle must not signal a
/// recycled process id.
#[derive(Debug)]
pub(crate) struct Throttle {
    method: ThrottleMethod,
    /// Deleted on drop.
    _cgroup: Option<CgroupGuard>,
    /// Stopped on drop.
    _cycle: Option<DutyCycle>,
}

impl Throttle {
    /// The method actually in use.
    pub(crate) fn method(&self) -> ThrottleMethod {
        self.method
    }
}

/// A writable cgroup `cpu` controller, if there is one.
fn detect_cgroup() -> Option<ThrottleMethod> {
    if hierarchies::is_cgroup2_unified_mode() {
        let controllers =
            std::fs::read_to_string(Path::new(CGROUP_ROOT).join("cgroup.controllers")).ok()?;
        let has_cpu = controllers.split_whitespace().any(|c| c == "cpu");
        (has_cpu && writable(Path::new(CGROUP_ROOT))).then_some(ThrottleMethod::CgroupV2)
    } else {
        let (mount_point, _root) = V1::new().get_mount_point(Controllers::Cpu)?;
        writable(&mount_point.join("cgroup.procs")).then_some(ThrottleMethod::CgroupV1)
    }
}

/// Whether this process may write to `path` (access(2) with W_OK).
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c_path is a valid NUL-terminated string for the duration of the call.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
}

/// A cgroup limited to a share of one CPU; deleted on drop.
struct CgroupGuard {
    cgroup: Cgroup,
}

impl fmt::Debug for CgroupGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgroupGuard")
            .field("path", &self.cgroup.path())
            .finish()
    }
}

impl CgroupGuard {
    /// A new, empty cgroup whose processes get `cpu_fraction` of one CPU.
    fn create(cpu_fraction: f64, label: &str) -> Result<CgroupGuard, String> {
        let name = format!(
            "harness-{}-{label}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let cgroup = Cgroup::new_with_specified_controllers(
            hierarchies::auto(),
            &name,
            Some(vec!["cpu".to_owned()]),
        )
        .map_err(|e| format!("creating cgroup {name}: {e}"))?;
        // From here on the guard deletes the cgroup whatever fails next.
        let guard = CgroupGuard { cgroup };
        let quota_us = ((PERIOD_US as f64 * cpu_fraction).round() as i64).max(1000);
        guard
            .cpu()?
            .set_cfs_quota_and_period(Some(quota_us), Some(PERIOD_US))
            .map_err(|e| format!("setting the CPU quota of {name}: {e}"))?;
        Ok(guard)
    }

    /// Its `cpu` controller.
    fn cpu(&self) -> Result<&CpuController, String> {
        self.cgroup
            .controller_of()
            .ok_or_else(|| format!("cgroup {} has no cpu controller", self.cgroup.path()))
    }

    /// Moves process `pid` (all its threads) into the cgroup.
    fn add(&self, pid: u32) -> Result<(), String> {
        self.cgroup
            .add_task_by_tgid(CgroupPid::from(u64::from(pid)))
            .map_err(|e| format!("adding process {pid} to {}: {e}", self.cgroup.path()))
    }

    /// True when process `pid` is in the cgroup.
    fn holds(&self, pid: u32) -> bool {
        self.cgroup
            .procs()
            .contains(&CgroupPid::from(u64::from(pid)))
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        // A process still inside (it has not exited) goes back to the root
        // so the directory can be removed.
        for proc_pid in self.cgroup.procs() {
            let _ = self.cgroup.remove_task_by_tgid(proc_pid);
        }
        if let Err(e) = self.cgroup.delete() {
            eprintln!(
                "warning: could not delete cgroup {}: {e}; remove it with rmdir",
                self.cgroup.path()
            );
        }
    }
}

/// A thread that stops and continues a process on a fixed period.
#[derive(Debug)]
struct DutyCycle {
    /// Dropping the sender wakes and ends the thread.
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl DutyCycle {
    fn start(pid: u32, cpu_fraction: f64) -> Result<DutyCycle, ThrottleError> {
        let period = Duration::from_micros(PERIOD_US);
        let running = period.mul_f64(cpu_fraction);
        let stopped = period - running;
        let (stop, stopped_rx) = mpsc::channel::<()>();
        let target = libc::pid_t::try_from(pid).map_err(|_| ThrottleError::Thread {
            pid,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "process id out of range",
            ),
        })?;
        let thread = std::thread::Builder::new()
            .name(format!("sigstop-{pid}"))
            .spawn(move || {
                let signal = |sig| {
                    // SAFETY: kill(2) with a valid signal number; the owner
                    // ends this thread before reaping the process.
                    unsafe { libc::kill(target, sig) == 0 }
                };
                loop {
                    if !signal(libc::SIGCONT) {
                        break;
                    }
                    if !matches!(
                        stopped_rx.recv_timeout(running),
                        Err(RecvTimeoutError::Timeout)
                    ) {
                        break;
                    }
                    if !signal(libc::SIGSTOP) {
                        break;
                    }
                    if !matches!(
                        stopped_rx.recv_timeout(stopped),
                        Err(RecvTimeoutError::Timeout)
                    ) {
                        break;
                    }
                }
                signal(libc::SIGCONT);
            })
            .map_err(|source| ThrottleError::Thread { pid, source })?;
        Ok(DutyCycle {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for DutyCycle {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::{Child, Command};
    use std::time::Instant;

    use super::*;

    #[test]
    fn slow_worker_specs_parse_and_reject_nonsense() {
        assert_eq!(
            "0:0.5".parse(),
            Ok(SlowWorker {
                worker: 0,
                cpu_fraction: 0.5
            })
        );
        assert_eq!(
            "3: 0.25".parse(),
            Ok(SlowWorker {
                worker: 3,
                cpu_fraction: 0.25
            })
        );
        for bad in [
            "0", "0:1", "0:0", "0:-0.5", "x:0.5", "0:half", "0:1.5", "0:NaN",
        ] {
            let err = bad.parse::<SlowWorker>().unwrap_err();
            assert!(err.contains("WORKER:FRACTION"), "{bad}: {err}");
        }
    }

    #[test]
    fn method_names_match_serde() {
        for method in [
            ThrottleMethod::CgroupV1,
            ThrottleMethod::CgroupV2,
            ThrottleMethod::Sigstop,
            ThrottleMethod::None,
        ] {
            assert_eq!(
                serde_json::to_string(&method).unwrap(),
                format!("\"{}\"", method.name())
            );
        }
    }

    /// A child spinning on one CPU, killed and reaped on drop.
    struct Spinner(Child);

    impl Drop for Spinner {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// CPU seconds (user + system) the process has used, from /proc.
    fn cpu_s(pid: u32) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
    }

    /// Measures the CPU share a spinning child gets while throttled to 0.3.
    fn measured_share(throttler: Throttler) -> (f64, ThrottleMethod) {
        let spinner = Spinner(
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .unwrap(),
        );
        let pid = spinner.0.id();
        let throttle = throttler.throttle(pid, 0.3, "test").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let (cpu0, t0) = (cpu_s(pid), Instant::now());
        std::thread::sleep(Duration::from_millis(1500));
        let share = (cpu_s(pid) - cpu0) / t0.elapsed().as_secs_f64();
        let method = throttle.method();
        drop(throttle);
        (share, method)
    }

    #[test]
    fn sigstop_duty_cycle_limits_cpu() {
        let (share, method) = measured_share(Throttler::sigstop_only());
        assert_eq!(method, ThrottleMethod::Sigstop);
        assert!((0.15..=0.45).contains(&share), "share {share}");
    }

    #[test]
    fn detected_method_limits_cpu_and_cleans_up() {
        let throttler = Throttler::detect();
        let (share, method) = measured_share(throttler);
        assert_eq!(method, throttler.preferred());
        assert!((0.15..=0.45).contains(&share), "{method}: share {share}");
        if method == ThrottleMethod::CgroupV1 || method == ThrottleMethod::CgroupV2 {
            let prefix = format!("harness-{}-test-", std::process::id());
            let dir = match method {
                ThrottleMethod::CgroupV1 => V1::new().get_mount_point(Controllers::Cpu).unwrap().0,
                _ => CGROUP_ROOT.into(),
            };
            let leftovers: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .collect();
            assert!(leftovers.is_empty(), "cgroups left behind: {leftovers:?}");
        }
    }

    #[test]
    fn a_caged_process_is_limited_from_its_first_instruction() {
        let throttler = Throttler::detect();
        let Some(cage) = throttler.cage(0.05, "cage-test").unwrap() else {
            eprintln!("skipped: no writable cgroup cpu controller here");
            return;
        };
        // A child that reads its own cgroups as its first act: already in
        // the cage before exec (not moved in after the spawn).
        let mut command = Command::new("cat");
        command
            .arg("/proc/self/cgroup")
            .stdout(std::process::Stdio::piped());
        cage.join_on_start(&mut command);
        let output = command.output().unwrap();
        let cgroups = String::from_utf8_lossy(&output.stdout);
        assert!(cgroups.contains("cage-test"), "{cgroups}");
        // A spinner in the cage gets about 5% of a CPU.
        let mut command = Command::new("sh");
        command.args(["-c", "while :; do :; done"]);
        cage.join_on_start(&mut command);
        let spinner = Spinner(command.spawn().unwrap());
        let pid = spinner.0.id();
        assert!(cage.holds(pid));
        let (cpu0, t0) = (cpu_s(pid), Instant::now());
        std::thread::sleep(Duration::from_millis(1000));
        let share = (cpu_s(pid) - cpu0) / t0.elapsed().as_secs_f64();
        assert!(share < 0.2, "share {share}");
        drop(spinner);
        drop(cage);
    }

    #[test]
    fn bad_fraction_is_refused() {
        assert!(matches!(
            Throttler::sigstop_only().throttle(1, 1.0, "x"),
            Err(ThrottleError::BadFraction(_))
        ));
    }
}
