//! The lab's questions (SPEC section 6) as data: each names the
//! experiments that answer it and the figures to pull from their results.
//! A figure is a small pivot table over parameter sets: one row per
//! `series` value, one column per `x` value, one metric in the cells.

use std::io::{self, Write};

use super::format::{MISSING, labelled_value, quantity, ratio, value_text};
use super::groups::{Correctness, ParamSet, Unfired};
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
    /// The heading of a figure of this metric.
    pub(crate) fn title(&self) -> String {
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

    /// The short name in a measured statement: `E`, `median wall_s`.
    fn symbol(&self) -> String {
        match self {
            Metric::Efficiency => "E".into(),
            Metric::Median(column) => format!("median {column}"),
            Metric::Exact => "exact runs".into(),
        }
    }

    /// The unit after a value in a measured statement.
    pub(crate) fn unit(&self) -> &'static str {
        match self {
            Metric::Median(column) if column.ends_with("_s") => " s",
            _ => "",
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

impl Figure {
    /// The sets the figure shows: not the serial ones in an efficiency
    /// figure, nor those whose planned faults never fired.
    fn drawn<'s>(&self, sets: &'s [ParamSet]) -> Vec<&'s ParamSet> {
        sets.iter()
            .filter(|set| !(self.metric == Metric::Efficiency && set.is_serial()))
            .filter(|set| !set.faults_unfired)
            .collect()
    }

    /// The row `set` falls in (`atomic=true`; experiment `name` without series).
    fn series_label(&self, set: &ParamSet, name: &str) -> String {
        match self.series {
            [] => name.to_string(),
            columns => columns
                .iter()
                .map(|column| labelled_value(column, set.value(column)))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The column `set` falls in (`100MB`; `all runs` without x).
    fn x_label(&self, set: &ParamSet) -> String {
        match self.x {
            Some(column) => value_text(column, set.value(column)),
            None => "all runs".to_string(),
        }
    }
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

impl LabQuestion {
    /// What would answer the question, when no experiment file does yet.
    pub(crate) fn to_answer(&self) -> Option<&'static str> {
        TO_ANSWER
            .iter()
            .find(|(question, _)| *question == self.question)
            .map(|(_, what)| *what)
    }
}

/// For each question no experiment file answers yet: what would.
const TO_ANSWER: &[(&str, &str)] = &[];

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
        lab: "Beyond the lab",
        question: "How close can a Redis-coordinated count get to local counting? Merge targets, units per commit, plain vs atomic",
        experiments: &["merge-paths"],
        figures: &[
            figure(WALL, &["merge", "atomic", "input"], Some("commit_units")),
            figure(
                Metric::Median("server_us_per_merge_call"),
                &["merge", "input"],
                Some("commit_units"),
            ),
            figure(
                Metric::Median("server_cpu_s"),
                &["merge", "input"],
                Some("commit_units"),
            ),
        ],
    },
    LabQuestion {
        lab: "Beyond the lab",
        question: "What network RTT does to each commit path (per word, per unit, atomic) and pipeline size, 2 emulated hosts",
        experiments: &["network-rtt"],
        figures: &[
            figure(
                Metric::Median("count_s"),
                &["per_word", "atomic", "pipeline"],
                Some("rtt_ms"),
            ),
            figure(
                Metric::Median("server_updates_per_s"),
                &["per_word", "atomic", "pipeline"],
                Some("rtt_ms"),
            ),
            figure(Metric::Median("host_rtt_ms"), &[], Some("rtt_ms")),
        ],
    },
    LabQuestion {
        lab: "Beyond the lab",
        question: "The autoclaim timeout on a network: RTT 0 vs 20 ms, with and without a crash",
        experiments: &["autoclaim-rtt"],
        figures: &[
            figure(
                Metric::Median("count_s"),
                &["rtt_ms", "crash"],
                Some(AUTOCLAIM),
            ),
            figure(
                Metric::Median("units_stolen"),
                &["rtt_ms", "crash"],
                Some(AUTOCLAIM),
            ),
        ],
    },
    LabQuestion {
        lab: "Beyond the lab",
        question: "A host partitioned for 1 / 3 / 10 s mid-job: exact counts, stolen units, completion time",
        experiments: &["partition"],
        figures: &[
            figure(Metric::Exact, &[], Some("partition")),
            figure(Metric::Median("units_stolen"), &[], Some("partition")),
            figure(Metric::Median("count_s"), &[], Some("partition")),
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
        experiments: &[
            "replication-overhead",
            "replication-overhead-f2",
            "replica-kills",
            "replica-churn",
        ],
        figures: &[
            figure(WALL, &["max_file_bytes"], Some("topology")),
            figure(Metric::Exact, &[], Some("redis_kill")),
            figure(WALL, &[], Some("redis_kill")),
        ],
    },
    LabQuestion {
        lab: "Lab 4",
        question: "RedisRaft vs replicated vs single (lease queue); killing 1 and 2 of 3 Raft nodes, the leader, or a random node every N seconds",
        experiments: &["raft-overhead", "raft-kills", "raft-kills-f2", "raft-churn"],
        figures: &[
            figure(WALL, &["max_file_bytes"], Some("topology")),
            figure(Metric::Exact, &[], Some("redis_kill")),
            figure(WALL, &[], Some("redis_kill")),
        ],
    },
];

/// Experiments that run on the raft topology (they need the RedisRaft module).
const RAFT_EXPERIMENTS: &[&str] = &["raft-overhead", "raft-kills", "raft-kills-f2", "raft-churn"];

/// The shipped experiments whose input is the books preset (Project
/// Gutenberg books, which a fresh clone does not have).
const BOOK_EXPERIMENTS: &[&str] = &["workers", "vs-local", "per-word", "merge-paths"];

/// What to show for a question's experiment: its parameter sets when it
/// has results, `None` when it has not been run.
pub(crate) type SetsOf<'a> = dyn Fn(&str) -> Option<&'a [ParamSet]> + 'a;

/// Writes the "Lab questions" section.
pub(crate) fn write_questions<W: Write + ?Sized>(
    out: &mut W,
    sets_of: &SetsOf<'_>,
) -> io::Result<()> {
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
        return writeln!(out, "{}\n", not_covered(question));
    }
    for &name in question.experiments {
        match sets_of(name) {
            None => writeln!(out, "{}\n", not_run_yet(name))?,
            Some(sets) => write_figures(out, name, question.figures, sets)?,
        }
    }
    Ok(())
}

