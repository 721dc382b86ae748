//! The lab's questions (SPEC section 6) as data: each names the
//! experiments that answer it and the figures to pull from their results.
//! A figure is a small pivot table over parameter sets: one row per
//! `series` value, one column per `x` value, one metric in the cells.

use std::io::{self, Write};

use super::format::{MISSING, labelled_value, quantity, ratio, value_text};
use super::groups::{Correctness, ParamSet};
use super::markdown::{Table, experiment_link};

/// The steal-timeout column (the x of the Lab 3 timeout figures).
const AUTOCLAIM: &str = "autoclaim_ms";

/// What the cells of a figure show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// E = T_s / (p T_p) (serial sets left out).
    Efficiency,
    /// Median of a numeric column over the repetitions.
    Median(&'static str),
    /// Exact runs out of all runs.
    Exact,
}

impl Metric {
    fn title(&self) -> String {
        match self {
            Metric::Efficiency => "efficiency E = T_s / (p T_p), T from medians".into(),
            Metric::Median(column) if column.ends_with("_s") => format!("median {column} (s)"),
            Metric::Median(column) => format!("median {column}"),
            Metric::Exact => "exact runs (counts equal to the serial oracle)".into(),
        }
    }

    fn value(&self, set: &ParamSet) -> Option<f64> {
        match self {
            Metric::Efficiency => set.efficiency,
            Metric::Median(column) => set.median_of(column),
            Metric::Exact => None,
        }
    }

    fn format(&self, value: f64) -> String {
        match self {
            Metric::Median(column) => quantity(column, value),
            Metric::Efficiency | Metric::Exact => ratio(value),
        }
    }
}

/// One figure of a question: `metric` by `series` (rows) and `x` (columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    /// What the cells show.
    pub metric: Metric,
    /// Columns whose values make the rows (none: one row).
    pub series: &'static [&'static str],
    /// Column whose values make the columns (`None`: one column, all runs).
    pub x: Option<&'static str>,
    /// Adds a row `numerator / denominator` of two series rows, by label.
    pub ratio: Option<(&'static str, &'static str)>,
}

const fn figure(
    metric: Metric,
    series: &'static [&'static str],
    x: Option<&'static str>,
) -> Figure {
    Figure {
        metric,
        series,
        x,
        ratio: None,
    }
}

const WALL: Metric = Metric::Median("wall_s");

/// One question of the lab and where its answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabQuestion {
    /// `Lab 1` .. `Lab 4`.
    pub lab: &'static str,
    /// The question, short.
    pub question: &'static str,
    /// Experiments (`experiments/<name>.toml`) answering it, the dedicated one first.
    pub experiments: &'static [&'static str],
    /// Key figures to show from each experiment's results.
    pub figures: &'static [Figure],
}

