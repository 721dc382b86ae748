//! What workers measure and how the client sums it: the worker prints one
//! JSON line of [`WorkerStats`] on stdout when it exits normally (the pool
//! sends that stdout to a file, so it can never block the worker), and its
//! exit code (`crate::exit_code`) says which kind of failure ended it otherwise.
//!
//! The line's size does not grow with the work done: latencies (one per
//! commit or `WAIT`) go into a [`LatencyHistogram`] of fixed log buckets,
//! from which medians and p99s are read (within 1%), never a list.

use serde::{Deserialize, Serialize};

/// Declares the measurements a worker takes, once: each field's type, doc,
/// wire attributes, and how two values of it combine (a worker's later run
/// added to its earlier one, or workers summed into the run's totals). From
/// this one list come [`WorkerMeasures`] (the worker's statistics line and
/// the run's totals, `redis_run::RedisReport::workers`) and
/// [`WorkerMeasures::add`]; the CSV columns built from them are in
/// `results::measures`.
macro_rules! worker_measures {
    ( $( $(#[$meta:meta])* $field:ident : $ty:ty => $combine:path, )* ) => {
        /// What a worker measures, combined over runs and workers by
        /// [`WorkerMeasures::add`].
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct WorkerMeasures {
            $( $(#[$meta])* pub $field: $ty, )*
        }

        impl WorkerMeasures {
            /// Combines `other` into these measurements, field by field
            /// (sums, the smaller or larger, merged histograms).
            pub(crate) fn add(&mut self, other: &WorkerMeasures) {
                $( $combine(&mut self.$field, &other.$field); )*
            }
        }
    };
}

worker_measures! {
    /// Units counted and committed.
    units: u64 => sum,
    /// Bytes of those units.
    bytes: u64 => sum,
    /// Word occurrences in those units.
    words: u64 => sum,
    /// `ZINCRBY` commands sent.
    word_updates: u64 => sum,
    /// Commit round trips to Redis.
    round_trips: u64 => sum,
    /// Seconds counting units.
    count_s: f64 => sum,
    /// Seconds merging (commit round trips, acknowledgement included).
    merge_s: f64 => sum,
    /// Seconds waiting for work (reads that returned nothing, pending checks).
    wait_s: f64 => sum,
    /// Times the worker reconnected after losing Redis.
    reconnects: u64 => sum,
    /// Units it stole (`XAUTOCLAIM`) from another consumer.
    #[serde(default)]
    units_stolen: u64 => sum,
    /// Commits whose acknowledgement found the unit already acknowledged
    /// (atomic: refused, nothing applied; other paths: counted twice).
    #[serde(default)]
    duplicate_commits: u64 => sum,
    /// Commits refused or cut off by a failover (NOREPLICAS, READONLY,
    /// connection lost), retried after reconnecting.
    #[serde(default)]
    commit_retries: u64 => sum,
    /// Milliseconds of each `WAIT` after a commit (replicated topology).
    #[serde(default, skip_serializing_if = "LatencyHistogram::is_empty")]
    wait_ms: LatencyHistogram => LatencyHistogram::merge,
    /// The fewest replicas a `WAIT` reported (`None`: no WAIT).
    #[serde(default)]
    min_replicas_acked: Option<u64> => fewest,
    /// Milliseconds of each commit that was applied or refused (staging,
    /// the commit call and its acknowledgement; a commit retried after a
    /// failover counts from its last attempt).
    #[serde(default, skip_serializing_if = "LatencyHistogram::is_empty")]
    commit_ms: LatencyHistogram => LatencyHistogram::merge,
    /// Peak resident memory at exit, KiB (`VmHWM`; the largest over runs
    /// and workers).
    #[serde(default)]
    peak_rss_kib: u64 => largest,
}

/// Combines by adding.
fn sum<T: std::ops::AddAssign + Copy>(total: &mut T, more: &T) {
    *total += *more;
}

/// Combines by keeping the larger.
fn largest(kept: &mut u64, other: &u64) {
    *kept = (*kept).max(*other);
}

/// Combines by keeping the smaller present value (`None` is no value).
fn fewest(kept: &mut Option<u64>, other: &Option<u64>) {
    *kept = min_option(*kept, *other);
}

/// One worker's statistics: who it was and what it measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    /// Worker index.
    pub worker: u32,
    /// Process id.
    pub pid: u32,
    /// The emulated host it ran on (1-based; 0: not emulated).
    #[serde(default)]
    pub host: u32,
    /// What it measured (the fields of the line beside these).
    #[serde(flatten)]
    pub measured: WorkerMeasures,
    /// Bytes of its statistics line (set by the reader, not sent).
    #[serde(skip)]
    pub stats_bytes: u64,
}

/// A commit longer than this many milliseconds is a stall (an election
/// takes about a second on RedisRaft's defaults; a healthy commit of a
/// book-sized unit takes a few ms to a few hundred).
pub(crate) const STALL_MS: f64 = 1000.0;

impl WorkerStats {
    /// Adds the numbers of the same worker's later run (the pid becomes
    /// the later one's).
    pub(crate) fn absorb(&mut self, later: &WorkerStats) {
        self.pid = later.pid;
        self.measured.add(&later.measured);
    }

    /// The line a worker prints on stdout at exit.
    pub(crate) fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The stats in a worker's stdout (its last non-empty line).
    pub fn from_output(stdout: &str) -> Result<WorkerStats, String> {
        let line = stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .ok_or("it printed no statistics")?;
        let mut stats: WorkerStats = serde_json::from_str(line).map_err(|e| {
            let shown: String = line.chars().take(200).collect();
            format!("its statistics line {shown:?} is not valid: {e}")
        })?;
        stats.stats_bytes = line.len() as u64;
        Ok(stats)
    }

    /// Records this process's peak resident memory so far: `VmHWM` of
    /// `/proc/self/status` (its own memory since exec; `getrusage`'s
    /// `ru_maxrss`, the fallback, also counts the parent's memory at fork).
    pub(crate) fn note_peak_rss(&mut self) {
        let hwm = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            });
        if let Some(kib) = hwm {
            self.measured.peak_rss_kib = kib;
            return;
        }
        // SAFETY: an all-zero rusage is a valid out-parameter.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage only writes `usage`.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 {
            self.measured.peak_rss_kib = u64::try_from(usage.ru_maxrss).unwrap_or(0);
        }
    }
}

