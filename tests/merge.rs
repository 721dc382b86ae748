//! Merge targets and the combiner end to end, with the real binary and real
//! redis-servers, on both queue backends: every merge target (zset, hash,
//! parts) with one unit or several units per commit, plain and atomic, is
//! byte-identical to the serial reference; with atomic commits (every lease
//! commit is atomic) it stays exact under a crash at every crash point (on
//! lease also mid-way through a chunked commit), seeded crash/kill
//! schedules, and the stealing of a throttled straggler (whose batch is
//! refused and recommitted unit by unit); the server-side figures are
//! reported.

mod util;

/// Line `w` of file `i` of this file's small corpus.
fn merge_line(i: usize, w: usize) -> String {
    format!("m{} k{} The\n", (w * 11 + i) % 257, w % 17)
}

use util::{
    CRASH_POINTS, Rng, count_redis, crash_or_kill_args, field, reference_tsv, small_corpus,
    straggler_corpus, text, tricky_corpus,
};

const TARGETS: [&str; 3] = ["zset", "hash", "parts"];
/// The queue backends, as the flags that choose them.
const QUEUES: [&[&str]; 2] = [&[], &["--queue", "lease"]];

#[test]
fn every_merge_target_and_batch_size_is_exact_plain_and_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let files = tricky_corpus(dir.path());
    let expected = reference_tsv(&files);
    for (queue, target) in QUEUES.iter().flat_map(|q| TARGETS.map(|t| (q, t))) {
        for units in ["1", "4"] {
            for atomic in [false, true] {
                let mut args = queue.to_vec();
                args.extend([
                    "--workers",
                    "2",
                    "--unit-bytes",
                    "16KiB",
                    "--merge",
                    target,
                    "--commit-units",
                    units,
                    // Units over 20 distinct words are staged (streams) or
                    // chunked (lease) by 20 pairs.
                    "--pipeline",
                    "20",
                    "--inline-pairs",
                    "20",
                ]);
                if atomic {
                    args.push("--atomic");
                }
                let (got, fields) = count_redis(dir.path(), &args);
                assert!(
                    got == expected,
                    "{args:?}: output differs from the reference"
                );
                assert_eq!(text(&fields, "merge"), target, "{fields:?}");
                assert!(field(&fields, "word_updates") > 0, "{fields:?}");
            }
        }
    }
}

#[test]
fn server_side_figures_name_the_merge_command() {
    let dir = tempfile::tempdir().unwrap();
    small_corpus(dir.path(), 6, 400, merge_line);
    for target in TARGETS {
        let (_, fields) = count_redis(dir.path(), &["--merge", target, "--atomic"]);
        let per_call: f64 = text(&fields, "server_us_per_merge_call").parse().unwrap();
        let rate: f64 = text(&fields, "server_updates_per_s").parse().unwrap();
        assert!(per_call > 0.0, "{target}: {fields:?}");
        assert!(rate > 0.0, "{target}: {fields:?}");
    }
}

#[test]
fn combined_atomic_commits_stay_exact_with_a_crash_at_every_point() {
    let dir = tempfile::tempdir().unwrap();
    // ~300 units: the job lasts long enough that worker 0 reaches its
    // third unit even when its process starts last on a loaded machine.
    let files = small_corpus(dir.path(), 12, 2000, merge_line);
    let expected = reference_tsv(&files);
    // On lease, 300 pairs per call: a batch of 3 units (~260 distinct
    // words) commits in one call; the last run chunks single units by 20
    // pairs, so its mid-commit crash leaves a half-applied unit a thief
    // resumes.
    let lease = ["--queue", "lease", "--pipeline", "300"];
    let chunked = ["--queue", "lease", "--pipeline", "20"];
    let mut runs: Vec<(&[&str], &str, &str)> = Vec::new();
    for queue in [&[][..], &lease[..]] {
        for point in CRASH_POINTS {
            runs.push((queue, point, "3"));
        }
    }
    runs.push((&chunked[..], "mid-commit", "1"));
    for (i, (queue, point, units)) in runs.into_iter().enumerate() {
        let target = TARGETS[i % TARGETS.len()];
        let (first, second) = (format!("0:{point}:3"), format!("1:{point}"));
        let mut args = queue.to_vec();
        args.extend([
            "--atomic",
            "--workers",
            "3",
            "--unit-bytes",
            "1KiB",
            "--merge",
            target,
            "--commit-units",
            units,
            "--autoclaim-ms",
            "50",
            "--crash",
            &first,
            "--crash",
            &second,
        ]);
        let (got, fields) = count_redis(dir.path(), &args);
        assert!(
            got == expected,
            "{args:?}: output differs from the reference; {fields:?}"
        );
        assert_eq!(field(&fields, "crashes"), 2, "{args:?}: {fields:?}");
    }
}

#[test]
fn seeded_crash_and_kill_schedules_stay_exact_for_every_target_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_corpus(dir.path(), 16, 150, merge_line);
    let expected = reference_tsv(&files);
    let mut rng = Rng(0x0c0f_fee5);
    for run_index in 0..30 {
        let workers = 2 + rng.below(2) as u32;
        let target = TARGETS[rng.below(3) as usize];
        let units = [1, 2, 5][rng.below(3) as usize];
        let mut args: Vec<String> = [
            "--atomic",
            "--workers",
            &workers.to_string(),
            "--unit-bytes",
            "1KiB",
            "--merge",
            target,
            "--commit-units",
            &units.to_string(),
            "--autoclaim-ms",
            &(10 + rng.below(40)).to_string(),
        ]
        .map(String::from)
        .to_vec();
        args.extend(crash_or_kill_args(&mut rng, workers, 4));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (got, fields) = count_redis(dir.path(), &refs);
        assert!(
            got == expected,
            "run {run_index} ({args:?}): output differs from the reference; {fields:?}"
        );
    }
}

#[test]
fn a_stolen_stragglers_batch_is_refused_and_counts_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let files = straggler_corpus(dir.path());
    let expected = reference_tsv(&files);
    // (parts commits cost the server so little that the fast worker
    // finishes before the throttled one has started; the crash tests
    // cover its refused batches.)
    let runs: [(&[&str], &str); 3] = [
        (&[], "zset"),
        (&[], "hash"),
        (&["--queue", "lease"], "zset"),
    ];
    for (queue, target) in runs {
        let mut args = queue.to_vec();
        args.extend([
            "--atomic",
            "--workers",
            "2",
            // 5% of a CPU and a whole file per unit: each unit outlasts
            // one CFS period's quota, so it is surely stolen (at 10% with
            // 128 KiB units the straggler sometimes finished every unit
            // in time).
            "--slow",
            "0:0.05",
            "--autoclaim-ms",
            "20",
            "--unit-bytes",
            "32MiB",
            "--merge",
            target,
            "--commit-units",
            "3",
        ]);
        let (got, fields) = count_redis(dir.path(), &args);
        assert!(
            got == expected,
            "{args:?}: counts differ after stealing: {fields:?}"
        );
        assert!(field(&fields, "units_stolen") >= 1, "{args:?}: {fields:?}");
    }
}

#[test]
fn parts_refuses_per_word_and_commit_units_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    small_corpus(dir.path(), 1, 10, merge_line);
    let input = dir.path().to_str().unwrap();
    for (args, says) in [
        (vec!["--merge", "parts", "--per-word"], "no per-word update"),
        (vec!["--commit-units", "0"], "commit-units"),
        (vec!["--merge", "tree"], "use zset, hash or parts"),
    ] {
        let mut all = vec!["count", "--verbose", input, "--mode", "redis"];
        all.extend(args.iter().copied());
        let out = util::run(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
