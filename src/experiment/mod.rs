//! Experiments: a TOML file (fixed settings, a `[matrix]` of parameter
//! axes, repetitions, plots) validated once into a typed [`Experiment`]
//! whose runs are the cartesian product of the axes; the runner that
//! executes them, checks every result against the serial oracle and appends
//! CSV rows.
//!
//! Data flows one way: TOML -> [`Experiment`] -> [`RunParams`] -> job ->
//! [`crate::results::RunRow`].

mod inputs;
mod runner;
mod schema;

use std::path::{Path, PathBuf};

use data_gen::{GenSpec, Preset};
use serde::Serialize;

pub use inputs::{Oracle, count_differences};
pub use runner::{RunOptions, RunSummary, Sidecar, csv_path, run_experiment, sidecar_path};
pub use schema::{
    ExperimentFile, FixedTable, InexactTable, InputTable, PlotSpec, RUN_PARAMETERS, Size,
};

use crate::faults::{RedisKill, SlowWorker};
use crate::job::Mode;
use crate::queue::{CommitPath, RedisOptions, WorkerCrash, crash_list_text, parse_crash_list};
use crate::words::Tokenizer;

/// Why an experiment file cannot be used. Each names the file, and the key
/// and line where it can.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// The file cannot be read.
    #[error("cannot read experiment {path}: {source}; check the path")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Malformed TOML, an unknown key or a wrong type (the message has the line).
    #[error("experiment {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value or combination that cannot run.
    #[error("experiment {path}, key `{key}` (line {line}): {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// 1-based line.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
}

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
    pub fn label(&self) -> String {
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
    /// Redis: one ZINCRBY per word occurrence.
    pub per_word: bool,
    /// Redis: slowed-down workers.
    pub slow: Vec<SlowWorker>,
    /// Redis: atomic commits (FCALL wc_commit).
    #[serde(skip_serializing_if = "is_false")]
    pub atomic: bool,
    /// Redis: steal units idle longer than this (0: off).
    #[serde(skip_serializing_if = "is_zero")]
    pub autoclaim_ms: u64,
    /// Redis: injected crashes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crash: Vec<WorkerCrash>,
    /// Redis: kill a random live worker this often (0: off).
    #[serde(skip_serializing_if = "is_zero")]
    pub kill_every_ms: u64,
    /// Redis: snapshot interval of the managed server, seconds (0: none).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub snapshot_s: u32,
    /// Redis: when the managed server is killed.
    #[serde(skip_serializing_if = "is_never")]
    pub redis_kill: RedisKill,
    /// Redis: downtime after a kill, milliseconds.
    #[serde(skip_serializing_if = "is_default_down")]
    pub redis_down_ms: u64,
}

// New parameters are left out of the run key at their defaults, so runs
// recorded before they existed keep their keys (resume still skips them).
fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

fn is_never(value: &RedisKill) -> bool {
    *value == RedisKill::Never
}

fn is_default_down(value: &u64) -> bool {
    *value == RedisOptions::default().redis_down_ms
}

