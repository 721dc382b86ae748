//! Kills and restarts of nodes of the managed topology during a job (Lab
//! 4), deaths nobody scheduled (a node killed from outside, out of
//! memory), the harness's events about them (node down/up, failovers), and
//! putting the job back after a restart.
//!
//! A node that dies on its own is a fault to survive, not an error: the
//! topology's rules ([`crate::servers::Rules`]) say whether the job can go
//! on with the nodes that are down and how a dead node comes back; with
//! `restart_nodes` (the default) it is restarted as soon as the topology
//! allows (a dead primary after Sentinel's failover), as a service manager
//! would. When the job cannot go on (one server without persistence: the
//! queue and counts died with it; more nodes down than the topology
//! survives and no restart), it fails at once saying what died, why and
//! which setting would have kept the counts.

use std::time::{Duration, Instant};

use super::RunError;
use crate::events::{Event, EventKind, now_unix_s};
use crate::faults::{KillTarget, Role};
use crate::input::Unit;
use crate::queue::{Endpoint, JobQueue};
use crate::servers::{DeadNode, Revival, Topology};

/// How long a restart keeps trying to put the job back (a primary without
/// enough replicas refuses writes until one is back in sync).
const RESTORE_WINDOW: Duration = Duration::from_secs(30);
/// How long a killed node may wait for its restart to be possible (a
/// killed primary waits for Sentinel's failover).
const READY_WINDOW: Duration = Duration::from_secs(30);
/// Tries to start a node that keeps dying while it starts.
const RESTART_ATTEMPTS: u32 = 3;

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
    /// When the primary was killed or died (Unix seconds), for the failover time.
    pub primary_kills: Vec<f64>,
    /// Each failover seen: when the old primary was last seen answering as
    /// primary and when the new one was seen (Unix seconds).
    pub failover_times: Vec<SeenFailover>,
    /// Nodes that died without the harness doing it.
    pub unexpected_node_deaths: u64,
    /// Nodes killed and not restarted yet.
    down: Vec<String>,
    /// Bring back nodes that die on their own (`restart_nodes`).
    pub restart_nodes: bool,
    /// Nodes that died on their own and are not back yet.
    dead: Vec<String>,
    /// Nodes that died on their own and stay down (`restart_nodes = false`).
    left_dead: Vec<String>,
    /// The primary last seen.
    last_primary: Option<String>,
    /// The election term of the primary last seen, where there are terms.
    last_term: Option<u64>,
    /// When the primary last seen was last seen answering as primary.
    primary_seen_at: f64,
    /// An external worker's Function library, loaded again after every
    /// restart and failover (`worker_functions`).
    pub functions: Option<super::external_worker::FunctionLibrary>,
}

