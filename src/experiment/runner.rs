//! The experiment runner: for each parameter set, materialize its input,
//! get the oracle, run warm-ups and the pending repetitions, check each
//! result, and append one CSV row per run. Rows already in the CSV are
//! skipped (resume after Ctrl-C); `force` reruns them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::inputs::{Oracle, count_differences, materialize};
use super::{Experiment, RunParams};
use crate::faults::FaultTally;
use crate::job::{JobSpec, run_job};
use crate::redis_run::RunError;
use crate::results::{
    Measured, RunHead, RunMeasures, RunRow, RunVerdict, append_row, capture_environment,
    git_commit, read_rows, utc_timestamp,
};
pub(crate) use crate::results::{Sidecar, csv_path, sidecar_path};

/// How to run an experiment.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Folder of the CSVs (`<name>.csv`, `<name>.env.json`, `<name>/` for event logs).
    pub out_dir: PathBuf,
    /// Folder of generated inputs and the oracle cache.
    pub data_dir: PathBuf,
    /// Rerun runs whose rows exist (their rows are replaced).
    pub force: bool,
    /// The harness binary, re-invoked for worker processes.
    pub exe: PathBuf,
    /// The command line, recorded with the results.
    pub command_line: String,
    /// Self-test of the checker: add one to a word's count before checking.
    pub inject_miscount: bool,
}

/// What a call to [`run_experiment`] did.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Runs executed.
    pub ran: usize,
    /// Runs skipped because their rows existed.
    pub skipped: usize,
    /// Runs expected to be exact that were not: their descriptions.
    pub wrong: Vec<String>,
    /// Runs that missed their deadline (`finished = false`): their descriptions.
    pub not_finished: Vec<String>,
    /// Runs whose planned fault did not fire (`faults_unfired`): their
    /// descriptions and what did not fire.
    pub unfired: Vec<String>,
    /// The CSV written.
    pub csv: PathBuf,
    /// Seconds for the whole experiment.
    pub wall_s: f64,
}

