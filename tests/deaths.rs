//! Workers that die of anything (issue: "the job is done when Redis says
//! so"), end to end with the real binary and real redis-servers:
//! - a worker killed with SIGKILL from outside the harness (as the OOM
//!   killer or an operator would) during an atomic run with stealing: the
//!   job goes on and the counts are exact; `unexpected_deaths` counts it;
//! - without stealing, the same death fails fast naming the holder and the
//!   settings that would have saved it; with `--restart-dead` it finishes;
//! - a run that cannot finish (Redis killed faster than it can snapshot)
//!   stops at its deadline with exit code 3, and `harness run` records it
//!   as a row with `finished = false`;
//! - SIGTERM stops `harness count` and `harness run` promptly, leaving no
//!   redis-server, worker or temporary directory behind;
//! - `harness chaos`: >= 100 seeded fault schedules with the atomic commit
//!   are all exact with nothing left behind, and the plain-commit control
//!   shows wrong counts (the checker bites).

mod util;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use util::{alive, children, command_of, corpus, harness, line_field, reference_tsv};

/// A folder `in` under `dir` holding [`corpus`] files.
fn input_dir(dir: &Path, files: usize, lines: usize) -> (PathBuf, Vec<PathBuf>) {
    let input = dir.join("in");
    std::fs::create_dir(&input).unwrap();
    let paths = corpus(&input, files, lines);
    (input, paths)
}

/// Waits until `child` has at least one `redis-worker` child; returns them.
fn wait_for_workers(child: &Child) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let workers: Vec<u32> = children(child.id())
            .into_iter()
            .filter(|&p| command_of(p).contains("redis-worker"))
            .collect();
        if !workers.is_empty() {
            return workers;
        }
        assert!(Instant::now() < deadline, "no worker started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn spawn_count(args: &[&str], stdout: PathBuf, stderr: PathBuf) -> Child {
    harness()
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(stdout).unwrap())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .unwrap()
}

#[test]
fn a_worker_killed_from_outside_does_not_stop_an_atomic_job_with_stealing() {
    let dir = tempfile::tempdir().unwrap();
    let (input, files) = input_dir(dir.path(), 24, 4000);
    let expected = reference_tsv(&files);
    // Two rounds per backend: streams with the atomic commit, then the lease backend.
    for round in 0..4 {
        let queue = ["stream", "lease"][round / 2];
        let out = dir.path().join(format!("out{round}.tsv"));
        let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let mut child = spawn_count(
            &[
                "count",
                "--verbose",
                input.to_str().unwrap(),
                "--mode",
                "redis",
                "--workers",
                "3",
                "--atomic",
                "--autoclaim-ms",
                "200",
                "--unit-bytes",
                "16KiB",
                "--top",
                "0",
                "--queue",
                queue,
                "-o",
                out.to_str().unwrap(),
            ],
            stdout.clone(),
            stderr.clone(),
        );
        let workers = wait_for_workers(&child);
        std::thread::sleep(Duration::from_millis(50));
        let victim = workers[round % workers.len()];
        // SAFETY: killing a worker process this test's child started.
        unsafe { libc::kill(victim as i32, libc::SIGKILL) };
        let status = child.wait().unwrap();
        let stderr = std::fs::read_to_string(&stderr).unwrap();
        assert!(status.success(), "round {round} ({queue}): {stderr}");
        let summary = std::fs::read_to_string(&stdout).unwrap();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            expected,
            "round {round} ({queue}): counts differ"
        );
        let deaths: u64 = line_field(&summary, "unexpected_deaths").parse().unwrap();
        // The victim may have finished just before the signal arrived.
        assert!(deaths <= 1, "{summary}");
        if deaths == 1 {
            assert!(stderr.contains("signal 9"), "{stderr}");
        }
    }
}

