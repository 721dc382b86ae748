//! Downloading the top Project Gutenberg books into a folder: the book list
//! ([`TOP_BOOKS`]), the default download folder ([`default_download_dir`]),
//! and [`download_books`], which fetches each book once, checks it and writes
//! it atomically.
//!
//! Books are stored byte for byte, headers and license included: nothing is
//! stripped, so the word definition and the counts stay those of the copies in
//! `../shared/corpus/gutenberg`. What was fetched is recorded in a small list
//! beside the folder ([`manifest_path`]): a book that is there with the size
//! recorded when it was fetched is not downloaded again, and counting the
//! folder counts only the books.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

/// One book of the download list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Book {
    /// Its Project Gutenberg ebook number.
    pub id: u32,
    /// The name it is stored under (as in `../shared/corpus/gutenberg`).
    pub file_name: &'static str,
    /// Its title, for messages.
    pub title: &'static str,
}

impl Book {
    /// The plain-text UTF-8 file of the book on `mirror`:
    /// `{mirror}/cache/epub/{id}/pg{id}.txt`.
    pub fn url(&self, mirror: &str) -> String {
        let id = self.id;
        format!(
            "{}/cache/epub/{id}/pg{id}.txt",
            mirror.trim_end_matches('/')
        )
    }
}

const fn book(id: u32, file_name: &'static str, title: &'static str) -> Book {
    Book {
        id,
        file_name,
        title,
    }
}

/// The 30 books of `../shared/corpus/SOURCES.md`, in its order (top
/// Project Gutenberg books, public domain in the USA).
pub const TOP_BOOKS: [Book; 30] = [
    book(1342, "pride-and-prejudice.txt", "Pride and Prejudice"),
    book(2701, "moby-dick.txt", "Moby-Dick; or, The Whale"),
    book(84, "frankenstein.txt", "Frankenstein"),
    book(
        11,
        "alice-in-wonderland.txt",
        "Alice's Adventures in Wonderland",
    ),
    book(345, "dracula.txt", "Dracula"),
    book(98, "a-tale-of-two-cities.txt", "A Tale of Two Cities"),
    book(37106, "little-women.txt", "Little Women"),
    book(145, "middlemarch.txt", "Middlemarch"),
    book(
        174,
        "the-picture-of-dorian-gray.txt",
        "The Picture of Dorian Gray",
    ),
    book(46, "a-christmas-carol.txt", "A Christmas Carol"),
    book(25344, "the-scarlet-letter.txt", "The Scarlet Letter"),
    book(2591, "grimms-fairy-tales.txt", "Grimms' Fairy Tales"),
    book(2600, "war-and-peace.txt", "War and Peace"),
    book(4300, "ulysses.txt", "Ulysses"),
    book(
        1661,
        "the-adventures-of-sherlock-holmes.txt",
        "The Adventures of Sherlock Holmes",
    ),
    book(1400, "great-expectations.txt", "Great Expectations"),
    book(
        76,
        "adventures-of-huckleberry-finn.txt",
        "Adventures of Huckleberry Finn",
    ),
    book(
        74,
        "the-adventures-of-tom-sawyer.txt",
        "The Adventures of Tom Sawyer",
    ),
    book(1260, "jane-eyre.txt", "Jane Eyre"),
    book(158, "emma.txt", "Emma"),
    book(120, "treasure-island.txt", "Treasure Island"),
    book(768, "wuthering-heights.txt", "Wuthering Heights"),
    book(829, "gullivers-travels.txt", "Gulliver's Travels"),
    book(
        1184,
        "the-count-of-monte-cristo.txt",
        "The Count of Monte Cristo",
    ),
    book(1399, "anna-karenina.txt", "Anna Karenina"),
    book(766, "david-copperfield.txt", "David Copperfield"),
    book(
        28054,
        "the-brothers-karamazov.txt",
        "The Brothers Karamazov",
    ),
    book(219, "heart-of-darkness.txt", "Heart of Darkness"),
    book(
        2852,
        "the-hound-of-the-baskervilles.txt",
        "The Hound of the Baskervilles",
    ),
    book(161, "sense-and-sensibility.txt", "Sense and Sensibility"),
];

