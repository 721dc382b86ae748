//! `harness report`: one Markdown lab report from every results CSV, and
//! with `--html` a self-contained HTML copy beside it.

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
    /// Also write a self-contained HTML report beside it (`report.html`):
    /// plots embedded, no external files, opens from an e-mail attachment.
    #[arg(long)]
    pub html: bool,
}

/// Runs `harness report`.
pub(crate) fn run(args: ReportArgs) -> Result<()> {
    let html = args.html.then(|| args.output.with_extension("html"));
    if html.as_ref() == Some(&args.output) {
        anyhow::bail!(
            "--output {} is where --html writes the HTML report: give the Markdown file (e.g. report.md); report.html is written beside it",
            args.output.display()
        );
    }
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
    if let Some(html) = html {
        write_atomically(&html, |out| report.write_html(out))
            .with_context(|| format!("cannot make the HTML report {}", html.display()))?;
        println!("wrote {}: {totals}, plots embedded", html.display());
    }
    Ok(())
}
