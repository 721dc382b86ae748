//! `harness lab`: the whole lab as one run. Every experiment of the
//! experiments folder (or of the chosen labs), in lab order, at one scale
//! (given, or the largest that fits a time budget), then the plots of each,
//! then the Markdown and HTML report, and a summary of what was exact.
//!
//! Like `harness run` it resumes: rows already in a CSV are kept and their
//! runs skipped, so after Ctrl-C the same command carries on.
//!
//! - `plan`: which experiment files, in which order, which are skipped.
//! - `requirements`: what an experiment needs from the machine (the one
//!   place that decides skipping).
//! - `budget`: the budget, the scale ladder and the choice of a scale.
//! - `allot`: under `--budget`, a scale per experiment (timing runs long
//!   enough to clear the noise, fault runs at which their faults land).
//! - `estimate`: run times from earlier rows and from a short calibration.
//! - `progress`: the one progress display.

mod allot;
mod budget;
mod estimate;
mod plan;
mod progress;
mod requirements;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::ProgressBar;

pub(crate) use allot::{Allotment, Candidate, Lesson, allot};
pub(crate) use budget::{SCALE_LADDER, ScaleChoice, Second, choose_scale, human, parse_budget};
pub(crate) use estimate::{CALIBRATION_SCALES, RunCost};
pub(crate) use plan::{LabId, Planned, plan};
pub(crate) use requirements::skip_reason;

use crate::experiment::{Experiment, RunOptions, csv_path, run_experiment_with_progress};
use crate::fsutil::write_atomically;
use crate::report::Report;
use crate::results::read_rows;

/// The share of the budget the estimated runs may fill: inputs are
/// generated and the oracle is counted outside the measured run times.
const BUDGET_HEADROOM: f64 = 0.85;

/// How the lab picks its scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ScaleSetting {
    /// This scale.
    Fixed(f64),
    /// A scale of [`SCALE_LADDER`] per experiment within this many seconds
    /// (see [`allot`]).
    Budget(Second),
}

/// What `harness lab` does.
#[derive(Debug, Clone)]
pub(crate) struct LabOptions {
    /// Folder of the experiment files.
    pub experiments_dir: PathBuf,
    /// Labs to run (empty: all).
    pub only: Vec<LabId>,
    /// The scale, or the budget to choose it from.
    pub scale: ScaleSetting,
    /// Folder that gets `results/`, `plots/`, `report.md` and `report.html`.
    pub out_dir: PathBuf,
    /// Folder of generated inputs, the oracle cache and calibration rows.
    pub data_dir: PathBuf,
    /// The harness binary, re-invoked for worker processes.
    pub exe: PathBuf,
    /// The command line, recorded with the results.
    pub command_line: String,
    /// Bring your own worker: every `redis`-mode run uses this external
    /// worker (docs/PROTOCOL.md); "": the experiments' own settings.
    pub worker_cmd: String,
    /// Bring your own worker: its Function library ("": none).
    pub worker_functions: String,
    /// Bring your own worker: run every `redis`-mode run twice, with the
    /// external worker and with the built-in one, side by side.
    pub compare_builtin: bool,
}

impl LabOptions {
    /// Where the results CSVs go.
    pub(crate) fn results_dir(&self) -> PathBuf {
        self.out_dir.join("results")
    }

    /// Where the PNGs go.
    pub(crate) fn plots_dir(&self) -> PathBuf {
        self.out_dir.join("plots")
    }

    /// The Markdown report (the HTML one is beside it).
    pub(crate) fn report_md(&self) -> PathBuf {
        self.out_dir.join("report.md")
    }

    fn calibration_dir(&self) -> PathBuf {
        self.data_dir.join("calibration")
    }

    fn run_options(&self, out_dir: PathBuf) -> RunOptions {
        RunOptions {
            out_dir,
            data_dir: self.data_dir.clone(),
            force: false,
            exe: self.exe.clone(),
            command_line: self.command_line.clone(),
            inject_miscount: false,
        }
    }
}

