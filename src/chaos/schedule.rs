//! One chaos schedule, drawn from a seed: the job (workers, input, unit
//! size, commit path) and the faults thrown at it (crash points, outside
//! SIGKILLs and SIGSTOP pauses at random times, a straggler, the harness's
//! own killer, Redis kills and restarts from snapshots). The same seed
//! always gives the same schedule (`harness chaos --replay SEED`).

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::faults::CrashPoint;

/// How the schedule's workers commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChaosCommit {
    /// The atomic Function commit (the system under test).
    Atomic,
    /// The plain per-unit commit: the control that must show wrong counts.
    Plain,
}

/// Something done to a worker process from outside the harness, at a time
/// after the job starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideFault {
    /// `kill -9` of a random worker.
    Kill {
        /// Milliseconds after the start.
        at_ms: u64,
    },
    /// `SIGSTOP` of a random worker, `SIGCONT` after `for_ms`.
    Pause {
        /// Milliseconds after the start.
        at_ms: u64,
        /// How long it stays stopped.
        for_ms: u64,
    },
}

/// One drawn schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The seed it was drawn from.
    pub seed: u64,
    /// Worker processes.
    pub workers: u32,
    /// Input files (synthetic text).
    pub files: u32,
    /// Bytes per input file.
    pub file_bytes: u64,
    /// Largest unit of work (`None`: automatic).
    pub unit_bytes: Option<u64>,
    /// The commit path.
    pub commit: ChaosCommit,
    /// Steal units idle longer than this.
    pub autoclaim_ms: u64,
    /// Injected crash points: `W:POINT:NTH`.
    pub crashes: Vec<String>,
    /// A straggler: `W:FRACTION`.
    pub slow: Option<String>,
    /// The harness's own killer period (0: off).
    pub kill_every_ms: u64,
    /// Redis kill schedule (`none`, `at:MS`, `every:MS`, ...).
    pub redis_kill: String,
    /// Redis snapshot interval, seconds (0: none).
    pub snapshot_s: u32,
    /// Downtime of each Redis kill.
    pub redis_down_ms: u64,
    /// Start new workers in place of dead ones.
    pub restart_dead: bool,
    /// Faults from outside the harness.
    pub outside: Vec<OutsideFault>,
}

impl Schedule {
    /// The schedule of `seed` for `commit`, inputs sized by `scale`.
    pub fn draw(seed: u64, scale: f64, commit: ChaosCommit) -> Schedule {
        let mut rng = StdRng::seed_from_u64(seed);
        let workers = rng.random_range(2..=5u32);
        let files = rng.random_range(4..=24u32);
        let file_bytes = ((rng.random_range(16_000..=128_000u64) as f64 * scale) as u64).max(200);
        let unit_bytes = match rng.random_range(0..3u32) {
            0 => None,
            1 => Some(4_096),
            _ => Some(16_384),
        };
        let autoclaim_ms = [100, 200, 400][rng.random_range(0..3usize)];
        let mut crashes = Vec::new();
        for worker in 0..workers {
            if rng.random_bool(0.3) {
                let point = CrashPoint::ALL[rng.random_range(0..CrashPoint::ALL.len())];
                let nth = rng.random_range(1..=3u32);
                crashes.push(format!("{worker}:{}:{nth}", point.name()));
            }
        }
        let slow = rng
            .random_bool(0.2)
            .then(|| format!("{}:0.3", rng.random_range(0..workers)));
        let kill_every_ms = if rng.random_bool(0.15) { 400 } else { 0 };
        let (redis_kill, snapshot_s) = match rng.random_range(0..10u32) {
            0 => ("after-enqueue".to_owned(), 1),
            1 => (format!("at:{}", rng.random_range(50..=400u64)), 1),
            2 => ("every:1200".to_owned(), 1),
            3 => ("before-read".to_owned(), 1),
            _ => ("none".to_owned(), 0),
        };
        let redis_down_ms = rng.random_range(50..=300u64);
        let mut outside = Vec::new();
        for _ in 0..rng.random_range(0..=3u32) {
            let at_ms = rng.random_range(10..=600u64);
            if rng.random_bool(0.6) {
                outside.push(OutsideFault::Kill { at_ms });
            } else {
                outside.push(OutsideFault::Pause {
                    at_ms,
                    for_ms: rng.random_range(50..=800u64),
                });
            }
        }
        outside.sort_by_key(|f| match f {
            OutsideFault::Kill { at_ms } | OutsideFault::Pause { at_ms, .. } => *at_ms,
        });
        // Deaths that could leave nobody alive (the harness's own killer
        // spares the last live worker, but not from the other deaths): let
        // the harness replace them.
        let deaths = crashes.len()
            + outside
                .iter()
                .filter(|f| matches!(f, OutsideFault::Kill { .. }))
                .count();
        let restart_dead =
            deaths as u32 >= workers || (kill_every_ms > 0 && deaths > 0) || rng.random_bool(0.2);
        Schedule {
            seed,
            workers,
            files,
            file_bytes,
            unit_bytes,
            commit,
            autoclaim_ms,
            crashes,
            slow,
            kill_every_ms,
            redis_kill,
            snapshot_s,
            redis_down_ms,
            restart_dead,
            outside,
        }
    }

