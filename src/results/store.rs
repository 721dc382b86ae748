//! The results CSV: appending a row whole or not at all, reading rows back,
//! and refusing a CSV written with another set of columns.

use std::fs;
use std::path::{Path, PathBuf};

use super::row::RunRow;

/// Why a results file cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResultsError {
    /// The CSV's header is not this harness's.
    #[error(
        "{path} was written with other columns (an older or newer harness): it is left untouched; \
         move it away or pass --out with another folder to start a new one (first difference: {difference})"
    )]
    OtherSchema {
        /// The file.
        path: PathBuf,
        /// The first column that differs.
        difference: String,
    },
    /// The CSV cannot be read or parsed.
    #[error("cannot read results {path}: {message}; fix or move the file away")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The results folder or file cannot be written.
    #[error("cannot write results {path}: {source}; check that the folder exists and is writable")]
    Unwritable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Reads every row of `path`; a missing file has no rows.
pub(crate) fn read_rows(path: &Path) -> Result<Vec<RunRow>, ResultsError> {
    let unreadable = |message: String| ResultsError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(unreadable(e.to_string())),
    };
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let expected = RunRow::header();
    if header != expected {
        let difference = expected
            .iter()
            .zip(header.iter().map(Some).chain(std::iter::repeat(None)))
            .find(|(want, got)| Some(*want) != *got)
            .map(|(want, got)| {
                format!(
                    "expected column `{want}`, found `{}`",
                    got.map_or("(none)", |g| g.as_str())
                )
            })
            .unwrap_or_else(|| format!("{} columns instead of {}", header.len(), expected.len()));
        return Err(ResultsError::OtherSchema {
            path: path.to_path_buf(),
            difference,
        });
    }
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| unreadable(format!("row {}: {e}", i + 1))))
        .collect()
}

/// Appends `row` to the CSV at `path` (creating it with a header), whole or
/// not at all: the file is rewritten into a temp file beside it, synced, and
/// renamed over the old one, so a crash at any moment leaves either the old
/// CSV or the new one.
pub(crate) fn append_row(path: &Path, row: &RunRow) -> Result<(), ResultsError> {
    let unwritable = |source| ResultsError::Unwritable {
        path: path.to_path_buf(),
        source,
    };
    read_rows(path)?;
    let existing = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(unwritable(e)),
    };
    let mut writer = csv::WriterBuilder::new()
        .has_headers(existing.is_empty())
        .from_writer(Vec::new());
    writer
        .serialize(row)
        .map_err(|e| unwritable(std::io::Error::other(e)))?;
    let new_bytes = writer
        .into_inner()
        .map_err(|e| unwritable(std::io::Error::other(e.to_string())))?;
    // Replaced whole like the shell's `>` would (symlinks followed, the
    // file's mode kept, new files 0666 minus the umask), synced first.
    crate::fsutil::write_output(path, true, |w| {
        w.write_all(&existing)?;
        w.write_all(&new_bytes)
    })
    .map_err(unwritable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_append_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        assert!(read_rows(&path).unwrap().is_empty());
        let mut row = RunRow::example();
        append_row(&path, &row).unwrap();
        row.rep = 2;
        row.input = "with, comma \"quoted\"".into();
        append_row(&path, &row).unwrap();
        let rows = read_rows(&path).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1], row);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("experiment,"))
                .count(),
            1
        );
    }

    #[test]
    fn another_schema_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.csv");
        fs::write(&path, "experiment,run_id,wall\nx,y,1.0\n").unwrap();
        let err = append_row(&path, &RunRow::example()).unwrap_err();
        assert!(matches!(err, ResultsError::OtherSchema { .. }), "{err}");
        assert!(err.to_string().contains("params_key"), "{err}");
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "experiment,run_id,wall\nx,y,1.0\n"
        );
    }

    #[test]
    fn an_unwritable_folder_is_a_clear_error() {
        let err =
            append_row(Path::new("/nonexistent-results/x.csv"), &RunRow::example()).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-results/x.csv"),
            "{err}"
        );
    }
}
