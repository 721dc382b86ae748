//! What to generate: the presets, the spec, its cache key, and the list of
//! files (names and sizes) a spec expands into.

use std::path::PathBuf;

use crate::error::GenError;
use crate::size::{exact_size_label, format_size};
use crate::synth::MAX_VOCABULARY;

/// Default number of distinct words in the synthetic vocabulary.
pub const DEFAULT_VOCABULARY: u32 = 50_000;
/// Default size ratio of the one big file of [`Preset::Skew`].
pub const DEFAULT_SKEW_FACTOR: u32 = 10;
/// Default number of files per size of [`Preset::Ladder`].
pub const DEFAULT_PER_SIZE: u32 = 1;
/// The smallest file of [`Preset::Ladder`]; later steps are 10x each.
pub const LADDER_MIN_BYTES: u64 = 100;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub enum Preset {
    /// Files of 100 B, 1 KB, 10 KB, ... (x10 each) up to and including the
    /// largest power-of-ten step <= `max_bytes`; `per_size` files of each size.
    Ladder {
        /// Upper bound for the largest step (at least [`LADDER_MIN_BYTES`]).
        max_bytes: u64,
        /// Files per size (default [`DEFAULT_PER_SIZE`]).
        per_size: u32,
    },
    /// `files` equal files of `file_bytes` each plus one file of
    /// `factor * file_bytes`.
    Skew {
        /// Number of equal (small) files.
        files: u32,
        /// Size of each equal file.
        file_bytes: u64,
        /// Size ratio of the big file (default [`DEFAULT_SKEW_FACTOR`]).
        factor: u32,
    },
    /// `files` files of `file_bytes` each.
    Uniform {
        /// Number of files.
        files: u32,
        /// Size of each file.
        file_bytes: u64,
    },
    /// Real Project Gutenberg books from `corpus_dir` (every `*.txt` in it,
    /// sorted by name), concatenated into `files` files totalling about
    /// `total_bytes`.
    ///
    /// The books form one stream, repeated round-robin, that is cut into the
    /// files in order: each file takes its share of `total_bytes`, extended to
    /// the end of the word it would split (so no file is more than one word
    /// over its share), and the next file continues from there. A leading
    /// byte-order mark is dropped from each book, and a newline is put between
    /// books that do not end in whitespace.
    Books {
        /// Folder holding the books (see [`crate::default_corpus_dir`]).
        corpus_dir: PathBuf,
        /// Total size of all files, about.
        total_bytes: u64,
        /// Number of files.
        files: u32,
    },
}

impl Preset {
    /// The preset's name, also the prefix of its file names: `ladder`, `skew`,
    /// `uniform` or `books`.
    pub fn name(&self) -> &'static str {
        match self {
            Preset::Ladder { .. } => "ladder",
            Preset::Skew { .. } => "skew",
            Preset::Uniform { .. } => "uniform",
            Preset::Books { .. } => "books",
        }
    }
}

/// A complete, deterministic description of one generated data set.
#[derive(Debug, Clone, PartialEq)]
pub struct GenSpec {
    /// What to generate.
    pub preset: Preset,
    /// Seed of the synthetic text; each file mixes in its own index.
    pub seed: u64,
    /// Distinct words in the synthetic vocabulary (default [`DEFAULT_VOCABULARY`]).
    pub vocabulary: u32,
}

/// One file a spec asks for, before it is written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlannedFile {
    /// File name inside the output folder.
    pub(crate) name: String,
    /// Exact size for synthetic presets; the target size for books.
    pub(crate) bytes: u64,
}

impl GenSpec {
    /// A spec for `preset` with the default vocabulary.
    pub fn new(preset: Preset, seed: u64) -> Self {
        Self {
            preset,
            seed,
            vocabulary: DEFAULT_VOCABULARY,
        }
    }