/// The line for a question no experiment file answers yet.
pub(crate) fn not_covered(question: &LabQuestion) -> String {
    match question.to_answer() {
        Some(what) => format!("No experiment file in `experiments/` covers this yet: {what}."),
        None => "No experiment file in `experiments/` covers this yet.".to_string(),
    }
}

/// The line for an experiment without results.
pub(crate) fn not_run_yet(name: &str) -> String {
    if RAFT_EXPERIMENTS.contains(&name) && crate::servers::raft_module("").is_err() {
        return format!(
            "`{name}`: needs the RedisRaft module (commit 5945c02, built as its own project documents; set HARNESS_REDISRAFT to its redisraft.so and `harness run experiments/{name}.toml`)"
        );
    }
    let has_books = data_gen::default_corpus_dir().is_some_and(|dir| data_gen::holds_books(&dir));
    if BOOK_EXPERIMENTS.contains(&name) && !has_books {
        return format!(
            "`{name}`: needs the Project Gutenberg books, and none are here: `harness lab --download-books` (or `harness gen --preset books --download`, or {env}=DIR to a folder of books), then `harness run experiments/{name}.toml`",
            env = data_gen::BOOKS_DIR_ENV
        );
    }
    format!("`{name}`: not run yet: `harness run experiments/{name}.toml`")
}

fn write_figures<W: Write + ?Sized>(
    out: &mut W,
    name: &str,
    figures: &[Figure],
    sets: &[ParamSet],
) -> io::Result<()> {
    let link = experiment_link(name);
    let unfired = Unfired::of(sets);
    if let Some(not_shown @ Unfired::NotShown(_)) = &unfired {
        return writeln!(out, "{link}: {}\n", not_shown.text());
    }
    if let Some(left_out) = &unfired {
        writeln!(out, "{link}: {}\n", left_out.text())?;
    }
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
pub(crate) fn pivot(figure: &Figure, sets: &[ParamSet], name: &str) -> Option<Table> {
    Pivot::new(figure, sets, name).map(|pivot| pivot.table())
}

/// One cell of a [`Pivot`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No parameter set has these values.
    Empty,
    /// The metric of each set sharing the cell (`None` where a set has no value).
    Values(Vec<Option<f64>>),
    /// Exact runs of the sets sharing the cell ([`Metric::Exact`]).
    Tally(Correctness),
}

impl Cell {
    fn has_value(&self) -> bool {
        match self {
            Cell::Empty => false,
            Cell::Values(values) => values.iter().any(Option::is_some),
            Cell::Tally(_) => true,
        }
    }

    /// The only value of a cell one set fills.
    fn single(&self) -> Option<f64> {
        match self {
            Cell::Values(values) => match values.as_slice() {
                [value] => *value,
                _ => None,
            },
            _ => None,
        }
    }
}