/// Where books are fetched from unless `--mirror` says otherwise.
pub const DEFAULT_MIRROR: &str = "https://www.gutenberg.org";

/// Environment variable naming the book folder (download target and the
/// first place experiments look).
pub const BOOKS_DIR_ENV: &str = "HARNESS_BOOKS_DIR";

/// A received book smaller than this is an error page, not a book (the
/// smallest of the list is about 170 KB).
pub const MIN_BOOK_BYTES: u64 = 20_000;

/// How long to wait for a connection to the mirror.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one read from the mirror may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where to find the books when downloading is not possible.
pub const MANUAL_DOWNLOAD: &str = "https://www.gutenberg.org/browse/scores/top";

/// Bytes of a book's beginning kept to tell text from HTML.
const HEAD_BYTES: usize = 1024;

/// Why a download failed.
#[derive(Debug, Error)]
pub enum DownloadError {
    /// The mirror could not be reached (no network, DNS, refused, timeout).
    #[error(
        "cannot reach {url}: {reason}. This machine may be offline (or the mirror down): try again when online, \
         pick another mirror with --mirror URL, or download plain-text UTF-8 books by hand from {MANUAL_DOWNLOAD} \
         into a folder and pass --corpus DIR (in an experiment: corpus = \"DIR\")"
    )]
    Unreachable {
        /// The URL that failed.
        url: String,
        /// What the HTTP client said.
        reason: String,
    },
    /// The mirror URL is not a valid URL.
    #[error("cannot fetch {url}: {reason} (check --mirror, e.g. {DEFAULT_MIRROR})")]
    BadUrl {
        /// The URL built from the mirror.
        url: String,
        /// What the HTTP client said.
        reason: String,
    },
    /// The mirror answered with something other than 200 OK.
    #[error(
        "{url} answered HTTP {status} instead of book {id} ({file}): check the mirror (--mirror URL) or \
         download the book by hand from {MANUAL_DOWNLOAD}",
        id = book.id,
        file = book.file_name
    )]
    Status {
        /// The book asked for.
        book: Book,
        /// The URL asked.
        url: String,
        /// The HTTP status received.
        status: u16,
    },
    /// The answer was received but is not a book.
    #[error("book {id} ({file}) from {url} is not a plain-text book: {problem}", id = book.id, file = book.file_name)]
    BadBook {
        /// The book asked for.
        book: Book,
        /// The URL asked.
        url: String,
        /// What is wrong with it.
        problem: BookProblem,
    },
    /// Reading or writing a local file failed.
    #[error("I/O error on {}: {source} (check that the folder is writable and the disk not full)", path.display())]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// What is wrong with a received book ([`check_book`]).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BookProblem {
    /// The body is not as long as its `Content-Length`.
    #[error(
        "received {received} bytes but the server announced {expected} (Content-Length): the transfer broke off"
    )]
    WrongLength {
        /// The announced length.
        expected: u64,
        /// The bytes received.
        received: u64,
    },
    /// The body is an HTML page (an error or login page of a proxy or mirror).
    #[error("it looks like an HTML page, not plain text (a mirror or proxy error page?)")]
    Html,
    /// The body is too small to be a book.
    #[error(
        "only {bytes} bytes, suspiciously small for a book (at least {MIN_BOOK_BYTES} expected): probably an error page"
    )]
    TooSmall {
        /// The bytes received.
        bytes: u64,
    },
}

/// Checks a received book: `head` is its first bytes (up to 1 KB is enough),
/// `received` its length, `content_length` the announced length if any, and
/// `html_type` whether the server called it `text/html`.
pub fn check_book(
    head: &[u8],
    received: u64,
    content_length: Option<u64>,
    html_type: bool,
) -> Result<(), BookProblem> {
    if let Some(expected) = content_length
        && expected != received
    {
        return Err(BookProblem::WrongLength { expected, received });
    }
    if html_type || looks_like_html(head) {
        return Err(BookProblem::Html);
    }
    if received < MIN_BOOK_BYTES {
        return Err(BookProblem::TooSmall { bytes: received });
    }
    Ok(())
}

