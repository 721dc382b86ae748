//! The errors of generation, each saying what to do about it.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Why [`crate::generate`] failed.
#[derive(Debug, Error)]
pub enum GenError {
    /// Reading or writing `path` failed.
    #[error(
        "I/O error on {}: {source} (check that the folder exists, is readable and writable, and that the disk is not full)",
        path.display()
    )]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The book folder is missing or holds no `*.txt` books.
    #[error(
        "no books (*.txt) in {dir}: the folder is missing or empty; run `harness gen --preset books --download --out {dir}` \
         to fetch the top Project Gutenberg books into it, or download plain-text UTF-8 books by hand from \
         Project Gutenberg (https://www.gutenberg.org/browse/scores/top), e.g. \
         https://www.gutenberg.org/ebooks/1342.txt.utf-8, into {dir}, or pass --corpus DIR",
        dir = dir.display()
    )]
    MissingCorpus {
        /// The folder that was searched.
        dir: PathBuf,
    },
    /// The files would not fit the free disk (with the margin kept free).
    #[error(
        "not enough free disk for {needed} of input in {dir}: {available} free, and {margin} must stay free; \
         choose a smaller size (or --scale below 1), free some space, or put the data on another disk",
        dir = dir.display(),
        needed = crate::format_size(*needed),
        available = crate::format_size(*available),
        margin = crate::format_size(*margin)
    )]
    NoSpace {
        /// The folder the files would go to.
        dir: PathBuf,
        /// Bytes the files need.
        needed: u64,
        /// Bytes free for this user on that disk.
        available: u64,
        /// Bytes kept free on top ([`crate::space_margin`]).
        margin: u64,
    },
    /// The spec cannot be generated (zero files, sizes out of range, ...).
    #[error("invalid generation spec: {0}")]
    InvalidSpec(String),
}

/// Wraps an I/O error with the path it happened on (for `map_err`).
pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> GenError + '_ {
    move |source| GenError::Io {
        path: path.to_path_buf(),
        source,
    }
}