/// Runs every pending repetition of every run of `experiment`, with its
/// own progress bar.
pub fn run_experiment(experiment: &Experiment, options: &RunOptions) -> Result<RunSummary> {
    let total = experiment.runs.len() * experiment.repetitions as usize;
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs, ETA {eta} | {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = run_experiment_with_progress(experiment, options, &bar);
    bar.finish_and_clear();
    summary
}

/// Like [`run_experiment`], but advances a caller's progress bar (one step
/// per run, done or already in the CSV) instead of drawing its own, so a
/// caller running several experiments shows one display. The bar's
/// message is set to the run's parameters; when the bar is hidden (not a
/// terminal) each run is logged as `[position/length] line` on stderr.
pub fn run_experiment_with_progress(
    experiment: &Experiment,
    options: &RunOptions,
    bar: &ProgressBar,
) -> Result<RunSummary> {
    let started = std::time::Instant::now();
    std::fs::create_dir_all(&options.out_dir).with_context(|| {
        format!(
            "cannot create the results folder {}: check permissions or pass --out",
            options.out_dir.display()
        )
    })?;
    let csv = csv_path(&options.out_dir, &experiment.name);
    let existing = read_rows(&csv)?;
    let done: std::collections::HashSet<String> =
        existing.iter().map(|r| r.run_id.clone()).collect();
    write_sidecar(experiment, options, &csv)?;

    let total = bar.length().unwrap_or(0);
    let verbose = bar.is_hidden();
    let commit = git_commit();
    let mut oracle = Oracle::new(&options.data_dir);
    let mut summary = RunSummary {
        csv: csv.clone(),
        ..RunSummary::default()
    };
    for params in &experiment.runs {
        crate::interrupt::check()?;
        let key = params.key(experiment.scale);
        let pending: Vec<u32> = (1..=experiment.repetitions)
            .filter(|rep| options.force || !done.contains(&format!("{key}-r{rep}")))
            .collect();
        summary.skipped += experiment.repetitions as usize - pending.len();
        bar.inc((experiment.repetitions as usize - pending.len()) as u64);
        if pending.is_empty() {
            continue;
        }
        bar.set_message(params.describe());
        let paths = materialize(&params.input, &options.data_dir)?;
        let expected = oracle
            .counts(&paths, params.tokenizer)
            .with_context(|| {
                format!(
                    "cannot compute the serial oracle of {}",
                    params.input.label()
                )
            })?
            .clone();
        let spec = JobSpec {
            paths: paths.clone(),
            mode: params.mode,
            workers: params.workers,
            tokenizer: params.tokenizer,
            unit_bytes: params.unit_bytes,
            redis: params.redis_options(),
        };
        for _ in 0..experiment.warmup {
            crate::interrupt::check()?;
            run_job(&spec, &options.exe)
                .with_context(|| format!("warm-up run failed: {}", params.describe()))?;
        }
        for rep in pending {
            crate::interrupt::check()?;
            let run_id = format!("{key}-r{rep}");
            let run_started = std::time::Instant::now();
            let outcome = run_job(&spec, &options.exe).map_err(|e| {
                if crate::interrupt::requested() {
                    anyhow::Error::new(crate::interrupt::Interrupted)
                } else {
                    e
                }
            });
            let row = match outcome {
                Ok(mut outcome) => {
                    if options.inject_miscount
                        && let Some(word) = outcome.counts.top(1).first().map(|(w, _)| w.to_vec())
                    {
                        outcome.counts.add(&word, 1);
                    }
                    let diff_words = count_differences(&outcome.counts, &expected);
                    if !outcome.events.is_empty() {
                        let events_file = crate::results::events_path(&csv, &run_id);
                        if let Some(dir) = events_file.parent() {
                            std::fs::create_dir_all(dir)
                                .with_context(|| format!("cannot create {}", dir.display()))?;
                        }
                        crate::fsutil::write_atomically(&events_file, |w| {
                            crate::events::write_events_csv(w, &outcome.events)
                        })?;
                    }
                    run_row(
                        experiment,
                        params,
                        &key,
                        rep,
                        &commit,
                        Some((&outcome, diff_words)),
                    )
                }
                Err(error) => match missed_deadline(&error) {
                    Some((reason, fired)) => {
                        let mut row = run_row(experiment, params, &key, rep, &commit, None);
                        row.wall_s = run_started.elapsed().as_secs_f64();
                        row.not_finished = reason;
                        record_fired(&mut row, fired);
                        row
                    }
                    None => {
                        return Err(
                            error.context(format!("run {run_id} failed: {}", params.describe()))
                        );
                    }
                },
            };
            let diff_words = row.diff_words;
            store_row(&csv, &row, options.force)?;
            summary.ran += 1;
            let verdict = if !row.finished {
                format!("NOT FINISHED: {}", row.not_finished)
            } else if row.correct {
                "exact".to_string()
            } else {
                format!("WRONG: {diff_words} words differ")
            };
            let verdict = if row.faults_unfired {
                let missing = unfired_text(&row);
                summary
                    .unfired
                    .push(format!("{run_id} ({}): {missing}", params.describe()));
                format!("{verdict}; FAULT NOT FIRED: {missing}")
            } else {
                verdict
            };
            if row.finished && !row.correct && row.expect_exact {
                summary.wrong.push(format!(
                    "{run_id} ({}): {diff_words} words differ from the serial oracle",
                    params.describe()
                ));
            }
            if !row.finished {
                summary.not_finished.push(format!(
                    "{run_id} ({}): {}",
                    params.describe(),
                    row.not_finished
                ));
            }
            let line = format!(
                "{run_id}: {} in {:.3}s, {verdict}",
                params.describe(),
                row.wall_s
            );
            if verbose {
                eprintln!("[{}/{}] {line}", bar.position() + 1, total);
            } else if !row.correct || !row.finished || row.faults_unfired {
                bar.println(line);
            }
            bar.inc(1);
        }
    }
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// The row repetition `rep` of `params` starts from, before anything is
/// measured (identity and every parameter): what plots group by, for
/// previews and for tests of the plots an experiment asks for.
pub fn planned_row(experiment: &Experiment, params: &RunParams, rep: u32) -> RunRow {
    run_row(
        experiment,
        params,
        &params.key(experiment.scale),
        rep,
        "planned",
        None,
    )
}

/// The CSV row of a run: the experiment, the run's identity, every
/// parameter and, for a run that finished (`measured`: its outcome and the
/// words differing from the oracle), every measurement; a run that did not
/// finish has its measurements at zero and `finished` false.
///
/// Every parameter and verdict column is named here and every measured one
/// is read by its own entry in `results::row` (`RunMeasures::of`), none
/// taken from a default: a column added to [`RunRow`] does not compile
/// until it says where its value comes from.
fn run_row(
    experiment: &Experiment,
    params: &RunParams,
    key: &str,
    rep: u32,
    commit: &str,
    measured: Option<(&crate::job::JobOutcome, u64)>,
) -> RunRow {
    let redis_params = &params.redis;
    let text = |name: &str| redis_params.text_of(name).unwrap_or_default();
    let outcome = measured.map(|(outcome, _)| outcome);
    let diff_words = measured.map_or(0, |(_, diff)| diff);
    let redis = outcome.and_then(|o| o.redis.as_ref());
    let is_redis = params.mode.name() == "redis";
    let head = RunHead {
        experiment: experiment.name.clone(),
        run_id: format!("{key}-r{rep}"),
        params_key: key.to_string(),
        rep,
        timestamp: utc_timestamp(),
        git_commit: commit.to_string(),
        scale: experiment.scale,
        mode: params.mode.name().to_string(),
        workers: params.workers,
        tokenizer: params.tokenizer.name().to_string(),
        unit_bytes: outcome.map_or(params.unit_bytes.unwrap_or(0), |o| o.unit_bytes),
        input: params.input.label(),
        max_file_bytes: outcome.map_or(0, |o| o.max_file_bytes),
        per_word: redis_params.per_word,
        slow: text("slow"),
        slowest_cpu: redis_params
            .slow
            .iter()
            .map(|s| s.cpu_fraction)
            .fold(1.0, f64::min),
        throttle: redis.map_or_else(|| "none".to_string(), |r| r.throttle.name().to_string()),
        atomic: redis_params.atomic,
        merge: text("merge"),
        commit_units: redis_params.commit_units,
        autoclaim_ms: redis_params.autoclaim_ms,
        crash: text("crash"),
        kill_every_ms: redis_params.kill_every_ms,
        worker_kill: text("worker_kill"),
        snapshot_s: redis_params.snapshot_s,
        redis_kill: text("redis_kill"),
        redis_down_ms: redis_params.redis_down_ms,
        restart_dead: redis_params.restart_dead,
        restart_nodes: redis_params.restart_nodes.0,
        deadline_s: redis_params.deadline_s,
        topology: if is_redis {
            redis_params.topology_name().to_string()
        } else {
            String::new()
        },
        f: redis_params.f,
        wait_timeout_ms: redis_params.wait_timeout_ms,
        min_replicas_max_lag_s: redis_params.min_replicas_max_lag_s,
        queue: if is_redis {
            redis_params.queue.to_string()
        } else {
            String::new()
        },
        raft_module: redis_params.raft_module.clone(),
        pipeline: redis_params.pipeline,
        hosts: redis_params.hosts,
        rtt_ms: redis_params.rtt_ms,
        jitter_ms: redis_params.jitter_ms,
        loss_pct: redis_params.loss_pct,
        rate_mbit: redis_params.rate_mbit,
        partition: text("partition"),
        shaper: text("shaper"),
        partition_s: redis_params
            .partition
            .iter()
            .map(|p| p.length.as_secs_f64())
            .sum(),
        worker_cmd: redis_params.worker_cmd.clone(),
        worker_functions: redis_params.worker_functions.clone(),
    };
    let measured = Measured {
        outcome,
        planned: planned_faults(params),
    };
    let verdict = RunVerdict {
        correct: outcome.is_some() && diff_words == 0,
        diff_words,
        expect_exact: experiment.expect_exact_for(params),
        finished: outcome.is_some(),
        not_finished: String::new(),
    };
    RunRow::from_parts(head, RunMeasures::of(&measured), verdict)
}

/// The scheduled faults a run's parameters plan (none outside the `redis`
/// mode; an experiment's servers are always the harness's own).
pub fn planned_faults(params: &RunParams) -> FaultTally {
    if params.mode.name() != "redis" {
        return FaultTally::default();
    }
    let redis = &params.redis;
    FaultTally::planned(
        &redis.redis_kill,
        true,
        redis.worker_kill(),
        redis.crash.len(),
        redis.partition.len(),
    )
}

/// What did not fire in an unfired row, in words: `redis_kill planned 1,
/// fired 0`.
fn unfired_text(row: &RunRow) -> String {
    let planned: FaultTally = row.faults_planned.parse().unwrap_or_default();
    let fired: FaultTally = row.faults_fired.parse().unwrap_or_default();
    planned
        .unfired(&fired)
        .iter()
        .map(|(kind, planned, fired)| format!("{} planned {planned}, fired {fired}", kind.name()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The reason when `error` is a run that missed its deadline (a liveness
/// result recorded as a row, not a failure of the experiment).
fn missed_deadline(error: &anyhow::Error) -> Option<(String, FaultTally)> {
    error.chain().find_map(|cause| {
        let run = cause.downcast_ref::<RunError>()?;
        run.missed_deadline().map(|fired| (run.to_string(), fired))
    })
}

/// Records the faults that fired in `row` (finished or not) and whether
/// some planned one did not.
fn record_fired(row: &mut RunRow, fired: FaultTally) {
    let planned: FaultTally = row.faults_planned.parse().unwrap_or_default();
    row.faults_fired = fired.to_string();
    row.faults_unfired = !planned.unfired(&fired).is_empty();
}

fn store_row(csv: &Path, row: &RunRow, replace: bool) -> Result<()> {
    if replace {
        let rows = read_rows(csv)?;
        if rows.iter().any(|r| r.run_id == row.run_id) {
            let kept: Vec<RunRow> = rows
                .into_iter()
                .filter(|r| r.run_id != row.run_id)
                .collect();
            crate::fsutil::write_atomically(csv, |w| {
                let mut writer = csv::Writer::from_writer(w);
                for kept_row in &kept {
                    writer.serialize(kept_row).map_err(std::io::Error::other)?;
                }
                writer.flush()
            })?;
        }
    }
    Ok(append_row(csv, row)?)
}

fn write_sidecar(experiment: &Experiment, options: &RunOptions, csv: &Path) -> Result<()> {
    let sidecar = Sidecar {
        environment: capture_environment(options.command_line.clone(), utc_timestamp()),
        source: experiment.source.display().to_string(),
        description: experiment.description.clone(),
        lab: experiment.lab.clone(),
        shows: experiment.shows.clone(),
        scale: experiment.scale,
        plots: experiment.plots.clone(),
    };
    let path = sidecar_path(csv);
    crate::fsutil::write_atomically(&path, |w| {
        serde_json::to_writer_pretty(w, &sidecar).map_err(std::io::Error::other)
    })
}
