//! Redis faults (Lab 4): when the harness kills its managed redis-server
//! with SIGKILL during a job, and the schedule that says when the next kill
//! and the restart after it are due.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// When to kill -9 the managed redis-server during a `redis`-mode job. It is
/// restarted after a downtime on the same port and password, from its last
/// snapshot (or empty, without snapshots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum RedisKill {
    /// Never.
    #[default]
    Never,
    /// Right after the units are queued, before any worker starts (the
    /// bootstrap: with no snapshot yet, the queue itself is lost).
    AfterEnqueue,
    /// Once, this many milliseconds after the workers start.
    At(u64),
    /// Every this many milliseconds after the workers start, until they
    /// finish (at most [`MAX_PERIODIC_KILLS`] times unless the run has a
    /// deadline, which then bounds it instead).
    Every(u64),
    /// After every worker has exited, before the counts are read.
    BeforeRead,
}

/// The shortest period of `every:MS` (a restart itself takes a while).
pub const MIN_KILL_PERIOD_MS: u64 = 100;
/// Most kills of one `every:MS` schedule of a run without a deadline: a
/// period too short for any snapshot to land would otherwise roll the job
/// back forever. With `deadline_s` the kills go on until the deadline and
/// such a run is recorded as not finished.
pub const MAX_PERIODIC_KILLS: u64 = 10;

impl FromStr for RedisKill {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let usage = "write none, after-enqueue, at:MS, every:MS or before-read (e.g. every:1000)";
        let millis = |value: &str| {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("bad milliseconds {value:?} in redis kill {text:?}: {usage}"))
        };
        match text.split_once(':') {
            None if text.is_empty() || text == "none" => Ok(RedisKill::Never),
            None if text == "after-enqueue" => Ok(RedisKill::AfterEnqueue),
            None if text == "before-read" => Ok(RedisKill::BeforeRead),
            Some(("at", ms)) => Ok(RedisKill::At(millis(ms)?)),
            Some(("every", ms)) => {
                let period = millis(ms)?;
                if period < MIN_KILL_PERIOD_MS {
                    return Err(format!(
                        "redis kill {text:?}: the period must be at least {MIN_KILL_PERIOD_MS} ms"
                    ));
                }
                Ok(RedisKill::Every(period))
            }
            _ => Err(format!("unknown redis kill {text:?}: {usage}")),
        }
    }
}

impl fmt::Display for RedisKill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisKill::Never => write!(f, "none"),
            RedisKill::AfterEnqueue => write!(f, "after-enqueue"),
            RedisKill::At(ms) => write!(f, "at:{ms}"),
            RedisKill::Every(ms) => write!(f, "every:{ms}"),
            RedisKill::BeforeRead => write!(f, "before-read"),
        }
    }
}

/// What the client should do to the server now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisAction {
    /// Nothing.
    Wait,
    /// Kill it (SIGKILL).
    Kill,
    /// Start it again.
    Restart,
}

/// The kills of [`RedisKill::At`] / [`RedisKill::Every`] while the workers
/// run, each followed by a restart after `down`.
#[derive(Debug, Clone)]
pub struct KillSchedule {
    plan: RedisKill,
    down: Duration,
    started: Instant,
    /// When the server went down, while it is down.
    down_since: Option<Instant>,
    kills: u64,
    /// Most periodic kills (`None`: no limit).
    cap: Option<u64>,
}

impl KillSchedule {
    /// A schedule that starts counting now.
    pub fn new(plan: RedisKill, down: Duration) -> KillSchedule {
        KillSchedule {
            plan,
            down,
            started: Instant::now(),
            down_since: None,
            kills: 0,
            cap: Some(MAX_PERIODIC_KILLS),
        }
    }

    /// The same schedule with no limit on periodic kills (for runs that a
    /// deadline bounds).
    pub fn uncapped(mut self) -> KillSchedule {
        self.cap = None;
        self
    }

    /// True when a periodic schedule stopped because it reached its cap.
    pub fn reached_cap(&self) -> bool {
        matches!(self.plan, RedisKill::Every(_)) && self.cap.is_some_and(|cap| self.kills >= cap)
    }

    /// Kills so far.
    pub fn kills(&self) -> u64 {
        self.kills
    }

    /// What is due at `now`. Call [`KillSchedule::killed`] /
    /// [`KillSchedule::restarted`] after doing it.
    pub fn due(&self, now: Instant) -> RedisAction {
        if let Some(since) = self.down_since {
            return if now >= since + self.down {
                RedisAction::Restart
            } else {
                RedisAction::Wait
            };
        }
        let next_kill_ms = match self.plan {
            RedisKill::At(ms) if self.kills == 0 => ms,
            RedisKill::Every(period) if self.cap.is_none_or(|cap| self.kills < cap) => {
                period.saturating_mul(self.kills + 1)
            }
            _ => return RedisAction::Wait,
        };
        if now >= self.started + Duration::from_millis(next_kill_ms) {
            RedisAction::Kill
        } else {
            RedisAction::Wait
        }
    }

    /// Records a kill at `now`.
    pub fn killed(&mut self, now: Instant) {
        self.down_since = Some(now);
        self.kills += 1;
    }

    /// Records that the server is back.
    pub fn restarted(&mut self) {
        self.down_since = None;
    }

    /// True while the server is down on purpose.
    pub fn is_down(&self) -> bool {
        self.down_since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kills_parse_and_print_back() {
        for text in [
            "none",
            "after-enqueue",
            "at:250",
            "every:1000",
            "before-read",
        ] {
            let kill: RedisKill = text.parse().unwrap();
            assert_eq!(kill.to_string(), text);
        }
        assert_eq!("".parse::<RedisKill>().unwrap(), RedisKill::Never);
        for bad in ["every:5", "at:x", "sometimes", "every"] {
            let err = bad.parse::<RedisKill>().unwrap_err();
            assert!(err.contains("redis kill"), "{err}");
        }
    }

    #[test]
    fn a_schedule_alternates_kills_and_restarts() {
        let down = Duration::from_millis(50);
        let mut schedule = KillSchedule::new(RedisKill::Every(100), down);
        let t0 = schedule.started;
        assert_eq!(schedule.due(t0), RedisAction::Wait);
        let first = t0 + Duration::from_millis(100);
        assert_eq!(schedule.due(first), RedisAction::Kill);
        schedule.killed(first);
        assert!(schedule.is_down());
        assert_eq!(
            schedule.due(first + Duration::from_millis(10)),
            RedisAction::Wait
        );
        assert_eq!(schedule.due(first + down), RedisAction::Restart);
        schedule.restarted();
        assert_eq!(
            schedule.due(t0 + Duration::from_millis(160)),
            RedisAction::Wait
        );
        assert_eq!(
            schedule.due(t0 + Duration::from_millis(200)),
            RedisAction::Kill
        );
        for _ in 1..MAX_PERIODIC_KILLS {
            schedule.killed(t0);
            schedule.restarted();
        }
        assert_eq!(
            schedule.due(t0 + Duration::from_secs(99)),
            RedisAction::Wait
        );

        let mut once = KillSchedule::new(RedisKill::At(30), down);
        let t0 = once.started;
        assert_eq!(once.due(t0 + Duration::from_millis(30)), RedisAction::Kill);
        once.killed(t0 + Duration::from_millis(30));
        once.restarted();
        assert_eq!(once.due(t0 + Duration::from_secs(9)), RedisAction::Wait);
        let never = KillSchedule::new(RedisKill::BeforeRead, down);
        assert_eq!(
            never.due(never.started + Duration::from_secs(9)),
            RedisAction::Wait
        );
    }
}
