//! The lab report: one Markdown file made from every results CSV in a
//! folder. Owns reading the results folder as a whole (an unreadable CSV
//! is noted, not fatal), grouping runs into parameter sets with medians,
//! speed-up and efficiency (the plot module's serial-baseline rule), the
//! map from the lab's questions to experiments and their key figures, and
//! writing the report atomically with links to the plots.
//!
//! Data flows one way: results folder -> [`LabResults`] -> parameter sets
//! -> Markdown.

mod format;
mod groups;
mod load;
mod markdown;
mod plots;
mod questions;
mod render;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use groups::{Correctness, PARAMETER_COLUMNS, ParamSet, Spread, group_param_sets};
pub use load::{ExperimentResults, LabResults, ReportError, SkippedCsv, load_results};
pub use questions::{Figure, LAB_QUESTIONS, LabQuestion, Metric};
pub use render::{ReportSource, counted, render_report};

/// Where the report reads from and writes to.
#[derive(Debug, Clone)]
pub struct ReportPaths {
    /// Folder of the results CSVs (`harness run --out`).
    pub results_dir: PathBuf,
    /// Folder of the PNG plots (`harness plot --out`).
    pub plots_dir: PathBuf,
    /// The Markdown file to write.
    pub output: PathBuf,
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone)]
pub struct ReportSummary {
    /// The report file.
    pub output: PathBuf,
    /// Experiments included.
    pub experiments: usize,
    /// Runs included.
    pub runs: usize,
    /// CSVs left out, and why.
    pub skipped: Vec<SkippedCsv>,
}

/// Reads every CSV in the results folder and writes the report, whole or
/// not at all. Fails when the folder is missing or has no CSV.
pub fn write_report(paths: &ReportPaths) -> Result<ReportSummary> {
    let lab = load_results(&paths.results_dir)?;
    let plots = plots::PlotFolder::scan(&paths.plots_dir);
    let report_dir = match paths.output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let generated_at = crate::results::utc_timestamp();
    let source = ReportSource {
        results_dir: &paths.results_dir,
        lab: &lab,
        plots: &plots,
        report_dir,
        generated_at: &generated_at,
    };
    crate::fsutil::write_atomically(&paths.output, |out| render_report(&source, out))?;
    Ok(ReportSummary {
        output: paths.output.clone(),
        experiments: lab.experiments.len(),
        runs: lab.run_count(),
        skipped: lab.skipped,
    })
}
