//! Key names of one job. Every key of a job shares the hash tag `{JOBID}`,
//! so they land in one slot of a Redis Cluster (a Function touching several
//! of them stays legal), and two jobs can share one Redis.

use std::fmt;

/// The keys and names one job uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobKeys {
    job: String,
}

impl JobKeys {
    /// The keys of job `job` (letters, digits, `-` and `_` only).
    pub(crate) fn new(job: &str) -> Result<JobKeys, String> {
        if job.is_empty()
            || !job
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!(
                "bad job id {job:?}: use letters, digits, '-' and '_' only"
            ));
        }
        Ok(JobKeys {
            job: job.to_owned(),
        })
    }

    /// A fresh random job id: 12 hex digits.
    pub(crate) fn random_job_id() -> String {
        format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
    }

    /// The keys of a new job with a random id.
    pub fn random() -> JobKeys {
        JobKeys {
            job: JobKeys::random_job_id(),
        }
    }

    /// The job id.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The stream of units to count: `wc:{JOB}:stream`.
    pub(crate) fn stream(&self) -> String {
        format!("wc:{{{}}}:stream", self.job)
    }

    /// The sorted set of word counts: `wc:{JOB}:counts`.
    pub(crate) fn counts(&self) -> String {
        format!("wc:{{{}}}:counts", self.job)
    }

    /// The hash of counts of the `hash` merge target: `wc:{JOB}:hcounts`.
    pub(crate) fn hash_counts(&self) -> String {
        format!("wc:{{{}}}:hcounts", self.job)
    }

    /// The set of part keys of the `parts` merge target: `wc:{JOB}:parts`.
    pub(crate) fn parts(&self) -> String {
        format!("wc:{{{}}}:parts", self.job)
    }

    /// The part (one commit's counts, a binary blob) of the commit whose
    /// first message is `id`: `wc:{JOB}:part:{ID}`.
    pub(crate) fn part(&self, id: &str) -> String {
        format!("wc:{{{}}}:part:{id}", self.job)
    }

    /// The staging hash of an atomic commit of message `id` by `consumer`:
    /// `wc:{JOB}:stage:{ID}:{CONSUMER}` (see [`super::commit`]).
    pub(crate) fn stage(&self, id: &str, consumer: &str) -> String {
        format!("wc:{{{}}}:stage:{id}:{consumer}", self.job)
    }

    /// The consumer group of the workers: `wc:{JOB}:workers`.
    pub(crate) fn group(&self) -> String {
        format!("wc:{{{}}}:workers", self.job)
    }

    /// The consumer name of worker `worker` within the group.
    pub(crate) fn consumer(worker: u32) -> String {
        format!("worker-{worker}")
    }

    /// Every key the job creates, for deleting them at the end.
    pub(crate) fn all(&self) -> Vec<String> {
        vec![
            self.stream(),
            self.counts(),
            self.hash_counts(),
            self.parts(),
        ]
    }
}

impl fmt::Display for JobKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wc:{{{}}}:*", self.job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_with_a_hash_tag() {
        let keys = JobKeys::new("ab12").unwrap();
        assert_eq!(keys.stream(), "wc:{ab12}:stream");
        assert_eq!(keys.counts(), "wc:{ab12}:counts");
        assert_eq!(keys.group(), "wc:{ab12}:workers");
        assert_eq!(JobKeys::consumer(3), "worker-3");
        assert_eq!(
            keys.stage("1-0", "worker-1"),
            "wc:{ab12}:stage:1-0:worker-1"
        );
        assert_eq!(
            keys.all(),
            vec![
                "wc:{ab12}:stream",
                "wc:{ab12}:counts",
                "wc:{ab12}:hcounts",
                "wc:{ab12}:parts"
            ]
        );
        assert_eq!(keys.part("1-0"), "wc:{ab12}:part:1-0");
        assert_eq!(keys.to_string(), "wc:{ab12}:*");
    }

    #[test]
    fn job_ids_are_checked_and_random_ones_are_valid_and_differ() {
        assert!(JobKeys::new("").is_err());
        assert!(JobKeys::new("a}b").is_err());
        assert!(JobKeys::new("a b").is_err());
        let (a, b) = (JobKeys::random_job_id(), JobKeys::random_job_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 12);
        assert!(JobKeys::new(&a).is_ok());
    }
}
