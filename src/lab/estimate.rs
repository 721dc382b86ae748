//! How long an experiment will take at a scale, from runs already
//! measured: rows of its results CSV (any scale) and rows of a short
//! calibration (one run of every parameter set at two tiny scales, kept in
//! `<data>/calibration/` so it is done once per machine and input).
//!
//! A parameter set's run time is modelled as `a + b * scale` (fixed costs:
//! processes, Redis, timeouts; plus work proportional to the input): a
//! least-squares line through its median times at two or more scales, or
//! from one scale `t0 * max(1, scale / s0)`, which never underestimates a
//! line with `a, b >= 0`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Result;
use indicatif::ProgressBar;

use super::budget::Second;
use super::plan::Planned;
use crate::experiment::{Experiment, RunOptions, csv_path, run_experiment_with_progress};
use crate::results::{RunRow, median_min_max, read_rows};

/// The tiny scales a calibration runs every parameter set at, once each.
pub(crate) const CALIBRATION_SCALES: &[f64] = &[0.01, 0.03];

/// The time of one run of a parameter set as a function of scale.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RunCost {
    /// (scale, median wall seconds) of the runs measured, by scale.
    pub points: Vec<(f64, Second)>,
}

impl RunCost {
    /// The estimated seconds of one run at `scale`; `None` when nothing
    /// was measured.
    pub(crate) fn at(&self, scale: f64) -> Option<Second> {
        match self.points.as_slice() {
            [] => None,
            [(s0, t0)] => Some(t0 * (scale / s0).max(1.0)),
            points => {
                let n = points.len() as f64;
                let mean_s = points.iter().map(|p| p.0).sum::<f64>() / n;
                let mean_t = points.iter().map(|p| p.1).sum::<f64>() / n;
                let var_s: f64 = points.iter().map(|p| (p.0 - mean_s).powi(2)).sum();
                let cov: f64 = points.iter().map(|p| (p.0 - mean_s) * (p.1 - mean_t)).sum();
                let slope = if var_s > 0.0 {
                    (cov / var_s).max(0.0)
                } else {
                    0.0
                };
                let fixed = (mean_t - slope * mean_s).max(0.0);
                Some(fixed + slope * scale)
            }
        }
    }
}

/// The results CSV of `planned` in `results_dir` and its calibration CSV
/// in `calibration_dir`.
pub(crate) fn cost_sources(
    planned: &Planned,
    results_dir: &Path,
    calibration_dir: &Path,
) -> Vec<PathBuf> {
    vec![
        csv_path(results_dir, &planned.name),
        csv_path(calibration_dir, &planned.name),
    ]
}

/// The cost of each parameter set of `planned` (matrix order) from the
/// rows of `csvs`; empty costs where none was measured.
pub(crate) fn observe(planned: &Planned, csvs: &[PathBuf]) -> Result<Vec<RunCost>> {
    let mut rows: Vec<RunRow> = Vec::new();
    for csv in csvs {
        rows.extend(read_rows(csv)?);
    }
    let runs = planned.load(1.0)?.runs.len();
    let mut times: Vec<BTreeMap<u64, Vec<f64>>> = vec![BTreeMap::new(); runs];
    let mut scales: Vec<f64> = rows.iter().map(|r| r.scale).collect();
    scales.sort_by(f64::total_cmp);
    scales.dedup();
    for scale in scales {
        let Ok(experiment) = planned.load(scale) else {
            continue;
        };
        let index: HashMap<String, usize> = experiment
            .runs
            .iter()
            .enumerate()
            .map(|(i, params)| (params.key(scale), i))
            .collect();
        for row in rows.iter().filter(|r| r.scale == scale) {
            if let Some(&i) = index.get(&row.params_key)
                && i < runs
                && row.wall_s.is_finite()
            {
                times[i]
                    .entry(scale.to_bits())
                    .or_default()
                    .push(row.wall_s);
            }
        }
    }
    Ok(times
        .into_iter()
        .map(|by_scale| RunCost {
            points: by_scale
                .into_iter()
                .filter_map(|(scale, mut walls)| {
                    median_min_max(&mut walls).map(|(median, _, _)| (f64::from_bits(scale), median))
                })
                .collect(),
        })
        .collect())
}

/// What is left to run of an experiment at one scale: per parameter set,
/// the estimated seconds of one run and the repetitions not yet in its CSV.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// Per parameter set: (seconds per run, repetitions already done, repetitions to run).
    pub sets: Vec<(Second, u32, u32)>,
    /// Warm-up runs per parameter set that still has repetitions to run.
    pub warmup: u32,
}

impl Pending {
    /// The estimated seconds of everything left.
    pub(crate) fn total_s(&self) -> Second {
        self.sets
            .iter()
            .filter(|(_, _, todo)| *todo > 0)
            .map(|(t, _, todo)| t * f64::from(todo + self.warmup))
            .sum()
    }

