//! When a scheduled fault fires, one type for every kind (Redis kills,
//! worker kills, partitions): milliseconds after the workers start
//! (`at:MS`, `every:MS`, exact) or a share of the job's units acknowledged
//! (`at:50%`, `every:25%`), so a fault lands at any scale. Parsed once into
//! a [`FaultTime`]; a [`FaultClock`] says when each firing is due.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::progress::{JobProgress, Percent};

/// When a scheduled fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTime {
    /// Once, this many milliseconds after the workers start (`at:MS`).
    At(u64),
    /// Every this many milliseconds after the workers start (`every:MS`).
    Every(u64),
    /// Once, when this share of the units is acknowledged (`at:50%`).
    AtProgress(Percent),
    /// Each time another multiple of this share of the units is
    /// acknowledged (`every:25%`: at 25%, 50% and 75%; never at 100%).
    EveryProgress(Percent),
}

/// When the next firing of a [`FaultTime`] is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Due {
    /// This many milliseconds after the workers start.
    Ms(u64),
    /// When this share of the units is acknowledged.
    Share(Percent),
}

/// The forms a fault time is written in, for messages.
pub(crate) const FAULT_TIME_FORMS: &str = "at:MS or every:MS (milliseconds after the workers start), at:P% or every:P% (when P% of the units are acknowledged), e.g. at:500, every:1000, at:50%, every:25%";

impl FaultTime {
    /// True for the forms that follow the job's progress (`at:P%`, `every:P%`).
    #[cfg(test)]
    pub(crate) fn follows_progress(self) -> bool {
        matches!(self, FaultTime::AtProgress(_) | FaultTime::EveryProgress(_))
    }

    /// True for the forms that fire more than once (`every:..`).
    pub(crate) fn is_periodic(self) -> bool {
        matches!(self, FaultTime::Every(_) | FaultTime::EveryProgress(_))
    }

    /// Milliseconds after the workers start when the first firing is due,
    /// for the time-based forms.
    pub(crate) fn first_due_ms(self) -> Option<u64> {
        match self {
            FaultTime::At(ms) | FaultTime::Every(ms) => Some(ms),
            _ => None,
        }
    }

    /// When firing number `n` (from 0) is due; `None` when there is none
    /// (`at:..` fires once; `every:P%` stops below 100%).
    pub(crate) fn nth(self, n: u64) -> Option<Due> {
        match self {
            FaultTime::At(ms) => (n == 0).then_some(Due::Ms(ms)),
            FaultTime::Every(period) => Some(Due::Ms(period.saturating_mul(n.saturating_add(1)))),
            FaultTime::AtProgress(share) => (n == 0).then_some(Due::Share(share)),
            FaultTime::EveryProgress(share) => {
                share.times_below_whole(n.saturating_add(1)).map(Due::Share)
            }
        }
    }
}

impl FromStr for FaultTime {
    type Err = String;

    /// `at:MS`, `every:MS` (a period of at least 1 ms), `at:P%`, `every:P%`
    /// (a share above 0% and below 100%). The message does not name the
    /// fault: callers say which one.
    fn from_str(text: &str) -> Result<FaultTime, String> {
        let text = text.trim();
        let Some((form, value)) = text.split_once(':') else {
            return Err(format!("bad fault time {text:?}: write {FAULT_TIME_FORMS}"));
        };
        let value = value.trim();
        if value.ends_with('%') {
            let share = value.parse::<Percent>()?;
            return match form {
                "at" => Ok(FaultTime::AtProgress(share)),
                "every" if share.fraction() > 0.0 && share.times_below_whole(1).is_some() => {
                    Ok(FaultTime::EveryProgress(share))
                }
                "every" => Err(format!(
                    "bad fault time {text:?}: the share must be above 0% and below 100% (e.g. every:25%)"
                )),
                _ => Err(format!("bad fault time {text:?}: write {FAULT_TIME_FORMS}")),
            };
        }
        let ms = value.parse::<u64>().map_err(|_| {
            format!("bad milliseconds {value:?} in {text:?}: write {FAULT_TIME_FORMS}")
        });
        match form {
            "at" => Ok(FaultTime::At(ms?)),
            "every" => match ms? {
                0 => Err(format!(
                    "bad fault time {text:?}: the period must be at least 1 ms"
                )),
                period => Ok(FaultTime::Every(period)),
            },
            _ => Err(format!("bad fault time {text:?}: write {FAULT_TIME_FORMS}")),
        }
    }
}

impl fmt::Display for FaultTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultTime::At(ms) => write!(f, "at:{ms}"),
            FaultTime::Every(ms) => write!(f, "every:{ms}"),
            FaultTime::AtProgress(share) => write!(f, "at:{share}"),
            FaultTime::EveryProgress(share) => write!(f, "every:{share}"),
        }
    }
}

