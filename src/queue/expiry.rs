//! Keys of a job in a Redis the user runs (`--redis-url`) expire once
//! their client is gone: while the job lives, a [`KeyExpiry`] thread sets a
//! TTL of `ttl` on every `wc:{JOB}:*` key, again every quarter of it
//! (`SCAN` + `PEXPIRE`), so a live job's keys never expire and a job whose
//! client died by SIGKILL (no destructor deletes its keys; its workers die
//! with it) is gone within `ttl` plus a quarter of it. A key created in the last
//! quarter before such a death has no TTL yet; [`find_jobs`] and
//! [`delete_job`] (`harness clean`) list and remove what is left.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Endpoint, QueueError};

/// Seconds a job's keys live after their client stops refreshing them,
/// unless `--key-ttl-s` says otherwise.
pub const DEFAULT_KEY_TTL_S: u64 = 60;
/// The shortest TTL allowed, seconds (a refresh every quarter of it must
/// stay well above a command's round trip).
pub const MIN_KEY_TTL_S: u64 = 2;
/// Keys asked for per `SCAN` step.
const SCAN_COUNT: usize = 1000;

/// The thread refreshing one job's key TTLs; dropping it stops the thread
/// (the keys keep their last TTL).
pub struct KeyExpiry {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl KeyExpiry {
    /// Starts refreshing the TTL of job `job`'s keys on `endpoint`: at once,
    /// then every `ttl / 4`. Errors (Redis away for a while) are retried at
    /// the next refresh; the first one is reported on stderr.
    pub(crate) fn start(endpoint: Endpoint, job: &str, ttl: Duration) -> KeyExpiry {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let pattern = format!("wc:{{{job}}}:*");
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let every = (ttl / 4).max(Duration::from_millis(250));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("key-expiry".into())
                .spawn(move || {
                    let mut warned = false;
                    let mut con = None;
                    loop {
                        if con.is_none() {
                            con = endpoint.connect().ok();
                        }
                        let refreshed = match con.as_mut() {
                            Some(c) => expire_matching(c, &pattern, ttl_ms)
                                .map_err(|e| endpoint.error(e, "PEXPIRE of the job's keys")),
                            None => Err(QueueError::BadOptions("cannot connect".into())),
                        };
                        if let Err(e) = refreshed {
                            con = None;
                            if !warned {
                                eprintln!(
                                    "warning: cannot refresh the TTL of the job's keys ({e}); retrying"
                                );
                                warned = true;
                            }
                        }
                        let (lock, wake) = &*stop;
                        let Ok(guard) = lock.lock() else { return };
                        let Ok((guard, _)) = wake.wait_timeout_while(guard, every, |s| !*s) else {
                            return;
                        };
                        if *guard {
                            return;
                        }
                    }
                })
                .ok()
        };
        KeyExpiry { stop, thread }
    }
}

impl Drop for KeyExpiry {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        if let Ok(mut stopped) = lock.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The keys matching `pattern` (one `SCAN` pass).
fn scan(con: &mut redis::Connection, pattern: &str) -> redis::RedisResult<Vec<String>> {
    let mut keys = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query(con)?;
        keys.extend(found);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// Sets a TTL of `ttl_ms` on every key matching `pattern`; returns how many.
fn expire_matching(
    con: &mut redis::Connection,
    pattern: &str,
    ttl_ms: u64,
) -> redis::RedisResult<usize> {
    let keys = scan(con, pattern)?;
    for chunk in keys.chunks(SCAN_COUNT) {
        let mut pipe = redis::pipe();
        for key in chunk {
            pipe.cmd("PEXPIRE").arg(key).arg(ttl_ms).ignore();
        }
        pipe.query::<()>(con)?;
    }
    Ok(keys.len())
}

/// A job's keys found in a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundJob {
    /// The job id (`wc:{JOB}:*`).
    pub job: String,
    /// Its keys, sorted.
    pub keys: Vec<String>,
    /// Keys without a TTL (they would stay forever).
    pub without_ttl: usize,
    /// The longest TTL left, ms (0: none has one).
    pub max_ttl_ms: i64,
}

/// Every job with keys (`wc:{JOB}:*`) on the server behind `con`, by id.
pub fn find_jobs(con: &mut redis::Connection) -> redis::RedisResult<Vec<FoundJob>> {
    let mut jobs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in scan(con, "wc:{*}:*")? {
        if let Some(job) = key
            .strip_prefix("wc:{")
            .and_then(|rest| rest.split_once("}:"))
            .map(|(job, _)| job.to_owned())
        {
            jobs.entry(job).or_default().push(key);
        }
    }
    let mut found = Vec::with_capacity(jobs.len());
    for (job, mut keys) in jobs {
        keys.sort();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("PTTL").arg(key);
        }
        let ttls: Vec<i64> = pipe.query(con)?;
        found.push(FoundJob {
            job,
            without_ttl: ttls.iter().filter(|&&t| t == -1).count(),
            max_ttl_ms: ttls.iter().copied().max().unwrap_or(0).max(0),
            keys,
        });
    }
    Ok(found)
}

/// Deletes every key of `job`; returns how many there were.
pub fn delete_job(con: &mut redis::Connection, job: &FoundJob) -> redis::RedisResult<usize> {
    for chunk in job.keys.chunks(SCAN_COUNT) {
        redis::cmd("DEL").arg(chunk).query::<()>(con)?;
    }
    Ok(job.keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{RedisConfig, RedisServer};

    #[test]
    fn live_keys_are_refreshed_and_expire_once_the_keeper_stops() {
        let server = RedisServer::start(RedisConfig::default()).unwrap();
        let endpoint = Endpoint::new(&server.url());
        let mut con = endpoint.connect().unwrap();
        redis::cmd("SET")
            .arg("wc:{j1}:a")
            .arg(1)
            .query::<()>(&mut con)
            .unwrap();
        redis::cmd("SET")
            .arg("wc:{other}:b")
            .arg(1)
            .query::<()>(&mut con)
            .unwrap();
        let keeper = KeyExpiry::start(endpoint.clone(), "j1", Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(300));
        // A key created later gets its TTL at the next refresh.
        redis::cmd("SET")
            .arg("wc:{j1}:late")
            .arg(1)
            .query::<()>(&mut con)
            .unwrap();
        std::thread::sleep(Duration::from_millis(2500));
        let exists: u64 = redis::cmd("EXISTS")
            .arg("wc:{j1}:a")
            .arg("wc:{j1}:late")
            .query(&mut con)
            .unwrap();
        assert_eq!(exists, 2, "a live job's keys expired");
        let jobs = find_jobs(&mut con).unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].job, "j1");
        assert_eq!(jobs[0].without_ttl, 0);
        assert_eq!(jobs[1].without_ttl, 1);
        drop(keeper);
        std::thread::sleep(Duration::from_millis(2200));
        let exists: u64 = redis::cmd("EXISTS")
            .arg("wc:{j1}:a")
            .arg("wc:{j1}:late")
            .query(&mut con)
            .unwrap();
        assert_eq!(exists, 0, "the keys outlived their TTL");
        let left = find_jobs(&mut con).unwrap();
        assert_eq!(delete_job(&mut con, &left[0]).unwrap(), 1);
        assert!(find_jobs(&mut con).unwrap().is_empty());
    }
}
