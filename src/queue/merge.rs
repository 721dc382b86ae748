//! Merge targets: where a job's counts accumulate in Redis while it runs,
//! and how the client reads them back at the end (run parameter `merge`).
//!
//! - [`MergeTarget::Zset`] (the lab's): `ZINCRBY wc:{JOB}:counts BY WORD`
//!   into one sorted set. Each update costs O(log n) in the skip list and
//!   touches cache lines all over it: measured 1.9 us per call at 1k
//!   members, 10 us at 200k.
//! - [`MergeTarget::Hash`]: `HINCRBY wc:{JOB}:hcounts WORD BY` into one
//!   hash (O(1), ~1 us at 200k fields); the order (top-k, `--output`) is
//!   built once, at the end, by the client from an `HSCAN`.
//! - [`MergeTarget::Parts`]: each commit stores its whole counts as ONE
//!   binary blob (`SET wc:{JOB}:part:{MSGID} BLOB`, listed in
//!   `wc:{JOB}:parts`); the merge happens at the read, in the client, like
//!   the local modes do. Redis then does one cheap write per commit
//!   whatever the vocabulary, which is as close to local counting as a
//!   Redis-coordinated count gets. A part is keyed by the message it
//!   commits, so writing it twice writes the same bytes: idempotent.
//!
//! Every target keeps the same exactly-once rules, on both queues: the
//! atomic commit (`lua/wordcount.lua`) applies a unit's counts only if its
//! `XACK` returned 1, the lease commit (`lua/lease.lua`) only while the
//! unit is this worker's and not done, whatever the target. The Lua side
//! of the targets is one file, `lua/merge.lua`, spliced into both Function
//! libraries by [`function_library`].

use std::fmt;
use std::str::FromStr;

use super::error::QueueError;
use super::keys::JobKeys;
use crate::words::WordCounts;

/// The Lua definition of the merge targets (`lua/merge.lua`).
const MERGE_LUA: &str = include_str!("../../lua/merge.lua");

/// The text `FUNCTION LOAD` gets for the library `source` (whose first
/// line is its `#!lua name=...` line): `lua/merge.lua` spliced in right
/// after that line, so both libraries share one definition of the targets.
pub(crate) fn function_library(source: &str) -> String {
    let (first, rest) = source.split_once('\n').unwrap_or((source, ""));
    format!("{first}\n{MERGE_LUA}{rest}")
}

/// The binary encoding of `counts` stored as one part.
pub(crate) fn counts_blob(counts: &WordCounts) -> Result<Vec<u8>, QueueError> {
    let mut blob = Vec::with_capacity(counts.distinct() * 16 + 4);
    counts
        .write_binary(&mut blob)
        .map_err(|error| QueueError::Io {
            what: "encoding a part of counts".into(),
            error,
        })?;
    Ok(blob)
}

/// Where a job's counts accumulate.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum MergeTarget {
    /// `ZINCRBY` into one sorted set (the lab's).
    #[default]
    Zset,
    /// `HINCRBY` into one hash; ordered once at the end.
    Hash,
    /// One binary blob of counts per commit, merged at the read.
    Parts,
}

impl MergeTarget {
    /// Every target, in the order tables list them.
    pub(crate) const ALL: [MergeTarget; 3] =
        [MergeTarget::Zset, MergeTarget::Hash, MergeTarget::Parts];

    /// The name in flags, TOML, CSV and the Function's arguments.
    pub(crate) fn name(self) -> &'static str {
        match self {
            MergeTarget::Zset => "zset",
            MergeTarget::Hash => "hash",
            MergeTarget::Parts => "parts",
        }
    }

    /// The Redis command one word update costs (what `INFO commandstats`
    /// is read for); `SET` for parts (one per commit).
    pub(crate) fn update_command(self) -> &'static str {
        match self {
            MergeTarget::Zset => "zincrby",
            MergeTarget::Hash => "hincrby",
            MergeTarget::Parts => "set",
        }
    }

    /// Adds `by` to `word` in `key` (zset and hash; parts has no per-word
    /// update and is committed whole, see [`MergeTarget::sends_words`]).
    pub(crate) fn push_update(self, pipe: &mut redis::Pipeline, key: &str, word: &[u8], by: u64) {
        match self {
            MergeTarget::Zset => pipe.cmd("ZINCRBY").arg(key).arg(by).arg(word),
            MergeTarget::Hash | MergeTarget::Parts => {
                pipe.cmd("HINCRBY").arg(key).arg(word).arg(by)
            }
        }
        .ignore();
    }

    /// The key a commit whose first unit is `first` writes into: the
    /// job's sorted set or hash, or that commit's own part.
    pub(crate) fn key(self, keys: &JobKeys, first: &str) -> String {
        match self {
            MergeTarget::Zset => keys.counts(),
            MergeTarget::Hash => keys.hash_counts(),
            MergeTarget::Parts => keys.part(first),
        }
    }

    /// Whether commits send one update per word (false: one blob per commit).
    pub(crate) fn sends_words(self) -> bool {
        self != MergeTarget::Parts
    }
}

impl fmt::Display for MergeTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MergeTarget {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        MergeTarget::ALL
            .into_iter()
            .find(|target| target.name() == text.trim())
            .ok_or_else(|| format!("unknown merge target {text:?}: use zset, hash or parts"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for target in MergeTarget::ALL {
            assert_eq!(target.name().parse(), Ok(target));
        }
        assert!("sorted-set".parse::<MergeTarget>().is_err());
        assert_eq!(MergeTarget::default(), MergeTarget::Zset);
    }

    #[test]
    fn the_merge_lua_is_spliced_after_the_library_line() {
        let library = function_library("#!lua name=x\nlocal y = merge_pairs\n");
        assert!(library.starts_with("#!lua name=x\n--[["), "{library}");
        assert!(library.ends_with("\nlocal y = merge_pairs\n"));
        assert!(library.contains("local function merge_pairs("));
    }

    #[test]
    fn updates_name_the_target_command() {
        let mut pipe = redis::pipe();
        MergeTarget::Zset.push_update(&mut pipe, "z", b"w", 3);
        MergeTarget::Hash.push_update(&mut pipe, "h", b"w", 3);
        let packed = String::from_utf8_lossy(&pipe.get_packed_pipeline()).into_owned();
        assert!(
            packed.contains("ZINCRBY\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\nw"),
            "{packed}"
        );
        assert!(
            packed.contains("HINCRBY\r\n$1\r\nh\r\n$1\r\nw\r\n$1\r\n3"),
            "{packed}"
        );
    }
}
