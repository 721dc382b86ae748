//! The local modes of Lab 1: `serial` (one thread, the reference and the
//! T_s of efficiency), `threads` (p threads in one process) and `processes`
//! (p worker OS processes fed units over pipes). All three pull units from
//! one queue, largest first, so a big file split into ranges keeps every
//! worker busy, and all three give identical counts.

mod processes;
mod threads;
mod wire;

use std::time::Instant;

use crate::input::{InputError, Unit, count_unit};
use crate::words::{Tally, Tokenizer, WordCounts};

pub(crate) use processes::{LocalWorkers, serve_local_worker};
pub(crate) use threads::run_threads;

/// What a local run produced.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocalOutcome {
    /// The merged counts.
    pub counts: WordCounts,
    /// Bytes and words seen.
    pub tally: Tally,
    /// Seconds from the first unit handed out to the last partial result received.
    pub count_s: f64,
    /// Seconds spent merging partial counts.
    pub merge_s: f64,
    /// Per worker: units counted (a serial run has one worker).
    pub units_per_worker: Vec<u64>,
}

/// Counts every unit in order on the calling thread.
pub(crate) fn run_serial(units: &[Unit], tokenizer: Tokenizer) -> Result<LocalOutcome, InputError> {
    let started = Instant::now();
    let mut counts = WordCounts::new();
    let mut tally = Tally::default();
    for unit in units {
        tally.add(count_unit(unit, tokenizer, &mut counts)?);
    }
    Ok(LocalOutcome {
        counts,
        tally,
        count_s: started.elapsed().as_secs_f64(),
        merge_s: 0.0,
        units_per_worker: vec![units.len() as u64],
    })
}

/// Orders units for dynamic scheduling: largest first (longest processing
/// time first keeps the tail short), ties in input order.
pub(crate) fn largest_first(units: &[Unit]) -> Vec<Unit> {
    let mut ordered = units.to_vec();
    ordered.sort_by_key(|u| std::cmp::Reverse(u.bytes()));
    ordered
}

/// One worker's result: its counts, its tally, and how many units it counted.
type Partial = (WordCounts, Tally, u64);

/// Joins scoped worker threads, re-raising a worker's panic.
fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, T>>) -> Vec<T> {
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .collect()
}

/// Merges the workers' partial results into one outcome, timing the merge;
/// the first worker error wins.
fn merge_partials<E>(results: Vec<Result<Partial, E>>, count_s: f64) -> Result<LocalOutcome, E> {
    let partials = results.into_iter().collect::<Result<Vec<_>, E>>()?;
    let started = Instant::now();
    let mut outcome = LocalOutcome {
        count_s,
        ..LocalOutcome::default()
    };
    for (partial, tally, done) in partials {
        outcome.counts.merge(partial);
        outcome.tally.add(tally);
        outcome.units_per_worker.push(done);
    }
    outcome.merge_s = started.elapsed().as_secs_f64();
    Ok(outcome)
}
