//! The Markdown report document: title, environment, summary, skipped
//! files, the lab questions, and one section per experiment with its
//! parameter-set table and links to its plots. Lays out the model of
//! `view` and `questions`; writes to any `W: Write`.

use std::io::{self, Write};

use super::load::{ExperimentResults, LabResults};
use super::markdown::{experiment_link, image};
use super::plots::relative_link;
use super::questions::write_questions;
use super::view::{
    ExperimentView, ReportSource, environment_table, param_set_table, summary_table, views,
    without_sidecar,
};

/// Writes the whole report.
pub(crate) fn render_report<W: Write + ?Sized>(
    source: &ReportSource<'_>,
    out: &mut W,
) -> io::Result<()> {
    let views = views(source.lab);
    write_title(out, source)?;
    writeln!(out, "## Findings\n")?;
    super::findings::findings_table(&views).write(out)?;
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
pub(crate) fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn write_environment<W: Write + ?Sized>(out: &mut W, lab: &LabResults) -> io::Result<()> {
    writeln!(out, "## Environment\n")?;
    environment_table(lab).write(out)?;
    let without: Vec<String> = without_sidecar(lab)
        .iter()
        .map(|name| format!("`{name}`"))
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

fn write_summary<W: Write + ?Sized>(out: &mut W, views: &[ExperimentView<'_>]) -> io::Result<()> {
    writeln!(out, "## Summary\n")?;
    summary_table(views, &experiment_link).write(out)
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
        if let Some(shows) = view.shows() {
            writeln!(out, "What the plots should show: *{shows}*\n")?;
        }
        if let Some(unfired) = super::groups::Unfired::of(&view.sets) {
            writeln!(out, "⚠ {}\n", unfired.text())?;
        }
        let effects = &view.effects;
        if !effects.is_empty() {
            writeln!(
                out,
                "Measured (largest effect per plot, median and min..max of the repetitions):\n"
            )?;
            for effect in effects {
                writeln!(out, "- {}", effect.text())?;
            }
            writeln!(out)?;
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
    let mut external: Vec<&str> = results
        .rows
        .iter()
        .map(|r| r.worker_cmd.as_str())
        .filter(|cmd| !cmd.is_empty())
        .collect();
    external.sort_unstable();
    external.dedup();
    if !external.is_empty() {
        let builtin_too = results.rows.iter().any(|r| r.worker_cmd.is_empty());
        writeln!(
            out,
            "Worker under test: `{}` (an external worker, docs/PROTOCOL.md){}.\n",
            external.join("`, `"),
            if builtin_too {
                ", side by side with the built-in one (worker_cmd none)"
            } else {
                ", not the built-in one"
            }
        )?;
    }
    param_set_table(view).write(out)?;
    let warnings = view.warnings();
    if !warnings.is_empty() {
        writeln!(out, "Warnings:\n")?;
        for warning in warnings {
            writeln!(out, "- ⚠ {warning}")?;
        }
        writeln!(out)?;
    }
    write_plots(out, results, source)
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
    use std::path::Path;

    use super::*;
    use crate::report::plots::PlotFolder;
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
            text.contains("| [`tiny`](#tiny) | 1 | 1 | 1 | 1 | 1 | 0 | 0 | — | 2.00 |"),
            "{text}"
        );
        assert!(text.contains("### tiny\n"));
        assert!(text.contains("| parameter set | n | wall_s median (min..max) | speed-up |"));
        assert!(text.contains("not run yet: `harness run experiments/files.toml`"));
        // On books: "not run yet", or without books, the command that fetches them.
        assert!(
            text.contains("then `harness run experiments/workers.toml`")
                || text.contains("not run yet: `harness run experiments/workers.toml`")
        );
        assert!(text.contains("No plots in"));
    }
}
