//! `harness count --mode redis` end to end, against real redis-servers
//! (started by the harness, or by the test for `--redis-url`): output
//! byte-identical to the reference in every commit path, nothing left
//! running afterwards, and one clear error per bad setup.

mod util;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use harness::servers::{RedisConfig, RedisServer};
use util::{
    assert_clear_failure, assert_processes_gone, files_under, gutenberg, reference_tsv, run_ok,
    summary, text, tricky_corpus,
};

/// Runs `harness count INPUT --mode redis EXTRA... --output FILE`, checks
/// the output equals `expected` and nothing is left running; returns the summary.
fn assert_redis_matches(input: &Path, expected: &[u8], extra: &[&str]) -> Vec<(String, String)> {
    let out_dir = tempfile::tempdir().unwrap();
    let output = out_dir.path().join("counts.tsv");
    let mut args = vec![
        "count",
        "--verbose",
        input.to_str().unwrap(),
        "--mode",
        "redis",
        "--output",
        output.to_str().unwrap(),
        "--top",
        "3",
    ];
    args.extend(extra);
    let result = run_ok(&args);
    let got = std::fs::read(&output).unwrap();
    assert!(
        got == expected,
        "redis {extra:?}: output differs from the reference ({} vs {} bytes)",
        got.len(),
        expected.len()
    );
    let fields = summary(&result.stdout);
    assert_eq!(text(&fields, "mode"), "redis");
    assert_processes_gone(&fields);
    fields
}

/// The tricky corpus plus a file whose name is not UTF-8.
fn tricky_with_odd_name(dir: &Path) -> Vec<PathBuf> {
    let mut files = tricky_corpus(dir);
    let odd = dir.join(std::ffi::OsStr::from_bytes(b"odd-\xff\xfe-name.txt"));
    std::fs::write(&odd, b"odd name ODD\xff bytes\n").unwrap();
    files.push(odd);
    files
}

#[test]
fn tricky_bytes_are_exact_in_every_commit_path_and_unit_size() {
    let dir = tempfile::tempdir().unwrap();
    let expected = reference_tsv(&tricky_with_odd_name(dir.path()));
    for extra in [
        &["--workers", "2"][..],
        &["--workers", "3", "--unit-bytes", "1000"],
        &["--workers", "2", "--per-word", "--unit-bytes", "65536"],
    ] {
        let fields = assert_redis_matches(dir.path(), &expected, extra);
        assert_eq!(text(&fields, "throttle"), "none");
        assert!(text(&fields, "redis_version").starts_with(|c: char| c.is_ascii_digit()));
    }
}

#[test]
fn gutenberg_books_are_exact_per_unit_and_per_word() {
    let Some(books) = gutenberg() else {
        eprintln!("skipping: ../shared/corpus/gutenberg is not here");
        return;
    };
    let all = files_under(&books);
    let fields = assert_redis_matches(&books, &reference_tsv(&all), &["--workers", "2"]);
    assert_eq!(text(&fields, "commit"), "per-unit");
    let distinct_updates: u64 = text(&fields, "word_updates").parse().unwrap();
    // Per-word on a few books keeps the debug-build test short; the whole
    // corpus is checked the same way in release builds (see the report).
    let mut few: Vec<PathBuf> = all.clone();
    few.sort();
    few.truncate(4);
    let subset = tempfile::tempdir().unwrap();
    for book in &few {
        std::fs::copy(book, subset.path().join(book.file_name().unwrap())).unwrap();
    }
    let fields = assert_redis_matches(
        subset.path(),
        &reference_tsv(&few),
        &["--workers", "2", "--per-word"],
    );
    assert_eq!(text(&fields, "commit"), "per-word");
    assert_eq!(
        text(&fields, "word_updates"),
        text(&fields, "words"),
        "per-word sends one update per occurrence"
    );
    assert!(distinct_updates < text(&summary_of_serial(&books), "words").parse().unwrap());
}

fn summary_of_serial(input: &Path) -> Vec<(String, String)> {
    summary(&run_ok(&["count", "--verbose", input.to_str().unwrap(), "--top", "0"]).stdout)
}

