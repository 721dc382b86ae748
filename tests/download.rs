//! `harness gen --preset books --download` end to end against a tiny HTTP
//! server on 127.0.0.1 (the tests never reach gutenberg.org): books are
//! fetched whole and byte for byte, not fetched again, a 404 and an
//! unreachable mirror are clear errors, and experiments with
//! `preset = "books"` find the downloaded folder through HARNESS_BOOKS_DIR.

mod util;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use util::{files_under, harness};

/// The first books of the harness's list: (Gutenberg id, file name).
const BOOKS: [(u32, &str); 3] = [
    (1342, "pride-and-prejudice.txt"),
    (2701, "moby-dick.txt"),
    (84, "frankenstein.txt"),
];
/// The fourth book of the list, which the test mirror does not have.
const MISSING_ID: u32 = 11;

/// A made-up book of about `30 + 15 * index` KB, CRLF lines, the first one
/// with a BOM, each word tagged with the id so its origin shows.
fn book_text(index: usize, id: u32) -> Vec<u8> {
    let target = 30_000 + 15_000 * index;
    let mut text = if index == 0 {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    let mut line = 0;
    while text.len() < target {
        text.extend_from_slice(
            format!("Line {line} of testbook{id}: The whale, the sea; and THE end.\r\n").as_bytes(),
        );
        line += 1;
    }
    text
}

/// A one-request-per-connection HTTP/1.1 server serving
/// `/cache/epub/ID/pgID.txt` for [`BOOKS`] and 404 for anything else.
struct Mirror {
    url: String,
    requests: Arc<AtomicUsize>,
    books: BTreeMap<u32, Vec<u8>>,
}

impl Mirror {
    fn start() -> Mirror {
        let books: BTreeMap<u32, Vec<u8>> = BOOKS
            .iter()
            .enumerate()
            .map(|(index, &(id, _))| (id, book_text(index, id)))
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(AtomicUsize::new(0));
        let (served, counter) = (books.clone(), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = serve(stream, &served);
            }
        });
        Mirror {
            url,
            requests,
            books,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Answers one request on `stream`.
fn serve(mut stream: TcpStream, books: &BTreeMap<u32, Vec<u8>>) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..n]);
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split(' ').nth(1).unwrap_or("");
    let book = books
        .iter()
        .find(|(id, _)| path == format!("/cache/epub/{id}/pg{id}.txt"));
    let (status, content_type, body): (&str, &str, &[u8]) = match book {
        Some((_, text)) => ("200 OK", "text/plain; charset=utf-8", text),
        None => (
            "404 Not Found",
            "text/html",
            b"<html><body>Not Found</body></html>",
        ),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

/// Runs `harness gen --preset books --download --count N --mirror URL` plus `extra`.
fn download(mirror: &str, count: u32, extra: &[&str]) -> std::process::Output {
    harness()
        .args(["gen", "--preset", "books", "--download", "--mirror", mirror])
        .args(["--count", &count.to_string()])
        .args(extra)
        .env_remove("HARNESS_BOOKS_DIR")
        .output()
        .expect("the harness binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(output: &std::process::Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        text(&output.stderr),
        text(&output.stdout)
    );
}

#[test]
fn books_are_fetched_once_checked_and_found_by_experiments() {
    let mirror = Mirror::start();
    let root = tempfile::tempdir().expect("temp dir");
    let books_dir = root.path().join("books");
    let out = books_dir.to_str().expect("UTF-8 path");

    // First run: three books fetched, byte for byte, and the folder printed.
    let first = download(&mirror.url, 3, &["--out", out]);
    assert_ok(&first, "the first download");
    assert_eq!(mirror.requests(), 3);
    let stdout = text(&first.stdout);
    let shown = std::fs::canonicalize(&books_dir).expect("folder exists");
    assert!(
        stdout.contains(&shown.display().to_string()) && stdout.contains("3 books"),
        "{stdout}"
    );
    for &(id, name) in &BOOKS {
        let path = books_dir.join(name);
        let got = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&got, &mirror.books[&id], "{name} is stored as served");
        assert!(
            (30_000..=62_000).contains(&got.len()),
            "{name}: {}",
            got.len()
        );
    }
    assert_eq!(
        files_under(&books_dir).len(),
        3,
        "only the books are in the folder (no temp files, no manifest)"
    );

    // Second run: everything is already there, nothing is fetched.
    let second = download(&mirror.url, 3, &["--out", out]);
    assert_ok(&second, "the second download");
    assert_eq!(mirror.requests(), 3, "no book is fetched again");
    assert!(
        text(&second.stdout).contains("3 already there"),
        "{}",
        text(&second.stdout)
    );

    // A book whose size changed (damaged) is fetched again.
    std::fs::write(books_dir.join(BOOKS[1].1), b"truncated").expect("damage a book");
    assert_ok(&download(&mirror.url, 3, &["--out", out]), "a repair");
    assert_eq!(mirror.requests(), 4, "only the damaged book is fetched");
    assert_eq!(
        std::fs::read(books_dir.join(BOOKS[1].1)).expect("read"),
        mirror.books[&BOOKS[1].0]
    );

    // The fourth book is not on the mirror: a clear error naming the URL.
    let missing = download(&mirror.url, 4, &["--out", out]);
    assert!(!missing.status.success(), "a 404 fails the download");
    let stderr = text(&missing.stderr);
    let url = format!("{}/cache/epub/{MISSING_ID}/pg{MISSING_ID}.txt", mirror.url);
    assert!(
        stderr.contains(&url) && stderr.contains("404"),
        "names the URL and status: {stderr}"
    );
    assert_eq!(
        mirror.requests(),
        5,
        "the three others were not fetched again"
    );
    assert_eq!(files_under(&books_dir).len(), 3, "no file for the 404");

    // With generation options: download into --corpus, then generate into --out.
    let generated = root.path().join("generated");
    let both = download(
        &mirror.url,
        3,
        &[
            "--corpus",
            out,
            "--total",
            "50KB",
            "--files",
            "2",
            "--out",
            generated.to_str().expect("UTF-8 path"),
        ],
    );
    assert_ok(&both, "download + generate");
    assert_eq!(mirror.requests(), 5);
    assert!(text(&both.stdout).contains("generated 2 files"));
    assert_eq!(files_under(&generated).len(), 2);

    experiments_find_the_downloaded_books(&books_dir);
}

