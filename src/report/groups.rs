//! The parameter sets of one experiment: its rows grouped by `params_key`,
//! the parameters that vary between the sets, and each set's median wall
//! time, correctness tally, and speed-up and efficiency against the serial
//! runs of the same input (the serial-baseline rule of `crate::results`,
//! which the plots use too).

use std::collections::HashMap;

use crate::results::{
    Columns, RunRow, baseline_key, columns, median_min_max, serial_baselines, text_of,
};

pub use crate::results::PARAMETER_COLUMNS;

/// Repetitions whose spread (max - min) exceeds this fraction of their
/// median are noisy.
pub(crate) const NOISY_SPREAD: f64 = 0.2;

/// A median wall time under this many seconds is too short to trust.
pub(crate) const SHORT_WALL_S: f64 = 0.05;

/// The median of repetitions and their min..max spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Median of the repetitions.
    pub median: f64,
    /// Smallest repetition.
    pub min: f64,
    /// Largest repetition.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub(crate) fn of(mut values: Vec<f64>) -> Option<Spread> {
        median_min_max(&mut values).map(|(median, min, max)| Spread { median, min, max })
    }
}

/// How many runs gave exact counts, and why the others did not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Correctness {
    /// Runs counted.
    pub runs: usize,
    /// Runs whose counts equal the serial oracle.
    pub correct: usize,
    /// Wrong runs the experiment marked `[[inexact]]` (`expect_exact = false`).
    pub wrong_expected: usize,
    /// Wrong runs that should have been exact.
    pub wrong_unexpected: usize,
    /// Runs that missed their deadline (`finished = false`; counts not checked).
    pub not_finished: usize,
    /// Runs whose planned fault did not fire (`faults_unfired`): they show
    /// nothing about the fault, so medians, plots and verdicts leave them out.
    pub unfired: usize,
    /// Nodes that died or hung without the harness causing it
    /// (`unexpected_node_deaths`, summed over the runs).
    pub unexpected_node_deaths: u64,
}

impl Correctness {
    /// The tally of one run.
    pub(crate) fn of(row: &RunRow) -> Correctness {
        let checked = row.finished;
        Correctness {
            runs: 1,
            correct: usize::from(checked && row.correct),
            wrong_expected: usize::from(checked && !row.correct && !row.expect_exact),
            wrong_unexpected: usize::from(checked && !row.correct && row.expect_exact),
            not_finished: usize::from(!checked),
            unfired: usize::from(row.faults_unfired),
            unexpected_node_deaths: row.unexpected_node_deaths,
        }
    }

    /// `3/3`, `1/3 (2 inexact, expected)` or `2/3 (1 WRONG)`.
    pub(crate) fn text(&self) -> String {
        let mut text = format!("{}/{}", self.correct, self.runs);
        if self.wrong_expected > 0 {
            text.push_str(&format!(" ({} inexact, expected)", self.wrong_expected));
        }
        if self.wrong_unexpected > 0 {
            text.push_str(&format!(" ({} WRONG)", self.wrong_unexpected));
        }
        if self.not_finished > 0 {
            text.push_str(&format!(
                " ({} not finished by the deadline)",
                self.not_finished
            ));
        }
        if self.unfired > 0 {
            text.push_str(&format!(
                " ({} with the planned fault not fired)",
                self.unfired
            ));
        }
        if self.unexpected_node_deaths > 0 {
            text.push_str(&format!(
                " ({} node deaths nobody scheduled)",
                self.unexpected_node_deaths
            ));
        }
        text
    }
}

impl std::ops::Add for Correctness {
    type Output = Correctness;

    fn add(self, other: Correctness) -> Correctness {
        Correctness {
            runs: self.runs + other.runs,
            correct: self.correct + other.correct,
            wrong_expected: self.wrong_expected + other.wrong_expected,
            wrong_unexpected: self.wrong_unexpected + other.wrong_unexpected,
            not_finished: self.not_finished + other.not_finished,
            unfired: self.unfired + other.unfired,
            unexpected_node_deaths: self.unexpected_node_deaths + other.unexpected_node_deaths,
        }
    }
}

impl std::iter::Sum for Correctness {
    fn sum<I: Iterator<Item = Correctness>>(tallies: I) -> Correctness {
        tallies.fold(Correctness::default(), |sum, tally| sum + tally)
    }
}

/// One parameter set of an experiment (the runs sharing a `params_key`).
#[derive(Debug, Clone)]
pub struct ParamSet {
    /// The CSV's `params_key`.
    pub params_key: String,
    /// Every run of the set, as named columns, in CSV order.
    pub runs: Vec<Columns>,
    /// Wall time of the repetitions, seconds.
    pub wall_s: Spread,
    /// T_s / T_p with T_p this set's median; `None` without serial runs of the same input.
    pub speedup: Option<f64>,
    /// E = T_s / (p T_p); `None` without serial runs of the same input.
    pub efficiency: Option<f64>,
    /// Correct and wrong runs.
    pub correctness: Correctness,
    /// Every run of the set planned a fault that did not fire: its numbers
    /// show no fault (figures and verdicts leave the set out). When only
    /// some did not, those runs are left out of `runs` instead.
    pub faults_unfired: bool,
}