impl<'a> RedisOutage<'a> {
    /// Nothing killed yet.
    pub(crate) fn new(
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
            failover_times: Vec::new(),
            unexpected_node_deaths: 0,
            down: Vec::new(),
            restart_nodes: true,
            dead: Vec::new(),
            left_dead: Vec::new(),
            last_primary: None,
            last_term: None,
            primary_seen_at: now_unix_s(),
            functions: None,
        }
    }

    /// Records a harness event (worker -1) now.
    pub(crate) fn note(&mut self, kind: EventKind, detail: &str) {
        self.events.push(Event {
            at_unix_s: now_unix_s(),
            worker: -1,
            kind,
            unit: String::new(),
            detail: detail.to_owned(),
        });
    }

    /// kill -9 of the nodes `target` names now.
    pub(crate) fn kill(
        &mut self,
        topology: &mut dyn Topology,
        target: &KillTarget,
        when: &str,
    ) -> Result<(), RunError> {
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
    pub(crate) fn total_units(&self) -> u64 {
        self.units.len() as u64
    }

    /// True when every killed node can be started again now.
    pub(crate) fn ready(&mut self, topology: &mut dyn Topology) -> bool {
        self.down.iter().all(|name| topology.ready_to_restart(name))
    }

    /// Starts the killed nodes again and puts back what the topology lost:
    /// the queue when no snapshot (or promoted replica) had it, the Function.
    pub(crate) fn restart(&mut self, topology: &mut dyn Topology) -> Result<(), RunError> {
        let names = std::mem::take(&mut self.down);
        self.bring_back(topology, names, "restarted")
    }

    /// Starts `names` again, notes it, and puts the job back.
    fn bring_back(
        &mut self,
        topology: &mut dyn Topology,
        names: Vec<String>,
        how: &str,
    ) -> Result<(), RunError> {
        let replicated = topology.replicas() > 0;
        // Sentinels hold no part of the job: bringing only them back puts
        // nothing back (and must not wait on the data nodes, which may be
        // down under the harness's own kill right now).
        let data_back = names.iter().any(|name| !name.starts_with("sentinel-"));
        for name in names {
            // A node killed from outside while it starts (it is not up
            // yet, so nobody can tell) is started again, a few times.
            let mut attempt = 1;
            while let Err(e) = topology.restart(&name) {
                if attempt >= RESTART_ATTEMPTS {
                    return Err(e.into());
                }
                attempt += 1;
                self.unexpected_node_deaths += 1;
                self.note(
                    EventKind::RedisDown,
                    &format!("{name} died while it started ({e}); starting it again"),
                );
            }
            self.restarts += 1;
            let detail = if !replicated || name.starts_with("sentinel-") {
                format!("{name} {how}")
            } else {
                self.replica_restarts += 1;
                match topology.primary() {
                    Some(primary) if primary != name => {
                        format!("{name} {how} as a replica of {primary}")
                    }
                    Some(_) => format!("{name} {how} as the primary (no other node was promoted)"),
                    None => format!(
                        "{name} {how}; no primary is named right now (a failover is under way)"
                    ),
                }
            };
            self.note(EventKind::RedisUp, &detail);
        }
        if !data_back {
            return Ok(());
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
                    // A node that died meanwhile (killed from outside) is
                    // handled as any death nobody scheduled.
                    if let Some(dead) = topology.died() {
                        self.unexpected_death(topology, dead, self.restart_nodes)?;
                        self.revive(topology)?;
                    }
                    // Writes may wait on nodes the harness killed itself
                    // (NOREPLICAS while the replicas are down): those come
                    // back as soon as they may, not after this wait.
                    if !self.down.is_empty() && self.ready(topology) {
                        self.restart(topology)?;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
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

    /// A node died without the harness doing it: records it, and fails
    /// when the topology cannot go on (see the module doc); otherwise the
    /// node is brought back by [`RedisOutage::revive`] when `restart`.
    pub(crate) fn unexpected_death(
        &mut self,
        topology: &mut dyn Topology,
        node: DeadNode,
        restart: bool,
    ) -> Result<(), RunError> {
        self.unexpected_node_deaths += 1;
        let was_primary = self.last_primary.as_deref() == Some(node.name.as_str());
        if was_primary {
            self.primary_kills.push(now_unix_s());
        }
        let tail: Vec<&str> = node.log_tail.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        self.note(
            EventKind::RedisDown,
            &format!(
                "{} {} without the harness doing it ({}); last log lines: {}",
                node.name,
                node.status,
                if was_primary { "primary" } else { "node" },
                tail.join(" | ")
            ),
        );
        self.dead.push(node.name.clone());
        let rules = topology.rules();
        let f = topology.f();
        let down: Vec<String> = self
            .down
            .iter()
            .chain(&self.dead)
            .chain(&self.left_dead)
            .cloned()
            .collect();
        let revivals: Vec<Revival> = down.iter().map(|n| rules.revival(n)).collect();
        let why = if revivals.contains(&Revival::Empty) {
            Some((
                format!(
                    "topology {} keeps the job's queue and counts only in that server's memory, so they died with it and the counts can no longer be trusted or finished",
                    rules.name()
                ),
                rules.keeps_counts().to_owned(),
            ))
        } else if rules.survives(f, &down) {
            None
        } else if !rules.recoverable(f, &down) {
            Some((
                format!(
                    "topology {} (f = {f}) has {} down at once, and nothing that holds the job is left to bring them back from",
                    rules.name(),
                    down.join(", ")
                ),
                "fewer nodes down at once (at most f of them; a larger f tolerates more)"
                    .to_owned(),
            ))
        } else if !restart {
            Some((
                format!(
                    "topology {} (f = {f}) cannot go on with {} down, and restart_nodes = false leaves them down",
                    rules.name(),
                    down.join(", ")
                ),
                "restart_nodes = true (--restart-nodes true), so a dead node is brought back"
                    .to_owned(),
            ))
        } else {
            None
        };
        if let Some((why, keeps)) = why {
            return Err(RunError::NodeLost {
                node: node.name,
                status: node.status,
                why,
                keeps,
                log_tail: node.log_tail,
            });
        }
        eprintln!(
            "note: {} of topology {} {} without the harness doing it; the job goes on{}",
            node.name,
            rules.name(),
            node.status,
            if restart {
                " and the node is brought back"
            } else {
                " degraded (restart_nodes = false)"
            }
        );
        if !restart {
            self.dead.retain(|n| n != &node.name);
            self.left_dead.push(node.name);
        }
        Ok(())
    }

    /// Brings back the nodes that died on their own once the topology
    /// allows it (a dead primary after the failover); true when any came back.
    pub(crate) fn revive(&mut self, topology: &mut dyn Topology) -> Result<bool, RunError> {
        let ready: Vec<String> = self
            .dead
            .iter()
            .filter(|name| topology.ready_to_restart(name))
            .cloned()
            .collect();
        if ready.is_empty() {
            return Ok(false);
        }
        self.dead.retain(|n| !ready.contains(n));
        self.bring_back(topology, ready, "brought back after its unexpected death")?;
        Ok(true)
    }

    /// Kills `target`, waits `down` and until the nodes can restart, and
    /// restarts them (the bootstrap and before-read kills).
    pub(crate) fn kill_and_restart(
        &mut self,
        topology: &mut dyn Topology,
        target: &KillTarget,
        when: &str,
        down: Duration,
    ) -> Result<(), RunError> {
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

    /// Notes a failover when Sentinel or RedisRaft names another primary
    /// than before, or the same one elected in a later term; true when it did.
    pub(crate) fn watch_primary(&mut self, topology: &mut dyn Topology) -> bool {
        if topology.replicas() == 0 {
            return false;
        }
        let Some((primary, term)) = topology.primary_and_term() else {
            return false;
        };
        let now = now_unix_s();
        let old_seen_at = std::mem::replace(&mut self.primary_seen_at, now);
        let new_term = match (self.last_term, term) {
            (Some(before), Some(now)) => now > before,
            _ => false,
        };
        if term.is_some() {
            self.last_term = term;
        }
        match self.last_primary.replace(primary.clone()) {
            Some(before) if before != primary || new_term => {
                self.failovers += 1;
                self.failover_times.push(SeenFailover {
                    old_seen_at,
                    new_seen_at: now,
                });
                if let Some(functions) = &self.functions
                    && let Err(e) = functions.load_at(self.endpoint)
                {
                    eprintln!(
                        "warning: could not load the worker's Functions on the new primary {primary}: {e}"
                    );
                }
                let what = match term {
                    Some(term) if before == primary => {
                        format!("failover: {primary} is the leader again, elected in term {term}")
                    }
                    _ => format!("failover: {primary} is the primary now (was {before})"),
                };
                self.note(EventKind::RedisUp, &what);
                true
            }
            _ => false,
        }
    }
}

/// A failover the supervisor saw (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SeenFailover {
    /// The old primary's last answer as primary (it was paused or dead
    /// from some moment after this).
    pub old_seen_at: f64,
    /// The first answer naming the new primary.
    pub new_seen_at: f64,
}

/// The longest failover of a job, seconds: from each death or kill of the
/// primary (`primary_down`, Unix seconds) to the next applied commit; for a
/// failover with no death before it (a primary paused with SIGSTOP until
/// Sentinel or Raft replaced it), from when the pause began to the first
/// commit after the failover. The pause's start is not seen, so it is
/// taken as the earlier of the last commit before the failover and the old
/// primary's last answer as primary (within one check, 100 ms, of the
/// pause; Sentinel names the old primary until it fails over, so there
/// the last commit bounds it).
pub(super) fn failover_s(
    primary_down: &[f64],
    failovers: &[SeenFailover],
    events: &[Event],
) -> f64 {
    let commits: Vec<f64> = events
        .iter()
        .filter(|e| e.kind == EventKind::Committed)
        .map(|e| e.at_unix_s)
        .collect();
    let next_commit = |after: f64| commits.iter().copied().find(|&t| t > after);
    let from_deaths = primary_down
        .iter()
        .filter_map(|&down| next_commit(down).map(|t| t - down));
    let from_pauses = failovers
        .iter()
        .filter(|seen| {
            // A failover explained by a death within the previous 30 s is counted above.
            !primary_down
                .iter()
                .any(|&down| down <= seen.new_seen_at && seen.new_seen_at - down < 30.0)
        })
        .filter_map(|seen| {
            let last_commit = commits.iter().copied().rfind(|&t| t <= seen.new_seen_at);
            let began = last_commit.map_or(seen.old_seen_at, |t| t.min(seen.old_seen_at));
            next_commit(seen.new_seen_at).map(|after| after - began)
        });
    from_deaths.chain(from_pauses).fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(at: f64) -> Event {
        Event {
            at_unix_s: at,
            worker: 0,
            kind: EventKind::Committed,
            unit: String::new(),
            detail: String::new(),
        }
    }

    #[test]
    fn a_failover_lasts_from_the_death_or_the_last_commit_to_the_next_commit() {
        let events = [commit(1.0), commit(2.0), commit(5.5), commit(6.0)];
        let seen = |old_seen_at, new_seen_at| SeenFailover {
            old_seen_at,
            new_seen_at,
        };
        assert_eq!(failover_s(&[], &[], &events), 0.0);
        assert_eq!(failover_s(&[3.0], &[seen(3.0, 4.0)], &events), 2.5);
        // A pause: no death seen, the failover at 5.0 follows the commit at 2.0.
        assert_eq!(failover_s(&[], &[seen(4.9, 5.0)], &events), 3.5);
        // A pause before the first commit (RedisRaft's leader paused while
        // the first units are counted): from the old leader's last answer.
        let late = [commit(7.0), commit(8.0)];
        assert_eq!(failover_s(&[], &[seen(3.0, 5.0)], &late), 4.0);
    }
}
