//! `harness report`: one Markdown lab report from every results CSV.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use crate::fsutil::write_atomically;
use crate::report::{Report, counted};

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
    let report = Report::load(&args.results, &args.plots)
        .with_context(|| format!("cannot make the report {}", args.output.display()))?;
    for skipped in &report.lab.skipped {
        eprintln!(
            "warning: left {} out of the report: {}",
            skipped.csv.display(),
            skipped.reason
        );
    }
    let report_dir = match args.output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    write_atomically(&args.output, |out| report.write_markdown(report_dir, out))
        .with_context(|| format!("cannot make the report {}", args.output.display()))?;
    let totals = format!(
        "{}, {}",
        counted(report.lab.experiments.len(), "experiment"),
        counted(report.lab.run_count(), "run")
    );
    println!("wrote {}: {totals}", args.output.display());
    Ok(())
}