/// Stops a worker of the job run by process `harness_pid` while it holds
/// a unit it has taken and not committed (read from the workers' event
/// logs in the job's temporary directory), then kills it with SIGKILL.
/// Returns the killed pid.
fn kill_a_worker_holding_a_unit(harness_pid: u32) -> u32 {
    use harness::events::{EventKind, read_events};
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "no worker was caught holding a unit"
        );
        let job_dir = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("harness-redis-job-{harness_pid}-")))
            });
        let Some(job_dir) = job_dir else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        for worker in 0..2 {
            let log = job_dir.join(format!("worker-{worker}.events"));
            let holding = |log: &Path| {
                read_events(log).ok().and_then(|events| {
                    let last = events
                        .iter()
                        .rev()
                        .find(|e| matches!(e.kind, EventKind::Take | EventKind::Committed))?;
                    let pid = events
                        .iter()
                        .find(|e| e.kind == EventKind::Start)
                        .and_then(|e| e.detail.strip_prefix("pid="))
                        .and_then(|d| d.split_whitespace().next())
                        .and_then(|p| p.parse::<u32>().ok())?;
                    (last.kind == EventKind::Take).then_some(pid)
                })
            };
            if let Some(pid) = holding(&log) {
                // SAFETY: signalling a worker of this test's child.
                unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
                if holding(&log) == Some(pid) {
                    // SAFETY: as above.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    return pid;
                }
                // SAFETY: as above.
                unsafe { libc::kill(pid as i32, libc::SIGCONT) };
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn without_stealing_a_dead_holder_fails_fast_and_restart_dead_saves_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let (input, files) = input_dir(dir.path(), 6, 60_000);
    for queue in ["stream", "lease"] {
        without_stealing_with(queue, &input, &files, dir.path());
    }
}

/// The body of the test above on one backend.
fn without_stealing_with(queue: &str, input: &Path, files: &[PathBuf], dir: &Path) {
    let expected = reference_tsv(files);
    let run = |extra: &[&str]| {
        let out = dir.join("out.tsv");
        let _ = std::fs::remove_file(&out);
        let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
        let mut args = vec![
            "count",
            "--verbose",
            input.to_str().unwrap(),
            "--mode",
            "redis",
            "--workers",
            "2",
            "--atomic",
            "--queue",
            queue,
            "--unit-bytes",
            "256KiB",
            "--top",
            "0",
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let mut child = spawn_count(&args, stdout.clone(), stderr.clone());
        let victim = kill_a_worker_holding_a_unit(child.id());
        let started = Instant::now();
        let status = child.wait().unwrap();
        (
            status,
            started.elapsed(),
            victim,
            std::fs::read_to_string(&stderr).unwrap(),
            std::fs::read(&out).ok(),
        )
    };
    // The victim may, rarely, have committed between its last event and the
    // stop signal (it then held nothing): try again.
    let (_, took, victim, stderr, _) = (0..3)
        .map(|_| run(&[]))
        .find(|(status, ..)| !status.success())
        .expect("killing a worker holding a unit never stranded it");
    assert!(took < Duration::from_secs(15), "took {took:?} to fail");
    assert!(
        stderr.contains("--autoclaim-ms")
            && stderr.contains("--restart-dead")
            && stderr.contains(&format!("pid {victim}"))
            && stderr.contains("signal 9"),
        "{stderr}"
    );
    let (status, _, _, stderr, out) = run(&["--restart-dead"]);
    assert!(status.success(), "{stderr}");
    assert_eq!(out.unwrap(), expected);
}

#[test]
fn a_job_that_cannot_finish_stops_at_its_deadline_and_runs_record_it() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = input_dir(dir.path(), 40, 3000);
    // Killed every 150 ms with no snapshots: every restart loses the job.
    let started = Instant::now();
    let output = harness()
        .args([
            "count",
            "--verbose",
            input.to_str().unwrap(),
            "--mode",
            "redis",
            "--workers",
            "2",
            "--atomic",
            "--autoclaim-ms",
            "100",
            "--unit-bytes",
            "8KiB",
            "--redis-kill",
            "every:150",
            "--redis-down-ms",
            "50",
            "--deadline-s",
            "2",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("did not finish within its deadline"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));

    let experiment = dir.path().join("deadline.toml");
    std::fs::write(
        &experiment,
        format!(
            "description = \"deadline\"\nrepetitions = 1\n[fixed]\nmode = \"redis\"\nworkers = 2\natomic = true\nautoclaim_ms = 100\nunit_bytes = \"8KiB\"\nredis_down_ms = 50\ndeadline_s = 2\ninput = {{ path = \"{}\" }}\n[matrix]\nredis_kill = [\"none\", \"every:150\"]\n",
            input.display()
        ),
    )
    .unwrap();
    let results = dir.path().join("results");
    let output = harness()
        .args([
            "run",
            experiment.to_str().unwrap(),
            "--out",
            results.to_str().unwrap(),
            "--data",
            dir.path().join("data").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("NOT FINISHED"), "{stderr}");
    let mut reader = csv::Reader::from_path(results.join("deadline.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let finished = header.iter().position(|h| h == "finished").unwrap();
    let kill = header.iter().position(|h| h == "redis_kill").unwrap();
    let rows: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[kill].to_owned(), r[finished].to_owned())
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("none".to_owned(), "true".to_owned()),
            ("primary:every:150".to_owned(), "false".to_owned())
        ]
    );
}

/// Every descendant of `pid`, recursively.
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    for child in children(pid) {
        all.push(child);
        all.extend(descendants(child));
    }
    all
}

/// Temporary directories named after `pid`.
fn temp_dirs_of(pid: u32) -> Vec<String> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("harness-") && n.contains(&format!("-{pid}-")))
        .collect()
}