#[test]
fn two_jobs_share_one_external_redis_and_leave_no_keys() {
    let server = RedisServer::start(RedisConfig::default()).unwrap();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let expected = reference_tsv(&tricky_with_odd_name(dir.path()));
    let (a, b) = std::thread::scope(|scope| {
        let jobs: Vec<_> = [
            ["--workers", "2", "--unit-bytes", "2000"],
            ["--workers", "3", "--unit-bytes", "5000"],
        ]
        .into_iter()
        .map(|extra| {
            let (dir, expected, url) = (dir.path(), &expected, &url);
            scope.spawn(move || {
                assert_redis_matches(dir, expected, &[&extra[..], &["--redis-url", url]].concat())
            })
        })
        .collect();
        let mut results = jobs.into_iter().map(|j| j.join().unwrap());
        (results.next().unwrap(), results.next().unwrap())
    });
    for fields in [&a, &b] {
        assert_eq!(
            text(fields, "redis_pid"),
            "-",
            "an external server has no managed pid"
        );
        assert!(
            !text(fields, "server").contains(server.password()),
            "the password leaked into the summary"
        );
    }
    let mut con = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let left: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(
        left.is_empty(),
        "keys left behind: {:?}",
        left.iter()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>()
    );
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG", "the external server must not be stopped");
}

#[test]
fn a_straggler_is_throttled_and_the_counts_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let expected = reference_tsv(&tricky_with_odd_name(dir.path()));
    let fields = assert_redis_matches(
        dir.path(),
        &expected,
        &["--workers", "2", "--unit-bytes", "2000", "--slow", "0:0.5"],
    );
    let method = text(&fields, "throttle");
    assert!(
        ["cgroup-v1", "cgroup-v2", "sigstop"].contains(&method),
        "throttle={method}"
    );
}

#[test]
fn a_wrong_password_is_a_clear_error() {
    let server = RedisServer::start(RedisConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a b c\n").unwrap();
    let input = dir.path().to_str().unwrap();
    let port = server.port();
    let wrong = format!("redis://:not-the-password@127.0.0.1:{port}/");
    let shown = format!("redis://127.0.0.1:{port}/");
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            input,
            "--mode",
            "redis",
            "--redis-url",
            &wrong,
        ],
        &[
            &shown,
            "refused the credentials",
            "wrong password",
            "redis://:PASSWORD@",
        ],
        &["not-the-password"],
        3,
    );
    let anonymous = format!("redis://127.0.0.1:{port}/");
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            input,
            "--mode",
            "redis",
            "--redis-url",
            &anonymous,
        ],
        &[&shown, "requires a password"],
        &[],
        3,
    );
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a b c\n").unwrap();
    let url = format!("redis://:secret@127.0.0.1:{port}/");
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            dir.path().to_str().unwrap(),
            "--mode",
            "redis",
            "--redis-url",
            &url,
        ],
        &[
            &format!("cannot reach Redis at redis://127.0.0.1:{port}/"),
            "check that a server is running",
        ],
        &["secret"],
        3,
    );
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            dir.path().to_str().unwrap(),
            "--mode",
            "redis",
            "--redis-url",
            "http://nope",
        ],
        &["not a usable Redis URL", "redis://:PASSWORD@HOST:PORT/"],
        &[],
        3,
    );
}

#[test]
fn bad_redis_options_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a b c\n").unwrap();
    let input = dir.path().to_str().unwrap();
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            input,
            "--mode",
            "redis",
            "--workers",
            "2",
            "--slow",
            "5:0.5",
        ],
        &["names worker 5", "only 2 workers"],
        &[],
        3,
    );
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            input,
            "--mode",
            "redis",
            "--slow",
            "0:2",
        ],
        &["WORKER:FRACTION"],
        &[],
        3,
    );
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            input,
            "--mode",
            "processes",
            "--per-word",
        ],
        &["only apply to --mode redis"],
        &[],
        3,
    );
    assert_clear_failure(
        &[
            "count",
            "--verbose",
            &format!("{input}/missing"),
            "--mode",
            "redis",
        ],
        &["does not exist"],
        &[],
        3,
    );
}

/// Runs `harness redis-worker` (worker 0) for job `job` on `url`, with an
/// optional crash plan, its settings sent as JSON the way the client sends them.
fn redis_worker(url: &str, job: &str, events: &Path, crash: Option<&str>) -> std::process::Output {
    redis_worker_on(
        harness::queue::QueueBackend::Stream,
        url,
        job,
        events,
        crash,
    )
}

/// [`redis_worker`] on the work-queue backend `queue`.
fn redis_worker_on(
    queue: harness::queue::QueueBackend,
    url: &str,
    job: &str,
    events: &Path,
    crash: Option<&str>,
) -> std::process::Output {
    let config = harness::worker::WorkerConfig {
        url: url.to_owned(),
        job: job.to_owned(),
        worker: 0,
        tokenizer: harness::words::Tokenizer::Whitespace,
        commit: harness::queue::CommitPath::PerUnit,
        merge: harness::queue::MergeTarget::Zset,
        commit_units: 1,
        events: Some(events.to_path_buf()),
        crash: crash.map(|plan| plan.parse().unwrap()),
        block_ms: 20,
        pipeline_commands: 10_000,
        inline_pairs: 10_000,
        reconnect_s: 30,
        steal_idle_ms: 0,
        wait_replicas: 0,
        wait_timeout_ms: 0,
        queue,
        input_map: None,
        host: 0,
    };
    util::harness()
        .arg("redis-worker")
        .env(
            harness::redis_run::WORKER_ENV,
            serde_json::to_string(&config).unwrap(),
        )
        .output()
        .unwrap()
}