/// The smaller of two optional values (`None` is no value, not zero).
fn min_option(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The `q` quantile (0..1) of `values` (nearest rank; 0 when empty).
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Log buckets per decade of a [`LatencyHistogram`]: each is 2% wide, so
/// a quantile read from one (its middle) is within 1% of the value.
const BUCKETS_PER_DECADE: usize = 116;
/// The smallest latency told apart, ms (1 µs); less falls in bucket 0.
const HISTOGRAM_MIN_MS: f64 = 0.001;
/// Decades above [`HISTOGRAM_MIN_MS`] the buckets cover (to 10^7 ms,
/// about 2.8 hours; more falls in the last bucket).
const HISTOGRAM_DECADES: usize = 10;
/// Buckets of a [`LatencyHistogram`].
const HISTOGRAM_BUCKETS: usize = BUCKETS_PER_DECADE * HISTOGRAM_DECADES + 1;

/// Latencies in milliseconds as counts in fixed log buckets (2% wide, from
/// 1 µs to 10^7 ms), plus the exact count, smallest and largest: the same
/// size after ten commits or ten million. Serialized sparse (only the
/// buckets that were hit), so a worker's stats line stays small.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyHistogram {
    /// Counts by bucket (empty until the first value).
    counts: Vec<u64>,
    /// Values recorded.
    total: u64,
    /// Smallest value recorded, ms.
    min_ms: f64,
    /// Largest value recorded, ms.
    max_ms: f64,
}

