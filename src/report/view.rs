//! The report's data model, whatever the format: each experiment as an
//! [`ExperimentView`] (its parameter sets, the parameters that vary, which
//! runs were exact, warnings about noisy or too short sets) and the tables
//! both renderings show (environment, summary, parameter sets). The
//! Markdown (`render`) and HTML (`html`) documents only lay these out.

use std::path::Path;

use super::format::{MISSING, labelled_value, quantity, ratio, seconds, value_text};
use super::groups::{
    Correctness, NOISY_SPREAD, ParamSet, SHORT_WALL_S, group_param_sets, varying_parameters,
};
use super::load::{ExperimentResults, LabResults};
use super::markdown::Table;
use super::plots::PlotFolder;
use crate::results::{
    Effect, Environment, PlotFaults, PlotKind, PlotSpec, SpreadPoint, plot_series,
};

/// The largest effect one plot of an experiment shows, measured from the
/// CSV by the plot's own rules (the same lines and spreads as its PNG).
#[derive(Debug, Clone, PartialEq)]
pub struct PlotEffect {
    /// The plot's title (or its file name).
    pub plot: String,
    /// The plotted column (`efficiency`, `speed-up`, or the plot's `y`).
    pub column: String,
    /// What was measured, e.g. `completion time (s): 1.20 (1.10..1.30) for
    /// processes at unit_bytes 4MiB .. 2.40 (2.30..2.50) for redis at ...`.
    pub statement: String,
    /// Whether the lowest and the highest point's repetitions do not overlap;
    /// `None` when the plot has fewer than two points or could not be built.
    pub beyond_noise: Option<bool>,
    /// The plot's runs that planned a fault, and those whose fault did not
    /// fire (left out of its lines; when none fired, the verdict is "not
    /// shown", never "beyond the noise").
    pub faults: PlotFaults,
}

impl PlotEffect {
    /// The statement with its verdict, for the report.
    pub(crate) fn text(&self) -> String {
        if self.faults.none_fired() {
            return format!(
                "{}: not shown: the faults did not happen ({} runs: the planned fault came after the job had ended)",
                self.plot, self.faults.unfired
            );
        }
        let left_out = match self.faults.unfired {
            0 => String::new(),
            n => format!(" ({n} runs left out: the planned fault came after the job had ended)"),
        };
        let verdict = match self.beyond_noise {
            Some(true) => "beyond the run-to-run spread",
            Some(false) => {
                "⚠ WITHIN THE NOISE: the lowest and highest points' repetitions overlap \
                 (more repetitions, a larger --scale or a quieter machine)"
            }
            None => "no effect to measure",
        };
        format!("{}: {}; {verdict}{left_out}", self.plot, self.statement)
    }

    /// The verdict counted in the summary: whether the effect is beyond
    /// the noise; `Some(false)` for a plot whose faults never fired (it
    /// shows nothing), `None` when there is no effect to measure.
    pub(crate) fn verdict(&self) -> Option<bool> {
        if self.faults.none_fired() {
            Some(false)
        } else {
            self.beyond_noise
        }
    }
}

fn point_text(column: &str, x_column: &str, label: &str, point: &SpreadPoint) -> String {
    if x_column.is_empty() {
        // A bar: its label names the group and the category.
        return format!(
            "{} ({}..{}) for {label}",
            quantity(column, point.median),
            quantity(column, point.min),
            quantity(column, point.max),
        );
    }
    let x = if x_column.ends_with("bytes") && point.x >= 0.0 {
        data_gen::format_size(point.x as u64)
    } else {
        quantity(x_column, point.x)
    };
    format!(
        "{} ({}..{}) for {label} at {x_column} {x}",
        quantity(column, point.median),
        quantity(column, point.min),
        quantity(column, point.max),
    )
}

/// The effect of one plot spec over `results`' rows.
fn plot_effect(results: &ExperimentResults, spec: &PlotSpec) -> PlotEffect {
    let plot = spec
        .title
        .clone()
        .or_else(|| spec.file.clone())
        .unwrap_or_else(|| format!("{} vs {}", spec.kind, spec.x));
    let column = match spec.kind {
        PlotKind::Efficiency => "efficiency".to_string(),
        PlotKind::Speedup => "speed-up".to_string(),
        PlotKind::Time | PlotKind::Bars | PlotKind::Timeline => {
            spec.y.clone().unwrap_or_else(|| "wall_s".into())
        }
    };
    let faults = PlotFaults::of(&results.rows, spec);
    let mut effect = plot_effect_of_lines(results, spec, plot, &column);
    effect.faults = faults;
    if faults.none_fired() {
        effect.beyond_noise = None;
    }
    effect
}