/// Four one-line files, `unitI shared shared`, as units.
fn four_shared_units(dir: &Path) -> Vec<harness::input::Unit> {
    use harness::input::{InputFile, plan_units};
    let files: Vec<InputFile> = (0..4)
        .map(|i| {
            let path = dir.join(format!("f{i}.txt"));
            std::fs::write(&path, format!("unit{i} shared shared\n")).unwrap();
            InputFile {
                bytes: std::fs::metadata(&path).unwrap().len(),
                path,
            }
        })
        .collect();
    plan_units(&files, 1 << 20).unwrap()
}

#[test]
fn a_worker_crashing_mid_commit_leaves_its_unit_pending_and_a_rerun_finishes_it() {
    use harness::queue::{Endpoint, JobKeys, StreamQueue, WorkQueue};

    let dir = tempfile::tempdir().unwrap();
    let units = four_shared_units(dir.path());
    let server = RedisServer::start(RedisConfig::default()).unwrap();
    let endpoint = Endpoint::new(&server.url());
    let keys = JobKeys::random();
    let mut queue = StreamQueue::new(endpoint.clone(), keys.clone());
    let mut con = endpoint.connect().unwrap();
    queue.create(&mut con, &units).unwrap();

    let events = dir.path().join("worker-0.events");
    let crashed = redis_worker(&server.url(), keys.job(), &events, Some("mid-commit:2"));
    assert_eq!(
        crashed.status.code(),
        Some(harness::exit_code::CRASHED),
        "{crashed:?}"
    );
    let logged = harness::events::read_events(&events).unwrap();
    let crash = logged
        .iter()
        .find(|e| e.kind == harness::events::EventKind::Crash)
        .expect("a crash event");
    assert_eq!(crash.detail, "mid-commit");
    assert_eq!(
        queue.pending(&mut con).unwrap(),
        1,
        "the crashed unit stays pending"
    );

    // The same (stateless) worker restarted takes its pending unit again and
    // finishes the job. The plain commit path is not atomic: the unit whose
    // increments were applied before the crash is counted twice.
    let rerun = redis_worker(&server.url(), keys.job(), &events, None);
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let stats =
        harness::queue::WorkerStats::from_output(&String::from_utf8_lossy(&rerun.stdout)).unwrap();
    assert_eq!(stats.measured.units, 3);
    assert_eq!(queue.pending(&mut con).unwrap(), 0);
    let counts = queue.read_counts(&mut con).unwrap();
    assert_eq!(
        counts.get(b"shared"),
        2 * 4 + 2,
        "one unit's increments were applied twice"
    );
}

#[test]
fn a_lease_worker_crashing_mid_commit_recounts_its_own_unit_once() {
    use harness::queue::{Endpoint, JobKeys, JobQueue, QueueBackend, WorkQueue};

    let dir = tempfile::tempdir().unwrap();
    let units = four_shared_units(dir.path());
    let server = RedisServer::start(RedisConfig::default()).unwrap();
    let endpoint = Endpoint::new(&server.url());
    let keys = JobKeys::random();
    let mut queue = JobQueue::new(QueueBackend::Lease, endpoint.clone(), keys.clone());
    let mut con = endpoint.connect().unwrap();
    queue.create(&mut con, &units).unwrap();

    let events = dir.path().join("worker-0.events");
    let lease = QueueBackend::Lease;
    let crashed = redis_worker_on(
        lease,
        &server.url(),
        keys.job(),
        &events,
        Some("mid-commit:2"),
    );
    assert_eq!(
        crashed.status.code(),
        Some(harness::exit_code::CRASHED),
        "{crashed:?}"
    );
    assert_eq!(
        queue.pending(&mut con).unwrap(),
        1,
        "the crashed unit stays leased"
    );
    // The restarted worker gets its own leased unit back first; the lease
    // commit is one Function call, so nothing was applied before the crash
    // and the recount applies once.
    let rerun = redis_worker_on(lease, &server.url(), keys.job(), &events, None);
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let stats =
        harness::queue::WorkerStats::from_output(&String::from_utf8_lossy(&rerun.stdout)).unwrap();
    assert_eq!(stats.measured.units, 3);
    assert!(queue.is_complete(&mut con).unwrap());
    let counts = queue.read_counts(&mut con).unwrap();
    assert_eq!(counts.get(b"shared"), 2 * 4, "every unit counted once");
}
