//! `harness chaos`: a Jepsen-style series of seeded fault schedules. Each
//! schedule ([`Schedule`], drawn from its seed) runs the real system — a
//! `harness count --mode redis` child process with its own redis-server and
//! workers — on a small generated input, while this process throws outside
//! faults at the workers and at the topology's nodes (kill -9,
//! SIGSTOP/SIGCONT at random shares of the job, see [`JobPace`]); the
//! counts are then checked against the serial oracle. This process finds
//! its victims itself: the harness starts workers, redis-servers and
//! redis-sentinels as its direct children, so their pids are the child's
//! children in `/proc`, told apart by process title (`redis-worker`,
//! `redis-server`, `redis-sentinel`). Each row says what was thrown at
//! which process (`thrown`) and which planned fault came after the
//! workers had ended (`not_thrown`): a schedule never passes for surviving
//! a fault it did not get. Every schedule has a deadline: one that misses
//! it is a liveness result ("not finished"), not a hang.
//!
//! After each schedule the process table is checked: this process is the
//! child subreaper, so any process the schedule left behind (an orphaned
//! worker or redis-server) becomes our child and is found, killed and
//! reported. Temporary directories the child left are checked too.

mod schedule;

pub(crate) use schedule::{ChaosCommit, NodeFault, NodeKind, OutsideFault, Schedule};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use data_gen::{GenSpec, Preset};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::experiment::{InputSource, Oracle, count_differences};
use crate::words::Tokenizer;
use crate::words::WordCounts;

/// How a series runs.
#[derive(Debug, Clone)]
pub(crate) struct ChaosOptions {
    /// Schedules to run.
    pub schedules: u64,
    /// Seed of the series (schedule `i` uses seed `seed * 1_000_003 + i`).
    pub seed: u64,
    /// Run only this schedule seed.
    pub replay: Option<u64>,
    /// Scale of the generated inputs.
    pub scale: f64,
    /// The commit path under test.
    pub commit: ChaosCommit,
    /// The work-queue backend under test.
    pub queue: crate::queue::QueueBackend,
    /// The Redis topology under test.
    pub topology: crate::servers::TopologyKind,
    /// Deadline of each schedule, seconds.
    pub deadline_s: f64,
    /// The harness binary.
    pub exe: PathBuf,
    /// Folder of generated inputs and the oracle cache.
    pub data_dir: PathBuf,
    /// The CSV with one row per schedule.
    pub csv: PathBuf,
    /// Bring your own worker: the external worker under test ("": the
    /// built-in one; see docs/PROTOCOL.md).
    pub worker_cmd: String,
    /// Bring your own worker: its Function library ("": none).
    pub worker_functions: String,
}

/// How one schedule ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Outcome {
    /// Counts equal to the oracle.
    Exact,
    /// Counts differ from the oracle.
    Wrong,
    /// The job missed its deadline (a liveness result).
    NotFinished,
    /// The job failed with an error (e.g. every worker died and none
    /// could be restarted), explained in the reason.
    Failed,
}

/// One CSV row: a schedule and what happened.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChaosRow {
    /// The schedule's seed (`harness chaos --replay SEED`).
    pub seed: u64,
    /// The schedule in words.
    pub schedule: String,
    /// What happened.
    pub outcome: Outcome,
    /// Seconds the job took.
    pub wall_s: f64,
    /// Words whose count differs from the oracle.
    pub diff_words: u64,
    /// Processes the schedule left behind (killed by the checker).
    pub leftover_processes: u64,
    /// Temporary directories the schedule left behind.
    pub leftover_dirs: u64,
    /// What this process threw at workers and nodes (signal, process, pid,
    /// ms after the workers start).
    pub thrown: String,
    /// The outside faults planned but not thrown, and why (the workers had
    /// ended first).
    pub not_thrown: String,
    /// The outside faults thrown, by kind (for the summary).
    #[serde(skip)]
    pub throws: Vec<Throw>,
    /// How many outside faults were planned.
    #[serde(skip)]
    pub planned: usize,
    /// The job's summary line, or why it did not finish.
    pub detail: String,
}

