//! The wait loop of a Redis-mode job. Redis decides when the job is done:
//! every unit delivered and acknowledged (`XINFO`: last delivered id = last
//! id, nothing pending). Worker processes are watched only to learn how
//! they end:
//! - a worker that exits normally found nothing left to do;
//! - a worker that dies (an injected crash point, the harness's own killer,
//!   or anything else: SIGKILL from outside, out of memory, a segfault, an
//!   error exit) is recorded, restarted when `restart_dead` is on, and
//!   otherwise left dead: the job goes on while someone can still finish
//!   its units (stealing on, or workers left to take new ones);
//! - when nobody can (stealing off and a dead worker holds a unit; every
//!   worker dead), the loop fails at once with one message naming the
//!   holders and the setting that would have saved them;
//! - when every worker exited normally but Redis says units are back (a
//!   server restored from an older snapshot), the workers start again.
//!
//! The loop also runs the Redis kill schedule, the outside killer
//! (`worker_kill`, `kill_every_ms`; at a time or a share of the units),
//! Ctrl-C/SIGTERM and the run's deadline, and watches the topology's
//! nodes: a node that dies without the harness doing it is recorded and,
//! as the topology's rules allow, survived and brought back (see
//! `outage`), or ends the job at once with what died and why. A kill
//! due at a share of the units (`at:50%`: a Redis kill, a worker kill, a
//! partition) is fired when Redis says that many are acknowledged (asked
//! every poll while one is pending); the faults that fired are counted
//! ([`Supervised::faults_fired`]), also in a missed deadline's error.

use std::time::{Duration, Instant};

use rand::RngExt;
use redis::Connection;

use super::RunError;
use super::outage::RedisOutage;
use super::pool::{Death, DeathCause, Ended, WorkerPool};
use crate::events::{Event, EventKind, now_unix_s};
use crate::faults::{
    FaultClock, FaultKind, FaultTally, JobProgress, KillSchedule, KillWhen, RedisAction,
};
use crate::interrupt;
use crate::params::RedisParams;
use crate::queue::{Endpoint, JobKeys, JobQueue, QueueError, WorkerStats};
use crate::servers::Topology;

/// How often the loop looks at its workers.
const POLL: Duration = Duration::from_millis(10);
/// How often it asks Redis whether the job is done (also whenever a
/// worker ends).
const CHECK_EVERY: Duration = Duration::from_millis(100);
/// How long workers may keep running after Redis said the job is done
/// (they notice within one read) before they are stopped.
pub(super) const GRACE: Duration = Duration::from_secs(10);
/// Times the workers are started again when a restored snapshot brought
/// back units they had done, beyond one per server restart.
const MAX_RELAUNCHES: usize = 3;

/// The wait loop's inputs.
pub(super) struct Supervisor<'a, 'o> {
    /// The job's workers.
    pub pool: &'a mut WorkerPool,
    /// The job's queue (to ask whether it is done, and who holds what).
    pub queue: &'a JobQueue,
    /// Where Redis is.
    pub endpoint: &'a Endpoint,
    /// The run parameters.
    pub params: &'a RedisParams,
    /// The servers (nothing is killed in an external one).
    pub topology: &'a mut dyn Topology,
    /// Kills and restarts of the topology's nodes.
    pub outage: &'a mut RedisOutage<'o>,
    /// When to give up (the run's `deadline_s`).
    pub deadline: Option<Instant>,
    /// No local workers: the job is counted by workers that joined from
    /// other hosts (`harness worker`), so "no live worker" is not stuck;
    /// the loop polls Redis until the job is complete, the deadline, or
    /// Ctrl-C.
    pub remote_only: bool,
    /// The emulated hosts, whose partition schedule the loop runs.
    pub network: Option<&'a mut super::network::Network>,
}