impl RunParams {
    /// The `slow` setting as written in CSVs (`0:0.5;1:0.25`).
    pub fn slow_text(&self) -> String {
        self.slow
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The Redis options of this run.
    pub fn redis_options(&self) -> RedisOptions {
        RedisOptions {
            commit: CommitPath::from_flags(self.atomic, self.per_word),
            slow: self.slow.clone(),
            autoclaim_ms: self.autoclaim_ms,
            crash: self.crash.clone(),
            kill_every_ms: self.kill_every_ms,
            snapshot_s: self.snapshot_s,
            redis_kill: self.redis_kill,
            redis_down_ms: self.redis_down_ms,
            ..RedisOptions::default()
        }
    }

    /// A stable key for these parameters at this scale (same key = same run).
    pub fn key(&self, scale: f64) -> String {
        let text = serde_json::to_string(&(self, scale)).unwrap_or_default();
        let hash = blake3::hash(text.as_bytes()).to_hex();
        format!("{}-{}w-{}", self.mode.name(), self.workers, &hash[..10])
    }

    /// One line describing the run.
    pub fn describe(&self) -> String {
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
        if self.per_word {
            text.push_str(" per_word");
        }
        if !self.slow.is_empty() {
            text.push_str(&format!(" slow={}", self.slow_text()));
        }
        if self.atomic {
            text.push_str(" atomic");
        }
        if self.autoclaim_ms > 0 {
            text.push_str(&format!(" autoclaim_ms={}", self.autoclaim_ms));
        }
        if !self.crash.is_empty() {
            text.push_str(&format!(" crash={}", self.crash_text()));
        }
        if self.kill_every_ms > 0 {
            text.push_str(&format!(" kill_every_ms={}", self.kill_every_ms));
        }
        if self.snapshot_s > 0 {
            text.push_str(&format!(" snapshot_s={}", self.snapshot_s));
        }
        if self.redis_kill != RedisKill::Never {
            text.push_str(&format!(
                " redis_kill={} redis_down_ms={}",
                self.redis_kill, self.redis_down_ms
            ));
        }
        text
    }

    /// The `crash` setting as written in CSVs (`0:mid-commit:1;1:after-read:2`).
    pub fn crash_text(&self) -> String {
        crash_list_text(&self.crash)
    }

    /// The value of parameter `name` as text, for `[[inexact]]` matches
    /// (`None`: not a parameter that can be matched).
    fn param_text(&self, name: &str) -> Option<String> {
        Some(match name {
            "mode" => self.mode.name().to_string(),
            "workers" => self.workers.to_string(),
            "tokenizer" => self.tokenizer.name().to_string(),
            "per_word" => self.per_word.to_string(),
            "slow" => self.slow_text(),
            "atomic" => self.atomic.to_string(),
            "autoclaim_ms" => self.autoclaim_ms.to_string(),
            "crash" => self.crash_text(),
            "kill_every_ms" => self.kill_every_ms.to_string(),
            "snapshot_s" => self.snapshot_s.to_string(),
            "redis_kill" => self.redis_kill.to_string(),
            "redis_down_ms" => self.redis_down_ms.to_string(),
            _ => return None,
        })
    }

    /// True when every entry of `table` matches these parameters.
    pub fn matches(&self, table: &InexactTable) -> bool {
        table.filter.iter().all(|(key, value)| {
            let wanted = match value {
                toml::Value::String(text) if key == "crash" => parse_crash_list(text)
                    .map(|c| crash_list_text(&c))
                    .unwrap_or_else(|_| text.clone()),
                toml::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            self.param_text(key).is_some_and(|have| have == wanted)
        })
    }
}

/// A validated experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The file it came from.
    pub source: PathBuf,
    /// Name (CSV file name).
    pub name: String,
    /// What it shows.
    pub description: String,
    /// The lab question.
    pub lab: Option<String>,
    /// Measured repetitions per run.
    pub repetitions: u32,
    /// Unrecorded warm-up runs per parameter set.
    pub warmup: u32,
    /// Whether wrong counts are failures.
    pub expect_exact: bool,
    /// Scale applied to generated inputs.
    pub scale: f64,
    /// Distinct parameter sets, in matrix order.
    pub runs: Vec<RunParams>,
    /// Plots to draw.
    pub plots: Vec<PlotSpec>,
    /// Runs expected to show wrong counts (`[[inexact]]`).
    pub inexact: Vec<InexactTable>,
}

impl Experiment {
    /// Whether the run with `params` must give exact counts: the file's
    /// `expect_exact`, unless an `[[inexact]]` table matches the run.
    pub fn expect_exact_for(&self, params: &RunParams) -> bool {
        self.expect_exact && !self.inexact.iter().any(|table| params.matches(table))
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Line of the first `key =` in the text (for errors about fixed keys).
fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| {
            let trimmed = line.trim_start();
            trimmed
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

/// Reads and validates an experiment file; generated input sizes are
/// multiplied by `scale`.
pub fn load_experiment(path: &Path, scale: f64) -> Result<Experiment, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_experiment(path, &text, scale)
}

/// Validates experiment text (see [`load_experiment`]).
pub fn parse_experiment(
    path: &Path,
    text: &str,
    scale: f64,
) -> Result<Experiment, ExperimentError> {
    let file: ExperimentFile = toml::from_str(text).map_err(|e| ExperimentError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let invalid = |key: &str, line: usize, message: String| ExperimentError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        line,
        message,
    };
    if !(scale.is_finite() && scale > 0.0) {
        return Err(invalid(
            "--scale",
            1,
            format!("scale must be a positive number, not {scale}"),
        ));
    }
    let name = match &file.name {
        Some(name) => name.clone(),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into()),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "name",
            line_of_key(text, "name"),
            format!("`{name}` must be letters, digits, - or _ (it names the CSV file)"),
        ));
    }
    let repetitions = file.repetitions.unwrap_or(3);
    if repetitions == 0 {
        return Err(invalid(
            "repetitions",
            line_of_key(text, "repetitions"),
            "must be at least 1".into(),
        ));
    }
    let mut combos = vec![file.fixed.clone()];
    if let Some(matrix) = &file.matrix {
        let axes = matrix.get_ref().axes();
        if axes.is_empty() {
            return Err(invalid(
                "matrix",
                line_of(text, matrix.span().start),
                "the [matrix] table has no axes: list at least one parameter, or remove the table"
                    .into(),
            ));
        }
        for (key, span, values) in axes {
            if values.is_empty() {
                return Err(invalid(
                    key,
                    line_of(text, span.start),
                    "empty list: give at least one value".into(),
                ));
            }
            if let Some(clash) = file.fixed.keys().iter().find(|k| **k == key) {
                return Err(invalid(
                    clash,
                    line_of(text, span.start),
                    "set both in [fixed] and in [matrix]: keep one".into(),
                ));
            }
            combos = combos
                .iter()
                .flat_map(|base| {
                    values.iter().map(move |value| {
                        let mut combo = base.clone();
                        combo.overlay(value);
                        combo
                    })
                })
                .collect();
        }
    }
    let mut runs: Vec<RunParams> = Vec::new();
    for combo in &combos {
        let run = validate_run(combo, scale)
            .map_err(|(key, message)| invalid(key, line_of_key(text, key), message))?;
        if !runs.contains(&run) {
            runs.push(run);
        }
    }
    for plot in &file.plot {
        if !matches!(
            plot.kind.as_str(),
            "time" | "speedup" | "efficiency" | "timeline"
        ) {
            return Err(invalid(
                "kind",
                line_of_key(text, "kind"),
                format!(
                    "unknown plot kind `{}`: use time, speedup, efficiency or timeline",
                    plot.kind
                ),
            ));
        }
        if plot.kind != "timeline" && plot.x.is_empty() {
            return Err(invalid(
                "x",
                line_of_key(text, "kind"),
                format!("the {} plot needs x = \"COLUMN\" (e.g. workers)", plot.kind),
            ));
        }
    }
    // Every run parameter but the input and the unit size (not values
    // an [[inexact]] table can name).
    let matchable: Vec<&str> = RUN_PARAMETERS
        .iter()
        .copied()
        .filter(|key| !matches!(*key, "input" | "unit_bytes"))
        .collect();
    for table in &file.inexact {
        if table.filter.is_empty() {
            return Err(invalid(
                "inexact",
                line_of(text, text.find("[[inexact]]").unwrap_or(0)),
                "an [[inexact]] table needs where = { PARAMETER = VALUE, ... }".into(),
            ));
        }
        if let Some(key) = table
            .filter
            .keys()
            .find(|k| !matchable.contains(&k.as_str()))
        {
            return Err(invalid(
                "inexact",
                line_of(text, text.find("[[inexact]]").unwrap_or(0)),
                format!("cannot match on `{key}`: use {}", matchable.join(", ")),
            ));
        }
    }
    Ok(Experiment {
        source: path.to_path_buf(),
        name,
        description: file.description,
        lab: file.lab,
        repetitions,
        warmup: file.warmup.unwrap_or(0),
        expect_exact: file.expect_exact.unwrap_or(true),
        scale,
        runs,
        plots: file.plot,
        inexact: file.inexact,
    })
}

