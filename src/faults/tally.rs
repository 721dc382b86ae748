//! The faults a run planned and the faults that fired, by kind, so a run
//! whose fault never came (a kill due after a short job had ended, a crash
//! point on a unit the worker never took) is flagged instead of counted as
//! surviving it.
//!
//! Written compactly in the CSV (`faults_planned`, `faults_fired`):
//! `KIND:N` pairs, `;`-separated, in a fixed kind order, kinds with 0
//! left out (empty: none), e.g. `redis_kill:1` planned and `redis_kill:3`
//! fired. A planned count is the least the parameters call for (a periodic
//! kill: 1); a run is unfired when some kind fired fewer times than planned.

use std::fmt;
use std::str::FromStr;

use super::RedisKill;

/// A kind of scheduled fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FaultKind {
    /// kill -9 of a node of the managed topology (`redis_kill`; one kill
    /// of `replicas=2` counts once).
    RedisKill,
    /// SIGKILL of a worker by the harness's own killer (`worker_kill`,
    /// `kill_every_ms`).
    WorkerKill,
    /// A worker exiting at an injected crash point (`crash`).
    Crash,
    /// A host cut off Redis (`partition`).
    Partition,
}

impl FaultKind {
    /// Every kind, in the order they are written.
    pub(crate) const ALL: [FaultKind; 4] = [
        FaultKind::RedisKill,
        FaultKind::WorkerKill,
        FaultKind::Crash,
        FaultKind::Partition,
    ];

    /// The name in the CSV.
    pub(crate) fn name(self) -> &'static str {
        match self {
            FaultKind::RedisKill => "redis_kill",
            FaultKind::WorkerKill => "worker_kill",
            FaultKind::Crash => "crash",
            FaultKind::Partition => "partition",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Counts of faults by [`FaultKind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultTally {
    counts: [u64; 4],
}

impl FaultTally {
    /// The faults a run's parameters plan, at least: one Redis kill for any
    /// `redis_kill` but none (a periodic one fires at least once), one
    /// worker kill when any is scheduled, one crash per crash entry, one
    /// cut per partition. `managed`: the harness runs the servers (nothing
    /// is killed in an external Redis).
    pub(crate) fn planned(
        redis_kill: &RedisKill,
        managed: bool,
        worker_kill: Option<super::FaultTime>,
        crashes: usize,
        partitions: usize,
    ) -> FaultTally {
        let mut tally = FaultTally::default();
        if managed && redis_kill.when.is_planned() {
            tally.add(FaultKind::RedisKill, 1);
        }
        if worker_kill.is_some() {
            tally.add(FaultKind::WorkerKill, 1);
        }
        tally.add(FaultKind::Crash, crashes as u64);
        tally.add(FaultKind::Partition, partitions as u64);
        tally
    }

    /// Adds `n` faults of `kind`.
    pub(crate) fn add(&mut self, kind: FaultKind, n: u64) {
        self.counts[kind.index()] += n;
    }

    /// Faults of `kind`.
    pub(crate) fn get(&self, kind: FaultKind) -> u64 {
        self.counts[kind.index()]
    }

    /// True when nothing is counted.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.iter().all(|n| *n == 0)
    }

    /// The planned kinds (`self`) that fired fewer times than planned,
    /// with the counts planned and fired.
    pub(crate) fn unfired(&self, fired: &FaultTally) -> Vec<(FaultKind, u64, u64)> {
        FaultKind::ALL
            .into_iter()
            .filter(|k| fired.get(*k) < self.get(*k))
            .map(|k| (k, self.get(k), fired.get(k)))
            .collect()
    }
}

impl fmt::Display for FaultTally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for kind in FaultKind::ALL {
            let n = self.get(kind);
            if n > 0 {
                if !first {
                    write!(f, ";")?;
                }
                first = false;
                write!(f, "{}:{n}", kind.name())?;
            }
        }
        Ok(())
    }
}

impl FromStr for FaultTally {
    type Err = String;

    fn from_str(text: &str) -> Result<FaultTally, String> {
        let mut tally = FaultTally::default();
        for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                format!(
                    "bad fault count {pair:?}: write KIND:N with KIND redis_kill, worker_kill, crash or partition"
                )
            };
            let (name, n) = pair.split_once(':').ok_or_else(bad)?;
            let kind = FaultKind::ALL
                .into_iter()
                .find(|k| k.name() == name)
                .ok_or_else(bad)?;
            tally.add(kind, n.parse().map_err(|_| bad())?);
        }
        Ok(tally)
    }
}

impl serde::Serialize for FaultTally {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for FaultTally {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_print_parse_and_compare() {
        let kill: RedisKill = "replicas=2:every:25%".parse().unwrap();
        let planned = FaultTally::planned(&kill, true, None, 2, 0);
        assert_eq!(planned.to_string(), "redis_kill:1;crash:2");
        assert_eq!(planned.to_string().parse::<FaultTally>().unwrap(), planned);
        assert_eq!(
            FaultTally::planned(&kill, false, None, 0, 0).to_string(),
            ""
        );
        assert!(FaultTally::planned(&RedisKill::NEVER, true, None, 0, 0).is_empty());

        let mut fired = FaultTally::default();
        fired.add(FaultKind::RedisKill, 3);
        fired.add(FaultKind::Crash, 1);
        assert_eq!(planned.unfired(&fired), [(FaultKind::Crash, 2, 1)]);
        fired.add(FaultKind::Crash, 1);
        assert!(planned.unfired(&fired).is_empty());
        assert!(planned.unfired(&FaultTally::default()).len() == 2);
        assert!("redis_kill".parse::<FaultTally>().is_err());
        assert!("nap:1".parse::<FaultTally>().is_err());
    }
}
