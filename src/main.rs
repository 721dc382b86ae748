//! The `harness` binary: parses arguments and dispatches to [`harness::cli`].

use clap::Parser;

fn main() {
    let cli = harness::cli::Cli::parse();
    if let Err(error) = harness::cli::run(cli) {
        if harness::cli::is_broken_pipe(&error) {
            std::process::exit(0);
        }
        eprintln!("error: {error:#}");
        std::process::exit(harness::cli::exit_code_of(&error));
    }
}