    /// The estimated seconds of each run position, in the order the runner
    /// advances a progress bar (per set: the runs already done, at 0, then
    /// the ones to run, the first carrying the warm-ups).
    pub(crate) fn steps(&self) -> Vec<Second> {
        let mut steps: Vec<Second> = Vec::new();
        for &(t, done, todo) in &self.sets {
            steps.extend(std::iter::repeat_n(0.0, done as usize));
            for rep in 0..todo {
                let warmup = if rep == 0 {
                    f64::from(self.warmup)
                } else {
                    0.0
                };
                steps.push(t * (1.0 + warmup));
            }
        }
        steps
    }
}

/// `sums[i]` = the sum of `steps[i..]`, with one more 0 at the end: the
/// seconds left from each position on.
pub(crate) fn suffix_sums(steps: &[Second]) -> Vec<Second> {
    let mut sums = vec![0.0; steps.len() + 1];
    for i in (0..steps.len()).rev() {
        sums[i] = sums[i + 1] + steps[i];
    }
    sums
}

/// The pending runs of `experiment` (validated at its scale) given the run
/// ids already in its CSV and the costs of its parameter sets; a set
/// without a cost gets the mean of the others. `None` when no set has one.
pub(crate) fn pending(
    experiment: &Experiment,
    costs: &[RunCost],
    done: &HashSet<String>,
) -> Option<Pending> {
    let scale = experiment.scale;
    let known: Vec<Second> = costs.iter().filter_map(|c| c.at(scale)).collect();
    if known.is_empty() {
        return None;
    }
    let fallback = known.iter().sum::<f64>() / known.len() as f64;
    let sets = experiment
        .runs
        .iter()
        .enumerate()
        .map(|(i, params)| {
            let key = params.key(scale);
            let finished = (1..=experiment.repetitions)
                .filter(|rep| done.contains(&format!("{key}-r{rep}")))
                .count() as u32;
            let t = costs.get(i).and_then(|c| c.at(scale)).unwrap_or(fallback);
            (t, finished, experiment.repetitions - finished)
        })
        .collect();
    Some(Pending {
        sets,
        warmup: experiment.warmup,
    })
}

/// The run ids already in a CSV.
pub(crate) fn done_runs(csv: &Path) -> Result<HashSet<String>> {
    Ok(read_rows(csv)?.into_iter().map(|r| r.run_id).collect())
}

/// Runs every parameter set of `planned` once at each calibration scale
/// (no warm-up), appending rows to its CSV in `options.out_dir`; runs
/// already there are not run again.
pub(crate) fn calibrate(planned: &Planned, options: &RunOptions, bar: &ProgressBar) -> Result<()> {
    for &scale in CALIBRATION_SCALES {
        let mut experiment = planned.load(scale)?;
        experiment.repetitions = 1;
        experiment.warmup = 0;
        run_experiment_with_progress(&experiment, options, bar)?;
    }
    Ok(())
}

/// Calibration runs of `planned`: one per parameter set and scale.
pub(crate) fn calibration_runs(planned: &Planned) -> Result<usize> {
    let mut runs = 0;
    for &scale in CALIBRATION_SCALES {
        runs += planned.load(scale)?.runs.len();
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_costs_are_lines_in_scale_that_do_not_underestimate_from_one_point() {
        assert_eq!(RunCost::default().at(1.0), None);
        let one = RunCost {
            points: vec![(0.1, 2.0)],
        };
        assert_eq!(one.at(0.5), Some(10.0));
        assert_eq!(one.at(0.01), Some(2.0), "below the measured scale: flat");
        let two = RunCost {
            points: vec![(0.01, 1.1), (0.03, 1.3)],
        };
        let at = |cost: &RunCost, scale| cost.at(scale).unwrap();
        assert!((at(&two, 1.0) - 11.0).abs() < 1e-9, "{}", at(&two, 1.0));
        assert!((at(&two, 0.1) - 2.0).abs() < 1e-9);
        let noisy = RunCost {
            points: vec![(0.01, 1.3), (0.03, 1.1)],
        };
        assert!(
            (at(&noisy, 1.0) - 1.2).abs() < 1e-9,
            "slopes are never negative"
        );
    }

    #[test]
    fn pending_runs_cost_nothing_once_done_and_positions_count_down() {
        let pending = Pending {
            sets: vec![(2.0, 1, 2), (1.0, 3, 0), (4.0, 0, 1)],
            warmup: 1,
        };
        assert_eq!(pending.total_s(), 2.0 * 3.0 + 4.0 * 2.0);
        assert_eq!(
            suffix_sums(&pending.steps()),
            vec![14.0, 14.0, 10.0, 8.0, 8.0, 8.0, 8.0, 0.0]
        );
    }
}
