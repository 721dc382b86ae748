//! Small file-system helpers shared by the commands: writing a file whole
//! or not at all, and temporary directories that name their owner's PID so
//! the next run can remove those of runs that died by SIGKILL.

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

/// A new temporary directory `PREFIX-PID-XXXXXX` (removed on drop). First
/// removes the `PREFIX-PID-*` directories whose process is gone: what runs
/// killed with SIGKILL (no destructor ran) left behind.
pub fn owned_temp_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let base = std::env::temp_dir();
    remove_orphans(&base, prefix);
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-{}-", std::process::id()))
        .tempdir_in(base)
}

/// Removes `dir/PREFIX-PID-*` directories whose PID is no live process.
pub fn remove_orphans(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if owner > 0 && !process_alive(owner) && entry.path().is_dir() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// True when a process with this PID exists (ours or not).
fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod owned_tests {
    use super::*;

    #[test]
    fn orphans_of_dead_owners_are_removed_and_live_ones_kept() {
        let base = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let orphan = base.path().join(format!("harness-x-{dead}-abc"));
        let mine = base
            .path()
            .join(format!("harness-x-{}-def", std::process::id()));
        let other = base.path().join(format!("harness-xy-{dead}-abc"));
        for dir in [&orphan, &mine, &other] {
            std::fs::create_dir(dir).unwrap();
        }
        remove_orphans(base.path(), "harness-x");
        assert!(!orphan.exists());
        assert!(mine.exists() && other.exists());
    }
}
