//! The command line: clap argument structs (validated once, here) and one
//! function per command. Each command turns its arguments into library
//! calls and prints; no counting or Redis logic lives here.

pub(crate) mod chaos;
pub(crate) mod clean;
pub(crate) mod count;
pub(crate) mod generate;
pub(crate) mod lab;
pub(crate) mod plot;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod worker;

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
// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
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
    /// Run every experiment (or the chosen labs) within a time budget, then the plots and the report.
    Lab(lab::LabArgs),
    /// Start workers on this host that join a job queued in a shared Redis (by
    /// `count --workers 0 --wait` on another host); exit when it is complete.
    Worker(worker::WorkerArgs),
    /// Run a series of seeded fault schedules against the real system and check each one's counts.
    Chaos(chaos::ChaosArgs),
    /// List and remove the keys jobs left in a Redis you run (`--redis-url`).
    Clean(clean::CleanArgs),
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
    /// Internal: a `redis`-mode worker; its settings (Redis URL included)
    /// come as JSON in the HARNESS_WORKER environment variable.
    #[command(hide = true)]
    RedisWorker,
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
        Command::Chaos(args) => chaos::run(args),
        Command::Clean(args) => clean::run(args),
        Command::Lab(args) => lab::run(args),
        Command::Worker(args) => worker::run(args),
        Command::LocalWorker {
            tokenizer,
            table_fd,
        } => Ok(crate::local::serve_local_worker(
            tokenizer.into(),
            table_fd,
        )?),
        Command::RedisWorker => {
            let settings = std::env::var(crate::redis_run::WORKER_ENV).map_err(|_| {
                anyhow::anyhow!(
                    "redis-worker needs its settings in {} (it is started by `harness count --mode redis` and `harness run`)",
                    crate::redis_run::WORKER_ENV
                )
            })?;
            let config: crate::worker::WorkerConfig =
                serde_json::from_str(&settings).map_err(|e| {
                    anyhow::anyhow!(
                        "bad worker settings in {}: {e}",
                        crate::redis_run::WORKER_ENV
                    )
                })?;
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

pub(crate) use crate::exit_code;

/// The exit code for `error`.
pub fn exit_code_of(error: &anyhow::Error) -> i32 {
    for cause in error.chain() {
        if cause
            .downcast_ref::<crate::interrupt::Interrupted>()
            .is_some()
        {
            return crate::interrupt::exit_code();
        }
        if cause.downcast_ref::<run::CannotRun>().is_some() {
            return exit_code::CANNOT_RUN;
        }
        if let Some(run) = cause.downcast_ref::<crate::redis_run::RunError>() {
            if run.missed_deadline().is_some() {
                return exit_code::NOT_FINISHED;
            }
            if run.is_interrupted() {
                return crate::interrupt::exit_code();
            }
        }
        if let Some(crate::queue::QueueError::Interrupted(_)) = cause.downcast_ref() {
            return crate::interrupt::exit_code();
        }
    }
    exit_code::FAILED
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis_run::RunError;

    /// A run's error under the job's context, as `harness count` gets it.
    fn failed_run(error: RunError) -> anyhow::Error {
        anyhow::Error::new(error).context("the redis-mode run with 2 workers failed")
    }

    #[test]
    fn exit_codes_look_through_the_run_error() {
        let missed = failed_run(RunError::DeadlineMissed {
            deadline_s: 2.0,
            state: "1 unit left".into(),
            faults_fired: crate::faults::FaultTally::default(),
        });
        assert_eq!(exit_code_of(&missed), exit_code::NOT_FINISHED);
        let stopped = failed_run(crate::interrupt::Interrupted.into());
        assert_eq!(exit_code_of(&stopped), crate::interrupt::exit_code());
        let queue = crate::queue::QueueError::BadOptions("bad".into());
        assert_eq!(exit_code_of(&failed_run(queue.into())), exit_code::FAILED);
        let stuck = failed_run(RunError::Stuck("stuck".into()));
        assert_eq!(exit_code_of(&stuck), exit_code::FAILED);
    }
}
