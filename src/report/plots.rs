//! Which PNGs in the plots folder belong to an experiment, and the
//! relative links from the report's folder to them.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use super::load::ExperimentResults;

/// The PNG file names of a plots folder (empty when it does not exist).
#[derive(Debug, Default)]
pub struct PlotFolder {
    /// The folder, as given.
    pub dir: PathBuf,
    /// File names of the PNGs in it, sorted.
    pub files: BTreeSet<String>,
}

impl PlotFolder {
    /// Lists the PNGs in `dir`.
    pub(crate) fn scan(dir: &Path) -> PlotFolder {
        let files = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".png"))
                    .collect()
            })
            .unwrap_or_default();
        PlotFolder {
            dir: dir.to_path_buf(),
            files,
        }
    }

    /// The plots of `experiment`: files named `<experiment>-*.png`, the
    /// plot files its sidecar names, and timelines of its runs
    /// (`<run id>-timeline.png`); sorted by file name.
    pub(crate) fn plots_of(&self, experiment: &ExperimentResults) -> Vec<PathBuf> {
        let prefix = format!("{}-", experiment.name);
        let named: BTreeSet<String> = experiment
            .sidecar
            .iter()
            .flat_map(|sidecar| &sidecar.plots)
            .filter_map(|plot| plot.file.as_ref().map(|file| format!("{file}.png")))
            .chain(
                experiment
                    .rows
                    .iter()
                    .map(|row| format!("{}-timeline.png", row.run_id)),
            )
            .collect();
        self.files
            .iter()
            .filter(|file| file.starts_with(&prefix) || named.contains(*file))
            .map(|file| self.dir.join(file))
            .collect()
    }
}

/// `target` as a link relative to the folder `from_dir` (both relative to
/// the current directory or absolute), with `/` separators.
pub(crate) fn relative_link(from_dir: &Path, target: &Path) -> String {
    let (Ok(from), Ok(to)) = (std::path::absolute(from_dir), std::path::absolute(target)) else {
        return target.to_string_lossy().into_owned();
    };
    let (from, to) = (normalized(&from), normalized(&to));
    let common = from
        .iter()
        .zip(to.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let parts: Vec<String> = std::iter::repeat_n("..".to_string(), from.len() - common)
        .chain(to[common..].iter().cloned())
        .collect();
    parts.join("/")
}

/// The components of an absolute path with `.` and `..` resolved lexically.
fn normalized(path: &Path) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::RunRow;

    #[test]
    fn links_are_relative_to_the_report_folder() {
        assert_eq!(
            relative_link(Path::new("."), Path::new("plots/a.png")),
            "plots/a.png"
        );
        assert_eq!(
            relative_link(Path::new("/w/docs"), Path::new("/w/plots/a.png")),
            "../plots/a.png"
        );
        assert_eq!(
            relative_link(Path::new("/w/./x/../docs"), Path::new("/w/docs/a.png")),
            "a.png"
        );
    }

    #[test]
    fn an_experiment_owns_its_prefixed_plots_and_its_run_timelines() {
        let dir = tempfile::tempdir().unwrap();
        for file in [
            "files-time-files.png",
            "file-size-time.png",
            "k-r1-timeline.png",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(file), "x").unwrap();
        }
        let folder = PlotFolder::scan(dir.path());
        let experiment = ExperimentResults {
            name: "files".into(),
            csv: PathBuf::from("results/files.csv"),
            rows: vec![RunRow::example()],
            sidecar: None,
        };
        let names: Vec<String> = folder
            .plots_of(&experiment)
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(names, ["files-time-files.png", "k-r1-timeline.png"]);
        assert!(PlotFolder::scan(&dir.path().join("none")).files.is_empty());
    }
}
