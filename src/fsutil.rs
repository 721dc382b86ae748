//! Small file-system helpers shared by the commands: writing an output the
//! way the shell's `>` would (see [`write_output`]), checking an output path
//! before any work starts, and temporary directories that name their owner's
//! PID so the next run can remove those of runs that died by SIGKILL.
//!
//! What an output path may be, and what happens to it:
//!
//! | at the path | what is written |
//! |---|---|
//! | nothing, or a regular file | a temp file in the same folder, renamed over it (new files 0666 minus the umask; a replaced file keeps its mode) |
//! | a symlink (chains too, dangling too) | followed; its final target is treated as above, in the target's own folder; the link stays |
//! | a FIFO, a character or block device | opened for writing and written through (a FIFO waits for a reader, as the shell does) |
//! | a folder, a socket | refused in one line |

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Most symlinks followed from one output path (the kernel's own limit).
const MAX_SYMLINKS: usize = 40;

/// How an output path is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutputTarget {
    /// A regular file (or none yet) at `path`: replaced atomically; `mode`
    /// is the permission bits the finished file gets.
    Replace {
        /// The file replaced (symlinks already followed).
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A FIFO or a device: opened and written through.
    WriteThrough(PathBuf),
}

/// The process's umask, read once (from `/proc/self/status`, else by
/// setting and restoring it before any other thread creates files).
pub(crate) fn umask() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        let from_proc = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            });
        from_proc.unwrap_or_else(|| {
            // SAFETY: umask only swaps the process's mask; restored at once.
            let old = unsafe { libc::umask(0o022) };
            // SAFETY: as above.
            unsafe { libc::umask(old) };
            u32::from(old)
        })
    })
}

/// The mode of a new file, as `open(..., 0666)` would give it.
pub(crate) fn new_file_mode() -> u32 {
    0o666 & !umask()
}

/// Follows symlinks at `path` (relative ones from their own folder) to
/// what they finally name, which may not exist yet.
fn resolve_symlinks(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::other(format!(
        "more than {MAX_SYMLINKS} symlinks to follow (a loop?)"
    )))
}

/// Says how `path` would be written, following symlinks; refuses a folder
/// or a socket in one line.
pub(crate) fn output_target(path: &Path) -> std::io::Result<OutputTarget> {
    let resolved = resolve_symlinks(path)?;
    match std::fs::metadata(&resolved) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(OutputTarget::Replace {
            path: resolved,
            mode: new_file_mode(),
        }),
        Err(e) => Err(e),
        Ok(meta) => {
            let kind = meta.file_type();
            if kind.is_file() {
                Ok(OutputTarget::Replace {
                    path: resolved,
                    mode: meta.permissions().mode() & 0o7777,
                })
            } else if kind.is_fifo() || kind.is_char_device() || kind.is_block_device() {
                Ok(OutputTarget::WriteThrough(resolved))
            } else if kind.is_dir() {
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a folder: give a file path in it, e.g. {}",
                        path.display(),
                        path.join("counts.tsv").display()
                    ),
                ))
            } else {
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a socket: give a regular file, a FIFO or a device",
                        path.display()
                    ),
                ))
            }
        }
    }
}