/// The serialized form: `[[bucket, count], ...]` plus the exact extremes.
#[derive(Serialize, Deserialize)]
struct SparseHistogram {
    buckets: Vec<(u32, u64)>,
    min_ms: f64,
    max_ms: f64,
}

impl Serialize for LatencyHistogram {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SparseHistogram {
            buckets: self
                .counts
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(i, n)| (i as u32, *n))
                .collect(),
            min_ms: self.min_ms,
            max_ms: self.max_ms,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for LatencyHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let sparse = SparseHistogram::deserialize(deserializer)?;
        let mut histogram = LatencyHistogram::default();
        for (bucket, count) in sparse.buckets {
            let bucket = bucket as usize;
            if bucket >= HISTOGRAM_BUCKETS {
                return Err(serde::de::Error::custom(format!(
                    "latency bucket {bucket} is out of range (0..{HISTOGRAM_BUCKETS})"
                )));
            }
            histogram.add_to_bucket(bucket, count);
        }
        histogram.min_ms = sparse.min_ms;
        histogram.max_ms = sparse.max_ms;
        Ok(histogram)
    }
}

impl LatencyHistogram {
    /// True when nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Values recorded.
    #[cfg(test)]
    pub(crate) fn len(&self) -> u64 {
        self.total
    }

    /// The bucket of `ms` (NaN and negatives in bucket 0).
    fn bucket_of(ms: f64) -> usize {
        if !(ms >= HISTOGRAM_MIN_MS) {
            return 0;
        }
        // The nudge puts whole decades (1 ms, 1000 ms) on a bucket's lower
        // edge despite rounding.
        let position = (ms / HISTOGRAM_MIN_MS).log10() * BUCKETS_PER_DECADE as f64 + 1e-9;
        (position.floor() as usize + 1).min(HISTOGRAM_BUCKETS - 1)
    }

    /// The lower edge of bucket `bucket`, ms (0 for bucket 0).
    fn lower_edge(bucket: usize) -> f64 {
        if bucket == 0 {
            0.0
        } else {
            HISTOGRAM_MIN_MS * 10f64.powf((bucket - 1) as f64 / BUCKETS_PER_DECADE as f64)
        }
    }

