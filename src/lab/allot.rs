//! A scale per experiment under `--budget`: timing experiments get runs
//! long enough to clear the run-to-run noise, fault experiments a scale at
//! which their faults land, and what the budget cannot serve is skipped
//! with the reason. A pure function of the estimates (tested without
//! running anything).
//!
//! The rules:
//! - timing experiment (no scheduled fault): the smallest scale of the
//!   ladder whose median run is at least [`TIMING_MEDIAN_RUN_S`];
//! - fault experiment: progress-relative faults (`at:50%`) land at any
//!   scale, so the smallest scale whose median run is at least
//!   [`FAULT_MEDIAN_RUN_S`]; a fault due at a time (`at:MS`, `every:MS`)
//!   needs a median run of [`TIMED_FAULT_MARGIN`] times its latest first
//!   due time (a run's wall time includes starting the servers and
//!   workers, before the fault's clock starts);
//! - stealing experiment (a throttled worker, a steal timeout, no fault):
//!   scale 1, the size its file is written for: the straggler's unit must
//!   outlast the steal timeout, and a smaller scale shrinks its units and
//!   the time it holds one (at a quarter of the size, 8 MB files at 5% of
//!   a CPU, some runs stole nothing);
//! - when the minimums do not fit, the most expensive experiments are
//!   skipped until they do; what is left of the budget then raises the
//!   timing experiments' scales first (one ladder step each in turn), then
//!   the fault experiments';
//! - an experiment with rows at a ladder scale already keeps that scale
//!   (one scale per CSV; a stopped lab resumes).

use super::budget::{SCALE_LADDER, Second, human};

/// The least median run of a timing experiment: shorter runs leave its
/// effects within the noise of start-up and scheduling.
pub(crate) const TIMING_MEDIAN_RUN_S: Second = 0.5;
/// The least median run of a fault experiment whose faults follow the job.
pub(crate) const FAULT_MEDIAN_RUN_S: Second = 0.05;
/// A fault due at a time needs a median run this many times longer.
pub(crate) const TIMED_FAULT_MARGIN: f64 = 2.0;

/// What an experiment is for, as far as its scale goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Lesson {
    /// Times and rates: needs runs long enough to clear the noise.
    Timing,
    /// Faults during the job; `latest_ms`: the latest first due time of a
    /// time-based fault (`None`: every fault follows the job's progress or
    /// a worker's units).
    Faults {
        /// The latest first due time of a time-based fault, ms.
        latest_ms: Option<u64>,
    },
    /// A throttled worker whose units the others steal: its counts of
    /// stolen units and refused commits need the scale its file is written
    /// for (the largest of the ladder).
    Stealing,
}

/// One experiment's estimates, per scale of [`SCALE_LADDER`] (same order).
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// The experiment.
    pub name: String,
    /// Timing or faults.
    pub lesson: Lesson,
    /// Estimated seconds of what is left to run, per ladder scale.
    pub total_s: Vec<Option<Second>>,
    /// Estimated median seconds of one run, per ladder scale.
    pub median_run_s: Vec<Option<Second>>,
    /// A ladder scale its CSV already holds rows at (kept).
    pub resume: Option<f64>,
}

/// The scale an experiment got, or why it is skipped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Allotment {
    /// The experiment.
    pub name: String,
    /// Its scale; `None`: skipped.
    pub scale: Option<f64>,
    /// Estimated seconds at that scale.
    pub estimate_s: Second,
    /// Why this scale (or why skipped), in words.
    pub why: String,
    /// Skipped: the scale it needed and its estimated seconds there.
    pub needed: Option<(f64, Second)>,
}

/// Ladder indices, smallest scale first.
fn ascending() -> Vec<usize> {
    let mut order: Vec<usize> = (0..SCALE_LADDER.len()).collect();
    order.sort_by(|&a, &b| SCALE_LADDER[a].total_cmp(&SCALE_LADDER[b]));
    order
}

impl Candidate {
    fn cost(&self, index: usize) -> Second {
        self.total_s[index].unwrap_or(0.0)
    }

    fn median(&self, index: usize) -> Option<Second> {
        self.median_run_s.get(index).copied().flatten()
    }

    /// The least median run this experiment needs, and the rule in words.
    fn need(&self) -> (Second, String) {
        match self.lesson {
            Lesson::Timing => (
                TIMING_MEDIAN_RUN_S,
                format!(
                    "timing: a median run of at least {TIMING_MEDIAN_RUN_S} s clears the run-to-run noise"
                ),
            ),
            Lesson::Faults { latest_ms: None } => (
                FAULT_MEDIAN_RUN_S,
                "its faults follow the job (a share of the units, a worker's nth unit), so they land at any scale".to_string(),
            ),
            Lesson::Stealing => (
                0.0,
                "stealing: at the size its file is written for, the throttled worker holds each unit longer than the steal timeout".to_string(),
            ),
            Lesson::Faults {
                latest_ms: Some(ms),
            } => {
                let s = (TIMED_FAULT_MARGIN * ms as f64 / 1000.0).max(FAULT_MEDIAN_RUN_S);
                (
                    s,
                    format!(
                        "a fault due {ms} ms into the job needs median runs of at least {s:.2} s ({TIMED_FAULT_MARGIN}x, start-up included)"
                    ),
                )
            }
        }
    }

