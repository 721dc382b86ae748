//! The `snapshot` topology (Lab 4.1): the one redis-server of `single`
//! (the same running [`super::Single`]), snapshotting to `dump.rdb` every
//! `snapshot_s` seconds. A dead server (killed by the harness or by
//! anyone else) restarts on the same port and password and reloads its
//! last snapshot; units acknowledged after that snapshot come back and are
//! counted again, and the atomic commit keeps the counts exact (a unit's
//! counts and its acknowledgement are in the same snapshot or neither).
//! While it is down nothing can go on, so it must be brought back
//! (`restart_nodes`).

use super::single::{NODE, server_chaos_kill};
use super::{Revival, RuleError, Rules, Settings, TopologySpec};

/// The rules of `snapshot`.
pub(super) struct SnapshotRules;

/// The one instance [`super::rules`] hands out.
pub(super) static RULES: SnapshotRules = SnapshotRules;

impl Rules for SnapshotRules {
    fn name(&self) -> &'static str {
        "snapshot"
    }

    fn parameters(&self) -> &'static [&'static str] {
        &["snapshot_s"]
    }

    fn check(&self, settings: &Settings<'_>) -> Result<(), RuleError> {
        if settings.snapshot_s == 0 {
            return Err(RuleError::new(
                "topology",
                "snapshot needs snapshot_s > 0 (the snapshot interval, seconds)",
            ));
        }
        Ok(())
    }

    fn node_names(&self, _f: u32) -> Vec<String> {
        vec![NODE.to_owned()]
    }

    fn survives(&self, _f: u32, down: &[String]) -> bool {
        down.is_empty()
    }

    fn revival(&self, _name: &str) -> Revival {
        Revival::FromDump
    }

    fn emulated_hosts(&self) -> bool {
        true
    }

    fn spec(&self, settings: &Settings<'_>) -> TopologySpec {
        TopologySpec::Snapshot {
            interval_s: settings.snapshot_s,
            place: None,
        }
    }

    fn chaos_kill(&self, rng: &mut rand::rngs::StdRng) -> (String, u32) {
        let (kill, _) = server_chaos_kill(rng);
        (kill, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_comes_back_from_its_dump_but_nothing_goes_on_without_it() {
        assert!(RULES.survives(1, &[]));
        assert!(!RULES.survives(1, &["primary".to_owned()]));
        assert_eq!(RULES.revival("primary"), Revival::FromDump);
        assert_eq!(
            RULES.check(&Settings::default()).unwrap_err().key,
            "topology"
        );
    }
}
