//! Instruction-count benchmarks of the hot paths, under callgrind:
//! `cargo bench --bench instructions`.
//!
//! Wall-clock benchmarks (`benches/bench_main.rs`, criterion) flicker on a
//! shared machine; the number of instructions a workload executes does not:
//! for one binary and one input, callgrind counts the same total every time,
//! whatever else the machine is doing. So each workload here is run in a
//! child process of this binary under `valgrind --tool=callgrind
//! --toggle-collect=<the workload's function>` (only the workload counts,
//! not the set-up that builds its input), and its total is compared with the
//! stored baseline `benches/instructions-baseline.json`:
//!
//! - more than the tolerance above the baseline (default 2 %,
//!   `HARNESS_INSTRUCTIONS_TOLERANCE=0.05` for 5 %) fails the run (exit 1);
//! - `HARNESS_INSTRUCTIONS_SAVE=1 cargo bench --bench instructions` rewrites
//!   the baseline (commit it with the change that moved it, and say why);
//! - a baseline made by another rustc is compared but never fails (a new
//!   compiler moves counts on its own); no valgrind: skipped with a note.
//!
//! Workloads (inputs are generated with fixed seeds, so they are the same on
//! every machine): tokenize + count of 1 MB of synthetic Zipf text with each
//! tokenizer; merging 8 count maps; encoding counts as a part blob (the
//! `parts` merge target's wire format); ordering counts for output.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;

use harness::words::{DEFAULT_CHUNK_BYTES, TableSeeds, Tokenizer, WordCounts};

/// The variable that tells a child which workload to run.
const WORKLOAD_ENV: &str = "HARNESS_INSTRUCTIONS_WORKLOAD";
/// Allowed growth over the baseline before the run fails.
const DEFAULT_TOLERANCE: f64 = 0.02;

/// One workload: its name, the measured function (`wl_` + this) and what
/// builds its input and calls that function.
struct Workload {
    name: &'static str,
    function: &'static str,
    run: fn(),
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "count_whitespace_1mb",
        function: "count",
        run: || wl_count(synthetic(1_000_000, 7), Tokenizer::Whitespace),
    },
    Workload {
        name: "count_alnum_1mb",
        function: "count",
        run: || wl_count(synthetic(1_000_000, 7), Tokenizer::Alnum),
    },
    Workload {
        name: "merge_8_maps",
        function: "merge",
        run: || wl_merge(maps(8)),
    },
    Workload {
        name: "encode_part_blob",
        function: "encode",
        run: || wl_encode(counts_of(synthetic(1_000_000, 11))),
    },
    Workload {
        name: "output_order",
        function: "order",
        run: || wl_order(counts_of(synthetic(1_000_000, 13))),
    },
];

/// Synthetic Zipf text (50,000-word vocabulary) from the data generator.
fn synthetic(bytes: u64, seed: u64) -> Vec<u8> {
    let mut text = Vec::with_capacity(bytes as usize);
    data_gen::write_synthetic(&mut text, bytes, seed, 50_000)
        .expect("writing to memory cannot fail");
    text
}

/// A count map with fixed hash seeds: random seeds (the default) move the
/// instruction counts by up to 1 % from run to run.
fn fixed_map() -> WordCounts {
    WordCounts::with_seeds(TableSeeds::from_bytes([7; 24]))
}

fn counts_of(text: Vec<u8>) -> WordCounts {
    let mut counts = fixed_map();
    counts
        .count_reader(&text[..], Tokenizer::Whitespace, true, DEFAULT_CHUNK_BYTES)
        .expect("reading memory cannot fail");
    counts
}

fn maps(n: u64) -> Vec<WordCounts> {
    (0..n)
        .map(|k| counts_of(synthetic(128_000, 100 + k)))
        .collect()
}

// The measured functions: callgrind collects from their entry to their
// exit (`--toggle-collect=*wl_NAME*`), so they must never be inlined.

#[inline(never)]
fn wl_count(text: Vec<u8>, tokenizer: Tokenizer) {
    let mut counts = fixed_map();
    counts
        .count_reader(black_box(&text[..]), tokenizer, true, DEFAULT_CHUNK_BYTES)
        .expect("reading memory cannot fail");
    black_box(counts.distinct());
}

#[inline(never)]
fn wl_merge(maps: Vec<WordCounts>) {
    let mut total = fixed_map();
    for map in black_box(maps) {
        total.merge(map);
    }
    black_box(total.distinct());
}

#[inline(never)]
fn wl_encode(counts: WordCounts) {
    let mut blob = Vec::with_capacity(counts.distinct() * 16 + 4);
    black_box(&counts)
        .write_binary(&mut blob)
        .expect("writing to memory cannot fail");
    black_box(blob.len());
}

