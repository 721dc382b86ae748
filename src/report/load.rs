//! Reading a results folder: every `*.csv` with its environment sidecar,
//! sorted by experiment name. A CSV that cannot be used is kept as a
//! [`SkippedCsv`] with the reason, so one old file does not hide the rest.

use std::path::{Path, PathBuf};

use crate::results::{RunRow, Sidecar, read_rows, read_sidecar};

/// Why there is nothing to report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The results folder does not exist.
    #[error(
        "no results folder {dir}: run `harness run experiments/<name>.toml` first (or pass --results DIR)"
    )]
    MissingFolder {
        /// The folder.
        dir: PathBuf,
    },
    /// The results folder cannot be listed.
    #[error("cannot list the results folder {dir}: {error}; check its permissions")]
    UnlistableFolder {
        /// The folder.
        dir: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The results folder has no CSV.
    #[error(
        "no results CSV in {dir}: run `harness run experiments/<name>.toml` first (or pass --results DIR)"
    )]
    NoResults {
        /// The folder.
        dir: PathBuf,
    },
}

/// The results of one experiment: its CSV rows and, when present, its sidecar.
#[derive(Debug)]
pub struct ExperimentResults {
    /// Experiment name (the CSV's file name without `.csv`).
    pub name: String,
    /// The CSV.
    pub csv: PathBuf,
    /// Its rows, in file order (at least one).
    pub rows: Vec<RunRow>,
    /// Its `<name>.env.json` (environment, description, plots), if readable.
    pub sidecar: Option<Sidecar>,
}

/// A CSV left out of the report, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedCsv {
    /// The CSV.
    pub csv: PathBuf,
    /// Why it was left out.
    pub reason: String,
}

/// Everything in a results folder.
#[derive(Debug, Default)]
pub struct LabResults {
    /// Experiments with rows, sorted by name.
    pub experiments: Vec<ExperimentResults>,
    /// CSVs that could not be used, sorted by path.
    pub skipped: Vec<SkippedCsv>,
}

impl LabResults {
    /// Runs over all experiments.
    pub(crate) fn run_count(&self) -> usize {
        self.experiments.iter().map(|e| e.rows.len()).sum()
    }
}

/// Reads every `*.csv` in `dir`; fails only when the folder is missing or
/// holds no CSV at all.
pub fn load_results(dir: &Path) -> Result<LabResults, ReportError> {
    let entries = std::fs::read_dir(dir).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => ReportError::MissingFolder {
            dir: dir.to_path_buf(),
        },
        _ => ReportError::UnlistableFolder {
            dir: dir.to_path_buf(),
            error,
        },
    })?;
    let mut csvs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "csv") && path.is_file())
        .collect();
    if csvs.is_empty() {
        return Err(ReportError::NoResults {
            dir: dir.to_path_buf(),
        });
    }
    csvs.sort();
    let mut results = LabResults::default();
    for csv in csvs {
        match load_experiment(&csv) {
            Ok(experiment) => results.experiments.push(experiment),
            Err(reason) => results.skipped.push(SkippedCsv { csv, reason }),
        }
    }
    results.experiments.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(results)
}

fn load_experiment(csv: &Path) -> Result<ExperimentResults, String> {
    let rows = read_rows(csv).map_err(|e| e.to_string())?;
    if rows.is_empty() {
        return Err("it has no rows yet".to_string());
    }
    let name = csv
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sidecar = read_sidecar(csv);
    Ok(ExperimentResults {
        name,
        csv: csv.to_path_buf(),
        rows,
        sidecar,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::append_row;

    #[test]
    fn an_unreadable_csv_is_skipped_with_its_reason_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("old.csv"),
            "experiment,run,seconds\nx,1,2.0\n",
        )
        .unwrap();
        let good = RunRow {
            experiment: "good".into(),
            ..RunRow::example()
        };
        append_row(&dir.path().join("good.csv"), &good).unwrap();
        let results = load_results(dir.path()).unwrap();
        assert_eq!(results.experiments.len(), 1);
        assert_eq!(results.experiments[0].name, "good");
        assert_eq!(results.skipped.len(), 1);
        assert!(results.skipped[0].csv.ends_with("old.csv"));
        assert!(
            results.skipped[0].reason.contains("other columns"),
            "{}",
            results.skipped[0].reason
        );
    }

    #[test]
    fn a_missing_or_empty_folder_names_the_folder_and_what_to_run() {
        let dir = tempfile::tempdir().unwrap();
        let err = load_results(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&dir.path().display().to_string()) && err.contains("harness run"),
            "{err}"
        );
        let missing = dir.path().join("nope");
        let err = load_results(&missing).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("harness run"), "{err}");
    }
}
