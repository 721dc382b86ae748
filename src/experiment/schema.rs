//! The experiment file (TOML) as written by users, with serde's
//! `deny_unknown_fields` so a misspelt key is an error naming its line, and
//! the validation into a typed [`Experiment`](super::Experiment).
//!
//! Every run parameter can be set in `[fixed]` or be an axis in `[matrix]`;
//! both tables are generated from one list of parameters so they can never
//! disagree.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::faults::{RedisKill, SlowWorker, WorkerCrash};
use crate::job::Mode;
use crate::params::{ParamValue, RedisParams, Toml};
use crate::queue::MergeTarget;
pub(crate) use crate::results::PlotSpec;
use crate::servers::TopologyKind;
use crate::words::Tokenizer;

/// A size written as a number of bytes or a string with units ("8MiB").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Size, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer) {
            Ok(Raw::Bytes(bytes)) => Ok(Size(bytes)),
            Ok(Raw::Text(text)) => data_gen::parse_size(&text)
                .map(Size)
                .map_err(serde::de::Error::custom),
            Err(_) => Err(serde::de::Error::custom(
                "expected a size: a number of bytes or a string such as \"8MiB\" or \"1GB\"",
            )),
        }
    }
}

/// Where a run's input comes from: a path, or a generator preset.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputTable {
    /// A file or folder (relative to the current directory).
    pub path: Option<PathBuf>,
    /// A `harness gen` preset: ladder, skew, uniform, books.
    pub preset: Option<String>,
    /// Files (skew: the equal ones; uniform; books).
    pub files: Option<u32>,
    /// Size of each file (skew, uniform); scaled by `--scale`.
    pub size: Option<Size>,
    /// Largest file of a ladder; scaled by `--scale`.
    pub max_size: Option<Size>,
    /// Files of each ladder size.
    pub per_size: Option<u32>,
    /// How many times bigger the big skew file is.
    pub factor: Option<u32>,
    /// Total size of the books preset; scaled by `--scale`.
    pub total: Option<Size>,
    /// Book folder for the books preset (default: ../shared/corpus/gutenberg).
    pub corpus: Option<PathBuf>,
    /// Seed of the synthetic text.
    pub seed: Option<u64>,
    /// Distinct words of the synthetic vocabulary.
    pub vocabulary: Option<u32>,
}

