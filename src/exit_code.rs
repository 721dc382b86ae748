//! The exit codes of every process the harness runs, in one table: the
//! `harness` commands and the built-in `redis-worker` (and, for an injected
//! crash, any worker following docs/PROTOCOL.md). Each number has one
//! meaning; docs that list exit codes (docs/experiments.md, docs/faults.md,
//! docs/hosts.md, docs/PROTOCOL.md) follow this table.
//!
//! This module imports nothing, so every room can use it.

/// Success: the command did its work; a worker found nothing left to do.
pub(crate) const OK: i32 = 0;
/// Any failure not listed below.
pub(crate) const FAILED: i32 = 1;
/// A worker could not read an input file.
pub(crate) const BAD_INPUT: i32 = 2;
/// A job missed its deadline (`deadline_s`): it did not finish.
pub(crate) const NOT_FINISHED: i32 = 3;
/// `harness run`: the experiment cannot run on this machine (its books,
/// the RedisRaft module or root for emulated hosts are missing); nothing
/// ran, and the message says what to install or fetch.
pub(crate) const CANNOT_RUN: i32 = 4;
/// A worker lost Redis and it did not come back in time.
pub(crate) const REDIS_GONE: i32 = 5;
/// Redis refused a worker's credentials.
pub(crate) const AUTH: i32 = 6;
/// A worker crashed on purpose at an injected crash point (see `faults`;
/// external workers use it too, docs/PROTOCOL.md).
pub const CRASHED: i32 = 86;
/// Stopped by Ctrl-C (128 + SIGINT; see [`interrupted`]).
pub(crate) const INTERRUPTED: i32 = 128 + 2;
/// Stopped by SIGTERM (128 + SIGTERM; see [`interrupted`]).
#[cfg(test)]
pub(crate) const TERMINATED: i32 = 128 + 15;

/// The exit code after signal `signal` stopped the process (0: none seen,
/// counted as Ctrl-C): 128 + its number, as the shell reports it.
pub(crate) fn interrupted(signal: i32) -> i32 {
    if signal == 0 {
        INTERRUPTED
    } else {
        128 + signal
    }
}

/// Every code with its name, for docs and tests.
#[cfg(test)]
pub(crate) const TABLE: &[(i32, &str)] = &[
    (OK, "OK"),
    (FAILED, "FAILED"),
    (BAD_INPUT, "BAD_INPUT"),
    (NOT_FINISHED, "NOT_FINISHED"),
    (CANNOT_RUN, "CANNOT_RUN"),
    (REDIS_GONE, "REDIS_GONE"),
    (AUTH, "AUTH"),
    (CRASHED, "CRASHED"),
    (INTERRUPTED, "INTERRUPTED"),
    (TERMINATED, "TERMINATED"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_meaning() {
        let mut codes: Vec<i32> = TABLE.iter().map(|(code, _)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), TABLE.len(), "{TABLE:?}");
        assert_eq!(interrupted(0), INTERRUPTED);
        assert_eq!(interrupted(15), TERMINATED);
    }
}
