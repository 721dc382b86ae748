//! `harness report` end to end: a tiny experiment run with the real binary
//! (serial and threads, no Redis) becomes a Markdown report with its
//! section, an efficiency figure and links to its plots, and with `--html`
//! a self-contained HTML report that a real headless browser renders with
//! every plot loaded (skipped, with a note, when no chromium is installed);
//! a missing results folder is a one-line error naming it.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Runs experiment file `name`.toml (text `toml`) in `root` and plots it:
/// `root/results/<name>.csv` and `root/plots/*.png`.
fn run_and_plot(root: &Path, name: &str, toml: &str) {
    let file = root.join(format!("{name}.toml"));
    std::fs::write(&file, toml).unwrap();
    let (results, plots, data) = (root.join("results"), root.join("plots"), root.join("data"));
    run_ok(&[
        "run",
        path_text(&file),
        "--out",
        path_text(&results),
        "--data",
        path_text(&data),
    ]);
    run_ok(&[
        "plot",
        path_text(&results.join(format!("{name}.csv"))),
        "--out",
        path_text(&plots),
    ]);
}

#[test]
fn a_report_has_the_experiment_section_efficiency_and_plot_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    run_and_plot(root, "tiny", TINY);
    let (results, plots) = (root.join("results"), root.join("plots"));
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
    assert!(text.contains("not run yet: `harness run experiments/files.toml`"));
    // On books: "not run yet", or without books, the command that fetches them.
    assert!(
        text.contains("then `harness run experiments/workers.toml`")
            || text.contains("not run yet: `harness run experiments/workers.toml`")
    );
}

/// `harness report --html` writes `report.html` beside `report.md`: no
/// external reference, and in a headless chromium every embedded plot
/// decodes and every lab question has its section.
#[test]
fn the_html_report_is_self_contained_and_renders_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Named like the lab's experiment, so it answers Lab 1's questions.
    run_and_plot(root, "workers", TINY);
    run_and_plot(root, "tiny", TINY);
    let report = root.join("report.md");
    let output = run_ok(&[
        "report",
        "--results",
        path_text(&root.join("results")),
        "--plots",
        path_text(&root.join("plots")),
        "--output",
        path_text(&report),
        "--html",
    ]);
    let html_path = root.join("report.html");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("report.html"),
        "{output:?}"
    );
    assert!(report.exists(), "the Markdown report is written too");
    let html = std::fs::read_to_string(&html_path).unwrap();

    for external in [
        "src=\"http",
        "href=\"http",
        "url(",
        "<link",
        "@import",
        "src=\"//",
    ] {
        assert!(
            !html.contains(external),
            "external reference {external:?} in the report"
        );
    }
    let sources: Vec<&str> = html.split("src=\"").skip(1).collect();
    assert_eq!(
        sources.len(),
        3,
        "the plot of workers in its 2 questions, the plot of tiny"
    );
    assert!(
        sources
            .iter()
            .all(|s| s.starts_with("data:image/png;base64,")),
        "every image is embedded"
    );
    assert!(html.contains("E(workers = 2) = "), "a measured statement");
    assert!(html.contains("runs exact"), "which runs were exact");

    let Some(chromium) = chromium() else {
        eprintln!(
            "note: no chromium on PATH: skipping the browser check of {} \
             (install it with scripts/ensure-deps.sh or apt-get install chromium)",
            html_path.display()
        );
        return;
    };
    let dom = render_in_browser(&chromium, &html_path, root);
    let loaded = dom
        .split("data-images-loaded=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the page's load script did not run:\n{dom}"));
    assert_eq!(loaded, "3/3", "images decoded / images");
    let sections = dom.matches("<section class=\"question\"").count();
    assert_eq!(sections, harness::report::LAB_QUESTIONS.len());
    for (i, question) in harness::report::LAB_QUESTIONS.iter().enumerate() {
        assert!(
            dom.contains(&format!("data-question=\"{}\"", i + 1)),
            "no section for {}",
            question.question
        );
    }
}

/// A chromium binary on PATH, if any.
fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(|name| {
            Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()
                .filter(|status| status.success())
                .map(|_| PathBuf::from(name))
        })
}

/// The DOM of `page` after headless `chromium` loaded it and ran its scripts.
fn render_in_browser(chromium: &Path, page: &Path, scratch: &Path) -> String {
    let profile = scratch.join("chromium-profile");
    let dom = scratch.join("dom.html");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&dom).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium did not finish rendering {} in 90 s",
                page.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read_to_string(&dom).unwrap()
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
