//! Node faults nobody scheduled: a `kill -9` or a `SIGSTOP` sent from
//! outside the harness (here: from the test, by PID, not through any
//! harness option) to a node of the topology it manages, mid-job.
//!
//! How the test finds the nodes: the harness starts every redis-server and
//! redis-sentinel as its own direct child, so the test scans
//! `/proc/<harness pid>/task/*/children` and reads each child's
//! `/proc/<pid>/cmdline` (Redis sets its title to `redis-server
//! 127.0.0.1:PORT`, `redis-sentinel 127.0.0.1:PORT [sentinel]`). The
//! primary is the redis-server started first (the lowest pid while nothing
//! has been restarted). Workers are children too (`redis-worker`); the
//! test waits for them, so the kill lands after the queue is up.
//!
//! Each run that the topology can survive must exit 0 with counts
//! byte-identical to the reference, report `unexpected_node_deaths >= 1`
//! and leave no process behind; one server without persistence must fail
//! within 2 s saying what died and which setting would have kept the counts.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use util::{alive, children, command_of, corpus, harness, line_field, line_number, reference_tsv};

/// The harness's children whose command line contains `what`, lowest pid first.
fn children_running(harness_pid: u32, what: &str) -> Vec<u32> {
    let mut pids: Vec<u32> = children(harness_pid)
        .into_iter()
        .filter(|&p| command_of(p).contains(what))
        .collect();
    pids.sort_unstable();
    pids
}