    /// The position (in `order`) of the smallest scale meeting the rule;
    /// the largest scale when none does (with `false`).
    fn minimum(&self, order: &[usize]) -> (usize, bool) {
        if self.lesson == Lesson::Stealing {
            return (order.len() - 1, true);
        }
        let (need, _) = self.need();
        match order
            .iter()
            .position(|&i| self.median(i).is_none_or(|m| m >= need))
        {
            Some(pos) => (pos, true),
            None => (order.len() - 1, false),
        }
    }
}

/// A scale for each candidate within `budget_s` (see the module doc).
pub(crate) fn allot(candidates: &[Candidate], budget_s: Second) -> Vec<Allotment> {
    let order = ascending();
    // Per candidate: position in `order` (None: skipped), pinned, met the rule at its minimum.
    let mut at: Vec<Option<usize>> = Vec::new();
    let mut pinned: Vec<bool> = Vec::new();
    let mut met: Vec<bool> = Vec::new();
    for c in candidates {
        let resume = c
            .resume
            .and_then(|s| order.iter().position(|&i| SCALE_LADDER[i] == s));
        let (minimum, ok) = c.minimum(&order);
        at.push(Some(resume.unwrap_or(minimum)));
        pinned.push(resume.is_some());
        met.push(ok);
    }
    let total = |at: &[Option<usize>]| -> Second {
        candidates
            .iter()
            .zip(at)
            .filter_map(|(c, pos)| pos.map(|p| c.cost(order[p])))
            .sum()
    };
    let mut skipped: Vec<Option<(String, f64, Second)>> = vec![None; candidates.len()];
    while total(&at) > budget_s {
        let Some(worst) = (0..candidates.len())
            .filter(|&i| at[i].is_some())
            .max_by(|&a, &b| {
                let cost = |i: usize| at[i].map_or(0.0, |p| candidates[i].cost(order[p]));
                cost(a).total_cmp(&cost(b))
            })
        else {
            break;
        };
        let pos = at[worst].unwrap_or(0);
        let c = &candidates[worst];
        let (scale, cost) = (SCALE_LADDER[order[pos]], c.cost(order[pos]));
        // Why not a smaller scale: its median run there, below the rule's.
        let below = match (pos.checked_sub(1), c.lesson) {
            (Some(smaller), Lesson::Timing | Lesson::Faults { .. }) => c
                .median(order[smaller])
                .map(|m| {
                    format!(
                        "; at scale {} its median run is about {m:.2} s",
                        SCALE_LADDER[order[smaller]]
                    )
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        skipped[worst] = Some((
            format!(
                "skipped: needs about {} at scale {scale} ({}{below}), more than the budget can spare",
                human(cost),
                c.need().1
            ),
            scale,
            cost,
        ));
        at[worst] = None;
    }
    for timing_pass in [true, false] {
        loop {
            let mut raised = false;
            for i in 0..candidates.len() {
                let Some(pos) = at[i] else { continue };
                if pinned[i] || (candidates[i].lesson == Lesson::Timing) != timing_pass {
                    continue;
                }
                if pos + 1 >= order.len() {
                    continue;
                }
                let mut trial = at.clone();
                trial[i] = Some(pos + 1);
                if total(&trial) <= budget_s {
                    at = trial;
                    raised = true;
                }
            }
            if !raised {
                break;
            }
        }
    }
    candidates
        .iter()
        .enumerate()
        .map(|(i, c)| match at[i] {
            None => Allotment {
                name: c.name.clone(),
                scale: None,
                estimate_s: 0.0,
                why: skipped[i]
                    .as_ref()
                    .map(|(why, _, _)| why.clone())
                    .unwrap_or_default(),
                needed: skipped[i].as_ref().map(|&(_, scale, cost)| (scale, cost)),
            },
            Some(pos) => {
                let index = order[pos];
                let scale = SCALE_LADDER[index];
                let median = c
                    .median(index)
                    .map_or_else(|| "unknown".to_string(), |m| format!("{m:.2} s"));
                let (need, rule) = c.need();
                let why = if pinned[i] {
                    format!("resuming its rows at this scale; median run about {median}")
                } else if !met[i] && c.median(index).is_some_and(|m| m < need) {
                    format!(
                        "{rule}, but its median run is about {median} even at the largest scale: its verdicts may stay within the noise"
                    )
                } else {
                    format!("{rule}; median run about {median}")
                };
                Allotment {
                    name: c.name.clone(),
                    scale: Some(scale),
                    estimate_s: c.cost(index),
                    why,
                    needed: None,
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Costs per ladder scale [1.0, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01]:
    /// `runs` runs whose median is `per_scale_s` x scale + `fixed_s`.
    fn candidate(
        name: &str,
        lesson: Lesson,
        runs: f64,
        fixed_s: f64,
        per_scale_s: f64,
    ) -> Candidate {
        let median: Vec<Option<Second>> = SCALE_LADDER
            .iter()
            .map(|s| Some(fixed_s + per_scale_s * s))
            .collect();
        Candidate {
            name: name.into(),
            lesson,
            total_s: median.iter().map(|m| m.map(|m| m * runs)).collect(),
            median_run_s: median,
            resume: None,
        }
    }

    #[test]
    fn timing_runs_get_long_enough_and_faults_stay_small() {
        let workers = candidate("workers", Lesson::Timing, 20.0, 0.05, 3.0);
        let kills = candidate("kills", Lesson::Faults { latest_ms: None }, 10.0, 0.5, 2.0);
        let late = candidate(
            "late",
            Lesson::Faults {
                latest_ms: Some(1000),
            },
            4.0,
            0.1,
            2.0,
        );
        let got = allot(&[workers.clone(), kills.clone(), late.clone()], 60.0);
        let scale = |name: &str| got.iter().find(|a| a.name == name).unwrap().scale;
        // workers: 0.05 + 3 s at scale 0.25 = 0.8 s >= 0.5 s; then raised while the budget allows.
        assert!(scale("workers").unwrap() >= 0.25, "{got:?}");
        // Fault experiments only get what the timing ones could not use.
        assert!(scale("kills") <= scale("workers"), "{got:?}");
        // late: 0.1 + 2 s needs scale 1 for a 2 s run (2 x 1000 ms).
        assert_eq!(scale("late"), Some(1.0), "{got:?}");
        let total: Second = got.iter().map(|a| a.estimate_s).sum();
        assert!(total <= 60.0, "{got:?}");
        assert!(got[0].why.contains("0.5 s"), "{}", got[0].why);

        // A budget too small for the timing experiment's minimum skips it, with the reason.
        let tight = allot(&[workers, kills], 15.0);
        assert_eq!(tight[0].scale, None, "{tight:?}");
        assert!(tight[0].why.contains("skipped"), "{}", tight[0].why);
        assert!(tight[1].scale.is_some(), "{tight:?}");
    }

    #[test]
    fn stealing_runs_at_the_size_its_file_is_written_for() {
        // Cheap at every scale and far under the timing rule's 0.5 s: a
        // timing experiment would get the largest scale only with a note
        // that it stays within the noise; a stealing one gets it by rule.
        let stealing = candidate("stealing", Lesson::Stealing, 16.0, 0.1, 0.2);
        let workers = candidate("workers", Lesson::Timing, 20.0, 0.05, 3.0);
        let got = allot(&[stealing.clone(), workers], 1e6);
        assert_eq!(got[0].scale, Some(1.0), "{got:?}");
        assert!(got[0].why.starts_with("stealing:"), "{}", got[0].why);
        assert!(!got[0].why.contains("noise"), "{}", got[0].why);
        // A budget that would hold it at a smaller scale skips it rather
        // than shrink its units below the steal timeout.
        let at_1 = stealing.cost(0);
        let got = allot(&[stealing], at_1 - 0.1);
        assert_eq!(got[0].scale, None, "{got:?}");
        assert_eq!(got[0].needed, Some((1.0, at_1)), "{got:?}");
        assert!(
            got[0].why.contains("at scale 1 (stealing:"),
            "{}",
            got[0].why
        );
    }

    #[test]
    fn a_skip_says_what_it_needed_and_why_not_smaller() {
        // Median 0.1 + 0.5 x scale: at least 0.5 s only at scale 1 (0.6 s);
        // at 0.5 it is 0.35 s.
        let ladder = candidate("atomic-cost", Lesson::Timing, 100.0, 0.1, 0.5);
        let got = allot(&[ladder], 30.0);
        assert_eq!(got[0].scale, None, "{got:?}");
        assert_eq!(got[0].needed, Some((1.0, 60.0)), "{got:?}");
        let why = &got[0].why;
        assert!(why.contains("needs about 60 s at scale 1"), "{why}");
        assert!(
            why.contains("at scale 0.5 its median run is about 0.35 s"),
            "{why}"
        );
    }

    #[test]
    fn rows_at_a_scale_pin_it() {
        let mut workers = candidate("workers", Lesson::Timing, 20.0, 0.05, 3.0);
        workers.resume = Some(0.1);
        let got = allot(&[workers], 1e6);
        assert_eq!(got[0].scale, Some(0.1));
        assert!(got[0].why.contains("resuming"));
    }
}
