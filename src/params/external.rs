//! Which run parameters apply to an external worker (`worker_cmd`, the
//! contract of docs/PROTOCOL.md): the harness plays the client and the
//! faults, the worker decides its own commit path. Parameters that shape
//! the built-in worker's commits or queue cannot reach it and are refused
//! in one line; `atomic` and `per_word` are ignored (the external worker
//! decides) and only labelled.

use super::{ParamError, RedisParams};
use crate::queue::{MergeTarget, QueueBackend};

impl RedisParams {
    /// True when the run uses an external worker (`worker_cmd` set).
    pub(crate) fn external_worker(&self) -> bool {
        !self.worker_cmd.trim().is_empty()
    }

    /// The implementation under test, for reports: `built-in` or the command.
    #[cfg(test)]
    pub(crate) fn implementation(&self) -> String {
        if self.external_worker() {
            self.worker_cmd.trim().to_owned()
        } else {
            "built-in".to_owned()
        }
    }

    /// Checks the parameters that cannot apply to an external worker.
    pub(super) fn validate_external_worker(&self) -> Result<(), ParamError> {
        if !self.external_worker() {
            if !self.worker_functions.is_empty() {
                return Err(ParamError::new(
                    "worker_functions",
                    "is a Function library for an external worker: set worker_cmd too, or drop worker_functions",
                ));
            }
            return Ok(());
        }
        let why = " cannot apply to an external worker (worker_cmd follows docs/PROTOCOL.md: one stream, counts in one sorted set, its own commit path)";
        if self.merge != MergeTarget::Zset {
            return Err(ParamError::new(
                "merge",
                format!(
                    "{}{why}: drop merge (the contract's counts are a sorted set)",
                    self.merge
                ),
            ));
        }
        if self.commit_units != 1 {
            return Err(ParamError::new(
                "commit_units",
                format!("(the built-in worker's combiner){why}: drop commit_units"),
            ));
        }
        if self.queue != QueueBackend::Stream {
            return Err(ParamError::new(
                "queue",
                format!("{}{why}: use queue = \"stream\"", self.queue),
            ));
        }
        if self.worker_cmd.contains('\0') {
            return Err(ParamError::new(
                "worker_cmd",
                "contains a NUL byte: give a shell command line",
            ));
        }
        Ok(())
    }

    /// Notes for parameters an external worker ignores (empty: none).
    pub(crate) fn external_worker_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.external_worker() {
            if self.atomic {
                notes.push("atomic is the built-in worker's commit path; the external worker decides its own (atomic is only a label of this run)".to_owned());
            }
            if self.per_word {
                notes.push("per_word is the built-in worker's merge granularity; the external worker decides its own (per_word is only a label of this run)".to_owned());
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::RunContext;

    fn redis() -> RunContext<'static> {
        RunContext {
            mode: "redis",
            workers: 2,
            external_server: false,
        }
    }

    #[test]
    fn what_cannot_reach_an_external_worker_is_refused_naming_the_key() {
        let byo = RedisParams {
            worker_cmd: "python3 w.py".into(),
            ..RedisParams::default()
        };
        assert!(byo.validate(redis()).is_ok());
        assert!(byo.external_worker());
        assert_eq!(byo.implementation(), "python3 w.py");
        assert_eq!(RedisParams::default().implementation(), "built-in");
        let with = |change: fn(&mut RedisParams)| {
            let mut params = byo.clone();
            change(&mut params);
            params.validate(redis()).map_err(|e| e.key)
        };
        assert_eq!(with(|p| p.merge = MergeTarget::Hash), Err("merge"));
        assert_eq!(with(|p| p.commit_units = 4), Err("commit_units"));
        assert_eq!(with(|p| p.queue = QueueBackend::Lease), Err("queue"));
        assert_eq!(with(|p| p.atomic = true), Ok(()));
        let functions_alone = RedisParams {
            worker_functions: "lib.lua".into(),
            ..RedisParams::default()
        };
        assert_eq!(
            functions_alone.validate(redis()).unwrap_err().key,
            "worker_functions"
        );
        let atomic = RedisParams {
            atomic: true,
            ..byo.clone()
        };
        assert_eq!(atomic.external_worker_notes().len(), 1);
        assert!(byo.external_worker_notes().is_empty());
    }
}
