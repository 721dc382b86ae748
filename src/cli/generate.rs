//! `harness gen` (module `generate`, as `gen` is a keyword): make deterministic inputs with the `data-gen` crate.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use data_gen::{GenSpec, Preset, format_size, generate};

use super::count::parse_size_arg;

/// Arguments of `harness gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Which file set to make.
    #[arg(long, value_enum)]
    pub preset: PresetArg,
    /// Folder to write (created if missing; reused when it already holds the same spec).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Seed of the random text: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of files (skew: the equal ones; uniform; books).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub files: u32,
    /// Size of each file (skew: the equal ones; uniform), e.g. 1MB, 64MiB.
    #[arg(long, default_value = "1MB", value_parser = parse_size_arg)]
    pub size: u64,
    /// Largest file of the ladder (100 B, 1 KB, ... up to this).
    #[arg(long, default_value = "100MB", value_parser = parse_size_arg)]
    pub max_size: u64,
    /// Files of each ladder size.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub per_size: u32,
    /// How many times bigger the one big skew file is.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub factor: u32,
    /// Total size of the books preset.
    #[arg(long, default_value = "200MB", value_parser = parse_size_arg)]
    pub total: u64,
    /// Folder of plain-text books for the books preset (default: ../shared/corpus/gutenberg when present).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// Distinct words in the synthetic vocabulary.
    #[arg(long, default_value_t = data_gen::DEFAULT_VOCABULARY)]
    pub vocabulary: u32,
}

/// The presets on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetArg {
    /// Files of 100 B, 1 KB, 10 KB, ... up to --max-size.
    Ladder,
    /// --files equal files of --size plus one file --factor times bigger.
    Skew,
    /// --files files of --size.
    Uniform,
    /// Real books copied/concatenated into --files files totalling --total.
    Books,
}

/// Builds the generator spec from the arguments.
pub fn spec_from_args(args: &GenArgs) -> Result<GenSpec> {
    let preset = match args.preset {
        PresetArg::Ladder => Preset::Ladder {
            max_bytes: args.max_size,
            per_size: args.per_size,
        },
        PresetArg::Skew => Preset::Skew {
            files: args.files,
            file_bytes: args.size,
            factor: args.factor,
        },
        PresetArg::Uniform => Preset::Uniform {
            files: args.files,
            file_bytes: args.size,
        },
        PresetArg::Books => {
            let corpus_dir = match &args.corpus {
                Some(dir) => dir.clone(),
                None => data_gen::default_corpus_dir().context(
                    "no book folder: ../shared/corpus/gutenberg is not here; download plain-text UTF-8 books from \
                     Project Gutenberg (https://www.gutenberg.org/browse/scores/top) into a folder and pass --corpus DIR",
                )?,
            };
            Preset::Books {
                corpus_dir,
                total_bytes: args.total,
                files: args.files,
            }
        }
    };
    Ok(GenSpec {
        preset,
        seed: args.seed,
        vocabulary: args.vocabulary,
    })
}

/// Runs `harness gen`.
pub fn run(args: GenArgs) -> Result<()> {
    let spec = spec_from_args(&args)?;
    let started = std::time::Instant::now();
    let files = generate(&spec, &args.out).with_context(|| {
        format!(
            "cannot generate {} into {}",
            spec.cache_key(),
            args.out.display()
        )
    })?;
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    println!(
        "generated {} files, {} in total, into {} ({}) in {:.2}s",
        files.len(),
        format_size(total),
        args.out.display(),
        spec.cache_key(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
