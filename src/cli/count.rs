//! `harness count`: one run of one mode over some paths; prints the top
//! words and a short summary for people (`--verbose` adds every measured
//! field as `key=value`, `--json` prints one record instead), optionally
//! writes every count to a file and compares with a serial count (`--check`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use super::TokenizerArg;
use crate::job::{JobOutcome, JobSpec, Mode, run_job};
use crate::params::{RedisParams, RunContext};
use crate::redis_run::RedisOptions;
use crate::results::{Measured, RunMeasures};

/// Arguments of `harness count`.
#[derive(Debug, Args)]
pub struct CountArgs {
    /// Files and/or folders to count (folders are walked recursively); `-`
    /// reads standard input (staged to a temporary file first).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// How to run the count.
    #[arg(long, value_enum, default_value_t = ModeArg::Serial)]
    pub mode: ModeArg,
    /// Worker threads or processes (ignored by `serial`); 0 with `--mode redis
    /// --redis-url URL --wait`: only queue the job, for `harness worker` on other hosts.
    #[arg(long, short = 'w', default_value_t = 2, allow_hyphen_values = true, value_parser = parse_workers)]
    pub workers: u32,
    /// With `--workers 0`: wait (no deadline unless --deadline-s) until workers
    /// started elsewhere with `harness worker` complete the job, then read the counts.
    #[arg(long)]
    pub wait: bool,
    /// How many top words to print.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Write ALL counts here, `word<TAB>count` per line, count descending then word ascending.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What counts as a word.
    #[arg(long, value_enum, default_value_t = TokenizerArg::Whitespace)]
    pub tokenizer: TokenizerArg,
    /// Largest unit of work; bigger files are split into byte ranges cut at whitespace
    /// (e.g. 4MiB; at least 64 bytes). Default: about an eighth of each worker's share, 1 MiB to 64 MiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_unit_bytes)]
    pub unit_bytes: Option<u64>,
    /// `redis` mode: use this Redis (redis://:PASSWORD@HOST:PORT/) instead of starting one; nothing is killed.
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// The `redis`-mode run parameters (see `crate::params`).
    #[command(flatten)]
    pub redis: RedisParams,
    /// `redis` mode: most word/count pairs an atomic commit sends inline in its FCALL; more are staged first (tests use a tiny value to exercise staging).
    #[arg(long, hide = true, value_name = "N", default_value_t = crate::queue::INLINE_MAX_PAIRS)]
    pub inline_pairs: u64,
    /// `redis` mode: leave the job's keys (wc:{JOB}:*) in an external Redis after the run.
    #[arg(long)]
    pub keep_keys: bool,
    /// `redis` mode with --redis-url: seconds the job's keys outlive a client
    /// killed without cleaning up (the client refreshes them every quarter of it
    /// while it runs; at least 2; `harness clean` removes leftovers).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::queue::DEFAULT_KEY_TTL_S,
          value_parser = clap::value_parser!(u64).range(crate::queue::MIN_KEY_TTL_S..))]
    pub key_ttl_s: u64,
    /// Also print every measured field on one `key=value` line (what
    /// scripts and the tests read).
    #[arg(long, short = 'v', conflicts_with = "json")]
    pub verbose: bool,
    /// Print one JSON record instead: the top words and every measured field.
    #[arg(long)]
    pub json: bool,
    /// Count the same input serially too and compare: say whether the
    /// counts are exact (exit 1 with the first differences when not).
    #[arg(long)]
    pub check: bool,
}

/// The modes `harness count` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One process, one thread: the reference.
    Serial,
    /// Worker threads in one process.
    Threads,
    /// Worker OS processes fed over pipes.
    Processes,
    /// Worker OS processes coordinated through Redis (a managed server unless --redis-url).
    Redis,
}

impl From<ModeArg> for Mode {
    fn from(arg: ModeArg) -> Mode {
        match arg {
            ModeArg::Serial => Mode::Serial,
            ModeArg::Threads => Mode::Threads,
            ModeArg::Processes => Mode::Processes,
            ModeArg::Redis => Mode::Redis,
        }
    }
}

