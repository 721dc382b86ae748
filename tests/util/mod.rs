//! Helpers shared by the integration tests: running the real binary, a
//! per-test temp dir, and an independent reference word counter.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The harness binary built by cargo for these tests.
pub fn harness() -> Command {
    Command::new(env!("CARGO_BIN_EXE_harness"))
}

/// Runs the harness with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    harness()
        .args(args)
        .output()
        .expect("the harness binary runs")
}

/// Runs the harness and panics with its stderr unless it succeeded.
pub fn run_ok(args: &[&str]) -> Output {
    let output = run(args);
    assert!(
        output.status.success(),
        "harness {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

/// The independent reference: reads every file whole, strips one leading
/// BOM, splits on the six ASCII whitespace bytes, lowercases ASCII, and
/// prints `word\tcount\n` sorted by count descending then word bytes.
/// Deliberately shares no code with the harness.
pub fn reference_tsv(files: &[PathBuf]) -> Vec<u8> {
    let mut counts: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for file in files {
        let bytes = std::fs::read(file).expect("fixture readable");
        let body = bytes
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(&bytes);
        for word in body.split(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')) {
            if !word.is_empty() {
                *counts.entry(word.to_ascii_lowercase()).or_default() += 1;
            }
        }
    }
    let mut entries: Vec<(Vec<u8>, u64)> = counts.into_iter().collect();
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for (word, count) in entries {
        out.extend_from_slice(&word);
        out.push(b'\t');
        out.extend_from_slice(count.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir readable") {
            let path = entry.expect("entry").path();
            let kind = std::fs::symlink_metadata(&path)
                .expect("metadata")
                .file_type();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                out.push(path);
            }
        }
    }
    out
}

/// The book corpus beside the checkout, when it is there (CI has it; a
/// user's clone may not).
pub fn gutenberg() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/gutenberg");
    dir.is_dir().then_some(dir)
}

/// A folder of small files full of what breaks word counters: CRLF, BOMs,
/// tabs, vertical tabs, form feeds, non-ASCII and invalid UTF-8, NUL and
/// other binary bytes, empty files, no trailing newline, long words, and a
/// file large enough to be split into many byte ranges.
pub fn tricky_corpus(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("empty.txt".into(), Vec::new()),
        ("only-bom.txt".into(), b"\xEF\xBB\xBF".to_vec()),
        (
            "bom.txt".into(),
            b"\xEF\xBB\xBFThe first word has a BOM\r\nthe THE The\r\n".to_vec(),
        ),
        ("bom-then-space.txt".into(), b"\xEF\xBB\xBF the".to_vec()),
        (
            "crlf.txt".into(),
            b"one two\r\nthree\r\n\r\nfour\r".to_vec(),
        ),
        ("tabs-ff-vt.txt".into(), b"a\tb\x0bc\x0cd  e\t\tf".to_vec()),
        (
            "no-newline.txt".into(),
            b"last words without newline".to_vec(),
        ),
        (
            "utf8.txt".into(),
            "Caf\u{e9} CAF\u{c9} na\u{ef}ve \u{a0}nbsp \u{3000}ideographic \u{1F600}\n"
                .as_bytes()
                .to_vec(),
        ),
        (
            "invalid-utf8.txt".into(),
            b"\xff\xfe bad \xc3( \x80\x81\x82 WORD\xffWORD".to_vec(),
        ),
        (
            "binary.bin".into(),
            (0u8..=255).cycle().take(70_000).collect(),
        ),
        ("mid-bom.txt".into(), b"x \xEF\xBB\xBFnot-stripped".to_vec()),
    ];
    let mut long = Vec::new();
    for i in 0..40_000u32 {
        long.extend_from_slice(format!("w{} ", i % 997).as_bytes());
        if i % 13 == 0 {
            long.extend_from_slice(b"\r\n");
        }
        if i % 5000 == 0 {
            long.extend_from_slice(&b"Z".repeat(300_000));
            long.push(b' ');
        }
    }
    files.push(("large.txt".into(), long));
    std::fs::create_dir_all(dir.join("nested/deeper")).expect("mkdir");
    files.push((
        "nested/deeper/inner.txt".into(),
        b"nested Nested NESTED".to_vec(),
    ));
    let mut paths = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write fixture");
        paths.push(path);
    }
    paths
}

