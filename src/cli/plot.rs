//! `harness plot`: PNG plots of an experiment's results CSV.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Arguments of `harness plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A results CSV written by `harness run` (e.g. results/workers.csv).
    pub csv: PathBuf,
    /// Folder for the PNG files.
    #[arg(long, default_value = "plots")]
    pub out: PathBuf,
    /// Draw the per-worker timeline (Gantt) of this run id instead (redis-mode runs log events).
    #[arg(long, value_name = "RUN_ID")]
    pub timeline: Option<String>,
}

/// Runs `harness plot`.
pub(crate) fn run(args: PlotArgs) -> Result<()> {
    if !args.csv.exists() {
        anyhow::bail!(
            "{} does not exist: give a results CSV that `harness run experiments/NAME.toml` wrote (results/NAME.csv by default)",
            args.csv.display()
        );
    }
    if args.csv.is_dir() {
        anyhow::bail!(
            "{} is a folder: give one results CSV in it, e.g. {}",
            args.csv.display(),
            args.csv.join("NAME.csv").display()
        );
    }
    draw(&args).map_err(plot_advice)
}

/// The results module's advice names `harness run`'s `--out` (its results
/// folder); for `plot`, `--out` is the PNG folder, so say it in plot's terms.
fn plot_advice(error: anyhow::Error) -> anyhow::Error {
    let other_schema = error.chain().find_map(|cause| match cause.downcast_ref() {
        Some(crate::results::ResultsError::OtherSchema { path, difference }) => {
            Some((path.clone(), difference.clone()))
        }
        _ => None,
    });
    match other_schema {
        Some((path, difference)) => anyhow::anyhow!(
            "{} was written with other columns (an older or newer harness; first difference: {difference}): \
             plot it with that harness, or rerun the experiment into a new results folder (harness run EXPERIMENT --out DIR) and plot the CSV there",
            path.display()
        ),
        None => error,
    }
}

fn draw(args: &PlotArgs) -> Result<()> {
    if let Some(run_id) = &args.timeline {
        let path = crate::plot::draw_run_timeline(&args.csv, run_id, &args.out)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    for path in crate::plot::draw_experiment_plots(&args.csv, &args.out)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
