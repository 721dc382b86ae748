//! The lab report, made from every results CSV in a folder and the PNGs of
//! the plots folder. Depends on [`crate::results`] only. Owns reading the
//! results folder as a whole (an unreadable CSV is noted, not fatal),
//! grouping runs into parameter sets with medians, speed-up and efficiency
//! (the serial-baseline rule of `crate::results`), the map from the lab's
//! questions to experiments and their key figures, the measured statements
//! and warnings drawn from them, and two renderings of that one model: a
//! Markdown document with links to the plots and a self-contained HTML
//! document with the plots embedded.
//!
//! Data flows one way: results folder -> [`LabResults`] -> parameter sets
//! and question figures -> Markdown or HTML.

mod findings;
mod format;
mod groups;
mod html;
mod load;
mod markdown;
mod plots;
mod questions;
mod render;
mod view;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use findings::{Finding, Verdict, findings};
pub use groups::PARAMETER_COLUMNS;
pub(crate) use html::render_html;
pub(crate) use load::{LabResults, ReportError, load_results};
pub(crate) use plots::PlotFolder;
pub use questions::{Figure, LAB_QUESTIONS, LabQuestion, Metric};
pub(crate) use render::{counted, render_report};
pub(crate) use view::ReportSource;

/// A lab report ready to render: everything read from a results folder
/// and a plots folder. Rendering writes to any `W: Write`; writing files
/// (whole or not at all) is the caller's job.
#[derive(Debug)]
pub(crate) struct Report {
    /// The results folder read, as given.
    pub results_dir: PathBuf,
    /// What was in it.
    pub lab: LabResults,
    /// The PNGs of the plots folder.
    pub plots: PlotFolder,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
}

impl Report {
    /// Reads every CSV in `results_dir` and lists the PNGs in `plots_dir`.
    /// Fails when the results folder is missing or has no CSV.
    pub(crate) fn load(results_dir: &Path, plots_dir: &Path) -> Result<Report, ReportError> {
        Ok(Report {
            results_dir: results_dir.to_path_buf(),
            lab: load_results(results_dir)?,
            plots: PlotFolder::scan(plots_dir),
            generated_at: crate::results::utc_timestamp(),
        })
    }

    /// What the renderers read; links to plots are relative to `report_dir`.
    pub(crate) fn source<'a>(&'a self, report_dir: &'a Path) -> ReportSource<'a> {
        ReportSource {
            results_dir: &self.results_dir,
            lab: &self.lab,
            plots: &self.plots,
            report_dir,
            generated_at: &self.generated_at,
        }
    }

    /// Writes the Markdown report, which links the plots relative to
    /// `report_dir`, the folder it is written to.
    pub(crate) fn write_markdown<W: Write + ?Sized>(
        &self,
        report_dir: &Path,
        out: &mut W,
    ) -> io::Result<()> {
        render_report(&self.source(report_dir), out)
    }

    /// Writes the self-contained HTML report (plots embedded).
    pub(crate) fn write_html<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        render_html(&self.source(Path::new(".")), out)
    }
}
