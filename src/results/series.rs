//! A plot's data, shared by the PNG and the report: the finished runs a
//! `[[plot]]` selects, split into lines, with the median and min..max of
//! the repetitions at each x (speed-up and efficiency against the plot's
//! [`Baseline`]); and the effect-versus-noise test the report flags.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde_json::Value;

use super::aggregate::{Columns, baseline_key, columns, median_min_max, serial_baselines, text_of};
use super::plot_spec::{Baseline, Drawing, PlotSpec};
use super::row::{PARAMETER_COLUMNS, RunRow};

/// One point of a line: x, the median of repetitions, and the min..max spread (whiskers).
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadPoint {
    /// Position on the x axis (ignored by bar charts).
    pub x: f64,
    /// Median of the repetitions; the marker and the line go through it.
    pub median: f64,
    /// Smallest repetition; lower end of the whisker.
    pub min: f64,
    /// Largest repetition; upper end of the whisker.
    pub max: f64,
}

impl SpreadPoint {
    /// A point whose repetitions all gave `y` (no whisker is visible).
    pub(crate) fn exact(x: f64, y: f64) -> Self {
        Self {
            x,
            median: y,
            min: y,
            max: y,
        }
    }
}

/// One named line.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points in any order; they are connected in increasing x order.
    pub points: Vec<SpreadPoint>,
}

