//! Jobs across hosts, end to end with the real binary and a real
//! redis-server started by the test: `harness count --workers 0 --wait`
//! queues a job and waits; two `harness worker` processes (as two other
//! hosts would run them, seeing the inputs under another mount point via
//! `--input-root`) count it; the counts are byte-identical to the
//! reference and the job leaves no key behind.

mod util;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use harness::servers::{RedisConfig, RedisServer};
use util::{harness, reference_tsv, run, tricky_corpus};

/// Kills and reaps a child the test started if the test fails midway.
struct Reap(Option<Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn keys_left(url: &str) -> Vec<String> {
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    keys.iter()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect()
}

#[test]
fn a_job_with_no_local_workers_is_counted_exactly_by_two_joined_hosts() {
    let server = RedisServer::start(RedisConfig::default()).unwrap();
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let client_input = dir.path().join("client").join("books");
    std::fs::create_dir_all(&client_input).unwrap();
    let files = tricky_corpus(&client_input);
    let expected = reference_tsv(&files);
    let output = dir.path().join("counts.tsv");
    let mut client = Reap(Some(
        harness()
            .args([
                "count",
                "--verbose",
                client_input.to_str().unwrap(),
                "--mode",
                "redis",
            ])
            .args(["--redis-url", &url, "--workers", "0", "--wait"])
            .args([
                "--unit-bytes",
                "3000",
                "--autoclaim-ms",
                "2000",
                "--top",
                "3",
            ])
            .args(["--deadline-s", "60", "--output", output.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let stderr = client.0.as_mut().unwrap().stderr.take().unwrap();
    let (lines, seen) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut printed = Vec::new();
    let job = loop {
        let line = seen
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the client printed no worker command: {printed:?}"));
        printed.push(line.clone());
        if let Some(rest) = line.split("harness worker --redis ").nth(1) {
            let job = rest
                .split("--job ")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next();
            break job.unwrap().to_owned();
        }
    };
    // The other hosts see the inputs under another mount point: move them
    // there, so a worker that ignored --input-root would fail.
    let mount = dir.path().join("mnt");
    std::fs::rename(dir.path().join("client"), &mount).unwrap();
    let root = mount.join("books");
    let hosts: Vec<Reap> = ["1", "2"]
        .iter()
        .map(|workers| {
            Reap(Some(
                harness()
                    .args([
                        "worker",
                        "--redis",
                        &url,
                        "--job",
                        &job,
                        "--workers",
                        workers,
                    ])
                    .args(["--input-root", root.to_str().unwrap()])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap(),
            ))
        })
        .collect();
    let mut units_by_hosts = 0u64;
    for mut host in hosts {
        let out = host.0.take().unwrap().wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "harness worker failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        for line in stdout.lines() {
            let units = line
                .split_whitespace()
                .find_map(|f| f.strip_prefix("units="))
                .unwrap_or_else(|| panic!("no units= in {line:?}"));
            units_by_hosts += units.parse::<u64>().unwrap();
        }
    }
    let out = client.0.take().unwrap().wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "count --workers 0 --wait failed: {printed:?}"
    );
    let got = std::fs::read(&output).unwrap();
    assert!(
        got == expected,
        "joined hosts' counts differ from the reference"
    );
    let summary = util::summary(&out.stdout);
    assert_eq!(util::text(&summary, "workers"), "0");
    assert_eq!(
        util::field(&summary, "units"),
        units_by_hosts,
        "every unit counted once by the hosts"
    );
    assert!(units_by_hosts > 3, "the job was cut into several units");
    assert_eq!(
        keys_left(&url),
        Vec::<String>::new(),
        "the job left keys behind"
    );
}

#[test]
fn zero_workers_without_an_external_redis_and_wait_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a b c").unwrap();
    let input = dir.path().to_str().unwrap();
    let out = run(&[
        "count",
        "--verbose",
        input,
        "--mode",
        "redis",
        "--workers",
        "0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--redis-url") && stderr.contains("--wait"),
        "{stderr}"
    );
}

#[test]
fn joining_a_job_that_is_not_there_names_the_job_and_what_to_check() {
    let server = RedisServer::start(RedisConfig::default()).unwrap();
    let out = run(&[
        "worker",
        "--redis",
        &server.url(),
        "--job",
        "nosuchjob",
        "--wait-for-job-s",
        "0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nosuchjob") && stderr.contains("wc:{nosuchjob}:settings"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(server.password()),
        "the password leaked: {stderr}"
    );
}