fn plot_effect_of_lines(
    results: &ExperimentResults,
    spec: &PlotSpec,
    plot: String,
    column: &str,
) -> PlotEffect {
    let faults = PlotFaults::default();
    match plot_series(&results.name, &results.rows, spec) {
        Err(err) => PlotEffect {
            plot,
            column: column.to_string(),
            statement: format!("cannot be measured: {err}"),
            beyond_noise: None,
            faults,
        },
        Ok(series) => match Effect::of(&series) {
            None => PlotEffect {
                plot,
                column: column.to_string(),
                statement: "fewer than two points".into(),
                beyond_noise: None,
                faults,
            },
            Some(effect) => {
                let x_column = match spec.kind {
                    PlotKind::Bars => "",
                    PlotKind::Time
                    | PlotKind::Speedup
                    | PlotKind::Efficiency
                    | PlotKind::Timeline => spec.x.as_str(),
                };
                let ratio_text = match effect.ratio() {
                    r if r.is_finite() => format!(", {r:.2}x"),
                    _ => String::new(),
                };
                PlotEffect {
                    plot,
                    column: column.to_string(),
                    statement: format!(
                        "{column} from {} to {}{ratio_text}",
                        point_text(column, x_column, &effect.low.0, &effect.low.1),
                        point_text(column, x_column, &effect.high.0, &effect.high.1),
                    ),
                    beyond_noise: Some(effect.beyond_noise()),
                    faults,
                }
            }
        },
    }
}

/// One experiment prepared for the report: its results and parameter sets.
#[derive(Debug)]
pub struct ExperimentView<'a> {
    /// The CSV rows and sidecar.
    pub results: &'a ExperimentResults,
    /// Rows grouped by parameter set.
    pub sets: Vec<ParamSet>,
    /// Parameters that differ between the sets.
    pub varying: Vec<&'static str>,
    /// The measured effect of each line plot the experiment asked for.
    pub effects: Vec<PlotEffect>,
}