/// What a lab did.
#[derive(Debug, Clone, Default)]
pub(crate) struct LabSummary {
    /// The scale every experiment ran at (the largest, under a budget).
    pub scale: f64,
    /// Under a budget: the scale each experiment ran at.
    pub scales: Vec<(String, f64)>,
    /// Runs whose planned fault did not fire (`faults_unfired`).
    pub unfired: usize,
    /// Experiments run (or resumed), by name.
    pub ran: Vec<String>,
    /// Experiments skipped: name and reason.
    pub skipped: Vec<(String, String)>,
    /// Experiments that stopped with an error: name and error.
    pub failed: Vec<(String, String)>,
    /// Rows at this scale in the CSVs of the experiments run.
    pub runs: usize,
    /// Of those, runs whose counts equal the oracle.
    pub exact: usize,
    /// Runs with wrong counts where the experiment expects them.
    pub expected_inexact: usize,
    /// Runs expected to be exact that were not: their ids.
    pub unexpected_wrong: Vec<String>,
    /// Runs that missed their deadline.
    pub not_finished: usize,
    /// PNGs written.
    pub plots: Vec<PathBuf>,
    /// Plots that could not be drawn and CSVs that mix scales.
    pub warnings: Vec<String>,
    /// The Markdown report.
    pub report_md: PathBuf,
    /// The HTML report.
    pub report_html: PathBuf,
    /// Seconds for the whole lab.
    pub wall_s: Second,
}

impl LabSummary {
    /// One line: experiments run/skipped, runs, exact, unexpected wrong.
    pub(crate) fn line(&self) -> String {
        let mut line = format!(
            "lab: {} experiments run, {} skipped{}; {} runs: {} exact, {} expected-inexact, {} unexpected wrong",
            self.ran.len(),
            self.skipped.len(),
            if self.failed.is_empty() {
                String::new()
            } else {
                format!(", {} failed", self.failed.len())
            },
            self.runs,
            self.exact,
            self.expected_inexact,
            self.unexpected_wrong.len()
        );
        if self.not_finished > 0 {
            line.push_str(&format!(", {} not finished", self.not_finished));
        }
        if self.unfired > 0 {
            line.push_str(&format!(
                ", {} whose planned fault did not fire (left out of plots and verdicts)",
                self.unfired
            ));
        }
        let scale = match self.scales.iter().map(|(_, s)| *s).reduce(f64::min) {
            Some(smallest) if smallest != self.scale => {
                format!("scales {smallest} to {} per experiment", self.scale)
            }
            _ => format!("scale {}", self.scale),
        };
        line.push_str(&format!("; {scale}, {}", human(self.wall_s)));
        line
    }

    /// Whether the lab succeeded: no experiment failed and every run
    /// expected to be exact was.
    pub(crate) fn ok(&self) -> bool {
        self.failed.is_empty() && self.unexpected_wrong.is_empty()
    }
}