/// A figure computed over an experiment's parameter sets: one row per
/// `series` value, one column per `x` value, cells kept as numbers so the
/// table and the measured statement read the same values.
#[derive(Debug, Clone)]
pub struct Pivot {
    /// The figure.
    pub figure: Figure,
    /// The x values (column labels), in order.
    pub xs: Vec<String>,
    /// One row per series value: its label and one cell per x value.
    pub rows: Vec<(String, Vec<Cell>)>,
    /// The input every set shares, when they share one.
    pub input: Option<String>,
}

impl Pivot {
    /// The figure over `sets` of experiment `name`; `None` when no cell has a value.
    pub(crate) fn new(figure: &Figure, sets: &[ParamSet], name: &str) -> Option<Pivot> {
        let sets = figure.drawn(sets);
        let series_label = |set: &ParamSet| figure.series_label(set, name);
        let x_label = |set: &ParamSet| figure.x_label(set);
        let labels: Vec<String> = distinct(sets.iter().map(|set| series_label(set)));
        let xs = x_values(figure.x, &sets);
        let rows: Vec<(String, Vec<Cell>)> = labels
            .into_iter()
            .map(|label| {
                let cells = xs
                    .iter()
                    .map(|x| {
                        let in_cell: Vec<&ParamSet> = sets
                            .iter()
                            .copied()
                            .filter(|set| series_label(set) == label && x_label(set) == *x)
                            .collect();
                        cell(figure.metric, &in_cell)
                    })
                    .collect();
                (label, cells)
            })
            .collect();
        if !rows
            .iter()
            .flat_map(|(_, cells)| cells)
            .any(Cell::has_value)
        {
            return None;
        }
        let inputs = distinct(
            sets.iter()
                .map(|set| value_text("input", set.value("input"))),
        );
        Some(Pivot {
            figure: *figure,
            xs,
            rows,
            input: match inputs.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            },
        })
    }

    /// The ratio row's label and its value per x, when the figure asks for one.
    pub(crate) fn ratios(&self) -> Option<(String, Vec<Option<f64>>)> {
        let (numerator, denominator) = self.figure.ratio?;
        let row = |label: &str| self.rows.iter().find(|(l, _)| l == label).map(|(_, c)| c);
        let values = (0..self.xs.len())
            .map(|i| {
                let value = |label| row(label).and_then(|cells| cells[i].single());
                match (value(numerator), value(denominator)) {
                    (Some(n), Some(d)) if d != 0.0 => Some(n / d),
                    _ => None,
                }
            })
            .collect();
        Some((format!("ratio {numerator} / {denominator}"), values))
    }

    /// The figure as a table: the corner names the series and x columns.
    pub(crate) fn table(&self) -> Table {
        let corner = match (self.figure.series, self.figure.x) {
            ([], Some(x)) => format!("{x} →"),
            (series, Some(x)) => format!("{} ↓ {x} →", series.join(", ")),
            (series, None) => series.join(", "),
        };
        let mut table = Table::new(
            std::iter::once(corner)
                .chain(self.xs.iter().cloned())
                .collect(),
        );
        for (label, cells) in &self.rows {
            let texts = cells.iter().map(|cell| self.cell_text(cell));
            table.push(std::iter::once(label.clone()).chain(texts).collect());
        }
        if let Some((label, values)) = self.ratios() {
            let texts = values.iter().map(|v| v.map_or(MISSING.to_string(), ratio));
            table.push(std::iter::once(label).chain(texts).collect());
        }
        table
    }

    /// A cell: the tally for [`Metric::Exact`], else each set's value
    /// (`/`-separated when several sets share the cell).
    fn cell_text(&self, cell: &Cell) -> String {
        match cell {
            Cell::Empty => MISSING.to_string(),
            Cell::Tally(tally) => tally.text(),
            Cell::Values(values) if values.iter().all(Option::is_none) => MISSING.to_string(),
            Cell::Values(values) => values
                .iter()
                .map(|v| v.map_or(MISSING.to_string(), |v| self.figure.metric.format(v)))
                .collect::<Vec<_>>()
                .join(" / "),
        }
    }

    /// One sentence with the figure's key numbers, e.g.
    /// `E(workers = 4) = 0.93 for processes and 0.95 for threads on books`:
    /// efficiency at the largest x, medians at the smallest and the
    /// largest x, exact runs in total with the cells that were not.
    pub(crate) fn statement(&self) -> String {
        let on = match &self.input {
            Some(input)
                if self.figure.x != Some("input") && !self.figure.series.contains(&"input") =>
            {
                format!(" on {input}")
            }
            _ => String::new(),
        };
        if self.figure.metric == Metric::Exact {
            return self.exact_statement() + &on;
        }
        let with_values: Vec<usize> = (0..self.xs.len())
            .filter(|&i| self.rows.iter().any(|(_, cells)| cells[i].has_value()))
            .collect();
        let columns: Vec<usize> = match (self.figure.metric, with_values.as_slice()) {
            (Metric::Efficiency, [.., last]) => vec![*last],
            (_, [first, .., last]) => vec![*first, *last],
            (_, only) => only.to_vec(),
        };
        let ratios = self.ratios();
        let parts: Vec<String> = columns
            .into_iter()
            .map(|i| {
                let symbol = self.figure.metric.symbol();
                let at = match self.figure.x {
                    Some(x) => format!("{symbol}({x} = {})", self.xs[i]),
                    None => symbol,
                };
                let values: Vec<String> = self
                    .rows
                    .iter()
                    .filter(|(_, cells)| cells[i].has_value())
                    .map(|(label, cells)| {
                        let value = self.cell_text(&cells[i]) + self.figure.metric.unit();
                        if self.figure.series.is_empty() {
                            value
                        } else {
                            format!("{value} for {label}")
                        }
                    })
                    .collect();
                let mut part = format!("{at} = {}", and_list(&values));
                if let Some((label, values)) = &ratios
                    && let Some(value) = values[i]
                {
                    part.push_str(&format!(" ({label} = {})", ratio(value)));
                }
                part
            })
            .collect();
        parts.join("; ") + &on
    }

    fn exact_statement(&self) -> String {
        let cells = self.rows.iter().flat_map(|(label, cells)| {
            cells
                .iter()
                .zip(&self.xs)
                .filter_map(move |(cell, x)| match cell {
                    Cell::Tally(tally) => Some((label, x, *tally)),
                    _ => None,
                })
        });
        let total: Correctness = cells.clone().map(|(_, _, tally)| tally).sum();
        let not_exact: Vec<String> = cells
            .filter(|(_, _, tally)| tally.correct < tally.runs)
            .map(|(label, x, tally)| {
                let at = match self.figure.x {
                    Some(column) => format!(" at {column} = {x}"),
                    None => String::new(),
                };
                format!("{label}{at}: {}", tally.text())
            })
            .collect();
        let mut text = format!("{} of {} runs exact", total.correct, total.runs);
        if !not_exact.is_empty() {
            text.push_str(&format!(" (not all exact: {})", not_exact.join("; ")));
        }
        text
    }
}