/// True when `head` starts (after a BOM and whitespace) with markup that
/// names an HTML document.
fn looks_like_html(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace());
    let Some(text) = start.map(|start| head[start..].to_ascii_lowercase()) else {
        return false;
    };
    let names_html = |tag: &[u8]| text.windows(tag.len()).any(|w| w == tag);
    text.starts_with(b"<") && (names_html(b"<html") || names_html(b"<!doctype html"))
}

/// One book in the download folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedBook {
    /// Which book.
    pub book: Book,
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// True if it was fetched now, false if it was already there.
    pub fetched: bool,
}

/// The default download folder: `$HARNESS_BOOKS_DIR` if set, else
/// `$XDG_CACHE_HOME/harness/gutenberg`, else `~/.cache/harness/gutenberg`;
/// `None` without any of these variables.
pub fn default_download_dir() -> Option<PathBuf> {
    env_books_dir().or_else(cache_books_dir)
}

/// `$HARNESS_BOOKS_DIR`, if set and not empty.
pub(crate) fn env_books_dir() -> Option<PathBuf> {
    non_empty(std::env::var_os(BOOKS_DIR_ENV)).map(PathBuf::from)
}

/// The cache folder for books, ignoring `$HARNESS_BOOKS_DIR`.
pub(crate) fn cache_books_dir() -> Option<PathBuf> {
    cache_books_dir_from(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
}

/// `$XDG_CACHE_HOME/harness/gutenberg` (an absolute XDG_CACHE_HOME only, as
/// the XDG spec says), else `$HOME/.cache/harness/gutenberg`.
fn cache_books_dir_from(
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let books = |cache: PathBuf| cache.join("harness").join("gutenberg");
    non_empty(xdg_cache_home)
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .map(books)
        .or_else(|| non_empty(home).map(|home| books(PathBuf::from(home).join(".cache"))))
}

fn non_empty(value: Option<OsString>) -> Option<OsString> {
    value.filter(|value| !value.is_empty())
}

/// The advice for a missing book folder, naming the download command and
/// the manual way; `pass_folder` says how to hand a folder over (e.g.
/// "pass --corpus DIR").
pub fn missing_books_advice(pass_folder: &str) -> String {
    let (target, command) = match default_download_dir() {
        Some(dir) => (
            dir.display().to_string(),
            "harness gen --preset books --download",
        ),
        None => (
            "DIR".to_string(),
            "harness gen --preset books --download --out DIR",
        ),
    };
    format!(
        "{BOOKS_DIR_ENV} is not set, ../shared/corpus/gutenberg is not here and {target} holds no books. \
         Run `{command}` to fetch the top {} Project Gutenberg books into {target} (found there from then on), \
         or download plain-text UTF-8 books by hand from {MANUAL_DOWNLOAD} into a folder and {pass_folder}",
        TOP_BOOKS.len()
    )
}

/// The list of fetched books kept beside `dir`: `.<name>.books.tsv` in its
/// parent, one `file<TAB>bytes<TAB>url` line per book.
pub fn manifest_path(dir: &Path) -> PathBuf {
    match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) => {
            let mut manifest = OsString::from(".");
            manifest.push(name);
            manifest.push(".books.tsv");
            parent.join(manifest)
        }
        _ => dir.join(".books.tsv"),
    }
}

/// Fetches `books` from `mirror` into `dir` (created if missing) and returns
/// them in list order, calling `on_book` after each one.
///
/// A book whose file is there with the size the manifest recorded when it
/// was fetched is not fetched again. Each fetched book is checked
/// ([`check_book`]), written to a temp file in `dir` and renamed into place,
/// then recorded in the manifest, so an interrupted download leaves only
/// whole books and resumes where it stopped.
pub fn download_books(
    books: &[Book],
    mirror: &str,
    dir: &Path,
    on_book: &mut dyn FnMut(&DownloadedBook),
) -> Result<Vec<DownloadedBook>, DownloadError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let manifest = manifest_path(dir);
    let mut recorded = read_manifest(&manifest)?;
    let agent = agent();
    let mut done = Vec::with_capacity(books.len());
    for &book in books {
        let path = dir.join(book.file_name);
        let on_disk = match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Some(meta.len()),
            Ok(_) => None,
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(io_error(&path)(error)),
        };
        let cached = recorded
            .get(book.file_name)
            .filter(|entry| Some(entry.bytes) == on_disk);
        let downloaded = match cached {
            Some(entry) => DownloadedBook {
                book,
                path,
                bytes: entry.bytes,
                fetched: false,
            },
            None => {
                let url = book.url(mirror);
                let bytes = fetch(&agent, book, &url, &path)?;
                recorded.insert(book.file_name.to_string(), ManifestEntry { bytes, url });
                write_manifest(&manifest, &recorded)?;
                DownloadedBook {
                    book,
                    path,
                    bytes,
                    fetched: true,
                }
            }
        };
        on_book(&downloaded);
        done.push(downloaded);
    }
    Ok(done)
}

