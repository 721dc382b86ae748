//! Walking files and directories into a stable list of regular files.

use std::fs;
use std::path::{Path, PathBuf};

/// A regular file to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Path as given or as found by walking a given directory.
    pub path: PathBuf,
    /// Size when the walk saw it.
    pub bytes: u64,
}

/// Why the inputs cannot be used. Each message names the path and says
/// what to do.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// No paths were given at all.
    #[error("no input given: pass one or more files or directories to count")]
    NoPaths,
    /// A given path does not exist.
    #[error("input {path} does not exist: check the path (it is relative to {cwd})")]
    NotFound {
        /// The missing path.
        path: PathBuf,
        /// The directory relative paths are resolved from.
        cwd: String,
    },
    /// A given path exists but is not a regular file or directory.
    #[error(
        "input {path} is a {kind}, not a regular file or directory: pass regular files or folders of them"
    )]
    NotAFile {
        /// The offending path.
        path: PathBuf,
        /// What it is (fifo, socket, device, ...).
        kind: &'static str,
    },
    /// A file or directory could not be opened or listed.
    #[error("cannot read {path}: {source}; check its permissions or leave it out")]
    Unreadable {
        /// The offending path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The paths hold no regular file at all.
    #[error("no regular files found in {paths}: put some text files there or pass other paths")]
    NoFiles {
        /// The given paths, joined for the message.
        paths: String,
    },
}

/// Collects the regular files of `paths`: files as given, directories walked
/// recursively in byte order of their entry names. Non-regular entries found
/// inside directories (fifos, sockets, devices, symlinks to directories) are
/// skipped and reported through `on_skip`; given paths that are not files
/// or directories are errors. Every file is opened once to check it is
/// readable, so a permission problem is reported before any work starts.
pub fn collect_files(
    paths: &[PathBuf],
    mut on_skip: impl FnMut(&Path, &'static str),
) -> Result<Vec<InputFile>, InputError> {
    if paths.is_empty() {
        return Err(InputError::NoPaths);
    }
    let mut files = Vec::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => InputError::NotFound {
                path: path.clone(),
                cwd: std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|_| "the current directory".into()),
            },
            _ => InputError::Unreadable {
                path: path.clone(),
                source,
            },
        })?;
        if metadata.is_dir() {
            walk_dir(path, &mut files, &mut on_skip)?;
        } else if metadata.is_file() {
            check_readable(path)?;
            files.push(InputFile {
                path: path.clone(),
                bytes: real_len(path, &metadata)?,
            });
        } else {
            return Err(InputError::NotAFile {
                path: path.clone(),
                kind: file_kind(&metadata),
            });
        }
    }
    if files.is_empty() {
        let joined = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(InputError::NoFiles { paths: joined });
    }
    Ok(files)
}

fn walk_dir(
    dir: &Path,
    files: &mut Vec<InputFile>,
    on_skip: &mut impl FnMut(&Path, &'static str),
) -> Result<(), InputError> {
    let unreadable = |source| InputError::Unreadable {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(unreadable)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    entries.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    for path in entries {
        let link = fs::symlink_metadata(&path).map_err(|source| InputError::Unreadable {
            path: path.clone(),
            source,
        })?;
        let metadata = if link.file_type().is_symlink() {
            match fs::metadata(&path) {
                Ok(target) if target.is_file() => target,
                Ok(_) => {
                    on_skip(&path, "symlink to a non-file");
                    continue;
                }
                Err(_) => {
                    on_skip(&path, "broken symlink");
                    continue;
                }
            }
        } else {
            link
        };
        if metadata.is_dir() {
            walk_dir(&path, files, on_skip)?;
        } else if metadata.is_file() {
            check_readable(&path)?;
            files.push(InputFile {
                bytes: real_len(&path, &metadata)?,
                path,
            });
        } else {
            on_skip(&path, file_kind(&metadata));
        }
    }
    Ok(())
}

/// The bytes a file holds: its size, except that a file whose size reads
/// 0 is read to its end (procfs and some sysfs files report 0 but hold text;
/// a really empty file reads nothing at once).
fn real_len(path: &Path, metadata: &fs::Metadata) -> Result<u64, InputError> {
    if metadata.len() > 0 {
        return Ok(metadata.len());
    }
    let unreadable = |source| InputError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(unreadable)?;
    std::io::copy(&mut file, &mut std::io::sink()).map_err(unreadable)
}

fn check_readable(path: &Path) -> Result<(), InputError> {
    fs::File::open(path)
        .map(drop)
        .map_err(|source| InputError::Unreadable {
            path: path.to_path_buf(),
            source,
        })
}

fn file_kind(metadata: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_fifo() {
        "fifo"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: &[InputFile], root: &Path) -> Vec<String> {
        files
            .iter()
            .map(|f| f.path.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn a_file_whose_size_reads_zero_is_measured_by_reading_it() {
        let proc_file = Path::new("/proc/version");
        if !proc_file.exists() {
            eprintln!("note: no /proc/version here; skipping");
            return;
        }
        let files = collect_files(&[proc_file.to_path_buf()], |_, _| {}).unwrap();
        assert!(files[0].bytes > 0, "{files:?}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        fs::write(&empty, "").unwrap();
        assert_eq!(collect_files(&[empty], |_, _| {}).unwrap()[0].bytes, 0);
    }

    #[test]
    fn walks_directories_recursively_in_stable_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("b/inner")).unwrap();
        for (name, text) in [
            ("b/inner/z.txt", "z"),
            ("a.txt", "aa"),
            ("b/c.txt", ""),
            ("B.txt", "x"),
        ] {
            fs::write(dir.path().join(name), text).unwrap();
        }
        let files = collect_files(&[dir.path().to_path_buf()], |_, _| {}).unwrap();
        assert_eq!(
            names(&files, dir.path()),
            vec!["B.txt", "a.txt", "b/c.txt", "b/inner/z.txt"]
        );
        assert_eq!(files[1].bytes, 2);
    }

    #[test]
    fn fifos_inside_directories_are_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "a").unwrap();
        let fifo = dir.path().join("pipe");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let mut skipped = Vec::new();
        let files = collect_files(&[dir.path().to_path_buf()], |p, kind| {
            skipped.push((p.to_path_buf(), kind))
        })
        .unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(skipped, vec![(fifo.clone(), "fifo")]);
        let err = collect_files(std::slice::from_ref(&fifo), |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("is a fifo"), "{err}");
    }

    #[test]
    fn missing_and_empty_inputs_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = collect_files(std::slice::from_ref(&missing), |_, _| {}).unwrap_err();
        assert!(matches!(err, InputError::NotFound { .. }));
        assert!(err.to_string().contains("nope"));
        let err = collect_files(&[dir.path().to_path_buf()], |_, _| {}).unwrap_err();
        assert!(matches!(err, InputError::NoFiles { .. }), "{err}");
        assert!(matches!(
            collect_files(&[], |_, _| {}),
            Err(InputError::NoPaths)
        ));
    }
}
