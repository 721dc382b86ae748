//! Small file-system helpers shared by the commands: writing a file whole
//! or not at all.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes a file atomically: `write` fills a temp file in the same
/// directory, which is then renamed over `path`. On any error the temp file
/// is removed and `path` is left as it was.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".harness-tmp-")
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "cannot create a file in {}: check that the folder exists and is writable",
                dir.display()
            )
        })?;
    {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, temp.as_file_mut());
        write(&mut buffered).with_context(|| format!("cannot write {}", path.display()))?;
        buffered
            .flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    temp.persist(path).with_context(|| {
        format!(
            "cannot move the finished file into place at {}",
            path.display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.tsv");
        std::fs::write(&path, "old").unwrap();
        let result = write_atomically(&path, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomically(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn a_missing_folder_is_a_clear_error() {
        let err = write_atomically(Path::new("/nonexistent-dir/x"), |_| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("/nonexistent-dir"), "{err:#}");
    }
}