fn validate_run(table: &FixedTable, scale: f64) -> Result<RunParams, (&'static str, String)> {
    let mode = table.mode.ok_or((
        "mode",
        "missing: set mode in [fixed] or list modes in [matrix]".to_string(),
    ))?;
    let workers = match (mode, table.workers) {
        (Mode::Serial, _) => 1,
        (_, Some(0)) => return Err(("workers", "must be at least 1".into())),
        (_, Some(workers)) => workers,
        (_, None) => {
            return Err((
                "workers",
                format!(
                    "missing for mode {}: set workers in [fixed] or [matrix]",
                    mode.name()
                ),
            ));
        }
    };
    let unit_bytes = match table.unit_bytes {
        Some(Size(0)) => return Err(("unit_bytes", "must be at least 1 byte".into())),
        other => other.map(|s| s.0),
    };
    let input = table.input.as_ref().ok_or((
        "input",
        "missing: give input = { path = \"...\" } or input = { preset = \"...\", ... }".to_string(),
    ))?;
    let per_word = table.per_word.unwrap_or(false);
    if per_word && mode != Mode::Redis {
        return Err((
            "per_word",
            format!(
                "applies to mode redis only, not {}: drop it or use mode = \"redis\"",
                mode.name()
            ),
        ));
    }
    let slow = table
        .slow
        .as_deref()
        .unwrap_or("")
        .split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<SlowWorker>().map_err(|e| ("slow", e)))
        .collect::<Result<Vec<_>, _>>()?;
    if !slow.is_empty() && mode != Mode::Redis {
        return Err((
            "slow",
            format!(
                "stragglers apply to mode redis only, not {}: use mode = \"redis\"",
                mode.name()
            ),
        ));
    }
    if let Some(bad) = slow.iter().find(|s| s.worker >= workers) {
        return Err((
            "slow",
            format!(
                "names worker {} but only {workers} workers run (0..{})",
                bad.worker,
                workers - 1
            ),
        ));
    }
    let atomic = table.atomic.unwrap_or(false);
    let autoclaim_ms = table.autoclaim_ms.unwrap_or(0);
    let crash = parse_crash_list(table.crash.as_deref().unwrap_or("")).map_err(|e| ("crash", e))?;
    let kill_every_ms = table.kill_every_ms.unwrap_or(0);
    let snapshot_s = table.snapshot_s.unwrap_or(0);
    let redis_kill: RedisKill = table
        .redis_kill
        .as_deref()
        .unwrap_or("none")
        .parse()
        .map_err(|e| ("redis_kill", e))?;
    let redis_down_ms = table
        .redis_down_ms
        .unwrap_or(RedisOptions::default().redis_down_ms);
    if redis_down_ms > 60_000 {
        return Err((
            "redis_down_ms",
            "is over a minute: workers stop reconnecting after 30 s; use a shorter downtime".into(),
        ));
    }
    let redis_only = [
        ("atomic", atomic),
        ("autoclaim_ms", autoclaim_ms > 0),
        ("crash", !crash.is_empty()),
        ("kill_every_ms", kill_every_ms > 0),
        ("snapshot_s", snapshot_s > 0),
        ("redis_kill", redis_kill != RedisKill::Never),
    ];
    if let Some((key, _)) = redis_only
        .iter()
        .find(|(_, set)| *set && mode != Mode::Redis)
    {
        return Err((
            key,
            format!(
                "applies to mode redis only, not {}: drop it or use mode = \"redis\"",
                mode.name()
            ),
        ));
    }
    if atomic && per_word {
        return Err((
            "atomic",
            "atomic commits merge per distinct word of a unit: drop per_word (or atomic)".into(),
        ));
    }
    let mut crashed = Vec::new();
    for c in &crash {
        if c.worker >= workers {
            return Err((
                "crash",
                format!(
                    "names worker {} but only {workers} workers run (0..{})",
                    c.worker,
                    workers - 1
                ),
            ));
        }
        if crashed.contains(&c.worker) {
            return Err((
                "crash",
                format!(
                    "names worker {} twice: give each worker at most one crash point",
                    c.worker
                ),
            ));
        }
        crashed.push(c.worker);
    }
    if kill_every_ms > 0 && workers < 2 {
        return Err((
            "kill_every_ms",
            "needs workers >= 2 (the last live worker is never killed)".into(),
        ));
    }
    Ok(RunParams {
        mode,
        workers,
        tokenizer: table.tokenizer.unwrap_or_default(),
        unit_bytes,
        input: validate_input(input, scale)?,
        per_word,
        slow,
        atomic,
        autoclaim_ms,
        crash,
        kill_every_ms,
        snapshot_s,
        redis_kill,
        redis_down_ms,
    })
}