    /// The `harness count` arguments of this schedule (after the input).
    pub fn count_args(&self, deadline_s: f64) -> Vec<String> {
        let mut args: Vec<String> = [
            "--mode",
            "redis",
            "--workers",
            &self.workers.to_string(),
            "--top",
            "0",
            "--autoclaim-ms",
            &self.autoclaim_ms.to_string(),
            "--deadline-s",
            &deadline_s.to_string(),
            "--redis-kill",
            &self.redis_kill,
            "--snapshot-s",
            &self.snapshot_s.to_string(),
            "--redis-down-ms",
            &self.redis_down_ms.to_string(),
            "--kill-every-ms",
            &self.kill_every_ms.to_string(),
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        if self.commit == ChaosCommit::Atomic {
            args.push("--atomic".into());
        }
        if let Some(unit) = self.unit_bytes {
            args.extend(["--unit-bytes".into(), unit.to_string()]);
        }
        for crash in &self.crashes {
            args.extend(["--crash".into(), crash.clone()]);
        }
        if let Some(slow) = &self.slow {
            args.extend(["--slow".into(), slow.clone()]);
        }
        if self.restart_dead {
            args.push("--restart-dead".into());
        }
        args
    }

    /// The schedule in words, for the CSV and the summary.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} workers, {} files x {} B, unit {}, {}, autoclaim {} ms",
            self.workers,
            self.files,
            self.file_bytes,
            self.unit_bytes
                .map_or_else(|| "auto".to_owned(), |u| format!("{u} B")),
            match self.commit {
                ChaosCommit::Atomic => "atomic",
                ChaosCommit::Plain => "plain",
            },
            self.autoclaim_ms
        );
        if !self.crashes.is_empty() {
            let _ = write!(text, "; crash {}", self.crashes.join(","));
        }
        if let Some(slow) = &self.slow {
            let _ = write!(text, "; slow {slow}");
        }
        if self.kill_every_ms > 0 {
            let _ = write!(text, "; harness kills every {} ms", self.kill_every_ms);
        }
        if self.redis_kill != "none" {
            let _ = write!(
                text,
                "; redis kill {} (down {} ms, snapshot {} s)",
                self.redis_kill, self.redis_down_ms, self.snapshot_s
            );
        }
        for fault in &self.outside {
            let _ = match fault {
                OutsideFault::Kill { at_ms } => write!(text, "; outside kill -9 at {at_ms} ms"),
                OutsideFault::Pause { at_ms, for_ms } => {
                    write!(text, "; outside SIGSTOP at {at_ms} ms for {for_ms} ms")
                }
            };
        }
        if self.restart_dead {
            text.push_str("; restart dead");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_draws_the_same_schedule_and_seeds_differ() {
        let a = Schedule::draw(7, 1.0, ChaosCommit::Atomic);
        assert_eq!(a, Schedule::draw(7, 1.0, ChaosCommit::Atomic));
        let all: Vec<Schedule> = (0..200)
            .map(|s| Schedule::draw(s, 1.0, ChaosCommit::Atomic))
            .collect();
        assert!(all.iter().any(|s| !s.crashes.is_empty()));
        assert!(all.iter().any(|s| !s.outside.is_empty()));
        assert!(all.iter().any(|s| s.redis_kill != "none"));
        assert!(all.iter().all(|s| (2..=5).contains(&s.workers)));
        // Every drawn schedule is a valid command line.
        for schedule in &all {
            let args = schedule.count_args(30.0);
            assert!(args.contains(&"--atomic".to_owned()));
            let deaths = schedule.crashes.len()
                + schedule
                    .outside
                    .iter()
                    .filter(|f| matches!(f, OutsideFault::Kill { .. }))
                    .count();
            assert!(deaths < schedule.workers as usize || schedule.restart_dead);
        }
        assert!(a.describe().contains("workers"));
    }
}
