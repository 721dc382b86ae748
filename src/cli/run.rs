//! `harness run`: run an experiment file's matrix, appending rows to
//! `results/<experiment>.csv`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::experiment::{RunOptions, load_experiment, run_experiment};

/// Arguments of `harness run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The experiment file (e.g. experiments/workers.toml).
    pub experiment: PathBuf,
    /// Multiply every generated input size by this (e.g. 0.1 for a quick pass, 10 on a big machine).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Repetitions of each run (overrides the file).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub reps: Option<u32>,
    /// Folder for the results CSV, its sidecar and event logs.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Folder for generated inputs and the oracle cache.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Print the expanded runs without running them.
    #[arg(long)]
    pub dry_run: bool,
    /// Rerun runs whose rows already exist (their rows are replaced).
    #[arg(long)]
    pub force: bool,
    /// Self-test of the correctness check: corrupt one count of every run before checking it.
    #[arg(long, hide = true)]
    pub inject_miscount: bool,
}

/// Runs `harness run`.
pub fn run(args: RunArgs) -> Result<()> {
    crate::interrupt::install();
    // An experiment whose needs this machine does not meet (e.g. the
    // RedisRaft module) is skipped with the reason, as in `harness lab`.
    if let Some(file) = std::fs::read_to_string(&args.experiment)
        .ok()
        .and_then(|text| toml::from_str::<crate::experiment::ExperimentFile>(&text).ok())
        && let Some(reason) = crate::lab::skip_reason(&file)
    {
        eprintln!("skipped: experiment {} {reason}", args.experiment.display());
        return Ok(());
    }
    let mut experiment = load_experiment(&args.experiment, args.scale)?;
    if let Some(reps) = args.reps {
        experiment.repetitions = reps;
    }
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{}: {} runs x {} repetitions (+{} warm-up each), scale {}",
            experiment.name,
            experiment.runs.len(),
            experiment.repetitions,
            experiment.warmup,
            experiment.scale
        )?;
        for params in &experiment.runs {
            writeln!(
                out,
                "{}  {}",
                params.key(experiment.scale),
                params.describe()
            )?;
        }
        // Earlier rows: the results, and the lab's calibration runs.
        let calibration = args.data.join("calibration");
        let rows: Vec<crate::results::RunRow> = [&args.out, &calibration]
            .into_iter()
            .flat_map(|dir| {
                crate::results::read_rows(&crate::experiment::csv_path(dir, &experiment.name))
                    .unwrap_or_default()
            })
            .collect();
        for warning in crate::experiment::late_fault_warnings(&experiment, &rows) {
            eprintln!("warning: {warning}");
        }
        return Ok(());
    }
    let options = RunOptions {
        out_dir: args.out.clone(),
        data_dir: args.data.clone(),
        force: args.force,
        exe: std::env::current_exe()
            .context("cannot find the harness executable to start workers")?,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        inject_miscount: args.inject_miscount,
    };
    let summary = run_experiment(&experiment, &options)?;
    println!(
        "{}: {} runs done, {} already in {} (skipped), {:.1}s",
        experiment.name,
        summary.ran,
        summary.skipped,
        summary.csv.display(),
        summary.wall_s
    );
    for unfinished in &summary.not_finished {
        eprintln!("NOT FINISHED: {unfinished}");
    }
    if !summary.unfired.is_empty() {
        for unfired in &summary.unfired {
            eprintln!("FAULT NOT FIRED: {unfired}");
        }
        eprintln!(
            "note: {} run(s) ended before a planned fault came (faults_unfired = true): they show nothing about that fault, and plots and the report leave them out; use a progress-relative time (e.g. at:50%) or a larger --scale",
            summary.unfired.len()
        );
    }
    if !summary.wrong.is_empty() {
        for wrong in &summary.wrong {
            eprintln!("WRONG COUNT: {wrong}");
        }
        bail!(
            "{} run(s) gave counts that differ from the serial oracle (rows kept in {} with correct=false)",
            summary.wrong.len(),
            summary.csv.display()
        );
    }
    Ok(())
}
