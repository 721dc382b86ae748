//! `harness lab`: every experiment, then the plots, then the report, as
//! one resumable run (see [`crate::lab`]).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::lab::{LabId, LabOptions, ScaleSetting, parse_budget, run_lab};

/// Arguments of `harness lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// Multiply every generated input size by this (default 1).
    #[arg(long, conflicts_with = "budget")]
    pub scale: Option<f64>,
    /// Fit the lab into this budget (e.g. 20m, 900s, 1.5h) with a scale per
    /// experiment (of 1, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01): timing experiments
    /// get median runs of at least 0.5 s, fault experiments a scale at which
    /// their faults land; the plan printed first says which got which and why.
    #[arg(long, value_parser = parse_budget, value_name = "DURATION")]
    pub budget: Option<f64>,
    /// Run only these labs, comma-separated (lab1,lab3; lab4.1); an
    /// experiment's lab comes from its `lab = "Lab N: ..."` key.
    #[arg(long, value_delimiter = ',', value_parser = parse_lab, value_name = "LABS")]
    pub only: Vec<LabId>,
    /// Folder for results/ (CSVs), plots/ (PNGs), report.md and report.html.
    #[arg(long, default_value = "lab")]
    pub out: PathBuf,
    /// Folder for generated inputs, the oracle cache and calibration runs.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Folder of the experiment files.
    #[arg(long, default_value = "experiments", hide = true)]
    pub experiments: PathBuf,
    /// First fetch the 30 Project Gutenberg books the book experiments use
    /// (into $HARNESS_BOOKS_DIR, else ~/.cache/harness/gutenberg; books
    /// already there are kept), so those experiments run instead of being skipped.
    #[arg(long)]
    pub download_books: bool,
    /// Where --download-books fetches from (a Project Gutenberg mirror).
    #[arg(long, value_name = "URL", default_value = data_gen::DEFAULT_MIRROR, hide = true)]
    pub mirror: String,
    /// Bring your own worker: every redis-mode run uses this command as its
    /// workers (docs/PROTOCOL.md); use a fresh --out folder for it.
    #[arg(long, value_name = "CMD", default_value = "")]
    pub worker_cmd: String,
    /// Bring your own worker: the Function library the harness loads for it.
    #[arg(long, value_name = "LIB.lua", default_value = "")]
    pub worker_functions: String,
    /// Bring your own worker: run every redis-mode run with the built-in
    /// worker too, side by side in the same tables (needs --worker-cmd).
    #[arg(long, requires = "worker_cmd")]
    pub compare_builtin: bool,
}

fn parse_lab(text: &str) -> Result<LabId, String> {
    LabId::parse(text)
        .ok_or_else(|| format!("`{text}` is not a lab: write lab1, lab2, lab3, lab4 or lab4.1"))
}

/// Runs `harness lab`.
pub(crate) fn run(args: LabArgs) -> Result<()> {
    crate::interrupt::install();
    let scale = match (args.scale, args.budget) {
        (_, Some(budget_s)) => ScaleSetting::Budget(budget_s),
        (Some(scale), None) if scale.is_finite() && scale > 0.0 => ScaleSetting::Fixed(scale),
        (Some(scale), None) => bail!("--scale must be a positive number, not {scale}"),
        (None, None) => ScaleSetting::Fixed(1.0),
    };
    if args.download_books {
        let dir = data_gen::default_download_dir().with_context(|| {
            format!(
                "--download-books: no download folder (neither {} nor HOME is set): set {}=DIR",
                data_gen::BOOKS_DIR_ENV,
                data_gen::BOOKS_DIR_ENV
            )
        })?;
        super::generate::fetch_books(data_gen::TOP_BOOKS.len(), &args.mirror, &dir).context(
            "--download-books: run `harness lab` without it to skip the book experiments",
        )?;
    }
    let options = LabOptions {
        experiments_dir: args.experiments,
        only: args.only,
        scale,
        out_dir: args.out,
        data_dir: args.data,
        exe: std::env::current_exe()
            .context("cannot find the harness executable to start workers")?,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        worker_cmd: args.worker_cmd,
        worker_functions: args.worker_functions,
        compare_builtin: args.compare_builtin,
    };
    let mut stdout = std::io::stdout();
    let summary = run_lab(&options, &mut stdout)?;
    for (name, reason) in &summary.skipped {
        println!("skipped {name}: {reason}");
    }
    for (name, error) in &summary.failed {
        eprintln!("FAILED {name}: {error}");
    }
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    for run_id in &summary.unexpected_wrong {
        eprintln!("WRONG COUNT (expected exact): {run_id}");
    }
    println!(
        "{} plots in {}",
        summary.plots.len(),
        options.plots_dir().display()
    );
    println!("report: {}", summary.report_html.display());
    println!("report: {}", summary.report_md.display());
    println!("{}", summary.line());
    if !summary.ok() {
        bail!(
            "{} run(s) expected to be exact gave wrong counts, {} experiment(s) failed (rows kept in {})",
            summary.unexpected_wrong.len(),
            summary.failed.len(),
            options.results_dir().display()
        );
    }
    Ok(())
}