impl ParamSet {
    /// The value of `column` in this set (parameters are equal across its
    /// runs; for measurements, the first run's value).
    pub(crate) fn value(&self, column: &str) -> &serde_json::Value {
        self.runs
            .first()
            .and_then(|run| run.get(column))
            .unwrap_or(&serde_json::Value::Null)
    }

    /// True when the repetitions spread (max - min) more than
    /// [`NOISY_SPREAD`] of their median.
    pub(crate) fn is_noisy(&self) -> bool {
        let wall = self.wall_s;
        self.runs.len() > 1 && wall.max - wall.min > NOISY_SPREAD * wall.median
    }

    /// True when the median wall time is under [`SHORT_WALL_S`].
    pub(crate) fn is_too_short(&self) -> bool {
        self.wall_s.median < SHORT_WALL_S
    }

    /// True for the serial reference runs.
    pub(crate) fn is_serial(&self) -> bool {
        text_of(self.value("mode")) == "serial"
    }

    /// Median of a numeric column over the repetitions.
    pub(crate) fn median_of(&self, column: &str) -> Option<f64> {
        self.spread_of(column).map(|spread| spread.median)
    }

    /// Median and min..max of a numeric column over the repetitions.
    pub(crate) fn spread_of(&self, column: &str) -> Option<Spread> {
        let values = self
            .runs
            .iter()
            .filter_map(|run| run.get(column).and_then(serde_json::Value::as_f64))
            .collect();
        Spread::of(values)
    }
}

/// Groups `rows` into parameter sets, in the order each set first appears
/// in the CSV (the matrix order of the experiment).
pub fn group_param_sets(rows: &[RunRow]) -> Vec<ParamSet> {
    let all: Vec<Columns> = rows.iter().map(columns).collect();
    let baselines = serial_baselines(&all);
    let mut order: Vec<&str> = Vec::new();
    // Per set: the runs whose planned faults fired (or that planned none),
    // the runs whose fault did not fire, and the tally of all.
    type Members = (Vec<Columns>, Vec<Columns>, Correctness);
    let mut members: HashMap<&str, Members> = HashMap::new();
    for (row, row_columns) in rows.iter().zip(all) {
        let entry = members.entry(row.params_key.as_str()).or_insert_with(|| {
            order.push(row.params_key.as_str());
            (Vec::new(), Vec::new(), Correctness::default())
        });
        if row.faults_unfired {
            entry.1.push(row_columns);
        } else {
            entry.0.push(row_columns);
        }
        entry.2 = entry.2 + Correctness::of(row);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let (fired, unfired, correctness) = members.remove(key)?;
            let faults_unfired = fired.is_empty();
            let runs = if faults_unfired { unfired } else { fired };
            let wall_s = Spread::of(runs.iter().map(wall_seconds).collect())?;
            let first = runs.first()?;
            let workers = first
                .get("workers")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(1.0);
            let speedup = baselines
                .get(&baseline_key(first))
                .map(|serial_s| serial_s / wall_s.median);
            Some(ParamSet {
                params_key: key.to_string(),
                efficiency: speedup.map(|s| s / workers),
                speedup,
                wall_s,
                correctness,
                runs,
                faults_unfired,
            })
        })
        .collect()
}

/// What the runs whose planned fault did not fire mean for `sets`' figures
/// and verdicts, in words; `None` when every planned fault fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unfired {
    /// Every set that planned a fault has none that fired: nothing about
    /// the faults is shown (the runs, counted apart).
    NotShown(usize),
    /// Some runs were left out (how many); the others show the faults.
    LeftOut(usize),
}

impl Unfired {
    /// The state of `sets`; `None` when no run's planned fault failed to fire.
    pub(crate) fn of(sets: &[ParamSet]) -> Option<Unfired> {
        let runs: usize = sets.iter().map(|set| set.correctness.unfired).sum();
        if runs == 0 {
            return None;
        }
        let none_fired = sets
            .iter()
            .filter(|set| !text_of(set.value("faults_planned")).is_empty())
            .all(|set| set.faults_unfired);
        Some(if none_fired {
            Unfired::NotShown(runs)
        } else {
            Unfired::LeftOut(runs)
        })
    }

    /// The sentence for the report.
    pub(crate) fn text(&self) -> String {
        match self {
            Unfired::NotShown(runs) => format!(
                "not shown: the faults did not happen ({runs} runs: the planned fault came after the job had ended; rerun at a larger --scale or with progress-relative times such as at:50%)"
            ),
            Unfired::LeftOut(runs) => format!(
                "{runs} runs left out: the planned fault came after the job had ended (faults_unfired)"
            ),
        }
    }
}

