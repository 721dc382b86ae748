//! `harness report`: one Markdown lab report from every results CSV.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::report::{ReportPaths, counted, write_report};

/// Arguments of `harness report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Folder of the results CSVs written by `harness run`.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Folder of the PNG plots written by `harness plot` (linked from the report).
    #[arg(long, default_value = "plots")]
    pub plots: PathBuf,
    /// The Markdown file to write.
    #[arg(long, default_value = "report.md")]
    pub output: PathBuf,
}

/// Runs `harness report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let paths = ReportPaths {
        results_dir: args.results,
        plots_dir: args.plots,
        output: args.output,
    };
    let summary = write_report(&paths)
        .with_context(|| format!("cannot make the report {}", paths.output.display()))?;
    for skipped in &summary.skipped {
        eprintln!(
            "warning: left {} out of the report: {}",
            skipped.csv.display(),
            skipped.reason
        );
    }
    println!(
        "wrote {}: {}, {}",
        summary.output.display(),
        counted(summary.experiments, "experiment"),
        counted(summary.runs, "run")
    );
    Ok(())
}
