//! Where an experiment's result files live in a results folder:
//! `<name>.csv` (one row per run), `<name>.env.json` (the sidecar) and
//! `<name>/<run-id>.events.csv` (one event log per run).

use std::path::{Path, PathBuf};

/// The results CSV of experiment `name` in `out_dir`: `<out_dir>/<name>.csv`.
pub fn csv_path(out_dir: &Path, name: &str) -> PathBuf {
    out_dir.join(format!("{name}.csv"))
}

/// The sidecar of a results CSV (`x.csv` -> `x.env.json`).
pub fn sidecar_path(csv: &Path) -> PathBuf {
    csv.with_extension("env.json")
}

/// The event log of a run of the results CSV `csv`:
/// `results/<experiment>/<run-id>.events.csv`.
pub fn events_path(csv: &Path, run_id: &str) -> PathBuf {
    csv.with_extension("").join(format!("{run_id}.events.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_files_sit_beside_the_csv() {
        let csv = csv_path(Path::new("results"), "workers");
        assert_eq!(csv, Path::new("results/workers.csv"));
        assert_eq!(sidecar_path(&csv), Path::new("results/workers.env.json"));
        assert_eq!(
            events_path(&csv, "k-r1"),
            Path::new("results/workers/k-r1.events.csv")
        );
    }
}