/// The `key=value` fields of a summary line (the last line of stdout).
pub fn summary(stdout: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().unwrap_or_default().to_owned();
    line.split_whitespace()
        .filter_map(|f| f.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

/// The text of summary field `key`.
pub fn text<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("summary lacks {key}: {fields:?}"))
}

/// Summary field `key` as a number.
pub fn field(fields: &[(String, String)], key: &str) -> u64 {
    let value = text(fields, key);
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value} is not a number"))
}

/// Runs `harness count INPUT --mode redis --top 0 -o FILE ARGS...`; returns
/// the output file's bytes and the summary fields.
pub fn count_redis(input: &Path, args: &[&str]) -> (Vec<u8>, Vec<(String, String)>) {
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("counts.tsv");
    let mut all = vec![
        "count",
        "--verbose",
        input.to_str().unwrap(),
        "--mode",
        "redis",
        "--top",
        "0",
        "-o",
        output.to_str().unwrap(),
    ];
    all.extend(args);
    let result = run_ok(&all);
    (std::fs::read(&output).unwrap(), summary(&result.stdout))
}

/// The crash points, in the order a unit meets them.
pub const CRASH_POINTS: [&str; 5] = [
    "after-read",
    "mid-count",
    "before-commit",
    "mid-commit",
    "after-commit",
];

/// A small deterministic generator (xorshift64*), so seeded series repeat.
pub struct Rng(pub u64);

impl Rng {
    /// The next number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % n
    }
}

/// The fault part of a seeded schedule for `workers` workers: a third of
/// the time a random kill period, else crash points for at most
/// workers - 1 workers (one always finishes the job), each on a unit
/// 1..=`max_nth`.
pub fn crash_or_kill_args(rng: &mut Rng, workers: u32, max_nth: u64) -> Vec<String> {
    let mut args = Vec::new();
    if rng.below(3) == 0 {
        args.extend(["--kill-every-ms".into(), (20 + rng.below(60)).to_string()]);
    } else {
        let crashing = 1 + rng.below(u64::from(workers - 1)) as u32;
        for worker in 0..crashing {
            let point = CRASH_POINTS[rng.below(CRASH_POINTS.len() as u64) as usize];
            args.extend([
                "--crash".into(),
                format!("{worker}:{point}:{}", 1 + rng.below(max_nth)),
            ]);
        }
    }
    args
}

