//! Named crash points of the worker loop and the plan saying where a worker
//! dies.

use std::fmt;
use std::str::FromStr;

/// The exit code of a worker that crashed on purpose, so the client can tell
/// an injected crash from a real failure.
pub(crate) const CRASH_EXIT_CODE: i32 = crate::exit_code::CRASHED;

/// A named point in the worker loop, in the order a unit passes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashPoint {
    /// A message was read from the queue; nothing counted yet.
    AfterRead,
    /// The unit is being counted (its file was read; nothing sent to Redis).
    MidCount,
    /// The unit is counted; no increment sent yet.
    BeforeCommit,
    /// Plain commits: the increments were applied but the message was not
    /// acknowledged. Atomic commits: a large unit's counts were staged but
    /// the one `FCALL` was not sent (for a unit sent inline, the same place
    /// as `before-commit`); nothing was applied.
    MidCommit,
    /// The commit (increments and acknowledgement) is done; the next read has not started.
    AfterCommit,
}

impl CrashPoint {
    /// Every point, in loop order.
    pub(crate) const ALL: [CrashPoint; 5] = [
        CrashPoint::AfterRead,
        CrashPoint::MidCount,
        CrashPoint::BeforeCommit,
        CrashPoint::MidCommit,
        CrashPoint::AfterCommit,
    ];

    /// The name used on command lines, in TOML and in event logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            CrashPoint::AfterRead => "after-read",
            CrashPoint::MidCount => "mid-count",
            CrashPoint::BeforeCommit => "before-commit",
            CrashPoint::MidCommit => "mid-commit",
            CrashPoint::AfterCommit => "after-commit",
        }
    }
}

impl fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CrashPoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        CrashPoint::ALL
            .into_iter()
            .find(|p| p.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = CrashPoint::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown crash point {text:?}: use one of {}",
                    names.join(", ")
                )
            })
    }
}

/// Where and when one worker crashes: at `point` while handling the
/// `on_unit`-th unit it takes (1 = the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CrashPlan {
    /// The point of the loop.
    pub point: CrashPoint,
    /// Which unit taken by this worker (1-based) triggers the crash.
    pub on_unit: u64,
}

impl FromStr for CrashPlan {
    type Err = String;

    /// Parses `POINT` (the first unit) or `POINT:N`, e.g. `mid-commit:3`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (point, on_unit) = match text.split_once(':') {
            Some((point, n)) => {
                let on_unit = n
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| format!("bad unit number {n:?} in crash plan {text:?}: use a whole number >= 1, e.g. mid-commit:3"))?;
                (point, on_unit)
            }
            None => (text, 1),
        };
        Ok(CrashPlan {
            point: point.parse()?,
            on_unit,
        })
    }
}

impl fmt::Display for CrashPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.point, self.on_unit)
    }
}

/// A crash plan for one worker: `WORKER:POINT[:NTH]`, e.g. `0:mid-commit:2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkerCrash {
    /// Worker index.
    pub worker: u32,
    /// Where and on which unit it crashes.
    pub plan: CrashPlan,
}

impl std::str::FromStr for WorkerCrash {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (worker, plan) = text.split_once(':').ok_or_else(|| {
            format!(
                "bad crash {text:?}: write WORKER:POINT[:NTH], e.g. 0:mid-commit or 1:after-read:3"
            )
        })?;
        let worker = worker
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("bad worker index {worker:?} in crash {text:?}: write WORKER:POINT[:NTH], e.g. 0:mid-commit"))?;
        Ok(WorkerCrash {
            worker,
            plan: plan.trim().parse()?,
        })
    }
}

impl std::fmt::Display for WorkerCrash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.worker, self.plan)
    }
}

/// The crash-point hook a worker calls at every [`CrashPoint`]. Without a
/// plan it does nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Crasher {
    plan: Option<CrashPlan>,
    units_taken: u64,
}

impl Crasher {
    /// A hook following `plan` (`None`: never crash).
    pub(crate) fn new(plan: Option<CrashPlan>) -> Crasher {
        Crasher {
            plan,
            units_taken: 0,
        }
    }

    /// Tells the hook a new unit was taken; call before the unit's first point.
    pub(crate) fn unit_taken(&mut self) {
        self.units_taken += 1;
    }

    /// True when the current unit will crash at `point` (lets the caller
    /// make the point observable, e.g. send the acknowledgement separately).
    pub(crate) fn armed(&self, point: CrashPoint) -> bool {
        self.plan
            .is_some_and(|plan| plan.point == point && plan.on_unit == self.units_taken)
    }

    /// At `point`: when the plan says so, runs `last_words` (e.g. record a
    /// crash event) and ends the process at once with [`CRASH_EXIT_CODE`],
    /// without unwinding, flushing or closing anything.
    pub(crate) fn reach(&self, point: CrashPoint, last_words: impl FnOnce()) {
        if self.armed(point) {
            last_words();
            // SAFETY: _exit ends the process immediately; that is the point.
            unsafe { libc::_exit(CRASH_EXIT_CODE) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_round_trip_by_name() {
        for point in CrashPoint::ALL {
            assert_eq!(point.name().parse::<CrashPoint>(), Ok(point));
        }
        let err = "during-lunch".parse::<CrashPoint>().unwrap_err();
        assert!(
            err.contains("after-read") && err.contains("during-lunch"),
            "{err}"
        );
    }

    #[test]
    fn plans_parse_with_and_without_a_unit_number() {
        assert_eq!(
            "mid-commit:3".parse(),
            Ok(CrashPlan {
                point: CrashPoint::MidCommit,
                on_unit: 3
            })
        );
        assert_eq!(
            "after-read".parse(),
            Ok(CrashPlan {
                point: CrashPoint::AfterRead,
                on_unit: 1
            })
        );
        assert!("after-read:0".parse::<CrashPlan>().is_err());
        assert!("after-read:x".parse::<CrashPlan>().is_err());
        assert_eq!(
            CrashPlan {
                point: CrashPoint::MidCount,
                on_unit: 2
            }
            .to_string(),
            "mid-count:2"
        );
    }

    #[test]
    fn armed_only_on_the_planned_unit_and_point() {
        let mut hook = Crasher::new(Some(CrashPlan {
            point: CrashPoint::BeforeCommit,
            on_unit: 2,
        }));
        assert!(!hook.armed(CrashPoint::BeforeCommit));
        hook.unit_taken();
        assert!(!hook.armed(CrashPoint::BeforeCommit));
        hook.unit_taken();
        assert!(hook.armed(CrashPoint::BeforeCommit));
        assert!(!hook.armed(CrashPoint::AfterRead));
        hook.unit_taken();
        assert!(!hook.armed(CrashPoint::BeforeCommit));
        let never = Crasher::new(None);
        never.reach(CrashPoint::AfterRead, || panic!("no plan, no crash"));
    }
}