/// The key of the runs a one-worker baseline pairs: every parameter but
/// `workers` and `unit_bytes` (the scale is a parameter column too); the
/// unit is matched by [`OneWorkerBaselines::get`].
pub(crate) fn one_worker_key(r: &Columns) -> String {
    PARAMETER_COLUMNS
        .iter()
        .filter(|column| !matches!(**column, "workers" | "unit_bytes"))
        .map(|column| r.get(*column).map(text_of).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("|")
}

/// T_1 per parameter set: the median wall time of the runs with 1 worker
/// and otherwise the same parameters, by [`one_worker_key`] and unit.
#[derive(Debug, Clone, Default)]
pub(crate) struct OneWorkerBaselines {
    by_key: BTreeMap<String, BTreeMap<String, f64>>,
}

impl OneWorkerBaselines {
    /// The baselines of the 1-worker runs among `all`.
    pub(crate) fn of(all: &[Columns]) -> OneWorkerBaselines {
        let mut times: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
        for r in all.iter().filter(|r| r["workers"].as_u64() == Some(1)) {
            times
                .entry(one_worker_key(r))
                .or_default()
                .entry(text_of(&r["unit_bytes"]))
                .or_default()
                .push(r["wall_s"].as_f64().unwrap_or(f64::NAN));
        }
        let by_key = times
            .into_iter()
            .map(|(key, units)| {
                let medians = units
                    .into_iter()
                    .filter_map(|(unit, mut v)| median_min_max(&mut v).map(|(m, _, _)| (unit, m)))
                    .collect();
                (key, medians)
            })
            .collect();
        OneWorkerBaselines { by_key }
    }

    /// T_1 of the run `r`: the 1-worker runs with its unit size, or, when
    /// the 1-worker runs have one unit size only, theirs (an automatic unit
    /// size depends on the worker count).
    pub(crate) fn get(&self, r: &Columns) -> Option<f64> {
        let units = self.by_key.get(&one_worker_key(r))?;
        match units.get(&text_of(&r["unit_bytes"])) {
            Some(t) => Some(*t),
            None if units.len() == 1 => units.values().next().copied(),
            None => None,
        }
    }

    /// True without any 1-worker run.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// A line's legend text for one value of a series column.
pub(crate) fn label_of(column: &str, value: &Value) -> String {
    match (column, value.as_u64()) {
        (c, Some(bytes)) if c.ends_with("bytes") => format!("{c} {}", data_gen::format_size(bytes)),
        ("workers", Some(n)) => format!("{n} workers"),
        ("mode" | "input" | "tokenizer", _) => text_of(value),
        _ => match cell_text(column, value) {
            text if text.is_empty() => format!("{column}=none"),
            text => format!("{column}={text}"),
        },
    }
}

/// A cell as its parameter writes it now (`at:1000` in an older CSV reads
/// `primary:at:1000`), so `where` filters, normalized the same way when
/// the experiment is read, and legends agree whatever version wrote the
/// CSV; a column that is no parameter is its text.
fn cell_text(column: &str, value: &Value) -> String {
    let text = text_of(value);
    crate::params::RedisParams::normalize(column, &text).unwrap_or(text)
}

/// The legend text of the run `r` in a plot: its series columns' values,
/// or `name` for a plot without series.
fn series_label(name: &str, spec: &PlotSpec, r: &Columns) -> String {
    if spec.series.is_empty() {
        return name.to_string();
    }
    spec.series
        .iter()
        .map(|c| label_of(c, &r[c]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fails with the known columns when `column` is not one of the rows'.
pub(crate) fn check_column(rows: &[Columns], column: &str, what: &str) -> Result<()> {
    if rows.first().is_some_and(|r| !r.contains_key(column)) {
        let known: Vec<&str> = rows[0].keys().map(String::as_str).collect();
        bail!(
            "the plot's {what} column `{column}` does not exist; columns are: {}",
            known.join(", ")
        );
    }
    Ok(())
}

/// How a plot's runs stand with their planned faults: among the finished
/// runs its `where` selects, those that planned a fault, and of those the
/// ones whose fault did not fire (left out of the plot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlotFaults {
    /// Runs that planned a fault.
    pub planned: usize,
    /// Of those, runs whose fault did not fire.
    pub unfired: usize,
}

impl PlotFaults {
    /// The counts over `rows` for the plot `spec`.
    pub(crate) fn of(rows: &[RunRow], spec: &PlotSpec) -> PlotFaults {
        let mut faults = PlotFaults::default();
        for r in rows
            .iter()
            .filter(|r| r.finished && !r.faults_planned.is_empty())
        {
            let selected = columns(r);
            if spec.filter.iter().any(|(column, value)| {
                selected
                    .get(column)
                    .map(|cell| cell_text(column, cell))
                    .as_deref()
                    != Some(value)
            }) {
                continue;
            }
            faults.planned += 1;
            faults.unfired += usize::from(r.faults_unfired);
        }
        faults
    }

    /// True when the plot planned faults and none fired: it shows nothing
    /// about them.
    pub(crate) fn none_fired(&self) -> bool {
        self.planned > 0 && self.unfired == self.planned
    }
}

/// The lines of a line plot (`name` labels the single line of a plot
/// without series): finished runs only (a run that missed its deadline has
/// no completion time) whose planned faults fired (`faults_unfired` runs
/// show nothing about their fault; [`PlotFaults`] counts them), filtered by
/// the plot's `where`, one line per value of its series columns, one point
/// per x with the repetitions' median and min..max.
pub(crate) fn plot_series(name: &str, rows: &[RunRow], spec: &PlotSpec) -> Result<Vec<Series>> {
    if let Drawing::Bars = spec.kind.drawing() {
        // One "line" per bar, so the report's effect names group and category.
        let bars = bar_series(name, rows, spec)?;
        return Ok(bars
            .groups
            .into_iter()
            .flat_map(|group| {
                let categories = &bars.categories;
                group.points.into_iter().map(move |point| Series {
                    label: format!(
                        "{}, {}",
                        group.label,
                        categories.get(point.x as usize).map_or("?", String::as_str)
                    ),
                    points: vec![point],
                })
            })
            .collect());
    }
    let (all, y_column) = plotted_rows(rows, spec)?;
    let derived = spec.kind.needs_serial_baseline();
    // Only the baseline this plot uses is built.
    let serial = (derived && spec.baseline == Baseline::Serial).then(|| serial_baselines(&all));
    let one_worker =
        (derived && spec.baseline == Baseline::OneWorker).then(|| OneWorkerBaselines::of(&all));
    let baseline_of = |r: &Columns| match (&serial, &one_worker) {
        (Some(serial), _) => serial.get(&baseline_key(r)).copied(),
        (_, Some(one_worker)) => one_worker.get(r),
        _ => None,
    };
    let no_baselines = serial.as_ref().is_some_and(BTreeMap::is_empty)
        || one_worker
            .as_ref()
            .is_some_and(OneWorkerBaselines::is_empty);
    let mut lines: BTreeMap<String, BTreeMap<u64, (f64, Vec<f64>)>> = BTreeMap::new();
    for r in &all {
        if spec
            .filter
            .iter()
            .any(|(column, value)| cell_text(column, &r[column]) != *value)
        {
            continue;
        }
        if derived && r["mode"] == "serial" && !spec.filter.contains_key("mode") {
            continue;
        }
        let Some(x) = r[&spec.x].as_f64() else {
            bail!(
                "the plot's x column `{}` is not numeric (value {}); pick a numeric column such as workers or files",
                spec.x,
                r[&spec.x]
            );
        };
        let y = if derived {
            let Some(t_base) = baseline_of(r) else {
                continue;
            };
            let t_p = r["wall_s"].as_f64().unwrap_or(f64::NAN);
            let p = r["workers"].as_f64().unwrap_or(1.0);
            spec.kind.derived_y(t_base, p, t_p).unwrap_or(f64::NAN)
        } else {
            r[&y_column].as_f64().unwrap_or(f64::NAN)
        };
        let label = series_label(name, spec, r);
        lines
            .entry(label)
            .or_default()
            .entry(x.to_bits())
            .or_insert((x, Vec::new()))
            .1
            .push(y);
    }
    if derived && no_baselines {
        match spec.baseline {
            Baseline::Serial => bail!(
                "a {} plot needs serial runs of the same input in the CSV (T_s); add mode \"serial\" to the experiment",
                spec.kind
            ),
            Baseline::OneWorker => bail!(
                "a {} plot with baseline = \"one-worker\" needs runs with workers = 1 (T_1); add 1 to the experiment's workers",
                spec.kind
            ),
        }
    }
    Ok(lines
        .into_iter()
        .map(|(label, points)| Series {
            label,
            points: points
                .into_values()
                .filter_map(|(x, mut ys)| {
                    median_min_max(&mut ys).map(|(median, min, max)| SpreadPoint {
                        x,
                        median,
                        min,
                        max,
                    })
                })
                .collect(),
        })
        .collect())
}

/// The data of a `bars` plot: the categories (values of the plot's x
/// column, as their legend text, in sorted order) and one group per value
/// of its series columns, whose points have x = the category's index.
#[derive(Debug, Clone, Default)]
pub(crate) struct BarSeries {
    /// Category labels, left to right.
    pub categories: Vec<String>,
    /// One group (bar colour) per series value; point x = category index.
    pub groups: Vec<Series>,
}

/// The rows a plot draws (finished runs whose planned faults fired) and
/// its y column, after checking that every column it names exists.
fn plotted_rows(rows: &[RunRow], spec: &PlotSpec) -> Result<(Vec<Columns>, String)> {
    let all: Vec<Columns> = rows
        .iter()
        .filter(|r| r.finished && !r.faults_unfired)
        .map(columns)
        .collect();
    check_column(&all, &spec.x, "x")?;
    for column in spec.series.iter().chain(spec.filter.keys()) {
        check_column(&all, column, "series/where")?;
    }
    let y_column = spec.y.clone().unwrap_or_else(|| "wall_s".into());
    check_column(&all, &y_column, "y")?;
    Ok((all, y_column))
}

/// The bars of a `bars` plot: finished runs whose planned faults fired,
/// filtered by `where`, the
/// median and min..max of the y column (default `wall_s`) per series value
/// and x value. `name` labels the single group of a plot without series.
pub(crate) fn bar_series(name: &str, rows: &[RunRow], spec: &PlotSpec) -> Result<BarSeries> {
    let (all, y_column) = plotted_rows(rows, spec)?;
    let selected: Vec<&Columns> = all
        .iter()
        .filter(|r| {
            spec.filter
                .iter()
                .all(|(column, value)| cell_text(column, &r[column]) == *value)
        })
        .collect();
    let category_of = |r: &Columns| match text_of(&r[&spec.x]) {
        text if text.is_empty() => "none".to_string(),
        text => text,
    };
    let mut categories: Vec<String> = selected.iter().map(|r| category_of(r)).collect();
    categories.sort_by(|a, b| (a != "none", a).cmp(&(b != "none", b)));
    categories.dedup();
    let mut groups: BTreeMap<String, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for r in selected {
        let label = series_label(name, spec, r);
        let category = categories
            .iter()
            .position(|c| *c == category_of(r))
            .unwrap_or_default();
        groups
            .entry(label)
            .or_default()
            .entry(category)
            .or_default()
            .push(r[&y_column].as_f64().unwrap_or(f64::NAN));
    }
    Ok(BarSeries {
        categories,
        groups: groups
            .into_iter()
            .map(|(label, bars)| Series {
                label,
                points: bars
                    .into_iter()
                    .filter_map(|(category, mut ys)| {
                        median_min_max(&mut ys).map(|(median, min, max)| SpreadPoint {
                            x: category as f64,
                            median,
                            min,
                            max,
                        })
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// A plot's largest effect: its lowest and its highest median, each with
/// its line and its repetitions' spread.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Effect {
    /// Line and point of the lowest median.
    pub low: (String, SpreadPoint),
    /// Line and point of the highest median.
    pub high: (String, SpreadPoint),
}

impl Effect {
    /// The largest effect of the plot's `series`; `None` with fewer than
    /// two points.
    pub(crate) fn of(series: &[Series]) -> Option<Effect> {
        let points: Vec<(&String, &SpreadPoint)> = series
            .iter()
            .flat_map(|line| line.points.iter().map(move |p| (&line.label, p)))
            .filter(|(_, p)| p.median.is_finite())
            .collect();
        if points.len() < 2 {
            return None;
        }
        let pick = |highest: bool| {
            points
                .iter()
                .copied()
                .reduce(|a, b| {
                    let b_wins = if highest {
                        b.1.median > a.1.median
                    } else {
                        b.1.median < a.1.median
                    };
                    if b_wins { b } else { a }
                })
                .map(|(label, p)| (label.clone(), p.clone()))
        };
        Some(Effect {
            low: pick(false)?,
            high: pick(true)?,
        })
    }

    /// True when the whiskers of the lowest and the highest point do not
    /// overlap: every repetition of one is above every repetition of the
    /// other, so the plot's largest difference is not run-to-run noise.
    pub(crate) fn beyond_noise(&self) -> bool {
        self.high.1.min > self.low.1.max
    }

    /// Highest median over lowest (infinite when the lowest is 0).
    pub(crate) fn ratio(&self) -> f64 {
        self.high.1.median / self.low.1.median
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::PlotKind;

    #[test]
    fn bars_group_a_categorical_x_with_none_first_and_medians_per_bar() {
        let run = |atomic: bool, crash: &str, diff_words: u64| {
            let mut row = RunRow::sample("redis", 3, 1, 0.3);
            row.atomic = atomic;
            row.crash = crash.to_string();
            row.diff_words = diff_words;
            row
        };
        let rows = vec![
            run(false, "0:mid-commit:2", 2000),
            run(false, "0:mid-commit:2", 2400),
            run(false, "0:mid-commit:2", 2257),
            run(true, "0:mid-commit:2", 0),
            run(false, "", 0),
            run(true, "", 0),
        ];
        let mut spec = PlotSpec::new(PlotKind::Bars, "crash", &["atomic"]);
        spec.y = Some("diff_words".into());
        let bars = bar_series("x", &rows, &spec).unwrap();
        assert_eq!(bars.categories, ["none", "0:mid-commit:2"]);
        let plain = bars
            .groups
            .iter()
            .find(|g| g.label == "atomic=false")
            .unwrap();
        let mid = plain.points.iter().find(|p| p.x == 1.0).unwrap();
        assert_eq!((mid.median, mid.min, mid.max), (2257.0, 2000.0, 2400.0));
        // The report's effect names the bar: group and category.
        let effect = Effect::of(&plot_series("x", &rows, &spec).unwrap()).unwrap();
        assert_eq!(effect.high.0, "atomic=false, 0:mid-commit:2");
    }

    #[test]
    fn one_worker_efficiency_is_t1_over_p_tp_of_the_same_mode() {
        let rows = vec![
            RunRow::sample("serial", 1, 1, 1.0),
            RunRow::sample("redis", 1, 1, 8.0),
            RunRow::sample("redis", 1, 2, 8.4),
            RunRow::sample("redis", 2, 1, 5.0),
            RunRow::sample("processes", 1, 1, 1.1),
            RunRow::sample("processes", 2, 1, 0.55),
        ];
        let mut spec = PlotSpec::new(PlotKind::Efficiency, "workers", &["mode"]);
        spec.baseline = Baseline::OneWorker;
        let lines = plot_series("x", &rows, &spec).unwrap();
        let redis = lines.iter().find(|l| l.label == "redis").unwrap();
        let at_2 = redis.points.iter().find(|p| p.x == 2.0).unwrap();
        assert!((at_2.median - 8.2 / 10.0).abs() < 1e-9, "{at_2:?}");
        let processes = lines.iter().find(|l| l.label == "processes").unwrap();
        let at_2 = processes.points.iter().find(|p| p.x == 2.0).unwrap();
        assert!((at_2.median - 1.0).abs() < 1e-9, "{at_2:?}");
        // Serial runs only baseline themselves: no line of their own.
        assert!(lines.iter().all(|l| l.label != "serial"));
    }

    #[test]
    fn an_automatic_unit_size_still_finds_its_one_worker_baseline() {
        let run = |workers, unit_bytes, wall_s| RunRow {
            unit_bytes,
            ..RunRow::sample("redis", workers, 1, wall_s)
        };
        let rows = vec![run(1, 4_000_000, 8.0), run(2, 2_000_000, 5.0)];
        let mut spec = PlotSpec::new(PlotKind::Efficiency, "workers", &["mode"]);
        spec.baseline = Baseline::OneWorker;
        let lines = plot_series("x", &rows, &spec).unwrap();
        let at_2 = lines[0].points.iter().find(|p| p.x == 2.0).unwrap();
        assert!((at_2.median - 0.8).abs() < 1e-9, "{at_2:?}");
        // With several unit sizes at 1 worker, only the same size pairs.
        let rows = vec![
            run(1, 4_000_000, 8.0),
            run(1, 1_000_000, 9.0),
            run(2, 2_000_000, 5.0),
        ];
        let lines = plot_series("x", &rows, &spec).unwrap();
        assert!(lines.iter().all(|l| l.points.iter().all(|p| p.x == 1.0)));
    }

    #[test]
    fn one_worker_baseline_without_one_worker_runs_says_what_to_add() {
        let rows = vec![RunRow::sample("redis", 2, 1, 1.0)];
        let mut spec = PlotSpec::new(PlotKind::Efficiency, "workers", &["mode"]);
        spec.baseline = Baseline::OneWorker;
        let err = plot_series("x", &rows, &spec).unwrap_err().to_string();
        assert!(err.contains("workers = 1"), "{err}");
    }

    #[test]
    fn runs_whose_fault_did_not_fire_are_left_out_and_counted() {
        let run = |kill: &str, unfired: bool, rep, wall_s| RunRow {
            redis_kill: kill.into(),
            faults_planned: if kill == "none" { "" } else { "redis_kill:1" }.into(),
            faults_unfired: unfired,
            params_key: kill.into(),
            ..RunRow::sample("redis", 2, rep, wall_s)
        };
        let rows = vec![
            run("none", false, 1, 1.0),
            run("at:1000", true, 1, 1.1),
            run("at:50%", false, 1, 2.0),
            run("at:50%", true, 2, 1.0),
        ];
        let spec = PlotSpec::new(PlotKind::Time, "workers", &["redis_kill"]);
        let lines = plot_series("x", &rows, &spec).unwrap();
        let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
        // Written without its target in an older CSV, the kill reads with it.
        assert_eq!(labels, ["redis_kill=none", "redis_kill=primary:at:50%"]);
        assert_eq!(lines[1].points[0].median, 2.0);
        let faults = PlotFaults::of(&rows, &spec);
        assert_eq!(
            faults,
            PlotFaults {
                planned: 3,
                unfired: 2
            }
        );
        assert!(!faults.none_fired());
        let mut late = spec.clone();
        late.filter
            .insert("redis_kill".into(), "primary:at:1000".into());
        assert!(PlotFaults::of(&rows, &late).none_fired());
    }

    #[test]
    fn an_effect_is_beyond_noise_only_when_the_extreme_whiskers_do_not_overlap() {
        let line = |label: &str, points: Vec<SpreadPoint>| Series {
            label: label.into(),
            points,
        };
        let point = |x, median, min, max| SpreadPoint {
            x,
            median,
            min,
            max,
        };
        let clear = [
            line("a", vec![point(1.0, 1.0, 0.9, 1.1)]),
            line("b", vec![point(1.0, 2.0, 1.8, 2.3)]),
        ];
        let effect = Effect::of(&clear).unwrap();
        assert!(effect.beyond_noise());
        assert_eq!(effect.low.0, "a");
        assert_eq!(effect.high.0, "b");
        assert!((effect.ratio() - 2.0).abs() < 1e-9);
        let noisy = [line(
            "a",
            vec![point(1.0, 1.0, 0.7, 1.5), point(2.0, 1.2, 1.0, 1.6)],
        )];
        assert!(!Effect::of(&noisy).unwrap().beyond_noise());
        assert!(Effect::of(&[line("a", vec![point(1.0, 1.0, 1.0, 1.0)])]).is_none());
    }
}