    /// A short, stable, filesystem-safe key naming this spec, e.g.
    /// `skew-f8-s1MB-x10-seed42-v50000`; it differs whenever any field differs.
    /// Sizes are written so they parse back exactly; a books key carries a
    /// short stable hash of the corpus path (not of the books' contents).
    pub fn cache_key(&self) -> String {
        let size = exact_size_label;
        let preset = match &self.preset {
            Preset::Ladder {
                max_bytes,
                per_size,
            } => format!("ladder-m{}-p{per_size}", size(*max_bytes)),
            Preset::Skew {
                files,
                file_bytes,
                factor,
            } => {
                format!("skew-f{files}-s{}-x{factor}", size(*file_bytes))
            }
            Preset::Uniform { files, file_bytes } => {
                format!("uniform-f{files}-s{}", size(*file_bytes))
            }
            Preset::Books {
                corpus_dir,
                total_bytes,
                files,
            } => format!(
                "books-c{:08x}-t{}-f{files}",
                short_hash(corpus_dir.as_os_str().as_encoded_bytes()),
                size(*total_bytes)
            ),
        };
        format!("{preset}-seed{}-v{}", self.seed, self.vocabulary)
    }

    /// Checks the spec and lists the files it expands into, in name order.
    pub(crate) fn plan(&self) -> Result<Vec<PlannedFile>, GenError> {
        let invalid = |message: String| Err(GenError::InvalidSpec(message));
        let name = self.preset.name();
        let synthetic = !matches!(self.preset, Preset::Books { .. });
        if synthetic && !(1..=MAX_VOCABULARY).contains(&self.vocabulary) {
            return invalid(format!(
                "vocabulary must be between 1 and {MAX_VOCABULARY} words, got {}",
                self.vocabulary
            ));
        }
        let planned =
            |index: u64, count: u64, min_width: usize, label: &str, bytes: u64| PlannedFile {
                name: format!(
                    "{name}-{index:0width$}{label}.txt",
                    width = index_width(count, min_width)
                ),
                bytes,
            };
        match self.preset {
            Preset::Ladder {
                max_bytes,
                per_size,
            } => {
                if max_bytes < LADDER_MIN_BYTES {
                    return invalid(format!(
                        "ladder max_bytes must be at least {} (the smallest step), got {}",
                        format_size(LADDER_MIN_BYTES),
                        format_size(max_bytes)
                    ));
                }
                if per_size == 0 {
                    return invalid("ladder per_size must be at least 1".into());
                }
                let sizes = ladder_sizes(max_bytes);
                let count = sizes.len() as u64 * u64::from(per_size);
                let files = sizes
                    .iter()
                    .flat_map(|&bytes| std::iter::repeat_n(bytes, per_size as usize))
                    .enumerate()
                    .map(|(index, bytes)| {
                        planned(
                            index as u64,
                            count,
                            2,
                            &format!("-{}", format_size(bytes)),
                            bytes,
                        )
                    })
                    .collect();
                Ok(files)
            }
            Preset::Skew {
                files,
                file_bytes,
                factor,
            } => {
                check_files_and_size(name, files, file_bytes)?;
                if factor == 0 {
                    return invalid("skew factor must be at least 1".into());
                }
                let Some(big_bytes) = file_bytes.checked_mul(u64::from(factor)) else {
                    return invalid(format!(
                        "skew big file of {factor} x {} bytes is too large",
                        file_bytes
                    ));
                };
                let count = u64::from(files);
                let mut list: Vec<PlannedFile> = (0..count)
                    .map(|index| planned(index, count, 2, "", file_bytes))
                    .collect();
                list.push(PlannedFile {
                    name: format!("{name}-big.txt"),
                    bytes: big_bytes,
                });
                Ok(list)
            }
            Preset::Uniform { files, file_bytes } => {
                check_files_and_size(name, files, file_bytes)?;
                let count = u64::from(files);
                Ok((0..count)
                    .map(|index| planned(index, count, 3, "", file_bytes))
                    .collect())
            }
            Preset::Books {
                total_bytes, files, ..
            } => {
                if files == 0 {
                    return invalid("books needs at least one file, got files = 0".into());
                }
                if total_bytes < u64::from(files) {
                    return invalid(format!(
                        "books total_bytes must be at least 1 byte per file, got {total_bytes} bytes for {files} files"
                    ));
                }
                let count = u64::from(files);
                let (share, extra) = (total_bytes / count, total_bytes % count);
                Ok((0..count)
                    .map(|index| planned(index, count, 2, "", share + u64::from(index < extra)))
                    .collect())
            }
        }
    }
}

