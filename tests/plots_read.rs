//! Every line and bar plot the demo draws reads at a glance: for each
//! experiment of `experiments/` (the demo's own and every lab experiment),
//! rows planned from its matrix (three repetitions, made-up times) go
//! through the same chart building and legend layout as `harness plot`, and
//! the layout must show every legend label whole inside the image with no
//! two series drawn alike. The PNGs are drawn too (into
//! `$HARNESS_PLOTS_READ_OUT` when set, to look at them).
//!
//! Timelines are not covered: their legend entries are fixed words.

use std::path::{Path, PathBuf};

use harness::experiment::{load_experiment, planned_row};
use harness::plot::{
    bar_chart_layout, build_bar_chart, build_chart, draw_bar_chart, draw_line_chart,
    line_chart_layout,
};
use harness::results::{PlotKind, RunRow};

fn experiments() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("experiments folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Rows as the runner would write them, with made-up but varied times.
fn planned_rows(path: &Path) -> (harness::experiment::Experiment, Vec<RunRow>) {
    let experiment =
        load_experiment(path, 1.0).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = Vec::new();
    for (i, params) in experiment.runs.iter().enumerate() {
        for rep in 1..=3 {
            let mut row = planned_row(&experiment, params, rep);
            let base = 1.0 + ((i * 7919) % 13) as f64 / 4.0;
            row.wall_s = base / f64::from(row.workers.max(1)) * (1.0 + 0.05 * f64::from(rep));
            row.count_s = row.wall_s * 0.8;
            row.merge_s = row.wall_s * 0.1;
            row.max_file_bytes = 1_000_000 * (1 + i as u64 % 4);
            row.bytes = 4_000_000;
            row.diff_words = (i as u64 * 31) % 7;
            row.host_rtt_ms = row.rtt_ms + 0.05;
            row.server_updates_per_s = 1e5 / row.wall_s;
            // A planned row has not run: make it a finished, exact one.
            row.finished = true;
            row.correct = row.diff_words == 0;
            rows.push(row);
        }
    }
    (experiment, rows)
}

#[test]
fn every_demo_plot_shows_whole_labels_and_distinct_series() {
    let out = std::env::var_os("HARNESS_PLOTS_READ_OUT").map(PathBuf::from);
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = out.unwrap_or_else(|| tmp.path().to_path_buf());
    // The book experiments load without the book corpus (a user's clone
    // has no ../shared): three tiny "books" stand in, since only the
    // experiments' matrices matter here.
    let books = tmp.path().join("books");
    std::fs::create_dir_all(&books).expect("books folder");
    for i in 0..3 {
        std::fs::write(books.join(format!("book-{i}.txt")), "the quick brown fox\n").expect("book");
    }
    // SAFETY: this file's only test sets the variable before it reads any.
    unsafe { std::env::set_var("HARNESS_BOOKS_DIR", &books) };
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut series = 0;
    let mut busiest = (0, String::new());
    for path in experiments() {
        let (experiment, rows) = planned_rows(&path);
        for spec in &experiment.plots {
            let name = &experiment.name;
            let file = out.join(format!(
                "{}.png",
                spec.file
                    .clone()
                    .unwrap_or_else(|| format!("{name}-{}-{}", spec.kind, spec.x))
            ));
            let (layout, drawn) = match spec.kind {
                PlotKind::Timeline => continue,
                PlotKind::Bars => {
                    let chart = build_bar_chart(name, &rows, spec, None)
                        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
                    (bar_chart_layout(&chart), draw_bar_chart(&chart, &file))
                }
                _ => {
                    let chart = build_chart(name, &rows, spec, None)
                        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
                    (line_chart_layout(&chart), draw_line_chart(&chart, &file))
                }
            };
            let layout = layout.unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Err(e) = drawn {
                problems.push(format!("{}: cannot draw: {e}", file.display()));
            }
            series += layout.items.len();
            if layout.items.len() > busiest.0 {
                busiest = (layout.items.len(), file.display().to_string());
            }
            checked += 1;
            for p in layout.problems() {
                problems.push(format!("{}: {p}", file.display()));
            }
        }
    }
    eprintln!(
        "{checked} plots, {series} legend entries; busiest: {} entries in {}",
        busiest.0, busiest.1
    );
    assert!(checked >= 30, "only {checked} plots checked");
    assert!(
        series > checked,
        "{series} legend entries in {checked} plots"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