/// What a series did.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChaosSummary {
    /// Every schedule's row.
    pub rows: Vec<ChaosRow>,
    /// Seconds for the series.
    pub wall_s: f64,
}

impl ChaosSummary {
    /// Schedules with this outcome.
    pub(crate) fn count(&self, outcome: Outcome) -> usize {
        self.rows.iter().filter(|r| r.outcome == outcome).count()
    }

    /// Outside faults thrown over the series at `victim`, kills (`kill`
    /// true) or pauses.
    pub(crate) fn thrown(&self, victim: Victim, kill: bool) -> usize {
        self.rows
            .iter()
            .flat_map(|r| &r.throws)
            .filter(|t| t.victim == victim && t.kill == kill)
            .count()
    }

    /// Outside faults planned and thrown over the series.
    pub(crate) fn planned_and_thrown(&self) -> (usize, usize) {
        self.rows
            .iter()
            .fold((0, 0), |(p, t), r| (p + r.planned, t + r.throws.len()))
    }

    /// Processes and directories left behind over the series.
    pub(crate) fn leftovers(&self) -> (u64, u64) {
        self.rows.iter().fold((0, 0), |(p, d), r| {
            (p + r.leftover_processes, d + r.leftover_dirs)
        })
    }
}

/// The seed of schedule `index` of a series seeded with `seed`.
pub(crate) fn schedule_seed(seed: u64, index: u64) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(index)
}

/// Runs the series, calling `progress` after each schedule.
pub(crate) fn run_chaos(
    options: &ChaosOptions,
    mut progress: impl FnMut(&ChaosRow, usize, usize),
) -> Result<ChaosSummary> {
    let started = Instant::now();
    become_subreaper();
    let seeds: Vec<u64> = match options.replay {
        Some(seed) => vec![seed],
        None => (0..options.schedules)
            .map(|i| schedule_seed(options.seed, i))
            .collect(),
    };
    if let Some(dir) = options.csv.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the results folder {}", dir.display()))?;
    }
    let mut writer = csv::Writer::from_path(&options.csv)
        .with_context(|| format!("cannot write {}", options.csv.display()))?;
    let mut summary = ChaosSummary::default();
    let mut pace = JobPace::default();
    for (index, &seed) in seeds.iter().enumerate() {
        crate::interrupt::check()?;
        let mut schedule = Schedule::draw(seed, options.scale, options.commit, options.topology);
        schedule.params.queue = options.queue;
        if !options.worker_cmd.is_empty() {
            // The external worker decides its commit path; the schedule's
            // faults (crash points, kills, pauses, Redis kills) are the same.
            schedule.params.worker_cmd = options.worker_cmd.clone();
            schedule.params.worker_functions = options.worker_functions.clone();
            schedule.params.atomic = false;
        }
        // One oracle per schedule: every schedule has its own input, and
        // keeping a thousand count tables in memory is pointless.
        let mut oracle = Oracle::new(&options.data_dir);
        let row = run_schedule(&schedule, options, &mut oracle, &mut pace)
            .with_context(|| format!("schedule {seed} ({}) could not run", schedule.describe()))?;
        writer.serialize(&row)?;
        writer.flush()?;
        progress(&row, index + 1, seeds.len());
        summary.rows.push(row);
    }
    summary.wall_s = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Runs one schedule and judges it.
