//! The job's worker settings in Redis: the client writes them as JSON under
//! `wc:{JOB}:settings` when it queues the job; `harness worker` reads them,
//! so the commit path, tokenizer, pipeline size, steal timeout and input
//! root of a joined worker are the job's, never retyped by hand. Joined
//! workers take consumer indices from the counter `wc:{JOB}:joined`, above
//! the client's own workers, so no two processes share a consumer name.

use std::ops::Range;

use redis::{Commands, Connection};

use crate::input::InputMap;
use crate::queue::{Endpoint, QueueError};
use crate::worker::WorkerConfig;

/// The settings key of job `job`: `wc:{JOB}:settings`.
pub(crate) fn settings_key(job: &str) -> String {
    format!("wc:{{{job}}}:settings")
}

/// The counter of joined workers of job `job`: `wc:{JOB}:joined`.
pub(crate) fn joined_key(job: &str) -> String {
    format!("wc:{{{job}}}:joined")
}

/// How many joined workers still run for job `job`: `wc:{JOB}:live`
/// (`harness worker` adds its workers on joining and takes them off once
/// they have all ended, so the client deletes the job's keys only after
/// they left).
pub(crate) fn live_key(job: &str) -> String {
    format!("wc:{{{job}}}:live")
}

/// Every key this module creates for job `job` (deleted with the job's keys).
pub(crate) fn keys(job: &str) -> Vec<String> {
    vec![settings_key(job), joined_key(job), live_key(job)]
}

/// What a joining host needs besides the URL and the job id.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct JobSettings {
    /// A worker's settings as the client's own workers get them (its URL,
    /// index, event file and crash plan are replaced by the joining host).
    pub worker: WorkerConfig,
    /// Where the inputs are on the client.
    pub input: InputMap,
    /// The first consumer index joined workers may use (the client's own
    /// workers use the ones below).
    pub first_joined_index: u32,
}

impl JobSettings {
    /// Writes the settings of `job` (`SET`, no expiry: deleted with the job).
    pub(crate) fn publish(
        &self,
        endpoint: &Endpoint,
        con: &mut Connection,
        job: &str,
    ) -> Result<(), QueueError> {
        let json = serde_json::to_string(self)
            .map_err(|e| QueueError::BadOptions(format!("cannot encode the job settings: {e}")))?;
        con.set::<_, _, ()>(settings_key(job), json)
            .map_err(|e| endpoint.error(e, "SET of the job settings"))
    }

    /// Reads the settings of `job`; `None` when the key is not there (yet).
    pub(crate) fn fetch(
        endpoint: &Endpoint,
        con: &mut Connection,
        job: &str,
    ) -> Result<Option<JobSettings>, QueueError> {
        let json: Option<String> = con
            .get(settings_key(job))
            .map_err(|e| endpoint.error(e, "GET of the job settings"))?;
        json.map(|json| {
            serde_json::from_str(&json).map_err(|e| QueueError::BadReply {
                url: endpoint.shown().into(),
                during: format!("reading {}", settings_key(job)),
                detail: format!(
                    "the job settings are not what this harness writes ({e}); run the same harness version on every host"
                ),
            })
        })
        .transpose()
    }

    /// Takes `count` consumer indices for workers joining from this host.
    pub(crate) fn claim_indices(
        &self,
        endpoint: &Endpoint,
        con: &mut Connection,
        job: &str,
        count: u32,
    ) -> Result<Range<u32>, QueueError> {
        let (end, _live): (u64, i64) = redis::pipe()
            .atomic()
            .incr(joined_key(job), count)
            .incr(live_key(job), count)
            .query(con)
            .map_err(|e| endpoint.error(e, "INCRBY of the joined workers"))?;
        let end = u32::try_from(end)
            .ok()
            .and_then(|end| end.checked_add(self.first_joined_index))
            .ok_or_else(|| QueueError::BadOptions(format!("too many workers joined job {job}")))?;
        Ok(end - count..end)
    }
}

/// Writes the settings of the job `template.job` (whose units are
/// `units`, planned with `local_workers` workers of the client): the
/// template of a worker's settings and where the inputs are.
pub(crate) fn publish_job(
    endpoint: &Endpoint,
    template: &WorkerConfig,
    units: &[crate::input::Unit],
    local_workers: u32,
) -> Result<(), QueueError> {
    let client_dir = std::env::current_dir().map_err(|error| QueueError::Io {
        what: "reading the working directory (the job records it for workers on other hosts)"
            .into(),
        error,
    })?;
    let from_root = crate::input::input_root(&client_dir, units.iter().map(|u| u.path.as_path()));
    let settings = JobSettings {
        worker: WorkerConfig {
            events: None,
            crash: None,
            ..template.clone()
        },
        input: InputMap {
            client_dir,
            from_root,
            to_root: None,
        },
        first_joined_index: local_workers,
    };
    let mut con = endpoint.connect()?;
    settings.publish(endpoint, &mut con, &template.job)
}

/// Deletes the keys of this module for `job`.
pub(crate) fn delete_job_keys(
    endpoint: &Endpoint,
    con: &mut Connection,
    job: &str,
) -> Result<(), QueueError> {
    con.del::<_, ()>(keys(job))
        .map_err(|e| endpoint.error(e, "DEL of the job settings"))
}

/// Tells the user (stderr) how to start workers for `job` on other hosts.
/// The URL is shown without its password (`PASSWORD` stands in for it).
pub(crate) fn print_join_command(endpoint: &Endpoint, job: &str) {
    let url = endpoint.url();
    let shown = if url.contains('@') {
        let redacted = crate::queue::redact_url(url);
        redacted.replacen("://", "://:PASSWORD@", 1)
    } else {
        url.to_owned()
    };
    eprintln!(
        "note: job {job} queued with no local workers; waiting until Redis says it is complete (Ctrl-C stops waiting and deletes the job's keys)"
    );
    eprintln!(
        "note: on each worker host run: harness worker --redis '{shown}' --job {job} --workers N [--input-root DIR]"
    );
}

/// Takes `count` workers of this host off the live count of `job`.
pub(crate) fn leave(
    endpoint: &Endpoint,
    con: &mut Connection,
    job: &str,
    count: u32,
) -> Result<(), QueueError> {
    con.decr::<_, _, ()>(live_key(job), count)
        .map_err(|e| endpoint.error(e, "DECRBY of the live joined workers"))
}

/// Waits (up to `patience`) until no joined worker of `job` runs any more,
/// so deleting the job's keys does not cut off a worker that is still
/// reading; returns how many were still there when it stopped waiting.
pub(crate) fn wait_for_joined_to_leave(
    endpoint: &Endpoint,
    job: &str,
    patience: std::time::Duration,
) -> Result<i64, QueueError> {
    let give_up = std::time::Instant::now() + patience;
    let mut con = endpoint.connect()?;
    loop {
        let live: Option<i64> = con
            .get(live_key(job))
            .map_err(|e| endpoint.error(e, "GET of the live joined workers"))?;
        let live = live.unwrap_or(0);
        if live <= 0 || std::time::Instant::now() >= give_up || crate::interrupt::requested() {
            return Ok(live.max(0));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
