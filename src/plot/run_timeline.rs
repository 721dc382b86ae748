//! The timeline of one run: picks the run in a results CSV, reads its
//! event log, and turns the events into a [`Timeline`] (which worker held
//! which unit when, counting vs committing, steals, refused commits,
//! crashes and Redis outages) for the Gantt chart of [`super::gantt`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{Mark, MarkKind, Outage, Span, SpanKind, Timeline, draw_timeline};
use crate::results::events::{Event, EventKind, read_events_csv};
use crate::results::{events_path, read_rows};

/// Builds a timeline from events; times become seconds since the first event.
pub(crate) fn timeline_from_events(
    events: &[Event],
    title: String,
    subtitle: Option<String>,
    row_names: &BTreeMap<usize, String>,
) -> Timeline {
    let start = events
        .iter()
        .map(|e| e.at_unix_s)
        .fold(f64::INFINITY, f64::min);
    let at = |e: &Event| e.at_unix_s - start;
    let workers = events
        .iter()
        .filter(|e| e.worker >= 0)
        .map(|e| e.worker as usize)
        .max()
        .map_or(0, |w| w + 1);
    // Emulated hosts: workers grouped by the host they ran on (from their
    // Start events' `host=N`), each row named after its host.
    let mut host_of: BTreeMap<usize, u32> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.worker >= 0 && e.kind == EventKind::Start)
    {
        if let Some(host) = e
            .detail
            .split_whitespace()
            .find_map(|f| f.strip_prefix("host="))
            .and_then(|h| h.parse::<u32>().ok())
            .filter(|&h| h > 0)
        {
            host_of.insert(e.worker as usize, host);
        }
    }
    let mut order: Vec<usize> = (0..workers).collect();
    order.sort_by_key(|w| (host_of.get(w).copied().unwrap_or(0), *w));
    let row_of: BTreeMap<usize, usize> = order.iter().enumerate().map(|(r, w)| (*w, r)).collect();
    let rows = order
        .iter()
        .map(|&w| {
            let name = row_names
                .get(&w)
                .cloned()
                .unwrap_or_else(|| format!("worker {w}"));
            match host_of.get(&w) {
                Some(host) => format!("host-{host}: {name}"),
                None => name,
            }
        })
        .collect();
    let mut timeline = Timeline {
        title,
        subtitle,
        rows,
        ..Timeline::default()
    };
    // Per worker: the unit in hand (label, taken at, stolen?) and when counting ended.
    let mut holding: BTreeMap<usize, (String, f64, bool)> = BTreeMap::new();
    let mut counted: BTreeMap<usize, f64> = BTreeMap::new();
    let mut down_since: Option<f64> = None;
    let mut down_label: Option<String> = None;
    let mut cut_since: BTreeMap<String, f64> = BTreeMap::new();
    let short = |unit: &str| unit.rsplit('/').next().unwrap_or(unit).to_string();
    let mut sorted = events.to_vec();
    sorted.sort_by(|a, b| a.at_unix_s.total_cmp(&b.at_unix_s));
    for event in &sorted {
        let t = at(event);
        if event.worker < 0 {
            match event.kind {
                EventKind::RedisDown => {
                    down_since = down_since.or(Some(t));
                    // The harness's kill names the node: "kill -9 primary (primary; at:25%)".
                    if let Some(killed) = event.detail.strip_prefix("kill -9 ")
                        && down_label.is_none()
                    {
                        let node = killed.split(" (").next().unwrap_or(killed);
                        down_label = Some(format!("{node} killed"));
                    }
                }
                EventKind::RedisUp if event.detail.starts_with("failover: ") => {
                    // Sentinel promoted another node: said on the outage it ended or is in.
                    let promoted = event
                        .detail
                        .trim_start_matches("failover: ")
                        .split(" is the primary")
                        .next()
                        .unwrap_or_default();
                    let note = format!("failover to {promoted}");
                    match (&mut down_label, down_since, timeline.outages.last_mut()) {
                        (Some(label), Some(_), _) => label.push_str(&format!("; {note}")),
                        (_, None, Some(last)) if !last.label.ends_with("cut off") => {
                            last.label.push_str(&format!("; {note}"));
                        }
                        _ => {}
                    }
                }
                EventKind::RedisUp => {
                    if let Some(since) = down_since.take() {
                        let label = match down_label.take() {
                            Some(what) => what,
                            None => "Redis down".into(),
                        };
                        timeline.outages.push(Outage {
                            start_s: since,
                            end_s: t,
                            label,
                        });
                    }
                }
                EventKind::HostCut => {
                    cut_since.insert(host_label(&event.detail), t);
                }
                EventKind::HostRestored => {
                    let host = host_label(&event.detail);
                    if let Some(since) = cut_since.remove(&host) {
                        timeline.outages.push(Outage {
                            start_s: since,
                            end_s: t,
                            label: format!("{host} cut off"),
                        });
                    }
                }
                _ => {}
            }
            continue;
        }
        let row = row_of
            .get(&(event.worker as usize))
            .copied()
            .unwrap_or(event.worker as usize);
        let mark = |kind| Mark { row, at_s: t, kind };
        match event.kind {
            EventKind::Start => timeline.marks.push(mark(MarkKind::Start)),
            EventKind::Exit => timeline.marks.push(mark(MarkKind::Exit)),
            EventKind::Take | EventKind::Steal => {
                if event.kind == EventKind::Steal {
                    timeline.marks.push(mark(MarkKind::Steal));
                }
                holding.insert(row, (event.unit.clone(), t, event.kind == EventKind::Steal));
                counted.remove(&row);
            }
            EventKind::Counted => {
                if let Some((unit, taken, stolen)) = holding.get(&row) {
                    let kind = if *stolen {
                        SpanKind::Stolen
                    } else {
                        SpanKind::Count
                    };
                    timeline.spans.push(Span {
                        row,
                        start_s: *taken,
                        end_s: t,
                        kind,
                        label: Some(short(unit)),
                    });
                    counted.insert(row, t);
                }
            }
            EventKind::Committed | EventKind::Refused => {
                let from = counted
                    .remove(&row)
                    .or_else(|| holding.get(&row).map(|h| h.1))
                    .unwrap_or(t);
                let kind = if event.kind == EventKind::Committed {
                    SpanKind::Commit
                } else {
                    SpanKind::Wasted
                };
                timeline.spans.push(Span {
                    row,
                    start_s: from,
                    end_s: t,
                    kind,
                    label: None,
                });
                if event.kind == EventKind::Refused {
                    timeline.marks.push(mark(MarkKind::Refused));
                }
                holding.remove(&row);
            }
            EventKind::Crash => {
                if let Some((unit, taken, _)) = holding.remove(&row) {
                    timeline.spans.push(Span {
                        row,
                        start_s: taken,
                        end_s: t,
                        kind: SpanKind::Wasted,
                        label: Some(short(&unit)),
                    });
                }
                counted.remove(&row);
                timeline.marks.push(mark(MarkKind::Crash));
            }
            EventKind::RedisDown
            | EventKind::RedisUp
            | EventKind::HostCut
            | EventKind::HostRestored => {}
        }
    }
    for (host, since) in cut_since {
        let end = sorted.last().map_or(since, at);
        timeline.outages.push(Outage {
            start_s: since,
            end_s: end,
            label: format!("{host} cut off"),
        });
    }
    if let Some(since) = down_since {
        let end = sorted.last().map_or(since, at);
        timeline.outages.push(Outage {
            start_s: since,
            end_s: end,
            label: "Redis down".into(),
        });
    }
    timeline
}