/// Every question of SPEC section 6, in order.
pub const LAB_QUESTIONS: &[LabQuestion] = &[
    LabQuestion {
        lab: "Lab 1",
        question: "Efficiency with a fixed input and more workers",
        experiments: &["workers", "demo"],
        figures: &[figure(Metric::Efficiency, &["mode"], Some("workers"))],
    },
    LabQuestion {
        lab: "Lab 1",
        question: "Efficiency with fixed workers and more input files",
        experiments: &["files"],
        figures: &[figure(Metric::Efficiency, &["unit_bytes"], Some("files"))],
    },
    LabQuestion {
        lab: "Lab 1",
        question: "Parallel output identical to serial",
        experiments: &["workers", "files", "demo"],
        figures: &[figure(Metric::Exact, &["mode"], None)],
    },
    LabQuestion {
        lab: "Lab 2",
        question: "The Redis version vs Lab 1's modes",
        experiments: &["vs-local"],
        figures: &[
            figure(WALL, &["mode"], Some("input")),
            figure(Metric::Efficiency, &["mode"], Some("input")),
        ],
    },
    LabQuestion {
        lab: "Lab 2",
        question: "ZINCRBY per word occurrence vs per file",
        experiments: &["per-word"],
        figures: &[Figure {
            ratio: Some(("per_word=true", "per_word=false")),
            ..figure(WALL, &["per_word"], Some("input"))
        }],
    },
    LabQuestion {
        lab: "Lab 2",
        question: "File size ladder 100 B .. 1 GB",
        experiments: &["file-size"],
        figures: &[figure(WALL, &["mode"], Some("max_file_bytes"))],
    },
    LabQuestion {
        lab: "Lab 2",
        question: "Skew: many equal files and one 10x file",
        experiments: &["skew"],
        figures: &[
            figure(WALL, &["mode"], Some("unit_bytes")),
            figure(Metric::Efficiency, &["mode"], Some("unit_bytes")),
        ],
    },
    LabQuestion {
        lab: "Lab 2",
        question: "Stragglers: one worker at half (or a quarter) speed",
        experiments: &["stragglers"],
        figures: &[figure(WALL, &[], Some("slowest_cpu"))],
    },
    LabQuestion {
        lab: "Lab 3",
        question: "A crash at each crash point still gives exact counts",
        experiments: &["crash-points"],
        figures: &[figure(Metric::Exact, &["atomic"], Some("crash"))],
    },
    LabQuestion {
        lab: "Lab 3",
        question: "Completion time vs XAUTOCLAIM timeout, with and without failures",
        experiments: &["autoclaim-timeout"],
        figures: &[figure(WALL, &["crash"], Some(AUTOCLAIM))],
    },
    LabQuestion {
        lab: "Lab 3",
        question: "A severely slowed worker gets its unit stolen",
        experiments: &["stealing"],
        figures: &[
            figure(Metric::Median("units_stolen"), &["atomic"], Some(AUTOCLAIM)),
            figure(WALL, &["atomic"], Some(AUTOCLAIM)),
        ],
    },
    LabQuestion {
        lab: "Lab 3",
        question: "The stolen-twice update is idempotent (one commit applies)",
        experiments: &["stealing"],
        figures: &[
            figure(
                Metric::Median("duplicate_commits"),
                &["atomic"],
                Some(AUTOCLAIM),
            ),
            figure(Metric::Exact, &["atomic"], Some(AUTOCLAIM)),
        ],
    },
    LabQuestion {
        lab: "Lab 3",
        question: "What the atomic commit costs without faults",
        experiments: &["atomic-cost"],
        figures: &[Figure {
            ratio: Some(("atomic=true", "atomic=false")),
            ..figure(WALL, &["atomic"], Some("max_file_bytes"))
        }],
    },
    LabQuestion {
        lab: "Lab 4",
        question: "Redis killed and restarted from snapshots during a job (bootstrap, mid-job, every N seconds, before the read)",
        experiments: &["redis-restarts"],
        figures: &[
            figure(Metric::Exact, &["atomic"], Some("redis_kill")),
            figure(WALL, &["atomic"], Some("redis_kill")),
            figure(
                Metric::Median("redis_restarts"),
                &["atomic"],
                Some("redis_kill"),
            ),
        ],
    },
    LabQuestion {
        lab: "Lab 4",
        question: "Killing Redis every N seconds; file sizes under Redis failures",
        experiments: &["redis-kill-period"],
        figures: &[
            figure(WALL, &["max_file_bytes"], Some("redis_kill")),
            figure(Metric::Exact, &["max_file_bytes"], Some("redis_kill")),
        ],
    },
    LabQuestion {
        lab: "Lab 4",
        question: "Overhead of the snapshot frequency without faults",
        experiments: &["snapshot-overhead"],
        figures: &[figure(WALL, &[], Some("snapshot_s"))],
    },
    LabQuestion {
        lab: "Lab 4",
        question: "Replicated vs single Redis; killing 1 and 2 of 3 replicas, or a random replica every N seconds",
        experiments: &[],
        figures: &[],
    },
];

/// What to show for a question's experiment: its parameter sets when it
/// has results, `None` when it has not been run.
pub type SetsOf<'a> = dyn Fn(&str) -> Option<&'a [ParamSet]> + 'a;

/// Writes the "Lab questions" section.
pub fn write_questions<W: Write + ?Sized>(out: &mut W, sets_of: &SetsOf<'_>) -> io::Result<()> {
    writeln!(out, "## Lab questions\n")?;
    let mut lab = "";
    for question in LAB_QUESTIONS {
        if question.lab != lab {
            lab = question.lab;
            writeln!(out, "### {lab}\n")?;
        }
        write_question(out, question, sets_of)?;
    }
    Ok(())
}

