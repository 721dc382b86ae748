//! Emulated hosts end to end, as root (as in CI): `harness count --hosts 2
//! --rtt-ms 5 --partition host-1:at:100:for:2000` runs Redis in its own
//! network namespace and the workers in two host namespaces, shaped (netem
//! where the kernel has it, else the userspace delay proxy); the RTT a
//! Redis PING sees from inside the hosts is the configured one; the counts
//! are byte-identical to the reference with the cut host's units stolen;
//! afterwards no namespace, link or qdisc of the run remains.

mod util;

use std::path::Path;

use util::{assert_no_host_left, files_under, harness, reference_tsv, run, summary, text};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The run's object prefix, from its "prefix hx......" note on stderr.
fn prefix_of(stderr: &str) -> String {
    stderr
        .split_whitespace()
        .skip_while(|w| *w != "prefix")
        .nth(1)
        .unwrap_or_else(|| panic!("no prefix note on stderr: {stderr}"))
        .to_owned()
}

/// One 2-host run; returns (units stolen, measured RTT ms, shaper).
fn two_host_run(input: &Path, expected: &[u8]) -> (u64, f64, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("counts.tsv");
    let out = harness()
        .args([
            "count",
            "--verbose",
            input.to_str().unwrap(),
            "--mode",
            "redis",
        ])
        .args(["--workers", "6", "--hosts", "2", "--rtt-ms", "5"])
        .args(["--partition", "host-1:at:100:for:2000"])
        // The cut host's workers (0, 2, 4) at 10% of a CPU: they spend
        // most of their time counting a unit they hold, so the cut finds
        // units pending there (their commits already sent cannot be).
        .args(["--slow", "0:0.1", "--slow", "2:0.1", "--slow", "4:0.1"])
        .args(["--atomic", "--autoclaim-ms", "500", "--unit-bytes", "2MB"])
        .args(["--top", "0", "--deadline-s", "60"])
        .args(["-o", output.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "the 2-host run failed: {stderr}");
    let prefix = prefix_of(&stderr);
    assert_no_host_left(&prefix);
    assert!(
        std::fs::read(&output).unwrap() == expected,
        "counts across a partition differ from the reference"
    );
    let fields = summary(&out.stdout);
    let stolen: u64 = text(&fields, "units_stolen").parse().unwrap();
    let rtts: Vec<f64> = text(&fields, "host_rtt_ms")
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(text(&fields, "worker_hosts"), "1,2,1,2,1,2");
    let slowest = rtts.iter().copied().fold(f64::NAN, f64::max);
    (stolen, slowest, text(&fields, "shaper").to_owned())
}

#[test]
fn a_two_host_job_at_5ms_with_a_partition_is_exact_steals_and_leaves_nothing() {
    if !is_root() {
        eprintln!("skipped: emulated hosts need root (CI runs as root)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let made = run(&[
        "gen",
        "--preset",
        "uniform",
        "--files",
        "12",
        "--size",
        "4MB",
        "--vocabulary",
        "500",
        "--out",
        input.to_str().unwrap(),
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let expected = reference_tsv(&files_under(&input));
    // The cut host holds a unit at the cut in most runs, not all (its
    // workers may all have sent their commits): a run without a steal is
    // still checked, and another is made.
    let mut stolen = 0;
    for attempt in 1..=4 {
        let (units, rtt, shaper) = two_host_run(&input, &expected);
        eprintln!("attempt {attempt}: {units} units stolen, PING {rtt:.3} ms through {shaper}");
        assert!(
            (4.0..50.0).contains(&rtt),
            "PING from inside a host took {rtt} ms through {shaper}, not ~5 ms"
        );
        stolen = units;
        if stolen > 0 {
            break;
        }
    }
    assert!(stolen > 0, "no unit of the cut host was stolen in 4 runs");
}

#[test]
fn emulated_host_settings_are_checked_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a b c").unwrap();
    let input = dir.path().to_str().unwrap();
    for (args, expected) in [
        (
            &["--mode", "serial", "--hosts", "2"][..],
            "only apply to --mode redis",
        ),
        (&["--mode", "redis", "--rtt-ms", "5"][..], "set hosts = N"),
        (
            &[
                "--mode",
                "redis",
                "--hosts",
                "2",
                "--partition",
                "host-3:at:0:for:10",
            ][..],
            "only 2 hosts",
        ),
        (
            &[
                "--mode",
                "redis",
                "--hosts",
                "2",
                "--partition",
                "host-1:at:x",
            ][..],
            "host-N:at:MS:for:MS",
        ),
        (
            &["--mode", "redis", "--hosts", "1", "--shaper", "wire"][..],
            "unknown shaper",
        ),
    ] {
        let mut all = vec!["count", "--verbose", input];
        all.extend(args);
        let out = run(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
