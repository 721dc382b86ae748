//! Worker fault tolerance (Lab 3) end to end, with the real binary and real
//! redis-servers: with `--atomic`, crashes at every crash point and random
//! crash/kill schedules still give output byte-identical to the reference;
//! the plain path under a mid-commit crash double-counts; a straggler's
//! duplicate commit is refused by the Function; crashed workers holding
//! units without `--autoclaim-ms` fail fast with a clear message. Lab 4:
//! the managed redis-server killed mid-job, at bootstrap and before the
//! read, restarted from its snapshot (or empty), still gives exact counts
//! with atomic commits.

mod util;

/// Line `w` of file `i` of this file's small corpus.
fn fault_line(i: usize, w: usize) -> String {
    format!("w{} c{} The\n", (w * 7 + i) % 301, w % 13)
}

use std::path::{Path, PathBuf};

use util::{
    Rng, count_redis, crash_or_kill_args, field, files_under, gutenberg, reference_tsv, run,
    small_corpus, straggler_corpus, text, tricky_corpus,
};

/// The exact configurations under test: the streams backend with its
/// atomic commit, and the lease backend (every lease commit is atomic; it
/// runs with the default per-unit path to show that).
const EXACT_QUEUES: [&[&str]; 2] = [&["--atomic"], &["--queue", "lease"]];

/// Runs `harness count INPUT --mode redis ARGS...` (see [`count_redis`]).
fn count(input: &Path, args: &[&str]) -> (Vec<u8>, Vec<(String, String)>) {
    count_redis(input, args)
}

#[test]
fn atomic_commits_stay_exact_with_a_crash_at_every_point() {
    let dir = tempfile::tempdir().unwrap();
    let files = tricky_corpus(dir.path());
    let expected = reference_tsv(&files);
    for (queue, point) in EXACT_QUEUES.iter().flat_map(|queue| {
        [
            "after-read",
            "mid-count",
            "before-commit",
            "mid-commit",
            "after-commit",
        ]
        .map(|point| (queue, point))
    }) {
        let (first, second) = (format!("0:{point}:2"), format!("1:{point}"));
        // A tiny pipeline makes every unit with more than 50 distinct words a staged (chunked) commit.
        let mut args = queue.to_vec();
        args.extend([
            "--workers",
            "3",
            "--unit-bytes",
            "64KiB",
            "--autoclaim-ms",
            "50",
            "--pipeline",
            "50",
            "--inline-pairs",
            "50",
            "--crash",
            &first,
            "--crash",
            &second,
        ]);
        let (got, fields) = count(dir.path(), &args);
        assert!(
            got == expected,
            "{queue:?} with crashes at {point}: output differs from the reference"
        );
        assert_eq!(field(&fields, "crashes"), 2, "{point}: {fields:?}");
        if point != "after-commit" {
            assert!(
                field(&fields, "units_stolen") >= 1,
                "{point}: the crashed workers' units were not stolen: {fields:?}"
            );
        }
    }
}

#[test]
fn random_crash_and_kill_schedules_stay_exact_with_atomic_commits() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_corpus(dir.path(), 16, 150, fault_line);
    let expected = reference_tsv(&files);
    let mut rng = Rng(0x5eed_1ab3);
    let runs = 50;
    for run_index in 0..runs {
        let workers = 2 + rng.below(2) as u32;
        let mut args: Vec<String> = vec![
            "--atomic".into(),
            "--workers".into(),
            workers.to_string(),
            "--unit-bytes".into(),
            "1KiB".into(),
        ];
        args.extend(["--autoclaim-ms".into(), (10 + rng.below(40)).to_string()]);
        args.extend(crash_or_kill_args(&mut rng, workers, 3));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got, fields) = count(dir.path(), &refs);
        assert!(
            got == expected,
            "run {run_index} ({args:?}): output differs from the reference; summary {fields:?}"
        );
    }
}

