//! Faults injected into runs, all configurable per worker.
//!
//! - [`CrashPoint`] / [`CrashPlan`] / [`Crasher`]: named points in the worker
//!   loop where a worker configured with a plan exits abruptly (no cleanup,
//!   exit code [`CRASH_EXIT_CODE`]). The worker calls [`Crasher::reach`] at
//!   every point; adding a point is adding an enum variant and one call.
//! - [`SlowWorker`] / [`Throttler`] / [`Throttle`]: stragglers, a process
//!   limited to a fraction of one CPU with a cgroup (v1 `cpu.cfs_quota_us`,
//!   v2 `cpu.max`, through cgroups-rs with only the `cpu` controller) or,
//!   where cgroups are not writable, a SIGSTOP/SIGCONT duty cycle. The
//!   method used is reported as a [`ThrottleMethod`].
//!
//! Crash plans reach a worker as `redis-worker --crash POINT[:N]` (from
//! `harness count --crash W:POINT[:N]` / the `crash` run parameter). The
//! outside killer of `--kill-every-ms` (SIGKILL of a random live worker,
//! never the last) runs in the client's wait loop, which owns the worker
//! processes (`queue::pool`).
//! - [`RedisKill`] / [`KillSchedule`]: kill -9 of a node of the managed
//!   topology named by a [`KillTarget`] (the server or primary, a replica,
//!   several replicas, any node, a node by name), (after the enqueue, at a time, every N ms, or before the counts are
//!   read) and its restart after a downtime; the client's wait loop acts on
//!   the schedule through the `servers` guard. Times are milliseconds
//!   after the workers start or, with [`Percent`], a share of the units
//!   acknowledged ([`JobProgress`]), so a fault lands at any scale.
//! - [`FaultTime`] / [`FaultClock`]: when any scheduled fault fires (Redis
//!   kills, [`WorkerKill`]s, partitions): `at:MS`, `every:MS`, `at:P%`,
//!   `every:P%`, one type for every kind.
//! - [`FaultTally`]: the faults a run planned and the faults that fired,
//!   by [`FaultKind`], so a run whose fault never came is flagged.

mod crash;
mod progress;
mod redis_kill;
mod tally;
mod throttle;
mod time;
mod worker_kill;

pub(crate) use crash::{CrashPlan, CrashPoint, Crasher, WorkerCrash};
pub(crate) use progress::JobProgress;
pub(crate) use redis_kill::{KillSchedule, KillTarget, KillWhen, RedisAction, RedisKill, Role};
pub(crate) use tally::{FaultKind, FaultTally};
pub(crate) use throttle::{
    CpuCage, SlowWorker, Throttle, ThrottleError, ThrottleMethod, Throttler,
};
pub(crate) use time::{FaultClock, FaultTime};
pub(crate) use worker_kill::WorkerKill;