/// A figure's ratio row at the largest x where it has a value: that x and
/// the one parameter set of each side there (the numbers of the Lab
/// section's ratio row).
#[derive(Debug, Clone)]
pub(crate) struct RatioAt<'s> {
    /// Where: `max_file_bytes = 100MB` (`all runs` for a figure without x).
    pub at: String,
    /// The numerator's series label and its set.
    pub numerator: (&'static str, &'s ParamSet),
    /// The denominator's series label and its set.
    pub denominator: (&'static str, &'s ParamSet),
    /// numerator / denominator of the figure's metric, as the ratio row shows it.
    pub ratio: f64,
}

/// The ratio `figure` asks for over `sets` of experiment `name`, at the
/// largest x where both series have one set with a value; `None` when the
/// figure asks for no ratio or no x has one.
pub(crate) fn ratio_at_largest_x<'s>(
    figure: &Figure,
    sets: &'s [ParamSet],
    name: &str,
) -> Option<RatioAt<'s>> {
    let (numerator, denominator) = figure.ratio?;
    let pivot = Pivot::new(figure, sets, name)?;
    let (_, ratios) = pivot.ratios()?;
    let (i, ratio) = ratios
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, ratio)| ratio.map(|ratio| (i, ratio)))?;
    let x = pivot.xs.get(i)?;
    let drawn = figure.drawn(sets);
    let set_of = |label: &str| {
        drawn
            .iter()
            .copied()
            .find(|set| figure.series_label(set, name) == label && figure.x_label(set) == *x)
    };
    Some(RatioAt {
        at: match figure.x {
            Some(column) => format!("{column} = {x}"),
            None => x.clone(),
        },
        numerator: (numerator, set_of(numerator)?),
        denominator: (denominator, set_of(denominator)?),
        ratio,
    })
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => MISSING.to_string(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
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

/// The cell of the sets sharing one row and one x value.
fn cell(metric: Metric, sets: &[&ParamSet]) -> Cell {
    match (metric, sets) {
        (_, []) => Cell::Empty,
        (Metric::Exact, sets) => Cell::Tally(sets.iter().map(|set| set.correctness).sum()),
        (metric, sets) => Cell::Values(sets.iter().map(|set| metric.value(set)).collect()),
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
    fn the_book_experiments_are_those_whose_input_is_the_books_preset() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        let mut on_books: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .filter(|path| {
                std::fs::read_to_string(path)
                    .unwrap()
                    .contains(r#"preset = "books""#)
            })
            .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_books.sort();
        let mut listed: Vec<String> = BOOK_EXPERIMENTS.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(on_books, listed);
    }

    #[test]
    fn every_question_without_results_says_what_to_run() {
        let text = render(&|_| None);
        let has_books =
            data_gen::default_corpus_dir().is_some_and(|dir| data_gen::holds_books(&dir));
        for name in [
            "workers",
            "files",
            "per-word",
            "crash-points",
            "stealing",
            "replica-kills",
        ] {
            let needs_books = BOOK_EXPERIMENTS.contains(&name) && !has_books;
            let wanted = if needs_books {
                format!(
                    "`{name}`: needs the Project Gutenberg books, and none are here: `harness lab --download-books`"
                )
            } else {
                format!("not run yet: `harness run experiments/{name}.toml`")
            };
            assert!(text.contains(&wanted), "{name}: {text}");
        }
        assert!(text.contains("### Lab 4"));
        if std::env::var_os(crate::servers::RAFT_MODULE_ENV).is_none() {
            assert!(
                text.contains("`raft-kills`: needs the RedisRaft module"),
                "{text}"
            );
        }
    }

    #[test]
    fn every_unanswered_question_says_what_would_answer_it() {
        for question in LAB_QUESTIONS {
            assert_eq!(
                question.experiments.is_empty(),
                question.to_answer().is_some(),
                "{}",
                question.question
            );
        }
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
    fn statements_give_the_key_numbers_of_a_figure() {
        let sets = group_param_sets(&[
            RunRow::sample("serial", 1, 1, 2.0),
            RunRow::sample("threads", 2, 1, 1.25),
            RunRow::sample("processes", 2, 1, 1.0),
            RunRow::sample("threads", 4, 1, 0.625),
        ]);
        let efficiency = figure(Metric::Efficiency, &["mode"], Some("workers"));
        let statement = Pivot::new(&efficiency, &sets, "workers")
            .unwrap()
            .statement();
        assert_eq!(
            statement, "E(workers = 4) = 0.80 for threads on x",
            "the largest worker count only"
        );
        let wall = figure(WALL, &[], Some("workers"));
        assert_eq!(
            Pivot::new(&wall, &sets, "workers").unwrap().statement(),
            "median wall_s(workers = 1) = 2.00 s; median wall_s(workers = 4) = 0.625 s on x"
        );
    }

    #[test]
    fn exact_statements_name_the_cells_that_were_not() {
        let mut wrong = RunRow::sample("redis", 2, 2, 1.0);
        wrong.correct = false;
        wrong.expect_exact = false;
        wrong.crash = "0:mid-commit".into();
        wrong.params_key = "crash".into();
        let sets = group_param_sets(&[RunRow::sample("redis", 2, 1, 1.0), wrong]);
        let exact = figure(Metric::Exact, &["atomic"], Some("crash"));
        assert_eq!(
            Pivot::new(&exact, &sets, "crash-points")
                .unwrap()
                .statement(),
            "1 of 2 runs exact (not all exact: atomic=false at crash = 0:mid-commit: \
             0/1 (1 inexact, expected)) on x"
        );
    }

    #[test]
    fn a_ratio_joins_the_statement() {
        let mut per_word = RunRow::sample("redis", 2, 1, 3.0);
        per_word.per_word = true;
        per_word.params_key = "pw".into();
        let sets = group_param_sets(&[per_word, RunRow::sample("redis", 2, 1, 1.5)]);
        let figure = Figure {
            ratio: Some(("per_word=true", "per_word=false")),
            ..figure(WALL, &["per_word"], Some("input"))
        };
        assert_eq!(
            Pivot::new(&figure, &sets, "per-word").unwrap().statement(),
            "median wall_s(input = x) = 3.00 s for per_word=true and 1.50 s for per_word=false \
             (ratio per_word=true / per_word=false = 2.00)"
        );
    }

    #[test]
    fn no_serial_runs_means_no_efficiency_figure() {
        let sets = group_param_sets(&[RunRow::sample("threads", 2, 1, 1.0)]);
        let figure = figure(Metric::Efficiency, &["mode"], Some("workers"));
        assert!(pivot(&figure, &sets, "x").is_none());
    }
}
