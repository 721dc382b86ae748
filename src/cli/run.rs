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
    /// Start more than 1,000 runs without asking (without a terminal, such a run needs it).
    #[arg(long)]
    pub yes: bool,
    /// Self-test of the correctness check: corrupt one count of every run before checking it.
    #[arg(long, hide = true)]
    pub inject_miscount: bool,
}

/// The experiment cannot run on this machine; nothing ran (exit code
/// [`super::exit_code::CANNOT_RUN`]).
#[derive(Debug, thiserror::Error)]
#[error("experiment {} did not run: {reason}", experiment.display())]
pub(crate) struct CannotRun {
    /// The experiment file.
    pub experiment: PathBuf,
    /// What is missing and what to do.
    pub reason: String,
}

/// Runs `harness run`.
pub(crate) fn run(args: RunArgs) -> Result<()> {
    crate::interrupt::install();
    // An experiment whose needs this machine does not meet (its books, the
    // RedisRaft module, root for emulated hosts) runs nothing and says why:
    // an exit code of its own, never a silent success.
    if let Some(file) = std::fs::read_to_string(&args.experiment)
        .ok()
        .and_then(|text| toml::from_str::<crate::experiment::ExperimentFile>(&text).ok())
        && let Some(reason) = crate::lab::skip_reason(&file)
    {
        return Err(CannotRun {
            experiment: args.experiment.clone(),
            reason,
        }
        .into());
    }
    let mut experiment = load_experiment(&args.experiment, args.scale)?;
    if let Some(reps) = args.reps {
        experiment.repetitions = reps;
    }
    let total_runs = total_runs(&experiment);
    check_generated_inputs_fit(&experiment, &args.data)?;
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{}: {} runs x {} repetitions (+{} warm-up each), scale {}: {total_runs} runs in all",
            experiment.name,
            experiment.runs.len(),
            experiment.repetitions,
            experiment.warmup,
            experiment.scale
        )?;
        if let Some(estimate) = estimate(&experiment, &args.out, total_runs) {
            writeln!(out, "{estimate}")?;
        }
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
    if total_runs > MAX_RUNS_WITHOUT_YES && !args.yes {
        confirm_many_runs(&experiment.name, total_runs)?;
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
    let summary = run_experiment(&experiment, &options).map_err(|error| {
        if crate::cli::exit_code_of(&error) == crate::interrupt::exit_code() {
            error.context("harness run stopped; rows already written are kept, rerun to resume")
        } else {
            error
        }
    })?;
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

/// Most runs `harness run` starts without `--yes` or a yes at the terminal.
pub(crate) const MAX_RUNS_WITHOUT_YES: u64 = 1000;

/// Runs of an experiment, warm-ups included.
fn total_runs(experiment: &crate::experiment::Experiment) -> u64 {
    experiment.runs.len() as u64
        * (u64::from(experiment.repetitions) + u64::from(experiment.warmup))
}

/// Asks at the terminal before starting `runs` runs; refuses without one.
fn confirm_many_runs(name: &str, runs: u64) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!(
            "{name} would start {runs} runs (more than {MAX_RUNS_WITHOUT_YES}) and there is no terminal to ask: add --yes to start them, or shrink the [matrix] (see --dry-run)"
        );
    }
    eprint!("{name} will start {runs} runs (more than {MAX_RUNS_WITHOUT_YES}). Start them? [y/N] ");
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("cannot read the answer from the terminal")?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!(
            "not started: shrink the [matrix] (see --dry-run), or add --yes to start {runs} runs"
        );
    }
    Ok(())
}

/// Refuses, before any run, generated inputs that do not fit the free
/// disk (with its margin) in the data folder.
fn check_generated_inputs_fit(
    experiment: &crate::experiment::Experiment,
    data_dir: &std::path::Path,
) -> Result<()> {
    let gen_dir = data_dir.join("gen");
    let mut seen = std::collections::HashSet::new();
    let mut needed = 0u64;
    for params in &experiment.runs {
        if let crate::experiment::InputSource::Generated(spec) = &params.input
            && seen.insert(spec.cache_key())
        {
            let bytes = data_gen::bytes_to_write(spec, &gen_dir.join(spec.cache_key()))
                .with_context(|| format!("cannot plan the input {}", spec.cache_key()))?;
            needed = needed.saturating_add(bytes);
        }
    }
    data_gen::check_space_for(needed, &gen_dir)
        .with_context(|| format!("experiment {} not started", experiment.name))?;
    Ok(())
}

/// How long the runs may take, from the rows already in the results CSV
/// (`None` when it has none).
fn estimate(
    experiment: &crate::experiment::Experiment,
    out_dir: &std::path::Path,
    total_runs: u64,
) -> Option<String> {
    let csv = crate::results::csv_path(out_dir, &experiment.name);
    let rows = crate::results::read_rows(&csv).ok()?;
    if rows.is_empty() {
        return None;
    }
    let mean_s = rows.iter().map(|r| r.wall_s).sum::<f64>() / rows.len() as f64;
    let measured = experiment.runs.len() as u64 * u64::from(experiment.repetitions);
    let pending = measured.saturating_sub(rows.len() as u64)
        + experiment.runs.len() as u64 * u64::from(experiment.warmup);
    Some(format!(
        "estimate: about {:.1} s for the {pending} of {total_runs} runs not in {} yet (mean wall_s {mean_s:.3} over its {} rows; servers and checks add to it)",
        pending as f64 * mean_s,
        csv.display(),
        rows.len()
    ))
}