impl serde::Serialize for FaultTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The firings of one [`FaultTime`] during a job: asked with the time and
/// (for the progress forms) the job's progress, it says whether the next
/// firing is due; [`FaultClock::fired`] counts it.
#[derive(Debug, Clone)]
pub(crate) struct FaultClock {
    time: FaultTime,
    started: Instant,
    fired: u64,
    /// Most firings (`None`: no limit).
    cap: Option<u64>,
}

impl FaultClock {
    /// A clock that starts counting now, with no limit on firings.
    pub(crate) fn new(time: FaultTime) -> FaultClock {
        FaultClock::starting_at(time, Instant::now())
    }

    /// A clock that started at `started`.
    pub(crate) fn starting_at(time: FaultTime, started: Instant) -> FaultClock {
        FaultClock {
            time,
            started,
            fired: 0,
            cap: None,
        }
    }

    /// The same clock firing at most `cap` times (`None`: no limit).
    pub(crate) fn capped(mut self, cap: Option<u64>) -> FaultClock {
        self.cap = cap;
        self
    }

    /// The fault time it follows.
    pub(crate) fn time(&self) -> FaultTime {
        self.time
    }

    /// True when it stopped because it reached its cap.
    pub(crate) fn reached_cap(&self) -> bool {
        self.cap.is_some_and(|cap| self.fired >= cap)
    }

    /// The next firing, if any is left.
    fn next(&self) -> Option<Due> {
        if self.reached_cap() {
            return None;
        }
        self.time.nth(self.fired)
    }

    /// True when the next firing waits on the job's progress: pass it to
    /// [`FaultClock::due`] (read from Redis) while this holds.
    pub(crate) fn wants_progress(&self) -> bool {
        matches!(self.next(), Some(Due::Share(_)))
    }

    /// True when the next firing is due at `now` with the job's `progress`
    /// when it is known (a progress-relative firing waits while it is not).
    pub(crate) fn due(&self, now: Instant, progress: Option<JobProgress>) -> bool {
        match (self.next(), progress) {
            (Some(Due::Ms(ms)), _) => now >= self.started + Duration::from_millis(ms),
            (Some(Due::Share(share)), Some(progress)) => progress.reached(share),
            _ => false,
        }
    }

    /// Records a firing.
    pub(crate) fn fired(&mut self) {
        self.fired += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_times_parse_and_print_back() {
        for text in ["at:0", "at:250", "every:1000", "at:50%", "every:12.5%"] {
            let time: FaultTime = text.parse().unwrap();
            assert_eq!(time.to_string(), text);
        }
        assert_eq!(" at: 500 ".parse::<FaultTime>(), Ok(FaultTime::At(500)));
        assert!("at:50%".parse::<FaultTime>().unwrap().follows_progress());
        assert_eq!(
            "every:40".parse::<FaultTime>().unwrap().first_due_ms(),
            Some(40)
        );
        for bad in [
            "500",
            "at",
            "at:x",
            "every:0",
            "every:0%",
            "every:100%",
            "at:101%",
            "when:5",
            "when:5%",
            "at:-1",
        ] {
            let err = bad.parse::<FaultTime>().unwrap_err();
            assert!(
                err.contains("fault time")
                    || err.contains("percentage")
                    || err.contains("milliseconds"),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            serde_json::to_string(&FaultTime::AtProgress(Percent::new(50).unwrap())).unwrap(),
            r#""at:50%""#
        );
    }

    #[test]
    fn clocks_fire_at_times_and_shares() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut every = FaultClock::starting_at(FaultTime::Every(100), t0);
        assert!(!every.wants_progress());
        assert!(!every.due(ms(99), None));
        assert!(every.due(ms(100), None));
        every.fired();
        assert!(
            !every.due(ms(150), None),
            "the second is due at 200 ms, exactly"
        );
        assert!(every.due(ms(200), None));

        let mut once = FaultClock::starting_at(FaultTime::At(30), t0);
        assert!(once.due(ms(30), None));
        once.fired();
        assert!(!once.due(ms(99_999), None));

        let at = |acked| Some(JobProgress { acked, total: 8 });
        let mut half = FaultClock::starting_at("at:50%".parse().unwrap(), t0);
        assert!(half.wants_progress());
        assert!(!half.due(ms(99_999), None), "no progress known");
        assert!(!half.due(t0, at(3)));
        assert!(half.due(t0, at(4)));
        half.fired();
        assert!(!half.wants_progress());
        assert!(!half.due(t0, at(8)));

        let mut quarters = FaultClock::starting_at("every:25%".parse().unwrap(), t0);
        let mut fired_at = Vec::new();
        for acked in [0, 1, 2, 3, 4, 5, 6, 7, 8] {
            if quarters.due(t0, at(acked)) {
                fired_at.push(acked);
                quarters.fired();
            }
        }
        assert_eq!(fired_at, [2, 4, 6]);

        let mut capped = FaultClock::starting_at(FaultTime::Every(10), t0).capped(Some(2));
        capped.fired();
        capped.fired();
        assert!(capped.reached_cap());
        assert!(!capped.due(ms(99_999), None));
    }
}