/// Rejects zero files or zero-byte files.
fn check_files_and_size(preset: &str, files: u32, file_bytes: u64) -> Result<(), GenError> {
    if files == 0 {
        return Err(GenError::InvalidSpec(format!(
            "{preset} needs at least one file, got files = 0"
        )));
    }
    if file_bytes == 0 {
        return Err(GenError::InvalidSpec(format!(
            "{preset} file_bytes must be at least 1 byte, got 0"
        )));
    }
    Ok(())
}

/// 100, 1000, ... up to and including the largest step <= `max_bytes`.
fn ladder_sizes(max_bytes: u64) -> Vec<u64> {
    std::iter::successors(Some(LADDER_MIN_BYTES), |&bytes| bytes.checked_mul(10))
        .take_while(|&bytes| bytes <= max_bytes)
        .collect()
}

/// Digits needed to zero-pad indices `0..count`, at least `min_width`.
fn index_width(count: u64, min_width: usize) -> usize {
    let digits = count
        .saturating_sub(1)
        .checked_ilog10()
        .map_or(1, |log| log as usize + 1);
    digits.max(min_width)
}

/// 32-bit FNV-1a: short, stable across platforms and Rust versions.
fn short_hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn names(spec: &GenSpec) -> Vec<String> {
        spec.plan()
            .expect("valid spec")
            .into_iter()
            .map(|file| file.name)
            .collect()
    }

    #[test]
    fn ladder_steps_by_powers_of_ten() {
        assert_eq!(
            ladder_sizes(1_000_000),
            [100, 1_000, 10_000, 100_000, 1_000_000]
        );
        assert_eq!(ladder_sizes(999_999), [100, 1_000, 10_000, 100_000]);
        assert_eq!(ladder_sizes(100), [100]);
        assert_eq!(
            ladder_sizes(u64::MAX).last(),
            Some(&10_000_000_000_000_000_000)
        );
    }

    #[test]
    fn file_names_are_zero_padded_and_sorted() {
        let ladder = GenSpec::new(
            Preset::Ladder {
                max_bytes: 10_000,
                per_size: 2,
            },
            1,
        );
        assert_eq!(
            names(&ladder),
            [
                "ladder-00-100B.txt",
                "ladder-01-100B.txt",
                "ladder-02-1KB.txt",
                "ladder-03-1KB.txt",
                "ladder-04-10KB.txt",
                "ladder-05-10KB.txt"
            ]
        );
        let skew = GenSpec::new(
            Preset::Skew {
                files: 3,
                file_bytes: 10,
                factor: 10,
            },
            1,
        );
        assert_eq!(
            names(&skew),
            ["skew-00.txt", "skew-01.txt", "skew-02.txt", "skew-big.txt"]
        );
        let uniform = GenSpec::new(
            Preset::Uniform {
                files: 1_001,
                file_bytes: 1,
            },
            1,
        );
        let uniform = names(&uniform);
        assert_eq!(
            (uniform[0].as_str(), uniform[1_000].as_str()),
            ("uniform-0000.txt", "uniform-1000.txt")
        );
        let books = GenSpec::new(
            Preset::Books {
                corpus_dir: "c".into(),
                total_bytes: 10,
                files: 3,
            },
            1,
        );
        let plan = books.plan().expect("valid spec");
        assert_eq!(plan.iter().map(|f| f.bytes).collect::<Vec<_>>(), [4, 3, 3]);
        assert_eq!(plan[0].name, "books-00.txt");
        for list in [names(&ladder), names(&skew), uniform] {
            assert!(list.is_sorted(), "{list:?}");
        }
    }

    #[test]
    fn invalid_specs_are_rejected() {
        let invalid = [
            Preset::Ladder {
                max_bytes: 99,
                per_size: 1,
            },
            Preset::Ladder {
                max_bytes: 1_000,
                per_size: 0,
            },
            Preset::Skew {
                files: 0,
                file_bytes: 10,
                factor: 10,
            },
            Preset::Skew {
                files: 1,
                file_bytes: 0,
                factor: 10,
            },
            Preset::Skew {
                files: 1,
                file_bytes: 10,
                factor: 0,
            },
            Preset::Skew {
                files: 1,
                file_bytes: u64::MAX,
                factor: 2,
            },
            Preset::Uniform {
                files: 0,
                file_bytes: 10,
            },
            Preset::Uniform {
                files: 1,
                file_bytes: 0,
            },
            Preset::Books {
                corpus_dir: "c".into(),
                total_bytes: 0,
                files: 1,
            },
            Preset::Books {
                corpus_dir: "c".into(),
                total_bytes: 10,
                files: 0,
            },
            Preset::Books {
                corpus_dir: "c".into(),
                total_bytes: 2,
                files: 3,
            },
        ];
        for preset in invalid {
            let result = GenSpec::new(preset.clone(), 1).plan();
            assert!(
                matches!(result, Err(GenError::InvalidSpec(_))),
                "{preset:?}: {result:?}"
            );
        }
        let no_words = GenSpec {
            vocabulary: 0,
            ..GenSpec::new(
                Preset::Uniform {
                    files: 1,
                    file_bytes: 1,
                },
                1,
            )
        };
        assert!(matches!(no_words.plan(), Err(GenError::InvalidSpec(_))));
    }

    #[test]
    fn cache_keys_are_safe_and_differ_per_field() {
        let skew = GenSpec {
            vocabulary: 50_000,
            ..GenSpec::new(
                Preset::Skew {
                    files: 8,
                    file_bytes: 1_000_000,
                    factor: 10,
                },
                42,
            )
        };
        assert_eq!(skew.cache_key(), "skew-f8-s1MB-x10-seed42-v50000");
        let base_books = Preset::Books {
            corpus_dir: "/data/books".into(),
            total_bytes: 1 << 20,
            files: 4,
        };
        let variants = [
            GenSpec::new(
                Preset::Ladder {
                    max_bytes: 1_000_000,
                    per_size: 1,
                },
                1,
            ),
            GenSpec::new(
                Preset::Ladder {
                    max_bytes: 1_000_001,
                    per_size: 1,
                },
                1,
            ),
            GenSpec::new(
                Preset::Ladder {
                    max_bytes: 1_000_000,
                    per_size: 2,
                },
                1,
            ),
            GenSpec::new(
                Preset::Skew {
                    files: 8,
                    file_bytes: 1_000,
                    factor: 10,
                },
                1,
            ),
            GenSpec::new(
                Preset::Skew {
                    files: 9,
                    file_bytes: 1_000,
                    factor: 10,
                },
                1,
            ),
            GenSpec::new(
                Preset::Skew {
                    files: 8,
                    file_bytes: 1_001,
                    factor: 10,
                },
                1,
            ),
            GenSpec::new(
                Preset::Skew {
                    files: 8,
                    file_bytes: 1_000,
                    factor: 11,
                },
                1,
            ),
            GenSpec::new(
                Preset::Uniform {
                    files: 8,
                    file_bytes: 1_000,
                },
                1,
            ),
            GenSpec::new(
                Preset::Uniform {
                    files: 8,
                    file_bytes: 1_234_567,
                },
                1,
            ),
            GenSpec::new(
                Preset::Uniform {
                    files: 8,
                    file_bytes: 1_234_568,
                },
                1,
            ),
            GenSpec::new(
                Preset::Uniform {
                    files: 8,
                    file_bytes: 1_000,
                },
                2,
            ),
            GenSpec {
                vocabulary: 7,
                ..GenSpec::new(
                    Preset::Uniform {
                        files: 8,
                        file_bytes: 1_000,
                    },
                    1,
                )
            },
            GenSpec::new(base_books.clone(), 1),
            GenSpec::new(
                Preset::Books {
                    corpus_dir: "/data/books2".into(),
                    total_bytes: 1 << 20,
                    files: 4,
                },
                1,
            ),
            GenSpec::new(
                Preset::Books {
                    corpus_dir: "/data/books".into(),
                    total_bytes: 1 << 21,
                    files: 4,
                },
                1,
            ),
            GenSpec::new(
                Preset::Books {
                    corpus_dir: "/data/books".into(),
                    total_bytes: 1 << 20,
                    files: 5,
                },
                1,
            ),
        ];
        let keys: HashSet<String> = variants.iter().map(GenSpec::cache_key).collect();
        assert_eq!(keys.len(), variants.len(), "{keys:?}");
        for key in &keys {
            assert!(
                key.len() <= 64
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b)),
                "{key}"
            );
        }
        assert_eq!(
            GenSpec::new(base_books.clone(), 1).cache_key(),
            GenSpec::new(base_books, 1).cache_key()
        );
    }
}
