//! Kills and restarts of nodes of the managed topology during a job (Lab
//! 4), the harness's events about them (node down/up, failovers), and
//! putting the job back after a restart.

use std::time::{Duration, Instant};

use crate::events::{Event, EventKind, now_unix_s};
use crate::faults::{KillTarget, Role};
use crate::input::Unit;
use crate::queue::{Endpoint, JobQueue, QueueError};
use crate::servers::Topology;

/// How long a restart keeps trying to put the job back (a primary without
/// enough replicas refuses writes until one is back in sync).
const RESTORE_WINDOW: Duration = Duration::from_secs(30);
/// How long a killed node may wait for its restart to be possible (a
/// killed primary waits for Sentinel's failover).
const READY_WINDOW: Duration = Duration::from_secs(30);

/// Kills and restarts of the topology's nodes and what the harness noted.
pub(super) struct RedisOutage<'a> {
    queue: &'a JobQueue,
    endpoint: &'a Endpoint,
    units: &'a [Unit],
    atomic: bool,
    /// The harness's own events (worker -1).
    pub events: Vec<Event>,
    /// Node restarts so far.
    pub restarts: u64,
    /// Kills that killed at least one node (one kill of `replicas=2` is one).
    pub kills: u64,
    /// Restarts of data nodes that came back as replicas.
    pub replica_restarts: u64,
    /// Times Sentinel named another primary.
    pub failovers: u64,
    /// When the primary was killed (Unix seconds), for the failover time.
    pub primary_kills: Vec<f64>,
    /// Nodes killed and not restarted yet.
    down: Vec<String>,
    /// The primary last seen.
    last_primary: Option<String>,
    /// An external worker's Function library, loaded again after every
    /// restart and failover (`worker_functions`).
    pub functions: Option<super::external_worker::FunctionLibrary>,
}

impl<'a> RedisOutage<'a> {
    /// Nothing killed yet.
    pub fn new(
        queue: &'a JobQueue,
        endpoint: &'a Endpoint,
        units: &'a [Unit],
        atomic: bool,
    ) -> Self {
        RedisOutage {
            queue,
            endpoint,
            units,
            atomic,
            events: Vec::new(),
            restarts: 0,
            kills: 0,
            replica_restarts: 0,
            failovers: 0,
            primary_kills: Vec::new(),
            down: Vec::new(),
            last_primary: None,
            functions: None,
        }
    }

    /// Records a harness event (worker -1) now.
    pub fn note(&mut self, kind: EventKind, detail: &str) {
        self.events.push(Event {
            at_unix_s: now_unix_s(),
            worker: -1,
            kind,
            unit: String::new(),
            detail: detail.to_owned(),
        });
    }

    /// kill -9 of the nodes `target` names now.
    pub fn kill(
        &mut self,
        topology: &mut dyn Topology,
        target: &KillTarget,
        when: &str,
    ) -> Result<(), QueueError> {
        let nodes = topology.nodes();
        let victims = target.pick(&nodes, &mut rand::rng());
        if victims.is_empty() {
            self.note(
                EventKind::RedisUp,
                &format!("no node fits kill target {target} now ({when}): nothing killed"),
            );
        } else {
            self.kills += 1;
        }
        for name in victims {
            let role = nodes
                .iter()
                .find(|n| n.name == name)
                .map(|n| n.role)
                .unwrap_or(Role::Replica);
            topology.kill(&name)?;
            if role == Role::Primary {
                self.primary_kills.push(now_unix_s());
            }
            let role = match role {
                Role::Primary => "primary",
                Role::Replica => "replica",
                Role::Sentinel => "sentinel",
            };
            self.note(
                EventKind::RedisDown,
                &format!("kill -9 {name} ({role}; {when})"),
            );
            self.down.push(name);
        }
        Ok(())
    }

    /// Units in the job (the whole of a progress-relative fault time).
    pub fn total_units(&self) -> u64 {
        self.units.len() as u64
    }

    /// True when every killed node can be started again now.
    pub fn ready(&mut self, topology: &mut dyn Topology) -> bool {
        self.down.iter().all(|name| topology.ready_to_restart(name))
    }

    /// Starts the killed nodes again and puts back what the topology lost:
    /// the queue when no snapshot (or promoted replica) had it, the Function.
    pub fn restart(&mut self, topology: &mut dyn Topology) -> Result<(), QueueError> {
        let replicated = topology.replicas() > 0;
        for name in std::mem::take(&mut self.down) {
            topology.restart(&name)?;
            self.restarts += 1;
            let primary = topology.primary();
            let detail = if !replicated || name.starts_with("sentinel-") {
                format!("{name} restarted")
            } else {
                self.replica_restarts += 1;
                format!(
                    "{name} restarted as a replica of {}",
                    primary.as_deref().unwrap_or("?")
                )
            };
            self.note(EventKind::RedisUp, &detail);
        }
        let started = Instant::now();
        let requeued = loop {
            let restored = self
                .endpoint
                .connect()
                .and_then(|mut con| self.queue.restore(&mut con, self.units, self.atomic));
            match restored {
                Ok(requeued) => break requeued,
                Err(e) if e.is_redis_gone() && started.elapsed() < RESTORE_WINDOW => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        };
        if let Some(functions) = &self.functions {
            functions.load_at(self.endpoint)?;
        }
        if requeued {
            self.note(
                EventKind::RedisUp,
                "the job's queue was lost (restarted empty): job queued again",
            );
        }
        Ok(())
    }

    /// Kills `target`, waits `down` and until the nodes can restart, and
    /// restarts them (the bootstrap and before-read kills).
    pub fn kill_and_restart(
        &mut self,
        topology: &mut dyn Topology,
        target: &KillTarget,
        when: &str,
        down: Duration,
    ) -> Result<(), QueueError> {
        self.kill(topology, target, when)?;
        std::thread::sleep(down);
        let started = Instant::now();
        while !self.ready(topology) && started.elapsed() < READY_WINDOW {
            self.watch_primary(topology);
            std::thread::sleep(Duration::from_millis(50));
        }
        self.watch_primary(topology);
        self.restart(topology)
    }

    /// Notes a failover when Sentinel names another primary than before.
    pub fn watch_primary(&mut self, topology: &mut dyn Topology) {
        if topology.replicas() == 0 {
            return;
        }
        let Some(primary) = topology.primary() else {
            return;
        };
        match self.last_primary.replace(primary.clone()) {
            Some(before) if before != primary => {
                self.failovers += 1;
                if let Some(functions) = &self.functions
                    && let Err(e) = functions.load_at(self.endpoint)
                {
                    eprintln!(
                        "warning: could not load the worker's Functions on the new primary {primary}: {e}"
                    );
                }
                self.note(
                    EventKind::RedisUp,
                    &format!("failover: {primary} is the primary now (was {before})"),
                );
            }
            _ => {}
        }
    }
}
