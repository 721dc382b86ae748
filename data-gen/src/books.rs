//! Book-based inputs: real texts from a corpus folder, streamed round-robin
//! and cut into files at word boundaries.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{GenError, io_error};

/// UTF-8 byte-order mark, dropped from the start of every book.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Write buffer size for output files.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// True for the bytes that separate words: ASCII space, \t, \n, \v, \f, \r.
pub(crate) fn is_word_separator(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// True for a book of a corpus folder: a regular `*.txt` file.
fn is_book(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("txt"))
        && path.is_file()
}

/// True if `dir` is a folder holding at least one book (`*.txt`).
pub fn holds_books(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|entry| is_book(&entry.path()))
    })
}

/// The books of a corpus folder as one endless stream (whole books, repeated
/// round-robin). Only the current book is held in memory.
pub(crate) struct BookStream {
    dir: PathBuf,
    books: Vec<PathBuf>,
    next_book: usize,
    current: Vec<u8>,
    position: usize,
}

impl BookStream {
    /// Lists the `*.txt` files of `dir`, sorted by name.
    pub(crate) fn open(dir: &Path) -> Result<Self, GenError> {
        let missing = || GenError::MissingCorpus {
            dir: dir.to_path_buf(),
        };
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(missing()),
            Err(error) => return Err(io_error(dir)(error)),
        };
        let mut books = Vec::new();
        for entry in entries {
            let path = entry.map_err(io_error(dir))?.path();
            if is_book(&path) {
                books.push(path);
            }
        }
        if books.is_empty() {
            return Err(missing());
        }
        books.sort();
        Ok(Self {
            dir: dir.to_path_buf(),
            books,
            next_book: 0,
            current: Vec::new(),
            position: 0,
        })
    }

    /// Writes the next `target` bytes of the stream to a new file at `path`,
    /// extended to the end of a word cut by the limit. Returns the bytes written.
    pub(crate) fn write_file(&mut self, path: &Path, target: u64) -> Result<u64, GenError> {
        let file = File::create(path).map_err(io_error(path))?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
        let mut written = 0u64;
        while written < target {
            if self.position == self.current.len() {
                self.load_next_book()?;
            }
            let available = &self.current[self.position..];
            let wanted = usize::try_from(target - written).unwrap_or(usize::MAX);
            let take = if available.len() <= wanted {
                available.len()
            } else {
                end_of_word(available, wanted)
            };
            out.write_all(&available[..take]).map_err(io_error(path))?;
            self.position += take;
            written += take as u64;
        }
        out.flush().map_err(io_error(path))?;
        Ok(written)
    }

    /// Loads the next non-empty book (BOM dropped, ending in whitespace).
    fn load_next_book(&mut self) -> Result<(), GenError> {
        for _ in 0..self.books.len() {
            let path = &self.books[self.next_book];
            self.next_book = (self.next_book + 1) % self.books.len();
            let mut text = fs::read(path).map_err(io_error(path))?;
            if text.starts_with(BOM) {
                text.drain(..BOM.len());
            }
            if text.is_empty() {
                continue;
            }
            if !text.last().is_some_and(|&byte| is_word_separator(byte)) {
                text.push(b'\n');
            }
            self.current = text;
            self.position = 0;
            return Ok(());
        }
        Err(GenError::MissingCorpus {
            dir: self.dir.clone(),
        })
    }
}

/// The shortest prefix length >= `wanted` that does not split a word: it ends
/// at `wanted` if a separator is there, else just after the next separator
/// (or at the end of `text`).
fn end_of_word(text: &[u8], wanted: usize) -> usize {
    if wanted == 0 || is_word_separator(text[wanted - 1]) {
        return wanted;
    }
    text[wanted..]
        .iter()
        .position(|&byte| is_word_separator(byte))
        .map_or(text.len(), |offset| wanted + offset + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_after_whole_words() {
        let text = b"one two\tthree\n";
        assert_eq!(end_of_word(text, 4), 4);
        assert_eq!(end_of_word(text, 5), 8);
        assert_eq!(end_of_word(text, 3), 4);
        assert_eq!(end_of_word(b"abc", 1), 3);
        assert_eq!(end_of_word(b"a\x0bb", 2), 2);
    }

    #[test]
    fn separators_match_the_word_definition() {
        let separators: Vec<u8> = (0..=255).filter(|&b| is_word_separator(b)).collect();
        assert_eq!(separators, [b'\t', b'\n', 0x0b, 0x0c, b'\r', b' ']);
    }
}