    fn add_to_bucket(&mut self, bucket: usize, count: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; HISTOGRAM_BUCKETS];
        }
        self.counts[bucket] += count;
        self.total += count;
    }

    /// Records one latency, ms.
    pub(crate) fn record(&mut self, ms: f64) {
        let ms = if ms.is_finite() { ms.max(0.0) } else { 0.0 };
        if self.total == 0 {
            (self.min_ms, self.max_ms) = (ms, ms);
        } else {
            self.min_ms = self.min_ms.min(ms);
            self.max_ms = self.max_ms.max(ms);
        }
        self.add_to_bucket(Self::bucket_of(ms), 1);
    }

    /// Adds another histogram's values.
    pub(crate) fn merge(&mut self, other: &LatencyHistogram) {
        if other.total == 0 {
            return;
        }
        if self.total == 0 {
            (self.min_ms, self.max_ms) = (other.min_ms, other.max_ms);
        } else {
            self.min_ms = self.min_ms.min(other.min_ms);
            self.max_ms = self.max_ms.max(other.max_ms);
        }
        for (bucket, &count) in other.counts.iter().enumerate() {
            if count > 0 {
                self.add_to_bucket(bucket, count);
            }
        }
    }

    /// The `q` quantile (0..1), nearest rank, ms: the middle of its bucket
    /// (within 1%), kept within the exact smallest and largest (0 when empty).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let middle = if bucket == 0 {
                    HISTOGRAM_MIN_MS / 2.0
                } else {
                    (Self::lower_edge(bucket) * Self::lower_edge(bucket + 1)).sqrt()
                };
                return middle.clamp(self.min_ms, self.max_ms);
            }
        }
        self.max_ms
    }

    /// Values of at least `ms` (bucket-exact at whole decades of ms, e.g. 1000).
    pub(crate) fn count_at_least(&self, ms: f64) -> u64 {
        if self.total == 0 || self.max_ms < ms {
            return 0;
        }
        let first = Self::bucket_of(ms);
        self.counts[first..].iter().sum()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Worker `worker`'s statistics with these figures (tests here and in
    /// `redis_run::report`).
    pub(crate) fn stats(worker: u32, units: u64, updates: u64, merge_s: f64) -> WorkerStats {
        WorkerStats {
            worker,
            pid: 100 + worker,
            measured: WorkerMeasures {
                units,
                word_updates: updates,
                round_trips: units,
                count_s: 1.0,
                merge_s,
                wait_s: 0.5,
                reconnects: worker as u64,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// A histogram of `values`.
    pub(crate) fn histogram(values: &[f64]) -> LatencyHistogram {
        let mut h = LatencyHistogram::default();
        values.iter().for_each(|&v| h.record(v));
        h
    }

    /// `got` is within 1% of `want`.
    pub(crate) fn assert_close(got: f64, want: f64) {
        assert!(
            (got - want).abs() <= want * 0.01,
            "got {got}, want {want} within 1%"
        );
    }

    #[test]
    fn histograms_read_quantiles_within_one_percent_at_a_fixed_size() {
        let values: Vec<f64> = (1..=100_000).map(|i| f64::from(i) * 0.01).collect();
        let h = histogram(&values);
        assert_eq!(h.len(), 100_000);
        for q in [0.01, 0.5, 0.9, 0.99] {
            assert_close(h.quantile(q), quantile(&values, q));
        }
        assert_eq!(h.quantile(1.0), 1000.0);
        assert_eq!(h.count_at_least(STALL_MS), 1);
        assert_eq!(histogram(&[0.0, -1.0, f64::NAN]).quantile(0.5), 0.0);
        // The line does not grow with the values: a million commits of
        // realistic spread serialize into the same few hundred buckets.
        let with_commits = |commit_ms| WorkerStats {
            measured: WorkerMeasures {
                commit_ms,
                ..Default::default()
            },
            ..WorkerStats::default()
        };
        let small = with_commits(histogram(&values[..1000]));
        let mut big = with_commits(histogram(&values));
        for _ in 0..9 {
            big.measured.commit_ms.merge(&histogram(&values));
        }
        assert_eq!(big.measured.commit_ms.len(), 1_000_000);
        assert!(big.to_line().len() < 16 * 1024, "{}", big.to_line().len());
        assert!(small.to_line().len() < 16 * 1024);
        let back = WorkerStats::from_output(&big.to_line()).unwrap();
        assert_eq!(back.stats_bytes, big.to_line().len() as u64);
        assert_eq!(back.measured.commit_ms, big.measured.commit_ms);
        let mut bad: serde_json::Value = serde_json::from_str(&small.to_line()).unwrap();
        bad["commit_ms"]["buckets"][0][0] = serde_json::json!(99_999);
        let bad = bad.to_string();
        assert!(
            WorkerStats::from_output(&bad)
                .unwrap_err()
                .contains("out of range")
        );
    }

    #[test]
    fn stats_lines_round_trip_and_garbage_is_reported() {
        let one = stats(1, 3, 40, 0.25);
        let line = one.to_line();
        assert_eq!(
            WorkerStats::from_output(&format!("noise\n{line}\n\n")),
            Ok(WorkerStats {
                stats_bytes: line.len() as u64,
                ..one
            })
        );
        assert!(
            WorkerStats::from_output("")
                .unwrap_err()
                .contains("no statistics")
        );
        assert!(
            WorkerStats::from_output("{\"worker\":")
                .unwrap_err()
                .contains("not valid")
        );
    }
}