fn write_question<W: Write + ?Sized>(
    out: &mut W,
    question: &LabQuestion,
    sets_of: &SetsOf<'_>,
) -> io::Result<()> {
    writeln!(out, "#### {}\n", question.question)?;
    if question.experiments.is_empty() {
        return writeln!(
            out,
            "No experiment file in `experiments/` covers this yet.\n"
        );
    }
    for &name in question.experiments {
        match sets_of(name) {
            None => writeln!(out, "{}\n", not_run_yet(name))?,
            Some(sets) => write_figures(out, name, question.figures, sets)?,
        }
    }
    Ok(())
}

/// The line for an experiment without results.
pub fn not_run_yet(name: &str) -> String {
    format!("`{name}`: not run yet: `harness run experiments/{name}.toml`")
}

fn write_figures<W: Write + ?Sized>(
    out: &mut W,
    name: &str,
    figures: &[Figure],
    sets: &[ParamSet],
) -> io::Result<()> {
    let link = experiment_link(name);
    if figures.is_empty() {
        return writeln!(out, "{link}: see its table below.\n");
    }
    for figure in figures {
        match pivot(figure, sets, name) {
            Some(table) => {
                writeln!(out, "{link}: {}\n", figure.metric.title())?;
                table.write(out)?;
            }
            None => writeln!(
                out,
                "{link}: no {} in these results (see its table below).\n",
                figure.metric.title()
            )?,
        }
    }
    Ok(())
}

