//! `harness run` and `harness plot` end to end: rows are appended whole
//! and all correct, reruns resume instead of repeating, a corrupted count is
//! caught, schema problems are clear errors, and plots are valid PNGs.

mod util;

use std::path::Path;

use util::{harness, is_png, run, run_ok};

const TINY: &str = r#"
description = "tiny test experiment"
repetitions = 2

[fixed]
input = { preset = "uniform", files = 3, size = "20KB" }

[matrix]
mode = ["serial", "threads", "processes"]
workers = [1, 2]

[[plot]]
kind = "efficiency"
x = "workers"
series = ["mode"]

[[plot]]
kind = "time"
x = "workers"
series = ["mode"]
"#;

struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new(experiment: &str) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tiny.toml"), experiment).unwrap();
        Lab { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    fn run_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "run".to_string(),
            self.path("tiny.toml"),
            "--out".into(),
            self.path("results"),
            "--data".into(),
            self.path("data"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    fn rows(&self) -> Vec<csv::StringRecord> {
        let mut reader = csv::Reader::from_path(self.dir.path().join("results/tiny.csv")).unwrap();
        reader
            .records()
            .map(|r| r.expect("every row parses whole"))
            .collect()
    }
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn column(header: &csv::StringRecord, name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn runs_are_recorded_correct_resumed_and_plotted() {
    let lab = Lab::new(TINY);
    let first = run_ok(&as_strs(&lab.run_args(&[])));
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("10 runs done"),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let rows = lab.rows();
    assert_eq!(
        rows.len(),
        10,
        "serial once (workers ignored) + 2 threads + 2 processes, 2 reps each"
    );
    let header = csv::Reader::from_path(lab.dir.path().join("results/tiny.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    let correct = column(&header, "correct");
    assert!(rows.iter().all(|r| &r[correct] == "true"));
    assert!(lab.dir.path().join("results/tiny.env.json").exists());

    let again = run_ok(&as_strs(&lab.run_args(&[])));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 runs done, 10 already"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(lab.rows().len(), 10, "a rerun adds no rows");

    let forced = run_ok(&as_strs(&lab.run_args(&["--force", "--reps", "1"])));
    assert!(String::from_utf8_lossy(&forced.stdout).contains("5 runs done"));
    assert_eq!(
        lab.rows().len(),
        10,
        "--force replaces rows instead of adding"
    );

    let plots = lab.path("plots");
    let output = run_ok(&["plot", &lab.path("results/tiny.csv"), "--out", &plots]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("tiny-efficiency-workers.png"));
    assert!(is_png(
        &Path::new(&plots).join("tiny-efficiency-workers.png")
    ));
    assert!(is_png(&Path::new(&plots).join("tiny-time-workers.png")));
}

#[test]
fn a_corrupted_count_is_caught_and_fails_the_run() {
    let lab = Lab::new(
        &TINY
            .replace("workers = [1, 2]", "workers = [2]")
            .replace("repetitions = 2", "repetitions = 1"),
    );
    let output = run(&as_strs(&lab.run_args(&["--inject-miscount"])));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WRONG COUNT") && stderr.contains("differ from the serial oracle"),
        "{stderr}"
    );
    let rows = lab.rows();
    let header = csv::Reader::from_path(lab.dir.path().join("results/tiny.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    assert!(
        rows.iter()
            .all(|r| &r[column(&header, "correct")] == "false"
                && &r[column(&header, "diff_words")] == "1")
    );
}

#[test]
fn killing_the_runner_at_any_moment_leaves_a_valid_csv_and_resume_completes_it() {
    let lab = Lab::new(&TINY.replace("repetitions = 2", "repetitions = 6"));
    let args = lab.run_args(&[]);
    for delay_ms in [150u64, 300, 450, 600] {
        let mut child = harness()
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        if lab.dir.path().join("results/tiny.csv").exists() {
            lab.rows();
        }
    }
    run_ok(&as_strs(&args));
    let rows = lab.rows();
    assert_eq!(rows.len(), 30);
    let mut ids: Vec<String> = rows.iter().map(|r| r[1].to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "no run recorded twice");
}

#[test]
fn schema_problems_are_clear_errors_and_leave_results_untouched() {
    let lab = Lab::new(
        "description = \"d\"\n[fixed]\nmode = \"serial\"\nwrkers = 3\ninput = { path = \".\" }\n",
    );
    let output = run(&as_strs(&lab.run_args(&[])));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("tiny.toml") && stderr.contains("wrkers") && stderr.contains("line 4"),
        "{stderr}"
    );

    let missing = run(&["run", &lab.path("nope.toml")]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml"));

    let old = Lab::new(TINY);
    std::fs::create_dir_all(old.dir.path().join("results")).unwrap();
    let old_csv = old.dir.path().join("results/tiny.csv");
    std::fs::write(&old_csv, "experiment,run,seconds\nx,1,2.0\n").unwrap();
    let output = run(&as_strs(&old.run_args(&[])));
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("other columns"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&old_csv).unwrap(),
        "experiment,run,seconds\nx,1,2.0\n"
    );
}

#[test]
fn plotting_a_missing_column_or_an_empty_csv_is_a_clear_error() {
    let lab = Lab::new(
        &TINY
            .replace(
                "x = \"workers\"\nseries = [\"mode\"]\n\n[[plot]]",
                "x = \"wrokers\"\n\n[[plot]]",
            )
            .replace("repetitions = 2", "repetitions = 1"),
    );
    // The column is checked when the experiment is validated, before any run.
    let output = run(&as_strs(&lab.run_args(&[])));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("wrokers") && stderr.contains("columns are"),
        "{stderr}"
    );
    assert!(!std::path::Path::new(&lab.path("results/tiny.csv")).exists());
    let missing = run(&["plot", &lab.path("results/none.csv")]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("none.csv") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

/// An experiment whose books are missing runs nothing and says so with an
/// exit code of its own (4) and the command that fetches them: never a
/// silent success.
#[test]
fn an_experiment_without_its_books_exits_non_zero_naming_the_download() {
    let lab = Lab::new(TINY);
    let no_books = lab.dir.path().join("no-books");
    std::fs::create_dir(&no_books).unwrap();
    let experiment = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/workers.toml");
    let output = harness()
        .arg("run")
        .arg(&experiment)
        .args(["--out", &lab.path("results"), "--data", &lab.path("data")])
        .env("HARNESS_BOOKS_DIR", &no_books)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("harness gen --preset books --download")
            && stderr.contains("HARNESS_BOOKS_DIR")
            && stderr.contains("no-books"),
        "{stderr}"
    );
    assert!(!lab.dir.path().join("results").exists(), "nothing ran");
}
