//! Kills and restarts of the managed server during a job (Lab 4.1), the
//! harness's events about them, and putting the job back after a restart.

use std::path::Path;

use crate::events::{Event, EventKind, now_unix_s};
use crate::input::Unit;
use crate::queue::{Endpoint, QueueError, StreamQueue};
use crate::servers::RedisServer;

/// Kills and restarts of the managed server and what the harness noted.
pub(super) struct RedisOutage<'a> {
    queue: &'a StreamQueue,
    endpoint: &'a Endpoint,
    units: &'a [Unit],
    atomic: bool,
    /// The harness's own events (worker -1).
    pub events: Vec<Event>,
    /// Restarts so far.
    pub restarts: u64,
}

impl<'a> RedisOutage<'a> {
    /// Nothing killed yet.
    pub fn new(
        queue: &'a StreamQueue,
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

    /// kill -9 of the server.
    pub fn kill(&mut self, server: &mut RedisServer, when: &str) -> Result<(), QueueError> {
        server.kill9()?;
        self.note(EventKind::RedisDown, &format!("kill -9 ({when})"));
        Ok(())
    }

    /// Starts the server again (it loads its last snapshot, if any) and puts
    /// back what it lost: the queue when no snapshot had it, the Function.
    pub fn restart(&mut self, server: &mut RedisServer) -> Result<(), QueueError> {
        server.restart()?;
        self.restarts += 1;
        let mut con = self.endpoint.connect()?;
        let requeued = self.queue.restore(&mut con, self.units, self.atomic)?;
        let detail = if requeued {
            "restarted empty (no snapshot yet): job queued again"
        } else {
            "restarted from its snapshot"
        };
        self.note(EventKind::RedisUp, detail);
        Ok(())
    }
}

/// The last lines of a log file, for messages.
pub(super) fn log_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}