/// What the workers did.
#[derive(Debug, Default)]
pub(super) struct Supervised {
    /// Stats of the workers' normal exits, summed per worker index.
    pub stats: Vec<WorkerStats>,
    /// Deaths at injected crash points.
    pub crashes: u64,
    /// Deaths by the harness's own killer.
    pub kills: u64,
    /// Deaths of any other cause.
    pub unexpected_deaths: u64,
    /// Workers started again in place of dead ones (`restart_dead`).
    pub worker_restarts: u64,
    /// Times every worker was started again after a snapshot rollback.
    pub relaunches: usize,
    /// What the loop saw, as events (deaths, restarts, kills).
    pub events: Vec<Event>,
    /// When Redis first said every unit was done (workers still running
    /// then, e.g. cut off by a partition, end later).
    pub done_at: Option<Instant>,
}

impl Supervised {
    /// The faults that fired: `redis_kills` kills of the topology's nodes
    /// (the outage's count), and the worker kills, crashes and partition
    /// cuts this loop saw.
    pub(crate) fn faults_fired(&self, redis_kills: u64) -> FaultTally {
        let mut fired = FaultTally::default();
        fired.add(FaultKind::RedisKill, redis_kills);
        fired.add(FaultKind::WorkerKill, self.kills);
        fired.add(FaultKind::Crash, self.crashes);
        let cuts = self
            .events
            .iter()
            .filter(|e| e.kind == EventKind::HostCut)
            .count();
        fired.add(FaultKind::Partition, cuts as u64);
        fired
    }

    fn absorb(&mut self, stats: WorkerStats) {
        match self.stats.iter_mut().find(|s| s.worker == stats.worker) {
            Some(mine) => mine.absorb(&stats),
            None => self.stats.push(stats),
        }
        self.stats.sort_by_key(|s| s.worker);
    }

    fn note(&mut self, worker: i64, kind: EventKind, detail: String) {
        self.events.push(Event {
            at_unix_s: now_unix_s(),
            worker,
            kind,
            unit: String::new(),
            detail,
        });
    }
}

/// What Redis said about the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Progress {
    Done,
    NotDone,
    /// Redis is unreachable or the job's stream is missing right now.
    Unknown,
}

