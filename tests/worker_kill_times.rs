//! Worker kills and deadlines with fault times that follow the job, end
//! to end with the real binary and real redis-servers: a worker kill at
//! `at:50%` of the units acknowledged fires on a job far shorter than a
//! second and the CSV's `faults_fired` says so; a run that misses its
//! deadline still records the faults that fired before it; as root, a
//! partition at `at:50%` cuts a host of a tiny job (it would not at a
//! time in milliseconds after the job's end).

mod util;

use std::path::Path;

use util::{count_redis, reference_tsv, run, text};

/// `files` files of a few thousand words, in `dir`.
fn tiny_corpus(dir: &Path, files: usize) {
    for i in 0..files {
        let words: String = (0..3000)
            .map(|w| format!("w{} k{}\n", (w * 7 + i) % 401, w % 17))
            .collect();
        std::fs::write(dir.join(format!("f{i:02}.txt")), words).unwrap();
    }
}

/// Runs the experiment `body` (its `[fixed]` table and more) on `input`
/// and returns the CSV's rows as (column, value) pairs.
fn run_experiment(dir: &Path, name: &str, input: &Path, body: &str) -> Vec<Vec<(String, String)>> {
    let toml = dir.join(format!("{name}.toml"));
    std::fs::write(
        &toml,
        format!(
            "description = \"worker kill times\"\nrepetitions = 1\n[fixed]\nmode = \"redis\"\ninput = {{ path = \"{}\" }}\n{body}",
            input.display()
        ),
    )
    .unwrap();
    let out = dir.join("results");
    let data = dir.join("data");
    let ran = run(&[
        "run",
        toml.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{stderr}");
    let mut reader = csv::Reader::from_path(out.join(format!("{name}.csv"))).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[test]
fn a_worker_kill_at_half_the_units_fires_and_a_missed_deadline_keeps_what_fired() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    tiny_corpus(&input, 16);

    // harness count: the flag, and the summary's fault counts.
    let (_, fields) = count_redis(
        &input,
        &[
            "--workers",
            "3",
            "--autoclaim-ms",
            "200",
            "--worker-kill",
            "at:50%",
        ],
    );
    assert_eq!(
        text(&fields, "faults_planned"),
        "worker_kill:1",
        "{fields:?}"
    );
    assert_eq!(text(&fields, "faults_fired"), "worker_kill:1", "{fields:?}");
    assert_eq!(text(&fields, "faults_unfired"), "false");

    // harness run: the row of a finished run says the kill fired.
    let rows = run_experiment(
        dir.path(),
        "half",
        &input,
        "workers = 3\nautoclaim_ms = 200\nworker_kill = \"at:50%\"\n",
    );
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(text(row, "worker_kill"), "at:50%");
    assert_eq!(text(row, "faults_planned"), "worker_kill:1");
    assert_eq!(text(row, "faults_fired"), "worker_kill:1", "{row:?}");
    assert_eq!(text(row, "faults_unfired"), "false");
    assert_eq!(text(row, "correct"), "true");
    assert_eq!(text(row, "finished"), "true");

    // A run that cannot finish before its deadline (worker 0 crashes
    // holding a unit nobody steals for a minute, the other waits for it):
    // not finished, and the crash that fired before the deadline is still
    // recorded.
    let rows = run_experiment(
        dir.path(),
        "late",
        &input,
        "workers = 2\nautoclaim_ms = 60000\ncrash = \"0:mid-count\"\ndeadline_s = 1.0\n",
    );
    let row = &rows[0];
    assert_eq!(text(row, "finished"), "false", "{row:?}");
    assert_eq!(text(row, "faults_planned"), "crash:1");
    assert_eq!(text(row, "faults_fired"), "crash:1", "{row:?}");
    assert_eq!(text(row, "faults_unfired"), "false");
}

#[test]
fn a_partition_at_half_the_units_cuts_a_host_of_a_tiny_job() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: emulated hosts need root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    tiny_corpus(&input, 16);
    let (counts, fields) = count_redis(
        &input,
        &[
            "--workers",
            "4",
            "--hosts",
            "2",
            "--rtt-ms",
            "1",
            "--atomic",
            "--autoclaim-ms",
            "200",
            "--partition",
            "host-1:at:50%:for:300",
        ],
    );
    let mut files: Vec<_> = std::fs::read_dir(&input)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        counts == reference_tsv(&files),
        "counts across a partition differ"
    );
    assert_eq!(text(&fields, "faults_planned"), "partition:1", "{fields:?}");
    assert_eq!(text(&fields, "faults_fired"), "partition:1", "{fields:?}");
    assert_eq!(text(&fields, "faults_unfired"), "false");
}