/// The folder a file at `path` is created in.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Checks, before any work starts, that `path` can be written as an
/// output: not a folder, and (for a new or regular file) its folder exists
/// and is writable. One line saying what to do otherwise.
pub(crate) fn check_output(path: &Path) -> Result<()> {
    let target = output_target(path).with_context(|| format!("cannot write {}", path.display()))?;
    let (checked, what) = match &target {
        OutputTarget::WriteThrough(special) => (special.as_path(), "it"),
        OutputTarget::Replace { path: file, .. } => {
            let dir = folder_of(file);
            match std::fs::metadata(dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => anyhow::bail!(
                    "cannot write {}: {} is not a folder",
                    path.display(),
                    dir.display()
                ),
                Err(_) => anyhow::bail!(
                    "cannot write {}: the folder {} does not exist; create it first (mkdir -p {})",
                    path.display(),
                    dir.display(),
                    dir.display()
                ),
            }
            (dir, "the folder")
        }
    };
    let c_path = std::ffi::CString::new(checked.as_os_str().as_encoded_bytes())
        .with_context(|| format!("{} has a NUL byte", checked.display()))?;
    // SAFETY: access only reads the NUL-terminated path.
    if unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } != 0 {
        anyhow::bail!(
            "cannot write {}: {what} ({}) is not writable by this user ({}); choose another path",
            path.display(),
            checked.display(),
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

/// Writes an output like the shell's `>` (see the module doc): `write`
/// fills it; a regular file is replaced only when `write` succeeded (the
/// temp file is removed on any error and the old file is left as it was).
/// `sync`: flush a replaced file to disk before the rename.
pub(crate) fn write_output(
    path: &Path,
    sync: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    match output_target(path)? {
        OutputTarget::WriteThrough(special) => {
            let file = std::fs::OpenOptions::new().write(true).open(&special)?;
            let mut buffered = std::io::BufWriter::with_capacity(1 << 16, file);
            write(&mut buffered)?;
            buffered.flush()
        }
        OutputTarget::Replace { path: file, mode } => {
            let mut temp = tempfile::Builder::new()
                .prefix(".harness-tmp-")
                .tempfile_in(folder_of(&file))?;
            {
                let mut buffered = std::io::BufWriter::with_capacity(1 << 20, temp.as_file_mut());
                write(&mut buffered)?;
                buffered.flush()?;
            }
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
            if sync {
                temp.as_file().sync_all()?;
            }
            temp.persist(&file).map_err(|e| e.error)?;
            Ok(())
        }
    }
}

/// Moves a finished file `finished` (e.g. a PNG an encoder wrote next to
/// `path`) into place at `path` as [`write_output`] would write it: renamed
/// over a regular file (with the mode that file or a new one gets), copied
/// into a FIFO or a device. `finished` is gone afterwards.
pub(crate) fn install_output(finished: &Path, path: &Path) -> std::io::Result<()> {
    let result = match output_target(path) {
        Ok(OutputTarget::Replace { path: file, mode }) => {
            std::fs::set_permissions(finished, std::fs::Permissions::from_mode(mode))
                .and_then(|()| std::fs::rename(finished, &file))
                .or_else(|_| {
                    write_output(path, false, |w| {
                        std::io::copy(&mut std::fs::File::open(finished)?, w).map(drop)
                    })
                })
        }
        Ok(OutputTarget::WriteThrough(_)) => write_output(path, false, |w| {
            std::io::copy(&mut std::fs::File::open(finished)?, w).map(drop)
        }),
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(finished);
    result
}

/// [`write_output`] with the path in the error, for the commands.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_output(path, false, write).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            ": check that the folder exists"
        } else {
            ""
        };
        anyhow::anyhow!("cannot write {}: {e}{hint}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

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
        let err = check_output(Path::new("/nonexistent-dir/x")).unwrap_err();
        assert!(format!("{err:#}").contains("does not exist"), "{err:#}");
    }

    #[test]
    fn new_files_get_0666_minus_the_umask_and_replaced_ones_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.tsv");
        write_atomically(&new, |w| w.write_all(b"x")).unwrap();
        let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask());
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&new, |w| w.write_all(b"y")).unwrap();
        let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_symlink_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/counts.tsv");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.tsv");
        symlink("real/counts.tsv", &link).unwrap();
        write_atomically(&link, |w| w.write_all(b"new")).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        // A dangling link: its target is created.
        let dangling = dir.path().join("dangling");
        symlink("real/fresh.tsv", &dangling).unwrap();
        write_atomically(&dangling, |w| w.write_all(b"fresh")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("real/fresh.tsv")).unwrap(),
            "fresh"
        );
        // A loop is an error, not a hang.
        symlink("loop-b", dir.path().join("loop-a")).unwrap();
        symlink("loop-a", dir.path().join("loop-b")).unwrap();
        assert!(write_atomically(&dir.path().join("loop-a"), |_| Ok(())).is_err());
    }

    #[test]
    fn a_folder_is_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomically(dir.path(), |w| w.write_all(b"x")).unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("is a folder") && !text.contains('\n'),
            "{text}"
        );
        assert!(check_output(dir.path()).is_err());
    }

    #[test]
    fn a_fifo_is_written_through_and_stays_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        check_output(&fifo).unwrap();
        write_atomically(&fifo, |w| w.write_all(b"a\t1\n")).unwrap();
        assert_eq!(reader.join().unwrap(), b"a\t1\n");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn an_installed_file_takes_the_new_file_mode() {
        let dir = tempfile::tempdir().unwrap();
        let finished = dir.path().join(".tmp.png");
        std::fs::write(&finished, "png").unwrap();
        std::fs::set_permissions(&finished, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = dir.path().join("plot.png");
        install_output(&finished, &out).unwrap();
        assert!(!finished.exists());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "png");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask());
    }
}

/// A new temporary directory `PREFIX-PID-XXXXXX` (removed on drop). First
/// removes the `PREFIX-PID-*` directories whose process is gone: what runs
/// killed with SIGKILL (no destructor ran) left behind.
pub(crate) fn owned_temp_dir(prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let base = std::env::temp_dir();
    remove_orphans(&base, prefix);
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-{}-", std::process::id()))
        .tempdir_in(base)
}

/// Removes `dir/PREFIX-PID-*` directories whose PID is no live process.
pub(crate) fn remove_orphans(dir: &Path, prefix: &str) {
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
