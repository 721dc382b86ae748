//! Worker kills by the harness's own killer (SIGKILL of a random live
//! worker, never the last one), parsed once: `worker_kill = "at:50%"`,
//! `"every:400"`, `"every:25%"` or `"none"`. The older `kill_every_ms = T`
//! is the same as `worker_kill = "every:T"` ([`WorkerKill::every_ms`]).

use std::fmt;
use std::str::FromStr;

use super::time::{FAULT_TIME_FORMS, FaultTime};

/// When the harness kills a worker (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerKill(pub Option<FaultTime>);

impl WorkerKill {
    /// No worker kill.
    pub(crate) const NEVER: WorkerKill = WorkerKill(None);

    /// The older form: every `ms` milliseconds (0: never).
    pub(crate) fn every_ms(ms: u64) -> WorkerKill {
        WorkerKill((ms > 0).then_some(FaultTime::Every(ms)))
    }

    /// True when no worker is ever killed.
    pub(crate) fn is_never(&self) -> bool {
        self.0.is_none()
    }
}

impl FromStr for WorkerKill {
    type Err = String;

    fn from_str(text: &str) -> Result<WorkerKill, String> {
        match text.trim() {
            "" | "none" => Ok(WorkerKill::NEVER),
            time => time
                .parse::<FaultTime>()
                .map(|t| WorkerKill(Some(t)))
                .map_err(|e| {
                    format!("worker kill {time:?}: {e} (write none or {FAULT_TIME_FORMS})")
                }),
        }
    }
}

impl fmt::Display for WorkerKill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => write!(f, "none"),
            Some(time) => write!(f, "{time}"),
        }
    }
}

impl serde::Serialize for WorkerKill {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_kills_parse_and_print_back() {
        for text in ["none", "at:500", "every:400", "at:50%", "every:25%"] {
            assert_eq!(text.parse::<WorkerKill>().unwrap().to_string(), text);
        }
        assert_eq!("".parse::<WorkerKill>(), Ok(WorkerKill::NEVER));
        assert_eq!(WorkerKill::every_ms(0), WorkerKill::NEVER);
        assert_eq!(WorkerKill::every_ms(400).to_string(), "every:400");
        let err = "sometimes".parse::<WorkerKill>().unwrap_err();
        assert!(
            err.starts_with("worker kill \"sometimes\"") && err.contains("at:50%"),
            "{err}"
        );
    }
}
