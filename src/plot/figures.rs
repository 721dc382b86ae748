//! Figures of an experiment, from its results alone: reads the CSV and its
//! sidecar (the plots the experiment asked for), turns each plot spec into
//! a chart (medians with min..max spreads, speed-up and efficiency from
//! the serial runs of the same input, all by the rules of
//! [`crate::results`]'s aggregation), and draws one PNG per plot.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{
    AxisFormat, BarChart, BarGroup, LineChart, Series, SpreadPoint, draw_bar_chart, draw_line_chart,
};
use crate::results::{
    Columns, Drawing, PlotFaults, PlotKind, PlotSpec, RunRow, Sidecar, bar_series, check_column,
    columns, events_path, plot_series, read_rows, read_sidecar, text_of,
};

/// The plots to draw when the experiment named none: time, and for runs
/// with several worker counts speed-up and efficiency, vs workers.
fn default_plots(rows: &[RunRow]) -> Vec<PlotSpec> {
    let mut workers: Vec<u32> = rows.iter().map(|r| r.workers).collect();
    workers.sort_unstable();
    workers.dedup();
    let plot = |kind| PlotSpec::new(kind, "workers", &["mode"]);
    let mut plots = vec![plot(PlotKind::Time)];
    if workers.len() > 1 && rows.iter().any(|r| r.mode == "serial") {
        plots.push(plot(PlotKind::Speedup));
        plots.push(plot(PlotKind::Efficiency));
    }
    plots
}