fn scaled(size: Option<Size>, default: u64, scale: f64) -> u64 {
    ((size.map_or(default, |s| s.0) as f64 * scale).round() as u64).max(1)
}

fn validate_input(input: &InputTable, scale: f64) -> Result<InputSource, (&'static str, String)> {
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
                        None => data_gen::default_corpus_dir().ok_or((
                            "input",
                            "the books preset needs the book folder ../shared/corpus/gutenberg, which is not here: download plain-text books \
                             from Project Gutenberg (https://www.gutenberg.org/browse/scores/top) into a folder and set corpus = \"DIR\""
                                .to_string(),
                        ))?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Experiment, ExperimentError> {
        parse_experiment(Path::new("exp.toml"), text, 1.0)
    }

    const BASE: &str = "description = \"d\"\n[fixed]\ninput = { preset = \"uniform\", files = 2, size = \"1KB\" }\n";

    #[test]
    fn the_matrix_is_a_cartesian_product_with_serial_deduplicated() {
        let text = format!(
            "{BASE}[matrix]\nmode = [\"serial\", \"threads\", \"processes\"]\nworkers = [1, 2, 3]\n"
        );
        let experiment = parse(&text).unwrap();
        assert_eq!(experiment.runs.len(), 1 + 3 + 3);
        assert_eq!(experiment.runs[0].mode, Mode::Serial);
        assert_eq!(experiment.runs[0].workers, 1);
        assert_eq!(
            (experiment.runs[1].mode, experiment.runs[1].workers),
            (Mode::Threads, 1)
        );
        assert_eq!(
            (experiment.runs[6].mode, experiment.runs[6].workers),
            (Mode::Processes, 3)
        );
        assert_eq!(experiment.repetitions, 3);
        assert_eq!(experiment.name, "exp");
        let keys: std::collections::HashSet<_> =
            experiment.runs.iter().map(|r| r.key(1.0)).collect();
        assert_eq!(keys.len(), 7);
    }

    #[test]
    fn inputs_can_be_an_axis_and_scale_shrinks_generated_sizes() {
        let text = "description = \"d\"\n[fixed]\nmode = \"serial\"\n[matrix]\ninput = [{ preset = \"uniform\", files = 1, size = \"1MB\" }, { path = \"data/x\" }]\n";
        let experiment = parse_experiment(Path::new("e.toml"), text, 0.5).unwrap();
        assert_eq!(experiment.runs.len(), 2);
        match &experiment.runs[0].input {
            InputSource::Generated(spec) => assert_eq!(
                spec.preset,
                Preset::Uniform {
                    files: 1,
                    file_bytes: 500_000
                }
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(experiment.runs[1].input, InputSource::Path("data/x".into()));
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn fault_parameters_are_validated_and_inexact_tables_match_runs() {
        let base = "description = \"d\"\n[fixed]\nmode = \"redis\"\nworkers = 2\nautoclaim_ms = 50\ninput = { preset = \"uniform\", files = 2, size = \"1KB\" }\n";
        let text = format!(
            "{base}[matrix]\natomic = [true, false]\ncrash = [\"0:mid-commit\", \"1:after-read:2\"]\n[[inexact]]\nwhere = {{ atomic = false, crash = \"0:mid-commit\" }}\nreason = \"double counting\"\n"
        );
        let experiment = parse(&text).unwrap();
        assert_eq!(experiment.runs.len(), 4);
        let inexact: Vec<bool> = experiment
            .runs
            .iter()
            .map(|r| !experiment.expect_exact_for(r))
            .collect();
        assert_eq!(inexact, vec![false, false, true, false]);
        let run = &experiment.runs[2];
        assert_eq!(
            (run.atomic, run.autoclaim_ms, run.crash_text()),
            (false, 50, "0:mid-commit:1".to_string())
        );
        assert_eq!(run.redis_options().crash.len(), 1);
        assert!(
            experiment.runs[0]
                .describe()
                .contains("atomic autoclaim_ms=50 crash=0:mid-commit:1")
        );
        assert_eq!(
            experiment.runs[0].redis_options().commit,
            CommitPath::Atomic
        );
        // Defaults leave run keys as they were before these parameters existed.
        let plain = parse(&format!("{BASE}mode = \"serial\"\n")).unwrap();
        assert!(
            !serde_json::to_string(&plain.runs[0])
                .unwrap()
                .contains("atomic")
        );
        assert!(error_of(&format!("{base}crash = \"2:after-read\"\n")).contains("only 2 workers"));
        assert!(error_of(&format!("{base}crash = \"0:lunch\"\n")).contains("unknown crash point"));
        let one = base.replace("workers = 2", "workers = 1");
        assert!(error_of(&format!("{one}kill_every_ms = 100\n")).contains("kill_every_ms"));
        assert!(
            error_of(&format!("{BASE}mode = \"serial\"\natomic = true\n")).contains("redis only")
        );
        assert!(
            error_of(&format!(
                "{base}[[inexact]]\nwhere = {{ colour = \"red\" }}\n"
            ))
            .contains("cannot match on `colour`")
        );
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_line() {
        let unknown = error_of(&format!("{BASE}wrkers = 2\n"));
        assert!(
            unknown.contains("exp.toml")
                && unknown.contains("wrkers")
                && unknown.contains("line 4"),
            "{unknown}"
        );
        let wrong_type = error_of(&format!("{BASE}mode = \"serial\"\nworkers = \"two\"\n"));
        assert!(
            wrong_type.contains("workers") || wrong_type.contains("line 5"),
            "{wrong_type}"
        );
        assert!(wrong_type.contains("line 5"), "{wrong_type}");
        let bad_mode = error_of(&format!("{BASE}mode = \"quantum\"\n"));
        assert!(
            bad_mode.contains("quantum") && bad_mode.contains("line 4"),
            "{bad_mode}"
        );
        let empty_axis = error_of(&format!(
            "{BASE}mode = \"processes\"\n[matrix]\nworkers = []\n"
        ));
        assert!(
            empty_axis.contains("`workers`")
                && empty_axis.contains("line 6")
                && empty_axis.contains("empty"),
            "{empty_axis}"
        );
        let empty_matrix = error_of(&format!("{BASE}mode = \"serial\"\n[matrix]\n"));
        assert!(empty_matrix.contains("no axes"), "{empty_matrix}");
        let no_workers = error_of(&format!("{BASE}mode = \"threads\"\n"));
        assert!(
            no_workers.contains("`workers`") && no_workers.contains("missing"),
            "{no_workers}"
        );
        let zero_workers = error_of(&format!("{BASE}mode = \"threads\"\nworkers = 0\n"));
        assert!(
            zero_workers.contains("line 5") && zero_workers.contains("at least 1"),
            "{zero_workers}"
        );
        let both = error_of(&format!(
            "{BASE}mode = \"serial\"\n[matrix]\nmode = [\"serial\"]\n"
        ));
        assert!(both.contains("both"), "{both}");
        let bad_size = error_of(
            "description = \"d\"\n[fixed]\nmode = \"serial\"\ninput = { preset = \"uniform\", size = \"12 parsecs\" }\n",
        );
        assert!(
            bad_size.contains("line 4") && bad_size.contains("parsecs"),
            "{bad_size}"
        );
        let malformed = error_of("description = \"d\"\n[fixed\n");
        assert!(malformed.contains("line 2"), "{malformed}");
        let no_description = error_of("[fixed]\nmode = \"serial\"\n");
        assert!(no_description.contains("description"), "{no_description}");
        let bad_plot = error_of(&format!(
            "{BASE}mode = \"serial\"\n[[plot]]\nkind = \"pie\"\nx = \"workers\"\n"
        ));
        assert!(
            bad_plot.contains("pie") && bad_plot.contains("line 6"),
            "{bad_plot}"
        );
    }
}
