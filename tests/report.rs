//! `harness report` end to end: a tiny experiment run with the real binary
//! (serial and threads, no Redis) becomes a Markdown report with its
//! section, an efficiency figure and links to its plots; a missing results
//! folder is a one-line error naming it.

mod util;

use std::path::Path;

use util::{run, run_ok};

const TINY: &str = r#"
description = "tiny report experiment"
repetitions = 2

[fixed]
input = { preset = "uniform", files = 2, size = "20KB" }

[matrix]
mode = ["serial", "threads"]
workers = [1, 2]

[[plot]]
kind = "efficiency"
x = "workers"
series = ["mode"]
"#;

fn path_text(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

#[test]
fn a_report_has_the_experiment_section_efficiency_and_plot_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("tiny.toml"), TINY).unwrap();
    let (results, plots, data) = (root.join("results"), root.join("plots"), root.join("data"));
    run_ok(&[
        "run",
        path_text(&root.join("tiny.toml")),
        "--out",
        path_text(&results),
        "--data",
        path_text(&data),
    ]);
    run_ok(&[
        "plot",
        path_text(&results.join("tiny.csv")),
        "--out",
        path_text(&plots),
    ]);
    std::fs::write(results.join("old.csv"), "experiment,run,seconds\nx,1,2.0\n").unwrap();

    let report = root.join("report.md");
    let output = run_ok(&[
        "report",
        "--results",
        path_text(&results),
        "--plots",
        path_text(&plots),
        "--output",
        path_text(&report),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("report.md") && stdout.contains("1 experiment, 6 runs"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("old.csv"),
        "an unreadable CSV is a warning"
    );

    let text = std::fs::read_to_string(&report).unwrap();
    assert!(text.contains("### tiny\n"), "{text}");
    assert!(text.contains("tiny report experiment"), "{text}");
    assert!(
        text.contains("| mode | workers | n | wall_s median (min..max) | speed-up | E = T_s / (p T_p) | correct |"),
        "{text}"
    );
    let threads_2 = text
        .lines()
        .find(|line| line.starts_with("| threads | 2 | 2 |"))
        .unwrap_or_else(|| panic!("no threads row with 2 workers:\n{text}"));
    let efficiency: f64 = threads_2.split('|').nth(6).unwrap().trim().parse().unwrap();
    assert!(efficiency > 0.0 && efficiency < 5.0, "{threads_2}");
    assert!(threads_2.ends_with("| 2/2 |"), "{threads_2}");
    assert!(
        text.contains("![tiny-efficiency-workers](plots/tiny-efficiency-workers.png)"),
        "{text}"
    );
    assert!(
        text.contains("old.csv"),
        "the skipped CSV is listed: {text}"
    );
    assert!(text.contains("not run yet: `harness run experiments/workers.toml`"));
}

/// The report depends on results only, so it cannot read the experiment
/// schema's list of run parameters itself: this keeps its display order
/// in step with that list.
#[test]
fn the_report_shows_every_run_parameter_and_the_scale() {
    let mut shown: Vec<&str> = harness::report::PARAMETER_COLUMNS.to_vec();
    let mut expected: Vec<&str> = harness::experiment::RUN_PARAMETERS.to_vec();
    expected.push("scale");
    shown.sort_unstable();
    expected.sort_unstable();
    assert_eq!(shown, expected);
}

#[test]
fn a_missing_results_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-results-here");
    let report = dir.path().join("report.md");
    let output = run(&[
        "report",
        "--results",
        path_text(&missing),
        "--output",
        path_text(&report),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no-results-here") && stderr.contains("harness run experiments/"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!report.exists(), "no report without results");
}
