//! Commit paths: how a worker merges the counts of one unit into the
//! job's sorted set and acknowledges the unit's message.
//!
//! - [`CommitPath::PerUnit`]: one `ZINCRBY key count word` per distinct word
//!   of the unit (the lab's "per-file" merge).
//! - [`CommitPath::PerWord`]: one `ZINCRBY key 1 word` per word occurrence
//!   (the lab's "per-word" merge).
//!
//! - [`CommitPath::Atomic`] (`--atomic`, Lab 3): one `FCALL wc_commit`
//!   (the Redis Function in `lua/wordcount.lua`, [`FUNCTION_LIBRARY`]) that
//!   `XACK`s the message and, only if `XACK` returned 1, applies the unit's
//!   counts, all in one atomic call. A duplicate commit (the unit was
//!   stolen and already committed by another worker) returns 0 and applies
//!   nothing.
//!
//! The first two are pipelined, at most `pipeline_commands` commands per
//! round trip, and end with `XACK`; they are not atomic (a crash between
//! the increments and the `XACK` lets the unit be counted twice).
//!
//! Every path writes into the run's merge target ([`super::MergeTarget`]:
//! the sorted set, a hash, or one blob per commit), and commits either one
//! unit or a batch of `commit_units` units whose counts the worker merged
//! (the combiner): the atomic path then applies the batch only if every
//! one of its units is still pending for this worker.
//!
//! # Atomic commits of large units ([`StagePlan`])
//!
//! A commit with at most [`INLINE_MAX_PAIRS`] distinct words sends its
//! word/count pairs inline in the `FCALL` (a few MB of arguments: cheap for
//! Redis, and one round trip). A larger one is staged first:
//! pipelined `HSET` of chunks of at most `pipeline_commands` pairs into a
//! hash per (message, consumer), `wc:{JOB}:stage:{MSGID}:{CONSUMER}`, then
//! one `FCALL` without inline pairs applies the staged hash (only if its
//! `XACK` returned 1) and deletes it. Staging is idempotent (each word is in
//! exactly one chunk; `HSET` overwrites with the same count) and
//! invisible to the counts until the `FCALL`, so atomicity and exactly-once
//! application hold however many chunks there are; thief and straggler stage
//! into different keys. The `mid-commit` crash point of the atomic path is
//! after staging, before the `FCALL` (for an inline unit that is the same
//! place as `before-commit`): the counts are untouched and another worker's
//! commit of the stolen unit applies them once.

use std::fmt;
use std::str::FromStr;

use redis::Pipeline;

use super::MergeTarget;
use crate::words::WordCounts;

/// How a worker merges a unit's counts.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum CommitPath {
    /// One `ZINCRBY` per distinct word of the unit, by its count.
    #[default]
    PerUnit,
    /// One `ZINCRBY` of 1 per word occurrence.
    PerWord,
    /// One atomic `FCALL wc_commit` (XACK, then the unit's counts only if
    /// XACK returned 1), staging large units first.
    Atomic,
}

/// The Redis Function library of the atomic commit (`lua/wordcount.lua`).
pub const FUNCTION_LIBRARY: &str = include_str!("../../lua/wordcount.lua");
/// The name of the atomic commit function in [`FUNCTION_LIBRARY`].
pub const COMMIT_FUNCTION: &str = "wc_commit";

/// The most word/count pairs an atomic commit sends inline in its one
/// `FCALL` (about 2-4 MB of arguments for book vocabularies); beyond that
/// it stages them first.
pub const INLINE_MAX_PAIRS: u64 = 250_000;

/// How an atomic commit of a unit with `distinct` distinct words sends
/// them: inline up to `inline_max` pairs, else staged in chunks of `chunk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StagePlan {
    /// Every pair inline in the one `FCALL`.
    Inline,
    /// `chunks` pipelined `HSET` round trips into the stage hash, then an
    /// `FCALL` without inline pairs.
    Staged {
        /// Number of staging chunks.
        chunks: u64,
    },
}

impl StagePlan {
    /// The plan for `distinct` words: inline up to `inline_max`, else
    /// staged with at most `chunk` pairs per round trip.
    pub(crate) fn new(distinct: u64, inline_max: u64, chunk: usize) -> StagePlan {
        let chunk = chunk.max(1) as u64;
        if distinct <= inline_max {
            StagePlan::Inline
        } else {
            StagePlan::Staged {
                chunks: distinct.div_ceil(chunk),
            }
        }
    }

    /// Round trips of the whole commit (staging plus the `FCALL`).
    pub(crate) fn round_trips(self) -> u64 {
        match self {
            StagePlan::Inline => 1,
            StagePlan::Staged { chunks } => chunks + 1,
        }
    }
}

impl CommitPath {
    /// The commit path the `atomic` and `per_word` settings ask for
    /// (atomic wins; they are never both set after validation).
    pub(crate) fn from_flags(atomic: bool, per_word: bool) -> CommitPath {
        if atomic {
            CommitPath::Atomic
        } else if per_word {
            CommitPath::PerWord
        } else {
            CommitPath::PerUnit
        }
    }

    /// The name used on command lines and in CSV files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            CommitPath::PerUnit => "per-unit",
            CommitPath::PerWord => "per-word",
            CommitPath::Atomic => "atomic",
        }
    }

    /// How many `ZINCRBY` commands the path sends for `counts`.
    pub fn updates(self, counts: &WordCounts) -> u64 {
        match self {
            CommitPath::PerUnit | CommitPath::Atomic => counts.distinct() as u64,
            CommitPath::PerWord => counts.total(),
        }
    }
}

