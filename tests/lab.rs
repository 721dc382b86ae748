//! `harness lab` end to end on a tiny experiments folder made here: every
//! runnable experiment runs in lab order, the books experiment without its
//! book folder is skipped with the reason, CSVs, plots and both reports are
//! written, the summary line counts the runs; a rerun resumes, `--budget`
//! picks a scale from earlier rows or from a calibration, `--only` filters.

mod util;

use std::path::PathBuf;

use util::{is_png, run_ok};

/// Lab 1: local modes on 3 small files, with a serial baseline.
const LOCAL: &str = r#"
description = "tiny local modes"
lab = "Lab 1 Q1: efficiency with more workers"
repetitions = 2

[fixed]
input = { preset = "uniform", files = 3, size = "20KB" }

[matrix]
mode = ["serial", "processes"]
workers = [1, 2]

[[plot]]
kind = "efficiency"
x = "workers"
series = ["mode"]
"#;

/// Lab 3: two redis workers, atomic commits, steal after 50 ms.
const REDIS: &str = r#"
description = "tiny redis runs"
lab = "Lab 3: are counts exact with stealing?"
repetitions = 1

[fixed]
mode = "redis"
workers = 2
atomic = true
input = { preset = "uniform", files = 4, size = "10KB" }

[matrix]
autoclaim_ms = [50, 500]

[[plot]]
kind = "time"
x = "autoclaim_ms"
"#;

struct Folder {
    dir: tempfile::TempDir,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        let experiments = dir.path().join("experiments");
        std::fs::create_dir(&experiments).unwrap();
        std::fs::write(experiments.join("local.toml"), LOCAL).unwrap();
        std::fs::write(experiments.join("redis.toml"), REDIS).unwrap();
        let books = format!(
            "description = \"books without their folder\"\nlab = \"Lab 2: q\"\n[fixed]\nmode = \"serial\"\n\
             input = {{ preset = \"books\", total = \"1MB\", corpus = \"{}\" }}\n",
            dir.path().join("no-books-here").display()
        );
        std::fs::write(experiments.join("books.toml"), books).unwrap();
        Folder { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `harness lab` on this folder; returns stdout.
    fn lab(&self, extra: &[&str]) -> String {
        let (experiments, out, data) = (
            self.path("experiments"),
            self.path("out"),
            self.path("data"),
        );
        let mut args = vec![
            "lab",
            "--experiments",
            experiments.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ];
        args.extend(extra);
        let output = run_ok(&args);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn rows(&self, name: &str) -> usize {
        let csv = self.path("out/results").join(format!("{name}.csv"));
        csv::Reader::from_path(csv).unwrap().records().count()
    }
}

#[test]
fn the_lab_runs_every_experiment_then_plots_and_reports_and_resumes() {
    let folder = Folder::new();
    let stdout = folder.lab(&["--scale", "1"]);
    assert!(
        stdout.contains("skipped books:") && stdout.contains("no-books-here"),
        "the books experiment is skipped with the missing folder named:\n{stdout}"
    );
    // local: serial once + processes x 2 workers, 2 reps; redis: 2 sets, 1 rep.
    assert_eq!(folder.rows("local"), 6);
    assert_eq!(folder.rows("redis"), 2);
    assert!(!folder.path("out/results/books.csv").exists());
    assert!(is_png(
        &folder.path("out/plots/local-efficiency-workers.png")
    ));
    assert!(is_png(
        &folder.path("out/plots/redis-time-autoclaim_ms.png")
    ));
    let html = std::fs::read_to_string(folder.path("out/report.html")).unwrap();
    assert!(
        html.contains("<img") && html.contains("local"),
        "plots embedded"
    );
    assert!(folder.path("out/report.md").exists());
    assert!(stdout.contains("report.html") && stdout.contains("report.md"));
    assert!(
        stdout.contains(
            "lab: 2 experiments run, 1 skipped; 8 runs: 8 exact, 0 expected-inexact, 0 unexpected wrong; scale 1"
        ),
        "{stdout}"
    );

    // A rerun with a budget estimates from the rows already there, keeps
    // each experiment at the scale of its rows and resumes: nothing runs again.
    let again = folder.lab(&["--budget", "10m"]);
    assert!(again.contains("plan: a scale per experiment"), "{again}");
    assert!(
        again.matches("scale 1 ").count() >= 2 && again.contains("resuming its rows at this scale"),
        "{again}"
    );
    assert!(!again.contains("calibrating"), "{again}");
    assert_eq!((folder.rows("local"), folder.rows("redis")), (6, 2));
    assert!(again.contains("8 runs: 8 exact"), "{again}");
}

#[test]
fn a_budget_without_earlier_rows_calibrates_and_only_keeps_the_chosen_labs() {
    let folder = Folder::new();
    let stdout = folder.lab(&["--budget", "5m", "--only", "lab1"]);
    assert!(stdout.contains("calibrating 1 experiment"), "{stdout}");
    assert!(
        stdout.contains("estimated time per experiment and scale"),
        "{stdout}"
    );
    // Tiny timing runs fit 5 minutes at the largest scale, still short of
    // the 0.5 s rule: the plan says so.
    assert!(
        stdout.contains("plan: a scale per experiment")
            && stdout.contains("scale 1 ")
            && stdout.contains("even at the largest scale"),
        "{stdout}"
    );
    assert_eq!(folder.rows("local"), 6);
    assert!(
        !folder.path("out/results/redis.csv").exists(),
        "lab3 not chosen"
    );
    assert!(
        stdout.contains("lab: 1 experiments run, 0 skipped; 6 runs: 6 exact"),
        "{stdout}"
    );
    assert!(folder.path("data/calibration/local.csv").exists());
}
