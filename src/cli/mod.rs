//! The command line: clap argument structs (validated once, here) and one
//! function per command. Each command turns its arguments into library
//! calls and prints; no counting or Redis logic lives here.

pub mod count;
pub mod generate;

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
    /// Internal: a `processes`-mode worker fed units on stdin.
    #[command(hide = true)]
    LocalWorker {
        /// Tokenizer to count with.
        #[arg(long, value_enum, default_value_t = TokenizerArg::Whitespace)]
        tokenizer: TokenizerArg,
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
        Command::LocalWorker { tokenizer } => Ok(crate::local::serve_local_worker(tokenizer.into())?),
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

/// The paths of a command, for messages.
pub fn display_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
}
