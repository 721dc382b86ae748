//! The report document: title, environment, summary, skipped files, the
//! lab questions, and one section per experiment with its parameter-set
//! table and plots. Writes to any `W: Write`.

use std::io::{self, Write};
use std::path::Path;

use super::format::{MISSING, ratio, seconds, value_text};
use super::groups::{Correctness, ParamSet, group_param_sets, varying_parameters};
use super::load::{ExperimentResults, LabResults};
use super::markdown::{Table, experiment_link, image};
use super::plots::{PlotFolder, relative_link};
use super::questions::write_questions;
use crate::results::Environment;

/// One experiment prepared for the report: its results and parameter sets.
#[derive(Debug)]
pub struct ExperimentView<'a> {
    /// The CSV rows and sidecar.
    pub results: &'a ExperimentResults,
    /// Rows grouped by parameter set.
    pub sets: Vec<ParamSet>,
    /// Parameters that differ between the sets.
    pub varying: Vec<&'static str>,
}

impl<'a> ExperimentView<'a> {
    /// Groups the rows of `results`.
    pub fn new(results: &'a ExperimentResults) -> ExperimentView<'a> {
        let sets = group_param_sets(&results.rows);
        let varying = varying_parameters(&sets);
        ExperimentView {
            results,
            sets,
            varying,
        }
    }

    fn name(&self) -> &str {
        &self.results.name
    }

    fn correctness(&self) -> Correctness {
        self.sets.iter().map(|set| set.correctness).sum()
    }
}

/// Everything the report is made from.
#[derive(Debug)]
pub struct ReportSource<'a> {
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

/// Writes the whole report.
pub fn render_report<W: Write + ?Sized>(source: &ReportSource<'_>, out: &mut W) -> io::Result<()> {
    let views: Vec<ExperimentView<'_>> = source
        .lab
        .experiments
        .iter()
        .map(ExperimentView::new)
        .collect();
    write_title(out, source)?;
    write_environment(out, source.lab)?;
    write_summary(out, &views)?;
    write_skipped(out, source.lab)?;
    write_questions(out, &|name| {
        views
            .iter()
            .find(|view| view.name() == name)
            .map(|view| view.sets.as_slice())
    })?;
    writeln!(out, "## Experiments\n")?;
    for view in &views {
        write_experiment(out, view, source)?;
    }
    Ok(())
}

fn write_title<W: Write + ?Sized>(out: &mut W, source: &ReportSource<'_>) -> io::Result<()> {
    writeln!(out, "# Lab report: distributed word count\n")?;
    writeln!(
        out,
        "Generated {} by `harness report` from `{}` ({}, {}); plots from `{}`.\n",
        source.generated_at,
        source.results_dir.display(),
        counted(source.lab.experiments.len(), "experiment"),
        counted(source.lab.run_count(), "run"),
        source.plots.dir.display(),
    )
}

/// `1 run`, `2 runs`.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// An environment field: its label and how to read it from a sidecar.
type EnvironmentField = (&'static str, fn(&Environment) -> String);

/// The environment fields shown.
const ENVIRONMENT_FIELDS: &[EnvironmentField] = &[
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

fn write_environment<W: Write + ?Sized>(out: &mut W, lab: &LabResults) -> io::Result<()> {
    writeln!(out, "## Environment\n")?;
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
    table.write(out)?;
    let without: Vec<String> = lab
        .experiments
        .iter()
        .filter(|e| e.sidecar.is_none())
        .map(|e| format!("`{}`", e.name))
        .collect();
    if !without.is_empty() {
        writeln!(
            out,
            "No readable environment sidecar (`<name>.env.json`) for {}.\n",
            without.join(", ")
        )?;
    }
    Ok(())
}

/// Each distinct value once; with the experiments it came from when there
/// are several values.
fn distinct_values<'a>(values: impl Iterator<Item = (String, &'a str)>) -> String {
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

fn write_summary<W: Write + ?Sized>(out: &mut W, views: &[ExperimentView<'_>]) -> io::Result<()> {
    writeln!(out, "## Summary\n")?;
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
            "total wall (s)",
        ]
        .map(String::from)
        .to_vec(),
    );
    for view in views {
        let tally = view.correctness();
        let total_wall_s: f64 = view.results.rows.iter().map(|row| row.wall_s).sum();
        table.push(vec![
            experiment_link(view.name()),
            scales(view),
            tally.runs.to_string(),
            view.sets.len().to_string(),
            repetitions(view),
            tally.correct.to_string(),
            tally.wrong_expected.to_string(),
            tally.wrong_unexpected.to_string(),
            seconds(total_wall_s),
        ]);
    }
    table.write(out)
}

fn scales(view: &ExperimentView<'_>) -> String {
    let mut scales: Vec<String> = view
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
fn repetitions(view: &ExperimentView<'_>) -> String {
    let counts = view.sets.iter().map(|set| set.runs.len());
    match (counts.clone().min(), counts.max()) {
        (Some(min), Some(max)) if min != max => format!("{min}-{max}"),
        (Some(n), _) => n.to_string(),
        _ => "0".to_string(),
    }
}

fn write_skipped<W: Write + ?Sized>(out: &mut W, lab: &LabResults) -> io::Result<()> {
    if lab.skipped.is_empty() {
        return Ok(());
    }
    writeln!(out, "## Results files left out\n")?;
    for skipped in &lab.skipped {
        writeln!(out, "- `{}`: {}", skipped.csv.display(), skipped.reason)?;
    }
    writeln!(out)
}

fn write_experiment<W: Write + ?Sized>(
    out: &mut W,
    view: &ExperimentView<'_>,
    source: &ReportSource<'_>,
) -> io::Result<()> {
    let results = view.results;
    writeln!(out, "### {}\n", results.name)?;
    if let Some(sidecar) = &results.sidecar {
        writeln!(out, "{}\n", sidecar.description)?;
        if let Some(lab) = &sidecar.lab {
            writeln!(out, "Question: *{lab}*\n")?;
        }
        writeln!(
            out,
            "From `{}` at scale {}, results in `{}`; command `{}`.\n",
            sidecar.source,
            sidecar.scale,
            results.csv.display(),
            sidecar.environment.command
        )?;
    } else {
        writeln!(out, "Results in `{}`.\n", results.csv.display())?;
    }
    param_set_table(view).write(out)?;
    write_plots(out, results, source)
}

/// One row per parameter set: the varying parameters, n, wall time,
/// speed-up and efficiency (when serial runs of the same input exist), correct runs.
pub fn param_set_table(view: &ExperimentView<'_>) -> Table {
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

fn write_plots<W: Write + ?Sized>(
    out: &mut W,
    results: &ExperimentResults,
    source: &ReportSource<'_>,
) -> io::Result<()> {
    let plots = source.plots.plots_of(results);
    if plots.is_empty() {
        return writeln!(
            out,
            "No plots in `{}` yet: `harness plot {} --out {}`.\n",
            source.plots.dir.display(),
            results.csv.display(),
            source.plots.dir.display()
        );
    }
    for plot in plots {
        let alt = plot
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        writeln!(
            out,
            "{}\n",
            image(&alt, &relative_link(source.report_dir, &plot))
        )?;
    }
    Ok(())
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
    fn a_whole_report_lists_skipped_files_and_what_is_not_run() {
        let lab = LabResults {
            experiments: vec![experiment(vec![RunRow::sample("serial", 1, 1, 2.0)])],
            skipped: vec![super::super::load::SkippedCsv {
                csv: "results/old.csv".into(),
                reason: "written with other columns".into(),
            }],
        };
        let plots = PlotFolder::default();
        let source = ReportSource {
            results_dir: Path::new("results"),
            lab: &lab,
            plots: &plots,
            report_dir: Path::new("."),
            generated_at: "2026-01-01T00:00:00Z",
        };
        let mut out = Vec::new();
        render_report(&source, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("(1 experiment, 1 run)"), "{text}");
        assert!(text.contains("- `results/old.csv`: written with other columns"));
        assert!(
            text.contains("| [`tiny`](#tiny) | 1 | 1 | 1 | 1 | 1 | 0 | 0 | 2.00 |"),
            "{text}"
        );
        assert!(text.contains("### tiny\n"));
        assert!(text.contains("| parameter set | n | wall_s median (min..max) | speed-up |"));
        assert!(text.contains("not run yet: `harness run experiments/workers.toml`"));
        assert!(text.contains("No plots in"));
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
}
