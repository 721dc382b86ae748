//! The `--dry-run` check that a fault due at a time (`at:MS`, `every:MS`
//! of `redis_kill` or `worker_kill`, `kill_every_ms`, a partition's
//! `at:MS`) comes before the job is expected to end: a fault due later
//! never fires, and the run shows nothing about it. The expected duration
//! (the job's `count_s`: workers started to Redis saying done) comes from
//! earlier rows (the results and the lab's calibration runs): the same
//! run's, else the runs at the same scale, else runs at another scale
//! scaled linearly (an estimate).

use super::{Experiment, RunParams};
use crate::results::{RunRow, median_min_max};

/// The first time-based fault of `params`, ms after the workers start,
/// and what it is (`redis_kill at:1000`).
fn first_timed_fault(params: &RunParams) -> Option<(u64, String)> {
    if params.mode.name() != "redis" {
        return None;
    }
    let redis = &params.redis;
    let mut due: Vec<(u64, String)> = Vec::new();
    if let Some(ms) = redis.redis_kill.when.first_due_ms() {
        due.push((ms, format!("redis_kill {}", redis.redis_kill)));
    }
    if let Some(time) = redis.worker_kill()
        && let Some(ms) = time.first_due_ms()
    {
        due.push((ms, format!("worker_kill {time}")));
    }
    for p in &redis.partition {
        if let Some(ms) = p.at.first_due_ms() {
            due.push((ms, format!("partition {p}")));
        }
    }
    due.into_iter().min_by_key(|(ms, _)| *ms)
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    median_min_max(&mut values).map(|(m, _, _)| m)
}

/// The expected seconds of a run of `params` at `scale` from `rows`, and
/// where the figure comes from.
fn expected_s(params: &RunParams, scale: f64, rows: &[RunRow]) -> Option<(f64, &'static str)> {
    let key = params.key(scale);
    let finished = || rows.iter().filter(|r| r.finished && r.count_s.is_finite());
    if let Some(m) = median(
        finished()
            .filter(|r| r.params_key == key)
            .map(|r| r.count_s)
            .collect(),
    ) {
        return Some((m, "its earlier runs"));
    }
    if let Some(m) = median(
        finished()
            .filter(|r| r.scale == scale)
            .map(|r| r.count_s)
            .collect(),
    ) {
        return Some((m, "the experiment's earlier runs at this scale"));
    }
    median(
        finished()
            .filter(|r| r.scale > 0.0)
            .map(|r| r.count_s * scale / r.scale)
            .collect(),
    )
    .map(|m| (m, "an estimate from runs at other scales"))
}

/// One warning per run whose first time-based fault is due after the run
/// is expected to have ended, with what to do.
pub fn late_fault_warnings(experiment: &Experiment, rows: &[RunRow]) -> Vec<String> {
    experiment
        .runs
        .iter()
        .filter_map(|params| {
            let (ms, what) = first_timed_fault(params)?;
            let (expected, source) = expected_s(params, experiment.scale, rows)?;
            (ms as f64 / 1000.0 > expected).then(|| {
                format!(
                    "{}: {what} is due {:.2} s after the workers start, but the job is expected to take about {expected:.2} s ({source}): the fault will likely not fire (the run is then flagged faults_unfired); use a share of the units such as at:50% or a larger --scale",
                    params.describe(),
                    ms as f64 / 1000.0
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_timed_fault_after_the_expected_end_is_warned_about() {
        let text = "description = \"d\"\n[fixed]\nmode = \"redis\"\nworkers = 2\ninput = { preset = \"uniform\", files = 2, size = \"1KB\" }\n[matrix]\nredis_kill = [\"none\", \"at:1000\", \"at:50%\", \"every:200\"]\n";
        let experiment = super::super::parse_experiment(Path::new("e.toml"), text, 0.5).unwrap();
        assert!(
            late_fault_warnings(&experiment, &[]).is_empty(),
            "no rows, no estimate"
        );
        // Earlier runs at scale 1 took 0.6 s: about 0.3 s at 0.5.
        let row = |count_s| RunRow {
            count_s,
            scale: 1.0,
            ..RunRow::sample("redis", 2, 1, count_s)
        };
        let warnings = late_fault_warnings(&experiment, &[row(0.6), row(0.6)]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("redis_kill primary:at:1000") && warnings[0].contains("0.30 s"),
            "{}",
            warnings[0]
        );
        // The run's own earlier rows, long enough: no warning.
        let key = experiment.runs[1].key(0.5);
        let own = RunRow {
            params_key: key,
            scale: 0.5,
            ..row(2.0)
        };
        assert!(late_fault_warnings(&experiment, &[own, row(0.6)]).is_empty());
    }
}
