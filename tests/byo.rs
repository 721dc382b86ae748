//! Bring your own worker (docs/PROTOCOL.md): the Python example workers in
//! examples/python-worker/ run under `harness count --worker-cmd` and
//! `harness chaos --worker-cmd` against real Redis. They need Python 3 with
//! redis-py (`scripts/ensure-deps.sh` installs Debian's python3-redis); the
//! tests skip with a printed reason without it.

mod util;

use std::path::Path;
use std::process::Command;

use util::{count_redis, reference_tsv, run, tricky_corpus};

/// A Python interpreter that can `import redis`, or `None` (printed).
fn python() -> Option<&'static str> {
    let found = ["python3", "/usr/bin/python3"].into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import redis"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        eprintln!(
            "SKIPPED: no python3 with redis-py (run scripts/ensure-deps.sh or apt-get install python3-redis)"
        );
    }
    found
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/python-worker")
        .join(name)
        .display()
        .to_string()
}

/// Runs a chaos series of the worker; returns the CSV rows' outcomes and details.
fn chaos(worker_cmd: &str, functions: Option<&str>, schedules: u32) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("chaos.csv");
    let data = dir.path().join("data");
    let schedules = schedules.to_string();
    let mut args = vec![
        "chaos",
        "--schedules",
        &schedules,
        "--scale",
        "0.1",
        "--deadline-s",
        "15",
        "--csv",
        csv.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--worker-cmd",
        worker_cmd,
    ];
    if let Some(functions) = functions {
        args.extend(["--worker-functions", functions]);
    }
    let output = run(&args);
    let mut reader = csv::Reader::from_path(&csv).unwrap_or_else(|e| {
        panic!(
            "no chaos CSV ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (outcome, detail) = (column("outcome"), column("detail"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[outcome].to_owned(), r[detail].to_owned())
        })
        .collect()
}

#[test]
fn the_atomic_python_worker_counts_exactly_under_count() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let files = tricky_corpus(dir.path());
    let cmd = format!("{python} {}", example("atomic.py"));
    let functions = example("lib.lua");
    let (got, _) = count_redis(
        dir.path(),
        &[
            "--workers",
            "2",
            "--unit-bytes",
            "4096",
            "--autoclaim-ms",
            "200",
            "--crash",
            "0:mid-commit",
            "--worker-cmd",
            &cmd,
            "--worker-functions",
            &functions,
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&reference_tsv(&files))
    );
}

#[test]
fn the_atomic_python_worker_is_exact_across_seeded_chaos_schedules() {
    let Some(python) = python() else { return };
    let cmd = format!("{python} {}", example("atomic.py"));
    // 12 here (about 20 s); the report has the 30- and 100-schedule series.
    let rows = chaos(&cmd, Some(&example("lib.lua")), 12);
    assert_eq!(rows.len(), 12);
    for (outcome, detail) in &rows {
        assert_eq!(outcome, "exact", "{detail}");
    }
}

#[test]
fn the_naive_python_worker_is_caught_by_chaos() {
    let Some(python) = python() else { return };
    let cmd = format!("{python} {}", example("naive.py"));
    let rows = chaos(&cmd, None, 6);
    assert_eq!(rows.len(), 6);
    assert!(
        rows.iter().any(|(outcome, _)| outcome != "exact"),
        "every schedule was exact: {rows:?}"
    );
    for (_, detail) in &rows {
        assert!(!detail.contains("HUNG"), "{detail}");
    }
}

#[test]
fn every_environment_variable_is_set_as_documented() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("a.txt"), "one two two\nthree three three\n").unwrap();
    let dump = dir.path().join("env");
    // Worker 0 dumps its environment and leaves; worker 1 does the job.
    let cmd = format!(
        "if [ \"$WC_WORKER_INDEX\" = 0 ]; then env > '{}'; pwd > '{}.pwd'; else exec {python} {}; fi",
        dump.display(),
        dump.display(),
        example("atomic.py")
    );
    let functions = example("lib.lua");
    let (got, _) = count_redis(
        &input,
        &[
            "--workers",
            "2",
            "--autoclaim-ms",
            "300",
            "--crash",
            "0:after-read:2",
            "--worker-cmd",
            &cmd,
            "--worker-functions",
            &functions,
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        "three\t3\ntwo\t2\none\t1\n",
        "worker 1 finished the job"
    );
    let env = std::fs::read_to_string(&dump).unwrap();
    let get = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} is not set: {env}"))
            .to_owned()
    };
    let url = get("REDIS_URL");
    let password = get("REDIS_PASSWORD");
    assert!(
        !password.is_empty() && url.starts_with(&format!("redis://:{password}@127.0.0.1:")),
        "{url}"
    );
    assert!(
        url.rsplit(':').next().unwrap().parse::<u16>().is_ok(),
        "{url}"
    );
    assert_eq!(get("REDIS_SENTINELS"), "");
    assert_eq!(get("REDIS_MASTER_NAME"), "");
    assert_eq!(get("WC_PROTOCOL"), "1");
    let stream = get("WC_STREAM");
    let job = stream
        .strip_prefix("wc:{")
        .and_then(|s| s.strip_suffix("}:stream"))
        .unwrap_or_else(|| panic!("{stream}"));
    assert_eq!(get("WC_GROUP"), format!("wc:{{{job}}}:workers"));
    assert_eq!(get("WC_COUNTS"), format!("wc:{{{job}}}:counts"));
    assert_eq!(get("WC_CONSUMER"), "worker-0");
    assert_eq!(get("WC_WORKER_INDEX"), "0");
    assert_eq!(get("WC_WORKERS"), "2");
    assert_eq!(get("WC_AUTOCLAIM_MS"), "300");
    assert_eq!(get("WC_CRASH"), "after-read");
    assert_eq!(get("WC_CRASH_NTH"), "2");
    // The working folder is the harness's own.
    let pwd = std::fs::read_to_string(dump.with_extension("pwd")).unwrap();
    assert_eq!(
        Path::new(pwd.trim()).canonicalize().unwrap(),
        std::env::current_dir().unwrap().canonicalize().unwrap()
    );
}

#[test]
fn parameters_that_cannot_reach_an_external_worker_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a b\n").unwrap();
    let output = run(&[
        "count",
        "--verbose",
        dir.path().to_str().unwrap(),
        "--mode",
        "redis",
        "--worker-cmd",
        "true",
        "--merge",
        "hash",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("merge") && stderr.contains("external worker"),
        "{stderr}"
    );
}