impl Supervisor<'_, '_> {
    /// Waits until Redis says every unit is done (or fails, see the module doc).
    pub(crate) fn run(mut self) -> Result<Supervised, RunError> {
        let params = self.params;
        self.outage.restart_nodes = params.restart_nodes.0;
        let mut out = Supervised::default();
        let mut schedule = KillSchedule::new(
            params.redis_kill.when,
            Duration::from_millis(params.redis_down_ms),
        );
        if self.deadline.is_some() {
            schedule = schedule.uncapped();
        }
        let mut cap_noted = false;
        // The harness's own worker killer (`worker_kill`, `kill_every_ms`).
        let mut worker_kill = params.worker_kill().map(FaultClock::new);
        let mut rng = rand::rng();
        let mut con: Option<Connection> = None;
        let mut last_check: Option<Instant> = None;
        let mut done_since: Option<Instant> = None;
        let mut dead: Vec<Death> = Vec::new();
        let mut stuck_checked = 0usize;
        // Workers that exited normally since the last (re)launch: they saw
        // nothing left to do, so if Redis later says units are not done, a
        // restored snapshot brought them back.
        let mut normal_exits = 0usize;
        let mut before_read_due = params.redis_kill.when == KillWhen::BeforeRead;
        let managed = self.topology.managed();
        let mut last_watch = Instant::now();
        // Whether the last "not done" came over a connection made just for it.
        let mut fresh_answer = false;
        loop {
            interrupt::check()?;
            if let Some(network) = self.network.as_deref_mut() {
                network.tick(&mut out.events)?;
            }
            let now = Instant::now();
            if let Some(deadline) = self.deadline
                && now >= deadline
            {
                let state = self.describe_state(&mut con, &dead);
                return Err(RunError::DeadlineMissed {
                    deadline_s: params.deadline_s,
                    state,
                    faults_fired: out.faults_fired(self.outage.kills),
                });
            }
            // The job's progress, read only while a fault waits on it.
            let network_waits = self.network.as_deref().is_some_and(|n| n.wants_progress());
            let progress = if (managed && schedule.wants_progress())
                || worker_kill.as_ref().is_some_and(FaultClock::wants_progress)
                || network_waits
            {
                self.job_progress(&mut con)
            } else {
                None
            };
            if let (Some(network), Some(progress)) = (self.network.as_deref(), progress) {
                network.set_progress(progress);
            }
            if managed {
                match schedule.due(now, progress) {
                    // A due kill waits while a failover or resync is under
                    // way (see `Topology::settled`).
                    RedisAction::Kill if self.topology.settled() => {
                        self.outage.kill(
                            self.topology,
                            &params.redis_kill.target,
                            &params.redis_kill.to_string(),
                        )?;
                        schedule.killed(now);
                    }
                    RedisAction::Restart if self.outage.ready(self.topology) => {
                        self.outage.restart(self.topology)?;
                        schedule.restarted();
                        con = None;
                    }
                    RedisAction::Kill | RedisAction::Restart | RedisAction::Wait => {}
                }
                if schedule.reached_cap() && !cap_noted {
                    cap_noted = true;
                    let note = format!(
                        "stopped killing Redis after {} kills (the cap for runs without a deadline); set deadline_s to keep killing until the deadline",
                        schedule.kills()
                    );
                    eprintln!("note: {note}");
                    self.outage.note(EventKind::RedisUp, &note);
                }
                // Deaths nobody scheduled: the topology decides (see `outage`).
                while let Some(dead) = self.topology.died() {
                    self.outage
                        .unexpected_death(self.topology, dead, params.restart_nodes.0)?;
                    con = None;
                }
                if self.outage.revive(self.topology)? {
                    con = None;
                }
                if last_watch.elapsed() >= CHECK_EVERY {
                    last_watch = Instant::now();
                    if self.outage.watch_primary(self.topology) {
                        // The old primary may still answer (paused, then
                        // resumed before Sentinel demotes it) with a stale
                        // view of the job: ask the new one.
                        con = None;
                    }
                }
            }

            let mut ended_now = false;
            for (index, ended) in self.pool.reap()? {
                ended_now = true;
                match ended {
                    Ended::Finished(stats) => {
                        normal_exits += 1;
                        out.absorb(stats);
                    }
                    Ended::Died(death) => {
                        self.record_death(&mut out, &death);
                        if params.restart_dead {
                            let pid = self.pool.restart(index)?;
                            out.worker_restarts += 1;
                            out.note(
                                i64::from(index),
                                EventKind::Start,
                                format!("restarted in place of pid {} (pid={pid})", death.pid),
                            );
                        } else {
                            dead.push(death);
                        }
                    }
                }
            }

            if let Some(clock) = worker_kill.as_mut()
                && clock.due(Instant::now(), progress)
            {
                // Due but fewer than 2 workers alive: this firing is spent
                // without a kill (the row then shows it unfired).
                clock.fired();
                let running = self.pool.running();
                if running.len() >= 2 {
                    let victim = running[rng.random_range(0..running.len())];
                    if self.pool.kill(victim) {
                        out.note(
                            i64::from(victim),
                            EventKind::Crash,
                            "killed from outside".into(),
                        );
                    }
                }
            }
            if schedule.is_down() {
                std::thread::sleep(POLL);
                continue;
            }

            let live = self.pool.running().len();
            let due = last_check.is_none_or(|t| t.elapsed() >= CHECK_EVERY);
            if ended_now || (live == 0 && !self.remote_only) || due {
                last_check = Some(Instant::now());
                let progress = self.progress(&mut con)?;
                if progress != Progress::NotDone {
                    fresh_answer = false;
                }
                match progress {
                    Progress::Done => {
                        out.done_at.get_or_insert_with(Instant::now);
                        if live == 0 && before_read_due && managed {
                            // Lab 4: Redis dies after the workers are done and
                            // before the counts are read; a rolled-back job is
                            // finished by starting the workers again (below).
                            before_read_due = false;
                            self.outage.kill_and_restart(
                                self.topology,
                                &params.redis_kill.target,
                                "before the counts are read",
                                Duration::from_millis(params.redis_down_ms),
                            )?;
                            con = None;
                            continue;
                        }
                        if live == 0 {
                            break;
                        }
                        let since = *done_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > GRACE {
                            eprintln!(
                                "note: {live} worker(s) still running {} s after Redis said every unit was done; stopping them",
                                GRACE.as_secs()
                            );
                            self.pool.stop_all();
                            break;
                        }
                    }
                    Progress::NotDone => {
                        done_since = None;
                        out.done_at = None;
                        // With remote_only, the joined workers of other hosts count.
                        if live == 0 && !self.remote_only {
                            // Every worker saw the job done: make sure this
                            // answer came from the primary of now, not a
                            // connection to one replaced since.
                            if !fresh_answer {
                                con = None;
                                fresh_answer = true;
                                continue;
                            }
                            let allowed = MAX_RELAUNCHES + self.outage.restarts as usize;
                            if normal_exits > 0 && out.relaunches < allowed {
                                // A restored snapshot brought back units the
                                // exited workers had done.
                                out.relaunches += 1;
                                self.outage.note(
                                    EventKind::Start,
                                    &format!(
                                        "units came back unacknowledged: starting the workers again ({})",
                                        out.relaunches
                                    ),
                                );
                                for index in 0..self.pool.pids().len() as u32 {
                                    self.pool.restart(index)?;
                                }
                                dead.clear();
                                stuck_checked = 0;
                                normal_exits = 0;
                                fresh_answer = false;
                                continue;
                            }
                            return Err(RunError::Stuck(self.all_ended_message(
                                &mut con,
                                &dead,
                                normal_exits > 0,
                            )));
                        }
                        if params.autoclaim_ms == 0 && dead.len() > stuck_checked {
                            stuck_checked = dead.len();
                            self.fail_if_units_are_stranded(&mut con, &dead)?;
                        }
                    }
                    Progress::Unknown => {}
                }
            }
            std::thread::sleep(POLL);
        }
        if let Some(network) = self.network.as_deref_mut() {
            network.tick(&mut out.events)?;
        }
        Ok(out)
    }

