//! `harness gen` (module `generate`, as `gen` is a keyword): make deterministic inputs with the `data-gen` crate.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
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
    /// With --download alone: the folder the books go to.
    #[arg(long, value_name = "DIR", required_unless_present = "download")]
    pub out: Option<PathBuf>,
    /// Seed of the random text: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of files (skew: the equal ones; uniform; books) [default: 8].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub files: Option<u32>,
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
    /// Total size of the books preset [default: 200MB].
    #[arg(long, value_parser = parse_size_arg)]
    pub total: Option<u64>,
    /// Folder of plain-text books for the books preset (default: $HARNESS_BOOKS_DIR,
    /// ../shared/corpus/gutenberg, or the download folder when it holds books).
    /// With --download: where the books go.
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// Books preset: fetch the top Project Gutenberg books first (books already
    /// there are kept) into --out (when only downloading), --corpus, or the default
    /// download folder ($HARNESS_BOOKS_DIR, else ~/.cache/harness/gutenberg).
    /// With --files or --total, then generates from them into --out.
    #[arg(long)]
    pub download: bool,
    /// How many books of the list to fetch (the first N of 30).
    #[arg(long, default_value_t = 30, requires = "download",
          value_parser = clap::value_parser!(u16).range(1..=data_gen::TOP_BOOKS.len() as i64))]
    pub count: u16,
    /// Where to fetch the books from: {mirror}/cache/epub/{ID}/pg{ID}.txt.
    #[arg(long, value_name = "URL", default_value = data_gen::DEFAULT_MIRROR, requires = "download")]
    pub mirror: String,
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

/// Files of a preset when --files is not given.
const DEFAULT_FILES: u32 = 8;
/// Total size of the books preset when --total is not given.
const DEFAULT_BOOKS_TOTAL_BYTES: u64 = 200_000_000;

/// Builds the generator spec from the arguments.
pub(crate) fn spec_from_args(args: &GenArgs) -> Result<GenSpec> {
    let files = args.files.unwrap_or(DEFAULT_FILES);
    let preset = match args.preset {
        PresetArg::Ladder => Preset::Ladder {
            max_bytes: args.max_size,
            per_size: args.per_size,
        },
        PresetArg::Skew => Preset::Skew {
            files,
            file_bytes: args.size,
            factor: args.factor,
        },
        PresetArg::Uniform => Preset::Uniform {
            files,
            file_bytes: args.size,
        },
        PresetArg::Books => {
            let corpus_dir = match &args.corpus {
                Some(dir) => dir.clone(),
                None => data_gen::default_corpus_dir().with_context(|| {
                    format!(
                        "no book folder: {}",
                        data_gen::missing_books_advice("pass --corpus DIR")
                    )
                })?,
            };
            Preset::Books {
                corpus_dir,
                total_bytes: args.total.unwrap_or(DEFAULT_BOOKS_TOTAL_BYTES),
                files,
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
pub(crate) fn run(mut args: GenArgs) -> Result<()> {
    if args.download {
        if args.preset != PresetArg::Books {
            bail!("--download fetches books: use it with --preset books");
        }
        let generate_too = args.files.is_some() || args.total.is_some();
        let dir = download_dir(&args, generate_too)?;
        download(&args, &dir)?;
        if !generate_too {
            return Ok(());
        }
        args.corpus = Some(dir);
    }
    let out = args
        .out
        .clone()
        .context("--out DIR is needed to generate files")?;
    let spec = spec_from_args(&args)?;
    let started = std::time::Instant::now();
    let files = generate(&spec, &out).with_context(|| {
        format!(
            "cannot generate {} into {}",
            spec.cache_key(),
            out.display()
        )
    })?;
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    println!(
        "generated {} files, {} in total, into {} ({}) in {:.2}s",
        files.len(),
        format_size(total),
        out.display(),
        spec.cache_key(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where --download puts the books: --corpus, else --out when only
/// downloading, else the default download folder.
fn download_dir(args: &GenArgs, generate_too: bool) -> Result<PathBuf> {
    if let Some(dir) = &args.corpus {
        return Ok(dir.clone());
    }
    if !generate_too && let Some(dir) = &args.out {
        return Ok(dir.clone());
    }
    data_gen::default_download_dir().with_context(|| {
        format!(
            "no download folder: neither {} nor HOME is set; pass --out DIR (or --corpus DIR)",
            data_gen::BOOKS_DIR_ENV
        )
    })
}

/// Fetches the first --count books into `dir` and says where they are.
fn download(args: &GenArgs, dir: &Path) -> Result<()> {
    fetch_books(usize::from(args.count), &args.mirror, dir)
}

/// Fetches the first `count` of the lab's books from `mirror` into `dir`
/// (books already there are kept) and says where they are.
pub(crate) fn fetch_books(count: usize, mirror: &str, dir: &Path) -> Result<()> {
    let books = &data_gen::TOP_BOOKS[..count.min(data_gen::TOP_BOOKS.len())];
    let started = std::time::Instant::now();
    eprintln!(
        "fetching {} Project Gutenberg books from {} into {}",
        books.len(),
        mirror,
        dir.display()
    );
    let mut report = |book: &data_gen::DownloadedBook| {
        let how = if book.fetched {
            "fetched"
        } else {
            "already there"
        };
        eprintln!(
            "  {:<40} {:>9}  {how}",
            book.book.file_name,
            format_size(book.bytes)
        );
    };
    let done = data_gen::download_books(books, mirror, dir, &mut report)
        .with_context(|| format!("cannot download the books into {}", dir.display()))?;
    let fetched = done.iter().filter(|book| book.fetched).count();
    let total: u64 = done.iter().map(|book| book.bytes).sum();
    let shown = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    println!(
        "{} books, {} in total ({fetched} fetched, {} already there), in {} ({:.2}s)",
        done.len(),
        format_size(total),
        done.len() - fetched,
        shown.display(),
        started.elapsed().as_secs_f64()
    );
    if data_gen::default_corpus_dir().as_deref() != Some(shown.as_path()) {
        println!(
            "use them with --corpus {dir} (in an experiment: corpus = \"{dir}\"), or set {}={dir}",
            data_gen::BOOKS_DIR_ENV,
            dir = shown.display()
        );
    }
    Ok(())
}