/// Runs the lab. Notes (skips, the scale chosen and why) go to `log`;
/// progress goes to stderr.
pub(crate) fn run_lab(options: &LabOptions, log: &mut dyn Write) -> Result<LabSummary> {
    let started = Instant::now();
    let planned = plan(&options.experiments_dir, &options.only)?;
    let mut summary = LabSummary {
        report_md: options.report_md(),
        report_html: options.report_md().with_extension("html"),
        ..LabSummary::default()
    };
    for p in &planned {
        if let Some(reason) = &p.skip {
            writeln!(log, "skipping {}: {reason}", p.name)?;
            summary.skipped.push((p.name.clone(), reason.clone()));
        }
    }
    let runnable: Vec<&Planned> = planned.iter().filter(|p| p.skip.is_none()).collect();
    let results_dir = options.results_dir();
    let (scales, costs) = match options.scale {
        ScaleSetting::Fixed(scale) => (vec![Some(scale); runnable.len()], None),
        ScaleSetting::Budget(budget_s) => {
            let (allotted, costs) = allot_with_budget(options, &runnable, budget_s, started, log)?;
            for (p, a) in runnable.iter().zip(&allotted) {
                if a.scale.is_none() {
                    summary
                        .skipped
                        .push((p.name.clone(), budget_skip_reason(p, a, options)));
                }
            }
            (allotted.iter().map(|a| a.scale).collect(), Some(costs))
        }
    };
    let chosen: Vec<(&Planned, f64)> = runnable
        .iter()
        .zip(&scales)
        .filter_map(|(p, scale)| scale.map(|s| (*p, s)))
        .collect();
    let costs = costs.map(|costs| {
        costs
            .into_iter()
            .zip(&scales)
            .filter(|(_, scale)| scale.is_some())
            .map(|(cost, _)| cost)
            .collect::<Vec<_>>()
    });
    let scale = chosen
        .iter()
        .map(|(_, s)| *s)
        .reduce(f64::max)
        .unwrap_or(1.0);
    summary.scale = scale;
    if matches!(options.scale, ScaleSetting::Budget(_)) {
        summary.scales = chosen.iter().map(|(p, s)| (p.name.clone(), *s)).collect();
    }
    let mut experiments: Vec<Experiment> = chosen
        .iter()
        .map(|(p, scale)| p.load(*scale))
        .collect::<Result<_>>()?;
    if !options.worker_cmd.is_empty() {
        for experiment in &mut experiments {
            let mut runs = Vec::with_capacity(experiment.runs.len());
            for run in std::mem::take(&mut experiment.runs) {
                if run.mode.name() != "redis" {
                    runs.push(run);
                    continue;
                }
                if options.compare_builtin {
                    runs.push(run.clone());
                }
                let mut external = run;
                external.redis.worker_cmd = options.worker_cmd.clone();
                external.redis.worker_functions = options.worker_functions.clone();
                runs.push(external);
            }
            experiment.runs = runs;
        }
    }
    let total_runs: usize = experiments
        .iter()
        .map(|e| e.runs.len() * e.repetitions as usize)
        .sum();
    let remaining = match &costs {
        Some(costs) => Some(remaining_by_position(&experiments, costs, &results_dir)?),
        None => None,
    };
    let at = if summary.scales.is_empty() {
        format!("at scale {scale}")
    } else {
        "at the scales planned above".to_string()
    };
    writeln!(
        log,
        "running {} experiments ({} runs) {at}",
        experiments.len(),
        total_runs
    )?;
    log.flush()?;
    let bar = progress::lab_bar(total_runs as u64, started, remaining);
    let run_options = options.run_options(results_dir.clone());
    let count = experiments.len();
    let mut position = 0;
    for (k, experiment) in experiments.iter().enumerate() {
        position += (experiment.runs.len() * experiment.repetitions as usize) as u64;
        let prefix = format!("experiment {}/{count} {}", k + 1, experiment.name);
        if bar.is_hidden() {
            eprintln!("== {prefix}");
        }
        bar.set_prefix(prefix);
        match run_experiment_with_progress(experiment, &run_options, &bar) {
            Ok(_) => summary.ran.push(experiment.name.clone()),
            Err(error) if is_interrupt(&error) => {
                bar.abandon();
                return Err(error);
            }
            Err(error) => {
                bar.println(format!("experiment {} failed: {error:#}", experiment.name));
                summary
                    .failed
                    .push((experiment.name.clone(), format!("{error:#}")));
            }
        }
        bar.set_position(position);
    }
    bar.finish_and_clear();

    let plots_dir = options.plots_dir();
    for experiment in &experiments {
        let csv = csv_path(&results_dir, &experiment.name);
        let scale = experiment.scale;
        tally(&mut summary, &csv, scale)?;
        let mut others: Vec<f64> = read_rows(&csv)?
            .iter()
            .map(|r| r.scale)
            .filter(|s| *s != scale)
            .collect();
        others.sort_by(f64::total_cmp);
        others.dedup();
        if !others.is_empty() {
            summary.warnings.push(format!(
                "{} also holds rows at scale {}: its plots and report mix scales (use a fresh --out DIR for one scale)",
                csv.display(),
                others.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        if !csv.exists() {
            continue;
        }
        match crate::plot::draw_experiment_plots(&csv, &plots_dir) {
            Ok(written) => summary.plots.extend(written),
            Err(error) => summary
                .warnings
                .push(format!("plots of {}: {error:#}", experiment.name)),
        }
    }
    write_report(
        &results_dir,
        &plots_dir,
        &summary.report_md,
        &summary.report_html,
    )?;
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The estimated seconds left from each run position of the lab on.
fn remaining_by_position(
    experiments: &[Experiment],
    costs: &[Vec<RunCost>],
    results_dir: &Path,
) -> Result<Vec<Second>> {
    let mut steps = Vec::new();
    for (experiment, cost) in experiments.iter().zip(costs) {
        let done = estimate::done_runs(&csv_path(results_dir, &experiment.name))?;
        match estimate::pending(experiment, cost, &done) {
            Some(pending) => steps.extend(pending.steps()),
            None => steps.extend(std::iter::repeat_n(
                0.0,
                experiment.runs.len() * experiment.repetitions as usize,
            )),
        }
    }
    Ok(estimate::suffix_sums(&steps))
}

fn is_interrupt(error: &anyhow::Error) -> bool {
    crate::interrupt::requested()
        || error.chain().any(|cause| {
            cause
                .downcast_ref::<crate::interrupt::Interrupted>()
                .is_some()
        })
}

/// Counts the rows at `scale` of one CSV into the summary.
fn tally(summary: &mut LabSummary, csv: &Path, scale: f64) -> Result<()> {
    for row in read_rows(csv)?.into_iter().filter(|r| r.scale == scale) {
        summary.runs += 1;
        summary.unfired += usize::from(row.faults_unfired);
        if !row.finished {
            summary.not_finished += 1;
        } else if row.correct {
            summary.exact += 1;
        } else if row.expect_exact {
            summary.unexpected_wrong.push(row.run_id);
        } else {
            summary.expected_inexact += 1;
        }
    }
    Ok(())
}

/// Writes `report.md` and the self-contained `report.html` beside it.
fn write_report(results_dir: &Path, plots_dir: &Path, md: &Path, html: &Path) -> Result<()> {
    let report = Report::load(results_dir, plots_dir)
        .with_context(|| format!("cannot make the report {}", md.display()))?;
    let report_dir = match md.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    write_atomically(md, |out| report.write_markdown(report_dir, out))
        .with_context(|| format!("cannot write the report {}", md.display()))?;
    write_atomically(html, |out| report.write_html(out))
        .with_context(|| format!("cannot write the HTML report {}", html.display()))?;
    Ok(())
}

/// What an experiment is for, as far as its scale goes: faults when any
/// run plans one (with the latest first due time of a time-based one);
/// else stealing when a run throttles a worker and steals (`slow` with
/// `autoclaim_ms` > 0); else timing.
fn lesson_of(planned: &Planned) -> Result<Lesson> {
    let experiment = planned.load(1.0)?;
    let mut faults = false;
    let mut stealing = false;
    let mut latest_ms: Option<u64> = None;
    for run in &experiment.runs {
        if crate::experiment::planned_faults(run).is_empty() {
            stealing |= !run.redis.slow.is_empty() && run.redis.autoclaim_ms > 0;
            continue;
        }
        faults = true;
        let redis = &run.redis;
        let due = [
            redis.redis_kill.when.first_due_ms(),
            redis.worker_kill().and_then(|t| t.first_due_ms()),
        ]
        .into_iter()
        .flatten()
        .chain(redis.partition.iter().filter_map(|p| p.at.first_due_ms()));
        for ms in due {
            latest_ms = Some(latest_ms.map_or(ms, |l: u64| l.max(ms)));
        }
    }
    Ok(if faults {
        Lesson::Faults { latest_ms }
    } else if stealing {
        Lesson::Stealing
    } else {
        Lesson::Timing
    })
}

/// Why the budget skipped `planned` (its allotment `a`), and the commands
/// that run it: on its own into this lab's results (the next `harness lab`
/// with the same `--out` keeps those rows and reports them), or the lab
/// with a budget that holds it.
fn budget_skip_reason(planned: &Planned, a: &Allotment, options: &LabOptions) -> String {
    let Some((scale, estimate_s)) = a.needed else {
        return format!("{} (see the plan above)", a.why);
    };
    format!(
        "{}; to run it: `harness run {} --scale {scale} --out {}`, then this `harness lab` command again (it keeps those rows and adds them to the report), or a --budget about {} larger",
        a.why.trim_start_matches("skipped: "),
        planned.path.display(),
        options.results_dir().display(),
        human(estimate_s),
    )
}

/// Estimates every runnable experiment at every scale of the ladder
/// (calibrating those with no earlier rows first), gives each a scale by
/// the rules of [`allot`], prints the plan (which experiment got which
/// scale, and why) and returns the allotments (scale `None`: skipped, and
/// why) with the costs it used.
fn allot_with_budget(
    options: &LabOptions,
    runnable: &[&Planned],
    budget_s: Second,
    started: Instant,
    log: &mut dyn Write,
) -> Result<(Vec<Allotment>, Vec<Vec<RunCost>>)> {
    let (_, costs) = choose_with_budget(options, runnable, budget_s, started, log)?;
    let results_dir = options.results_dir();
    let left_s = budget_s - started.elapsed().as_secs_f64();
    let mut candidates = Vec::new();
    for (p, cost) in runnable.iter().zip(&costs) {
        let csv = csv_path(&results_dir, &p.name);
        let done = estimate::done_runs(&csv)?;
        let mut total_s = Vec::new();
        let mut median_run_s = Vec::new();
        for &scale in SCALE_LADDER {
            let experiment = p.load(scale)?;
            total_s
                .push(estimate::pending(&experiment, cost, &done).map(|pending| pending.total_s()));
            let mut runs: Vec<f64> = cost.iter().filter_map(|c| c.at(scale)).collect();
            median_run_s.push(crate::results::median_min_max(&mut runs).map(|(m, _, _)| m));
        }
        let resume = read_rows(&csv)?
            .iter()
            .map(|r| r.scale)
            .find(|s| SCALE_LADDER.contains(s));
        candidates.push(Candidate {
            name: p.name.clone(),
            lesson: lesson_of(p)?,
            total_s,
            median_run_s,
            resume,
        });
    }
    let allotted = allot(&candidates, left_s * BUDGET_HEADROOM);
    let width = allotted.iter().map(|a| a.name.len()).max().unwrap_or(10);
    writeln!(
        log,
        "plan: a scale per experiment within {:.0}% of the {} left of the {} budget:",
        BUDGET_HEADROOM * 100.0,
        human(left_s),
        human(budget_s)
    )?;
    for a in &allotted {
        match a.scale {
            Some(scale) => writeln!(
                log,
                "  {:width$}  scale {scale:<5} about {:>8}  {}",
                a.name,
                human(a.estimate_s),
                a.why
            )?,
            None => writeln!(log, "  {:width$}  {}", a.name, a.why)?,
        }
    }
    let total: Second = allotted.iter().map(|a| a.estimate_s).sum();
    writeln!(log, "  total about {}", human(total))?;
    log.flush()?;
    Ok((allotted, costs))
}

/// Estimates every runnable experiment at every scale of the ladder
/// (calibrating those with no earlier rows first), prints the estimates and
/// returns the largest scale that fits with the costs it used.
fn choose_with_budget(
    options: &LabOptions,
    runnable: &[&Planned],
    budget_s: Second,
    started: Instant,
    log: &mut dyn Write,
) -> Result<(f64, Vec<Vec<RunCost>>)> {
    let results_dir = options.results_dir();
    let calibration_dir = options.calibration_dir();
    let observe = |p: &Planned| {
        estimate::observe(
            p,
            &estimate::cost_sources(p, &results_dir, &calibration_dir),
        )
    };
    let mut costs: Vec<Vec<RunCost>> =
        runnable.iter().map(|p| observe(p)).collect::<Result<_>>()?;
    let uncalibrated: Vec<usize> = (0..runnable.len())
        .filter(|&i| costs[i].iter().all(|c| c.points.is_empty()))
        .collect();
    if !uncalibrated.is_empty() {
        let names: Vec<&str> = uncalibrated
            .iter()
            .map(|&i| runnable[i].name.as_str())
            .collect();
        writeln!(
            log,
            "calibrating {} experiment(s) without earlier rows (one run of each parameter set at scales {}): {}",
            names.len(),
            CALIBRATION_SCALES
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" and "),
            names.join(", ")
        )?;
        log.flush()?;
        let runs: usize = uncalibrated
            .iter()
            .map(|&i| estimate::calibration_runs(runnable[i]))
            .sum::<Result<_>>()?;
        let bar = progress::lab_bar(runs as u64, started, None);
        let run_options = options.run_options(calibration_dir.clone());
        for (k, &i) in uncalibrated.iter().enumerate() {
            let prefix = format!(
                "calibrating {}/{} {}",
                k + 1,
                uncalibrated.len(),
                runnable[i].name
            );
            if bar.is_hidden() {
                eprintln!("== {prefix}");
            }
            bar.set_prefix(prefix);
            calibrate_one(runnable[i], &run_options, &bar)?;
            costs[i] = observe(runnable[i])?;
        }
        bar.finish_and_clear();
    }
    let left_s = budget_s - started.elapsed().as_secs_f64();
    let mut table: Vec<Vec<Option<Second>>> = Vec::new();
    let mut scales_with_rows: Vec<f64> = Vec::new();
    for (p, cost) in runnable.iter().zip(&costs) {
        let csv = csv_path(&results_dir, &p.name);
        scales_with_rows.extend(read_rows(&csv)?.iter().map(|r| r.scale));
        let done = estimate::done_runs(&csv)?;
        let row = SCALE_LADDER
            .iter()
            .map(|&scale| {
                let experiment = p.load(scale)?;
                Ok(estimate::pending(&experiment, cost, &done).map(|pending| pending.total_s()))
            })
            .collect::<Result<Vec<_>>>()?;
        table.push(row);
    }
    let totals: Vec<(f64, Second)> = SCALE_LADDER
        .iter()
        .enumerate()
        .map(|(j, &scale)| (scale, table.iter().filter_map(|row| row[j]).sum()))
        .collect();
    let unfinished = totals
        .iter()
        .filter(|(scale, total)| *total > 0.0 && scales_with_rows.contains(scale))
        .map(|(scale, _)| *scale)
        .reduce(f64::max);
    let choice = choose_scale(&totals, left_s * BUDGET_HEADROOM, unfinished);
    write_estimates(log, runnable, &table, &totals, choice)?;
    let why = if choice.fits && unfinished == Some(choice.scale) {
        format!(
            "resuming the unfinished lab at that scale (rows already in {}); what is left takes about {}, \
             within {:.0}% of the {} left of the {} budget",
            results_dir.display(),
            human(choice.estimate_s),
            BUDGET_HEADROOM * 100.0,
            human(left_s),
            human(budget_s)
        )
    } else if choice.fits {
        let larger = totals
            .iter()
            .filter(|(scale, _)| *scale > choice.scale)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let larger = larger.map_or_else(String::new, |(scale, total)| {
            format!("; scale {scale} would take about {}", human(*total))
        });
        format!(
            "the largest scale whose estimate, about {}, fits {:.0}% of the {} left of the {} budget{larger}",
            human(choice.estimate_s),
            BUDGET_HEADROOM * 100.0,
            human(left_s),
            human(budget_s)
        )
    } else {
        format!(
            "even the smallest scale needs about {}, more than the {} left of the {} budget: running at it anyway",
            human(choice.estimate_s),
            human(left_s),
            human(budget_s)
        )
    };
    writeln!(log, "one scale for all would be {}: {why}", choice.scale)?;
    log.flush()?;
    Ok((choice.scale, costs))
}

fn calibrate_one(planned: &Planned, options: &RunOptions, bar: &ProgressBar) -> Result<()> {
    estimate::calibrate(planned, options, bar)
        .with_context(|| format!("cannot calibrate {}", planned.name))
}

/// The table of estimates: one row per experiment, one column per scale.
fn write_estimates(
    log: &mut dyn Write,
    runnable: &[&Planned],
    table: &[Vec<Option<Second>>],
    totals: &[(f64, Second)],
    choice: ScaleChoice,
) -> Result<()> {
    let width = runnable
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0)
        .max(10);
    write!(
        log,
        "estimated time per experiment and scale:\n{:width$}",
        "experiment"
    )?;
    for &scale in SCALE_LADDER {
        let mark = if scale == choice.scale { "*" } else { "" };
        write!(log, " {:>9}", format!("{mark}{scale}"))?;
    }
    writeln!(log)?;
    for (p, row) in runnable.iter().zip(table) {
        write!(log, "{:width$}", p.name)?;
        for cell in row {
            write!(log, " {:>9}", cell.map_or_else(|| "?".to_string(), human))?;
        }
        writeln!(log)?;
    }
    write!(log, "{:width$}", "total")?;
    for (_, total) in totals {
        write!(log, " {:>9}", human(*total))?;
    }
    writeln!(log)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab3() -> Vec<Planned> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        plan(&dir, &[plan::LabId::parse("lab3").unwrap()]).unwrap()
    }

    #[test]
    fn the_lab_3_experiments_get_the_scale_rule_their_lesson_needs() {
        let planned = lab3();
        let lesson = |name: &str| {
            let p = planned.iter().find(|p| p.name == name).unwrap();
            lesson_of(p).unwrap()
        };
        assert_eq!(lesson("stealing"), Lesson::Stealing);
        assert_eq!(lesson("atomic-cost"), Lesson::Timing);
        assert!(matches!(lesson("crash-points"), Lesson::Faults { .. }));
        assert!(matches!(lesson("autoclaim-timeout"), Lesson::Faults { .. }));
    }

    #[test]
    fn a_budget_skip_names_the_command_that_runs_it() {
        let planned = lab3();
        let p = planned.iter().find(|p| p.name == "atomic-cost").unwrap();
        let options = LabOptions {
            experiments_dir: PathBuf::from("experiments"),
            only: Vec::new(),
            scale: ScaleSetting::Budget(360.0),
            out_dir: PathBuf::from("lab"),
            data_dir: PathBuf::from("data"),
            exe: PathBuf::from("harness"),
            command_line: String::new(),
            worker_cmd: String::new(),
            worker_functions: String::new(),
            compare_builtin: false,
        };
        let skipped = Allotment {
            name: p.name.clone(),
            scale: None,
            estimate_s: 0.0,
            why: "skipped: needs about 4.2 min at scale 1 (timing: ...), more than the budget can spare".into(),
            needed: Some((1.0, 252.0)),
        };
        let why = budget_skip_reason(p, &skipped, &options);
        assert!(why.starts_with("needs about 4.2 min at scale 1"), "{why}");
        assert!(
            why.contains("atomic-cost.toml --scale 1 --out lab/results`"),
            "{why}"
        );
        assert!(why.contains("--budget about 4.2 min larger"), "{why}");
    }
}
