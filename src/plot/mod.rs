//! PNG charts of experiment results, made from result files alone.
//!
//! Depends on [`crate::results`] only. The chart drawing itself (`line`,
//! `bar`, `gantt`, with `axis` and `canvas`) knows nothing about CSV files:
//! it takes plain, already aggregated data (medians and min..max spreads,
//! per-worker spans and events) and writes one PNG file per chart. Two
//! modules turn result files into such data: `figures` (the plots an
//! experiment's sidecar asks for, aggregated by the rules of
//! [`crate::results`]) and `run_timeline` (the event log of one run as a
//! timeline).
//!
//! Three chart kinds are provided:
//!
//! * [`draw_line_chart`]: lines through the medians of repeated runs, with
//!   min..max whiskers, optional log axes and a dashed reference line
//!   (e.g. ideal speed-up or efficiency).
//! * [`draw_timeline`]: a per-worker Gantt chart of work units, commits,
//!   waits, stolen and wasted work, with event markers (crash, steal, ...)
//!   and shaded global outages (e.g. "Redis down").
//! * [`draw_bar_chart`]: grouped bars per category (e.g. words differing per
//!   crash point, atomic vs plain commit) with optional whiskers.
//!
//! All charts are 1280 pixels wide with a white background; line and bar
//! charts are 800 pixels high, timelines grow with the number of rows. Text
//! uses the DejaVu Sans font embedded in the binary, so no system fonts are
//! needed. Files are written atomically: the image goes to a temporary file
//! in the target directory which is then renamed over `out`, so a crash never
//! leaves a half-written PNG behind. The target directory is created if
//! missing.

mod axis;
mod bar;
mod canvas;
mod figures;
mod gantt;
mod layout;
mod line;
mod run_timeline;

use std::path::PathBuf;

pub use bar::draw_bar_chart;
pub use figures::{build_bar_chart, build_chart, draw_experiment_plots};
pub use gantt::draw_timeline;
pub use layout::{ChartLayout, LegendItem, bar_chart_layout, line_chart_layout};
pub use line::draw_line_chart;
pub(crate) use run_timeline::draw_run_timeline;

/// Width of every chart, in pixels.
pub(crate) const WIDTH: u32 = 1280;
/// Height of line and bar charts, in pixels.
pub(crate) const HEIGHT: u32 = 800;
/// Minimum height of a timeline, in pixels (timelines grow with their rows).
pub(crate) const TIMELINE_MIN_HEIGHT: u32 = 400;

pub(crate) use crate::results::{Series, SpreadPoint};

/// How tick labels of an axis are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AxisFormat {
    /// Plain numbers with SI suffixes from a thousand on: `0.5`, `100`, `1k`, `2.5M`.
    #[default]
    Plain,
    /// Byte sizes with decimal units (1KB = 1000 bytes): `512B`, `1KB`, `1.5MB`, `2GB`.
    Bytes,
    /// Durations given in seconds: `250ms`, `1.5s`, `120s` (`µs` below a millisecond).
    Seconds,
}

/// A line chart.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    /// Main title, drawn bold at the top.
    pub title: String,
    /// Optional second line under the title (e.g. input name, scale), drawn smaller.
    pub subtitle: Option<String>,
    /// X axis description including the unit, e.g. "workers (p)".
    pub x_label: String,
    /// Y axis description including the unit, e.g. "wall time (s)".
    pub y_label: String,
    /// Use a log10 x axis (points with x <= 0 are skipped).
    pub x_log: bool,
    /// Use a log10 y axis (medians <= 0 are skipped, whisker ends <= 0 are cut at the median).
    pub y_log: bool,
    /// Tick label format of the x axis.
    pub x_format: AxisFormat,
    /// Tick label format of the y axis.
    pub y_format: AxisFormat,
    /// The lines; colours come from a fixed colour-blind-friendly palette,
    /// marker shapes change each time the palette wraps around.
    pub series: Vec<Series>,
    /// Optional horizontal reference line `(y, legend text)`, e.g. `(1.0, "ideal efficiency")`,
    /// drawn dashed grey.
    pub reference_line: Option<(f64, String)>,
    /// Start a linear y axis at 0 (ignored for log y).
    pub y_from_zero: bool,
}