#[test]
fn sigterm_stops_count_and_run_promptly_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = input_dir(dir.path(), 30, 6000);
    let experiment = dir.path().join("term.toml");
    std::fs::write(
        &experiment,
        format!(
            "description = \"sigterm\"\nrepetitions = 5\n[fixed]\nmode = \"redis\"\nworkers = 2\nper_word = true\nunit_bytes = \"8KiB\"\ninput = {{ path = \"{}\" }}\n",
            input.display()
        ),
    )
    .unwrap();
    let results = dir.path().join("results");
    let data = dir.path().join("data");
    let commands: [Vec<&str>; 2] = [
        vec![
            "count",
            "--verbose",
            input.to_str().unwrap(),
            "--mode",
            "redis",
            "--per-word",
            "--unit-bytes",
            "8KiB",
        ],
        vec![
            "run",
            experiment.to_str().unwrap(),
            "--out",
            results.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ],
    ];
    for args in commands {
        let mut child = spawn_count(&args, dir.path().join("o"), dir.path().join("e"));
        let pid = child.id();
        wait_for_workers(&child);
        let started_before: Vec<u32> = descendants(pid);
        assert!(
            started_before
                .iter()
                .any(|&p| command_of(p).contains("redis-server")),
            "{args:?}: no redis-server among {started_before:?}"
        );
        // SAFETY: signalling the child this test started.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        let sent = Instant::now();
        let status = child.wait().unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "{args:?}: slow to stop"
        );
        assert_eq!(status.code(), Some(143), "{args:?}: SIGTERM exits 128 + 15");
        let stderr = std::fs::read_to_string(dir.path().join("e")).unwrap();
        assert!(stderr.contains("interrupted"), "{args:?}: {stderr}");
        std::thread::sleep(Duration::from_millis(200));
        for p in started_before {
            assert!(!alive(p), "{args:?}: process {p} ({}) left", command_of(p));
        }
        assert_eq!(temp_dirs_of(pid), Vec::<String>::new(), "{args:?}");
    }
}

#[test]
fn chaos_series_are_exact_with_atomic_commits_and_the_plain_control_bites() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    chaos_series(&["--seed", "7", "--scale", "0.5"], 100, dir.path());

    // Schedules that once ended with "all workers died": one worker killed,
    // the others done, then Redis restored from an older snapshot before
    // the read: the done workers are started again and finish the job.
    for seed in ["1000331", "1000914"] {
        let replay = harness()
            .args(["chaos", "--replay", seed, "--csv"])
            .arg(dir.path().join("replay.csv"))
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&replay.stdout);
        assert!(
            replay.status.success() && stdout.contains("1 exact"),
            "{seed}: {stdout}"
        );
    }

    let plain = harness()
        .args([
            "chaos",
            "--schedules",
            "40",
            "--seed",
            "1",
            "--scale",
            "0.5",
            "--commit",
            "plain",
            "--csv",
            dir.path().join("plain.csv").to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.status.success(), "{stdout}");
    assert!(stdout.contains("the checker bites"), "{stdout}");
}