/// An HTTP agent with the connect and read timeouts, whose non-200 answers
/// are answers (checked by the caller), not errors.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_per_read(Some(READ_TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!("harness-data-gen/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// Fetches one book to `path` (temp file + rename) and returns its size.
fn fetch(agent: &ureq::Agent, book: Book, url: &str, path: &Path) -> Result<u64, DownloadError> {
    let mut response = agent.get(url).call().map_err(|error| match error {
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => DownloadError::BadUrl {
            url: url.to_string(),
            reason: error.to_string(),
        },
        other => DownloadError::Unreachable {
            url: url.to_string(),
            reason: other.to_string(),
        },
    })?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(DownloadError::Status {
            book,
            url: url.to_string(),
            status,
        });
    }
    let html_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("text/html"));
    let content_length = response.body().content_length();

    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", book.file_name))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    let mut reader = response.body_mut().as_reader();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut head = Vec::with_capacity(HEAD_BYTES);
    let mut received = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                return Err(DownloadError::Unreachable {
                    url: url.to_string(),
                    reason: format!("the transfer broke off after {received} bytes: {error}"),
                });
            }
        };
        let keep = n.min(HEAD_BYTES - head.len());
        head.extend_from_slice(&buffer[..keep]);
        temp.write_all(&buffer[..n])
            .map_err(io_error(temp.path()))?;
        received += n as u64;
    }
    check_book(&head, received, content_length, html_type).map_err(|problem| {
        DownloadError::BadBook {
            book,
            url: url.to_string(),
            problem,
        }
    })?;
    temp.as_file().sync_all().map_err(io_error(temp.path()))?;
    temp.persist(path)
        .map_err(|error| io_error(path)(error.error))?;
    Ok(received)
}

/// A manifest line: the size of a fetched book and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ManifestEntry {
    bytes: u64,
    url: String,
}

const MANIFEST_HEADER: &str =
    "# books fetched by `harness gen --preset books --download`: file, bytes, url\n";

/// Reads the manifest (empty if missing); malformed lines are ignored, so
/// their books are fetched again.
fn read_manifest(path: &Path) -> Result<BTreeMap<String, ManifestEntry>, DownloadError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(error) => return Err(io_error(path)(error)),
    };
    Ok(text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let file = fields.next()?;
            let bytes = fields.next()?.parse().ok()?;
            let url = fields.next()?.to_string();
            Some((file.to_string(), ManifestEntry { bytes, url }))
        })
        .collect())
}

/// Writes the manifest atomically (temp file + rename).
fn write_manifest(
    path: &Path,
    entries: &BTreeMap<String, ManifestEntry>,
) -> Result<(), DownloadError> {
    let mut text = String::from(MANIFEST_HEADER);
    for (file, entry) in entries {
        text.push_str(&format!("{file}\t{}\t{}\n", entry.bytes, entry.url));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io_error(dir))?;
    temp.write_all(text.as_bytes())
        .map_err(io_error(temp.path()))?;
    temp.persist(path)
        .map_err(|error| io_error(path)(error.error))?;
    Ok(())
}