    /// Counts and reports one death.
    fn record_death(&mut self, out: &mut Supervised, death: &Death) {
        let detail = match death.cause {
            DeathCause::InjectedCrash => {
                out.crashes += 1;
                return; // the worker recorded its own crash event
            }
            DeathCause::KilledByHarness => {
                out.kills += 1;
                return; // noted when the kill was sent
            }
            DeathCause::Unexpected => {
                out.unexpected_deaths += 1;
                let mut line = format!(
                    "note: worker {} (pid {}) {}",
                    death.worker, death.pid, death.status
                );
                if !death.stderr_tail.is_empty() {
                    line.push_str(&format!(
                        "; its last words: {}",
                        death.stderr_tail.replace('\n', " | ")
                    ));
                }
                eprintln!("{line}; the job goes on");
                format!("died unexpectedly: {}", death.status)
            }
        };
        out.note(i64::from(death.worker), EventKind::Crash, detail);
    }

    /// Connects when needed; `None` while Redis is unreachable.
    fn connection<'c>(&self, con: &'c mut Option<Connection>) -> Option<&'c mut Connection> {
        if con.is_none() {
            *con = self.endpoint.connect().ok();
        }
        con.as_mut()
    }

    /// How far the job is, as Redis says (`None` while it cannot be asked).
    fn job_progress(&self, con: &mut Option<Connection>) -> Option<JobProgress> {
        let connection = self.connection(con)?;
        match self.queue.acked(connection) {
            Ok(acked) => Some(JobProgress {
                acked,
                total: self.outage.total_units(),
            }),
            Err(_) => {
                *con = None;
                None
            }
        }
    }

    /// Asks Redis whether every unit is done.
    fn progress(&self, con: &mut Option<Connection>) -> Result<Progress, QueueError> {
        let Some(connection) = self.connection(con) else {
            return Ok(Progress::Unknown);
        };
        match self.queue.is_complete(connection) {
            Ok(true) => Ok(Progress::Done),
            Ok(false) => Ok(Progress::NotDone),
            Err(e) if e.is_redis_gone() || e.is_job_lost() => {
                *con = None;
                Ok(Progress::Unknown)
            }
            Err(e) => Err(e),
        }
    }

    /// Units pending per dead worker that holds any (empty when Redis
    /// cannot be asked).
    fn stranded(&self, con: &mut Option<Connection>, dead: &[Death]) -> Vec<(String, u64)> {
        let Some(connection) = self.connection(con) else {
            return Vec::new();
        };
        let Ok(pending) = self.queue.pending_by_consumer(connection) else {
            return Vec::new();
        };
        dead.iter()
            .filter_map(|death| {
                let consumer = JobKeys::consumer(death.worker);
                pending
                    .iter()
                    .find(|(name, held)| *name == consumer && *held > 0)
                    .map(|(_, held)| {
                        (
                            format!(
                                "worker {} (pid {}) {}",
                                death.worker, death.pid, death.status
                            ),
                            *held,
                        )
                    })
            })
            .collect()
    }

    /// Without stealing or restarts, a unit held by a dead worker is never
    /// done and the live workers would wait for it forever: fail instead.
    fn fail_if_units_are_stranded(
        &self,
        con: &mut Option<Connection>,
        dead: &[Death],
    ) -> Result<(), RunError> {
        let stranded = self.stranded(con, dead);
        if stranded.is_empty() || self.params.restart_dead {
            return Ok(());
        }
        let holders: Vec<String> = stranded
            .iter()
            .map(|(who, held)| format!("{who}, holding {held} unit(s)"))
            .collect();
        Err(RunError::Stuck(format!(
            "units are stuck with dead workers and nobody will take them: {}. No worker steals pending units and dead workers are not restarted: rerun with --autoclaim-ms T (experiment parameter autoclaim_ms, e.g. 1000) so live workers XAUTOCLAIM units idle longer than T ms, or with --restart-dead (restart_dead = true) so a new worker takes its predecessor's units back",
            holders.join("; ")
        )))
    }

    /// Why the job cannot finish once every worker has ended.
    fn all_ended_message(
        &self,
        con: &mut Option<Connection>,
        dead: &[Death],
        some_exited_normally: bool,
    ) -> String {
        if some_exited_normally {
            return format!(
                "units are still not acknowledged after starting the workers {} more times; look at the workers' errors above. {}",
                MAX_RELAUNCHES,
                super::external_worker::pending_evidence(self.endpoint, self.queue.keys())
            );
        }
        let deaths: Vec<String> = dead
            .iter()
            .map(|d| format!("worker {} (pid {}) {}", d.worker, d.pid, d.status))
            .collect();
        let stranded = self.stranded(con, dead);
        let held: u64 = stranded.iter().map(|(_, n)| n).sum();
        format!(
            "all {} workers died before the job finished, so nobody is left to count the remaining units ({} held by dead workers): {}. Rerun with --restart-dead (restart_dead = true) to start a new worker in place of each dead one, or inject fewer faults / use more workers",
            self.pool.pids().len(),
            held,
            deaths.join("; ")
        )
    }

    /// What is left of the job, in words (for a missed deadline).
    fn describe_state(&self, con: &mut Option<Connection>, dead: &[Death]) -> String {
        let live = self.pool.running().len();
        let pending = self
            .connection(con)
            .and_then(|c| self.queue.pending_by_consumer(c).ok())
            .map(|p| p.iter().map(|(_, n)| n).sum::<u64>());
        let pending =
            pending.map_or_else(|| "unknown (Redis unreachable)".into(), |n| n.to_string());
        format!(
            "{live} worker(s) still running, {} dead, units pending (taken, not acknowledged): {pending}. {}",
            dead.len(),
            super::external_worker::pending_evidence(self.endpoint, self.queue.keys())
        )
    }
}