fn run_schedule(
    schedule: &Schedule,
    options: &ChaosOptions,
    oracle: &mut Oracle,
    pace: &mut JobPace,
) -> Result<ChaosRow> {
    let input = InputSource::Generated(GenSpec {
        preset: Preset::Uniform {
            files: schedule.files,
            file_bytes: schedule.file_bytes,
        },
        seed: schedule.seed,
        vocabulary: 5_000,
    });
    let paths = crate::experiment::materialize_input(&input, &options.data_dir)?;
    let expected = oracle.counts(&paths, Tokenizer::Whitespace)?.clone();
    let out_dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let output = out_dir.path().join("counts.tsv");
    let stderr_path = out_dir.path().join("stderr");
    let mut command = Command::new(&options.exe);
    command
        .arg("count")
        .args(&paths)
        .args(schedule.count_args(options.deadline_s))
        .arg("--output")
        .arg(&output)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path)?);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", options.exe.display()))?;
    let child_pid = child.id();
    let hard_limit = Duration::from_secs_f64(options.deadline_s + 30.0);
    let input_bytes = u64::from(schedule.files) * schedule.file_bytes;
    let driven = drive(
        &mut child,
        schedule,
        hard_limit,
        pace.expected_ms(input_bytes),
    )?;
    if let Some(job_ms) = driven.job_ms {
        pace.learn(input_bytes, job_ms);
    }
    let status = driven.status;
    let wall_s = started.elapsed().as_secs_f64();
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        let _ = out.read_to_string(&mut stdout);
    }
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let leftover_processes = reap_leftovers();
    let leftover_dirs = leftover_dirs(child_pid);
    let (outcome, diff_words, detail) = match status {
        None => (
            Outcome::NotFinished,
            0,
            format!(
                "HUNG: still running {} s after its deadline; killed",
                hard_limit.as_secs()
            ),
        ),
        Some(code) if code == crate::exit_code::NOT_FINISHED => {
            (Outcome::NotFinished, 0, last_error(&stderr))
        }
        Some(0) => {
            let got = read_tsv(&output)?;
            let diff = count_differences(&got, &expected);
            if diff == 0 {
                (Outcome::Exact, diff, stdout.trim().to_owned())
            } else {
                let evidence = first_differences(&got, &expected, 10);
                (
                    Outcome::Wrong,
                    diff,
                    format!(
                        "{diff} words differ; first ten (word: expected, counted): {evidence}; faults: see the schedule"
                    ),
                )
            }
        }
        Some(_) => (Outcome::Failed, 0, last_error(&stderr)),
    };
    Ok(ChaosRow {
        seed: schedule.seed,
        schedule: schedule.describe(),
        outcome,
        wall_s,
        diff_words,
        leftover_processes,
        leftover_dirs,
        thrown: driven
            .thrown
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        not_thrown: driven.not_thrown.join("; "),
        planned: schedule.outside.len() + schedule.nodes.len(),
        throws: driven.thrown,
        detail,
    })
}

/// The job's expected length, learned over the series: the lower quartile
/// of the time per input byte from the workers' start to their end in the
/// schedules run so far (faults lengthen a job: a killed server's restart
/// alone takes longer than a small job, so the quicker jobs of the series
/// say best how long one runs before its faults). Outside faults are timed
/// in percent of it, so they land inside the job at any scale and on any
/// topology (a replicated job starts Sentinels for seconds before its
/// workers; a fixed time after the harness starts would miss the job).
#[derive(Debug, Clone, Default)]
pub(crate) struct JobPace {
    /// Milliseconds per input megabyte, one per schedule whose workers ran.
    ms_per_mb: Vec<f64>,
}

impl JobPace {
    /// The pace assumed before any schedule has run (about what 2 cores
    /// do with a single server at scale 1).
    const FIRST_GUESS_MS_PER_MB: f64 = 150.0;
    /// The shortest job length assumed, ms.
    const SHORTEST_MS: f64 = 20.0;

    /// The expected length, ms, of a job of `bytes` input bytes.
    pub(crate) fn expected_ms(&self, bytes: u64) -> f64 {
        let mut paces = self.ms_per_mb.clone();
        paces.sort_by(f64::total_cmp);
        let pace = paces
            .get(paces.len() / 4)
            .copied()
            .unwrap_or(Self::FIRST_GUESS_MS_PER_MB);
        (pace * bytes as f64 / 1e6).max(Self::SHORTEST_MS)
    }

