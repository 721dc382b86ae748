//! Fault times that follow the job, end to end with the real binary and
//! real redis-servers: a Redis kill at `at:50%` of the units acknowledged
//! fires on a job far shorter than a second, where `at:1000` would come
//! after the job had ended; a run whose planned fault never fired is
//! flagged in the CSV (`faults_unfired`) and said so by `harness run`.

mod util;

use util::{count_redis, field, run, text};

// The job takes about 0.2 s here: a kill at:1000 would come after it.

/// `files` files of a few thousand words, in `dir`.
fn tiny_corpus(dir: &std::path::Path, files: usize) {
    for i in 0..files {
        let words: String = (0..3000)
            .map(|w| format!("w{} k{}\n", (w * 7 + i) % 401, w % 17))
            .collect();
        std::fs::write(dir.join(format!("f{i:02}.txt")), words).unwrap();
    }
}

#[test]
fn a_kill_at_half_the_units_fires_on_a_tiny_job_and_a_late_one_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    tiny_corpus(&input, 16);
    let common = [
        "--workers",
        "2",
        "--atomic",
        "--autoclaim-ms",
        "200",
        "--snapshot-s",
        "1",
        "--redis-down-ms",
        "50",
    ];

    let mut args = common.to_vec();
    args.extend(["--redis-kill", "at:50%"]);
    let (_, fields) = count_redis(&input, &args);
    assert_eq!(field(&fields, "redis_restarts"), 1, "{fields:?}");
    assert_eq!(text(&fields, "faults_planned"), "redis_kill:1");
    assert_eq!(text(&fields, "faults_fired"), "redis_kill:1");
    assert_eq!(text(&fields, "faults_unfired"), "false");
    // The same job in an experiment: at:50% fires, at:60000 never does.
    let toml = dir.path().join("late.toml");
    std::fs::write(
        &toml,
        format!(
            "description = \"fault times\"\nrepetitions = 1\n[fixed]\nmode = \"redis\"\nworkers = 2\natomic = true\nautoclaim_ms = 200\nsnapshot_s = 1\nredis_down_ms = 50\ninput = {{ path = \"{}\" }}\n[matrix]\nredis_kill = [\"at:50%\", \"at:60000\"]\n",
            input.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("results");
    let data = dir.path().join("data");
    let ran = run(&[
        "run",
        toml.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{stderr}");
    assert!(
        stderr.contains("FAULT NOT FIRED") && stderr.contains("redis_kill planned 1, fired 0"),
        "{stderr}"
    );
    let mut reader = csv::Reader::from_path(out.join("late.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let late = &row[col("redis_kill")] == "primary:at:60000";
        assert_eq!(&row[col("faults_planned")], "redis_kill:1");
        assert_eq!(
            &row[col("faults_fired")],
            if late { "" } else { "redis_kill:1" }
        );
        assert_eq!(
            &row[col("faults_unfired")],
            if late { "true" } else { "false" }
        );
        assert_eq!(&row[col("correct")], "true");
    }
}