/// Wraps an I/O error with the path it happened on (for `map_err`).
fn io_error(path: &Path) -> impl FnOnce(io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: usize) -> Vec<u8> {
        b"The Project Gutenberg eBook of a test book\r\n"
            .iter()
            .copied()
            .cycle()
            .take(bytes)
            .collect()
    }

    #[test]
    fn a_whole_plain_text_book_passes() {
        let book = text(50_000);
        assert_eq!(
            check_book(&book[..1024], 50_000, Some(50_000), false),
            Ok(())
        );
        assert_eq!(check_book(&book[..1024], 50_000, None, false), Ok(()));
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(&book[..1000]);
        assert_eq!(check_book(&with_bom, 50_003, None, false), Ok(()));
    }

    #[test]
    fn a_short_transfer_is_caught() {
        assert_eq!(
            check_book(&text(1024), 30_000, Some(40_000), false),
            Err(BookProblem::WrongLength {
                expected: 40_000,
                received: 30_000
            })
        );
    }

    #[test]
    fn a_small_file_is_suspicious() {
        let problem = check_book(&text(1024), MIN_BOOK_BYTES - 1, None, false).unwrap_err();
        assert_eq!(
            problem,
            BookProblem::TooSmall {
                bytes: MIN_BOOK_BYTES - 1
            }
        );
        assert!(problem.to_string().contains("suspiciously small"));
        assert_eq!(check_book(&text(1024), MIN_BOOK_BYTES, None, false), Ok(()));
    }

    #[test]
    fn html_is_not_a_book() {
        for page in [
            &b"<!DOCTYPE html>\n<html><head><title>Error</title>"[..],
            b"\xEF\xBB\xBF  \r\n<HTML lang=en><body>blocked</body></HTML>",
            b"<?xml version=\"1.0\"?>\n<!doctype html PUBLIC><html>",
        ] {
            assert_eq!(
                check_book(page, 100_000, None, false),
                Err(BookProblem::Html),
                "{}",
                String::from_utf8_lossy(page)
            );
        }
        assert_eq!(
            check_book(&text(1024), 100_000, None, true),
            Err(BookProblem::Html),
            "a text/html answer is HTML whatever it holds"
        );
        let mentions_html = b"Chapter 1\r\nHe wrote <html> on the board.\r\n";
        assert_eq!(check_book(mentions_html, 100_000, None, false), Ok(()));
    }

    #[test]
    fn urls_follow_the_gutenberg_cache_layout() {
        assert_eq!(
            TOP_BOOKS[0].url(DEFAULT_MIRROR),
            "https://www.gutenberg.org/cache/epub/1342/pg1342.txt"
        );
        assert_eq!(
            TOP_BOOKS[0].url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/cache/epub/1342/pg1342.txt"
        );
    }

    #[test]
    fn the_list_has_thirty_distinct_books() {
        let ids: std::collections::HashSet<u32> = TOP_BOOKS.iter().map(|b| b.id).collect();
        let names: std::collections::HashSet<&str> =
            TOP_BOOKS.iter().map(|b| b.file_name).collect();
        assert_eq!((ids.len(), names.len()), (30, 30));
        assert!(TOP_BOOKS.iter().all(|b| b.file_name.ends_with(".txt")));
    }

    #[test]
    fn cache_folder_follows_xdg_then_home() {
        let dir = |xdg: Option<&str>, home: Option<&str>| {
            cache_books_dir_from(xdg.map(Into::into), home.map(Into::into))
        };
        assert_eq!(
            dir(Some("/xdg"), Some("/home/u")),
            Some(PathBuf::from("/xdg/harness/gutenberg"))
        );
        assert_eq!(
            dir(Some("relative"), Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/harness/gutenberg"))
        );
        assert_eq!(
            dir(Some(""), Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/harness/gutenberg"))
        );
        assert_eq!(dir(None, None), None);
    }

    #[test]
    fn manifest_lives_beside_the_folder_and_round_trips() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("books");
        let manifest = manifest_path(&dir);
        assert_eq!(manifest, root.path().join(".books.books.tsv"));
        assert!(
            read_manifest(&manifest)
                .expect("missing is empty")
                .is_empty()
        );
        let mut entries = BTreeMap::new();
        entries.insert(
            "emma.txt".to_string(),
            ManifestEntry {
                bytes: 927_445,
                url: "https://m/cache/epub/158/pg158.txt".into(),
            },
        );
        write_manifest(&manifest, &entries).expect("write");
        assert_eq!(read_manifest(&manifest).expect("read"), entries);
    }
}