    /// Learns from a job of `bytes` whose workers ran for `job_ms`.
    pub(crate) fn learn(&mut self, bytes: u64, job_ms: f64) {
        if bytes > 0 && job_ms.is_finite() && job_ms > 0.0 {
            self.ms_per_mb.push(job_ms / (bytes as f64 / 1e6));
        }
    }
}

/// Whom an outside fault hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Victim {
    /// A worker process.
    Worker,
    /// A node of the topology.
    Node(NodeKind),
}

/// One outside fault this process threw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Throw {
    /// Whom it hit.
    pub victim: Victim,
    /// `kill -9` (true) or `SIGSTOP`..`SIGCONT` (false).
    pub kill: bool,
    /// What was thrown at which process, when.
    pub text: String,
}

/// What [`drive`] saw of one schedule.
struct Driven {
    /// The child's exit code (`None`: killed after the hard limit).
    status: Option<i32>,
    /// The outside faults thrown.
    thrown: Vec<Throw>,
    /// The outside faults planned but not thrown, and why.
    not_thrown: Vec<String>,
    /// Milliseconds from the workers' start to their end (`None`: no
    /// worker was seen).
    job_ms: Option<f64>,
}

/// Throws the schedule's outside faults at the child's workers and nodes
/// while it runs, each at its share of `expected_ms` after the workers are
/// first seen and only while workers run (after the job, the harness reads
/// the counts; a fault then is not this schedule's). Faults still due when
/// the workers end are reported as not thrown.
fn drive(
    child: &mut Child,
    schedule: &Schedule,
    hard_limit: Duration,
    expected_ms: f64,
) -> Result<Driven> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(schedule.seed ^ 0x5eed);
    let mut worker_faults = schedule.outside.iter().peekable();
    let mut node_faults = schedule.nodes.iter().peekable();
    let mut workers_seen: Option<Instant> = None;
    let mut workers_last: Option<Instant> = None;
    let mut thrown = Vec::new();
    let mut not_thrown = Vec::new();
    let mut paused: Vec<(u32, Instant)> = Vec::new();
    let due_ms = |pct: u32| (expected_ms * f64::from(pct) / 100.0) as u64;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status.code().or(Some(-1));
        }
        if crate::interrupt::requested() || started.elapsed() > hard_limit {
            for (pid, _) in paused.drain(..) {
                signal(pid, libc::SIGCONT);
            }
            let _ = child.kill();
            let _ = child.wait();
            crate::interrupt::check()?;
            break None;
        }
        paused.retain(|&(pid, until)| {
            if Instant::now() >= until {
                signal(pid, libc::SIGCONT);
                false
            } else {
                true
            }
        });
        let workers = worker_pids(child.id());
        if !workers.is_empty() {
            let now = Instant::now();
            workers_seen.get_or_insert(now);
            workers_last = Some(now);
        }
        if let Some(seen) = workers_seen.filter(|_| !workers.is_empty()) {
            let since_ms = seen.elapsed().as_millis() as u64;
            while let Some(fault) = worker_faults.next_if(|f| due_ms(f.at_pct()) <= since_ms) {
                let victim = workers[rng.random_range(0..workers.len())];
                let kill = matches!(fault, OutsideFault::Kill { .. });
                let text = match fault {
                    OutsideFault::Kill { .. } => {
                        signal(victim, libc::SIGKILL);
                        format!("kill -9 a worker (pid {victim}) at {since_ms} ms")
                    }
                    OutsideFault::Pause { for_ms, .. } => {
                        signal(victim, libc::SIGSTOP);
                        paused.push((victim, Instant::now() + Duration::from_millis(*for_ms)));
                        format!("SIGSTOP a worker (pid {victim}) at {since_ms} ms for {for_ms} ms")
                    }
                };
                thrown.push(Throw {
                    victim: Victim::Worker,
                    kill,
                    text,
                });
            }
            while let Some(fault) = node_faults.next_if(|f| due_ms(f.at_pct()) <= since_ms) {
                let kind = fault.kind();
                let nodes = processes_titled(child.id(), kind.process());
                if nodes.is_empty() {
                    not_thrown.push(format!(
                        "{} (no {} alive at {since_ms} ms)",
                        fault.describe(),
                        kind.process()
                    ));
                    continue;
                }
                let victim = nodes[rng.random_range(0..nodes.len())];
                let title = title_of(victim);
                let (kill, text) = match fault {
                    NodeFault::Kill { .. } => {
                        signal(victim, libc::SIGKILL);
                        (
                            true,
                            format!("kill -9 {title} (pid {victim}) at {since_ms} ms"),
                        )
                    }
                    NodeFault::Pause { for_ms, .. } => {
                        signal(victim, libc::SIGSTOP);
                        paused.push((victim, Instant::now() + Duration::from_millis(*for_ms)));
                        (
                            false,
                            format!(
                                "SIGSTOP {title} (pid {victim}) at {since_ms} ms for {for_ms} ms"
                            ),
                        )
                    }
                };
                thrown.push(Throw {
                    victim: Victim::Node(kind),
                    kill,
                    text,
                });
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    for (pid, _) in paused.drain(..) {
        signal(pid, libc::SIGCONT);
    }
    let job_ms = workers_seen
        .zip(workers_last)
        .map(|(first, last)| last.duration_since(first).as_secs_f64() * 1000.0);
    let why = match job_ms {
        Some(ms) => format!("the workers had ended at {ms:.0} ms"),
        None => "no worker was seen".to_owned(),
    };
    let left: Vec<(String, u32)> = worker_faults
        .map(|f| (f.describe(), f.at_pct()))
        .chain(node_faults.map(|f| (f.describe(), f.at_pct())))
        .collect();
    for (what, pct) in left {
        not_thrown.push(format!("{what} (due at {} ms; {why})", due_ms(pct)));
    }
    Ok(Driven {
        status,
        thrown,
        not_thrown,
        job_ms,
    })
}

/// The process title of `pid` (its command line, spaces for NULs).
fn title_of(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            String::from_utf8_lossy(&c)
                .replace('\0', " ")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

/// The children of `pid` whose title contains `what`.
fn processes_titled(pid: u32, what: &str) -> Vec<u32> {
    let mut found: Vec<u32> = children_of(pid)
        .into_iter()
        .filter(|&child| title_of(child).contains(what) && !is_zombie(child))
        .collect();
    found.sort_unstable();
    found
}

fn signal(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: signalling a process we found among our own descendants.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The children of process `pid` (Linux `/proc/PID/task/*/children`).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The worker processes among the children of `pid`: `redis-worker`s, and
/// external workers (their environment names a `WC_CONSUMER`).
fn worker_pids(pid: u32) -> Vec<u32> {
    children_of(pid)
        .into_iter()
        .filter(|child| {
            let builtin = std::fs::read(format!("/proc/{child}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains("redis-worker"))
                .unwrap_or(false);
            builtin
                || std::fs::read(format!("/proc/{child}/environ"))
                    .map(|e| e.split(|&b| b == 0).any(|v| v.starts_with(b"WC_CONSUMER=")))
                    .unwrap_or(false)
        })
        .collect()
}

/// Makes orphaned descendants our children, so leftovers can be found.
fn become_subreaper() {
    // SAFETY: a plain prctl on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong);
    }
}

/// Kills and reaps every child of ours still alive (the schedule's child
/// has been reaped already, so any child now is an orphan of it); returns
/// how many were alive. Orphans are re-parented to us as their parent dies
/// and die themselves of the parent-death signal: a zombie, or a process
/// that dies within a moment, was not left behind.
fn reap_leftovers() -> u64 {
    let give_up = Instant::now() + Duration::from_millis(500);
    loop {
        let mut alive = Vec::new();
        for pid in children_of(std::process::id()) {
            if is_zombie(pid) {
                // SAFETY: reaping a dead child of ours.
                unsafe {
                    libc::waitpid(pid as i32, std::ptr::null_mut(), libc::WNOHANG);
                }
            } else {
                alive.push(pid);
            }
        }
        if alive.is_empty() {
            return 0;
        }
        if Instant::now() >= give_up {
            for &pid in &alive {
                let command = std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                    .unwrap_or_default();
                eprintln!("LEFTOVER process {pid} ({command}) after a schedule: killing it");
                signal(pid, libc::SIGKILL);
                // SAFETY: reaping a child of ours.
                unsafe {
                    libc::waitpid(pid as i32, std::ptr::null_mut(), 0);
                }
            }
            return alive.len() as u64;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// True when process `pid` has exited and waits to be reaped.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|s| s == "Z"))
        })
        .unwrap_or(true)
}

/// Temporary directories named after process `pid` still present.
fn leftover_dirs(pid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return 0;
    };
    let marker = format!("-{pid}-");
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("harness-") && name.contains(&marker)
        })
        .count() as u64
}

/// The last `error:` line of a stderr, or its last line.
fn last_error(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("(no message)")
        .to_owned()
}

/// The first `n` words (bytewise order) whose counts differ, as
/// `word: expected, counted`, `;`-separated; control bytes escaped.
pub(crate) fn first_differences(got: &WordCounts, expected: &WordCounts, n: usize) -> String {
    let mut words: Vec<&[u8]> = got
        .iter()
        .chain(expected.iter())
        .map(|(word, _)| word)
        .filter(|word| got.get(word) != expected.get(word))
        .collect();
    words.sort_unstable();
    words.dedup();
    words
        .iter()
        .take(n)
        .map(|word| {
            format!(
                "{}: {}, {}",
                String::from_utf8_lossy(word).escape_debug(),
                expected.get(word),
                got.get(word)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads a `word<TAB>count` file (as `harness count --output` writes it).
fn read_tsv(path: &Path) -> Result<WordCounts> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut counts = WordCounts::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let tab = line
            .iter()
            .rposition(|&b| b == b'\t')
            .context("a counts line without a tab")?;
        let count: u64 = std::str::from_utf8(&line[tab + 1..])?.parse()?;
        counts.add(&line[..tab], count);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_starts_from_a_guess_and_follows_the_quicker_jobs_of_the_series() {
        let mut pace = JobPace::default();
        assert_eq!(pace.expected_ms(2_000_000), 300.0);
        assert_eq!(pace.expected_ms(1_000), JobPace::SHORTEST_MS);
        // Replicated jobs of 1 MB taking 400, 500, 600 and (slowed by a
        // failover) 5,000 ms: the lower quartile, not the mean.
        for ms in [600.0, 5_000.0, 400.0, 500.0] {
            pace.learn(1_000_000, ms);
        }
        assert_eq!(pace.expected_ms(2_000_000), 1_000.0);
        pace.learn(0, 100.0);
        pace.learn(1_000_000, f64::NAN);
        assert_eq!(pace.expected_ms(2_000_000), 1_000.0);
    }

    #[test]
    fn tsv_files_are_compared_word_by_word() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.tsv");
        std::fs::write(&path, "the\t3\na b\t1\n").unwrap();
        let got = read_tsv(&path).unwrap();
        assert_eq!(got.get(b"a b"), 1);
        let mut expected = WordCounts::new();
        expected.add(b"the", 3);
        assert_eq!(count_differences(&got, &expected), 1);
        assert_eq!(first_differences(&got, &expected, 10), "a b: 0, 1");
        expected.add(b"a b", 1);
        assert_eq!(count_differences(&got, &expected), 0);
        assert_eq!(first_differences(&got, &expected, 10), "");
        assert_eq!(schedule_seed(1, 0), 1_000_003);
        assert_eq!(last_error("x\nerror: boom\nnote"), "error: boom");
    }
}