#[test]
fn plain_commits_double_count_after_a_mid_commit_crash() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_corpus(dir.path(), 12, 150, fault_line);
    let expected = reference_tsv(&files);
    let args = [
        "--workers",
        "2",
        "--unit-bytes",
        "1KiB",
        "--autoclaim-ms",
        "30",
        "--crash",
        "0:mid-commit",
    ];
    let (got, fields) = count(dir.path(), &args);
    assert_eq!(field(&fields, "crashes"), 1, "{fields:?}");
    assert!(field(&fields, "units_stolen") >= 1, "{fields:?}");
    assert!(
        got != expected,
        "the non-atomic mid-commit crash should count the stolen unit twice"
    );
    // The same schedule with the atomic commit is exact.
    let atomic: Vec<&str> = std::iter::once("--atomic").chain(args).collect();
    let (got, _) = count(dir.path(), &atomic);
    assert!(
        got == expected,
        "the atomic commit should survive the same crash"
    );
    // So does the lease backend's per-unit path (its commit is one Function call).
    let lease: Vec<&str> = ["--queue", "lease"].into_iter().chain(args).collect();
    let (got, fields) = count(dir.path(), &lease);
    assert!(got == expected, "lease: counts differ: {fields:?}");
    assert!(field(&fields, "units_stolen") >= 1, "lease: {fields:?}");
}

#[test]
fn a_stolen_stragglers_duplicate_commit_is_refused_and_counts_stay_exact() {
    // Units with ~20k distinct words (see `straggler_corpus`).
    let dir = tempfile::tempdir().unwrap();
    let files = straggler_corpus(dir.path());
    let expected = reference_tsv(&files);
    for queue in EXACT_QUEUES {
        let mut args = queue.to_vec();
        args.extend([
            "--workers",
            "2",
            // 5% of a CPU and a whole 16 MB file per unit (about 40 ms of
            // CPU): a unit outlasts one CFS period's quota, so the
            // straggler holds it through a throttled gap far longer than
            // the 20 ms steal timeout (at 10% with 256 KiB units a unit
            // could fit in one quota, and now and then nothing was stolen).
            "--slow",
            "0:0.05",
            "--autoclaim-ms",
            "20",
            "--unit-bytes",
            "32MiB",
        ]);
        let (got, fields) = count(dir.path(), &args);
        assert!(
            got == expected,
            "{queue:?}: counts differ after stealing: {fields:?}"
        );
        assert!(field(&fields, "units_stolen") >= 1, "{queue:?}: {fields:?}");
        assert!(
            field(&fields, "duplicate_commits") >= 1,
            "{queue:?}: the straggler's late commit should have been refused: {fields:?}"
        );
    }
}