/// `harness run` with `preset = "books"` and HARNESS_BOOKS_DIR set uses
/// the downloaded books, in serial and processes modes.
fn experiments_find_the_downloaded_books(books_dir: &Path) {
    let lab = tempfile::tempdir().expect("temp dir");
    let experiment = lab.path().join("books.toml");
    std::fs::write(
        &experiment,
        r#"
description = "books from the download folder"
repetitions = 1

[fixed]
input = { preset = "books", total = "100KB", files = 2 }

[matrix]
mode = ["serial", "processes"]
workers = [2]
"#,
    )
    .expect("write the experiment");
    let data = lab.path().join("data");
    let output = harness()
        .current_dir(lab.path())
        .env("HARNESS_BOOKS_DIR", books_dir)
        .arg("run")
        .arg(&experiment)
        .arg("--out")
        .arg(lab.path().join("results"))
        .arg("--data")
        .arg(&data)
        .output()
        .expect("the harness binary runs");
    assert_ok(&output, "harness run on the downloaded books");
    assert!(
        text(&output.stdout).contains("2 runs done"),
        "{}",
        text(&output.stdout)
    );
    let rows = std::fs::read_to_string(lab.path().join("results/books.csv")).expect("results");
    assert_eq!(
        rows.lines().count(),
        3,
        "header + serial + processes: {rows}"
    );
    // Books are read in name order: frankenstein.txt (id 84) comes first.
    let inputs = files_under(&data);
    assert!(
        inputs.iter().any(|file| {
            std::fs::read(file).is_ok_and(|t| t.windows(10).any(|w| w == b"testbook84"))
        }),
        "the inputs were cut from the downloaded books: {inputs:?}"
    );
}

#[test]
fn an_unreachable_mirror_is_a_clear_offline_error() {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let root = tempfile::tempdir().expect("temp dir");
    let out = root.path().join("books");
    let output = download(
        &format!("http://127.0.0.1:{port}"),
        2,
        &["--out", out.to_str().expect("UTF-8 path")],
    );
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    for needle in [
        &format!("127.0.0.1:{port}/cache/epub/1342/pg1342.txt"),
        "offline",
        "--mirror",
        "--corpus DIR",
        "https://www.gutenberg.org/browse/scores/top",
    ] {
        assert!(stderr.contains(needle), "mentions {needle}: {stderr}");
    }
}

#[test]
fn an_empty_books_folder_says_how_to_download() {
    let root = tempfile::tempdir().expect("temp dir");
    let output = harness()
        .args(["gen", "--preset", "books", "--out"])
        .arg(root.path().join("out"))
        .env("HARNESS_BOOKS_DIR", root.path().join("nothing-here"))
        .output()
        .expect("the harness binary runs");
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("harness gen --preset books --download") && stderr.contains("nothing-here"),
        "{stderr}"
    );
}
