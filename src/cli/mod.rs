//! The command line: clap argument structs (validated once, here) and one
//! function per command. Each command turns its arguments into library
//! calls and prints; no counting or Redis logic lives here.

pub mod count;
pub mod generate;
pub mod plot;
pub mod report;
pub mod run;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use crate::words::Tokenizer;

/// Experiment harness for a distributed word count coordinated through Redis.
#[derive(Debug, Parser)]
#[command(name = "harness", version, about, propagate_version = true)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Count the words of files and folders once and print the top words.
    Count(count::CountArgs),
    /// Make deterministic input files (synthetic Zipf text or real books).
    Gen(generate::GenArgs),
    /// Run an experiment file's matrix, appending one CSV row per run.
    Run(run::RunArgs),
    /// Draw PNG plots (time, speed-up, efficiency) from a results CSV.
    Plot(plot::PlotArgs),
    /// Write one Markdown lab report from every results CSV.
    Report(report::ReportArgs),
    /// Internal: a `processes`-mode worker fed units on stdin.
    #[command(hide = true)]
    LocalWorker {
        /// Tokenizer to count with.
        #[arg(long, value_enum, default_value_t = TokenizerArg::Whitespace)]
        tokenizer: TokenizerArg,
        /// An inherited shared-memory file to keep the word table in.
        #[arg(long, value_name = "FD")]
        table_fd: Option<i32>,
    },
    /// Internal: a `redis`-mode worker; the Redis URL comes from --url or
    /// the HARNESS_REDIS_URL environment variable (kept off the command line).
    #[command(hide = true)]
    RedisWorker {
        /// Redis URL (default: $HARNESS_REDIS_URL).
        #[arg(long)]
        url: Option<String>,
        /// Job id (its keys are wc:{JOB}:*).
        #[arg(long)]
        job: String,
        /// Worker index.
        #[arg(long)]
        worker: u32,
        /// Tokenizer to count with.
        #[arg(long, value_enum, default_value_t = TokenizerArg::Whitespace)]
        tokenizer: TokenizerArg,
        /// One ZINCRBY per word occurrence instead of per distinct word.
        #[arg(long)]
        per_word: bool,
        /// File to append events to.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Crash on purpose at POINT[:N] (the N-th unit taken; default the first).
        #[arg(long, value_name = "POINT[:N]")]
        crash: Option<crate::faults::CrashPlan>,
        /// Milliseconds a read blocks when no unit is waiting.
        #[arg(long, default_value_t = 100)]
        block_ms: u64,
        /// Commands per pipeline round trip.
        #[arg(long, default_value_t = 10_000)]
        pipeline: usize,
        /// Seconds to keep trying to reconnect after losing Redis.
        #[arg(long, default_value_t = 30)]
        reconnect_s: u64,
        /// Commit with the atomic Redis Function (wc_commit).
        #[arg(long, conflicts_with = "per_word")]
        atomic: bool,
        /// Steal units idle longer than this many milliseconds (0: never).
        #[arg(long, default_value_t = 0)]
        autoclaim_ms: u64,
    },
}

/// The tokenizer as a command-line value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenizerArg {
    /// Runs of bytes that are not ASCII whitespace (the default; `the,` and `the` differ).
    Whitespace,
    /// Runs of ASCII letters/digits and non-ASCII bytes.
    Alnum,
}

impl From<TokenizerArg> for Tokenizer {
    fn from(arg: TokenizerArg) -> Tokenizer {
        match arg {
            TokenizerArg::Whitespace => Tokenizer::Whitespace,
            TokenizerArg::Alnum => Tokenizer::Alnum,
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Count(args) => count::run(args),
        Command::Gen(args) => generate::run(args),
        Command::Run(args) => run::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Report(args) => report::run(args),
        Command::LocalWorker {
            tokenizer,
            table_fd,
        } => Ok(crate::local::serve_local_worker(
            tokenizer.into(),
            table_fd,
        )?),
        Command::RedisWorker {
            url,
            job,
            worker,
            tokenizer,
            per_word,
            events,
            crash,
            block_ms,
            pipeline,
            reconnect_s,
            atomic,
            autoclaim_ms,
        } => {
            let url = match url.or_else(|| std::env::var(crate::queue::URL_ENV).ok()) {
                Some(url) => url,
                None => anyhow::bail!(
                    "redis-worker needs --url or {} (it is started by `harness count --mode redis`)",
                    crate::queue::URL_ENV
                ),
            };
            let config = crate::worker::WorkerConfig {
                url,
                job,
                worker,
                tokenizer: tokenizer.into(),
                commit: if atomic {
                    crate::queue::CommitPath::Atomic
                } else if per_word {
                    crate::queue::CommitPath::PerWord
                } else {
                    crate::queue::CommitPath::PerUnit
                },
                events,
                crash,
                block_ms,
                pipeline_commands: pipeline,
                reconnect_s,
                autoclaim_ms,
            };
            std::process::exit(crate::worker::serve(&config))
        }
    }
}

/// True when the error is only a closed stdout (e.g. `harness count | head`),
/// which is not worth reporting.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
