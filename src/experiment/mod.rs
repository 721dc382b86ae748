//! Experiments: a TOML file (fixed settings, a `[matrix]` of parameter
//! axes, repetitions, plots) validated once into a typed [`Experiment`]
//! whose runs are the cartesian product of the axes; the runner that
//! executes them, checks every result against the serial oracle and appends
//! CSV rows.
//!
//! Data flows one way: TOML ([`schema`]) -> combinations ([`matrix`]) ->
//! validated [`RunParams`] ([`validate`], inputs from [`presets`]) ->
//! [`Experiment`] -> job -> [`crate::results::RunRow`] ([`runner`]).
//!
//! - `schema`: the file as written (serde, unknown keys are errors).
//! - `params`: [`RunParams`] and [`InputSource`]: one run's parameters.
//! - `matrix`: expanding `[fixed]` x `[matrix]` into combinations.
//! - `validate`: one combination into [`RunParams`]; plots and `[[inexact]]`.
//! - `presets`: generator presets into inputs.
//! - `inputs`, `runner`: materializing inputs, the oracle, running and
//!   recording.

mod inputs;
mod late;
mod matrix;
mod params;
mod presets;
mod runner;
mod schema;
mod validate;

use std::path::{Path, PathBuf};

pub use inputs::{Oracle, count_differences, materialize as materialize_input};
pub use late::late_fault_warnings;
pub use params::{InputSource, RunParams, matchable_parameters};
pub use runner::planned_row;
pub(crate) use runner::{
    RunOptions, csv_path, planned_faults, run_experiment, run_experiment_with_progress,
};
pub(crate) use schema::{ExperimentFile, FixedTable, InexactTable, InputTable, PlotSpec};
pub use schema::{ParameterDoc, RUN_PARAMETERS, parameter_reference};

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
    /// What its plots should show and why.
    pub shows: Option<String>,
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
    pub(crate) fn expect_exact_for(&self, params: &RunParams) -> bool {
        self.expect_exact && !self.inexact.iter().any(|table| params.matches(table))
    }
}

use crate::params::RedisParams;

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
pub(crate) fn parse_experiment(
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
    let combos = matrix::expand(&file.fixed, file.matrix.as_ref())
        .map_err(|(key, offset, message)| invalid(key, line_of(text, offset), message))?;
    for table in &file.exclude {
        if let Some(key) = table
            .filter
            .keys()
            .find(|k| !RedisParams::NAMES.contains(&k.as_str()))
        {
            return Err(invalid(
                "exclude",
                line_of(text, text.find("[[exclude]]").unwrap_or(0)),
                format!(
                    "`{key}` is not a redis-mode run parameter; [[exclude]] matches those only"
                ),
            ));
        }
    }
    let mut runs: Vec<RunParams> = Vec::new();
    for combo in combos
        .iter()
        .filter(|c| !file.exclude.iter().any(|table| c.matches(table)))
    {
        let run = validate::validate_run(combo, scale)
            .map_err(|(key, message)| invalid(key, line_of_key(text, key), message))?;
        if !runs.contains(&run) {
            runs.push(run);
        }
    }
    for plot in &file.plot {
        validate::validate_plot(plot)
            .map_err(|(key, message)| invalid(key, line_of_key(text, "kind"), message))?;
    }
    for table in &file.inexact {
        validate::validate_inexact(table).map_err(|(key, message)| {
            invalid(
                key,
                line_of(text, text.find("[[inexact]]").unwrap_or(0)),
                message,
            )
        })?;
    }
    Ok(Experiment {
        source: path.to_path_buf(),
        name,
        description: file.description,
        lab: file.lab,
        shows: file.shows,
        repetitions,
        warmup: file.warmup.unwrap_or(0),
        expect_exact: file.expect_exact.unwrap_or(true),
        scale,
        runs,
        plots: file.plot,
        inexact: file.inexact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Mode;
    use crate::params::ParamValue;
    use crate::queue::CommitPath;
    use data_gen::Preset;

    fn parse(text: &str) -> Result<Experiment, ExperimentError> {
        parse_experiment(Path::new("exp.toml"), text, 1.0)
    }

    const BASE: &str = "description = \"d\"\n[fixed]\ninput = { preset = \"uniform\", files = 2, size = \"1KB\" }\n";

    #[test]
    fn every_shipped_experiment_loads_and_says_what_its_plots_show() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|ext| ext != "toml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let file: schema::ExperimentFile =
                toml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            // A clone without ../shared has no books: every other error counts.
            if let Err(err) = load_experiment(&path, 1.0) {
                assert!(
                    err.to_string().contains("needs a book folder"),
                    "{}: {err}",
                    path.display()
                );
            }
            let shows = file.shows.unwrap_or_default();
            assert!(
                shows.len() > 40 && shows.len() < 600,
                "{}: `shows` must say in one or two sentences what the plots should show and why",
                path.display()
            );
            checked += 1;
        }
        assert!(checked >= 20, "{checked} experiment files");
    }

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
            (
                run.redis.atomic,
                run.redis.autoclaim_ms,
                run.redis.crash.text()
            ),
            (false, 50, "0:mid-commit:1".to_string())
        );
        assert_eq!(run.redis_options().params.crash.len(), 1);
        assert!(
            experiment.runs[0]
                .describe()
                .contains("atomic autoclaim_ms=50 crash=0:mid-commit:1")
        );
        assert_eq!(experiment.runs[0].redis.commit(), CommitPath::Atomic);
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
            error_of(&format!("{BASE}mode = \"serial\"\natomic = true\n"))
                .contains("only apply to mode redis")
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

    #[test]
    fn exclude_tables_leave_combinations_out_and_name_bad_keys() {
        let base = "description = \"d\"\n[fixed]\nmode = \"redis\"\nworkers = 2\ninput = { preset = \"uniform\", files = 2, size = \"1KB\" }\n";
        let text = format!(
            "{base}[matrix]\natomic = [false, true]\nper_word = [false, true]\nhosts = [0, 2]\n[[exclude]]\nwhere = {{ atomic = true, per_word = true }}\n"
        );
        let experiment = parse(&text).unwrap();
        assert_eq!(experiment.runs.len(), 6);
        assert!(
            experiment
                .runs
                .iter()
                .all(|r| !(r.redis.atomic && r.redis.per_word))
        );
        // Without the exclusion the invalid combination is an error.
        let text = format!("{base}[matrix]\natomic = [false, true]\nper_word = [false, true]\n");
        assert!(parse(&text).is_err());
        let text = format!(
            "{base}[matrix]\natomic = [false, true]\n[[exclude]]\nwhere = {{ colour = \"red\" }}\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("`colour` is not a redis-mode run parameter"),
            "{err}"
        );
    }
}