/// Kind of a timeline span; decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpanKind {
    /// Counting words of a unit (blue).
    Count,
    /// Committing a unit's result (orange).
    Commit,
    /// Waiting for work or for a lock (light grey).
    Wait,
    /// A unit this worker took over from another worker (purple).
    Stolen,
    /// Work whose commit was refused or lost to a crash (red, hatched).
    Wasted,
}

/// One bar of a timeline row.
#[derive(Debug, Clone)]
pub struct Span {
    /// Row index into [`Timeline::rows`] (row 0 is drawn at the top).
    pub row: usize,
    /// Start, in seconds since job start.
    pub start_s: f64,
    /// End, in seconds since job start.
    pub end_s: f64,
    /// What the worker was doing.
    pub kind: SpanKind,
    /// Optional text (e.g. file name) drawn inside the bar when it fits.
    pub label: Option<String>,
}

/// Kind of an instant event on a timeline; decides its marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarkKind {
    /// The worker crashed (red X).
    Crash,
    /// The worker stole a unit from another worker (purple triangle).
    Steal,
    /// The worker started (small green tick).
    Start,
    /// The worker exited normally (small black tick).
    Exit,
    /// A commit of this worker was refused (black circle).
    Refused,
}

/// An instant event on a timeline row.
#[derive(Debug, Clone)]
pub struct Mark {
    /// Row index into [`Timeline::rows`].
    pub row: usize,
    /// Time of the event, in seconds since job start.
    pub at_s: f64,
    /// What happened.
    pub kind: MarkKind,
}

/// A global outage, shaded across all rows of a timeline.
#[derive(Debug, Clone)]
pub struct Outage {
    /// Start, in seconds since job start.
    pub start_s: f64,
    /// End, in seconds since job start.
    pub end_s: f64,
    /// Text drawn above the shaded region, e.g. "Redis down".
    pub label: String,
}

/// Per-worker timeline (Gantt): one row per worker, spans colored by kind,
/// point markers for instant events, and shaded global outage spans.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Main title, drawn bold at the top.
    pub title: String,
    /// Optional second line under the title, drawn smaller.
    pub subtitle: Option<String>,
    /// Row names from top to bottom, e.g. "worker 0 (cpu 50%)". Rows referenced by
    /// spans or marks beyond this list are added with the name "row N".
    pub rows: Vec<String>,
    /// Bars; overlapping bars of one row are drawn Wait, Count, Stolen, Commit, Wasted
    /// (later ones on top).
    pub spans: Vec<Span>,
    /// Instant events.
    pub marks: Vec<Mark>,
    /// Global outages.
    pub outages: Vec<Outage>,
}

/// A grouped bar chart (e.g. words differing per crash point, atomic vs plain):
/// categories on x, one bar per group within each category, with optional
/// min..max whiskers.
#[derive(Debug, Clone, Default)]
pub struct BarChart {
    /// Main title, drawn bold at the top.
    pub title: String,
    /// Optional second line under the title, drawn smaller.
    pub subtitle: Option<String>,
    /// X axis description.
    pub x_label: String,
    /// Y axis description including the unit.
    pub y_label: String,
    /// Category names, left to right.
    pub categories: Vec<String>,
    /// One entry per group (bar colour), in legend order.
    pub groups: Vec<BarGroup>,
    /// Use a log10 y axis (bars start at the bottom of the axis; values <= 0 get no bar).
    pub y_log: bool,
    /// Tick label format of the y axis (and of the value written above each bar).
    pub y_format: AxisFormat,
}

/// One group of bars: a value per category.
#[derive(Debug, Clone, Default)]
pub struct BarGroup {
    /// Legend text.
    pub label: String,
    /// `values[i]` belongs to `categories[i]`; `None` means no bar. The bar height
    /// is the median, the whisker spans min..max; the `x` field is ignored.
    pub values: Vec<Option<SpreadPoint>>,
}