#[test]
fn units_held_by_a_crashed_worker_without_autoclaim_fail_fast() {
    let dir = tempfile::tempdir().unwrap();
    // Hundreds of units, so worker 0 surely reads one before worker 1 has
    // taken them all (with 6 units it sometimes read none, never crashed,
    // and the job ended exact).
    small_corpus(dir.path(), 40, 400, fault_line);
    let started = std::time::Instant::now();
    let result = run(&[
        "count",
        "--verbose",
        dir.path().to_str().unwrap(),
        "--mode",
        "redis",
        "--workers",
        "2",
        "--unit-bytes",
        "1KiB",
        "--crash",
        "0:after-read",
    ]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("--autoclaim-ms") && stderr.contains("worker 0"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn gutenberg_books_are_exact_with_staged_atomic_commits_and_kills() {
    let Some(books) = gutenberg() else {
        eprintln!(
            "skipped: no ../shared/corpus/gutenberg (download a few Project Gutenberg books there to run this test)"
        );
        return;
    };
    let expected = reference_tsv(&files_under(&books));
    // 2000 pairs per round trip: most units are staged in several chunks.
    let args = [
        "--atomic",
        "--workers",
        "3",
        "--unit-bytes",
        "1MiB",
        "--pipeline",
        "2000",
        "--inline-pairs",
        "2000",
        "--autoclaim-ms",
        "200",
        "--kill-every-ms",
        "300",
    ];
    let (got, fields) = count(&books, &args);
    assert!(
        got == expected,
        "books with staged atomic commits and kills: output differs from the reference: {fields:?}"
    );
}

// Lab 4: the managed redis-server itself is killed with SIGKILL and
// restarted (from its snapshot, or empty). Atomic commits plus stealing
// keep the counts exact: a restored snapshot holds the counts and the
// acknowledgements of the same moment, so every unit done after it is
// simply done again (the client re-queues a queue lost before the first
// snapshot, and restarts workers for units that come back after they
// exited).

/// Atomic commits with stealing, on a managed server snapshotting every second.
const ATOMIC_WITH_SNAPSHOTS: [&str; 8] = [
    "--atomic",
    "--workers",
    "2",
    "--autoclaim-ms",
    "300",
    "--snapshot-s",
    "1",
    "--redis-down-ms",
];

#[test]
fn redis_killed_while_workers_run_restarts_from_its_snapshot_and_counts_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    // 60 files of 3000 distinct words each: 180k word updates, 50 per round
    // trip; the kill comes when half of the units are acknowledged (at:50%),
    // so it lands in the middle however fast the machine is (at:500 came
    // after a 0.47 s job had ended on a quiet machine).
    let files: Vec<PathBuf> = (0..60)
        .map(|i| {
            let path = dir.path().join(format!("d{i:02}.txt"));
            let text: String = (0..3000).map(|w| format!("x{i}y{w} shared\n")).collect();
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let expected = reference_tsv(&files);
    for lease in [false, true] {
        let mut args = ATOMIC_WITH_SNAPSHOTS.to_vec();
        args.extend([
            "150",
            "--pipeline",
            "50",
            "--inline-pairs",
            "50",
            "--redis-kill",
            "at:50%",
        ]);
        if lease {
            args.extend(["--queue", "lease"]);
        }
        let (got, fields) = count(dir.path(), &args);
        assert!(
            got == expected,
            "lease {lease}: counts differ after a Redis restart: {fields:?}"
        );
        assert_eq!(field(&fields, "redis_restarts"), 1, "{fields:?}");
        assert_eq!(text(&fields, "faults_unfired"), "false", "{fields:?}");
    }
}

#[test]
fn redis_killed_at_bootstrap_or_before_the_read_still_gives_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_corpus(dir.path(), 30, 500, fault_line);
    let expected = reference_tsv(&files);
    for queue in ["stream", "lease"] {
        for kill in ["after-enqueue", "before-read"] {
            let mut args = ATOMIC_WITH_SNAPSHOTS.to_vec();
            args.extend(["100", "--redis-kill", kill, "--queue", queue]);
            let (got, fields) = count(dir.path(), &args);
            assert!(got == expected, "{queue} {kill}: counts differ: {fields:?}");
            assert_eq!(field(&fields, "redis_restarts"), 1, "{kill}: {fields:?}");
        }
        // Without snapshots the bootstrap kill loses the whole queue: the
        // client queues the job again and it still ends exact.
        let (got, fields) = count(
            dir.path(),
            &[
                "--atomic",
                "--autoclaim-ms",
                "300",
                "--redis-kill",
                "after-enqueue",
                "--redis-down-ms",
                "100",
                "--queue",
                queue,
            ],
        );
        assert!(
            got == expected,
            "{queue}, no snapshot: counts differ: {fields:?}"
        );
    }
}

#[test]
fn redis_kills_are_refused_where_they_cannot_apply() {
    let dir = tempfile::tempdir().unwrap();
    small_corpus(dir.path(), 2, 10, fault_line);
    let input = dir.path().to_str().unwrap();
    for (args, expected) in [
        (
            vec![
                "--mode",
                "redis",
                "--redis-url",
                "redis://127.0.0.1:1/",
                "--redis-kill",
                "at:10",
            ],
            "drop --redis-url",
        ),
        (
            vec!["--mode", "redis", "--redis-kill", "sometimes"],
            "redis kill",
        ),
        (
            vec!["--mode", "serial", "--snapshot-s", "1"],
            "only apply to --mode redis",
        ),
    ] {
        let mut all = vec!["count", "--verbose", input];
        all.extend(args);
        let result = run(&all);
        assert!(!result.status.success());
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains(expected), "{all:?}: {stderr}");
    }
}