/// `host-N` of a partition event's detail (`host-N (host-N:at:..)`).
fn host_label(detail: &str) -> String {
    detail
        .split_whitespace()
        .next()
        .unwrap_or("host")
        .to_owned()
}

/// Draws the timeline of run `run_id` of the results CSV `csv` into
/// `out_dir/<run-id>-timeline.png`.
pub(crate) fn draw_run_timeline(csv: &Path, run_id: &str, out_dir: &Path) -> Result<PathBuf> {
    let rows = read_rows(csv)?;
    let Some(row) = rows.iter().find(|r| r.run_id == run_id) else {
        let with_events: Vec<&str> = rows
            .iter()
            .filter(|r| events_path(csv, &r.run_id).exists())
            .map(|r| r.run_id.as_str())
            .take(8)
            .collect();
        bail!(
            "no run `{run_id}` in {}; runs with event logs include: {}",
            csv.display(),
            if with_events.is_empty() {
                "none (only redis-mode runs log events)".to_string()
            } else {
                with_events.join(", ")
            }
        );
    };
    let path = events_path(csv, run_id);
    let events = read_events_csv(&path).with_context(|| {
        format!(
            "cannot read the event log {} (only redis-mode runs log events)",
            path.display()
        )
    })?;
    let mut names = BTreeMap::new();
    for slow in row.slow.split(';').filter(|s| !s.is_empty()) {
        if let Some((worker, fraction)) = slow.split_once(':')
            && let (Ok(worker), Ok(fraction)) = (worker.parse::<usize>(), fraction.parse::<f64>())
        {
            names.insert(
                worker,
                format!("worker {worker} (cpu {:.0}%)", fraction * 100.0),
            );
        }
    }
    let title = format!("{}: timeline of {run_id}", row.experiment);
    let subtitle = format!(
        "mode {}, {} workers, input {}, {:.2}s, {}",
        row.mode,
        row.workers,
        row.input,
        row.wall_s,
        if row.correct { "exact" } else { "WRONG counts" }
    );
    let timeline = timeline_from_events(&events, title, Some(subtitle), &names);
    let out = out_dir.join(format!("{run_id}-timeline.png"));
    draw_timeline(&timeline, &out)
        .with_context(|| format!("cannot draw the timeline of {run_id}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(t: f64, worker: i64, kind: EventKind, unit: &str) -> Event {
        Event {
            at_unix_s: 1000.0 + t,
            worker,
            kind,
            unit: unit.into(),
            detail: String::new(),
        }
    }

    #[test]
    fn a_primary_kill_and_its_failover_name_the_outage() {
        let harness = |t, kind, detail: &str| Event {
            detail: detail.into(),
            ..event(t, -1, kind, "")
        };
        let events = vec![
            event(0.0, 0, EventKind::Start, ""),
            harness(
                0.1,
                EventKind::RedisDown,
                "kill -9 primary (primary; at:25%)",
            ),
            harness(
                2.4,
                EventKind::RedisUp,
                "primary restarted as a replica of replica-1",
            ),
            harness(
                2.41,
                EventKind::RedisUp,
                "failover: replica-1 is the primary now (was primary)",
            ),
        ];
        let timeline = timeline_from_events(&events, "t".into(), None, &BTreeMap::new());
        assert_eq!(timeline.outages.len(), 1);
        assert_eq!(
            timeline.outages[0].label,
            "primary killed; failover to replica-1"
        );
    }

    #[test]
    fn events_become_spans_marks_and_outages() {
        let events = vec![
            event(0.0, 0, EventKind::Start, ""),
            event(0.1, 0, EventKind::Take, "/d/a.txt:0-10"),
            event(0.5, 0, EventKind::Counted, "/d/a.txt:0-10"),
            event(0.6, 0, EventKind::Committed, "/d/a.txt:0-10"),
            event(0.2, 1, EventKind::Take, "/d/b.txt:0-10"),
            event(0.3, 1, EventKind::Crash, "/d/b.txt:0-10"),
            event(0.7, 0, EventKind::Steal, "/d/b.txt:0-10"),
            event(0.9, 0, EventKind::Counted, "/d/b.txt:0-10"),
            event(1.0, 0, EventKind::Refused, "/d/b.txt:0-10"),
            event(0.4, -1, EventKind::RedisDown, ""),
            event(0.45, -1, EventKind::RedisUp, ""),
        ];
        let timeline = timeline_from_events(&events, "t".into(), None, &BTreeMap::new());
        assert_eq!(timeline.rows, vec!["worker 0", "worker 1"]);
        let kinds: Vec<(usize, SpanKind)> =
            timeline.spans.iter().map(|s| (s.row, s.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (1, SpanKind::Wasted),
                (0, SpanKind::Count),
                (0, SpanKind::Commit),
                (0, SpanKind::Stolen),
                (0, SpanKind::Wasted)
            ]
        );
        assert_eq!(timeline.spans[1].label.as_deref(), Some("a.txt:0-10"));
        assert!((timeline.spans[1].start_s - 0.1).abs() < 1e-9);
        assert_eq!(timeline.outages.len(), 1);
        let marks: Vec<MarkKind> = timeline.marks.iter().map(|m| m.kind).collect();
        assert_eq!(
            marks,
            vec![
                MarkKind::Start,
                MarkKind::Crash,
                MarkKind::Steal,
                MarkKind::Refused
            ]
        );
    }
}