/// Runs 30 seeded chaos schedules of the lease backend on `topology` and
/// checks they are all exact, finished and leave nothing behind; returns
/// the CSV rows.
fn thirty_lease_schedules(topology: &str, seed: &str) -> Vec<csv::StringRecord> {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--queue", "lease", "--topology", topology];
    let (stdout, rows) = chaos_series(
        &[&args[..], &["--seed", seed, "--scale", "0.3"]].concat(),
        30,
        dir.path(),
    );
    // This process threw node faults from outside (kill -9 of a
    // redis-server it found by pid) and the harness survived them.
    assert!(
        stdout.contains("outside node faults thrown:")
            && !stdout.contains("thrown: 0 kill -9 of a redis-server"),
        "{stdout}"
    );
    rows
}

/// Runs `harness chaos` with `args` for `schedules` schedules (CSV and
/// data in `dir`) and checks what every series must show: each schedule
/// exact and finished, nothing left running, a row per schedule, and most
/// planned outside faults thrown. Returns its stdout and rows.
fn chaos_series(args: &[&str], schedules: usize, dir: &Path) -> (String, Vec<csv::StringRecord>) {
    let csv = dir.join("chaos.csv");
    let output = harness()
        .arg("chaos")
        .args(args)
        .args(["--schedules", &schedules.to_string(), "--csv"])
        .arg(&csv)
        .arg("--data")
        .arg(dir.join("data"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{schedules} schedules"))
            && stdout.contains(" 0 wrong, 0 not finished, 0 failed")
            && stdout.contains("leftovers: 0 processes, 0 temp dirs"),
        "{stdout}"
    );
    let rows: Vec<csv::StringRecord> = csv::Reader::from_path(&csv)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), schedules);
    assert_most_outside_faults_landed(&stdout);
    (stdout, rows)
}

/// Checks that most outside faults a series planned were thrown while
/// its jobs ran (they are timed in shares of the job, not after it).
fn assert_most_outside_faults_landed(stdout: &str) {
    let figure = |key: &str| -> u64 {
        let at = stdout
            .find(key)
            .unwrap_or_else(|| panic!("no {key:?}: {stdout}"));
        stdout[at + key.len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{key:?} without a number: {stdout}"))
    };
    let planned = figure("outside faults planned ");
    let thrown = figure(&format!("planned {planned}, thrown "));
    assert!(planned > 0 && thrown * 2 >= planned, "{stdout}");
}

#[test]
fn thirty_chaos_schedules_are_exact_on_the_snapshot_topology() {
    // The server restarts from its snapshot after the harness's own kills
    // and after kill -9 and SIGSTOP from this process, with worker crashes,
    // kills and pauses around them.
    let dir = tempfile::tempdir().unwrap();
    let args = ["--topology", "snapshot", "--seed", "13", "--scale", "0.5"];
    let (stdout, _) = chaos_series(&args, 30, dir.path());
    assert!(
        !stdout.contains("thrown: 0 kill -9 of a redis-server"),
        "{stdout}"
    );
}

#[test]
fn thirty_chaos_schedules_are_exact_with_the_lease_backend() {
    thirty_lease_schedules("single", "11");
}

#[test]
fn thirty_chaos_schedules_are_exact_with_the_lease_backend_on_replicated() {
    // Worker crashes, outside kills and pauses, stragglers, and kills of
    // the primary (a Sentinel failover), a replica or both replicas, at
    // small scale: most of the time goes to starting the nodes and failovers.
    let rows = thirty_lease_schedules("replicated", "12");
    // The series does kill nodes of the replicated topology: failovers
    // of the primary and restarts of replicas happened.
    for what in ["failovers=", "replica_restarts="] {
        assert!(
            rows.iter().any(|row| row
                .iter()
                .any(|cell| cell.contains(what) && !cell.contains(&format!("{what}0 ")))),
            "no {what}: {rows:?}"
        );
    }
}
