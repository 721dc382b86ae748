//! Deterministic inputs for the word-count lab.
//!
//! Synthetic pseudo-English text with Zipf-distributed word frequencies, and
//! real Project Gutenberg books, written as file sets for the lab's
//! experiments: a size ladder (100 B, 1 KB, ...), skewed sizes (many equal
//! files plus one big one), uniform files, and book collections. The same
//! [`GenSpec`] always produces byte-identical files, and a finished folder is
//! marked with the spec's [`GenSpec::cache_key`] so it can be reused.
//!
//! A word, as the lab counts it, is a maximal run of bytes other than ASCII
//! whitespace (space, \t, \n, \v, \f, \r), ASCII-lowercased.
//!
//! # Layout
//!
//! - `size`: [`parse_size`] and [`format_size`] for human sizes ("64MiB").
//! - `spec`: [`Preset`] and [`GenSpec`]: what to generate, its cache key, and
//!   the file names and sizes it expands into.
//! - `synth`: the synthetic text model (vocabulary, Zipf sampler, streaming
//!   writer) behind [`write_synthetic`].
//! - `books`: the corpus folder as an endless round-robin stream of books.
//! - `generate`: [`generate`] writes a spec's files with the `.complete`
//!   marker; [`default_corpus_dir`] finds the books.
//! - `download`: [`download_books`] fetches the top Project Gutenberg books
//!   ([`TOP_BOOKS`]) into a folder, cached and checked, by default
//!   [`default_download_dir`].
//! - `error`: [`GenError`].
//!
//! ```no_run
//! use data_gen::{GenSpec, Preset, generate, parse_size};
//!
//! let preset = Preset::Skew { files: 8, file_bytes: parse_size("1MB")?, factor: 10 };
//! let files = generate(&GenSpec::new(preset, 42), "data/skew".as_ref())?;
//! assert_eq!(files.len(), 9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod books;
mod download;
mod error;
mod generate;
mod size;
mod spec;
mod synth;

pub use books::holds_books;
pub use download::{
    BOOKS_DIR_ENV, Book, BookProblem, CONNECT_TIMEOUT, DEFAULT_MIRROR, DownloadError,
    DownloadedBook, MIN_BOOK_BYTES, READ_TIMEOUT, TOP_BOOKS, check_book, default_download_dir,
    download_books, manifest_path, missing_books_advice,
};
pub use error::GenError;
pub use generate::{
    COMPLETE_MARKER, GeneratedFile, bytes_to_write, check_disk_space, check_space_for,
    default_corpus_dir, free_bytes, generate, marker_path, space_margin,
};
pub use size::{SizeError, format_size, parse_size};
pub use spec::{
    DEFAULT_PER_SIZE, DEFAULT_SKEW_FACTOR, DEFAULT_VOCABULARY, GenSpec, LADDER_MIN_BYTES, Preset,
};
pub use synth::{MAX_VOCABULARY, write_synthetic};