/// Why a chart could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Nothing drawable was given.
    #[error(
        "nothing to plot: {what}; check that the aggregated results contain rows for this chart \
         (log axes drop values <= 0 and non-finite values are always dropped)"
    )]
    NoData {
        /// What was missing, naming the chart.
        what: String,
    },
    /// The output directory or file could not be created, written or renamed.
    #[error("cannot write chart {}: {source}; check that the directory is writable and the disk is not full", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The drawing library failed (font, encoding or backend error).
    #[error("drawing chart {} failed: {message}; the data may contain extreme values, or the file could not be encoded", path.display())]
    Draw {
        /// The output file.
        path: PathBuf,
        /// The drawing library's message.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders one example of each chart for eyeballing:
    /// `PLOT_EXAMPLES_DIR=/tmp/plot-examples cargo test render_examples -- --ignored`.
    #[test]
    #[ignore = "writes example PNGs for manual inspection"]
    fn render_examples() {
        let dir = std::path::PathBuf::from(
            std::env::var("PLOT_EXAMPLES_DIR").unwrap_or_else(|_| "/tmp/plot-examples".into()),
        );
        let sp = |x: f64, m: f64, spread: f64| SpreadPoint {
            x,
            median: m,
            min: m * (1.0 - spread),
            max: m * (1.0 + spread * 1.3),
        };
        let workers = [1.0, 2.0, 4.0, 8.0, 16.0];
        let series = |label: &str, base: f64, eff: f64| Series {
            label: label.into(),
            points: workers
                .iter()
                .map(|&p| sp(p, base / p.powf(eff), 0.06))
                .collect(),
        };
        let line = LineChart {
            title: "Wall time vs number of workers".into(),
            subtitle: Some("input books-1GB (1.0 GB), median of 5 runs, whiskers min..max".into()),
            x_label: "workers (p)".into(),
            y_label: "wall time (s)".into(),
            x_log: true,
            y_log: true,
            series: vec![
                series("redis queue, 1 MB units", 120.0, 0.92),
                series("redis queue, 16 MB units", 118.0, 0.85),
                series("static partition", 125.0, 0.7),
                series("single process baseline", 110.0, 0.0),
            ],
            ..Default::default()
        };
        draw_line_chart(&line, &dir.join("line-walltime.png")).unwrap();

        let eff = LineChart {
            title: "Parallel efficiency".into(),
            subtitle: Some("E(p) = T(1) / (p · T(p))".into()),
            x_label: "workers (p)".into(),
            y_label: "efficiency".into(),
            y_from_zero: true,
            reference_line: Some((1.0, "ideal efficiency".into())),
            series: (0..10)
                .map(|i| Series {
                    label: format!("chunk size {} KB", 64 << i),
                    points: workers
                        .iter()
                        .map(|&p| sp(p, 1.0 / (1.0 + 0.02 * (i + 1) as f64 * p), 0.03))
                        .collect(),
                })
                .collect(),
            ..Default::default()
        };
        draw_line_chart(&eff, &dir.join("line-efficiency.png")).unwrap();

        let sizes = LineChart {
            title: "Throughput vs input size".into(),
            subtitle: None,
            x_label: "input size".into(),
            y_label: "time per run".into(),
            x_log: true,
            y_log: true,
            x_format: AxisFormat::Bytes,
            y_format: AxisFormat::Seconds,
            series: vec![Series {
                label: "4 workers".into(),
                points: (0..8)
                    .map(|k| sp(1e3 * 10f64.powi(k), 0.002 * 10f64.powi(k) + 0.05, 0.1))
                    .collect(),
            }],
            ..Default::default()
        };
        draw_line_chart(&sizes, &dir.join("line-sizes.png")).unwrap();

        draw_timeline(&gantt::tests_support::sample(4), &dir.join("timeline.png")).unwrap();
        draw_timeline(
            &gantt::tests_support::sample(12),
            &dir.join("timeline-12.png"),
        )
        .unwrap();
        draw_bar_chart(&bar::tests_support::sample(), &dir.join("bars.png")).unwrap();
        let many = BarChart {
            title: "Many groups and long category names".into(),
            subtitle: Some("log y axis".into()),
            x_label: "category".into(),
            y_label: "bytes moved".into(),
            categories: (0..9)
                .map(|i| format!("a rather long category name {i}"))
                .collect(),
            groups: (0..6)
                .map(|g| BarGroup {
                    label: format!("group {g}"),
                    values: (0..9)
                        .map(|c| {
                            let m = 1e3 * f64::from(c * g + 1).powi(3);
                            Some(SpreadPoint {
                                x: 0.0,
                                median: m,
                                min: m * 0.7,
                                max: m * 1.4,
                            })
                        })
                        .collect(),
                })
                .collect(),
            y_log: true,
            y_format: AxisFormat::Bytes,
        };
        draw_bar_chart(&many, &dir.join("bars-many.png")).unwrap();
    }
}