/// The figure as a table, or `None` when no cell has a value.
pub fn pivot(figure: &Figure, sets: &[ParamSet], name: &str) -> Option<Table> {
    let sets: Vec<&ParamSet> = sets
        .iter()
        .filter(|set| !(figure.metric == Metric::Efficiency && set.is_serial()))
        .collect();
    let series_label = |set: &ParamSet| match figure.series {
        [] => name.to_string(),
        columns => columns
            .iter()
            .map(|column| labelled_value(column, set.value(column)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let x_label = |set: &ParamSet| match figure.x {
        Some(column) => value_text(column, set.value(column)),
        None => "all runs".to_string(),
    };
    let rows = distinct(sets.iter().map(|set| series_label(set)));
    let xs = x_values(figure.x, &sets);
    let cell_sets = |row: &str, x: &str| -> Vec<&ParamSet> {
        sets.iter()
            .copied()
            .filter(|set| series_label(set) == row && x_label(set) == x)
            .collect()
    };
    let corner = match (figure.series, figure.x) {
        ([], Some(x)) => format!("{x} →"),
        (series, Some(x)) => format!("{} ↓ {x} →", series.join(", ")),
        (series, None) => series.join(", "),
    };
    let mut table = Table::new(std::iter::once(corner).chain(xs.iter().cloned()).collect());
    let mut any_value = false;
    for row in &rows {
        let cells: Vec<String> = xs
            .iter()
            .map(|x| cell_text(figure.metric, &cell_sets(row, x)))
            .collect();
        any_value |= cells.iter().any(|cell| cell != MISSING);
        table.push(std::iter::once(row.clone()).chain(cells).collect());
    }
    if let Some((numerator, denominator)) = figure.ratio {
        let ratios = xs.iter().map(|x| {
            let value = |row| single_value(figure.metric, &cell_sets(row, x));
            match (value(numerator), value(denominator)) {
                (Some(n), Some(d)) if d != 0.0 => ratio(n / d),
                _ => MISSING.to_string(),
            }
        });
        let label = format!("ratio {numerator} / {denominator}");
        table.push(std::iter::once(label).chain(ratios).collect());
    }
    any_value.then_some(table)
}

/// The x values in order: numerically when all are numbers, else as first seen.
fn x_values(x: Option<&str>, sets: &[&ParamSet]) -> Vec<String> {
    let Some(column) = x else {
        return vec!["all runs".to_string()];
    };
    let mut values: Vec<&serde_json::Value> = Vec::new();
    for set in sets {
        let value = set.value(column);
        if !values.contains(&value) {
            values.push(value);
        }
    }
    if values.iter().all(|v| v.is_number()) {
        values.sort_by(|a, b| {
            let key = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
            key(a).total_cmp(&key(b))
        });
    }
    distinct(values.into_iter().map(|value| value_text(column, value)))
}

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// A cell: the tally for [`Metric::Exact`], else each set's value (`/`-separated
/// when several sets share the cell).
fn cell_text(metric: Metric, sets: &[&ParamSet]) -> String {
    if sets.is_empty() {
        return MISSING.to_string();
    }
    if metric == Metric::Exact {
        let tally: Correctness = sets.iter().map(|set| set.correctness).sum();
        return tally.text();
    }
    let values: Vec<String> = sets
        .iter()
        .map(|set| {
            metric
                .value(set)
                .map_or(MISSING.to_string(), |v| metric.format(v))
        })
        .collect();
    if values.iter().all(|v| v == MISSING) {
        MISSING.to_string()
    } else {
        values.join(" / ")
    }
}

fn single_value(metric: Metric, sets: &[&ParamSet]) -> Option<f64> {
    match sets {
        [set] => metric.value(set),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::groups::group_param_sets;
    use crate::results::RunRow;

    fn render(sets_of: &SetsOf<'_>) -> String {
        let mut out = Vec::new();
        write_questions(&mut out, sets_of).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_question_without_results_says_what_to_run() {
        let text = render(&|_| None);
        for name in ["workers", "files", "per-word", "crash-points", "stealing"] {
            assert!(
                text.contains(&format!(
                    "not run yet: `harness run experiments/{name}.toml`"
                )),
                "{name}: {text}"
            );
        }
        assert!(
            text.contains("### Lab 4")
                && text.contains("No experiment file in `experiments/` covers this yet")
        );
    }

    #[test]
    fn questions_and_experiment_files_stay_in_step() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        let files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                name.strip_suffix(".toml").map(str::to_string)
            })
            .collect();
        let answered: Vec<&str> = LAB_QUESTIONS
            .iter()
            .flat_map(|q| q.experiments.iter().copied())
            .collect();
        for file in &files {
            assert!(
                answered.contains(&file.as_str()),
                "experiments/{file}.toml answers no question in LAB_QUESTIONS"
            );
        }
        for name in answered {
            assert!(
                files.iter().any(|f| f == name),
                "LAB_QUESTIONS names experiments/{name}.toml, which does not exist"
            );
        }
    }

    #[test]
    fn efficiency_pivots_by_mode_and_workers() {
        let sets = group_param_sets(&[
            RunRow::sample("serial", 1, 1, 2.0),
            RunRow::sample("threads", 1, 1, 2.0),
            RunRow::sample("threads", 2, 1, 1.25),
            RunRow::sample("processes", 2, 1, 1.0),
        ]);
        let sets_of = |name: &str| (name == "workers").then_some(sets.as_slice());
        let text = render(&sets_of);
        assert!(
            text.contains("| mode ↓ workers → | 1 | 2 |\n|---|---|---|\n| threads | 1.00 | 0.80 |\n| processes | — | 1.00 |"),
            "{text}"
        );
        assert!(
            text.contains("| mode | all runs |\n|---|---|\n| serial | 1/1 |"),
            "{text}"
        );
        assert!(text.contains("not run yet: `harness run experiments/files.toml`"));
    }

    #[test]
    fn a_ratio_row_divides_two_series() {
        let mut per_word = RunRow::sample("redis", 2, 1, 3.0);
        per_word.per_word = true;
        per_word.params_key = "pw".into();
        let sets = group_param_sets(&[per_word, RunRow::sample("redis", 2, 1, 1.5)]);
        let figure = Figure {
            ratio: Some(("per_word=true", "per_word=false")),
            ..figure(WALL, &["per_word"], Some("input"))
        };
        let mut out = Vec::new();
        pivot(&figure, &sets, "per-word")
            .unwrap()
            .write(&mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("| per_word=true | 3.00 |"), "{text}");
        assert!(
            text.contains("| ratio per_word=true / per_word=false | 2.00 |"),
            "{text}"
        );
    }

    #[test]
    fn no_serial_runs_means_no_efficiency_figure() {
        let sets = group_param_sets(&[RunRow::sample("threads", 2, 1, 1.0)]);
        let figure = figure(Metric::Efficiency, &["mode"], Some("workers"));
        assert!(pivot(&figure, &sets, "x").is_none());
    }
}
