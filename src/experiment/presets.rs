//! Which input a run reads: a path as it is, or a generator preset
//! (ladder, skew, uniform, books) scaled by `--scale`.

use data_gen::{GenSpec, Preset};

use super::params::InputSource;
use super::schema::{InputTable, Size};

fn scaled(size: Option<Size>, default: u64, scale: f64) -> u64 {
    ((size.map_or(default, |s| s.0) as f64 * scale).round() as u64).max(1)
}

/// The input of a run, from its `input` table (sizes multiplied by `scale`).
pub(super) fn input_source(
    input: &InputTable,
    scale: f64,
) -> Result<InputSource, (&'static str, String)> {
    match (&input.path, &input.preset) {
        (Some(path), None) => {
            let others = InputTable {
                path: None,
                ..input.clone()
            };
            if others
                != (InputTable {
                    path: None,
                    preset: None,
                    files: None,
                    size: None,
                    max_size: None,
                    per_size: None,
                    factor: None,
                    total: None,
                    corpus: None,
                    seed: None,
                    vocabulary: None,
                })
            {
                return Err((
                    "input",
                    "a path input takes no generator settings: remove them or use preset = ..."
                        .into(),
                ));
            }
            Ok(InputSource::Path(path.clone()))
        }
        (None, Some(preset)) => {
            let files = input.files.unwrap_or(8);
            let preset = match preset.as_str() {
                "ladder" => Preset::Ladder {
                    max_bytes: scaled(input.max_size, 100_000_000, scale).max(100),
                    per_size: input.per_size.unwrap_or(1),
                },
                "skew" => Preset::Skew {
                    files,
                    file_bytes: scaled(input.size, 1_000_000, scale),
                    factor: input.factor.unwrap_or(10),
                },
                "uniform" => Preset::Uniform {
                    files,
                    file_bytes: scaled(input.size, 1_000_000, scale),
                },
                "books" => {
                    let corpus_dir = match &input.corpus {
                        Some(dir) => dir.clone(),
                        None => data_gen::default_corpus_dir().ok_or_else(|| {
                            (
                                "input",
                                format!(
                                    "the books preset needs a book folder: {}",
                                    data_gen::missing_books_advice("set corpus = \"DIR\"")
                                ),
                            )
                        })?,
                    };
                    Preset::Books {
                        corpus_dir,
                        total_bytes: scaled(input.total, 200_000_000, scale),
                        files,
                    }
                }
                other => {
                    return Err((
                        "preset",
                        format!("unknown preset `{other}`: use ladder, skew, uniform or books"),
                    ));
                }
            };
            Ok(InputSource::Generated(GenSpec {
                preset,
                seed: input.seed.unwrap_or(42),
                vocabulary: input.vocabulary.unwrap_or(data_gen::DEFAULT_VOCABULARY),
            }))
        }
        (Some(_), Some(_)) => Err(("input", "give either path or preset, not both".into())),
        (None, None) => Err(("input", "give path = \"...\" or preset = \"...\"".into())),
    }
}
