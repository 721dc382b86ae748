//! The parameters of one run, validated: the common ones (mode, workers,
//! tokenizer, unit size, input) and the `redis`-mode ones
//! ([`RedisParams`], defined once in [`crate::params`]).

use std::path::PathBuf;

use data_gen::{GenSpec, Preset};
use serde::Serialize;

use super::schema::InexactTable;
use crate::job::Mode;
use crate::params::RedisParams;
use crate::redis_run::RedisOptions;
use crate::words::Tokenizer;

/// Where a run's input comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum InputSource {
    /// Files and folders as they are.
    Path(PathBuf),
    /// Files made by the generator (already scaled), cached by their spec.
    Generated(#[serde(serialize_with = "serialize_gen_spec")] GenSpec),
}

fn serialize_gen_spec<S: serde::Serializer>(
    spec: &GenSpec,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&spec.cache_key())
}

impl InputSource {
    /// A short human label for CSVs and plot titles.
    pub(crate) fn label(&self) -> String {
        match self {
            InputSource::Path(path) => path.display().to_string(),
            InputSource::Generated(spec) => {
                let size = data_gen::format_size;
                match &spec.preset {
                    Preset::Ladder {
                        max_bytes,
                        per_size,
                    } => format!("ladder 100B..{} x{per_size}", size(*max_bytes)),
                    Preset::Skew {
                        files,
                        file_bytes,
                        factor,
                    } => format!(
                        "skew {files}x{} + 1x{}",
                        size(*file_bytes),
                        size(file_bytes * u64::from(*factor))
                    ),
                    Preset::Uniform { files, file_bytes } => {
                        format!("uniform {files}x{}", size(*file_bytes))
                    }
                    Preset::Books {
                        total_bytes, files, ..
                    } => format!("books {} in {files} files", size(*total_bytes)),
                }
            }
        }
    }
}

/// The run parameters an `[[inexact]]` table can match, besides the
/// `redis`-mode ones (the input and the unit size cannot be matched).
pub(crate) const MATCHABLE_COMMON: &[&str] = &["mode", "workers", "tokenizer"];

/// The parameters of one run, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunParams {
    /// How it runs.
    pub mode: Mode,
    /// Workers (1 for serial).
    pub workers: u32,
    /// What counts as a word.
    pub tokenizer: Tokenizer,
    /// Largest unit of work (`None`: automatic).
    pub unit_bytes: Option<u64>,
    /// The input.
    pub input: InputSource,
    /// The `redis`-mode parameters (all at their defaults for other modes).
    #[serde(flatten)]
    pub redis: RedisParams,
}

impl RunParams {
    /// The Redis options of this run (a managed server).
    pub(crate) fn redis_options(&self) -> RedisOptions {
        RedisOptions {
            params: self.redis.clone(),
            ..RedisOptions::default()
        }
    }

    /// A stable key for these parameters at this scale (same key = same run).
    pub(crate) fn key(&self, scale: f64) -> String {
        let text = serde_json::to_string(&(self, scale)).unwrap_or_default();
        let hash = blake3::hash(text.as_bytes()).to_hex();
        format!("{}-{}w-{}", self.mode.name(), self.workers, &hash[..10])
    }

    /// One line describing the run: the common parameters, then every
    /// `redis`-mode one not at its default (a flag by its name alone).
    pub(crate) fn describe(&self) -> String {
        let unit = self
            .unit_bytes
            .map_or_else(|| "auto".to_string(), data_gen::format_size);
        let mut text = format!(
            "mode={} workers={} tokenizer={} unit={} input={}",
            self.mode.name(),
            self.workers,
            self.tokenizer,
            unit,
            self.input.label()
        );
        let changed = self.redis.changed();
        for &name in RedisParams::NAMES {
            // The downtime only means something with a kill: shown with it.
            let shown = if name == "redis_down_ms" {
                changed.contains(&"redis_kill")
            } else {
                changed.contains(&name)
            };
            match self.redis.text_of(name) {
                Some(value) if shown && value == "true" => text.push_str(&format!(" {name}")),
                Some(value) if shown => text.push_str(&format!(" {name}={value}")),
                _ => {}
            }
        }
        text
    }

    /// The value of parameter `name` as text, for `[[inexact]]` matches
    /// (`None`: not a parameter that can be matched).
    pub(crate) fn param_text(&self, name: &str) -> Option<String> {
        match name {
            "mode" => Some(self.mode.name().to_string()),
            "workers" => Some(self.workers.to_string()),
            "tokenizer" => Some(self.tokenizer.name().to_string()),
            _ => self.redis.text_of(name),
        }
    }

    /// True when every entry of `table` matches these parameters.
    pub(crate) fn matches(&self, table: &InexactTable) -> bool {
        table.filter.iter().all(|(key, value)| {
            let wanted = match value {
                toml::Value::String(text) => {
                    RedisParams::normalize(key, text).unwrap_or_else(|| text.clone())
                }
                other => other.to_string(),
            };
            self.param_text(key).is_some_and(|have| have == wanted)
        })
    }
}

/// Every parameter an `[[inexact]]` table can name.
pub fn matchable_parameters() -> Vec<&'static str> {
    MATCHABLE_COMMON
        .iter()
        .chain(RedisParams::NAMES)
        .copied()
        .collect()
}