#[inline(never)]
fn wl_order(counts: WordCounts) {
    black_box(black_box(&counts).sorted().len());
}

/// The stored baseline: the rustc that made it and each workload's total.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Baseline {
    rustc: String,
    instructions: BTreeMap<String, u64>,
}

fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/instructions-baseline.json")
}

fn rustc_version() -> String {
    Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Runs `workload` under callgrind and returns its instruction total.
fn measure(workload: &Workload) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let out = tempfile::NamedTempFile::new().map_err(|e| format!("temp file: {e}"))?;
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.path().display()))
        .arg(format!("--toggle-collect=*wl_{}*", workload.function))
        .arg(&exe)
        .env(WORKLOAD_ENV, workload.name)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot start valgrind: {e}"))?;
    if !status.success() {
        return Err(format!("valgrind exited with {status}"));
    }
    let text = std::fs::read_to_string(out.path()).map_err(|e| format!("callgrind output: {e}"))?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|total| total.split_whitespace().next()?.parse().ok())
        .filter(|&total: &u64| total > 0)
        .ok_or_else(|| {
            format!(
                "no instructions counted inside wl_{} (was it inlined?)",
                workload.function
            )
        })
}

fn main() {
    if let Ok(name) = std::env::var(WORKLOAD_ENV) {
        let workload = WORKLOADS
            .iter()
            .find(|w| w.name == name)
            .expect("a workload this binary knows");
        (workload.run)();
        return;
    }
    // `cargo test --benches` runs bench binaries once as a smoke test.
    if std::env::args().any(|a| a == "--test") || std::env::args().all(|a| a != "--bench") {
        for workload in WORKLOADS {
            (workload.run)();
        }
        println!(
            "instructions: every workload ran once (run `cargo bench --bench instructions` to count)"
        );
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("instructions: skipped: valgrind is not installed (apt-get install valgrind)");
        return;
    }
    let tolerance = std::env::var("HARNESS_INSTRUCTIONS_TOLERANCE")
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|t| t.is_finite() && *t >= 0.0)
        .unwrap_or(DEFAULT_TOLERANCE);
    let save = std::env::var("HARNESS_INSTRUCTIONS_SAVE").is_ok_and(|v| v == "1");
    let rustc = rustc_version();
    let stored: Baseline = std::fs::read_to_string(baseline_path())
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let same_compiler = stored.rustc == rustc;
    if !save && !stored.instructions.is_empty() && !same_compiler {
        println!(
            "note: the baseline was made by {} and this is {rustc}: counts are shown, never failed",
            stored.rustc
        );
    }
    let mut measured = Baseline {
        rustc: rustc.clone(),
        instructions: BTreeMap::new(),
    };
    let mut worse = Vec::new();
    println!(
        "{:<24} {:>15} {:>15} {:>9}",
        "workload", "instructions", "baseline", "change"
    );
    for workload in WORKLOADS {
        let total = match measure(workload) {
            Ok(total) => total,
            Err(error) => {
                eprintln!("instructions: {}: {error}", workload.name);
                std::process::exit(1);
            }
        };
        measured.instructions.insert(workload.name.into(), total);
        match stored.instructions.get(workload.name) {
            Some(&base) => {
                let change = total as f64 / base as f64 - 1.0;
                println!(
                    "{:<24} {total:>15} {base:>15} {:>+8.2}%",
                    workload.name,
                    change * 100.0
                );
                if change > tolerance && same_compiler {
                    worse.push(format!(
                        "{}: {total} instructions, {:+.2}% over the baseline {base} (tolerance {:.1}%)",
                        workload.name,
                        change * 100.0,
                        tolerance * 100.0
                    ));
                }
            }
            None => println!("{:<24} {total:>15} {:>15} {:>9}", workload.name, "-", "new"),
        }
    }
    if save {
        let text = serde_json::to_string_pretty(&measured).expect("a baseline serialises");
        if let Err(error) = std::fs::write(baseline_path(), text + "\n") {
            eprintln!(
                "instructions: cannot write {}: {error}",
                baseline_path().display()
            );
            std::process::exit(1);
        }
        println!("baseline saved to {}", baseline_path().display());
        return;
    }
    if !worse.is_empty() {
        for line in &worse {
            eprintln!("SLOWER: {line}");
        }
        eprintln!(
            "a hot path got slower: find why (callgrind_annotate on the workload), or, if it is the price of a fix, rerun with HARNESS_INSTRUCTIONS_SAVE=1 and commit the new baseline"
        );
        std::process::exit(1);
    }
}