/// Three files of 1,600,000 lines (about 16 MB) with ~20k distinct words:
/// with one file per unit a unit needs about 40 ms of CPU. The throttle
/// reaches a worker a few ms after it starts, so a unit must outlast
/// that unthrottled start and then more than one CFS quota of a worker at
/// 5%: it then sits idle past a short steal timeout in every run (4 MB
/// units, about 11 ms, were sometimes finished before the throttle bit).
pub fn straggler_corpus(dir: &Path) -> Vec<PathBuf> {
    (0..3)
        .map(|i| {
            let path = dir.join(format!("big{i}.txt"));
            let text: String = (0..1_600_000u64)
                .map(|w| format!("w{} c{}\n", (w * 7919 + i * 131) % 20011, w % 13))
                .collect();
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

/// `files` files of `lines` lines of mostly distinct words (`w<N> x<i>y<w> The`).
pub fn corpus(dir: &Path, files: usize, lines: usize) -> Vec<PathBuf> {
    (0..files)
        .map(|i| {
            let path = dir.join(format!("f{i:03}.txt"));
            let text: String = (0..lines)
                .map(|w| format!("w{} x{i}y{w} The\n", (w * 7 + i) % 301))
                .collect();
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

/// Children of `pid` (Linux /proc).
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .flatten()
                .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
                .flat_map(|text| {
                    text.split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect::<Vec<u32>>()
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn command_of(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default()
}

pub fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// True for a PNG file of some substance (the signature and over 1 KB).
pub fn is_png(path: &Path) -> bool {
    std::fs::read(path)
        .map(|b| b.starts_with(b"\x89PNG\r\n\x1a\n") && b.len() > 1000)
        .unwrap_or(false)
}

/// Files `f000.txt`... of `words_per_file` lines each: `line(file, n)` is
/// the `n`th line of file `file` (each test file words its own corpus).
pub fn small_corpus(
    dir: &Path,
    files: usize,
    words_per_file: usize,
    line: impl Fn(usize, usize) -> String,
) -> Vec<PathBuf> {
    (0..files)
        .map(|i| {
            let path = dir.join(format!("f{i:03}.txt"));
            let text: String = (0..words_per_file).map(|w| line(i, w)).collect();
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

/// The value of `key=` in a `key=value ...` line (the `--verbose` summary).
pub fn line_field(text: &str, key: &str) -> String {
    text.split_whitespace()
        .find_map(|f| f.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        .to_owned()
}

/// The number after `key=` in a `key=value ...` line.
pub fn line_number(text: &str, key: &str) -> u64 {
    let value = line_field(text, key);
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value} is not a number"))
}

/// Runs the harness with `args` and checks it fails at once (within 20 s)
/// with a clear message: no panic, every `must_mention` text, none of
/// `must_not_mention`, at most `max_lines` lines of stderr.
pub fn assert_clear_failure(
    args: &[&str],
    must_mention: &[&str],
    must_not_mention: &[&str],
    max_lines: usize,
) {
    let started = std::time::Instant::now();
    let output = run(args);
    assert!(!output.status.success(), "{args:?} should fail");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{args:?} took {:?} to fail",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    for text in must_mention {
        assert!(
            stderr.contains(text),
            "stderr of {args:?} lacks {text:?}:\n{stderr}"
        );
    }
    for text in must_not_mention {
        assert!(
            !stderr.contains(text),
            "stderr of {args:?} shows {text:?}:\n{stderr}"
        );
    }
    assert!(
        stderr.lines().count() <= max_lines,
        "one clear message expected:\n{stderr}"
    );
}

/// After a `--verbose` redis-mode count: its worker processes and its
/// managed redis-server are gone and the server's port is closed.
pub fn assert_processes_gone(fields: &[(String, String)]) {
    for pid in text(fields, "worker_pids").split(',') {
        let pid: u32 = pid.parse().expect("worker pid");
        assert!(gone(pid), "worker process {pid} still runs");
    }
    let redis_pid = text(fields, "redis_pid");
    if redis_pid != "-" {
        let pid: u32 = redis_pid.parse().expect("redis pid");
        assert!(gone(pid), "redis-server {pid} still runs");
        let server = text(fields, "server");
        let address = server.trim_start_matches("redis://").trim_end_matches('/');
        assert!(
            std::net::TcpStream::connect(address).is_err(),
            "the managed redis-server at {address} still answers"
        );
    }
}

/// No network namespace, link or qdisc named with `prefix` is left.
pub fn assert_no_host_left(prefix: &str) {
    for (program, args) in [
        ("ip", &["netns", "list"][..]),
        ("ip", &["link"][..]),
        ("tc", &["qdisc"][..]),
    ] {
        let out = Command::new(program).args(args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains(prefix),
            "{program} {args:?} still shows {prefix}: {text}"
        );
    }
}

/// True once no process with this id exists any more.
pub fn gone(pid: u32) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        // A zombie (state Z) is dead too; it only waits for its parent.
        let alive = stat.is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        });
        if !alive {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