impl fmt::Display for CommitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CommitPath {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "per-unit" | "per-file" => Ok(CommitPath::PerUnit),
            "per-word" => Ok(CommitPath::PerWord),
            "atomic" => Ok(CommitPath::Atomic),
            _ => Err(format!(
                "unknown commit path {text:?}: use per-unit, per-word or atomic"
            )),
        }
    }
}

/// What one commit sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// `ZINCRBY` commands sent.
    pub updates: u64,
    /// Round trips to Redis, the acknowledgement included.
    pub round_trips: u64,
    /// Whether the commit's counts were applied: every message of it was
    /// acknowledged by this commit (false: some were already acknowledged,
    /// or, for a batch, no longer this worker's).
    pub acked: bool,
    /// Messages this commit acknowledged.
    pub acked_units: u64,
}

/// Sends the increments of one commit through `send`, as pipelines of at
/// most `chunk` commands, built one at a time (a per-word commit of a large
/// unit would not fit in memory at once). `send` gets each pipeline and
/// whether it is the last, so it can append the `XACK` to it. A unit without
/// words still gets one (empty) last pipeline.
pub fn for_each_pipeline<E>(
    path: CommitPath,
    target: MergeTarget,
    counts_key: &str,
    counts: &WordCounts,
    chunk: usize,
    mut send: impl FnMut(&mut Pipeline, bool) -> Result<(), E>,
) -> Result<(), E> {
    let chunk = chunk.max(1);
    let total = path.updates(counts);
    let mut pipe = redis::Pipeline::with_capacity(chunk.min(total as usize) + 1);
    if total == 0 {
        return send(&mut pipe, true);
    }
    let (mut in_pipe, mut sent) = (0usize, 0u64);
    for (word, count) in counts.iter() {
        let (repeat, by) = match path {
            CommitPath::PerUnit | CommitPath::Atomic => (1, count),
            CommitPath::PerWord => (count, 1),
        };
        for _ in 0..repeat {
            target.push_update(&mut pipe, counts_key, word, by);
            in_pipe += 1;
            sent += 1;
            if in_pipe == chunk || sent == total {
                send(&mut pipe, sent == total)?;
                pipe.clear();
                in_pipe = 0;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts() -> WordCounts {
        let mut counts = WordCounts::new();
        counts.add(b"a", 3);
        counts.add(b"b\xff", 1);
        counts.add(b"c", 2);
        counts
    }

    /// Commands per pipeline, and which pipelines were marked last.
    fn commands(path: CommitPath, counts: &WordCounts, chunk: usize) -> (Vec<usize>, Vec<bool>) {
        let (mut sizes, mut last) = (Vec::new(), Vec::new());
        for_each_pipeline(
            path,
            MergeTarget::Zset,
            "k",
            counts,
            chunk,
            |pipe, is_last| {
                sizes.push(pipe.cmd_iter().count());
                last.push(is_last);
                Ok::<(), ()>(())
            },
        )
        .unwrap();
        (sizes, last)
    }

    #[test]
    fn per_unit_sends_one_update_per_distinct_word() {
        let counts = counts();
        assert_eq!(CommitPath::PerUnit.updates(&counts), 3);
        assert_eq!(
            commands(CommitPath::PerUnit, &counts, 10),
            (vec![3], vec![true])
        );
        assert_eq!(
            commands(CommitPath::PerUnit, &counts, 2),
            (vec![2, 1], vec![false, true])
        );
    }

    #[test]
    fn per_word_sends_one_update_per_occurrence() {
        let counts = counts();
        assert_eq!(CommitPath::PerWord.updates(&counts), 6);
        assert_eq!(
            commands(CommitPath::PerWord, &counts, 4),
            (vec![4, 2], vec![false, true])
        );
        assert_eq!(
            commands(CommitPath::PerWord, &counts, 3),
            (vec![3, 3], vec![false, true])
        );
    }

    #[test]
    fn empty_counts_still_give_one_pipeline_for_the_ack() {
        assert_eq!(
            commands(CommitPath::PerUnit, &WordCounts::new(), 10),
            (vec![0], vec![true])
        );
    }

    #[test]
    fn names_parse() {
        for path in [CommitPath::PerUnit, CommitPath::PerWord, CommitPath::Atomic] {
            assert_eq!(path.name().parse(), Ok(path));
        }
        assert_eq!("per-file".parse(), Ok(CommitPath::PerUnit));
        assert!("atomically".parse::<CommitPath>().is_err());
    }

    #[test]
    fn stage_plans_inline_small_units_and_chunk_large_ones() {
        assert_eq!(StagePlan::new(0, 10, 10), StagePlan::Inline);
        assert_eq!(StagePlan::new(10, 10, 3), StagePlan::Inline);
        assert_eq!(StagePlan::new(11, 10, 10), StagePlan::Staged { chunks: 2 });
        assert_eq!(StagePlan::new(30, 10, 10), StagePlan::Staged { chunks: 3 });
        assert_eq!(StagePlan::new(5, 0, 0), StagePlan::Staged { chunks: 5 });
        assert_eq!(StagePlan::new(30, 0, 10).round_trips(), 4);
        assert_eq!(StagePlan::Inline.round_trips(), 1);
    }

    #[test]
    fn the_function_library_declares_the_commit_function() {
        assert!(FUNCTION_LIBRARY.starts_with("#!lua name=wordcount"));
        assert!(FUNCTION_LIBRARY.contains(&format!("register_function('{COMMIT_FUNCTION}'")));
    }
}