/// Parses a size with units for clap.
pub(crate) fn parse_size_arg(text: &str) -> Result<u64, String> {
    data_gen::parse_size(text).map_err(|e| e.to_string())
}

/// Most workers `--workers` accepts.
pub(crate) const MAX_WORKERS: u32 = 1024;

/// Parses `--workers` with a message that says the range (a negative
/// number is a value here, not a flag).
pub(crate) fn parse_workers(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|&n| n <= MAX_WORKERS)
        .ok_or_else(|| {
            format!(
                "`{text}` is not a number of workers: give a whole number from 1 to {MAX_WORKERS} (0 only with --mode redis --redis-url URL --wait)"
            )
        })
}

/// Parses `--unit-bytes`: a size of at least [`crate::input::MIN_UNIT_BYTES`].
pub(crate) fn parse_unit_bytes(text: &str) -> Result<u64, String> {
    let bytes = parse_size_arg(text)?;
    if bytes < crate::input::MIN_UNIT_BYTES {
        return Err(format!(
            "{bytes} bytes is below the smallest unit, {} bytes (a unit per word costs a commit each): give e.g. 64KiB, or leave it out for the automatic size",
            crate::input::MIN_UNIT_BYTES
        ));
    }
    Ok(bytes)
}

/// A word as it is shown on a terminal: like `ls`, bytes that would act
/// on the terminal are escaped: control characters (C0, DEL and C1) as
/// `\xHH` (`\u{HHHH}` for C1), bytes that are not UTF-8 as `\xHH`, and a
/// backslash as `\\`, so every escape is unambiguous. Printable text,
/// UTF-8 included, is shown as it is. The `--output` file keeps raw bytes.
pub(crate) fn escape_for_terminal(word: &[u8]) -> String {
    let mut shown = String::with_capacity(word.len());
    for chunk in word.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => shown.push_str("\\\\"),
                c if c.is_control() && (c as u32) < 0x80 => {
                    shown.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if c.is_control() => shown.push_str(&format!("\\u{{{:04x}}}", c as u32)),
                c => shown.push(c),
            }
        }
        for byte in chunk.invalid() {
            shown.push_str(&format!("\\x{byte:02x}"));
        }
    }
    shown
}

/// Copies standard input into a file in a temporary folder (removed on
/// drop), so every mode can count and split it like any file.
fn stage_stdin() -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = crate::fsutil::owned_temp_dir("harness-stdin")
        .context("cannot create a temporary folder to hold standard input")?;
    let path = dir.path().join("stdin");
    let mut file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file).with_context(|| {
        format!(
            "cannot copy standard input to {} (is the disk full?)",
            path.display()
        )
    })?;
    Ok((dir, path))
}