/// Draws every plot of the experiment whose results are in `csv` into
/// `out_dir`; returns the files written.
pub fn draw_experiment_plots(csv: &Path, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let rows = read_rows(csv)?;
    if rows.is_empty() {
        bail!(
            "{} has no rows: run the experiment first (harness run experiments/NAME.toml)",
            csv.display()
        );
    }
    let sidecar = read_sidecar(csv);
    let plots = match &sidecar {
        Some(s) if !s.plots.is_empty() => s.plots.clone(),
        _ => default_plots(&rows),
    };
    let name = rows[0].experiment.clone();
    let mut written = Vec::new();
    for spec in &plots {
        let file = spec
            .file
            .clone()
            .unwrap_or_else(|| format!("{name}-{}-{}", spec.kind, spec.x));
        let path = out_dir.join(format!("{file}.png"));
        let drawn = match spec.kind.drawing() {
            Drawing::Timeline => {
                written.push(draw_timeline_plot(csv, &rows, spec, out_dir)?);
                continue;
            }
            Drawing::Bars => draw_bar_chart(
                &build_bar_chart(&name, &rows, spec, sidecar.as_ref())?,
                &path,
            ),
            Drawing::Lines => {
                draw_line_chart(&build_chart(&name, &rows, spec, sidecar.as_ref())?, &path)
            }
        };
        drawn
            .with_context(|| format!("cannot draw the {} plot of {}", spec.kind, csv.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// A `timeline` plot: the timeline of the first run (lowest repetition)
/// matching the plot's `where` filter that has an event log.
fn draw_timeline_plot(
    csv: &Path,
    rows: &[RunRow],
    spec: &PlotSpec,
    out_dir: &Path,
) -> Result<PathBuf> {
    let all: Vec<Columns> = rows.iter().map(columns).collect();
    for column in spec.filter.keys() {
        check_column(&all, column, "where")?;
    }
    let chosen = rows
        .iter()
        .zip(&all)
        .filter(|(_, r)| {
            spec.filter
                .iter()
                .all(|(column, value)| text_of(&r[column]) == *value)
        })
        .map(|(row, _)| row)
        .filter(|row| events_path(csv, &row.run_id).exists())
        // A run whose planned fault fired, when there is one.
        .min_by_key(|row| (row.faults_unfired, row.rep));
    let Some(row) = chosen else {
        bail!(
            "no run with an event log matches the timeline plot's where = {:?} (only redis-mode runs log events)",
            spec.filter
        );
    };
    let drawn = super::draw_run_timeline(csv, &row.run_id, out_dir)?;
    match &spec.file {
        Some(file) => {
            let target = out_dir.join(format!("{file}.png"));
            std::fs::rename(&drawn, &target).with_context(|| {
                format!("cannot rename {} to {}", drawn.display(), target.display())
            })?;
            Ok(target)
        }
        None => Ok(drawn),
    }
}

/// Builds the line chart of one plot spec.
pub fn build_chart(
    name: &str,
    rows: &[RunRow],
    spec: &PlotSpec,
    sidecar: Option<&Sidecar>,
) -> Result<LineChart> {
    let mut lines = plot_series(name, rows, spec)?;
    let y_column = spec.y.clone().unwrap_or_else(|| "wall_s".into());
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .collect();
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.median))
        .collect();
    let spans_decades = |v: &[f64]| {
        let positive: Vec<f64> = v.iter().copied().filter(|x| *x > 0.0).collect();
        let (lo, hi) = positive
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        !positive.is_empty() && hi / lo > 100.0
    };
    if spec.kind.ideal_speedup_line() && spec.x == "workers" && !xs.is_empty() {
        let mut ideal: Vec<f64> = xs.clone();
        ideal.sort_by(f64::total_cmp);
        ideal.dedup();
        lines.push(Series {
            label: "ideal (speed-up = p)".into(),
            points: ideal
                .into_iter()
                .map(|x| SpreadPoint::exact(x, x))
                .collect(),
        });
    }
    let (y_label, y_format) = y_axis(spec, &y_column);
    Ok(LineChart {
        title: title(name, spec),
        subtitle: Some(subtitle(name, rows, spec, sidecar)),
        x_label: axis_label(&spec.x),
        y_label,
        x_log: spec.log_x.unwrap_or_else(|| spans_decades(&xs)),
        y_log: spec
            .log_y
            .unwrap_or_else(|| spec.kind.log_y_when_spanning_decades() && spans_decades(&ys)),
        x_format: if spec.x.ends_with("bytes") {
            AxisFormat::Bytes
        } else {
            AxisFormat::Plain
        },
        y_format,
        series: lines,
        reference_line: spec
            .kind
            .reference_line()
            .map(|(y, label)| (y, label.to_string())),
        y_from_zero: !spec.kind.log_y_when_spanning_decades() || !spans_decades(&ys),
    })
}

/// Builds the grouped bar chart of one `bars` plot spec.
pub fn build_bar_chart(
    name: &str,
    rows: &[RunRow],
    spec: &PlotSpec,
    sidecar: Option<&Sidecar>,
) -> Result<BarChart> {
    let bars = bar_series(name, rows, spec)?;
    let y_column = spec.y.clone().unwrap_or_else(|| "wall_s".into());
    let (y_label, y_format) = y_axis(spec, &y_column);
    let n = bars.categories.len();
    Ok(BarChart {
        title: title(name, spec),
        subtitle: Some(subtitle(name, rows, spec, sidecar)),
        x_label: axis_label(&spec.x),
        y_label,
        groups: bars
            .groups
            .into_iter()
            .map(|group| {
                let mut values = vec![None; n];
                for point in group.points {
                    if let Some(slot) = values.get_mut(point.x as usize) {
                        *slot = Some(point);
                    }
                }
                BarGroup {
                    label: group.label,
                    values,
                }
            })
            .collect(),
        categories: bars.categories,
        y_log: spec.log_y.unwrap_or(false),
        y_format,
    })
}

/// The y axis of a plot: its label and tick format.
fn y_axis(spec: &PlotSpec, y_column: &str) -> (String, AxisFormat) {
    match spec.kind {
        PlotKind::Speedup => (spec.baseline.speedup_label().to_string(), AxisFormat::Plain),
        PlotKind::Efficiency => (
            spec.baseline.efficiency_label().to_string(),
            AxisFormat::Plain,
        ),
        PlotKind::Time | PlotKind::Bars | PlotKind::Timeline => (
            axis_label(y_column),
            if y_column.ends_with("_s") {
                AxisFormat::Seconds
            } else if y_column.ends_with("bytes") {
                AxisFormat::Bytes
            } else {
                AxisFormat::Plain
            },
        ),
    }
}

/// A plot's title: the spec's, else the experiment, kind and x.
fn title(name: &str, spec: &PlotSpec) -> String {
    spec.title
        .clone()
        .unwrap_or_else(|| format!("{name}: {} vs {}", spec.kind, spec.x))
}

/// The line under the title: the plot's note, then what was measured where.
fn subtitle(name: &str, rows: &[RunRow], spec: &PlotSpec, sidecar: Option<&Sidecar>) -> String {
    let mut inputs: Vec<String> = rows.iter().map(|r| r.input.clone()).collect();
    inputs.sort();
    inputs.dedup();
    let input_text = if inputs.len() <= 2 {
        inputs.join(" / ")
    } else {
        format!("{} inputs", inputs.len())
    };
    let reps = rows.iter().map(|r| r.rep).max().unwrap_or(1);
    let scale = rows.first().map_or(1.0, |r| r.scale);
    let host = sidecar
        .map(|s| {
            format!(
                ", {} ({} cores)",
                s.environment.cpu_model, s.environment.cores
            )
        })
        .unwrap_or_default();
    let measured = format!(
        "experiment {name}, input {input_text}, scale {scale}; median of {reps} reps, whiskers min-max{host}"
    );
    // Runs whose planned fault did not fire are not in the lines: say so.
    let faults = PlotFaults::of(rows, spec);
    let left_out = match faults {
        f if f.none_fired() => Some(format!(
            "NOT SHOWN: the faults did not happen ({} runs: the planned fault came after the job had ended)",
            f.unfired
        )),
        f if f.unfired > 0 => Some(format!(
            "{} runs left out: the planned fault came after the job had ended",
            f.unfired
        )),
        _ => None,
    };
    let first_line = match (&spec.note, left_out) {
        (Some(note), Some(left_out)) => Some(format!("{note}; {left_out}")),
        (note, left_out) => left_out.or_else(|| note.clone()),
    };
    match first_line {
        Some(note) => format!("{note}\n{measured}"),
        None => measured,
    }
}

fn axis_label(column: &str) -> String {
    match column {
        "workers" => "workers (p)".into(),
        "files" => "input files".into(),
        "wall_s" => "completion time (s)".into(),
        "count_s" => "counting time (s)".into(),
        "merge_s" => "merge time (s)".into(),
        "max_file_bytes" => "file size (bytes)".into(),
        "bytes" => "input size (bytes)".into(),
        "unit_bytes" => "unit of work (bytes)".into(),
        "autoclaim_ms" => "XAUTOCLAIM timeout (ms)".into(),
        "diff_words" => "words differing from the oracle".into(),
        "crash" => "crash point (worker:point:nth unit)".into(),
        other if other.ends_with("_s") => format!("{other} (s)"),
        other if other.ends_with("_ms") => format!("{other} (ms)"),
        other if other.ends_with("bytes") => format!("{other} (bytes)"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(mode: &str, workers: u32, rep: u32, wall_s: f64) -> RunRow {
        RunRow {
            input: "in".into(),
            ..RunRow::sample(mode, workers, rep, wall_s)
        }
    }

    fn spec(kind: PlotKind) -> PlotSpec {
        PlotSpec::new(kind, "workers", &["mode"])
    }

    #[test]
    fn efficiency_uses_the_serial_median_of_the_same_input() {
        let rows = vec![
            row("serial", 1, 1, 2.0),
            row("serial", 1, 2, 2.2),
            row("serial", 1, 3, 1.8),
            row("processes", 2, 1, 1.25),
            row("processes", 2, 2, 1.0),
        ];
        let chart = build_chart("x", &rows, &spec(PlotKind::Efficiency), None).unwrap();
        assert_eq!(chart.series.len(), 1);
        let point = &chart.series[0].points[0];
        assert_eq!(point.x, 2.0);
        assert!(
            (point.max - 1.0).abs() < 1e-9 && (point.min - 0.8).abs() < 1e-9,
            "{point:?}"
        );
        assert_eq!(chart.reference_line, Some((1.0, "ideal efficiency".into())));
    }

    #[test]
    fn an_unknown_column_is_a_clear_error() {
        let rows = vec![row("serial", 1, 1, 2.0)];
        let mut bad = spec(PlotKind::Time);
        bad.x = "wrokers".into();
        let err = build_chart("x", &rows, &bad, None).unwrap_err().to_string();
        assert!(
            err.contains("wrokers") && err.contains("columns are"),
            "{err}"
        );
    }

    #[test]
    fn speedup_without_serial_runs_says_what_to_add() {
        let rows = vec![row("processes", 2, 1, 1.0)];
        let err = build_chart("x", &rows, &spec(PlotKind::Speedup), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("serial"), "{err}");
    }
}
