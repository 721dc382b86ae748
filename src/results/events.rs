//! The per-run event log: who did what to which unit, and when. Workers
//! append events to their own log file (one CSV line each, flushed at once,
//! so a crash loses at most the event being written); the harness merges
//! them into `<run-id>.events.csv` for timeline plots.

use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A worker process started.
    Start,
    /// A worker took a unit (read it from the queue).
    Take,
    /// A worker took over a unit another worker held too long (XAUTOCLAIM).
    Steal,
    /// A worker finished counting a unit.
    Counted,
    /// A worker's commit of a unit was applied.
    Committed,
    /// A worker's commit was refused (the unit was already committed).
    Refused,
    /// A worker crashed on purpose (injected) or was killed from outside.
    Crash,
    /// A worker process exited normally.
    Exit,
    /// The Redis server went down.
    RedisDown,
    /// The Redis server came back.
    RedisUp,
    /// An emulated host was cut off Redis (a partition; detail: `host-N`).
    HostCut,
    /// A cut host's link was restored.
    HostRestored,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the Unix epoch (workers and harness share the clock).
    pub at_unix_s: f64,
    /// Worker index, or -1 for the harness itself.
    pub worker: i64,
    /// What happened.
    pub kind: EventKind,
    /// The unit concerned (`path:start-end`), empty when none.
    pub unit: String,
    /// Free text (e.g. the crash point, the previous owner).
    pub detail: String,
}

/// Seconds since the Unix epoch, now.
pub(crate) fn now_unix_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Appends events to a file, one CSV line each, flushed immediately.
pub(crate) struct EventWriter {
    writer: csv::Writer<std::fs::File>,
    worker: i64,
}

impl EventWriter {
    /// Opens (creating or appending to) `path` for events of `worker`.
    pub(crate) fn append(path: &Path, worker: i64) -> io::Result<EventWriter> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(file);
        Ok(EventWriter { writer, worker })
    }

    /// Records one event now.
    pub(crate) fn record(&mut self, kind: EventKind, unit: &str, detail: &str) -> io::Result<()> {
        let event = Event {
            at_unix_s: now_unix_s(),
            worker: self.worker,
            kind,
            unit: unit.to_string(),
            detail: detail.to_string(),
        };
        self.writer.serialize(&event).map_err(io::Error::other)?;
        self.writer.flush()
    }
}

/// Reads events written by [`EventWriter`] (no header). A last line cut
/// short by a crash is ignored.
pub fn read_events(path: &Path) -> io::Result<Vec<Event>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .map_err(io::Error::other)?;
    Ok(reader.deserialize().filter_map(Result::ok).collect())
}

/// Writes events with a header, sorted by time.
pub(crate) fn write_events_csv<W: Write>(out: W, events: &[Event]) -> io::Result<()> {
    let mut sorted = events.to_vec();
    sorted.sort_by(|a, b| a.at_unix_s.total_cmp(&b.at_unix_s));
    let mut writer = csv::Writer::from_writer(out);
    for event in &sorted {
        writer.serialize(event).map_err(io::Error::other)?;
    }
    writer.flush()
}

/// Reads a CSV written by [`write_events_csv`].
pub(crate) fn read_events_csv(path: &Path) -> io::Result<Vec<Event>> {
    let mut reader = csv::Reader::from_path(path).map_err(io::Error::other)?;
    reader
        .deserialize()
        .collect::<Result<Vec<Event>, _>>()
        .map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_a_torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w0.events");
        let mut writer = EventWriter::append(&path, 0).unwrap();
        writer.record(EventKind::Take, "a.txt:0-10", "").unwrap();
        writer
            .record(EventKind::Committed, "a.txt:0-10", "with, comma")
            .unwrap();
        drop(writer);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"17.5,0,cou")
            .unwrap();
        let events = read_events(&path).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].detail, "with, comma");
        let mut csv_bytes = Vec::new();
        write_events_csv(&mut csv_bytes, &events).unwrap();
        let out = dir.path().join("run.events.csv");
        std::fs::write(&out, &csv_bytes).unwrap();
        assert_eq!(read_events_csv(&out).unwrap(), events);
    }
}
