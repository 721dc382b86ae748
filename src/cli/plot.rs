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
pub fn run(args: PlotArgs) -> Result<()> {
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