/// The nodes of a running job once its workers run: (data nodes, primary
/// first; Sentinels).
fn nodes_once_workers_run(child: &mut Child) -> (Vec<u32>, Vec<u32>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pid = child.id();
        if !children_running(pid, "redis-worker").is_empty() {
            return (
                children_running(pid, "redis-server"),
                children_running(pid, "redis-sentinel"),
            );
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the job ended before its workers were seen"
        );
        assert!(Instant::now() < deadline, "no worker started");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(pid: u32, signal: i32) {
    // SAFETY: signalling a redis process the harness under test started.
    let sent = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(sent, 0, "signal {signal} to {pid}");
}

/// A running `harness count --mode redis` and its files.
struct Job {
    child: Child,
    output: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

fn spawn(input: &Path, args: &[&str]) -> Job {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("counts.tsv");
    let stdout = dir.path().join("stdout");
    let stderr = dir.path().join("stderr");
    let child = harness()
        .args([
            "count",
            "--verbose",
            input.to_str().unwrap(),
            "--mode",
            "redis",
            "--top",
            "0",
        ])
        .arg("-o")
        .arg(&output)
        .args([
            "--atomic",
            "--workers",
            "2",
            "--autoclaim-ms",
            "300",
            "--pipeline",
            "50",
            "--inline-pairs",
            "50",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    Job {
        child,
        output,
        stdout,
        stderr,
        _dir: dir,
    }
}

impl Job {
    /// Waits for the end, noting every process the harness starts
    /// meanwhile (restarted nodes); (exit code, stdout, stderr, counts).
    fn finish(mut self, every: &[u32]) -> (Option<i32>, String, String, Vec<u8>) {
        let mut every = every.to_vec();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            every.extend(children_running(self.child.id(), "redis-"));
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = std::fs::read_to_string(&self.stdout).unwrap_or_default();
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let counts = std::fs::read(&self.output).unwrap_or_default();
        // Nothing left running: every node it had, and any it restarted.
        std::thread::sleep(Duration::from_millis(200));
        for &pid in &every {
            assert!(!alive(pid), "process {pid} outlived the run:\n{stderr}");
        }
        (status.code(), stdout, stderr, counts)
    }
}

/// The fixture: enough work that a kill right after the workers start
/// lands mid-job.
fn fixture() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus(dir.path(), 40, 3000);
    let expected = reference_tsv(&files);
    (dir, expected)
}

/// Runs a job, applies `fault` to the nodes once the workers run, and
/// checks it finishes exact having seen the death.
fn survives(
    what: &str,
    input: &Path,
    expected: &[u8],
    args: &[&str],
    fault: impl FnOnce(&[u32], &[u32]),
    min_deaths: u64,
) -> String {
    let mut job = spawn(input, args);
    let (data, sentinels) = nodes_once_workers_run(&mut job.child);
    std::thread::sleep(Duration::from_millis(100));
    fault(&data, &sentinels);
    let every: Vec<u32> = data.iter().chain(&sentinels).copied().collect();
    let (code, stdout, stderr, counts) = job.finish(&every);
    assert_eq!(code, Some(0), "{what}: exit {code:?}\n{stderr}");
    assert!(
        counts == expected,
        "{what}: counts differ\n{stdout}\n{stderr}"
    );
    let deaths = line_number(&stdout, "unexpected_node_deaths");
    assert!(
        deaths >= min_deaths,
        "{what}: {deaths} deaths seen\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn outside_kills_of_a_snapshot_server_a_replica_the_primary_and_a_sentinel_are_survived() {
    let (dir, expected) = fixture();
    let input = dir.path();
    let started = Instant::now();
    survives(
        "snapshot server",
        input,
        &expected,
        &["--topology", "snapshot", "--snapshot-s", "1"],
        |data, _| signal(data[0], libc::SIGKILL),
        1,
    );
    let replicated = ["--topology", "replicated"];
    survives(
        "one replica",
        input,
        &expected,
        &replicated,
        |data, _| signal(data[1], libc::SIGKILL),
        1,
    );
    let stdout = survives(
        "the primary",
        input,
        &expected,
        &replicated,
        |data, _| signal(data[0], libc::SIGKILL),
        1,
    );
    assert!(line_number(&stdout, "failovers") >= 1, "{stdout}");
    survives(
        "one sentinel",
        input,
        &expected,
        &replicated,
        |_, sentinels| signal(sentinels[0], libc::SIGKILL),
        1,
    );
    eprintln!("four outside kills survived in {:?}", started.elapsed());
}

#[test]
fn with_restart_nodes_false_a_dead_replica_stays_down_and_the_job_goes_on_degraded() {
    let (dir, expected) = fixture();
    let stdout = survives(
        "one replica, no restart",
        dir.path(),
        &expected,
        &["--topology", "replicated", "--restart-nodes", "false"],
        |data, _| signal(data[1], libc::SIGKILL),
        1,
    );
    assert_eq!(line_number(&stdout, "redis_restarts"), 0, "{stdout}");
}

#[test]
fn a_primary_paused_beyond_down_after_is_demoted_and_the_job_stays_exact() {
    let (dir, expected) = fixture();
    // Sentinel's down-after is 1 s: 5 s of SIGSTOP makes it fail over
    // SIGCONT then brings back a primary Sentinel demotes.
    let stdout = survives(
        "a paused primary",
        dir.path(),
        &expected,
        &["--topology", "replicated"],
        |data, _| {
            signal(data[0], libc::SIGSTOP);
            std::thread::sleep(Duration::from_millis(5000));
            signal(data[0], libc::SIGCONT);
        },
        0,
    );
    assert!(line_number(&stdout, "failovers") >= 1, "{stdout}");
    // From the last commit before the failover to the first after it.
    let failover_s: f64 = line_field(&stdout, "failover_s").parse().unwrap();
    assert!(failover_s > 0.0, "{stdout}");
}

#[test]
fn a_single_server_without_persistence_killed_from_outside_fails_fast_saying_why() {
    let (dir, _) = fixture();
    let mut job = spawn(dir.path(), &[]);
    let (data, _) = nodes_once_workers_run(&mut job.child);
    signal(data[0], libc::SIGKILL);
    let killed = Instant::now();
    let every = data.clone();
    let (code, _, stderr, _) = job.finish(&every);
    let took = killed.elapsed();
    assert!(code.is_some_and(|c| c != 0), "{code:?}: {stderr}");
    assert!(took < Duration::from_secs(2), "failed after {took:?}");
    for words in [
        "primary killed by signal 9",
        "nobody scheduled it",
        "can no longer be trusted",
        "--topology snapshot",
    ] {
        assert!(stderr.contains(words), "{words:?} missing from:\n{stderr}");
    }
}

#[test]
fn with_restart_nodes_false_more_than_f_dead_fails_fast_naming_the_setting() {
    let (dir, _) = fixture();
    let mut job = spawn(
        dir.path(),
        &["--topology", "replicated", "--restart-nodes", "false"],
    );
    let (data, sentinels) = nodes_once_workers_run(&mut job.child);
    signal(data[1], libc::SIGKILL);
    signal(data[2], libc::SIGKILL);
    let killed = Instant::now();
    let every: Vec<u32> = data.iter().chain(&sentinels).copied().collect();
    let (code, _, stderr, _) = job.finish(&every);
    assert!(code.is_some_and(|c| c != 0), "{code:?}: {stderr}");
    assert!(
        killed.elapsed() < Duration::from_secs(3),
        "{:?}",
        killed.elapsed()
    );
    for words in ["cannot go on with", "restart_nodes = true"] {
        assert!(stderr.contains(words), "{words:?} missing from:\n{stderr}");
    }
}

/// The RedisRaft module, or `None` (the raft tests then say so and skip).
fn raft_module() -> Option<String> {
    let module = std::env::var("HARNESS_REDISRAFT")
        .ok()
        .filter(|m| !m.is_empty());
    if module.is_none() {
        eprintln!(
            "skipped: HARNESS_REDISRAFT is not set (RedisRaft 5945c02 with redis-server 7.0.15, built as its own README documents)"
        );
    }
    module
}

/// The role RedisRaft last logged for the node `pid` (`leader`, `follower`,
/// ...; empty when it logged none): its `redis.log` sits in its working
/// folder.
fn raft_role(pid: u32) -> String {
    let log = std::fs::read_link(format!("/proc/{pid}/cwd"))
        .map(|dir| dir.join("redis.log"))
        .and_then(std::fs::read)
        .unwrap_or_default();
    String::from_utf8_lossy(&log)
        .lines()
        .rev()
        .find_map(|line| line.split("State change: Node is now a ").nth(1))
        .and_then(|rest| rest.split([',', ' ']).next())
        .unwrap_or_default()
        .to_owned()
}

/// The current leader among the data nodes, then the others.
fn leader_first(data: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(leader) = data.iter().copied().find(|&p| raft_role(p) == "leader") {
            let mut nodes = vec![leader];
            nodes.extend(data.iter().copied().filter(|&p| p != leader));
            return nodes;
        }
        assert!(
            Instant::now() < deadline,
            "no raft node logged itself leader"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn outside_kills_and_a_pause_of_raft_nodes_are_survived() {
    let Some(module) = raft_module() else {
        return;
    };
    let (dir, expected) = fixture();
    let input = dir.path();
    let raft = [
        "--topology",
        "raft",
        "--queue",
        "lease",
        "--raft-module",
        module.as_str(),
    ];
    let started = Instant::now();
    survives(
        "a raft follower",
        input,
        &expected,
        &raft,
        |data, _| signal(leader_first(data)[1], libc::SIGKILL),
        1,
    );
    let stdout = survives(
        "the raft leader",
        input,
        &expected,
        &raft,
        |data, _| signal(leader_first(data)[0], libc::SIGKILL),
        1,
    );
    assert!(line_number(&stdout, "failovers") >= 1, "{stdout}");
    // A leader paused beyond the election timeout: the others elect a new
    // one; the failover lasts from the pause (seen within one check) to
    // the next commit, never 0.
    let stdout = survives(
        "a paused raft leader",
        input,
        &expected,
        &raft,
        |data, _| {
            let leader = leader_first(data)[0];
            signal(leader, libc::SIGSTOP);
            std::thread::sleep(Duration::from_millis(3000));
            signal(leader, libc::SIGCONT);
        },
        0,
    );
    assert!(line_number(&stdout, "failovers") >= 1, "{stdout}");
    let failover_s: f64 = line_field(&stdout, "failover_s").parse().unwrap();
    assert!(failover_s > 0.0, "{stdout}");
    eprintln!(
        "raft: two outside kills and a pause survived in {:?}",
        started.elapsed()
    );
}