fn wall_seconds(run: &Columns) -> f64 {
    run.get("wall_s")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(f64::NAN)
}

/// The parameter columns whose values differ between `sets`, in
/// [`PARAMETER_COLUMNS`] order.
pub(crate) fn varying_parameters(sets: &[ParamSet]) -> Vec<&'static str> {
    PARAMETER_COLUMNS
        .iter()
        .copied()
        .filter(|column| {
            let mut values = sets.iter().map(|set| text_of(set.value(column)));
            let first = values.next();
            values.any(|value| Some(value) != first)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_by_params_key_in_first_appearance_order() {
        let rows = vec![
            RunRow::sample("serial", 1, 1, 2.0),
            RunRow::sample("threads", 2, 1, 1.0),
            RunRow::sample("serial", 1, 2, 2.2),
            RunRow::sample("threads", 2, 2, 1.2),
            RunRow::sample("threads", 2, 3, 1.1),
        ];
        let sets = group_param_sets(&rows);
        let keys: Vec<&str> = sets.iter().map(|s| s.params_key.as_str()).collect();
        assert_eq!(keys, ["serial-1w", "threads-2w"]);
        assert_eq!(sets[0].runs.len(), 2);
        assert_eq!(
            sets[1].wall_s,
            Spread {
                median: 1.1,
                min: 1.0,
                max: 1.2
            }
        );
    }

    #[test]
    fn efficiency_is_serial_median_over_p_times_parallel_median() {
        // T_s = median(1.8, 2.0, 2.4) = 2.0; T_p = median(0.5, 0.8, 0.6) = 0.6 at p = 4.
        let rows = vec![
            RunRow::sample("serial", 1, 1, 1.8),
            RunRow::sample("serial", 1, 2, 2.0),
            RunRow::sample("serial", 1, 3, 2.4),
            RunRow::sample("processes", 4, 1, 0.5),
            RunRow::sample("processes", 4, 2, 0.8),
            RunRow::sample("processes", 4, 3, 0.6),
        ];
        let sets = group_param_sets(&rows);
        let parallel = &sets[1];
        let speedup = parallel.speedup.unwrap();
        let efficiency = parallel.efficiency.unwrap();
        assert!((speedup - 2.0 / 0.6).abs() < 1e-12, "{speedup}");
        assert!(
            (efficiency - 2.0 / (4.0 * 0.6)).abs() < 1e-12,
            "{efficiency}"
        );
        assert_eq!(sets[0].efficiency, Some(1.0));
    }

    #[test]
    fn a_different_input_has_no_baseline() {
        let mut other = RunRow::sample("threads", 2, 1, 1.0);
        other.input = "another input".into();
        let sets = group_param_sets(&[RunRow::sample("serial", 1, 1, 2.0), other]);
        assert_eq!(sets[1].efficiency, None);
    }

    #[test]
    fn only_parameters_that_differ_between_sets_vary() {
        let mut atomic = RunRow::sample("redis", 2, 1, 1.0);
        atomic.atomic = true;
        atomic.params_key = "atomic".into();
        let plain = RunRow::sample("redis", 2, 1, 3.0);
        let sets = group_param_sets(&[atomic, plain]);
        assert_eq!(varying_parameters(&sets), ["atomic"]);
        let sets = group_param_sets(&[
            RunRow::sample("serial", 1, 1, 1.0),
            RunRow::sample("threads", 2, 1, 1.0),
        ]);
        assert_eq!(varying_parameters(&sets), ["mode", "workers"]);
    }

    #[test]
    fn wrong_runs_are_split_into_expected_and_unexpected() {
        let mut expected = RunRow::sample("redis", 2, 1, 1.0);
        expected.correct = false;
        expected.expect_exact = false;
        let mut unexpected = RunRow::sample("redis", 2, 2, 1.0);
        unexpected.correct = false;
        let mut late = RunRow::sample("redis", 2, 4, 1.0);
        late.finished = false;
        late.correct = false;
        let sets = group_param_sets(&[
            expected,
            unexpected,
            RunRow::sample("redis", 2, 3, 1.0),
            late,
        ]);
        let tally = sets[0].correctness;
        assert_eq!((tally.runs, tally.correct, tally.not_finished), (4, 1, 1));
        assert_eq!(
            tally.text(),
            "1/4 (1 inexact, expected) (1 WRONG) (1 not finished by the deadline)"
        );
    }

    #[test]
    fn node_deaths_nobody_scheduled_are_counted_beside_the_exact_runs() {
        let mut survived = RunRow::sample("redis", 2, 1, 1.0);
        survived.unexpected_node_deaths = 2;
        let sets = group_param_sets(&[survived, RunRow::sample("redis", 2, 2, 1.0)]);
        assert_eq!(
            sets[0].correctness.text(),
            "2/2 (2 node deaths nobody scheduled)"
        );
    }
}
