//! Jobs that span machines: workers started on any host join a job that a
//! client queued in a shared Redis (`harness worker`), and the client waits
//! for them without local workers (`harness count --workers 0 --wait`).
//!
//! - [`settings`]: the job's worker settings, written by the client as JSON
//!   under `wc:{JOB}:settings` so a joining host needs only the URL and the
//!   job id; and the per-job counter that gives joined workers unique
//!   consumer names.
//!
//! Where a unit's file is on the joining host is `crate::input::InputMap`;
//! starting N worker processes on this host for a job is
//! `crate::redis_run::join_job` (it runs a worker pool), so this room
//! imports neither `redis_run` nor `worker`'s callers.
//!
//! Completion is Redis's to say, as for local workers: a joined worker
//! exits when nothing is left to take and nothing is pending.

pub(crate) mod settings;

pub(crate) use settings::{
    JobSettings, delete_job_keys, print_join_command, publish_job, settings_key,
    wait_for_joined_to_leave,
};