/// Expands the run parameters into the `[fixed]` and `[matrix]` tables:
/// the common ones (`name: Type`, read as themselves) and the `redis`-mode
/// ones of [`crate::params`] (read through [`ParamValue`], e.g. a crash
/// list from `"0:mid-commit;1:after-read"`).
macro_rules! run_parameters {
    (
        $($(#[doc = $cdoc:literal])* $common:ident : $cty:ty,)*
        ;
        $($(#[doc = $rdoc:literal])* [$($arg:tt)*] $redis:ident : $rty:ty = $default:expr,)*
    ) => {
        /// Every run parameter's name, in declaration order.
        pub const RUN_PARAMETERS: &[&str] = &[$(stringify!($common),)* $(stringify!($redis)),*];

        /// Every run parameter as the reference (`docs/parameters.md`)
        /// shows it, from the same definitions the schema is built from.
        pub fn parameter_reference() -> Vec<ParameterDoc> {
            vec![
                $(ParameterDoc {
                    name: stringify!($common),
                    type_name: type_name(stringify!($cty)),
                    default: common_default(stringify!($common)),
                    doc: doc_text(&[$($cdoc),*]),
                    redis_only: false,
                },)*
                $(ParameterDoc {
                    name: stringify!($redis),
                    type_name: type_name(stringify!($rty)),
                    default: ParamValue::text(&{ let value: $rty = $default; value }),
                    doc: doc_text(&[$($rdoc),*]),
                    redis_only: true,
                },)*
            ]
        }

        /// Run parameters as written in `[fixed]`: each one optional.
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct FixedTable {
            $($(#[doc = $cdoc])* pub $common: Option<$cty>,)*
            $($(#[doc = $rdoc])* pub $redis: Option<Toml<$rty>>,)*
        }

        /// Run parameters as written in `[matrix]`: each one a list of values.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct MatrixTable {
            $($(#[doc = $cdoc])* pub $common: Option<Spanned<Vec<$cty>>>,)*
            $($(#[doc = $rdoc])* pub $redis: Option<Spanned<Vec<Toml<$rty>>>>,)*
        }

        impl FixedTable {
            /// Sets every parameter that `other` sets.
            pub(crate) fn overlay(&mut self, other: &FixedTable) {
                $(if other.$common.is_some() { self.$common = other.$common.clone(); })*
                $(if other.$redis.is_some() { self.$redis = other.$redis.clone(); })*
            }

            /// Names of the parameters this table sets.
            pub(crate) fn keys(&self) -> Vec<&'static str> {
                let mut keys = Vec::new();
                $(if self.$common.is_some() { keys.push(stringify!($common)); })*
                $(if self.$redis.is_some() { keys.push(stringify!($redis)); })*
                keys
            }

            /// The `redis`-mode parameters this table sets, the others at
            /// their defaults.
            pub(crate) fn redis_params(&self) -> RedisParams {
                let defaults = RedisParams::default();
                RedisParams {
                    $($redis: self.$redis.clone().map_or(defaults.$redis, |value| value.0),)*
                }
            }
        }

        impl MatrixTable {
            /// The axes in file order of declaration: name, byte span of the
            /// list, and one single-parameter table per value.
            pub(crate) fn axes(&self) -> Vec<(&'static str, std::ops::Range<usize>, Vec<FixedTable>)> {
                let mut axes = Vec::new();
                $(if let Some(values) = &self.$common {
                    let tables = values.get_ref().iter().map(|v| FixedTable { $common: Some(v.clone()), ..FixedTable::default() }).collect();
                    axes.push((stringify!($common), values.span(), tables));
                })*
                $(if let Some(values) = &self.$redis {
                    let tables = values.get_ref().iter().map(|v| FixedTable { $redis: Some(v.clone()), ..FixedTable::default() }).collect();
                    axes.push((stringify!($redis), values.span(), tables));
                })*
                axes
            }
        }
    };
}

crate::params::redis_parameter_list!(run_parameters! {
    /// How the run counts: serial (one thread, the reference T_s), threads, processes
    /// (worker OS processes), redis (worker processes coordinated through Redis).
    mode: Mode,
    /// Worker threads or processes (serial always runs 1).
    workers: u32,
    /// What a word is: whitespace (maximal runs of non-whitespace bytes, ASCII
    /// lowercased) or alnum (runs of ASCII letters/digits and non-ASCII bytes).
    tokenizer: Tokenizer,
    /// Largest unit of work; bigger files are split into byte ranges cut at whitespace
    /// (a number of bytes or a size such as "1MiB"; unset: automatic).
    unit_bytes: Size,
    /// The input: `{ path = "DIR" }` or a generator preset `{ preset = "uniform" |
    /// "skew" | "ladder" | "books", ... }` (experiments/README.md lists the keys).
    input: InputTable,
    ;
});

/// One run parameter in the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterDoc {
    /// TOML key (the flag of `harness count` is `--` + the key with `-` for `_`).
    pub name: &'static str,
    /// The value's type, as written in the reference.
    pub type_name: String,
    /// The default, as the CSV writes it (or what happens when unset).
    pub default: String,
    /// What it means, in one paragraph.
    pub doc: String,
    /// True for the parameters of the redis mode only.
    pub redis_only: bool,
}

/// What an unset common parameter means (they have no typed default: the
/// validation of a run decides, see `validate_run`).
fn common_default(name: &str) -> String {
    match name {
        "mode" | "input" => "required",
        "workers" => "required (1 for serial)",
        "tokenizer" => "whitespace",
        _ => "automatic",
    }
    .to_string()
}

/// A Rust type as a reader knows it (`Vec < SlowWorker >` -> `list of SlowWorker`).
fn type_name(rust: &str) -> String {
    let compact: String = rust.chars().filter(|c| !c.is_whitespace()).collect();
    let last = |path: &str| path.rsplit("::").next().unwrap_or(path).to_string();
    match compact
        .strip_prefix("Vec<")
        .and_then(|t| t.strip_suffix('>'))
    {
        Some(item) => format!("list of {}", last(item)),
        None => match last(&compact).as_str() {
            "u32" | "u64" => "integer".into(),
            "f64" => "number".into(),
            "bool" => "true/false".into(),
            "String" => "text".into(),
            "Size" => "size".into(),
            other => other.to_string(),
        },
    }
}

/// Doc comment lines joined into one paragraph.
fn doc_text(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One `[[inexact]]` table: runs whose parameters match every entry of
/// `where` are expected to show wrong counts (e.g. a non-atomic commit
/// crashing mid-commit); their rows get `expect_exact = false` and a wrong
/// count there does not fail `harness run` (an exact one is fine too).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct InexactTable {
    /// Parameter values to match, e.g. `{ atomic = false, crash = "0:mid-commit" }`.
    #[serde(rename = "where")]
    pub filter: std::collections::BTreeMap<String, toml::Value>,
    /// Why these runs may be wrong (for readers).
    pub reason: Option<String>,
}

/// The experiment file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentFile {
    /// Name; also the CSV name (default: the file name without .toml).
    pub name: Option<String>,
    /// What the experiment shows.
    pub description: String,
    /// The lab question it answers.
    pub lab: Option<String>,
    /// What its plots should show and why, in one or two sentences (the
    /// report quotes it next to the measured effect).
    pub shows: Option<String>,
    /// Measured repetitions of each run (default 3).
    pub repetitions: Option<u32>,
    /// Unrecorded warm-up runs before the repetitions of each parameter set (default 0).
    pub warmup: Option<u32>,
    /// Whether runs must give exact counts (default true); false for runs
    /// meant to show a failure, whose wrong counts are then expected.
    pub expect_exact: Option<bool>,
    /// Parameters of every run.
    #[serde(default)]
    pub fixed: FixedTable,
    /// Parameter axes; runs are their cartesian product.
    #[serde(default)]
    pub matrix: Option<Spanned<MatrixTable>>,
    /// Plots to draw from the results.
    #[serde(default)]
    pub plot: Vec<PlotSpec>,
    /// Runs expected to show wrong counts.
    #[serde(default)]
    pub inexact: Vec<InexactTable>,
    /// Combinations of the matrix left out (e.g. `{ atomic = true,
    /// per_word = true }`, which cannot run); same form as `[[inexact]]`,
    /// matching `redis`-mode parameters.
    #[serde(default)]
    pub exclude: Vec<InexactTable>,
}

impl FixedTable {
    /// True when every entry of `table` (an `[[exclude]]`) matches this
    /// combination's `redis`-mode parameters.
    pub(crate) fn matches(&self, table: &InexactTable) -> bool {
        let params = self.redis_params();
        table.filter.iter().all(|(key, value)| {
            let wanted = match value {
                toml::Value::String(text) => {
                    RedisParams::normalize(key, text).unwrap_or_else(|| text.clone())
                }
                other => other.to_string(),
            };
            params.text_of(key).is_some_and(|have| have == wanted)
        })
    }
}