/// Runs `harness count`.
pub(crate) fn run(mut args: CountArgs) -> Result<()> {
    let mode: Mode = args.mode.into();
    if let Some(output) = &args.output {
        // Before any work: a long count must not fail at its end.
        crate::fsutil::check_output(output)?;
    }
    if mode != Mode::Redis && (args.redis_url.is_some() || args.keep_keys) {
        anyhow::bail!(
            "--redis-url and --keep-keys only apply to --mode redis: add --mode redis or leave them out"
        );
    }
    if args.workers == 0 && !(mode == Mode::Redis && args.redis_url.is_some() && args.wait) {
        anyhow::bail!(
            "--workers 0 queues a job for workers on other hosts: it needs --mode redis --redis-url URL (a Redis they can reach) --wait; otherwise use --workers 1 or more"
        );
    }
    if args.wait && args.workers != 0 {
        anyhow::bail!(
            "--wait only applies with --workers 0 (with local workers count always waits): leave it out or add --workers 0"
        );
    }
    let workers = if mode == Mode::Serial {
        1
    } else {
        args.workers
    };
    args.redis
        .validate(RunContext {
            mode: mode.name(),
            workers,
            external_server: args.redis_url.is_some(),
        })
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: {}",
                e.flag(),
                e.message.replace("mode redis", "--mode redis")
            )
        })?;
    let stdin_count = args.paths.iter().filter(|p| p.as_os_str() == "-").count();
    if stdin_count > 1 {
        anyhow::bail!("`-` (standard input) can be given once: pass it once, or save it to a file");
    }
    if stdin_count == 1 && args.workers == 0 {
        anyhow::bail!(
            "`-` (standard input) cannot be read by workers on other hosts: save it to a file they can all read and pass that"
        );
    }
    // Staged to a file (removed at the end), so every mode reads it as one.
    let _staged = if stdin_count == 1 {
        let (dir, path) = stage_stdin()?;
        for given in &mut args.paths {
            if given.as_os_str() == "-" {
                *given = path.clone();
            }
        }
        Some(dir)
    } else {
        None
    };
    let spec = JobSpec {
        paths: args.paths.clone(),
        mode,
        workers: args.workers,
        tokenizer: args.tokenizer.into(),
        unit_bytes: args.unit_bytes,
        redis: RedisOptions {
            url: args.redis_url.clone(),
            params: args.redis.clone(),
            inline_pairs: args.inline_pairs,
            keep_keys: args.keep_keys,
            key_ttl_s: args.key_ttl_s,
            ..RedisOptions::default()
        },
    };
    if mode == Mode::Redis {
        // Ctrl-C stops the workers and the managed redis-server through their guards.
        crate::interrupt::install();
    }
    let exe =
        std::env::current_exe().context("cannot find the harness executable to start workers")?;
    let outcome = run_job(&spec, &exe)?;
    if let Some(output) = &args.output {
        crate::fsutil::write_atomically(output, |w| outcome.counts.write_tsv(w))?;
    }
    let check = if args.check {
        Some(check_against_serial(&spec, &outcome.counts)?)
    } else {
        None
    };
    let fields = summary_fields(&spec, &outcome);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.json {
        let record = serde_json::json!({
            "top": outcome
                .counts
                .top(args.top)
                .into_iter()
                .map(|(word, count)| serde_json::json!({
                    "word": String::from_utf8_lossy(word),
                    "count": count,
                }))
                .collect::<Vec<_>>(),
            "summary": fields
                .iter()
                .map(|(key, value)| ((*key).to_string(), json_value(value)))
                .collect::<serde_json::Map<_, _>>(),
            "exact": check.as_ref().map(|c| c.differing == 0),
        });
        writeln!(out, "{record}")?;
    } else {
        for (word, count) in outcome.counts.top(args.top) {
            writeln!(out, "{count:>12}  {}", escape_for_terminal(word))?;
        }
        for line in human_summary(&spec, &outcome, check.as_ref()) {
            writeln!(out, "{line}")?;
        }
        if args.verbose {
            let line: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(out, "{}", line.join(" "))?;
        }
    }
    out.flush()?;
    if let Some(check) = check
        && check.differing > 0
    {
        anyhow::bail!(
            "the counts differ from the serial count of the same input in {} words ({}); the first differences are above",
            check.differing,
            check.first
        );
    }
    Ok(())
}

/// The outcome of `--check`: how the counts compare with a serial count.
struct Check {
    /// Words whose counts differ.
    differing: u64,
    /// The first differing words, expected and counted.
    first: String,
}

/// Counts the same input serially (the oracle) and compares.
fn check_against_serial(spec: &JobSpec, counts: &crate::words::WordCounts) -> Result<Check> {
    let serial = JobSpec {
        mode: Mode::Serial,
        workers: 1,
        redis: RedisOptions::default(),
        ..spec.clone()
    };
    let exe =
        std::env::current_exe().context("cannot find the harness executable to start workers")?;
    let oracle = run_job(&serial, &exe).context("--check: the serial count failed")?;
    Ok(Check {
        differing: crate::experiment::count_differences(counts, &oracle.counts),
        first: crate::chaos::first_differences(counts, &oracle.counts, 10),
    })
}

