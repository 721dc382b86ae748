//! Lab 4.2 end to end: the `replicated` topology (a primary, 2f replicas,
//! 3 Sentinels) with the real binary, redis-server and redis-sentinel.
//! Under each fault (one replica, f replicas, f + 1 replicas, the primary,
//! a random replica or any node every N ms) and under 30 seeded schedules
//! of them, atomic commits give output byte-identical to the reference; no
//! server process outlives its run; bad settings get one error naming the
//! key.

mod util;

use std::path::Path;

use util::{corpus, count_redis, field, reference_tsv, run, text};

/// True once no process with this id exists.
fn pid_gone(pid: u32) -> bool {
    // SAFETY: signal 0 only checks whether the process exists.
    let result = unsafe { libc::kill(pid as libc::pid_t, 0) };
    result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// `harness count INPUT --mode redis --atomic --topology replicated ARGS`:
/// the output's bytes and the summary fields; checks that every server
/// process the run started is gone.
fn count_replicated(input: &Path, args: &[&str]) -> (Vec<u8>, Vec<(String, String)>) {
    let mut all = vec![
        "--atomic",
        "--topology",
        "replicated",
        "--workers",
        "2",
        "--autoclaim-ms",
        "500",
        "--pipeline",
        "50",
        "--inline-pairs",
        "50",
    ];
    all.extend(args);
    let (counts, fields) = count_redis(input, &all);
    let pids: Vec<u32> = text(&fields, "redis_pids")
        .split(',')
        .map(|p| p.parse().unwrap())
        .collect();
    // The primary, 2f replicas and 3 Sentinels.
    assert_eq!(
        pids.len() as u64,
        1 + field(&fields, "replicas") + 3,
        "{fields:?}"
    );
    for pid in pids {
        assert!(
            pid_gone(pid),
            "server process {pid} outlived the run {args:?}"
        );
    }
    (counts, fields)
}

#[test]
fn every_replica_and_primary_fault_keeps_atomic_counts_exact() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus(dir.path(), 30, 1500);
    let expected = reference_tsv(&files);
    let kills = [
        "none",
        "replica:at:50%",
        "replicas=2:at:50%",
        "primary:at:50%",
        "random-replica:every:300",
        "any:every:400",
    ];
    let runs = ["stream", "lease"]
        .iter()
        .flat_map(|queue| kills.map(|kill| (*queue, kill)));
    for (queue, kill) in runs {
        let (got, fields) = count_replicated(dir.path(), &["--redis-kill", kill, "--queue", queue]);
        assert!(got == expected, "{queue} {kill}: counts differ: {fields:?}");
        assert_eq!(text(&fields, "topology"), "replicated");
        assert_eq!(field(&fields, "replicas"), 2);
        if kill == "none" {
            assert_eq!(field(&fields, "min_replicas_acked"), 1, "{fields:?}");
        }
        if kill.contains(":at:") {
            // Kills at a share of the units fire however fast the job is.
            assert_eq!(text(&fields, "faults_unfired"), "false", "{fields:?}");
        }
        if kill == "primary:at:50%" {
            assert_eq!(field(&fields, "failovers"), 1, "{fields:?}");
            assert_eq!(field(&fields, "replica_restarts"), 1, "{fields:?}");
        }
        if kill == "replicas=2:at:50%" {
            // 2 of 3 nodes down with f = 1: the primary refuses writes
            // until a replica is back; the job still finishes exact.
            assert_eq!(field(&fields, "replica_restarts"), 2, "{fields:?}");
        }
    }
}

#[test]
fn f_replicas_of_f_2_can_die_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus(dir.path(), 20, 1000);
    let expected = reference_tsv(&files);
    let (got, fields) = count_replicated(
        dir.path(),
        &["--f", "2", "--redis-kill", "replicas=2:at:50%"],
    );
    assert!(got == expected, "counts differ: {fields:?}");
    assert_eq!(field(&fields, "replicas"), 4);
    assert_eq!(field(&fields, "min_replicas_acked"), 2, "{fields:?}");
}

#[test]
fn thirty_seeded_kill_schedules_all_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus(dir.path(), 16, 600);
    let expected = reference_tsv(&files);
    let targets = ["replica", "replicas=2", "primary", "random-replica", "any"];
    let schedules: Vec<String> = (0u64..30)
        .map(|seed| {
            // A small LCG: the schedules are the same on every run.
            let mut state = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut next = |n: u64| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) % n
            };
            let target = targets[next(targets.len() as u64) as usize];
            // Periodic kills of the primary stay at least a second apart
            // (the lab's "every N seconds"): Sentinel needs ~2.5 s per
            // failover, and killing each new primary every 200 ms can leave
            // Sentinel naming a node that is no longer a primary.
            let floor = if matches!(target, "primary" | "any") {
                1000
            } else {
                200
            };
            let when = if next(3) == 0 {
                format!("every:{}", floor + 100 * next(4))
            } else {
                // A share of the units, so the kill lands however fast
                // the job runs on this machine.
                format!("at:{}%", 10 + 10 * next(9))
            };
            format!("{target}:{when}")
        })
        .collect();
    let failures = std::sync::Mutex::new(Vec::new());
    // The 30 schedules on each backend; four runs at a time: each spends
    // most of its time waiting on Sentinel.
    std::thread::scope(|scope| {
        for queue in ["stream", "lease"] {
            for half in schedules.chunks(15) {
                let (failures, expected, dir) = (&failures, &expected, dir.path());
                scope.spawn(move || {
                    for kill in half {
                        let (got, fields) = count_replicated(
                            dir,
                            &[
                                "--redis-kill",
                                kill,
                                "--redis-down-ms",
                                "200",
                                "--deadline-s",
                                "60",
                                "--queue",
                                queue,
                            ],
                        );
                        let unfired =
                            kill.contains(":at:") && text(&fields, "faults_unfired") != "false";
                        if got != *expected || unfired {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{queue} {kill}: {fields:?}"));
                        }
                    }
                });
            }
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "inexact or unfired schedules: {failures:#?}"
    );
}

#[test]
fn bad_replicated_settings_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    corpus(dir.path(), 2, 10);
    let input = dir.path().to_str().unwrap();
    for (args, expected) in [
        (vec!["--topology", "replicated", "--f", "0"], "--f"),
        (vec!["--redis-kill", "replica:at:100"], "--redis-kill"),
        (
            vec![
                "--topology",
                "replicated",
                "--redis-kill",
                "replica-3:at:100",
            ],
            "names node replica-3",
        ),
        (vec!["--topology", "raft"], "raft"),
    ] {
        let mut all = vec!["count", "--verbose", input, "--mode", "redis"];
        all.extend(args.iter().copied());
        let result = run(&all);
        assert!(!result.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
