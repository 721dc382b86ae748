//! `threads` mode: p threads in one process, each with its own map (all
//! with the same hash seeds, so merging walks memory in order), pulling
//! units from a shared index; maps merged at the end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::{LocalOutcome, Partial, join_all, largest_first, merge_partials};
use crate::input::{InputError, Unit, count_unit};
use crate::words::{TableSeeds, Tally, Tokenizer, WordCounts};

/// Counts `units` with `workers` threads (at least 1).
pub(crate) fn run_threads(
    units: &[Unit],
    tokenizer: Tokenizer,
    workers: usize,
) -> Result<LocalOutcome, InputError> {
    let ordered = largest_first(units);
    let next = AtomicUsize::new(0);
    let seeds = TableSeeds::random();
    let started = Instant::now();
    let results: Vec<Result<Partial, InputError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut counts = WordCounts::with_seeds(seeds);
                    let mut tally = Tally::default();
                    let mut done = 0u64;
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(unit) = ordered.get(index) else {
                            break;
                        };
                        tally.add(count_unit(unit, tokenizer, &mut counts)?);
                        done += 1;
                    }
                    Ok((counts, tally, done))
                })
            })
            .collect();
        join_all(handles)
    });
    let count_s = started.elapsed().as_secs_f64();
    merge_partials(results, count_s)
}