/// A summary value as JSON: a number when it reads as one, else text.
fn json_value(text: &str) -> serde_json::Value {
    if let Ok(whole) = text.parse::<u64>() {
        return serde_json::json!(whole);
    }
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() && !text.is_empty() => serde_json::json!(number),
        _ => match text {
            "true" => serde_json::Value::Bool(true),
            "false" => serde_json::Value::Bool(false),
            _ => serde_json::Value::String(text.to_string()),
        },
    }
}

/// `1234567` -> `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Two or three lines for people: what was counted in how long, for the
/// redis mode what happened on the way (steals, crashes, restarts, faults),
/// and whether the counts were checked.
fn human_summary(spec: &JobSpec, outcome: &JobOutcome, check: Option<&Check>) -> Vec<String> {
    let workers = spec.effective_workers();
    let mut lines = vec![format!(
        "{} words ({} distinct) in {} files, {} units, {} with {} worker{}: {:.3} s",
        thousands(outcome.counts.total()),
        thousands(outcome.counts.distinct() as u64),
        thousands(outcome.files as u64),
        thousands(outcome.units as u64),
        spec.mode.name(),
        workers,
        if workers == 1 { "" } else { "s" },
        outcome.wall_s,
    )];
    if let Some(redis) = &outcome.redis {
        let params = &spec.redis.params;
        let fired = redis.faults_fired;
        let planned = planned_faults(spec);
        let mut what = vec![
            format!("{} topology", redis.topology),
            format!("{} queue", redis.queue),
            format!("{} commit", redis.commit),
        ];
        if params.autoclaim_ms > 0 {
            what.push(format!("stealing after {} ms", params.autoclaim_ms));
        }
        let stolen = redis.workers.units_stolen;
        let mut events = vec![format!(
            "{stolen} {} stolen",
            if stolen == 1 { "unit" } else { "units" }
        )];
        for (n, one, many) in [
            (redis.crashes, "crash", "crashes"),
            (redis.kills, "worker kill", "worker kills"),
            (
                redis.unexpected_deaths,
                "unexpected worker death",
                "unexpected worker deaths",
            ),
            (
                redis.unexpected_node_deaths,
                "Redis node death nobody scheduled",
                "Redis node deaths nobody scheduled",
            ),
            (redis.redis_restarts, "Redis restart", "Redis restarts"),
            (redis.failovers, "failover", "failovers"),
        ] {
            if n > 0 {
                events.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        }
        if outcome.tally.words > outcome.counts.total() {
            events.push(format!(
                "workers read {} words in all (units redone after crashes, steals or restarts)",
                thousands(outcome.tally.words)
            ));
        }
        lines.push(format!("redis: {}; {}", what.join(", "), events.join(", ")));
        if !planned.is_empty() {
            let unfired = planned.unfired(&fired);
            lines.push(if unfired.is_empty() {
                format!("faults planned {planned}, fired {fired}")
            } else {
                format!(
                    "faults planned {planned}, fired {fired}: NOT ALL FIRED (a fault due after the job had ended shows nothing)"
                )
            });
        }
    }
    lines.push(match check {
        None => "exactness: not checked (--check compares with a serial count)".to_string(),
        Some(c) if c.differing == 0 => "exact: identical to the serial count".to_string(),
        Some(c) => format!("WRONG: {} words differ from the serial count", c.differing),
    });
    lines
}

/// The faults the run's parameters plan.
fn planned_faults(spec: &JobSpec) -> crate::faults::FaultTally {
    let params = &spec.redis.params;
    crate::faults::FaultTally::planned(
        &params.redis_kill,
        spec.redis.url.is_none(),
        params.worker_kill(),
        params.crash.len(),
        params.partition.len(),
    )
}

/// Every measured field of the run as `key`, value text: the `--verbose`
/// line and the `--json` record. The measured columns come from the CSV
/// row's one definition (`results::RunMeasures`, those it marks for the
/// summary); after them, what only a single count shows (which server and
/// processes, the Redis version, per-host figures).
fn summary_fields(spec: &JobSpec, outcome: &JobOutcome) -> Vec<(&'static str, String)> {
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let measured = Measured {
        outcome: Some(outcome),
        planned: planned_faults(spec),
    };
    let mut fields: Vec<(&'static str, String)> = vec![
        ("mode", spec.mode.name().to_string()),
        ("workers", spec.effective_workers().to_string()),
    ];
    fields.extend(RunMeasures::of(&measured).summary(outcome.redis.is_some()));
    let Some(redis) = &outcome.redis else {
        return fields;
    };
    let seconds = |v: f64| format!("{v:.3}");
    fields.extend([
        ("commit", redis.commit.to_string()),
        ("kills", redis.kills.to_string()),
        ("relaunches", redis.relaunches.to_string()),
        ("worker_count_s", seconds(redis.workers.count_s)),
        ("worker_merge_s", seconds(redis.workers.merge_s)),
        ("worker_wait_s", seconds(redis.workers.wait_s)),
        ("merge", redis.merge.to_string()),
        ("commit_units", redis.commit_units.to_string()),
        ("redis_version", redis.redis_version.to_string()),
        ("throttle", redis.throttle.to_string()),
        ("server", redis.server.to_string()),
        (
            "redis_pid",
            redis
                .redis_pid
                .map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
        ),
        ("worker_pids", list(&redis.worker_pids)),
        ("topology", redis.topology.to_string()),
        ("queue", redis.queue.to_string()),
        ("redis_pids", list(&redis.redis_pids)),
        (
            "worker_peak_rss_kib",
            redis.workers.peak_rss_kib.to_string(),
        ),
        ("worker_stats_bytes", redis.worker_stats_bytes.to_string()),
    ]);
    if !redis.shaper_used.is_empty() {
        fields.extend([
            ("shaper", redis.shaper_used.clone()),
            (
                "host_rtt_ms",
                redis
                    .host_rtt_ms
                    .iter()
                    .map(|v| format!("{v:.3}"))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("worker_hosts", list(&redis.worker_hosts)),
        ]);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_values_keep_their_json_types() {
        assert_eq!(json_value("800000").to_string(), "800000");
        assert_eq!(json_value("0.125").to_string(), "0.125");
        assert_eq!(json_value("true"), serde_json::Value::Bool(true));
        assert_eq!(json_value("2;2").to_string(), "\"2;2\"");
        assert_eq!(json_value("").to_string(), "\"\"");
        assert_eq!(json_value("-").to_string(), "\"-\"");
    }

    #[test]
    fn control_bytes_are_escaped_and_text_is_kept() {
        assert_eq!(escape_for_terminal(b"plain"), "plain");
        assert_eq!(escape_for_terminal("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(
            escape_for_terminal(b"\x1b]0;owned\x07x"),
            "\\x1b]0;owned\\x07x"
        );
        assert_eq!(escape_for_terminal(b"a\x7fb\x00"), "a\\x7fb\\x00");
        assert_eq!(escape_for_terminal(b"\xff\\"), "\\xff\\\\");
        assert_eq!(escape_for_terminal("\u{9b}31m".as_bytes()), "\\u{009b}31m");
    }

    #[test]
    fn workers_and_unit_sizes_are_checked_with_a_clear_message() {
        assert_eq!(parse_workers("4"), Ok(4));
        assert!(parse_workers("-1").unwrap_err().contains("whole number"));
        assert!(parse_workers("5000").is_err());
        assert_eq!(parse_unit_bytes("64"), Ok(64));
        assert!(parse_unit_bytes("0").unwrap_err().contains("smallest unit"));
        assert!(parse_unit_bytes("63").is_err());
    }
}