impl<'a> ExperimentView<'a> {
    /// Groups the rows of `results`.
    pub(crate) fn new(results: &'a ExperimentResults) -> ExperimentView<'a> {
        let sets = group_param_sets(&results.rows);
        let varying = varying_parameters(&sets);
        let effects = results.sidecar.as_ref().map_or_else(Vec::new, |sidecar| {
            sidecar
                .plots
                .iter()
                .filter(|spec| spec.kind.needs_x())
                .map(|spec| plot_effect(results, spec))
                .collect()
        });
        ExperimentView {
            results,
            sets,
            varying,
            effects,
        }
    }

    /// The experiment's name.
    pub(crate) fn name(&self) -> &str {
        &self.results.name
    }

    /// What the experiment file says its plots should show and why.
    pub(crate) fn shows(&self) -> Option<&str> {
        self.results.sidecar.as_ref()?.shows.as_deref()
    }

    /// `2 of 3` plots whose effect is beyond the noise, with a warning
    /// sign when any is not; [`MISSING`] without measurable plots.
    pub(crate) fn effects_summary(&self) -> String {
        let verdicts: Vec<bool> = self
            .effects
            .iter()
            .filter_map(PlotEffect::verdict)
            .collect();
        if verdicts.is_empty() {
            return MISSING.to_string();
        }
        let clear = verdicts.iter().filter(|v| **v).count();
        let flag = if clear < verdicts.len() { " ⚠" } else { "" };
        format!("{clear} of {}{flag}", verdicts.len())
    }

    /// Correct and wrong runs over all sets.
    pub(crate) fn correctness(&self) -> Correctness {
        self.sets.iter().map(|set| set.correctness).sum()
    }
    /// A parameter set named by the parameters that vary in this
    /// experiment (`threads, workers=2`), or by its key when none vary.
    pub(crate) fn set_label(&self, set: &ParamSet) -> String {
        if self.varying.is_empty() {
            return set.params_key.clone();
        }
        self.varying
            .iter()
            .map(|column| labelled_value(column, set.value(column)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Why some sets' numbers deserve doubt, one line per such set:
    /// repetitions that spread more than [`NOISY_SPREAD`] of their median
    /// (noisy), a median wall time under [`SHORT_WALL_S`] (too short).
    pub(crate) fn warnings(&self) -> Vec<String> {
        self.sets
            .iter()
            .filter_map(|set| {
                let wall = set.wall_s;
                let mut reasons = Vec::new();
                if set.is_noisy() {
                    reasons.push(format!(
                        "noisy: {} repetitions spread {}..{} s, {:.0}% of the median (over {:.0}%; \
                         more repetitions or a quieter machine help)",
                        set.runs.len(),
                        seconds(wall.min),
                        seconds(wall.max),
                        100.0 * (wall.max - wall.min) / wall.median,
                        100.0 * NOISY_SPREAD,
                    ));
                }
                if set.is_too_short() {
                    reasons.push(format!(
                        "too short to trust: median {} s, under {:.0} ms (start-up and timer \
                         noise dominate; raise --scale)",
                        seconds(wall.median),
                        SHORT_WALL_S * 1000.0,
                    ));
                }
                (!reasons.is_empty())
                    .then(|| format!("{}: {}", self.set_label(set), reasons.join("; ")))
            })
            .collect()
    }

    /// Which runs gave counts equal to the serial oracle, e.g. `6 of 6
    /// runs exact`, naming the runs that were not and whether that was
    /// expected (`[[inexact]]`).
    pub(crate) fn exactness(&self) -> String {
        let tally = self.correctness();
        let mut text = format!("{} of {} runs exact", tally.correct, tally.runs);
        let wrong = |expected: bool| -> Vec<&str> {
            self.results
                .rows
                .iter()
                .filter(|row| !row.correct && row.expect_exact != expected)
                .map(|row| row.run_id.as_str())
                .collect()
        };
        for (runs, why) in [
            (wrong(true), "inexact as expected ([[inexact]])"),
            (wrong(false), "WRONG, expected exact"),
        ] {
            if !runs.is_empty() {
                text.push_str(&format!("; {why}: {}", runs.join(", ")));
            }
        }
        text
    }

    /// Scales of the runs: `1`, or `0.1, 1` when they differ.
    pub(crate) fn scales(&self) -> String {
        let mut scales: Vec<String> = self
            .results
            .rows
            .iter()
            .map(|row| row.scale.to_string())
            .collect();
        scales.sort();
        scales.dedup();
        scales.join(", ")
    }

    /// Repetitions per parameter set: `3`, or `2-3` when sets differ.
    pub(crate) fn repetitions(&self) -> String {
        let counts = self.sets.iter().map(|set| set.runs.len());
        match (counts.clone().min(), counts.max()) {
            (Some(min), Some(max)) if min != max => format!("{min}-{max}"),
            (Some(n), _) => n.to_string(),
            _ => "0".to_string(),
        }
    }

    /// The git commits of the runs, each once.
    pub(crate) fn commits(&self) -> String {
        distinct_values(
            self.results
                .rows
                .iter()
                .map(|row| (row.git_commit.clone(), self.name())),
        )
    }
}

/// Every experiment of `lab`, prepared.
pub(crate) fn views(lab: &LabResults) -> Vec<ExperimentView<'_>> {
    lab.experiments.iter().map(ExperimentView::new).collect()
}

/// Everything the report is made from.
#[derive(Debug)]
pub(crate) struct ReportSource<'a> {
    /// The results folder read, as given.
    pub results_dir: &'a Path,
    /// What was in it.
    pub lab: &'a LabResults,
    /// The PNGs of the plots folder.
    pub plots: &'a PlotFolder,
    /// The folder the report is written to (links are relative to it).
    pub report_dir: &'a Path,
    /// When the report was generated (RFC 3339, UTC).
    pub generated_at: &'a str,
}

/// An environment field: its label and how to read it from a sidecar.
pub(crate) type EnvironmentField = (&'static str, fn(&Environment) -> String);

/// The environment fields shown.
pub(crate) const ENVIRONMENT_FIELDS: &[EnvironmentField] = &[
    ("CPU", |e| e.cpu_model.clone()),
    ("cores", |e| e.cores.to_string()),
    ("memory", |e| {
        format!("{:.1} GiB", e.memory_bytes as f64 / f64::from(1u32 << 30))
    }),
    ("kernel", |e| e.kernel.clone()),
    ("OS", |e| e.os.clone()),
    ("Redis", |e| e.redis_version.clone()),
    ("harness version", |e| e.harness_version.clone()),
];

/// The environment: one row per field, each distinct value once (with
/// the experiments it came from where they differ), and the git commits
/// of the runs.
pub(crate) fn environment_table(lab: &LabResults) -> Table {
    let with_sidecar: Vec<(&str, &Environment)> = lab
        .experiments
        .iter()
        .filter_map(|e| {
            e.sidecar
                .as_ref()
                .map(|s| (e.name.as_str(), &s.environment))
        })
        .collect();
    let mut table = Table::new(vec![
        "".into(),
        "value (experiments, where they differ)".into(),
    ]);
    for (label, field) in ENVIRONMENT_FIELDS {
        let values = with_sidecar.iter().map(|(name, env)| (field(env), *name));
        table.push(vec![label.to_string(), distinct_values(values)]);
    }
    let commits = lab.experiments.iter().flat_map(|e| {
        e.rows
            .iter()
            .map(|row| (row.git_commit.clone(), e.name.as_str()))
    });
    table.push(vec![
        "git commit of the runs".into(),
        distinct_values(commits),
    ]);
    table
}

/// The experiments without a readable sidecar.
pub(crate) fn without_sidecar(lab: &LabResults) -> Vec<&str> {
    lab.experiments
        .iter()
        .filter(|e| e.sidecar.is_none())
        .map(|e| e.name.as_str())
        .collect()
}

/// Each distinct value once; with the experiments it came from when there
/// are several values.
pub(crate) fn distinct_values<'a>(values: impl Iterator<Item = (String, &'a str)>) -> String {
    let mut seen: Vec<(String, Vec<&str>)> = Vec::new();
    for (value, experiment) in values {
        match seen.iter_mut().find(|(v, _)| *v == value) {
            Some((_, experiments)) if !experiments.contains(&experiment) => {
                experiments.push(experiment)
            }
            Some(_) => {}
            None => seen.push((value, vec![experiment])),
        }
    }
    match seen.as_slice() {
        [] => MISSING.to_string(),
        [(only, _)] => only.clone(),
        several => several
            .iter()
            .map(|(value, experiments)| format!("{value} ({})", experiments.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// One row per experiment: scale, runs, sets, repetitions, correctness
/// and total wall time; `name_cell` writes the experiment's name (e.g. as
/// a link).
pub(crate) fn summary_table(
    views: &[ExperimentView<'_>],
    name_cell: &dyn Fn(&str) -> String,
) -> Table {
    let mut table = Table::new(
        [
            "experiment",
            "scale",
            "runs",
            "parameter sets",
            "repetitions",
            "correct",
            "wrong, expected inexact",
            "wrong, unexpected",
            "plots with an effect beyond the noise",
            "total wall (s)",
        ]
        .map(String::from)
        .to_vec(),
    );
    for view in views {
        let tally = view.correctness();
        let total_wall_s: f64 = view.results.rows.iter().map(|row| row.wall_s).sum();
        table.push(vec![
            name_cell(view.name()),
            view.scales(),
            tally.runs.to_string(),
            view.sets.len().to_string(),
            view.repetitions(),
            tally.correct.to_string(),
            tally.wrong_expected.to_string(),
            tally.wrong_unexpected.to_string(),
            view.effects_summary(),
            seconds(total_wall_s),
        ]);
    }
    table
}

/// One row per parameter set: the varying parameters, n, wall time,
/// speed-up and efficiency (when serial runs of the same input exist), correct runs.
pub(crate) fn param_set_table(view: &ExperimentView<'_>) -> Table {
    let derived = view.sets.iter().any(|set| set.efficiency.is_some());
    let mut header: Vec<String> = if view.varying.is_empty() {
        vec!["parameter set".into()]
    } else {
        view.varying.iter().map(|c| c.to_string()).collect()
    };
    header.extend(["n".into(), "wall_s median (min..max)".into()]);
    if derived {
        header.extend(["speed-up".into(), "E = T_s / (p T_p)".into()]);
    }
    header.push("correct".into());
    let mut table = Table::new(header);
    for set in &view.sets {
        let mut row: Vec<String> = if view.varying.is_empty() {
            vec![set.params_key.clone()]
        } else {
            view.varying
                .iter()
                .map(|column| value_text(column, set.value(column)))
                .collect()
        };
        row.push(set.runs.len().to_string());
        row.push(wall_text(set));
        if derived {
            row.push(set.speedup.map_or(MISSING.to_string(), ratio));
            row.push(set.efficiency.map_or(MISSING.to_string(), ratio));
        }
        row.push(set.correctness.text());
        table.push(row);
    }
    table
}

fn wall_text(set: &ParamSet) -> String {
    let spread = set.wall_s;
    if set.runs.len() == 1 {
        seconds(spread.median)
    } else {
        format!(
            "{} ({}..{})",
            seconds(spread.median),
            seconds(spread.min),
            seconds(spread.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::RunRow;

    fn experiment(rows: Vec<RunRow>) -> ExperimentResults {
        ExperimentResults {
            name: "tiny".into(),
            csv: "results/tiny.csv".into(),
            rows,
            sidecar: None,
        }
    }

    #[test]
    fn the_table_shows_only_varying_parameters_and_the_efficiency() {
        let results = experiment(vec![
            RunRow::sample("serial", 1, 1, 2.0),
            RunRow::sample("serial", 1, 2, 2.0),
            RunRow::sample("threads", 2, 1, 1.25),
            RunRow::sample("threads", 2, 2, 1.25),
        ]);
        let mut out = Vec::new();
        param_set_table(&ExperimentView::new(&results))
            .write(&mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "| mode | workers | n | wall_s median (min..max) | speed-up | E = T_s / (p T_p) | correct |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| threads | 2 | 2 | 1.25 (1.25..1.25) | 1.60 | 0.80 | 2/2 |"),
            "{text}"
        );
    }

    #[test]
    fn each_plot_gets_its_largest_effect_and_a_noise_verdict() {
        use crate::results::{PlotSpec, Sidecar, capture_environment};
        let rows = |walls: &[(u32, f64)]| -> Vec<RunRow> {
            walls
                .iter()
                .enumerate()
                .map(|(i, &(workers, wall))| RunRow::sample("threads", workers, i as u32 + 1, wall))
                .collect()
        };
        let with_plot = |rows: Vec<RunRow>| ExperimentResults {
            sidecar: Some(Sidecar {
                environment: capture_environment("test".into(), "now".into()),
                source: "x.toml".into(),
                description: "d".into(),
                lab: None,
                shows: Some("time halves with 2 workers".into()),
                scale: 1.0,
                plots: vec![PlotSpec::new(PlotKind::Time, "workers", &["mode"])],
            }),
            ..experiment(rows)
        };
        let clear = with_plot(rows(&[(1, 2.0), (1, 2.1), (2, 1.0), (2, 1.1)]));
        let view = ExperimentView::new(&clear);
        assert_eq!(view.shows(), Some("time halves with 2 workers"));
        let effects = &view.effects;
        assert_eq!(effects.len(), 1);
        assert_eq!(effects[0].beyond_noise, Some(true), "{effects:?}");
        assert!(
            effects[0].text().contains(
                "wall_s from 1.05 (1.00..1.10) for threads at workers 2 to 2.05 (2.00..2.10) for threads at workers 1, 1.95x; beyond"
            ),
            "{}",
            effects[0].text()
        );
        assert_eq!(view.effects_summary(), "1 of 1");
        let noisy = with_plot(rows(&[(1, 2.0), (1, 1.0), (2, 1.2), (2, 1.9)]));
        let view = ExperimentView::new(&noisy);
        assert!(view.effects[0].text().contains("WITHIN THE NOISE"));
        assert_eq!(view.effects_summary(), "0 of 1 ⚠");
    }

    #[test]
    fn environment_values_appear_once_or_by_experiment() {
        let values = vec![
            ("AMD".to_string(), "a"),
            ("AMD".to_string(), "b"),
            ("Intel".to_string(), "c"),
        ];
        assert_eq!(distinct_values(values.into_iter()), "AMD (a, b); Intel (c)");
        assert_eq!(
            distinct_values(vec![("x".to_string(), "a"), ("x".to_string(), "b")].into_iter()),
            "x"
        );
    }

    #[test]
    fn noisy_and_short_sets_are_warned_about_and_wrong_runs_named() {
        let mut wrong = RunRow::sample("threads", 2, 2, 1.0);
        wrong.correct = false;
        let results = experiment(vec![
            RunRow::sample("serial", 1, 1, 0.02),
            RunRow::sample("serial", 1, 2, 0.02),
            RunRow::sample("threads", 2, 1, 1.0),
            wrong,
            RunRow::sample("threads", 2, 3, 1.5),
        ]);
        let view = ExperimentView::new(&results);
        let warnings = view.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with("serial, workers=1: too short to trust: median 0.0200 s"),
            "{warnings:?}"
        );
        assert!(
            warnings[1]
                .starts_with("threads, workers=2: noisy: 3 repetitions spread 1.00..1.50 s, 50%"),
            "{warnings:?}"
        );
        assert_eq!(
            view.exactness(),
            "4 of 5 runs exact; WRONG, expected exact: threads-2w-r2"
        );
    }
}
